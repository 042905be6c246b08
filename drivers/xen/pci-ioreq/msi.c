// SPDX-License-Identifier: GPL-2.0
/*
 * MSI: a backend signals a vector of one of its functions with the message
 * the guest programmed for it (XEN_PCI_IOREQ_MSI, from dev.c). Xen gives
 * Arm guests no MSI controller, but injects every SPI a device model raises
 * as an edge, so the root complex is the guest's MSI controller: a message
 * is valid when it writes vector number n, below the layout's @msi_count,
 * to the layout's doorbell, and raises the SPI @msi_base + n. Nothing is
 * lowered afterwards and nothing is shared: an edge needs neither.
 *
 * irqfd.c raises the messages of its MSI irqfds itself, checked here when
 * they are added.
 *
 * Locking: xpi_msi() is called with the guest's mutex held, which keeps the
 * function registered while the interrupt is raised. The counters are
 * atomic.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/errno.h>

#include "xpi.h"

int xpi_msi_check(struct xpi_guest *g, u64 address, u32 data, u32 *intid)
{
	int rc;

	/* Xen decodes x86 config cycles: no root complex of ours to raise. */
	rc = xpi_ecam_mode() ? xpi_msi_intid(&g->layout, address, data,
					     intid) : -EOPNOTSUPP;
	switch (rc) {
	case 0:
		break;
	case -EINVAL:
		atomic64_inc(&g->msi_bad_address);
		break;
	case -ERANGE:
		atomic64_inc(&g->msi_bad_vector);
		break;
	default:
		atomic64_inc(&g->msi_unsupported);
	}
	return rc;
}

int xpi_msi(struct xpi_guest *g, struct xpi_file *f,
	    const struct xen_pci_ioreq_msi *in)
{
	struct xpi_fn *fn;
	u32 intid;
	int rc;

	lockdep_assert_held(&g->mutex);
	fn = xpi_file_fn(g, f, &in->fn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);

	rc = xpi_msi_check(g, in->address, in->data, &intid);
	if (rc)
		return rc;
	rc = xpi_xen_irq(g, intid, 1);
	if (!rc)
		atomic64_inc(&g->msi_sent);
	return rc;
}
