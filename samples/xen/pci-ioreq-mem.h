/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory for a backend of samples/xen/ whose device does DMA
 * (pci-ioreq-virtio): the guest's RAM by foreign mapping
 * (libxenforeignmemory), mapped on first use in 2 MiB chunks and kept
 * until the guest gives memory back (pci_ioreq_mem_invalidate()), or the
 * guest's grants (libxengnttab), mapped for the time of a request.
 * Defined in pci-ioreq-mem.c.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_MEM_H
#define _SAMPLES_XEN_PCI_IOREQ_MEM_H

#include <stdbool.h>

#include <linux/types.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

struct pci_ioreq_mem_chunk;

struct pci_ioreq_ram_region {
	__u64 base, size;
	__u8 *va;			/* reserved, PROT_NONE until mapped */
	struct pci_ioreq_mem_chunk *chunks;
};

struct pci_ioreq_mem {
	xenforeignmemory_handle *fmem;
	xengnttab_handle *xgt;		/* grants */
	unsigned int domid;
	struct pci_ioreq_ram_region r[2];
	unsigned long long map_calls, pages_mapped;
	unsigned long long invalidates, chunks_dropped, retries;
	unsigned long long grant_maps, grant_pages;
	/*
	 * Called before a chunk of guest RAM that buffers in flight may use
	 * is mapped again (a page of it was absent): the caller waits for
	 * them. NULL: nothing is in flight outside the caller's thread.
	 */
	void (*quiesce)(void *arg);
	void *quiesce_arg;
};

/* A mapping of granted pages, undone with pci_ioreq_dma_unmap(). */
struct pci_ioreq_gmap {
	void *base;
	__u32 pages;			/* 0: none */
};

/*
 * Open what reaches the memory of guest @domid: its grants (@grants) or
 * its RAM, for which address space is reserved. Returns 0, or -1 after
 * saying why (pci_ioreq_mem_exit() then releases what was set up).
 */
int pci_ioreq_mem_init(struct pci_ioreq_mem *m, unsigned int domid,
		       bool grants);
void pci_ioreq_mem_exit(struct pci_ioreq_mem *m);

/*
 * @len bytes at DMA address @addr of the guest, for the device to read
 * (and write, if @write). Foreign mapping: a pointer into the cached map
 * of guest RAM; grants: a new mapping, undone by pci_ioreq_dma_unmap().
 * NULL if the guest did not give us that memory.
 */
void *pci_ioreq_dma_map(struct pci_ioreq_mem *m, __u64 addr, __u64 len,
			bool write, struct pci_ioreq_gmap *g);
void pci_ioreq_dma_unmap(struct pci_ioreq_mem *m, struct pci_ioreq_gmap *g);

/*
 * The guest gave memory back to Xen (an invalidate record): unmap every
 * cached chunk of guest RAM, whose frames may no longer be the guest's.
 * Every pointer that pci_ioreq_dma_map() returned for foreign-mapped RAM
 * is then invalid: the caller maps again what it still uses (its rings),
 * and has no buffer in use (it waits for its requests in flight first).
 * Grants: nothing to do, none stays mapped past its request.
 */
void pci_ioreq_mem_invalidate(struct pci_ioreq_mem *m);

#endif /* _SAMPLES_XEN_PCI_IOREQ_MEM_H */
