/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The library of the /dev/xen/pci-ioreq backends of samples/xen/
 * (pci-ioreq-emu, pci-ioreq-virtio, pci-passthrough): its types and
 * functions, defined in
 *
 *   pci-ioreq-lib.c   messages, the /dev/xen/pci-ioreq transport (bind,
 *                     register, buffers, BAR ranges, INTx), signals;
 *   pci-ioreq-loop.c  the request loop: epoll, signals, idle check,
 *                     batches of requests and their responses;
 *   pci-ioreq-cfg.c   access sizes and byte lanes, dword register spaces,
 *                     the type 0 header of an emulated function, its BARs
 *                     and their ranges, serving config and BAR requests;
 *   pci-ioreq-opts.c  the options every backend has, and their parsing.
 *
 * A backend embeds a struct pci_ioreq_backend, fills its ops and the
 * header of its function, opens a transport and runs pci_ioreq_loop().
 * Each program sets pci_ioreq_prog, its name, which say() puts before its
 * messages.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_LIB_H
#define _SAMPLES_XEN_PCI_IOREQ_LIB_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <linux/pci.h>
#include <linux/types.h>
#include <xen/pci-ioreq.h>

#define PCI_IOREQ_DEV_PATH	"/dev/xen/pci-ioreq"
#define PCI_IOREQ_MAX_BATCH	128	/* requests per read(), at most */
#define PCI_IOREQ_CFG_SIZE	4096	/* ECAM space of one function */
#define PCI_IOREQ_MAX_FDS	12	/* extra fds of a backend's loop */

