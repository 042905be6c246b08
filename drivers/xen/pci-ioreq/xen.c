// SPDX-License-Identifier: GPL-2.0
/*
 * The Xen side of a guest's ioreq server, for the rest of the driver: the
 * dm_op hypercall wrappers (creating, enabling and destroying the server,
 * routing ranges to it, INTx levels), the shared ioreq page, the vCPUs'
 * event channels, the claims on the guest's windows, and the fault
 * injection attributes. guest.c sets a server up and tears it down with
 * these; fn.c, intx.c and debugfs.c route BAR ranges and set lines.
 *
 * Locking: nothing here takes the driver's locks except xpi_answer_all(),
 * which takes the guest's lock. A server is set up (xpi_xen_setup()) and
 * destroyed under xpi.lock. The callers of xpi_xen_bar_ranges() and of the
 * BAR range calls hold the guest's mutex, which keeps its BAR ranges
 * steady while they are counted.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fault-inject.h>
#include <linux/mm.h>
#include <linux/printk.h>

#include <asm/xen/hypercall.h>

#include <xen/events.h>
#include <xen/xen.h>
#include <xen/interface/memory.h>
#include <xen/interface/xen.h>

#include "xpi.h"

int xpi_dm_op(domid_t domid, struct xen_dm_op *op)
{
	struct xen_dm_op_buf buf;

	set_xen_guest_handle(buf.h, op);
	buf.size = sizeof(*op);
	return HYPERVISOR_dm_op(domid, 1, &buf);
}

/* Route the range [@start, @last] of @type (XEN_DMOP_IO_RANGE_*) to us. */
int xpi_xen_map(struct xpi_guest *g, u32 type, u64 start, u64 last)
{
	struct xen_dm_op op = { .op = XEN_DMOP_map_io_range_to_ioreq_server };

	op.u.map_io_range_to_ioreq_server = (struct xen_dm_op_ioreq_server_range) {
		.id = g->ioservid, .type = type, .start = start, .end = last,
	};
	return xpi_dm_op(g->domid, &op);
}

int xpi_xen_unmap(struct xpi_guest *g, u32 type, u64 start, u64 last)
{
	struct xen_dm_op op = { .op = XEN_DMOP_unmap_io_range_from_ioreq_server };

	op.u.unmap_io_range_from_ioreq_server = (struct xen_dm_op_ioreq_server_range) {
		.id = g->ioservid, .type = type, .start = start, .end = last,
	};
	return xpi_dm_op(g->domid, &op);
}

/*
 * The root complex of a guest whose backends name none: the layout Xen's
 * toolstack gives an Arm guest (GUEST_VPCI_*), and our INTx lines.
 */
const struct xen_pci_ioreq_layout xpi_default_layout = {
	.ecam = { GUEST_VPCI_ECAM_BASE, GUEST_VPCI_ECAM_SIZE },
	.mem = {
		{ GUEST_VPCI_MEM_ADDR, GUEST_VPCI_MEM_SIZE },
		{ GUEST_VPCI_PREFETCH_MEM_ADDR, GUEST_VPCI_PREFETCH_MEM_SIZE },
	},
	.intx_base = XPI_DEFAULT_INTX_BASE,
};

/*
 * The guest's memory windows (ECAM mode) are claimed whole when the server
 * is created, as a root complex decodes its whole aperture: an access that
 * no BAR decodes, to a BAR whose decoding is off or whose backend died,
 * then reads all ones like a master abort instead of faulting the guest.
 * BAR ranges inside a window are routed here only; a range outside both gets
 * a range of its own in Xen.
 */
enum xpi_window xpi_window_of(struct xpi_guest *g, u64 start, u64 last)
{
	unsigned int i;

	if (!xpi_ecam_mode())
		return XPI_WINDOW_NONE;
	for (i = 0; i < ARRAY_SIZE(g->layout.mem); i++) {
		const struct xen_pci_ioreq_window *w = &g->layout.mem[i];
		u64 w_last = w->base + w->size - 1;

		if (!w->size)
			continue;
		if (start >= w->base && last <= w_last)
			return XPI_WINDOW_INSIDE;
		if (start <= w_last && last >= w->base)
			return XPI_WINDOW_ACROSS;
	}
	return XPI_WINDOW_NONE;
}

