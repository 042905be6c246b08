// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory for pci-ioreq-virtio (pci-ioreq-mem.h): foreign mappings of
 * the guest's RAM, cached, or mappings of its grants.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pci-ioreq-lib.h"
#include "pci-ioreq-mem.h"

/* Guest RAM of an Arm guest (Xen's guest layout): mapped on first use. */
#define GUEST_RAM0_BASE		0x40000000ULL
#define GUEST_RAM0_SIZE		0xc0000000ULL
#define GUEST_RAM1_BASE		0x0200000000ULL
#define GUEST_RAM1_SIZE		0x1000000000ULL	/* the first 64 GiB of it */
#define XEN_PAGE_SHIFT		12
#define CHUNK_SHIFT		21	/* 2 MiB */
#define CHUNK_PAGES		(1U << (CHUNK_SHIFT - XEN_PAGE_SHIFT))

/* One 2 MiB chunk of guest RAM: whether it was mapped, and which pages. */
struct pci_ioreq_mem_chunk {
	bool tried;
	__u64 ok[CHUNK_PAGES / 64];
};

int pci_ioreq_mem_init(struct pci_ioreq_mem *m, unsigned int domid, bool grants)
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
		struct pci_ioreq_ram_region *r = &m->r[i];

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

void pci_ioreq_mem_exit(struct pci_ioreq_mem *m)
{
	unsigned int i;
	__u64 c;

	for (i = 0; i < 2; i++) {
		struct pci_ioreq_ram_region *r = &m->r[i];

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

/* Unmap chunk @c of @r, keeping its range reserved. */
static void mem_drop_chunk(struct pci_ioreq_ram_region *r, __u64 c)
{
	struct pci_ioreq_mem_chunk *ch = &r->chunks[c];

	/* Replacing the mapping unmaps the guest's frames. */
	if (mmap(r->va + (c << CHUNK_SHIFT), 1UL << CHUNK_SHIFT, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		say("unmapping guest RAM at %#llx: %s\n",
		    (unsigned long long)(r->base + (c << CHUNK_SHIFT)),
		    strerror(errno));
	memset(ch, 0, sizeof(*ch));
}

void pci_ioreq_mem_invalidate(struct pci_ioreq_mem *m)
{
	unsigned int i;
	__u64 c;

	m->invalidates++;
	for (i = 0; i < 2; i++) {
		struct pci_ioreq_ram_region *r = &m->r[i];

		if (!r->va)
			continue;
		for (c = 0; c < r->size >> CHUNK_SHIFT; c++) {
			if (!r->chunks[c].tried)
				continue;
			mem_drop_chunk(r, c);
			m->chunks_dropped++;
		}
	}
}

/*
 * Map chunk @c of @r. Pages the guest does not have stay absent until the
 * chunk is mapped again: by mem_ptr() when it needs one of them, after an
 * invalidate.
 */
static void mem_map_chunk(struct pci_ioreq_mem *m,
			  struct pci_ioreq_ram_region *r, __u64 c)
{
	xen_pfn_t pfn[CHUNK_PAGES];
	int err[CHUNK_PAGES];
	struct pci_ioreq_mem_chunk *ch = &r->chunks[c];
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
static void *mem_ptr(struct pci_ioreq_mem *m, __u64 gpa, __u64 len)
{
	unsigned int i;
	__u64 pg, last;

	if (!len || gpa + len < gpa)
		return NULL;
	for (i = 0; i < 2; i++) {
		struct pci_ioreq_ram_region *r = &m->r[i];

		if (gpa < r->base || gpa - r->base >= r->size ||
		    len > r->size - (gpa - r->base))
			continue;
		last = (gpa - r->base + len - 1) >> XEN_PAGE_SHIFT;
		for (pg = (gpa - r->base) >> XEN_PAGE_SHIFT; pg <= last; pg++) {
			__u64 c = pg / CHUNK_PAGES;
			unsigned int p = pg % CHUNK_PAGES;
			struct pci_ioreq_mem_chunk *ch = &r->chunks[c];

			if (!ch->tried)
				mem_map_chunk(m, r, c);
			if (ch->ok[p / 64] & 1ULL << (p % 64))
				continue;
			/*
			 * Absent when the chunk was mapped: the guest may have
			 * taken the page since (it gives no notice of that).
			 * Map the chunk again, once; the pages mapped before
			 * are the same frames at the same addresses.
			 */
			if (ch->tried) {
				m->retries++;
				if (m->quiesce)
					m->quiesce(m->quiesce_arg);
				mem_drop_chunk(r, c);
				mem_map_chunk(m, r, c);
			}
			if (!(ch->ok[p / 64] & 1ULL << (p % 64)))
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

static void *grant_map(struct pci_ioreq_mem *m, __u64 addr, __u64 len,
		       bool write, struct pci_ioreq_gmap *g)
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

void *pci_ioreq_dma_map(struct pci_ioreq_mem *m, __u64 addr, __u64 len,
			bool write, struct pci_ioreq_gmap *g)
{
	g->pages = 0;
	if (!len || addr + len < addr)
		return NULL;
	if (m->xgt)
		return grant_map(m, addr, len, write, g);
	return mem_ptr(m, addr, len);
}

void pci_ioreq_dma_unmap(struct pci_ioreq_mem *m, struct pci_ioreq_gmap *g)
{
	if (g->pages && xengnttab_unmap(m->xgt, g->base, g->pages))
		say("unmapping %u granted pages: %s\n", g->pages,
		    strerror(errno));
	g->pages = 0;
}
