// SPDX-License-Identifier: GPL-2.0
/*
 * pcie-xen-vpci and bad input: a host bridge node that is malformed must
 * fail to probe with a message naming the problem (and stay unbound, also
 * by pci-host-generic), and a BAR that cannot fit in the memory windows must
 * stay unassigned with a warning while the rest of the bus works.
 *
 * The test machine describes what to expect in its device tree:
 * - top-level nodes named xen-vpci-bad-<case>, <case> being one of noreg,
 *   noranges, smallecam, nomem, and for the MSI controller msinoranges,
 *   msilevel, msinodoorbell, msidoorbell;
 * - /chosen/xenpci-test,nofit = "<pci device> <bar>": the BAR that cannot
 *   fit.
 * Without them the tests are skipped. Kernel messages are read from
 * /dev/kmsg.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#define DT		"/proc/device-tree"
#define PLATFORM	"/sys/bus/platform/devices"
#define BAD_PREFIX	"xen-vpci-bad-"

static const struct {
	const char *name;
	const char *message;
} bad_cases[] = {
	{ "noreg", "missing or invalid \"reg\"" },
	{ "noranges", "missing \"ranges\"" },
	{ "smallecam", "too small for bus-range" },
	{ "nomem", "no non-prefetchable memory window" },
	{ "msinoranges", "invalid \"msi-ranges\"" },
	{ "msilevel", "\"msi-ranges\" must be one range of GIC SPIs" },
	{ "msinodoorbell", "needs the doorbell" },
	{ "msidoorbell", "is not a 4 KiB page of a non-prefetchable memory window" },
};

/* Whether the kernel log has a line containing both strings. */
static bool kmsg_has(const char *a, const char *b)
{
	char buf[2048];
	bool found = false;
	ssize_t n;
	int fd;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return false;
	lseek(fd, 0, SEEK_DATA);	/* from the oldest record */
	for (;;) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EPIPE)	/* record overwritten: go on */
			continue;
		if (n <= 0)
			break;
		buf[n] = '\0';
		if (strstr(buf, a) && strstr(buf, b)) {
			found = true;
			break;
		}
	}
	close(fd);
	return found;
}

/* Platform device made from the top-level DT node @node, into @dev. */
static int platform_dev_of(const char *node, char *dev, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct dirent *e;
	int ret = -ENOENT;
	ssize_t n;
	DIR *d;

	d = opendir(PLATFORM);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		const char *base;

		snprintf(path, sizeof(path), PLATFORM "/%s/of_node", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		base = strrchr(link, '/');
		if (base && !strcmp(base + 1, node)) {
			snprintf(dev, len, "%s", e->d_name);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

static bool has_driver(const char *dev)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PLATFORM "/%s/driver", dev);
	return access(path, F_OK) == 0;
}

/* Every xen-vpci-bad-* node: not bound, and the expected message logged. */
TEST(malformed_nodes_fail_probe)
{
	struct dirent *e;
	int seen = 0;
	DIR *d;

	d = opendir(DT);
	if (!d)
		SKIP(return, "no device tree");
	while ((e = readdir(d))) {
		const char *kind, *msg = NULL;
		char dev[NAME_MAX + 1];
		size_t i;

		if (strncmp(e->d_name, BAD_PREFIX, strlen(BAD_PREFIX)))
			continue;
		kind = e->d_name + strlen(BAD_PREFIX);
		for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
			if (!strncmp(kind, bad_cases[i].name, strlen(bad_cases[i].name)))
				msg = bad_cases[i].message;
		ASSERT_NE(NULL, msg) TH_LOG("unknown case %s", e->d_name);
		ASSERT_EQ(0, platform_dev_of(e->d_name, dev, sizeof(dev)))
			TH_LOG("no platform device for %s", e->d_name);
		TH_LOG("%s: platform device %s, expecting \"%s\"", e->d_name, dev, msg);
		EXPECT_FALSE(has_driver(dev)) TH_LOG("%s is bound", dev);
		EXPECT_TRUE(kmsg_has(dev, msg));
		seen++;
	}
	closedir(d);
	if (!seen)
		SKIP(return, "no " BAD_PREFIX "* nodes in this machine's device tree");
}

/* The BAR /chosen names is unassigned, warned about; the rest works. */
TEST(bar_that_cannot_fit)
{
	unsigned long long s, end, fl, other_mem = 0;
	char want[64] = "", dev[32], path[PATH_MAX], bdf_bar[32];
	int bar, idx = 0, fd;
	ssize_t n;
	FILE *f;

	fd = open(DT "/chosen/xenpci-test,nofit", O_RDONLY);
	if (fd < 0)
		SKIP(return, "no /chosen/xenpci-test,nofit in the device tree");
	n = read(fd, want, sizeof(want) - 1);
	close(fd);
	ASSERT_LT(0, n);
	n = sscanf(want, "%31s %d", dev, &bar);
	ASSERT_EQ(2, n);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", dev);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("no PCI device %s", dev);
	while (fscanf(f, "%llx %llx %llx", &s, &end, &fl) == 3 && idx < 7) {
		if (idx == bar) {
			EXPECT_EQ(0ULL, s)
				TH_LOG("BAR %d of %s was assigned at %#llx", bar, dev, s);
		} else if ((fl & 0x200) && s) {
			other_mem++;
		}
		idx++;
	}
	fclose(f);
	EXPECT_LT(0ULL, other_mem) TH_LOG("the other BARs of %s are unassigned too", dev);
	snprintf(bdf_bar, sizeof(bdf_bar), "BAR %d ", bar);
	EXPECT_TRUE(kmsg_has(dev, "does not fit")) TH_LOG("no warning about %s", dev);
	EXPECT_TRUE(kmsg_has(dev, bdf_bar));
}

TEST_HARNESS_MAIN
