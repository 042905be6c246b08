// SPDX-License-Identifier: GPL-2.0
/*
 * From inside a Xen guest, drive the PCI functions that dom0 serves with
 * samples/xen/pci-ioreq-emu through /dev/xen/pci-ioreq: identity and
 * header, BAR sizing and programming, BAR accesses of every size through
 * the backend, INTx with uio_pci_generic, and the death of the backend:
 * the function must then read all ones, the guest must not hang, and once
 * the test bed restarts the backend a rescan must bring the function back.
 *
 * The tests use the first emulated function (1af4:10f0, lowest address);
 * "all_devices" checks every one. They are skipped where there is none
 * (dom0, bare metal, QEMU without Xen). The backend must run with
 * --crash-register for the last test, which kills it; the test bed must
 * then restart it, no sooner than 2 s and no later than 20 s after it
 * died.
 *
 * Runs as root. Changes the state of the emulated function only.
 */

#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include <linux/pci_regs.h>

#include "lib/pci_util.h"
#include "../kselftest_harness.h"

#define UIO_DRIVER		"uio_pci_generic"
#define UIO_DIR			"/sys/bus/pci/drivers/" UIO_DRIVER
#define IRQ_TIMEOUT_MS		5000
#define RESTART_TIMEOUT		30	/* seconds for the backend to return */
#define CRASH_WATCHDOG		75	/* seconds for the whole crash test */

#define INTX_PIN_INTA		1U

/* Resource flags, as sysfs shows them (include/linux/ioport.h). */
#define IORESOURCE_MEM		0x00000200
#define IORESOURCE_PREFETCH	0x00002000
#define IORESOURCE_MEM_64	0x00100000

/* The function under test, as this program holds it. */
struct emu {
	char bdf[EMU_BDF_LEN];
	int cfg;		/* its config space, or -1 */
	bool enabled;		/* memory decoding enabled through sysfs */
	struct bar_map bar0;
	__u8 *regs;		/* BAR 0 mapped */
};

FIXTURE(emu) {
	struct emu d;
};

/* Leave a function as a driverless, disabled device. */
static void release_uio(const char *bdf)
{
	char drv[64];

	dev_driver(bdf, drv, sizeof(drv));
	if (!strcmp(drv, UIO_DRIVER))
		sysfs_write(UIO_DIR "/unbind", bdf);
	dev_attr_write(bdf, "driver_override", "\n");
}

/* Enable memory decoding of a driverless function, and map its BAR 0. */
static int emu_open(struct __test_metadata *_metadata, struct emu *e)
{
	int ret;

	ret = dev_attr_write(e->bdf, "enable", "1");
	if (ret) {
		TH_LOG("enable %s: %s", e->bdf, strerror(-ret));
		return ret;
	}
	e->enabled = true;
	e->cfg = dev_cfg_open(e->bdf);
	if (e->cfg < 0) {
		ret = -errno;
		TH_LOG("config of %s: %s", e->bdf, strerror(-ret));
		return ret;
	}
	ret = dev_map_bar(e->bdf, 0, &e->bar0);
	if (ret) {
		TH_LOG("mmap BAR 0 of %s: %s", e->bdf, strerror(-ret));
		return ret;
	}
	e->regs = e->bar0.base;
	return 0;
}

static void emu_close(struct emu *e)
{
	dev_unmap_bar(&e->bar0);
	e->regs = NULL;
	if (e->cfg >= 0)
		close(e->cfg);
	e->cfg = -1;
	if (e->enabled && dev_exists(e->bdf))
		dev_attr_write(e->bdf, "enable", "0");
	e->enabled = false;
}

FIXTURE_SETUP(emu)
{
	struct emu *e = &self->d;
	char bdfs[EMU_MAX_DEVS][EMU_BDF_LEN], drv[64];
	int n;

	e->cfg = -1;
	n = find_emu_devices(bdfs, EMU_MAX_DEVS);
	if (!n)
		SKIP(return, "no %04x:%04x function: no pci-ioreq-emu backend serves this system",
		     EMU_VENDOR_ID, EMU_DEVICE_ID);
	if (geteuid())
		SKIP(return, "needs root");
	snprintf(e->bdf, sizeof(e->bdf), "%s", bdfs[0]);

	/* A test that failed half way may have left uio bound. */
	release_uio(e->bdf);
	dev_driver(e->bdf, drv, sizeof(drv));
	if (drv[0])
		SKIP(return, "%s is driven by %s", e->bdf, drv);
	ASSERT_EQ(0, emu_open(_metadata, e));
}

FIXTURE_TEARDOWN(emu)
{
	struct emu *e = &self->d;

	release_uio(e->bdf);
	emu_close(e);
}

static __u32 cfg32(struct __test_metadata *_metadata, int fd, unsigned int off,
		   unsigned int size)
{
	__u32 v = 0;

	EXPECT_EQ(0, cfg_read(fd, off, size, &v))
		TH_LOG("config read at %#x: %s", off, strerror(errno));
	return v;
}

