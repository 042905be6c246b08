// SPDX-License-Identifier: GPL-2.0
/*
 * INTx: the level of a function's pins, shared lines counted, passed to
 * Xen (xen.c), and a line raised again after a guest write to a function
 * that still asserts it. Called by the SET_INTX ioctl of dev.c, by irqfd.c
 * for a signalled irqfd, by fn.c when a function goes, and by the request
 * path after a completed write.
 *
 * Locking: the callers of xpi_set_intx() and xpi_intx() hold the guest's
 * mutex, which guards the line counts; xpi_intx_resample() needs no lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/pci.h>

#include "xpi.h"

/*
 * Set a function's INTx pin. Lines are shared: a line is asserted while any
 * of its functions asserts it. On Arm, Xen's vGIC takes level 1 as an edge
 * (the SPI becomes pending, or pending again once the guest is done with
 * it) and ignores level 0: a line that some function already holds would
 * never reach the guest again after the guest's EOI. So every assertion is
 * passed to Xen, whatever the line's state; the guest then handles the
 * line once more and finds which function wants service, as with any
 * shared level-triggered interrupt. The x86 call keeps a real level, to
 * which a repeated assertion changes nothing.
 */
int xpi_set_intx(struct xpi_guest *g, struct xpi_fn *fn, u8 pin,
		 u8 level)
{
	u8 slot = PCI_SLOT(xpi_sbdf_devfn(fn->sbdf));
	unsigned int line = xpi_intx_line(xpi_ecam_mode(), slot, pin);
	bool was = fn->intx_asserted & BIT(pin - 1);
	int rc = 0;

	lockdep_assert_held(&g->mutex);
	if (level) {
		rc = xpi_xen_intx(g, slot, pin, 1);
		if (rc)
			return rc;
		if (!was) {
			g->intx_users[line]++;
			WRITE_ONCE(fn->intx_asserted,
				   fn->intx_asserted | BIT(pin - 1));
		}
		atomic64_inc(&g->intx_raised);
	} else if (was) {
		WRITE_ONCE(fn->intx_asserted, fn->intx_asserted & ~BIT(pin - 1));
		if (!--g->intx_users[line])
			rc = xpi_xen_intx(g, slot, pin, 0);
	}
	return rc;
}

/*
 * A guest write to a function has completed, and the function asserted
 * these pins before the write and still does: the guest's acknowledgment
 * left the condition standing (or a new one came), so raise the line again,
 * as a level-triggered line that is still high raises its interrupt again
 * after the EOI. (A pin that the write itself asserted was raised then.)
 * Called without locks: a stale level costs one spurious interrupt at most.
 */
void xpi_intx_resample(struct xpi_guest *g, u32 sbdf, u8 asserted)
{
	unsigned int pin;

	if (!xpi_ecam_mode())
		return;
	for (pin = 1; pin <= 4; pin++) {
		if (!(asserted & BIT(pin - 1)))
			continue;
		if (!xpi_xen_intx(g, PCI_SLOT(xpi_sbdf_devfn(sbdf)), pin, 1))
			atomic64_inc(&g->intx_resampled);
	}
}

int xpi_intx(struct xpi_guest *g, struct xpi_file *f,
	     const struct xen_pci_ioreq_intx *in)
{
	struct xpi_fn *fn;

	fn = xpi_file_fn(g, f, &in->fn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	/* Root bus only: which bridge leads to a bus is the guest's business. */
	if (xpi_sbdf_segment(fn->sbdf) || xpi_sbdf_bus(fn->sbdf))
		return -EINVAL;
	if (!in->level)
		xpi_irqfd_resample(g, fn, in->pin);
	return xpi_set_intx(g, fn, in->pin, in->level);
}
