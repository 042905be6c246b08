// SPDX-License-Identifier: GPL-2.0
/*
 * irqfds: eventfds whose signals assert an INTx pin of a function, or
 * raise one of its MSIs. For INTx the eventfd's wakeup takes the count and
 * queues the guest's irqfd work, which asserts the pins through intx.c; an
 * MSI is an edge of an SPI (msi.c), which the wakeup raises itself: one
 * hypercall, which does not sleep. Each irqfd belongs to one
 * function and goes with it, with the guest, or with its eventfd once
 * that is closed (its last file): DEASSIGN needs the eventfd, so nothing
 * else could remove it then, and it would hold a place of the guest's
 * limit, which all of the guest's backends share. The IRQFD ioctl of dev.c
 * assigns and deassigns them; a deassertion (intx.c) signals the
 * resamplefds of the pin's irqfds and drops the signals it overtook on
 * those; fn.c and guest.c drop them.
 *
 * Locking: the guest's irqfd list is under its mutex, which the callers
 * hold and the work takes. The wakeup runs with the eventfd's wait queue
 * lock held and takes none of ours: it marks the irqfd and queues the
 * work, which removes it from the wait queue and frees it, or raises an
 * MSI from what the irqfd holds. The irqfd stays
 * on the wait queue until it is freed, and the guest lives until its
 * irqfds are gone and its work is cancelled (guest.c), so the wakeup never
 * finds either freed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "xpi.h"

/**
 * struct xpi_irqfd - an eventfd whose signals assert an INTx pin or raise an MSI
 * @node: entry in the guest's @irqfds
 * @guest: the guest
 * @fn: the function whose pin it asserts
 * @ctx: the eventfd
 * @resample: signalled at each deassertion of the pin, or NULL
 * @wait: our entry in the eventfd's wait queue
 * @pt: adds @wait to it
 * @pending: signalled since the guest's irqfd work last looked
 * @closed: its eventfd was closed; the guest's irqfd work frees it
 * @pin: the pin, 1 to 4; 0 for an MSI
 * @msi_intid: the interrupt its message raises, checked when it was added;
 *	0 for INTx
 */
struct xpi_irqfd {
	struct list_head node;
	struct xpi_guest *guest;
	struct xpi_fn *fn;
	struct eventfd_ctx *ctx;
	struct eventfd_ctx *resample;
	wait_queue_entry_t wait;
	poll_table pt;
	atomic_t pending;
	bool closed;
	u8 pin;
	u32 msi_intid;
};

/* An MSI irqfd's message: an edge, nothing to deassert. Never sleeps. */
static void xpi_irqfd_raise_msi(struct xpi_irqfd *q)
{
	struct xpi_guest *g = q->guest;

	if (!READ_ONCE(g->dead) && !xpi_xen_irq(g, q->msi_intid, 1))
		atomic64_inc(&g->irqfd_msi_sent);
}

/*
 * Called by the eventfd, with its wait queue's lock held: take the count
 * and raise an MSI, or leave the assertion to the guest's work, which may
 * sleep; so is the end of an irqfd whose eventfd was closed (EPOLLHUP: the
 * eventfd's file is released, our reference keeps its context).
 */
static int xpi_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			    int sync, void *key)
{
	struct xpi_irqfd *q = container_of(wait, struct xpi_irqfd, wait);
	__poll_t flags = key_to_poll(key);
	u64 cnt;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(q->ctx, &cnt);
		atomic64_inc(&q->guest->irqfd_signals);
		if (q->msi_intid)
			xpi_irqfd_raise_msi(q);
		else
			atomic_set(&q->pending, 1);
	}
	if (flags & EPOLLHUP)
		WRITE_ONCE(q->closed, true);
	if ((flags & EPOLLHUP) || ((flags & EPOLLIN) && !q->msi_intid))
		schedule_work(&q->guest->irqfd_work);
	return 0;
}

static void xpi_irqfd_ptable(struct file *file, wait_queue_head_t *wqh,
			     poll_table *pt)
{
	struct xpi_irqfd *q = container_of(pt, struct xpi_irqfd, pt);

	add_wait_queue_priority(wqh, &q->wait);
}

static void xpi_irqfd_free(struct xpi_guest *g, struct xpi_irqfd *q)
{
	u64 cnt;

	lockdep_assert_held(&g->mutex);
	/* After this, the eventfd no longer calls us. */
	eventfd_ctx_remove_wait_queue(q->ctx, &q->wait, &cnt);
	list_del(&q->node);
	WRITE_ONCE(g->nr_irqfds, g->nr_irqfds - 1);
	eventfd_ctx_put(q->ctx);
	if (q->resample)
		eventfd_ctx_put(q->resample);
	kfree(q);
}

/*
 * Free the irqfds whose eventfd was closed. Its signals before the close
 * asserted already, or assert now (the guest's work asserts first). A dead
 * guest has no irqfds left.
 */
