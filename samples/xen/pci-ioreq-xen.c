// SPDX-License-Identifier: GPL-2.0
/*
 * pci-ioreq-xen: a transport of pci-ioreq-emu that owns its guest's Xen
 * ioreq server, as a device model such as QEMU (its xenpvh machine, on
 * Arm) does, rather than sharing the kernel's through /dev/xen/pci-ioreq:
 * with the same device on both transports, the two ways can be measured
 * against each other. It uses libxendevicemodel for the server, its
 * ranges and INTx, libxenforeignmemory for the server's page and
 * libxenevtchn for the vCPUs' event channels.
 *
 * Setup, in an order that lets no access reach a vCPU nobody listens to:
 * create the server, without buffered requests (each access waits for
 * its answer); map its page of request slots (struct shared_iopage, one
 * struct ioreq per vCPU); enable it, which makes Xen fill in each vCPU's
 * event channel (vp_eport); bind those; and only then claim the windows
 * of the guest's root complex (--layout) whole, each as one MMIO range:
 * the ECAM window and the memory windows mem and pref, as the kernel's
 * server claims them. A BAR range inside a memory window is routed here,
 * with no range of its own in Xen (a BAR that the guest moves there costs
 * no hypercall); a BAR range outside both windows is an MMIO range of the
 * server, mapped and unmapped as the device adds and removes it.
 *
 * Requests: the event channel fd is readable when vCPUs have notified their
 * channels. recv() takes each pending port (the fd is non-blocking: all
 * that are pending, so that one wakeup may bring several requests),
 * unmasks it and takes the request in the vCPU's slot if the slot is
 * STATE_IOREQ_READY: the slot is read after the state that says it is
 * complete (read barrier), and marked STATE_IOREQ_INPROCESS. What the
 * device must answer becomes the struct xen_pci_ioreq_request that
 * /dev/xen/pci-ioreq would give: an ECAM access to the function (offset
 * bits 27-20 bus, 19-15 device, 14-12 function, 11-0 register) a config
 * request, an access to a BAR range an MMIO request. The transport itself
 * answers the rest as absent hardware does, reads all ones of the access's
 * size and writes dropped: ECAM accesses to other functions, misaligned or
 * of a size but 1, 2, 4 or 8; accesses to the memory windows that no BAR
 * range holds; requests of a type but IOREQ_TYPE_COPY or for more than
 * one plain access. An answer stores the data of a read, then (write
 * barrier) sets STATE_IORESP_READY and notifies the vCPU's channel. A
 * record's id holds a sequence number above the vCPU's index, so that a
 * stale or repeated response is refused.
 *
 * INTx: Xen's vGIC on Arm takes level 1 as an edge and ignores level 0.
 * As /dev/xen/pci-ioreq does, every assertion is passed on, and when a
 * guest write to the function completes while the function still asserts
 * a pin that it asserted before the write, the pin is raised again (a
 * "resample": the line is still high after the guest's acknowledgment).
 * The interrupt IDs are those the kernel driver raises.
 *
 * Xen does not tell a device model that its guest is gone (the toolstack
 * ends QEMU), but the guest's ioreq servers go when it dies; check() asks
 * for ours. Closing unmaps the BAR ranges and the windows, disables the
 * server and answers what the vCPUs still wait for (a vCPU waiting for a
 * server that Xen destroys is never woken), destroys the server, unmaps
 * the page and closes the handles. The guest's windows are then claimed by
 * nobody: its accesses there fault, where the kernel's server would answer
 * them.
 */

/* Xen's public headers keep the device model interfaces for its tools. */
#define __XEN_TOOLS__ 1

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xen-barrier.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

#include <linux/pci.h>
#include <linux/types.h>
#include <xen/pci-ioreq.h>

#include "pci-ioreq-lib.h"
#include "pci-ioreq-xen.h"

#define XEN_PAGE_SIZE		4096
#define MAX_VCPUS		(XEN_PAGE_SIZE / sizeof(struct ioreq))
#define MAX_RANGES		(PCI_STD_NUM_BARS + 1)	/* and the ROM */
#define ID_VCPU_BITS		32
#define ECAM_BUS_SHIFT		20
#define ECAM_DEVFN_SHIFT	12
#define ECAM_REG_MASK		0xfffULL

/* The windows of the layout, each claimed whole: ECAM, then mem and pref. */
#define NR_WINDOWS		3
#define WIN_ECAM		0

