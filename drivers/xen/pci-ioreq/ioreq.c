// SPDX-License-Identifier: GPL-2.0
/*
 * The request path: the event channel handler takes each vCPU's access
 * from the shared ioreq page, decodes it to a function and register or to
 * a BAR range, and answers it itself (an absent function, a write an
 * ioeventfd takes) or queues it to the backend that registered the
 * function; dev.c hands queued requests to read() and their write()
 * completions to xpi_complete(). The requests of a backend that goes away
 * are aborted here for fn.c and dev.c, and those of a dead guest for
 * guest.c. This file defines the tracepoints (trace.h).
 *
 * Xen's invalidate requests (IOREQ_TYPE_INVALIDATE: the guest gave memory
 * back, and Xen freed its p2m entries) go to every file bound with
 * XEN_PCI_IOREQ_BIND_INVALIDATE, whatever functions it registered, as one
 * record per file that stands for all invalidates before it was read; the
 * vCPU waits until each of those files has completed the record of its
 * invalidate (a backend that kept guest memory mapped has dropped it), as
 * Xen's own vCPU waits for a device model's response. With no such file,
 * the kernel answers at once.
 *
 * Locking: everything here runs under the guest's lock (taken by the
 * handler and by xpi_complete(), held by the callers of xpi_abort(),
 * xpi_abort_one() and xpi_process()), never sleeps, and takes no other
 * lock, except that xpi_complete() resamples INTx after dropping it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>
#include <linux/poll.h>
#include <linux/wait.h>

#include <xen/events.h>

#include <linux/nospec.h>

#include "xpi.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

/* Hand the vCPU its response: the access is done. */
static void xpi_respond(struct xpi_guest *g, struct xpi_vcpu *v)
{
	struct ioreq *slot = &g->iopage->vcpu_ioreq[v->id];

	lockdep_assert_held(&g->lock);
	/* Xen reads the data of a read once it sees the state. */
	virt_wmb();
	slot->state = STATE_IORESP_READY;
	notify_remote_via_irq(v->irq);
}

/* Hand the vCPU the data of its read, masked to the access size. */
static void xpi_respond_read(struct xpi_guest *g, struct xpi_vcpu *v,
			     u32 size, u64 data)
{
	g->iopage->vcpu_ioreq[v->id].data = data & xpi_size_mask(size);
	xpi_respond(g, v);
}

/* Complete the backend request of @v in the kernel: reads all ones. */
void xpi_abort_one(struct xpi_guest *g, struct xpi_vcpu *v)
{
	bool read = v->rec.dir == XEN_PCI_IOREQ_DIR_READ;

	lockdep_assert_held(&g->lock);
	if (v->state == XPI_REQ_QUEUED)
		list_del_init(&v->node);
	/* A vCPU waiting for an invalidate is on no file's queue. */
	if (!g->dead) {
		if (read)
			xpi_respond_read(g, v, v->rec.size, ~0ULL);
		else
			xpi_respond(g, v);
		g->stats.aborted++;
		trace_xen_pci_ioreq_complete(g->domid, v->id, v->rec.id,
					     read ? xpi_size_mask(v->rec.size) : 0,
					     true);
	}
	v->state = XPI_REQ_IDLE;
	v->file = NULL;
	v->fn = NULL;
}

/* Abort the requests that went to @f, only those for @fn if not NULL. */
void xpi_abort(struct xpi_guest *g, struct xpi_file *f,
	       struct xpi_fn *fn)
{
	unsigned int i;

	lockdep_assert_held(&g->lock);
	for (i = 0; i < g->nr_vcpus; i++) {
		struct xpi_vcpu *v = &g->vcpus[i];

		if (v->state != XPI_REQ_IDLE && v->file == f &&
		    (!fn || v->fn == fn))
			xpi_abort_one(g, v);
	}
}

/**
 * struct xpi_target - what a guest access reaches
 * @kind: %XEN_PCI_IOREQ_KIND_CONFIG or %XEN_PCI_IOREQ_KIND_MMIO, or 0 for
 *	neither (port I/O, Xen's own requests)
 * @bar: the BAR of the range hit, or %XEN_PCI_IOREQ_BAR_NONE
 * @addr: what the backend sees: register offset or guest physical address
 * @fn: the registered function it reaches, or NULL
 */