static void xpi_irqfd_reap(struct xpi_guest *g)
{
	struct xpi_irqfd *q, *tmp;

	lockdep_assert_held(&g->mutex);
	list_for_each_entry_safe(q, tmp, &g->irqfds, node) {
		if (!READ_ONCE(q->closed))
			continue;
		xpi_irqfd_free(g, q);
		atomic64_inc(&g->irqfd_closed);
	}
}

void xpi_irqfd_work(struct work_struct *work)
{
	struct xpi_guest *g = container_of(work, struct xpi_guest, irqfd_work);
	struct xpi_irqfd *q;

	mutex_lock(&g->mutex);
	if (!g->dead) {
		list_for_each_entry(q, &g->irqfds, node) {
			if (!atomic_xchg(&q->pending, 0))
				continue;
			if (q->msi_intid)
				xpi_irqfd_raise_msi(q);
			else if (!xpi_set_intx(g, q->fn, q->pin, 1))
				atomic64_inc(&g->irqfd_asserted);
		}
	}
	xpi_irqfd_reap(g);
	mutex_unlock(&g->mutex);
}

/*
 * The backend deasserts @pin of @fn. It decided so from what it last saw,
 * and another of its threads may have raised a new condition since: the
 * kernel cannot tell, and must not lose it. Without a resamplefd, a signal
 * of the irqfd that came before and has not asserted the pin yet asserts
 * after the deassertion (at worst, one interrupt with nothing to service);
 * a condition raised and asserted before the deassertion is the backend's
 * to raise again, as on a wire. With one, such a signal is dropped and
 * every deassertion signals the resamplefd: the backend looks again and
 * signals the irqfd if its condition still stands, as with KVM's
 * resamplefd at the guest's EOI. A signal that comes after this asserts
 * as usual.
 */
void xpi_irqfd_resample(struct xpi_guest *g, struct xpi_fn *fn, u8 pin)
{
	struct xpi_irqfd *q;

	lockdep_assert_held(&g->mutex);
	list_for_each_entry(q, &g->irqfds, node) {
		if (q->fn != fn || q->pin != pin || !q->resample)
			continue;
		if (atomic_xchg(&q->pending, 0))
			atomic64_inc(&g->irqfd_cancelled);
		eventfd_signal(q->resample);
		atomic64_inc(&g->irqfd_resampled);
	}
}

/* Drop the irqfds of @fn, or all of the guest's if @fn is NULL. */
void xpi_irqfd_drop(struct xpi_guest *g, struct xpi_fn *fn)
{
	struct xpi_irqfd *q, *tmp;

	list_for_each_entry_safe(q, tmp, &g->irqfds, node)
		if (!fn || q->fn == fn)
			xpi_irqfd_free(g, q);
}

/*
 * Assert @pin of @fn on each signal of @ctx, the eventfd of @file; signal
 * @resample, if not NULL, at each deassertion of the pin. With @msi_intid
 * (and @pin 0), raise that interrupt instead, an MSI of @fn.
 */
int xpi_irqfd_assign(struct xpi_guest *g, struct xpi_fn *fn,
		     struct file *file, struct eventfd_ctx *ctx,
		     struct eventfd_ctx *resample, u8 pin, u32 msi_intid)
{
	struct xpi_irqfd *q;
	__poll_t events;

	/*
	 * Those whose eventfd was closed count no more, even before the
	 * guest's work frees them: a backend that closes and assigns again at
	 * once never finds the limit taken by its own old ones.
	 */
	xpi_irqfd_reap(g);
	list_for_each_entry(q, &g->irqfds, node)
		/* One eventfd, one pin: its count is ours to take. */
		if (q->ctx == ctx)
			return q->fn == fn && q->pin == pin ? -EEXIST : -EBUSY;
	if (g->nr_irqfds >= XPI_MAX_IRQFDS)
		return -ENOSPC;
	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return -ENOMEM;
	q->guest = g;
	q->fn = fn;
	q->pin = pin;
	q->msi_intid = msi_intid;
	q->ctx = ctx;
	q->resample = resample;
	init_waitqueue_func_entry(&q->wait, xpi_irqfd_wakeup);
	init_poll_funcptr(&q->pt, xpi_irqfd_ptable);
	list_add_tail(&q->node, &g->irqfds);
	WRITE_ONCE(g->nr_irqfds, g->nr_irqfds + 1);
	/* Signalled already (an MSI while it was masked): interrupt now. */
	events = vfs_poll(file, &q->pt);
	if (events & EPOLLIN) {
		atomic_set(&q->pending, 1);
		schedule_work(&g->irqfd_work);
	}
	return 0;
}

int xpi_irqfd_deassign(struct xpi_guest *g, struct xpi_fn *fn,
		       struct eventfd_ctx *ctx, u8 pin)
{
	struct xpi_irqfd *q;

	list_for_each_entry(q, &g->irqfds, node) {
		if (q->ctx == ctx && q->fn == fn && q->pin == pin) {
			xpi_irqfd_free(g, q);
			return 0;
		}
	}
	return -ENOENT;
}
