// SPDX-License-Identifier: GPL-2.0
/*
 * pci-ioreq-emu: emulate one PCI function of a Xen guest from dom0
 * userspace, through /dev/xen/pci-ioreq or through an ioreq server of its
 * own.
 *
 * The function is the small test device described in pci-ioreq-emu.h: a
 * type 0 header, a 256-byte register BAR, a 64-bit prefetchable BAR backed
 * by memory and an INTx line raised by a doorbell register. The backend
 * serves the guest's config space and BAR accesses from an epoll loop,
 * several requests per wakeup when several vCPUs wait. When the guest
 * enables memory decoding or moves a BAR, the BAR's guest-physical range
 * is routed to the backend (and unrouted when the BAR moves or decoding
 * goes off).
 *
 * The device (config space, BARs, registers) takes the guest's accesses as
 * struct xen_pci_ioreq_request records and answers them with struct
 * xen_pci_ioreq_response records, whichever transport (struct
 * pci_ioreq_transport, pci-ioreq-backend.h) carries them; --server chooses
 * it, so that the two can be measured against each other:
 *
 *   kernel  (the default) /dev/xen/pci-ioreq: the kernel owns the guest's
 *           ioreq server, decodes the guest's config accesses and routes
 *           those to this function here; the backend binds to the guest and
 *           registers the function, BAR ranges are XEN_PCI_IOREQ_ADD_MMIO
 *           and XEN_PCI_IOREQ_REMOVE_MMIO, INTx is XEN_PCI_IOREQ_SET_INTX.
 *   xen     an ioreq server of the backend's own, run as QEMU's xenpvh
 *           machine runs one (pci-ioreq-xen.c): the backend claims the
 *           ECAM window and the memory windows of an Arm guest (--layout)
 *           whole, decodes them itself and answers accesses to other
 *           functions, and to window addresses outside its BARs, as
 *           absent. No other server may claim those windows, and once the
 *           backend is gone the guest's accesses there find nobody to
 *           answer them.
 *
 * Usage:
 *	pci-ioreq-emu --domid N --slot S [--function F] [--bus B]
 *		      [--bar2-size BYTES] [--multifunction] [--crash-register]
 *		      [--server kernel|xen] [--layout SPEC] [--verbose]
 *
 * --layout names the guest's root complex when it is not where Xen's
 * toolstack puts it (a partial device tree may put it elsewhere): the
 * kernel serves that one, or with --server xen this process claims its ECAM
 * and memory windows and raises its INTx lines.
 *
 * Start it while the guest is paused (xl create -p; then xl unpause once
 * the backend printed its "serving" line, which names the server). It runs
 * until SIGTERM, SIGINT or SIGHUP, or until the guest goes away (with
 * --server xen, checked each second the backend is idle); SIGUSR1 prints
 * the counters. The counters are printed at exit too: requests served,
 * backend wakeups and records per wakeup, and with --server xen the
 * accesses the transport answered itself and the INTx assertions it
 * repeated after a write. Exit status: 0 on a signal or when the guest is
 * gone, 1 on an error, 2 on a usage error; a backend killed through the
 * crash register dies of SIGKILL (with --server xen, its ioreq server then
 * stays until the guest is destroyed).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <linux/pci.h>
#include <linux/types.h>
#include <xen/pci-ioreq.h>

#define PROG			"pci-ioreq-emu"

#include "pci-ioreq-backend.h"
#include "pci-ioreq-emu.h"
#include "pci-ioreq-xen.h"

#define CFG_SPACE_SIZE		4096	/* ECAM space of one function */
#define BAR2_SIZE_MIN		16ULL	/* smallest memory BAR (PCI) */
#define BAR2_SIZE_MAX		0x40000000ULL	/* 1 GiB */
#define IDLE_CHECK_MS		1000	/* --server xen: is the guest there? */

#define BAR2_FLAGS		(PCI_BASE_ADDRESS_SPACE_MEMORY | \
				 PCI_BASE_ADDRESS_MEM_TYPE_64 | \
				 PCI_BASE_ADDRESS_MEM_PREFETCH)
#define INTX_PIN		1	/* INTA */

