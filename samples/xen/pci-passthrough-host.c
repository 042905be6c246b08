// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of pci-passthrough (pci-passthrough.h): the device's
 * config space through sysfs, and the checks that it can be handed to a
 * guest (an endpoint without a driver in dom0, no known backdoor to its
 * config space, BARs with pages of their own), with the capabilities the
 * guest may see.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pci-passthrough.h"
#include "pci-resource.h"

#define SYSFS_PCI		PCI_RES_SYSFS
#define MAX_CAPS		48

/* ---- the real device, through sysfs ---- */

__u32 host_read32(struct pt *p, unsigned int off)
{
	__u32 v;

	if (pread(p->cfg_fd, &v, 4, off) != 4)
		return ~0U;
	return v;
}

__u16 host_read16(struct pt *p, unsigned int off)
{
	return host_read32(p, off & ~3U) >> (off & 2) * 8;
}

__u8 host_read8(struct pt *p, unsigned int off)
{
	return host_read32(p, off & ~3U) >> (off & 3) * 8;
}

void host_set_command(struct pt *p, __u16 cmd)
{
	if (pwrite(p->cfg_fd, &cmd, 2, PCI_COMMAND) != 2)
		say("%s: writing Command: %s\n", p->host, strerror(errno));
	p->host_command_changed = true;
}

/* ---- checks of the host device ---- */

/*
 * Devices with a backdoor to their own config space in a memory BAR: a
 * mirror of it, or an address/data window onto it. QEMU's VFIO traps these
 * with quirks. Mapped into the guest, such a BAR lets the guest set Bus
 * Master behind the backend's back and then DMA anywhere in the host: they
 * are refused. The list is what is known, not a proof that other devices
 * have no such register.
 */
#define BASE_CLASS_DISPLAY	0x03
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

static const struct {
	__u16 vendor;
	__u8 base_class;
	const char *what;
} cfg_backdoors[] = {
	{ 0x1002, BASE_CLASS_DISPLAY, "ATI/AMD graphics" },
	{ 0x10de, BASE_CLASS_DISPLAY, "NVIDIA graphics" },
};

static bool host_cfg_backdoor(struct pt *p)
{
	__u16 vendor = host_read16(p, PCI_VENDOR_ID);
	__u8 base_class = host_read8(p, PCI_CLASS_DEVICE + 1);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cfg_backdoors); i++) {
		if (vendor != cfg_backdoors[i].vendor ||
		    base_class != cfg_backdoors[i].base_class)
			continue;
		say("%s (%s) reaches its config space through a BAR\n",
		    p->host, cfg_backdoors[i].what);
		say("the guest could set Bus Master there: refusing to pass it through\n");
		return true;
	}
	return false;
}

static void refuse_host(struct pt *p)
{
	say("%s: refusing to pass it through: its BARs must have pages of their own\n",
	    p->host);
	say("(dom0 places them so unless booted with xen_pci_page_align=off)\n");
}

/*
 * Every page of the BARs we pass must hold nothing of another device (the
 * device's own BARs may share pages: the guest gets them all).
 */
static bool host_pages_exclusive(struct pt *p)
{
	struct pci_res who;
	unsigned int i;
	bool ok = true;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		const struct pt_bar *b = &p->bar[i];
		__u64 lo = b->host & ~(XEN_PAGE - 1);
		int ret;

		if (!b->present)
			continue;
		ret = pci_res_page_sharer(p->host, -1, lo,
					  lo + bar_pages(b) * XEN_PAGE - 1,
					  XEN_PAGE, &who);
		if (ret < 0)
			say(SYSFS_PCI ": %s\n", strerror(-ret));
		else if (ret)
			say("%s BAR%u (%#llx) shares a page with %s %s%d (%#llx)\n",
			    p->host, i, (unsigned long long)b->host, who.dev,
			    who.index == PCI_RES_ROM ? "ROM" : "BAR",
			    who.index == PCI_RES_ROM ? 0 : who.index,
			    (unsigned long long)who.start);
		if (ret)
			ok = false;
	}
	if (!ok)
		refuse_host(p);
	return ok;
}

bool valid_host_name(const char *s)
{
	unsigned int seg, bus, dev, fn;
	char tail;

	return strlen(s) == 12 &&
	       sscanf(s, "%4x:%2x:%2x.%1x%c", &seg, &bus, &dev, &fn, &tail) == 4 &&
	       dev < 32 && fn < 8;
}

