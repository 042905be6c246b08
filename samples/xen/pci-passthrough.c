// SPDX-License-Identifier: GPL-2.0
/*
 * pci-passthrough: hand a PCI device of dom0 to an arm64 Xen guest, through
 * /dev/xen/pci-ioreq and libxenctrl. Built on the backends' library
 * (pci-ioreq-lib.h: the transport, the request loop, the options); this
 * file holds the guest's filtered view of the device and the mapping of
 * its BARs, pci-passthrough-host.c the host device and its checks.
 *
 * Upstream Xen cannot assign PCI devices to Arm guests (its vPCI is for dom0
 * only there), but dom0 serves the guest's virtual root complex through
 * /dev/xen/pci-ioreq. This backend registers one function of that root
 * complex and answers its config space from the real device, through the
 * device's sysfs config file, filtered:
 *
 * - IDs, class, revision, subsystem IDs and the capabilities read through;
 *   of the capability list only power management, PCI Express and
 *   vendor-specific capabilities are linked in, read-only, and with --msi
 *   the MSI capability, emulated (pci-passthrough-irq.c). MSI-X is left
 *   out. Extended config space reads as zero.
 * - Memory BARs are virtual: the guest sizes and programs its own
 *   addresses; the host addresses are never shown. I/O BARs and the
 *   expansion ROM read as zero (Arm guests have no port I/O here, and a
 *   ROM BAR would map more host pages than the guest needs).
 * - Of the Command register, the guest controls Memory Space only. Bus
 *   Master is refused (read as zero, and cleared on the device while it is
 *   served): without an IOMMU, a device that does DMA reaches all of the
 *   host's memory. With --msi it reads back as the guest wrote it, and the
 *   device has it while the guest also has MSI enabled. I/O Space reads as
 *   zero.
 *   Interrupt Disable, cache line size, latency timer and Interrupt Line
 *   are kept for the guest and not written to the device. Status reads
 *   through, except Interrupt Status, which is the forwarded INTx's.
 *   Nothing but the device's Command register is ever written on the host
 *   (and restored at exit), so the guest cannot reconfigure the host
 *   beyond this device.
 * - Interrupts are forwarded when dom0 binds the device to vfio-pci
 *   (pci-passthrough-irq.c says how): INTx, and with --msi its MSI.
 *   Otherwise Interrupt Pin reads as zero and the guest's drivers must
 *   poll.
 * - Devices known to reach their own config space through a memory BAR
 *   (graphics devices of ATI/AMD and NVIDIA) are refused: through that
 *   BAR, mapped into the guest, the guest could set Bus Master itself.
 *
 * When the guest sets Memory Space, each memory BAR is mapped into the
 * guest, host pages onto guest pages, with xc_domain_iomem_permission() and
 * xc_domain_memory_mapping(): the guest then reaches the device directly,
 * without the backend. Clearing Memory Space, moving a BAR, or the backend
 * exiting (SIGTERM, SIGINT, SIGHUP, SIGQUIT, or the guest going away)
 * unmaps it; the guest's
 * accesses then fault into dom0, which answers them as a master abort
 * would (reads all ones). A backend killed by another signal (SIGKILL)
 * cannot unmap: the mapping then lasts until the guest is destroyed.
 *
 * Xen maps whole 4 KiB pages, so a BAR is only mapped when both sides own
 * their pages: on the host, the BAR must start on a page boundary and share
 * no page with a BAR of another device (checked at start, refused
 * otherwise: dom0 places BARs that way, see xen_pci_page_align=), and in
 * the guest, the BAR must start on a page boundary inside the guest's PCI
 * memory windows (pcie-xen-vpci places BARs that way; elsewhere the BAR is
 * left unmapped and reads all ones).
 *
 * Usage:
 *	pci-passthrough --domid N --host SSSS:BB:DD.F --slot S
 *			[--bus B] [--function F] [--msi] [--verbose]
 *
 * The device must have no driver in dom0, or pci-stub, or vfio-pci for
 * its interrupts. Start the backend
 * while the guest is paused (xl create -p; xl unpause once the "serving"
 * line is printed). It runs until SIGTERM, SIGINT, SIGHUP or SIGQUIT, or
 * until the guest goes away. Exit status: 0 on a signal or when the guest is gone,
 * 1 on an error (including a device that cannot be passed through safely),
 * 2 on a usage error.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pci-passthrough.h"

static struct pt *to_pt(struct pci_ioreq_backend *be)
{
	return pci_ioreq_container_of(be, struct pt, be);
}

/* The guest: its domain ID and its root complex. */
static const struct xen_pci_ioreq_info *guest(const struct pt *p)
{
	return &p->be.t->info;
}

