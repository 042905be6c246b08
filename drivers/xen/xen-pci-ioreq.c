// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq: serve single PCI functions of Xen guests from dom0
 * userspace backends.
 *
 * The driver owns one Xen ioreq server per root complex of a guest,
 * created when the first file binds to it and shared by every file bound to
 * it; a guest object below is such a root complex. Xen hands
 * the server the guest's accesses through one struct ioreq per vCPU in a
 * shared page, signalled on a per-vCPU event channel. The interrupt handler
 * decodes each access to a function and hands it to the file that
 * registered the function; accesses to functions nobody registered are
 * answered right there, as hardware answers a master abort: reads return
 * all ones, writes are dropped.
 *
 * Two ways of getting configuration accesses, fixed by the architecture:
 * - ECAM (arm64): Xen has no virtual PCI for Arm guests and never decodes
 *   configuration cycles. The server claims the whole ECAM window of the
 *   root complex as one memory range and decodes it here. Where the root
 *   complex is (its windows and INTx lines) is the guest's business: the
 *   backend says it at bind time, else it is the layout Xen's toolstack
 *   gives an Arm guest.
 * - PCI (x86): Xen decodes configuration cycles itself and forwards them
 *   per function (IOREQ_TYPE_PCI_CONFIG); a function is claimed as a PCI
 *   range when it is registered.
 * BAR MMIO ranges are memory ranges of the server in both.
 *
 * Lifetime: a guest object is referenced by the list of live guests and by
 * each file bound to it. Its server, and with it the claims on the guest's
 * address space, goes with the last file, unless a file was bound with
 * XEN_PCI_IOREQ_BIND_KEEP: then it stays until the guest dies, answering
 * absent functions. Each live server holds a reference to the module.
 * Guest death is noticed through the "@releaseDomain" xenstore watch, by
 * the reaper (which needs no xenstored), and on lookup: a dead guest's
 * event channels are unbound. The guest is then torn down, and its files
 * see POLLHUP and -ENODEV.
 *
 * Locking, outermost first:
 * - xpi.lock (mutex): the list of live guests and the watch.
 * - xpi_guest.mutex: the control path of one guest (register, BAR ranges,
 *   INTx, file release, teardown) and the hypercalls it makes.
 * - xpi_guest.lock (spinlock, taken in the event channel handler): what
 *   the request path reads (functions, BAR ranges, the dead flag) and the
 *   requests themselves (vCPU state, file queues, the shared page).
 * Fields read by the request path are written with both held.
 *
 * Only an auto-translated dom0 (Arm, x86 PVH) is supported: the shared page
 * is mapped into a page of unpopulated physical address space.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/eventfd.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <asm/xen/hypercall.h>
#include <asm/xen/hypervisor.h>

#include <xen/events.h>
#include <xen/features.h>
#include <xen/page.h>
#include <xen/pci-ioreq.h>
#include <xen/xen.h>
#include <xen/xenbus.h>
#include <xen/interface/event_channel.h>
#include <xen/interface/memory.h>
#include <xen/interface/xen.h>
#include <xen/interface/hvm/dm_op.h>
#include <xen/interface/hvm/ioreq.h>

#include "xen-pci-ioreq.h"

#define CREATE_TRACE_POINTS
#include "xen_pci_ioreq_trace.h"

#if IS_ENABLED(CONFIG_ARM64)
#define XPI_MODE		XEN_PCI_IOREQ_MODE_ECAM
#else
#define XPI_MODE		XEN_PCI_IOREQ_MODE_PCI
#endif

/* One frame of ioreq slots: the most vCPUs Xen 4.20 serves a server. */
#define XPI_MAX_VCPUS		(XEN_PAGE_SIZE / sizeof(struct ioreq))
/* Xen's limit of ranges of one type per server (MAX_NR_IO_RANGES). */
#define XPI_XEN_MAX_RANGES		256
/* BAR ranges per guest, whether or not each takes a range in Xen. */
#define XPI_MAX_RANGES		XPI_XEN_MAX_RANGES
/* Functions per guest; PCI mode takes one Xen PCI range for each. */
#define XPI_MAX_FNS		XPI_XEN_MAX_RANGES
#define XPI_FN_HASH_BITS	6
/* A request id is a sequence number above the vCPU id. */
#define XPI_ID_VCPU_BITS	8
#define XPI_ID_VCPU_MASK	(BIT_ULL(XPI_ID_VCPU_BITS) - 1)
/* How often the reaper looks for dead guests */
#define XPI_REAP_INTERVAL	(2 * HZ)
/* ioeventfds per function, irqfds per guest */
#define XPI_MAX_IOEVENTFDS	64
#define XPI_MAX_IRQFDS		256
#define XPI_NO_SBDF		(~0U)

static_assert(order_base_2(XPI_MAX_VCPUS) <= XPI_ID_VCPU_BITS);
static_assert(XEN_PCI_IOREQ_BAR_ROM == PCI_ROM_RESOURCE);

/* The uapi is the same for 32-bit and 64-bit userspace: no compat layer. */
static_assert(sizeof(struct xen_pci_ioreq_layout) == 56);
static_assert(sizeof(struct xen_pci_ioreq_bind) == 64);
static_assert(sizeof(struct xen_pci_ioreq_info) == 80);
static_assert(sizeof(struct xen_pci_ioreq_function) == 16);
static_assert(sizeof(struct xen_pci_ioreq_mmio) == 48);
static_assert(sizeof(struct xen_pci_ioreq_intx) == 24);
static_assert(sizeof(struct xen_pci_ioreq_ioeventfd) == 56);
static_assert(sizeof(struct xen_pci_ioreq_irqfd) == 40);
static_assert(sizeof(struct xen_pci_ioreq_request) == 56);
static_assert(sizeof(struct xen_pci_ioreq_response) == 24);

static bool xpi_ecam_mode(void)
{
	return XPI_MODE == XEN_PCI_IOREQ_MODE_ECAM;
}

/**
 * struct xpi_stats - counters of a guest, in debugfs
 * @config: configuration space requests
 * @mmio: BAR MMIO requests
 * @other: other requests (port I/O, Xen's own), answered in the kernel
 * @in_kernel: requests answered in the kernel, without a backend
 * @routed: requests queued to a backend
 * @delivered: requests read() by a backend
 * @completed: requests completed by a backend
 * @aborted: requests completed by the kernel for a backend that went away
 * @ioeventfd: writes completed in the kernel by signalling an ioeventfd
 */
struct xpi_stats {
	u64 config;
	u64 mmio;
	u64 other;
	u64 in_kernel;
	u64 routed;
	u64 delivered;
	u64 completed;
	u64 aborted;
	u64 ioeventfd;
};

enum xpi_req_state {
	XPI_REQ_IDLE,		/* no request of this vCPU with a backend */
	XPI_REQ_QUEUED,		/* on the file's queue, not read yet */
	XPI_REQ_DELIVERED,	/* read, waiting for its completion */
};

struct xpi_guest;
struct xpi_file;

/**
 * struct xpi_vcpu - a vCPU of a guest, and its one request in flight
 * @guest: the guest
 * @id: vCPU id, its slot in the shared page
 * @irq: the IRQ of its event channel, or -1
 * @port: our end of its event channel, while @irq is bound
 * @state: where its request is, under the guest's lock
 * @file: the file the request went to, unless %XPI_REQ_IDLE
 * @fn: the function it accesses, unless %XPI_REQ_IDLE
 * @node: entry in the file's queue while %XPI_REQ_QUEUED
 * @intx_before: for a write, the pins its function asserted when it came
 * @rec: the request as the backend reads it
 * @name: name of the IRQ
 */
struct xpi_vcpu {
	struct xpi_guest *guest;
	unsigned int id;
	int irq;
	evtchn_port_t port;
	enum xpi_req_state state;
	struct xpi_file *file;
	struct xpi_fn *fn;
	struct list_head node;
	u8 intx_before;
	struct xen_pci_ioreq_request rec;
	char name[32];
};

/**
 * struct xpi_guest - a guest, its ioreq server and what is registered on it
 * @kref: one reference for the list of live guests, one per bound file
 * @node: entry in xpi.guests until the guest is torn down
 * @domid: the guest
 * @layout: its root complex (ECAM mode), which the server serves
 * @ioservid: its ioreq server
 * @nr_vcpus: number of its vCPUs
 * @dead: torn down: the server, its page and event channels are gone
 * @keep: a file bound with %XEN_PCI_IOREQ_BIND_KEEP: the server stays when
 *	the last file goes, until the guest dies
 * @page: the page the shared ioreq page is mapped into
 * @iopage: the shared ioreq page
 * @files: files bound to the guest, under @mutex
 * @fns: registered functions, by SBDF
 * @nr_fns: number of registered functions
 * @ranges: BAR ranges, sorted by start
 * @nr_ranges: number of BAR ranges
 * @intx_users: per INTx line, the functions asserting it, under @mutex
 * @intx_raised: assertions passed to Xen
 * @intx_resampled: lines raised again after a guest write to a function
 *	that still asserts them
 * @irqfds: irqfds of its functions, under @mutex
 * @nr_irqfds: their number
 * @irqfd_work: asserts the pins whose irqfds were signalled
 * @irqfd_signals: irqfd signals seen
 * @irqfd_asserted: pins asserted for them
 * @irqfd_cancelled: signals a deassertion overtook before they asserted
 * @seq: sequence number of the next request id, under @lock
 * @stats: counters, under @lock
 * @debugfs: the guest's debugfs directory
 * @vcpus: the vCPUs
 */
struct xpi_guest {
	struct kref kref;
	struct list_head node;
	domid_t domid;
	struct xen_pci_ioreq_layout layout;
	ioservid_t ioservid;
	unsigned int nr_vcpus;
	/** @mutex: the control path; see the top of the file */
	struct mutex mutex;
	/** @lock: the request path; see the top of the file */
	spinlock_t lock;
	bool dead;
	bool keep;
	struct page *page;
	struct shared_iopage *iopage;
	struct list_head files;
	DECLARE_HASHTABLE(fns, XPI_FN_HASH_BITS);
	unsigned int nr_fns;
	struct xpi_range *ranges;
	unsigned int nr_ranges;
	u16 intx_users[XPI_NR_INTX_LINES];
	atomic64_t intx_raised;
	atomic64_t intx_resampled;
	struct list_head irqfds;
	unsigned int nr_irqfds;
	struct work_struct irqfd_work;
	atomic64_t irqfd_signals;
	atomic64_t irqfd_asserted;
	atomic64_t irqfd_cancelled;
	u64 seq;
	struct xpi_stats stats;
	struct dentry *debugfs;
	struct xpi_vcpu vcpus[] __counted_by(nr_vcpus);
};

