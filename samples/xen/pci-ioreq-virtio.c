// SPDX-License-Identifier: GPL-2.0
/*
 * pci-ioreq-virtio: a virtio-pci device of a Xen guest, served from dom0
 * userspace through /dev/xen/pci-ioreq.
 *
 * One process serves one PCI function: a modern (virtio 1.x, revision 1)
 * virtio-pci device whose common config, ISR, device config and notify
 * structures lie in a 16 KiB memory BAR, as the vendor-specific
 * capabilities of its config space say. It has no MSI-X capability, so the
 * guest's virtio_pci driver uses INTx. Two device types:
 *
 *   blk  virtio-blk backed by a dom0 file: read, write, flush, get-id;
 *        capacity, block size and segment limit in the device config;
 *        read-only with --read-only;
 *   rng  virtio-rng: the bytes of a splitmix64 stream of --seed, in order,
 *        so that a test can tell where the guest's bytes came from.
 *
 * Guest memory is reached by foreign mapping (libxenforeignmemory): guest
 * RAM is mapped on first use in 2 MiB chunks into one reserved range of
 * the backend's address space, and stays mapped, so steady-state I/O makes
 * no map or unmap hypercalls. With --grants, the guest's DMA addresses are
 * grant references (its xen-grant-dma-ops, for a root complex whose
 * iommu-map leads to a "xen,grant-dma" node naming dom0): the rings are
 * mapped while their queue runs, and each buffer through gntdev for the
 * time of its request, read-only if the device only reads it; every
 * buffer is unmapped before its chain is published as used.
 *
 * Every address and length the guest gives is checked against what could
 * be mapped; a descriptor chain that loops, is too long, points outside
 * guest RAM (or at a reference never granted) or breaks the virtqueue
 * rules makes the device DEVICE_NEEDS_RESET (with a configuration change
 * interrupt): the backend logs it and serves nothing more until the guest
 * resets it.
 *
 * With --fast, queue notifications are ioeventfds (the guest's notify
 * write is completed in the kernel and wakes the backend through an
 * eventfd) and the interrupt is an irqfd; without, each notify is a
 * request read from /dev/xen/pci-ioreq and INTx is set by ioctl.
 *
 * Usage:
 *	pci-ioreq-virtio --domid N --slot S --device blk --disk FILE
 *			 [--read-only] [--serial ID] [options]
 *	pci-ioreq-virtio --domid N --slot S --device rng [--seed N] [options]
 *	options: [--function F] [--fast] [--grants] [--verbose]
 *
 * Start it while the guest is paused, as pci-ioreq-emu. It runs until
 * SIGTERM, SIGINT or SIGHUP or until the guest goes away; SIGUSR1 prints
 * the counters, which are printed at exit too.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/pci.h>
#include <linux/types.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <xen/pci-ioreq.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

#define PROG			"pci-ioreq-virtio"

#include "pci-ioreq-backend.h"
#include "pci-ioreq-virtio.h"

#define CFG_SPACE_SIZE		4096
#define INTX_PIN		1	/* INTA */

#define VIRTIO_SUBSYS_ID	0x1100
#define CLASS_STORAGE_OTHER	0x018000	/* class code, prog-if 0 */
#define CLASS_OTHERS		0xff0000

/* BAR 0: one page per structure. */
#define BAR0_SIZE		0x4000
#define COMMON_OFF		0x0000	/* must stay 0: see bar0_read32() */
#define COMMON_LEN		0x40
#define ISR_OFF			0x1000
#define ISR_LEN			4
#define DEVCFG_OFF		0x2000
#define DEVCFG_LEN		0x100
#define NOTIFY_OFF		0x3000
#define NOTIFY_MULT		4	/* bytes between queue notify addresses */

/* Config space: the vendor-specific capabilities, linked in this order. */
#define CAP_COMMON		0x40
#define CAP_ISR			0x50
#define CAP_DEVCFG		0x60
#define CAP_NOTIFY		0x70	/* struct virtio_pci_notify_cap */
#define CAP_PCICFG		0x84	/* struct virtio_pci_cfg_cap */
#define CAP_PCICFG_DATA		(CAP_PCICFG + 16)

#define MAX_QUEUES		2
#define QUEUE_SIZE_MAX		256
#define INDIRECT_MAX		1024	/* descriptors in an indirect table */
#define CHAIN_MAX		(QUEUE_SIZE_MAX + INDIRECT_MAX)
#define BLK_SEG_MAX		(INDIRECT_MAX - 2)
#define SECTOR_SIZE		512
#define RNG_REQ_MAX		65536	/* bytes served per rng buffer */

#define ISR_QUEUE		0x1
#define ISR_CONFIG		0x2

/* Guest RAM of an Arm guest (Xen's guest layout): mapped on first use. */
#define GUEST_RAM0_BASE		0x40000000ULL
#define GUEST_RAM0_SIZE		0xc0000000ULL
#define GUEST_RAM1_BASE		0x0200000000ULL
#define GUEST_RAM1_SIZE		0x1000000000ULL	/* the first 64 GiB of it */
#define XEN_PAGE_SHIFT		12
#define CHUNK_SHIFT		21	/* 2 MiB */
#define CHUNK_PAGES		(1U << (CHUNK_SHIFT - XEN_PAGE_SHIFT))

enum {
	SERVE_OK,
	SERVE_GONE,
	SERVE_ERROR,
};

enum dev_type {
	DEV_BLK,
	DEV_RNG,
};

/* One 2 MiB chunk of guest RAM: whether it was mapped, and which pages. */
struct chunk {
	bool tried;
	__u64 ok[CHUNK_PAGES / 64];
};

struct ram_region {
	__u64 base, size;
	__u8 *va;			/* reserved, PROT_NONE until mapped */
	struct chunk *chunks;
};

struct guest_mem {
	xenforeignmemory_handle *fmem;
	xengnttab_handle *xgt;		/* --grants */
	unsigned int domid;
	struct ram_region r[2];
	unsigned long long map_calls, pages_mapped;
	unsigned long long grant_maps, grant_pages;
};

/* A mapping of granted pages, undone with dma_unmap(); none if !pages. */
struct gmap {
	void *base;
	__u32 pages;
};

/* A descriptor's buffer in our address space. */
struct seg {
	__u8 *p;
	__u32 len;
	bool write;		/* device-writable */
	struct gmap m;
};

struct chain {
	__u16 head;
	unsigned int nr, nr_read;	/* readable segments come first */
	__u64 read_len, write_len;
	struct seg seg[CHAIN_MAX];
};

struct vq {
	__u16 size;
	__u16 msix_vector;
	bool enabled;
	__u64 desc_addr, avail_addr, used_addr;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct gmap desc_map, avail_map, used_map;
	__u16 last_avail;	/* next avail entry to take */
	__u16 used_idx;		/* next used entry to fill */
	bool kicked;		/* notified since last processed */
	int kick_fd;		/* --fast: ioeventfd of the notify address */
	__u64 kick_addr;	/* where it is registered, 0 if not */
};

struct vstats {
	unsigned long long wakeups, requests, cfg, mmio;
	unsigned long long notify_mmio, notify_eventfd, kick_wakeups;
	unsigned long long chains, intx, irqfd, bytes_in, bytes_out;
	unsigned long long flushes, errors, broken, resets;
};

struct vdev {
	struct pci_ioreq_backend be;
	struct xen_pci_ioreq_function fn;
	enum dev_type type;
	bool fast, grants, verbose, gone;
	const char *name;

	/* config space */
	struct pci_ioreq_header hdr;	/* BAR 0 only */
	__u8 pcicfg_bar;		/* VIRTIO_PCI_CAP_PCI_CFG window */
	__u32 pcicfg_off, pcicfg_len;

