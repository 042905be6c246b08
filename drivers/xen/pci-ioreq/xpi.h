/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private header of the xen-pci-ioreq driver (/dev/xen/pci-ioreq), included
 * by each of its files: the objects they share, the limits, the lock order,
 * and the functions one file calls in another.
 *
 * The driver serves single PCI functions of Xen guests from userspace
 * backends in dom0 or in a driver domain. It owns one Xen ioreq server per root complex of a guest,
 * created when the first file binds to it, shared by every file bound to
 * it and kept while the guest lives; a guest object below is such a root
 * complex. Xen hands the server the
 * guest's accesses through one struct ioreq per vCPU in a shared page,
 * signalled on a per-vCPU event channel. The interrupt handler (ioreq.c)
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
 * Locking, outermost first:
 * - xpi.lock (mutex): the list of live guests and the watch.
 * - xpi_guest.mutex: the control path of one guest (register, BAR ranges,
 *   INTx, file release, teardown) and the hypercalls it makes.
 * - xpi_guest.lock (spinlock, taken in the event channel handler): what
 *   the request path reads (functions, BAR ranges, the dead flag) and the
 *   requests themselves (vCPU state, file queues, the shared page).
 * Fields read by the request path are written with both held. Each file
 * says at its top which of these it takes and which its callers hold.
 *
 * Only an auto-translated domain (Arm, x86 PVH) is supported: the shared
 * page is mapped into a page of unpopulated physical address space.
 */

#ifndef _XEN_PCI_IOREQ_XPI_H
#define _XEN_PCI_IOREQ_XPI_H

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/fault-inject.h>
#include <linux/hashtable.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <xen/page.h>
#include <xen/pci-ioreq.h>
#include <xen/xenbus.h>
#include <xen/interface/event_channel.h>
#include <xen/interface/hvm/dm_op.h>
#include <xen/interface/hvm/ioreq.h>

#include "helpers.h"

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
/*
 * A request id is a sequence number above the vCPU id; an invalidate
 * record's, the file's invalidate number above XPI_ID_INVALIDATE.
 */
#define XPI_ID_VCPU_BITS	8
#define XPI_ID_VCPU_MASK	(BIT_ULL(XPI_ID_VCPU_BITS) - 1)
#define XPI_ID_INVALIDATE	XPI_ID_VCPU_MASK
/* How often the reaper looks for dead guests */
#define XPI_REAP_INTERVAL	(2 * HZ)
/* ioeventfds per function, irqfds per guest */
#define XPI_MAX_IOEVENTFDS	64
#define XPI_MAX_IRQFDS		256
#define XPI_NO_SBDF		(~0U)

static_assert(order_base_2(XPI_MAX_VCPUS) <= XPI_ID_VCPU_BITS);
static_assert(XPI_MAX_VCPUS <= XPI_ID_INVALIDATE);
static_assert(XEN_PCI_IOREQ_BAR_ROM == PCI_ROM_RESOURCE);

/* The uapi is the same for 32-bit and 64-bit userspace: no compat layer. */
static_assert(sizeof(struct xen_pci_ioreq_layout) == 72);
static_assert(sizeof(struct xen_pci_ioreq_bind) == 80);
static_assert(sizeof(struct xen_pci_ioreq_info) == 96);
static_assert(sizeof(struct xen_pci_ioreq_function) == 16);
static_assert(sizeof(struct xen_pci_ioreq_mmio) == 48);
static_assert(sizeof(struct xen_pci_ioreq_intx) == 24);
static_assert(sizeof(struct xen_pci_ioreq_ioeventfd) == 56);
static_assert(sizeof(struct xen_pci_ioreq_irqfd) == 40);
static_assert(sizeof(struct xen_pci_ioreq_msi) == 40);
static_assert(sizeof(struct xen_pci_ioreq_request) == 56);
static_assert(sizeof(struct xen_pci_ioreq_response) == 24);

static inline bool xpi_ecam_mode(void)
{
	return XPI_MODE == XEN_PCI_IOREQ_MODE_ECAM;
}