struct xpi_target {
	u8 kind;
	u8 bar;
	u64 addr;
	struct xpi_fn *fn;
};

/* Which function and register, or which BAR, a guest access reaches. */
static void xpi_decode(struct xpi_guest *g, const struct ioreq *req,
		       struct xpi_target *t)
{
	struct xpi_cfg_access cfg;
	int i;

	*t = (struct xpi_target) {
		.bar = XEN_PCI_IOREQ_BAR_NONE,
		.addr = req->addr,
	};
	if (req->type == IOREQ_TYPE_COPY && xpi_ecam_mode()) {
		switch (xpi_ecam_decode(g->layout.ecam.base,
					g->layout.ecam.size, req->addr,
					req->size, &cfg)) {
		case XPI_DECODE_OK:
			t->fn = xpi_fn_lookup(g, cfg.sbdf);
			t->addr = cfg.reg;
			fallthrough;
		case XPI_DECODE_INVALID:
			t->kind = XEN_PCI_IOREQ_KIND_CONFIG;
			return;
		case XPI_DECODE_OUTSIDE:
			break;
		}
	} else if (req->type == IOREQ_TYPE_PCI_CONFIG && !xpi_ecam_mode()) {
		t->kind = XEN_PCI_IOREQ_KIND_CONFIG;
		if (xpi_pci_config_decode(req->addr, req->size, &cfg)) {
			t->fn = xpi_fn_lookup(g, cfg.sbdf);
			t->addr = cfg.reg;
		}
		return;
	}
	if (req->type != IOREQ_TYPE_COPY)
		return;
	t->kind = XEN_PCI_IOREQ_KIND_MMIO;
	i = xpi_range_find(g->ranges, g->nr_ranges, req->addr, req->size);
	if (i >= 0) {
		t->fn = g->ranges[i].fn;
		t->bar = g->ranges[i].bar;
	}
}

/*
 * Nobody is there, or the access is not one a function can take: answer as
 * a master abort. A plain read gets all ones; anything else completes with
 * no data.
 */
static void xpi_master_abort(struct xpi_guest *g, struct xpi_vcpu *v,
			     const struct ioreq *req, u8 kind, bool plain)
{
	bool read = req->dir == IOREQ_READ;

	g->stats.in_kernel++;
	trace_xen_pci_ioreq_dispatch(g->domid, v->id, XPI_NO_SBDF, kind, read,
				     req->size, req->addr, req->data, 0);
	if (plain && read)
		xpi_respond_read(g, v, req->size, ~0ULL);
	else
		xpi_respond(g, v);
	trace_xen_pci_ioreq_complete(g->domid, v->id, 0,
				     plain && read ?
				     xpi_size_mask(req->size) : 0, false);
}

/* Queue the access to the backend of its function, and wake it. */
static void xpi_queue(struct xpi_guest *g, struct xpi_vcpu *v,
		      const struct ioreq *req, const struct xpi_target *t)
{
	struct xen_pci_ioreq_request *rec = &v->rec;
	bool read = req->dir == IOREQ_READ;
	struct xpi_fn *fn = t->fn;

	*rec = (struct xen_pci_ioreq_request) {
		.id = ++g->seq << XPI_ID_VCPU_BITS | v->id,
		.fn.segment = xpi_sbdf_segment(fn->sbdf),
		.fn.bus = xpi_sbdf_bus(fn->sbdf),
		.fn.devfn = xpi_sbdf_devfn(fn->sbdf),
		.vcpu = v->id,
		.kind = t->kind,
		.dir = read ? XEN_PCI_IOREQ_DIR_READ : XEN_PCI_IOREQ_DIR_WRITE,
		.size = req->size,
		.bar = t->bar,
		.addr = t->addr,
		.data = read ? 0 : req->data & xpi_size_mask(req->size),
	};
	v->state = XPI_REQ_QUEUED;
	v->file = fn->file;
	v->fn = fn;
	v->intx_before = read ? 0 : READ_ONCE(fn->intx_asserted);
	list_add_tail(&v->node, &fn->file->queue);
	g->stats.routed++;
	trace_xen_pci_ioreq_dispatch(g->domid, v->id, fn->sbdf, t->kind, read,
				     req->size, t->addr, rec->data, rec->id);
	wake_up_interruptible_poll(&fn->file->wq, EPOLLIN | EPOLLRDNORM);
}

