// SPDX-License-Identifier: GPL-2.0
/*
 * pci-ioreq-emu: emulate one PCI function of a Xen guest from dom0
 * userspace, through /dev/xen/pci-ioreq or through an ioreq server of its
 * own. Built on the backends' library (pci-ioreq-lib.h), which holds the
 * request loop, the type 0 header and the /dev/xen/pci-ioreq transport;
 * this file holds the device.
 *
 * The function is the small test device described in pci-ioreq-emu.h: a
 * type 0 header, a 256-byte register BAR, a 64-bit prefetchable BAR backed
 * by memory and an INTx line raised by a doorbell register; where the
 * guest's root complex has MSI (--layout msi=) and --intx is not given,
 * also an MSI-X capability whose vectors a register signals
 * (pci-ioreq-msix.c). The backend
 * serves the guest's config space and BAR accesses from an epoll loop,
 * several requests per wakeup when several vCPUs wait. When the guest
 * enables memory decoding or moves a BAR, the BAR's guest-physical range
 * is routed to the backend (and unrouted when the BAR moves or decoding
 * goes off).
 *
 * The device (config space, BARs, registers) takes the guest's accesses as
 * struct xen_pci_ioreq_request records and answers them with struct
 * xen_pci_ioreq_response records, whichever transport (struct
 * pci_ioreq_transport, pci-ioreq-lib.h) carries them; --server chooses
 * it, so that the two can be measured against each other:
 *
 *   kernel  (the default) /dev/xen/pci-ioreq: the kernel owns the guest's
 *           ioreq server, decodes the guest's config accesses and routes
 *           those to this function here; the backend binds to the guest and
 *           registers the function, BAR ranges are XEN_PCI_IOREQ_ADD_MMIO
 *           and XEN_PCI_IOREQ_REMOVE_MMIO, INTx is XEN_PCI_IOREQ_SET_INTX.
 *   xen     an ioreq server of the backend's own, run as QEMU's xenpvh
 *           machine runs one (pci-ioreq-xen.c): the backend claims the
 *           ECAM window and the memory windows of an Arm guest (--layout)
 *           whole, decodes them itself and answers accesses to other
 *           functions, and to window addresses outside its BARs, as
 *           absent. No other server may claim those windows, and once the
 *           backend is gone the guest's accesses there find nobody to
 *           answer them.
 *
 * Usage:
 *	pci-ioreq-emu --domid N --slot S [--function F] [--bus B]
 *		      [--bar2-size BYTES] [--multifunction] [--crash-register]
 *		      [--server kernel|xen] [--layout SPEC] [--verbose]
 *
 * --layout names the guest's root complex when it is not where Xen's
 * toolstack puts it (a partial device tree may put it elsewhere): the
 * kernel serves that one, or with --server xen this process claims its ECAM
 * and memory windows and raises its INTx lines.
 *
 * Start it while the guest is paused (xl create -p; then xl unpause once
 * the backend printed its "serving" line, which names the server). It runs
 * until SIGTERM, SIGINT or SIGHUP, or until the guest goes away (with
 * --server xen, checked each second the backend is idle); SIGUSR1 prints
 * the counters. The counters are printed at exit too: requests served,
 * backend wakeups and records per wakeup, and with --server xen the
 * accesses the transport answered itself and the INTx assertions it
 * repeated after a write. Exit status: 0 on a signal or when the guest is
 * gone, 1 on an error, 2 on a usage error; a backend killed through the
 * crash register dies of SIGKILL (with --server xen, its ioreq server then
 * stays until the guest is destroyed).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pci-ioreq-lib.h"
#include "pci-ioreq-emu.h"
#include "pci-ioreq-msix.h"
#include "pci-ioreq-xen.h"

#define BAR2_SIZE_MIN		16ULL	/* smallest memory BAR (PCI) */
#define BAR2_SIZE_MAX		0x40000000ULL	/* 1 GiB */
#define IDLE_CHECK_MS		1000	/* --server xen: is the guest there? */

#define BAR2_FLAGS		(PCI_BASE_ADDRESS_SPACE_MEMORY | \
				 PCI_BASE_ADDRESS_MEM_TYPE_64 | \
				 PCI_BASE_ADDRESS_MEM_PREFETCH)
#define INTX_PIN		1	/* INTA */

