// SPDX-License-Identifier: GPL-2.0
/*
 * Functions and their BAR ranges: registering a function (and, in PCI
 * mode, claiming it in Xen), making it absent again, and adding and
 * removing the guest-physical ranges of its BARs. Called by the ioctls of
 * dev.c, by dev.c when a file is released, and by the request path, which
 * looks functions up.
 *
 * Locking: the caller holds the guest's mutex, except for xpi_fn_lookup(),
 * whose caller holds either the mutex or the guest's lock. What the request
 * path reads (the function table, the BAR ranges) is changed here under the
 * guest's lock as well. xpi_add_mmio()'s caller also holds xpi.lock, as a
 * range outside the guest's windows is checked against its other root
 * complexes (xpi_guest_range_taken()).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/overflow.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "xpi.h"

struct xpi_fn *xpi_fn_lookup(struct xpi_guest *g, u32 sbdf)
{
	struct xpi_fn *fn;

	hash_for_each_possible(g->fns, fn, hnode, sbdf)
		if (fn->sbdf == sbdf)
			return fn;
	return NULL;
}

static int xpi_check_fn(const struct xen_pci_ioreq_function *fn)
{
	if (fn->flags || fn->reserved)
		return -EINVAL;
	if (xpi_ecam_mode() && fn->segment)
		return -EINVAL;
	return 0;
}

/* The function @ufn, which @f must have registered. */
struct xpi_fn *xpi_file_fn(struct xpi_guest *g, struct xpi_file *f,
			   const struct xen_pci_ioreq_function *ufn)
{
	struct xpi_fn *fn;
	int rc;

	rc = xpi_check_fn(ufn);
	if (rc)
		return ERR_PTR(rc);
	fn = xpi_fn_lookup(g, xpi_sbdf(ufn->segment, ufn->bus, ufn->devfn));
	if (!fn || fn->file != f)
		return ERR_PTR(-ENOENT);
	return fn;
}

/* Make the function absent: no ranges, no requests, no INTx. */
void xpi_fn_remove(struct xpi_guest *g, struct xpi_fn *fn)
{
	unsigned int i, j, pin;
	int rc;

	lockdep_assert_held(&g->mutex);
	xpi_irqfd_drop(g, fn);
	xpi_ioeventfd_drop(g, fn, 0, U64_MAX);
	if (!g->dead) {
		for (i = 0; i < g->nr_ranges; i++) {
			if (g->ranges[i].fn != fn)
				continue;
			xpi_bar_unmap(g, g->ranges[i].start, g->ranges[i].last);
		}
	}

	spin_lock_irq(&g->lock);
	hash_del(&fn->hnode);
	for (i = 0, j = 0; i < g->nr_ranges; i++) {
		if (g->ranges[i].fn != fn)
			g->ranges[j++] = g->ranges[i];
	}
	g->nr_ranges = j;
	fn->nr_ranges = 0;
	xpi_abort(g, fn->file, fn);
	spin_unlock_irq(&g->lock);

	if (!g->dead) {
		if (!xpi_ecam_mode()) {
			rc = xpi_xen_unmap(g, XEN_DMOP_IO_RANGE_PCI, fn->sbdf,
					   fn->sbdf);
			if (rc)
				pr_warn("dom%u: cannot unmap function %#x: %d\n",
					g->domid, fn->sbdf, rc);
		}
		for (pin = 1; pin <= 4; pin++)
			xpi_set_intx(g, fn, pin, 0);
	}
	list_del(&fn->node);
	g->nr_fns--;
	kfree(fn);
}

int xpi_register(struct xpi_guest *g, struct xpi_file *f,
		 const struct xen_pci_ioreq_function *ufn)
{
	u32 sbdf = xpi_sbdf(ufn->segment, ufn->bus, ufn->devfn);
	struct xpi_fn *fn;
	int rc;

	rc = xpi_check_fn(ufn);
	if (rc)
		return rc;
	if (xpi_fn_lookup(g, sbdf))
		return -EBUSY;
	if (g->nr_fns >= XPI_MAX_FNS)
		return -ENOSPC;
	fn = kzalloc(sizeof(*fn), GFP_KERNEL_ACCOUNT);
	if (!fn)
		return -ENOMEM;
	fn->file = f;
	fn->sbdf = sbdf;
	INIT_LIST_HEAD(&fn->ioeventfds);
	if (!xpi_ecam_mode()) {
		rc = xpi_xen_map(g, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf);
		if (rc) {
			kfree(fn);
			return rc;
		}
	}
	spin_lock_irq(&g->lock);
	hash_add(g->fns, &fn->hnode, sbdf);
	spin_unlock_irq(&g->lock);
	list_add_tail(&fn->node, &f->fns);
	g->nr_fns++;
	return 0;
}

