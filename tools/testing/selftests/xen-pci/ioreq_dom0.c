// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq seen from dom0: every error the interface promises,
 * on files unbound or bound to a guest that never runs. What a running
 * guest sees is tested from inside it by ioreq_guest.
 *
 * The dom0 tests are six programs, split where the harness differs (the
 * iommufd selftests keep their fail-nth program apart the same way):
 *   ioreq_dom0           no guest (global, unbound), and the guest a
 *                        program shares among its tests (guest)
 *   ioreq_dom0_eventfd   ioeventfds and irqfds, on a shared guest (guest)
 *   ioreq_dom0_fuzz      random calls on a shared guest (guest.fuzz)
 *   ioreq_dom0_lifetime  guests of each test's own that die under live
 *                        files (fresh, dying, churn)
 *   ioreq_dom0_fault     fault injection into the server's setup and the
 *                        release watch, each on a guest of its own (fresh)
 *   ioreq_dom0_running   guests that run (running, polled)
 * kselftest_harness keeps its fixture list per program, so each program
 * that needs the shared guest creates its own: under the test bed's QEMU a
 * paused guest takes about 7 s to create and destroy (a round of churn),
 * against some 400 s for the dom0 tests and the 30 guests they make, and
 * ioreq_dom0_running and ioreq_dom0_fault make none.
 *
 * The tests need real guests. XEN_PCI_IOREQ_GUEST_CFG names the xl
 * configuration of a small guest; the tests create it paused (xl create -p)
 * under names of their own (ioreq-selftest-PID[-N]), never unpause it, and
 * destroy it at the end. The configuration needs nr_spis >= 16, so that
 * INTx lines exist. Without the variable or without /dev/xen/pci-ioreq the
 * tests are skipped.
 *
 * Runs as root in dom0. Needs xl in $PATH.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <xen/pci-ioreq.h>

#include <sys/eventfd.h>

#include "../kselftest_harness.h"
#include "lib/ioreq_util.h"
#include "lib/pci_util.h"
#include "lib/xl_util.h"
#include "lib/guest_fixture.h"

/*
 * The layout of a file bound without one: Xen's guest layout (its public
 * arch-arm.h) and the kernel's default INTx lines. Only the tests of that
 * default use it; the others read the layout from GET_INFO.
 */
#define DEFAULT_ECAM_BASE	0x10000000ULL
#define DEFAULT_ECAM_SIZE	0x10000000ULL
#define DEFAULT_MEM_BASE	0x23000000ULL
#define DEFAULT_MEM_SIZE	0x10000000ULL
#define DEFAULT_PREF_BASE	0x100000000ULL
#define DEFAULT_PREF_SIZE	0x100000000ULL
#define DEFAULT_INTX_BASE	44
/* A flag of BIND that means nothing. */
#define BIND_UNKNOWN_FLAG	(XEN_PCI_IOREQ_BIND_INVALIDATE << 1)
/* The bit that was XEN_PCI_IOREQ_BIND_KEEP before the uapi was released */
#define BIND_RETIRED_KEEP	0x1

/* ---- tests without a guest ---- */

/* Opening the device takes CAP_SYS_ADMIN, whatever the file mode says. */
TEST(open_needs_cap_sys_admin)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int i = CAP_TO_INDEX(CAP_SYS_ADMIN);
	int fd;

	if (access(DEV_PATH, F_OK))
		SKIP(return, "no " DEV_PATH);
	if (geteuid())
		SKIP(return, "needs root");

	/* With the capability, it opens. */
	fd = open_dev(false);
	ASSERT_LE(0, fd);
	close(fd);

	/* This test runs in a process of its own: drop it for good. */
	ASSERT_OK(syscall(SYS_capget, &hdr, data));
	data[i].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[i].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[i].inheritable &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	ASSERT_OK(syscall(SYS_capset, &hdr, data));

	EXPECT_ERRNO(EPERM, open_dev(false));
	EXPECT_ERRNO(EPERM, open_dev(true));
}

FIXTURE(unbound) {
	int fd;
};

FIXTURE_SETUP(unbound)
{
	self->fd = -1;
	if (access(DEV_PATH, F_OK))
		SKIP(return, "no " DEV_PATH);
	if (geteuid())
		SKIP(return, "needs root");
	self->fd = open_dev(true);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(unbound)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* A file does nothing before it is bound to a guest. */
TEST_F(unbound, everything_needs_bind)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 1, 0);
	struct xen_pci_ioreq_request req[2];
	struct xen_pci_ioreq_info info;
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };

	EXPECT_ERRNO(ERR_UNBOUND, ioctl(self->fd, XEN_PCI_IOREQ_GET_INFO, &info));
	test_err_register(ERR_UNBOUND, self->fd, fn);
	test_err_unregister(ERR_UNBOUND, self->fd, fn);
	test_err_add_mmio(ERR_UNBOUND, self->fd, fn, 0, DEFAULT_MEM_BASE, 0x1000);
	test_err_remove_mmio(ERR_UNBOUND, self->fd, fn, 0, DEFAULT_MEM_BASE, 0x1000);
	test_err_set_intx(ERR_UNBOUND, self->fd, fn, 1, 1);
	EXPECT_ERRNO(ERR_UNBOUND, read(self->fd, req, sizeof(req)));
	EXPECT_ERRNO(ERR_UNBOUND, respond(self->fd, 1, 0));
	/* Nothing to read. */
	ASSERT_LE(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, pfd.revents & POLLIN);
}

