// SPDX-License-Identifier: GPL-2.0
/*
 * Guest lifetime: the guest objects (one per root complex of a guest with
 * a live ioreq server), their creation when a file binds, their teardown
 * when the guest dies or its last file goes having asked for it, and the
 * ways a dead guest is noticed. dev.c attaches and detaches files; the
 * watch, the reaper and the xenstore notifier are set up by dev.c's module
 * init.
 *
 * A guest object is referenced by the list of live guests and by each file
 * bound to it. Its server, and with it the claims on the guest's address
 * space, stays until the guest dies, answering absent functions while no
 * backend serves them: a backend that exits or crashes costs the guest its
 * functions, never its root complex. It goes earlier only with its last
 * file, if that file asked (XEN_PCI_IOREQ_RELEASE_SERVER). Each live
 * server holds a reference to the module.
 * Guest death is noticed through the "@releaseDomain" xenstore watch, by
 * the reaper (which needs no xenstored), and on lookup: a dead guest's
 * event channels are unbound. The guest is then torn down, and its files
 * see POLLHUP and -ENODEV.
 *
 * Locking: xpi.lock around the list of live guests, creation and
 * teardown, taken here by attach, detach, the watch and the reaper; the
 * guest's mutex, then its lock, inside it. Under xpi.lock, the BAR ranges
 * of another root complex of the guest are read under that one's lock
 * alone (they change under both its mutex and its lock).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include <xen/xenbus.h>

#include "xpi.h"

static void xpi_guest_free(struct kref *kref)
{
	struct xpi_guest *g = container_of(kref, struct xpi_guest, kref);

	/* Torn down before the last reference went, by whoever listed it. */
	WARN_ON(!g->dead || !list_empty(&g->files) || g->nr_fns ||
		!list_empty(&g->irqfds));
	/* Queued by an irqfd or ioeventfd dropped since: nothing to do. */
	cancel_work_sync(&g->irqfd_work);
	cancel_work_sync(&g->ioeventfd_work);
	kfree(g->ranges);
	kfree(g);
}

static void xpi_guest_put(struct xpi_guest *g)
{
	kref_put(&g->kref, xpi_guest_free);
}

/* A guest object with @nr vCPUs and room for its BAR ranges, no server. */
static struct xpi_guest *xpi_guest_alloc(domid_t domid,
					 const struct xen_pci_ioreq_layout *l,
					 unsigned int nr)
{
	struct xpi_guest *g;
	unsigned int i;

	g = kzalloc(struct_size(g, vcpus, nr), GFP_KERNEL);
	if (!g)
		return NULL;
	g->nr_vcpus = nr;
	g->ranges = kcalloc(XPI_MAX_RANGES, sizeof(*g->ranges), GFP_KERNEL);
	if (!g->ranges) {
		kfree(g);
		return NULL;
	}
	kref_init(&g->kref);
	INIT_LIST_HEAD(&g->node);
	g->domid = domid;
	g->layout = *l;
	mutex_init(&g->mutex);
	spin_lock_init(&g->lock);
	INIT_LIST_HEAD(&g->files);
	hash_init(g->fns);
	INIT_LIST_HEAD(&g->irqfds);
	INIT_WORK(&g->irqfd_work, xpi_irqfd_work);
	INIT_WORK(&g->ioeventfd_work, xpi_ioeventfd_work);
	for (i = 0; i < nr; i++) {
		struct xpi_vcpu *v = &g->vcpus[i];

		v->guest = g;
		v->id = i;
		v->irq = -1;
		INIT_LIST_HEAD(&v->node);
		snprintf(v->name, sizeof(v->name), "xen-pci-ioreq-d%uv%u",
			 domid, i);
	}
	return g;
}

/*
 * Create the ioreq server of a root complex of a guest, and set it up.
 * Called with xpi.lock held.
 */
