// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the MSI controller of the Xen virtual PCIe root complex.
 *
 * The code under test is what pcie-xen-vpci decides on its own, without a
 * GIC or a bus: which "msi-ranges" and doorbells it accepts, how it hands out
 * vectors (one at a time for MSI-X, aligned power-of-two blocks for multi-MSI,
 * -ENOSPC when the range is used up so that the PCI core and the driver fall
 * back to fewer vectors, then INTx), the GIC specifier of each vector, and the
 * message, the contract with the device model: data n written to the
 * doorbell raises SPI base + n.
 */

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/ioport.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/msi.h>
#include <linux/of.h>

#include <dt-bindings/interrupt-controller/arm-gic.h>

#include "pcie-xen-vpci.h"

static struct of_phandle_args spi_spec(u32 type, u32 spi, u32 trigger)
{
	struct of_phandle_args spec = {
		.args_count = 3,
		.args = { type, spi, trigger },
	};

	return spec;
}

static void xen_vpci_msi_test_range(struct kunit *test)
{
	struct of_phandle_args spec = spi_spec(GIC_SPI, 16, IRQ_TYPE_EDGE_RISING);
	u32 last;

	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, 32), 0);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, 1), 0);
	/* up to the last SPI, and not one more */
	last = XEN_VPCI_GIC_SPI_MAX + 1 - 16;
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, last), 0);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, last + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, U32_MAX), -EINVAL);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, 0), -EINVAL);

	spec = spi_spec(GIC_SPI, XEN_VPCI_GIC_SPI_MAX, IRQ_TYPE_EDGE_RISING);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, 1), 0);
	spec = spi_spec(GIC_SPI, XEN_VPCI_GIC_SPI_MAX + 1, IRQ_TYPE_EDGE_RISING);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, 1), -EINVAL);

	/* a PPI, a level SPI, a four-cell specifier */
	spec = spi_spec(GIC_PPI, 16, IRQ_TYPE_EDGE_RISING);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, 4), -EINVAL);
	spec = spi_spec(GIC_SPI, 16, IRQ_TYPE_LEVEL_HIGH);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, 4), -EINVAL);
	spec = spi_spec(GIC_SPI, 16, IRQ_TYPE_EDGE_RISING);
	spec.args_count = 4;
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_range(&spec, 4), -EINVAL);
}

static void xen_vpci_msi_test_doorbell(struct kunit *test)
{
	struct resource win = DEFINE_RES_MEM(0x23000000, SZ_256M);
	struct resource db;

	db = DEFINE_RES_MEM(0x23000000, SZ_4K);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_doorbell(&db, &win), 0);
	db = DEFINE_RES_MEM(0x23000000 + SZ_256M - SZ_4K, SZ_4K);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_doorbell(&db, &win), 0);

	/* misaligned, not one page, across the end, outside */
	db = DEFINE_RES_MEM(0x23000800, SZ_4K);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_doorbell(&db, &win), -EINVAL);
	db = DEFINE_RES_MEM(0x23000000, SZ_8K);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_doorbell(&db, &win), -EINVAL);
	db = DEFINE_RES_MEM(0x23000000, 4);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_doorbell(&db, &win), -EINVAL);
	db = DEFINE_RES_MEM(0x23000000 + SZ_256M, SZ_4K);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_doorbell(&db, &win), -EINVAL);
	db = DEFINE_RES_MEM(0x22fff000, SZ_4K);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_check_doorbell(&db, &win), -EINVAL);
}

/* MSI-X: one vector at a time, every vector once, then -ENOSPC. */
static void xen_vpci_msi_test_alloc_single(struct kunit *test)
{
	DECLARE_BITMAP(used, 32) = { };
	int i;

	for (i = 0; i < 5; i++)
		KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 5, 1), i);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 5, 1), -ENOSPC);
	KUNIT_EXPECT_EQ(test, bitmap_weight(used, 32), 5U);

	/* a vector given back is the next one handed out */
	xen_vpci_msi_free_vecs(used, 3, 1);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 5, 1), 3);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 5, 1), -ENOSPC);

	for (i = 0; i < 5; i++)
		xen_vpci_msi_free_vecs(used, i, 1);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(used, 32));
}