int probe_host(struct pt *p)
{
	struct pci_res res[PCI_RES_NR];
	char path[PATH_MAX], drv[PATH_MAX];
	unsigned int i, c, n;
	ssize_t len;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/config", p->host);
	p->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
	if (p->cfg_fd < 0) {
		say("%s: %s%s\n", path, strerror(errno),
		    errno == ENOENT ? " (no such device in dom0)" : "");
		return -1;
	}
	/* One backend per device: a second one would map it twice. */
	if (flock(p->cfg_fd, LOCK_EX | LOCK_NB)) {
		say("%s: %s\n", p->host, errno == EWOULDBLOCK ?
		    "passed through by another backend already" :
		    strerror(errno));
		return -1;
	}
	if ((host_read8(p, PCI_HEADER_TYPE) & 0x7f) != PCI_HEADER_TYPE_NORMAL) {
		say("%s is a bridge: only endpoints can be passed through\n",
		    p->host);
		return -1;
	}
	if (host_cfg_backdoor(p))
		return -1;
	snprintf(path, sizeof(path), SYSFS_PCI "/%s/driver", p->host);
	len = readlink(path, drv, sizeof(drv) - 1);
	drv[len > 0 ? len : 0] = 0;
	if (len > 0 && strcmp(strrchr(drv, '/') + 1, "pci-stub") &&
	    strcmp(strrchr(drv, '/') + 1, "vfio-pci")) {
		say("%s is driven by %s in dom0: unbind it first\n",
		    p->host, strrchr(drv, '/') + 1);
		return -1;
	}
	/* Its interrupts come through VFIO: say so before anything else. */
	if (p->irq.msi_wanted &&
	    (len <= 0 || strcmp(strrchr(drv, '/') + 1, "vfio-pci"))) {
		say("--msi: %s is not bound to vfio-pci in dom0\n", p->host);
		return -1;
	}
	if (pci_res_read(p->host, res)) {
		say("%s: cannot read its resources\n", p->host);
		return -1;
	}
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		struct pt_bar *b = &p->bar[i];
		__u32 reg = host_read32(p, PCI_BASE_ADDRESS_0 + 4 * i);

		if (b->upper || !pci_res_is_mem(&res[i]))
			continue;
		b->present = true;
		b->host = res[i].start;
		b->size = res[i].end - res[i].start + 1;
		b->flags = reg & ~PCI_BASE_ADDRESS_MEM_MASK;
		if ((reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
		    PCI_BASE_ADDRESS_MEM_TYPE_64 && i + 1 < PCI_STD_NUM_BARS)
			p->bar[i + 1].upper = true;
		if (b->size & (b->size - 1) || b->size < 16) {
			say("%s BAR%u: odd size %#llx\n", p->host, i,
			    (unsigned long long)b->size);
			return -1;
		}
		if (b->host % XEN_PAGE) {
			say("%s BAR%u at %#llx is not page-aligned\n", p->host, i,
			    (unsigned long long)b->host);
			refuse_host(p);
			return -1;
		}
	}
	if (!host_pages_exclusive(p))
		return -1;

	/* The capabilities the guest sees, in the device's order. */
	if (host_read16(p, PCI_STATUS) & PCI_STATUS_CAP_LIST) {
		__u8 prev = 0;

		c = host_read8(p, PCI_CAPABILITY_LIST) & ~3U;
		for (n = 0; c >= 0x40 && c < CFG_SIZE && n < MAX_CAPS; n++) {
			__u8 id = host_read8(p, c);

			if (id == PCI_CAP_ID_MSI && p->irq.msi_wanted &&
			    !p->irq.msi_cap) {
				p->irq.msi_cap = c;
				p->irq.msi_64 = host_read16(p, c + PCI_MSI_FLAGS) &
						PCI_MSI_FLAGS_64BIT;
			}
			if (id == PCI_CAP_ID_PM || id == PCI_CAP_ID_EXP ||
			    id == PCI_CAP_ID_VNDR ||
			    (id == PCI_CAP_ID_MSI && c == p->irq.msi_cap)) {
				if (prev)
					p->cap_next[prev] = c;
				else
					p->cap_first = c;
				p->cap_exposed[c] = true;
				prev = c;
			}
			c = host_read8(p, c + 1) & ~3U;
		}
	}
	/*
	 * While the guest has the device: no DMA (nothing isolates it), and
	 * no INTx, which nobody would handle and which may share its line
	 * with devices dom0 drives. The Command register is restored at exit.
	 */
	p->host_command = host_read16(p, PCI_COMMAND);
	host_set_command(p, (p->host_command & ~PCI_COMMAND_MASTER) |
			 PCI_COMMAND_INTX_DISABLE);
	return 0;
}