static const char *const window_name[NR_WINDOWS] = { "ECAM", "mem", "pref" };

/*
 * INTx as /dev/xen/pci-ioreq raises it: four level-triggered lines from the
 * layout's first, pins swizzled by slot. XEN_DMOP_set_irq_level takes the
 * GIC interrupt ID.
 */
#define INTX_NR_LINES		4

struct xen_vcpu {
	evtchn_port_t port;	/* our end of the vCPU's event channel */
	bool bound;
	bool busy;		/* its request is with the device... */
	__u64 id;		/* ...as this record */
	bool read;
	__u32 size;
	__u8 intx_before;	/* a write: the pins asserted when it came */
};

/* A BAR range that the device routes to us. */
struct xen_range {
	bool used;
	bool own;		/* outside the windows: a range in Xen */
	__u8 bar;
	__u64 addr;
	__u64 size;
};

struct xen_transport {
	struct pci_ioreq_transport t;	/* first: the operations get it */
	xendevicemodel_handle *dmod;
	xenforeignmemory_handle *fmem;
	xenevtchn_handle *xce;
	xenforeignmemory_resource_handle *fres;
	struct ioreq *slots;		/* the server's page, one per vCPU */
	domid_t domid;
	ioservid_t id;
	bool created;
	struct xen_pci_ioreq_function fn;
	struct xen_pci_ioreq_window win[NR_WINDOWS];	/* size 0: none */
	bool claimed[NR_WINDOWS];
	__u32 intx_base;
	unsigned int nr_vcpus;
	struct xen_vcpu *vcpu;
	struct xen_range range[MAX_RANGES];
	__u8 intx;			/* pins asserted: bit pin - 1 */
	__u32 seq;
};

static struct xen_transport *to_xen(struct pci_ioreq_transport *t)
{
	return (struct xen_transport *)t;
}

/* Xen says the guest or its server no longer exists: the guest is gone. */
static bool xen_gone(int err)
{
	return err == ESRCH || err == ENOENT;
}

/*
 * A libxen call failed: ENODEV when the guest is gone, else say why. Returns
 * -1 with errno set, for the transport's operations.
 */
static int xen_failed(const char *what)
{
	int err = errno;

	if (xen_gone(err))
		err = ENODEV;
	else
		say("%s: %s\n", what, strerror(err));
	errno = err;
	return -1;
}

/* Claim [@addr, @addr + @size) for the server: MMIO accesses come to us. */
static int xen_map(struct xen_transport *xt, __u64 addr, __u64 size)
{
	return xendevicemodel_map_io_range_to_ioreq_server(xt->dmod, xt->domid,
							   xt->id, 1 /* MMIO */,
							   addr,
							   addr + size - 1);
}

static int xen_unmap(struct xen_transport *xt, __u64 addr, __u64 size)
{
	if (!xendevicemodel_unmap_io_range_from_ioreq_server(xt->dmod,
							     xt->domid, xt->id,
							     1 /* MMIO */, addr,
							     addr + size - 1))
		return 0;
	return xen_failed("unmap_io_range_from_ioreq_server");
}

/* Whether [@addr, @addr + @size) lies inside window @w. */
static bool xen_inside(__u64 addr, __u64 size,
		       const struct xen_pci_ioreq_window *w)
{
	return addr >= w->base && addr - w->base < w->size &&
	       size <= w->size - (addr - w->base);
}

/* Whether [@addr, @addr + @size) and window @w share a byte. */
static bool xen_overlaps(__u64 addr, __u64 size,
			 const struct xen_pci_ioreq_window *w)
{
	return size && w->size && addr <= w->base + (w->size - 1) &&
	       w->base <= addr + (size - 1);
}

/* Where a BAR range lies. */
enum xen_bar_place {
	BAR_IN_WINDOW,	/* in a memory window, whose claim routes it to us */
	BAR_OUTSIDE,	/* outside all windows: a range of its own in Xen */
	BAR_NOWHERE,	/* in the ECAM window or across a window's edge */
};

static enum xen_bar_place xen_bar_place(struct xen_transport *xt,
					__u64 addr, __u64 size)
{
	unsigned int i;

	for (i = 0; i < NR_WINDOWS; i++) {
		if (i != WIN_ECAM && xen_inside(addr, size, &xt->win[i]))
			return BAR_IN_WINDOW;
		if (xen_overlaps(addr, size, &xt->win[i]))
			return BAR_NOWHERE;
	}
	return BAR_OUTSIDE;
}

