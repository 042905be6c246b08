// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues of pci-ioreq-virtio's devices (virtio-pci.h): mapping a
 * queue's rings, walking its descriptor chains (with indirect tables)
 * into requests, handing them to the device and publishing them as used,
 * at once or when the I/O threads (virtio-io.c) are done with them, and
 * copying into and out of a chain's buffers. Called by the transport
 * (virtio-pci.c) and the devices.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_config.h>

#include "virtio-pci.h"

/* Unmap a queue's three rings, mapped or not. */
void vq_unmap_rings(struct vdev *v, struct vq *q)
{
	pci_ioreq_dma_unmap(&v->mem, &q->desc_map);
	pci_ioreq_dma_unmap(&v->mem, &q->avail_map);
	pci_ioreq_dma_unmap(&v->mem, &q->used_map);
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
}

static bool queue_ring_sizes_ok(struct vq *q)
{
	return q->size && q->size <= VIRTIO_QUEUE_SIZE_MAX &&
	       !(q->size & (q->size - 1));
}

/* Map the three rings of @q; false (nothing mapped) if one is not RAM. */
static bool vq_map_rings(struct vdev *v, struct vq *q)
{
	__u64 dlen = 16ULL * q->size;
	__u64 alen = 6 + 2ULL * q->size;
	__u64 ulen = 6 + 8ULL * q->size;
	struct pci_ioreq_mem *m = &v->mem;

	q->desc = pci_ioreq_dma_map(m, q->desc_addr, dlen, false, &q->desc_map);
	q->avail = pci_ioreq_dma_map(m, q->avail_addr, alen, false,
				     &q->avail_map);
	q->used = pci_ioreq_dma_map(m, q->used_addr, ulen, true, &q->used_map);
	if (q->desc && q->avail && q->used)
		return true;
	vq_unmap_rings(v, q);
	return false;
}

void vq_remap_rings(struct vdev *v, struct vq *q)
{
	if (!vq_map_rings(v, q))
		virtio_mark_broken(v, "rings no longer in guest memory: %#llx %#llx %#llx",
				   (unsigned long long)q->desc_addr,
				   (unsigned long long)q->avail_addr,
				   (unsigned long long)q->used_addr);
}