struct emu {
	struct pci_ioreq_backend be;
	bool crash_enabled;

	/* BAR 0 */
	__u32 scratch;
	__u64 scratch64;
	bool irq_pending;
	bool intx_level;
	__u32 irq_count;

	struct pci_ioreq_msix msix;	/* BAR 1, with --layout msi= */
	unsigned long long intx;	/* INTx level changes */
};

static struct emu *to_emu(void *dev)
{
	return pci_ioreq_container_of(dev, struct emu, be);
}

/* ---- INTx ---- */

/* INTx while MSI-X is off (an MSI-X function drives no INTx) */
static void update_intx(struct emu *e)
{
	bool level = e->irq_pending &&
		     !(e->be.hdr.command & PCI_COMMAND_INTX_DISABLE) &&
		     !pci_ioreq_msix_enabled(&e->msix);

	if (level == e->intx_level || e->be.gone)
		return;
	if (pci_ioreq_set_intx(&e->be, level))
		return;
	e->intx_level = level;
	e->intx++;
}

static void header_changed(struct pci_ioreq_backend *be)
{
	struct emu *e = to_emu(be);

	update_intx(e);
	/* Bus Master Enable holds or lets go of the MSI-X messages */
	pci_ioreq_msix_update(be, &e->msix);
}

/* ---- config space ---- */

/*
 * Reads have no side effects: callers may read a dword more than once. The
 * Interrupt Status bit is INTx's, clear while MSI-X is on.
 */
static __u32 cfg_read32(void *dev, unsigned int off)
{
	struct emu *e = to_emu(dev);
	__u16 status = e->msix.nr ? PCI_STATUS_CAP_LIST : 0;

	if (e->irq_pending && !pci_ioreq_msix_enabled(&e->msix))
		status |= PCI_STATUS_INTERRUPT;
	if (e->msix.nr && off >= EMU_CAP_MSIX &&
	    off < EMU_CAP_MSIX + PCI_IOREQ_MSIX_CAP_LEN)
		return pci_ioreq_msix_cap_read(&e->msix,
					       (off - EMU_CAP_MSIX) / 4, 0);
	return pci_ioreq_header_read(&e->be, off, status);
}

/*
 * Only the Command register, the cache line size, the latency timer, the
 * Interrupt Line, the BARs and MSI-X's Message Control hold writable bits;
 * the Status register has no error bits to clear.
 */
static void cfg_write32(void *dev, unsigned int off, __u32 val, __u32 mask)
{
	struct emu *e = to_emu(dev);

	if (e->msix.nr && off == EMU_CAP_MSIX) {
		pci_ioreq_msix_cap_write(&e->be, &e->msix, 0, val, mask);
		/* INTx is off while MSI-X is on, and back when it goes */
		update_intx(e);
		return;
	}
	pci_ioreq_header_write(&e->be, off, cfg_read32(e, off), val, mask);
}

/* ---- BAR 0 registers, BAR 1 (the MSI-X table and PBA) ---- */

static __u32 reg_read32(void *dev, unsigned int off)
{
	struct emu *e = to_emu(dev);
	const struct pci_ioreq_stats *s = &e->be.st;
	__u32 val;

	if (e->be.cur_bar == 1)
		return pci_ioreq_msix_bar_read32(&e->msix, off, &val) ? val : 0;
	switch (off) {
	case EMU_REG_MAGIC:
		return EMU_MAGIC;
	case EMU_REG_VERSION:
		return EMU_VERSION;
	case EMU_REG_FEATURES:
		return (e->crash_enabled ? EMU_FEAT_CRASH : 0) |
		       (e->msix.nr ? EMU_FEAT_MSIX : 0);
	case EMU_REG_BDF:
		return e->be.fn.bus << 8 | e->be.fn.devfn;
	case EMU_REG_SCRATCH:
		return e->scratch;
	case EMU_REG_IRQ_STATUS:
		return e->irq_pending ? EMU_IRQ_PENDING : 0;
	case EMU_REG_IRQ_COUNT:
		return e->irq_count;
	case EMU_REG_MMIO_COUNT:
		return s->mmio_reads + s->mmio_writes;
	case EMU_REG_CONFIG_COUNT:
		return s->cfg_reads + s->cfg_writes;
	case EMU_REG_BAR2_SIZE_LO:
		return e->be.hdr.bar[2].size;
	case EMU_REG_BAR2_SIZE_HI:
		return e->be.hdr.bar[2].size >> 32;
	case EMU_REG_SCRATCH64:
		return e->scratch64;
	case EMU_REG_SCRATCH64 + 4:
		return e->scratch64 >> 32;
	case EMU_REG_MSIX_SENT:
		return e->msix.st.sent;
	case EMU_REG_MSIX_PENDED:
		return e->msix.st.pended;
	case EMU_REG_MSIX_RELEASED:
		return e->msix.st.released;
	case EMU_REG_MSIX_REFUSED:
		return e->msix.st.refused;
	default:
		return 0;
	}
}

