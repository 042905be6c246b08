// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq seen from dom0: every error the interface promises,
 * and the lifecycle of files, functions, MMIO ranges and guests, without
 * running a guest. What a running guest sees is tested from inside it by
 * ioreq_guest.
 *
 * The tests need real guests. XEN_PCI_IOREQ_GUEST_CFG names the xl
 * configuration of a small guest; the test creates it paused (xl create -p)
 * under names of its own (ioreq-selftest-PID[-N]), never unpauses it, and
 * destroys it at the end. One guest serves most tests; the tests that kill
 * a guest create their own. The configuration needs nr_spis >= 16, so that
 * INTx lines exist. Without the variable or without /dev/xen/pci-ioreq the
 * tests are skipped. XEN_PCI_IOREQ_RUN_CFG names a guest that the tests of
 * fixture "running" do run: its device tree has the Xen virtual root
 * complex, and it waits to be destroyed once booted.
 *
 * The fuzz test takes its seed and its number of iterations from
 * XEN_PCI_IOREQ_FUZZ_SEED and XEN_PCI_IOREQ_FUZZ_ITERS, and always prints
 * the seed it used.
 *
 * Runs as root in dom0. Needs xl in $PATH.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <xen/pci-ioreq.h>

#include "../kselftest_harness.h"
#include "lib/ioreq_util.h"
#include "lib/pci_util.h"
#include "lib/xl_util.h"

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
#define BIND_UNKNOWN_FLAG	(XEN_PCI_IOREQ_BIND_LAYOUT << 1)

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
	b.flags = 0;
	b.reserved = 1;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_BIND, &b));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_BIND, NULL));
	/* None of that bound the file. */
	test_err_register(ERR_UNBOUND, self->fd, mkfn(0, 1, 0));
}

/* ---- tests on the shared guest ---- */

FIXTURE(guest) {
	int domid;
	int fd;		/* bound, non-blocking */
	int fd2;	/* bound to the same guest */
	bool ecam;
	struct xen_pci_ioreq_layout lay;	/* as GET_INFO reports it */
};

FIXTURE_SETUP(guest)
{
	const char *why = no_guest_reason();

	self->fd = -1;
	self->fd2 = -1;
	if (why)
		SKIP(return, "%s", why);
	if (shared_guest.domid <= 0)
		TH_LOG("%s", shared_error);
	ASSERT_LT(0, shared_guest.domid);
	self->domid = shared_guest.domid;
	self->fd = open_bound(self->domid, true);
	ASSERT_LE(0, self->fd) TH_LOG("bind to domain %d: %s", self->domid,
				      errname(errno));
	self->fd2 = open_bound(self->domid, true);
	ASSERT_LE(0, self->fd2);
	self->ecam = ecam_mode(self->fd);
	self->lay = layout_of(self->fd);
}

FIXTURE_TEARDOWN(guest)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->fd2 >= 0)
		close(self->fd2);
}

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

	/* ...and, bound with KEEP, living as long as the guest. */
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
	char dir[48];
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

	/* Its last file gone, without KEEP, its server goes. */
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

/* ---- fuzz ---- */

#define FUZZ_SECONDS		240	/* at most, whatever the iterations */

struct fuzz {
	__u64 rng;
	int domid;
	int fd[2];
	bool bound[2];
	struct xen_pci_ioreq_layout lay;
	unsigned char *bad;	/* an inaccessible page after an accessible one */
	unsigned long long calls, successes, unexpected;
	unsigned int errs[160];
};

static __u64 rnd(struct fuzz *z)
{
	/* xorshift64*: the same sequence everywhere for a given seed */
	z->rng ^= z->rng >> 12;
	z->rng ^= z->rng << 25;
	z->rng ^= z->rng >> 27;
	return z->rng * 0x2545f4914f6cdd1dULL;
}

static __u64 below(struct fuzz *z, __u64 n)
{
	return rnd(z) % n;
}

static void fill(struct fuzz *z, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = rnd(z);
}

static int fuzz_domid(struct fuzz *z)
{
	switch (below(z, 8)) {
	case 0: return 0;
	case 1: return DOMID_SELF;
	case 2: return DOMID_UNUSED;
	case 3: return 0x7ff0 + below(z, 0x8010);	/* special, and beyond */
	default: return z->domid;
	}
}

static struct xen_pci_ioreq_function fuzz_fn(struct fuzz *z)
{
	struct xen_pci_ioreq_function fn = {
		.segment = below(z, 10) ? 0 : rnd(z),
		.bus = below(z, 4) ? below(z, 2) : rnd(z),
		.devfn = below(z, 4) ? below(z, 8) : rnd(z),
	};

	return fn;
}

static __u64 fuzz_addr(struct fuzz *z)
{
	switch (below(z, 6)) {
	case 0: return z->lay.ecam.base + below(z, z->lay.ecam.size);
	case 1: return rnd(z);
	case 2: return 0x100000000ULL + (below(z, 1 << 20) << 12);
	default: return z->lay.mem[0].base + (below(z, 1 << 16) << 8);
	}
}

static __u64 fuzz_size(struct fuzz *z)
{
	switch (below(z, 6)) {
	case 0: return 0;
	case 1: return rnd(z);
	case 2: return below(z, 1 << 20);
	default: return 0x100ULL << below(z, 8);
	}
}

/* A well-formed argument for @cmd, with random contents. */
static void fuzz_sane(struct fuzz *z, unsigned int nr, void *buf)
{
	switch (nr) {
	case 0: {
		struct xen_pci_ioreq_bind b = { .domid = fuzz_domid(z) };

		memcpy(buf, &b, sizeof(b));
		break;
	}
	case 2:
	case 3: {
		struct xen_pci_ioreq_function fn = fuzz_fn(z);

		memcpy(buf, &fn, sizeof(fn));
		break;
	}
	case 4:
	case 5: {
		struct xen_pci_ioreq_mmio m = {
			.fn = fuzz_fn(z),
			.bar = below(z, 8),
			.addr = fuzz_addr(z),
			.size = fuzz_size(z),
		};

		memcpy(buf, &m, sizeof(m));
		break;
	}
	case 6: {
		struct xen_pci_ioreq_intx x = {
			.fn = fuzz_fn(z),
			.pin = below(z, 6),
			.level = below(z, 3),
		};

		memcpy(buf, &x, sizeof(x));
		break;
	}
	}
}

/* Offset of a reserved field in the argument of command @nr, or -1. */
static int reserved_off(unsigned int nr)
{
	switch (nr) {
	case 0: return offsetof(struct xen_pci_ioreq_bind, reserved);
	case 2:
	case 3: return offsetof(struct xen_pci_ioreq_function, reserved);
	case 4:
	case 5: return offsetof(struct xen_pci_ioreq_mmio, reserved);
	case 6: return offsetof(struct xen_pci_ioreq_intx, reserved);
	default: return -1;
	}
}

static const unsigned long fuzz_cmds[] = {
	XEN_PCI_IOREQ_BIND, XEN_PCI_IOREQ_GET_INFO, XEN_PCI_IOREQ_REGISTER,
	XEN_PCI_IOREQ_UNREGISTER, XEN_PCI_IOREQ_ADD_MMIO,
	XEN_PCI_IOREQ_REMOVE_MMIO, XEN_PCI_IOREQ_SET_INTX,
};

#define NR_CMDS ARRAY_SIZE(fuzz_cmds)

static void fuzz_result(struct __test_metadata *_metadata, struct fuzz *z,
			long ret, bool may_succeed, const char *what,
			unsigned long long arg)
{
	z->calls++;
	if (ret < 0) {
		z->errs[errno < 160 ? errno : 0]++;
		return;
	}
	z->successes++;
	if (may_succeed)
		return;
	if (z->unexpected++ < 10)
		TH_LOG("call %llu: %s %#llx succeeded (%ld)", z->calls, what,
		       arg, ret);
}