/* ---- mapping BARs into the guest ---- */

static bool in_window(__u64 addr, __u64 size, __u64 base, __u64 len)
{
	return addr >= base && addr - base < len && size <= len - (addr - base);
}

/* Whether a BAR lies in a memory window of the guest's root complex. */
static bool in_guest_window(const struct pt *p, __u64 addr, __u64 size)
{
	const struct xen_pci_ioreq_layout *l = &guest(p)->layout;

	return in_window(addr, size, l->mem[0].base, l->mem[0].size) ||
	       in_window(addr, size, l->mem[1].base, l->mem[1].size);
}

void pt_unmap_bar(struct pt *p, unsigned int i)
{
	struct pt_bar *b = &p->bar[i];
	__u64 mfn = b->host / XEN_PAGE, nr = bar_pages(b);

	if (!b->mapped)
		return;
	if (p->be.gone) {
		b->mapped = false;
		return;
	}
	/* Still mapped when this fails: keep saying so, keep the access. */
	if (xc_domain_memory_mapping(p->xch, guest(p)->domid, b->mapped_gfn,
				     mfn, nr, DPCI_REMOVE_MAPPING)) {
		say("BAR%u: unmapping guest %#llx: %s\n", i,
		    (unsigned long long)b->mapped_gfn * XEN_PAGE,
		    strerror(errno));
		return;
	}
	b->mapped = false;
	if (xc_domain_iomem_permission(p->xch, guest(p)->domid, mfn, nr, 0))
		say("BAR%u: revoking access to host %#llx: %s\n", i,
		    (unsigned long long)b->host, strerror(errno));
	if (p->quiet)
		return;
	p->unmaps++;
	printf("%s: BAR%u: guest %#llx unmapped\n", pci_ioreq_prog, i,
	       (unsigned long long)b->mapped_gfn * XEN_PAGE);
	fflush(stdout);
}

static void refuse_bar(struct pt *p, unsigned int i, const char *why)
{
	struct pt_bar *b = &p->bar[i];

	p->refusals++;
	if (b->refused == b->guest)
		return;
	b->refused = b->guest;
	printf("%s: BAR%u: guest %#llx (%llu bytes) %s: not mapped\n",
	       pci_ioreq_prog, i, (unsigned long long)b->guest,
	       (unsigned long long)b->size, why);
	fflush(stdout);
}

static void map_bar(struct pt *p, unsigned int i)
{
	struct pt_bar *b = &p->bar[i];
	__u64 mfn = b->host / XEN_PAGE, gfn = b->guest / XEN_PAGE;
	__u64 nr = bar_pages(b);

	if (b->guest % XEN_PAGE) {
		refuse_bar(p, i, "is not page-aligned");
		return;
	}
	if (!in_guest_window(p, b->guest, nr * XEN_PAGE)) {
		refuse_bar(p, i, "is outside the guest's PCI memory windows");
		return;
	}
	if (!(host_read16(p, PCI_COMMAND) & PCI_COMMAND_MEMORY))
		host_set_command(p, host_read16(p, PCI_COMMAND) |
				 PCI_COMMAND_MEMORY);
	if (xc_domain_iomem_permission(p->xch, guest(p)->domid, mfn, nr, 1)) {
		say("BAR%u: granting access to host %#llx: %s\n", i,
		    (unsigned long long)b->host, strerror(errno));
		return;
	}
	if (xc_domain_memory_mapping(p->xch, guest(p)->domid, gfn, mfn, nr,
				     DPCI_ADD_MAPPING)) {
		say("BAR%u: mapping guest %#llx to host %#llx: %s\n", i,
		    (unsigned long long)b->guest,
		    (unsigned long long)b->host, strerror(errno));
		xc_domain_iomem_permission(p->xch, guest(p)->domid, mfn, nr, 0);
		return;
	}
	b->mapped = true;
	b->mapped_gfn = gfn;
	b->refused = 0;
	if (p->quiet)
		return;
	p->maps++;
	printf("%s: BAR%u: guest %#llx -> host %#llx, %llu bytes, %llu page(s) mapped\n",
	       pci_ioreq_prog, i, (unsigned long long)b->guest,
	       (unsigned long long)b->host,
	       (unsigned long long)b->size, (unsigned long long)nr);
	fflush(stdout);
}

