/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure helpers of the xen-pci-ioreq driver: decoding guest accesses to
 * functions and registers, the INTx lines, and the table of BAR ranges.
 * They touch no state of their own, so the KUnit suite in
 * helpers-test.c can check them in isolation; the driver includes them
 * through xpi.h.
 */

#ifndef _XEN_PCI_IOREQ_HELPERS_H
#define _XEN_PCI_IOREQ_HELPERS_H

#include <linux/align.h>
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <linux/types.h>

#include <xen/pci-ioreq.h>
#include <xen/interface/arch-arm.h>

struct xpi_fn;

/* Where a configuration space access goes. */
struct xpi_cfg_access {
	u32 sbdf;	/* segment << 16 | bus << 8 | devfn */
	u16 reg;	/* register offset, 0-4095 */
};

/* The encoding of a function used throughout, as XEN_DMOP_PCI_SBDF(). */
static inline u32 xpi_sbdf(u16 segment, u8 bus, u8 devfn)
{
	return (u32)segment << 16 | (u32)bus << 8 | devfn;
}

static inline u16 xpi_sbdf_segment(u32 sbdf)
{
	return sbdf >> 16;
}

static inline u8 xpi_sbdf_bus(u32 sbdf)
{
	return (sbdf >> 8) & 0xff;
}

static inline u8 xpi_sbdf_devfn(u32 sbdf)
{
	return sbdf & 0xff;
}