/*
 * How many BAR ranges may take a memory range of their own in Xen: in ECAM
 * mode the ECAM window and the memory windows already take some.
 */
unsigned int xpi_xen_bar_ranges_max(struct xpi_guest *g)
{
	if (!xpi_ecam_mode())
		return XPI_XEN_MAX_RANGES;
	return XPI_XEN_MAX_RANGES - 1 - !!g->layout.mem[0].size -
	       !!g->layout.mem[1].size;
}

/* How many of the guest's BAR ranges have a memory range in Xen. */
unsigned int xpi_xen_bar_ranges(struct xpi_guest *g)
{
	unsigned int i, n = 0;

	for (i = 0; i < g->nr_ranges; i++)
		n += xpi_window_of(g, g->ranges[i].start, g->ranges[i].last) ==
		     XPI_WINDOW_NONE;
	return n;
}

/* Route a BAR range to us in Xen, unless a claimed window covers it. */
int xpi_bar_map(struct xpi_guest *g, u64 start, u64 last)
{
	if (xpi_window_of(g, start, last) == XPI_WINDOW_INSIDE)
		return 0;
	return xpi_xen_map(g, XEN_DMOP_IO_RANGE_MEMORY, start, last);
}

void xpi_bar_unmap(struct xpi_guest *g, u64 start, u64 last)
{
	int rc = 0;

	if (xpi_window_of(g, start, last) != XPI_WINDOW_INSIDE)
		rc = xpi_xen_unmap(g, XEN_DMOP_IO_RANGE_MEMORY, start, last);
	if (rc)
		pr_warn("dom%u: cannot unmap %#llx-%#llx: %d\n", g->domid,
			start, last, rc);
}

/* Let Xen route to the server: it then writes the event channels. */
static int xpi_xen_enable(struct xpi_guest *g)
{
	struct xen_dm_op op = { .op = XEN_DMOP_set_ioreq_server_state };

	op.u.set_ioreq_server_state.id = g->ioservid;
	op.u.set_ioreq_server_state.enabled = 1;
	return xpi_dm_op(g->domid, &op);
}

/* Stop Xen routing anything new to the server. */
static int xpi_xen_disable(struct xpi_guest *g)
{
	struct xen_dm_op op = { .op = XEN_DMOP_set_ioreq_server_state };

	op.u.set_ioreq_server_state.id = g->ioservid;
	return xpi_dm_op(g->domid, &op);
}

int xpi_xen_destroy(struct xpi_guest *g)
{
	struct xen_dm_op op = { .op = XEN_DMOP_destroy_ioreq_server };

	op.u.destroy_ioreq_server.id = g->ioservid;
	return xpi_dm_op(g->domid, &op);
}

/*
 * Whether our event channels still lead to the guest. When a domain dies,
 * Xen closes its ends and ours stay unbound: a new domain that reuses the
 * domid (and may have a server of the same id, another emulator's) never
 * reconnects them.
 */
static bool xpi_xen_connected(struct xpi_guest *g)
{
	struct evtchn_status st = {
		.dom = DOMID_SELF,
		.port = g->vcpus[0].port,
	};

	if (g->vcpus[0].irq < 0 ||
	    HYPERVISOR_event_channel_op(EVTCHNOP_status, &st))
		return false;
	return st.status == EVTCHNSTAT_interdomain &&
	       st.u.interdomain.dom == g->domid;
}

/* Whether the guest still has our server: gone once the guest is dying. */
bool xpi_xen_alive(struct xpi_guest *g)
{
	struct xen_dm_op op = { .op = XEN_DMOP_get_ioreq_server_info };
	int rc;

	if (!xpi_xen_connected(g))
		return false;
	op.u.get_ioreq_server_info.id = g->ioservid;
	op.u.get_ioreq_server_info.flags = XEN_DMOP_no_gfns;
	rc = xpi_dm_op(g->domid, &op);
	if (rc && rc != -ESRCH && rc != -ENOENT)
		pr_warn_ratelimited("dom%u: ioreq server %u: info: %d\n",
				    g->domid, g->ioservid, rc);
	return rc != -ESRCH && rc != -ENOENT;
}