static void reg_write32(void *dev, unsigned int off, __u32 val, __u32 mask)
{
	struct emu *e = to_emu(dev);

	if (e->be.cur_bar == 1) {
		pci_ioreq_msix_bar_write32(&e->be, &e->msix, off, val, mask);
		return;
	}
	switch (off) {
	case EMU_REG_SCRATCH:
		e->scratch = (e->scratch & ~mask) | (val & mask);
		break;
	case EMU_REG_DOORBELL:
		e->irq_pending = true;
		e->irq_count++;
		update_intx(e);
		break;
	case EMU_REG_IRQ_STATUS:
		if (val & mask & EMU_IRQ_PENDING) {
			e->irq_pending = false;
			update_intx(e);
		}
		break;
	case EMU_REG_SCRATCH64:
		e->scratch64 = (e->scratch64 & ~(__u64)mask) | (val & mask);
		break;
	case EMU_REG_SCRATCH64 + 4:
		e->scratch64 = (e->scratch64 & ~((__u64)mask << 32)) |
			       (__u64)(val & mask) << 32;
		break;
	case EMU_REG_MSIX_SIGNAL:
		/* counted: no vector, pended, sent or refused */
		if (mask == ~0U && !e->be.gone)
			pci_ioreq_msix_signal(&e->be, &e->msix, val);
		break;
	}
}

/* ---- requests ---- */

/* A 32-bit write of the key to the crash register, when it is armed. */
static bool is_crash(struct emu *e, const struct xen_pci_ioreq_request *r)
{
	const struct pci_ioreq_bar *b = &e->be.hdr.bar[0];

	return e->crash_enabled && r->kind == XEN_PCI_IOREQ_KIND_MMIO &&
	       r->dir == XEN_PCI_IOREQ_DIR_WRITE && r->bar == 0 &&
	       b->mapped && r->size == 4 &&
	       r->addr == b->mapped_addr + EMU_REG_CRASH &&
	       (__u32)r->data == EMU_CRASH_KEY;
}

static bool emu_request(struct pci_ioreq_backend *be,
			const struct xen_pci_ioreq_request *r, __u64 *data)
{
	struct emu *e = to_emu(be);

	if (is_crash(e, r)) {
		/* Complete the others, then die with this one open. */
		pci_ioreq_complete(be, r - be->t->req);
		say("crash register written by vCPU %u: ", r->vcpu);
		fprintf(stderr, "dying with request %llu open\n",
			(unsigned long long)r->id);
		fflush(NULL);
		kill(getpid(), SIGKILL);
		pause();
	}
	return pci_ioreq_serve(be, r, data);
}

static void trace(const struct xen_pci_ioreq_request *r, __u64 data)
{
	bool rd = r->dir == XEN_PCI_IOREQ_DIR_READ;

	say("#%llu vcpu %u %s %s bar %u %#llx/%u %s %#llx\n",
	    (unsigned long long)r->id, r->vcpu,
	    r->kind == XEN_PCI_IOREQ_KIND_CONFIG ? "cfg" : "mmio",
	    rd ? "read" : "write", r->bar, (unsigned long long)r->addr,
	    r->size, rd ? "->" : "<-",
	    (unsigned long long)(rd ? data : r->data));
}

/* ---- the backend ---- */

