// SPDX-License-Identifier: GPL-2.0
/*
 * Host driver for the virtual PCIe root complex of Xen guests.
 *
 * The root complex is plain ECAM at the guest layout of
 * xen/include/public/arch-arm.h. What sets it apart from pci-host-generic is
 * BAR placement: Xen, or a dom0 backend, maps a BAR into the guest in whole
 * 4 KiB pages, so every memory BAR below this root complex must start on a
 * page boundary and no page may hold bytes of two BARs. A sub-page BAR keeps
 * its true size (drivers and sysfs see the real BAR) but is aligned with
 * IORESOURCE_STARTALIGN, the second method described at
 * pci_request_resource_alignment(): since every movable memory BAR below this
 * host bridge is page aligned, none can start inside a page another one uses.
 * The space a bridge window needs then grows by max(size, PAGE_SIZE) per BAR,
 * see pbus_size_mem().
 *
 * The realignment must happen after a function's BARs have been read and
 * before the PCI core sizes bridge windows and assigns resources, both at
 * probe time and when functions are added later by a rescan. PCI fixups do not
 * run for modular host drivers, so a notifier on the PCI bus type does it:
 * BUS_NOTIFY_ADD_DEVICE is sent from pci_device_add(), after the BARs have been
 * read and fixed up and before anything is assigned.
 *
 * Xen gives an Arm guest no message-signalled interrupts (its virtual GIC has
 * no ITS and no message-based SPIs for guests), but it injects every SPI that
 * a device model raises as an edge, which is what an MSI is. So a root complex
 * whose node has "msi-controller" and "msi-ranges" is its own MSI controller,
 * as pcie-apple is: vector n of the range is SPI base + n, allocated from a
 * bitmap, and its message is "write n to the doorbell". The device model (the
 * dom0 driver of Documentation/userspace-api/xen-pci-ioreq.rst) turns such a
 * write into that SPI. Without those properties the root complex has INTx
 * only, or whatever "msi-parent"/"msi-map" name.
 */

#include <linux/bitmap.h>
#include <linux/device.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/msi.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_irq.h>
#include <linux/pci.h>
#include <linux/pci-ecam.h>
#include <linux/platform_device.h>
#include <linux/slab.h>

#include <dt-bindings/interrupt-controller/arm-gic.h>

#include <kunit/visibility.h>

#include "pcie-xen-vpci.h"

/* BARs the placement covers: the six standard BARs and the expansion ROM. */
#define XEN_VPCI_NR_BARS	(PCI_ROM_RESOURCE + 1)

/**
 * struct xen_vpci_msi - the MSI controller of a root complex
 * @lock: guards @used; taken by the allocation and release of vectors
 * @used: bitmap of the vectors in use, @nvecs bits
 * @nvecs: number of vectors, the span of "msi-ranges"
 * @base: the GIC's interrupt specifier of vector 0
 * @doorbell: bus address of the doorbell, the address of every message
 * @db_res: the doorbell's page, reserved in its memory window so that no
 *	BAR is placed over it
 * @nexus: the domain of the vectors, child of the GIC's
 * @pci: the PCI/MSI domain of the functions, child of @nexus
 */
struct xen_vpci_msi {
	struct mutex lock;	/* guards @used */
	unsigned long *used;
	u32 nvecs;
	struct irq_fwspec base;
	u64 doorbell;
	struct resource db_res;
	struct irq_domain *nexus;
	struct irq_domain *pci;
};

/**
 * struct xen_vpci - state of one virtual root complex
 * @dev: the platform device
 * @bridge: its host bridge; this structure is the bridge's private area
 * @cfg: the ECAM window
 * @nb: notifier on the PCI bus type that places the BARs of new functions
 * @needs: during probe, what each function's memory BARs need, to name
 *	those the PCI core could not place
 * @msi: its MSI controller, if the node has one
 */
struct xen_vpci {
	struct device *dev;
	struct pci_host_bridge *bridge;
	struct pci_config_window *cfg;
	struct notifier_block nb;
	struct list_head *needs;
	struct xen_vpci_msi msi;
};

