/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A transport (struct pci_ioreq_transport, pci-ioreq-backend.h) for a
 * backend of an Arm guest that owns the guest's Xen ioreq server itself,
 * as a device model such as QEMU does, instead of going through
 * /dev/xen/pci-ioreq: it claims the guest's whole ECAM window, decodes the
 * config accesses to the one function it serves and answers the others as
 * absent. See pci-ioreq-xen.c.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_XEN_H
#define _SAMPLES_XEN_PCI_IOREQ_XEN_H

#include <linux/types.h>
#include <xen/pci-ioreq.h>

/*
 * The ECAM window of an Arm guest's virtual root complex, where Xen's
 * guest layout puts it: GUEST_VPCI_ECAM_BASE and GUEST_VPCI_ECAM_SIZE of
 * Xen's public xen/arch-arm.h, which defines them for Xen and its tools
 * only (and is not the header of an x86 build). 256 buses of 32 devices
 * of 8 functions, 4 KiB each.
 */
#define PCI_IOREQ_XEN_ECAM_BASE		0x10000000ULL
#define PCI_IOREQ_XEN_ECAM_SIZE		0x10000000ULL

struct pci_ioreq_transport;

/*
 * Serve function @fn (segment 0) of guest @domid from an ioreq server of
 * our own that claims the ECAM window @ecam_base, @ecam_size (whole buses
 * of 1 MiB) and the BAR ranges the backend adds. Xen tells no server that
 * its guest is gone, so the transport's check() asks Xen for the server
 * after @idle_ms without events. Returns the transport, or NULL after
 * saying why not.
 */
struct pci_ioreq_transport *
pci_ioreq_xen_open(unsigned int domid, const struct xen_pci_ioreq_function *fn,
		   __u64 ecam_base, __u64 ecam_size, int idle_ms);

#endif /* _SAMPLES_XEN_PCI_IOREQ_XEN_H */
