/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Xen virtual PCIe root complex: what pcie-xen-vpci and pci-host-generic
 * share, and the placement helpers the KUnit suite tests.
 */

#ifndef _PCIE_XEN_VPCI_H
#define _PCIE_XEN_VPCI_H

#include <linux/ioport.h>
#include <linux/kconfig.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/sizes.h>
#include <linux/types.h>

#include <xen/xen.h>
#include <xen/interface/arch-arm.h>

#define XEN_VPCI_COMPATIBLE	"xen,vpci-pcie-ecam"

/**
 * pcie_xen_vpci_owns_node() - tell whether pcie-xen-vpci drives a host bridge
 * @np: device tree node of an ECAM host bridge
 *
 * pcie-xen-vpci drives, when it is enabled (built in or as a module):
 *
 * - every node compatible with "xen,vpci-pcie-ecam";
 * - in a Xen guest other than dom0, the node that the Xen toolstack generates
 *   for the guest's virtual root complex: compatible "pci-host-ecam-generic"
 *   with its configuration space at GUEST_VPCI_ECAM_BASE.
 *
 * pci-host-generic declines those nodes so that the right driver binds
 * whatever the probe order; every other node is left to pci-host-generic.
 *
 * Return: true if pcie-xen-vpci is enabled and drives @np.
 */
static inline bool pcie_xen_vpci_owns_node(struct device_node *np)
{
	struct resource ecam;

	if (!IS_ENABLED(CONFIG_PCIE_XEN_VPCI) || !np)
		return false;

	if (of_device_is_compatible(np, XEN_VPCI_COMPATIBLE))
		return true;

	if (!xen_domain() || xen_initial_domain())
		return false;

	if (!of_device_is_compatible(np, "pci-host-ecam-generic"))
		return false;

	if (of_address_to_resource(np, 0, &ecam))
		return false;

	return ecam.start == GUEST_VPCI_ECAM_BASE;
}

/**
 * enum xen_vpci_bar_state - what xen_vpci_page_align_bar() did to a resource
 * @XEN_VPCI_BAR_IGNORED: not a memory BAR (unimplemented, empty or I/O)
 * @XEN_VPCI_BAR_OK: already starts on a page boundary and no other BAR can
 *	be placed in its pages; left as it is
 * @XEN_VPCI_BAR_MOVED: sub-page BAR, now aligned to %PAGE_SIZE, size kept
 * @XEN_VPCI_BAR_PINNED: fixed or already placed at an address that is not
 *	page aligned; it cannot be moved and may share a page
 */
enum xen_vpci_bar_state {
	XEN_VPCI_BAR_IGNORED,
	XEN_VPCI_BAR_OK,
	XEN_VPCI_BAR_MOVED,
	XEN_VPCI_BAR_PINNED,
};

/*
 * MSI: vector n of a root complex with "msi-ranges" is SPI base + n of the
 * guest's GIC, edge rising. A device signals it by writing n to the doorbell,
 * the second "reg" region ("msi"), a 4 KiB page inside the non-prefetchable
 * memory window. Xen's GIC numbers SPIs up to interrupt ID 1019 (SPI 987).
 */
#define XEN_VPCI_MSI_DOORBELL_SIZE	SZ_4K
#define XEN_VPCI_GIC_SPI_MAX		987

struct irq_fwspec;
struct msi_msg;
struct of_phandle_args;

#if IS_ENABLED(CONFIG_KUNIT)
enum xen_vpci_bar_state xen_vpci_page_align_bar(struct resource *res);
unsigned long xen_vpci_page_align_bars(struct resource *res, unsigned int nr,
				       unsigned long *pinned);
int xen_vpci_msi_check_range(const struct of_phandle_args *spec, u32 nvecs);
int xen_vpci_msi_check_doorbell(const struct resource *db,
				const struct resource *win);
int xen_vpci_msi_alloc_vecs(unsigned long *used, u32 nvecs, unsigned int nr);
void xen_vpci_msi_free_vecs(unsigned long *used, unsigned long first,
			    unsigned int nr);
void xen_vpci_msi_spec(const struct irq_fwspec *base, unsigned long vec,
		       struct irq_fwspec *spec);
void xen_vpci_msi_message(u64 doorbell, unsigned long vec,
			  struct msi_msg *msg);
#endif

#endif /* _PCIE_XEN_VPCI_H */