/* The driver enabled a queue: map its three rings, or break. */
void vq_enable(struct vdev *v, struct vq *q)
{
	if (!queue_ring_sizes_ok(q)) {
		virtio_mark_broken(v, "queue size %u", q->size);
		return;
	}
	if ((q->desc_addr & 15) || (q->avail_addr & 1) || (q->used_addr & 3)) {
		virtio_mark_broken(v, "misaligned rings %#llx %#llx %#llx",
				   (unsigned long long)q->desc_addr,
				   (unsigned long long)q->avail_addr,
				   (unsigned long long)q->used_addr);
		return;
	}
	if (!vq_map_rings(v, q)) {
		virtio_mark_broken(v, "rings not in guest memory given to us: %#llx %#llx %#llx",
				   (unsigned long long)q->desc_addr,
				   (unsigned long long)q->avail_addr,
				   (unsigned long long)q->used_addr);
		return;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->enabled = true;
}

static __u16 avail_idx(struct vq *q)
{
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
}

/* Append a descriptor's buffer to @c; false if it is not guest RAM. */
static bool chain_add(struct vdev *v, struct chain *c, __u64 addr, __u32 len,
		      bool write)
{
	struct seg *s;

	if (c->nr >= VIRTIO_CHAIN_MAX) {
		virtio_mark_broken(v, "descriptor chain longer than %u", VIRTIO_CHAIN_MAX);
		return false;
	}
	if (!write && c->nr > c->nr_read) {
		virtio_mark_broken(v, "device-readable descriptor after a writable one");
		return false;
	}
	/* The used length is 32 bits: a longer chain would wrap it. */
	if (len > UINT32_MAX - c->read_len - c->write_len) {
		virtio_mark_broken(v, "descriptor chain longer than 4 GiB");
		return false;
	}
	s = &c->seg[c->nr];
	s->len = len;
	s->write = write;
	s->m.pages = 0;
	s->p = len ? pci_ioreq_dma_map(&v->mem, addr, len, write, &s->m) : NULL;
	if (len && !s->p) {
		virtio_mark_broken(v, "buffer %#llx+%u is not guest memory given to us",
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
	struct pci_ioreq_gmap tm;
	bool ok = false;

	if (!(v->driver_features & 1ULL << VIRTIO_RING_F_INDIRECT_DESC) ||
	    !len || len % sizeof(*t) || n > VIRTIO_INDIRECT_MAX) {
		virtio_mark_broken(v, "bad indirect table: %u bytes", len);
		return false;
	}
	t = pci_ioreq_dma_map(&v->mem, addr, len, false, &tm);
	if (!t) {
		virtio_mark_broken(v, "indirect table %#llx+%u is not guest memory given to us",
				   (unsigned long long)addr, len);
		return false;
	}
	for (;;) {
		struct vring_desc d = t[i];

		if (steps++ >= n) {
			virtio_mark_broken(v, "indirect descriptor chain loops");
			break;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			virtio_mark_broken(v, "nested indirect table");
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
			virtio_mark_broken(v, "indirect descriptor %u out of its table", i);
			break;
		}
	}
	pci_ioreq_dma_unmap(&v->mem, &tm);
	return ok;
}

/* Undo the mappings of the chain's buffers (grants). */
static void chain_release(struct vdev *v, struct chain *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		pci_ioreq_dma_unmap(&v->mem, &c->seg[i].m);
	c->nr = 0;
}

/*
 * Take the next available chain of @q into @c. Returns 1 with a chain, 0
 * when none is available, -1 when the device broke.
 */
static int vq_walk(struct vdev *v, struct vq *q, struct chain *c)
{
	__u16 avail = avail_idx(q), head, i;
	unsigned int steps = 0;

	if (avail == q->last_avail)
		return 0;
	if ((__u16)(avail - q->last_avail) > q->size) {
		virtio_mark_broken(v, "avail index %u runs %u ahead of %u",
				   avail, (__u16)(avail - q->last_avail),
				   q->last_avail);
		return -1;
	}
	head = q->avail->ring[q->last_avail & (q->size - 1)];
	if (head >= q->size) {
		virtio_mark_broken(v, "avail ring entry %u out of the queue", head);
		return -1;
	}
	q->last_avail++;
	memset(c, 0, offsetof(struct chain, seg));
	c->head = head;
	for (i = head;;) {
		struct vring_desc d = q->desc[i];

		if (steps++ >= q->size) {
			virtio_mark_broken(v, "descriptor chain from %u loops", head);
			return -1;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if ((d.flags & VRING_DESC_F_NEXT) ||
			    !chain_indirect(v, c, d.addr, d.len)) {
				virtio_mark_broken(v, "indirect descriptor %u", i);
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
			virtio_mark_broken(v, "descriptor %u out of the queue", i);
			return -1;
		}
	}
}

/* vq_walk(), leaving nothing mapped when the device broke. */
static int vq_pop(struct vdev *v, struct vq *q, struct chain *c)
{
	int r = vq_walk(v, q, c);

	if (r < 0)
		chain_release(v, c);
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

/*
 * Copy @len bytes between @buf and offset @off of the chain's readable
 * part (@write false: out of the chain) or writable part (into it).
 */
static bool chain_copy(const struct chain *c, bool write, __u64 off,
		       __u8 *buf, __u64 len)
{
	struct iovec iov[VIRTIO_CHAIN_MAX];
	int i, n = chain_iov(c, write, off, len, iov);

	for (i = 0; i < n; i++) {
		if (write)
			memcpy(iov[i].iov_base, buf, iov[i].iov_len);
		else
			memcpy(buf, iov[i].iov_base, iov[i].iov_len);
		buf += iov[i].iov_len;
		len -= iov[i].iov_len;
	}
	return !len;
}

bool chain_read(const struct chain *c, __u64 off, void *buf, __u64 len)
{
	return chain_copy(c, false, off, buf, len);
}

bool chain_write(const struct chain *c, __u64 off, const void *buf,
		 __u64 len)
{
	return chain_copy(c, true, off, (__u8 *)buf, len);
}

/*
 * The iovecs of @len bytes from offset @off of the readable (@write false)
 * or writable part of the chain. Returns their number.
 */
int chain_iov(const struct chain *c, bool write, __u64 off, __u64 len,
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

/*
 * VIRTIO_RING_F_EVENT_IDX: the driver's used_event (after the avail ring)
 * and the device's avail_event (after the used ring).
 */
static __u16 *used_event(struct vq *q)
{
	return &q->avail->ring[q->size];
}

static __u16 *avail_event(struct vq *q)
{
	return (__u16 *)&q->used->ring[q->size];
}

/*
 * Whether the driver wants an interrupt for the used entries from @old on:
 * without EVENT_IDX unless it set VRING_AVAIL_F_NO_INTERRUPT, with it if
 * they pass its used_event (virtio 1.x, 2.7.10).
 */
static bool want_interrupt(struct vq *q, bool event_idx, __u16 old)
{
	if (!event_idx)
		return !(__atomic_load_n(&q->avail->flags, __ATOMIC_ACQUIRE) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	/* the used index is published before the driver's event is read */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vring_need_event(__atomic_load_n(used_event(q), __ATOMIC_ACQUIRE),
				q->used_idx, old);
}

bool vq_more_avail(struct vq *q)
{
	return avail_idx(q) != q->last_avail;
}

static bool vq_serving(struct vdev *v, struct vq *q)
{
	return q->enabled && (v->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(v->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/*
 * Unmap the buffers of @r, publish it as used (@publish, unless its queue
 * stopped serving since) and free it. Returns whether it was published.
 */
static bool vq_retire(struct vdev *v, struct vreq *r, bool publish)
{
	bool pushed = publish && vq_serving(v, r->q);

	/* Nothing of the buffers stays mapped once used. */
	chain_release(v, &r->chain);
	if (pushed) {
		vq_push(r->q, r->chain.head, r->used);
		v->st.chains++;
	}
	virtio_io_put(v, r);
	return pushed;
}

/*
 * Serve what queue @q has; interrupt once if anything was used and the
 * driver wants it. With EVENT_IDX, ask for the next notification only once
 * the ring is empty (avail_event), then look once more: a buffer the driver
 * made available before it saw the new avail_event sent no notification.
 * Requests the device hands to the I/O threads are published later, by
 * vq_complete(); a queue that finds no free request waits for that too.
 */
void vq_process(struct vdev *v, struct vq *q)
{
	bool event_idx = v->driver_features & 1ULL << VIRTIO_RING_F_EVENT_IDX;
	__u16 old = q->used_idx;
	bool used = false;
	struct vreq *r;
	int got = 0;

	if (!vq_serving(v, q))
		return;
	q->kicked = false;
	q->starved = false;
	for (;;) {
		for (;;) {
			r = virtio_io_get(v);
			if (!r) {
				q->starved = true;
				break;
			}
			r->q = q;
			got = vq_pop(v, q, &r->chain);
			if (got <= 0) {
				virtio_io_put(v, r);
				break;
			}
			/* served at once, or the I/O threads have it */
			if (v->dev->request(v, r))
				used |= vq_retire(v, r, true);
			if (!vq_serving(v, q))
				break;
		}
		if (!event_idx || got || q->starved || !vq_serving(v, q))
			break;
		__atomic_store_n(avail_event(q), q->last_avail, __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (avail_idx(q) == q->last_avail)
			break;
	}
	if (used && want_interrupt(q, event_idx, old))
		virtio_interrupt(v, q);
}

void vq_complete(struct vdev *v, bool publish, bool serve)
{
	bool event_idx = v->driver_features & 1ULL << VIRTIO_RING_F_EVENT_IDX;
	__u16 old[VIRTIO_MAX_QUEUES];
	bool used[VIRTIO_MAX_QUEUES] = { };
	struct vreq *r, *next;
	unsigned int i;

	for (i = 0; i < v->nr_queues; i++)
		old[i] = v->vq[i].used_idx;
	for (r = virtio_io_reap(v); r; r = next) {
		struct vq *q = r->q;

		next = r->next;
		if (v->dev->io_done)
			v->dev->io_done(v, r);
		if (vq_retire(v, r, publish))
			used[q - v->vq] = true;
	}
	for (i = 0; i < v->nr_queues; i++) {
		struct vq *q = &v->vq[i];

		if (used[i] && want_interrupt(q, event_idx, old[i]))
			virtio_interrupt(v, q);
		if (serve && (q->starved || q->kicked))
			vq_process(v, q);
	}
}
