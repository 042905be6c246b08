// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq in a driver domain: an unprivileged domain that dom0
 * made the device model of one guest (XEN_DOMCTL_set_target), which Xen
 * lets serve that guest and no other. The test bed's driver domain runs
 * this before the guest it serves starts, with XEN_PCI_DOMD_TARGET naming
 * that guest, XEN_PCI_DOMD_OTHER another guest (created by dom0, paused)
 * and XEN_PCI_DOMD_SELF itself; anywhere else it skips.
 *
 * - target_binds: a file binds to the guest and reads its info; asked to
 *   release the server, it takes the server with it when it closes
 *   (Xen lets the device model destroy what it created);
 * - other_domain_refused: a bind to a guest that this domain is not the
 *   device model of fails with EPERM, Xen's refusal, and so does one to
 *   itself; the file stays unbound and binds to its guest after;
 * - absent_domain_refused: a bind to a domain that does not exist fails
 *   with ESRCH, the same way.
 *
 * Each test releases the server it made, so that the backends then bind
 * with the root complex's own layout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <xen/pci-ioreq.h>

#include "../kselftest_harness.h"
#include "lib/ioreq_util.h"

FIXTURE(domd) {
	int target;
	int other;
	int self;
	int fd;
};

FIXTURE_SETUP(domd)
{
	const char *target = getenv("XEN_PCI_DOMD_TARGET");
	const char *me = getenv("XEN_PCI_DOMD_SELF");
	const char *other = getenv("XEN_PCI_DOMD_OTHER");

	self->fd = -1;
	if (!target || !me)
		SKIP(return, "not a driver domain (no XEN_PCI_DOMD_TARGET)");
	self->target = atoi(target);
	self->self = atoi(me);
	self->other = other ? atoi(other) : 0;
	ASSERT_LT(0, self->target);
	ASSERT_LT(0, self->self);
	ASSERT_LT(0, self->other) TH_LOG("no other guest (XEN_PCI_DOMD_OTHER)");
	self->fd = open_dev(false);
	ASSERT_LE(0, self->fd) TH_LOG(DEV_PATH ": %s", errname(errno));
}

FIXTURE_TEARDOWN(domd)
{
	if (self->fd >= 0) {
		ioctl(self->fd, XEN_PCI_IOREQ_RELEASE_SERVER, 0);
		close(self->fd);
	}
}

/* The debugfs directory of guest @domid's server, there while it lives. */
static void server_dir(int domid, char *path, size_t len)
{
	snprintf(path, len, "/sys/kernel/debug/xen-pci-ioreq/%d", domid);
}

/* Whether the server of guest @domid went: its directory goes with it. */
static bool server_gone(int domid)
{
	char path[64];
	int i;

	server_dir(domid, path, sizeof(path));
	for (i = 0; i < 50 && !access(path, F_OK); i++)
		usleep(100000);
	return access(path, F_OK) && errno == ENOENT;
}

TEST_F(domd, target_binds)
{
	struct xen_pci_ioreq_info info = {};
	char path[64];

	ASSERT_OK(bind_fd(self->fd, self->target));
	ASSERT_OK(ioctl(self->fd, XEN_PCI_IOREQ_GET_INFO, &info));
	EXPECT_EQ(self->target, info.domid);
	EXPECT_LT(0, info.nr_vcpus);
	server_dir(self->target, path, sizeof(path));
	ASSERT_EQ(0, access(path, F_OK)) TH_LOG("%s: %s", path, errname(errno));
	ASSERT_OK(ioctl(self->fd, XEN_PCI_IOREQ_RELEASE_SERVER, 0));
	ASSERT_OK(close(self->fd));
	self->fd = -1;
	EXPECT_TRUE(server_gone(self->target))
		TH_LOG("the server of domain %d outlived its last file", self->target);
}

TEST_F(domd, other_domain_refused)
{
	EXPECT_ERRNO(EPERM, bind_fd(self->fd, self->other));
	EXPECT_ERRNO(EPERM, bind_fd(self->fd, self->self));
	ASSERT_OK(bind_fd(self->fd, self->target));
}

TEST_F(domd, absent_domain_refused)
{
	EXPECT_ERRNO(ESRCH, bind_fd(self->fd, DOMID_UNUSED));
	ASSERT_OK(bind_fd(self->fd, self->target));
}

TEST_HARNESS_MAIN