/* Outcome of serving requests. */
enum {
	SERVE_OK,
	SERVE_GONE,	/* the guest went away */
	SERVE_ERROR,
};

struct emu_stats {
	unsigned long long wakeups;	/* epoll wakeups for the device */
	unsigned long long empty;	/* wakeups that found nothing */
	unsigned long long reads;	/* batches of requests received */
	unsigned long long requests;
	unsigned long long cfg_reads, cfg_writes, mmio_reads, mmio_writes;
	unsigned long long bad;		/* malformed requests, refused responses */
	unsigned long long maps, unmaps, intx;
};

struct emu {
	struct pci_ioreq_transport *t;
	struct xen_pci_ioreq_function fn;
	bool multifunction;
	bool crash_enabled;
	bool verbose;
	bool gone;

	struct pci_ioreq_header hdr;	/* config space */

	/* BAR 0 */
	__u32 scratch;
	__u64 scratch64;
	bool irq_pending;
	bool intx_level;
	__u32 irq_count;
	__u32 mmio_count;
	__u32 config_count;

	/* BAR 2 */
	__u8 *mem;

	struct emu_stats st;
};

/* A transport operation failed, and said why unless the guest is gone. */
static void transport_failed(struct emu *e)
{
	if (errno == ENODEV)
		e->gone = true;
}

/* ---- INTx ---- */

static void update_intx(struct emu *e)
{
	bool level = e->irq_pending &&
		     !(e->hdr.command & PCI_COMMAND_INTX_DISABLE);
	struct xen_pci_ioreq_intx intx = {
		.fn = e->fn,
		.pin = INTX_PIN,
		.level = level,
	};

	if (level == e->intx_level || e->gone)
		return;
	if (e->t->ops->set_intx(e->t, &intx)) {
		transport_failed(e);
		return;
	}
	e->intx_level = level;
	e->st.intx++;
}

/* ---- BAR routing ---- */

/* Route BAR @i at @addr to us (@add), or stop. */
static int bar_mmio(struct emu *e, bool add, unsigned int i, __u64 addr)
{
	struct xen_pci_ioreq_mmio mmio = {
		.fn = e->fn,
		.bar = i,
		.addr = addr,
		.size = e->hdr.bar[i].size,
	};

	if (add)
		return e->t->ops->add_mmio(e->t, &mmio);
	return e->t->ops->remove_mmio(e->t, &mmio);
}

/*
 * Route each BAR to us while the guest has memory decoding on and the BAR
 * at an address; follow the guest when it moves a BAR or turns decoding
 * off. An address of 0 counts as unassigned, and a BAR half way through a
 * 64-bit update may point past the end of the address space: neither is
 * routed.
 */
static void update_bars(struct emu *e)
{
	bool decode = e->hdr.command & PCI_COMMAND_MEMORY;
	unsigned int i;

	for (i = 0; i < PCI_STD_NUM_BARS && !e->gone; i++) {
		struct pci_ioreq_bar *b = &e->hdr.bar[i];
		bool want = decode && b->size && b->addr &&
			    b->addr <= ~0ULL - b->size;

		if (b->mapped && (!want || b->mapped_addr != b->addr)) {
			if (bar_mmio(e, false, i, b->mapped_addr))
				transport_failed(e);
			else
				e->st.unmaps++;
			b->mapped = false;
		}
		if (want && !b->mapped && !e->gone) {
			if (bar_mmio(e, true, i, b->addr)) {
				transport_failed(e);
				continue;
			}
			b->mapped = true;
			b->mapped_addr = b->addr;
			e->st.maps++;
		}
	}
}

/* ---- config space ---- */

static __u16 cfg_status(struct emu *e)
{
	return e->irq_pending ? PCI_STATUS_INTERRUPT : 0;
}

