// SPDX-License-Identifier: GPL-2.0
/*
 * pci_msi: MSI-X in a Xen guest whose root complex is its MSI controller
 * (pcie-xen-vpci with "msi-ranges": each vector an edge SPI that dom0
 * raises), seen from the guest. The function is the one that
 * samples/xen/pci-ioreq-emu emulates, with its MSI-X capability
 * (pci-ioreq-emu.h); the test module msi_test/xen_pci_msi_test.ko drives
 * its vectors through the PCI core's own MSI-X code, and the function's
 * counters say what the device model and dom0 did with each signal.
 *
 * - vectors: the driver gets every vector, each an interrupt of its own
 * - storm: 100,000 MSIs over all vectors, half of them on each vCPU, each
 *   vector's next signal asked by its handler: none lost (a lost one stops
 *   its chain), each taken on the vCPU its affinity names, none refused
 * - masked_vector_pends: a masked vector's signals set its pending bit and
 *   send nothing; unmasking sends it once
 * - function_mask_pends: the same for MSI-X's Function Mask
 * - retarget: an affinity change moves the vector to the other vCPU
 * - hostile_table: a table entry written behind the PCI core's back (another
 *   address, data outside the root complex's range) makes dom0 refuse the
 *   message (counted by the device, nothing delivered); the vector works
 *   again once its entry is back
 *
 * Skips where no emulated function has MSI-X (a root complex without
 * "msi-ranges", dom0, bare QEMU).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "../kselftest_harness.h"
#include "lib/pci_util.h"

#define MOD_NAME	"xen_pci_msi_test"
#define MOD_PATH	"msi_test/" MOD_NAME ".ko"
#define DBG_DIR		"/sys/kernel/debug/" MOD_NAME
#define NVEC		((int)EMU_MSIX_VECTORS)
#define STORM_TOTAL	100000
#define STALL_S		20	/* no interrupt for this long: one is lost */
#define WAIT_S		10	/* for one interrupt */

struct msix_regs {
	unsigned int sent, pended, released, refused, pba;
};

/* The function with MSI-X, if any: its BAR 1 is the table's. */
static bool find_msix_fn(char bdf[EMU_BDF_LEN])
{
	char bdfs[DEV_FIND_MAX][EMU_BDF_LEN];
	__u64 start, size, flags;
	int i, n;

	n = find_emu_devices(bdfs, DEV_FIND_MAX);
	for (i = 0; i < n; i++) {
		if (dev_resource(bdfs[i], 1, &start, &size, &flags) ||
		    size != EMU_BAR1_SIZE)
			continue;
		snprintf(bdf, EMU_BDF_LEN, "%s", bdfs[i]);
		return true;
	}
	return false;
}

FIXTURE(msi) {
	char bdf[EMU_BDF_LEN];
	char dir[128];
	int irq[NVEC];
	int cfg;		/* the function's config space */
	bool bound;
};

static int dbg_write(const char *dir, const char *file,
		     const char *fmt, ...)
{
	char path[192], buf[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return sysfs_write(path, buf);
}

/* The interrupts each vector took; false if the file does not read. */
static bool read_counts(const char *dir, long long count[NVEC],
			int irq[NVEC])
{
	char path[192];
	unsigned int v;
	long long c;
	int i, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/counts", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fscanf(f, "%u %d %lld", &v, &i, &c) == 3 && v < NVEC) {
		count[v] = c;
		if (irq)
			irq[v] = i;
		n++;
	}
	fclose(f);
	return n == NVEC;
}

static long long count_of(const char *dir, unsigned int vec)
{
	long long count[NVEC];

	return read_counts(dir, count, NULL) ? count[vec] : -1;
}

static bool read_regs(const char *dir, struct msix_regs *r)
{
	char path[192];
	int n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/regs", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fscanf(f, "sent %u pended %u released %u refused %u pba %x",
		   &r->sent, &r->pended, &r->released, &r->refused, &r->pba);
	fclose(f);
	return n == 5;
}