/* Identity, class and header of the function, as in pci-ioreq-emu.h. */
TEST_F(emu, ids)
{
	struct emu *e = &self->d;
	unsigned long v;
	struct stat st;
	char path[PATH_MAX];

	EXPECT_EQ(EMU_VENDOR_ID, cfg32(_metadata, e->cfg, PCI_VENDOR_ID, 2));
	EXPECT_EQ(EMU_DEVICE_ID, cfg32(_metadata, e->cfg, PCI_DEVICE_ID, 2));
	EXPECT_EQ(EMU_DEVICE_ID << 16 | EMU_VENDOR_ID,
		  cfg32(_metadata, e->cfg, PCI_VENDOR_ID, 4));
	EXPECT_EQ(EMU_CLASS << 8 | EMU_REVISION,
		  cfg32(_metadata, e->cfg, PCI_CLASS_REVISION, 4));
	EXPECT_EQ((__u32)PCI_HEADER_TYPE_NORMAL,
		  cfg32(_metadata, e->cfg, PCI_HEADER_TYPE, 1) & 0x7f);
	EXPECT_EQ(EMU_SUBSYS_VENDOR_ID,
		  cfg32(_metadata, e->cfg, PCI_SUBSYSTEM_VENDOR_ID, 2));
	EXPECT_EQ(EMU_SUBSYS_ID, cfg32(_metadata, e->cfg, PCI_SUBSYSTEM_ID, 2));
	EXPECT_EQ(INTX_PIN_INTA,
		  cfg32(_metadata, e->cfg, PCI_INTERRUPT_PIN, 1));
	/* No capabilities, no expansion ROM, no BIST. */
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_CAPABILITY_LIST, 1));
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_ROM_ADDRESS, 4));
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_BIST, 1));

	/* What Linux made of it. */
	ASSERT_EQ(0, dev_attr_ulong(e->bdf, "class", &v));
	EXPECT_EQ(EMU_CLASS, v);
	ASSERT_EQ(0, dev_attr_ulong(e->bdf, "revision", &v));
	EXPECT_EQ(EMU_REVISION, v);
	ASSERT_EQ(0, dev_attr_ulong(e->bdf, "subsystem_vendor", &v));
	EXPECT_EQ(EMU_SUBSYS_VENDOR_ID, v);
	ASSERT_EQ(0, dev_attr_ulong(e->bdf, "subsystem_device", &v));
	EXPECT_EQ(EMU_SUBSYS_ID, v);
	/* A conventional PCI function: 256 bytes of config space. */
	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/config", e->bdf);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(256, st.st_size);
}

/* Read-only registers stay, writable ones take the value written. */
TEST_F(emu, config_write_semantics)
{
	struct emu *e = &self->d;
	__u32 cmd, line;

	ASSERT_EQ(0, cfg_write(e->cfg, PCI_VENDOR_ID, 4, 0x12345678));
	EXPECT_EQ(EMU_DEVICE_ID << 16 | EMU_VENDOR_ID,
		  cfg32(_metadata, e->cfg, PCI_VENDOR_ID, 4));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_CLASS_REVISION, 4, 0));
	EXPECT_EQ(EMU_CLASS << 8 | EMU_REVISION,
		  cfg32(_metadata, e->cfg, PCI_CLASS_REVISION, 4));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_INTERRUPT_PIN, 1, 3));
	EXPECT_EQ(INTX_PIN_INTA,
		  cfg32(_metadata, e->cfg, PCI_INTERRUPT_PIN, 1));
	ASSERT_EQ(0, cfg_write(e->cfg, 0x40, 4, 0xffffffff));
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, 0x40, 4));

	/* Interrupt Line: a byte of scratch for software. */
	line = cfg32(_metadata, e->cfg, PCI_INTERRUPT_LINE, 1);
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_INTERRUPT_LINE, 1, 0x5a));
	EXPECT_EQ(0x5aU, cfg32(_metadata, e->cfg, PCI_INTERRUPT_LINE, 1));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_INTERRUPT_LINE, 1, line));

	/*
	 * Interrupt Disable can be set and cleared (PCI 2.3 INTx masking);
	 * Interrupt Status is read-only: writing it changes nothing.
	 */
	cmd = cfg32(_metadata, e->cfg, PCI_COMMAND, 2);
	EXPECT_TRUE(!!(cmd & PCI_COMMAND_MEMORY));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_COMMAND, 2,
			       cmd | PCI_COMMAND_INTX_DISABLE));
	EXPECT_EQ(cmd | PCI_COMMAND_INTX_DISABLE,
		  cfg32(_metadata, e->cfg, PCI_COMMAND, 2));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_COMMAND, 2,
			       cmd & ~PCI_COMMAND_INTX_DISABLE));
	EXPECT_EQ(cmd & ~PCI_COMMAND_INTX_DISABLE,
		  cfg32(_metadata, e->cfg, PCI_COMMAND, 2));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_STATUS, 2, PCI_STATUS_INTERRUPT));
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_COMMAND, 2, cmd));
}