/* Reads have no side effects: callers may read a dword more than once. */
static __u32 cfg_read32(void *dev, unsigned int off)
{
	struct emu *e = dev;

	switch (off) {
	case PCI_VENDOR_ID:
		return EMU_VENDOR_ID | EMU_DEVICE_ID << 16;
	case PCI_COMMAND:
		return e->hdr.command | (__u32)cfg_status(e) << 16;
	case PCI_CLASS_REVISION:
		return EMU_REVISION | (__u32)EMU_CLASS << 8;
	case PCI_CACHE_LINE_SIZE:
		return e->hdr.cache_line | e->hdr.latency << 8 |
		       (e->multifunction ? PCI_HEADER_TYPE_MFD :
					   PCI_HEADER_TYPE_NORMAL) << 16;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5:
		return pci_ioreq_bar_read(&e->hdr, off);
	case PCI_SUBSYSTEM_VENDOR_ID:
		return EMU_SUBSYS_VENDOR_ID | EMU_SUBSYS_ID << 16;
	case PCI_INTERRUPT_LINE:
		return e->hdr.irq_line | INTX_PIN << 8;
	default:
		/* no expansion ROM, no capabilities, nothing beyond */
		return 0;
	}
}

/*
 * Write the bytes of dword @off selected by @mask (0xff per byte lane).
 * Only the Command register, the cache line size, the latency timer, the
 * Interrupt Line and the BARs hold writable bits, which
 * pci_ioreq_header_write() takes; the Status register has no error bits to
 * clear.
 */
static void cfg_write32(void *dev, unsigned int off, __u32 val, __u32 mask)
{
	struct emu *e = dev;
	__u32 new = (cfg_read32(e, off) & ~mask) | (val & mask);

	if (pci_ioreq_header_write(&e->hdr, off, new, mask)) {
		update_bars(e);
		update_intx(e);
	}
}

/* ---- BAR 0 registers ---- */

static __u32 reg_read32(void *dev, unsigned int off)
{
	struct emu *e = dev;

	switch (off) {
	case EMU_REG_MAGIC:
		return EMU_MAGIC;
	case EMU_REG_VERSION:
		return EMU_VERSION;
	case EMU_REG_FEATURES:
		return e->crash_enabled ? EMU_FEAT_CRASH : 0;
	case EMU_REG_BDF:
		return e->fn.bus << 8 | e->fn.devfn;
	case EMU_REG_SCRATCH:
		return e->scratch;
	case EMU_REG_IRQ_STATUS:
		return e->irq_pending ? EMU_IRQ_PENDING : 0;
	case EMU_REG_IRQ_COUNT:
		return e->irq_count;
	case EMU_REG_MMIO_COUNT:
		return e->mmio_count;
	case EMU_REG_CONFIG_COUNT:
		return e->config_count;
	case EMU_REG_BAR2_SIZE_LO:
		return e->hdr.bar[2].size;
	case EMU_REG_BAR2_SIZE_HI:
		return e->hdr.bar[2].size >> 32;
	case EMU_REG_SCRATCH64:
		return e->scratch64;
	case EMU_REG_SCRATCH64 + 4:
		return e->scratch64 >> 32;
	default:
		return 0;
	}
}

static void reg_write32(void *dev, unsigned int off, __u32 val, __u32 mask)
{
	struct emu *e = dev;

	switch (off) {
	case EMU_REG_SCRATCH:
		e->scratch = (e->scratch & ~mask) | (val & mask);
		break;
	case EMU_REG_DOORBELL:
		e->irq_pending = true;
		e->irq_count++;
		update_intx(e);
		break;
	case EMU_REG_IRQ_STATUS:
		if (val & mask & EMU_IRQ_PENDING) {
			e->irq_pending = false;
			update_intx(e);
		}
		break;
	case EMU_REG_SCRATCH64:
		e->scratch64 = (e->scratch64 & ~(__u64)mask) | (val & mask);
		break;
	case EMU_REG_SCRATCH64 + 4:
		e->scratch64 = (e->scratch64 & ~((__u64)mask << 32)) |
			       (__u64)(val & mask) << 32;
		break;
	}
}

/* ---- requests ---- */

/* A 32-bit write of the key to the crash register, when it is armed. */
static bool is_crash(struct emu *e, const struct xen_pci_ioreq_request *r)
{
	return e->crash_enabled && r->kind == XEN_PCI_IOREQ_KIND_MMIO &&
	       r->dir == XEN_PCI_IOREQ_DIR_WRITE && r->bar == 0 &&
	       e->hdr.bar[0].mapped && r->size == 4 &&
	       r->addr == e->hdr.bar[0].mapped_addr + EMU_REG_CRASH &&
	       (__u32)r->data == EMU_CRASH_KEY;
}

