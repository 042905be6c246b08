// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the decoders of the xen-pci-ioreq driver (helpers.h): ECAM
 * and IOREQ_TYPE_PCI_CONFIG decoding, the INTx lines, and the BAR range
 * table. Built as the module xen-pci-ioreq-test, suite "xen-pci-ioreq",
 * which the test bed's guests load by those names.
 */

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/pci.h>

#include "helpers.h"

#define BASE	GUEST_VPCI_ECAM_BASE
#define LEN	GUEST_VPCI_ECAM_SIZE

static u64 ecam_addr(u8 bus, u8 dev, u8 fn, u16 reg)
{
	return BASE + ((u64)bus << 20 | (u64)dev << 15 | (u64)fn << 12 | reg);
}

static void ecam_fields(struct kunit *test)
{
	static const struct {
		u8 bus, dev, fn;
		u16 reg;
		u32 size;
	} cases[] = {
		{ 0, 0, 0, 0x000, 4 },
		{ 0, 0, 0, 0x000, 1 },
		{ 0, 0, 0, 0x002, 2 },
		{ 0, 1, 0, 0x010, 4 },
		{ 0, 31, 7, 0xffc, 4 },
		{ 0, 31, 7, 0xfff, 1 },
		{ 1, 0, 0, 0x100, 4 },
		{ 0x80, 0x10, 3, 0x3c, 1 },
		{ 0xff, 31, 7, 0xff8, 8 },
		{ 0xff, 31, 7, 0xfff, 1 },
	};
	struct xpi_cfg_access a;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 addr = ecam_addr(cases[i].bus, cases[i].dev, cases[i].fn,
				     cases[i].reg);

		KUNIT_ASSERT_EQ_MSG(test, xpi_ecam_decode(BASE, LEN, addr,
							  cases[i].size, &a),
				    XPI_DECODE_OK, "case %u", i);
		KUNIT_EXPECT_EQ(test, a.sbdf,
				xpi_sbdf(0, cases[i].bus,
					 PCI_DEVFN(cases[i].dev, cases[i].fn)));
		KUNIT_EXPECT_EQ(test, a.reg, cases[i].reg);
		KUNIT_EXPECT_EQ(test, xpi_sbdf_bus(a.sbdf), cases[i].bus);
		KUNIT_EXPECT_EQ(test, PCI_SLOT(xpi_sbdf_devfn(a.sbdf)),
				cases[i].dev);
		KUNIT_EXPECT_EQ(test, PCI_FUNC(xpi_sbdf_devfn(a.sbdf)),
				cases[i].fn);
	}
}

static void ecam_edges(struct kunit *test)
{
	struct xpi_cfg_access a;

	/* Outside the window, on either side. */
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, BASE - 1, 1, &a),
			XPI_DECODE_OUTSIDE);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, BASE - 4, 4, &a),
			XPI_DECODE_OUTSIDE);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, BASE + LEN, 4, &a),
			XPI_DECODE_OUTSIDE);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, 0, 4, &a),
			XPI_DECODE_OUTSIDE);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, ~0ULL, 1, &a),
			XPI_DECODE_OUTSIDE);
	/* First and last bytes. */
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, BASE, 1, &a),
			XPI_DECODE_OK);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, BASE + LEN - 1, 1, &a),
			XPI_DECODE_OK);
	KUNIT_EXPECT_EQ(test, a.sbdf, 0xffffU);
	KUNIT_EXPECT_EQ(test, a.reg, 0xfff);
	/* Running off the end of the window. */
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, BASE + LEN - 2, 4, &a),
			XPI_DECODE_INVALID);
	/* A small window: the end is checked against its own length. */
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, 0x1000, BASE + 0xffc, 8, &a),
			XPI_DECODE_INVALID);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, 0x1000, BASE + 0xffc, 4, &a),
			XPI_DECODE_OK);
}

