// SPDX-License-Identifier: GPL-2.0
/*
 * The BARs of functions added below a bridge whose windows are too small.
 *
 * When functions are added below a PCI bridge after boot (a rescan of the
 * bridge's bus, or pciehp adding what is in a hotplug slot), the PCI core
 * assigns their BARs with pci_assign_unassigned_bridge_resources(). If one
 * does not fit, the core releases the bridge's windows, with every BAR
 * already placed in them, sizes the windows again and retries. A sub-page
 * BAR that pcie-xen-vpci or dom0's page alignment gave a page of its own
 * with IORESOURCE_STARTALIGN must come through that release with its
 * alignment: until the core kept it, the retry found an alignment of 0 and
 * disabled the BAR ("bad alignment"), and its driver could not enable the
 * function.
 *
 * The test bed puts, behind a pcie-root-port, a two-function device whose
 * function 0 has a BAR too large for any window (so that each re-add takes
 * the release path) and whose function 1 is an rtl8139 with a 256-byte
 * memory BAR. The functions of such a bus (a bus below a bridge with a
 * memory BAR left unassigned) are removed and rescanned, twice; afterwards
 * every memory BAR they had must still be known to the kernel with the same
 * size, be assigned if it was, start on a page boundary if it did, and share
 * no page with another BAR if it did not before.
 *
 * Skipped without such a bus. It removes and re-adds PCI devices: test
 * machines only.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "../kselftest_harness.h"
#include "lib/pci_util.h"

#define SYSFS_PCI	"/sys/bus/pci/devices"
#define SYSFS_BUSES	"/sys/class/pci_bus"
#define CFG_COMMAND	0x04
#define CFG_COMMAND_MEMORY 0x2
#define CFG_HEADER_TYPE	0x0e
#define CFG_BAR0	0x10
#define NR_STD_BARS	6
#define MAX_FN		32
#define CYCLES		2
#define WAIT_MS		20000

struct fn {
	char name[NAME_MAX + 1];
	struct pci_res res[PCI_RES_NR];
};

struct bus {
	char name[NAME_MAX + 1];	/* "0000:02", as in /sys/class/pci_bus */
	struct fn fn[MAX_FN];
	int nr_fn;
};

/* A memory resource, assigned or not (then its start is 0). */
static bool is_mem(const struct pci_res *r)
{
	return (r->flags & PCI_RES_MEM) && (r->start || r->end);
}

static unsigned long long res_size(const struct pci_res *r)
{
	return r->end - r->start + 1;
}

static bool is_bridge(const char *fn)
{
	char path[PATH_MAX];
	unsigned char hdr = 0;
	int fd;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/config", fn);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	if (pread(fd, &hdr, 1, CFG_HEADER_TYPE) != 1)
		hdr = 0;
	close(fd);
	return (hdr & 0x7f) == 1;
}

/*
 * The functions on bus @b, in name order, with their resources. Returns
 * their number, or -1 if one of them is a bridge.
 */
static int scan_fns(struct bus *b)
{
	struct dirent **list;
	size_t len = strlen(b->name);
	int n, i, bridge = 0;

	b->nr_fn = 0;
	n = scandir(SYSFS_PCI, &list, NULL, alphasort);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *d = list[i]->d_name;

		if (!strncmp(d, b->name, len) && d[len] == ':' &&
		    b->nr_fn < MAX_FN) {
			struct fn *f = &b->fn[b->nr_fn];

			bridge |= is_bridge(d);
			snprintf(f->name, sizeof(f->name), "%s", d);
			if (!pci_res_read(d, f->res))
				b->nr_fn++;
		}
		free(list[i]);
	}
	free(list);
	return bridge ? -1 : b->nr_fn;
}

static int cfg_rw(int fd, bool wr, int off, void *val, size_t len)
{
	ssize_t n = wr ? pwrite(fd, val, len, off) : pread(fd, val, len, off);

	return n == (ssize_t)len ? 0 : -1;
}

/*
 * Whether the memory BAR register @idx of @fn is implemented (the low size
 * bits read back as zero after writing all ones), with memory decoding off
 * meanwhile; what is written is restored. 64-bit BARs are sized by their
 * low half, which is enough to tell.
 */