TEST_F(unbound, bind_refuses_bad_domains)
{
	struct xen_pci_ioreq_bind b = { .domid = 1, .flags = BIND_UNKNOWN_FLAG };

	EXPECT_ERRNO(EINVAL, bind_fd(self->fd, 0));
	EXPECT_ERRNO(EINVAL, bind_fd(self->fd, DOMID_SELF));
	EXPECT_ERRNO(ESRCH, bind_fd(self->fd, DOMID_UNUSED));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_BIND, &b));
	/* The retired KEEP bit: refused, never silently something else */
	b.flags = BIND_RETIRED_KEEP;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_BIND, &b));
	b.flags = 0;
	b.reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_BIND, &b));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_BIND, NULL));
	/* None of that bound the file. */
	test_err_register(ERR_UNBOUND, self->fd, mkfn(0, 1, 0));
}

/* ---- tests on the shared guest ---- */

TEST_F(guest, bind_once)
{
	EXPECT_ERRNO(EBUSY, bind_fd(self->fd, self->domid));
	EXPECT_ERRNO(EBUSY, bind_fd(self->fd, DOMID_UNUSED));
}

/*
 * Commands that are not ours, in our ioctl space, are refused (on a bound
 * file, where no other error can come first).
 */
TEST_F(guest, unknown_commands)
{
	unsigned char buf[256] = { 0 };
	unsigned long cmds[] = {
		_IO(XEN_PCI_IOREQ_MAGIC, 0x00),
		_IOW(XEN_PCI_IOREQ_MAGIC, 0x00, __u32),	/* wrong size */
		_IOWR(XEN_PCI_IOREQ_MAGIC, 0x00, struct xen_pci_ioreq_bind),
		_IOR(XEN_PCI_IOREQ_MAGIC, 0x02, struct xen_pci_ioreq_function),
		_IOW(XEN_PCI_IOREQ_MAGIC, 0x01, struct xen_pci_ioreq_info),
		_IOW(XEN_PCI_IOREQ_MAGIC, 0x07, struct xen_pci_ioreq_function),
		_IO(XEN_PCI_IOREQ_MAGIC, 0x3f),
		_IOWR(XEN_PCI_IOREQ_MAGIC, 0xff, __u32),
		_IOW(XEN_PCI_IOREQ_MAGIC + 1, 0x00, struct xen_pci_ioreq_bind),
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		TH_LOG("command %#lx", cmds[i]);
		EXPECT_ERRNO(ENOTTY, ioctl(self->fd, cmds[i], buf));
	}
}

TEST_F(guest, get_info)
{
	struct xen_pci_ioreq_info info, info2;
	long long ioservid;
	unsigned int i;
	int vcpus, fd;

	memset(&info, 0xa5, sizeof(info));
	ASSERT_OK(ioctl(self->fd, XEN_PCI_IOREQ_GET_INFO, &info));
	TH_LOG("domain %u: %u vCPUs, mode %u, ECAM %#llx+%#llx",
	       info.domid, info.nr_vcpus, info.mode,
	       (unsigned long long)info.layout.ecam.base,
	       (unsigned long long)info.layout.ecam.size);
	EXPECT_EQ(self->domid, info.domid);
	EXPECT_EQ(0U, info.reserved1) TH_LOG("the server id is Xen's business");
	EXPECT_EQ(0U, info.reserved0);
	EXPECT_EQ(0ULL, info.reserved);
	EXPECT_EQ(0U, info.layout.reserved);
	vcpus = domain_vcpus(self->domid);
	ASSERT_LT(0, vcpus);
	EXPECT_EQ((__u32)vcpus, info.nr_vcpus);
#ifdef __aarch64__
	EXPECT_EQ((__u32)XEN_PCI_IOREQ_MODE_ECAM, info.mode);
#endif
	if (info.mode == XEN_PCI_IOREQ_MODE_ECAM) {
		/* Bound without a layout: Xen's guest layout, our INTx. */
		EXPECT_EQ(DEFAULT_ECAM_BASE, info.layout.ecam.base);
		EXPECT_EQ(DEFAULT_ECAM_SIZE, info.layout.ecam.size);
		EXPECT_EQ(DEFAULT_MEM_BASE, info.layout.mem[0].base);
		EXPECT_EQ(DEFAULT_MEM_SIZE, info.layout.mem[0].size);
		EXPECT_EQ(DEFAULT_PREF_BASE, info.layout.mem[1].base);
		EXPECT_EQ(DEFAULT_PREF_SIZE, info.layout.mem[1].size);
		EXPECT_EQ(DEFAULT_INTX_BASE, info.layout.intx_base);
	} else {
		EXPECT_EQ((__u32)XEN_PCI_IOREQ_MODE_PCI, info.mode);
		for (i = 0; i < sizeof(info.layout); i++)
			EXPECT_EQ(0, ((unsigned char *)&info.layout)[i]);
	}
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_GET_INFO, NULL));

	/* One ioreq server per guest, shared by every file... */
	ioservid = guest_stat(self->domid, "ioservid");
	ASSERT_LE(0, ioservid) TH_LOG("no debugfs statistics of the guest");
	ASSERT_OK(ioctl(self->fd2, XEN_PCI_IOREQ_GET_INFO, &info2));
	EXPECT_EQ(0, memcmp(&info, &info2, sizeof(info)));

	/* ...and living as long as the guest, whatever its files do. */
	close(self->fd);
	close(self->fd2);
	self->fd = -1;
	self->fd2 = -1;
	fd = open_bound(self->domid, true);
	ASSERT_LE(0, fd);
	EXPECT_EQ(ioservid, guest_stat(self->domid, "ioservid"));
	close(fd);
}