/**
 * struct xpi_fn - a function registered by a file
 * @hnode: entry in the guest's @fns
 * @node: entry in the file's @fns
 * @file: the file that serves it
 * @sbdf: segment << 16 | bus << 8 | devfn
 * @nr_ranges: number of its BAR ranges
 * @ioeventfds: its ioeventfds, read by the request path
 * @nr_ioeventfds: their number
 * @intx_asserted: bit (pin - 1) set while it asserts that pin
 */
struct xpi_fn {
	struct hlist_node hnode;
	struct list_head node;
	struct xpi_file *file;
	u32 sbdf;
	unsigned int nr_ranges;
	struct list_head ioeventfds;
	unsigned int nr_ioeventfds;
	u8 intx_asserted;
};

/**
 * struct xpi_ioeventfd - guest writes that the kernel completes itself
 * @node: entry in its function's @ioeventfds
 * @ctx: the eventfd signalled for each matching write
 * @addr: guest physical address of the writes
 * @data: with @datamatch, the value they must carry
 * @signals: matching writes so far, under the guest's lock
 * @size: their size
 * @datamatch: whether @data must match
 */
struct xpi_ioeventfd {
	struct list_head node;
	struct eventfd_ctx *ctx;
	u64 addr;
	u64 data;
	u64 signals;
	u8 size;
	bool datamatch;
};

/**
 * struct xpi_irqfd - an eventfd whose signals assert an INTx pin
 * @node: entry in the guest's @irqfds
 * @guest: the guest
 * @fn: the function whose pin it asserts
 * @ctx: the eventfd
 * @wait: our entry in the eventfd's wait queue
 * @pt: adds @wait to it
 * @pending: signalled since the guest's irqfd work last looked
 * @pin: the pin, 1 to 4
 */
struct xpi_irqfd {
	struct list_head node;
	struct xpi_guest *guest;
	struct xpi_fn *fn;
	struct eventfd_ctx *ctx;
	wait_queue_entry_t wait;
	poll_table pt;
	atomic_t pending;
	u8 pin;
};

/**
 * struct xpi_file - an open file of /dev/xen/pci-ioreq
 * @guest: the guest, once bound; never changes after
 * @node: entry in the guest's @files
 * @queue: requests not read yet, under the guest's lock
 * @fns: the functions it registered, under the guest's mutex
 * @wq: woken for new requests and when the guest dies
 */
struct xpi_file {
	/** @bind_lock: serializes binding */
	struct mutex bind_lock;
	struct xpi_guest *guest;
	struct list_head node;
	struct list_head queue;
	struct list_head fns;
	wait_queue_head_t wq;
};

/**
 * struct xpi_module - the state of the driver
 * @misc: /dev/xen/pci-ioreq
 * @guests: live guests
 * @debugfs: the driver's debugfs directory
 * @xs_nb: tells when xenstore is up, to set up @watch
 * @watch: "@releaseDomain", fired when a domain dies
 * @watching: @watch is registered
 * @reaper: looks for dead guests while servers live
 */
struct xpi_module {
	struct miscdevice misc;
	/** @lock: protects @guests and @watching */
	struct mutex lock;
	struct list_head guests;
	struct dentry *debugfs;
	struct notifier_block xs_nb;
	struct xenbus_watch watch;
	bool watching;
	struct delayed_work reaper;
};

static struct xpi_module xpi;

static int xpi_dm_op(domid_t domid, struct xen_dm_op *op)
{
	struct xen_dm_op_buf buf;

	set_xen_guest_handle(buf.h, op);
	buf.size = sizeof(*op);
	return HYPERVISOR_dm_op(domid, 1, &buf);
}

/* Route the range [@start, @last] of @type (XEN_DMOP_IO_RANGE_*) to us. */
static int xpi_xen_map(struct xpi_guest *g, u32 type, u64 start, u64 last)
{
	struct xen_dm_op op = { .op = XEN_DMOP_map_io_range_to_ioreq_server };

	op.u.map_io_range_to_ioreq_server = (struct xen_dm_op_ioreq_server_range) {
		.id = g->ioservid, .type = type, .start = start, .end = last,
	};
	return xpi_dm_op(g->domid, &op);
}

static int xpi_xen_unmap(struct xpi_guest *g, u32 type, u64 start, u64 last)
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
static const struct xen_pci_ioreq_layout xpi_default_layout = {
	.ecam = { GUEST_VPCI_ECAM_BASE, GUEST_VPCI_ECAM_SIZE },
	.mem = {
		{ GUEST_VPCI_MEM_ADDR, GUEST_VPCI_MEM_SIZE },
		{ GUEST_VPCI_PREFETCH_MEM_ADDR, GUEST_VPCI_PREFETCH_MEM_SIZE },
	},
	.intx_base = XPI_DEFAULT_INTX_BASE,
};

/* Where a BAR range lies with respect to the claimed memory windows. */
enum xpi_window {
	XPI_WINDOW_NONE,	/* outside all of them: a range of its own */
	XPI_WINDOW_INSIDE,	/* inside one: routed by the kernel alone */
	XPI_WINDOW_ACROSS,	/* across the edge of one: not a BAR */
};

/*
 * The guest's memory windows (ECAM mode) are claimed whole when the server
 * is created, as a root complex decodes its whole aperture: an access that
 * no BAR decodes, to a BAR whose decoding is off or whose backend died,
 * then reads all ones like a master abort instead of faulting the guest.
 * BAR ranges inside a window are routed here only; a range outside both gets
 * a range of its own in Xen.
 */
static enum xpi_window xpi_window_of(struct xpi_guest *g, u64 start, u64 last)
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
static unsigned int xpi_xen_bar_ranges_max(struct xpi_guest *g)
{
	if (!xpi_ecam_mode())
		return XPI_XEN_MAX_RANGES;
	return XPI_XEN_MAX_RANGES - 1 - !!g->layout.mem[0].size -
	       !!g->layout.mem[1].size;
}

/* How many of the guest's BAR ranges have a memory range in Xen. */
static unsigned int xpi_xen_bar_ranges(struct xpi_guest *g)
{
	unsigned int i, n = 0;

	for (i = 0; i < g->nr_ranges; i++)
		n += xpi_window_of(g, g->ranges[i].start, g->ranges[i].last) ==
		     XPI_WINDOW_NONE;
	return n;
}

/* Route a BAR range to us in Xen, unless a claimed window covers it. */
static int xpi_bar_map(struct xpi_guest *g, u64 start, u64 last)
{
	if (xpi_window_of(g, start, last) == XPI_WINDOW_INSIDE)
		return 0;
	return xpi_xen_map(g, XEN_DMOP_IO_RANGE_MEMORY, start, last);
}

static void xpi_bar_unmap(struct xpi_guest *g, u64 start, u64 last)
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

static int xpi_xen_destroy(struct xpi_guest *g)
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
static bool xpi_xen_alive(struct xpi_guest *g)
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
static int xpi_xen_intx(struct xpi_guest *g, u8 slot, u8 pin, u8 level)
{
	struct xen_dm_op op = { };

	if (xpi_ecam_mode()) {
		op.op = XEN_DMOP_set_irq_level;
		op.u.set_irq_level.irq = xpi_intx_intid(g->layout.intx_base,
							slot, pin);
		op.u.set_irq_level.level = level;
	} else {
		op.op = XEN_DMOP_set_pci_intx_level;
		op.u.set_pci_intx_level.device = slot;
		op.u.set_pci_intx_level.intx = pin - 1;
		op.u.set_pci_intx_level.level = level;
	}
	return xpi_dm_op(g->domid, &op);
}

/* --- request path: under the guest's lock --- */

/* Hand the vCPU its response: the access is done. */
static void xpi_respond(struct xpi_guest *g, struct xpi_vcpu *v)
{
	struct ioreq *slot = &g->iopage->vcpu_ioreq[v->id];

	lockdep_assert_held(&g->lock);
	/* Xen reads the data of a read once it sees the state. */
	virt_wmb();
	slot->state = STATE_IORESP_READY;
	notify_remote_via_irq(v->irq);
}

/* Hand the vCPU the data of its read, masked to the access size. */
static void xpi_respond_read(struct xpi_guest *g, struct xpi_vcpu *v,
			     u32 size, u64 data)
{
	g->iopage->vcpu_ioreq[v->id].data = data & xpi_size_mask(size);
	xpi_respond(g, v);
}

/* Complete the backend request of @v in the kernel: reads all ones. */
static void xpi_abort_one(struct xpi_guest *g, struct xpi_vcpu *v)
{
	bool read = v->rec.dir == XEN_PCI_IOREQ_DIR_READ;

	lockdep_assert_held(&g->lock);
	if (v->state == XPI_REQ_QUEUED)
		list_del_init(&v->node);
	if (!g->dead) {
		if (read)
			xpi_respond_read(g, v, v->rec.size, ~0ULL);
		else
			xpi_respond(g, v);
		g->stats.aborted++;
		trace_xen_pci_ioreq_complete(g->domid, v->id, v->rec.id,
					     read ? xpi_size_mask(v->rec.size) : 0,
					     true);
	}
	v->state = XPI_REQ_IDLE;
	v->file = NULL;
	v->fn = NULL;
}

/* Abort the requests that went to @f, only those for @fn if not NULL. */
static void xpi_abort(struct xpi_guest *g, struct xpi_file *f,
		      struct xpi_fn *fn)
{
	unsigned int i;

	lockdep_assert_held(&g->lock);
	for (i = 0; i < g->nr_vcpus; i++) {
		struct xpi_vcpu *v = &g->vcpus[i];

		if (v->state != XPI_REQ_IDLE && v->file == f &&
		    (!fn || v->fn == fn))
			xpi_abort_one(g, v);
	}
}

static struct xpi_fn *xpi_fn_lookup(struct xpi_guest *g, u32 sbdf)
{
	struct xpi_fn *fn;

	hash_for_each_possible(g->fns, fn, hnode, sbdf)
		if (fn->sbdf == sbdf)
			return fn;
	return NULL;
}

