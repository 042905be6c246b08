// SPDX-License-Identifier: GPL-2.0-only
/*
 * Placement of PCI memory BARs in an arm64 Xen dom0: every memory BAR and
 * expansion ROM gets pages of its own, so that a device can be handed to a
 * guest without its neighbours. Rationale and limits:
 * Documentation/arch/arm64/xen-pci-passthrough.rst.
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