static bool bar_implemented(const char *fn, int idx)
{
	__u32 bar, mask = 0, ones = 0xffffffff;
	__u16 cmd, cmd_off;
	char path[PATH_MAX];
	int fd, off = CFG_BAR0 + 4 * idx;
	bool ret = false;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/config", fn);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return false;
	if (cfg_rw(fd, false, CFG_COMMAND, &cmd, 2) ||
	    cfg_rw(fd, false, off, &bar, 4) || (bar & 1))
		goto out;
	cmd_off = cmd & ~CFG_COMMAND_MEMORY;
	if (!cfg_rw(fd, true, CFG_COMMAND, &cmd_off, 2)) {
		if (!cfg_rw(fd, true, off, &ones, 4) &&
		    !cfg_rw(fd, false, off, &mask, 4))
			ret = (mask & ~0xfU) != 0;
		cfg_rw(fd, true, off, &bar, 4);
		cfg_rw(fd, true, CFG_COMMAND, &cmd, 2);
	}
out:
	close(fd);
	return ret;
}

/*
 * Whether a function of @b has a memory BAR that the kernel could not
 * place: implemented in config space, but without a resource.
 */
static bool has_unfit_bar(const struct bus *b)
{
	int i, j;

	for (i = 0; i < b->nr_fn; i++)
		for (j = 0; j < NR_STD_BARS; j++) {
			const struct pci_res *r = &b->fn[i].res[j];

			if (r->flags)
				continue;
			/* the upper half of a 64-bit BAR has no resource */
			if (j && (b->fn[i].res[j - 1].flags & PCI_RES_MEM_64))
				continue;
			if (bar_implemented(b->fn[i].name, j))
				return true;
		}
	return false;
}

/*
 * The first bus below a bridge (not a root bus) whose functions are no
 * bridges and include a memory BAR that did not fit: re-adding them takes
 * the release path.
 */