/*
 * A write that an ioeventfd of @fn matches: signal the eventfd. The write is
 * then complete; it never reaches the backend, so it is no resample point
 * for INTx either (it cannot have acknowledged anything).
 */
static bool xpi_ioeventfd_signal(struct xpi_fn *fn, const struct ioreq *req)
{
	u64 data = req->data & xpi_size_mask(req->size);
	struct xpi_ioeventfd *e;

	list_for_each_entry(e, &fn->ioeventfds, node) {
		if (e->addr != req->addr || e->size != req->size ||
		    (e->datamatch && e->data != data))
			continue;
		eventfd_signal(e->ctx);
		e->signals++;
		return true;
	}
	return false;
}

/**
 * struct xpi_target - what a guest access reaches
 * @kind: %XEN_PCI_IOREQ_KIND_CONFIG or %XEN_PCI_IOREQ_KIND_MMIO, or 0 for
 *	neither (port I/O, Xen's own requests)
 * @bar: the BAR of the range hit, or %XEN_PCI_IOREQ_BAR_NONE
 * @addr: what the backend sees: register offset or guest physical address
 * @fn: the registered function it reaches, or NULL
 */
struct xpi_target {
	u8 kind;
	u8 bar;
	u64 addr;
	struct xpi_fn *fn;
};

/* Which function and register, or which BAR, a guest access reaches. */
static void xpi_decode(struct xpi_guest *g, const struct ioreq *req,
		       struct xpi_target *t)
{
	struct xpi_cfg_access cfg;
	int i;

	*t = (struct xpi_target) {
		.bar = XEN_PCI_IOREQ_BAR_NONE,
		.addr = req->addr,
	};
	if (req->type == IOREQ_TYPE_COPY && xpi_ecam_mode()) {
		switch (xpi_ecam_decode(g->layout.ecam.base,
					g->layout.ecam.size, req->addr,
					req->size, &cfg)) {
		case XPI_DECODE_OK:
			t->fn = xpi_fn_lookup(g, cfg.sbdf);
			t->addr = cfg.reg;
			fallthrough;
		case XPI_DECODE_INVALID:
			t->kind = XEN_PCI_IOREQ_KIND_CONFIG;
			return;
		case XPI_DECODE_OUTSIDE:
			break;
		}
	} else if (req->type == IOREQ_TYPE_PCI_CONFIG && !xpi_ecam_mode()) {
		t->kind = XEN_PCI_IOREQ_KIND_CONFIG;
		if (xpi_pci_config_decode(req->addr, req->size, &cfg)) {
			t->fn = xpi_fn_lookup(g, cfg.sbdf);
			t->addr = cfg.reg;
		}
		return;
	}
	if (req->type != IOREQ_TYPE_COPY)
		return;
	t->kind = XEN_PCI_IOREQ_KIND_MMIO;
	i = xpi_range_find(g->ranges, g->nr_ranges, req->addr, req->size);
	if (i >= 0) {
		t->fn = g->ranges[i].fn;
		t->bar = g->ranges[i].bar;
	}
}

/*
 * Nobody is there, or the access is not one a function can take: answer as
 * a master abort. A plain read gets all ones; anything else completes with
 * no data.
 */
static void xpi_master_abort(struct xpi_guest *g, struct xpi_vcpu *v,
			     const struct ioreq *req, u8 kind, bool plain)
{
	bool read = req->dir == IOREQ_READ;

	g->stats.in_kernel++;
	trace_xen_pci_ioreq_dispatch(g->domid, v->id, XPI_NO_SBDF, kind, read,
				     req->size, req->addr, req->data, 0);
	if (plain && read)
		xpi_respond_read(g, v, req->size, ~0ULL);
	else
		xpi_respond(g, v);
	trace_xen_pci_ioreq_complete(g->domid, v->id, 0,
				     plain && read ?
				     xpi_size_mask(req->size) : 0, false);
}

/* Queue the access to the backend of its function, and wake it. */
static void xpi_queue(struct xpi_guest *g, struct xpi_vcpu *v,
		      const struct ioreq *req, const struct xpi_target *t)
{
	struct xen_pci_ioreq_request *rec = &v->rec;
	bool read = req->dir == IOREQ_READ;
	struct xpi_fn *fn = t->fn;

	*rec = (struct xen_pci_ioreq_request) {
		.id = ++g->seq << XPI_ID_VCPU_BITS | v->id,
		.fn.segment = xpi_sbdf_segment(fn->sbdf),
		.fn.bus = xpi_sbdf_bus(fn->sbdf),
		.fn.devfn = xpi_sbdf_devfn(fn->sbdf),
		.vcpu = v->id,
		.kind = t->kind,
		.dir = read ? XEN_PCI_IOREQ_DIR_READ : XEN_PCI_IOREQ_DIR_WRITE,
		.size = req->size,
		.bar = t->bar,
		.addr = t->addr,
		.data = read ? 0 : req->data & xpi_size_mask(req->size),
	};
	v->state = XPI_REQ_QUEUED;
	v->file = fn->file;
	v->fn = fn;
	v->intx_before = read ? 0 : READ_ONCE(fn->intx_asserted);
	list_add_tail(&v->node, &fn->file->queue);
	g->stats.routed++;
	trace_xen_pci_ioreq_dispatch(g->domid, v->id, fn->sbdf, t->kind, read,
				     req->size, t->addr, rec->data, rec->id);
	wake_up_interruptible_poll(&fn->file->wq, EPOLLIN | EPOLLRDNORM);
}

/* Decode a guest access and answer it, or queue it to its backend. */
static void xpi_dispatch(struct xpi_guest *g, struct xpi_vcpu *v,
			 const struct ioreq *req)
{
	bool plain = !req->data_is_ptr && req->count == 1 &&
		     xpi_size_valid(req->size);
	struct xpi_target t;

	xpi_decode(g, req, &t);
	if (t.kind == XEN_PCI_IOREQ_KIND_CONFIG)
		g->stats.config++;
	else if (t.kind == XEN_PCI_IOREQ_KIND_MMIO)
		g->stats.mmio++;
	else
		g->stats.other++;

	if (!t.fn || !plain) {
		xpi_master_abort(g, v, req, t.kind, plain);
	} else if (t.kind == XEN_PCI_IOREQ_KIND_MMIO &&
		   req->dir == IOREQ_WRITE && xpi_ioeventfd_signal(t.fn, req)) {
		g->stats.ioeventfd++;
		trace_xen_pci_ioreq_dispatch(g->domid, v->id, t.fn->sbdf,
					     t.kind, false, req->size,
					     req->addr,
					     req->data & xpi_size_mask(req->size),
					     0);
		xpi_respond(g, v);
		trace_xen_pci_ioreq_complete(g->domid, v->id, 0, 0, false);
	} else {
		xpi_queue(g, v, req, &t);
	}
}

/* Take a new request from the vCPU's slot, if there is one. */
static bool xpi_process(struct xpi_guest *g, struct xpi_vcpu *v)
{
	struct ioreq *slot;
	struct ioreq req;

	lockdep_assert_held(&g->lock);
	if (g->dead || v->state != XPI_REQ_IDLE)
		return false;
	slot = &g->iopage->vcpu_ioreq[v->id];
	if (slot->state != STATE_IOREQ_READY)
		return false;
	/* The request, after the state that says it is complete. */
	virt_rmb();
	req = *slot;
	slot->state = STATE_IOREQ_INPROCESS;
	xpi_dispatch(g, v, &req);
	return true;
}

static irqreturn_t xpi_interrupt(int irq, void *dev_id)
{
	struct xpi_vcpu *v = dev_id;
	struct xpi_guest *g = v->guest;
	bool handled;

	spin_lock(&g->lock);
	handled = xpi_process(g, v);
	spin_unlock(&g->lock);
	xen_irq_lateeoi(irq, handled ? 0 : XEN_EOI_FLAG_SPURIOUS);
	return IRQ_HANDLED;
}

/* --- ioeventfds and irqfds --- */

static int xpi_set_intx(struct xpi_guest *g, struct xpi_fn *fn, u8 pin,
			u8 level);

/* Drop the ioeventfds of @fn whose address is in [@start, @last]. */
static void xpi_ioeventfd_drop(struct xpi_guest *g, struct xpi_fn *fn,
			       u64 start, u64 last)
{
	struct xpi_ioeventfd *e, *tmp;
	LIST_HEAD(gone);

	lockdep_assert_held(&g->mutex);
	spin_lock_irq(&g->lock);
	list_for_each_entry_safe(e, tmp, &fn->ioeventfds, node) {
		if (e->addr < start || e->addr > last)
			continue;
		list_move(&e->node, &gone);
		fn->nr_ioeventfds--;
	}
	spin_unlock_irq(&g->lock);

	list_for_each_entry_safe(e, tmp, &gone, node) {
		eventfd_ctx_put(e->ctx);
		kfree(e);
	}
}

/*
 * Called by the eventfd, with its wait queue's lock held: take the count
 * and leave the assertion to the guest's work, which may sleep.
 */
static int xpi_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			    int sync, void *key)
{
	struct xpi_irqfd *q = container_of(wait, struct xpi_irqfd, wait);
	u64 cnt;

	if (key_to_poll(key) & EPOLLIN) {
		eventfd_ctx_do_read(q->ctx, &cnt);
		atomic_set(&q->pending, 1);
		atomic64_inc(&q->guest->irqfd_signals);
		schedule_work(&q->guest->irqfd_work);
	}
	return 0;
}

static void xpi_irqfd_ptable(struct file *file, wait_queue_head_t *wqh,
			     poll_table *pt)
{
	struct xpi_irqfd *q = container_of(pt, struct xpi_irqfd, pt);

	add_wait_queue_priority(wqh, &q->wait);
}

static void xpi_irqfd_work(struct work_struct *work)
{
	struct xpi_guest *g = container_of(work, struct xpi_guest, irqfd_work);
	struct xpi_irqfd *q;

	mutex_lock(&g->mutex);
	if (!g->dead) {
		list_for_each_entry(q, &g->irqfds, node) {
			if (!atomic_xchg(&q->pending, 0))
				continue;
			if (!xpi_set_intx(g, q->fn, q->pin, 1))
				atomic64_inc(&g->irqfd_asserted);
		}
	}
	mutex_unlock(&g->mutex);
}