/* The BARs as Linux sized and placed them. */
TEST_F(emu, bar_resources)
{
	struct emu *e = &self->d;
	__u64 start, size, flags, bar2_size;
	__u32 lo, hi;
	int i;

	ASSERT_EQ(0, dev_resource(e->bdf, 0, &start, &size, &flags));
	EXPECT_EQ(EMU_BAR0_SIZE, size);
	EXPECT_TRUE(!!(flags & IORESOURCE_MEM));
	EXPECT_FALSE(!!(flags & (IORESOURCE_PREFETCH | IORESOURCE_MEM_64)));
	/* The root complex maps bus addresses 1:1. */
	EXPECT_EQ(start, cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_0, 4) &
			 PCI_BASE_ADDRESS_MEM_MASK);

	bar2_size = mmio_read32(e->regs + EMU_REG_BAR2_SIZE_LO) |
		    (__u64)mmio_read32(e->regs + EMU_REG_BAR2_SIZE_HI) << 32;
	TH_LOG("%s: BAR 0 %#llx, %llu bytes; backend's BAR 2: %llu bytes",
	       e->bdf, (unsigned long long)start,
	       (unsigned long long)size, (unsigned long long)bar2_size);
	ASSERT_EQ(0, dev_resource(e->bdf, 2, &start, &size, &flags));
	EXPECT_EQ(bar2_size, size);
	EXPECT_TRUE(!!(flags & IORESOURCE_MEM));
	EXPECT_TRUE(!!(flags & IORESOURCE_PREFETCH));
	EXPECT_TRUE(!!(flags & IORESOURCE_MEM_64));
	lo = cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_2, 4);
	hi = cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_3, 4);
	EXPECT_EQ((__u32)PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH,
		  lo & ~PCI_BASE_ADDRESS_MEM_MASK);
	EXPECT_EQ(start, (__u64)hi << 32 | (lo & PCI_BASE_ADDRESS_MEM_MASK));

	/* Nothing else: BAR 1 and BARs 4-5 unimplemented, no ROM. */
	for (i = 1; i <= 6; i++) {
		if (i == 2 || i == 3)
			continue;
		ASSERT_EQ(0, dev_resource(e->bdf, i, &start, &size, &flags));
		EXPECT_EQ(0U, size) TH_LOG("resource %d", i);
	}
}

/*
 * BAR sizing as Linux does it, with decoding off: all ones read back as
 * the size mask with the read-only type bits; unimplemented BARs and the
 * ROM read zero. Then decoding back on: the backend routes the BARs at
 * their addresses again, and MMIO reaches it.
 */
TEST_F(emu, bar_sizing_and_decoding)
{
	struct emu *e = &self->d;
	__u64 size2 = 0, mask2;
	__u32 cmd, bar[6], count;
	unsigned int i;

	size2 = mmio_read32(e->regs + EMU_REG_BAR2_SIZE_LO) |
		(__u64)mmio_read32(e->regs + EMU_REG_BAR2_SIZE_HI) << 32;
	mask2 = ~(size2 - 1);
	count = mmio_read32(e->regs + EMU_REG_MMIO_COUNT);

	cmd = cfg32(_metadata, e->cfg, PCI_COMMAND, 2);
	for (i = 0; i < 6; i++)
		bar[i] = cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_0 + 4 * i, 4);
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_COMMAND, 2,
			       cmd & ~PCI_COMMAND_MEMORY));

	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, cfg_write(e->cfg, PCI_BASE_ADDRESS_0 + 4 * i, 4,
				       0xffffffff));
	EXPECT_EQ((__u32)~(EMU_BAR0_SIZE - 1),
		  cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_0, 4));
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_1, 4));
	EXPECT_EQ(((__u32)mask2 & PCI_BASE_ADDRESS_MEM_MASK) |
		  PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH,
		  cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_2, 4));
	EXPECT_EQ((__u32)(mask2 >> 32),
		  cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_3, 4));
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_4, 4));
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_5, 4));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_ROM_ADDRESS, 4,
			       (__u32)PCI_ROM_ADDRESS_MASK));
	EXPECT_EQ(0U, cfg32(_metadata, e->cfg, PCI_ROM_ADDRESS, 4));

	/* Sub-dword writes of an address: the bytes land where written. */
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_BASE_ADDRESS_0, 4, 0));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_BASE_ADDRESS_0 + 3, 1, 0x12));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_BASE_ADDRESS_0 + 1, 2, 0x3456));
	EXPECT_EQ(0x12345600U, cfg32(_metadata, e->cfg, PCI_BASE_ADDRESS_0, 4));

	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, cfg_write(e->cfg, PCI_BASE_ADDRESS_0 + 4 * i, 4,
				       bar[i]));
	for (i = 0; i < 6; i++)
		EXPECT_EQ(bar[i], cfg32(_metadata, e->cfg,
					PCI_BASE_ADDRESS_0 + 4 * i, 4));
	ASSERT_EQ(0, cfg_write(e->cfg, PCI_COMMAND, 2, cmd));

	/* Same backend, same counter: the access before plus this one. */
	EXPECT_EQ(EMU_MAGIC, mmio_read32(e->regs + EMU_REG_MAGIC));
	EXPECT_EQ(count + 2, mmio_read32(e->regs + EMU_REG_MMIO_COUNT));
}