/* Set the level of INTx pin @pin of the function. */
static int xen_irq(struct xen_transport *xt, unsigned int pin,
		   unsigned int level)
{
	unsigned int slot = PCI_SLOT(xt->fn.devfn);

	return xendevicemodel_set_irq_level(xt->dmod, xt->domid,
					    xt->intx_base +
					    (slot + pin - 1) % INTX_NR_LINES,
					    level);
}

/* Hand vCPU @vi its answer: the data of a read, then the state. */
static int xen_answer(struct xen_transport *xt, unsigned int vi, bool read,
		      __u32 size, __u64 data)
{
	struct ioreq *slot = &xt->slots[vi];

	if (read)
		slot->data = data & pci_ioreq_size_mask(size);
	/* Xen reads the data once it sees the state. */
	xen_wmb();
	slot->state = STATE_IORESP_READY;
	if (xenevtchn_notify(xt->xce, xt->vcpu[vi].port))
		return xen_failed("xenevtchn_notify");
	return 0;
}

/*
 * Answer an access that reaches no function, as a master abort: a read gets
 * all ones of its size, a write is dropped.
 */
static int xen_answer_absent(struct xen_transport *xt, unsigned int vi,
			     const struct ioreq *req)
{
	xt->t.answered++;
	/* A read of data_is_ptr would go to guest memory: leave it. */
	return xen_answer(xt, vi, req->dir == IOREQ_READ && !req->data_is_ptr,
			  req->size, ~0ULL);
}

static const struct xen_range *xen_range_find(struct xen_transport *xt,
					      __u64 addr, __u32 size)
{
	unsigned int i;

	for (i = 0; i < MAX_RANGES; i++) {
		const struct xen_range *r = &xt->range[i];

		if (r->used && addr >= r->addr && addr - r->addr < r->size &&
		    size <= r->size - (addr - r->addr))
			return r;
	}
	return NULL;
}

/*
 * Turn the request of vCPU @vi into @rec for the device, or answer it here:
 * returns 1 for a record, 0 for an access answered, -1 on an error.
 */
static int xen_take(struct xen_transport *xt, unsigned int vi,
		    const struct ioreq *req, struct xen_pci_ioreq_request *rec)
{
	const struct xen_pci_ioreq_window *ecam = &xt->win[WIN_ECAM];
	struct xen_vcpu *v = &xt->vcpu[vi];
	bool read = req->dir == IOREQ_READ;
	__u8 kind, bar = XEN_PCI_IOREQ_BAR_NONE;
	__u64 addr = req->addr;

	if (req->type != IOREQ_TYPE_COPY || req->data_is_ptr ||
	    req->count != 1 || !pci_ioreq_valid_size(req->size))
		return xen_answer_absent(xt, vi, req);

	if (xen_inside(addr, 1, ecam)) {
		__u64 off = addr - ecam->base;

		if ((off & (req->size - 1)) || req->size > ecam->size - off ||
		    (off >> ECAM_BUS_SHIFT & 0xff) != xt->fn.bus ||
		    (off >> ECAM_DEVFN_SHIFT & 0xff) != xt->fn.devfn)
			return xen_answer_absent(xt, vi, req);
		kind = XEN_PCI_IOREQ_KIND_CONFIG;
		addr = off & ECAM_REG_MASK;
	} else {
		/* The memory windows: a BAR's range, or nothing there. */
		const struct xen_range *r = xen_range_find(xt, addr, req->size);

		if (!r)
			return xen_answer_absent(xt, vi, req);
		kind = XEN_PCI_IOREQ_KIND_MMIO;
		bar = r->bar;
	}

	memset(rec, 0, sizeof(*rec));
	xt->seq++;
	rec->id = (__u64)xt->seq << ID_VCPU_BITS | vi;
	rec->fn = xt->fn;
	rec->vcpu = vi;
	rec->kind = kind;
	rec->dir = read ? XEN_PCI_IOREQ_DIR_READ : XEN_PCI_IOREQ_DIR_WRITE;
	rec->size = req->size;
	rec->bar = bar;
	rec->addr = addr;
	rec->data = read ? 0 : req->data & pci_ioreq_size_mask(req->size);

	v->busy = true;
	v->id = rec->id;
	v->read = read;
	v->size = req->size;
	v->intx_before = read ? 0 : xt->intx;
	return 1;
}

