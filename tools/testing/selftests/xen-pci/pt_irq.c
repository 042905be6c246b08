// SPDX-License-Identifier: GPL-2.0
/*
 * pt_irq: the interrupts of a device passed through by
 * samples/xen/pci-passthrough, taken by the guest's own PCI core. The
 * device is QEMU's edu (1234:11e8), which dom0 binds to vfio-pci: it raises
 * an interrupt when a register is written, INTx or MSI, and needs no DMA.
 * The test module msi_test/xen_pci_edu_test.ko takes the interrupt and
 * raises the next one from a work item its handler queues, so that a lost
 * interrupt stops the chain.
 *
 * - intx: 10,000 interrupts on INTx (dom0 masks the host line, the guest's
 *   access to the device while it is pending unmasks it), none lost
 * - msi: 10,000 on MSI (the host vector's eventfd is an MSI irqfd of dom0's
 *   driver: the guest's SPI is raised in dom0's kernel), none lost, none
 *   spurious, and the function's MSI Enable set in its config space
 * - intx_after_msi: the device goes back to INTx when the guest turns MSI
 *   off: 1,000 more, none lost
 *
 * Skips where no edu device is passed through (a guest without it, dom0,
 * bare QEMU).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "../kselftest_harness.h"
#include "lib/pci_util.h"

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define MOD_NAME	"xen_pci_edu_test"
#define MOD_PATH	"msi_test/" MOD_NAME ".ko"
#define DBG_DIR		"/sys/kernel/debug/" MOD_NAME
#define CHAIN		10000
#define STALL_S		20	/* no interrupt for this long: one is lost */

struct counts {
	long long taken, spurious, errors;
	int left;
};

FIXTURE(edu) {
	char bdf[EMU_BDF_LEN];
	char dir[128];
	int cfg;
	bool bound;
};

static int dbg_write(const char *dir, const char *file, const char *val)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return sysfs_write(path, val);
}

static bool read_counts(const char *dir, struct counts *c)
{
	char path[192];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/counts", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fscanf(f, "taken %lld left %d spurious %lld errors %lld", &c->taken,
		   &c->left, &c->spurious, &c->errors);
	fclose(f);
	return n == 4;
}

/* The IRQ of the mode the module has now, or -1. */
static int mode_irq(const char *dir, char *mode, size_t len)
{
	char path[192], buf[64], m[16];
	int irq;

	snprintf(path, sizeof(path), "%s/mode", dir);
	if (sysfs_read(path, buf, sizeof(buf)) ||
	    sscanf(buf, "%15s %d", m, &irq) != 2)
		return -1;
	snprintf(mode, len, "%s", m);
	return irq;
}

/*
 * Raise @n interrupts in a chain and wait for them, as long as they keep
 * coming; the counts at the end go to *@end.
 */
static void chain(struct __test_metadata *_metadata, const char *dir,
		  long long n, struct counts *end)
{
	struct counts c0, c;
	long long last = -1;
	double stall = now() + STALL_S, t0 = now();
	char val[24];

	ASSERT_TRUE(read_counts(dir, &c0));
	snprintf(val, sizeof(val), "%lld", n);
	ASSERT_EQ(0, dbg_write(dir, "chain", val));
	for (;;) {
		ASSERT_TRUE(read_counts(dir, &c));
		if (c.taken - c0.taken >= n || now() > stall)
			break;
		if (c.taken != last) {
			last = c.taken;
			stall = now() + STALL_S;
		}
		usleep(10000);
	}
	dbg_write(dir, "chain", "0");
	TH_LOG("%lld of %lld interrupts in %.1f s, %lld spurious",
	       c.taken - c0.taken, n, now() - t0, c.spurious - c0.spurious);
	c.taken -= c0.taken;
	c.spurious -= c0.spurious;
	c.errors -= c0.errors;
	/* a status of all ones: a read that did not reach the device */
	EXPECT_EQ(0, c.errors);
	*end = c;
}

static void set_mode(struct __test_metadata *_metadata, const char *dir,
		     const char *mode, int *irq)
{
	char m[16];

	ASSERT_EQ(0, dbg_write(dir, "mode", "none"));
	ASSERT_EQ(0, dbg_write(dir, "mode", mode))
		TH_LOG("the module could not take %s (its dmesg says why)", mode);
	*irq = mode_irq(dir, m, sizeof(m));
	ASSERT_LT(0, *irq);
	ASSERT_STREQ(mode, m);
}