static void fuzz_ioctl(struct __test_metadata *_metadata, struct fuzz *z,
		       int k)
{
	union {
		unsigned char b[128];
		__u64 align;
	} u;
	unsigned char *arg = u.b;
	unsigned int nr = below(z, NR_CMDS), kind = below(z, 8);
	unsigned long cmd = fuzz_cmds[nr];
	bool may_succeed = false;
	void *p = arg;
	unsigned int i;
	long ret;
	int off;

	fill(z, arg, sizeof(u.b));
	switch (kind) {
	case 0:	/* a command that is not ours */
		cmd = _IOC(below(z, 4), XEN_PCI_IOREQ_MAGIC, below(z, 256),
			   below(z, 128));
		for (i = 0; i < NR_CMDS; i++)
			if (cmd == fuzz_cmds[i])
				cmd = _IO(XEN_PCI_IOREQ_MAGIC, 0x80);
		break;
	case 1:	/* a pointer the kernel cannot follow all the way */
		switch (below(z, 3)) {
		case 0:
			p = NULL;
			break;
		case 1:
			p = z->bad;
			break;
		default:	/* straddling into the inaccessible page */
			p = z->bad - 1 - below(z, _IOC_SIZE(cmd) - 1);
			break;
		}
		break;
	case 2:	/* junk, with a reserved field set */
		off = reserved_off(nr);
		if (off >= 0)
			arg[off] |= 1;
		may_succeed = nr == 1;	/* GET_INFO writes, reads nothing */
		break;
	default: /* well formed */
		memset(arg, 0, sizeof(u.b));
		fuzz_sane(z, nr, arg);
		may_succeed = true;
		break;
	}
	if (nr == 0 && z->bound[k] && kind > 2)
		may_succeed = false;	/* bound once only */
	if (nr == 1 && kind == 2 && !z->bound[k])
		may_succeed = false;
	ret = ioctl(z->fd[k], cmd, p);
	if (!ret && nr == 0 && kind > 2)
		z->bound[k] = true;
	fuzz_result(_metadata, z, ret, may_succeed, "ioctl", cmd);
}

static void fuzz_rw(struct __test_metadata *_metadata, struct fuzz *z, int k,
		    bool wr)
{
	union {
		unsigned char b[4 * REQ_SIZE + 16];
		struct xen_pci_ioreq_response r[4];
	} u;
	size_t len = below(z, sizeof(u.b) + 1);
	void *p = u.b;
	long ret;

	if (!below(z, 8))
		p = below(z, 2) ? (void *)z->bad : NULL;
	fill(z, u.b, sizeof(u.b));
	if (wr && !below(z, 2)) {
		/* plausible ids, valid flags */
		size_t i;

		for (i = 0; i < ARRAY_SIZE(u.r); i++) {
			u.r[i].id = below(z, 64);
			u.r[i].flags = 0;
			u.r[i].reserved = 0;
		}
	}
	ret = wr ? write(z->fd[k], p, len) : read(z->fd[k], p, len);
	/* The guest is paused: nothing to read, nothing to complete. */
	fuzz_result(_metadata, z, ret, len == 0,
		    wr ? "write" : "read", len);
}

static void fuzz_poll(struct __test_metadata *_metadata, struct fuzz *z,
		      int k)
{
	struct pollfd pfd = { .fd = z->fd[k], .events = POLLIN };

	z->calls++;
	if (poll(&pfd, 1, 0) < 0)
		return;
	if ((pfd.revents & POLLIN) ||
	    (z->bound[k] && (pfd.revents & (POLLHUP | POLLERR)))) {
		if (z->unexpected++ < 10)
			TH_LOG("call %llu: poll gave %#x", z->calls,
			       pfd.revents);
	}
}

static void fuzz_reopen(struct fuzz *z, int k)
{
	if (z->fd[k] >= 0)
		close(z->fd[k]);
	z->fd[k] = open_dev(true);
	z->bound[k] = false;
	if (z->fd[k] >= 0 && below(z, 4) && !bind_fd(z->fd[k], z->domid))
		z->bound[k] = true;
}

/*
 * Random ioctls, reads, writes and polls on two files of one guest, some
 * well formed and some not: nothing may crash or succeed where it must
 * not, and afterwards a clean backend still works.
 */
TEST_F_TIMEOUT(guest, fuzz, FUZZ_SECONDS + 60)
{
	const char *seed_env = getenv("XEN_PCI_IOREQ_FUZZ_SEED");
	const char *iters_env = getenv("XEN_PCI_IOREQ_FUZZ_ITERS");
	struct xen_pci_ioreq_function fn = mkfn(0, 31, 7);
	struct xen_pci_ioreq_request req;
	unsigned long long seed = 0x58454e2d50434921ULL, iters = 120000, n;
	struct timespec t0, t;
	struct fuzz z = { .domid = self->domid, .lay = self->lay };
	unsigned char *pages;
	unsigned int i;
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	if (seed_env)
		seed = strtoull(seed_env, NULL, 0);
	if (iters_env)
		iters = strtoull(iters_env, NULL, 0);
	TH_LOG("fuzz seed %#llx, %llu iterations (XEN_PCI_IOREQ_FUZZ_SEED, _ITERS)",
	       seed, iters);
	z.rng = seed ? seed : 1;

	pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_OK(mprotect(pages + page, page, PROT_NONE));
	z.bad = pages + page;

	close(self->fd);
	close(self->fd2);
	self->fd = -1;
	self->fd2 = -1;
	z.fd[0] = open_bound(self->domid, true);
	z.bound[0] = true;
	z.fd[1] = open_dev(true);
	ASSERT_LE(0, z.fd[0]);
	ASSERT_LE(0, z.fd[1]);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (n = 0; n < iters; n++) {
		int k = below(&z, 2);

		if (z.fd[k] < 0) {
			fuzz_reopen(&z, k);
			continue;
		}
		switch (below(&z, 16)) {
		case 0 ... 8:
			fuzz_ioctl(_metadata, &z, k);
			break;
		case 9 ... 10:
			fuzz_rw(_metadata, &z, k, false);
			break;
		case 11 ... 12:
			fuzz_rw(_metadata, &z, k, true);
			break;
		case 13 ... 14:
			fuzz_poll(_metadata, &z, k);
			break;
		default:
			fuzz_reopen(&z, k);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= FUZZ_SECONDS) {
			TH_LOG("time is up after %llu iterations", n + 1);
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	TH_LOG("%llu iterations in %ld s: %llu calls, %llu succeeded, %llu unexpectedly",
	       n, (long)(t.tv_sec - t0.tv_sec), z.calls, z.successes,
	       z.unexpected);
	for (i = 0; i < 160; i++)
		if (z.errs[i])
			TH_LOG("  %s: %u", errname(i), z.errs[i]);
	EXPECT_EQ(0ULL, z.unexpected);
	for (i = 0; i < 2; i++)
		if (z.fd[i] >= 0)
			close(z.fd[i]);
	munmap(pages, 2 * page);

	/* All released: a clean backend works. */
	fd = open_bound(self->domid, true);
	ASSERT_LE(0, fd);
	test_cmd_register(fd, fn);
	test_cmd_add_mmio(fd, fn, 0, self->lay.mem[0].base + 0xff00000, 0x1000);
	test_cmd_set_intx(fd, fn, 1, 1);
	test_cmd_set_intx(fd, fn, 1, 0);
	test_cmd_remove_mmio(fd, fn, 0, self->lay.mem[0].base + 0xff00000, 0x1000);
	test_cmd_unregister(fd, fn);
	EXPECT_ERRNO(EAGAIN, read(fd, &req, sizeof(req)));
	close(fd);
}

/* ---- tests with a guest of their own ---- */

FIXTURE(fresh) {
	struct guest guest;
};

FIXTURE_SETUP(fresh)
{
	own_guest_create(_metadata, &self->guest, CFG_ENV, "-fresh", NULL);
}

FIXTURE_TEARDOWN_PARENT(fresh)
{
	guest_destroy(&self->guest);
}

/*
 * A fresh guest for the death of a guest under live files, once for each
 * lifetime of its server: kept until the guest dies, or the files'.
 */
FIXTURE(dying) {
	struct guest guest;
};

FIXTURE_VARIANT(dying) {
	unsigned int bind_flags;
};

FIXTURE_VARIANT_ADD(dying, kept) {
	.bind_flags = XEN_PCI_IOREQ_BIND_KEEP,
};

FIXTURE_VARIANT_ADD(dying, per_file) {
	.bind_flags = 0,
};

FIXTURE_SETUP(dying)
{
	own_guest_create(_metadata, &self->guest, CFG_ENV, "-dying", NULL);
}

FIXTURE_TEARDOWN_PARENT(dying)
{
	guest_destroy(&self->guest);
}

/*
 * The guest dies under live files: they report POLLHUP, a sleeping reader
 * wakes up with -ENODEV, everything else fails with -ENODEV, and once the
 * files are closed nothing holds the dead domain.
 */
TEST_F_TIMEOUT(dying, guest_destroyed_under_live_fds, 90)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 2, 0);
	struct epoll_event ev = { .events = EPOLLIN };
	struct xen_pci_ioreq_request req;
	struct xen_pci_ioreq_info info;
	int domid = self->guest.domid;
	int fd, fd2, ep, status, i;
	struct pollfd pfd;
	__u64 mem;
	pid_t reader, w;

	fd = open_bound_flags(domid, true, variant->bind_flags);
	ASSERT_LE(0, fd);
	fd2 = open_bound_flags(domid, false, variant->bind_flags);
	ASSERT_LE(0, fd2);
	test_cmd_register(fd, fn);
	mem = layout_of(fd).mem[0].base;
	test_cmd_add_mmio(fd, fn, 0, mem, 0x100);
	test_cmd_set_intx(fd, fn, 1, 1);
	test_cmd_register(fd2, mkfn(0, 3, 0));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));

	reader = fork();
	ASSERT_LE(0, reader);
	if (!reader) {
		ssize_t n;

		alarm(GONE_TIMEOUT + 10);
		n = read(fd2, &req, sizeof(req));
		_exit(n < 0 ? errno & 0x7f : 0x80);
	}
	usleep(200000);	/* let it sleep in read() */

	ASSERT_OK(guest_destroy(&self->guest));

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ASSERT_EQ(1, poll(&pfd, 1, GONE_TIMEOUT * 1000));
	EXPECT_TRUE(!!(pfd.revents & POLLHUP)) TH_LOG("revents %#x", pfd.revents);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	EXPECT_TRUE(!!(ev.events & EPOLLHUP)) TH_LOG("events %#x", ev.events);

	for (i = 0; i < GONE_TIMEOUT * 20; i++) {
		w = waitpid(reader, &status, WNOHANG);
		if (w)
			break;
		usleep(50000);
	}
	if (!w) {
		kill(reader, SIGKILL);
		waitpid(reader, &status, 0);
	}
	EXPECT_EQ(reader, w) TH_LOG("the blocked reader did not wake up");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == ENODEV)
		TH_LOG("reader: status %#x", status);

	alarm(10);	/* a blocking read() that sleeps on dies of SIGALRM */
	EXPECT_ERRNO(ENODEV, read(fd, &req, sizeof(req)));
	EXPECT_ERRNO(ENODEV, read(fd2, &req, sizeof(req)));
	alarm(0);
	EXPECT_ERRNO(ENODEV, respond(fd, 1, 0));
	EXPECT_ERRNO(ENODEV, ioctl(fd, XEN_PCI_IOREQ_GET_INFO, &info));
	test_err_register(ENODEV, fd, mkfn(0, 4, 0));
	test_err_add_mmio(ENODEV, fd, fn, 2, mem + 0x10000, 0x1000);
	test_err_set_intx(ENODEV, fd, fn, 1, 0);
	close(ep);
	close(fd);
	close(fd2);

	/* Nothing keeps the dead domain around, and it cannot be bound. */
	expect_domain_gone(_metadata, domid);
}