/*
 * The PCI core leaves a BAR it cannot place with no flags and no address, so
 * what each function needs is recorded when it is added, before anything is
 * assigned, and checked once pci_host_probe() is done.
 */
struct xen_vpci_need {
	struct list_head node;
	struct pci_dev *pdev;
	resource_size_t size[XEN_VPCI_NR_BARS];
};

/* Alignment the PCI core will use for @res, as resource_alignment() does. */
static resource_size_t xen_vpci_res_align(const struct resource *res)
{
	switch (res->flags & (IORESOURCE_SIZEALIGN | IORESOURCE_STARTALIGN)) {
	case IORESOURCE_SIZEALIGN:
		return resource_size(res);
	case IORESOURCE_STARTALIGN:
		return res->start;
	default:
		return 0;
	}
}

/**
 * xen_vpci_page_align_bar() - give a memory BAR pages of its own
 * @res: resource of a standard BAR or of the expansion ROM of a function that
 *	 is being added, i.e. read from the device but not yet assigned
 *
 * A BAR of %PAGE_SIZE or more is naturally aligned by the PCI core and covers
 * whole pages, so it is left alone. A smaller BAR keeps its size and gets
 * %IORESOURCE_STARTALIGN with a start of %PAGE_SIZE, which makes the core
 * place it on a page boundary and count a whole page for it when it sizes
 * bridge windows. A resource that is fixed or already placed is not moved.
 *
 * Calling it again on a resource it has moved changes nothing.
 *
 * Return: what was done, see &enum xen_vpci_bar_state.
 */
VISIBLE_IF_KUNIT enum xen_vpci_bar_state
xen_vpci_page_align_bar(struct resource *res)
{
	resource_size_t size = resource_size(res);
	resource_size_t align;

	if (resource_type(res) != IORESOURCE_MEM || !size)
		return XEN_VPCI_BAR_IGNORED;

	/*
	 * Fixed BARs (Enhanced Allocation, quirks, shadowed ROMs) and BARs
	 * already in the resource tree (those of virtual functions, carved
	 * from the page-sized SR-IOV BARs of their physical function) stay
	 * where they are. If such a BAR starts on a page boundary, no movable
	 * BAR can start inside its pages, since those all start on page
	 * boundaries too.
	 */
	if (res->parent || (res->flags & IORESOURCE_PCI_FIXED))
		return IS_ALIGNED(res->start, PAGE_SIZE) ?
		       XEN_VPCI_BAR_OK : XEN_VPCI_BAR_PINNED;

	align = xen_vpci_res_align(res);
	if (align >= PAGE_SIZE && IS_ALIGNED(align, PAGE_SIZE))
		return XEN_VPCI_BAR_OK;

	if (size < PAGE_SIZE) {
		res->flags &= ~IORESOURCE_SIZEALIGN;
		res->flags |= IORESOURCE_STARTALIGN;
		res->start = PAGE_SIZE;
	} else {
		/* Restore the natural alignment of a page-sized BAR. */
		res->flags &= ~IORESOURCE_STARTALIGN;
		res->flags |= IORESOURCE_SIZEALIGN;
		res->start = 0;
	}
	res->end = res->start + size - 1;
	res->flags |= IORESOURCE_UNSET;

	return XEN_VPCI_BAR_MOVED;
}
EXPORT_SYMBOL_IF_KUNIT(xen_vpci_page_align_bar);

/**
 * xen_vpci_page_align_bars() - give every memory BAR of a function its pages
 * @res: the function's resources, standard BARs first, expansion ROM last
 * @nr: number of resources in @res, at most %BITS_PER_LONG
 * @pinned: returns the bitmap of BARs that cannot be made page-exclusive
 *
 * Return: the bitmap of BARs that were moved.
 */