/**
 * struct xpi_stats - counters of a guest, in debugfs
 * @config: configuration space requests
 * @mmio: BAR MMIO requests
 * @other: other requests (port I/O, Xen's own), answered in the kernel
 * @invalidate: Xen's requests to drop mappings of guest memory
 * @invalidate_completed: invalidate records completed by a backend
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
	u64 invalidate;
	u64 invalidate_completed;
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
	XPI_REQ_INVALIDATE,	/* an invalidate, waiting for the files */
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
 * @inval: while %XPI_REQ_INVALIDATE, the guest's invalidate number that
 *	every file bound with %XEN_PCI_IOREQ_BIND_INVALIDATE must complete
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
	u64 inval;
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
 * @page: the page the shared ioreq page is mapped into
 * @iopage: the shared ioreq page
 * @files: files bound to the guest, changed under @mutex and @lock
 * @fns: registered functions, by SBDF
 * @nr_fns: number of registered functions
 * @ranges: BAR ranges, sorted by start
 * @nr_ranges: number of BAR ranges
 * @intx_users: per INTx line, the functions asserting it, under @mutex
 * @intx_raised: assertions passed to Xen
 * @intx_resampled: lines raised again after a guest write to a function
 *	that still asserts them
 * @irqfds: irqfds of its functions (struct xpi_irqfd, irqfd.c), under
 *	@mutex
 * @nr_irqfds: their number
 * @irqfd_work: asserts the pins whose irqfds were signalled
 * @irqfd_signals: irqfd signals seen
 * @irqfd_asserted: pins asserted for them
 * @irqfd_cancelled: signals a deassertion overtook before they asserted,
 *	dropped because the irqfd has a resamplefd
 * @irqfd_resampled: deassertions signalled to a resamplefd
 * @irqfd_closed: irqfds that went with their eventfd
 * @irqfd_msi_sent: MSIs raised by the signals of MSI irqfds
 * @ioeventfd_work: frees the ioeventfds whose eventfd was closed
 * @ioeventfd_closed: ioeventfds that went with their eventfd
 * @msi_sent: MSIs raised
 * @msi_unsupported: MSIs refused: the root complex has no MSI
 * @msi_bad_address: MSIs refused: not written to the doorbell
 * @msi_bad_vector: MSIs refused: a vector the root complex does not have
 * @seq: sequence number of the next request id, under @lock
 * @inval_seq: number of the last invalidate, under @lock
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
	/**
	 * @mutex: the control path of the guest: its files, functions, BAR
	 * ranges, INTx lines and irqfds, its teardown, and the hypercalls
	 * they make. Taken after xpi.lock, before @lock.
	 */
	struct mutex mutex;
	/**
	 * @lock: the request path, taken in the event channel handler: the
	 * vCPUs' requests, the files' queues, the shared page, and what the
	 * handler reads (@dead, @fns, @ranges, each function's ioeventfds),
	 * which is written with @mutex held too. Innermost; IRQs off outside
	 * the handler.
	 */
	spinlock_t lock;
	bool dead;
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
	atomic64_t irqfd_resampled;
	atomic64_t irqfd_closed;
	atomic64_t irqfd_msi_sent;
	struct work_struct ioeventfd_work;
	atomic64_t ioeventfd_closed;
	atomic64_t msi_sent;
	atomic64_t msi_unsupported;
	atomic64_t msi_bad_address;
	atomic64_t msi_bad_vector;
	u64 seq;
	u64 inval_seq;
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
 * @ioeventfds: its ioeventfds (struct xpi_ioeventfd, ioeventfd.c), read
 *	by the request path
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
 * struct xpi_file - an open file of /dev/xen/pci-ioreq
 * @guest: the guest, once bound; never changes after
 * @node: entry in the guest's @files
 * @queue: requests not read yet, under the guest's lock
 * @fns: the functions it registered, under the guest's mutex
 * @wq: woken for new requests and when the guest dies
 * @release_server: %XEN_PCI_IOREQ_RELEASE_SERVER asked that the server go
 *	with this file if it is the last, under the guest's mutex
 * @invalidate: bound with %XEN_PCI_IOREQ_BIND_INVALIDATE
 * @inval_want: the guest's last invalidate this file must complete
 * @inval_sent: the last one it read (one record stands for all before)
 * @inval_done: the last one it completed
 * @inval_vcpu: the vCPU of @inval_want
 * @filp: its struct file, kept by an exiting task's last close
 * @exit_work: takes the functions away after the exiting task's other files
 * @exit_requeued: @exit_work was queued a second time
 *
 * The @inval_* fields are invalidate numbers of the guest, under its lock;
 * an invalidate record is pending while @inval_sent is below @inval_want.
 */