/*
 * A backend that adds its file to an epoll set before binding it must hear
 * of what happens after BIND: here, the death of the guest.
 */
TEST_F_TIMEOUT(fresh, epoll_added_before_bind, 60)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, ep, n;

	fd = open_dev(true);
	ASSERT_LE(0, fd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_OK(bind_fd(fd, self->guest.domid));
	test_cmd_register(fd, mkfn(0, 5, 0));
	/* Bound and idle: nothing to report (an unbound file said EPOLLERR). */
	n = epoll_wait(ep, &ev, 1, 0);
	EXPECT_EQ(0, n) TH_LOG("events %#x", ev.events);

	ASSERT_OK(guest_destroy(&self->guest));
	ev.events = 0;
	n = epoll_wait(ep, &ev, 1, GONE_TIMEOUT * 1000);
	EXPECT_EQ(1, n) TH_LOG("epoll_wait: %d, the file was never woken", n);
	EXPECT_TRUE(!!(ev.events & EPOLLHUP)) TH_LOG("events %#x", ev.events);
	close(ep);
	close(fd);
}

/*
 * Xen gives an ioreq server 256 memory ranges; in ECAM mode the ECAM
 * window and the two memory windows take three of them. A BAR range
 * outside the windows takes one more: past the real limit the driver says
 * ENOSPC (not Xen's error), and ranges inside the windows, which take none,
 * are still accepted up to the driver's own limit of 256.
 */
#define OUTSIDE_BASE		0x34000000ULL	/* between the memory windows */
/* Xen merges adjacent ranges into one: leave a hole between them. */
#define OUTSIDE_STRIDE		0x2000ULL
TEST_F_TIMEOUT(fresh, xen_range_limit, 60)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 6, 0);
	unsigned int n, want, inside;
	int fd, err = 0;

	fd = open_bound(self->guest.domid, true);
	ASSERT_LE(0, fd);
	want = ecam_mode(fd) ? 256 - 3 : 256;
	test_cmd_register(fd, fn);
	for (n = 0; n < 300; n++) {
		if (_test_cmd_mmio(fd, XEN_PCI_IOREQ_ADD_MMIO, fn, n % 6,
				   OUTSIDE_BASE + n * OUTSIDE_STRIDE, 0x1000)) {
			err = errno;
			break;
		}
	}
	EXPECT_EQ(want, n);
	EXPECT_EQ(ENOSPC, err) TH_LOG("range %u: %s", n, errname(err));
	/* One released, one more fits. */
	test_cmd_remove_mmio(fd, fn, 0, OUTSIDE_BASE, 0x1000);
	test_cmd_add_mmio(fd, fn, 0, OUTSIDE_BASE, 0x1000);
	if (ecam_mode(fd)) {
		/* Inside a window: up to 256 ranges in all. */
		for (inside = 0; n + inside < 300; inside++) {
			if (_test_cmd_mmio(fd, XEN_PCI_IOREQ_ADD_MMIO, fn, 0,
					   layout_of(fd).mem[0].base +
					   inside * OUTSIDE_STRIDE,
					   0x1000)) {
				err = errno;
				break;
			}
		}
		EXPECT_EQ(256U, n + inside);
		EXPECT_EQ(ENOSPC, err) TH_LOG("%s", errname(err));
	}
	/* Closing releases them all: the same number fits again. */
	close(fd);
	fd = open_bound(self->guest.domid, true);
	ASSERT_LE(0, fd);
	test_cmd_register(fd, fn);
	for (n = 0; n < want; n++)
		test_cmd_add_mmio(fd, fn, 0, OUTSIDE_BASE + n * OUTSIDE_STRIDE, 0x1000)
			TH_LOG("range %u after close", n);
	close(fd);
}

/* ---- the module stays while a guest uses it ---- */

#define MODULE_NAME		"xen_pci_ioreq"
#define MODULE_REFCNT		"/sys/module/" MODULE_NAME "/refcnt"

static int module_refcnt(void)
{
	char buf[32];
	FILE *f = fopen(MODULE_REFCNT, "r");
	int n = -1;

	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		n = atoi(buf);
	fclose(f);
	return n;
}