/* Take the request in the slot of vCPU @vi, if it has one; as xen_take(). */
static int xen_take_slot(struct xen_transport *xt, unsigned int vi,
			 struct xen_pci_ioreq_request *rec)
{
	struct ioreq *slot = &xt->slots[vi];
	struct ioreq req;

	if (xt->vcpu[vi].busy || slot->state != STATE_IOREQ_READY)
		return 0;
	/* The request, after the state that says it is complete. */
	xen_rmb();
	req = *slot;
	slot->state = STATE_IOREQ_INPROCESS;
	return xen_take(xt, vi, &req, rec);
}

static int xen_vcpu_of_port(struct xen_transport *xt, evtchn_port_t port)
{
	unsigned int i;

	for (i = 0; i < xt->nr_vcpus; i++)
		if (xt->vcpu[i].bound && xt->vcpu[i].port == port)
			return i;
	return -1;
}

/*
 * Take the requests of the vCPUs that notified us. An event channel that
 * fails can no longer bring the guest's requests: the guest counts as gone.
 */
static int xen_recv(struct pci_ioreq_transport *t)
{
	struct xen_transport *xt = to_xen(t);
	unsigned int nr = 0;

	while (nr < t->batch) {
		xenevtchn_port_or_error_t port = xenevtchn_pending(xt->xce);
		int vi, ret;

		if (port < 0 && errno == EINTR)
			continue;
		if (port < 0 && errno == EAGAIN)
			break;
		if (port < 0 || xenevtchn_unmask(xt->xce, port)) {
			say("event channel: %s: taking the guest for gone\n",
			    strerror(errno));
			errno = ENODEV;
			return -1;
		}
		vi = xen_vcpu_of_port(xt, port);
		if (vi < 0)
			continue;
		ret = xen_take_slot(xt, vi, &t->req[nr]);
		if (ret < 0)
			return ret;
		nr += ret;
	}
	return nr;
}

/* Raise the pins in @pins again, for the guest to see them still high. */
static void xen_resample(struct xen_transport *xt, __u8 pins)
{
	unsigned int pin;

	for (pin = 1; pin <= 4; pin++) {
		if (!(pins & 1U << (pin - 1)))
			continue;
		if (!xen_irq(xt, pin, 1))
			xt->t.resampled++;
	}
}

static int xen_complete(struct pci_ioreq_transport *t,
			const struct xen_pci_ioreq_response *rsp,
			unsigned int nr)
{
	struct xen_transport *xt = to_xen(t);
	unsigned int i;

	for (i = 0; i < nr; i++) {
		const struct xen_pci_ioreq_response *r = &rsp[i];
		__u64 vi = r->id & ((1ULL << ID_VCPU_BITS) - 1);
		struct xen_vcpu *v = vi < xt->nr_vcpus ? &xt->vcpu[vi] : NULL;

		if (r->flags || r->reserved || !v || !v->busy ||
		    v->id != r->id) {
			if (i)
				return i;
			errno = EINVAL;
			return -1;
		}
		v->busy = false;
		if (xen_answer(xt, vi, v->read, v->size, r->data))
			return -1;
		/* Pins asserted before this write and still. */
		if (!v->read && (v->intx_before & xt->intx))
			xen_resample(xt, v->intx_before & xt->intx);
	}
	return nr;
}

static bool xen_own_fn(struct xen_transport *xt,
		       const struct xen_pci_ioreq_function *fn)
{
	if (!memcmp(fn, &xt->fn, sizeof(*fn)))
		return true;
	say("%04x:%02x:%02x.%x is not the function served\n", fn->segment,
	    fn->bus, PCI_SLOT(fn->devfn), PCI_FUNC(fn->devfn));
	errno = EINVAL;
	return false;
}

