// SPDX-License-Identifier: GPL-2.0-only
/*
 * Placement of PCI memory BARs in an arm64 Xen dom0.
 *
 * Xen maps device memory into a guest in whole pages. When dom0 hands a PCI
 * device to a guest (through a userspace backend and /dev/xen/pci-ioreq, or
 * any later form of passthrough), each page of the device's BARs becomes
 * the guest's. Those pages must hold nothing but that device: a page shared
 * with another device's BAR gives the guest that device too (XSA-461).
 *
 * The PCI core can already place every BAR that way: a non-zero
 * pcibios_default_alignment() makes pci_reassigndev_resource_alignment()
 * give each memory BAR and expansion ROM of each device
 * IORESOURCE_STARTALIGN at that alignment, keeping its true size (drivers
 * see the size of the hardware). Done for every device of the system, no
 * two BARs share a page; done for some devices only, the others could still
 * be placed in the tail of a page that starts with a passed-through BAR.
 * PowerNV uses the same mechanism for VFIO.
 *
 * Like pci=resource_alignment=, this releases what firmware assigned: each
 * device has memory decoding turned off until the kernel assigns its BARs
 * again (and a driver enables it), and bridge windows are sized anew. Where
 * firmware's configuration is to be kept (PCI_PROBE_ONLY, or a host bridge
 * with ACPI _DSM function 5 or "linux,pci-probe-only" in its node), the PCI
 * core realigns nothing and firmware's placement wins.
 *
 * So in dom0 every device gets page-aligned BARs, by default: which devices
 * a user will hand to guests is not known at enumeration, and the cost is
 * address space, at most one page per sub-page BAR. xen_pci_page_align=off
 * turns it off for a dom0 whose host bridge windows are too small for that
 * and that passes no device through. Guests other than dom0 are left alone:
 * their virtual root complex has a host driver of its own (pcie-xen-vpci).
 *
 * The alignment is the kernel's page size: never smaller than Xen's 4 KiB,
 * and what dom0 itself needs to mmap() one BAR alone (sysfs resource files,
 * VFIO, UIO).
 */

#define pr_fmt(fmt) "xen: " fmt

#include <linux/init.h>
#include <linux/kstrtox.h>
#include <linux/pci.h>
#include <linux/printk.h>

#include <xen/xen.h>

static bool xen_pci_page_align __ro_after_init = true;

static int __init parse_xen_pci_page_align(char *arg)
{
	return kstrtobool(arg, &xen_pci_page_align);
}
early_param("xen_pci_page_align", parse_xen_pci_page_align);

resource_size_t pcibios_default_alignment(void)
{
	/* Firmware's placement is to be kept: nothing may move. */
	if (!xen_initial_domain() || pci_has_flag(PCI_PROBE_ONLY))
		return 0;

	if (!xen_pci_page_align) {
		pr_info_once("PCI BARs may share pages (xen_pci_page_align=off): do not pass devices through\n");
		return 0;
	}

	pr_info_once("PCI memory BARs get pages of their own for passthrough\n");
	return PAGE_SIZE;
}