/*
 * Serve one request; store the value read in *data. Returns false for a
 * request that makes no sense, which is answered as by a master abort
 * (reads all ones, writes dropped).
 */
static bool serve_one(struct emu *e, const struct xen_pci_ioreq_request *r,
		      __u64 *data)
{
	bool rd = r->dir == XEN_PCI_IOREQ_DIR_READ;
	struct pci_ioreq_bar *b;
	__u64 off;

	*data = 0;
	if (!pci_ioreq_valid_size(r->size) ||
	    memcmp(&r->fn, &e->fn, sizeof(e->fn)))
		return false;
	if (r->dir != XEN_PCI_IOREQ_DIR_READ && r->dir != XEN_PCI_IOREQ_DIR_WRITE)
		return false;

	switch (r->kind) {
	case XEN_PCI_IOREQ_KIND_CONFIG:
		if (r->addr >= CFG_SPACE_SIZE ||
		    r->addr + r->size > CFG_SPACE_SIZE)
			return false;
		e->config_count++;
		if (rd) {
			e->st.cfg_reads++;
			*data = pci_ioreq_dword_read(e, cfg_read32, r->addr,
						     r->size);
		} else {
			e->st.cfg_writes++;
			pci_ioreq_dword_write(e, cfg_write32, r->addr,
					      r->size, r->data);
		}
		return true;
	case XEN_PCI_IOREQ_KIND_MMIO:
		if (r->bar >= PCI_STD_NUM_BARS || !e->hdr.bar[r->bar].mapped)
			return false;
		b = &e->hdr.bar[r->bar];
		off = r->addr - b->mapped_addr;
		if (r->addr < b->mapped_addr || off >= b->size ||
		    off + r->size > b->size)
			return false;
		e->mmio_count++;
		if (rd)
			e->st.mmio_reads++;
		else
			e->st.mmio_writes++;
		if (r->bar == 2) {
			if (rd)
				*data = pci_ioreq_mem_read(e->mem + off,
							   r->size);
			else
				pci_ioreq_mem_write(e->mem + off, r->size,
						    r->data);
		} else if (rd) {
			*data = pci_ioreq_dword_read(e, reg_read32, off,
						     r->size);
		} else {
			pci_ioreq_dword_write(e, reg_write32, off, r->size,
					      r->data);
		}
		return true;
	default:
		return false;
	}
}

/* Complete @nr responses; the transport may refuse a bad one (EINVAL). */
static int complete(struct emu *e, unsigned int nr)
{
	unsigned int done = 0;

	while (done < nr) {
		const struct xen_pci_ioreq_response *r = &e->t->rsp[done];
		int n = e->t->ops->complete(e->t, r, nr - done);

		if (n < 0 && errno == ENODEV) {
			e->gone = true;
			return SERVE_GONE;
		}
		if (n < 0 && errno == EINVAL) {
			say("response to request %llu refused\n",
			    (unsigned long long)r->id);
			e->st.bad++;
			done++;
			continue;
		}
		if (n <= 0)
			return SERVE_ERROR;
		done += n;
	}
	return SERVE_OK;
}

static void trace(const struct xen_pci_ioreq_request *r, __u64 data)
{
	bool rd = r->dir == XEN_PCI_IOREQ_DIR_READ;

	fprintf(stderr, PROG ": #%llu vcpu %u %s %s bar %u %#llx/%u %s %#llx\n",
		(unsigned long long)r->id, r->vcpu,
		r->kind == XEN_PCI_IOREQ_KIND_CONFIG ? "cfg" : "mmio",
		rd ? "read" : "write", r->bar, (unsigned long long)r->addr,
		r->size, rd ? "->" : "<-",
		(unsigned long long)(rd ? data : r->data));
}

