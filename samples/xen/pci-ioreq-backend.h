/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the /dev/xen/pci-ioreq backends of samples/xen/ share: messages,
 * opening the device for a guest, registering the function they serve,
 * their request buffers, the transports of a backend that can take its
 * requests from more than one source, signals as events of their loop,
 * access sizes and byte lanes, dword-organized register spaces, the type 0
 * header of an emulated function, option numbers and the options every
 * backend has.
 *
 * Each program defines PROG, its name, before it includes this header:
 * say() and the helpers here put it before their messages.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_BACKEND_H
#define _SAMPLES_XEN_PCI_IOREQ_BACKEND_H

#ifndef PROG
#error "define PROG, the program's name, before including pci-ioreq-backend.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <linux/pci.h>
#include <xen/pci-ioreq.h>

#define PCI_IOREQ_DEV_PATH	"/dev/xen/pci-ioreq"
#define PCI_IOREQ_MAX_BATCH	128	/* requests per read(), at most */

/* A message on stderr, after the program's name. */
static inline void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* A backend's binding to one guest, and its request and response buffers. */
struct pci_ioreq_backend {
	int fd;
	struct xen_pci_ioreq_info info;
	unsigned int batch;		/* records per read(): one per vCPU */
	struct xen_pci_ioreq_request *req;
	struct xen_pci_ioreq_response *rsp;
};

/*
 * Open /dev/xen/pci-ioreq (non-blocking), bind it to the root complex
 * @layout (NULL: the kernel's default, Xen's guest layout) of guest @domid,
 * fill be->info, register @fn and allocate the buffers. Returns 0, or -1
 * after saying why (pci_ioreq_backend_close() then releases what was set
 * up).
 */