struct xpi_file {
	/** @bind_lock: serializes binding */
	struct mutex bind_lock;
	struct xpi_guest *guest;
	struct list_head node;
	struct list_head queue;
	struct list_head fns;
	wait_queue_head_t wq;
	bool release_server;
	bool invalidate;
	u64 inval_want;
	u64 inval_sent;
	u64 inval_done;
	u32 inval_vcpu;
	struct file *filp;
	struct callback_head exit_work;
	bool exit_requeued;
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
 * @release_delay_ms: testing: the next bound file that an exiting task
 *	releases waits that long once it has let go of its guest
 */
struct xpi_module {
	struct miscdevice misc;
	/**
	 * @lock: the list of live guests (@guests), the watch (@watching),
	 * and the creation and teardown of guests. Outermost: taken before
	 * any guest's mutex.
	 */
	struct mutex lock;
	struct list_head guests;
	struct dentry *debugfs;
	struct notifier_block xs_nb;
	struct xenbus_watch watch;
	bool watching;
	struct delayed_work reaper;
	u32 release_delay_ms;
};

struct eventfd_ctx;
struct file;

extern struct xpi_module xpi;

/* Where a BAR range lies with respect to the claimed memory windows. */
enum xpi_window {
	XPI_WINDOW_NONE,	/* outside all of them: a range of its own */
	XPI_WINDOW_INSIDE,	/* inside one: routed by the kernel alone */
	XPI_WINDOW_ACROSS,	/* across the edge of one: not a BAR */
};

/* xen.c: hypercalls, the ioreq page, event channels, the windows */
extern const struct xen_pci_ioreq_layout xpi_default_layout;
extern struct fault_attr xpi_fail_setup;
extern struct fault_attr xpi_fail_watch;
int xpi_dm_op(domid_t domid, struct xen_dm_op *op);
int xpi_xen_map(struct xpi_guest *g, u32 type, u64 start, u64 last);
int xpi_xen_unmap(struct xpi_guest *g, u32 type, u64 start, u64 last);
enum xpi_window xpi_window_of(struct xpi_guest *g, u64 start, u64 last);
unsigned int xpi_xen_bar_ranges_max(struct xpi_guest *g);
unsigned int xpi_xen_bar_ranges(struct xpi_guest *g);
int xpi_bar_map(struct xpi_guest *g, u64 start, u64 last);
void xpi_bar_unmap(struct xpi_guest *g, u64 start, u64 last);
int xpi_xen_destroy(struct xpi_guest *g);
bool xpi_xen_alive(struct xpi_guest *g);
int xpi_xen_irq(struct xpi_guest *g, u32 intid, u8 level);
int xpi_xen_intx(struct xpi_guest *g, u8 slot, u8 pin, u8 level);
void xpi_unbind_vcpus(struct xpi_guest *g);
void xpi_unmap_page(struct xpi_guest *g);
void xpi_answer_all(struct xpi_guest *g);
int xpi_xen_setup(struct xpi_guest *g);

/* ioreq.c: the request path */
void xpi_abort_one(struct xpi_guest *g, struct xpi_vcpu *v);
void xpi_abort(struct xpi_guest *g, struct xpi_file *f, struct xpi_fn *fn);
bool xpi_process(struct xpi_guest *g, struct xpi_vcpu *v);
bool xpi_inval_pending(struct xpi_file *f);
void xpi_inval_record(struct xpi_file *f, struct xen_pci_ioreq_request *rec);
void xpi_inval_check(struct xpi_guest *g);
irqreturn_t xpi_interrupt(int irq, void *dev_id);
int xpi_complete(struct xpi_guest *g, struct xpi_file *f,
		 const struct xen_pci_ioreq_response *r);

/* fn.c: functions and their BAR ranges */
struct xpi_fn *xpi_fn_lookup(struct xpi_guest *g, u32 sbdf);
struct xpi_fn *xpi_file_fn(struct xpi_guest *g, struct xpi_file *f,
			   const struct xen_pci_ioreq_function *ufn);
void xpi_fn_remove(struct xpi_guest *g, struct xpi_fn *fn);
int xpi_register(struct xpi_guest *g, struct xpi_file *f,
		 const struct xen_pci_ioreq_function *ufn);
int xpi_add_mmio(struct xpi_guest *g, struct xpi_file *f,
		 const struct xen_pci_ioreq_mmio *m);
int xpi_remove_mmio(struct xpi_guest *g, struct xpi_file *f,
		    const struct xen_pci_ioreq_mmio *m);

/* intx.c: INTx lines */
int xpi_set_intx(struct xpi_guest *g, struct xpi_fn *fn, u8 pin, u8 level);
void xpi_intx_resample(struct xpi_guest *g, u32 sbdf, u8 asserted);
int xpi_intx(struct xpi_guest *g, struct xpi_file *f,
	     const struct xen_pci_ioreq_intx *in);

/* msi.c: message-signalled interrupts */
int xpi_msi(struct xpi_guest *g, struct xpi_file *f,
	    const struct xen_pci_ioreq_msi *in);
/* The interrupt of a message, or its error (counted). */
int xpi_msi_check(struct xpi_guest *g, u64 address, u32 data, u32 *intid);

/* ioeventfd.c: writes completed in the kernel */
void xpi_ioeventfd_work(struct work_struct *work);
bool xpi_ioeventfd_signal(struct xpi_fn *fn, const struct ioreq *req);
void xpi_ioeventfd_drop(struct xpi_guest *g, struct xpi_fn *fn, u64 start,
			u64 last);
int xpi_ioeventfd_assign(struct xpi_guest *g, struct xpi_fn *fn,
			 struct file *file, struct eventfd_ctx *ctx,
			 const struct xen_pci_ioreq_ioeventfd *a);
int xpi_ioeventfd_deassign(struct xpi_guest *g, struct xpi_fn *fn,
			   struct eventfd_ctx *ctx,
			   const struct xen_pci_ioreq_ioeventfd *a);

/* irqfd.c: eventfds that assert INTx pins or raise MSIs */
void xpi_irqfd_work(struct work_struct *work);
void xpi_irqfd_resample(struct xpi_guest *g, struct xpi_fn *fn, u8 pin);
void xpi_irqfd_drop(struct xpi_guest *g, struct xpi_fn *fn);
int xpi_irqfd_assign(struct xpi_guest *g, struct xpi_fn *fn,
		     struct file *file, struct eventfd_ctx *ctx,
		     struct eventfd_ctx *resample, u8 pin, u32 msi_intid);
int xpi_irqfd_deassign(struct xpi_guest *g, struct xpi_fn *fn,
		       struct eventfd_ctx *ctx, u8 pin);

/* guest.c: guest lifetime */
int xpi_guest_attach(struct xpi_file *f, domid_t domid,
		     const struct xen_pci_ioreq_layout *l, bool invalidate);
void xpi_guest_detach(struct xpi_file *f);
int xpi_guest_range_taken(struct xpi_guest *g,
			  const struct xen_pci_ioreq_window *r);
void xpi_release_domain(struct xenbus_watch *watch, const char *path,
			const char *token);
void xpi_reap(struct work_struct *work);
int xpi_xenstore_ready(struct notifier_block *nb, unsigned long event,
		       void *data);

/* debugfs.c: counters */
void xpi_guest_debugfs(struct xpi_guest *g);

#endif /* _XEN_PCI_IOREQ_XPI_H */
