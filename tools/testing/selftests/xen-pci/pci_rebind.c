// SPDX-License-Identifier: GPL-2.0
/*
 * The page-exclusive BAR layout of pcie-xen-vpci must survive everything
 * that adds functions after boot: a bus rescan, removing and rescanning one
 * function, unbinding and binding the host bridge, and unloading and
 * reloading the driver module. After each, every function must be back and
 * every memory BAR must again start on a page boundary and share no page
 * with another BAR. Leaks are left to kmemleak, which the test bed checks
 * after the run.
 *
 * The tests are skipped when the PCI host bridge is not driven by
 * pcie-xen-vpci. They remove and re-add PCI devices: test machines only.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "lib/pci_util.h"

#define SYSFS_PCI	"/sys/bus/pci/devices"
#define DRIVER		"pcie-xen-vpci"
#define DRIVER_DIR	"/sys/bus/platform/drivers/" DRIVER
#define MAX_BARS	512

static int count_devices(void)
{
	struct dirent *e;
	DIR *d = opendir(SYSFS_PCI);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Number of layout violations: unaligned BARs and pairs sharing a page. */
static int check_layout(struct __test_metadata *_metadata, int *nr_bars)
{
	static struct pci_res bars[MAX_BARS];
	unsigned long long page = sysconf(_SC_PAGESIZE);
	int n = pci_res_all_mem(bars, MAX_BARS), bad = 0, i;
	struct pci_res who;

	*nr_bars = n;
	for (i = 0; i < n; i++) {
		if (bars[i].start % page) {
			TH_LOG("%s BAR %d at %#llx is not page aligned",
			       bars[i].dev, bars[i].index, bars[i].start);
			bad++;
		}
		if (pci_res_page_sharer(bars[i].dev, bars[i].index, bars[i].start,
					bars[i].end, page, &who)) {
			TH_LOG("%s BAR %d shares a page with %s resource %d",
			       bars[i].dev, bars[i].index, who.dev, who.index);
			bad++;
		}
	}
	return bad;
}

FIXTURE(host) {
	char platdev[NAME_MAX + 1];	/* platform device of the host bridge */
	int nr_devices;
	int nr_bars;
};

/* Name of the platform device above the first PCI function, and its driver. */
static int find_host(char *platdev, size_t len, char *drv, size_t dlen)
{
	char path[PATH_MAX + 16], real[PATH_MAX], link[PATH_MAX];
	struct dirent *e;
	char *p;
	DIR *d;
	ssize_t n;

	d = opendir(SYSFS_PCI);
	if (!d)
		return -ENOENT;
	do {
		e = readdir(d);
	} while (e && e->d_name[0] == '.');
	if (!e) {
		closedir(d);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), SYSFS_PCI "/%s", e->d_name);
	closedir(d);
	if (!realpath(path, real))
		return -errno;
	/* .../platform/<host>/pci0000:00/0000:00:01.0[/...] */
	p = strstr(real, "/pci0000:");
	if (!p)
		p = strstr(real, "/pci");
	if (!p)
		return -EINVAL;
	*p = '\0';
	snprintf(platdev, len, "%s", basename(real));
	snprintf(path, sizeof(path), "%s/driver", real);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	snprintf(drv, dlen, "%s", basename(link));
	return 0;
}

FIXTURE_SETUP(host)
{
	char drv[NAME_MAX + 1] = "";
	int ret;

	ret = find_host(self->platdev, sizeof(self->platdev), drv, sizeof(drv));
	if (ret == -ENODEV || ret == -ENOENT)
		SKIP(return, "no PCI function in this system");
	ASSERT_EQ(0, ret);
	if (strcmp(drv, DRIVER))
		SKIP(return, "host bridge %s is driven by %s, not " DRIVER,
		     self->platdev, drv);
	if (geteuid())
		SKIP(return, "needs root");
	self->nr_devices = count_devices();
	ASSERT_EQ(0, check_layout(_metadata, &self->nr_bars));
	ASSERT_LT(0, self->nr_bars);
	TH_LOG("host bridge %s: %d functions, %d memory BARs",
	       self->platdev, self->nr_devices, self->nr_bars);
}

FIXTURE_TEARDOWN(host)
{
}

/* Everything is back and laid out as before. */
static void expect_restored(struct __test_metadata *_metadata,
			    int nr_devices, int nr_bars_before)
{
	int nr_bars;

	EXPECT_EQ(nr_devices, count_devices());
	EXPECT_EQ(0, check_layout(_metadata, &nr_bars));
	EXPECT_EQ(nr_bars_before, nr_bars);
}

TEST_F(host, rescan)
{
	ASSERT_EQ(0, sysfs_write("/sys/bus/pci/rescan", "1"));
	expect_restored(_metadata, self->nr_devices, self->nr_bars);
}

/* Remove the last function that has a sub-page BAR, then rescan. */
TEST_F(host, remove_rescan)
{
	static struct pci_res bars[MAX_BARS];
	unsigned long long page = sysconf(_SC_PAGESIZE);
	char path[PATH_MAX], victim[PCI_RES_DEV_LEN] = "";
	struct stat st;
	int n, i;

	n = pci_res_all_mem(bars, MAX_BARS);
	for (i = 0; i < n; i++)
		if (bars[i].end - bars[i].start + 1 < page &&
		    strcmp(bars[i].dev, victim) > 0)
			memcpy(victim, bars[i].dev, sizeof(victim));
	if (!victim[0])
		SKIP(return, "no function with a sub-page BAR");
	TH_LOG("removing %s", victim);

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/remove", victim);
	ASSERT_EQ(0, sysfs_write(path, "1"));
	snprintf(path, sizeof(path), SYSFS_PCI "/%s", victim);
	ASSERT_NE(0, stat(path, &st));
	ASSERT_EQ(self->nr_devices - 1, count_devices());

	ASSERT_EQ(0, sysfs_write("/sys/bus/pci/rescan", "1"));
	ASSERT_EQ(0, stat(path, &st));
	expect_restored(_metadata, self->nr_devices, self->nr_bars);
}

TEST_F(host, unbind_bind)
{
	ASSERT_EQ(0, sysfs_write(DRIVER_DIR "/unbind", self->platdev));
	EXPECT_EQ(0, count_devices());
	ASSERT_EQ(0, sysfs_write(DRIVER_DIR "/bind", self->platdev));
	expect_restored(_metadata, self->nr_devices, self->nr_bars);
}

TEST_F(host, module_reload)
{
	struct stat st;

	if (stat("/sys/module/pcie_xen_vpci/refcnt", &st))
		SKIP(return, DRIVER " is built in");
	ASSERT_EQ(0, system("modprobe -r pcie-xen-vpci"));
	EXPECT_EQ(0, count_devices());
	ASSERT_NE(0, stat(DRIVER_DIR, &st));
	ASSERT_EQ(0, system("modprobe pcie-xen-vpci"));
	expect_restored(_metadata, self->nr_devices, self->nr_bars);
}

TEST_HARNESS_MAIN