static int xpi_check_mmio(const struct xen_pci_ioreq_mmio *m, u64 *last)
{
	if (m->flags || m->reserved || m->bar > XEN_PCI_IOREQ_BAR_ROM ||
	    memchr_inv(m->reserved0, 0, sizeof(m->reserved0)) || !m->size)
		return -EINVAL;
	if (check_add_overflow(m->addr, m->size - 1, last))
		return -EINVAL;
	return 0;
}

/* The checked arguments of ADD_MMIO/REMOVE_MMIO: the function, @last. */
static struct xpi_fn *xpi_mmio_fn(struct xpi_guest *g, struct xpi_file *f,
				  const struct xen_pci_ioreq_mmio *m, u64 *last)
{
	int rc = xpi_check_mmio(m, last);

	return rc ? ERR_PTR(rc) : xpi_file_fn(g, f, &m->fn);
}

int xpi_add_mmio(struct xpi_guest *g, struct xpi_file *f,
		 const struct xen_pci_ioreq_mmio *m)
{
	struct xpi_range *r;
	struct xpi_fn *fn;
	unsigned int pos;
	u64 last;
	int rc;

	fn = xpi_mmio_fn(g, f, m, &last);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	/* Never a BAR: the window is configuration space. */
	if (xpi_ecam_mode() &&
	    m->addr <= g->layout.ecam.base + (g->layout.ecam.size - 1) &&
	    last >= g->layout.ecam.base)
		return -EINVAL;
	/* Half in a window: a BAR is decoded by one window or none. */
	if (xpi_window_of(g, m->addr, last) == XPI_WINDOW_ACROSS)
		return -EINVAL;
	if (xpi_range_overlaps(g->ranges, g->nr_ranges, m->addr, last))
		return -EEXIST;
	if (g->nr_ranges >= XPI_MAX_RANGES)
		return -ENOSPC;
	if (xpi_window_of(g, m->addr, last) == XPI_WINDOW_NONE) {
		const struct xen_pci_ioreq_window r = {
			.base = m->addr,
			.size = m->size,
		};

		rc = xpi_ecam_mode() ? xpi_guest_range_taken(g, &r) : 0;
		if (rc)
			return rc;
		if (xpi_xen_bar_ranges(g) >= xpi_xen_bar_ranges_max(g))
			return -ENOSPC;
	}
	rc = xpi_bar_map(g, m->addr, last);
	if (rc)
		return rc;

	spin_lock_irq(&g->lock);
	pos = xpi_range_upper(g->ranges, g->nr_ranges, m->addr);
	r = &g->ranges[pos];
	memmove(r + 1, r, (g->nr_ranges - pos) * sizeof(*r));
	r->start = m->addr;
	r->last = last;
	r->fn = fn;
	r->bar = m->bar;
	g->nr_ranges++;
	fn->nr_ranges++;
	spin_unlock_irq(&g->lock);
	return 0;
}

int xpi_remove_mmio(struct xpi_guest *g, struct xpi_file *f,
		    const struct xen_pci_ioreq_mmio *m)
{
	struct xpi_fn *fn;
	u64 last;
	int i;

	fn = xpi_mmio_fn(g, f, m, &last);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	i = xpi_range_find(g->ranges, g->nr_ranges, m->addr, 1);
	if (i < 0 || g->ranges[i].start != m->addr ||
	    g->ranges[i].last != last || g->ranges[i].fn != fn)
		return -ENOENT;

	xpi_ioeventfd_drop(g, fn, m->addr, last);
	xpi_bar_unmap(g, m->addr, last);
	spin_lock_irq(&g->lock);
	memmove(&g->ranges[i], &g->ranges[i + 1],
		(g->nr_ranges - i - 1) * sizeof(*g->ranges));
	g->nr_ranges--;
	fn->nr_ranges--;
	spin_unlock_irq(&g->lock);
	return 0;
}