static void ecam_sizes(struct kunit *test)
{
	static const u32 bad_sizes[] = { 0, 3, 5, 6, 7, 16, 32, 64, 4096 };
	u64 addr = ecam_addr(0, 3, 0, 0x40);
	struct xpi_cfg_access a;
	unsigned int i;
	u32 size;

	for (size = 1; size <= 8; size *= 2)
		KUNIT_EXPECT_EQ_MSG(test, xpi_ecam_decode(BASE, LEN, addr, size,
							  &a),
				    XPI_DECODE_OK, "size %u", size);
	for (i = 0; i < ARRAY_SIZE(bad_sizes); i++)
		KUNIT_EXPECT_EQ_MSG(test, xpi_ecam_decode(BASE, LEN, addr,
							  bad_sizes[i], &a),
				    XPI_DECODE_INVALID, "size %u", bad_sizes[i]);
	/* Misaligned: could straddle two functions. */
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, addr + 1, 2, &a),
			XPI_DECODE_INVALID);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, addr + 2, 4, &a),
			XPI_DECODE_INVALID);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, addr + 4, 8, &a),
			XPI_DECODE_INVALID);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN,
					      ecam_addr(0, 3, 0, 0xffe), 4, &a),
			XPI_DECODE_INVALID);
	KUNIT_EXPECT_EQ(test, xpi_ecam_decode(BASE, LEN, addr + 3, 1, &a),
			XPI_DECODE_OK);
	KUNIT_EXPECT_EQ(test, a.reg, 0x43);
}

static void size_mask(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, xpi_size_mask(1), 0xffULL);
	KUNIT_EXPECT_EQ(test, xpi_size_mask(2), 0xffffULL);
	KUNIT_EXPECT_EQ(test, xpi_size_mask(4), 0xffffffffULL);
	KUNIT_EXPECT_EQ(test, xpi_size_mask(8), ~0ULL);
	KUNIT_EXPECT_EQ(test, xpi_size_mask(0), ~0ULL);
	KUNIT_EXPECT_EQ(test, xpi_size_mask(64), ~0ULL);
	KUNIT_EXPECT_TRUE(test, xpi_size_valid(8));
	KUNIT_EXPECT_FALSE(test, xpi_size_valid(0));
	KUNIT_EXPECT_FALSE(test, xpi_size_valid(3));
	KUNIT_EXPECT_FALSE(test, xpi_size_valid(16));
}

static u64 pci_addr(u16 seg, u8 bus, u8 dev, u8 fn, u32 reg)
{
	return (u64)xpi_sbdf(seg, bus, PCI_DEVFN(dev, fn)) << 32 | reg;
}

static void pci_config(struct kunit *test)
{
	struct xpi_cfg_access a;

	KUNIT_ASSERT_TRUE(test, xpi_pci_config_decode(pci_addr(0, 0, 3, 0, 0),
						      4, &a));
	KUNIT_EXPECT_EQ(test, a.sbdf, 0x18U);
	KUNIT_EXPECT_EQ(test, a.reg, 0);

	KUNIT_ASSERT_TRUE(test,
			  xpi_pci_config_decode(pci_addr(0x1234, 0xab, 31, 7,
							 0xffc), 4, &a));
	KUNIT_EXPECT_EQ(test, xpi_sbdf_segment(a.sbdf), 0x1234);
	KUNIT_EXPECT_EQ(test, xpi_sbdf_bus(a.sbdf), 0xab);
	KUNIT_EXPECT_EQ(test, xpi_sbdf_devfn(a.sbdf), PCI_DEVFN(31, 7));
	KUNIT_EXPECT_EQ(test, a.reg, 0xffc);

	/* Bytes and words inside a dword, as CF8/CFC produces them. */
	KUNIT_EXPECT_TRUE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0x3d),
						      1, &a));
	KUNIT_EXPECT_EQ(test, a.reg, 0x3d);
	KUNIT_EXPECT_TRUE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0x06),
						      2, &a));
	KUNIT_EXPECT_TRUE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0x05),
						      2, &a));
	KUNIT_EXPECT_EQ(test, a.reg, 0x05);

	/* Crossing a dword, beyond 4 KiB, or a size config space lacks. */
	KUNIT_EXPECT_FALSE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0x07),
						       2, &a));
	KUNIT_EXPECT_FALSE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0x02),
						       4, &a));
	KUNIT_EXPECT_FALSE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0x1000),
						       1, &a));
	KUNIT_EXPECT_FALSE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0,
								0xffffffff),
						       1, &a));
	KUNIT_EXPECT_FALSE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0),
						       8, &a));
	KUNIT_EXPECT_FALSE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0),
						       3, &a));
	KUNIT_EXPECT_FALSE(test, xpi_pci_config_decode(pci_addr(0, 0, 1, 0, 0),
						       0, &a));
}