	/* virtio */
	__u64 features;			/* offered */
	__u64 driver_features;
	__u32 dfselect, gfselect;
	__u16 msix_config;
	__u8 status;
	__u8 generation;
	__u16 queue_select;
	unsigned int nr_queues;
	struct vq vq[MAX_QUEUES];
	__u8 isr;
	bool intx_level;
	int irqfd;			/* --fast: asserts INTA */

	struct guest_mem mem;
	struct chain *chain;

	/* blk */
	int disk_fd;
	__u64 capacity;			/* sectors */
	bool read_only;
	char serial[VIRTIO_BLK_ID_BYTES];

	/* rng */
	__u64 seed, rng_state, rng_served;
	__u8 rng_buf[8];
	unsigned int rng_left;

	struct vstats st;
};

static void ioctl_failed(struct vdev *v, const char *what)
{
	if (errno == ENODEV)
		v->gone = true;
	else
		say("%s: %s\n", what, strerror(errno));
}

/* ---- guest memory: foreign mappings, cached ---- */

static int mem_init(struct guest_mem *m, unsigned int domid, bool grants)
{
	static const __u64 layout[2][2] = {
		{ GUEST_RAM0_BASE, GUEST_RAM0_SIZE },
		{ GUEST_RAM1_BASE, GUEST_RAM1_SIZE },
	};
	unsigned int i;

	m->domid = domid;
	if (grants) {
		m->xgt = xengnttab_open(NULL, 0);
		if (!m->xgt) {
			say("xengnttab_open: %s\n", strerror(errno));
			return -1;
		}
		return 0;
	}
	m->fmem = xenforeignmemory_open(NULL, 0);
	if (!m->fmem) {
		say("xenforeignmemory_open: %s\n", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		struct ram_region *r = &m->r[i];

		r->base = layout[i][0];
		r->size = layout[i][1];
		r->va = mmap(NULL, r->size, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		r->chunks = calloc(r->size >> CHUNK_SHIFT, sizeof(*r->chunks));
		if (r->va == MAP_FAILED || !r->chunks) {
			say("reserving address space for guest RAM: %s\n",
			    strerror(errno));
			r->va = NULL;
			return -1;
		}
	}
	return 0;
}

static void mem_exit(struct guest_mem *m)
{
	unsigned int i;
	__u64 c;

	for (i = 0; i < 2; i++) {
		struct ram_region *r = &m->r[i];

		if (!r->va)
			continue;
		for (c = 0; c < r->size >> CHUNK_SHIFT; c++)
			if (r->chunks[c].tried)
				xenforeignmemory_unmap(m->fmem,
						       r->va + (c << CHUNK_SHIFT),
						       CHUNK_PAGES);
		munmap(r->va, r->size);
		free(r->chunks);
		r->va = NULL;
	}
	if (m->fmem)
		xenforeignmemory_close(m->fmem);
	m->fmem = NULL;
	if (m->xgt)
		xengnttab_close(m->xgt);
	m->xgt = NULL;
}

/* Map chunk @c of @r (once; pages the guest does not have stay absent). */
static void mem_map_chunk(struct guest_mem *m, struct ram_region *r, __u64 c)
{
	xen_pfn_t pfn[CHUNK_PAGES];
	int err[CHUNK_PAGES];
	struct chunk *ch = &r->chunks[c];
	unsigned int i;
	void *va;

	ch->tried = true;
	for (i = 0; i < CHUNK_PAGES; i++)
		pfn[i] = ((r->base + (c << CHUNK_SHIFT)) >> XEN_PAGE_SHIFT) + i;
	m->map_calls++;
	va = xenforeignmemory_map2(m->fmem, m->domid, r->va + (c << CHUNK_SHIFT),
				   PROT_READ | PROT_WRITE, MAP_FIXED,
				   CHUNK_PAGES, pfn, err);
	if (!va) {
		say("mapping guest RAM at %#llx: %s\n",
		    (unsigned long long)(r->base + (c << CHUNK_SHIFT)),
		    strerror(errno));
		/* Keep the range reserved. */
		mmap(r->va + (c << CHUNK_SHIFT), 1UL << CHUNK_SHIFT, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		     -1, 0);
		ch->tried = false;
		return;
	}
	for (i = 0; i < CHUNK_PAGES; i++) {
		if (err[i])
			continue;
		ch->ok[i / 64] |= 1ULL << (i % 64);
		m->pages_mapped++;
	}
}

/*
 * A pointer to @len bytes of guest RAM at guest physical address @gpa, or
 * NULL if any of it is not guest RAM.
 */
static void *mem_ptr(struct guest_mem *m, __u64 gpa, __u64 len)
{
	unsigned int i;
	__u64 pg, last;

	if (!len || gpa + len < gpa)
		return NULL;
	for (i = 0; i < 2; i++) {
		struct ram_region *r = &m->r[i];

		if (gpa < r->base || gpa - r->base >= r->size ||
		    len > r->size - (gpa - r->base))
			continue;
		last = (gpa - r->base + len - 1) >> XEN_PAGE_SHIFT;
		for (pg = (gpa - r->base) >> XEN_PAGE_SHIFT; pg <= last; pg++) {
			__u64 c = pg / CHUNK_PAGES;
			unsigned int p = pg % CHUNK_PAGES;

			if (!r->chunks[c].tried)
				mem_map_chunk(m, r, c);
			if (!(r->chunks[c].ok[p / 64] & 1ULL << (p % 64)))
				return NULL;
		}
		return r->va + (gpa - r->base);
	}
	return NULL;
}

/*
 * Grants (--grants): the guest's xen-grant-dma-ops give DMA addresses
 * 1 << 63 | gref << 12 | offset, with consecutive references for
 * consecutive pages of one mapping; buffers the device only reads are
 * granted read-only.
 */
#define GRANT_DMA_BIT		0x8000000000000000ULL	/* bit 63 */
#define GRANT_MAP_MAX		256	/* pages in one mapping */

static void *grant_map(struct guest_mem *m, __u64 addr, __u64 len, bool write,
		       struct gmap *g)
{
	__u32 refs[GRANT_MAP_MAX];
	__u64 off = addr & 0xfff, first = (addr & ~GRANT_DMA_BIT) >> 12;
	__u64 n = (off + len + 0xfff) >> 12;
	unsigned int i;

	if (!(addr & GRANT_DMA_BIT) || n > GRANT_MAP_MAX ||
	    first + n - 1 > UINT32_MAX)
		return NULL;
	for (i = 0; i < n; i++)
		refs[i] = first + i;
	g->base = xengnttab_map_domain_grant_refs(m->xgt, n, m->domid, refs,
						  write ? PROT_READ | PROT_WRITE :
							  PROT_READ);
	if (!g->base)
		return NULL;
	g->pages = n;
	m->grant_maps++;
	m->grant_pages += n;
	return (__u8 *)g->base + off;
}

/*
 * @len bytes at DMA address @addr of the guest, for the device to read
 * (and write, if @write). Foreign mapping: a pointer into the cached map
 * of guest RAM; grants: a new mapping, undone by dma_unmap(). NULL if the
 * guest did not give us that memory.
 */
static void *dma_map(struct vdev *v, __u64 addr, __u64 len, bool write,
		     struct gmap *g)
{
	g->pages = 0;
	if (!len || addr + len < addr)
		return NULL;
	if (v->grants)
		return grant_map(&v->mem, addr, len, write, g);
	return mem_ptr(&v->mem, addr, len);
}

static void dma_unmap(struct vdev *v, struct gmap *g)
{
	if (g->pages && xengnttab_unmap(v->mem.xgt, g->base, g->pages))
		say("unmapping %u granted pages: %s\n", g->pages,
		    strerror(errno));
	g->pages = 0;
}

/* ---- interrupts ---- */

static void set_intx(struct vdev *v, bool level)
{
	struct xen_pci_ioreq_intx intx = {
		.fn = v->fn,
		.pin = INTX_PIN,
		.level = level,
	};
	__u64 one = 1;

	if (v->gone)
		return;
	if (level && v->irqfd >= 0) {
		if (write(v->irqfd, &one, sizeof(one)) != sizeof(one))
			say("irqfd: %s\n", strerror(errno));
		v->st.irqfd++;
	} else if (ioctl(v->be.fd, XEN_PCI_IOREQ_SET_INTX, &intx)) {
		ioctl_failed(v, "XEN_PCI_IOREQ_SET_INTX");
		return;
	} else if (level) {
		v->st.intx++;
	}
	v->intx_level = level;
}

/* The line follows the ISR: asserted on its first bit, like a level. */
static void update_intx(struct vdev *v)
{
	bool level = v->isr && !(v->hdr.command & PCI_COMMAND_INTX_DISABLE);

	if (level != v->intx_level)
		set_intx(v, level);
}

static void raise_isr(struct vdev *v, __u8 bits)
{
	v->isr |= bits;
	update_intx(v);
}

/* ---- queue notifications through ioeventfds (--fast) ---- */

static int kick_ioeventfd(struct vdev *v, struct vq *q, __u64 addr,
			  bool deassign)
{
	struct xen_pci_ioreq_ioeventfd io = {
		.fn = v->fn,
		.fd = q->kick_fd,
		.flags = deassign ? XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN : 0,
		.addr = addr,
		.size = 2,
	};

	return ioctl(v->be.fd, XEN_PCI_IOREQ_IOEVENTFD, &io);
}

/*
 * Register the notify address of each queue while BAR 0 is routed to us.
 * The kernel drops them itself when the range goes.
 */
static void update_kicks(struct vdev *v)
{
	const struct pci_ioreq_bar *b = &v->hdr.bar[0];
	unsigned int i;

	for (i = 0; i < v->nr_queues && v->fast && !v->gone; i++) {
		struct vq *q = &v->vq[i];
		__u64 want = b->mapped ? b->mapped_addr + NOTIFY_OFF +
					 i * NOTIFY_MULT : 0;

		if (q->kick_addr == want)
			continue;
		if (q->kick_addr && b->mapped &&
		    kick_ioeventfd(v, q, q->kick_addr, true))
			ioctl_failed(v, "XEN_PCI_IOREQ_IOEVENTFD (remove)");
		q->kick_addr = 0;
		if (want && !kick_ioeventfd(v, q, want, false))
			q->kick_addr = want;
		else if (want)
			ioctl_failed(v, "XEN_PCI_IOREQ_IOEVENTFD");
	}
}

/* ---- BAR routing ---- */

static int bar_mmio(struct vdev *v, unsigned long cmd, __u64 addr)
{
	struct xen_pci_ioreq_mmio mmio = {
		.fn = v->fn,
		.bar = 0,
		.addr = addr,
		.size = BAR0_SIZE,
	};

	return ioctl(v->be.fd, cmd, &mmio);
}

static void update_bars(struct vdev *v)
{
	struct pci_ioreq_bar *b = &v->hdr.bar[0];
	bool want = (v->hdr.command & PCI_COMMAND_MEMORY) && b->addr;

	if (v->gone)
		return;
	if (b->mapped && (!want || b->mapped_addr != b->addr)) {
		if (bar_mmio(v, XEN_PCI_IOREQ_REMOVE_MMIO, b->mapped_addr))
			ioctl_failed(v, "XEN_PCI_IOREQ_REMOVE_MMIO");
		b->mapped = false;
	}
	if (want && !b->mapped && !v->gone) {
		if (bar_mmio(v, XEN_PCI_IOREQ_ADD_MMIO, b->addr)) {
			ioctl_failed(v, "XEN_PCI_IOREQ_ADD_MMIO");
		} else {
			b->mapped = true;
			b->mapped_addr = b->addr;
		}
	}
	update_kicks(v);
}

/* ---- virtio device state ---- */

/* Unmap a queue's three rings, mapped or not. */
static void unmap_rings(struct vdev *v, struct vq *q)
{
	dma_unmap(v, &q->desc_map);
	dma_unmap(v, &q->avail_map);
	dma_unmap(v, &q->used_map);
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
}

static void mark_broken(struct vdev *v, const char *fmt, ...)
{
	va_list ap;

	if (v->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": %s %02x:%02x.%x: device broken: ", v->name,
		v->fn.bus, PCI_SLOT(v->fn.devfn), PCI_FUNC(v->fn.devfn));
	vfprintf(stderr, fmt, ap);
	fputs("; DEVICE_NEEDS_RESET\n", stderr);
	va_end(ap);
	v->st.broken++;
	v->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	v->generation++;
	if (v->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_isr(v, ISR_CONFIG);
}

static void reset_device(struct vdev *v)
{
	unsigned int i;

	for (i = 0; i < v->nr_queues; i++) {
		struct vq *q = &v->vq[i];

		q->size = QUEUE_SIZE_MAX;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
		q->enabled = false;
		q->desc_addr = 0;
		q->avail_addr = 0;
		q->used_addr = 0;
		unmap_rings(v, q);
		q->last_avail = 0;
		q->used_idx = 0;
		q->kicked = false;
	}
	v->driver_features = 0;
	v->dfselect = 0;
	v->gfselect = 0;
	v->msix_config = VIRTIO_MSI_NO_VECTOR;
	v->queue_select = 0;
	v->status = 0;
	v->isr = 0;
	update_intx(v);
	v->st.resets++;
}

static bool queue_ring_sizes_ok(struct vq *q)
{
	return q->size && q->size <= QUEUE_SIZE_MAX && !(q->size & (q->size - 1));
}

/* The driver enabled a queue: map its three rings, or break. */
static void enable_queue(struct vdev *v, struct vq *q)
{
	__u64 dlen = 16ULL * q->size;
	__u64 alen = 6 + 2ULL * q->size;
	__u64 ulen = 6 + 8ULL * q->size;

	if (!queue_ring_sizes_ok(q)) {
		mark_broken(v, "queue size %u", q->size);
		return;
	}
	if ((q->desc_addr & 15) || (q->avail_addr & 1) || (q->used_addr & 3)) {
		mark_broken(v, "misaligned rings %#llx %#llx %#llx",
			    (unsigned long long)q->desc_addr,
			    (unsigned long long)q->avail_addr,
			    (unsigned long long)q->used_addr);
		return;
	}
	q->desc = dma_map(v, q->desc_addr, dlen, false, &q->desc_map);
	q->avail = dma_map(v, q->avail_addr, alen, false, &q->avail_map);
	q->used = dma_map(v, q->used_addr, ulen, true, &q->used_map);
	if (!q->desc || !q->avail || !q->used) {
		unmap_rings(v, q);
		mark_broken(v, "rings not in guest memory given to us: %#llx %#llx %#llx",
			    (unsigned long long)q->desc_addr,
			    (unsigned long long)q->avail_addr,
			    (unsigned long long)q->used_addr);
		return;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->enabled = true;
}

static void set_status(struct vdev *v, __u8 val)
{
	unsigned int i;

	if (!val) {
		reset_device(v);
		return;
	}
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(v->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* Accept only what was offered, and only the modern interface. */
		if ((v->driver_features & ~v->features) ||
		    !(v->driver_features & 1ULL << VIRTIO_F_VERSION_1)) {
			say("driver features %#llx refused (offered %#llx)\n",
			    (unsigned long long)v->driver_features,
			    (unsigned long long)v->features);
			val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		}
	}
	/* Buffers made available before DRIVER_OK are served now. */
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(v->status & VIRTIO_CONFIG_S_DRIVER_OK))
		for (i = 0; i < v->nr_queues; i++)
			v->vq[i].kicked = true;
	v->status = val | (v->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static struct vq *cur_vq(struct vdev *v)
{
	return v->queue_select < v->nr_queues ? &v->vq[v->queue_select] : NULL;
}

/* The ring address whose low (@off & 4 == 0) or high half dword @off is. */
static __u64 *queue_addr(struct vq *q, unsigned int off)
{
	return off < 0x28 ? &q->desc_addr : off < 0x30 ? &q->avail_addr :
							   &q->used_addr;
}

/* struct virtio_pci_common_cfg, by dword. */
static __u32 common_read32(struct vdev *v, unsigned int off)
{
	struct vq *q = cur_vq(v);

	switch (off) {
	case 0x00:
		return v->dfselect;
	case 0x04:
		return v->dfselect < 2 ? v->features >> (32 * v->dfselect) : 0;
	case 0x08:
		return v->gfselect;
	case 0x0c:
		return v->gfselect < 2 ?
		       v->driver_features >> (32 * v->gfselect) : 0;
	case 0x10:
		return v->msix_config | (__u32)v->nr_queues << 16;
	case 0x14:
		return v->status | v->generation << 8 |
		       (__u32)v->queue_select << 16;
	case 0x18:
		return q ? q->size | (__u32)q->msix_vector << 16 : 0;
	case 0x1c:
		/* queue_enable; queue_notify_off is the queue's index */
		return q ? q->enabled | (__u32)v->queue_select << 16 : 0;
	case 0x20 ... 0x34:
		return q ? *queue_addr(q, off) >> (off & 4) * 8 : 0;
	default:
		return 0;
	}
}

static void common_write32(struct vdev *v, unsigned int off, __u32 val,
			   __u32 mask)
{
	__u32 new = (common_read32(v, off) & ~mask) | (val & mask);
	struct vq *q = cur_vq(v);
	/* Queue set-up is only for a queue that is not running. */
	bool qw = q && !q->enabled;

	switch (off) {
	case 0x00:
		v->dfselect = new;
		break;
	case 0x08:
		v->gfselect = new;
		break;
	case 0x0c:
		if (v->gfselect < 2 && !(v->status & VIRTIO_CONFIG_S_FEATURES_OK))
			v->driver_features =
				(v->driver_features &
				 ~(0xffffffffULL << (32 * v->gfselect))) |
				(__u64)new << (32 * v->gfselect);
		break;
	case 0x10:
		if (mask & 0xffff)
			v->msix_config = new;
		break;
	case 0x14:
		if (mask & 0xff)
			set_status(v, new);
		if (mask & 0xffff0000)
			v->queue_select = new >> 16;
		break;
	case 0x18:
		if (qw && (mask & 0xffff))
			q->size = new;
		if (q && (mask & 0xffff0000))
			q->msix_vector = new >> 16;
		break;
	case 0x1c:
		if (qw && (mask & 0xffff) && (new & 0xffff) == 1)
			enable_queue(v, q);
		break;
	case 0x20 ... 0x34:
		if (qw) {
			__u64 *a = queue_addr(q, off);
			unsigned int shift = (off & 4) * 8;

			*a = (*a & ~((__u64)mask << shift)) |
			     (__u64)(val & mask) << shift;
		}
		break;
	}
}

/* struct virtio_blk_config, by dword; rng has none. */
static __u32 devcfg_read32(struct vdev *v, unsigned int off)
{
	if (v->type != DEV_BLK)
		return 0;
	switch (off) {
	case offsetof(struct virtio_blk_config, capacity):
		return v->capacity;
	case offsetof(struct virtio_blk_config, capacity) + 4:
		return v->capacity >> 32;
	case offsetof(struct virtio_blk_config, seg_max):
		return BLK_SEG_MAX;
	case offsetof(struct virtio_blk_config, blk_size):
		return SECTOR_SIZE;
	default:
		return 0;
	}
}

/* BAR 0, by dword. */
static __u32 bar0_read32(void *dev, unsigned int off)
{
	struct vdev *v = dev;
	__u32 isr;

	if (off < COMMON_OFF + COMMON_LEN)
		return common_read32(v, off - COMMON_OFF);
	if (off == ISR_OFF) {
		isr = v->isr;
		v->isr = 0;
		update_intx(v);
		return isr;
	}
	if (off >= DEVCFG_OFF && off < DEVCFG_OFF + DEVCFG_LEN)
		return devcfg_read32(v, off - DEVCFG_OFF);
	return 0;
}

static void bar0_write32(void *dev, unsigned int off, __u32 val, __u32 mask)
{
	struct vdev *v = dev;
	unsigned int qi;

	if (off < COMMON_OFF + COMMON_LEN) {
		common_write32(v, off - COMMON_OFF, val, mask);
	} else if (off >= NOTIFY_OFF &&
		   off < NOTIFY_OFF + MAX_QUEUES * NOTIFY_MULT) {
		qi = (off - NOTIFY_OFF) / NOTIFY_MULT;
		if (qi < v->nr_queues) {
			v->vq[qi].kicked = true;
			v->st.notify_mmio++;
		}
	}
}

/* ---- config space ---- */

static __u32 cap_dword(__u8 type, __u8 next, __u8 len, __u32 off, __u32 blen,
		       unsigned int dw)
{
	switch (dw) {
	case 0:
		return PCI_CAP_ID_VNDR | next << 8 | len << 16 |
		       (__u32)type << 24;
	case 1:
		return 0;		/* bar 0, id 0, padding */
	case 2:
		return off;
	case 3:
		return blen;
	default:
		return 0;
	}
}

static __u32 cfg_read32(void *dev, unsigned int off)
{
	struct vdev *v = dev;
	__u16 status = PCI_STATUS_CAP_LIST |
		       (v->isr ? PCI_STATUS_INTERRUPT : 0);
	bool has_devcfg = v->type == DEV_BLK;

	switch (off) {
	case PCI_VENDOR_ID:
		return VIRTIO_VENDOR |
		       (v->type == DEV_BLK ? VIRTIO_DEV_BLK : VIRTIO_DEV_RNG) << 16;
	case PCI_COMMAND:
		return v->hdr.command | (__u32)status << 16;
	case PCI_CLASS_REVISION:
		/* revision 1: a modern-only device */
		return 1 | (v->type == DEV_BLK ? CLASS_STORAGE_OTHER :
						 CLASS_OTHERS) << 8;
	case PCI_CACHE_LINE_SIZE:
		return v->hdr.cache_line | v->hdr.latency << 8 |
		       PCI_HEADER_TYPE_NORMAL << 16;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5:
		return pci_ioreq_bar_read(&v->hdr, off);
	case PCI_SUBSYSTEM_VENDOR_ID:
		return VIRTIO_VENDOR | VIRTIO_SUBSYS_ID << 16;
	case PCI_CAPABILITY_LIST:
		return CAP_COMMON;
	case PCI_INTERRUPT_LINE:
		return v->hdr.irq_line | INTX_PIN << 8;
	case CAP_COMMON ... CAP_COMMON + 15:
		return cap_dword(VIRTIO_PCI_CAP_COMMON_CFG, CAP_ISR, 16,
				 COMMON_OFF, COMMON_LEN, (off - CAP_COMMON) / 4);
	case CAP_ISR ... CAP_ISR + 15:
		return cap_dword(VIRTIO_PCI_CAP_ISR_CFG,
				 has_devcfg ? CAP_DEVCFG : CAP_NOTIFY, 16,
				 ISR_OFF, ISR_LEN, (off - CAP_ISR) / 4);
	case CAP_DEVCFG ... CAP_DEVCFG + 15:
		if (!has_devcfg)
			return 0;
		return cap_dword(VIRTIO_PCI_CAP_DEVICE_CFG, CAP_NOTIFY, 16,
				 DEVCFG_OFF, DEVCFG_LEN, (off - CAP_DEVCFG) / 4);
	case CAP_NOTIFY ... CAP_NOTIFY + 15:
		return cap_dword(VIRTIO_PCI_CAP_NOTIFY_CFG, CAP_PCICFG, 20,
				 NOTIFY_OFF, MAX_QUEUES * NOTIFY_MULT,
				 (off - CAP_NOTIFY) / 4);
	case CAP_NOTIFY + 16:
		return NOTIFY_MULT;
	case CAP_PCICFG:
		return PCI_CAP_ID_VNDR | 20 << 16 |
		       (__u32)VIRTIO_PCI_CAP_PCI_CFG << 24;
	case CAP_PCICFG + 4:
		return v->pcicfg_bar;
	case CAP_PCICFG + 8:
		return v->pcicfg_off;
	case CAP_PCICFG + 12:
		return v->pcicfg_len;
	default:
		return 0;
	}
}

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window: an access of cap.length bytes at
 * cap.offset of BAR cap.bar, through config space.
 */
static bool pcicfg_window_ok(struct vdev *v)
{
	return v->pcicfg_bar == 0 &&
	       (v->pcicfg_len == 1 || v->pcicfg_len == 2 ||
		v->pcicfg_len == 4) &&
	       !(v->pcicfg_off & (v->pcicfg_len - 1)) &&
	       v->pcicfg_off < BAR0_SIZE;
}

static void cfg_write32(void *dev, unsigned int off, __u32 val, __u32 mask)
{
	struct vdev *v = dev;
	__u32 new = (cfg_read32(v, off) & ~mask) | (val & mask);

	if (pci_ioreq_header_write(&v->hdr, off, new, mask)) {
		update_bars(v);
		update_intx(v);
	}
	switch (off) {
	case CAP_PCICFG + 4:
		v->pcicfg_bar = new;
		break;
	case CAP_PCICFG + 8:
		v->pcicfg_off = new;
		break;
	case CAP_PCICFG + 12:
		v->pcicfg_len = new;
		break;
	}
}

/* ---- virtqueues ---- */

static __u16 avail_idx(struct vq *q)
{
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
}

/* Append a descriptor's buffer to @c; false if it is not guest RAM. */
static bool chain_add(struct vdev *v, struct chain *c, __u64 addr, __u32 len,
		      bool write)
{
	struct seg *s;

	if (c->nr >= CHAIN_MAX) {
		mark_broken(v, "descriptor chain longer than %u", CHAIN_MAX);
		return false;
	}
	if (!write && c->nr > c->nr_read) {
		mark_broken(v, "device-readable descriptor after a writable one");
		return false;
	}
	s = &c->seg[c->nr];
	s->len = len;
	s->write = write;
	s->m.pages = 0;
	s->p = len ? dma_map(v, addr, len, write, &s->m) : NULL;
	if (len && !s->p) {
		mark_broken(v, "buffer %#llx+%u is not guest memory given to us",
			    (unsigned long long)addr, len);
		return false;
	}
	c->nr++;
	if (write) {
		c->write_len += len;
	} else {
		c->nr_read++;
		c->read_len += len;
	}
	return true;
}

/* Walk an indirect table of @len bytes at @addr. */
static bool chain_indirect(struct vdev *v, struct chain *c, __u64 addr,
			   __u32 len)
{
	struct vring_desc *t;
	unsigned int n = len / sizeof(*t), i = 0, steps = 0;
	struct gmap tm;
	bool ok = false;

	if (!(v->driver_features & 1ULL << VIRTIO_RING_F_INDIRECT_DESC) ||
	    !len || len % sizeof(*t) || n > INDIRECT_MAX) {
		mark_broken(v, "bad indirect table: %u bytes", len);
		return false;
	}
	t = dma_map(v, addr, len, false, &tm);
	if (!t) {
		mark_broken(v, "indirect table %#llx+%u is not guest memory given to us",
			    (unsigned long long)addr, len);
		return false;
	}
	for (;;) {
		struct vring_desc d = t[i];

		if (steps++ >= n) {
			mark_broken(v, "indirect descriptor chain loops");
			break;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			mark_broken(v, "nested indirect table");
			break;
		}
		if (!chain_add(v, c, d.addr, d.len,
			       d.flags & VRING_DESC_F_WRITE))
			break;
		if (!(d.flags & VRING_DESC_F_NEXT)) {
			ok = true;
			break;
		}
		i = d.next;
		if (i >= n) {
			mark_broken(v, "indirect descriptor %u out of its table", i);
			break;
		}
	}
	dma_unmap(v, &tm);
	return ok;
}

/* Undo the mappings of the chain's buffers (grants). */
static void chain_release(struct vdev *v)
{
	unsigned int i;

	for (i = 0; i < v->chain->nr; i++)
		dma_unmap(v, &v->chain->seg[i].m);
	v->chain->nr = 0;
}

/*
 * Take the next available chain of @q into v->chain. Returns 1 with a
 * chain, 0 when none is available, -1 when the device broke.
 */
static int vq_walk(struct vdev *v, struct vq *q)
{
	struct chain *c = v->chain;
	__u16 avail = avail_idx(q), head, i;
	unsigned int steps = 0;

	if (avail == q->last_avail)
		return 0;
	if ((__u16)(avail - q->last_avail) > q->size) {
		mark_broken(v, "avail index %u runs %u ahead of %u", avail,
			    (__u16)(avail - q->last_avail), q->last_avail);
		return -1;
	}
	head = q->avail->ring[q->last_avail & (q->size - 1)];
	if (head >= q->size) {
		mark_broken(v, "avail ring entry %u out of the queue", head);
		return -1;
	}
	q->last_avail++;
	memset(c, 0, offsetof(struct chain, seg));
	c->head = head;
	for (i = head;;) {
		struct vring_desc d = q->desc[i];

		if (steps++ >= q->size) {
			mark_broken(v, "descriptor chain from %u loops", head);
			return -1;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if ((d.flags & VRING_DESC_F_NEXT) ||
			    !chain_indirect(v, c, d.addr, d.len)) {
				mark_broken(v, "indirect descriptor %u", i);
				return -1;
			}
			return 1;
		}
		if (!chain_add(v, c, d.addr, d.len,
			       d.flags & VRING_DESC_F_WRITE))
			return -1;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		i = d.next;
		if (i >= q->size) {
			mark_broken(v, "descriptor %u out of the queue", i);
			return -1;
		}
	}
}

/* vq_walk(), leaving nothing mapped when the device broke. */
static int vq_pop(struct vdev *v, struct vq *q)
{
	int r = vq_walk(v, q);

	if (r < 0)
		chain_release(v);
	return r;
}

static void vq_push(struct vq *q, __u16 head, __u32 len)
{
	struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->size - 1)];

	e->id = head;
	e->len = len;
	q->used_idx++;
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
}

/* Copy @len bytes from offset @off of the chain's readable part. */
static bool chain_read(const struct chain *c, __u64 off, void *buf, __u64 len)
{
	unsigned int i;
	__u8 *dst = buf;

	for (i = 0; i < c->nr_read && len; i++) {
		const struct seg *s = &c->seg[i];
		__u64 n;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off < len ? s->len - off : len;
		memcpy(dst, s->p + off, n);
		dst += n;
		len -= n;
		off = 0;
	}
	return !len;
}

/* Copy @len bytes to offset @off of the chain's writable part. */
static bool chain_write(const struct chain *c, __u64 off, const void *buf,
			__u64 len)
{
	unsigned int i;
	const __u8 *src = buf;

	for (i = c->nr_read; i < c->nr && len; i++) {
		const struct seg *s = &c->seg[i];
		__u64 n;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off < len ? s->len - off : len;
		memcpy(s->p + off, src, n);
		src += n;
		len -= n;
		off = 0;
	}
	return !len;
}

/*
 * The iovecs of @len bytes from offset @off of the readable (@write false)
 * or writable part of the chain. Returns their number.
 */
static int chain_iov(const struct chain *c, bool write, __u64 off, __u64 len,
		     struct iovec *iov)
{
	unsigned int i = write ? c->nr_read : 0;
	unsigned int end = write ? c->nr : c->nr_read;
	int n = 0;

	for (; i < end && len; i++) {
		const struct seg *s = &c->seg[i];
		__u64 l;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		l = s->len - off < len ? s->len - off : len;
		iov[n].iov_base = s->p + off;
		iov[n].iov_len = l;
		n++;
		len -= l;
		off = 0;
	}
	return n;
}

/* ---- virtio-blk ---- */

static bool blk_rw(struct vdev *v, bool write, __u64 sector, __u64 len)
{
	struct iovec iov[CHAIN_MAX];
	__u64 pos = sector * SECTOR_SIZE;
	int n;

	if (len % SECTOR_SIZE || sector > v->capacity ||
	    len / SECTOR_SIZE > v->capacity - sector)
		return false;
	/* Data follows the header (readable) or precedes the status byte. */
	n = write ? chain_iov(v->chain, false, sizeof(struct virtio_blk_outhdr),
			      len, iov) :
		    chain_iov(v->chain, true, 0, len, iov);
	while (len) {
		ssize_t r = write ? pwritev(v->disk_fd, iov, n, pos) :
				    preadv(v->disk_fd, iov, n, pos);
		int i;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			say("%s at %llu: %s\n", write ? "pwritev" : "preadv",
			    (unsigned long long)pos,
			    r ? strerror(errno) : "end of file");
			return false;
		}
		pos += r;
		len -= r;
		for (i = 0; i < n && r; i++) {
			size_t k = (size_t)r < iov[i].iov_len ? (size_t)r :
				   iov[i].iov_len;

			iov[i].iov_base = (__u8 *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			r -= k;
		}
	}
	return true;
}

/* Serve one request; returns the bytes written into the chain. */
static __u32 blk_request(struct vdev *v)
{
	struct chain *c = v->chain;
	struct virtio_blk_outhdr h;
	__u8 status = VIRTIO_BLK_S_OK;
	__u64 data;
	__u32 used = 1;

	if (!c->write_len || !chain_read(c, 0, &h, sizeof(h))) {
		mark_broken(v, "virtio-blk request without header or status");
		return 0;
	}
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		data = c->write_len - 1;
		if (blk_rw(v, false, h.sector, data)) {
			used += data;
			v->st.bytes_in += data;
		} else {
			status = VIRTIO_BLK_S_IOERR;
		}
		break;
	case VIRTIO_BLK_T_OUT:
		data = c->read_len - sizeof(h);
		if (v->read_only || !blk_rw(v, true, h.sector, data))
			status = VIRTIO_BLK_S_IOERR;
		else
			v->st.bytes_out += data;
		break;
	case VIRTIO_BLK_T_FLUSH:
		v->st.flushes++;
		if (fdatasync(v->disk_fd))
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		data = c->write_len - 1 < VIRTIO_BLK_ID_BYTES ?
		       c->write_len - 1 : VIRTIO_BLK_ID_BYTES;
		chain_write(c, 0, v->serial, data);
		used += data;
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	if (status != VIRTIO_BLK_S_OK)
		v->st.errors++;
	chain_write(c, c->write_len - 1, &status, 1);
	return used;
}

/* ---- virtio-rng ---- */

/* The next bytes of the stream: each 64-bit value, least significant first. */
static void rng_fill(struct vdev *v, __u8 *p, __u32 len)
{
	while (len--) {
		if (!v->rng_left) {
			__u64 x = splitmix64(&v->rng_state);
			unsigned int i;

			for (i = 0; i < 8; i++)
				v->rng_buf[i] = x >> (8 * i);
			v->rng_left = 8;
		}
		*p++ = v->rng_buf[8 - v->rng_left--];
	}
}

static __u32 rng_request(struct vdev *v)
{
	struct chain *c = v->chain;
	__u32 done = 0;
	unsigned int i;

	for (i = c->nr_read; i < c->nr && done < RNG_REQ_MAX; i++) {
		__u32 n = c->seg[i].len;

		if (n > RNG_REQ_MAX - done)
			n = RNG_REQ_MAX - done;
		rng_fill(v, c->seg[i].p, n);
		done += n;
	}
	v->rng_served += done;
	v->st.bytes_in += done;
	return done;
}

/* Serve what queue @q has; interrupt once if anything was used. */
static void process_queue(struct vdev *v, struct vq *q)
{
	bool used = false;
	int r;

	if (!q->enabled || !(v->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (v->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return;
	q->kicked = false;
	while ((r = vq_pop(v, q)) > 0) {
		__u32 len = v->type == DEV_BLK ? blk_request(v) :
						 rng_request(v);

		/* Nothing of the buffers stays mapped once they are used. */
		chain_release(v);
		if (v->status & VIRTIO_CONFIG_S_NEEDS_RESET)
			break;
		vq_push(q, v->chain->head, len);
		v->st.chains++;
		used = true;
	}
	if (used && !(__atomic_load_n(&q->avail->flags, __ATOMIC_ACQUIRE) &
		      VRING_AVAIL_F_NO_INTERRUPT))
		raise_isr(v, ISR_QUEUE);
}

static void process_kicked(struct vdev *v)
{
	unsigned int i;

	for (i = 0; i < v->nr_queues; i++)
		if (v->vq[i].kicked)
			process_queue(v, &v->vq[i]);
}

/* ---- requests ---- */

static bool serve_one(struct vdev *v, const struct xen_pci_ioreq_request *r,
		      __u64 *data)
{
	bool rd = r->dir == XEN_PCI_IOREQ_DIR_READ;
	__u64 off;

	*data = 0;
	if (!pci_ioreq_valid_size(r->size) ||
	    memcmp(&r->fn, &v->fn, sizeof(v->fn)))
		return false;
	if (r->kind == XEN_PCI_IOREQ_KIND_CONFIG) {
		if (r->addr >= CFG_SPACE_SIZE || r->addr + r->size > CFG_SPACE_SIZE)
			return false;
		v->st.cfg++;
		if (r->addr == CAP_PCICFG_DATA && pcicfg_window_ok(v)) {
			if (rd)
				*data = pci_ioreq_dword_read(v, bar0_read32,
							     v->pcicfg_off,
							     v->pcicfg_len);
			else
				pci_ioreq_dword_write(v, bar0_write32,
						      v->pcicfg_off,
						      v->pcicfg_len, r->data);
		} else if (rd) {
			*data = pci_ioreq_dword_read(v, cfg_read32, r->addr,
						     r->size);
		} else {
			pci_ioreq_dword_write(v, cfg_write32, r->addr,
					      r->size, r->data);
		}
		return true;
	}
	if (r->kind != XEN_PCI_IOREQ_KIND_MMIO || r->bar != 0 ||
	    !v->hdr.bar[0].mapped)
		return false;
	off = r->addr - v->hdr.bar[0].mapped_addr;
	if (r->addr < v->hdr.bar[0].mapped_addr || off >= BAR0_SIZE ||
	    off + r->size > BAR0_SIZE)
		return false;
	v->st.mmio++;
	if (rd)
		*data = pci_ioreq_dword_read(v, bar0_read32, off, r->size);
	else
		pci_ioreq_dword_write(v, bar0_write32, off, r->size, r->data);
	return true;
}

static int complete(struct vdev *v, unsigned int nr)
{
	size_t done = 0, len = nr * sizeof(*v->be.rsp);

	while (done < len) {
		ssize_t n = write(v->be.fd, (char *)v->be.rsp + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENODEV) {
			v->gone = true;
			return SERVE_GONE;
		}
		if (n <= 0 || n % sizeof(*v->be.rsp)) {
			say("write: %s\n", n < 0 ? strerror(errno) :
			    "not whole records");
			return SERVE_ERROR;
		}
		done += n;
	}
	return SERVE_OK;
}

static int serve_pending(struct vdev *v)
{
	v->st.wakeups++;
	for (;;) {
		ssize_t n = read(v->be.fd, v->be.req,
				 v->be.batch * sizeof(*v->be.req));
		unsigned int nr, i;
		int ret;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return SERVE_OK;
		if (n < 0 && errno == ENODEV) {
			v->gone = true;
			return SERVE_GONE;
		}
		if (n <= 0 || n % sizeof(*v->be.req)) {
			say("read: %s\n", n < 0 ? strerror(errno) :
			    "not whole records");
			return SERVE_ERROR;
		}
		nr = n / sizeof(*v->be.req);
		v->st.requests += nr;
		for (i = 0; i < nr; i++) {
			const struct xen_pci_ioreq_request *r = &v->be.req[i];
			struct xen_pci_ioreq_response *rsp = &v->be.rsp[i];
			__u64 data;

			if (!serve_one(v, r, &data)) {
				say("bad request %llu: kind %u dir %u size %u addr %#llx\n",
				    (unsigned long long)r->id, r->kind, r->dir,
				    r->size, (unsigned long long)r->addr);
				data = ~0ULL;
			}
			if (v->verbose)
				fprintf(stderr, PROG ": %s %s %#llx/%u %#llx\n",
					r->kind == XEN_PCI_IOREQ_KIND_CONFIG ?
					"cfg" : "mmio",
					r->dir == XEN_PCI_IOREQ_DIR_READ ?
					"read" : "write",
					(unsigned long long)r->addr, r->size,
					(unsigned long long)(r->dir ==
					XEN_PCI_IOREQ_DIR_READ ? data : r->data));
			memset(rsp, 0, sizeof(*rsp));
			rsp->id = r->id;
			if (r->dir == XEN_PCI_IOREQ_DIR_READ)
				rsp->data = data & pci_ioreq_size_mask(r->size);
		}
		/* Let the vCPUs go first, then do the queues' work. */
		ret = complete(v, nr);
		if (ret == SERVE_OK && v->gone)
			ret = SERVE_GONE;
		if (ret != SERVE_OK)
			return ret;
		process_kicked(v);
		if (v->gone)
			return SERVE_GONE;
		if (nr < v->be.batch)
			return SERVE_OK;
	}
}

static void print_stats(struct vdev *v)
{
	const struct vstats *s = &v->st;
	double chains = s->chains ? s->chains : 1;

	printf(PROG ": stats %s %04x:%02x:%02x.%x dom%u: requests %llu (config %llu, mmio %llu)",
	       v->name, v->fn.segment, v->fn.bus, PCI_SLOT(v->fn.devfn),
	       PCI_FUNC(v->fn.devfn), v->be.info.domid, s->requests, s->cfg,
	       s->mmio);
	printf(" notifies %llu by request, %llu by ioeventfd", s->notify_mmio,
	       s->notify_eventfd);
	printf(" wakeups %llu (%.3f per buffer) buffers %llu", s->wakeups +
	       s->kick_wakeups, (s->wakeups + s->kick_wakeups) / chains,
	       s->chains);
	printf(" intx %llu irqfd %llu in %llu out %llu flushes %llu errors %llu",
	       s->intx, s->irqfd, s->bytes_in, s->bytes_out, s->flushes,
	       s->errors);
	printf(" broken %llu resets %llu foreign-map calls %llu pages %llu",
	       s->broken, s->resets, v->mem.map_calls, v->mem.pages_mapped);
	printf(" grant maps %llu pages %llu", v->mem.grant_maps,
	       v->mem.grant_pages);
	if (v->type == DEV_RNG)
		printf(" rng seed %llu served %llu", (unsigned long long)v->seed,
		       (unsigned long long)v->rng_served);
	printf("\n");
	fflush(stdout);
}

/* ---- event loop ---- */

#define EV_DEV		(-1ULL)
#define EV_SIG		(-2ULL)

static int event_loop(struct vdev *v, int sfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, ret = SERVE_ERROR;
	unsigned int i;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		goto fail;
	ev.data.u64 = EV_DEV;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, v->be.fd, &ev))
		goto fail;
	ev.data.u64 = EV_SIG;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev))
		goto fail;
	for (i = 0; i < v->nr_queues && v->fast; i++) {
		ev.data.u64 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, v->vq[i].kick_fd, &ev))
			goto fail;
	}

	for (;;) {
		struct epoll_event evs[2 + MAX_QUEUES];
		struct signalfd_siginfo si;
		int n, k;

		n = epoll_wait(ep, evs, 2 + MAX_QUEUES, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		for (k = 0; k < n; k++) {
			__u64 what = evs[k].data.u64;
			__u64 cnt;

			if (what == EV_SIG) {
				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGUSR1) {
					print_stats(v);
					continue;
				}
				say("%s: stopping\n", strsignal(si.ssi_signo));
				ret = SERVE_OK;
				goto out;
			}
			if (what == EV_DEV) {
				ret = serve_pending(v);
				if (ret != SERVE_OK)
					goto out;
				if (evs[k].events & (EPOLLHUP | EPOLLERR)) {
					v->gone = true;
					ret = SERVE_GONE;
					goto out;
				}
				continue;
			}
			if (read(v->vq[what].kick_fd, &cnt, sizeof(cnt)) !=
			    sizeof(cnt))
				continue;
			v->st.kick_wakeups++;
			v->st.notify_eventfd += cnt;
			process_queue(v, &v->vq[what]);
			if (v->gone) {
				ret = SERVE_GONE;
				goto out;
			}
		}
	}
fail:
	say("epoll: %s\n", strerror(errno));
out:
	if (ep >= 0)
		close(ep);
	return ret;
}