/* Offset of the function's MSI capability in its config space, or 0. */
static unsigned int msi_cap(int cfg)
{
	__u32 v;
	unsigned int c, n;

	if (cfg_read(cfg, PCI_STATUS, 2, &v) || !(v & PCI_STATUS_CAP_LIST) ||
	    cfg_read(cfg, PCI_CAPABILITY_LIST, 1, &v))
		return 0;
	for (c = v & ~3U, n = 0; c >= 0x40 && n < 48; n++) {
		if (cfg_read(cfg, c, 2, &v))
			return 0;
		if ((v & 0xff) == PCI_CAP_ID_MSI)
			return c;
		c = (v >> 8) & ~3U;
	}
	return 0;
}

FIXTURE_SETUP(edu)
{
	char type[16], why[128];
	int ret;

	self->cfg = -1;
	if (sysfs_read("/sys/hypervisor/type", type, sizeof(type)) ||
	    strcmp(type, "xen"))
		SKIP(return, "not a Xen guest: nothing is passed through here");
	if (!dev_find(EDU_VENDOR, EDU_DEVICE, self->bdf))
		SKIP(return, "no edu device passed through to this system");
	if (geteuid())
		SKIP(return, "needs root");
	if (!access("/dev/xen/pci-ioreq", F_OK))
		SKIP(return, "this is dom0, whose edu device a guest takes");
	ret = test_module_bind(self->bdf, MOD_PATH, MOD_NAME, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", why, strerror(-ret));
	self->bound = true;
	snprintf(self->dir, sizeof(self->dir), "%s/%s", DBG_DIR, self->bdf);
	self->cfg = dev_cfg_open(self->bdf);
	ASSERT_LE(0, self->cfg);
}

FIXTURE_TEARDOWN(edu)
{
	if (self->cfg >= 0)
		close(self->cfg);
	if (self->bound)
		dev_unbind_override(self->bdf, MOD_NAME);
}

TEST_F_TIMEOUT(edu, intx, 600)
{
	struct counts c;
	__u32 pin;
	int irq;

	ASSERT_EQ(0, cfg_read(self->cfg, PCI_INTERRUPT_PIN, 1, &pin));
	ASSERT_NE(0, pin) TH_LOG("Interrupt Pin reads 0: INTx not forwarded");
	set_mode(_metadata, self->dir, "intx", &irq);
	chain(_metadata, self->dir, CHAIN, &c);
	EXPECT_EQ(CHAIN, c.taken);
	EXPECT_EQ(0, c.left);
	EXPECT_LE(CHAIN, irq_count(irq));
}

TEST_F_TIMEOUT(edu, msi, 600)
{
	unsigned int cap = msi_cap(self->cfg);
	struct counts c;
	__u32 ctrl;
	int irq;

	ASSERT_NE(0, cap) TH_LOG("no MSI capability: MSI not forwarded");
	set_mode(_metadata, self->dir, "msi", &irq);
	ASSERT_EQ(0, cfg_read(self->cfg, cap + PCI_MSI_FLAGS, 2, &ctrl));
	EXPECT_TRUE(ctrl & PCI_MSI_FLAGS_ENABLE);
	chain(_metadata, self->dir, CHAIN, &c);
	EXPECT_EQ(CHAIN, c.taken);
	EXPECT_EQ(0, c.left);
	/* an edge for each message, nothing left to find */
	EXPECT_EQ(0, c.spurious);
	EXPECT_LE(CHAIN, irq_count(irq));
	ASSERT_EQ(0, dbg_write(self->dir, "mode", "none"));
	ASSERT_EQ(0, cfg_read(self->cfg, cap + PCI_MSI_FLAGS, 2, &ctrl));
	EXPECT_FALSE(ctrl & PCI_MSI_FLAGS_ENABLE);
}

TEST_F_TIMEOUT(edu, intx_after_msi, 300)
{
	struct counts c;
	int irq;

	if (!msi_cap(self->cfg))
		SKIP(return, "no MSI capability");
	set_mode(_metadata, self->dir, "msi", &irq);
	chain(_metadata, self->dir, 10, &c);
	ASSERT_EQ(10, c.taken);
	set_mode(_metadata, self->dir, "intx", &irq);
	chain(_metadata, self->dir, CHAIN / 10, &c);
	EXPECT_EQ(CHAIN / 10, c.taken);
	EXPECT_EQ(0, c.left);
}

TEST_HARNESS_MAIN