static void intx_arm(struct kunit *test)
{
	unsigned int slot, pin;

	/* Slot 0: INTA-INTD on SPIs 12-15, i.e. interrupt IDs 44-47. */
	for (pin = 1; pin <= 4; pin++)
		KUNIT_EXPECT_EQ(test, xpi_intx_intid(XPI_DEFAULT_INTX_BASE, 0,
						     pin), 43 + pin);
	/* Slot 1 rotates by one: INTA on 45, INTD back on 44. */
	KUNIT_EXPECT_EQ(test, xpi_intx_intid(44, 1, 1), 45U);
	KUNIT_EXPECT_EQ(test, xpi_intx_intid(44, 1, 4), 44U);
	KUNIT_EXPECT_EQ(test, xpi_intx_intid(44, 3, 2), 44U);
	KUNIT_EXPECT_EQ(test, xpi_intx_intid(44, 4, 1), 44U);
	KUNIT_EXPECT_EQ(test, xpi_intx_intid(44, 31, 1), 47U);
	/* Another layout's lines: the same swizzle from its base. */
	KUNIT_EXPECT_EQ(test, xpi_intx_intid(100, 2, 3), 100U);
	KUNIT_EXPECT_EQ(test, xpi_intx_intid(100, 0, 1), 100U);

	for (slot = 0; slot < 32; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			u32 id = xpi_intx_intid(48, slot, pin);
			unsigned int line = xpi_intx_line(true, slot, pin);

			KUNIT_EXPECT_GE(test, id, 48U);
			KUNIT_EXPECT_LT(test, id, 48U + XPI_INTX_SWIZZLE);
			/* The same line is the same interrupt ID. */
			KUNIT_EXPECT_EQ(test, line, id - 48);
			KUNIT_EXPECT_EQ(test, id, (slot + pin - 1) % 4 + 48);
		}
	}
}

/* A layout like Xen's guest layout, and checks of what may vary in it. */
static void layout_check(struct kunit *test)
{
	const struct xen_pci_ioreq_layout def = {
		.ecam = { 0x10000000, 0x10000000 },
		.mem = { { 0x23000000, 0x10000000 },
			 { 0x100000000ULL, 0x100000000ULL } },
		.intx_base = 44,
	};
	struct xen_pci_ioreq_layout l;

	KUNIT_EXPECT_EQ(test, xpi_layout_check(&def, SZ_4K), 0);
	/* One bus of ECAM, no memory windows: enough. */
	l = (struct xen_pci_ioreq_layout){ .ecam = { 0xf100000000ULL, SZ_1M },
					   .intx_base = 32 };
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), 0);
	l.intx_base = XPI_GIC_LAST_SPI - 3;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), 0);
	l.intx_base = XPI_GIC_LAST_SPI - 2;	/* INTD past the last SPI */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.intx_base = 31;			/* a PPI */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);

	l = def;
	l.ecam.size = 0;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.ecam.size = 257 * SZ_1M;		/* more than 256 buses */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.ecam.size = SZ_1M + SZ_4K;		/* not whole buses */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l = def;
	l.ecam.base += SZ_4K;			/* not bus aligned */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l = def;
	l.mem[0].base += 0x800;			/* not page aligned */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l = def;
	l.mem[1].size = 0;			/* no prefetchable window */
	l.mem[1].base = 0;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), 0);
	l.mem[1].base = SZ_4K;			/* empty, yet somewhere */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l = def;
	l.mem[1] = (struct xen_pci_ioreq_window){ ~0ULL - SZ_4K + 1, SZ_8K };
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l = def;
	l.mem[0].base = 0x1ff00000;		/* overlaps ECAM's last bus */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l = def;
	l.mem[0] = l.mem[1];			/* the same window twice */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l = def;
	l.reserved = 1;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
}

