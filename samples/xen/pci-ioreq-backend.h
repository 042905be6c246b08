/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the /dev/xen/pci-ioreq backends of samples/xen/ share: opening the
 * device for a guest and registering the function they serve.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_BACKEND_H
#define _SAMPLES_XEN_PCI_IOREQ_BACKEND_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pci.h>
#include <xen/pci-ioreq.h>

#define PCI_IOREQ_DEV_PATH	"/dev/xen/pci-ioreq"
#define PCI_IOREQ_MAX_BATCH	128	/* requests per read(), at most */

/*
 * Open /dev/xen/pci-ioreq (non-blocking), bind it to guest @domid, fill
 * @info and register @fn. Returns the file descriptor, or -1 after saying
 * why on stderr, prefixed with @prog.
 */
static inline int pci_ioreq_backend_open(const char *prog, unsigned int domid,
					 const struct xen_pci_ioreq_function *fn,
					 struct xen_pci_ioreq_info *info)
{
	struct xen_pci_ioreq_bind bind = { .domid = domid };
	int fd;

	fd = open(PCI_IOREQ_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s%s\n", prog, PCI_IOREQ_DEV_PATH,
			strerror(errno),
			errno == ENOENT ? " (not dom0, or no CONFIG_XEN_PCI_IOREQ?)" :
			errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		return -1;
	}
	if (ioctl(fd, XEN_PCI_IOREQ_BIND, &bind)) {
		fprintf(stderr, "%s: bind to domain %u: %s\n", prog, domid,
			errno == ESRCH ? "no such domain" : strerror(errno));
		goto fail;
	}
	if (ioctl(fd, XEN_PCI_IOREQ_GET_INFO, info)) {
		fprintf(stderr, "%s: XEN_PCI_IOREQ_GET_INFO: %s\n", prog,
			strerror(errno));
		goto fail;
	}
	if (ioctl(fd, XEN_PCI_IOREQ_REGISTER, fn)) {
		fprintf(stderr, "%s: register %04x:%02x:%02x.%x: %s\n", prog,
			fn->segment, fn->bus, PCI_SLOT(fn->devfn),
			PCI_FUNC(fn->devfn),
			errno == EBUSY ? "served by another backend" :
			strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Records per read(): each vCPU waits for one request at a time. */
static inline unsigned int pci_ioreq_batch(const struct xen_pci_ioreq_info *info)
{
	if (info->nr_vcpus < 1)
		return 1;
	return info->nr_vcpus > PCI_IOREQ_MAX_BATCH ? PCI_IOREQ_MAX_BATCH :
						      info->nr_vcpus;
}

#endif /* _SAMPLES_XEN_PCI_IOREQ_BACKEND_H */
