/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PCI function that samples/xen/pci-ioreq-emu.c emulates for a Xen
 * guest: its identity and the registers of its BAR 0. Shared with the
 * selftests in tools/testing/selftests/xen-pci/, which drive the function
 * from inside the guest.
 *
 * IDs: 1af4:10f0 lies in the range 1af4:10f0-10ff that QEMU's PCI ID
 * registry (docs/specs/pci-ids.rst, for the IDs Red Hat donates to virtual
 * devices) leaves "available for experimental usage without registration".
 * No driver binds to it by ID (virtio-pci probes the 1af4 vendor but
 * declines device IDs above 0x107f), so the device stays free for
 * uio_pci_generic or for sysfs access. A device that is shipped needs an
 * ID of its own from that registry.
 *
 * Class 0xff0000: a device that fits no defined class.
 *
 * BAR 0: 256 bytes of 32-bit, non-prefetchable memory holding the registers
 * below, little endian, accessible with 1, 2, 4 and 8-byte accesses (a
 * register is 32 bits wide unless noted; wider accesses span neighbours).
 * Offsets that hold no register read as zero and ignore writes.
 *
 * BAR 2: 64-bit prefetchable memory backed by plain memory in the backend,
 * 64 KiB unless the backend is told otherwise; EMU_REG_BAR2_SIZE says.
 *
 * INTx: pin INTA. EMU_REG_DOORBELL sets the interrupt pending, shown in
 * EMU_REG_IRQ_STATUS and in the Interrupt Status bit of the PCI Status
 * register; the line is asserted while an interrupt is pending and the
 * Interrupt Disable bit of the PCI Command register is clear (PCI 2.3 INTx
 * masking, which uio_pci_generic relies on). Writing 1 to bit 0 of
 * EMU_REG_IRQ_STATUS acknowledges the interrupt.
 *
 * MSI-X, where the guest's root complex has MSI (the backend's --layout
 * names it: msi=ID:COUNT,doorbell=ADDR): an MSI-X capability at EMU_CAP_MSIX
 * of EMU_MSIX_VECTORS vectors, its table at offset 0 and its pending bit
 * array at EMU_MSIX_PBA_OFF of BAR 1 (EMU_BAR1_SIZE bytes of 32-bit,
 * non-prefetchable memory), and EMU_FEAT_MSIX in EMU_REG_FEATURES. A write
 * of N to EMU_REG_MSIX_SIGNAL signals vector N: its message goes to the
 * guest, or its pending bit is set while the vector or the function is
 * masked, MSI-X is off or Bus Master Enable is clear, and the message goes
 * once when that ends. The write completes once that is done. The
 * EMU_REG_MSIX_* counters (bits 31-0 of the backend's) say what became of
 * the signals; a message the guest programmed that its root complex does
 * not have (another address, a vector outside its range) is refused by
 * dom0 and counted, not sent. With MSI-X on, the function drives no INTx.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_EMU_H
#define _SAMPLES_XEN_PCI_IOREQ_EMU_H

#define EMU_VENDOR_ID		0x1af4U
#define EMU_DEVICE_ID		0x10f0U
#define EMU_SUBSYS_VENDOR_ID	0x1af4U
#define EMU_SUBSYS_ID		0x10f0U
#define EMU_REVISION		0x01U
#define EMU_CLASS		0xff0000U	/* class, subclass, prog-if */

#define EMU_BAR0_SIZE		0x100U
#define EMU_BAR2_SIZE_DEFAULT	0x10000U
#define EMU_BAR1_SIZE		0x1000U		/* with MSI-X only */
#define EMU_MSIX_VECTORS	8U
#define EMU_MSIX_PBA_OFF	0x800U		/* in BAR 1; the table at 0 */
#define EMU_CAP_MSIX		0x40		/* in config space */

#define EMU_REG_MAGIC		0x00	/* RO: EMU_MAGIC */
#define EMU_REG_VERSION		0x04	/* RO: EMU_VERSION */
#define EMU_REG_FEATURES	0x08	/* RO: EMU_FEAT_* */
#define EMU_REG_BDF		0x0c	/* RO: bus << 8 | devfn being served */
#define EMU_REG_SCRATCH		0x10	/* RW */
#define EMU_REG_DOORBELL	0x14	/* WO: any write raises the interrupt */
#define EMU_REG_IRQ_STATUS	0x18	/* RW1C: EMU_IRQ_PENDING */
#define EMU_REG_IRQ_COUNT	0x1c	/* RO: doorbell writes so far */
#define EMU_REG_MMIO_COUNT	0x20	/* RO: BAR accesses served, this one included */
#define EMU_REG_CONFIG_COUNT	0x24	/* RO: config space accesses served */
#define EMU_REG_BAR2_SIZE_LO	0x28	/* RO: size of BAR 2, bits 31-0 */
#define EMU_REG_BAR2_SIZE_HI	0x2c	/* RO: size of BAR 2, bits 63-32 */
#define EMU_REG_SCRATCH64	0x30	/* RW, 64 bits */
#define EMU_REG_MSIX_SIGNAL	0x38	/* WO: signal vector N */
#define EMU_REG_MSIX_SENT	0x3c	/* RO: messages dom0 took */
#define EMU_REG_MSIX_PENDED	0x40	/* RO: signals held pending */
#define EMU_REG_MSIX_RELEASED	0x44	/* RO: pending vectors sent later */
#define EMU_REG_MSIX_REFUSED	0x48	/* RO: messages dom0 refused */
#define EMU_REG_CRASH		0xfc	/* WO: EMU_CRASH_KEY kills the backend */

#define EMU_MAGIC		0x58504349U	/* "XPCI" */
#define EMU_VERSION		1U
/*
 * The backend runs with --crash-register: a 32-bit write of EMU_CRASH_KEY
 * to EMU_REG_CRASH makes it die at once (SIGKILL) without completing that
 * write, to test how the kernel cleans up after a backend that dies with a
 * request in flight. Without the feature the register ignores writes.
 */
#define EMU_FEAT_CRASH		0x1U
#define EMU_FEAT_MSIX		0x2U	/* the MSI-X capability above */
#define EMU_IRQ_PENDING		0x1U
#define EMU_CRASH_KEY		0x0badc0deU

#endif /* _SAMPLES_XEN_PCI_IOREQ_EMU_H */