/* Two root complexes of one guest: apart, or in each other's way. */
static void layout_conflict(struct kunit *test)
{
	const struct xen_pci_ioreq_layout a = {
		.ecam = { 0x10000000, 0x10000000 },
		.mem = { { 0x23000000, 0x10000000 } },
		.intx_base = 44,
	};
	struct xen_pci_ioreq_layout b = {
		.ecam = { 0xf100000000ULL, 0x1000000 },
		.mem = { { 0x34000000, 0x4000000 },
			 { 0xf000000000ULL, 0x100000000ULL } },
		.intx_base = 48,
	};

	KUNIT_EXPECT_FALSE(test, xpi_layouts_conflict(&a, &b));
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&a, &a));
	b.intx_base = 47;			/* shares INTD's line */
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&a, &b));
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&b, &a));
	b.intx_base = 41;			/* its INTD is a's INTA */
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&a, &b));
	b.intx_base = 40;			/* lines 40-43: next to a's */
	KUNIT_EXPECT_FALSE(test, xpi_layouts_conflict(&a, &b));
	b.intx_base = 48;
	b.mem[0].base = 0x32fff000;		/* last page of a's window */
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&a, &b));
	b.mem[0].base = 0x34000000;
	b.mem[1].base = 0x10000000;		/* over a's ECAM window */
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&a, &b));
}

/* A root complex with MSI: 32 vectors, the doorbell in its 32-bit window. */
static const struct xen_pci_ioreq_layout msi_layout = {
	.ecam = { 0x10000000, 0x10000000 },
	.mem = { { 0x23000000, 0x10000000 } },
	.intx_base = 44,
	.msi_base = 48,
	.msi_doorbell = 0x32fff000,
	.msi_count = 32,
};

static void layout_msi(struct kunit *test)
{
	struct xen_pci_ioreq_layout l = msi_layout;

	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), 0);
	l.msi_doorbell = 0x23000000;		/* the first page: fine too */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), 0);
	l.msi_doorbell = 0x23000800;		/* not page aligned */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.msi_doorbell = 0x33000000;		/* right after the window */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.msi_doorbell = 0x22fff000;		/* right before it */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.msi_doorbell = 0;			/* vectors without a doorbell */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);

	l = msi_layout;
	l.msi_base = 46;			/* over INTC and INTD */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.msi_base = 12;			/* SGIs and PPIs */
	l.msi_count = 20;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.msi_base = 32;			/* up to INTA, apart from it */
	l.msi_count = 12;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), 0);
	l.msi_base = XPI_GIC_LAST_SPI;		/* the last SPI alone */
	l.msi_count = 1;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), 0);
	l.msi_count = 2;			/* one past it */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.msi_base = 48;
	l.msi_count = U32_MAX;			/* no wrap-around */
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);

	/* No MSI: every MSI field 0. */
	l = msi_layout;
	l.msi_count = 0;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.msi_base = 0;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), -EINVAL);
	l.msi_doorbell = 0;
	KUNIT_EXPECT_EQ(test, xpi_layout_check(&l, SZ_4K), 0);
}

/* A message raises its vector's SPI, or is refused with the reason. */
static void msi_message(struct kunit *test)
{
	struct xen_pci_ioreq_layout l = msi_layout;
	u32 intid = 0;

	KUNIT_EXPECT_EQ(test, xpi_msi_intid(&l, 0x32fff000, 0, &intid), 0);
	KUNIT_EXPECT_EQ(test, intid, 48U);
	KUNIT_EXPECT_EQ(test, xpi_msi_intid(&l, 0x32fff000, 31, &intid), 0);
	KUNIT_EXPECT_EQ(test, intid, 79U);
	KUNIT_EXPECT_EQ(test, xpi_msi_intid(&l, 0x32fff000, 32, &intid), -ERANGE);
	KUNIT_EXPECT_EQ(test, xpi_msi_intid(&l, 0x32fff000, U32_MAX, &intid),
			-ERANGE);
	KUNIT_EXPECT_EQ(test, xpi_msi_intid(&l, 0x32fff004, 0, &intid), -EINVAL);
	KUNIT_EXPECT_EQ(test, xpi_msi_intid(&l, 0, 0, &intid), -EINVAL);
	KUNIT_EXPECT_EQ(test, intid, 79U);	/* untouched when refused */
	l.msi_count = 0;
	l.msi_base = 0;
	l.msi_doorbell = 0;
	KUNIT_EXPECT_EQ(test, xpi_msi_intid(&l, 0, 0, &intid), -EOPNOTSUPP);
}