static void xpi_irqfd_free(struct xpi_guest *g, struct xpi_irqfd *q)
{
	u64 cnt;

	lockdep_assert_held(&g->mutex);
	/* After this, the eventfd no longer calls us. */
	eventfd_ctx_remove_wait_queue(q->ctx, &q->wait, &cnt);
	list_del(&q->node);
	WRITE_ONCE(g->nr_irqfds, g->nr_irqfds - 1);
	eventfd_ctx_put(q->ctx);
	kfree(q);
}

/*
 * The backend deasserts @pin of @fn: a signal of its irqfd that came before
 * and that the guest's work has not turned into an assertion yet is for the
 * condition now handled, and must not assert the pin after the deassertion
 * (which would leave the line asserted with nothing to service). A signal
 * that comes after this asserts as usual.
 */
static void xpi_irqfd_cancel(struct xpi_guest *g, struct xpi_fn *fn, u8 pin)
{
	struct xpi_irqfd *q;

	lockdep_assert_held(&g->mutex);
	list_for_each_entry(q, &g->irqfds, node)
		if (q->fn == fn && q->pin == pin &&
		    atomic_xchg(&q->pending, 0))
			atomic64_inc(&g->irqfd_cancelled);
}

/* Drop the irqfds of @fn, or all of the guest's if @fn is NULL. */
static void xpi_irqfd_drop(struct xpi_guest *g, struct xpi_fn *fn)
{
	struct xpi_irqfd *q, *tmp;

	list_for_each_entry_safe(q, tmp, &g->irqfds, node)
		if (!fn || q->fn == fn)
			xpi_irqfd_free(g, q);
}

/* --- guests --- */

/**
 * struct xpi_snapshot - what debugfs shows of a guest, copied under its lock
 * @stats: the request counters
 * @in_flight: requests with a backend
 * @nr_fns: registered functions
 * @nr_ranges: BAR ranges
 * @fns: per function: SBDF, BAR ranges, asserted pins, ioeventfds
 * @ranges: the BAR ranges, with the SBDF of their function
 */
struct xpi_snapshot {
	struct xpi_stats stats;
	unsigned int in_flight;
	unsigned int nr_fns;
	unsigned int nr_ranges;
	struct {
		u32 sbdf;
		unsigned int nr_ranges;
		u8 intx;
		unsigned int nr_ioeventfds;
	} fns[XPI_MAX_FNS];
	struct {
		u64 start;
		u64 last;
		u32 sbdf;
		u8 bar;
	} ranges[XPI_MAX_RANGES];
};

static void xpi_snapshot(struct xpi_guest *g, struct xpi_snapshot *snap)
{
	unsigned int i, bkt, n = 0;
	struct xpi_fn *fn;

	spin_lock_irq(&g->lock);
	snap->stats = g->stats;
	snap->in_flight = 0;
	for (i = 0; i < g->nr_vcpus; i++)
		snap->in_flight += g->vcpus[i].state != XPI_REQ_IDLE;
	hash_for_each(g->fns, bkt, fn, hnode) {
		if (n == ARRAY_SIZE(snap->fns))
			break;
		snap->fns[n].sbdf = fn->sbdf;
		snap->fns[n].nr_ranges = fn->nr_ranges;
		snap->fns[n].intx = READ_ONCE(fn->intx_asserted);
		snap->fns[n].nr_ioeventfds = fn->nr_ioeventfds;
		n++;
	}
	snap->nr_fns = n;
	snap->nr_ranges = g->nr_ranges;
	for (i = 0; i < g->nr_ranges; i++) {
		snap->ranges[i].start = g->ranges[i].start;
		snap->ranges[i].last = g->ranges[i].last;
		snap->ranges[i].sbdf = g->ranges[i].fn->sbdf;
		snap->ranges[i].bar = g->ranges[i].bar;
	}
	spin_unlock_irq(&g->lock);
}

static void xpi_seq_sbdf(struct seq_file *m, u32 sbdf)
{
	seq_printf(m, "%04x:%02x:%02x.%u", xpi_sbdf_segment(sbdf),
		   xpi_sbdf_bus(sbdf), PCI_SLOT(xpi_sbdf_devfn(sbdf)),
		   PCI_FUNC(xpi_sbdf_devfn(sbdf)));
}

/* Copied first, then printed: printing may sleep, the lock is a spinlock. */
static int xpi_stats_show(struct seq_file *m, void *unused)
{
	struct xpi_guest *g = m->private;
	struct xpi_snapshot *snap;
	unsigned int i, in_xen;

	snap = kvmalloc(sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	mutex_lock(&g->mutex);
	xpi_snapshot(g, snap);
	in_xen = xpi_xen_bar_ranges(g);
	mutex_unlock(&g->mutex);

	seq_printf(m, "domid: %u\nioservid: %u\nvcpus: %u\nmode: %s\n",
		   g->domid, g->ioservid, g->nr_vcpus,
		   xpi_ecam_mode() ? "ecam" : "pci");
	if (xpi_ecam_mode())
		seq_printf(m, "ecam: %#llx+%#llx\nmem: %#llx+%#llx %#llx+%#llx\nintx_base: %u\n",
			   g->layout.ecam.base, g->layout.ecam.size,
			   g->layout.mem[0].base, g->layout.mem[0].size,
			   g->layout.mem[1].base, g->layout.mem[1].size,
			   g->layout.intx_base);
	seq_printf(m, "requests_config: %llu\nrequests_mmio: %llu\n",
		   snap->stats.config, snap->stats.mmio);
	seq_printf(m, "requests_other: %llu\n", snap->stats.other);
	seq_printf(m, "answered_in_kernel: %llu\nrouted: %llu\n",
		   snap->stats.in_kernel, snap->stats.routed);
	seq_printf(m, "delivered: %llu\ncompleted: %llu\naborted: %llu\n",
		   snap->stats.delivered, snap->stats.completed,
		   snap->stats.aborted);
	seq_printf(m, "in_flight: %u\nfunctions: %u\nmmio_ranges: %u\n",
		   snap->in_flight, snap->nr_fns, snap->nr_ranges);
	seq_printf(m, "mmio_ranges_in_xen: %u of %u\n", in_xen,
		   xpi_xen_bar_ranges_max(g));
	seq_printf(m, "intx_raised: %lld\nintx_resampled: %lld\n",
		   atomic64_read(&g->intx_raised),
		   atomic64_read(&g->intx_resampled));
	seq_printf(m, "ioeventfd_writes: %llu\nirqfds: %u\n",
		   snap->stats.ioeventfd, READ_ONCE(g->nr_irqfds));
	seq_printf(m, "irqfd_signals: %lld\nirqfd_asserted: %lld\n",
		   atomic64_read(&g->irqfd_signals),
		   atomic64_read(&g->irqfd_asserted));
	seq_printf(m, "irqfd_cancelled: %lld\n",
		   atomic64_read(&g->irqfd_cancelled));
	for (i = 0; i < snap->nr_fns; i++) {
		seq_puts(m, "function ");
		xpi_seq_sbdf(m, snap->fns[i].sbdf);
		seq_printf(m, " ranges %u intx %#x ioeventfds %u\n",
			   snap->fns[i].nr_ranges, snap->fns[i].intx,
			   snap->fns[i].nr_ioeventfds);
	}
	for (i = 0; i < snap->nr_ranges; i++) {
		seq_printf(m, "mmio %#llx-%#llx ", snap->ranges[i].start,
			   snap->ranges[i].last);
		xpi_seq_sbdf(m, snap->ranges[i].sbdf);
		seq_printf(m, " bar %u\n", snap->ranges[i].bar);
	}
	kvfree(snap);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xpi_stats);

static void xpi_guest_free(struct kref *kref)
{
	struct xpi_guest *g = container_of(kref, struct xpi_guest, kref);

	/* Torn down before the last reference went, by whoever listed it. */
	WARN_ON(!g->dead || !list_empty(&g->files) || g->nr_fns ||
		!list_empty(&g->irqfds));
	/* Queued by an irqfd dropped since; it finds the guest dead. */
	cancel_work_sync(&g->irqfd_work);
	kfree(g->ranges);
	kfree(g);
}

static void xpi_guest_put(struct xpi_guest *g)
{
	kref_put(&g->kref, xpi_guest_free);
}

static void xpi_unbind_vcpus(struct xpi_guest *g)
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

static void xpi_unmap_page(struct xpi_guest *g)
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
static DECLARE_FAULT_ATTR(xpi_fail_setup);

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
static void xpi_answer_all(struct xpi_guest *g)
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
 * channels, and only then claim the windows, so that no request can reach
 * the server before every vCPU's event channel is bound. Called with
 * xpi.lock held.
 */
static int xpi_xen_setup(struct xpi_guest *g)
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
		goto err_answer;
	return 0;

err_answer:
	/* A window is claimed: a running guest may be waiting already. */
	xpi_answer_all(g);
err_unbind:
	xpi_unbind_vcpus(g);
err_unmap:
	xpi_unmap_page(g);
err_destroy:
	xpi_xen_destroy(g);
	return rc;
}

/* A guest object with @nr vCPUs and room for its BAR ranges, no server. */
static struct xpi_guest *xpi_guest_alloc(domid_t domid,
					 const struct xen_pci_ioreq_layout *l,
					 unsigned int nr)
{
	struct xpi_guest *g;
	unsigned int i;

	g = kzalloc(struct_size(g, vcpus, nr), GFP_KERNEL);
	if (!g)
		return NULL;
	g->nr_vcpus = nr;
	g->ranges = kcalloc(XPI_MAX_RANGES, sizeof(*g->ranges), GFP_KERNEL);
	if (!g->ranges) {
		kfree(g);
		return NULL;
	}
	kref_init(&g->kref);
	INIT_LIST_HEAD(&g->node);
	g->domid = domid;
	g->layout = *l;
	mutex_init(&g->mutex);
	spin_lock_init(&g->lock);
	INIT_LIST_HEAD(&g->files);
	hash_init(g->fns);
	INIT_LIST_HEAD(&g->irqfds);
	INIT_WORK(&g->irqfd_work, xpi_irqfd_work);
	for (i = 0; i < nr; i++) {
		struct xpi_vcpu *v = &g->vcpus[i];

		v->guest = g;
		v->id = i;
		v->irq = -1;
		INIT_LIST_HEAD(&v->node);
		snprintf(v->name, sizeof(v->name), "xen-pci-ioreq-d%uv%u",
			 domid, i);
	}
	return g;
}