/* The root complex of the test guest domu-layout, where QEMU's xenpvh has it. */
static const struct xen_pci_ioreq_layout other_layout = {
	.ecam = { 0xf100000000ULL, 0x1000000 },
	.mem = { { 0x34000000, 0x4000000 },
		 { 0xf000000000ULL, 0x100000000ULL } },
	.intx_base = 48,
};

/* An address in no window of the default layout nor of other_layout. */
static const __u64 outside_both = 0x3c000000;

/* A layout apart from both but for a window over outside_both. */
static const struct xen_pci_ioreq_layout third_layout = {
	.ecam = { 0xf200000000ULL, 0x1000000 },
	.mem = { { 0x3c000000, 0x1000000 } },
	.intx_base = 56,
};

/*
 * A backend names the root complex it serves at bind time: a second one of
 * the same guest gets a server of its own, GET_INFO reports it, and layouts
 * that cannot be served, or collide with a root complex of the guest, are
 * refused and leave nothing behind.
 */
TEST_F(guest, layout_at_bind)
{
	struct xen_pci_ioreq_layout l, bad;
	struct xen_pci_ioreq_bind b = { .domid = self->domid };
	struct xen_pci_ioreq_info info;
	char dir[48], dir3[48];
	int fd, fd2;

	fd = open_dev(true);
	ASSERT_LE(0, fd);
	if (!self->ecam) {
		/* Xen decodes config cycles: nothing to place. */
		test_err_bind_layout(EOPNOTSUPP, fd, self->domid, &other_layout);
		close(fd);
		return;
	}
	snprintf(dir, sizeof(dir), "%d@%llx", self->domid,
		 (unsigned long long)other_layout.ecam.base);

	/* Layouts that cannot be served. */
	bad = other_layout;
	bad.ecam.size = 0;
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad.ecam.size = 257ULL << 20;		/* more than 256 buses */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad = other_layout;
	bad.ecam.base += 0x1000;		/* not on a bus boundary */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad = other_layout;
	bad.mem[0].size = 0x1800;		/* not whole pages */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad = other_layout;
	bad.mem[1].base = other_layout.ecam.base;	/* over ECAM */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad = other_layout;
	bad.intx_base = 31;			/* a PPI, not an SPI */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad.intx_base = 1017;			/* INTD past the last SPI */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad = other_layout;
	bad.reserved = 1;
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	/* A layout without the flag is no layout: refused, not ignored. */
	b.layout = other_layout;
	EXPECT_ERRNO(EINVAL, ioctl(fd, XEN_PCI_IOREQ_BIND, &b));
	/* In the way of the guest's default root complex (fd is bound). */
	bad = other_layout;
	bad.intx_base = self->lay.intx_base + 3;		/* shares its INTD line */
	test_err_bind_layout(EBUSY, fd, self->domid, &bad);
	bad = other_layout;
	bad.mem[0].base = self->lay.mem[0].base + self->lay.mem[0].size - 0x1000;
	test_err_bind_layout(EBUSY, fd, self->domid, &bad);
	EXPECT_EQ(-1, server_stat(dir, "ioservid"))
		TH_LOG("a refused layout left a server behind");

	/* A second root complex of the guest, with a server of its own. */
	test_cmd_bind_layout(fd, self->domid, &other_layout);
	ASSERT_OK(ioctl(fd, XEN_PCI_IOREQ_GET_INFO, &info));
	EXPECT_EQ(0, memcmp(&other_layout, &info.layout, sizeof(info.layout)));
	EXPECT_EQ(self->domid, info.domid);
	ASSERT_LE(0, server_stat(dir, "ioservid"));
	EXPECT_NE(guest_stat(self->domid, "ioservid"),
		  server_stat(dir, "ioservid"));
	ASSERT_OK(ioctl(self->fd, XEN_PCI_IOREQ_GET_INFO, &info));
	EXPECT_EQ(self->lay.ecam.base, info.layout.ecam.base);

	/* Its ECAM window is configuration space there, not a BAR. */
	test_cmd_register(fd, mkfn(0, 3, 0));
	test_err_add_mmio(ERR_ECAM, fd, mkfn(0, 3, 0), 0, other_layout.ecam.base, 0x1000);
	test_cmd_add_mmio(fd, mkfn(0, 3, 0), 0, other_layout.mem[0].base, 0x1000);
	/*
	 * Nor what the other root complex decodes, whose accesses Xen would
	 * give to the newer server: its windows, a BAR range it claimed
	 * outside them; and no layout may take in such a range.
	 */
	test_err_add_mmio(EBUSY, fd, mkfn(0, 3, 0), 0, self->lay.ecam.base, 0x1000);
	test_err_add_mmio(EBUSY, fd, mkfn(0, 3, 0), 0, self->lay.mem[0].base, 0x1000);
	test_cmd_register(self->fd, mkfn(0, 4, 0));
	test_cmd_add_mmio(self->fd, mkfn(0, 4, 0), 0, outside_both, 0x1000);
	test_err_add_mmio(EEXIST, fd, mkfn(0, 3, 0), 0, outside_both, 0x1000);
	fd2 = open_dev(true);
	ASSERT_LE(0, fd2);
	test_err_bind_layout(EBUSY, fd2, self->domid, &third_layout);
	close(fd2);
	snprintf(dir3, sizeof(dir3), "%d@%llx", self->domid,
		 (unsigned long long)third_layout.ecam.base);
	EXPECT_EQ(-1, server_stat(dir3, "ioservid"))
		TH_LOG("a refused layout left a server behind");
	test_cmd_unregister(self->fd, mkfn(0, 4, 0));
	/* Functions are per root complex: 00:03.0 is free on the other. */
	test_cmd_register(self->fd, mkfn(0, 3, 0));
	test_cmd_unregister(self->fd, mkfn(0, 3, 0));

	/* Sharing it takes the same layout. */
	fd2 = open_dev(true);
	ASSERT_LE(0, fd2);
	l = other_layout;
	l.intx_base = 52;
	test_err_bind_layout(EBUSY, fd2, self->domid, &l);
	test_cmd_bind_layout(fd2, self->domid, &other_layout);
	test_err_register(EBUSY, fd2, mkfn(0, 3, 0));
	close(fd2);
	EXPECT_LE(0, server_stat(dir, "ioservid"));

	/* Its last file gone, having asked, its server goes. */
	test_cmd_release_server(fd);
	close(fd);
	EXPECT_EQ(-1, server_stat(dir, "ioservid"));
	EXPECT_LE(0, guest_stat(self->domid, "ioservid"));
}

