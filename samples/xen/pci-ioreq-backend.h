/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the /dev/xen/pci-ioreq backends of samples/xen/ share: opening the
 * device for a guest, registering the function they serve, their request
 * buffers, signals as events of their loop, access sizes, dword-organized
 * register spaces and option numbers.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_BACKEND_H
#define _SAMPLES_XEN_PCI_IOREQ_BACKEND_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <linux/pci.h>
#include <xen/pci-ioreq.h>

#define PCI_IOREQ_DEV_PATH	"/dev/xen/pci-ioreq"
#define PCI_IOREQ_MAX_BATCH	128	/* requests per read(), at most */

/* A backend's binding to one guest, and its request and response buffers. */
struct pci_ioreq_backend {
	int fd;
	struct xen_pci_ioreq_info info;
	unsigned int batch;		/* records per read(): one per vCPU */
	struct xen_pci_ioreq_request *req;
	struct xen_pci_ioreq_response *rsp;
};

/*
 * Open /dev/xen/pci-ioreq (non-blocking), bind it to guest @domid, fill
 * be->info, register @fn and allocate the buffers. Returns 0, or -1 after
 * saying why on stderr, prefixed with @prog (pci_ioreq_backend_close()
 * then releases what was set up).
 */
static inline int pci_ioreq_backend_open(const char *prog,
					 struct pci_ioreq_backend *be,
					 unsigned int domid,
					 const struct xen_pci_ioreq_function *fn)
{
	/*
	 * The samples are the guest's PCI bus for the guest's whole life: the
	 * server stays when they exit, so that the guest reads absent
	 * functions (rather than faulting) and a backend can be restarted.
	 */
	struct xen_pci_ioreq_bind bind = {
		.domid = domid,
		.flags = XEN_PCI_IOREQ_BIND_KEEP,
	};

	be->fd = open(PCI_IOREQ_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (be->fd < 0) {
		fprintf(stderr, "%s: %s: %s%s\n", prog, PCI_IOREQ_DEV_PATH,
			strerror(errno),
			errno == ENOENT ? " (not dom0, or no CONFIG_XEN_PCI_IOREQ?)" :
			errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		return -1;
	}
	if (ioctl(be->fd, XEN_PCI_IOREQ_BIND, &bind)) {
		fprintf(stderr, "%s: bind to domain %u: %s\n", prog, domid,
			errno == ESRCH ? "no such domain" : strerror(errno));
		return -1;
	}
	if (ioctl(be->fd, XEN_PCI_IOREQ_GET_INFO, &be->info)) {
		fprintf(stderr, "%s: XEN_PCI_IOREQ_GET_INFO: %s\n", prog,
			strerror(errno));
		return -1;
	}
	/* Each vCPU waits for one request at a time. */
	be->batch = be->info.nr_vcpus < 1 ? 1 :
		    be->info.nr_vcpus > PCI_IOREQ_MAX_BATCH ?
		    PCI_IOREQ_MAX_BATCH : be->info.nr_vcpus;
	be->req = calloc(be->batch, sizeof(*be->req));
	be->rsp = calloc(be->batch, sizeof(*be->rsp));
	if (!be->req || !be->rsp) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	if (ioctl(be->fd, XEN_PCI_IOREQ_REGISTER, fn)) {
		fprintf(stderr, "%s: register %04x:%02x:%02x.%x: %s\n", prog,
			fn->segment, fn->bus, PCI_SLOT(fn->devfn),
			PCI_FUNC(fn->devfn),
			errno == EBUSY ? "served by another backend" :
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Closing the file unregisters what is left; be->fd may be -1. */
static inline void pci_ioreq_backend_close(struct pci_ioreq_backend *be)
{
	if (be->fd >= 0)
		close(be->fd);
	be->fd = -1;
	free(be->req);
	free(be->rsp);
	be->req = NULL;
	be->rsp = NULL;
}

/*
 * Make @sigs events of the backend's loop rather than interruptions: block
 * them and return a signalfd (with @flags) that reports them, or -1 after
 * saying why.
 */
static inline int pci_ioreq_signalfd(const char *prog, const sigset_t *sigs,
				     int flags)
{
	int sfd;

	if (sigprocmask(SIG_BLOCK, sigs, NULL)) {
		fprintf(stderr, "%s: sigprocmask: %s\n", prog, strerror(errno));
		return -1;
	}
	sfd = signalfd(-1, sigs, flags | SFD_CLOEXEC);
	if (sfd < 0)
		fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
	return sfd;
}

/* Access sizes a request may have. */
static inline bool pci_ioreq_valid_size(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* The bits of the answer to a read of @size bytes; all for a bad size. */
static inline __u64 pci_ioreq_size_mask(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 ? (1ULL << size * 8) - 1 :
						     ~0ULL;
}

/*
 * Register spaces organized in dwords (config space, register BARs): the
 * device reads and writes whole dwords, @mask selecting the bytes of a
 * write (0xff per byte lane); accesses of 1 to 8 bytes at any offset are
 * made of them. Each dword is read once per access (a register may clear
 * on read).
 */
typedef __u32 (*pci_ioreq_read32_fn)(void *dev, unsigned int off);
typedef void (*pci_ioreq_write32_fn)(void *dev, unsigned int off, __u32 val,
				     __u32 mask);

static inline __u64 pci_ioreq_dword_read(void *dev, pci_ioreq_read32_fn rd,
					 unsigned int off, unsigned int size)
{
	unsigned int i, cached = ~0U;
	__u32 dw = 0;
	__u64 val = 0;

	for (i = 0; i < size; i++) {
		unsigned int o = off + i;

		if ((o & ~3U) != cached) {
			cached = o & ~3U;
			dw = rd(dev, cached);
		}
		val |= (__u64)((dw >> (o & 3) * 8) & 0xff) << i * 8;
	}
	return val;
}

static inline void pci_ioreq_dword_write(void *dev, pci_ioreq_write32_fn wr,
					 unsigned int off, unsigned int size,
					 __u64 data)
{
	unsigned int i = 0;

	while (i < size) {
		unsigned int base = (off + i) & ~3U;
		__u32 val = 0, mask = 0;

		for (; i < size && ((off + i) & ~3U) == base; i++) {
			unsigned int shift = ((off + i) & 3) * 8;

			val |= (__u32)((data >> i * 8) & 0xff) << shift;
			mask |= 0xffU << shift;
		}
		wr(dev, base, val, mask);
	}
}

/*
 * A number of an option, at most @max: decimal, 0x hex or 0 octal, with an
 * optional K, M or G suffix.
 */
static inline bool pci_ioreq_parse_uint(const char *s, unsigned long long max,
					unsigned long long *val)
{
	unsigned long long v;
	unsigned int shift;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return false;
	shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
	if (shift)
		end++;
	if (*end || v > max >> shift)
		return false;
	*val = v << shift;
	return true;
}

#endif /* _SAMPLES_XEN_PCI_IOREQ_BACKEND_H */
