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
 *
 * Xen defines them for itself and its toolstack (__XEN__, __XEN_TOOLS__):
 * they are where libxl puts the root complex of an Arm guest today, not an
 * interface a guest or dom0 kernel may rely on. Linux uses them only as
 * defaults: the layout /dev/xen/pci-ioreq serves when a backend names none,
 * and the address by which a domU recognises the node libxl generates.
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

#endif /* __XEN_PUBLIC_ARCH_ARM_H__ */
