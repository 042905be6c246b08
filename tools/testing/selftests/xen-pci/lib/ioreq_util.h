/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The /dev/xen/pci-ioreq half of the xen-pci selftest library
 * (lib/ioreq_util.c). As in the iommufd selftests, each command comes as a
 * pair of macros for a test: test_cmd_<cmd>() asserts that it succeeds,
 * test_err_<cmd>(errno, ...) that it fails with that errno. The
 * _test_cmd_<cmd>() functions under them return what ioctl() returns.
 * The macros need kselftest_harness.h, included first.
 */

#ifndef _XEN_PCI_SELFTEST_IOREQ_UTIL_H
#define _XEN_PCI_SELFTEST_IOREQ_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>

#include <linux/types.h>
#include <xen/pci-ioreq.h>

#define DEV_PATH		"/dev/xen/pci-ioreq"

#define DOMID_SELF		0x7ff0
#define DOMID_UNUSED		0x7fef	/* last ordinary domid: never handed out here */

/*
 * Errors not named in <xen/pci-ioreq.h>, as
 * Documentation/userspace-api/xen-pci-ioreq.rst specifies them.
 */
#define ERR_UNBOUND		EINVAL	/* anything but BIND on an unbound file */
#define ERR_NOT_OURS		ENOENT	/* function not registered by this file, range not added */
#define ERR_OVERLAP		EEXIST	/* MMIO range overlapping one already routed */
#define ERR_ECAM		EINVAL	/* MMIO range overlapping the ECAM window */

#define REQ_SIZE		sizeof(struct xen_pci_ioreq_request)
#define RSP_SIZE		sizeof(struct xen_pci_ioreq_response)

#define ROUND_TIMEOUT		30	/* seconds for each step of a round */

const char *errname(int err);

int open_dev(bool nonblock);
struct xen_pci_ioreq_function mkfn(unsigned int bus, unsigned int slot,
				   unsigned int func);

int _test_cmd_bind(int fd, int domid, unsigned int flags,
		   const struct xen_pci_ioreq_layout *layout);
int _test_cmd_function(int fd, unsigned long cmd,
		       struct xen_pci_ioreq_function fn);
int _test_cmd_mmio(int fd, unsigned long cmd, struct xen_pci_ioreq_function fn,
		   unsigned int bar, __u64 addr, __u64 size);
int _test_cmd_set_intx(int fd, struct xen_pci_ioreq_function fn,
		       unsigned int pin, unsigned int level);
int _test_cmd_ioeventfd(int fd, struct xen_pci_ioreq_function fn, int efd,
			__u32 flags, __u64 addr, __u32 size, __u64 data);
int _test_cmd_irqfd(int fd, struct xen_pci_ioreq_function fn, int efd,
		    __u32 flags, __u8 pin);
int _test_cmd_irqfd_resample(int fd, struct xen_pci_ioreq_function fn,
			     int efd, int rfd, __u32 flags, __u8 pin);

int _test_cmd_msi(int fd, struct xen_pci_ioreq_function fn, __u64 address,
		  __u32 data);
/* XEN_PCI_IOREQ_IRQFD with XEN_PCI_IOREQ_IRQFD_MSI and @flags. */
int _test_cmd_irqfd_msi(int fd, struct xen_pci_ioreq_function fn, int efd,
			__u32 flags, __u64 address, __u32 data);
int bind_fd_flags(int fd, int domid, unsigned int flags);
int bind_fd(int fd, int domid);
int open_bound_flags(int domid, bool nonblock, unsigned int flags);
int open_bound(int domid, bool nonblock);
int respond(int fd, __u64 id, __u64 data);
struct xen_pci_ioreq_layout layout_of(int fd);
bool ecam_mode(int fd);

long long server_stat(const char *dir, const char *name);
long long guest_stat(int domid, const char *name);
int server_irqs(int domid);
bool stat_grows(int domid, const char *name, long long than);
/* As stat_grows(), for the server of debugfs directory @dir. */
bool server_stat_grows(const char *dir, const char *name, long long than);
bool wait_blocked_in(pid_t pid, long nr);

/* The test macros, for the programs that include kselftest_harness.h. */
#ifdef __KSELFTEST_HARNESS_H

/* @cmd fails with @expected_errno (iommufd's meaning), and says how not. */
#define EXPECT_ERRNO(expected_errno, cmd)					\
	({									\
		int __want = (expected_errno);					\
		long __ret = (cmd);						\
		int __err = errno;						\
										\
		ASSERT_EQ(-1, __ret)						\
			TH_LOG("%s: succeeded, expected %s", #cmd,		\
			       errname(__want));				\
		EXPECT_EQ(__want, __err)					\
			TH_LOG("%s: %s, expected %s", #cmd, errname(__err),	\
			       errname(__want));				\
	})

