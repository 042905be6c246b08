// SPDX-License-Identifier: GPL-2.0
/*
 * Check that every PCI memory BAR of the system has pages of its own.
 *
 * Xen, or a dom0 backend, maps a BAR into a guest in whole pages, so each
 * memory BAR (expansion ROMs and bridge BARs included) must start on a page
 * boundary and no page may hold bytes of two BARs. The layout is read from
 * /sys/bus/pci/devices/<dev>/resource; the size each BAR reports there must
 * be its true size, the one found by sizing the BAR register through
 * /sys/bus/pci/devices/<dev>/config. Finally every memory BAR is mapped
 * through resource<N> (sub-page BARs included) and read; ROMs are read
 * through the rom file.
 *
 * Under pci-host-generic, two sub-page BARs routinely share a page: there
 * this test is expected to fail, which proves it can.
 *
 * Sizing a BAR disables memory decoding of its function for a moment, and the
 * mappings read device registers: run it on test machines only.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/types.h>

#include "../kselftest_harness.h"
#include "lib/pci_util.h"

#define SYSFS_PCI	"/sys/bus/pci/devices"

/* struct resource flags, as sysfs prints them (not in the UAPI) */
#define RES_PREFETCH	0x00002000
#define RES_PCI_FIXED	0x00000010	/* IORESOURCE_PCI_FIXED: never moved */

#define NR_STD_BARS	6
#define ROM_IDX		6

#define CFG_COMMAND		0x04
#define CFG_COMMAND_MEMORY	0x2
#define CFG_HEADER_TYPE		0x0e
#define CFG_BAR0		0x10
#define CFG_ROM_NORMAL		0x30
#define CFG_ROM_BRIDGE		0x38
#define CFG_BAR_MEM_TYPE_64	0x4
#define CFG_BAR_MEM_MASK	(~0xfULL)
#define CFG_ROM_MASK		0xfffff800U

struct bar {
	char dev[64];
	int idx;		/* 0..5, ROM_IDX for the expansion ROM */
	unsigned long long start, size, flags;
	int vf;			/* virtual function: BAR registers read 0 */
	int bridge;		/* type 1 header */
};

/* Every assigned memory BAR of the system, and the ones left unassigned */
struct layout {
	struct bar *bar;
	int nr;
	struct bar *unassigned;
	int nr_unassigned;
};

FIXTURE(bars) {
	struct layout l;
	long page;
};

static const char *bar_name(const struct bar *b)
{
	static const char * const names[] = {
		"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM",
	};

	return names[b->idx];
}

static const char *bar_kind(const struct bar *b)
{
	if (b->idx == ROM_IDX)
		return "rom";
	if (b->flags & PCI_RES_MEM_64)
		return b->flags & RES_PREFETCH ? "mem64-pref" : "mem64";
	return b->flags & RES_PREFETCH ? "mem32-pref" : "mem32";
}

static int dev_file(const char *dev, const char *file, int flags)
{
	char path[256];

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/%s", dev, file);
	return open(path, flags);
}

static int dev_has(const char *dev, const char *file)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/%s", dev, file);
	return lstat(path, &st) == 0;
}

static int dev_is_bridge(const char *dev)
{
	__u8 hdr = 0;
	int fd = dev_file(dev, "config", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &hdr, 1, CFG_HEADER_TYPE) != 1)
		hdr = 0;
	close(fd);

	return (hdr & 0x7f) == 1;
}