static struct xpi_guest *xpi_guest_create(domid_t domid,
					  const struct xen_pci_ioreq_layout *l)
{
	struct xen_dm_op op = { .op = XEN_DMOP_nr_vcpus };
	struct xpi_guest *g;
	int rc;

	rc = xpi_dm_op(domid, &op);
	if (rc)
		return ERR_PTR(rc);
	if (!op.u.nr_vcpus.vcpus || op.u.nr_vcpus.vcpus > XPI_MAX_VCPUS)
		return ERR_PTR(-EOPNOTSUPP);
	g = xpi_guest_alloc(domid, l, op.u.nr_vcpus.vcpus);
	if (!g)
		return ERR_PTR(-ENOMEM);
	rc = xpi_xen_setup(g);
	if (rc) {
		kfree(g->ranges);
		kfree(g);
		return ERR_PTR(rc);
	}

	xpi_guest_debugfs(g);
	return g;
}

/*
 * Forget the server: no more requests, event channels or ioreq page; the
 * files see POLLHUP and -ENODEV. Called with xpi.lock held, after taking
 * the guest off the list.
 */
static void xpi_guest_teardown(struct xpi_guest *g)
{
	unsigned int i, bkt;
	struct xpi_file *f;
	struct xpi_fn *fn;

	debugfs_remove_recursive(g->debugfs);
	g->debugfs = NULL;

	mutex_lock(&g->mutex);
	spin_lock_irq(&g->lock);
	WRITE_ONCE(g->dead, true);
	/* Nothing to answer any more: forget the requests. */
	for (i = 0; i < g->nr_vcpus; i++) {
		if (g->vcpus[i].state != XPI_REQ_IDLE)
			xpi_abort_one(g, &g->vcpus[i]);
	}
	spin_unlock_irq(&g->lock);

	xpi_unbind_vcpus(g);
	xpi_unmap_page(g);
	xpi_irqfd_drop(g, NULL);
	hash_for_each(g->fns, bkt, fn, hnode)
		xpi_ioeventfd_drop(g, fn, 0, U64_MAX);

	list_for_each_entry(f, &g->files, node)
		wake_up_interruptible_poll(&f->wq, EPOLLHUP);
	mutex_unlock(&g->mutex);
}

/* Take a torn down guest off the list, and drop the list's references. */
static void xpi_guest_unlist(struct xpi_guest *g)
{
	lockdep_assert_held(&xpi.lock);
	list_del_init(&g->node);
	xpi_guest_put(g);
	/*
	 * Never the end of our code: the caller is a file operation (the
	 * file holds the module) or the watch or the reaper, which
	 * xpi_exit() waits for.
	 */
	module_put(THIS_MODULE);
}

/* The guest died: Xen destroyed its server with it. */
static void xpi_guest_died(struct xpi_guest *g)
{
	pr_info("dom%u: ioreq server %u gone with its guest\n", g->domid,
		g->ioservid);
	xpi_guest_teardown(g);
	xpi_guest_unlist(g);
}

/*
 * The last file of a live guest went away, and had asked that the server
 * go with it: destroy it. Xen stops routing to it first, and what the guest
 * asked before is answered; the guest's next access to the windows finds
 * no server (on Arm, a data abort), as if no backend had ever bound.
 */
static void xpi_guest_release_server(struct xpi_guest *g)
{
	pr_info("dom%u: ioreq server %u destroyed with its last file\n",
		g->domid, g->ioservid);
	xpi_answer_all(g);
	xpi_guest_teardown(g);
	xpi_xen_destroy(g);
	xpi_guest_unlist(g);
}

/* Whether window @w meets a BAR range of root complex @g. */
static bool xpi_window_meets_ranges(struct xpi_guest *g,
				    const struct xen_pci_ioreq_window *w)
{
	bool meets;

	if (!w->size)
		return false;
	spin_lock_irq(&g->lock);
	meets = xpi_range_overlaps(g->ranges, g->nr_ranges, w->base,
				   w->base + (w->size - 1));
	spin_unlock_irq(&g->lock);
	return meets;
}

