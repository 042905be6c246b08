// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfds: guest writes to a BAR of a function that the kernel
 * completes itself, signalling an eventfd instead of queueing a request to
 * the backend (a virtio queue notify). Each belongs to one function and
 * goes with it, with the BAR range it lies in, or with the guest. The
 * IOEVENTFD ioctl of dev.c assigns and deassigns them; fn.c and guest.c
 * drop them; the request path matches writes against them.
 *
 * Locking: the list of a function's ioeventfds is changed with the guest's
 * mutex and lock held (the callers hold the mutex, the lock is taken
 * here), and read by the request path under the lock alone.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/list.h>
#include <linux/slab.h>

#include "xpi.h"

/**
 * struct xpi_ioeventfd - guest writes that the kernel completes itself
 * @node: entry in its function's @ioeventfds
 * @ctx: the eventfd signalled for each matching write
 * @addr: guest physical address of the writes
 * @data: with @datamatch, the value they must carry
 * @signals: matching writes so far, under the guest's lock
 * @size: their size
 * @datamatch: whether @data must match
 */
struct xpi_ioeventfd {
	struct list_head node;
	struct eventfd_ctx *ctx;
	u64 addr;
	u64 data;
	u64 signals;
	u8 size;
	bool datamatch;
};

/*
 * A write that an ioeventfd of @fn matches: signal the eventfd. The write is
 * then complete; it never reaches the backend, so it is no resample point
 * for INTx either (it cannot have acknowledged anything).
 */
bool xpi_ioeventfd_signal(struct xpi_fn *fn, const struct ioreq *req)
{
	u64 data = req->data & xpi_size_mask(req->size);
	struct xpi_ioeventfd *e;

	list_for_each_entry(e, &fn->ioeventfds, node) {
		if (e->addr != req->addr || e->size != req->size ||
		    (e->datamatch && e->data != data))
			continue;
		eventfd_signal(e->ctx);
		e->signals++;
		return true;
	}
	return false;
}

/* Drop the ioeventfds of @fn whose address is in [@start, @last]. */
void xpi_ioeventfd_drop(struct xpi_guest *g, struct xpi_fn *fn,
			u64 start, u64 last)
{
	struct xpi_ioeventfd *e, *tmp;
	LIST_HEAD(gone);

	lockdep_assert_held(&g->mutex);
	spin_lock_irq(&g->lock);
	list_for_each_entry_safe(e, tmp, &fn->ioeventfds, node) {
		if (e->addr < start || e->addr > last)
			continue;
		list_move(&e->node, &gone);
		fn->nr_ioeventfds--;
	}
	spin_unlock_irq(&g->lock);

	list_for_each_entry_safe(e, tmp, &gone, node) {
		eventfd_ctx_put(e->ctx);
		kfree(e);
	}
}

/* Complete the writes @a describes in the kernel, signalling @ctx. */
int xpi_ioeventfd_assign(struct xpi_guest *g, struct xpi_fn *fn,
			 struct eventfd_ctx *ctx,
			 const struct xen_pci_ioreq_ioeventfd *a)
{
	bool datamatch = a->flags & XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH;
	struct xpi_ioeventfd *e;

	/* Two that could match one write collide. */
	list_for_each_entry(e, &fn->ioeventfds, node)
		if (e->addr == a->addr && e->size == a->size &&
		    (!e->datamatch || !datamatch || e->data == a->data))
			return -EEXIST;
	if (fn->nr_ioeventfds >= XPI_MAX_IOEVENTFDS)
		return -ENOSPC;
	e = kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (!e)
		return -ENOMEM;
	e->ctx = ctx;
	e->addr = a->addr;
	e->size = a->size;
	e->datamatch = datamatch;
	e->data = a->data;
	spin_lock_irq(&g->lock);
	list_add_tail(&e->node, &fn->ioeventfds);
	fn->nr_ioeventfds++;
	spin_unlock_irq(&g->lock);
	return 0;
}

/* Remove the ioeventfd that has exactly the arguments @a and @ctx. */
int xpi_ioeventfd_deassign(struct xpi_guest *g, struct xpi_fn *fn,
			   struct eventfd_ctx *ctx,
			   const struct xen_pci_ioreq_ioeventfd *a)
{
	bool datamatch = a->flags & XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH;
	struct xpi_ioeventfd *e;

	list_for_each_entry(e, &fn->ioeventfds, node) {
		if (e->addr != a->addr || e->size != a->size ||
		    e->ctx != ctx || e->datamatch != datamatch ||
		    e->data != a->data)
			continue;
		spin_lock_irq(&g->lock);
		list_del(&e->node);
		fn->nr_ioeventfds--;
		spin_unlock_irq(&g->lock);
		eventfd_ctx_put(e->ctx);
		kfree(e);
		return 0;
	}
	return -ENOENT;
}