static void add_dev(struct layout *l, const char *dev)
{
	int idx, bridge = dev_is_bridge(dev), vf = dev_has(dev, "physfn");
	struct pci_res res[PCI_RES_NR];

	if (pci_res_read(dev, res))
		return;
	for (idx = 0; idx <= ROM_IDX; idx++) {
		const struct pci_res *r = &res[idx];
		struct bar *b;

		if (!(r->flags & PCI_RES_MEM) || (!r->start && !r->end))
			continue;
		if (!r->start) {
			/* memory BAR that was left unassigned */
			b = realloc(l->unassigned, (l->nr_unassigned + 1) * sizeof(*b));
			if (!b)
				return;
			l->unassigned = b;
			b = &l->unassigned[l->nr_unassigned++];
		} else {
			b = realloc(l->bar, (l->nr + 1) * sizeof(*b));
			if (!b)
				return;
			l->bar = b;
			b = &l->bar[l->nr++];
		}
		memset(b, 0, sizeof(*b));
		snprintf(b->dev, sizeof(b->dev), "%s", dev);
		b->idx = idx;
		b->start = r->start;
		b->size = r->end - r->start + 1;
		b->flags = r->flags;
		b->vf = vf;
		b->bridge = bridge;
	}
}

FIXTURE_SETUP(bars)
{
	struct dirent **list;
	int n, i;

	memset(&self->l, 0, sizeof(self->l));
	self->page = sysconf(_SC_PAGESIZE);

	n = scandir(SYSFS_PCI, &list, NULL, alphasort);
	if (n < 0)
		return;
	for (i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.')
			add_dev(&self->l, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

FIXTURE_TEARDOWN(bars)
{
	free(self->l.bar);
	free(self->l.unassigned);
}

/*
 * The BAR the test bed makes too large to fit on purpose, if any: the
 * device tree's /chosen/xenpci-test,nofit = "BDF BAR".
 */
static bool meant_not_to_fit(const struct bar *b)
{
	char want[96] = "", have[96];
	ssize_t n;
	int fd;

	fd = open("/proc/device-tree/chosen/xenpci-test,nofit", O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, want, sizeof(want) - 1);
	close(fd);
	if (n <= 0)
		return false;
	want[n] = '\0';
	snprintf(have, sizeof(have), "%s %d", b->dev, b->idx);
	return !strcmp(want, have);
}

#define NO_BARS "no assigned PCI memory BAR in this system"

TEST_F(bars, layout)
{
	int i;

	if (!self->l.nr)
		SKIP(return, NO_BARS);

	ksft_print_msg("%-14s %-4s %-10s %18s %12s\n",
		       "device", "BAR", "kind", "start", "size");
	for (i = 0; i < self->l.nr; i++) {
		struct bar *b = &self->l.bar[i];

		ksft_print_msg("%-14s %-4s %-10s 0x%016llx 0x%010llx\n",
			       b->dev, bar_name(b), bar_kind(b), b->start,
			       b->size);
		if (b->bridge && b->idx != ROM_IDX)
			continue;
		/* A device BAR (or ROM) has a power-of-two size, naturally aligned. */
		EXPECT_EQ(0ULL, b->size & (b->size - 1))
			TH_LOG("%s %s: size 0x%llx is not a power of two",
			       b->dev, bar_name(b), b->size);
		EXPECT_EQ(0ULL, b->start & (b->size - 1))
			TH_LOG("%s %s at 0x%llx is not aligned to its size 0x%llx",
			       b->dev, bar_name(b), b->start, b->size);
	}
	/* Every memory BAR was placed, but the one meant not to fit. */
	for (i = 0; i < self->l.nr_unassigned; i++) {
		struct bar *b = &self->l.unassigned[i];

		ksft_print_msg("%s %s left unassigned (0x%llx bytes)%s\n", b->dev,
			       bar_name(b), b->size,
			       meant_not_to_fit(b) ? ", as the test bed meant" : "");
		EXPECT_TRUE(meant_not_to_fit(b))
			TH_LOG("%s %s of 0x%llx bytes was left unassigned",
			       b->dev, bar_name(b), b->size);
	}
}

TEST_F(bars, page_aligned)
{
	int i;

	if (!self->l.nr)
		SKIP(return, NO_BARS);

	for (i = 0; i < self->l.nr; i++) {
		struct bar *b = &self->l.bar[i];

		EXPECT_EQ(0ULL, b->start % self->page)
			TH_LOG("%s %s at 0x%llx is not page aligned",
			       b->dev, bar_name(b), b->start);
	}
	/* A BAR left unassigned has no place at all: not a pass. */
	for (i = 0; i < self->l.nr_unassigned; i++)
		EXPECT_TRUE(meant_not_to_fit(&self->l.unassigned[i]))
			TH_LOG("%s %s was left unassigned", self->l.unassigned[i].dev,
			       bar_name(&self->l.unassigned[i]));
}

TEST_F(bars, page_exclusive)
{
	struct pci_res who;
	int i;

	if (!self->l.nr)
		SKIP(return, NO_BARS);

	for (i = 0; i < self->l.nr; i++) {
		struct bar *b = &self->l.bar[i];

		EXPECT_EQ(0, pci_res_page_sharer(b->dev, b->idx, b->start,
						 b->start + b->size - 1,
						 self->page, &who))
			TH_LOG("%s %s [0x%llx+0x%llx] shares a page with %s resource %d at 0x%llx",
			       b->dev, bar_name(b), b->start, b->size, who.dev,
			       who.index, (unsigned long long)who.start);
	}
}

/*
 * The functions that pci=resource_alignment= names by address have their
 * memory BARs at the alignment it asks for (a page where it gives none),
 * whatever else the kernel keeps as firmware placed it. The kernel's copy
 * of the parameter is in sysfs; entries that name devices by ID are not
 * checked.
 */
TEST_F(bars, named_alignment)
{
	char param[512], name[16], *entry, *at, *save;
	int fd, n, i, named = 0;

	fd = open("/sys/bus/pci/resource_alignment", O_RDONLY);
	n = fd < 0 ? 0 : read(fd, param, sizeof(param) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 1)
		SKIP(return, "no pci=resource_alignment= on the command line");
	param[n] = '\0';

	for (entry = strtok_r(param, ";,\n", &save); entry;
	     entry = strtok_r(NULL, ";,\n", &save)) {
		unsigned long long align = self->page;
		unsigned int dom = 0, bus, dev, fn;
		unsigned long order;
		char end;

		at = strchr(entry, '@');
		if (at) {
			/* As the kernel: an order above 63 means a page. */
			order = strtoul(entry, NULL, 10);
			if (order <= 63)
				align = 1ULL << order;
			entry = at + 1;
		}
		/* [domain:]bus:device.function, as the kernel parses it */
		if (sscanf(entry, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn,
			   &end) != 4) {
			dom = 0;
			if (sscanf(entry, "%x:%x.%x%c", &bus, &dev, &fn,
				   &end) != 3)
				continue;
		}
		snprintf(name, sizeof(name), "%04x:%02x:%02x.%x",
			 dom, bus, dev, fn);
		for (i = 0; i < self->l.nr; i++) {
			struct bar *b = &self->l.bar[i];

			/* A fixed BAR stays where it is, named or not. */
			if (b->bridge || strcmp(b->dev, name) ||
			    (b->flags & RES_PCI_FIXED))
				continue;
			named++;
			EXPECT_EQ(0ULL, b->start % align)
				TH_LOG("%s %s at 0x%llx: pci=resource_alignment= asks for 0x%llx",
				       b->dev, bar_name(b), b->start, align);
		}
	}
	if (!named)
		SKIP(return, "no memory BAR of a function that pci=resource_alignment= names");
}

/*
 * Size a memory BAR from its register, with memory decoding of the function
 * disabled meanwhile; everything written is restored.
 */
static int size_from_config(int fd, const struct bar *b, __u64 *size)
{
	__u32 lo, hi = 0, lo_mask, hi_mask = 0, ones = 0xffffffff;
	int rom = b->idx == ROM_IDX, is64 = 0, ret = -1, off;
	__u32 cmd, cmd_off;
	__u64 mask;

	if (rom)
		off = b->bridge ? CFG_ROM_BRIDGE : CFG_ROM_NORMAL;
	else
		off = CFG_BAR0 + 4 * b->idx;

	if (cfg_read(fd, CFG_COMMAND, 2, &cmd) || cfg_read(fd, off, 4, &lo))
		return -1;
	if (!rom && (lo & CFG_BAR_MEM_TYPE_64)) {
		is64 = 1;
		if (b->idx + 1 >= NR_STD_BARS || cfg_read(fd, off + 4, 4, &hi))
			return -1;
	}

	cmd_off = cmd & ~CFG_COMMAND_MEMORY;
	if (cfg_write(fd, CFG_COMMAND, 2, cmd_off))
		return -1;

	if (rom) {
		__u32 rom_ones = CFG_ROM_MASK;

		if (cfg_write(fd, off, 4, rom_ones) ||
		    cfg_read(fd, off, 4, &lo_mask))
			goto restore;
	} else {
		if (cfg_write(fd, off, 4, ones) ||
		    cfg_read(fd, off, 4, &lo_mask))
			goto restore;
		if (is64 && (cfg_write(fd, off + 4, 4, ones) ||
			     cfg_read(fd, off + 4, 4, &hi_mask)))
			goto restore;
	}
	ret = 0;

restore:
	if (is64)
		cfg_write(fd, off + 4, 4, hi);
	cfg_write(fd, off, 4, lo);
	cfg_write(fd, CFG_COMMAND, 2, cmd);
	if (ret)
		return ret;

	if (rom) {
		mask = lo_mask & CFG_ROM_MASK;
		*size = mask ? (~mask & 0xffffffffULL) + 1 : 0;
	} else if (is64) {
		mask = ((__u64)hi_mask << 32 | lo_mask) & CFG_BAR_MEM_MASK;
		*size = mask ? ~mask + 1 : 0;
	} else {
		mask = lo_mask & CFG_BAR_MEM_MASK & 0xffffffffULL;
		*size = mask ? (~mask & 0xffffffffULL) + 1 : 0;
	}

	return 0;
}

TEST_F(bars, true_size)
{
	int i, ret, checked = 0;

	if (!self->l.nr)
		SKIP(return, NO_BARS);
	if (geteuid())
		SKIP(return, "sizing BARs through config space needs root");

	for (i = 0; i < self->l.nr; i++) {
		struct bar *b = &self->l.bar[i];
		__u64 size = 0;
		int fd;

		/* VF BAR registers are read-only zero; sized by the PF */
		if (b->vf)
			continue;

		fd = dev_file(b->dev, "config", O_RDWR);
		ASSERT_LE(0, fd) TH_LOG("%s: config: %s", b->dev,
					strerror(errno));
		ret = size_from_config(fd, b, &size);
		close(fd);
		EXPECT_EQ(0, ret)
			TH_LOG("%s %s: cannot size the BAR register", b->dev,
			       bar_name(b));
		if (ret)
			continue;

		EXPECT_EQ(size, b->size)
			TH_LOG("%s %s: sysfs says 0x%llx bytes, the BAR register 0x%llx",
			       b->dev, bar_name(b), b->size, size);
		checked++;
	}
	ksft_print_msg("sized %d BAR(s) through config space\n", checked);
}

/* Whether every word read from a mapped BAR is all ones. */
static bool all_ones(const __u8 *p, unsigned long long size,
		     unsigned long long page)
{
	unsigned long long off, step = 4;
	__u32 and = 0xffffffff;

	/*
	 * Every word of a small BAR; of a large one a word in each of at most
	 * 256 pages spread over it (a RAM-backed BAR of a GiB would otherwise
	 * be faulted in whole).
	 */
	if (size > page) {
		step = size / 256 / page * page;
		if (step < page)
			step = page;
	}
	for (off = 0; off + 4 <= size; off += step)
		and &= mmio_read32(p + off);
	if (size >= 4)
		and &= mmio_read32(p + size - 4);

	return and == 0xffffffff;
}

/*
 * Enable a function the way a driver would before touching its BARs (with
 * memory decoding off, a BAR has no right to answer). Returns whether it
 * was enabled here, so that it can be disabled again.
 */
static bool enable_dev(const char *dev)
{
	char c = '1';
	int fd = dev_file(dev, "enable", O_RDWR);
	bool done = false;

	if (fd < 0)
		return false;
	if (pread(fd, &c, 1, 0) == 1 && c == '0')
		done = pwrite(fd, "1", 1, 0) == 1;
	close(fd);
	return done;
}

static void disable_dev(const char *dev)
{
	int fd = dev_file(dev, "enable", O_WRONLY);

	if (fd < 0)
		return;
	if (pwrite(fd, "0", 1, 0) != 1)
		ksft_print_msg("%s: cannot disable again\n", dev);
	close(fd);
}

static void read_rom(struct __test_metadata *_metadata, const struct bar *b)
{
	unsigned char *buf = malloc(b->size);
	ssize_t n = -1;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = dev_file(b->dev, "rom", O_RDWR);
	if (fd >= 0) {
		if (pwrite(fd, "1", 1, 0) == 1) {
			n = pread(fd, buf, b->size, 0);
			if (pwrite(fd, "0", 1, 0) != 1)
				n = -1;
		}
		close(fd);
	}
	/*
	 * The kernel hands out only a valid image (it checks the 0x55aa
	 * signature itself) and refuses others: then there is nothing to check.
	 * What it does hand out must be the image, from its first byte.
	 */
	if (n <= 0) {
		ksft_print_msg("%s ROM: no readable image, not read\n", b->dev);
	} else {
		EXPECT_LE(2, n);
		if (n >= 2) {
			EXPECT_TRUE(buf[0] == 0x55 && buf[1] == 0xaa)
				TH_LOG("%s ROM: signature %02x%02x, not 55aa",
				       b->dev, buf[0], buf[1]);
		}
	}
	free(buf);
}

TEST_F(bars, mmap_read)
{
	int i, mapped = 0;

	if (!self->l.nr)
		SKIP(return, NO_BARS);
	if (geteuid())
		SKIP(return, "mapping BARs through sysfs needs root");

	for (i = 0; i < self->l.nr; i++) {
		struct bar *b = &self->l.bar[i];
		unsigned long long in_page = b->start % self->page;
		size_t len = (in_page + b->size + self->page - 1) /
			     self->page * self->page;
		bool enabled;
		char file[16];
		void *map;
		int fd;

		if (b->idx == ROM_IDX) {
			read_rom(_metadata, b);
			continue;
		}

		enabled = enable_dev(b->dev);
		snprintf(file, sizeof(file), "resource%d", b->idx);
		fd = dev_file(b->dev, file, O_RDONLY);
		EXPECT_LE(0, fd) TH_LOG("%s %s: %s", b->dev, file,
					strerror(errno));
		if (fd < 0) {
			if (enabled)
				disable_dev(b->dev);
			continue;
		}
		map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		EXPECT_NE(MAP_FAILED, map)
			TH_LOG("%s %s: mmap of 0x%zx bytes: %s", b->dev, file,
			       len, strerror(errno));
		if (map != MAP_FAILED) {
			/*
			 * A BAR that reads all ones everywhere is not decoded:
			 * the reads went nowhere (a master abort).
			 */
			EXPECT_FALSE(all_ones((const __u8 *)map + in_page,
					      b->size, self->page))
				TH_LOG("%s %s: every word read 0xffffffff: not decoded",
				       b->dev, file);
			munmap(map, len);
			mapped++;
		}
		if (enabled)
			disable_dev(b->dev);
	}
	ksft_print_msg("mapped and read %d BAR(s)\n", mapped);
}

TEST_HARNESS_MAIN