/*
 * The guest's debugfs directory: its domid, and the ECAM window's base for
 * a root complex elsewhere than in the default layout.
 */
static void xpi_guest_debugfs(struct xpi_guest *g)
{
	char name[32];

	if (!xpi_ecam_mode() ||
	    g->layout.ecam.base == xpi_default_layout.ecam.base)
		snprintf(name, sizeof(name), "%u", g->domid);
	else
		snprintf(name, sizeof(name), "%u@%llx", g->domid,
			 g->layout.ecam.base);
	g->debugfs = debugfs_create_dir(name, xpi.debugfs);
	debugfs_create_file("stats", 0400, g->debugfs, g, &xpi_stats_fops);
}

/*
 * Create the ioreq server of a root complex of a guest, and set it up.
 * Called with xpi.lock held.
 */
static struct xpi_guest *xpi_guest_create(domid_t domid,
					  const struct xen_pci_ioreq_layout *l)
{
	struct xen_dm_op op = { .op = XEN_DMOP_nr_vcpus };
	struct xpi_guest *g;
	int rc;

	rc = xpi_dm_op(domid, &op);
	if (rc)
		return ERR_PTR(rc);
	if (!op.u.nr_vcpus.vcpus || op.u.nr_vcpus.vcpus > XPI_MAX_VCPUS)
		return ERR_PTR(-EOPNOTSUPP);
	g = xpi_guest_alloc(domid, l, op.u.nr_vcpus.vcpus);
	if (!g)
		return ERR_PTR(-ENOMEM);
	rc = xpi_xen_setup(g);
	if (rc) {
		kfree(g->ranges);
		kfree(g);
		return ERR_PTR(rc);
	}

	xpi_guest_debugfs(g);
	return g;
}

/*
 * Forget the server: no more requests, event channels or ioreq page; the
 * files see POLLHUP and -ENODEV. Called with xpi.lock held, after taking
 * the guest off the list.
 */
static void xpi_guest_teardown(struct xpi_guest *g)
{
	unsigned int i, bkt;
	struct xpi_file *f;
	struct xpi_fn *fn;

	debugfs_remove_recursive(g->debugfs);
	g->debugfs = NULL;

	mutex_lock(&g->mutex);
	spin_lock_irq(&g->lock);
	WRITE_ONCE(g->dead, true);
	/* Nothing to answer any more: forget the requests. */
	for (i = 0; i < g->nr_vcpus; i++) {
		if (g->vcpus[i].state != XPI_REQ_IDLE)
			xpi_abort_one(g, &g->vcpus[i]);
	}
	spin_unlock_irq(&g->lock);

	xpi_unbind_vcpus(g);
	xpi_unmap_page(g);
	xpi_irqfd_drop(g, NULL);
	hash_for_each(g->fns, bkt, fn, hnode)
		xpi_ioeventfd_drop(g, fn, 0, U64_MAX);

	list_for_each_entry(f, &g->files, node)
		wake_up_interruptible_poll(&f->wq, EPOLLHUP);
	mutex_unlock(&g->mutex);
}

/* Take a torn down guest off the list, and drop the list's references. */
static void xpi_guest_unlist(struct xpi_guest *g)
{
	lockdep_assert_held(&xpi.lock);
	list_del_init(&g->node);
	xpi_guest_put(g);
	/*
	 * Never the end of our code: the caller is a file operation (the
	 * file holds the module) or the watch or the reaper, which
	 * xpi_exit() waits for.
	 */
	module_put(THIS_MODULE);
}

/* The guest died: Xen destroyed its server with it. */
static void xpi_guest_died(struct xpi_guest *g)
{
	pr_info("dom%u: ioreq server %u gone with its guest\n", g->domid,
		g->ioservid);
	xpi_guest_teardown(g);
	xpi_guest_unlist(g);
}

/*
 * The last file of a live guest went away, and none asked to keep the
 * server: destroy it. Xen stops routing to it first, and what the guest
 * asked before is answered; the guest's next access to the windows finds
 * no server (on Arm, a data abort), as if no backend had ever bound.
 */
static void xpi_guest_release_server(struct xpi_guest *g)
{
	pr_info("dom%u: ioreq server %u destroyed with its last file\n",
		g->domid, g->ioservid);
	xpi_answer_all(g);
	xpi_guest_teardown(g);
	xpi_xen_destroy(g);
	xpi_guest_unlist(g);
}

/*
 * The live root complex of guest @domid that @l names, NULL if there is
 * none yet, or -EBUSY if another of the guest's root complexes is in the
 * way, or this one has another layout. Called with xpi.lock held.
 */
static struct xpi_guest *xpi_guest_find(domid_t domid,
					const struct xen_pci_ioreq_layout *l)
{
	struct xpi_guest *g, *tmp, *found = NULL;

	list_for_each_entry_safe(g, tmp, &xpi.guests, node) {
		if (g->domid != domid)
			continue;
		/*
		 * Never hand out a dead guest's server, even if neither the
		 * release watch nor the reaper noticed yet.
		 */
		if (!xpi_xen_alive(g)) {
			xpi_guest_died(g);
			continue;
		}
		if (g->layout.ecam.base == l->ecam.base &&
		    !memcmp(&g->layout, l, sizeof(*l)))
			found = g;
		else if (xpi_ecam_mode() && xpi_layouts_conflict(&g->layout, l))
			return ERR_PTR(-EBUSY);
	}
	return found;
}

/*
 * Bind @f to a root complex of the live guest @domid, whose server is
 * created if need be. Under xpi.lock, so that the last file of a guest
 * cannot release its server between the lookup and the binding.
 */
static int xpi_guest_attach(struct xpi_file *f, domid_t domid,
			    const struct xen_pci_ioreq_layout *l, bool keep)
{
	struct xpi_guest *g;
	int rc = 0;

	mutex_lock(&xpi.lock);
	g = xpi_guest_find(domid, l);
	if (IS_ERR(g)) {
		rc = PTR_ERR(g);
		goto out;
	}
	if (g) {
		kref_get(&g->kref);
		goto bind;
	}
	g = xpi_guest_create(domid, l);
	if (IS_ERR(g)) {
		rc = PTR_ERR(g);
		goto out;
	}
	/* Dropped when the server goes: see xpi_guest_unlist(). */
	__module_get(THIS_MODULE);
	if (list_empty(&xpi.guests))
		schedule_delayed_work(&xpi.reaper, XPI_REAP_INTERVAL);
	list_add(&g->node, &xpi.guests);
	kref_get(&g->kref);
	if (xpi_ecam_mode())
		pr_info("dom%u: ioreq server %u, %u vCPUs, ECAM at %#llx\n",
			domid, g->ioservid, g->nr_vcpus, l->ecam.base);
	else
		pr_info("dom%u: ioreq server %u, %u vCPUs, PCI mode\n", domid,
			g->ioservid, g->nr_vcpus);
bind:
	mutex_lock(&g->mutex);
	list_add_tail(&f->node, &g->files);
	if (keep)
		g->keep = true;
	/* Pairs with the acquire in xpi_file_guest(). */
	smp_store_release(&f->guest, g);
	mutex_unlock(&g->mutex);
out:
	mutex_unlock(&xpi.lock);
	return rc;
}

/*
 * @f goes away from its guest: if it was the last file and none asked to
 * keep the server, the server goes too.
 */
static void xpi_guest_detach(struct xpi_file *f)
{
	struct xpi_guest *g = f->guest;
	bool last;

	mutex_lock(&xpi.lock);
	mutex_lock(&g->mutex);
	list_del(&f->node);
	last = list_empty(&g->files) && !g->keep && !g->dead;
	mutex_unlock(&g->mutex);
	if (last)
		xpi_guest_release_server(g);
	mutex_unlock(&xpi.lock);
	xpi_guest_put(g);
}

/*
 * Fault injection: the release watch misses an event (debugfs
 * xen-pci-ioreq/fail_release_watch), as when it fires late or, without
 * xenstored, never: the dead guest's server must not be handed out.
 */
static DECLARE_FAULT_ATTR(xpi_fail_watch);

/* Tear down the servers of guests that died. Called with xpi.lock held. */
static void xpi_reap_dead(void)
{
	struct xpi_guest *g, *tmp;

	lockdep_assert_held(&xpi.lock);
	list_for_each_entry_safe(g, tmp, &xpi.guests, node) {
		if (!xpi_xen_alive(g))
			xpi_guest_died(g);
	}
}

/* "@releaseDomain" fired: a guest may have died. */
static void xpi_release_domain(struct xenbus_watch *watch, const char *path,
			       const char *token)
{
	if (should_fail(&xpi_fail_watch, 1))
		return;

	mutex_lock(&xpi.lock);
	xpi_reap_dead();
	mutex_unlock(&xpi.lock);
}

/*
 * The reaper: every XPI_REAP_INTERVAL while servers live, look for guests
 * that died. The release watch is quicker, but it needs xenstored, which a
 * dom0 may not run (dom0less) or which may be stuck; without the reaper the
 * server of a dead guest would keep the guest's ioreq page mapped, and the
 * dead domain with it, until the next BIND to its domid.
 */
static void xpi_reap(struct work_struct *work)
{
	mutex_lock(&xpi.lock);
	xpi_reap_dead();
	if (!list_empty(&xpi.guests))
		schedule_delayed_work(&xpi.reaper, XPI_REAP_INTERVAL);
	mutex_unlock(&xpi.lock);
}

static int xpi_xenstore_ready(struct notifier_block *nb, unsigned long event,
			      void *data)
{
	int rc;

	mutex_lock(&xpi.lock);
	rc = register_xenbus_watch(&xpi.watch);
	if (rc)
		pr_err("cannot watch @releaseDomain (%d): dead guests stay until unload\n",
		       rc);
	else
		xpi.watching = true;
	mutex_unlock(&xpi.lock);
	return NOTIFY_DONE;
}

/* --- control path: under the guest's mutex --- */

static int xpi_check_fn(const struct xen_pci_ioreq_function *fn)
{
	if (fn->flags || fn->reserved)
		return -EINVAL;
	if (xpi_ecam_mode() && fn->segment)
		return -EINVAL;
	return 0;
}