VISIBLE_IF_KUNIT unsigned long
xen_vpci_page_align_bars(struct resource *res, unsigned int nr,
			 unsigned long *pinned)
{
	unsigned long moved = 0;
	unsigned int i;

	*pinned = 0;
	for (i = 0; i < min(nr, BITS_PER_LONG); i++) {
		switch (xen_vpci_page_align_bar(&res[i])) {
		case XEN_VPCI_BAR_MOVED:
			moved |= BIT(i);
			break;
		case XEN_VPCI_BAR_PINNED:
			*pinned |= BIT(i);
			break;
		default:
			break;
		}
	}

	return moved;
}
EXPORT_SYMBOL_IF_KUNIT(xen_vpci_page_align_bars);

/*
 * Functions whose resources the PCI core never assigns, see
 * __dev_sort_resources().
 */
static bool xen_vpci_dev_is_placed(struct pci_dev *pdev)
{
	u16 class = pdev->class >> 8;

	return class != PCI_CLASS_NOT_DEFINED && class != PCI_CLASS_BRIDGE_HOST;
}

static void xen_vpci_record_need(struct xen_vpci *vpci, struct pci_dev *pdev)
{
	struct xen_vpci_need *need;
	unsigned int i;

	need = kzalloc(sizeof(*need), GFP_KERNEL);
	if (!need)
		return;		/* only a warning would be missing */
	need->pdev = pci_dev_get(pdev);
	for (i = 0; i < XEN_VPCI_NR_BARS; i++) {
		struct resource *res = &pdev->resource[i];

		/* The core never assigns fixed resources, see pci_assign_resource() */
		if (resource_type(res) == IORESOURCE_MEM &&
		    !(res->flags & IORESOURCE_PCI_FIXED))
			need->size[i] = resource_size(res);
	}
	list_add_tail(&need->node, vpci->needs);
}

/* Name the memory BARs that the PCI core could not place, and forget. */
static void xen_vpci_check_needs(struct list_head *needs)
{
	struct xen_vpci_need *need, *tmp;
	unsigned int i;

	list_for_each_entry_safe(need, tmp, needs, node) {
		for (i = 0; i < XEN_VPCI_NR_BARS; i++)
			if (need->size[i] && !need->pdev->resource[i].parent)
				pci_warn(need->pdev, "BAR %u (%#llx bytes) does not fit in the memory windows, left unassigned\n",
					 i, (unsigned long long)need->size[i]);
		list_del(&need->node);
		pci_dev_put(need->pdev);
		kfree(need);
	}
}

static void xen_vpci_place_dev(struct pci_dev *pdev)
{
	unsigned long moved, pinned;

	/* VF BARs are carved from the PF's SR-IOV BARs, which are page sized */
	if (pdev->is_virtfn || !xen_vpci_dev_is_placed(pdev))
		return;

	moved = xen_vpci_page_align_bars(pdev->resource, XEN_VPCI_NR_BARS,
					 &pinned);
	if (moved)
		pci_dbg(pdev, "page-aligned BARs %*pbl (%d = ROM)\n",
			XEN_VPCI_NR_BARS, &moved, PCI_ROM_RESOURCE);
	if (pinned)
		pci_warn(pdev, "BARs %*pbl are fixed off page boundaries and may share a page\n",
			 XEN_VPCI_NR_BARS, &pinned);
}

static int xen_vpci_notify(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	struct xen_vpci *vpci = container_of(nb, struct xen_vpci, nb);
	struct pci_dev *pdev = to_pci_dev(data);

	if (action != BUS_NOTIFY_ADD_DEVICE ||
	    pci_find_host_bridge(pdev->bus) != vpci->bridge)
		return NOTIFY_DONE;

	xen_vpci_place_dev(pdev);
	if (vpci->needs && xen_vpci_dev_is_placed(pdev))
		xen_vpci_record_need(vpci, pdev);

	return NOTIFY_OK;
}

static void xen_vpci_unregister_notifier(void *data)
{
	struct xen_vpci *vpci = data;

	bus_unregister_notifier(&pci_bus_type, &vpci->nb);
}

static void xen_vpci_free_ecam(void *data)
{
	pci_ecam_free(data);
}

