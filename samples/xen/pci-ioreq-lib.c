// SPDX-License-Identifier: GPL-2.0
/*
 * The backends' messages, their signals, and the transport of the kernel's
 * ioreq server, /dev/xen/pci-ioreq: opening it for a guest, registering
 * the function, the request buffers, BAR ranges, INTx. Part of the library
 * of samples/xen/ (pci-ioreq-lib.h), linked into every backend.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "pci-ioreq-lib.h"

const char *pci_ioreq_prog = "pci-ioreq";

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", pci_ioreq_prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int pci_ioreq_signalfd(const sigset_t *sigs, int flags)
{
	int sfd;

	if (sigprocmask(SIG_BLOCK, sigs, NULL)) {
		say("sigprocmask: %s\n", strerror(errno));
		return -1;
	}
	sfd = signalfd(-1, sigs, flags | SFD_CLOEXEC);
	if (sfd < 0)
		say("signalfd: %s\n", strerror(errno));
	return sfd;
}

int pci_ioreq_loop_signalfd(void)
{
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	return pci_ioreq_signalfd(&sigs, SFD_NONBLOCK);
}

/* ---- transport: the kernel's ioreq server, /dev/xen/pci-ioreq ---- */

struct kernel_transport {
	struct pci_ioreq_transport t;	/* first: the operations get it */
	struct xen_pci_ioreq_function fn;
};

static struct kernel_transport *to_kernel(struct pci_ioreq_transport *t)
{
	return (struct kernel_transport *)t;
}

/* Say why @what failed, unless the guest is gone; errno stays. */
static int kernel_failed(const char *what)
{
	int err = errno;

	if (err != ENODEV)
		say("%s: %s\n", what, strerror(err));
	errno = err;
	return -1;
}

static int kernel_recv(struct pci_ioreq_transport *t)
{
	ssize_t n;

	for (;;) {
		n = read(t->fd, t->req, t->batch * sizeof(*t->req));
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0)
		return kernel_failed("read");
	if (n == 0 || n % sizeof(*t->req)) {
		say("read: %zd bytes, not whole records\n", n);
		errno = EPROTO;
		return -1;
	}
	return n / sizeof(*t->req);
}

/* write() stops at the first response the kernel refuses (-EINVAL). */
static int kernel_complete(struct pci_ioreq_transport *t,
			   const struct xen_pci_ioreq_response *rsp,
			   unsigned int nr)
{
	ssize_t n;

	for (;;) {
		n = write(t->fd, rsp, nr * sizeof(*rsp));
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n < 0 && errno == EINVAL)
		return -1;
	if (n < 0)
		return kernel_failed("write");
	if (n == 0 || n % sizeof(*rsp)) {
		say("write: completed %zd bytes, not whole records\n", n);
		errno = EPROTO;
		return -1;
	}
	return n / sizeof(*rsp);
}

static int kernel_add_mmio(struct pci_ioreq_transport *t,
			   const struct xen_pci_ioreq_mmio *mmio)
{
	int err;

	if (!ioctl(t->fd, XEN_PCI_IOREQ_ADD_MMIO, mmio))
		return 0;
	err = errno;
	if (err != ENODEV)
		say("BAR %u at %#llx: XEN_PCI_IOREQ_ADD_MMIO: %s\n", mmio->bar,
		    (unsigned long long)mmio->addr, strerror(err));
	errno = err;
	return -1;
}

static int kernel_remove_mmio(struct pci_ioreq_transport *t,
			      const struct xen_pci_ioreq_mmio *mmio)
{
	if (!ioctl(t->fd, XEN_PCI_IOREQ_REMOVE_MMIO, mmio))
		return 0;
	return kernel_failed("XEN_PCI_IOREQ_REMOVE_MMIO");
}

static int kernel_set_intx(struct pci_ioreq_transport *t,
			   const struct xen_pci_ioreq_intx *intx)
{
	if (!ioctl(t->fd, XEN_PCI_IOREQ_SET_INTX, intx))
		return 0;
	return kernel_failed("XEN_PCI_IOREQ_SET_INTX");
}

static int kernel_msi(struct pci_ioreq_transport *t,
		      const struct xen_pci_ioreq_msi *msi)
{
	if (!ioctl(t->fd, XEN_PCI_IOREQ_MSI, msi))
		return 0;
	if (errno == EINVAL || errno == ERANGE || errno == EOPNOTSUPP)
		return -1;
	return kernel_failed("XEN_PCI_IOREQ_MSI");
}