TEST_F(guest, register_unregister)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 1, 0);
	struct xen_pci_ioreq_function other = mkfn(0, 1, 1);

	test_cmd_register(self->fd, fn);
	test_err_register(EBUSY, self->fd, fn);
	test_err_register(EBUSY, self->fd2, fn);
	/* Only the file that registered a function can unregister it. */
	test_err_unregister(ERR_NOT_OURS, self->fd2, fn);
	test_err_unregister(ERR_NOT_OURS, self->fd, other);
	/* Another function of the same device is another registration. */
	test_cmd_register(self->fd2, other);
	test_cmd_unregister(self->fd2, other);

	test_cmd_unregister(self->fd, fn);
	test_err_unregister(ERR_NOT_OURS, self->fd, fn);
	/* Free again, for anyone. */
	test_cmd_register(self->fd2, fn);
	test_cmd_unregister(self->fd2, fn);

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_REGISTER, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_UNREGISTER, NULL));
	/* An Arm guest has one PCI segment. */
	if (self->ecam) {
		fn.segment = 1;
		test_err_register(EINVAL, self->fd, fn);
	}
}

TEST_F(guest, mmio_ranges)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 2, 0);
	struct xen_pci_ioreq_function fn2 = mkfn(0, 3, 0);
	struct xen_pci_ioreq_function none = mkfn(0, 4, 0);
	__u64 a = self->lay.mem[0].base + 0x100000;

	test_cmd_register(self->fd, fn);
	test_cmd_register(self->fd2, fn2);

	/* Only for functions this file registered. */
	test_err_add_mmio(ERR_NOT_OURS, self->fd, none, 0, a, 0x1000);
	test_err_add_mmio(ERR_NOT_OURS, self->fd, fn2, 0, a, 0x1000);
	/* Malformed ranges. */
	test_err_add_mmio(EINVAL, self->fd, fn, 0, a, 0);
	test_err_add_mmio(EINVAL, self->fd, fn, 0, ~0ULL - 0xfff, 0x2000);
	test_err_add_mmio(EINVAL, self->fd, fn, 0, 1ULL << 63, 1ULL << 63 | 1);
	test_err_add_mmio(EINVAL, self->fd, fn, 7, a, 0x1000);
	test_err_add_mmio(EINVAL, self->fd, fn, ~0U, a, 0x1000);
	/* The kernel's own ECAM window is not a BAR. */
	if (self->ecam) {
		__u64 ecam = self->lay.ecam.base, ecam_size = self->lay.ecam.size;

		test_err_add_mmio(ERR_ECAM, self->fd, fn, 0, ecam, 0x1000);
		test_err_add_mmio(ERR_ECAM, self->fd, fn, 0, ecam + 0x8000, 0x100);
		test_err_add_mmio(ERR_ECAM, self->fd, fn, 0, ecam - 0x100, 0x200);
		test_err_add_mmio(ERR_ECAM, self->fd, fn, 0, ecam + ecam_size - 0x10, 0x100);
		test_err_add_mmio(ERR_ECAM, self->fd, fn, 0, ecam - 0x1000, ecam_size + 0x2000);
	}
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_ADD_MMIO, NULL));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_REMOVE_MMIO, NULL));

	/* A sub-page BAR, then overlaps from this file and another. */
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_err_add_mmio(ERR_OVERLAP, self->fd, fn, 0, a, 0x100);
	test_err_add_mmio(ERR_OVERLAP, self->fd, fn, 2, a + 0xff, 0x100);
	test_err_add_mmio(ERR_OVERLAP, self->fd2, fn2, 0, a - 0x80, 0x100);
	/* Adjacent ranges do not overlap. */
	test_cmd_add_mmio(self->fd2, fn2, 0, a + 0x100, 0x100);
	test_cmd_add_mmio(self->fd, fn, 2, a + 0x1000, 0x10000);

	/* Removing takes exactly what was added, by whoever added it. */
	test_err_remove_mmio(ERR_NOT_OURS, self->fd, fn, 0, a, 0x80);
	test_err_remove_mmio(ERR_NOT_OURS, self->fd, fn, 0, a + 0x10, 0x100);
	test_err_remove_mmio(ERR_NOT_OURS, self->fd, fn, 0, a + 0x100, 0x100);
	test_err_remove_mmio(ERR_NOT_OURS, self->fd2, fn, 0, a, 0x100);
	test_cmd_remove_mmio(self->fd, fn, 0, a, 0x100);
	test_err_remove_mmio(ERR_NOT_OURS, self->fd, fn, 0, a, 0x100);
	/* A BAR moves: gone from the old place, routed at the new one. */
	test_cmd_add_mmio(self->fd, fn, 0, a + 0x200000, 0x100);
	test_cmd_remove_mmio(self->fd, fn, 0, a + 0x200000, 0x100);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_remove_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_remove_mmio(self->fd, fn, 2, a + 0x1000, 0x10000);
	test_cmd_remove_mmio(self->fd2, fn2, 0, a + 0x100, 0x100);
}