/* Bring the mapping of BAR @i in line with the guest's Command and BAR. */
static void update_bar(struct pt *p, unsigned int i)
{
	struct pt_bar *b = &p->bar[i];
	bool want = b->present && (p->command & PCI_COMMAND_MEMORY) &&
		    b->guest;

	/* An interrupt is pending: the BAR comes to us until it is served. */
	if (p->irq.trapping) {
		pt_irq_route_bar(p, i);
		return;
	}
	if (b->mapped && (!want || b->mapped_gfn != b->guest / XEN_PAGE))
		pt_unmap_bar(p, i);
	if (want && !b->mapped)
		map_bar(p, i);
}

void pt_update_bars(struct pt *p)
{
	unsigned int i;

	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		update_bar(p, i);
}

/* ---- the guest's config space ---- */

static __u32 bar_read(struct pt *p, unsigned int i)
{
	struct pt_bar *b = &p->bar[i];

	if (b->upper)
		return p->bar[i - 1].guest >> 32;
	if (!b->present)
		return 0;
	return (__u32)b->guest | b->flags;
}

static void bar_write(struct pt *p, unsigned int i, __u32 val)
{
	struct pt_bar *b = &p->bar[i];
	unsigned int owner = b->upper ? i - 1 : i;
	struct pt_bar *o = &p->bar[owner];

	if (!b->upper && !b->present)
		return;
	if (b->upper)
		o->guest = (o->guest & 0xffffffffULL) | (__u64)val << 32;
	else
		o->guest = (o->guest & ~0xffffffffULL) |
			   (val & PCI_BASE_ADDRESS_MEM_MASK);
	o->guest &= ~(o->size - 1);
	update_bar(p, owner);
}

static void command_write(struct pt *p, __u16 val)
{
	__u16 old = p->command;

	if ((val & PCI_COMMAND_MASTER) && !p->bm_warned) {
		p->bm_warned = true;
		printf("%s: bus mastering %s: no IOMMU isolates the device's DMA\n",
		       pci_ioreq_prog, p->irq.msi_cap ?
		       "on the device only while MSI is enabled (--msi)" :
		       "refused");
		fflush(stdout);
	}
	/*
	 * With --msi the guest's Bus Master reads back as written (the
	 * guest's read-modify-writes of Command must not clear it): the
	 * device has it while the guest has MSI on as well.
	 */
	p->command = val & (PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE |
			    (p->irq.msi_cap ? PCI_COMMAND_MASTER : 0));
	p->irq.guest_master = p->command & PCI_COMMAND_MASTER;
	if ((old ^ p->command) & PCI_COMMAND_MEMORY)
		pt_update_bars(p);
	pt_irq_command(p);
}

static __u32 cfg_read32(struct pt *p, unsigned int off)
{
	__u32 v;
	unsigned int c;

	switch (off) {
	case PCI_VENDOR_ID:
	case PCI_CLASS_REVISION:
	case PCI_SUBSYSTEM_VENDOR_ID:
		return host_read32(p, off);
	case PCI_COMMAND:
		v = (host_read16(p, PCI_STATUS) &
		     ~(PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT)) |
		    pt_irq_status(p);
		if (p->cap_first)
			v |= PCI_STATUS_CAP_LIST;
		return v << 16 | p->command;
	case PCI_CACHE_LINE_SIZE:
		return (__u32)(host_read8(p, PCI_HEADER_TYPE) & 0x7f) << 16 |
		       p->latency << 8 | p->cache_line;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5:
		return bar_read(p, (off - PCI_BASE_ADDRESS_0) / 4);
	case PCI_CAPABILITY_LIST:
		return p->cap_first;
	case PCI_INTERRUPT_LINE:
		/* Max_Lat and Min_Gnt read through. */
		return (host_read32(p, off) & 0xffff0000U) |
		       pt_irq_pin(p) << 8 | p->irq_line;
	case PCI_CARDBUS_CIS:
	case PCI_ROM_ADDRESS:
	case PCI_CAPABILITY_LIST + 4:
		return 0;
	}
	/*
	 * Device-specific space: read through, but for the MSI capability;
	 * exposed capabilities relinked.
	 */
	if (!pt_irq_cfg_read(p, off, &v))
		v = host_read32(p, off);
	for (c = off; c < off + 4; c++) {
		if (c >= 1 && p->cap_exposed[c - 1]) {
			unsigned int sh = (c & 3) * 8;

			v = (v & ~(0xffU << sh)) | (__u32)p->cap_next[c - 1] << sh;
		}
	}
	return v;
}