/* Whether a window of layout @l meets a BAR range of root complex @g. */
static bool xpi_layout_meets_ranges(struct xpi_guest *g,
				    const struct xen_pci_ioreq_layout *l)
{
	const struct xen_pci_ioreq_window *w[3];
	unsigned int i;

	xpi_layout_windows(l, w);
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		if (xpi_window_meets_ranges(g, w[i]))
			return true;
	}
	return false;
}

/**
 * xpi_guest_range_taken() - whether another root complex decodes a range
 * @g: the root complex a BAR range is added to
 * @r: the range
 *
 * Each root complex of a guest has a server of its own, and Xen gives an
 * access to the first server that claims its address: a range that @g
 * claims outside its windows must be nobody else's. Called with xpi.lock
 * and @g's mutex held.
 *
 * Return: 0; -EBUSY if @r meets a window of another root complex of the
 * guest, -EEXIST if it meets a BAR range of one.
 */
int xpi_guest_range_taken(struct xpi_guest *g,
			  const struct xen_pci_ioreq_window *r)
{
	const struct xen_pci_ioreq_window *w[3];
	struct xpi_guest *o;
	unsigned int i;

	lockdep_assert_held(&xpi.lock);
	list_for_each_entry(o, &xpi.guests, node) {
		if (o == g || o->domid != g->domid)
			continue;
		xpi_layout_windows(&o->layout, w);
		for (i = 0; i < ARRAY_SIZE(w); i++) {
			if (xpi_windows_overlap(w[i], r))
				return -EBUSY;
		}
		if (xpi_window_meets_ranges(o, r))
			return -EEXIST;
	}
	return 0;
}

/*
 * The live root complex of guest @domid that @l names, NULL if there is
 * none yet, or -EBUSY if another of the guest's root complexes is in the
 * way (its windows or interrupts, or a BAR range it claimed outside its
 * windows), or this one has another layout. Called with xpi.lock held.
 */
static struct xpi_guest *xpi_guest_find(domid_t domid,
					const struct xen_pci_ioreq_layout *l)
{
	struct xpi_guest *g, *tmp, *found = NULL;

	list_for_each_entry_safe(g, tmp, &xpi.guests, node) {
		if (g->domid != domid)
			continue;
		/*
		 * Never hand out a dead guest's server, even if neither the
		 * release watch nor the reaper noticed yet.
		 */
		if (!xpi_xen_alive(g)) {
			xpi_guest_died(g);
			continue;
		}
		if (g->layout.ecam.base == l->ecam.base &&
		    !memcmp(&g->layout, l, sizeof(*l)))
			found = g;
		else if (xpi_ecam_mode() &&
			 (xpi_layouts_conflict(&g->layout, l) ||
			  xpi_layout_meets_ranges(g, l)))
			return ERR_PTR(-EBUSY);
	}
	return found;
}

/*
 * Bind @f to a root complex of the live guest @domid, whose server is
 * created if need be. Under xpi.lock, so that the last file of a guest
 * cannot release its server between the lookup and the binding.
 */
