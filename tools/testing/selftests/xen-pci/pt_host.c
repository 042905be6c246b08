// SPDX-License-Identifier: GPL-2.0
/*
 * The dom0 side of passthrough (see pt_dev.h): the devices dom0 hands to a
 * guest with samples/xen/pci-passthrough are dom0's own PCI devices.
 *
 * - their BARs have pages of their own in dom0 (xen_pci_page_align=, on
 *   by default), which the backend needs before it maps them into a guest,
 *   and the backend checks that itself (the test bed's run with
 *   xen_pci_page_align=off is the control, where it must refuse);
 * - dom0 uses them itself, through sysfs, when no backend runs: before the
 *   guests start, and after a guest's backends exited;
 * - the backend refuses what it cannot do safely: a device that reaches
 *   its config space through a BAR, --msi for a device that is not bound
 *   to vfio-pci;
 * - run by dom0's init after the backends of a guest exited, with
 *   XEN_PCI_PT_NONCE set to the guest's nonce: the guest's pattern and the
 *   host's are in the ivshmem memory, and dom0's own writes land there.
 */

#define _GNU_SOURCE
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "pt_dev.h"

FIXTURE(pt) {
	char shm[EMU_BDF_LEN];
	char nic[EMU_BDF_LEN];
	struct bar_map regs, mem, nic_regs;
};

FIXTURE_SETUP(pt)
{
	memset(&self->regs, 0, sizeof(self->regs));
	memset(&self->mem, 0, sizeof(self->mem));
	memset(&self->nic_regs, 0, sizeof(self->nic_regs));
	if (access("/dev/xen/pci-ioreq", F_OK))
		SKIP(return, "not a Xen dom0 with /dev/xen/pci-ioreq");
	if (!dev_find(PT_IVSHMEM_VENDOR, PT_IVSHMEM_DEVICE, self->shm) ||
	    !dev_find(PT_RTL8139_VENDOR, PT_RTL8139_DEVICE, self->nic))
		SKIP(return, "dom0 has no ivshmem and rtl8139 to pass through");
	if (geteuid())
		SKIP(return, "needs root");
	ASSERT_EQ(0, dev_attr_write(self->shm, "enable", "1"));
	ASSERT_EQ(0, dev_attr_write(self->nic, "enable", "1"));
	ASSERT_EQ(0, dev_map_bar(self->shm, 0, &self->regs));
	ASSERT_EQ(0, dev_map_bar(self->shm, 2, &self->mem));
	ASSERT_EQ(0, dev_map_bar(self->nic, 1, &self->nic_regs));
}

FIXTURE_TEARDOWN(pt)
{
	dev_unmap_bar(&self->regs);
	dev_unmap_bar(&self->mem);
	dev_unmap_bar(&self->nic_regs);
	if (self->shm[0]) {
		dev_attr_write(self->shm, "enable", "0");
		dev_attr_write(self->nic, "enable", "0");
	}
}