/* Write @val under @mask (the bytes written) to the dword at @off. */
static void cfg_write32(struct pt *p, unsigned int off, __u32 val, __u32 mask)
{
	switch (off) {
	case PCI_COMMAND:
		if (mask & 0xffff)
			command_write(p, (p->command & ~mask) | (val & mask));
		return;		/* Status: its RW1C bits stay the host's */
	case PCI_CACHE_LINE_SIZE:
		if (mask & 0xff)
			p->cache_line = val;
		if (mask & 0xff00)
			p->latency = val >> 8;
		return;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5:
		/* BARs are written whole; a partial write merges. */
		bar_write(p, (off - PCI_BASE_ADDRESS_0) / 4,
			  (bar_read(p, (off - PCI_BASE_ADDRESS_0) / 4) & ~mask) |
			  (val & mask));
		return;
	case PCI_INTERRUPT_LINE:
		if (mask & 0xff)
			p->irq_line = val;
		return;
	}
	if (pt_irq_cfg_write(p, off, val, mask))
		return;
	p->dropped_writes++;
	if (p->be.verbose)
		say("write %#x to config %#x dropped\n", val & mask, off);
}

static bool serve_config(struct pt *p, const struct xen_pci_ioreq_request *r,
			 __u64 *data)
{
	unsigned int off = r->addr, sh = (off & 3) * 8;
	__u32 mask;

	*data = 0;
	if ((r->size != 1 && r->size != 2 && r->size != 4) ||
	    off & (r->size - 1) || off >= 4096)
		return false;
	mask = (__u32)pci_ioreq_size_mask(r->size) << sh;
	if (r->dir == XEN_PCI_IOREQ_DIR_READ) {
		p->be.st.cfg_reads++;
		if (off < CFG_SIZE)
			*data = (cfg_read32(p, off & ~3U) & mask) >> sh;
		return true;
	}
	p->be.st.cfg_writes++;
	if (off < CFG_SIZE)
		cfg_write32(p, off & ~3U, (__u32)r->data << sh, mask);
	return true;
}

/*
 * Config requests come here, and accesses to BARs while they trap for an
 * interrupt (pci-passthrough-irq.c): mapped BARs never reach dom0,
 * unmapped ones are answered by the kernel.
 */
static bool pt_request(struct pci_ioreq_backend *be,
		       const struct xen_pci_ioreq_request *r, __u64 *data)
{
	*data = 0;
	if (memcmp(&r->fn, &be->fn, sizeof(be->fn)))
		return false;
	if (r->kind == XEN_PCI_IOREQ_KIND_MMIO)
		return pt_irq_bar_access(to_pt(be), r, data);
	return r->kind == XEN_PCI_IOREQ_KIND_CONFIG &&
	       serve_config(to_pt(be), r, data);
}

static void pt_trace(const struct xen_pci_ioreq_request *r, __u64 data)
{
	bool rd = r->dir == XEN_PCI_IOREQ_DIR_READ;

	say("cfg %s %#llx/%u %s %#llx\n", rd ? "read" : "write",
	    (unsigned long long)r->addr, r->size, rd ? "->" : "<-",
	    (unsigned long long)(rd ? data : r->data));
}

static void pt_fd_ready(struct pci_ioreq_backend *be, unsigned int i)
{
	pt_irq_fd_ready(to_pt(be), i);
}

static const struct pci_ioreq_backend_ops pt_ops = {
	.request = pt_request,
	.trace = pt_trace,
	.fd_ready = pt_fd_ready,
};

/* ---- setup and teardown ---- */

static int setup(struct pt *p, const struct pci_ioreq_target *tgt)
{
	p->xch = xc_interface_open(NULL, NULL, 0);
	if (!p->xch) {
		say("xc_interface_open: %s\n", strerror(errno));
		return -1;
	}
	p->be.t = pci_ioreq_kernel_open(tgt->domid,
					pci_ioreq_target_layout(tgt),
					&p->be.fn, 0);
	return p->be.t ? 0 : -1;
}

/*
 * Unmap everything; closing the transport then leaves the guest's root
 * complex.
 */