static void print_stats(struct pci_ioreq_backend *be)
{
	const struct pci_ioreq_stats *s = &be->st;
	const struct xen_pci_ioreq_function *fn = &be->fn;
	double wakeups = s->wakeups ? s->wakeups : 1;
	double requests = s->requests ? s->requests : 1;

	/* One line, for the test bed to quote. */
	printf("%s: stats %04x:%02x:%02x.%x dom%u: requests %llu",
	       pci_ioreq_prog, fn->segment, fn->bus, PCI_SLOT(fn->devfn),
	       PCI_FUNC(fn->devfn), be->t->info.domid, s->requests);
	printf(" (config %llu read %llu write, mmio %llu read %llu write)",
	       s->cfg_reads, s->cfg_writes, s->mmio_reads, s->mmio_writes);
	printf(" wakeups %llu (empty %llu) reads %llu", s->wakeups, s->empty,
	       s->reads);
	printf(" records/wakeup %.3f wakeups/request %.3f",
	       s->requests / wakeups, s->wakeups / requests);
	printf(" intx %llu maps %llu unmaps %llu bad %llu", to_emu(be)->intx,
	       s->maps, s->unmaps, s->bad);
	pci_ioreq_msix_stats(&to_emu(be)->msix);
	printf(" server %s", be->t->name);
	if (be->t->decodes)
		printf(" answered %llu resampled %llu", be->t->answered,
		       be->t->resampled);
	printf("\n");
	fflush(stdout);
}

/*
 * Leave nothing behind: the guest may go on and rescan. The transport's
 * close() then unregisters the function or destroys the ioreq server.
 */
static void teardown(struct emu *e)
{
	if (!e->be.gone) {
		e->irq_pending = false;
		update_intx(e);
	}
	pci_ioreq_unroute_bars(&e->be);
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: %s --domid N --slot S [options]\n"
		"Emulate a PCI test device (%04x:%04x) for Xen guest N at\n"
		"0000:BB:SS.F, through " PCI_IOREQ_DEV_PATH " or an ioreq server\n"
		"of its own.\n"
		PCI_IOREQ_TARGET_USAGE
		"  -m, --bar2-size BYTES  size of BAR 2, a power of two from 16\n"
		"                         to 1G; K, M and G suffixes (default 64K)\n"
		"  -M, --multifunction    set the multi-function bit of the header\n"
		"  -c, --crash-register   let the guest kill the backend through\n"
		"                         the crash register (tests only)\n"
		"  -I, --intx             no MSI-X capability, even where the\n"
		"                         root complex has MSI (--layout msi=)\n"
		"  -S, --server OWNER     who owns the guest's ioreq server: kernel\n"
		"                         (through " PCI_IOREQ_DEV_PATH ", the\n"
		"                         default) or xen (this process, as QEMU\n"
		"                         runs one; Arm guests)\n"
		"  -v, --verbose          trace every request on stderr\n"
		"  -h, --help             this help\n",
		pci_ioreq_prog, EMU_VENDOR_ID, EMU_DEVICE_ID);
}

static const struct pci_ioreq_backend_ops emu_ops = {
	.request = emu_request,
	.cfg_read32 = cfg_read32,
	.cfg_write32 = cfg_write32,
	.bar_read32 = reg_read32,
	.bar_write32 = reg_write32,
	.header_changed = header_changed,
	.trace = trace,
	.stats = print_stats,
};

/* The function's header: its identity and its BARs. */
static void init_header(struct pci_ioreq_header *h, bool multifunction,
			__u64 bar2_size, __u8 *bar2_mem, bool msix)
{
	h->vendor = EMU_VENDOR_ID;
	h->device = EMU_DEVICE_ID;
	h->subsys_vendor = EMU_SUBSYS_VENDOR_ID;
	h->subsys = EMU_SUBSYS_ID;
	h->class_rev = EMU_REVISION | EMU_CLASS << 8;
	h->header_type = multifunction ? PCI_HEADER_TYPE_MFD :
					 PCI_HEADER_TYPE_NORMAL;
	h->pin = INTX_PIN;
	h->bar[0].size = EMU_BAR0_SIZE;
	h->bar[0].flags = PCI_BASE_ADDRESS_SPACE_MEMORY |
			  PCI_BASE_ADDRESS_MEM_TYPE_32;
	h->bar[2].size = bar2_size;
	h->bar[2].flags = BAR2_FLAGS;
	h->bar[2].mem = bar2_mem;
	if (msix) {
		h->cap_list = EMU_CAP_MSIX;
		h->bar[1].size = EMU_BAR1_SIZE;
		h->bar[1].flags = PCI_BASE_ADDRESS_SPACE_MEMORY |
				  PCI_BASE_ADDRESS_MEM_TYPE_32;
	}
}

