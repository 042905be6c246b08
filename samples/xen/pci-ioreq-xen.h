/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A transport (struct pci_ioreq_transport, pci-ioreq-lib.h) for a
 * backend of an Arm guest that owns the guest's Xen ioreq server itself,
 * as a device model such as QEMU does, instead of going through
 * /dev/xen/pci-ioreq: it claims the guest's ECAM window and memory windows
 * whole, decodes the config and BAR accesses to the one function it serves
 * and answers the others as absent. See pci-ioreq-xen.c.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_XEN_H
#define _SAMPLES_XEN_PCI_IOREQ_XEN_H

#include <linux/types.h>
#include <xen/pci-ioreq.h>

struct pci_ioreq_transport;

/*
 * Serve function @fn (segment 0) of guest @domid from an ioreq server of
 * our own that claims the ECAM window (whole buses of 1 MiB) and the memory
 * windows of root complex @layout, and the BAR ranges the backend adds
 * outside those windows, and raises INTx on the layout's lines. Xen tells
 * no server that its guest is gone, so the transport's check() asks Xen
 * for the server after @idle_ms without events. Returns the transport, or
 * NULL after saying why not.
 */
struct pci_ioreq_transport *
pci_ioreq_xen_open(unsigned int domid, const struct xen_pci_ioreq_function *fn,
		   const struct xen_pci_ioreq_layout *layout, int idle_ms);

#endif /* _SAMPLES_XEN_PCI_IOREQ_XEN_H */