/* The function @ufn, which @f must have registered. */
static struct xpi_fn *xpi_file_fn(struct xpi_guest *g, struct xpi_file *f,
				  const struct xen_pci_ioreq_function *ufn)
{
	struct xpi_fn *fn;
	int rc;

	rc = xpi_check_fn(ufn);
	if (rc)
		return ERR_PTR(rc);
	fn = xpi_fn_lookup(g, xpi_sbdf(ufn->segment, ufn->bus, ufn->devfn));
	if (!fn || fn->file != f)
		return ERR_PTR(-ENOENT);
	return fn;
}

/*
 * Set a function's INTx pin. Lines are shared: a line is asserted while any
 * of its functions asserts it. On Arm, Xen's vGIC takes level 1 as an edge
 * (the SPI becomes pending, or pending again once the guest is done with
 * it) and ignores level 0: a line that some function already holds would
 * never reach the guest again after the guest's EOI. So every assertion is
 * passed to Xen, whatever the line's state; the guest then handles the
 * line once more and finds which function wants service, as with any
 * shared level-triggered interrupt. The x86 call keeps a real level, to
 * which a repeated assertion changes nothing.
 */
static int xpi_set_intx(struct xpi_guest *g, struct xpi_fn *fn, u8 pin,
			u8 level)
{
	u8 slot = PCI_SLOT(xpi_sbdf_devfn(fn->sbdf));
	unsigned int line = xpi_intx_line(xpi_ecam_mode(), slot, pin);
	bool was = fn->intx_asserted & BIT(pin - 1);
	int rc = 0;

	lockdep_assert_held(&g->mutex);
	if (level) {
		rc = xpi_xen_intx(g, slot, pin, 1);
		if (rc)
			return rc;
		if (!was) {
			g->intx_users[line]++;
			WRITE_ONCE(fn->intx_asserted,
				   fn->intx_asserted | BIT(pin - 1));
		}
		atomic64_inc(&g->intx_raised);
	} else if (was) {
		WRITE_ONCE(fn->intx_asserted, fn->intx_asserted & ~BIT(pin - 1));
		if (!--g->intx_users[line])
			rc = xpi_xen_intx(g, slot, pin, 0);
	}
	return rc;
}

/*
 * A guest write to a function has completed, and the function asserted
 * these pins before the write and still does: the guest's acknowledgment
 * left the condition standing (or a new one came), so raise the line again,
 * as a level-triggered line that is still high raises its interrupt again
 * after the EOI. (A pin that the write itself asserted was raised then.)
 * Called without locks: a stale level costs one spurious interrupt at most.
 */
static void xpi_intx_resample(struct xpi_guest *g, u32 sbdf, u8 asserted)
{
	unsigned int pin;

	if (!xpi_ecam_mode())
		return;
	for (pin = 1; pin <= 4; pin++) {
		if (!(asserted & BIT(pin - 1)))
			continue;
		if (!xpi_xen_intx(g, PCI_SLOT(xpi_sbdf_devfn(sbdf)), pin, 1))
			atomic64_inc(&g->intx_resampled);
	}
}

/* Make the function absent: no ranges, no requests, no INTx. */
static void xpi_fn_remove(struct xpi_guest *g, struct xpi_fn *fn)
{
	unsigned int i, j, pin;
	int rc;

	lockdep_assert_held(&g->mutex);
	xpi_irqfd_drop(g, fn);
	xpi_ioeventfd_drop(g, fn, 0, U64_MAX);
	if (!g->dead) {
		for (i = 0; i < g->nr_ranges; i++) {
			if (g->ranges[i].fn != fn)
				continue;
			xpi_bar_unmap(g, g->ranges[i].start, g->ranges[i].last);
		}
	}

	spin_lock_irq(&g->lock);
	hash_del(&fn->hnode);
	for (i = 0, j = 0; i < g->nr_ranges; i++) {
		if (g->ranges[i].fn != fn)
			g->ranges[j++] = g->ranges[i];
	}
	g->nr_ranges = j;
	fn->nr_ranges = 0;
	xpi_abort(g, fn->file, fn);
	spin_unlock_irq(&g->lock);

	if (!g->dead) {
		if (!xpi_ecam_mode()) {
			rc = xpi_xen_unmap(g, XEN_DMOP_IO_RANGE_PCI, fn->sbdf,
					   fn->sbdf);
			if (rc)
				pr_warn("dom%u: cannot unmap function %#x: %d\n",
					g->domid, fn->sbdf, rc);
		}
		for (pin = 1; pin <= 4; pin++)
			xpi_set_intx(g, fn, pin, 0);
	}
	list_del(&fn->node);
	g->nr_fns--;
	kfree(fn);
}

static int xpi_register(struct xpi_guest *g, struct xpi_file *f,
			const struct xen_pci_ioreq_function *ufn)
{
	u32 sbdf = xpi_sbdf(ufn->segment, ufn->bus, ufn->devfn);
	struct xpi_fn *fn;
	int rc;

	rc = xpi_check_fn(ufn);
	if (rc)
		return rc;
	if (xpi_fn_lookup(g, sbdf))
		return -EBUSY;
	if (g->nr_fns >= XPI_MAX_FNS)
		return -ENOSPC;
	fn = kzalloc(sizeof(*fn), GFP_KERNEL_ACCOUNT);
	if (!fn)
		return -ENOMEM;
	fn->file = f;
	fn->sbdf = sbdf;
	INIT_LIST_HEAD(&fn->ioeventfds);
	if (!xpi_ecam_mode()) {
		rc = xpi_xen_map(g, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf);
		if (rc) {
			kfree(fn);
			return rc;
		}
	}
	spin_lock_irq(&g->lock);
	hash_add(g->fns, &fn->hnode, sbdf);
	spin_unlock_irq(&g->lock);
	list_add_tail(&fn->node, &f->fns);
	g->nr_fns++;
	return 0;
}

static int xpi_check_mmio(const struct xen_pci_ioreq_mmio *m, u64 *last)
{
	if (m->flags || m->reserved || m->bar > XEN_PCI_IOREQ_BAR_ROM ||
	    memchr_inv(m->reserved0, 0, sizeof(m->reserved0)) || !m->size)
		return -EINVAL;
	if (check_add_overflow(m->addr, m->size - 1, last))
		return -EINVAL;
	return 0;
}

/* The checked arguments of ADD_MMIO/REMOVE_MMIO: the function, @last. */
static struct xpi_fn *xpi_mmio_fn(struct xpi_guest *g, struct xpi_file *f,
				  const struct xen_pci_ioreq_mmio *m, u64 *last)
{
	int rc = xpi_check_mmio(m, last);

	return rc ? ERR_PTR(rc) : xpi_file_fn(g, f, &m->fn);
}

static int xpi_add_mmio(struct xpi_guest *g, struct xpi_file *f,
			const struct xen_pci_ioreq_mmio *m)
{
	struct xpi_range *r;
	struct xpi_fn *fn;
	unsigned int pos;
	u64 last;
	int rc;

	fn = xpi_mmio_fn(g, f, m, &last);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	/* Never a BAR: the window is configuration space. */
	if (xpi_ecam_mode() &&
	    m->addr <= g->layout.ecam.base + (g->layout.ecam.size - 1) &&
	    last >= g->layout.ecam.base)
		return -EINVAL;
	/* Half in a window: a BAR is decoded by one window or none. */
	if (xpi_window_of(g, m->addr, last) == XPI_WINDOW_ACROSS)
		return -EINVAL;
	if (xpi_range_overlaps(g->ranges, g->nr_ranges, m->addr, last))
		return -EEXIST;
	if (g->nr_ranges >= XPI_MAX_RANGES)
		return -ENOSPC;
	if (xpi_window_of(g, m->addr, last) == XPI_WINDOW_NONE &&
	    xpi_xen_bar_ranges(g) >= xpi_xen_bar_ranges_max(g))
		return -ENOSPC;
	rc = xpi_bar_map(g, m->addr, last);
	if (rc)
		return rc;

	spin_lock_irq(&g->lock);
	pos = xpi_range_upper(g->ranges, g->nr_ranges, m->addr);
	r = &g->ranges[pos];
	memmove(r + 1, r, (g->nr_ranges - pos) * sizeof(*r));
	r->start = m->addr;
	r->last = last;
	r->fn = fn;
	r->bar = m->bar;
	g->nr_ranges++;
	fn->nr_ranges++;
	spin_unlock_irq(&g->lock);
	return 0;
}

static int xpi_remove_mmio(struct xpi_guest *g, struct xpi_file *f,
			   const struct xen_pci_ioreq_mmio *m)
{
	struct xpi_fn *fn;
	u64 last;
	int i;

	fn = xpi_mmio_fn(g, f, m, &last);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	i = xpi_range_find(g->ranges, g->nr_ranges, m->addr, 1);
	if (i < 0 || g->ranges[i].start != m->addr ||
	    g->ranges[i].last != last || g->ranges[i].fn != fn)
		return -ENOENT;

	xpi_ioeventfd_drop(g, fn, m->addr, last);
	xpi_bar_unmap(g, m->addr, last);
	spin_lock_irq(&g->lock);
	memmove(&g->ranges[i], &g->ranges[i + 1],
		(g->nr_ranges - i - 1) * sizeof(*g->ranges));
	g->nr_ranges--;
	fn->nr_ranges--;
	spin_unlock_irq(&g->lock);
	return 0;
}