static int xen_add_mmio(struct pci_ioreq_transport *t,
			const struct xen_pci_ioreq_mmio *mmio)
{
	struct xen_transport *xt = to_xen(t);
	struct xen_range *r = NULL;
	enum xen_bar_place place;
	unsigned int i;
	int err;

	if (!xen_own_fn(xt, &mmio->fn))
		return -1;
	for (i = 0; i < MAX_RANGES && !r; i++)
		if (!xt->range[i].used)
			r = &xt->range[i];
	place = xen_bar_place(xt, mmio->addr, mmio->size);
	if (!r || !mmio->size || mmio->addr > ~0ULL - (mmio->size - 1) ||
	    place == BAR_NOWHERE) {
		say("BAR %u at %#llx, %#llx bytes: %s\n", mmio->bar,
		    (unsigned long long)mmio->addr,
		    (unsigned long long)mmio->size,
		    !r ? "too many ranges" : place == BAR_NOWHERE ?
		    "in the ECAM window or across a window's edge" :
		    "not a range");
		errno = r ? EINVAL : ENOSPC;
		return -1;
	}
	/* Inside a memory window, routing it is ours alone. */
	if (place == BAR_OUTSIDE && xen_map(xt, mmio->addr, mmio->size)) {
		err = errno;
		if (!xen_gone(err))
			say("BAR %u at %#llx: map_io_range_to_ioreq_server: %s\n",
			    mmio->bar, (unsigned long long)mmio->addr,
			    strerror(err));
		errno = xen_gone(err) ? ENODEV : err;
		return -1;
	}
	r->used = true;
	r->own = place == BAR_OUTSIDE;
	r->bar = mmio->bar;
	r->addr = mmio->addr;
	r->size = mmio->size;
	return 0;
}

static int xen_remove_mmio(struct pci_ioreq_transport *t,
			   const struct xen_pci_ioreq_mmio *mmio)
{
	struct xen_transport *xt = to_xen(t);
	struct xen_range *r = NULL;
	unsigned int i;

	if (!xen_own_fn(xt, &mmio->fn))
		return -1;
	for (i = 0; i < MAX_RANGES && !r; i++)
		if (xt->range[i].used && xt->range[i].bar == mmio->bar &&
		    xt->range[i].addr == mmio->addr &&
		    xt->range[i].size == mmio->size)
			r = &xt->range[i];
	if (!r) {
		say("BAR %u at %#llx: no such range\n", mmio->bar,
		    (unsigned long long)mmio->addr);
		errno = EINVAL;
		return -1;
	}
	/* Its accesses are answered here from now on, whatever Xen says. */
	r->used = false;
	return r->own ? xen_unmap(xt, r->addr, r->size) : 0;
}

/*
 * Level 1 is passed on every time (Xen takes it as an edge); level 0 once,
 * when the pin was asserted (Xen ignores it on Arm, but keeps no state).
 */
static int xen_set_intx(struct pci_ioreq_transport *t,
			const struct xen_pci_ioreq_intx *intx)
{
	struct xen_transport *xt = to_xen(t);
	__u8 bit;

	if (!xen_own_fn(xt, &intx->fn))
		return -1;
	if (intx->pin < 1 || intx->pin > 4 || intx->level > 1) {
		say("INTx pin %u level %u: no such pin or level\n", intx->pin,
		    intx->level);
		errno = EINVAL;
		return -1;
	}
	bit = 1U << (intx->pin - 1);
	if (!intx->level && !(xt->intx & bit))
		return 0;
	if (xen_irq(xt, intx->pin, intx->level))
		return xen_failed("set_irq_level");
	if (intx->level)
		xt->intx |= bit;
	else
		xt->intx &= ~bit;
	return 0;
}

/* Our server is still there, and so is the guest. */
static int xen_check(struct pci_ioreq_transport *t)
{
	struct xen_transport *xt = to_xen(t);

	if (xendevicemodel_get_ioreq_server_info(xt->dmod, xt->domid, xt->id,
						 NULL, NULL, NULL))
		return xen_failed("get_ioreq_server_info");
	return 0;
}

/*
 * Nothing reaches the server once it is disabled: answer what the vCPUs
 * still wait for, requests the device never answered included, as absent.
 */
static void xen_answer_all(struct xen_transport *xt)
{
	struct xen_pci_ioreq_request rec;
	unsigned int i;

	for (i = 0; i < xt->nr_vcpus; i++) {
		struct xen_vcpu *v = &xt->vcpu[i];

		if (!v->bound)
			continue;
		if (!v->busy && xen_take_slot(xt, i, &rec) <= 0)
			continue;
		v->busy = false;
		xt->t.answered++;
		xen_answer(xt, i, v->read, v->size, ~0ULL);
	}
}