TEST_F(guest, intx)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 5, 0);

	test_cmd_register(self->fd, fn);
	test_cmd_set_intx(self->fd, fn, 1, 1);
	test_cmd_set_intx(self->fd, fn, 1, 0);
	test_cmd_set_intx(self->fd, fn, 4, 1);
	test_cmd_set_intx(self->fd, fn, 4, 0);
	test_err_set_intx(EINVAL, self->fd, fn, 0, 1);
	test_err_set_intx(EINVAL, self->fd, fn, 5, 1);
	test_err_set_intx(EINVAL, self->fd, fn, 0xff, 0);
	test_err_set_intx(EINVAL, self->fd, fn, 1, 2);
	test_err_set_intx(ERR_NOT_OURS, self->fd2, fn, 1, 1);
	test_err_set_intx(ERR_NOT_OURS, self->fd, mkfn(0, 6, 0), 1, 1);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_SET_INTX, NULL));
}

/* Make a reserved field or flags non-zero: its lowest bit, or its highest. */
#define SPOIL(field, how) \
	((field) = (how) ? (__typeof__(field))~((__typeof__(field))~0 >> 1) : 1)

/* Field @i of a function: 0 flags, 1 reserved. */
static struct xen_pci_ioreq_function spoil_fn(struct xen_pci_ioreq_function fn,
					      unsigned int i, unsigned int how)
{
	if (i == 0)
		SPOIL(fn.flags, how);
	else
		SPOIL(fn.reserved, how);
	return fn;
}

/* Field @i: 0 flags (a bit that means nothing), 1 reserved. */
static struct xen_pci_ioreq_bind spoil_bind(struct xen_pci_ioreq_bind b,
					    unsigned int i, unsigned int how)
{
	if (i == 0)
		b.flags = how ? 0x8000 : BIND_UNKNOWN_FLAG;
	else
		SPOIL(b.reserved, how);
	return b;
}

/* Field @i: 0 fn.flags, 1 fn.reserved, 2 flags, 3 reserved, 4 reserved0. */
static struct xen_pci_ioreq_mmio spoil_mmio(struct xen_pci_ioreq_mmio m,
					    unsigned int i, unsigned int how)
{
	if (i < 2)
		m.fn = spoil_fn(m.fn, i, how);
	else if (i == 2)
		SPOIL(m.flags, how);
	else if (i == 3)
		SPOIL(m.reserved, how);
	else
		SPOIL(m.reserved0[how + 1], how);
	return m;
}

/* Field @i: 0 fn.flags, 1 fn.reserved, 2 reserved0, 3 reserved. */
static struct xen_pci_ioreq_intx spoil_intx(struct xen_pci_ioreq_intx x,
					    unsigned int i, unsigned int how)
{
	if (i < 2)
		x.fn = spoil_fn(x.fn, i, how);
	else if (i == 2)
		SPOIL(x.reserved0, how);
	else
		SPOIL(x.reserved, how);
	return x;
}

/* Field @i: 0 flags, 1 reserved. */
static struct xen_pci_ioreq_response
spoil_rsp(struct xen_pci_ioreq_response r, unsigned int i, unsigned int how)
{
	if (i == 0)
		SPOIL(r.flags, how);
	else
		SPOIL(r.reserved, how);
	return r;
}

/*
 * Every ioctl refuses a non-zero reserved field or an unknown flag, and
 * does nothing then: the same call with the field cleared still works.
 * The fields are numbered as the spoil_*() helpers say.
 */