/* Vector @vec's table entry, as the function holds it. */
static bool read_entry(const char *dir, unsigned int vec,
		       unsigned long long *addr, unsigned int *data)
{
	unsigned long long a;
	unsigned int v, d, c;
	char path[192];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/entry", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fscanf(f, "%u %llx %x %x", &v, &a, &d, &c) == 4) {
		if (v != vec)
			continue;
		*addr = a;
		*data = d;
		found = true;
	}
	fclose(f);
	return found;
}

/* Wait until vector @vec took @want interrupts; what it took. */
static long long wait_count(const char *dir, unsigned int vec,
			    long long want)
{
	double end = now() + WAIT_S;
	long long c;

	while ((c = count_of(dir, vec)) >= 0 && c < want && now() < end)
		usleep(1000);
	return c;
}

static int set_affinity(int irq, int cpu)
{
	char path[64], val[16];

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	snprintf(val, sizeof(val), "%d", cpu);
	return sysfs_write(path, val);
}

/* Signal @vec and wait for it: whatever came before it has come too. */
static void barrier_vec(struct __test_metadata *_metadata,
			const char *dir, unsigned int vec)
{
	long long c = count_of(dir, vec);

	ASSERT_EQ(0, dbg_write(dir, "signal", "%u", vec));
	ASSERT_EQ(c + 1, wait_count(dir, vec, c + 1));
}