/* Run pci-passthrough with @args: its exit status (-1: none), its output in @out. */
static int run_backend(const char *args, char *out, size_t len)
{
	char cmd[320];
	size_t n;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "pci-passthrough %s 2>&1", args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST_F(pt, host_bars_own_pages)
{
	EXPECT_EQ(3U, pt_check_bar_pages(_metadata, self->shm, self->nic));
}

TEST_F(pt, usable_in_dom0)
{
	char drv[64];
	__u8 mac[6];

	dev_driver(self->shm, drv, sizeof(drv));
	EXPECT_STREQ("", drv);
	dev_driver(self->nic, drv, sizeof(drv));
	EXPECT_STREQ("", drv);

	pt_read_mac(self->nic_regs.base, mac);
	EXPECT_EQ(0, memcmp(mac, PT_RTL8139_MAC, 6))
		TH_LOG("rtl8139 MAC %02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		       mac[1], mac[2], mac[3], mac[4], mac[5]);
	mmio_write32(self->regs.base + PT_IVSHMEM_INTRMASK, 0x3c3c3c3c);
	EXPECT_EQ(0x3c3c3c3cU,
		  mmio_read32(self->regs.base + PT_IVSHMEM_INTRMASK));
	mmio_write32(self->regs.base + PT_IVSHMEM_INTRMASK, 0);
}

/* Whether any memory BAR of @bdf is off a page boundary or shares a page. */
static bool bars_share_pages(const char *bdf)
{
	int i;

	for (i = 0; i < 6; i++) {
		__u64 s = 0, sz = 0, fl = 0;
		struct pci_res who;

		if (dev_resource(bdf, i, &s, &sz, &fl) ||
		    !(fl & PT_RES_MEM) || !sz)
			continue;
		if (s % PT_PAGE ||
		    pci_res_page_sharer(bdf, -1, s, s + sz - 1, PT_PAGE, &who))
			return true;
	}
	return false;
}

/* dom0 booted with xen_pci_page_align=off: it packs sub-page BARs. */
static bool page_align_off(void)
{
	char line[4096];
	size_t n = 0;
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		n = fread(line, 1, sizeof(line) - 1, f);
		fclose(f);
	}
	line[n] = '\0';
	return strstr(line, "xen_pci_page_align=off");
}

/*
 * The backend's own check of the host layout: it refuses the devices when
 * dom0 packs their BARs (xen_pci_page_align=off, the control), and
 * otherwise gets as far as binding to the guest (here a domain that does
 * not exist). What is expected comes from how dom0 was booted, not from
 * the layout measured.
 */
TEST_F(pt, backend_checks_host_pages)
{
	bool shared = page_align_off();
	char args[128], out[4096];
	unsigned int k;

	if (system("command -v pci-passthrough >/dev/null 2>&1"))
		SKIP(return, "no pci-passthrough in PATH (samples/xen)");
	for (k = 0; k < 2; k++) {
		const char *dev = k ? self->nic : self->shm;

		EXPECT_EQ(shared, bars_share_pages(dev))
			TH_LOG("%s: BARs %s page-exclusive, against dom0's boot options",
			       dev, shared ? "are" : "are not");
		int st;

		snprintf(args, sizeof(args), "--domid 32000 --host %s --slot 1",
			 dev);
		st = run_backend(args, out, sizeof(out));
		TH_LOG("%s (BARs %s): %s", dev,
		       shared ? "share pages" : "own their pages", out);
		EXPECT_EQ(1, st);
		EXPECT_NE(NULL, strstr(out, shared ?
				       "refusing to pass it through" :
				       "no such domain"));
	}
}

/*
 * A device known to reach its own config space through a BAR (dom0's
 * ati-vga) is refused before anything else: through the BAR mapped into
 * the guest, the guest could set Bus Master and DMA into the host.
 */
TEST(backend_refuses_cfg_backdoor)
{
	char bdf[EMU_BDF_LEN], args[128], out[4096];

	if (access("/dev/xen/pci-ioreq", F_OK))
		SKIP(return, "not a Xen dom0 with /dev/xen/pci-ioreq");
	if (!dev_find(PT_BACKDOOR_VENDOR, PT_BACKDOOR_DEVICE, bdf))
		SKIP(return, "dom0 has no %04x:%04x device", PT_BACKDOOR_VENDOR,
		     PT_BACKDOOR_DEVICE);
	if (system("command -v pci-passthrough >/dev/null 2>&1"))
		SKIP(return, "no pci-passthrough in PATH (samples/xen)");
	snprintf(args, sizeof(args), "--domid 32000 --host %s --slot 1", bdf);
	EXPECT_EQ(1, run_backend(args, out, sizeof(out)));
	TH_LOG("%s: %s", bdf, out);
	EXPECT_NE(NULL, strstr(out, "reaches its config space through a BAR"));
}

/*
 * --msi needs the device bound to vfio-pci, whose eventfd is the guest's
 * irqfd: the backend says so before it looks at anything else (dom0's
 * ivshmem has no driver).
 */
TEST(backend_msi_needs_vfio)
{
	char bdf[EMU_BDF_LEN], args[128], out[4096];

	if (access("/dev/xen/pci-ioreq", F_OK))
		SKIP(return, "not a Xen dom0 with /dev/xen/pci-ioreq");
	if (!dev_find(PT_IVSHMEM_VENDOR, PT_IVSHMEM_DEVICE, bdf))
		SKIP(return, "dom0 has no ivshmem to pass through");
	if (system("command -v pci-passthrough >/dev/null 2>&1"))
		SKIP(return, "no pci-passthrough in PATH (samples/xen)");
	snprintf(args, sizeof(args), "--domid 32000 --host %s --slot 1 --msi",
		 bdf);
	EXPECT_EQ(1, run_backend(args, out, sizeof(out)));
	TH_LOG("%s: %s", bdf, out);
	EXPECT_NE(NULL, strstr(out, "--msi: "));
	EXPECT_NE(NULL, strstr(out, "is not bound to vfio-pci"));
}

/* After the guest's backends exited: the data is there, dom0 writes. */
TEST_F(pt, guest_data_after_backend_exit)
{
	const char *s = getenv("XEN_PCI_PT_NONCE");
	__u32 nonce, first = 0;
	unsigned int bad;

	if (!s)
		SKIP(return, "run by dom0's init when a guest's backends exit (XEN_PCI_PT_NONCE)");
	nonce = strtoul(s, NULL, 0);
	bad = pt_check_pattern(self->mem.base, PT_GUEST_OFF, nonce,
			       PT_BY_GUEST, &first);
	EXPECT_EQ(0U, bad)
		TH_LOG("guest pattern: %u words differ, first %#x", bad, first);
	bad = pt_check_pattern(self->mem.base, PT_HOST_OFF, nonce, PT_BY_HOST,
			       &first);
	EXPECT_EQ(0U, bad)
		TH_LOG("host pattern: %u words differ, first %#x", bad, first);
	pt_write_pattern(self->mem.base, PT_DOM0_OFF, nonce, PT_BY_DOM0);
	EXPECT_EQ(0U, pt_check_pattern(self->mem.base, PT_DOM0_OFF, nonce,
				       PT_BY_DOM0, &first));
}

TEST_HARNESS_MAIN