/* Leave nothing behind: the guest may go on and rescan. */
static void teardown(struct vdev *v)
{
	struct xen_pci_ioreq_irqfd irq = {
		.fn = v->fn,
		.fd = v->irqfd,
		.flags = XEN_PCI_IOREQ_IRQFD_DEASSIGN,
		.pin = INTX_PIN,
	};

	if (v->gone)
		return;
	v->hdr.command &= ~PCI_COMMAND_MEMORY;
	update_bars(v);		/* the kernel drops the ioeventfds with it */
	if (v->irqfd >= 0 && ioctl(v->be.fd, XEN_PCI_IOREQ_IRQFD, &irq))
		ioctl_failed(v, "XEN_PCI_IOREQ_IRQFD (remove)");
	v->irqfd = -1;
	v->isr = 0;
	set_intx(v, false);
	if (!v->gone && ioctl(v->be.fd, XEN_PCI_IOREQ_UNREGISTER, &v->fn))
		ioctl_failed(v, "XEN_PCI_IOREQ_UNREGISTER");
}

static int setup_fast(struct vdev *v)
{
	struct xen_pci_ioreq_irqfd irq = {
		.fn = v->fn,
		.pin = INTX_PIN,
	};
	unsigned int i;

	for (i = 0; i < v->nr_queues; i++) {
		v->vq[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->vq[i].kick_fd < 0)
			goto fail;
	}
	irq.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (irq.fd < 0)
		goto fail;
	if (ioctl(v->be.fd, XEN_PCI_IOREQ_IRQFD, &irq)) {
		say("XEN_PCI_IOREQ_IRQFD: %s\n", strerror(errno));
		close(irq.fd);
		return -1;
	}
	v->irqfd = irq.fd;
	return 0;
fail:
	say("eventfd: %s\n", strerror(errno));
	return -1;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " --domid N --slot S --device blk|rng [options]\n"
		"Serve a virtio-pci device (virtio 1.x, INTx) to Xen guest N at\n"
		"0000:BB:SS.F through " PCI_IOREQ_DEV_PATH ".\n"
		PCI_IOREQ_TARGET_USAGE
		"  -t, --device TYPE      blk or rng (required)\n"
		"  -D, --disk FILE        blk: the backing file (required for blk)\n"
		"  -r, --read-only        blk: a read-only disk\n"
		"  -i, --serial ID        blk: the disk's id (20 bytes at most)\n"
		"  -S, --seed N           rng: the seed of the byte stream\n"
		"                         (default 1)\n"
		"  -F, --fast             notify by ioeventfd, interrupt by irqfd\n"
		"  -g, --grants           guest memory by grants (xen-grant-dma-ops\n"
		"                         in the guest), not by foreign mapping\n"
		"  -v, --verbose          trace every request on stderr\n"
		"  -h, --help             this help\n");
}