/* Check the DT node before anything is allocated, naming what is wrong. */
static int xen_vpci_parse_ecam(struct device *dev, struct resource *ecam)
{
	struct device_node *np = dev->of_node;
	int ret;

	ret = of_address_to_resource(np, 0, ecam);
	if (ret)
		return dev_err_probe(dev, ret,
				     "missing or invalid \"reg\" (ECAM region)\n");

	if (!of_property_present(np, "ranges"))
		return dev_err_probe(dev, -EINVAL,
				     "missing \"ranges\": no memory window for BARs\n");

	return 0;
}

static int xen_vpci_check_windows(struct xen_vpci *vpci,
				  const struct resource *ecam,
				  struct resource **busr)
{
	struct pci_host_bridge *bridge = vpci->bridge;
	struct resource_entry *win;
	resource_size_t need;
	bool mem = false;

	resource_list_for_each_entry(win, &bridge->windows)
		if (resource_type(win->res) == IORESOURCE_MEM &&
		    !(win->res->flags & IORESOURCE_PREFETCH))
			mem = true;
	if (!mem)
		return dev_err_probe(vpci->dev, -EINVAL,
				     "no non-prefetchable memory window in \"ranges\"\n");

	win = resource_list_first_type(&bridge->windows, IORESOURCE_BUS);
	if (!win)
		return dev_err_probe(vpci->dev, -EINVAL, "no bus range\n");
	*busr = win->res;

	need = (resource_size_t)resource_size(*busr) << PCIE_ECAM_BUS_SHIFT;
	if (resource_size(ecam) < need)
		return dev_err_probe(vpci->dev, -EINVAL,
				     "ECAM region %pR too small for bus-range %pR (%#llx bytes needed)\n",
				     ecam, *busr, (unsigned long long)need);

	return 0;
}

/**
 * xen_vpci_msi_check_range() - check the SPIs that "msi-ranges" gives
 * @spec: the GIC's interrupt specifier of the first vector
 * @nvecs: the number of vectors (the range's span)
 *
 * Every vector must be an SPI of the GIC's three-cell specifier, edge rising
 * (Xen injects the SPIs that a device model raises as edges), and the whole
 * range must fit below the last SPI.
 *
 * Return: 0 if the range can be used, -EINVAL otherwise.
 */