/* Serve a batch of @nr requests read from the device. */
static int serve_batch(struct emu *e, unsigned int nr)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++) {
		const struct xen_pci_ioreq_request *r = &e->t->req[i];
		struct xen_pci_ioreq_response *rsp = &e->t->rsp[i];
		__u64 data;

		if (is_crash(e, r)) {
			/* Complete the others, then die with this one open. */
			complete(e, i);
			say("crash register written by vCPU %u: ", r->vcpu);
			fprintf(stderr, "dying with request %llu open\n",
				(unsigned long long)r->id);
			fflush(NULL);
			kill(getpid(), SIGKILL);
			pause();
		}

		if (!serve_one(e, r, &data)) {
			say("bad request %llu: kind %u dir %u size %u bar %u addr %#llx\n",
			    (unsigned long long)r->id, r->kind, r->dir,
			    r->size, r->bar, (unsigned long long)r->addr);
			e->st.bad++;
			data = ~0ULL;
		}
		if (e->verbose)
			trace(r, data);
		memset(rsp, 0, sizeof(*rsp));
		rsp->id = r->id;
		if (r->dir == XEN_PCI_IOREQ_DIR_READ)
			rsp->data = data & pci_ioreq_size_mask(r->size);
	}
	ret = complete(e, nr);
	if (ret == SERVE_OK && e->gone)
		ret = SERVE_GONE;
	return ret;
}

/*
 * The transport's fd is readable: serve what is pending. At most one
 * request per vCPU can be pending, so one batch of e->t->batch records
 * normally gets them all; ask again only when it came back full.
 */
static int serve_pending(struct emu *e)
{
	bool first = true;

	e->st.wakeups++;
	for (;;) {
		int nr = e->t->ops->recv(e->t);
		int ret;

		if (nr < 0 && errno == ENODEV) {
			e->gone = true;
			return SERVE_GONE;
		}
		if (nr < 0)
			return SERVE_ERROR;
		if (!nr) {
			if (first)
				e->st.empty++;
			return SERVE_OK;
		}
		first = false;
		e->st.reads++;
		e->st.requests += nr;
		ret = serve_batch(e, nr);
		if (ret != SERVE_OK || (unsigned int)nr < e->t->batch)
			return ret;
	}
}

/* ---- transport: the kernel's ioreq server, /dev/xen/pci-ioreq ---- */