/* An access size a backend may be handed: 1, 2, 4 or 8 bytes. */
static inline bool xpi_size_valid(u32 size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* The bits of a value that an access of @size bytes carries. */
static inline u64 xpi_size_mask(u32 size)
{
	if (!size || size >= sizeof(u64))
		return ~0ULL;
	return GENMASK_ULL(size * BITS_PER_BYTE - 1, 0);
}

enum xpi_decode {
	XPI_DECODE_OUTSIDE,	/* not in the window: not a config access */
	XPI_DECODE_INVALID,	/* in the window, but no function register */
	XPI_DECODE_OK,
};

/**
 * xpi_ecam_decode() - decode a guest access to an ECAM window
 * @base: guest physical base of the window
 * @len: its size in bytes
 * @addr: guest physical address of the access
 * @size: access size in bytes
 * @out: the function and register, when the result is %XPI_DECODE_OK
 *
 * ECAM gives each function 4 KiB of the window: bits 27-20 of the offset
 * are the bus, 19-15 the device, 14-12 the function, 11-0 the register.
 * An access that lies in the window only partly, or that has a size other
 * than 1, 2, 4 or 8, or is not naturally aligned (and could straddle two
 * functions), reaches no function register.
 *
 * Return: whether and how the access decodes.
 */
static inline enum xpi_decode xpi_ecam_decode(u64 base, u64 len, u64 addr,
					      u32 size,
					      struct xpi_cfg_access *out)
{
	u64 off;

	if (addr < base || addr - base >= len)
		return XPI_DECODE_OUTSIDE;
	off = addr - base;
	if (!xpi_size_valid(size) || len - off < size || (off & (size - 1)))
		return XPI_DECODE_INVALID;
	out->sbdf = xpi_sbdf(0, off >> 20, (off >> 12) & 0xff);
	out->reg = off & 0xfff;
	return XPI_DECODE_OK;
}

/**
 * xpi_pci_config_decode() - decode an IOREQ_TYPE_PCI_CONFIG request
 * @addr: the request's address: SBDF in bits 63-32, register in bits 31-0
 * @size: access size in bytes
 * @out: the function and register, on success
 *
 * Configuration accesses are 1, 2 or 4 bytes wide and stay within one
 * dword of the 4 KiB configuration space.
 *
 * Return: true if the request reaches a function register.
 */
static inline bool xpi_pci_config_decode(u64 addr, u32 size,
					 struct xpi_cfg_access *out)
{
	u32 reg = lower_32_bits(addr);

	if (size != 1 && size != 2 && size != 4)
		return false;
	if (reg >= 4096 || (reg & 3) + size > 4)
		return false;
	out->sbdf = upper_32_bits(addr);
	out->reg = reg;
	return true;
}

/* INTx lines a guest has: per interrupt ID (ECAM), per slot and pin (PCI). */
#define XPI_NR_INTX_LINES	(32 * 4)

/*
 * INTx of the default layout: Xen defines no legacy interrupts for its
 * virtual root complex, so these are our choice. SPIs 12 to 15 (GIC
 * interrupt IDs 44 to 47) are the first above those Xen's toolstack hands
 * out to an Arm guest (vPL011 at 32, virtio-mmio at 33 to 43); the guest's
 * "nr_spis" must then be at least 16. See
 * Documentation/userspace-api/xen-pci-ioreq.rst.
 */
#define XPI_DEFAULT_INTX_BASE	44
/* INTA to INTD of a root-bus slot are swizzled onto four lines. */
#define XPI_INTX_SWIZZLE	4
/* The last GIC interrupt ID of an SPI. */
#define XPI_GIC_LAST_SPI	1019

/**
 * xpi_intx_line() - the guest interrupt line of a root-bus INTx pin
 * @ecam: the Arm convention (shared SPIs) rather than Xen's x86 one
 * @slot: device number on the root bus, 0-31
 * @pin: 1 (INTA) to 4 (INTD)
 *
 * On Arm, pins are swizzled by slot onto four SPIs, so functions of
 * different slots share a line; on x86 Xen routes each slot and pin itself,
 * and a line is that pair.
 *
 * Return: the index of the line, below %XPI_NR_INTX_LINES.
 */
static inline unsigned int xpi_intx_line(bool ecam, u8 slot, u8 pin)
{
	if (ecam)
		return (slot + pin - 1) % XPI_INTX_SWIZZLE;
	return (slot & 31) * 4 + ((pin - 1) & 3);
}

/**
 * xpi_intx_intid() - the GIC interrupt ID of a root-bus INTx pin on Arm
 * @base: the interrupt ID of the layout's first INTx line
 * @slot: device number on the root bus, 0-31
 * @pin: 1 (INTA) to 4 (INTD)
 *
 * Return: the interrupt ID XEN_DMOP_set_irq_level takes for that pin.
 */
static inline u32 xpi_intx_intid(u32 base, u8 slot, u8 pin)
{
	return base + xpi_intx_line(true, slot, pin);
}

/* The bytes of ECAM space of one bus. */
#define XPI_ECAM_BUS_SIZE	SZ_1M

static inline bool xpi_window_valid(const struct xen_pci_ioreq_window *w,
				    u64 align)
{
	u64 last;

	if (!w->size)
		return !w->base;
	return IS_ALIGNED(w->base | w->size, align) &&
	       !check_add_overflow(w->base, w->size - 1, &last);
}

static inline bool xpi_windows_overlap(const struct xen_pci_ioreq_window *a,
				       const struct xen_pci_ioreq_window *b)
{
	return a->size && b->size && a->base <= b->base + (b->size - 1) &&
	       b->base <= a->base + (a->size - 1);
}

/* The three windows of a layout, for the checks below. */
static inline void xpi_layout_windows(const struct xen_pci_ioreq_layout *l,
				      const struct xen_pci_ioreq_window *w[3])
{
	w[0] = &l->ecam;
	w[1] = &l->mem[0];
	w[2] = &l->mem[1];
}

/* The MSI doorbell is one page of this size, aligned to it. */
#define XPI_MSI_DOORBELL_SIZE	SZ_4K

/* Whether the interrupt IDs [a, a + na) and [b, b + nb) overlap. */
static inline bool xpi_intids_overlap(u32 a, u32 na, u32 b, u32 nb)
{
	return na && nb && a < b + nb && b < a + na;
}

/*
 * The MSI part of a layout: none at all (every MSI field 0), or vectors
 * that are SPIs apart from the INTx lines and a doorbell page inside the
 * first (non-prefetchable) memory window. Part of xpi_layout_check().
 */
static inline int xpi_layout_msi_check(const struct xen_pci_ioreq_layout *l)
{
	const struct xen_pci_ioreq_window *mem = &l->mem[0];

	if (!l->msi_count)
		return l->msi_base || l->msi_doorbell ? -EINVAL : 0;
	if (l->msi_base < 32 || l->msi_base > XPI_GIC_LAST_SPI ||
	    l->msi_count > XPI_GIC_LAST_SPI + 1 - l->msi_base)
		return -EINVAL;
	if (xpi_intids_overlap(l->msi_base, l->msi_count, l->intx_base,
			       XPI_INTX_SWIZZLE))
		return -EINVAL;
	if (!IS_ALIGNED(l->msi_doorbell, XPI_MSI_DOORBELL_SIZE) ||
	    l->msi_doorbell < mem->base ||
	    l->msi_doorbell - mem->base >= mem->size ||
	    mem->size - (l->msi_doorbell - mem->base) < XPI_MSI_DOORBELL_SIZE)
		return -EINVAL;
	return 0;
}

/**
 * xpi_msi_intid() - the interrupt a message raises
 * @l: the layout of the root complex, checked by xpi_layout_check()
 * @address: the message address
 * @data: the message data
 * @intid: returns the GIC interrupt ID to raise
 *
 * A message of a function below a root complex with MSI is a write of a
 * vector number to the doorbell; vector n is interrupt @msi_base + n.
 *
 * Return: 0; -EOPNOTSUPP if the root complex has no MSI, -EINVAL if
 * @address is not its doorbell, -ERANGE if @data is not one of its vectors.
 */
static inline int xpi_msi_intid(const struct xen_pci_ioreq_layout *l,
				u64 address, u32 data, u32 *intid)
{
	if (!l->msi_count)
		return -EOPNOTSUPP;
	if (address != l->msi_doorbell)
		return -EINVAL;
	if (data >= l->msi_count)
		return -ERANGE;
	*intid = l->msi_base + data;
	return 0;
}

/**
 * xpi_layout_check() - whether a root complex layout can be served
 * @l: the layout a backend gave
 * @page_size: the guest's page size, the granule of its memory windows
 *
 * The ECAM window is 1 MiB aligned and holds 1 to 256 buses, the memory
 * windows are page aligned or empty, none wraps or overlaps another, the
 * four INTx lines are SPIs, the MSI vectors (if any) are SPIs apart from
 * them with their doorbell in a page of the first memory window, and the
 * reserved field is zero.
 *
 * Return: 0, or -EINVAL.
 */
static inline int xpi_layout_check(const struct xen_pci_ioreq_layout *l,
				   u64 page_size)
{
	const struct xen_pci_ioreq_window *w[3];
	unsigned int i, j;

	if (l->reserved || !l->ecam.size ||
	    l->ecam.size > 256 * XPI_ECAM_BUS_SIZE ||
	    !xpi_window_valid(&l->ecam, XPI_ECAM_BUS_SIZE))
		return -EINVAL;
	if (l->intx_base < 32 ||
	    l->intx_base > XPI_GIC_LAST_SPI - (XPI_INTX_SWIZZLE - 1))
		return -EINVAL;
	xpi_layout_windows(l, w);
	for (i = 0; i < 3; i++) {
		if (!xpi_window_valid(w[i], page_size))
			return -EINVAL;
		for (j = 0; j < i; j++) {
			if (xpi_windows_overlap(w[i], w[j]))
				return -EINVAL;
		}
	}
	return xpi_layout_msi_check(l);
}

/**
 * xpi_layouts_conflict() - whether two root complexes of a guest collide
 * @a: one layout
 * @b: the other
 *
 * Return: true if a window of one overlaps a window of the other, or their
 * interrupts (INTx lines and MSI vectors) overlap: both cannot be served to
 * one guest.
 */
static inline bool xpi_layouts_conflict(const struct xen_pci_ioreq_layout *a,
					const struct xen_pci_ioreq_layout *b)
{
	const struct xen_pci_ioreq_window *wa[3], *wb[3];
	unsigned int i, j;

	if (xpi_intids_overlap(a->intx_base, XPI_INTX_SWIZZLE,
			       b->intx_base, XPI_INTX_SWIZZLE) ||
	    xpi_intids_overlap(a->msi_base, a->msi_count,
			       b->intx_base, XPI_INTX_SWIZZLE) ||
	    xpi_intids_overlap(b->msi_base, b->msi_count,
			       a->intx_base, XPI_INTX_SWIZZLE) ||
	    xpi_intids_overlap(a->msi_base, a->msi_count,
			       b->msi_base, b->msi_count))
		return true;
	xpi_layout_windows(a, wa);
	xpi_layout_windows(b, wb);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++) {
			if (xpi_windows_overlap(wa[i], wb[j]))
				return true;
		}
	}
	return false;
}