/*
 * A live server is the guest's PCI bus: unloading the module under it
 * would make its next configuration access fault. Each server holds the
 * module until its guest dies, open files or not.
 */
TEST_F_TIMEOUT(fresh, module_held_while_guests_live, 90)
{
	int fd, before, after = -1, i;

	if (module_refcnt() < 0)
		SKIP(return, "%s is built in", MODULE_NAME);
	fd = open_bound(self->guest.domid, true);
	ASSERT_LE(0, fd);
	test_cmd_register(fd, mkfn(0, 7, 0));
	close(fd);

	/* This guest's server and the shared guest's, without any file. */
	before = module_refcnt();
	EXPECT_LE(2, before) TH_LOG("refcnt %d with two live servers", before);
	errno = 0;
	if (!syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK)) {
		/* Back, for the tests that follow; this one failed. */
		TH_LOG("the module was unloaded under two live guests");
		EXPECT_EQ(0, system("modprobe xen-pci-ioreq"));
		ASSERT_TRUE(false);
	}
	EXPECT_EQ(EWOULDBLOCK, errno) TH_LOG("delete_module: %s", errname(errno));

	/* The guest dies: its server goes, and with it its reference. */
	ASSERT_OK(guest_destroy(&self->guest));
	for (i = 0; i < GONE_TIMEOUT * 10; i++) {
		after = module_refcnt();
		if (after == before - 1)
			break;
		usleep(100000);
	}
	EXPECT_EQ(before - 1, after);
}

/* Functions and ranges belong to one guest: two guests may use the same. */
TEST_F_TIMEOUT(fresh, functions_are_per_guest, 60)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 14, 0);
	struct xen_pci_ioreq_info a, b;
	int fda, fdb;

	fda = open_bound(shared_guest.domid, true);
	ASSERT_LE(0, fda);
	fdb = open_bound(self->guest.domid, true);
	ASSERT_LE(0, fdb);
	ASSERT_OK(ioctl(fda, XEN_PCI_IOREQ_GET_INFO, &a));
	ASSERT_OK(ioctl(fdb, XEN_PCI_IOREQ_GET_INFO, &b));
	EXPECT_EQ(shared_guest.domid, a.domid);
	EXPECT_EQ(self->guest.domid, b.domid);

	test_cmd_register(fda, fn);
	test_cmd_register(fdb, fn);
	test_cmd_add_mmio(fda, fn, 0, a.layout.mem[0].base, 0x100);
	test_cmd_add_mmio(fdb, fn, 0, b.layout.mem[0].base, 0x100);
	test_cmd_set_intx(fda, fn, 1, 1);
	test_cmd_set_intx(fdb, fn, 1, 1);
	test_cmd_set_intx(fda, fn, 1, 0);
	test_cmd_set_intx(fdb, fn, 1, 0);
	close(fda);
	close(fdb);
}

#define FAIL_NTH		"/proc/thread-self/fail-nth"
#define FAIL_VERBOSE		"/sys/kernel/debug/xen-pci-ioreq/fail_server_setup/verbose"

/* Make the @n-th fault-injection point this thread reaches fail; 0: none. */
static int set_fail_nth(unsigned int n)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", n);
	return sysfs_write(FAIL_NTH, buf);
}

/*
 * The setup of a guest's server fails at each step in turn that can fail
 * once Xen has enabled the server (fault injection: the n-th bind of a
 * vCPU's event channel, the n-th claim of a window). Each time BIND fails
 * with the injected error and leaves nothing behind: no event channel of the
 * guest stays bound, and Xen keeps no server (the one that finally works
 * gets id 0, the first free one).
 */
TEST_F_TIMEOUT(fresh, setup_failure_leaves_nothing, 60)
{
	int domid = self->guest.domid, vcpus = domain_vcpus(domid);
	int fd, ret, err, failed = 0;
	unsigned int n;

	if (access(FAIL_NTH, W_OK))
		SKIP(return, "no " FAIL_NTH " (CONFIG_FAULT_INJECTION)");
	/* One line per injected failure in the kernel log, no stack dump. */
	sysfs_write(FAIL_VERBOSE, "1");
	ASSERT_LT(0, vcpus);
	for (n = 1; n < 64; n++) {
		fd = open_dev(true);
		ASSERT_LE(0, fd);
		ASSERT_OK(set_fail_nth(n));
		ret = bind_fd(fd, domid);
		err = errno;
		ASSERT_OK(set_fail_nth(0));
		if (!ret)
			break;
		EXPECT_EQ(EIO, err) TH_LOG("step %u: BIND failed with %s", n,
					   errname(err));
		EXPECT_EQ(0, server_irqs(domid))
			TH_LOG("event channels left bound after step %u failed", n);
		close(fd);
		failed++;
	}
	ASSERT_EQ(0, ret);
	/* Every vCPU's event channel; in ECAM mode, the ECAM and two windows. */
	EXPECT_EQ(vcpus + (ecam_mode(fd) ? 3 : 0), failed);
	EXPECT_EQ(vcpus, server_irqs(domid));
	EXPECT_EQ(0, guest_stat(domid, "ioservid"))
		TH_LOG("Xen kept the server of a failed setup");
	close(fd);
}

#define FAIL_WATCH		"/sys/kernel/debug/xen-pci-ioreq/fail_release_watch"

/*
 * The release watch misses the guest's death (fault injection: as when it
 * fires late, or never without xenstored). A BIND to the dead guest's domid
 * must not get its dead server: it fails, the dead server is torn down then
 * and there, and the domain, which our mapping of its ioreq page kept as a
 * zombie, goes away.
 */
TEST_F_TIMEOUT(fresh, dead_guest_not_reused, 60)
{
	int domid = self->guest.domid, fd, ret;

	if (access(FAIL_WATCH, F_OK))
		SKIP(return, "no " FAIL_WATCH " (CONFIG_FAULT_INJECTION_DEBUG_FS)");
	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	close(fd);	/* the server stays while the guest lives */

	sysfs_write(FAIL_WATCH "/verbose", "1");
	ASSERT_EQ(0, sysfs_write(FAIL_WATCH "/probability", "100"));
	ASSERT_EQ(0, sysfs_write(FAIL_WATCH "/times", "-1"));
	ASSERT_OK(guest_destroy(&self->guest));
	sleep(2);	/* the watch fires, and misses it */

	fd = open_dev(true);
	ASSERT_LE(0, fd);
	ret = bind_fd(fd, domid);
	TH_LOG("BIND to the dead domain %d: %s", domid, ret ? errname(errno) : "success");
	EXPECT_NE(0, ret) TH_LOG("BIND handed out the server of a dead guest");
	close(fd);
	sysfs_write(FAIL_WATCH "/probability", "0");
	sysfs_write(FAIL_WATCH "/times", "1");
	expect_domain_gone(_metadata, domid);
}

/*
 * Without XEN_PCI_IOREQ_BIND_KEEP the server lives as long as the files:
 * it stays while one of them is open, and the last close() destroys it in
 * Xen too (the next server gets the same id, the first free one), unbinds
 * its event channels and drops its debugfs directory.
 */