TEST_F(guest, reserved_fields_and_flags)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 7, 0), bad_fn;
	struct xen_pci_ioreq_mmio mmio = {
		.fn = fn, .addr = self->lay.mem[0].base + 0x300000, .size = 0x1000,
	}, bad_mmio;
	struct xen_pci_ioreq_intx intx = { .fn = fn, .pin = 1 }, bad_intx;
	struct xen_pci_ioreq_response rsp = { .id = 1 }, bad_rsp;
	struct xen_pci_ioreq_bind bind = { .domid = self->domid }, bad_bind;
	unsigned int i, how;
	int fd;

	fd = open_dev(true);
	ASSERT_LE(0, fd);
	for (how = 0; how < 2; how++) {
		for (i = 0; i < 2; i++) {
			TH_LOG("bind and function field %u (%u)", i, how);
			bad_bind = spoil_bind(bind, i, how);
			EXPECT_ERRNO(EINVAL, ioctl(fd, XEN_PCI_IOREQ_BIND, &bad_bind));
			bad_fn = spoil_fn(fn, i, how);
			EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_REGISTER,
						   &bad_fn));
		}
	}
	/* The refused BINDs left the file unbound, no REGISTER registered. */
	ASSERT_OK(bind_fd(fd, self->domid));
	close(fd);
	test_cmd_register(self->fd, fn);

	for (how = 0; how < 2; how++) {
		for (i = 0; i < 2; i++) {
			TH_LOG("function and response field %u (%u)", i, how);
			bad_fn = spoil_fn(fn, i, how);
			EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_UNREGISTER,
						   &bad_fn));
			bad_rsp = spoil_rsp(rsp, i, how);
			EXPECT_ERRNO(EINVAL, write(self->fd, &bad_rsp,
						   sizeof(bad_rsp)));
		}
		for (i = 0; i < 5; i++) {
			TH_LOG("mmio and intx field %u (%u)", i, how);
			bad_mmio = spoil_mmio(mmio, i, how);
			EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_ADD_MMIO,
						   &bad_mmio));
			if (i == 4)
				break;
			bad_intx = spoil_intx(intx, i, how);
			EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_SET_INTX,
						   &bad_intx));
		}
		/* The refused ADD_MMIOs added nothing. */
		ASSERT_OK(ioctl(self->fd, XEN_PCI_IOREQ_ADD_MMIO, &mmio));
		for (i = 0; i < 5; i++) {
			TH_LOG("mmio field %u (%u)", i, how);
			bad_mmio = spoil_mmio(mmio, i, how);
			EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_REMOVE_MMIO,
						   &bad_mmio));
		}
		/* The refused REMOVE_MMIOs removed nothing. */
		ASSERT_OK(ioctl(self->fd, XEN_PCI_IOREQ_REMOVE_MMIO, &mmio));
	}
	/* The refused UNREGISTERs left the function registered. */
	test_err_register(EBUSY, self->fd2, fn);
	test_cmd_unregister(self->fd, fn);
}

TEST_F(guest, read_errors)
{
	struct xen_pci_ioreq_request req[4];
	int fd;

	test_cmd_register(self->fd, mkfn(0, 8, 0));
	/* Too short for one record: refused, even when nothing is pending. */
	EXPECT_ERRNO(EINVAL, read(self->fd, req, 1));
	EXPECT_ERRNO(EINVAL, read(self->fd, req, REQ_SIZE - 1));
	/* Nothing pending: the guest is paused. */
	EXPECT_ERRNO(EAGAIN, read(self->fd, req, REQ_SIZE));
	EXPECT_ERRNO(EAGAIN, read(self->fd, req, sizeof(req)));
	EXPECT_ERRNO(EAGAIN, read(self->fd, req, REQ_SIZE + 1));

	/* A short read on a blocking file fails at once too. */
	fd = open_bound(self->domid, false);
	ASSERT_LE(0, fd);
	alarm(10);	/* a hang dies of SIGALRM */
	EXPECT_ERRNO(EINVAL, read(fd, req, REQ_SIZE - 1));
	alarm(0);
	close(fd);
}

static void on_alarm(int sig)
{
}

/* A blocking read() sleeps until a signal, and is interruptible. */
TEST_F(guest, blocking_read_interruptible)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct xen_pci_ioreq_request req;
	struct timespec t0, t1;
	int fd;

	fd = open_bound(self->domid, false);
	ASSERT_LE(0, fd);
	test_cmd_register(fd, mkfn(0, 9, 0));
	ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm(1);
	EXPECT_ERRNO(EINTR, read(fd, &req, sizeof(req)));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* It slept until the alarm. */
	EXPECT_LE(900, (t1.tv_sec - t0.tv_sec) * 1000 +
		       (t1.tv_nsec - t0.tv_nsec) / 1000000);
	close(fd);
}

TEST_F(guest, poll_idle)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	struct epoll_event ev = { .events = EPOLLIN };
	int ep;

	test_cmd_register(self->fd, mkfn(0, 10, 0));
	/* Nothing to read, and the guest is there: no POLLIN, no POLLHUP. */
	ASSERT_LE(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, pfd.revents & (POLLIN | POLLHUP | POLLERR));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 100));
	close(ep);
}

TEST_F(guest, write_errors)
{
	struct xen_pci_ioreq_response rsp[2] = {
		{ .id = 0x12345678 }, { .id = 0x12345679 },
	};

	test_cmd_register(self->fd, mkfn(0, 11, 0));
	/* No request was ever read: every id is unknown. */
	EXPECT_ERRNO(EINVAL, respond(self->fd, 0, 0));
	EXPECT_ERRNO(EINVAL, respond(self->fd, 1, 0));
	EXPECT_ERRNO(EINVAL, respond(self->fd, ~0ULL, 0));
	EXPECT_ERRNO(EINVAL, write(self->fd, rsp, sizeof(rsp)));
	/* Not whole records. */
	EXPECT_ERRNO(EINVAL, write(self->fd, rsp, 1));
	EXPECT_ERRNO(EINVAL, write(self->fd, rsp, RSP_SIZE - 1));
	EXPECT_ERRNO(EINVAL, write(self->fd, rsp, RSP_SIZE + 1));
}