/* Whether file @f has an invalidate record to read. */
bool xpi_inval_pending(struct xpi_file *f)
{
	return READ_ONCE(f->inval_sent) != READ_ONCE(f->inval_want);
}

/* The invalidate record of @f, now read. Under the guest's lock. */
void xpi_inval_record(struct xpi_file *f, struct xen_pci_ioreq_request *rec)
{
	lockdep_assert_held(&f->guest->lock);
	*rec = (struct xen_pci_ioreq_request) {
		.id = f->inval_want << XPI_ID_VCPU_BITS | XPI_ID_INVALIDATE,
		.vcpu = f->inval_vcpu,
		.kind = XEN_PCI_IOREQ_KIND_INVALIDATE,
		.dir = XEN_PCI_IOREQ_DIR_WRITE,
		.bar = XEN_PCI_IOREQ_BAR_NONE,
	};
	WRITE_ONCE(f->inval_sent, f->inval_want);
	f->guest->stats.delivered++;
}

/*
 * Let the vCPUs go whose invalidate every file bound for invalidates has
 * completed (or that no such file is left to complete).
 */
void xpi_inval_check(struct xpi_guest *g)
{
	u64 done = g->inval_seq;
	struct xpi_file *f;
	unsigned int i;

	lockdep_assert_held(&g->lock);
	if (g->dead)
		return;
	list_for_each_entry(f, &g->files, node)
		if (f->invalidate)
			done = min(done, f->inval_done);
	for (i = 0; i < g->nr_vcpus; i++) {
		struct xpi_vcpu *v = &g->vcpus[i];

		if (v->state != XPI_REQ_INVALIDATE || v->inval > done)
			continue;
		xpi_respond(g, v);
		trace_xen_pci_ioreq_complete(g->domid, v->id, v->rec.id, 0,
					     false);
		v->state = XPI_REQ_IDLE;
	}
}

/*
 * Xen asks to drop mappings of guest memory: tell every file bound for it,
 * and have the vCPU wait for them.
 */
static void xpi_invalidate(struct xpi_guest *g, struct xpi_vcpu *v)
{
	struct xpi_file *f;
	bool wait = false;

	g->stats.invalidate++;
	v->inval = ++g->inval_seq;
	list_for_each_entry(f, &g->files, node) {
		if (!f->invalidate)
			continue;
		WRITE_ONCE(f->inval_want, v->inval);
		f->inval_vcpu = v->id;
		wait = true;
		wake_up_interruptible_poll(&f->wq, EPOLLIN | EPOLLRDNORM);
	}
	v->rec = (struct xen_pci_ioreq_request) {
		.id = v->inval << XPI_ID_VCPU_BITS | XPI_ID_INVALIDATE,
		.vcpu = v->id,
		.kind = XEN_PCI_IOREQ_KIND_INVALIDATE,
		.dir = XEN_PCI_IOREQ_DIR_WRITE,
		.bar = XEN_PCI_IOREQ_BAR_NONE,
	};
	trace_xen_pci_ioreq_dispatch(g->domid, v->id, XPI_NO_SBDF,
				     XEN_PCI_IOREQ_KIND_INVALIDATE, false, 0,
				     0, 0, wait ? v->rec.id : 0);
	if (wait) {
		v->state = XPI_REQ_INVALIDATE;
		return;
	}
	g->stats.in_kernel++;
	xpi_respond(g, v);
	trace_xen_pci_ioreq_complete(g->domid, v->id, 0, 0, false);
}