int main(int argc, char **argv)
{
	static const struct option own_opts[] = {
		{ "bar2-size", required_argument, NULL, 'm' },
		{ "multifunction", no_argument, NULL, 'M' },
		{ "crash-register", no_argument, NULL, 'c' },
		{ "intx", no_argument, NULL, 'I' },
		{ "server", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct pci_ioreq_target tgt = PCI_IOREQ_TARGET_INIT;
	unsigned long long bar2_size = EMU_BAR2_SIZE_DEFAULT;
	bool server_xen = false, multifunction = false, intx = false;
	struct emu e = { .be.ops = &emu_ops };
	struct pci_ioreq_transport *t;
	int opt, sfd, ret;
	__u8 *mem;

	pci_ioreq_prog = "pci-ioreq-emu";
	while ((opt = pci_ioreq_getopt(argc, argv, "m:McIS:vh", own_opts,
				       &tgt)) != -1) {
		switch (opt) {
		case 'm':
			if (!pci_ioreq_parse_uint(optarg, BAR2_SIZE_MAX, true,
						  &bar2_size) ||
			    bar2_size < BAR2_SIZE_MIN ||
			    (bar2_size & (bar2_size - 1)))
				pci_ioreq_bad_arg("bar2-size");
			break;
		case 'M':
			multifunction = true;
			break;
		case 'c':
			e.crash_enabled = true;
			break;
		case 'I':
			intx = true;
			break;
		case 'S':
			if (!strcmp(optarg, "kernel"))
				server_xen = false;
			else if (!strcmp(optarg, "xen"))
				server_xen = true;
			else
				pci_ioreq_bad_arg("server (want kernel or xen)");
			break;
		default:
			pci_ioreq_common_opt(opt, &e.be.verbose, print_usage);
			break;
		}
	}
	if (optind != argc || !pci_ioreq_target_done(&tgt)) {
		print_usage(stderr);
		return 2;
	}

	e.be.fn = tgt.fn;
	mem = mmap(NULL, bar2_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		say("BAR 2 memory: %s\n", strerror(errno));
		return 1;
	}
	/* MSI-X where the guest's root complex has MSI (--layout msi=) */
	init_header(&e.be.hdr, multifunction, bar2_size, mem,
		    tgt.layout.msi_count > 0 && !intx);
	if (tgt.layout.msi_count && !intx)
		pci_ioreq_msix_init(&e.msix, EMU_MSIX_VECTORS, 1, 0,
				    EMU_MSIX_PBA_OFF);

	sfd = pci_ioreq_loop_signalfd();
	if (sfd < 0)
		return 1;

	if (server_xen)
		t = pci_ioreq_xen_open(tgt.domid, &e.be.fn, &tgt.layout,
				       IDLE_CHECK_MS);
	else
		t = pci_ioreq_kernel_open(tgt.domid,
					  pci_ioreq_target_layout(&tgt),
					  &e.be.fn, 0);
	if (!t) {
		ret = PCI_IOREQ_ERROR;
		goto out;
	}
	e.be.t = t;
	/* The test bed waits for this line before it unpauses the guest. */
	printf("%s: serving %04x:%02x:%02x.%x of domain %u", pci_ioreq_prog,
	       e.be.fn.segment, e.be.fn.bus, PCI_SLOT(e.be.fn.devfn),
	       PCI_FUNC(e.be.fn.devfn), t->info.domid);
	printf(" (%u vCPUs, %s mode, server %s): BAR0 %u bytes, BAR2 %llu bytes%s",
	       t->info.nr_vcpus,
	       t->info.mode == XEN_PCI_IOREQ_MODE_ECAM ? "ECAM" : "PCI",
	       t->name, EMU_BAR0_SIZE, bar2_size,
	       e.crash_enabled ? ", crash register armed" : "");
	if (e.msix.nr)
		printf(", MSI-X %u vectors", e.msix.nr);
	printf("\n");
	fflush(stdout);

	ret = pci_ioreq_loop(&e.be, sfd);
	teardown(&e);
	print_stats(&e.be);
	t->ops->close(t, e.be.gone);
out:
	close(sfd);
	munmap(mem, bar2_size);
	return ret == PCI_IOREQ_ERROR ? 1 : 0;
}