TEST_F_TIMEOUT(fresh, server_goes_with_last_file, 60)
{
	int domid = self->guest.domid, vcpus = domain_vcpus(domid), fd, fd2;
	struct xen_pci_ioreq_function fn = mkfn(0, 2, 0);
	long long ioservid;

	ASSERT_LT(0, vcpus);
	fd = open_bound_flags(domid, true, 0);
	ASSERT_LE(0, fd);
	fd2 = open_bound_flags(domid, true, 0);
	ASSERT_LE(0, fd2);
	test_cmd_register(fd, fn);
	test_cmd_add_mmio(fd, fn, 0, layout_of(fd).mem[0].base, 0x100);
	ioservid = guest_stat(domid, "ioservid");
	ASSERT_LE(0, ioservid) TH_LOG("no debugfs statistics of the guest");
	EXPECT_EQ(vcpus, server_irqs(domid));

	close(fd);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"))
		TH_LOG("the server went while a file was still bound");
	EXPECT_EQ(vcpus, server_irqs(domid));
	EXPECT_EQ(0, guest_stat(domid, "functions"));

	close(fd2);
	EXPECT_EQ(-1, guest_stat(domid, "ioservid"))
		TH_LOG("the server outlived the last file");
	EXPECT_EQ(0, server_irqs(domid)) TH_LOG("event channels left bound");

	fd = open_bound_flags(domid, true, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"))
		TH_LOG("Xen kept the old server: the new one got another id");
	close(fd);
	EXPECT_EQ(0, server_irqs(domid));
}

/*
 * One file bound with XEN_PCI_IOREQ_BIND_KEEP keeps the server after every
 * file is gone, for later files too, until the guest dies; then it goes
 * and nothing holds the dead domain.
 */
TEST_F_TIMEOUT(fresh, keep_outlives_files_until_guest_dies, 90)
{
	int domid = self->guest.domid, vcpus = domain_vcpus(domid), fd, fd2, i;
	long long ioservid;

	ASSERT_LT(0, vcpus);
	fd = open_bound_flags(domid, true, 0);
	ASSERT_LE(0, fd);
	fd2 = open_bound_flags(domid, true, XEN_PCI_IOREQ_BIND_KEEP);
	ASSERT_LE(0, fd2);
	ioservid = guest_stat(domid, "ioservid");
	ASSERT_LE(0, ioservid);
	close(fd2);
	close(fd);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"))
		TH_LOG("KEEP did not keep the server");
	EXPECT_EQ(vcpus, server_irqs(domid));

	/* Sticky: a later file bound without KEEP does not undo it. */
	fd = open_bound_flags(domid, true, 0);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"));

	ASSERT_OK(guest_destroy(&self->guest));
	for (i = 0; i < GONE_TIMEOUT * 4 && guest_stat(domid, "ioservid") >= 0; i++)
		usleep(250000);
	EXPECT_EQ(-1, guest_stat(domid, "ioservid"))
		TH_LOG("the kept server outlived its guest");
	EXPECT_EQ(0, server_irqs(domid));
	expect_domain_gone(_metadata, domid);
}

/*
 * Without the release watch (fault injection: it misses every event, as it
 * never fires without xenstored) and without any BIND, the kept server of a
 * guest that died must still go: the reaper finds it within a few seconds,
 * and with it goes the mapping that kept the dead domain as a zombie.
 * (Stopping xenstored itself would stop every toolstack step of the other
 * tests in this dom0 too.)
 */
TEST_F_TIMEOUT(fresh, dead_guest_reaped_without_watch, 90)
{
	int domid = self->guest.domid, fd, i;
	bool gone;

	if (access(FAIL_WATCH, F_OK))
		SKIP(return, "no " FAIL_WATCH " (CONFIG_FAULT_INJECTION_DEBUG_FS)");
	fd = open_dev(true);
	ASSERT_LE(0, fd);
	ASSERT_OK(bind_fd(fd, domid));
	close(fd);
	ASSERT_LE(0, guest_stat(domid, "ioservid"));

	sysfs_write(FAIL_WATCH "/verbose", "1");
	ASSERT_EQ(0, sysfs_write(FAIL_WATCH "/probability", "100"));
	ASSERT_EQ(0, sysfs_write(FAIL_WATCH "/times", "-1"));
	ASSERT_OK(guest_destroy(&self->guest));
	for (i = 0; i < 10 * 4 && guest_stat(domid, "ioservid") >= 0; i++)
		usleep(250000);
	gone = guest_stat(domid, "ioservid") < 0;
	sysfs_write(FAIL_WATCH "/probability", "0");
	sysfs_write(FAIL_WATCH "/times", "1");
	TH_LOG("server of the dead guest %s after %d ms without the watch",
	       gone ? "gone" : "still there", i * 250);
	EXPECT_TRUE(gone) TH_LOG("the reaper did not find the dead guest");
	EXPECT_EQ(0, server_irqs(domid));
	expect_domain_gone(_metadata, domid);
}

/* ---- a guest that runs ---- */

#define BOOT_TIMEOUT		90	/* seconds for a guest to reach our function */
#define QUIET_MS		5000	/* no request for so long: enumeration is over */

/* ---- ioeventfd and irqfd ---- */

#define IOEVENTFD_DM	XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH
#define IOEVENTFD_DEL	XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN

/*
 * ioeventfds: what may be added and removed, collisions, and that one goes
 * away with its BAR range and with its function.
 */
TEST_F(guest, ioeventfd_rules)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 9, 0), fn2 = mkfn(0, 10, 0);
	__u64 a = self->lay.mem[0].base + 0x400000;
	int e1 = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct xen_pci_ioreq_ioeventfd bad;
	unsigned int i;

	ASSERT_LE(0, e1);
	ASSERT_LE(0, e2);
	ASSERT_LE(0, null);
	test_cmd_register(self->fd, fn);
	test_cmd_register(self->fd2, fn2);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);

	/* Inside a range of the function, of a size an access has */
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a + 0x100, 4, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a + 0xfe, 4, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a - 4, 4, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a, 3, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a, 0, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a, 16, 0);
	/* data only with DATAMATCH, and no wider than the access */
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a, 4, 1);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, IOEVENTFD_DM, a, 2, 0x10000);
	/* Unknown flags, reserved fields */
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 4, a, 4, 0);
	for (i = 0; i < 2; i++) {
		bad = (struct xen_pci_ioreq_ioeventfd){
			.fn = fn, .fd = e1, .addr = a, .size = 4,
		};
		if (i)
			bad.reserved = 1;
		else
			bad.reserved0 = 1;
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_IOEVENTFD, &bad));
	}
	/* An eventfd, open */
	test_err_ioeventfd(EINVAL, self->fd, fn, null, 0, a, 4, 0);
	test_err_ioeventfd(EBADF, self->fd, fn, -1, 0, a, 4, 0);
	/* Functions of this file only */
	test_err_ioeventfd(ERR_NOT_OURS, self->fd, fn2, e1, 0, a, 4, 0);
	test_err_ioeventfd(ERR_NOT_OURS, self->fd2, fn, e1, 0, a, 4, 0);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_IOEVENTFD, NULL));

	/* Two that could match one write collide */
	test_cmd_ioeventfd(self->fd, fn, e1, 0, a + 0x10, 4, 0);
	test_err_ioeventfd(EEXIST, self->fd, fn, e2, 0, a + 0x10, 4, 0);
	test_err_ioeventfd(EEXIST, self->fd, fn, e2, IOEVENTFD_DM, a + 0x10, 4, 7);
	test_cmd_ioeventfd(self->fd, fn, e2, 0, a + 0x10, 2, 0);
	test_cmd_ioeventfd(self->fd, fn, e1, IOEVENTFD_DM, a + 0x20, 4, 1);
	test_cmd_ioeventfd(self->fd, fn, e2, IOEVENTFD_DM, a + 0x20, 4, 2);
	test_err_ioeventfd(EEXIST, self->fd, fn, e2, 0, a + 0x20, 4, 0);

	/* Removing takes the same arguments and eventfd */
	test_err_ioeventfd(ENOENT, self->fd, fn, e2, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_err_ioeventfd(ENOENT, self->fd, fn, e1, IOEVENTFD_DEL | IOEVENTFD_DM, a + 0x20, 4, 2);
	test_cmd_ioeventfd(self->fd, fn, e1, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_err_ioeventfd(ENOENT, self->fd, fn, e1, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_cmd_ioeventfd(self->fd, fn, e1, 0, a + 0x10, 4, 0);

	/* Gone with the BAR range ... */
	test_cmd_remove_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_err_ioeventfd(ENOENT, self->fd, fn, e1, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_err_ioeventfd(ENOENT, self->fd, fn, e2, IOEVENTFD_DEL | IOEVENTFD_DM, a + 0x20, 4, 2);
	/* ... and with the function */
	test_cmd_ioeventfd(self->fd, fn, e1, 0, a + 0x10, 4, 0);
	test_cmd_unregister(self->fd, fn);
	test_cmd_register(self->fd, fn);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_err_ioeventfd(ENOENT, self->fd, fn, e1, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_cmd_ioeventfd(self->fd, fn, e1, 0, a + 0x10, 4, 0);
	test_cmd_remove_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_unregister(self->fd, fn);
	close(e1);
	close(e2);
	close(null);
}

/*
 * irqfds: each signal asserts the pin (intx_raised and irqfd_asserted
 * grow), until the irqfd is removed, its function goes or its file closes.
 */
TEST_F(guest, irqfd)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 11, 0), fn2 = mkfn(0, 12, 0);
	const __u32 del = XEN_PCI_IOREQ_IRQFD_DEASSIGN;
	int e1 = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	long long asserted, raised, signals;
	struct xen_pci_ioreq_irqfd bad;
	__u64 one = 1;
	int i, fd3;

	ASSERT_LE(0, e1);
	ASSERT_LE(0, e2);
	ASSERT_LE(0, null);
	if (guest_stat(self->domid, "irqfds") < 0)
		SKIP(goto out, "no debugfs statistics of guest %d", self->domid);
	test_cmd_register(self->fd, fn);
	test_cmd_register(self->fd2, fn2);

	test_err_irqfd(EINVAL, self->fd, fn, e1, 0, 0);
	test_err_irqfd(EINVAL, self->fd, fn, e1, 0, 5);
	test_err_irqfd(EINVAL, self->fd, fn, e1, 2, 1);
	test_err_irqfd(EINVAL, self->fd, fn, null, 0, 1);
	test_err_irqfd(EBADF, self->fd, fn, -1, 0, 1);
	/* Root bus only */
	test_cmd_register(self->fd, mkfn(1, 11, 0));
	test_err_irqfd(EINVAL, self->fd, mkfn(1, 11, 0), e1, 0, 1);
	test_cmd_unregister(self->fd, mkfn(1, 11, 0));
	test_err_irqfd(ERR_NOT_OURS, self->fd, fn2, e1, 0, 1);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_IRQFD, NULL));
	for (i = 0; i < 2; i++) {
		bad = (struct xen_pci_ioreq_irqfd){ .fn = fn, .fd = e1, .pin = 1 };
		if (i)
			bad.reserved = 1;
		else
			bad.reserved0[6] = 1;
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_IRQFD, &bad));
	}

	test_cmd_irqfd(self->fd, fn, e1, 0, 1);
	test_err_irqfd(EEXIST, self->fd, fn, e1, 0, 1);
	test_err_irqfd(EBUSY, self->fd, fn, e1, 0, 2);
	test_err_irqfd(ENOENT, self->fd, fn, e2, del, 1);
	EXPECT_EQ(1, guest_stat(self->domid, "irqfds"));

	/* Each signal asserts the pin once */
	raised = guest_stat(self->domid, "intx_raised");
	asserted = guest_stat(self->domid, "irqfd_asserted");
	for (i = 1; i <= 5; i++) {
		ASSERT_EQ(8, write(e1, &one, 8));
		EXPECT_TRUE(stat_grows(self->domid, "irqfd_asserted",
				       asserted + i - 1));
	}
	EXPECT_LE(raised + 5, guest_stat(self->domid, "intx_raised"));
	/* The count was taken: the eventfd reads nothing */
	fcntl(e1, F_SETFL, O_NONBLOCK);
	EXPECT_ERRNO(EAGAIN, read(e1, &one, 8));
	one = 1;
	test_cmd_set_intx(self->fd, fn, 1, 0);

	/* Removed: signals assert nothing */
	test_cmd_irqfd(self->fd, fn, e1, del, 1);
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
	signals = guest_stat(self->domid, "irqfd_signals");
	asserted = guest_stat(self->domid, "irqfd_asserted");
	ASSERT_EQ(8, write(e1, &one, 8));
	usleep(200000);
	EXPECT_EQ(signals, guest_stat(self->domid, "irqfd_signals"));
	EXPECT_EQ(asserted, guest_stat(self->domid, "irqfd_asserted"));

	/* Signalled before it was added: asserts at once */
	test_cmd_irqfd(self->fd, fn, e1, 0, 4);
	EXPECT_TRUE(stat_grows(self->domid, "irqfd_asserted", asserted));
	test_cmd_set_intx(self->fd, fn, 4, 0);

	/* Gone with the function, and with the file */
	test_cmd_unregister(self->fd, fn);
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
	fd3 = open_bound(self->domid, true);
	ASSERT_LE(0, fd3);
	test_cmd_register(fd3, fn);
	test_cmd_irqfd(fd3, fn, e2, 0, 2);
	EXPECT_EQ(1, guest_stat(self->domid, "irqfds"));
	close(fd3);
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
out:
	close(e1);
	close(e2);
	close(null);
}

