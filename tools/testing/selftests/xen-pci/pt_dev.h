/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The devices the test bed passes through to a guest with
 * samples/xen/pci-passthrough, as the guest and dom0 both see them:
 *
 * - ivshmem-plain (1af4:1110): BAR0 holds 256 bytes of registers, of
 *   which Interrupt Mask (offset 0) is read/write; BAR2 is 1 MiB of
 *   memory that the host shares with QEMU through a file. The guest
 *   writes PT_WORDS words of its pattern at PT_GUEST_OFF and asks the
 *   host to check them in the file (a "host-check" marker on the console,
 *   testbed/harness.py); the host then writes its own pattern at
 *   PT_HOST_OFF, and dom0 writes one at PT_DOM0_OFF.
 * - rtl8139 (10ec:8139): BAR1 holds 256 bytes of registers: the MAC
 *   address (PT_RTL8139_MAC, from QEMU's command line) at 0, and the
 *   read/write multicast filter at 8.
 *
 * Both have sub-page BARs, and no DMA is started by these tests.
 *
 * - edu (1234:11e8), QEMU's teaching device: an interrupt, INTx or MSI,
 *   each time its Interrupt Raise register is written (pt_irq). dom0 binds
 *   it to vfio-pci, whose eventfds the backend forwards.
 *
 * - ati-vga (1002:5046): a graphics device of a vendor whose devices reach
 *   their own config space through a BAR. The backend must refuse it.
 *
 * This header is their one definition: the test bed's QEMU command line
 * and its backend lists take the host slots, the memory size and the MAC
 * from here (testbed/lib/ptdev.py).
 *
 * Include ../kselftest_harness.h first.
 */

#ifndef _XEN_PCI_PT_DEV_H
#define _XEN_PCI_PT_DEV_H

#include "lib/pci_util.h"

#define PT_IVSHMEM_VENDOR	0x1af4U
#define PT_IVSHMEM_DEVICE	0x1110U
#define PT_IVSHMEM_CLASS	0x050000U	/* memory controller, RAM */
#define PT_IVSHMEM_INTRMASK	0x00
#define PT_IVSHMEM_HOST_SLOT	0x10	/* dom0's 0000:00:10.0 */
#define PT_IVSHMEM_SIZE		0x100000U	/* BAR2, the shared memory */
#define PT_RTL8139_VENDOR	0x10ecU
#define PT_RTL8139_DEVICE	0x8139U
#define PT_RTL8139_CLASS	0x020000U	/* Ethernet controller */
#define PT_RTL8139_MAR0		0x08
#define PT_RTL8139_HOST_SLOT	0x11	/* dom0's 0000:00:11.0 */
#define PT_BACKDOOR_VENDOR	0x1002U
#define PT_BACKDOOR_DEVICE	0x5046U
#define PT_BACKDOOR_HOST_SLOT	0x12	/* dom0's 0000:00:12.0 */
#define PT_EDU_HOST_SLOT	0x14	/* dom0's 0000:00:14.0 */
static const __u8 PT_RTL8139_MAC[6] = { 0x52, 0x54, 0x00, 0x58, 0x50, 0x54 };

#define PT_GUEST_OFF		0x1000
#define PT_HOST_OFF		0x2000
#define PT_DOM0_OFF		0x3000
#define PT_WORDS		256

enum { PT_BY_GUEST, PT_BY_HOST, PT_BY_DOM0 };

/* Word @i of the pattern written by @who for @nonce (harness.py reads this). */
static inline __u32 pt_pattern(__u32 nonce, unsigned int i, unsigned int who)
{
	return nonce ^ (i + 1) * 0x9e3779b9U ^ who * 0x5bd1e995U;
}

/* A nonce for this boot, the same for every test of it. */
static inline __u32 pt_boot_nonce(void)
{
	char id[64];
	__u32 h = 2166136261U;
	unsigned int i;

	if (sysfs_read("/proc/sys/kernel/random/boot_id", id, sizeof(id)))
		return 0x5eed;
	for (i = 0; id[i]; i++)
		h = (h ^ (__u8)id[i]) * 16777619U;
	return h;
}

/*
 * Count the words of @who's pattern at @off of a mapped ivshmem BAR2 that
 * differ; the first bad word goes to *first.
 */
static inline unsigned int pt_check_pattern(const __u8 *bar2, unsigned int off,
					    __u32 nonce, unsigned int who,
					    __u32 *first)
{
	unsigned int i, bad = 0;

	for (i = 0; i < PT_WORDS; i++) {
		__u32 v = mmio_read32(bar2 + off + 4 * i);

		if (v != pt_pattern(nonce, i, who) && !bad++)
			*first = v;
	}
	return bad;
}

static inline void pt_write_pattern(__u8 *bar2, unsigned int off, __u32 nonce,
				    unsigned int who)
{
	unsigned int i;

	for (i = 0; i < PT_WORDS; i++)
		mmio_write32(bar2 + off + 4 * i, pt_pattern(nonce, i, who));
}

/* The MAC address of the rtl8139, as its BAR1 registers hold it. */
static inline void pt_read_mac(const __u8 *bar1, __u8 mac[6])
{
	__u32 lo = mmio_read32(bar1), hi = mmio_read32(bar1 + 4);

	memcpy(mac, &lo, 4);
	mac[4] = hi;
	mac[5] = hi >> 8;
}

#define PT_PAGE			4096ULL
#define PT_RES_MEM		PCI_RES_MEM

/*
 * Check that each memory BAR of the two devices starts a page and shares
 * none of its pages with another BAR; log the layout. Returns the number of
 * memory BARs seen.
 */
static inline unsigned int pt_check_bar_pages(struct __test_metadata *_metadata,
					      const char *shm, const char *nic)
{
	unsigned int n = 0, k;
	int i;

	for (k = 0; k < 2; k++) {
		const char *dev = k ? nic : shm;

		for (i = 0; i < 6; i++) {
			__u64 s = 0, sz = 0, fl = 0;
			struct pci_res who;

			if (dev_resource(dev, i, &s, &sz, &fl) ||
			    !(fl & PT_RES_MEM) || !sz)
				continue;
			n++;
			TH_LOG("%s BAR%d: %#llx, %llu bytes", dev, i,
			       (unsigned long long)s, (unsigned long long)sz);
			EXPECT_EQ(0ULL, s % PT_PAGE)
				TH_LOG("%s BAR%d at %#llx is not page-aligned",
				       dev, i, (unsigned long long)s);
			/* A device's own BARs may share pages. */
			EXPECT_EQ(0, pci_res_page_sharer(dev, -1, s, s + sz - 1,
							 PT_PAGE, &who))
				TH_LOG("%s BAR%d shares a page with %s resource %d at %#llx",
				       dev, i, who.dev, who.index,
				       (unsigned long long)who.start);
		}
	}
	return n;
}

#endif /* _XEN_PCI_PT_DEV_H */