/* Set the level of a guest INTx line, the way the architecture does it. */
/* Set the level of a guest interrupt by its GIC interrupt ID (Arm). */
int xpi_xen_irq(struct xpi_guest *g, u32 intid, u8 level)
{
	struct xen_dm_op op = {
		.op = XEN_DMOP_set_irq_level,
		.u.set_irq_level.irq = intid,
		.u.set_irq_level.level = level,
	};

	return xpi_dm_op(g->domid, &op);
}

int xpi_xen_intx(struct xpi_guest *g, u8 slot, u8 pin, u8 level)
{
	struct xen_dm_op op = {
		.op = XEN_DMOP_set_pci_intx_level,
		.u.set_pci_intx_level.device = slot,
		.u.set_pci_intx_level.intx = pin - 1,
		.u.set_pci_intx_level.level = level,
	};

	if (xpi_ecam_mode())
		return xpi_xen_irq(g, xpi_intx_intid(g->layout.intx_base,
						     slot, pin), level);
	return xpi_dm_op(g->domid, &op);
}

void xpi_unbind_vcpus(struct xpi_guest *g)
{
	unsigned int i;

	for (i = 0; i < g->nr_vcpus; i++) {
		if (g->vcpus[i].irq < 0)
			continue;
		/* Frees the IRQ, waiting for its handler, and closes the port. */
		unbind_from_irqhandler(g->vcpus[i].irq, &g->vcpus[i]);
		g->vcpus[i].irq = -1;
	}
}

void xpi_unmap_page(struct xpi_guest *g)
{
	struct xen_remove_from_physmap xrp = {
		.domid = DOMID_SELF,
		.gpfn = page_to_xen_pfn(g->page),
	};
	int rc;

	rc = HYPERVISOR_memory_op(XENMEM_remove_from_physmap, &xrp);
	if (rc) {
		/* The frame stays in use: better leak the page than reuse it. */
		pr_err("dom%u: cannot unmap the ioreq page: %d\n", g->domid, rc);
	} else {
		xen_free_unpopulated_pages(1, &g->page);
	}
	g->page = NULL;
	g->iopage = NULL;
}

static int xpi_map_page(struct xpi_guest *g)
{
	struct xen_mem_acquire_resource xar = {
		.domid = g->domid,
		.type = XENMEM_resource_ioreq_server,
		.id = g->ioservid,
		.frame = XENMEM_resource_ioreq_server_frame_ioreq(0),
		.nr_frames = 1,
	};
	xen_pfn_t pfn;
	int rc;

	rc = xen_alloc_unpopulated_pages(1, &g->page);
	if (rc)
		return rc;
	pfn = page_to_xen_pfn(g->page);
	set_xen_guest_handle(xar.frame_list, &pfn);
	rc = HYPERVISOR_memory_op(XENMEM_acquire_resource, &xar);
	if (rc) {
		xen_free_unpopulated_pages(1, &g->page);
		g->page = NULL;
		return rc;
	}
	g->iopage = page_address(g->page);
	return 0;
}

static int xpi_bind_vcpu(struct xpi_guest *g, struct xpi_vcpu *v)
{
	struct evtchn_bind_interdomain bind = {
		.remote_dom = g->domid,
		.remote_port = READ_ONCE(g->iopage->vcpu_ioreq[v->id].vp_eport),
	};
	int rc;

	rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bind);
	if (rc)
		return rc;
	rc = bind_evtchn_to_irqhandler_lateeoi(bind.local_port, xpi_interrupt,
					       0, v->name, v);
	if (rc < 0) {
		xen_evtchn_close(bind.local_port);
		return rc;
	}
	v->irq = rc;
	v->port = bind.local_port;
	return 0;
}

