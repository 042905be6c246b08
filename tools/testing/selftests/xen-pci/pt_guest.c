// SPDX-License-Identifier: GPL-2.0
/*
 * Drive, from inside a Xen guest, the devices dom0 passes through with
 * samples/xen/pci-passthrough (see pt_dev.h): an ivshmem-plain and an
 * rtl8139 of the host, whose sub-page BARs the guest reaches directly,
 * through pages Xen maps.
 *
 * - they enumerate with their real IDs;
 * - their BARs have pages of their own, so that whole pages can be mapped
 *   (under pci-host-generic the two 256-byte BARs share a page: the
 *   control run's expected failure);
 * - their registers work: the rtl8139's MAC address and multicast filter,
 *   the ivshmem's interrupt mask;
 * - clearing Memory Space or moving a BAR unmaps it, setting it or moving
 *   the BAR back maps it again;
 * - the ivshmem's memory is the host's: a pattern the guest writes is
 *   checked by the host in QEMU's backing file, and a pattern the host
 *   writes there reads back in the guest;
 * - when the backends exit (dom0 stops them on the guest's request), the
 *   BARs are unmapped and read all ones; restarted backends bring the
 *   devices back after a rescan.
 *
 * XEN_PCI_SUITE names the run; the control run (a name ending in
 * "-generic") keeps its backends, so the exit test skips there.
 */

#define _GNU_SOURCE
#include <signal.h>
#include <time.h>

#include <linux/pci_regs.h>

#include "../kselftest_harness.h"
#include "pt_dev.h"

#define HOST_WAIT_S		30
#define UNMAP_WAIT_S		20
#define RESCAN_WAIT_S		60

#define NO_PT "no passed-through ivshmem and rtl8139 in this guest"

FIXTURE(pt) {
	char shm[EMU_BDF_LEN];
	char nic[EMU_BDF_LEN];
};

FIXTURE_SETUP(pt)
{
	char type[16];

	if (sysfs_read("/sys/hypervisor/type", type, sizeof(type)) ||
	    strcmp(type, "xen"))
		SKIP(return, "not a Xen guest: nothing is passed through here");
	if (!dev_find(PT_IVSHMEM_VENDOR, PT_IVSHMEM_DEVICE, self->shm) ||
	    !dev_find(PT_RTL8139_VENDOR, PT_RTL8139_DEVICE, self->nic))
		SKIP(return, NO_PT);
	if (geteuid())
		SKIP(return, "needs root");
	if (!access("/dev/xen/pci-ioreq", F_OK))
		SKIP(return, "this is dom0, which serves these devices: pt_host tests them here");
	/* Memory decoding on, so that the backends map the BARs. */
	ASSERT_EQ(0, dev_attr_write(self->shm, "enable", "1"));
	ASSERT_EQ(0, dev_attr_write(self->nic, "enable", "1"));
}

FIXTURE_TEARDOWN(pt)
{
}

static const char *suite(void)
{
	const char *s = getenv("XEN_PCI_SUITE");

	return s ? s : "guest";
}

static bool is_control(void)
{
	const char *s = suite();
	size_t n = strlen(s);

	return n > 8 && !strcmp(s + n - 8, "-generic");
}

/* The real IDs of the host devices, not made-up ones. */
TEST_F(pt, ids)
{
	unsigned long v;

	ASSERT_EQ(0, dev_attr_ulong(self->shm, "class", &v));
	EXPECT_EQ(PT_IVSHMEM_CLASS, v);
	ASSERT_EQ(0, dev_attr_ulong(self->nic, "class", &v));
	EXPECT_EQ(PT_RTL8139_CLASS, v);
	ASSERT_EQ(0, dev_attr_ulong(self->nic, "subsystem_vendor", &v));
	EXPECT_NE(0xffffUL, v);
	TH_LOG("ivshmem at %s, rtl8139 at %s", self->shm, self->nic);
}

/*
 * No DMA: nothing isolates a passed-through device's DMA from dom0's
 * memory (Xen has no SMMU for PCI on Arm before 4.21), so the backend
 * refuses Bus Master: the guest's write of it reads back as 0, and dom0,
 * asked on the console, checks the host devices' own Command registers
 * while their backends still serve (result SUITE/host-bus-master-off).
 */
static void bus_master_refused(struct __test_metadata *_metadata,
			       const char *bdf)
{
	__u32 cmd;
	int fd;

	fd = dev_cfg_open(bdf);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, cfg_read(fd, PCI_COMMAND, 2, &cmd));
	ASSERT_EQ(0, cfg_write(fd, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER));
	ASSERT_EQ(0, cfg_read(fd, PCI_COMMAND, 2, &cmd));
	EXPECT_FALSE(cmd & PCI_COMMAND_MASTER)
		TH_LOG("%s: Command %#x after a write of Bus Master", bdf, cmd);
	EXPECT_TRUE(cmd & PCI_COMMAND_MEMORY)
		TH_LOG("%s: Command %#x: memory decoding went", bdf, cmd);
	close(fd);
}