/* BAR 0 registers, with accesses of every size. */
TEST_F(emu, bar0_registers)
{
	struct emu *e = &self->d;
	__u8 *r = e->regs;
	static const __u32 patterns[] = {
		0, 0xffffffff, 0xa5a55a5a, 0x12345678, 0x80000001,
	};
	__u32 count, cfg_count, v;
	unsigned int i;

	EXPECT_EQ(EMU_MAGIC, mmio_read32(r + EMU_REG_MAGIC));
	EXPECT_EQ(EMU_VERSION, mmio_read32(r + EMU_REG_VERSION));
	EXPECT_EQ((__u32)bdf_to_busdevfn(e->bdf), mmio_read32(r + EMU_REG_BDF));
	TH_LOG("%s: features %#x", e->bdf, mmio_read32(r + EMU_REG_FEATURES));

	for (i = 0; i < ARRAY_SIZE(patterns); i++) {
		mmio_write32(r + EMU_REG_SCRATCH, patterns[i]);
		EXPECT_EQ(patterns[i], mmio_read32(r + EMU_REG_SCRATCH));
	}
	/* Byte and halfword lanes, little endian. */
	mmio_write32(r + EMU_REG_SCRATCH, 0);
	for (i = 0; i < 4; i++)
		mmio_write8(r + EMU_REG_SCRATCH + i, 0x11 * (i + 1));
	EXPECT_EQ(0x44332211U, mmio_read32(r + EMU_REG_SCRATCH));
	EXPECT_EQ(0x33, mmio_read8(r + EMU_REG_SCRATCH + 2));
	EXPECT_EQ(0x4433, mmio_read16(r + EMU_REG_SCRATCH + 2));
	mmio_write16(r + EMU_REG_SCRATCH + 2, 0xbeef);
	EXPECT_EQ(0xbeef2211, mmio_read32(r + EMU_REG_SCRATCH));
	EXPECT_EQ(0x2211, mmio_read16(r + EMU_REG_SCRATCH));
	/* 64 bits at once, and by halves. */
	mmio_write64(r + EMU_REG_SCRATCH64, 0x0123456789abcdefULL);
	EXPECT_EQ(0x0123456789abcdefULL, mmio_read64(r + EMU_REG_SCRATCH64));
	EXPECT_EQ(0x89abcdef, mmio_read32(r + EMU_REG_SCRATCH64));
	EXPECT_EQ(0x01234567U, mmio_read32(r + EMU_REG_SCRATCH64 + 4));
	mmio_write32(r + EMU_REG_SCRATCH64 + 4, 0xfedcba98);
	EXPECT_EQ(0xfedcba9889abcdefULL, mmio_read64(r + EMU_REG_SCRATCH64));

	/* Read-only and unimplemented registers ignore writes. */
	mmio_write32(r + EMU_REG_MAGIC, 0);
	EXPECT_EQ(EMU_MAGIC, mmio_read32(r + EMU_REG_MAGIC));
	mmio_write32(r + 0x80, 0xffffffff);
	EXPECT_EQ(0U, mmio_read32(r + 0x80));
	EXPECT_EQ(0U, mmio_read32(r + EMU_REG_DOORBELL));
	EXPECT_EQ(0U, mmio_read32(r + EMU_REG_CRASH));
	EXPECT_EQ(0U, mmio_read32(r + EMU_BAR0_SIZE - 8));

	/* Each guest access is exactly one request to the backend. */
	count = mmio_read32(r + EMU_REG_MMIO_COUNT);
	EXPECT_EQ(count + 1, mmio_read32(r + EMU_REG_MMIO_COUNT));
	for (i = 0; i < 10; i++)
		mmio_read8(r + EMU_REG_SCRATCH);
	EXPECT_EQ(count + 12, mmio_read32(r + EMU_REG_MMIO_COUNT));
	cfg_count = mmio_read32(r + EMU_REG_CONFIG_COUNT);
	ASSERT_EQ(0, cfg_read(e->cfg, PCI_VENDOR_ID, 4, &v));
	EXPECT_EQ(cfg_count + 1, mmio_read32(r + EMU_REG_CONFIG_COUNT));
}

static __u64 pattern(__u64 off)
{
	return (off + 1) * 0x9e3779b97f4a7c15ULL ^ 0x5851f42d4c957f2dULL;
}

/* BAR 2 is memory: what is written with any size reads back. */
TEST_F(emu, bar2_memory)
{
	struct emu *e = &self->d;
	struct bar_map m = { 0 };
	__u8 *b;
	__u64 size, page = sysconf(_SC_PAGESIZE), step, off, end;
	__u32 count;
	unsigned int i;

	ASSERT_EQ(0, dev_map_bar(e->bdf, 2, &m));
	b = m.base;
	size = m.size;
	/* At most 64 pages: the first and last 64 bytes of each. */
	step = size / page > 64 ? size / 64 : page;
	if (step > size)
		step = size;
	for (off = 0; off < size; off += step) {
		end = off + (step < 128 ? step : 128);
		for (i = 0; off + i * 8 < end && i < 8; i++)
			mmio_write64(b + off + i * 8, pattern(off + i * 8));
		for (i = 0; i < 8 && step >= 128; i++)
			mmio_write64(b + off + step - 64 + i * 8,
				     pattern(off + step - 64 + i * 8));
	}
	for (off = 0; off < size; off += step) {
		end = off + (step < 128 ? step : 128);
		for (i = 0; off + i * 8 < end && i < 8; i++)
			EXPECT_EQ(pattern(off + i * 8),
				  mmio_read64(b + off + i * 8));
		for (i = 0; i < 8 && step >= 128; i++)
			EXPECT_EQ(pattern(off + step - 64 + i * 8),
				  mmio_read64(b + off + step - 64 + i * 8));
	}

	/* Mixed sizes at the very end of the BAR. */
	off = size - 16;
	mmio_write64(b + off, 0);
	mmio_write64(b + off + 8, 0);
	mmio_write8(b + off, 0x01);
	mmio_write16(b + off + 2, 0x0302);
	mmio_write32(b + off + 4, 0x07060504);
	mmio_write8(b + size - 1, 0xff);
	EXPECT_EQ(0x0706050403020001ULL, mmio_read64(b + off));
	EXPECT_EQ(0x03020001U, mmio_read32(b + off));
	EXPECT_EQ(0x0706, mmio_read16(b + off + 6));
	EXPECT_EQ(0xff, mmio_read8(b + size - 1));
	EXPECT_EQ(0xff00000000000000ULL, mmio_read64(b + off + 8));

	/* One 8-byte access is one request, not two. */
	count = mmio_read32(e->regs + EMU_REG_MMIO_COUNT);
	mmio_read64(b);
	EXPECT_EQ(count + 2, mmio_read32(e->regs + EMU_REG_MMIO_COUNT));
	dev_unmap_bar(&m);
}