VISIBLE_IF_KUNIT int xen_vpci_msi_check_range(const struct of_phandle_args *spec,
					      u32 nvecs)
{
	if (spec->args_count != 3 || spec->args[0] != GIC_SPI ||
	    spec->args[2] != IRQ_TYPE_EDGE_RISING)
		return -EINVAL;

	if (!nvecs || spec->args[1] > XEN_VPCI_GIC_SPI_MAX ||
	    nvecs > XEN_VPCI_GIC_SPI_MAX + 1 - spec->args[1])
		return -EINVAL;

	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(xen_vpci_msi_check_range);

/**
 * xen_vpci_msi_check_doorbell() - check where the doorbell is
 * @db: the "msi" region of the node
 * @win: a non-prefetchable memory window of the root complex
 *
 * Return: 0 if @db is one page of %XEN_VPCI_MSI_DOORBELL_SIZE, aligned to
 * it, inside @win; -EINVAL otherwise.
 */
VISIBLE_IF_KUNIT int xen_vpci_msi_check_doorbell(const struct resource *db,
						 const struct resource *win)
{
	if (resource_size(db) != XEN_VPCI_MSI_DOORBELL_SIZE ||
	    !IS_ALIGNED(db->start, XEN_VPCI_MSI_DOORBELL_SIZE))
		return -EINVAL;

	return resource_contains(win, db) ? 0 : -EINVAL;
}
EXPORT_SYMBOL_IF_KUNIT(xen_vpci_msi_check_doorbell);

/**
 * xen_vpci_msi_alloc_vecs() - take a block of vectors
 * @used: bitmap of the vectors in use
 * @nvecs: number of vectors in @used
 * @nr: how many vectors; a block of multi-MSI is a power of two, aligned to
 *	its size, as the function's message data are consecutive
 *
 * Return: the first vector of the block, or -ENOSPC if no block is free.
 */
VISIBLE_IF_KUNIT int xen_vpci_msi_alloc_vecs(unsigned long *used, u32 nvecs,
					     unsigned int nr)
{
	int first;

	first = bitmap_find_free_region(used, nvecs, order_base_2(nr));

	return first < 0 ? -ENOSPC : first;
}
EXPORT_SYMBOL_IF_KUNIT(xen_vpci_msi_alloc_vecs);

/**
 * xen_vpci_msi_free_vecs() - give back a block from xen_vpci_msi_alloc_vecs()
 * @used: bitmap of the vectors in use
 * @first: the first vector of the block
 * @nr: the number of vectors it was taken with
 */
VISIBLE_IF_KUNIT void xen_vpci_msi_free_vecs(unsigned long *used,
					     unsigned long first,
					     unsigned int nr)
{
	bitmap_release_region(used, first, order_base_2(nr));
}
EXPORT_SYMBOL_IF_KUNIT(xen_vpci_msi_free_vecs);

/**
 * xen_vpci_msi_spec() - the GIC's interrupt specifier of a vector
 * @base: the specifier of vector 0 (checked by xen_vpci_msi_check_range())
 * @vec: the vector
 * @spec: returns the specifier of SPI base + @vec
 */
VISIBLE_IF_KUNIT void xen_vpci_msi_spec(const struct irq_fwspec *base,
					unsigned long vec,
					struct irq_fwspec *spec)
{
	*spec = *base;
	spec->param[1] += vec;
}
EXPORT_SYMBOL_IF_KUNIT(xen_vpci_msi_spec);

/**
 * xen_vpci_msi_message() - the message of a vector
 * @doorbell: bus address of the doorbell
 * @vec: the vector
 * @msg: returns the message: the vector's number written to the doorbell
 *
 * This is the whole contract with the device model: a 32-bit write of data n
 * to the doorbell raises SPI base + n of "msi-ranges".
 */
VISIBLE_IF_KUNIT void xen_vpci_msi_message(u64 doorbell, unsigned long vec,
					   struct msi_msg *msg)
{
	msg->address_hi = upper_32_bits(doorbell);
	msg->address_lo = lower_32_bits(doorbell);
	msg->data = vec;
}
EXPORT_SYMBOL_IF_KUNIT(xen_vpci_msi_message);

static void xen_vpci_msi_compose_msg(struct irq_data *d, struct msi_msg *msg)
{
	struct xen_vpci_msi *msi = irq_data_get_irq_chip_data(d);

	xen_vpci_msi_message(msi->doorbell, d->hwirq, msg);
}

/* The vectors' chip: the GIC does the work, this one names the message. */
static struct irq_chip xen_vpci_msi_bottom_chip = {
	.name			= "xen-vpci-msi",
	.irq_mask		= irq_chip_mask_parent,
	.irq_unmask		= irq_chip_unmask_parent,
	.irq_eoi		= irq_chip_eoi_parent,
	.irq_set_affinity	= irq_chip_set_affinity_parent,
	.irq_set_type		= irq_chip_set_type_parent,
	.irq_compose_msi_msg	= xen_vpci_msi_compose_msg,
};

/* Give back a block of vectors. */
static void xen_vpci_msi_put(struct xen_vpci_msi *msi, unsigned long first,
			     unsigned int nr)
{
	guard(mutex)(&msi->lock);
	xen_vpci_msi_free_vecs(msi->used, first, nr);
}

static int xen_vpci_msi_domain_alloc(struct irq_domain *domain,
				     unsigned int virq, unsigned int nr_irqs,
				     void *args)
{
	struct xen_vpci_msi *msi = domain->host_data;
	struct irq_fwspec spec;
	unsigned int i;
	int first, ret;

	scoped_guard(mutex, &msi->lock)
		first = xen_vpci_msi_alloc_vecs(msi->used, msi->nvecs, nr_irqs);
	if (first < 0)
		return first;

	/* The GIC allocates nr_irqs consecutive SPIs from one specifier. */
	xen_vpci_msi_spec(&msi->base, first, &spec);
	ret = irq_domain_alloc_irqs_parent(domain, virq, nr_irqs, &spec);
	if (ret) {
		xen_vpci_msi_put(msi, first, nr_irqs);
		return ret;
	}

	for (i = 0; i < nr_irqs; i++) {
		struct irq_data *d = irq_domain_get_irq_data(domain->parent,
							     virq + i);

		/*
		 * The GIC's alloc leaves the SPI's trigger as it was; an MSI
		 * is an edge (as gic-v2m configures its SPIs).
		 */
		if (d->chip->irq_set_type)
			d->chip->irq_set_type(d, IRQ_TYPE_EDGE_RISING);
		irq_domain_set_hwirq_and_chip(domain, virq + i, first + i,
					      &xen_vpci_msi_bottom_chip, msi);
	}

	return 0;
}

static void xen_vpci_msi_domain_free(struct irq_domain *domain,
				     unsigned int virq, unsigned int nr_irqs)
{
	struct irq_data *d = irq_domain_get_irq_data(domain, virq);

	xen_vpci_msi_put(domain->host_data, d->hwirq, nr_irqs);
	irq_domain_free_irqs_parent(domain, virq, nr_irqs);
}

static const struct irq_domain_ops xen_vpci_msi_domain_ops = {
	.alloc	= xen_vpci_msi_domain_alloc,
	.free	= xen_vpci_msi_domain_free,
};

/* A vector is masked in the function when it can be, and at the GIC. */
static void xen_vpci_msi_top_mask(struct irq_data *d)
{
	pci_msi_mask_irq(d);
	irq_chip_mask_parent(d);
}

static void xen_vpci_msi_top_unmask(struct irq_data *d)
{
	pci_msi_unmask_irq(d);
	irq_chip_unmask_parent(d);
}

static struct irq_chip xen_vpci_msi_top_chip = {
	.name			= "PCI-MSI",
	.irq_mask		= xen_vpci_msi_top_mask,
	.irq_unmask		= xen_vpci_msi_top_unmask,
	.irq_eoi		= irq_chip_eoi_parent,
	.irq_set_affinity	= irq_chip_set_affinity_parent,
	.irq_set_type		= irq_chip_set_type_parent,
};

static struct msi_domain_info xen_vpci_msi_info = {
	.flags	= MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS |
		  MSI_FLAG_MULTI_PCI_MSI | MSI_FLAG_PCI_MSIX,
	.chip	= &xen_vpci_msi_top_chip,
};

/* Parse "msi-ranges": one range of the GIC's SPIs. */
static int xen_vpci_msi_parse_range(struct xen_vpci *vpci,
				    struct device_node **gic)
{
	struct device_node *np = vpci->dev->of_node;
	struct xen_vpci_msi *msi = &vpci->msi;
	struct of_phandle_args spec;
	int ret, cells;

	ret = of_parse_phandle_with_args(np, "msi-ranges", "#interrupt-cells",
					 0, &spec);
	if (ret)
		return dev_err_probe(vpci->dev, ret, "invalid \"msi-ranges\"\n");

	/* phandle, specifier, span: exactly one range */
	cells = of_property_count_u32_elems(np, "msi-ranges");
	ret = -EINVAL;
	if (cells != spec.args_count + 2 ||
	    of_property_read_u32_index(np, "msi-ranges", cells - 1, &msi->nvecs) ||
	    xen_vpci_msi_check_range(&spec, msi->nvecs)) {
		dev_err(vpci->dev, "\"msi-ranges\" must be one range of GIC SPIs, edge rising, up to SPI %u\n",
			XEN_VPCI_GIC_SPI_MAX);
		goto out;
	}

	msi->base.fwnode = of_node_to_fwnode(spec.np);
	msi->base.param_count = spec.args_count;
	memcpy(msi->base.param, spec.args, spec.args_count * sizeof(u32));
	*gic = of_node_get(spec.np);
	ret = 0;
out:
	of_node_put(spec.np);
	return ret;
}

/* Find the doorbell and reserve its page in its memory window. */
static int xen_vpci_msi_parse_doorbell(struct xen_vpci *vpci)
{
	struct device_node *np = vpci->dev->of_node;
	struct xen_vpci_msi *msi = &vpci->msi;
	struct resource_entry *win;
	int idx, ret;

	idx = of_property_match_string(np, "reg-names", "msi");
	if (idx < 0 || of_address_to_resource(np, idx, &msi->db_res))
		return dev_err_probe(vpci->dev, -EINVAL,
				     "\"msi-controller\" needs the doorbell: a \"reg\" region named \"msi\"\n");

	resource_list_for_each_entry(win, &vpci->bridge->windows) {
		if (resource_type(win->res) != IORESOURCE_MEM ||
		    (win->res->flags & IORESOURCE_PREFETCH) ||
		    xen_vpci_msi_check_doorbell(&msi->db_res, win->res))
			continue;

		msi->db_res.name = "MSI doorbell";
		ret = devm_request_resource(vpci->dev, win->res, &msi->db_res);
		if (ret)
			return dev_err_probe(vpci->dev, ret,
					     "cannot reserve the MSI doorbell %pR\n",
					     &msi->db_res);
		msi->doorbell = msi->db_res.start - win->offset;
		return 0;
	}

	return dev_err_probe(vpci->dev, -EINVAL,
			     "MSI doorbell %pR is not a 4 KiB page of a non-prefetchable memory window\n",
			     &msi->db_res);
}

static void xen_vpci_msi_remove_domains(void *data)
{
	struct xen_vpci_msi *msi = data;

	irq_domain_remove(msi->pci);
	irq_domain_remove(msi->nexus);
}

/*
 * Set up the MSI controller of a node with "msi-controller", before the bus
 * is scanned, so that the PCI core finds its PCI/MSI domain on the node.
 */
static int xen_vpci_msi_init(struct xen_vpci *vpci)
{
	struct fwnode_handle *fwnode = of_fwnode_handle(vpci->dev->of_node);
	struct xen_vpci_msi *msi = &vpci->msi;
	struct irq_domain *parent;
	struct device_node *gic;
	int ret;

	if (!of_property_read_bool(vpci->dev->of_node, "msi-controller"))
		return 0;

	ret = xen_vpci_msi_parse_range(vpci, &gic);
	if (ret)
		return ret;

	parent = irq_find_host(gic);
	of_node_put(gic);
	if (!parent)
		return dev_err_probe(vpci->dev, -EPROBE_DEFER,
				     "no interrupt domain for the GIC of \"msi-ranges\"\n");

	ret = xen_vpci_msi_parse_doorbell(vpci);
	if (ret)
		return ret;

	ret = devm_mutex_init(vpci->dev, &msi->lock);
	if (ret)
		return ret;

	msi->used = devm_bitmap_zalloc(vpci->dev, msi->nvecs, GFP_KERNEL);
	if (!msi->used)
		return -ENOMEM;

	msi->nexus = irq_domain_create_hierarchy(parent, 0, msi->nvecs, fwnode,
						 &xen_vpci_msi_domain_ops, msi);
	if (!msi->nexus)
		return dev_err_probe(vpci->dev, -ENOMEM,
				     "cannot create the MSI vector domain\n");
	irq_domain_update_bus_token(msi->nexus, DOMAIN_BUS_NEXUS);

	msi->pci = pci_msi_create_irq_domain(fwnode, &xen_vpci_msi_info,
					     msi->nexus);
	if (!msi->pci) {
		irq_domain_remove(msi->nexus);
		return dev_err_probe(vpci->dev, -ENOMEM,
				     "cannot create the PCI/MSI domain\n");
	}

	ret = devm_add_action_or_reset(vpci->dev, xen_vpci_msi_remove_domains,
				       msi);
	if (ret)
		return ret;

	dev_info(vpci->dev, "MSI: %u vectors on SPIs %u-%u, doorbell %pR\n",
		 msi->nvecs, msi->base.param[1],
		 msi->base.param[1] + msi->nvecs - 1, &msi->db_res);

	return 0;
}

static int xen_vpci_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct pci_host_bridge *bridge;
	struct resource ecam, *busr;
	struct xen_vpci *vpci;
	LIST_HEAD(needs);
	int ret;

	if (!pcie_xen_vpci_owns_node(dev->of_node))
		return -ENODEV;

	ret = xen_vpci_parse_ecam(dev, &ecam);
	if (ret)
		return ret;

	/* Parses "bus-range" and "ranges" and requests the windows. */
	bridge = devm_pci_alloc_host_bridge(dev, sizeof(*vpci));
	if (!bridge)
		return dev_err_probe(dev, -ENOMEM,
				     "cannot set up the host bridge windows\n");

	vpci = pci_host_bridge_priv(bridge);
	vpci->dev = dev;
	vpci->bridge = bridge;
	platform_set_drvdata(pdev, vpci);

	ret = xen_vpci_check_windows(vpci, &ecam, &busr);
	if (ret)
		return ret;

	vpci->cfg = pci_ecam_create(dev, &ecam, busr, &pci_generic_ecam_ops);
	if (IS_ERR(vpci->cfg))
		return dev_err_probe(dev, PTR_ERR(vpci->cfg),
				     "cannot map ECAM region %pR\n", &ecam);

	ret = devm_add_action_or_reset(dev, xen_vpci_free_ecam, vpci->cfg);
	if (ret)
		return ret;

	bridge->sysdata = vpci->cfg;
	bridge->ops = (struct pci_ops *)&pci_generic_ecam_ops.pci_ops;
	/*
	 * MSI needs an MSI domain: ours, or one that "msi-parent" or
	 * "msi-map" names. Without any, the root bus gets no MSI at all.
	 */
	bridge->msi_domain = true;
	ret = xen_vpci_msi_init(vpci);
	if (ret)
		return ret;

	/*
	 * Registered before the scan, so the BARs of every function added
	 * below this bridge, now or by a later rescan, are placed by it.
	 */
	vpci->nb.notifier_call = xen_vpci_notify;
	ret = bus_register_notifier(&pci_bus_type, &vpci->nb);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register PCI bus notifier\n");

	ret = devm_add_action_or_reset(dev, xen_vpci_unregister_notifier, vpci);
	if (ret)
		return ret;

	/*
	 * There is no firmware in a Xen guest: every BAR is placed by the PCI
	 * core (with the alignment set by the notifier above), and
	 * "linux,pci-probe-only" is not honoured. The functions added by
	 * pci_host_probe() record what they need, so that a BAR that fits in
	 * no window is named with a warning, which the core only reports at
	 * info level ("can't assign; no space"): with Xen's guest layout that
	 * means a device the guest was given cannot be used.
	 */
	vpci->needs = &needs;
	ret = pci_host_probe(bridge);
	vpci->needs = NULL;
	xen_vpci_check_needs(&needs);
	if (ret)
		return dev_err_probe(dev, ret, "cannot scan the root bus\n");

	return 0;
}

static void xen_vpci_remove(struct platform_device *pdev)
{
	struct xen_vpci *vpci = platform_get_drvdata(pdev);

	pci_lock_rescan_remove();
	pci_stop_root_bus(vpci->bridge->bus);
	pci_remove_root_bus(vpci->bridge->bus);
	pci_unlock_rescan_remove();
}

static const struct of_device_id xen_vpci_of_match[] = {
	{ .compatible = XEN_VPCI_COMPATIBLE },
	/* The node of the Xen toolstack, see pcie_xen_vpci_owns_node() */
	{ .compatible = "pci-host-ecam-generic" },
	{ }
};
MODULE_DEVICE_TABLE(of, xen_vpci_of_match);

static struct platform_driver xen_vpci_driver = {
	.driver = {
		.name = "pcie-xen-vpci",
		.of_match_table = xen_vpci_of_match,
	},
	.probe = xen_vpci_probe,
	.remove = xen_vpci_remove,
};
module_platform_driver(xen_vpci_driver);

MODULE_DESCRIPTION("Xen virtual PCIe root complex host driver");
MODULE_LICENSE("GPL");