static void teardown(struct pt *p)
{
	const struct xen_pci_ioreq_function *fn = &p->be.fn;
	const struct pci_ioreq_stats *s = &p->be.st;
	unsigned int i;

	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		pt_unmap_bar(p, i);
	pt_irq_close(p);
	printf("%s: stats %s as %04x:%02x:%02x.%x of dom%u:", pci_ioreq_prog,
	       p->host, fn->segment, fn->bus, PCI_SLOT(fn->devfn),
	       PCI_FUNC(fn->devfn), guest(p)->domid);
	printf(" requests %llu (config %llu read %llu write, %llu writes dropped)",
	       s->requests, s->cfg_reads, s->cfg_writes, p->dropped_writes);
	printf(" maps %llu unmaps %llu refused %llu bad %llu\n", p->maps,
	       p->unmaps, p->refusals, s->bad);
	fflush(stdout);
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: %s --domid N --host SSSS:BB:DD.F --slot S [options]\n"
		"Pass PCI device SSSS:BB:DD.F of dom0 through to Xen guest N,\n"
		"where it appears as 0000:BB:SS.F (guest bus, slot, function).\n"
		PCI_IOREQ_TARGET_USAGE
		"  -H, --host SBDF        the device in dom0 (required)\n"
		"  -m, --msi              forward its MSI (sets its Bus Master while the\n"
		"                         guest enables MSI: its DMA is not isolated)\n"
		"  -v, --verbose          trace every config access on stderr\n"
		"  -h, --help             this help\n", pci_ioreq_prog);
}

int main(int argc, char **argv)
{
	static const struct option own_opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "msi", no_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct pci_ioreq_target tgt = PCI_IOREQ_TARGET_INIT;
	struct pt p = { .be.ops = &pt_ops, .be.quiet_bad = true,
			.cfg_fd = -1, .irq.container = -1, .irq.group = -1,
			.irq.dev = -1, .irq.intx_fd = -1, .irq.msi_fd = -1 };
	sigset_t sigs;
	int opt, sfd, ret = PCI_IOREQ_ERROR;
	unsigned int i;

	pci_ioreq_prog = "pci-passthrough";
	while ((opt = pci_ioreq_getopt(argc, argv, "H:mvh", own_opts,
				       &tgt)) != -1) {
		switch (opt) {
		case 'H':
			if (!valid_host_name(optarg))
				pci_ioreq_bad_arg("host (want SSSS:BB:DD.F)");
			p.host = optarg;
			break;
		case 'm':
			p.irq.msi_wanted = true;
			break;
		default:
			pci_ioreq_common_opt(opt, &p.be.verbose, print_usage);
			break;
		}
	}
	if (optind != argc || !pci_ioreq_target_done(&tgt) || !p.host) {
		print_usage(stderr);
		return 2;
	}
	p.be.fn = tgt.fn;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	/* A closed log must not kill us with the BARs mapped. */
	signal(SIGPIPE, SIG_IGN);
	sfd = pci_ioreq_signalfd(&sigs, 0);
	if (sfd < 0)
		return 1;

	if (probe_host(&p) || setup(&p, &tgt) || pt_irq_open(&p))
		goto out;

	printf("%s[%d]: serving %04x:%02x:%02x.%x of domain %u with %s (%04x:%04x):",
	       pci_ioreq_prog, getpid(), p.be.fn.segment, p.be.fn.bus,
	       PCI_SLOT(p.be.fn.devfn), PCI_FUNC(p.be.fn.devfn),
	       guest(&p)->domid, p.host,
	       host_read16(&p, PCI_VENDOR_ID), host_read16(&p, PCI_DEVICE_ID));
	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		if (p.bar[i].present)
			printf(" BAR%u host %#llx %llu bytes%s", i,
			       (unsigned long long)p.bar[i].host,
			       (unsigned long long)p.bar[i].size,
			       p.bar[i].flags & PCI_BASE_ADDRESS_MEM_PREFETCH ?
			       " prefetchable" : "");
	printf(", interrupts:%s%s%s\n", pt_irq_pin(&p) ? " INTx" : "",
	       p.irq.msi_cap ? " MSI" : "",
	       pt_irq_pin(&p) || p.irq.msi_cap ? "" : " none");
	fflush(stdout);

	ret = pci_ioreq_loop(&p.be, sfd);
	teardown(&p);
out:
	pt_irq_close(&p);
	if (p.be.t)
		p.be.t->ops->close(p.be.t, p.be.gone);
	/* The device as we found it, once nothing maps it any more. */
	if (p.host_command_changed)
		host_set_command(&p, p.host_command);
	if (p.cfg_fd >= 0)
		close(p.cfg_fd);
	if (p.xch)
		xc_interface_close(p.xch);
	close(sfd);
	return ret == PCI_IOREQ_ERROR ? 1 : 0;
}