/* The INTx pins a function asserts, from the guest's statistics, or -1. */
static int fn_intx(int domid, struct xen_pci_ioreq_function fn)
{
	char path[96], line[256], want[48];
	unsigned int intx;
	int val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/xen-pci-ioreq/%d/stats",
		 domid);
	snprintf(want, sizeof(want), "function %04x:%02x:%02x.%u ", fn.segment,
		 fn.bus, fn.devfn >> 3, fn.devfn & 7);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " intx ");

		if (!strncmp(line, want, strlen(want)) && p &&
		    sscanf(p, " intx %x", &intx) == 1)
			val = intx;
	}
	fclose(f);
	return val;
}

/*
 * A backend signals its irqfd and, the guest having handled the condition
 * already, deasserts the pin at once (the interrupt went by another path,
 * or the guest polled). The signal must not assert the pin after the
 * deassertion: a pin left asserted with nothing to service makes the guest
 * take interrupts that nobody handles until it disables the line.
 */
TEST_F(guest, irqfd_deassert_cancels_signal)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 13, 0);
	int e = eventfd(0, EFD_CLOEXEC);
	long long signals, asserted, cancelled;
	__u64 one = 1;
	int i, late = 0;

	ASSERT_LE(0, e);
	if (guest_stat(self->domid, "irqfds") < 0)
		SKIP(goto out, "no debugfs statistics of guest %d", self->domid);
	test_cmd_register(self->fd, fn);
	test_cmd_irqfd(self->fd, fn, e, 0, 1);
	signals = guest_stat(self->domid, "irqfd_signals");
	asserted = guest_stat(self->domid, "irqfd_asserted");
	cancelled = guest_stat(self->domid, "irqfd_cancelled");
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(8, write(e, &one, 8));
		test_cmd_set_intx(self->fd, fn, 1, 0);
		/* Time for a stale assertion to land */
		usleep(20000);
		late += fn_intx(self->domid, fn) != 0;
	}
	EXPECT_EQ(0, late);
	/* Every signal either asserted before the deassertion or was cancelled */
	EXPECT_EQ(signals + 20, guest_stat(self->domid, "irqfd_signals"));
	EXPECT_EQ(asserted + cancelled + 20,
		  guest_stat(self->domid, "irqfd_asserted") +
		  guest_stat(self->domid, "irqfd_cancelled"));
	/* A signal after the deassertion asserts as before */
	ASSERT_EQ(8, write(e, &one, 8));
	EXPECT_TRUE(stat_grows(self->domid, "irqfd_signals", signals + 20));
	for (i = 0; i < 100 && fn_intx(self->domid, fn) != 1; i++)
		usleep(10000);
	EXPECT_EQ(1, fn_intx(self->domid, fn));
	test_cmd_unregister(self->fd, fn);
out:
	close(e);
}

/*
 * The config space of a small function: no BAR, no capability, INTA, a
 * class no driver claims. Only the Command register and the Interrupt Line
 * take writes.
 */
struct tiny_fn {
	__u8 cfg[256];
	unsigned int reads, writes;
};