/* Root complexes of one guest: MSI vectors apart from all other lines. */
static void layout_conflict_msi(struct kunit *test)
{
	struct xen_pci_ioreq_layout b = {
		.ecam = { 0xf100000000ULL, 0x1000000 },
		.mem = { { 0x34000000, 0x4000000 } },
		.intx_base = 96,
		.msi_base = 100,
		.msi_doorbell = 0x34000000,
		.msi_count = 16,
	};

	KUNIT_EXPECT_FALSE(test, xpi_layouts_conflict(&msi_layout, &b));
	b.msi_base = 79;			/* a's last vector */
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&msi_layout, &b));
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&b, &msi_layout));
	b.msi_base = 80;
	KUNIT_EXPECT_FALSE(test, xpi_layouts_conflict(&msi_layout, &b));
	b.intx_base = 60;			/* b's INTx on a's vectors */
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&msi_layout, &b));
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&b, &msi_layout));
	b.intx_base = 96;
	b.msi_base = 40;			/* b's vectors on a's INTx */
	b.msi_count = 8;
	KUNIT_EXPECT_TRUE(test, xpi_layouts_conflict(&msi_layout, &b));
}

static void intx_x86(struct kunit *test)
{
	DECLARE_BITMAP(seen, XPI_NR_INTX_LINES);
	unsigned int slot, pin;

	bitmap_zero(seen, XPI_NR_INTX_LINES);
	/* Every slot and pin is its own line. */
	for (slot = 0; slot < 32; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			unsigned int line = xpi_intx_line(false, slot, pin);

			KUNIT_ASSERT_LT(test, line, XPI_NR_INTX_LINES);
			KUNIT_EXPECT_FALSE(test, test_bit(line, seen));
			__set_bit(line, seen);
		}
	}
	KUNIT_EXPECT_TRUE(test, bitmap_full(seen, XPI_NR_INTX_LINES));
}

static const struct xpi_range ranges[] = {
	{ .start = 0x23000000, .last = 0x230000ff, .bar = 0 },
	{ .start = 0x23001000, .last = 0x23001fff, .bar = 1 },
	/* Adjacent to the previous one: Xen merges them, we must not. */
	{ .start = 0x23002000, .last = 0x23002fff, .bar = 2 },
	{ .start = 0x100000000ULL, .last = 0x10fffffffULL, .bar = 4 },
	{ .start = 0xfffffffffffff000ULL, .last = ~0ULL, .bar = 6 },
};

static void range_find(struct kunit *test)
{
	unsigned int n = ARRAY_SIZE(ranges);

	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, 0, 0x23000000, 4), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x23000000, 4), 0);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x230000fc, 4), 0);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x230000ff, 1), 0);
	/* Partly outside: not forwarded to anyone. */
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x230000fe, 4), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x23000100, 1), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x22ffffff, 1), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x22fffffc, 8), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x23001000, 8), 1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x23001ff8, 8), 1);
	/* Straddling two adjacent ranges. */
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x23001ffc, 8), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x23002000, 4), 2);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x23003000, 4), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x100000000ULL, 8), 3);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x10ffffff8ULL, 8), 3);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x10ffffffcULL, 8), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0, 1), -1);
	/* The very top of the address space: no wrap-around. */
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, ~0ULL, 1), 4);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, ~0ULL - 7, 8), 4);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, ~0ULL - 3, 8), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(ranges, n, 0x23000000, 0), -1);
}