TEST_F(pt, bus_master_refused)
{
	bus_master_refused(_metadata, self->shm);
	bus_master_refused(_metadata, self->nic);
	printf("@@XENPCI request=host-bus-master\n");
	fflush(stdout);
}

/* Each memory BAR starts a page and shares none of its pages. */
TEST_F(pt, bars_own_pages)
{
	EXPECT_EQ(3U, pt_check_bar_pages(_metadata, self->shm, self->nic));
}

/* The 256-byte register BARs reach the real devices. */
TEST_F(pt, sub_page_bars)
{
	struct bar_map nic = { 0 }, shm = { 0 };
	__u8 mac[6];
	__u32 v;

	ASSERT_EQ(0, dev_map_bar(self->nic, 1, &nic));
	ASSERT_EQ(0, dev_map_bar(self->shm, 0, &shm));

	pt_read_mac(nic.base, mac);
	/* What a BAR on a page of no device reads: say so, plainly. */
	if (!memcmp(mac, "\xff\xff\xff\xff\xff\xff", 6))
		TH_LOG("rtl8139 BAR1 reads all ones: no device behind its page");
	EXPECT_EQ(0, memcmp(mac, PT_RTL8139_MAC, 6))
		TH_LOG("rtl8139 MAC %02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		       mac[1], mac[2], mac[3], mac[4], mac[5]);
	mmio_write32(nic.base + PT_RTL8139_MAR0, 0x12345678);
	mmio_write32(nic.base + PT_RTL8139_MAR0 + 4, 0x9abcdef0);
	EXPECT_EQ(0x12345678U, mmio_read32(nic.base + PT_RTL8139_MAR0));
	EXPECT_EQ(0x9abcdef0U, mmio_read32(nic.base + PT_RTL8139_MAR0 + 4));

	mmio_write32(shm.base + PT_IVSHMEM_INTRMASK, 0xa5a5a5a5);
	v = mmio_read32(shm.base + PT_IVSHMEM_INTRMASK);
	EXPECT_EQ(0xa5a5a5a5U, v);
	mmio_write32(shm.base + PT_IVSHMEM_INTRMASK, 0);
	EXPECT_EQ(0U, mmio_read32(shm.base + PT_IVSHMEM_INTRMASK));

	dev_unmap_bar(&nic);
	dev_unmap_bar(&shm);
}

/* BAR2 is the host's memory: both directions, checked on both sides. */
TEST_F_TIMEOUT(pt, shared_memory, HOST_WAIT_S + 15)
{
	__u32 nonce = pt_boot_nonce(), first = 0;
	struct bar_map m = { 0 };
	unsigned int bad = 0;
	int i;

	ASSERT_EQ(0, dev_map_bar(self->shm, 2, &m));
	ASSERT_EQ(PT_IVSHMEM_SIZE, m.size);
	pt_write_pattern(m.base, PT_GUEST_OFF, nonce, PT_BY_GUEST);
	ASSERT_EQ(0U, pt_check_pattern(m.base, PT_GUEST_OFF, nonce,
				       PT_BY_GUEST, &first))
		TH_LOG("the pattern does not read back: %#x", first);

	/* The harness checks the file and answers with its own pattern. */
	printf("@@XENPCI host-check suite=%s nonce=%#x\n", suite(), nonce);
	fflush(stdout);
	for (i = 0; i < HOST_WAIT_S * 10; i++) {
		bad = pt_check_pattern(m.base, PT_HOST_OFF, nonce, PT_BY_HOST,
				       &first);
		if (!bad)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0U, bad)
		TH_LOG("the host's pattern did not arrive in %d s (%u words differ, first %#x)",
		       HOST_WAIT_S, bad, first);
	if (!bad)
		TH_LOG("host pattern read back after %d ms", i * 100);
	dev_unmap_bar(&m);
}

/*
 * The backend follows the guest's Command register and BARs: clearing
 * Memory Space unmaps the BAR, so it reads all ones; so does moving it away
 * (the old address then belongs to nobody); setting Memory Space again, or
 * moving the BAR back, maps the device again.
 */
TEST_F(pt, decode_off_and_move)
{
	struct bar_map nic = { 0 };
	__u32 cmd, bar, lo;
	int cfg;

	if (is_control())
		SKIP(return, "the control's rtl8139 BAR is never mapped");
	ASSERT_EQ(0, dev_map_bar(self->nic, 1, &nic));
	cfg = dev_cfg_open(self->nic);
	ASSERT_LE(0, cfg);
	ASSERT_EQ(0, cfg_read(cfg, PCI_COMMAND, 2, &cmd));
	ASSERT_TRUE(cmd & PCI_COMMAND_MEMORY);
	lo = mmio_read32(nic.base);
	EXPECT_EQ(0, memcmp(&lo, PT_RTL8139_MAC, 4));

	/* Each change is undone whatever it showed: later tests need BAR1. */
	EXPECT_EQ(0, cfg_write(cfg, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY));
	EXPECT_EQ(0xffffffffU, mmio_read32(nic.base));
	EXPECT_EQ(0, cfg_write(cfg, PCI_COMMAND, 2, cmd));
	lo = mmio_read32(nic.base);
	EXPECT_EQ(0, memcmp(&lo, PT_RTL8139_MAC, 4));

	/* Move BAR1 to the last page of the 32-bit window and back. */
	EXPECT_EQ(0, cfg_read(cfg, PCI_BASE_ADDRESS_1, 4, &bar));
	EXPECT_EQ(0, cfg_write(cfg, PCI_BASE_ADDRESS_1, 4, 0x32fff000));
	EXPECT_EQ(0xffffffffU, mmio_read32(nic.base));
	EXPECT_EQ(0, cfg_write(cfg, PCI_BASE_ADDRESS_1, 4, bar));
	lo = mmio_read32(nic.base);
	EXPECT_EQ(0, memcmp(&lo, PT_RTL8139_MAC, 4));
	close(cfg);
	dev_unmap_bar(&nic);
}

static sigjmp_buf bus_error;

static void on_sigbus(int sig)
{
	siglongjmp(bus_error, 1);
}

/* One read of a BAR word that survives a bus error (reported as 0). */
static __u32 read_or_bus_error(const __u8 *p, bool *sigbus)
{
	if (sigsetjmp(bus_error, 1)) {
		*sigbus = true;
		return 0;
	}
	return mmio_read32(p);
}

/*
 * Ask dom0 to stop the backends (a console marker its relay acts on): the
 * BARs must then read all ones, not the device. dom0 then checks that it
 * still uses the devices itself (pt_host) and lets the backends restart;
 * remove and rescan bring the devices back. Must stay the last test.
 */
TEST_F_TIMEOUT(pt, backend_exit_unmaps, UNMAP_WAIT_S + RESCAN_WAIT_S + 30)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct bar_map nic = { 0 }, shm = { 0 };
	__u32 mac_lo = 0, mem = 0;
	bool sigbus = false;
	__u8 mac[6];
	int i;

	if (is_control())
		SKIP(return, "the control run keeps its backends");
	ASSERT_EQ(0, dev_map_bar(self->nic, 1, &nic));
	ASSERT_EQ(0, dev_map_bar(self->shm, 2, &shm));
	pt_read_mac(nic.base, mac);
	ASSERT_EQ(0, memcmp(mac, PT_RTL8139_MAC, 6));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));

	printf("@@XENPCI request=stop-passthrough nonce=%#x\n",
	       pt_boot_nonce());
	fflush(stdout);
	for (i = 0; i < UNMAP_WAIT_S * 10; i++) {
		mac_lo = read_or_bus_error(nic.base, &sigbus);
		if (mac_lo == 0xffffffff || sigbus)
			break;
		usleep(100000);
	}
	EXPECT_FALSE(sigbus);
	EXPECT_EQ(0xffffffffU, mac_lo)
		TH_LOG("rtl8139 BAR1 still reads %#x %d s after the request",
		       mac_lo, UNMAP_WAIT_S);
	mem = read_or_bus_error(shm.base + PT_GUEST_OFF, &sigbus);
	EXPECT_FALSE(sigbus);
	EXPECT_EQ(0xffffffffU, mem);
	TH_LOG("after the backends exited: rtl8139 BAR1 %#x, ivshmem BAR2 %#x (%d ms)",
	       mac_lo, mem, i * 100);
	dev_unmap_bar(&nic);
	dev_unmap_bar(&shm);

	/* The restarted backends serve the devices afresh. */
	ASSERT_EQ(0, dev_attr_write(self->nic, "remove", "1"));
	ASSERT_EQ(0, dev_attr_write(self->shm, "remove", "1"));
	ASSERT_TRUE(dev_rescan_until(self->nic, PT_RTL8139_VENDOR,
				     PT_RTL8139_DEVICE, RESCAN_WAIT_S));
	ASSERT_TRUE(dev_rescan_until(self->shm, PT_IVSHMEM_VENDOR,
				     PT_IVSHMEM_DEVICE, 10));
	ASSERT_EQ(0, dev_attr_write(self->nic, "enable", "1"));
	ASSERT_EQ(0, dev_map_bar(self->nic, 1, &nic));
	pt_read_mac(nic.base, mac);
	/* What a BAR on a page of no device reads: say so, plainly. */
	if (!memcmp(mac, "\xff\xff\xff\xff\xff\xff", 6))
		TH_LOG("rtl8139 BAR1 reads all ones: no device behind its page");
	EXPECT_EQ(0, memcmp(mac, PT_RTL8139_MAC, 6));
	dev_unmap_bar(&nic);
}

TEST_HARNESS_MAIN