struct kernel_transport {
	struct pci_ioreq_transport t;	/* first: the operations get it */
	struct pci_ioreq_backend be;
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

/* Closing the file would unregister too; unregistering says if it fails. */
static void kernel_close(struct pci_ioreq_transport *t, bool gone)
{
	struct kernel_transport *kt = to_kernel(t);

	if (!gone && ioctl(kt->be.fd, XEN_PCI_IOREQ_UNREGISTER, &kt->fn))
		kernel_failed("XEN_PCI_IOREQ_UNREGISTER");
	pci_ioreq_backend_close(&kt->be);
	free(kt);
}

static const struct pci_ioreq_transport_ops kernel_ops = {
	.recv = kernel_recv,
	.complete = kernel_complete,
	.add_mmio = kernel_add_mmio,
	.remove_mmio = kernel_remove_mmio,
	.set_intx = kernel_set_intx,
	.close = kernel_close,
};

/* Bind to guest @domid and register @fn; NULL after saying why not. */
static struct pci_ioreq_transport *
kernel_open(unsigned int domid, const struct xen_pci_ioreq_layout *layout,
	    const struct xen_pci_ioreq_function *fn)
{
	struct kernel_transport *kt = calloc(1, sizeof(*kt));

	if (!kt) {
		say("out of memory\n");
		return NULL;
	}
	kt->be.fd = -1;
	kt->fn = *fn;
	if (pci_ioreq_backend_open(&kt->be, domid, layout, fn)) {
		pci_ioreq_backend_close(&kt->be);
		free(kt);
		return NULL;
	}
	kt->t.ops = &kernel_ops;
	kt->t.name = "kernel";
	kt->t.fd = kt->be.fd;
	kt->t.idle_ms = -1;
	kt->t.info = kt->be.info;
	kt->t.batch = kt->be.batch;
	kt->t.req = kt->be.req;
	kt->t.rsp = kt->be.rsp;
	return &kt->t;
}

/* ---- the backend ---- */

static void print_stats(struct emu *e)
{
	const struct emu_stats *s = &e->st;
	double wakeups = s->wakeups ? s->wakeups : 1;
	double requests = s->requests ? s->requests : 1;

	/* One line, for the test bed to quote. */
	printf(PROG ": stats %04x:%02x:%02x.%x dom%u: requests %llu",
	       e->fn.segment, e->fn.bus, PCI_SLOT(e->fn.devfn),
	       PCI_FUNC(e->fn.devfn), e->t->info.domid, s->requests);
	printf(" (config %llu read %llu write, mmio %llu read %llu write)",
	       s->cfg_reads, s->cfg_writes, s->mmio_reads, s->mmio_writes);
	printf(" wakeups %llu (empty %llu) reads %llu", s->wakeups, s->empty,
	       s->reads);
	printf(" records/wakeup %.3f wakeups/request %.3f",
	       s->requests / wakeups, s->wakeups / requests);
	printf(" intx %llu maps %llu unmaps %llu bad %llu", s->intx,
	       s->maps, s->unmaps, s->bad);
	printf(" server %s", e->t->name);
	if (e->t->decodes)
		printf(" answered %llu resampled %llu", e->t->answered,
		       e->t->resampled);
	printf("\n");
	fflush(stdout);
}

/* Returns true when the loop must stop. */
static bool handle_signal(struct emu *e, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (si.ssi_signo == SIGUSR1) {
		print_stats(e);
		return false;
	}
	say("%s: stopping\n", strsignal(si.ssi_signo));
	return true;
}

static int event_loop(struct emu *e, int sfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int timeout = e->t->ops->check ? e->t->idle_ms : -1;
	int ep, ret = SERVE_ERROR;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		say("epoll_create1: %s\n", strerror(errno));
		return SERVE_ERROR;
	}
	ev.data.fd = e->t->fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, e->t->fd, &ev))
		goto fail;
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev))
		goto fail;

	for (;;) {
		struct epoll_event evs[2];
		int i, n;

		n = epoll_wait(ep, evs, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		/* Idle for a while: make sure the guest is still there. */
		if (!n && e->t->ops->check(e->t)) {
			if (errno == ENODEV) {
				e->gone = true;
				ret = SERVE_GONE;
			}
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd) {
				if (handle_signal(e, sfd)) {
					ret = SERVE_OK;
					goto out;
				}
				continue;
			}
			/*
			 * The guest is gone: POLLHUP, and the transport says
			 * ENODEV. An error on the fd means the same.
			 */
			ret = serve_pending(e);
			if (ret != SERVE_OK)
				goto out;
			if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
				e->gone = true;
				ret = SERVE_GONE;
				goto out;
			}
		}
	}
fail:
	say("epoll: %s\n", strerror(errno));
out:
	close(ep);
	return ret;
}

/*
 * Leave nothing behind: the guest may go on and rescan. The transport's
 * close() then unregisters the function or destroys the ioreq server.
 */
static void teardown(struct emu *e)
{
	unsigned int i;

	if (!e->gone) {
		e->irq_pending = false;
		update_intx(e);
	}
	for (i = 0; i < PCI_STD_NUM_BARS && !e->gone; i++) {
		struct pci_ioreq_bar *b = &e->hdr.bar[i];

		if (!b->mapped)
			continue;
		if (bar_mmio(e, false, i, b->mapped_addr))
			transport_failed(e);
		b->mapped = false;
	}
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " --domid N --slot S [options]\n"
		"Emulate a PCI test device (%04x:%04x) for Xen guest N at\n"
		"0000:BB:SS.F, through " PCI_IOREQ_DEV_PATH " or an ioreq server\n"
		"of its own.\n"
		PCI_IOREQ_TARGET_USAGE
		"  -m, --bar2-size BYTES  size of BAR 2, a power of two from 16\n"
		"                         to 1G; K, M and G suffixes (default 64K)\n"
		"  -M, --multifunction    set the multi-function bit of the header\n"
		"  -c, --crash-register   let the guest kill the backend through\n"
		"                         the crash register (tests only)\n"
		"  -S, --server OWNER     who owns the guest's ioreq server: kernel\n"
		"                         (through " PCI_IOREQ_DEV_PATH ", the\n"
		"                         default) or xen (this process, as QEMU\n"
		"                         runs one; Arm guests)\n"
		"  -v, --verbose          trace every request on stderr\n"
		"  -h, --help             this help\n",
		EMU_VENDOR_ID, EMU_DEVICE_ID);
}

