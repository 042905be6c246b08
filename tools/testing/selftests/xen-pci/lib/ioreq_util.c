// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq helpers of the xen-pci selftests: one function per
 * command, returning what ioctl() returns.
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ioreq_util.h"

/* The name of an errno value, for messages ("EINVAL"). */
const char *errname(int err)
{
	static char buf[16];
	const char *name = err ? strerrorname_np(err) : "success";

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

int open_dev(bool nonblock)
{
	return open(DEV_PATH, O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
}

struct xen_pci_ioreq_function mkfn(unsigned int bus, unsigned int slot,
				   unsigned int func)
{
	struct xen_pci_ioreq_function fn = {
		.bus = bus,
		.devfn = slot << 3 | func,
	};

	return fn;
}

/* BIND, with @layout when it is not NULL. */
int _test_cmd_bind(int fd, int domid, unsigned int flags,
		   const struct xen_pci_ioreq_layout *layout)
{
	struct xen_pci_ioreq_bind b = { .domid = domid, .flags = flags };

	if (layout)
		b.layout = *layout;
	return ioctl(fd, XEN_PCI_IOREQ_BIND, &b);
}

/* REGISTER or UNREGISTER. */
int _test_cmd_function(int fd, unsigned long cmd,
		       struct xen_pci_ioreq_function fn)
{
	return ioctl(fd, cmd, &fn);
}

/* ADD_MMIO or REMOVE_MMIO. */
int _test_cmd_mmio(int fd, unsigned long cmd, struct xen_pci_ioreq_function fn,
		   unsigned int bar, __u64 addr, __u64 size)
{
	struct xen_pci_ioreq_mmio m = {
		.fn = fn,
		.bar = bar,
		.addr = addr,
		.size = size,
	};

	return ioctl(fd, cmd, &m);
}

int _test_cmd_set_intx(int fd, struct xen_pci_ioreq_function fn,
		       unsigned int pin, unsigned int level)
{
	struct xen_pci_ioreq_intx x = {
		.fn = fn,
		.pin = pin,
		.level = level,
	};

	return ioctl(fd, XEN_PCI_IOREQ_SET_INTX, &x);
}

int _test_cmd_ioeventfd(int fd, struct xen_pci_ioreq_function fn, int efd,
			__u32 flags, __u64 addr, __u32 size, __u64 data)
{
	struct xen_pci_ioreq_ioeventfd a = {
		.fn = fn, .fd = efd, .flags = flags, .addr = addr,
		.size = size, .data = data,
	};

	return ioctl(fd, XEN_PCI_IOREQ_IOEVENTFD, &a);
}

int _test_cmd_irqfd(int fd, struct xen_pci_ioreq_function fn, int efd,
		    __u32 flags, __u8 pin)
{
	struct xen_pci_ioreq_irqfd a = {
		.fn = fn, .fd = efd, .flags = flags, .pin = pin,
	};

	return ioctl(fd, XEN_PCI_IOREQ_IRQFD, &a);
}