/*
 * Every emulated function answers at its own address with its own state:
 * accesses are routed to the backend that registered the function.
 */
TEST_F(emu, all_devices)
{
	struct emu *e = &self->d;
	char bdfs[EMU_MAX_DEVS][EMU_BDF_LEN], drv[64];
	struct bar_map maps[EMU_MAX_DEVS];
	bool enabled[EMU_MAX_DEVS] = { false };
	const char *want;
	int n, i;

	n = find_emu_devices(bdfs, EMU_MAX_DEVS);
	TH_LOG("%d emulated functions", n);
	/*
	 * As many as the guest's backends serve: the test bed says how many
	 * (XEN_PCI_EMU_FUNCTIONS, from the guest's .backends file).
	 */
	want = getenv("XEN_PCI_EMU_FUNCTIONS");
	EXPECT_EQ(want ? atoi(want) : n ? n : 1, n);
	memset(maps, 0, sizeof(maps));
	for (i = 0; i < n; i++) {
		if (strcmp(bdfs[i], e->bdf)) {
			dev_driver(bdfs[i], drv, sizeof(drv));
			if (drv[0]) {
				TH_LOG("%s is driven by %s: left alone",
				       bdfs[i], drv);
				continue;
			}
			ASSERT_EQ(0, dev_attr_write(bdfs[i], "enable", "1"));
			enabled[i] = true;
		}
		ASSERT_EQ(0, dev_map_bar(bdfs[i], 0, &maps[i]));
		EXPECT_EQ(EMU_MAGIC, mmio_read32(maps[i].base + EMU_REG_MAGIC));
		EXPECT_EQ((__u32)bdf_to_busdevfn(bdfs[i]),
			  mmio_read32(maps[i].base + EMU_REG_BDF))
			TH_LOG("%s", bdfs[i]);
		mmio_write32(maps[i].base + EMU_REG_SCRATCH, 0xc0de0000 + i);
	}
	for (i = 0; i < n; i++) {
		if (!maps[i].base)
			continue;
		EXPECT_EQ(0xc0de0000 + i,
			  mmio_read32(maps[i].base + EMU_REG_SCRATCH))
			TH_LOG("%s", bdfs[i]);
		dev_unmap_bar(&maps[i]);
		if (enabled[i])
			dev_attr_write(bdfs[i], "enable", "0");
	}
}

/*
 * Bind uio_pci_generic to @bdf only and read its IRQ (device tree
 * platforms map INTx when a driver binds). Returns 0 or -errno.
 */
static int bind_uio(const char *bdf, unsigned long *irq)
{
	int ret;

	release_uio(bdf);
	ret = dev_attr_write(bdf, "driver_override", UIO_DRIVER);
	if (!ret)
		ret = sysfs_write(UIO_DIR "/bind", bdf);
	if (!ret)
		ret = dev_attr_ulong(bdf, "irq", irq);
	return ret;
}

/* The uio device of @bdf, opened. */
static int open_uio(const char *bdf)
{
	char path[PATH_MAX];
	struct dirent *e;
	int fd = -1;
	DIR *d;

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/uio", bdf);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "uio", 3))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		break;
	}
	closedir(d);
	return fd;
}

/*
 * Unmask (@on) or mask INTx the way uio_pci_generic expects of user space
 * (its Linux 6.12 version has no irqcontrol): through the Interrupt Disable
 * bit of the Command register.
 */
static int intx_control(int cfg, bool on)
{
	__u16 cmd;

	if (pread(cfg, &cmd, 2, PCI_COMMAND) != 2)
		return -1;
	if (on)
		cmd &= ~PCI_COMMAND_INTX_DISABLE;
	else
		cmd |= PCI_COMMAND_INTX_DISABLE;
	return pwrite(cfg, &cmd, 2, PCI_COMMAND) == 2 ? 0 : -1;
}

/* Wait for the next interrupt; returns uio's event count, 0 on timeout. */
static int uio_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	__s32 count;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return 0;
	if (read(fd, &count, sizeof(count)) != sizeof(count))
		return -1;
	return count;
}