static void range_overlaps(struct kunit *test)
{
	unsigned int n = ARRAY_SIZE(ranges);

	KUNIT_EXPECT_FALSE(test, xpi_range_overlaps(ranges, 0, 0, ~0ULL));
	KUNIT_EXPECT_TRUE(test, xpi_range_overlaps(ranges, n, 0, ~0ULL));
	KUNIT_EXPECT_FALSE(test, xpi_range_overlaps(ranges, n, 0, 0x22ffffff));
	KUNIT_EXPECT_TRUE(test, xpi_range_overlaps(ranges, n, 0, 0x23000000));
	KUNIT_EXPECT_TRUE(test, xpi_range_overlaps(ranges, n, 0x230000ff,
						   0x230000ff));
	KUNIT_EXPECT_FALSE(test, xpi_range_overlaps(ranges, n, 0x23000100,
						    0x23000fff));
	KUNIT_EXPECT_TRUE(test, xpi_range_overlaps(ranges, n, 0x23000100,
						   0x23001000));
	KUNIT_EXPECT_TRUE(test, xpi_range_overlaps(ranges, n, 0x23000800,
						   0x23003fff));
	KUNIT_EXPECT_FALSE(test, xpi_range_overlaps(ranges, n, 0x23003000,
						    0xffffffff));
	KUNIT_EXPECT_TRUE(test, xpi_range_overlaps(ranges, n, 0x10fffffffULL,
						   0x110000000ULL));
	KUNIT_EXPECT_FALSE(test, xpi_range_overlaps(ranges, n, 0x110000000ULL,
						    0xffffffffffffefffULL));
	KUNIT_EXPECT_TRUE(test, xpi_range_overlaps(ranges, n, ~0ULL, ~0ULL));
}

static void range_insert(struct kunit *test)
{
	struct xpi_range r[8] = { };
	static const u64 starts[] = { 0x5000, 0x1000, 0x9000, 0x3000, 0x7000,
				      0x0, 0x8000, 0x2000 };
	unsigned int n = 0, i, pos;

	/* Insert where xpi_range_upper() says: the table stays sorted. */
	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		KUNIT_ASSERT_FALSE(test, xpi_range_overlaps(r, n, starts[i],
							    starts[i] + 0xfff));
		pos = xpi_range_upper(r, n, starts[i]);
		memmove(&r[pos + 1], &r[pos], (n - pos) * sizeof(r[0]));
		r[pos].start = starts[i];
		r[pos].last = starts[i] + 0xfff;
		r[pos].bar = i;
		n++;
	}
	for (i = 1; i < n; i++)
		KUNIT_EXPECT_LT(test, r[i - 1].last, r[i].start);
	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		int k = xpi_range_find(r, n, starts[i] + 0x10, 4);

		KUNIT_ASSERT_GE(test, k, 0);
		KUNIT_EXPECT_EQ(test, r[k].bar, i);
		KUNIT_EXPECT_TRUE(test, xpi_range_overlaps(r, n, starts[i] + 0x800,
							   starts[i] + 0x1800));
	}
	KUNIT_EXPECT_EQ(test, xpi_range_find(r, n, 0x4000, 4), -1);
	KUNIT_EXPECT_EQ(test, xpi_range_find(r, n, 0x6ffc, 8), -1);
}

static struct kunit_case xen_pci_ioreq_cases[] = {
	KUNIT_CASE(ecam_fields),
	KUNIT_CASE(ecam_edges),
	KUNIT_CASE(ecam_sizes),
	KUNIT_CASE(size_mask),
	KUNIT_CASE(pci_config),
	KUNIT_CASE(intx_arm),
	KUNIT_CASE(intx_x86),
	KUNIT_CASE(layout_check),
	KUNIT_CASE(layout_conflict),
	KUNIT_CASE(layout_msi),
	KUNIT_CASE(layout_conflict_msi),
	KUNIT_CASE(msi_message),
	KUNIT_CASE(range_find),
	KUNIT_CASE(range_overlaps),
	KUNIT_CASE(range_insert),
	{}
};

static struct kunit_suite xen_pci_ioreq_suite = {
	.name = "xen-pci-ioreq",
	.test_cases = xen_pci_ioreq_cases,
};

kunit_test_suite(xen_pci_ioreq_suite);

MODULE_DESCRIPTION("KUnit tests of the xen-pci-ioreq decoders");
MODULE_LICENSE("GPL");