/* Decode a guest access and answer it, or queue it to its backend. */
static void xpi_dispatch(struct xpi_guest *g, struct xpi_vcpu *v,
			 const struct ioreq *req)
{
	bool plain = !req->data_is_ptr && req->count == 1 &&
		     xpi_size_valid(req->size);
	struct xpi_target t;

	if (req->type == IOREQ_TYPE_INVALIDATE) {
		xpi_invalidate(g, v);
		return;
	}
	xpi_decode(g, req, &t);
	if (t.kind == XEN_PCI_IOREQ_KIND_CONFIG)
		g->stats.config++;
	else if (t.kind == XEN_PCI_IOREQ_KIND_MMIO)
		g->stats.mmio++;
	else
		g->stats.other++;

	if (!t.fn || !plain) {
		xpi_master_abort(g, v, req, t.kind, plain);
	} else if (t.kind == XEN_PCI_IOREQ_KIND_MMIO &&
		   req->dir == IOREQ_WRITE && xpi_ioeventfd_signal(t.fn, req)) {
		g->stats.ioeventfd++;
		trace_xen_pci_ioreq_dispatch(g->domid, v->id, t.fn->sbdf,
					     t.kind, false, req->size,
					     req->addr,
					     req->data & xpi_size_mask(req->size),
					     0);
		xpi_respond(g, v);
		trace_xen_pci_ioreq_complete(g->domid, v->id, 0, 0, false);
	} else {
		xpi_queue(g, v, req, &t);
	}
}

/* Take a new request from the vCPU's slot, if there is one. */
bool xpi_process(struct xpi_guest *g, struct xpi_vcpu *v)
{
	struct ioreq *slot;
	struct ioreq req;

	lockdep_assert_held(&g->lock);
	if (g->dead || v->state != XPI_REQ_IDLE)
		return false;
	slot = &g->iopage->vcpu_ioreq[v->id];
	if (slot->state != STATE_IOREQ_READY)
		return false;
	/* The request, after the state that says it is complete. */
	virt_rmb();
	req = *slot;
	slot->state = STATE_IOREQ_INPROCESS;
	xpi_dispatch(g, v, &req);
	return true;
}

irqreturn_t xpi_interrupt(int irq, void *dev_id)
{
	struct xpi_vcpu *v = dev_id;
	struct xpi_guest *g = v->guest;
	bool handled;

	spin_lock(&g->lock);
	handled = xpi_process(g, v);
	spin_unlock(&g->lock);
	xen_irq_lateeoi(irq, handled ? 0 : XEN_EOI_FLAG_SPURIOUS);
	return IRQ_HANDLED;
}

int xpi_complete(struct xpi_guest *g, struct xpi_file *f,
		 const struct xen_pci_ioreq_response *r)
{
	u64 vid = r->id & XPI_ID_VCPU_MASK;
	struct xpi_vcpu *v;
	u8 asserted = 0;
	bool read;
	u32 sbdf = 0;
	int ret = 0;

	if (r->flags || r->reserved)
		return -EINVAL;
	spin_lock_irq(&g->lock);
	if (g->dead) {
		ret = -ENODEV;
		goto out;
	}
	if (vid == XPI_ID_INVALIDATE) {
		/* The last record read, not completed yet. */
		if (!f->invalidate ||
		    r->id >> XPI_ID_VCPU_BITS != f->inval_sent ||
		    f->inval_done == f->inval_sent) {
			ret = -EINVAL;
			goto out;
		}
		f->inval_done = f->inval_sent;
		g->stats.invalidate_completed++;
		g->stats.completed++;
		xpi_inval_check(g);
		goto out;
	}
	if (vid >= g->nr_vcpus) {
		ret = -EINVAL;
		goto out;
	}
	/* @vid comes from userspace: no speculative read past the array. */
	v = &g->vcpus[array_index_nospec(vid, g->nr_vcpus)];
	if (v->state != XPI_REQ_DELIVERED || v->file != f ||
	    v->rec.id != r->id) {
		ret = -EINVAL;
		goto out;
	}
	read = v->rec.dir == XEN_PCI_IOREQ_DIR_READ;
	/* Pins that were asserted before this write and still are. */
	if (!read) {
		asserted = v->intx_before & READ_ONCE(v->fn->intx_asserted);
		sbdf = v->fn->sbdf;
	}
	if (read)
		xpi_respond_read(g, v, v->rec.size, r->data);
	else
		xpi_respond(g, v);
	g->stats.completed++;
	trace_xen_pci_ioreq_complete(g->domid, v->id, r->id,
				     read ? r->data & xpi_size_mask(v->rec.size) : 0,
				     false);
	v->state = XPI_REQ_IDLE;
	v->file = NULL;
	v->fn = NULL;
out:
	spin_unlock_irq(&g->lock);
	if (asserted)
		xpi_intx_resample(g, sbdf, asserted);
	return ret;
}