/* Whether the host bridge above @bdf describes INTx (interrupt-map). */
static bool host_has_intx_map(const char *bdf)
{
	char path[PATH_MAX], real[PATH_MAX];
	char *p;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (!realpath(path, real))
		return false;
	/* .../<host bridge>/pci0000:00/0000:00:01.0 */
	p = strstr(real, "/pci0000:");
	if (!p)
		return false;
	snprintf(p, sizeof(real) - (p - real), "/of_node/interrupt-map");
	return access(real, F_OK) == 0;
}

/*
 * INTx through uio_pci_generic: the doorbell raises the line, the handler
 * masks it with Interrupt Disable (seeing Interrupt Status), the guest
 * acknowledges the device and unmasks. Every doorbell is one interrupt,
 * in uio's count and in /proc/interrupts; a masked doorbell is held back
 * until unmasked.
 */
TEST_F_TIMEOUT(emu, intx, 60)
{
	struct emu *e = &self->d;
	unsigned long irq;
	long before, after;
	__u32 rang;
	int fd, i, ret;

	if (access(UIO_DIR, F_OK) && system("modprobe " UIO_DRIVER " 2>/dev/null") &&
	    access(UIO_DIR, F_OK))
		SKIP(return, "no " UIO_DRIVER " (CONFIG_UIO_PCI_GENERIC)");
	if (!host_has_intx_map(e->bdf))
		SKIP(return, "the root complex of %s has no interrupt-map (as libxl's node)",
		     e->bdf);

	emu_close(e);
	ret = bind_uio(e->bdf, &irq);
	ASSERT_EQ(0, ret) TH_LOG("bind %s to " UIO_DRIVER ": %s", e->bdf,
				 strerror(-ret));
	ASSERT_NE(0UL, irq) TH_LOG("%s has no INTx", e->bdf);
	e->cfg = dev_cfg_open(e->bdf);
	ASSERT_LE(0, e->cfg);
	ASSERT_EQ(0, dev_map_bar(e->bdf, 0, &e->bar0));
	e->regs = e->bar0.base;
	fd = open_uio(e->bdf);
	ASSERT_LE(0, fd) TH_LOG("no /dev/uioN for %s", e->bdf);

	before = irq_count(irq);
	ASSERT_LE(0, before) TH_LOG("IRQ %lu not in /proc/interrupts", irq);
	rang = mmio_read32(e->regs + EMU_REG_IRQ_COUNT);
	EXPECT_EQ(0U, mmio_read32(e->regs + EMU_REG_IRQ_STATUS));

	for (i = 1; i <= 3; i++) {
		ASSERT_EQ(0, intx_control(e->cfg, true));
		mmio_write32(e->regs + EMU_REG_DOORBELL, 1);
		ASSERT_EQ(i, uio_wait(fd, IRQ_TIMEOUT_MS))
			TH_LOG("interrupt %d did not arrive", i);
		/* The handler saw the interrupt pending and masked it. */
		EXPECT_TRUE(!!(cfg32(_metadata, e->cfg, PCI_STATUS, 2) &
			    PCI_STATUS_INTERRUPT));
		EXPECT_TRUE(!!(cfg32(_metadata, e->cfg, PCI_COMMAND, 2) &
			    PCI_COMMAND_INTX_DISABLE));
		EXPECT_EQ(EMU_IRQ_PENDING,
			  mmio_read32(e->regs + EMU_REG_IRQ_STATUS));
		mmio_write32(e->regs + EMU_REG_IRQ_STATUS, EMU_IRQ_PENDING);
		EXPECT_FALSE(!!(cfg32(_metadata, e->cfg, PCI_STATUS, 2) &
			     PCI_STATUS_INTERRUPT));
	}
	after = irq_count(irq);
	TH_LOG("IRQ %lu: %ld interrupts before, %ld after", irq, before, after);
	EXPECT_EQ(before + 3, after);
	EXPECT_EQ(rang + 3, mmio_read32(e->regs + EMU_REG_IRQ_COUNT));

	/* Masked: the doorbell is held back... */
	ASSERT_EQ(0, intx_control(e->cfg, false));
	mmio_write32(e->regs + EMU_REG_DOORBELL, 1);
	EXPECT_EQ(0, uio_wait(fd, 300));
	EXPECT_TRUE(!!(cfg32(_metadata, e->cfg, PCI_STATUS, 2) &
		    PCI_STATUS_INTERRUPT));
	EXPECT_EQ(after, irq_count(irq));
	/* ...until unmasked. */
	ASSERT_EQ(0, intx_control(e->cfg, true));
	EXPECT_EQ(4, uio_wait(fd, IRQ_TIMEOUT_MS));
	mmio_write32(e->regs + EMU_REG_IRQ_STATUS, EMU_IRQ_PENDING);
	EXPECT_EQ(after + 1, irq_count(irq));

	close(fd);
	dev_unmap_bar(&e->bar0);
	e->regs = NULL;
	release_uio(e->bdf);
}

/* ---- two functions on one INTx line ---- */

#define STORM_ROUNDS		500	/* interrupts per function */
#define STORM_MAX_DELAY_US	300