static inline int
pci_ioreq_backend_open(struct pci_ioreq_backend *be, unsigned int domid,
		       const struct xen_pci_ioreq_layout *layout,
		       const struct xen_pci_ioreq_function *fn)
{
	/*
	 * The samples are the guest's PCI bus for the guest's whole life: the
	 * server stays when they exit, so that the guest reads absent
	 * functions (rather than faulting) and a backend can be restarted.
	 */
	struct xen_pci_ioreq_bind bind = {
		.domid = domid,
		.flags = XEN_PCI_IOREQ_BIND_KEEP,
	};

	if (layout) {
		bind.flags |= XEN_PCI_IOREQ_BIND_LAYOUT;
		bind.layout = *layout;
	}

	be->fd = open(PCI_IOREQ_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (be->fd < 0) {
		say("%s: %s%s\n", PCI_IOREQ_DEV_PATH, strerror(errno),
		    errno == ENOENT ? " (not dom0, or no CONFIG_XEN_PCI_IOREQ?)" :
		    errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
		return -1;
	}
	if (ioctl(be->fd, XEN_PCI_IOREQ_BIND, &bind)) {
		say("bind to domain %u: %s\n", domid,
		    errno == ESRCH ? "no such domain" :
		    errno == EBUSY && layout ?
		    "another root complex of the guest is in the way" :
		    strerror(errno));
		return -1;
	}
	if (ioctl(be->fd, XEN_PCI_IOREQ_GET_INFO, &be->info)) {
		say("XEN_PCI_IOREQ_GET_INFO: %s\n", strerror(errno));
		return -1;
	}
	/* Each vCPU waits for one request at a time. */
	be->batch = be->info.nr_vcpus < 1 ? 1 :
		    be->info.nr_vcpus > PCI_IOREQ_MAX_BATCH ?
		    PCI_IOREQ_MAX_BATCH : be->info.nr_vcpus;
	be->req = calloc(be->batch, sizeof(*be->req));
	be->rsp = calloc(be->batch, sizeof(*be->rsp));
	if (!be->req || !be->rsp) {
		say("out of memory\n");
		return -1;
	}
	if (ioctl(be->fd, XEN_PCI_IOREQ_REGISTER, fn)) {
		say("register %04x:%02x:%02x.%x: %s\n", fn->segment, fn->bus,
		    PCI_SLOT(fn->devfn), PCI_FUNC(fn->devfn),
		    errno == EBUSY ? "served by another backend" :
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Closing the file unregisters what is left; be->fd may be -1. */
static inline void pci_ioreq_backend_close(struct pci_ioreq_backend *be)
{
	if (be->fd >= 0)
		close(be->fd);
	be->fd = -1;
	free(be->req);
	free(be->rsp);
	be->req = NULL;
	be->rsp = NULL;
}

/*
 * A transport carries a backend's requests and responses, whoever owns the
 * guest's ioreq server: the kernel, through /dev/xen/pci-ioreq, or the
 * backend itself (pci-ioreq-xen.h). The backend sees the same records
 * either way. t->fd is readable when requests may be pending; recv()
 * fetches up to t->batch of them into t->req, and complete() answers them
 * from t->rsp, in any order, each exactly once.
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
 * Make @sigs events of the backend's loop rather than interruptions: block
 * them and return a signalfd (with @flags) that reports them, or -1 after
 * saying why.
 */
static inline int pci_ioreq_signalfd(const sigset_t *sigs, int flags)
{
	int sfd;

	if (sigprocmask(SIG_BLOCK, sigs, NULL)) {
		say("sigprocmask: %s\n", strerror(errno));
		return -1;
	}
	sfd = signalfd(-1, sigs, flags | SFD_CLOEXEC);
	if (sfd < 0)
		say("signalfd: %s\n", strerror(errno));
	return sfd;
}

/*
 * The signals of a backend's loop, SIGINT, SIGTERM and SIGHUP to stop it
 * and SIGUSR1 to print its counters: a non-blocking signalfd for them, or
 * -1 after saying why.
 */
static inline int pci_ioreq_loop_signalfd(void)
{
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	return pci_ioreq_signalfd(&sigs, SFD_NONBLOCK);
}

/* Access sizes a request may have. */
static inline bool pci_ioreq_valid_size(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* The bits of the answer to a read of @size bytes; all for a bad size. */
static inline __u64 pci_ioreq_size_mask(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 ? (1ULL << size * 8) - 1 :
						     ~0ULL;
}

/* The @size bytes at @p, little endian: the value of an access to memory. */
static inline __u64 pci_ioreq_mem_read(const __u8 *p, unsigned int size)
{
	__u64 val = 0;
	unsigned int i;

	for (i = 0; i < size; i++)
		val |= (__u64)p[i] << i * 8;
	return val;
}

/* Store the low @size bytes of @val at @p, little endian. */
static inline void pci_ioreq_mem_write(__u8 *p, unsigned int size, __u64 val)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		p[i] = val >> i * 8;
}

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

static inline __u64 pci_ioreq_dword_read(void *dev, pci_ioreq_read32_fn rd,
					 unsigned int off, unsigned int size)
{
	unsigned int i, cached = ~0U;
	__u32 dw = 0;
	__u64 val = 0;

	for (i = 0; i < size; i++) {
		unsigned int o = off + i;

		if ((o & ~3U) != cached) {
			cached = o & ~3U;
			dw = rd(dev, cached);
		}
		val |= (__u64)((dw >> (o & 3) * 8) & 0xff) << i * 8;
	}
	return val;
}

static inline void pci_ioreq_dword_write(void *dev, pci_ioreq_write32_fn wr,
					 unsigned int off, unsigned int size,
					 __u64 data)
{
	unsigned int i = 0;

	while (i < size) {
		unsigned int base = (off + i) & ~3U;
		__u32 val = 0, mask = 0;

		for (; i < size && ((off + i) & ~3U) == base; i++) {
			unsigned int shift = ((off + i) & 3) * 8;

			val |= (__u32)((data >> i * 8) & 0xff) << shift;
			mask |= 0xffU << shift;
		}
		wr(dev, base, val, mask);
	}
}

/* The bits of the Command register that an emulated function implements. */
#define PCI_IOREQ_CMD_WRITABLE	(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_INTX_DISABLE)

/*
 * The registers of a type 0 header that the emulated functions let the
 * guest write, and their memory BARs, which the guest sizes and places. The
 * function keeps the rest of its header itself (IDs, class, Status, header
 * type, capabilities, Interrupt Pin) and routes its BARs: mapped and
 * mapped_addr are for it.
 *
 * A BAR has a size that is a power of two, 16 bytes at least, and its
 * PCI_BASE_ADDRESS_MEM_* flags; a 64-bit BAR takes the next BAR's dword
 * for the upper half of its address (that BAR has size 0). Size 0: no BAR.
 */
struct pci_ioreq_bar {
	__u64 size;
	__u32 flags;
	__u64 addr;		/* as the guest programmed it */
	bool mapped;		/* a range is routed to the backend... */
	__u64 mapped_addr;	/* ...at this address */
};

struct pci_ioreq_header {
	__u16 command;		/* PCI_IOREQ_CMD_WRITABLE bits only */
	__u8 cache_line;
	__u8 latency;
	__u8 irq_line;
	struct pci_ioreq_bar bar[PCI_STD_NUM_BARS];
};

/*
 * The BAR whose address config dword @off (a BAR's) holds: its index, or -1
 * for none; *@upper: the dword is the upper half of a 64-bit BAR's.
 */
static inline int pci_ioreq_bar_of(const struct pci_ioreq_header *h,
				   unsigned int off, bool *upper)
{
	int i = (off - PCI_BASE_ADDRESS_0) / 4;

	*upper = !h->bar[i].size && i &&
		 (h->bar[i - 1].flags & PCI_BASE_ADDRESS_MEM_TYPE_64);
	i -= *upper;
	return h->bar[i].size ? i : -1;
}

/* Config dword @off, which is a BAR's. */
static inline __u32 pci_ioreq_bar_read(const struct pci_ioreq_header *h,
				       unsigned int off)
{
	bool upper;
	int i = pci_ioreq_bar_of(h, off, &upper);

	if (i < 0)
		return 0;
	return upper ? h->bar[i].addr >> 32 :
		       (__u32)h->bar[i].addr | h->bar[i].flags;
}

/*
 * Config dword @off as a write of the bytes @mask selects (0xff per byte
 * lane) leaves it, @new: take it if it holds registers of @h. A BAR keeps
 * the address bits above its size; those below read as its flags. Returns
 * true when the Command register or a BAR may have changed: the function
 * then follows them (its BAR ranges, its INTx).
 */
static inline bool pci_ioreq_header_write(struct pci_ioreq_header *h,
					  unsigned int off, __u32 new,
					  __u32 mask)
{
	struct pci_ioreq_bar *b;
	bool upper;
	int i;

	switch (off) {
	case PCI_COMMAND:
		if (!(mask & 0xffff))
			return false;
		h->command = new & PCI_IOREQ_CMD_WRITABLE;
		return true;
	case PCI_CACHE_LINE_SIZE:
		h->cache_line = new;
		h->latency = new >> 8;
		return false;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5:
		i = pci_ioreq_bar_of(h, off, &upper);
		if (i < 0)
			return false;
		b = &h->bar[i];
		if (upper)
			b->addr = (__u64)new << 32 | (__u32)b->addr;
		else
			b->addr = (b->addr & ~0xffffffffULL) | new;
		b->addr &= ~(b->size - 1);
		return true;
	case PCI_INTERRUPT_LINE:
		h->irq_line = new;
		return false;
	default:
		return false;
	}
}

/*
 * A number of an option, at most @max: decimal, 0x hex or 0 octal, with an
 * optional K, M or G suffix if @suffixes.
 */
static inline bool pci_ioreq_parse_uint(const char *s, unsigned long long max,
					bool suffixes, unsigned long long *val)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return false;
	if (suffixes)
		shift = *end == 'K' ? 10 : *end == 'M' ? 20 :
			*end == 'G' ? 30 : 0;
	if (shift)
		end++;
	if (*end || v > max >> shift)
		return false;
	*val = v << shift;
	return true;
}

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

#define PCI_IOREQ_LAYOUT_USAGE						\
	"  -L, --layout SPEC      the guest's root complex, when not at\n"	\
	"                         Xen's guest layout: comma-separated\n"	\
	"                         ecam=BASE:SIZE, mem=BASE:SIZE,\n"		\
	"                         pref=BASE:SIZE (0:0: none), intx=ID (GIC\n"	\
	"                         interrupt ID of the first INTx line); a\n"	\
	"                         key left out keeps Xen's value\n"

/* BASE:SIZE of a window, with K, M and G suffixes. */
static inline bool pci_ioreq_parse_window(const char *arg,
					  struct xen_pci_ioreq_window *w)
{
	const char *colon = strchr(arg, ':');
	unsigned long long base, size;
	char *base_arg;
	bool ok;

	if (!colon)
		return false;
	base_arg = strndup(arg, colon - arg);
	ok = base_arg &&
	     pci_ioreq_parse_uint(base_arg, ULLONG_MAX, true, &base) &&
	     pci_ioreq_parse_uint(colon + 1, ULLONG_MAX, true, &size);
	free(base_arg);
	if (ok) {
		w->base = base;
		w->size = size;
	}
	return ok;
}

/*
 * --layout SPEC into @l, which starts as PCI_IOREQ_DEFAULT_LAYOUT. Only the
 * syntax is checked here: the kernel, or the Xen transport, checks the
 * rest and says so.
 */
static inline bool pci_ioreq_parse_layout(const char *spec,
					  struct xen_pci_ioreq_layout *l)
{
	char *copy = strdup(spec), *save = NULL, *kv;
	unsigned long long intx;
	bool ok = !!copy;

	for (kv = copy ? strtok_r(copy, ",", &save) : NULL; ok && kv;
	     kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "ecam=", 5))
			ok = pci_ioreq_parse_window(kv + 5, &l->ecam);
		else if (!strncmp(kv, "mem=", 4))
			ok = pci_ioreq_parse_window(kv + 4, &l->mem[0]);
		else if (!strncmp(kv, "pref=", 5))
			ok = pci_ioreq_parse_window(kv + 5, &l->mem[1]);
		else if (!strncmp(kv, "intx=", 5) &&
			 pci_ioreq_parse_uint(kv + 5, 1019, false, &intx))
			l->intx_base = intx;
		else
			ok = false;
	}
	free(copy);
	return ok;
}

#define PCI_IOREQ_DOMID_FIRST_RESERVED	0x7ff0

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

#define PCI_IOREQ_TARGET_INIT						\
	{ .slot = 32, .layout = PCI_IOREQ_DEFAULT_LAYOUT }
#define PCI_IOREQ_TARGET_SHORTOPTS	"d:s:f:b:L:"
static const struct option pci_ioreq_target_longopts[] = {
	{ "domid", required_argument, NULL, 'd' },
	{ "slot", required_argument, NULL, 's' },
	{ "function", required_argument, NULL, 'f' },
	{ "bus", required_argument, NULL, 'b' },
	{ "layout", required_argument, NULL, 'L' },
};

#define PCI_IOREQ_TARGET_USAGE						\
	"  -d, --domid N          the guest (required)\n"		\
	"  -s, --slot S           guest device number 0-31 (required)\n"	\
	"  -f, --function F       guest function number 0-7 (default 0)\n"	\
	"  -b, --bus B            guest bus number 0-255 (default 0)\n"	\
	PCI_IOREQ_LAYOUT_USAGE

/*
 * Take option @opt with argument @arg if it is one of the target's.
 * Returns 1 if it was, 0 if it is not one of them, -1 after saying that
 * its argument is invalid.
 */
static inline int pci_ioreq_target_opt(struct pci_ioreq_target *t, int opt,
				       const char *arg)
{
	const char *bad;
	bool ok;

	switch (opt) {
	case 'd':
		bad = "domid";
		ok = pci_ioreq_parse_uint(arg, PCI_IOREQ_DOMID_FIRST_RESERVED - 1,
					  false, &t->domid) && t->domid;
		break;
	case 's':
		bad = "slot";
		ok = pci_ioreq_parse_uint(arg, 31, false, &t->slot);
		break;
	case 'f':
		bad = "function";
		ok = pci_ioreq_parse_uint(arg, 7, false, &t->func);
		break;
	case 'b':
		bad = "bus";
		ok = pci_ioreq_parse_uint(arg, 255, false, &t->bus);
		break;
	case 'L':
		bad = "layout";
		ok = pci_ioreq_parse_layout(arg, &t->layout);
		t->layout_given = true;
		break;
	default:
		return 0;
	}
	if (ok)
		return 1;
	say("invalid --%s: %s\n", bad, arg);
	return -1;
}

/*
 * getopt_long() for a backend: its own options (@own_short, @own, the
 * latter ended by a zero entry) and the target's, which it takes into @t
 * itself. Returns the next option of the backend's own, -1 at the end, or
 * '?' for an unknown option and after saying that an argument of the
 * target's is invalid: the backend's switch hands -v, -h and '?' to
 * pci_ioreq_common_opt().
 */
static inline int pci_ioreq_getopt(int argc, char **argv, const char *own_short,
				   const struct option *own,
				   struct pci_ioreq_target *t)
{
	static const size_t n = sizeof(pci_ioreq_target_longopts) /
				sizeof(pci_ioreq_target_longopts[0]);
	static struct option *all;
	static char *shorts;
	size_t m = 0, len;
	int opt;

	if (!all) {
		while (own[m].name)
			m++;
		all = calloc(n + m + 1, sizeof(*all));
		len = strlen(PCI_IOREQ_TARGET_SHORTOPTS) + strlen(own_short) + 1;
		shorts = malloc(len);
		if (!all || !shorts) {
			say("out of memory\n");
			return '?';
		}
		memcpy(all, pci_ioreq_target_longopts,
		       sizeof(pci_ioreq_target_longopts));
		memcpy(all + n, own, m * sizeof(*own));
		snprintf(shorts, len, "%s%s", PCI_IOREQ_TARGET_SHORTOPTS,
			 own_short);
	}
	while ((opt = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		switch (pci_ioreq_target_opt(t, opt, optarg)) {
		case 1:
			continue;
		case -1:
			return '?';
		}
		return opt;
	}
	return -1;
}

/*
 * The default case of a backend's option switch, for the options every
 * backend has: -v (--verbose) sets *@verbose; -h (--help) prints @usage on
 * stdout and exits with 0; anything else (an unknown option, an invalid
 * argument of the target's) prints it on stderr and exits with 2.
 */
static inline void pci_ioreq_common_opt(int opt, bool *verbose,
					void (*usage)(FILE *f))
{
	switch (opt) {
	case 'v':
		*verbose = true;
		return;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		exit(2);
	}
}

/* The argument of the backend's option --@name is invalid: exit with 2. */
static inline void pci_ioreq_bad_arg(const char *name)
{
	say("invalid --%s: %s\n", name, optarg);
	exit(2);
}

/* After the options: whether the target is whole; fills t->fn. */
static inline bool pci_ioreq_target_done(struct pci_ioreq_target *t)
{
	if (!t->domid || t->slot > 31)
		return false;
	t->fn.bus = t->bus;
	t->fn.devfn = PCI_DEVFN(t->slot, t->func);
	return true;
}

/* The layout to bind with: NULL for the kernel's default. */
static inline const struct xen_pci_ioreq_layout *
pci_ioreq_target_layout(const struct pci_ioreq_target *t)
{
	return t->layout_given ? &t->layout : NULL;
}

#endif /* _SAMPLES_XEN_PCI_IOREQ_BACKEND_H */