static void tiny_fn_init(struct tiny_fn *t)
{
	memset(t, 0, sizeof(*t));
	t->cfg[0x00] = 0xf4;	/* vendor 0x1af4 */
	t->cfg[0x01] = 0x1a;
	t->cfg[0x02] = 0xf1;	/* device 0x10f1 */
	t->cfg[0x03] = 0x10;
	t->cfg[0x0b] = 0xff;	/* class 0xff0000 */
	t->cfg[0x3d] = 1;	/* INTA */
}

static __u64 tiny_fn_access(struct tiny_fn *t,
			    const struct xen_pci_ioreq_request *req)
{
	unsigned int i;
	__u64 val = 0;

	if (req->kind != XEN_PCI_IOREQ_KIND_CONFIG || req->addr + req->size > 256)
		return 0;
	if (req->dir == XEN_PCI_IOREQ_DIR_READ) {
		t->reads++;
		for (i = 0; i < req->size; i++)
			val |= (__u64)t->cfg[req->addr + i] << (8 * i);
		return val;
	}
	t->writes++;
	for (i = 0; i < req->size; i++) {
		__u64 reg = req->addr + i;

		if (reg == 0x04 || reg == 0x05 || reg == 0x3c)
			t->cfg[reg] = req->data >> (8 * i);
	}
	return 0;
}

/* Answer requests until none came for QUIET_MS; the number answered. */
static int tiny_fn_serve(int fd, struct tiny_fn *t)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct xen_pci_ioreq_request req;
	int n = 0;

	while (poll(&pfd, 1, QUIET_MS) == 1) {
		if (read(fd, &req, sizeof(req)) != sizeof(req)) {
			if (errno == EAGAIN)
				continue;
			return -1;
		}
		if (respond(fd, req.id, tiny_fn_access(t, &req)) != RSP_SIZE)
			return -1;
		n++;
	}
	return n;
}

FIXTURE(running) {
	struct guest guest;
};

FIXTURE_SETUP(running)
{
	own_guest_create(_metadata, &self->guest, RUN_CFG_ENV, "-run", NULL);
}

FIXTURE_TEARDOWN_PARENT(running)
{
	guest_destroy(&self->guest);
}

#define TRACEFS		"/sys/kernel/tracing"
#define TRACE_EVENTS	TRACEFS "/events/xen_pci_ioreq"

static int tracefs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* What the tracepoints said of guest @domid. */
struct trace_counts {
	int routed;		/* dispatched to a backend */
	int in_kernel;		/* answered in the kernel */
	int completed;		/* a backend's request back to the guest */
};

static int trace_count(int domid, struct trace_counts *c)
{
	char line[512], dispatch[64], complete[64];
	FILE *f = fopen(TRACEFS "/trace", "re");
	char *p;

	if (!f)
		return -errno;
	memset(c, 0, sizeof(*c));
	snprintf(dispatch, sizeof(dispatch), "xen_pci_ioreq_dispatch: dom%d vcpu",
		 domid);
	snprintf(complete, sizeof(complete), "xen_pci_ioreq_complete: dom%d vcpu",
		 domid);
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, dispatch);
		if (p) {
			c->routed += !!strstr(p, " id 0x");
			c->in_kernel += !!strstr(p, " in-kernel ");
		}
		/* The kernel prints an id of 0 as 0x0. */
		p = strstr(line, complete);
		if (p && strstr(p, " id 0x") && !strstr(p, " id 0x0 "))
			c->completed++;
	}
	fclose(f);
	return 0;
}

/*
 * The tracepoints tell what happens to a guest's accesses: one dispatch
 * event per request a backend gets and one completion when it answers,
 * and the accesses to absent functions answered in the kernel.
 */
TEST_F_TIMEOUT(running, tracepoints, 240)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 0, 0);
	struct trace_counts c;
	struct tiny_fn t;
	char out[4096];
	int domid = self->guest.domid, fd, served;
	struct stat st;

	if (stat(TRACEFS "/trace", &st))
		mount("nodev", TRACEFS, "tracefs", 0, NULL);
	if (stat(TRACE_EVENTS, &st))
		SKIP(return, "no xen_pci_ioreq events in " TRACEFS " (CONFIG_FTRACE)");
	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	tiny_fn_init(&t);
	test_cmd_register(fd, fn);
	ASSERT_EQ(0, tracefs_write(TRACEFS "/trace", ""));
	ASSERT_EQ(0, tracefs_write(TRACE_EVENTS "/enable", "1"));

	ASSERT_OK(guest_unpause(domid, out, sizeof(out))) TH_LOG("%s", out);
	served = tiny_fn_serve(fd, &t);
	tracefs_write(TRACE_EVENTS "/enable", "0");
	ASSERT_EQ(0, trace_count(domid, &c));
	TH_LOG("served %d requests; traced: %d routed, %d completed, %d answered in the kernel",
	       served, c.routed, c.completed, c.in_kernel);
	ASSERT_LT(0, served);
	EXPECT_EQ(served, c.routed);
	EXPECT_EQ(served, c.completed);
	if (ecam_mode(fd))
		EXPECT_LT(0, c.in_kernel) TH_LOG("absent functions are answered in the kernel");
	tracefs_write(TRACEFS "/trace", "");
	close(fd);
}

/*
 * A guest boots and enumerates a function registered before it ran, with
 * the function's INTA asserted all along.
 * - A read() whose buffer faults gives the request back and wakes the
 *   file's waiters again: an edge-triggered epoll waiter hears of it.
 * - Each config write of the guest after which the line is still asserted
 *   raises it again: on Xen's Arm vGIC an interrupt is an edge for the
 *   guest, and a line still high once the guest has handled it must be
 *   injected anew.
 */
TEST_F_TIMEOUT(running, enumeration, 240)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 0, 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct tiny_fn t;
	char out[4096];
	int domid = self->guest.domid, fd, ep, served;
	long long resampled;
	void *bad;

	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	if (!ecam_mode(fd))
		SKIP(return, "Xen decodes config cycles itself: no line to resample");
	tiny_fn_init(&t);
	test_cmd_register(fd, fn);
	test_cmd_set_intx(fd, fn, 1, 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);

	ASSERT_OK(guest_unpause(domid, out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, BOOT_TIMEOUT * 1000))
		TH_LOG("no access of the guest to 00:00.0 within %d s", BOOT_TIMEOUT);
	ASSERT_FALSE(ev.events & (EPOLLHUP | EPOLLERR))
		TH_LOG("the guest died before it reached 00:00.0 (events %#x)",
		       ev.events);
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	EXPECT_ERRNO(EFAULT, read(fd, bad, REQ_SIZE));
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 2000))
		TH_LOG("the request that a failed read() gave back woke nobody");

	served = tiny_fn_serve(fd, &t);
	TH_LOG("served %d requests: %u config reads, %u config writes",
	       served, t.reads, t.writes);
	ASSERT_LT(0, served);
	EXPECT_LT(0U, t.writes);
	resampled = guest_stat(domid, "intx_resampled");
	TH_LOG("INTA raised again %lld times after a guest write", resampled);
	EXPECT_EQ((long long)t.writes, resampled);
	munmap(bad, 4096);
	close(ep);
	close(fd);
}

/* ---- a guest that keeps reading config space ---- */

#define POLL_EXTRA		"extra=\"console=hvc0 panic=-1 rdinit=/init xenpci.mode=poll\""
#define KILL_ROUNDS		100
#define BOOT_REQUESTS		500	/* enumeration and the first reads */

/*
 * A backend of 00:00.0 (run in a child): answers @answer requests, then
 * takes one more and holds it unanswered, says so on @done and waits to be
 * killed.
 */
static void doomed_backend(int domid, unsigned int answer, int done)
{
	struct xen_pci_ioreq_request req;
	struct tiny_fn t;
	int fd, i;

	tiny_fn_init(&t);
	fd = open_bound(domid, false);
	if (fd < 0)
		_exit(10);
	/* The last one's registration goes when its file is released. */
	for (i = 0; _test_cmd_function(fd, XEN_PCI_IOREQ_REGISTER, mkfn(0, 0, 0)); i++) {
		if (errno != EBUSY || i == 100)
			_exit(11);
		usleep(10000);
	}
	for (;;) {
		if (read(fd, &req, sizeof(req)) != sizeof(req))
			_exit(12);
		if (!answer--)
			break;
		if (respond(fd, req.id, tiny_fn_access(&t, &req)) != RSP_SIZE)
			_exit(13);
	}
	if (write(done, "!", 1) != 1)
		_exit(14);
	for (;;)
		pause();
}