/* Undo what setup did, whatever it got to; @gone: skip what would fail. */
static void xen_close(struct pci_ioreq_transport *t, bool gone)
{
	struct xen_transport *xt = to_xen(t);
	unsigned int i, pin;

	if (xt->created && !gone) {
		for (i = 0; i < MAX_RANGES; i++) {
			if (xt->range[i].used && xt->range[i].own)
				xen_unmap(xt, xt->range[i].addr,
					  xt->range[i].size);
			xt->range[i].used = false;
		}
		for (i = 0; i < NR_WINDOWS; i++)
			if (xt->claimed[i])
				xen_unmap(xt, xt->win[i].base, xt->win[i].size);
		for (pin = 1; pin <= 4; pin++)
			if (xt->intx & 1U << (pin - 1))
				xen_irq(xt, pin, 0);
		if (xendevicemodel_set_ioreq_server_state(xt->dmod, xt->domid,
							  xt->id, 0))
			xen_failed("set_ioreq_server_state");
		if (xt->slots)
			xen_answer_all(xt);
	}
	if (xt->created &&
	    xendevicemodel_destroy_ioreq_server(xt->dmod, xt->domid, xt->id) &&
	    !gone)
		xen_failed("destroy_ioreq_server");
	for (i = 0; xt->vcpu && i < xt->nr_vcpus; i++)
		if (xt->vcpu[i].bound)
			xenevtchn_unbind(xt->xce, xt->vcpu[i].port);
	if (xt->fres)
		xenforeignmemory_unmap_resource(xt->fmem, xt->fres);
	if (xt->xce)
		xenevtchn_close(xt->xce);
	if (xt->fmem)
		xenforeignmemory_close(xt->fmem);
	if (xt->dmod)
		xendevicemodel_close(xt->dmod);
	free(xt->vcpu);
	free(t->req);
	free(t->rsp);
	free(xt);
}

static const struct pci_ioreq_transport_ops xen_ops = {
	.recv = xen_recv,
	.complete = xen_complete,
	.add_mmio = xen_add_mmio,
	.remove_mmio = xen_remove_mmio,
	.set_intx = xen_set_intx,
	.check = xen_check,
	.close = xen_close,
};

/* Open the libraries' handles, learn the guest's vCPUs, make the buffers. */
static int xen_open_handles(struct xen_transport *xt)
{
	xt->dmod = xendevicemodel_open(NULL, 0);
	if (!xt->dmod) {
		say("xendevicemodel_open: %s\n", strerror(errno));
		return -1;
	}
	xt->fmem = xenforeignmemory_open(NULL, 0);
	if (!xt->fmem) {
		say("xenforeignmemory_open: %s\n", strerror(errno));
		return -1;
	}
	xt->xce = xenevtchn_open(NULL, 0);
	if (!xt->xce) {
		say("xenevtchn_open: %s\n", strerror(errno));
		return -1;
	}
	if (xendevicemodel_nr_vcpus(xt->dmod, xt->domid, &xt->nr_vcpus)) {
		say("domain %u: %s\n", xt->domid, errno == ESRCH ?
		    "no such domain" : strerror(errno));
		return -1;
	}
	if (!xt->nr_vcpus || xt->nr_vcpus > MAX_VCPUS ||
	    xt->nr_vcpus > PCI_IOREQ_MAX_BATCH) {
		say("domain %u has %u vCPUs: not served\n", xt->domid,
		    xt->nr_vcpus);
		return -1;
	}
	xt->vcpu = calloc(xt->nr_vcpus, sizeof(*xt->vcpu));
	xt->t.req = calloc(xt->nr_vcpus, sizeof(*xt->t.req));
	xt->t.rsp = calloc(xt->nr_vcpus, sizeof(*xt->t.rsp));
	if (!xt->vcpu || !xt->t.req || !xt->t.rsp) {
		say("out of memory\n");
		return -1;
	}
	return 0;
}