FIXTURE_SETUP(msi)
{
	long long count[NVEC];
	char why[128];
	int i, ret;

	self->cfg = -1;
	if (geteuid())
		SKIP(return, "needs root");
	if (!find_msix_fn(self->bdf))
		SKIP(return, "no function of pci-ioreq-emu with MSI-X here");
	ret = test_module_bind(self->bdf, MOD_PATH, MOD_NAME, why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", why, strerror(-ret));
	self->bound = true;
	snprintf(self->dir, sizeof(self->dir), "%s/%s", DBG_DIR, self->bdf);
	ASSERT_TRUE(read_counts(self->dir, count, self->irq))
		TH_LOG("%s/counts does not read", self->dir);
	for (i = 0; i < NVEC; i++)
		ASSERT_EQ(0, set_affinity(self->irq[i], 0));
	self->cfg = dev_cfg_open(self->bdf);
	ASSERT_LE(0, self->cfg);
}

FIXTURE_TEARDOWN(msi)
{
	if (self->cfg >= 0)
		close(self->cfg);
	if (self->bound) {
		dbg_write(self->dir, "chain", "0");
		dev_unbind_override(self->bdf, MOD_NAME);
	}
}

TEST_F(msi, vectors)
{
	long long total;
	int i, j;

	for (i = 0; i < NVEC; i++) {
		ASSERT_LT(0, self->irq[i]);
		for (j = 0; j < i; j++)
			EXPECT_NE(self->irq[j], self->irq[i]);
		/* listed with its own count: an interrupt of its own */
		total = irq_count(self->irq[i]);
		EXPECT_LE(0, total) TH_LOG("IRQ %d not in /proc/interrupts",
					   self->irq[i]);
	}
	/* each vector reaches its own handler */
	for (i = 0; i < NVEC; i++)
		barrier_vec(_metadata, self->dir, i);
}

TEST_F_TIMEOUT(msi, storm, 720)
{
	long long base[NVEC], count[NVEC], cpu_base[NVEC], last = -1, sum;
	const long long per = STORM_TOTAL / NVEC;
	struct msix_regs r0, r1;
	double t0, stall, secs;
	int i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one vCPU: nothing to spread the vectors over");
	for (i = 0; i < NVEC; i++)
		ASSERT_EQ(0, set_affinity(self->irq[i], i % 2));
	ASSERT_TRUE(read_counts(self->dir, base, NULL));
	for (i = 0; i < NVEC; i++)
		cpu_base[i] = irq_count_cpu(self->irq[i], i % 2);
	ASSERT_TRUE(read_regs(self->dir, &r0));

	t0 = now();
	stall = t0 + STALL_S;
	ASSERT_EQ(0, dbg_write(self->dir, "chain", "%lld", per));
	for (;;) {
		ASSERT_TRUE(read_counts(self->dir, count, NULL));
		sum = 0;
		for (i = 0; i < NVEC; i++)
			sum += count[i] - base[i];
		if (sum >= STORM_TOTAL)
			break;
		if (sum != last) {
			last = sum;
			stall = now() + STALL_S;
		}
		if (now() > stall)
			break;
		usleep(10000);
	}
	secs = now() - t0;
	for (i = 0; i < NVEC; i++)
		EXPECT_EQ(per, count[i] - base[i])
			TH_LOG("vector %d took %lld of %lld after %.1f s: its chain stopped",
			       i, count[i] - base[i], per, secs);
	for (i = 0; i < NVEC; i++)
		EXPECT_EQ(per, irq_count_cpu(self->irq[i], i % 2) - cpu_base[i])
			TH_LOG("vector %d: not all on vCPU %d", i, i % 2);
	ASSERT_TRUE(read_regs(self->dir, &r1));
	EXPECT_EQ(STORM_TOTAL, r1.sent - r0.sent);
	EXPECT_EQ(0, r1.refused - r0.refused);
	EXPECT_EQ(0, r1.pended - r0.pended);
	ksft_print_msg("storm: %lld MSIs over %d vectors and 2 vCPUs in %.1f s (%.0f/s)\n",
		       sum, NVEC, secs, sum / secs);
}

TEST_F(msi, masked_vector_pends)
{
	const unsigned int v = 5;
	struct msix_regs r0, r1;
	long long c0;

	c0 = count_of(self->dir, v);
	ASSERT_EQ(0, dbg_write(self->dir, "mask", "%u", v));
	ASSERT_TRUE(read_regs(self->dir, &r0));
	ASSERT_EQ(0, r0.pba & 1U << v);
	ASSERT_EQ(0, dbg_write(self->dir, "signal", "%u", v));
	ASSERT_EQ(0, dbg_write(self->dir, "signal", "%u", v));
	ASSERT_EQ(0, dbg_write(self->dir, "signal", "%u", v));
	/* each signal's write completes once the device took it */
	ASSERT_TRUE(read_regs(self->dir, &r1));
	EXPECT_EQ(3, r1.pended - r0.pended);
	EXPECT_EQ(0, r1.sent - r0.sent);
	EXPECT_EQ(1U << v, r1.pba & 1U << v);
	EXPECT_EQ(c0, count_of(self->dir, v));

	ASSERT_EQ(0, dbg_write(self->dir, "unmask", "%u", v));
	EXPECT_EQ(c0 + 1, wait_count(self->dir, v, c0 + 1));
	barrier_vec(_metadata, self->dir, 0);
	EXPECT_EQ(c0 + 1, count_of(self->dir, v)) TH_LOG("sent more than once");
	ASSERT_TRUE(read_regs(self->dir, &r1));
	EXPECT_EQ(1, r1.released - r0.released);
	EXPECT_EQ(0, r1.pba & 1U << v);
	/* and it works as before */
	barrier_vec(_metadata, self->dir, v);
}

TEST_F(msi, function_mask_pends)
{
	const unsigned int off = EMU_CAP_MSIX + PCI_MSIX_FLAGS;
	long long c1 = count_of(self->dir, 1), c2 = count_of(self->dir, 2);
	struct msix_regs r0, r1;
	__u32 ctrl;

	ASSERT_EQ(0, cfg_read(self->cfg, off, 2, &ctrl));
	ASSERT_EQ(PCI_MSIX_FLAGS_ENABLE, ctrl & (PCI_MSIX_FLAGS_ENABLE |
						 PCI_MSIX_FLAGS_MASKALL));
	ASSERT_TRUE(read_regs(self->dir, &r0));
	ASSERT_EQ(0, cfg_write(self->cfg, off, 2, ctrl | PCI_MSIX_FLAGS_MASKALL));
	ASSERT_EQ(0, dbg_write(self->dir, "signal", "1"));
	ASSERT_EQ(0, dbg_write(self->dir, "signal", "2"));
	ASSERT_TRUE(read_regs(self->dir, &r1));
	EXPECT_EQ(2, r1.pended - r0.pended);
	EXPECT_EQ(0, r1.sent - r0.sent);
	EXPECT_EQ(0x6U, r1.pba & 0x6U);

	ASSERT_EQ(0, cfg_write(self->cfg, off, 2, ctrl));
	EXPECT_EQ(c1 + 1, wait_count(self->dir, 1, c1 + 1));
	EXPECT_EQ(c2 + 1, wait_count(self->dir, 2, c2 + 1));
	barrier_vec(_metadata, self->dir, 0);
	EXPECT_EQ(c1 + 1, count_of(self->dir, 1));
	EXPECT_EQ(c2 + 1, count_of(self->dir, 2));
	ASSERT_TRUE(read_regs(self->dir, &r1));
	EXPECT_EQ(2, r1.released - r0.released);
	EXPECT_EQ(0, r1.pba & 0x6U);
}

TEST_F(msi, retarget)
{
	const unsigned int v = 3;
	int irq = self->irq[v], cpu;
	long long c, on[2];

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one vCPU: nowhere to move a vector");
	for (cpu = 1; cpu >= 0; cpu--) {
		ASSERT_EQ(0, set_affinity(irq, cpu));
		on[0] = irq_count_cpu(irq, 0);
		on[1] = irq_count_cpu(irq, 1);
		c = count_of(self->dir, v);
		ASSERT_EQ(0, dbg_write(self->dir, "signal", "%u", v));
		ASSERT_EQ(c + 1, wait_count(self->dir, v, c + 1));
		EXPECT_EQ(on[cpu] + 1, irq_count_cpu(irq, cpu))
			TH_LOG("vector %u not taken on vCPU %d", v, cpu);
		EXPECT_EQ(on[!cpu], irq_count_cpu(irq, !cpu));
	}
}

/* Write @vec's entry while it is masked, as the PCI core itself does. */
static void write_entry(struct __test_metadata *_metadata,
			const char *dir, unsigned int vec,
			unsigned long long addr, unsigned int data)
{
	ASSERT_EQ(0, dbg_write(dir, "mask", "%u", vec));
	ASSERT_EQ(0, dbg_write(dir, "entry", "%u %#llx %#x", vec,
			       addr, data));
	ASSERT_EQ(0, dbg_write(dir, "unmask", "%u", vec));
}

TEST_F(msi, hostile_table)
{
	const unsigned int v = 4;
	unsigned long long addr;
	struct msix_regs r0, r1;
	unsigned int data;
	long long c;
	int i;
	struct {
		unsigned long long addr;
		unsigned int data;
		const char *what;
	} bad[2];

	ASSERT_TRUE(read_entry(self->dir, v, &addr, &data));
	ASSERT_NE(0, addr);
	bad[0].addr = addr + 0x1000;
	bad[0].data = data;
	bad[0].what = "another address";
	bad[1].addr = addr;
	bad[1].data = 0x10000;
	bad[1].what = "a vector the root complex does not have";
	c = count_of(self->dir, v);
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(read_regs(self->dir, &r0));
		write_entry(_metadata, self->dir, v, bad[i].addr, bad[i].data);
		ASSERT_EQ(0, dbg_write(self->dir, "signal", "%u", v));
		ASSERT_TRUE(read_regs(self->dir, &r1));
		EXPECT_EQ(1, r1.refused - r0.refused) TH_LOG("%s", bad[i].what);
		EXPECT_EQ(0, r1.sent - r0.sent) TH_LOG("%s", bad[i].what);
		barrier_vec(_metadata, self->dir, 0);
		EXPECT_EQ(c, count_of(self->dir, v)) TH_LOG("%s", bad[i].what);
	}
	write_entry(_metadata, self->dir, v, addr, data);
	barrier_vec(_metadata, self->dir, v);
}

TEST_HARNESS_MAIN
