// SPDX-License-Identifier: GPL-2.0
/*
 * Checks of the environment the xen-pci selftests run in: that the kernel
 * runs on Xen, which Xen, and that the domain has the role the test bed
 * gave it. XEN_PCI_SUITE (set by the test bed: "dom0", or a domU's name)
 * says which role is expected; without it the role test is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kselftest_harness.h"

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	char *nl;

	if (!f)
		return -errno;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

static bool on_xen(void)
{
	char type[32];

	return !read_line("/sys/hypervisor/type", type, sizeof(type)) &&
	       !strcmp(type, "xen");
}

/* The kernel knows it runs on Xen and says so in sysfs. */
TEST(hypervisor_is_xen)
{
	char type[32];
	int ret;

	ret = read_line("/sys/hypervisor/type", type, sizeof(type));
	if (ret == -ENOENT)
		SKIP(return, "no /sys/hypervisor/type: not running on Xen");
	ASSERT_EQ(0, ret);
	ASSERT_STREQ("xen", type);
}

/* The hypervisor is the Xen 4.20 the test bed built. */
TEST(xen_version)
{
	char major[16], minor[16];

	if (!on_xen())
		SKIP(return, "not running on Xen");
	ASSERT_EQ(0, read_line("/sys/hypervisor/version/major", major, sizeof(major)));
	ASSERT_EQ(0, read_line("/sys/hypervisor/version/minor", minor, sizeof(minor)));
	TH_LOG("Xen %s.%s", major, minor);
	EXPECT_EQ(4, atoi(major));
	EXPECT_EQ(20, atoi(minor));
}

/* dom0 has the control_d capability, a domU has not. */
TEST(domain_role)
{
	const char *suite = getenv("XEN_PCI_SUITE");
	char caps[128] = "";
	bool want_dom0;
	int ret;

	if (!on_xen())
		SKIP(return, "not running on Xen");
	if (!suite)
		SKIP(return, "XEN_PCI_SUITE not set: expected role unknown");
	want_dom0 = !strcmp(suite, "dom0");

	ret = read_line("/proc/xen/capabilities", caps, sizeof(caps));
	if (ret == -ENOENT) {
		mkdir("/proc/xen", 0755);
		mount("xenfs", "/proc/xen", "xenfs", 0, NULL);
		ret = read_line("/proc/xen/capabilities", caps, sizeof(caps));
	}
	if (ret == -EIO)	/* a domU's capabilities file is empty */
		ret = 0;
	ASSERT_EQ(0, ret);
	TH_LOG("suite %s, capabilities \"%s\"", suite, caps);
	ASSERT_EQ(want_dom0, !!strstr(caps, "control_d"));
}

/*
 * In a domU, the virtual root complex at GUEST_VPCI_ECAM_BASE, be it our
 * node or the plain "pci-host-ecam-generic" one libxl generates, is driven
 * by pcie-xen-vpci, never by pci-host-generic.
 */
TEST(vpci_host_driver)
{
	const char *suite = getenv("XEN_PCI_SUITE");
	char link[PATH_MAX];
	const char *drv;
	ssize_t n;

	if (!on_xen() || (suite && !strcmp(suite, "dom0")))
		SKIP(return, "not a Xen domU");
	if (access("/sys/bus/platform/devices/10000000.pcie", F_OK))
		SKIP(return, "this domU has no virtual root complex");
	n = readlink("/sys/bus/platform/devices/10000000.pcie/driver", link,
		     sizeof(link) - 1);
	ASSERT_LT(0, n) TH_LOG("the virtual root complex is not bound");
	link[n] = '\0';
	drv = strrchr(link, '/');
	ASSERT_STREQ("pcie-xen-vpci", drv ? drv + 1 : link);
}

TEST_HARNESS_MAIN
