// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfds: guest writes to a BAR of a function that the kernel
 * completes itself, signalling an eventfd instead of queueing a request to
 * the backend (a virtio queue notify). Each belongs to one function and
 * goes with it, with the BAR range it lies in, with the guest, or with its
 * eventfd: once the eventfd is closed (its last file), nobody hears its
 * signals and no backend can remove it (DEASSIGN needs the eventfd), yet
 * it would still swallow the writes, hold its address and count against
 * its function's limit. The IOEVENTFD ioctl of dev.c assigns and
 * deassigns them; fn.c and guest.c drop them; the request path matches
 * writes against them.
 *
 * Locking: the list of a function's ioeventfds is changed with the guest's
 * mutex and lock held (the callers hold the mutex, the lock is taken
 * here), and read by the request path under the lock alone. Each waits on
 * its eventfd's wait queue to hear of the close: the wakeup runs with that
 * queue's lock held (inside the guest's lock when the request path
 * signals) and takes none of ours; it marks the ioeventfd and queues the
 * guest's ioeventfd work, which frees it under the mutex. An ioeventfd
 * stays on the wait queue until it is freed, and the guest lives until its
 * ioeventfds are gone and the work is cancelled (guest.c).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "xpi.h"

/**
 * struct xpi_ioeventfd - guest writes that the kernel completes itself
 * @node: entry in its function's @ioeventfds
 * @guest: the guest
 * @ctx: the eventfd signalled for each matching write
 * @wait: our entry in the eventfd's wait queue, to hear of its close
 * @wqh: that wait queue
 * @pt: adds @wait to it
 * @addr: guest physical address of the writes
 * @data: with @datamatch, the value they must carry
 * @signals: matching writes so far, under the guest's lock
 * @size: their size
 * @datamatch: whether @data must match
 * @closed: its eventfd was closed: it matches nothing, and the guest's
 *	ioeventfd work frees it
 */
struct xpi_ioeventfd {
	struct list_head node;
	struct xpi_guest *guest;
	struct eventfd_ctx *ctx;
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;
	poll_table pt;
	u64 addr;
	u64 data;
	u64 signals;
	u8 size;
	bool datamatch;
	bool closed;
};

/*
 * Called by the eventfd with its wait queue's lock held, for each signal
 * (ours too) and when its last file is released (EPOLLHUP): only the
 * latter is ours to hear, and the freeing is left to the guest's work.
 */
static int xpi_ioeventfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
				int sync, void *key)
{
	struct xpi_ioeventfd *e = container_of(wait, struct xpi_ioeventfd, wait);

	if (key_to_poll(key) & EPOLLHUP) {
		WRITE_ONCE(e->closed, true);
		schedule_work(&e->guest->ioeventfd_work);
	}
	return 0;
}

static void xpi_ioeventfd_ptable(struct file *file, wait_queue_head_t *wqh,
				 poll_table *pt)
{
	struct xpi_ioeventfd *e = container_of(pt, struct xpi_ioeventfd, pt);

	e->wqh = wqh;
	add_wait_queue(wqh, &e->wait);
}

/*
 * Free an ioeventfd off its function's list. Not through
 * eventfd_ctx_remove_wait_queue(), which would take the eventfd's count:
 * it is the backend's to read.
 */
static void xpi_ioeventfd_free(struct xpi_ioeventfd *e)
{
	/* After this, the eventfd no longer calls us. */
	remove_wait_queue(e->wqh, &e->wait);
	eventfd_ctx_put(e->ctx);
	kfree(e);
}

/* Free the ioeventfds of @fn whose eventfd was closed. */
static void xpi_ioeventfd_reap(struct xpi_guest *g, struct xpi_fn *fn)
{
	struct xpi_ioeventfd *e, *tmp;
	LIST_HEAD(gone);

	lockdep_assert_held(&g->mutex);
	spin_lock_irq(&g->lock);
	list_for_each_entry_safe(e, tmp, &fn->ioeventfds, node) {
		if (!READ_ONCE(e->closed))
			continue;
		list_move(&e->node, &gone);
		fn->nr_ioeventfds--;
	}
	spin_unlock_irq(&g->lock);

	list_for_each_entry_safe(e, tmp, &gone, node) {
		xpi_ioeventfd_free(e);
		atomic64_inc(&g->ioeventfd_closed);
	}
}

void xpi_ioeventfd_work(struct work_struct *work)
{
	struct xpi_guest *g = container_of(work, struct xpi_guest,
					   ioeventfd_work);
	struct xpi_fn *fn;
	unsigned int bkt;

	mutex_lock(&g->mutex);
	/* A dead guest's ioeventfds are gone: see xpi_guest_teardown(). */
	if (!g->dead)
		hash_for_each(g->fns, bkt, fn, hnode)
			xpi_ioeventfd_reap(g, fn);
	mutex_unlock(&g->mutex);
}

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
		/* Closed: nobody would hear; the backend gets the write. */
		if (e->addr != req->addr || e->size != req->size ||
		    (e->datamatch && e->data != data) || READ_ONCE(e->closed))
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

	list_for_each_entry_safe(e, tmp, &gone, node)
		xpi_ioeventfd_free(e);
}

/*
 * Complete the writes @a describes in the kernel, signalling @ctx, the
 * eventfd of @file.
 */
int xpi_ioeventfd_assign(struct xpi_guest *g, struct xpi_fn *fn,
			 struct file *file, struct eventfd_ctx *ctx,
			 const struct xen_pci_ioreq_ioeventfd *a)
{
	bool datamatch = a->flags & XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH;
	struct xpi_ioeventfd *e;

	/*
	 * Those whose eventfd was closed hold neither their address nor a
	 * place, even before the guest's work frees them: a backend that
	 * closes and assigns again at once finds both free.
	 */
	xpi_ioeventfd_reap(g, fn);
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
	e->guest = g;
	e->ctx = ctx;
	e->addr = a->addr;
	e->size = a->size;
	e->datamatch = datamatch;
	e->data = a->data;
	init_waitqueue_func_entry(&e->wait, xpi_ioeventfd_wakeup);
	init_poll_funcptr(&e->pt, xpi_ioeventfd_ptable);
	vfs_poll(file, &e->pt);
	/* An eventfd always waits on its queue; never seen otherwise. */
	if (WARN_ON_ONCE(!e->wqh)) {
		kfree(e);
		return -EINVAL;
	}
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
		xpi_ioeventfd_free(e);
		return 0;
	}
	return -ENOENT;
}