int main(int argc, char **argv)
{
	static const struct option own_opts[] = {
		{ "bar2-size", required_argument, NULL, 'm' },
		{ "multifunction", no_argument, NULL, 'M' },
		{ "crash-register", no_argument, NULL, 'c' },
		{ "server", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct pci_ioreq_target tgt = PCI_IOREQ_TARGET_INIT;
	unsigned long long bar2_size = EMU_BAR2_SIZE_DEFAULT;
	bool server_xen = false;
	struct emu e = { };
	int opt, sfd, ret;

	while ((opt = pci_ioreq_getopt(argc, argv, "m:McS:vh", own_opts,
				       &tgt)) != -1) {
		switch (opt) {
		case 'm':
			if (!pci_ioreq_parse_uint(optarg, BAR2_SIZE_MAX, true,
						  &bar2_size) ||
			    bar2_size < BAR2_SIZE_MIN ||
			    (bar2_size & (bar2_size - 1)))
				pci_ioreq_bad_arg("bar2-size");
			break;
		case 'M':
			e.multifunction = true;
			break;
		case 'c':
			e.crash_enabled = true;
			break;
		case 'S':
			if (!strcmp(optarg, "kernel"))
				server_xen = false;
			else if (!strcmp(optarg, "xen"))
				server_xen = true;
			else
				pci_ioreq_bad_arg("server (want kernel or xen)");
			break;
		default:
			pci_ioreq_common_opt(opt, &e.verbose, print_usage);
			break;
		}
	}
	if (optind != argc || !pci_ioreq_target_done(&tgt)) {
		print_usage(stderr);
		return 2;
	}

	e.fn = tgt.fn;
	e.hdr.bar[0].size = EMU_BAR0_SIZE;
	e.hdr.bar[0].flags = PCI_BASE_ADDRESS_SPACE_MEMORY |
			     PCI_BASE_ADDRESS_MEM_TYPE_32;
	e.hdr.bar[2].size = bar2_size;
	e.hdr.bar[2].flags = BAR2_FLAGS;
	e.mem = mmap(NULL, bar2_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (e.mem == MAP_FAILED) {
		say("BAR 2 memory: %s\n", strerror(errno));
		return 1;
	}

	sfd = pci_ioreq_loop_signalfd();
	if (sfd < 0)
		return 1;

	if (server_xen)
		e.t = pci_ioreq_xen_open(tgt.domid, &e.fn, &tgt.layout,
					 IDLE_CHECK_MS);
	else
		e.t = kernel_open(tgt.domid, pci_ioreq_target_layout(&tgt),
				  &e.fn);
	if (!e.t) {
		ret = SERVE_ERROR;
		goto out;
	}
	/* The test bed waits for this line before it unpauses the guest. */
	printf(PROG ": serving %04x:%02x:%02x.%x of domain %u",
	       e.fn.segment, e.fn.bus, PCI_SLOT(e.fn.devfn),
	       PCI_FUNC(e.fn.devfn), e.t->info.domid);
	printf(" (%u vCPUs, %s mode, server %s): BAR0 %u bytes, BAR2 %llu bytes%s\n",
	       e.t->info.nr_vcpus,
	       e.t->info.mode == XEN_PCI_IOREQ_MODE_ECAM ? "ECAM" : "PCI",
	       e.t->name, EMU_BAR0_SIZE, bar2_size,
	       e.crash_enabled ? ", crash register armed" : "");
	fflush(stdout);

	ret = event_loop(&e, sfd);
	if (ret == SERVE_GONE)
		say("domain %u is gone\n", e.t->info.domid);
	teardown(&e);
	print_stats(&e);
	e.t->ops->close(e.t, e.gone);
out:
	close(sfd);
	munmap(e.mem, bar2_size);
	return ret == SERVE_ERROR ? 1 : 0;
}