#define pci_ioreq_container_of(ptr, type, member)			\
	((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- messages (pci-ioreq-lib.c) ---- */

/* The program's name, before its messages: set first thing in main(). */
extern const char *pci_ioreq_prog;

/* A message on stderr, after the program's name. */
void say(const char *fmt, ...);

/* ---- transports (pci-ioreq-lib.c; pci-ioreq-xen.c) ---- */

/*
 * A transport carries a backend's requests and responses, whoever owns the
 * guest's ioreq server: the kernel, through /dev/xen/pci-ioreq
 * (pci_ioreq_kernel_open()), or the backend itself (pci-ioreq-xen.h). The
 * backend sees the same records either way. t->fd is readable when
 * requests may be pending; recv() fetches up to t->batch of them into
 * t->req, and complete() answers them from t->rsp, in any order, each
 * exactly once.
 *
 * The operations return 0 (recv() and complete(): a count) or -1 with
 * errno set, after saying what failed, except for what they leave to the
 * caller: ENODEV, the guest is gone, and for complete() EINVAL, the first
 * response was refused (and none completed). recv() returns 0 when
 * nothing is pending; complete() returns how many responses it took (at
 * least one), stopping before a refused one.
 */
struct pci_ioreq_transport;

struct pci_ioreq_transport_ops {
	int (*recv)(struct pci_ioreq_transport *t);
	int (*complete)(struct pci_ioreq_transport *t,
			const struct xen_pci_ioreq_response *rsp,
			unsigned int nr);
	/* Route a BAR's guest-physical range to the backend, or stop. */
	int (*add_mmio)(struct pci_ioreq_transport *t,
			const struct xen_pci_ioreq_mmio *mmio);
	int (*remove_mmio)(struct pci_ioreq_transport *t,
			   const struct xen_pci_ioreq_mmio *mmio);
	/* Set the level of an INTx pin of the function. */
	int (*set_intx)(struct pci_ioreq_transport *t,
			const struct xen_pci_ioreq_intx *intx);
	/*
	 * Optional: signal a message-signalled interrupt. Leaves EINVAL,
	 * ERANGE and EOPNOTSUPP (the message refused) to the caller.
	 */
	int (*msi)(struct pci_ioreq_transport *t,
		   const struct xen_pci_ioreq_msi *msi);
	/* If set: after t->idle_ms without events, is the guest still there? */
	int (*check)(struct pci_ioreq_transport *t);
	/* Stop serving, release everything (@gone: the guest is gone). */
	void (*close)(struct pci_ioreq_transport *t, bool gone);
};

struct pci_ioreq_transport {
	const struct pci_ioreq_transport_ops *ops;
	const char *name;		/* as --server names it */
	int fd;				/* readable: requests may be pending */
	int idle_ms;			/* for ops->check; -1: no check */
	struct xen_pci_ioreq_info info;
	unsigned int batch;		/* records per recv(), at most */
	struct xen_pci_ioreq_request *req;
	struct xen_pci_ioreq_response *rsp;
	/* A transport that decodes the guest's accesses itself counts: */
	bool decodes;
	unsigned long long answered;	/* accesses it answered, no request */
	unsigned long long resampled;	/* INTx raised again after a write */
};

/*
 * The kernel's ioreq server: open /dev/xen/pci-ioreq (non-blocking), bind
 * it to the root complex @layout (NULL: the kernel's default, Xen's guest
 * layout) of guest @domid with @flags (XEN_PCI_IOREQ_BIND_INVALIDATE for a
 * backend with an ops->invalidate),
 * register @fn and allocate the buffers. t->fd is the file, for the ioctls
 * a backend makes itself (ioeventfds, irqfds). Closing unregisters the
 * function. NULL after saying why not.
 */
struct pci_ioreq_transport *
pci_ioreq_kernel_open(unsigned int domid,
		      const struct xen_pci_ioreq_layout *layout,
		      const struct xen_pci_ioreq_function *fn, __u16 flags);

/*
 * Make @sigs events of the backend's loop rather than interruptions: block
 * them and return a signalfd (with @flags) that reports them, or -1 after
 * saying why.
 */
int pci_ioreq_signalfd(const sigset_t *sigs, int flags);

/*
 * The signals of a backend's loop, SIGINT, SIGTERM and SIGHUP to stop it
 * and SIGUSR1 to print its counters: a non-blocking signalfd for them, or
 * -1 after saying why.
 */
int pci_ioreq_loop_signalfd(void);

/* ---- access sizes, byte lanes, dword register spaces (pci-ioreq-cfg.c) */

/* Access sizes a request may have. */
bool pci_ioreq_valid_size(unsigned int size);

/* The bits of the answer to a read of @size bytes; all for a bad size. */
__u64 pci_ioreq_size_mask(unsigned int size);

/* The @size bytes at @p, little endian: the value of an access to memory. */
__u64 pci_ioreq_mem_read(const __u8 *p, unsigned int size);

/* Store the low @size bytes of @val at @p, little endian. */
void pci_ioreq_mem_write(__u8 *p, unsigned int size, __u64 val);

/*
 * Register spaces organized in dwords (config space, register BARs): the
 * device reads and writes whole dwords, @mask selecting the bytes of a
 * write (0xff per byte lane); accesses of 1 to 8 bytes at any offset are
 * made of them. Each dword is read once per access (a register may clear
 * on read).
 */
typedef __u32 (*pci_ioreq_read32_fn)(void *dev, unsigned int off);
typedef void (*pci_ioreq_write32_fn)(void *dev, unsigned int off, __u32 val,
				     __u32 mask);

__u64 pci_ioreq_dword_read(void *dev, pci_ioreq_read32_fn rd,
			   unsigned int off, unsigned int size);
void pci_ioreq_dword_write(void *dev, pci_ioreq_write32_fn wr,
			   unsigned int off, unsigned int size, __u64 data);

/* ---- the emulated function (pci-ioreq-cfg.c) ---- */

/* The bits of the Command register that an emulated function implements. */
#define PCI_IOREQ_CMD_WRITABLE	(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_INTX_DISABLE)

/*
 * The memory BARs of an emulated function, which the guest sizes and
 * places. A BAR has a size that is a power of two, 16 bytes at least, and
 * its PCI_BASE_ADDRESS_MEM_* flags; a 64-bit BAR takes the next BAR's dword
 * for the upper half of its address (that BAR has size 0). Size 0: no BAR.
 * A BAR with @mem is plain memory there; the others are registers, which
 * the backend's bar_read32() and bar_write32() serve.
 */
struct pci_ioreq_bar {
	__u64 size;
	__u32 flags;
	__u8 *mem;		/* memory-backed, or NULL: registers */
	__u64 addr;		/* as the guest programmed it */
	bool mapped;		/* a range is routed to the backend... */
	__u64 mapped_addr;	/* ...at this address */
};

/*
 * The type 0 header of an emulated function: what the guest writes
 * (Command, cache line size, latency timer, Interrupt Line, BARs) and the
 * identity the backend gives it. The backend's cfg_read32() adds the
 * Status register and what lies beyond the header (capabilities).
 */
struct pci_ioreq_header {
	__u16 command;		/* PCI_IOREQ_CMD_WRITABLE bits only */
	__u8 cache_line;
	__u8 latency;
	__u8 irq_line;
	struct pci_ioreq_bar bar[PCI_STD_NUM_BARS];

	__u16 vendor, device, subsys_vendor, subsys;
	__u32 class_rev;	/* class code << 8 | revision */
	__u8 header_type;	/* PCI_HEADER_TYPE_NORMAL, maybe | MFD */
	__u8 cap_list;		/* first capability, or 0 */
	__u8 pin;		/* Interrupt Pin: 1 (INTA) or 0 */
};

/* ---- the backend and its loop (pci-ioreq-loop.c) ---- */

struct pci_ioreq_backend;

struct pci_ioreq_backend_ops {
	/*
	 * Serve request @r: the value read in *@data. NULL: an emulated
	 * function, pci_ioreq_serve(). Returns false for a request that
	 * makes no sense, answered as by a master abort.
	 */
	bool (*request)(struct pci_ioreq_backend *be,
			const struct xen_pci_ioreq_request *r, __u64 *data);
	/* Config space and register BARs, by dword (dev: the backend). */
	pci_ioreq_read32_fn cfg_read32;
	pci_ioreq_write32_fn cfg_write32;
	pci_ioreq_read32_fn bar_read32;		/* BAR be->cur_bar */
	pci_ioreq_write32_fn bar_write32;
	/*
	 * Optional: serve a config access itself (a window onto a BAR);
	 * returns false to let cfg_read32() or cfg_write32() take it.
	 */
	bool (*cfg_access)(struct pci_ioreq_backend *be,
			   const struct xen_pci_ioreq_request *r, __u64 *data);
	/* Optional: the Command register or a BAR changed (INTx). */
	void (*header_changed)(struct pci_ioreq_backend *be);
	/* Optional: BAR ranges were routed or unrouted. */
	void (*bars_routed)(struct pci_ioreq_backend *be);
	/* Optional: say that request @r is bad; NULL: the library says it. */
	void (*bad)(const struct xen_pci_ioreq_request *r);
	/* Optional: --verbose, request @r answered with @data. */
	void (*trace)(const struct xen_pci_ioreq_request *r, __u64 data);
	/*
	 * Optional: the guest gave memory back (an invalidate record, for a
	 * file bound with XEN_PCI_IOREQ_BIND_INVALIDATE): drop every mapping
	 * of guest memory before the record is completed.
	 */
	void (*invalidate)(struct pci_ioreq_backend *be);
	/* Optional: after the responses of a batch went back. */
	void (*batch_done)(struct pci_ioreq_backend *be);
	/* Optional: extra fd @i (be->fds) is readable. */
	void (*fd_ready)(struct pci_ioreq_backend *be, unsigned int i);
	/* Optional: print the counters (SIGUSR1). */
	void (*stats)(struct pci_ioreq_backend *be);
};

struct pci_ioreq_stats {
	unsigned long long wakeups;	/* the transport's fd was readable */
	unsigned long long empty;	/* wakeups that found nothing */
	unsigned long long reads;	/* batches of requests received */
	unsigned long long requests;
	unsigned long long cfg_reads, cfg_writes, mmio_reads, mmio_writes;
	unsigned long long bad;		/* malformed requests, refused answers */
	unsigned long long invalidates;	/* invalidate records */
	unsigned long long maps, unmaps;	/* BAR ranges (un)routed */
};

struct pci_ioreq_backend {
	const struct pci_ioreq_backend_ops *ops;
	struct pci_ioreq_transport *t;
	struct xen_pci_ioreq_function fn;
	struct pci_ioreq_header hdr;
	bool verbose;
	bool quiet_bad;		/* count bad requests without a message */
	bool gone;		/* the guest went away */
	unsigned int cur_bar;	/* of the BAR access being served */
	int fds[PCI_IOREQ_MAX_FDS];	/* -1: a slot left unused */
	unsigned int nr_fds;
	struct pci_ioreq_stats st;
};

/* Outcome of serving requests. */
enum {
	PCI_IOREQ_OK,		/* stopped by a signal */
	PCI_IOREQ_GONE,		/* the guest went away */
	PCI_IOREQ_ERROR,
};

/*
 * Serve @be from its transport until a signal of @sfd other than SIGUSR1
 * (which calls ops->stats), until the guest is gone, or an error.
 * Returns PCI_IOREQ_*; says "domain N is gone" for PCI_IOREQ_GONE.
 */
int pci_ioreq_loop(struct pci_ioreq_backend *be, int sfd);

/*
 * Complete the first @nr responses of be->t->rsp; a response the
 * transport refuses is counted bad and skipped. Returns PCI_IOREQ_*.
 */
int pci_ioreq_complete(struct pci_ioreq_backend *be, unsigned int nr);

/* A transport operation failed, and said why unless the guest is gone. */
void pci_ioreq_failed(struct pci_ioreq_backend *be);

/* ---- the emulated function's config space and BARs (pci-ioreq-cfg.c) */

/*
 * Config dword @off of the type 0 header of be->hdr, with @status in the
 * Status register; 0 beyond the header and for what it does not hold.
 */
__u32 pci_ioreq_header_read(struct pci_ioreq_backend *be, unsigned int off,
			    __u16 status);

/*
 * The guest writes @val under @mask to config dword @off, which reads
 * @cur: take what the header holds, follow a changed Command register or
 * BAR (BAR ranges, then ops->header_changed). Returns the dword written.
 */
__u32 pci_ioreq_header_write(struct pci_ioreq_backend *be, unsigned int off,
			     __u32 cur, __u32 val, __u32 mask);

/*
 * Route each BAR to the backend while the guest has memory decoding on and
 * the BAR at an address; follow the guest when it moves a BAR or turns
 * decoding off; then ops->bars_routed.
 */
void pci_ioreq_update_bars(struct pci_ioreq_backend *be);

/* Unroute every BAR (at exit: not counted). */
void pci_ioreq_unroute_bars(struct pci_ioreq_backend *be);

/* Set INTx pin hdr.pin of the function to @level; -1 if that failed. */
int pci_ioreq_set_intx(struct pci_ioreq_backend *be, bool level);

/*
 * Signal the message @data to @address of the function; -1 if that failed
 * (errno EOPNOTSUPP: the transport or the root complex has no MSI).
 */
int pci_ioreq_msi(struct pci_ioreq_backend *be, __u64 address, __u32 data);

/*
 * Serve a config or BAR request of an emulated function through ops;
 * *@data: the value read. False for a request that makes no sense.
 */
bool pci_ioreq_serve(struct pci_ioreq_backend *be,
		     const struct xen_pci_ioreq_request *r, __u64 *data);

/* ---- options (pci-ioreq-opts.c) ---- */

/*
 * A number of an option, at most @max: decimal, 0x hex or 0 octal, with an
 * optional K, M or G suffix if @suffixes.
 */
bool pci_ioreq_parse_uint(const char *s, unsigned long long max,
			  bool suffixes, unsigned long long *val);

/*
 * What every backend is told: the guest, its root complex, and the
 * function it serves there. Options -d, -s, -f, -b and -L.
 */
struct pci_ioreq_target {
	unsigned long long domid;
	unsigned long long slot, func, bus;
	struct xen_pci_ioreq_layout layout;
	bool layout_given;
	struct xen_pci_ioreq_function fn;	/* once complete */
};

/*
 * Where the kernel puts a guest's root complex when a backend names none:
 * the layout Xen's toolstack gives an Arm guest (include/uapi/xen/
 * pci-ioreq.h).
 */
#define PCI_IOREQ_DEFAULT_LAYOUT {					\
	.ecam = { 0x10000000ULL, 0x10000000ULL },			\
	.mem = { { 0x23000000ULL, 0x10000000ULL },			\
		 { 0x100000000ULL, 0x100000000ULL } },			\
	.intx_base = 44,						\
}

#define PCI_IOREQ_TARGET_INIT						\
	{ .slot = 32, .layout = PCI_IOREQ_DEFAULT_LAYOUT }

#define PCI_IOREQ_LAYOUT_USAGE						\
	"  -L, --layout SPEC      the guest's root complex, when not at\n"	\
	"                         Xen's guest layout: comma-separated\n"	\
	"                         ecam=BASE:SIZE, mem=BASE:SIZE,\n"		\
	"                         pref=BASE:SIZE (0:0: none), intx=ID (GIC\n"	\
	"                         interrupt ID of the first INTx line),\n"	\
	"                         msi=ID:COUNT (MSI vectors from GIC\n"	\
	"                         interrupt ID ID), doorbell=ADDR (of\n"	\
	"                         MSI); a key left out keeps Xen's value\n"

#define PCI_IOREQ_TARGET_USAGE						\
	"  -d, --domid N          the guest (required)\n"		\
	"  -s, --slot S           guest device number 0-31 (required)\n"	\
	"  -f, --function F       guest function number 0-7 (default 0)\n"	\
	"  -b, --bus B            guest bus number 0-255 (default 0)\n"	\
	PCI_IOREQ_LAYOUT_USAGE

/*
 * getopt_long() for a backend: its own options (@own_short, @own, the
 * latter ended by a zero entry) and the target's, which it takes into @t
 * itself. Returns the next option of the backend's own, -1 at the end, or
 * '?' for an unknown option and after saying that an argument of the
 * target's is invalid: the backend's switch hands -v, -h and '?' to
 * pci_ioreq_common_opt().
 */
int pci_ioreq_getopt(int argc, char **argv, const char *own_short,
		     const struct option *own, struct pci_ioreq_target *t);

/*
 * The default case of a backend's option switch, for the options every
 * backend has: -v (--verbose) sets *@verbose; -h (--help) prints @usage on
 * stdout and exits with 0; anything else (an unknown option, an invalid
 * argument of the target's) prints it on stderr and exits with 2.
 */
void pci_ioreq_common_opt(int opt, bool *verbose, void (*usage)(FILE *f));

/* The argument of the backend's option --@name is invalid: exit with 2. */
void pci_ioreq_bad_arg(const char *name);

/* After the options: whether the target is whole; fills t->fn. */
bool pci_ioreq_target_done(struct pci_ioreq_target *t);

/* The layout to bind with: NULL for the kernel's default. */
const struct xen_pci_ioreq_layout *
pci_ioreq_target_layout(const struct pci_ioreq_target *t);

#endif /* _SAMPLES_XEN_PCI_IOREQ_LIB_H */