/* One function of the storm, and what its thread saw. */
struct storm_fn {
	char bdf[EMU_BDF_LEN];
	unsigned long irq;
	int cfg, uio;
	struct bar_map bar0;
	unsigned int seed;
	unsigned int acked;	/* interrupts seen and acknowledged */
	int lost;		/* the round whose interrupt never came, or 0 */
	__u32 rang_before, rang_after;
};

/*
 * The way a driver serves a level-triggered, shared line: ring, wait for
 * the handler (uio_pci_generic's, which masks the function), acknowledge
 * the device, unmask; at random times, so that the two functions' lines
 * rise while the guest is in the other's handler.
 */
static void *storm_thread(void *arg)
{
	struct storm_fn *f = arg;
	int i, c, last = 0;

	for (i = 1; i <= STORM_ROUNDS; i++) {
		if (intx_control(f->cfg, true))
			break;
		usleep(rand_r(&f->seed) % STORM_MAX_DELAY_US);
		mmio_write32(f->bar0.base + EMU_REG_DOORBELL, 1);
		c = uio_wait(f->uio, IRQ_TIMEOUT_MS);
		if (c <= last) {
			f->lost = i;
			break;
		}
		last = c;
		mmio_write32(f->bar0.base + EMU_REG_IRQ_STATUS, EMU_IRQ_PENDING);
		f->acked++;
	}
	return NULL;
}

/*
 * Two emulated functions whose INTx pins share one interrupt of the guest
 * (slots 1 and 5, INTA: the same SPI after the swizzle), each raising a few
 * thousand interrupts at random times. Every interrupt a backend raises
 * must reach the guest: on Xen's Arm vGIC an SPI is an edge for the guest,
 * so a line that rises while the other function holds it must be injected
 * again, or the guest waits for it forever.
 */
FIXTURE(shared_line) {
	int unused;
};

FIXTURE_SETUP(shared_line)
{
}

FIXTURE_TEARDOWN(shared_line)
{
}

TEST_F_TIMEOUT(shared_line, intx_storm, 240)
{
	char bdfs[EMU_MAX_DEVS][EMU_BDF_LEN];
	struct storm_fn fns[EMU_MAX_DEVS] = { 0 }, *a = NULL, *b = NULL;
	unsigned int seed = time(NULL);
	long irqs_before, irqs_after;
	pthread_t ta, tb;
	int n, i, j;

	n = find_emu_devices(bdfs, EMU_MAX_DEVS);
	if (!n)
		SKIP(return, "no %04x:%04x function: no pci-ioreq-emu backend serves this system",
		     EMU_VENDOR_ID, EMU_DEVICE_ID);
	if (n < 2)
		SKIP(return, "one emulated function: no two to share a line");
	if (access(UIO_DIR, F_OK) && system("modprobe " UIO_DRIVER " 2>/dev/null") &&
	    access(UIO_DIR, F_OK))
		SKIP(return, "no " UIO_DRIVER " (CONFIG_UIO_PCI_GENERIC)");
	if (!host_has_intx_map(bdfs[0]))
		SKIP(return, "the root complex has no interrupt-map (as libxl's node)");

	for (i = 0; i < n; i++) {
		int ret;

		memcpy(fns[i].bdf, bdfs[i], sizeof(fns[i].bdf));
		fns[i].cfg = -1;
		fns[i].uio = -1;
		ret = bind_uio(fns[i].bdf, &fns[i].irq);
		ASSERT_EQ(0, ret) TH_LOG("bind %s to " UIO_DRIVER ": %s",
					 fns[i].bdf, strerror(-ret));
	}
	for (i = 0; i < n && !a; i++)
		for (j = i + 1; j < n && !a; j++)
			if (fns[i].irq && fns[i].irq == fns[j].irq) {
				a = &fns[i];
				b = &fns[j];
			}
	for (i = 0; i < n; i++)
		if (&fns[i] != a && &fns[i] != b)
			release_uio(fns[i].bdf);
	ASSERT_TRUE(!!a) TH_LOG("no two of %d emulated functions share an interrupt", n);

	TH_LOG("%s and %s share IRQ %lu; seed %u", a->bdf, b->bdf, a->irq, seed);
	a->seed = seed;
	b->seed = seed * 2654435761U + 1;
	for (i = 0; i < 2; i++) {
		struct storm_fn *f = i ? b : a;

		f->cfg = dev_cfg_open(f->bdf);
		ASSERT_LE(0, f->cfg);
		ASSERT_EQ(0, dev_map_bar(f->bdf, 0, &f->bar0));
		f->uio = open_uio(f->bdf);
		ASSERT_LE(0, f->uio) TH_LOG("no /dev/uioN for %s", f->bdf);
		mmio_write32(f->bar0.base + EMU_REG_IRQ_STATUS, EMU_IRQ_PENDING);
		f->rang_before = mmio_read32(f->bar0.base + EMU_REG_IRQ_COUNT);
	}
	irqs_before = irq_count(a->irq);

	ASSERT_EQ(0, pthread_create(&ta, NULL, storm_thread, a));
	ASSERT_EQ(0, pthread_create(&tb, NULL, storm_thread, b));
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);

	irqs_after = irq_count(a->irq);
	for (i = 0; i < 2; i++) {
		struct storm_fn *f = i ? b : a;

		f->rang_after = mmio_read32(f->bar0.base + EMU_REG_IRQ_COUNT);
		TH_LOG("%s: %u of %d interrupts acknowledged, %u raised by its backend%s",
		       f->bdf, f->acked, STORM_ROUNDS, f->rang_after - f->rang_before,
		       f->lost ? ", then one never came" : "");
		EXPECT_EQ(0, f->lost) TH_LOG("%s: the interrupt of round %d was lost",
					     f->bdf, f->lost);
		EXPECT_EQ((unsigned int)STORM_ROUNDS, f->acked);
		EXPECT_EQ(f->acked + !!f->lost, f->rang_after - f->rang_before);
		close(f->uio);
		close(f->cfg);
		dev_unmap_bar(&f->bar0);
		release_uio(f->bdf);
	}
	/* One interrupt may serve both functions: no count to expect. */
	TH_LOG("IRQ %lu: %ld interrupts served %u acknowledgments",
	       a->irq, irqs_after - irqs_before, a->acked + b->acked);
}