static int find_bus(struct bus *b)
{
	struct dirent **list;
	int n, i, found = 0;

	n = scandir(SYSFS_BUSES, &list, NULL, alphasort);
	if (n < 0)
		return 0;
	for (i = 0; i < n; i++) {
		char path[PATH_MAX], link[PATH_MAX];
		ssize_t len;

		snprintf(path, sizeof(path), SYSFS_BUSES "/%s/device",
			 list[i]->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (!found && list[i]->d_name[0] != '.' && len > 0) {
			link[len] = '\0';
			/* a root bus's device is the host bridge, "pciDDDD:BB" */
			memset(b, 0, sizeof(*b));
			snprintf(b->name, sizeof(b->name), "%s", list[i]->d_name);
			found = !strstr(strrchr(link, '/') ?: link, "pci") &&
				scan_fns(b) > 0 && has_unfit_bar(b);
		}
		free(list[i]);
	}
	free(list);
	return found;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait until @want functions are on the bus; returns how many are. */
static int wait_fns(struct bus *b, int want)
{
	long long end = now_ms() + WAIT_MS;
	int n;

	while ((n = scan_fns(b)) != want && now_ms() < end)
		usleep(100 * 1000);
	return n;
}

/*
 * Check BAR @j of function @is against what it was before (@was): returns
 * 1 if there was a memory BAR to check.
 */
static int check_bar(struct __test_metadata *const _metadata, int cycle,
		     const struct fn *was, const struct fn *is, int j,
		     bool excl, long page)
{
	const struct pci_res *a = &was->res[j], *b = &is->res[j];
	struct pci_res who;

	if (!is_mem(a))
		return 0;
	EXPECT_TRUE(is_mem(b))
		TH_LOG("cycle %d: %s BAR%d (0x%llx bytes) was disabled: flags 0x%llx (was 0x%llx)",
		       cycle, is->name, j, res_size(a), b->flags, a->flags);
	if (!is_mem(b))
		return 1;
	EXPECT_EQ(res_size(a), res_size(b))
		TH_LOG("cycle %d: %s BAR%d is 0x%llx bytes, was 0x%llx",
		       cycle, is->name, j, res_size(b), res_size(a));
	if (!a->start)
		return 1;
	EXPECT_NE(0ULL, b->start)
		TH_LOG("cycle %d: %s BAR%d (0x%llx bytes) is no longer assigned",
		       cycle, is->name, j, res_size(a));
	if (!b->start)
		return 1;
	if (!(a->start % page))
		EXPECT_EQ(0ULL, b->start % page)
			TH_LOG("cycle %d: %s BAR%d at 0x%llx is not page aligned",
			       cycle, is->name, j, b->start);
	if (excl)
		EXPECT_EQ(0, pci_res_page_sharer(is->name, j, b->start, b->end,
						 page, &who))
			TH_LOG("cycle %d: %s BAR%d [0x%llx-0x%llx] shares a page with %s res %d",
			       cycle, is->name, j, b->start, b->end, who.dev,
			       who.index);
	return 1;
}

FIXTURE(bridge) {
	struct bus b;		/* as before the first removal */
	long page;
};

FIXTURE_SETUP(bridge)
{
	self->page = sysconf(_SC_PAGESIZE);
	if (!find_bus(&self->b))
		SKIP(return, "no bus below a bridge with a memory BAR that did not fit");
}

FIXTURE_TEARDOWN(bridge)
{
	char path[PATH_MAX];

	/* Whatever happened, bring the functions back. */
	snprintf(path, sizeof(path), SYSFS_BUSES "/%s/rescan", self->b.name);
	if (self->b.nr_fn)
		sysfs_write(path, "1");
}

TEST_F(bridge, rescan_keeps_bars)
{
	int cycle, i, j, checked = 0;
	bool excl[MAX_FN][PCI_RES_NR] = {};
	struct bus now = self->b;
	char path[PATH_MAX];
	struct pci_res who;

	for (i = 0; i < self->b.nr_fn; i++)
		for (j = 0; j < PCI_RES_NR; j++) {
			const struct pci_res *r = &self->b.fn[i].res[j];

			if (!is_mem(r))
				continue;
			excl[i][j] = r->start &&
				     !pci_res_page_sharer(self->b.fn[i].name, j,
							  r->start, r->end,
							  self->page, &who);
			ksft_print_msg("before: %s BAR%d [0x%llx-0x%llx] flags 0x%llx%s\n",
				       self->b.fn[i].name, j, r->start, r->end,
				       r->flags, excl[i][j] ? ", pages of its own" : "");
		}

	for (cycle = 1; cycle <= CYCLES; cycle++) {
		for (i = self->b.nr_fn - 1; i >= 0; i--) {
			snprintf(path, sizeof(path), SYSFS_PCI "/%s/remove",
				 self->b.fn[i].name);
			ASSERT_EQ(0, sysfs_write(path, "1"))
				TH_LOG("%s: remove: %s", self->b.fn[i].name,
				       strerror(errno));
		}
		ASSERT_EQ(0, wait_fns(&now, 0))
			TH_LOG("bus %s: functions still there after removal",
			       now.name);
		snprintf(path, sizeof(path), SYSFS_BUSES "/%s/rescan", now.name);
		ASSERT_EQ(0, sysfs_write(path, "1"))
			TH_LOG("bus %s: rescan: %s", now.name, strerror(errno));
		ASSERT_EQ(self->b.nr_fn, wait_fns(&now, self->b.nr_fn))
			TH_LOG("bus %s: %d of %d functions back after the rescan",
			       now.name, now.nr_fn, self->b.nr_fn);

		for (i = 0; i < self->b.nr_fn; i++) {
			ASSERT_STREQ(self->b.fn[i].name, now.fn[i].name);
			for (j = 0; j < PCI_RES_NR; j++)
				checked += check_bar(_metadata, cycle,
						     &self->b.fn[i], &now.fn[i],
						     j, excl[i][j], self->page);
		}
	}
	ksft_print_msg("bus %s: %d function(s) removed and rescanned %d times, %d BAR check(s)\n",
		       self->b.name, self->b.nr_fn, CYCLES, checked);
}

TEST_HARNESS_MAIN