/* Closing a file releases its functions, their ranges and INTx lines. */
TEST_F(guest, close_releases)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 12, 0);
	__u64 a = self->lay.mem[0].base + 0x400000;

	test_cmd_register(self->fd, fn);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_add_mmio(self->fd, fn, 2, a + 0x10000, 0x10000);
	test_cmd_set_intx(self->fd, fn, 1, 1);
	close(self->fd);
	self->fd = -1;

	test_cmd_register(self->fd2, fn);
	test_cmd_add_mmio(self->fd2, fn, 0, a, 0x100);
	test_cmd_add_mmio(self->fd2, fn, 2, a + 0x10000, 0x10000);
	test_cmd_set_intx(self->fd2, fn, 1, 0);
}

/* Unregistering a function releases its ranges too. */
TEST_F(guest, unregister_releases_ranges)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 13, 0);
	__u64 a = self->lay.mem[0].base + 0x500000;

	test_cmd_register(self->fd, fn);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_unregister(self->fd, fn);
	test_err_remove_mmio(ERR_NOT_OURS, self->fd, fn, 0, a, 0x100);
	test_cmd_register(self->fd2, fn);
	test_cmd_add_mmio(self->fd2, fn, 0, a, 0x100);
}

/*
 * Xen holds at most 256 MMIO ranges per ioreq server: more ranges than
 * that, added and released in rounds, fail if any release leaks one.
 */
TEST_F(guest, ranges_do_not_leak)
{
	const unsigned int nr_fn = 40, rounds = 8;
	unsigned int r, i;

	for (r = 0; r < rounds; r++) {
		int fd = open_bound(self->domid, true);

		ASSERT_LE(0, fd);
		for (i = 0; i < nr_fn; i++) {
			struct xen_pci_ioreq_function fn = mkfn(1, i / 8, i % 8);

			test_cmd_register(fd, fn)
				TH_LOG("round %u, function %u", r, i);
			test_cmd_add_mmio(fd, fn, 0,
					  self->lay.mem[0].base + 0x800000 + i * 0x1000,
					  0x1000)
				TH_LOG("round %u, function %u", r, i);
			/* Every other round, unregister before closing. */
			if (r & 1)
				test_cmd_unregister(fd, fn);
		}
		close(fd);
	}
}

/*
 * A root complex that is its guest's MSI controller: 16 vectors from
 * interrupt 60, the doorbell in the last page of its 32-bit window (the
 * guest's nr_spis reaches interrupt 95).
 */
static const struct xen_pci_ioreq_layout msi_layout = {
	.ecam = { 0xf200000000ULL, 0x1000000 },
	.mem = { { 0x38000000, 0x4000000 } },
	.intx_base = 56,
	.msi_base = 60,
	.msi_doorbell = 0x38000000 + 0x4000000 - 0x1000,
	.msi_count = 16,
};

/*
 * XEN_PCI_IOREQ_MSI raises the SPI of a vector written to the doorbell, and
 * refuses, with its errno and a count, what no MSI controller of the guest
 * decodes; layouts whose MSI part cannot be served are refused at bind.
 */
TEST_F(guest, msi)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 1, 0), other = mkfn(0, 2, 0);
	const __u64 db = msi_layout.msi_doorbell;
	struct xen_pci_ioreq_layout bad;
	struct xen_pci_ioreq_msi raw = { .fn = fn, .address = db };
	long long sent, stat;
	char dir[48];
	int fd;

	/* The default root complex has no MSI; nor has x86 (Xen's own). */
	test_cmd_register(self->fd, other);
	stat = guest_stat(self->domid, "msi_unsupported");
	test_err_msi(EOPNOTSUPP, self->fd, other, db, 0);
	EXPECT_EQ(stat + 1, guest_stat(self->domid, "msi_unsupported"));
	test_err_msi(ENOENT, self->fd2, other, db, 0);
	test_cmd_unregister(self->fd, other);
	if (!self->ecam)
		return;

	fd = open_dev(true);
	ASSERT_LE(0, fd);
	bad = msi_layout;
	bad.msi_base = 58;			/* over INTC and INTD */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad.msi_base = 31;			/* a PPI */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad = msi_layout;
	bad.msi_doorbell += 0x800;		/* not a page */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad.msi_doorbell = db + 0x1000;		/* past the window */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad = msi_layout;
	bad.msi_count = 0;			/* MSI fields without vectors */
	test_err_bind_layout(EINVAL, fd, self->domid, &bad);
	bad = msi_layout;
	bad.msi_base = self->lay.intx_base;	/* the default's INTx lines */
	bad.msi_count = 4;
	test_err_bind_layout(EBUSY, fd, self->domid, &bad);

	test_cmd_bind_layout(fd, self->domid, &msi_layout);
	snprintf(dir, sizeof(dir), "%d@%llx", self->domid,
		 (unsigned long long)msi_layout.ecam.base);
	test_cmd_register(fd, fn);
	sent = server_stat(dir, "msi_sent");
	ASSERT_LE(0, sent);
	test_cmd_msi(fd, fn, db, 0);
	test_cmd_msi(fd, fn, db, 15);
	EXPECT_EQ(sent + 2, server_stat(dir, "msi_sent"));

	stat = server_stat(dir, "msi_bad_address");
	test_err_msi(EINVAL, fd, fn, db + 4, 0);
	test_err_msi(EINVAL, fd, fn, 0xfee00000, 0);	/* x86's MSI window */
	EXPECT_EQ(stat + 2, server_stat(dir, "msi_bad_address"));
	stat = server_stat(dir, "msi_bad_vector");
	test_err_msi(ERANGE, fd, fn, db, 16);
	test_err_msi(ERANGE, fd, fn, db, 0xffffffff);
	EXPECT_EQ(stat + 2, server_stat(dir, "msi_bad_vector"));
	test_err_msi(ENOENT, fd, other, db, 0);
	raw.flags = 1;
	EXPECT_ERRNO(EINVAL, ioctl(fd, XEN_PCI_IOREQ_MSI, &raw));
	raw.flags = 0;
	raw.reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(fd, XEN_PCI_IOREQ_MSI, &raw));
	EXPECT_EQ(sent + 2, server_stat(dir, "msi_sent"));
	close(fd);
}