/* Multi-MSI: blocks of a power of two, aligned to their size. */
static void xen_vpci_msi_test_alloc_blocks(struct kunit *test)
{
	DECLARE_BITMAP(used, 32) = { };

	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 8, 1), 0);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 8, 4), 4);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 8, 2), 2);
	/* three vectors take a block of four: none is left */
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 8, 3), -ENOSPC);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 8, 1), 1);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 8, 1), -ENOSPC);

	xen_vpci_msi_free_vecs(used, 4, 4);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 8, 3), 4);
	KUNIT_EXPECT_EQ(test, bitmap_weight(used, 32), 8U);

	/* a block never runs past a range that is not a power of two */
	bitmap_zero(used, 32);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 6, 4), 0);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 6, 4), -ENOSPC);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 6, 2), 4);
	KUNIT_EXPECT_EQ(test, xen_vpci_msi_alloc_vecs(used, 6, 1), -ENOSPC);
	KUNIT_EXPECT_FALSE(test, test_bit(6, used));
}

static void xen_vpci_msi_test_spec(struct kunit *test)
{
	struct irq_fwspec base = {
		.param_count = 3,
		.param = { GIC_SPI, 16, IRQ_TYPE_EDGE_RISING },
	};
	struct irq_fwspec spec;

	xen_vpci_msi_spec(&base, 0, &spec);
	KUNIT_EXPECT_EQ(test, spec.param[1], 16U);
	xen_vpci_msi_spec(&base, 31, &spec);
	KUNIT_EXPECT_EQ(test, spec.param_count, 3);
	KUNIT_EXPECT_EQ(test, spec.param[0], (u32)GIC_SPI);
	KUNIT_EXPECT_EQ(test, spec.param[1], 47U);
	KUNIT_EXPECT_EQ(test, spec.param[2], (u32)IRQ_TYPE_EDGE_RISING);
	/* the base is left as it was */
	KUNIT_EXPECT_EQ(test, base.param[1], 16U);
}

static void xen_vpci_msi_test_message(struct kunit *test)
{
	struct msi_msg msg;

	xen_vpci_msi_message(0x2ffff000, 7, &msg);
	KUNIT_EXPECT_EQ(test, msg.address_hi, 0U);
	KUNIT_EXPECT_EQ(test, msg.address_lo, 0x2ffff000U);
	KUNIT_EXPECT_EQ(test, msg.data, 7U);

	xen_vpci_msi_message(0xf0000ff000ULL, 0, &msg);
	KUNIT_EXPECT_EQ(test, msg.address_hi, 0xf0U);
	KUNIT_EXPECT_EQ(test, msg.address_lo, 0x000ff000U);
	KUNIT_EXPECT_EQ(test, msg.data, 0U);
}

static struct kunit_case xen_vpci_msi_test_cases[] = {
	KUNIT_CASE(xen_vpci_msi_test_range),
	KUNIT_CASE(xen_vpci_msi_test_doorbell),
	KUNIT_CASE(xen_vpci_msi_test_alloc_single),
	KUNIT_CASE(xen_vpci_msi_test_alloc_blocks),
	KUNIT_CASE(xen_vpci_msi_test_spec),
	KUNIT_CASE(xen_vpci_msi_test_message),
	{ }
};

static struct kunit_suite xen_vpci_msi_test_suite = {
	.name = "pcie-xen-vpci-msi",
	.test_cases = xen_vpci_msi_test_cases,
};

kunit_test_suite(xen_vpci_msi_test_suite);

MODULE_DESCRIPTION("KUnit tests for the MSI controller of the Xen virtual PCIe root complex");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
