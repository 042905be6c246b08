// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs: the directory of each guest (xen-pci-ioreq/<domid>), made by
 * guest.c when the guest's server is created and removed with it, and its
 * "stats" file: the request counters (Xen's invalidates among them), INTx,
 * irqfd and ioeventfd counters, functions and BAR ranges.
 *
 * Locking: reading "stats" takes the guest's mutex, and its lock inside
 * the mutex to copy what the request path changes; it prints with no lock
 * held.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/hashtable.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "xpi.h"

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
	unsigned int i, in_xen, files;
	struct xpi_snapshot *snap;

	snap = kvmalloc(sizeof(*snap), GFP_KERNEL);
	if (!snap)
		return -ENOMEM;
	mutex_lock(&g->mutex);
	xpi_snapshot(g, snap);
	in_xen = xpi_xen_bar_ranges(g);
	files = list_count_nodes(&g->files);
	mutex_unlock(&g->mutex);

	seq_printf(m, "domid: %u\nioservid: %u\nvcpus: %u\nmode: %s\n",
		   g->domid, g->ioservid, g->nr_vcpus,
		   xpi_ecam_mode() ? "ecam" : "pci");
	/* 0 once every backend went: the server stays with the guest. */
	seq_printf(m, "files: %u\n", files);
	if (xpi_ecam_mode())
		seq_printf(m, "ecam: %#llx+%#llx\nmem: %#llx+%#llx %#llx+%#llx\nintx_base: %u\n",
			   g->layout.ecam.base, g->layout.ecam.size,
			   g->layout.mem[0].base, g->layout.mem[0].size,
			   g->layout.mem[1].base, g->layout.mem[1].size,
			   g->layout.intx_base);
	if (xpi_ecam_mode() && g->layout.msi_count)
		seq_printf(m, "msi: %u vectors from interrupt %u, doorbell %#llx\n",
			   g->layout.msi_count, g->layout.msi_base,
			   g->layout.msi_doorbell);
	seq_printf(m, "requests_config: %llu\nrequests_mmio: %llu\n",
		   snap->stats.config, snap->stats.mmio);
	seq_printf(m, "requests_other: %llu\n", snap->stats.other);
	seq_printf(m, "requests_invalidate: %llu\ninvalidates_completed: %llu\n",
		   snap->stats.invalidate, snap->stats.invalidate_completed);
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
	seq_printf(m, "irqfd_cancelled: %lld\nirqfd_resampled: %lld\n",
		   atomic64_read(&g->irqfd_cancelled),
		   atomic64_read(&g->irqfd_resampled));
	seq_printf(m, "irqfds_closed: %lld\nirqfd_msi_sent: %lld\n",
		   atomic64_read(&g->irqfd_closed),
		   atomic64_read(&g->irqfd_msi_sent));
	seq_printf(m, "ioeventfds_closed: %lld\n",
		   atomic64_read(&g->ioeventfd_closed));
	seq_printf(m, "msi_sent: %lld\nmsi_unsupported: %lld\n",
		   atomic64_read(&g->msi_sent),
		   atomic64_read(&g->msi_unsupported));
	seq_printf(m, "msi_bad_address: %lld\nmsi_bad_vector: %lld\n",
		   atomic64_read(&g->msi_bad_address),
		   atomic64_read(&g->msi_bad_vector));
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

/*
 * The guest's debugfs directory: its domid, and the ECAM window's base for
 * a root complex elsewhere than in the default layout.
 */
void xpi_guest_debugfs(struct xpi_guest *g)
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