static int open_disk(struct vdev *v, const char *path)
{
	struct stat sb;

	v->disk_fd = open(path, (v->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (v->disk_fd < 0 || fstat(v->disk_fd, &sb)) {
		say("%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < SECTOR_SIZE) {
		say("%s: not a regular file of at least %u bytes\n", path,
		    SECTOR_SIZE);
		return -1;
	}
	v->capacity = sb.st_size / SECTOR_SIZE;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option own_opts[] = {
		{ "device", required_argument, NULL, 't' },
		{ "disk", required_argument, NULL, 'D' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "serial", required_argument, NULL, 'i' },
		{ "seed", required_argument, NULL, 'S' },
		{ "fast", no_argument, NULL, 'F' },
		{ "grants", no_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct pci_ioreq_target tgt = PCI_IOREQ_TARGET_INIT;
	unsigned long long seed = 1;
	struct vdev v = { .be.fd = -1, .disk_fd = -1, .irqfd = -1 };
	const char *disk = NULL, *type = NULL, *serial = NULL;
	unsigned int i;
	int opt, sfd, ret = SERVE_ERROR;

	while ((opt = pci_ioreq_getopt(argc, argv, "t:D:ri:S:Fgvh", own_opts,
				       &tgt)) != -1) {
		switch (opt) {
		case 't':
			type = optarg;
			if (strcmp(type, "blk") && strcmp(type, "rng"))
				pci_ioreq_bad_arg("device");
			break;
		case 'D':
			disk = optarg;
			break;
		case 'r':
			v.read_only = true;
			break;
		case 'i':
			serial = optarg;
			if (strlen(serial) > VIRTIO_BLK_ID_BYTES)
				pci_ioreq_bad_arg("serial");
			break;
		case 'S':
			if (!pci_ioreq_parse_uint(optarg, ULLONG_MAX, true,
						  &seed))
				pci_ioreq_bad_arg("seed");
			break;
		case 'F':
			v.fast = true;
			break;
		case 'g':
			v.grants = true;
			break;
		default:
			pci_ioreq_common_opt(opt, &v.verbose, print_usage);
			break;
		}
	}
	if (optind != argc || !pci_ioreq_target_done(&tgt) || !type ||
	    (!strcmp(type, "blk") != !!disk)) {
		if (type && !strcmp(type, "blk") && !disk)
			say("--device blk needs --disk FILE\n");
		else if (disk)
			say("--disk is for --device blk\n");
		print_usage(stderr);
		return 2;
	}

	v.name = type;
	v.type = strcmp(type, "blk") ? DEV_RNG : DEV_BLK;
	v.fn = tgt.fn;
	v.hdr.bar[0].size = BAR0_SIZE;
	v.hdr.bar[0].flags = PCI_BASE_ADDRESS_SPACE_MEMORY |
			     PCI_BASE_ADDRESS_MEM_TYPE_32;
	v.nr_queues = 1;
	v.features = 1ULL << VIRTIO_F_VERSION_1 |
		     1ULL << VIRTIO_F_ACCESS_PLATFORM |
		     1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (v.type == DEV_BLK) {
		v.features |= 1ULL << VIRTIO_BLK_F_SEG_MAX |
			      1ULL << VIRTIO_BLK_F_BLK_SIZE |
			      1ULL << VIRTIO_BLK_F_FLUSH;
		if (v.read_only)
			v.features |= 1ULL << VIRTIO_BLK_F_RO;
		if (!serial)
			serial = VIRTIO_BLK_SERIAL;
		/* not NUL-terminated when it takes all 20 bytes */
		memcpy(v.serial, serial, strlen(serial));
	}
	v.seed = seed;
	v.rng_state = seed;
	for (i = 0; i < MAX_QUEUES; i++)
		v.vq[i].kick_fd = -1;
	reset_device(&v);
	v.st.resets = 0;
	v.chain = malloc(sizeof(*v.chain));
	if (!v.chain) {
		say("out of memory\n");
		return 1;
	}

	sfd = pci_ioreq_loop_signalfd();
	if (sfd < 0)
		return 1;

	if ((v.type == DEV_BLK && open_disk(&v, disk)) ||
	    mem_init(&v.mem, tgt.domid, v.grants) ||
	    pci_ioreq_backend_open(&v.be, tgt.domid,
				   pci_ioreq_target_layout(&tgt), &v.fn) ||
	    (v.fast && setup_fast(&v)))
		goto out;

	printf(PROG ": serving %04x:%02x:%02x.%x of domain %u: virtio-%s",
	       v.fn.segment, v.fn.bus, PCI_SLOT(v.fn.devfn),
	       PCI_FUNC(v.fn.devfn), v.be.info.domid, v.name);
	if (v.type == DEV_BLK)
		printf(" %s (%llu sectors%s)", disk,
		       (unsigned long long)v.capacity,
		       v.read_only ? ", read-only" : "");
	else
		printf(" seed %llu", seed);
	printf(", guest memory by %s, %s\n",
	       v.grants ? "grants" : "foreign mapping",
	       v.fast ? "ioeventfd + irqfd" : "notify and INTx by request");
	fflush(stdout);

	ret = event_loop(&v, sfd);
	if (ret == SERVE_GONE)
		say("domain %u is gone\n", v.be.info.domid);
	teardown(&v);
	print_stats(&v);
out:
	pci_ioreq_backend_close(&v.be);
	for (i = 0; i < MAX_QUEUES; i++)
		if (v.vq[i].kick_fd >= 0)
			close(v.vq[i].kick_fd);
	if (v.irqfd >= 0)
		close(v.irqfd);
	mem_exit(&v.mem);
	if (v.disk_fd >= 0)
		close(v.disk_fd);
	free(v.chain);
	close(sfd);
	return ret == SERVE_ERROR ? 1 : 0;
}
