// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI function a backend of samples/xen/ emulates (pci-ioreq-lib.h):
 * access sizes and byte lanes, dword register spaces, the type 0 header
 * and its BARs, the routing of the BARs' ranges as the guest places them
 * and turns decoding on and off, INTx, and serving the guest's config and
 * BAR requests through the backend's register callbacks. Used by
 * pci-ioreq-emu and pci-ioreq-virtio; pci-passthrough uses the access
 * helpers only.
 */

#include <errno.h>
#include <string.h>

#include "pci-ioreq-lib.h"

bool pci_ioreq_valid_size(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

__u64 pci_ioreq_size_mask(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 ? (1ULL << size * 8) - 1 :
						     ~0ULL;
}

__u64 pci_ioreq_mem_read(const __u8 *p, unsigned int size)
{
	__u64 val = 0;
	unsigned int i;

	for (i = 0; i < size; i++)
		val |= (__u64)p[i] << i * 8;
	return val;
}

void pci_ioreq_mem_write(__u8 *p, unsigned int size, __u64 val)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		p[i] = val >> i * 8;
}

__u64 pci_ioreq_dword_read(void *dev, pci_ioreq_read32_fn rd,
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

void pci_ioreq_dword_write(void *dev, pci_ioreq_write32_fn wr,
			   unsigned int off, unsigned int size, __u64 data)
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

/* ---- the type 0 header ---- */

/*
 * The BAR whose address config dword @off (a BAR's) holds: its index, or -1
 * for none; *@upper: the dword is the upper half of a 64-bit BAR's.
 */
static int bar_of(const struct pci_ioreq_header *h, unsigned int off,
		  bool *upper)
{
	int i = (off - PCI_BASE_ADDRESS_0) / 4;

	*upper = !h->bar[i].size && i &&
		 (h->bar[i - 1].flags & PCI_BASE_ADDRESS_MEM_TYPE_64);
	i -= *upper;
	return h->bar[i].size ? i : -1;
}

/* Config dword @off, which is a BAR's. */
static __u32 bar_read(const struct pci_ioreq_header *h, unsigned int off)
{
	bool upper;
	int i = bar_of(h, off, &upper);

	if (i < 0)
		return 0;
	return upper ? h->bar[i].addr >> 32 :
		       (__u32)h->bar[i].addr | h->bar[i].flags;
}

__u32 pci_ioreq_header_read(struct pci_ioreq_backend *be, unsigned int off,
			    __u16 status)
{
	const struct pci_ioreq_header *h = &be->hdr;

	switch (off) {
	case PCI_VENDOR_ID:
		return h->vendor | (__u32)h->device << 16;
	case PCI_COMMAND:
		return h->command | (__u32)status << 16;
	case PCI_CLASS_REVISION:
		return h->class_rev;
	case PCI_CACHE_LINE_SIZE:
		return h->cache_line | h->latency << 8 |
		       (__u32)h->header_type << 16;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5:
		return bar_read(h, off);
	case PCI_SUBSYSTEM_VENDOR_ID:
		return h->subsys_vendor | (__u32)h->subsys << 16;
	case PCI_CAPABILITY_LIST:
		return h->cap_list;
	case PCI_INTERRUPT_LINE:
		return h->irq_line | h->pin << 8;
	default:
		/* no expansion ROM, nothing else the header holds */
		return 0;
	}
}

/*
 * Config dword @off as a write of the bytes @mask selects leaves it, @new:
 * take it if it holds registers of @h. A BAR keeps the address bits above
 * its size; those below read as its flags. Returns true when the Command
 * register or a BAR may have changed.
 */
static bool header_take(struct pci_ioreq_header *h, unsigned int off,
			__u32 new, __u32 mask)
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
		i = bar_of(h, off, &upper);
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

__u32 pci_ioreq_header_write(struct pci_ioreq_backend *be, unsigned int off,
			     __u32 cur, __u32 val, __u32 mask)
{
	__u32 new = (cur & ~mask) | (val & mask);

	if (header_take(&be->hdr, off, new, mask)) {
		pci_ioreq_update_bars(be);
		if (be->ops->header_changed)
			be->ops->header_changed(be);
	}
	return new;
}

/* ---- BAR ranges and INTx ---- */

/* Route BAR @i at @addr to the backend (@add), or stop. */
static int bar_mmio(struct pci_ioreq_backend *be, bool add, unsigned int i,
		    __u64 addr)
{
	struct xen_pci_ioreq_mmio mmio = {
		.fn = be->fn,
		.bar = i,
		.addr = addr,
		.size = be->hdr.bar[i].size,
	};

	if (add)
		return be->t->ops->add_mmio(be->t, &mmio);
	return be->t->ops->remove_mmio(be->t, &mmio);
}

/*
 * An address of 0 counts as unassigned, and a BAR half way through a
 * 64-bit update may point past the end of the address space: neither is
 * routed.
 */
void pci_ioreq_update_bars(struct pci_ioreq_backend *be)
{
	bool decode = be->hdr.command & PCI_COMMAND_MEMORY;
	unsigned int i;

	for (i = 0; i < PCI_STD_NUM_BARS && !be->gone; i++) {
		struct pci_ioreq_bar *b = &be->hdr.bar[i];
		bool want = decode && b->size && b->addr &&
			    b->addr <= ~0ULL - b->size;

		if (b->mapped && (!want || b->mapped_addr != b->addr)) {
			if (bar_mmio(be, false, i, b->mapped_addr))
				pci_ioreq_failed(be);
			else
				be->st.unmaps++;
			b->mapped = false;
		}
		if (want && !b->mapped && !be->gone) {
			if (bar_mmio(be, true, i, b->addr)) {
				pci_ioreq_failed(be);
				continue;
			}
			b->mapped = true;
			b->mapped_addr = b->addr;
			be->st.maps++;
		}
	}
	if (be->ops->bars_routed)
		be->ops->bars_routed(be);
}

void pci_ioreq_unroute_bars(struct pci_ioreq_backend *be)
{
	unsigned int i;

	for (i = 0; i < PCI_STD_NUM_BARS && !be->gone; i++) {
		struct pci_ioreq_bar *b = &be->hdr.bar[i];

		if (!b->mapped)
			continue;
		if (bar_mmio(be, false, i, b->mapped_addr))
			pci_ioreq_failed(be);
		b->mapped = false;
	}
}

int pci_ioreq_set_intx(struct pci_ioreq_backend *be, bool level)
{
	struct xen_pci_ioreq_intx intx = {
		.fn = be->fn,
		.pin = be->hdr.pin,
		.level = level,
	};

	if (!be->t->ops->set_intx(be->t, &intx))
		return 0;
	pci_ioreq_failed(be);
	return -1;
}

int pci_ioreq_msi(struct pci_ioreq_backend *be, __u64 address, __u32 data)
{
	struct xen_pci_ioreq_msi msi = {
		.fn = be->fn,
		.data = data,
		.address = address,
	};

	if (!be->t->ops->msi) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (!be->t->ops->msi(be->t, &msi))
		return 0;
	pci_ioreq_failed(be);
	return -1;
}

/* ---- requests ---- */

static bool serve_config(struct pci_ioreq_backend *be,
			 const struct xen_pci_ioreq_request *r, __u64 *data)
{
	const struct pci_ioreq_backend_ops *ops = be->ops;

	if (r->addr >= PCI_IOREQ_CFG_SIZE ||
	    r->addr + r->size > PCI_IOREQ_CFG_SIZE)
		return false;
	if (r->dir == XEN_PCI_IOREQ_DIR_READ)
		be->st.cfg_reads++;
	else
		be->st.cfg_writes++;
	if (ops->cfg_access && ops->cfg_access(be, r, data))
		return true;
	if (r->dir == XEN_PCI_IOREQ_DIR_READ)
		*data = pci_ioreq_dword_read(be, ops->cfg_read32, r->addr,
					     r->size);
	else
		pci_ioreq_dword_write(be, ops->cfg_write32, r->addr, r->size,
				      r->data);
	return true;
}

static bool serve_bar(struct pci_ioreq_backend *be,
		      const struct xen_pci_ioreq_request *r, __u64 *data)
{
	bool rd = r->dir == XEN_PCI_IOREQ_DIR_READ;
	struct pci_ioreq_bar *b;
	__u64 off;

	if (r->bar >= PCI_STD_NUM_BARS || !be->hdr.bar[r->bar].mapped)
		return false;
	b = &be->hdr.bar[r->bar];
	off = r->addr - b->mapped_addr;
	if (r->addr < b->mapped_addr || off >= b->size ||
	    off + r->size > b->size)
		return false;
	if (rd)
		be->st.mmio_reads++;
	else
		be->st.mmio_writes++;
	be->cur_bar = r->bar;
	if (b->mem && rd)
		*data = pci_ioreq_mem_read(b->mem + off, r->size);
	else if (b->mem)
		pci_ioreq_mem_write(b->mem + off, r->size, r->data);
	else if (rd)
		*data = pci_ioreq_dword_read(be, be->ops->bar_read32, off,
					     r->size);
	else
		pci_ioreq_dword_write(be, be->ops->bar_write32, off, r->size,
				      r->data);
	return true;
}

bool pci_ioreq_serve(struct pci_ioreq_backend *be,
		     const struct xen_pci_ioreq_request *r, __u64 *data)
{
	*data = 0;
	if (!pci_ioreq_valid_size(r->size) ||
	    memcmp(&r->fn, &be->fn, sizeof(be->fn)))
		return false;
	if (r->dir != XEN_PCI_IOREQ_DIR_READ && r->dir != XEN_PCI_IOREQ_DIR_WRITE)
		return false;

	switch (r->kind) {
	case XEN_PCI_IOREQ_KIND_CONFIG:
		return serve_config(be, r, data);
	case XEN_PCI_IOREQ_KIND_MMIO:
		return serve_bar(be, r, data);
	default:
		return false;
	}
}