/* The server, in the order that the file's comment explains. */
static int xen_setup_server(struct xen_transport *xt)
{
	void *page = NULL;
	unsigned int i;
	int fd, fl;

	if (xendevicemodel_create_ioreq_server(xt->dmod, xt->domid,
					       HVM_IOREQSRV_BUFIOREQ_OFF,
					       &xt->id)) {
		say("create_ioreq_server: %s\n", strerror(errno));
		return -1;
	}
	xt->created = true;
	xt->fres = xenforeignmemory_map_resource(xt->fmem, xt->domid,
						 XENMEM_resource_ioreq_server,
						 xt->id,
						 XENMEM_resource_ioreq_server_frame_ioreq(0),
						 1, &page,
						 PROT_READ | PROT_WRITE, 0);
	if (!xt->fres) {
		say("mapping the ioreq server's page: %s\n", strerror(errno));
		return -1;
	}
	xt->slots = ((struct shared_iopage *)page)->vcpu_ioreq;
	if (xendevicemodel_set_ioreq_server_state(xt->dmod, xt->domid, xt->id,
						  1)) {
		say("set_ioreq_server_state: %s\n", strerror(errno));
		return -1;
	}
	for (i = 0; i < xt->nr_vcpus; i++) {
		xenevtchn_port_or_error_t port;

		port = xenevtchn_bind_interdomain(xt->xce, xt->domid,
						  xt->slots[i].vp_eport);
		if (port < 0) {
			say("binding the event channel of vCPU %u: %s\n", i,
			    strerror(errno));
			return -1;
		}
		xt->vcpu[i].port = port;
		xt->vcpu[i].bound = true;
	}
	/* Take every pending port per wakeup, and stop when none is. */
	fd = xenevtchn_fd(xt->xce);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK)) {
		say("event channel fd: %s\n", strerror(errno));
		return -1;
	}
	xt->t.fd = fd;
	for (i = 0; i < NR_WINDOWS; i++) {
		const struct xen_pci_ioreq_window *w = &xt->win[i];

		if (!w->size)
			continue;
		if (xen_map(xt, w->base, w->size)) {
			say("claiming the %s window %#llx-%#llx: %s\n",
			    window_name[i], (unsigned long long)w->base,
			    (unsigned long long)(w->base + w->size - 1),
			    strerror(errno));
			return -1;
		}
		xt->claimed[i] = true;
	}
	return 0;
}

struct pci_ioreq_transport *
pci_ioreq_xen_open(unsigned int domid, const struct xen_pci_ioreq_function *fn,
		   const struct xen_pci_ioreq_layout *layout, int idle_ms)
{
	const struct xen_pci_ioreq_window *ecam = &layout->ecam;
	struct xen_transport *xt = calloc(1, sizeof(*xt));
	unsigned int i, j;

	if (!xt) {
		say("out of memory\n");
		return NULL;
	}
	xt->domid = domid;
	xt->fn = *fn;
	xt->win[WIN_ECAM] = *ecam;
	xt->win[1] = layout->mem[0];
	xt->win[2] = layout->mem[1];
	xt->intx_base = layout->intx_base;
	xt->t.ops = &xen_ops;
	xt->t.name = "xen";
	xt->t.fd = -1;
	xt->t.idle_ms = idle_ms;
	xt->t.decodes = true;

	if (!ecam->size || ecam->size > 256ULL << ECAM_BUS_SHIFT ||
	    (ecam->base | ecam->size) & ((1ULL << ECAM_BUS_SHIFT) - 1) ||
	    ecam->base + ecam->size - 1 < ecam->base) {
		say("the ECAM window must be 1 to 256 whole buses of 1M, on a bus boundary\n");
		goto fail;
	}
	for (i = 1; i < NR_WINDOWS; i++) {
		const struct xen_pci_ioreq_window *w = &xt->win[i];
		bool bad = w->size && w->base + (w->size - 1) < w->base;

		for (j = 0; j < i; j++)
			bad |= xen_overlaps(w->base, w->size, &xt->win[j]);
		if (bad) {
			say("the %s window wraps or overlaps another\n",
			    window_name[i]);
			goto fail;
		}
	}
	if (fn->segment || fn->bus >= ecam->size >> ECAM_BUS_SHIFT) {
		say("%04x:%02x:%02x.%x is not in the ECAM window\n",
		    fn->segment, fn->bus, PCI_SLOT(fn->devfn),
		    PCI_FUNC(fn->devfn));
		goto fail;
	}
	if (xen_open_handles(xt) || xen_setup_server(xt))
		goto fail;

	xt->t.info.domid = domid;
	xt->t.info.nr_vcpus = xt->nr_vcpus;
	xt->t.info.mode = XEN_PCI_IOREQ_MODE_ECAM;
	xt->t.info.layout = *layout;
	xt->t.batch = xt->nr_vcpus;
	return &xt->t;

fail:
	/* Nothing reached the server before its windows were claimed. */
	xen_close(&xt->t, false);
	return NULL;
}