static sigjmp_buf bus_error_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_error_jmp, 1);
}

static void on_watchdog(int sig)
{
	static const char msg[] = "# watchdog: the guest hung after the backend died\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(KSFT_FAIL);
	_exit(KSFT_FAIL);
}

/*
 * Kill the backend through its crash register, with the write in flight:
 * the kernel completes it, the function reads all ones and the guest goes
 * on. Then remove the function and rescan until the restarted backend
 * brings it back, fresh. Must stay the last test: it takes the function
 * away for a while.
 */
TEST_F_TIMEOUT(emu, backend_crash_and_restart, 90)
{
	struct emu *e = &self->d;
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct timespec t0, t1;
	__u32 v, features;
	int ret;

	features = mmio_read32(e->regs + EMU_REG_FEATURES);
	if (!(features & EMU_FEAT_CRASH))
		SKIP(return, "backend of %s runs without --crash-register",
		     e->bdf);
	signal(SIGALRM, on_watchdog);
	alarm(CRASH_WATCHDOG);

	mmio_write32(e->regs + EMU_REG_SCRATCH, 0xc0ffee);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mmio_write32(e->regs + EMU_REG_CRASH, EMU_CRASH_KEY);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("crash write completed after %ld ms",
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 +
		      (t1.tv_nsec - t0.tv_nsec) / 1000000));

	/*
	 * Config space: absent, as by a master abort. The test bed holds the
	 * restart of a backend that died through its crash register until
	 * the guest asks for it (below).
	 */
	ASSERT_EQ(0, cfg_read(e->cfg, PCI_VENDOR_ID, 2, &v));
	ASSERT_EQ(0xffffU, v)
		TH_LOG("vendor ID %#x: the dead backend's function answers", v);
	EXPECT_EQ(0xffffffff, cfg32(_metadata, e->cfg, PCI_VENDOR_ID, 4));
	EXPECT_EQ(0xffffffff, cfg32(_metadata, e->cfg, PCI_CLASS_REVISION, 4));
	EXPECT_EQ(0xffU, cfg32(_metadata, e->cfg, PCI_INTERRUPT_PIN, 1));
	/* Writes go nowhere, and do not hang. */
	EXPECT_EQ(0, cfg_write(e->cfg, PCI_INTERRUPT_LINE, 1, 0));

	/* BAR 0: all ones, or a bus error; never a hang. */
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	if (!sigsetjmp(bus_error_jmp, 1)) {
		v = mmio_read32(e->regs + EMU_REG_MAGIC);
		EXPECT_EQ(0xffffffff, v);
		TH_LOG("BAR 0 of the dead function reads %#x", v);
	} else {
		TH_LOG("BAR 0 of the dead function: bus error (no route)");
	}
	signal(SIGBUS, SIG_DFL);

	/* Remove it, then rescan until the test bed has restarted the backend. */
	printf("@@XENPCI request=restart-backend slot=%u\n",
	       (bdf_to_busdevfn(e->bdf) >> 3) & 0x1f);
	fflush(stdout);
	emu_close(e);
	ret = dev_attr_write(e->bdf, "remove", "1");
	ASSERT_EQ(0, ret) TH_LOG("remove %s: %s", e->bdf, strerror(-ret));
	ASSERT_FALSE(dev_exists(e->bdf));
	ASSERT_TRUE(dev_rescan_until(e->bdf, EMU_VENDOR_ID, EMU_DEVICE_ID,
				     RESTART_TIMEOUT))
		TH_LOG("%s not back %d s after the crash: was the backend restarted?",
		       e->bdf, RESTART_TIMEOUT);

	/* A new backend: IDs again, BARs routed, fresh state. */
	ASSERT_EQ(0, emu_open(_metadata, e));
	EXPECT_EQ(EMU_DEVICE_ID << 16 | EMU_VENDOR_ID,
		  cfg32(_metadata, e->cfg, PCI_VENDOR_ID, 4));
	EXPECT_EQ(EMU_MAGIC, mmio_read32(e->regs + EMU_REG_MAGIC));
	EXPECT_EQ((__u32)bdf_to_busdevfn(e->bdf),
		  mmio_read32(e->regs + EMU_REG_BDF));
	EXPECT_EQ(0U, mmio_read32(e->regs + EMU_REG_SCRATCH));
	alarm(0);
}

TEST_HARNESS_MAIN
