/* SPDX-License-Identifier: MIT */
/*
 * arch-arm.h
 *
 * Guest physical memory layout of Arm guests: the subset of Xen's public
 * xen/include/public/arch-arm.h that describes the virtual PCI root complex.
 *
 * These are plain constants describing the guest's address map, usable on any
 * architecture: a dom0 that serves the root complex of an Arm guest may itself
 * run on another architecture.
 */

#ifndef __XEN_PUBLIC_ARCH_ARM_H__
#define __XEN_PUBLIC_ARCH_ARM_H__

/*
 * Configuration space of the virtual root complex (ECAM).
 * 256 MB: 256 buses x 32 devices x 8 functions x 4 KB.
 */
#define GUEST_VPCI_ECAM_BASE			0x10000000ULL
#define GUEST_VPCI_ECAM_SIZE			0x10000000ULL

/*
 * 32-bit non-prefetchable memory window. The ADDR_TYPE values are the first
 * cell of a PCI address in a device tree "ranges" entry (space code 0b10:
 * 32-bit memory, 0b11 with the prefetchable bit: 64-bit prefetchable memory).
 */
#define GUEST_VPCI_ADDR_TYPE_MEM		0x02000000ULL
#define GUEST_VPCI_MEM_ADDR			0x23000000ULL
#define GUEST_VPCI_MEM_SIZE			0x10000000ULL

/* 64-bit prefetchable memory window: 4 GB at 4 GB. */
#define GUEST_VPCI_ADDR_TYPE_PREFETCH_MEM	0x43000000ULL
#define GUEST_VPCI_PREFETCH_MEM_ADDR		0x100000000ULL
#define GUEST_VPCI_PREFETCH_MEM_SIZE		0x100000000ULL

/*
 * INTx of the virtual root complex.
 *
 * NOT part of Xen's public interface: Xen defines no legacy interrupts for
 * its virtual root complex. These are Linux's own choice, shared by the dom0
 * driver that raises INTx and by the device tree a guest is given (see
 * Documentation/devicetree/bindings/pci/xen-vpci.yaml).
 *
 * Four level-triggered SPIs, SPI 12 to 15, i.e. GIC interrupt IDs 44 to 47
 * (device tree cells <GIC_SPI 12 IRQ_TYPE_LEVEL_HIGH> to <GIC_SPI 15 ...>):
 * the first interrupt IDs above those Xen's toolstack hands out to an Arm
 * guest (vPL011 at interrupt ID 32, virtio-mmio at interrupt IDs 33 to 43,
 * GUEST_VIRTIO_MMIO_SPI_FIRST/LAST in Xen's arch-arm.h). The guest's
 * "nr_spis" (xl.cfg) must be at least XEN_VPCI_INTX_NR_SPIS_MIN.
 *
 * The dom0 side raises and lowers a line with XEN_DMOP_set_irq_level, whose
 * "irq" field is the GIC interrupt ID (XEN_VPCI_INTX_INTID()), not the SPI
 * number.
 *
 * INTA to INTD are swizzled by slot in the standard way: pin P (1 = INTA) of
 * slot S on the root bus uses SPI XEN_VPCI_INTX_SPI_BASE + ((S + P - 1) % 4).
 * Functions behind bridges are swizzled up to their root-bus slot first.
 */
#define XEN_VPCI_INTX_SPI_BASE		12
#define XEN_VPCI_INTX_NR_SPIS		4
#define XEN_VPCI_INTX_INTID_BASE	(XEN_VPCI_INTX_SPI_BASE + 32)
#define XEN_VPCI_INTX_NR_SPIS_MIN	(XEN_VPCI_INTX_SPI_BASE + \
					 XEN_VPCI_INTX_NR_SPIS)

/* SPI number of pin @pin (1 = INTA .. 4 = INTD) of root-bus slot @slot. */
#define XEN_VPCI_INTX_SPI(slot, pin)	(XEN_VPCI_INTX_SPI_BASE + \
					 (((slot) + (pin) - 1) % \
					  XEN_VPCI_INTX_NR_SPIS))

/* GIC interrupt ID of that pin, as XEN_DMOP_set_irq_level expects it. */
#define XEN_VPCI_INTX_INTID(slot, pin)	(XEN_VPCI_INTX_SPI(slot, pin) + 32)

#endif /* __XEN_PUBLIC_ARCH_ARM_H__ */