int xpi_guest_attach(struct xpi_file *f, domid_t domid,
		     const struct xen_pci_ioreq_layout *l, bool invalidate)
{
	struct xpi_guest *g;
	int rc = 0;

	mutex_lock(&xpi.lock);
	g = xpi_guest_find(domid, l);
	if (IS_ERR(g)) {
		rc = PTR_ERR(g);
		goto out;
	}
	if (g) {
		kref_get(&g->kref);
		goto bind;
	}
	g = xpi_guest_create(domid, l);
	if (IS_ERR(g)) {
		rc = PTR_ERR(g);
		goto out;
	}
	/* Dropped when the server goes: see xpi_guest_unlist(). */
	__module_get(THIS_MODULE);
	if (list_empty(&xpi.guests))
		schedule_delayed_work(&xpi.reaper, XPI_REAP_INTERVAL);
	list_add(&g->node, &xpi.guests);
	kref_get(&g->kref);
	if (xpi_ecam_mode())
		pr_info("dom%u: ioreq server %u, %u vCPUs, ECAM at %#llx\n",
			domid, g->ioservid, g->nr_vcpus, l->ecam.base);
	else
		pr_info("dom%u: ioreq server %u, %u vCPUs, PCI mode\n", domid,
			g->ioservid, g->nr_vcpus);
bind:
	mutex_lock(&g->mutex);
	spin_lock_irq(&g->lock);
	/* What Xen asked before is none of this file's business. */
	f->invalidate = invalidate;
	f->inval_want = g->inval_seq;
	f->inval_sent = g->inval_seq;
	f->inval_done = g->inval_seq;
	list_add_tail(&f->node, &g->files);
	spin_unlock_irq(&g->lock);
	/* Pairs with the acquire in xpi_file_guest() (dev.c). */
	smp_store_release(&f->guest, g);
	mutex_unlock(&g->mutex);
out:
	mutex_unlock(&xpi.lock);
	return rc;
}

/*
 * @f goes away from its guest: if it was the last file and asked that the
 * server go with it, the server goes too. Else the server stays.
 */
void xpi_guest_detach(struct xpi_file *f)
{
	struct xpi_guest *g = f->guest;
	bool last;

	mutex_lock(&xpi.lock);
	mutex_lock(&g->mutex);
	spin_lock_irq(&g->lock);
	list_del(&f->node);
	/* A vCPU may have waited for this file's invalidate only. */
	xpi_inval_check(g);
	spin_unlock_irq(&g->lock);
	last = list_empty(&g->files) && f->release_server && !g->dead;
	mutex_unlock(&g->mutex);
	if (last)
		xpi_guest_release_server(g);
	mutex_unlock(&xpi.lock);
	xpi_guest_put(g);
}

/* Tear down the servers of guests that died. Called with xpi.lock held. */
static void xpi_reap_dead(void)
{
	struct xpi_guest *g, *tmp;

	lockdep_assert_held(&xpi.lock);
	list_for_each_entry_safe(g, tmp, &xpi.guests, node) {
		if (!xpi_xen_alive(g))
			xpi_guest_died(g);
	}
}

/* "@releaseDomain" fired: a guest may have died. */
void xpi_release_domain(struct xenbus_watch *watch, const char *path,
			const char *token)
{
	if (should_fail(&xpi_fail_watch, 1))
		return;

	mutex_lock(&xpi.lock);
	xpi_reap_dead();
	mutex_unlock(&xpi.lock);
}

/*
 * The reaper: every XPI_REAP_INTERVAL while servers live, look for guests
 * that died. The release watch is quicker, but it needs xenstored, which a
 * dom0 may not run (dom0less) or which may be stuck; without the reaper the
 * server of a dead guest would keep the guest's ioreq page mapped, and the
 * dead domain with it, until the next BIND to its domid.
 */
void xpi_reap(struct work_struct *work)
{
	mutex_lock(&xpi.lock);
	xpi_reap_dead();
	if (!list_empty(&xpi.guests))
		schedule_delayed_work(&xpi.reaper, XPI_REAP_INTERVAL);
	mutex_unlock(&xpi.lock);
}

int xpi_xenstore_ready(struct notifier_block *nb, unsigned long event,
		       void *data)
{
	int rc;

	mutex_lock(&xpi.lock);
	rc = register_xenbus_watch(&xpi.watch);
	if (rc)
		pr_err("cannot watch @releaseDomain (%d): dead guests stay until unload\n",
		       rc);
	else
		xpi.watching = true;
	mutex_unlock(&xpi.lock);
	return NOTIFY_DONE;
}