/* A guest physical range of a BAR routed to a function. */
struct xpi_range {
	u64 start;
	u64 last;		/* inclusive */
	struct xpi_fn *fn;
	u8 bar;
};

/**
 * xpi_range_upper() - index of the first range that starts above @addr
 * @r: ranges, sorted by start, not overlapping
 * @n: number of ranges
 * @addr: guest physical address
 *
 * Return: the number of ranges starting at or below @addr, which is also
 * where a range starting at @addr is inserted.
 */
static inline unsigned int xpi_range_upper(const struct xpi_range *r,
					   unsigned int n, u64 addr)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (r[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/**
 * xpi_range_find() - the range an access lies entirely in
 * @r: ranges, sorted by start, not overlapping
 * @n: number of ranges
 * @addr: guest physical address of the access
 * @size: its size in bytes, non-zero
 *
 * Return: the index of the range, or -1 if the access is not entirely
 * inside one range.
 */
static inline int xpi_range_find(const struct xpi_range *r, unsigned int n,
				 u64 addr, u32 size)
{
	unsigned int i = xpi_range_upper(r, n, addr);
	u64 last;

	if (!i || !size || check_add_overflow(addr, (u64)size - 1, &last))
		return -1;
	return last <= r[i - 1].last ? (int)(i - 1) : -1;
}

/**
 * xpi_range_overlaps() - whether [@start, @last] overlaps one of the ranges
 * @r: ranges, sorted by start, not overlapping
 * @n: number of ranges
 * @start: first address
 * @last: last address, not below @start
 *
 * Return: true on an overlap.
 */
static inline bool xpi_range_overlaps(const struct xpi_range *r,
				      unsigned int n, u64 start, u64 last)
{
	unsigned int i = xpi_range_upper(r, n, last);

	/* Sorted and disjoint: r[i - 1] ends last of those starting <= @last */
	return i && r[i - 1].last >= start;
}

#endif /* _XEN_PCI_IOREQ_HELPERS_H */
