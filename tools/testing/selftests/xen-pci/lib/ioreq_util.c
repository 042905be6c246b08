// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq helpers of the xen-pci selftests: one function per
 * command, returning what ioctl() returns; files bound to a guest; the
 * driver's debugfs statistics and event channels of a guest. The ioreq_dom0*
 * programs use them.
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ioreq_util.h"
#include "pci_util.h"

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

int _test_cmd_irqfd_resample(int fd, struct xen_pci_ioreq_function fn,
			     int efd, int rfd, __u32 flags, __u8 pin)
{
	struct xen_pci_ioreq_irqfd a = {
		.fn = fn, .fd = efd, .flags = flags, .pin = pin,
		.resamplefd = rfd,
	};

	return ioctl(fd, XEN_PCI_IOREQ_IRQFD, &a);
}

int _test_cmd_irqfd(int fd, struct xen_pci_ioreq_function fn, int efd,
		    __u32 flags, __u8 pin)
{
	return _test_cmd_irqfd_resample(fd, fn, efd, 0, flags, pin);
}

int _test_cmd_irqfd_msi(int fd, struct xen_pci_ioreq_function fn, int efd,
			__u32 flags, __u64 address, __u32 data)
{
	struct xen_pci_ioreq_irqfd a = {
		.fn = fn, .fd = efd, .flags = flags | XEN_PCI_IOREQ_IRQFD_MSI,
		.msi_address = address, .msi_data = data,
	};

	return ioctl(fd, XEN_PCI_IOREQ_IRQFD, &a);
}

int _test_cmd_msi(int fd, struct xen_pci_ioreq_function fn, __u64 address,
		  __u32 data)
{
	struct xen_pci_ioreq_msi m = {
		.fn = fn, .address = address, .data = data,
	};

	return ioctl(fd, XEN_PCI_IOREQ_MSI, &m);
}

int bind_fd_flags(int fd, int domid, unsigned int flags)
{
	return _test_cmd_bind(fd, domid, flags, NULL);
}

/* Bind as the samples do: no flags, the server stays with the guest. */
int bind_fd(int fd, int domid)
{
	return bind_fd_flags(fd, domid, 0);
}

int open_bound_flags(int domid, bool nonblock, unsigned int flags)
{
	int fd = open_dev(nonblock);

	if (fd >= 0 && bind_fd_flags(fd, domid, flags)) {
		close(fd);
		return -1;
	}
	return fd;
}

int open_bound(int domid, bool nonblock)
{
	return open_bound_flags(domid, nonblock, 0);
}

int respond(int fd, __u64 id, __u64 data)
{
	struct xen_pci_ioreq_response r = { .id = id, .data = data };

	return write(fd, &r, sizeof(r));
}

/* The layout of the root complex that @fd is bound to, as GET_INFO says. */
struct xen_pci_ioreq_layout layout_of(int fd)
{
	struct xen_pci_ioreq_info info = { 0 };

	ioctl(fd, XEN_PCI_IOREQ_GET_INFO, &info);
	return info.layout;
}

bool ecam_mode(int fd)
{
	struct xen_pci_ioreq_info info;

	return !ioctl(fd, XEN_PCI_IOREQ_GET_INFO, &info) &&
	       info.mode == XEN_PCI_IOREQ_MODE_ECAM;
}

/*
 * One line of the debugfs statistics of a root complex, or -1: @dir is its
 * directory, the domid, with "@<ECAM base>" unless it is at the default.
 */
long long server_stat(const char *dir, const char *name)
{
	char path[128], line[256];
	long long val = -1;
	size_t len = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/xen-pci-ioreq/%s/stats",
		 dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':')
			val = strtoll(line + len + 1, NULL, 0);
	fclose(f);
	return val;
}

/* The same, of the guest's root complex at the default layout. */
long long guest_stat(int domid, const char *name)
{
	char dir[16];

	snprintf(dir, sizeof(dir), "%d", domid);
	return server_stat(dir, name);
}

/* Number of lines of /proc/interrupts that are event channels of @domid. */
int server_irqs(int domid)
{
	char line[512], tag[48];
	FILE *f;
	int n = 0;

	f = fopen("/proc/interrupts", "re");
	if (!f)
		return -1;
	snprintf(tag, sizeof(tag), "xen-pci-ioreq-d%dv", domid);
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, tag);
	fclose(f);
	return n;
}

/* Wait until a guest statistic grows past @than; false on timeout. */
/*
 * Wait until task @pid sleeps in system call @nr (/proc/PID/syscall names
 * it, and its state is S), for at most ROUND_TIMEOUT seconds: a child that
 * must be blocked before the test acts, without a fixed time. False if it
 * never was, or is gone.
 */
bool wait_blocked_in(pid_t pid, long nr)
{
	char path[64], buf[256], *p;
	int i;

	for (i = 0; i < ROUND_TIMEOUT * 100; i++) {
		snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
		if (sysfs_read(path, buf, sizeof(buf)))
			return false;
		if (strtol(buf, &p, 10) == nr && p != buf) {
			snprintf(path, sizeof(path), "/proc/%d/stat", pid);
			if (sysfs_read(path, buf, sizeof(buf)))
				return false;
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == 'S')
				return true;
		}
		usleep(10000);
	}
	return false;
}

bool server_stat_grows(const char *dir, const char *name, long long than)
{
	int i;

	for (i = 0; i < ROUND_TIMEOUT * 100; i++) {
		if (server_stat(dir, name) > than)
			return true;
		usleep(10000);
	}
	return false;
}

bool stat_grows(int domid, const char *name, long long than)
{
	char dir[16];

	snprintf(dir, sizeof(dir), "%d", domid);
	return server_stat_grows(dir, name, than);
}