/* Whether a call succeeded; says how it failed if not. */
static inline long succeeded(struct __test_metadata *_metadata, long ret,
			     const char *call)
{
	if (ret)
		TH_LOG("%s: returned %ld (%s)", call, ret, errname(errno));
	return ret;
}

/* @cmd returns 0; a TH_LOG() may follow, as after ASSERT_EQ(). */
#define ASSERT_OK(cmd) ASSERT_EQ(0, succeeded(_metadata, (cmd), #cmd))

#define test_cmd_bind_layout(fd, domid, layout)					\
	ASSERT_OK(_test_cmd_bind(fd, domid, XEN_PCI_IOREQ_BIND_LAYOUT, layout))
#define test_err_bind_layout(_errno, fd, domid, layout)				\
	EXPECT_ERRNO(_errno, _test_cmd_bind(fd, domid,				\
					    XEN_PCI_IOREQ_BIND_LAYOUT, layout))

#define test_cmd_register(fd, fn)						\
	ASSERT_OK(_test_cmd_function(fd, XEN_PCI_IOREQ_REGISTER, fn))
#define test_err_register(_errno, fd, fn)					\
	EXPECT_ERRNO(_errno, _test_cmd_function(fd, XEN_PCI_IOREQ_REGISTER, fn))
#define test_cmd_unregister(fd, fn)						\
	ASSERT_OK(_test_cmd_function(fd, XEN_PCI_IOREQ_UNREGISTER, fn))
#define test_err_unregister(_errno, fd, fn)					\
	EXPECT_ERRNO(_errno, _test_cmd_function(fd, XEN_PCI_IOREQ_UNREGISTER, fn))

#define test_cmd_add_mmio(fd, fn, bar, addr, size)				\
	ASSERT_OK(_test_cmd_mmio(fd, XEN_PCI_IOREQ_ADD_MMIO, fn, bar, addr, size))
#define test_err_add_mmio(_errno, fd, fn, bar, addr, size)			\
	EXPECT_ERRNO(_errno, _test_cmd_mmio(fd, XEN_PCI_IOREQ_ADD_MMIO, fn,	\
					    bar, addr, size))
#define test_cmd_remove_mmio(fd, fn, bar, addr, size)				\
	ASSERT_OK(_test_cmd_mmio(fd, XEN_PCI_IOREQ_REMOVE_MMIO, fn, bar, addr,	\
				 size))
#define test_err_remove_mmio(_errno, fd, fn, bar, addr, size)			\
	EXPECT_ERRNO(_errno, _test_cmd_mmio(fd, XEN_PCI_IOREQ_REMOVE_MMIO, fn,	\
					    bar, addr, size))

#define test_cmd_set_intx(fd, fn, pin, level)					\
	ASSERT_OK(_test_cmd_set_intx(fd, fn, pin, level))
#define test_err_set_intx(_errno, fd, fn, pin, level)				\
	EXPECT_ERRNO(_errno, _test_cmd_set_intx(fd, fn, pin, level))

#define test_cmd_ioeventfd(fd, fn, efd, flags, addr, size, data)		\
	ASSERT_OK(_test_cmd_ioeventfd(fd, fn, efd, flags, addr, size, data))
#define test_err_ioeventfd(_errno, fd, fn, efd, flags, addr, size, data)	\
	EXPECT_ERRNO(_errno, _test_cmd_ioeventfd(fd, fn, efd, flags, addr,	\
						 size, data))

#define test_cmd_irqfd(fd, fn, efd, flags, pin)					\
	ASSERT_OK(_test_cmd_irqfd(fd, fn, efd, flags, pin))
#define test_err_irqfd(_errno, fd, fn, efd, flags, pin)				\
	EXPECT_ERRNO(_errno, _test_cmd_irqfd(fd, fn, efd, flags, pin))

#define test_cmd_release_server(fd)						\
	ASSERT_OK(ioctl(fd, XEN_PCI_IOREQ_RELEASE_SERVER, 0))

#define test_cmd_irqfd_msi(fd, fn, efd, flags, address, data)			\
	ASSERT_OK(_test_cmd_irqfd_msi(fd, fn, efd, flags, address, data))
#define test_err_irqfd_msi(_errno, fd, fn, efd, flags, address, data)		\
	EXPECT_ERRNO(_errno, _test_cmd_irqfd_msi(fd, fn, efd, flags, address,	\
						 data))
#define test_cmd_msi(fd, fn, address, data)					\
	ASSERT_OK(_test_cmd_msi(fd, fn, address, data))
#define test_err_msi(_errno, fd, fn, address, data)				\
	EXPECT_ERRNO(_errno, _test_cmd_msi(fd, fn, address, data))

#endif /* __KSELFTEST_HARNESS_H */

#endif /* _XEN_PCI_SELFTEST_IOREQ_UTIL_H */