/*
 * Fault injection: each Xen step of a server's setup that may fail once the
 * server is enabled (binding a vCPU's event channel, claiming a window)
 * fails with -EIO when told to, through /proc/<pid>/fail-nth or debugfs
 * (xen-pci-ioreq/fail_server_setup, Documentation/fault-injection/).
 */
DECLARE_FAULT_ATTR(xpi_fail_setup);

/*
 * Fault injection: the release watch misses an event (debugfs
 * xen-pci-ioreq/fail_release_watch), as when it fires late or, without
 * xenstored, never: the dead guest's server must not be handed out.
 */
DECLARE_FAULT_ATTR(xpi_fail_watch);

/* Claim the ECAM window and the memory windows (ECAM mode only). */
static int xpi_claim_windows(struct xpi_guest *g)
{
	unsigned int i;
	int rc;

	if (!xpi_ecam_mode())
		return 0;
	if (should_fail(&xpi_fail_setup, 1))
		return -EIO;
	rc = xpi_xen_map(g, XEN_DMOP_IO_RANGE_MEMORY, g->layout.ecam.base,
			 g->layout.ecam.base + g->layout.ecam.size - 1);
	for (i = 0; !rc && i < ARRAY_SIZE(g->layout.mem); i++) {
		const struct xen_pci_ioreq_window *w = &g->layout.mem[i];

		if (!w->size)
			continue;
		if (should_fail(&xpi_fail_setup, 1))
			return -EIO;
		rc = xpi_xen_map(g, XEN_DMOP_IO_RANGE_MEMORY, w->base,
				 w->base + w->size - 1);
	}
	return rc;
}

/*
 * Answer whatever the guest's vCPUs asked a server that is going away
 * before it served anyone: a vCPU that waits in Xen for a server that Xen
 * then destroys is never woken again. No function is registered yet, so
 * each request is answered at once, as an absent function or an undecoded
 * address. Xen routes nothing new to a disabled server.
 */
void xpi_answer_all(struct xpi_guest *g)
{
	unsigned int i;

	xpi_xen_disable(g);
	spin_lock_irq(&g->lock);
	for (i = 0; i < g->nr_vcpus; i++)
		xpi_process(g, &g->vcpus[i]);
	spin_unlock_irq(&g->lock);
}

/*
 * The Xen steps of a new server: create it, map its page, enable it (which
 * makes Xen write the event channels into the page), bind the event
 * channels, and only then claim the windows, so that no access of the
 * guest reaches the server before every vCPU's event channel is bound.
 * An invalidate can: Xen broadcasts it to every enabled server, claims or
 * not. Binding a port that Xen signalled already leaves it pending, so the
 * handler takes it; if setup fails, whatever came is answered before the
 * server goes, which wakes the vCPUs whose ports were bound (the one whose
 * port failed to bind, and those after it, cannot be told). Called with
 * xpi.lock held.
 */
int xpi_xen_setup(struct xpi_guest *g)
{
	struct xen_dm_op op = { .op = XEN_DMOP_create_ioreq_server };
	unsigned int i;
	int rc;

	op.u.create_ioreq_server.handle_bufioreq = 0;
	rc = xpi_dm_op(g->domid, &op);
	if (rc)
		return rc;
	g->ioservid = op.u.create_ioreq_server.id;

	rc = xpi_map_page(g);
	if (rc)
		goto err_destroy;
	rc = xpi_xen_enable(g);
	if (rc)
		goto err_unmap;
	for (i = 0; i < g->nr_vcpus; i++) {
		rc = should_fail(&xpi_fail_setup, 1) ? -EIO :
		     xpi_bind_vcpu(g, &g->vcpus[i]);
		if (rc)
			goto err_unbind;
	}
	rc = xpi_claim_windows(g);
	if (rc)
		goto err_unbind;
	return 0;

err_unbind:
	/* An invalidate, or an access to a claimed window, may be waiting. */
	xpi_answer_all(g);
	xpi_unbind_vcpus(g);
err_unmap:
	xpi_unmap_page(g);
err_destroy:
	xpi_xen_destroy(g);
	return rc;
}