/* Start a doomed backend; its pid, with the read end of its pipe in @done. */
static pid_t doomed_start(int domid, unsigned int answer, int *done)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(p[0]);
		doomed_backend(domid, answer, p[1]);
	}
	close(p[1]);
	*done = p[0];
	return pid;
}

/* Wait until the backend holds a request; false if it did not. */
static bool doomed_holds(int done)
{
	struct pollfd pfd = { .fd = done, .events = POLLIN };
	char c;

	return poll(&pfd, 1, ROUND_TIMEOUT * 1000) == 1 && read(done, &c, 1) == 1;
}

FIXTURE(polled) {
	struct guest guest;
};

FIXTURE_SETUP(polled)
{
	own_guest_create(_metadata, &self->guest, RUN_CFG_ENV, "-poll", POLL_EXTRA);
}

FIXTURE_TEARDOWN_PARENT(polled)
{
	guest_destroy(&self->guest);
}

/*
 * A backend killed with a guest request in flight, KILL_ROUNDS times in a
 * row, while the guest keeps reading the function's config space: each
 * time the kernel answers the request the backend held (the vCPU goes on),
 * the function is absent until the next backend registers it (the guest's
 * reads are answered in the kernel), and the next backend serves it again.
 */
TEST_F_TIMEOUT(polled, backend_killed_in_flight, 600)
{
	long long aborted0, absent;
	int domid = self->guest.domid, watch, done, round, st;
	unsigned int seed = time(NULL), answered = 0;
	char out[4096];
	struct timespec t0, t1;
	pid_t pid;

	/* A bound file keeps the server, and its statistics, between rounds. */
	watch = open_bound(domid, true);
	ASSERT_LE(0, watch);
	if (!ecam_mode(watch))
		SKIP(return, "the guest's config cycles are Xen's: nothing polls this function");
	aborted0 = guest_stat(domid, "aborted");
	ASSERT_LE(0, aborted0);

	pid = doomed_start(domid, BOOT_REQUESTS, &done);
	ASSERT_LT(0, pid);
	ASSERT_OK(guest_unpause(domid, out, sizeof(out))) TH_LOG("%s", out);
	TH_LOG("seed %u", seed);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (round = 0; round < KILL_ROUNDS; round++) {
		bool held = doomed_holds(done);

		absent = guest_stat(domid, "answered_in_kernel");
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		close(done);
		ASSERT_TRUE(held)
			TH_LOG("round %d: no request to hold within %d s (backend: %#x)",
			       round, ROUND_TIMEOUT, st);
		ASSERT_TRUE(stat_grows(domid, "answered_in_kernel", absent))
			TH_LOG("round %d: no access answered as absent within %d s after the kill",
			       round, ROUND_TIMEOUT);
		answered = rand_r(&seed) % 16;
		pid = doomed_start(domid, answered, &done);
		ASSERT_LT(0, pid);
	}
	/* The last one serves too: the function is back. */
	EXPECT_TRUE(doomed_holds(done))
		TH_LOG("the backend after the last kill got no request");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(done);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_LE(KILL_ROUNDS + 1, guest_stat(domid, "aborted") - aborted0);
	EXPECT_TRUE(stat_grows(domid, "answered_in_kernel",
			       guest_stat(domid, "answered_in_kernel")));
	EXPECT_EQ(0, guest_stat(domid, "in_flight"));
	TH_LOG("%d backends killed holding a request, in %ld s", KILL_ROUNDS + 1,
	       (long)(t1.tv_sec - t0.tv_sec));
	TH_LOG("%lld requests aborted, %lld in flight now, guest running: %s",
	       guest_stat(domid, "aborted") - aborted0,
	       guest_stat(domid, "in_flight"),
	       domain_listed(domid) ? "yes" : "no");
	close(watch);
}

/*
 * Guests destroyed under live files, CHURN_ROUNDS times in a row: each time
 * the files hear of it (POLLHUP), and once they are closed nothing is left:
 * no debugfs directory, no event channel, no module reference, no leak
 * (kmemleak, when the kernel has it).
 */
#define CHURN_ROUNDS		20
#define KMEMLEAK		"/sys/kernel/debug/kmemleak"

/* Scan for leaks; the number of objects kmemleak reports, or -1. */
static int kmemleak_reports(void)
{
	char line[256];
	int n = 0;
	FILE *f;

	sysfs_write(KMEMLEAK, "scan");
	f = fopen(KMEMLEAK, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "unreferenced object")) {
			n++;
			printf("# kmemleak: %s", line);
		}
	fclose(f);
	return n;
}

FIXTURE(churn) {
	int unused;
};

FIXTURE_SETUP(churn)
{
}

FIXTURE_TEARDOWN(churn)
{
}

TEST_F_TIMEOUT(churn, guests_destroyed_under_live_fds, 300)
{
	int refs_before = module_refcnt(), leaks, round, hups = 0, left = 0;
	const char *why = no_guest_reason();
	bool kmemleak = !access(KMEMLEAK, W_OK);
	char err[1024], path[96];

	if (why)
		SKIP(return, "%s", why);
	if (kmemleak)
		sysfs_write(KMEMLEAK, "clear");
	for (round = 0; round < CHURN_ROUNDS; round++) {
		struct pollfd pfd[2] = {
			{ .events = POLLIN }, { .events = POLLIN },
		};
		struct xen_pci_ioreq_function fn = mkfn(0, 2, 0);
		struct guest g;
		int domid;

		ASSERT_OK(guest_create(&g, getenv(CFG_ENV), "-churn", NULL, err,
				       sizeof(err))) TH_LOG("%s", err);
		domid = g.domid;
		pfd[0].fd = open_bound(domid, true);
		pfd[1].fd = open_bound(domid, false);
		ASSERT_LE(0, pfd[0].fd);
		ASSERT_LE(0, pfd[1].fd);
		test_cmd_register(pfd[0].fd, fn);
		test_cmd_add_mmio(pfd[0].fd, fn, 0, layout_of(pfd[0].fd).mem[0].base,
				  0x1000);
		test_cmd_set_intx(pfd[0].fd, fn, 1, 1);
		test_cmd_register(pfd[1].fd, mkfn(0, 3, 0));
		ASSERT_OK(guest_destroy(&g));
		ASSERT_EQ(2, poll(pfd, 2, GONE_TIMEOUT * 1000));
		hups += !!(pfd[0].revents & POLLHUP) + !!(pfd[1].revents & POLLHUP);
		close(pfd[0].fd);
		close(pfd[1].fd);
		EXPECT_TRUE(wait_domain_gone(domid))
			TH_LOG("round %d: domain %d still listed", round, domid);
		snprintf(path, sizeof(path), "/sys/kernel/debug/xen-pci-ioreq/%d",
			 domid);
		left += !access(path, F_OK) + !!server_irqs(domid);
	}
	EXPECT_EQ(2 * CHURN_ROUNDS, hups);
	EXPECT_EQ(0, left) TH_LOG("debugfs directories or event channels left");
	EXPECT_EQ(refs_before, module_refcnt());
	if (kmemleak)
		sleep(6);	/* kmemleak reports objects older than 5 s */
	leaks = kmemleak ? kmemleak_reports() : -1;
	TH_LOG("%d guests destroyed under live files: %d POLLHUP of %d",
	       CHURN_ROUNDS, hups, 2 * CHURN_ROUNDS);
	TH_LOG("%d left behind, module references %d -> %d, kmemleak %d",
	       left, refs_before, module_refcnt(), leaks);
	if (kmemleak)
		EXPECT_EQ(0, leaks);
}

int main(int argc, char **argv)
{
	guests_start(true);
	return test_harness_run(argc, argv);
}