/*
 * An MSI irqfd raises its message's SPI at each signal, in the eventfd's
 * wakeup: the count is up when write() returns. It refuses what
 * XEN_PCI_IOREQ_MSI refuses, a pin and a resamplefd; removed (the vector
 * masked), it raises nothing, and added again (unmasked) it raises once
 * for the signals in between, as a pending bit would.
 */
TEST_F(guest, irqfd_msi)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 1, 0), other = mkfn(0, 2, 0);
	const __u32 msi = XEN_PCI_IOREQ_IRQFD_MSI;
	const __u64 db = msi_layout.msi_doorbell;
	struct xen_pci_ioreq_irqfd raw;
	long long sent, signals;
	__u64 one = 1;
	int fd, efd, efd2, i;
	char dir[48];

	if (!self->ecam)
		SKIP(return, "Xen decodes config cycles here: no MSI of ours");
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efd2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, efd2);

	/* The default root complex has no MSI. */
	test_cmd_register(self->fd, other);
	test_err_irqfd_msi(EOPNOTSUPP, self->fd, other, efd, 0, db, 0);
	test_cmd_unregister(self->fd, other);

	fd = open_dev(true);
	ASSERT_LE(0, fd);
	test_cmd_bind_layout(fd, self->domid, &msi_layout);
	snprintf(dir, sizeof(dir), "%d@%llx", self->domid,
		 (unsigned long long)msi_layout.ecam.base);
	test_err_irqfd_msi(ENOENT, fd, fn, efd, 0, db, 0);
	test_cmd_register(fd, fn);
	test_err_irqfd_msi(EINVAL, fd, fn, efd, 0, db + 4, 0);
	test_err_irqfd_msi(ERANGE, fd, fn, efd, 0, db, 16);
	raw = (struct xen_pci_ioreq_irqfd){
		.fn = fn, .fd = efd, .flags = msi, .pin = 1, .msi_address = db,
	};
	EXPECT_ERRNO(EINVAL, ioctl(fd, XEN_PCI_IOREQ_IRQFD, &raw));
	raw.pin = 0;
	raw.flags |= XEN_PCI_IOREQ_IRQFD_RESAMPLE;
	raw.resamplefd = efd2;
	EXPECT_ERRNO(EINVAL, ioctl(fd, XEN_PCI_IOREQ_IRQFD, &raw));
	EXPECT_EQ(0, server_stat(dir, "irqfds"));

	/* Each signal raises the vector's SPI before write() returns. */
	test_cmd_irqfd_msi(fd, fn, efd, 0, db, 3);
	test_err_irqfd_msi(EEXIST, fd, fn, efd, 0, db, 3);
	EXPECT_EQ(1, server_stat(dir, "irqfds"));
	sent = server_stat(dir, "irqfd_msi_sent");
	signals = server_stat(dir, "irqfd_signals");
	ASSERT_LE(0, sent);
	for (i = 1; i <= 5; i++) {
		ASSERT_EQ(8, write(efd, &one, 8));
		EXPECT_EQ(sent + i, server_stat(dir, "irqfd_msi_sent"));
	}
	EXPECT_EQ(signals + 5, server_stat(dir, "irqfd_signals"));
	EXPECT_ERRNO(EAGAIN, read(efd, &one, 8));
	one = 1;
	/* Neither an INTx nor a plain MSI was counted for them. */
	EXPECT_EQ(0, server_stat(dir, "irqfd_asserted"));

	/* Masked: nothing raised. Unmasked: once for what came between. */
	test_cmd_irqfd_msi(fd, fn, efd, XEN_PCI_IOREQ_IRQFD_DEASSIGN, 0, 0);
	test_err_irqfd_msi(ENOENT, fd, fn, efd, XEN_PCI_IOREQ_IRQFD_DEASSIGN,
			   0, 0);
	ASSERT_EQ(8, write(efd, &one, 8));
	ASSERT_EQ(8, write(efd, &one, 8));
	EXPECT_EQ(sent + 5, server_stat(dir, "irqfd_msi_sent"));
	test_cmd_irqfd_msi(fd, fn, efd, 0, db, 3);
	EXPECT_TRUE(server_stat_grows(dir, "irqfd_msi_sent", sent + 5));
	EXPECT_EQ(sent + 6, server_stat(dir, "irqfd_msi_sent"));

	/* It goes with its function. */
	test_cmd_unregister(fd, fn);
	EXPECT_EQ(0, server_stat(dir, "irqfds"));
	ASSERT_EQ(8, write(efd, &one, 8));
	EXPECT_EQ(sent + 6, server_stat(dir, "irqfd_msi_sent"));
	close(fd);
	close(efd);
	close(efd2);
}

int main(int argc, char **argv)
{
	guests_start(true);
	return test_harness_run(argc, argv);
}
