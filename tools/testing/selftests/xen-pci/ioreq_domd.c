// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq in a driver domain: an unprivileged domain that dom0
 * made the device model of one guest (XEN_DOMCTL_set_target), which Xen
 * lets serve that guest and no other. The test bed's driver domain runs
 * this before the guest it serves starts, with XEN_PCI_DOMD_TARGET naming
 * that guest and XEN_PCI_DOMD_SELF itself; anywhere else it skips.
 *
 * - target_binds: a file binds to the guest and reads its info; asked to
 *   release the server, it takes the server with it when it closes
 *   (Xen lets the device model destroy what it created);
 * - other_domain_refused: a bind to a domain that this one is not the
 *   device model of (itself) fails with EPERM, Xen's refusal, and leaves
 *   the file unbound: it binds to the guest after;
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
	int self;
	int fd;
};

FIXTURE_SETUP(domd)
{
	const char *target = getenv("XEN_PCI_DOMD_TARGET");
	const char *me = getenv("XEN_PCI_DOMD_SELF");

	self->fd = -1;
	if (!target || !me)
		SKIP(return, "not a driver domain (no XEN_PCI_DOMD_TARGET)");
	self->target = atoi(target);
	self->self = atoi(me);
	ASSERT_LT(0, self->target);
	ASSERT_LT(0, self->self);
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

/* Whether guest @domid has no server left: its debugfs directory goes. */
static bool server_gone(int domid)
{
	char path[64];
	int i;

	snprintf(path, sizeof(path), "/sys/kernel/debug/xen-pci-ioreq/%d", domid);
	for (i = 0; i < 50 && !access(path, F_OK); i++)
		usleep(100000);
	return access(path, F_OK) && errno == ENOENT;
}

TEST_F(domd, target_binds)
{
	struct xen_pci_ioreq_info info = {};

	ASSERT_OK(bind_fd(self->fd, self->target));
	ASSERT_OK(ioctl(self->fd, XEN_PCI_IOREQ_GET_INFO, &info));
	EXPECT_EQ(self->target, info.domid);
	EXPECT_LT(0, info.nr_vcpus);
	ASSERT_OK(ioctl(self->fd, XEN_PCI_IOREQ_RELEASE_SERVER, 0));
	ASSERT_OK(close(self->fd));
	self->fd = -1;
	EXPECT_TRUE(server_gone(self->target))
		TH_LOG("the server of domain %d outlived its last file", self->target);
}

TEST_F(domd, other_domain_refused)
{
	EXPECT_ERRNO(EPERM, bind_fd(self->fd, self->self));
	ASSERT_OK(bind_fd(self->fd, self->target));
}

TEST_F(domd, absent_domain_refused)
{
	EXPECT_ERRNO(ESRCH, bind_fd(self->fd, DOMID_UNUSED));
	ASSERT_OK(bind_fd(self->fd, self->target));
}

TEST_HARNESS_MAIN