static void kernel_free(struct kernel_transport *kt)
{
	if (kt->t.fd >= 0)
		close(kt->t.fd);
	free(kt->t.req);
	free(kt->t.rsp);
	free(kt);
}

/* Closing the file would unregister too; unregistering says if it fails. */
static void kernel_close(struct pci_ioreq_transport *t, bool gone)
{
	struct kernel_transport *kt = to_kernel(t);

	if (!gone && ioctl(t->fd, XEN_PCI_IOREQ_UNREGISTER, &kt->fn))
		kernel_failed("XEN_PCI_IOREQ_UNREGISTER");
	kernel_free(kt);
}

static const struct pci_ioreq_transport_ops kernel_ops = {
	.recv = kernel_recv,
	.complete = kernel_complete,
	.add_mmio = kernel_add_mmio,
	.remove_mmio = kernel_remove_mmio,
	.set_intx = kernel_set_intx,
	.msi = kernel_msi,
	.close = kernel_close,
};

/*
 * Bind, get the guest's info, allocate the buffers, register. The server
 * stays when the samples exit (they never ask XEN_PCI_IOREQ_RELEASE_SERVER):
 * the guest reads absent functions rather than faulting, and a backend can
 * be restarted.
 */
static int kernel_bind(struct pci_ioreq_transport *t, unsigned int domid,
		       const struct xen_pci_ioreq_layout *layout,
		       const struct xen_pci_ioreq_function *fn, __u16 flags)
{
	struct xen_pci_ioreq_bind bind = { .domid = domid, .flags = flags };

	if (layout) {
		bind.flags |= XEN_PCI_IOREQ_BIND_LAYOUT;
		bind.layout = *layout;
	}

	t->fd = open(PCI_IOREQ_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		say("%s: %s%s\n", PCI_IOREQ_DEV_PATH, strerror(errno),
		    errno == ENOENT ? " (not dom0, or no CONFIG_XEN_PCI_IOREQ?)" :
		    errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		return -1;
	}
	if (ioctl(t->fd, XEN_PCI_IOREQ_BIND, &bind)) {
		say("bind to domain %u: %s\n", domid,
		    errno == ESRCH ? "no such domain" :
		    errno == EBUSY && layout ?
		    "another root complex of the guest is in the way" :
		    strerror(errno));
		return -1;
	}
	if (ioctl(t->fd, XEN_PCI_IOREQ_GET_INFO, &t->info)) {
		say("XEN_PCI_IOREQ_GET_INFO: %s\n", strerror(errno));
		return -1;
	}
	/* Each vCPU waits for one request at a time; and an invalidate. */
	t->batch = t->info.nr_vcpus < 1 ? 2 :
		   t->info.nr_vcpus >= PCI_IOREQ_MAX_BATCH ?
		   PCI_IOREQ_MAX_BATCH : t->info.nr_vcpus + 1;
	t->req = calloc(t->batch, sizeof(*t->req));
	t->rsp = calloc(t->batch, sizeof(*t->rsp));
	if (!t->req || !t->rsp) {
		say("out of memory\n");
		return -1;
	}
	if (ioctl(t->fd, XEN_PCI_IOREQ_REGISTER, fn)) {
		say("register %04x:%02x:%02x.%x: %s\n", fn->segment, fn->bus,
		    PCI_SLOT(fn->devfn), PCI_FUNC(fn->devfn),
		    errno == EBUSY ? "served by another backend" :
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct pci_ioreq_transport *
pci_ioreq_kernel_open(unsigned int domid,
		      const struct xen_pci_ioreq_layout *layout,
		      const struct xen_pci_ioreq_function *fn, __u16 flags)
{
	struct kernel_transport *kt = calloc(1, sizeof(*kt));

	if (!kt) {
		say("out of memory\n");
		return NULL;
	}
	kt->fn = *fn;
	kt->t.ops = &kernel_ops;
	kt->t.name = "kernel";
	kt->t.idle_ms = -1;
	if (kernel_bind(&kt->t, domid, layout, fn, flags)) {
		kernel_free(kt);
		return NULL;
	}
	return &kt->t;
}