static int xpi_intx(struct xpi_guest *g, struct xpi_file *f,
		    const struct xen_pci_ioreq_intx *in)
{
	struct xpi_fn *fn;

	fn = xpi_file_fn(g, f, &in->fn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	/* Root bus only: which bridge leads to a bus is the guest's business. */
	if (xpi_sbdf_segment(fn->sbdf) || xpi_sbdf_bus(fn->sbdf))
		return -EINVAL;
	if (!in->level)
		xpi_irqfd_cancel(g, fn, in->pin);
	return xpi_set_intx(g, fn, in->pin, in->level);
}

/* Complete the writes @a describes in the kernel, signalling @ctx. */
static int xpi_ioeventfd_assign(struct xpi_guest *g, struct xpi_fn *fn,
				struct eventfd_ctx *ctx,
				const struct xen_pci_ioreq_ioeventfd *a)
{
	bool datamatch = a->flags & XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH;
	struct xpi_ioeventfd *e;

	/* Two that could match one write collide. */
	list_for_each_entry(e, &fn->ioeventfds, node)
		if (e->addr == a->addr && e->size == a->size &&
		    (!e->datamatch || !datamatch || e->data == a->data))
			return -EEXIST;
	if (fn->nr_ioeventfds >= XPI_MAX_IOEVENTFDS)
		return -ENOSPC;
	e = kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (!e)
		return -ENOMEM;
	e->ctx = ctx;
	e->addr = a->addr;
	e->size = a->size;
	e->datamatch = datamatch;
	e->data = a->data;
	spin_lock_irq(&g->lock);
	list_add_tail(&e->node, &fn->ioeventfds);
	fn->nr_ioeventfds++;
	spin_unlock_irq(&g->lock);
	return 0;
}

/* Remove the ioeventfd that has exactly the arguments @a and @ctx. */
static int xpi_ioeventfd_deassign(struct xpi_guest *g, struct xpi_fn *fn,
				  struct eventfd_ctx *ctx,
				  const struct xen_pci_ioreq_ioeventfd *a)
{
	bool datamatch = a->flags & XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH;
	struct xpi_ioeventfd *e;

	list_for_each_entry(e, &fn->ioeventfds, node) {
		if (e->addr != a->addr || e->size != a->size ||
		    e->ctx != ctx || e->datamatch != datamatch ||
		    e->data != a->data)
			continue;
		spin_lock_irq(&g->lock);
		list_del(&e->node);
		fn->nr_ioeventfds--;
		spin_unlock_irq(&g->lock);
		eventfd_ctx_put(e->ctx);
		kfree(e);
		return 0;
	}
	return -ENOENT;
}

/* Assert @pin of @fn on each signal of @ctx, the eventfd of @file. */
static int xpi_irqfd_assign(struct xpi_guest *g, struct xpi_fn *fn,
			    struct file *file, struct eventfd_ctx *ctx, u8 pin)
{
	struct xpi_irqfd *q;
	__poll_t events;

	list_for_each_entry(q, &g->irqfds, node)
		/* One eventfd, one pin: its count is ours to take. */
		if (q->ctx == ctx)
			return q->fn == fn && q->pin == pin ? -EEXIST : -EBUSY;
	if (g->nr_irqfds >= XPI_MAX_IRQFDS)
		return -ENOSPC;
	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return -ENOMEM;
	q->guest = g;
	q->fn = fn;
	q->pin = pin;
	q->ctx = ctx;
	init_waitqueue_func_entry(&q->wait, xpi_irqfd_wakeup);
	init_poll_funcptr(&q->pt, xpi_irqfd_ptable);
	list_add_tail(&q->node, &g->irqfds);
	WRITE_ONCE(g->nr_irqfds, g->nr_irqfds + 1);
	/* Signalled already: assert now. */
	events = vfs_poll(file, &q->pt);
	if (events & EPOLLIN) {
		atomic_set(&q->pending, 1);
		schedule_work(&g->irqfd_work);
	}
	return 0;
}

static int xpi_irqfd_deassign(struct xpi_guest *g, struct xpi_fn *fn,
			      struct eventfd_ctx *ctx, u8 pin)
{
	struct xpi_irqfd *q;

	list_for_each_entry(q, &g->irqfds, node) {
		if (q->ctx == ctx && q->fn == fn && q->pin == pin) {
			xpi_irqfd_free(g, q);
			return 0;
		}
	}
	return -ENOENT;
}

static void xpi_get_info(struct xpi_guest *g, struct xen_pci_ioreq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->domid = g->domid;
	info->nr_vcpus = g->nr_vcpus;
	info->mode = XPI_MODE;
	info->layout = g->layout;
}

/* --- file operations --- */

static struct xpi_guest *xpi_file_guest(struct xpi_file *f)
{
	/* Pairs with the release in xpi_bind(). */
	return smp_load_acquire(&f->guest);
}

static int xpi_open(struct inode *inode, struct file *filp)
{
	struct xpi_file *f;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	mutex_init(&f->bind_lock);
	INIT_LIST_HEAD(&f->node);
	INIT_LIST_HEAD(&f->queue);
	INIT_LIST_HEAD(&f->fns);
	init_waitqueue_head(&f->wq);
	filp->private_data = f;
	return stream_open(inode, filp);
}

static int xpi_release(struct inode *inode, struct file *filp)
{
	struct xpi_file *f = filp->private_data;
	struct xpi_guest *g = f->guest;
	struct xpi_fn *fn, *tmp;

	if (g) {
		mutex_lock(&g->mutex);
		list_for_each_entry_safe(fn, tmp, &f->fns, node)
			xpi_fn_remove(g, fn);
		spin_lock_irq(&g->lock);
		xpi_abort(g, f, NULL);
		spin_unlock_irq(&g->lock);
		mutex_unlock(&g->mutex);
		xpi_guest_detach(f);
	}
	kfree(f);
	return 0;
}

/*
 * The root complex a BIND names: the one it gives, checked, or the default
 * (ECAM mode); none in PCI mode, where Xen decodes config cycles.
 */
static int xpi_bind_layout(const struct xen_pci_ioreq_bind *b,
			   struct xen_pci_ioreq_layout *l)
{
	if (!(b->flags & XEN_PCI_IOREQ_BIND_LAYOUT)) {
		if (memchr_inv(&b->layout, 0, sizeof(b->layout)))
			return -EINVAL;
		if (xpi_ecam_mode())
			*l = xpi_default_layout;
		else
			memset(l, 0, sizeof(*l));
		return 0;
	}
	if (!xpi_ecam_mode())
		return -EOPNOTSUPP;
	*l = b->layout;
	return xpi_layout_check(l, XEN_PAGE_SIZE);
}

static long xpi_ioctl_bind(struct xpi_file *f, void __user *uarg)
{
	struct xen_pci_ioreq_layout layout;
	struct xen_pci_ioreq_bind b;
	long ret;

	if (copy_from_user(&b, uarg, sizeof(b)))
		return -EFAULT;
	if (b.flags & ~(XEN_PCI_IOREQ_BIND_KEEP | XEN_PCI_IOREQ_BIND_LAYOUT) ||
	    b.reserved)
		return -EINVAL;
	if (b.domid == 0 || b.domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	ret = xpi_bind_layout(&b, &layout);
	if (ret)
		return ret;

	mutex_lock(&f->bind_lock);
	if (f->guest)
		ret = READ_ONCE(f->guest->dead) ? -ENODEV : -EBUSY;
	else
		ret = xpi_guest_attach(f, b.domid, &layout,
				       b.flags & XEN_PCI_IOREQ_BIND_KEEP);
	mutex_unlock(&f->bind_lock);
	return ret;
}

/* The guest of a bound file, its mutex held, or why there is none. */
static struct xpi_guest *xpi_lock_guest(struct xpi_file *f)
{
	struct xpi_guest *g = xpi_file_guest(f);

	if (!g)
		return ERR_PTR(-EINVAL);
	mutex_lock(&g->mutex);
	if (g->dead) {
		mutex_unlock(&g->mutex);
		return ERR_PTR(-ENODEV);
	}
	return g;
}

static void xpi_unlock_guest(struct xpi_guest *g)
{
	if (!IS_ERR(g))
		mutex_unlock(&g->mutex);
}

/*
 * CLASS(xpi_locked_guest, g)(f): the guest of bound file @f with its mutex
 * held until @g goes out of scope, or an ERR_PTR() saying why there is
 * none.
 */
DEFINE_CLASS(xpi_locked_guest, struct xpi_guest *, xpi_unlock_guest(_T),
	     xpi_lock_guest(f), struct xpi_file *f);

static long xpi_ioctl_get_info(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_info info;

	{
		CLASS(xpi_locked_guest, g)(f);

		if (IS_ERR(g))
			return PTR_ERR(g);
		xpi_get_info(g, &info);
	}
	return copy_to_user(udata, &info, sizeof(info)) ? -EFAULT : 0;
}

static long xpi_ioctl_register(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_function ufn;

	if (copy_from_user(&ufn, udata, sizeof(ufn)))
		return -EFAULT;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	return xpi_register(g, f, &ufn);
}

static long xpi_ioctl_unregister(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_function ufn;
	struct xpi_fn *fn;

	if (copy_from_user(&ufn, udata, sizeof(ufn)))
		return -EFAULT;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	fn = xpi_file_fn(g, f, &ufn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	xpi_fn_remove(g, fn);
	return 0;
}

static long xpi_ioctl_add_mmio(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_mmio m;

	if (copy_from_user(&m, udata, sizeof(m)))
		return -EFAULT;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	return xpi_add_mmio(g, f, &m);
}

static long xpi_ioctl_remove_mmio(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_mmio m;

	if (copy_from_user(&m, udata, sizeof(m)))
		return -EFAULT;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	return xpi_remove_mmio(g, f, &m);
}

static long xpi_ioctl_set_intx(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_intx in;

	if (copy_from_user(&in, udata, sizeof(in)))
		return -EFAULT;
	if (in.pin < 1 || in.pin > 4 || in.level > 1 || in.reserved0 ||
	    in.reserved)
		return -EINVAL;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	return xpi_intx(g, f, &in);
}

static long xpi_ioctl_ioeventfd(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_ioeventfd a;
	struct eventfd_ctx *ctx;
	struct xpi_fn *fn;
	bool datamatch;
	long ret;
	int i;

	if (copy_from_user(&a, udata, sizeof(a)))
		return -EFAULT;
	datamatch = a.flags & XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH;
	if (a.flags & ~(XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH |
			XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN) ||
	    a.reserved0 || a.reserved || !xpi_size_valid(a.size) ||
	    (a.data & ~(datamatch ? xpi_size_mask(a.size) : 0)))
		return -EINVAL;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	fn = xpi_file_fn(g, f, &a.fn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	/* Inside one BAR range of the function */
	i = xpi_range_find(g->ranges, g->nr_ranges, a.addr, a.size);
	if (i < 0 || g->ranges[i].fn != fn)
		return -EINVAL;
	ctx = eventfd_ctx_fdget(a.fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	if (a.flags & XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN)
		ret = xpi_ioeventfd_deassign(g, fn, ctx, &a);
	else
		ret = xpi_ioeventfd_assign(g, fn, ctx, &a);
	/* An assigned ioeventfd keeps the reference. */
	if (ret || (a.flags & XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN))
		eventfd_ctx_put(ctx);
	return ret;
}

static long xpi_ioctl_irqfd(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_irqfd a;
	struct eventfd_ctx *ctx;
	struct xpi_fn *fn;
	long ret;

	if (copy_from_user(&a, udata, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~XEN_PCI_IOREQ_IRQFD_DEASSIGN || a.pin < 1 ||
	    a.pin > 4 || memchr_inv(a.reserved0, 0, sizeof(a.reserved0)) ||
	    a.reserved)
		return -EINVAL;
	CLASS(fd, fd)(a.fd);
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	fn = xpi_file_fn(g, f, &a.fn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	/* Root bus only, as XEN_PCI_IOREQ_SET_INTX */
	if (xpi_sbdf_segment(fn->sbdf) || xpi_sbdf_bus(fn->sbdf))
		return -EINVAL;
	if (!fd_file(fd))
		return -EBADF;
	ctx = eventfd_ctx_fileget(fd_file(fd));
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	if (a.flags & XEN_PCI_IOREQ_IRQFD_DEASSIGN)
		ret = xpi_irqfd_deassign(g, fn, ctx, a.pin);
	else
		ret = xpi_irqfd_assign(g, fn, fd_file(fd), ctx, a.pin);
	/* An assigned irqfd keeps the reference. */
	if (ret || (a.flags & XEN_PCI_IOREQ_IRQFD_DEASSIGN))
		eventfd_ctx_put(ctx);
	return ret;
}

static long xpi_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct xpi_file *f = filp->private_data;
	void __user *udata = (void __user *)arg;

	switch (cmd) {
	case XEN_PCI_IOREQ_BIND:
		return xpi_ioctl_bind(f, udata);
	case XEN_PCI_IOREQ_GET_INFO:
		return xpi_ioctl_get_info(f, udata);
	case XEN_PCI_IOREQ_REGISTER:
		return xpi_ioctl_register(f, udata);
	case XEN_PCI_IOREQ_UNREGISTER:
		return xpi_ioctl_unregister(f, udata);
	case XEN_PCI_IOREQ_ADD_MMIO:
		return xpi_ioctl_add_mmio(f, udata);
	case XEN_PCI_IOREQ_REMOVE_MMIO:
		return xpi_ioctl_remove_mmio(f, udata);
	case XEN_PCI_IOREQ_SET_INTX:
		return xpi_ioctl_set_intx(f, udata);
	case XEN_PCI_IOREQ_IOEVENTFD:
		return xpi_ioctl_ioeventfd(f, udata);
	case XEN_PCI_IOREQ_IRQFD:
		return xpi_ioctl_irqfd(f, udata);
	default:
		return -ENOTTY;
	}
}

static bool xpi_readable(struct xpi_file *f, struct xpi_guest *g)
{
	return READ_ONCE(g->dead) || !list_empty_careful(&f->queue);
}

static ssize_t xpi_read(struct file *filp, char __user *buf, size_t count,
			loff_t *ppos)
{
	struct xpi_file *f = filp->private_data;
	struct xpi_guest *g = xpi_file_guest(f);
	struct xen_pci_ioreq_request *recs;
	bool requeued = false;
	size_t max, n = 0;
	ssize_t ret;

	if (!g || count < sizeof(*recs))
		return -EINVAL;
	max = min_t(size_t, count / sizeof(*recs), g->nr_vcpus);
	recs = kmalloc_array(max, sizeof(*recs), GFP_KERNEL);
	if (!recs)
		return -ENOMEM;

	for (;;) {
		spin_lock_irq(&g->lock);
		if (g->dead) {
			spin_unlock_irq(&g->lock);
			ret = -ENODEV;
			goto out;
		}
		while (n < max && !list_empty(&f->queue)) {
			struct xpi_vcpu *v = list_first_entry(&f->queue,
							      struct xpi_vcpu,
							      node);

			list_del_init(&v->node);
			v->state = XPI_REQ_DELIVERED;
			recs[n++] = v->rec;
			g->stats.delivered++;
		}
		spin_unlock_irq(&g->lock);
		if (n)
			break;
		if (filp->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out;
		}
		ret = wait_event_interruptible(f->wq, xpi_readable(f, g));
		if (ret)
			goto out;
	}

	ret = n * sizeof(*recs);
	if (copy_to_user(buf, recs, ret)) {
		/* Not delivered after all: back to the head of the queue. */
		spin_lock_irq(&g->lock);
		while (n--) {
			struct xpi_vcpu *v;

			v = &g->vcpus[recs[n].id & XPI_ID_VCPU_MASK];
			if (g->dead || v->state != XPI_REQ_DELIVERED ||
			    v->file != f || v->rec.id != recs[n].id)
				continue;
			v->state = XPI_REQ_QUEUED;
			list_add(&v->node, &f->queue);
			g->stats.delivered--;
			requeued = true;
		}
		spin_unlock_irq(&g->lock);
		/* Another reader or an epoll waiter may take them now. */
		if (requeued)
			wake_up_interruptible_poll(&f->wq, EPOLLIN | EPOLLRDNORM);
		ret = -EFAULT;
	}
out:
	kfree(recs);
	return ret;
}

static int xpi_complete(struct xpi_guest *g, struct xpi_file *f,
			const struct xen_pci_ioreq_response *r)
{
	u64 vid = r->id & XPI_ID_VCPU_MASK;
	struct xpi_vcpu *v;
	u8 asserted = 0;
	bool read;
	u32 sbdf = 0;
	int ret = 0;

	if (r->flags || r->reserved)
		return -EINVAL;
	spin_lock_irq(&g->lock);
	if (g->dead) {
		ret = -ENODEV;
		goto out;
	}
	if (vid >= g->nr_vcpus) {
		ret = -EINVAL;
		goto out;
	}
	v = &g->vcpus[vid];
	if (v->state != XPI_REQ_DELIVERED || v->file != f ||
	    v->rec.id != r->id) {
		ret = -EINVAL;
		goto out;
	}
	read = v->rec.dir == XEN_PCI_IOREQ_DIR_READ;
	/* Pins that were asserted before this write and still are. */
	if (!read) {
		asserted = v->intx_before & READ_ONCE(v->fn->intx_asserted);
		sbdf = v->fn->sbdf;
	}
	if (read)
		xpi_respond_read(g, v, v->rec.size, r->data);
	else
		xpi_respond(g, v);
	g->stats.completed++;
	trace_xen_pci_ioreq_complete(g->domid, v->id, r->id,
				     read ? r->data & xpi_size_mask(v->rec.size) : 0,
				     false);
	v->state = XPI_REQ_IDLE;
	v->file = NULL;
	v->fn = NULL;
out:
	spin_unlock_irq(&g->lock);
	if (asserted)
		xpi_intx_resample(g, sbdf, asserted);
	return ret;
}

static ssize_t xpi_write(struct file *filp, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct xpi_file *f = filp->private_data;
	struct xpi_guest *g = xpi_file_guest(f);
	struct xen_pci_ioreq_response r;
	size_t done;
	int ret = 0;

	if (!g || count % sizeof(r))
		return -EINVAL;
	for (done = 0; done < count; done += sizeof(r)) {
		if (copy_from_user(&r, buf + done, sizeof(r))) {
			ret = -EFAULT;
			break;
		}
		ret = xpi_complete(g, f, &r);
		if (ret)
			break;
	}
	return done ? done : ret;
}

static __poll_t xpi_poll(struct file *filp, poll_table *wait)
{
	struct xpi_file *f = filp->private_data;
	struct xpi_guest *g = xpi_file_guest(f);
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	/*
	 * Always on the wait queue, bound or not: an epoll set that takes the
	 * file before XEN_PCI_IOREQ_BIND must hear of the requests after it.
	 */
	poll_wait(filp, &f->wq, wait);
	if (!g)
		return EPOLLERR;
	if (READ_ONCE(g->dead))
		return EPOLLHUP;
	if (!list_empty_careful(&f->queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static const struct file_operations xpi_fops = {
	.owner = THIS_MODULE,
	.open = xpi_open,
	.release = xpi_release,
	.read = xpi_read,
	.write = xpi_write,
	.poll = xpi_poll,
	.unlocked_ioctl = xpi_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int __init xpi_init(void)
{
	int rc;

	if (!xen_initial_domain())
		return -ENODEV;
	if (!xen_feature(XENFEAT_auto_translated_physmap)) {
		pr_info("needs an auto-translated dom0 (Arm, PVH)\n");
		return -ENODEV;
	}

	mutex_init(&xpi.lock);
	INIT_LIST_HEAD(&xpi.guests);
	xpi.misc.minor = MISC_DYNAMIC_MINOR;
	xpi.misc.name = "xen/pci-ioreq";
	xpi.misc.fops = &xpi_fops;
	xpi.xs_nb.notifier_call = xpi_xenstore_ready;
	xpi.watch.node = "@releaseDomain";
	xpi.watch.callback = xpi_release_domain;
	INIT_DELAYED_WORK(&xpi.reaper, xpi_reap);

	xpi.debugfs = debugfs_create_dir("xen-pci-ioreq", NULL);
	fault_create_debugfs_attr("fail_server_setup", xpi.debugfs,
				  &xpi_fail_setup);
	fault_create_debugfs_attr("fail_release_watch", xpi.debugfs,
				  &xpi_fail_watch);
	rc = misc_register(&xpi.misc);
	if (rc) {
		debugfs_remove_recursive(xpi.debugfs);
		return rc;
	}
	/* Calls xpi_xenstore_ready() now, or once xenstored runs. */
	register_xenstore_notifier(&xpi.xs_nb);
	return 0;
}

static void __exit xpi_exit(void)
{
	/* No file is open and no server lives: either holds the module. */
	WARN_ON(!list_empty(&xpi.guests));
	misc_deregister(&xpi.misc);
	unregister_xenstore_notifier(&xpi.xs_nb);
	if (xpi.watching)
		unregister_xenbus_watch(&xpi.watch);
	cancel_delayed_work_sync(&xpi.reaper);
	debugfs_remove_recursive(xpi.debugfs);
}

module_init(xpi_init);
module_exit(xpi_exit);

MODULE_DESCRIPTION("Xen: userspace backends for single PCI functions of guests");
MODULE_LICENSE("GPL");
