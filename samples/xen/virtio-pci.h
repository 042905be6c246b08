/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtio devices of pci-ioreq-virtio: one modern (virtio 1.x) virtio-pci
 * function on the backends' library (pci-ioreq-lib.h), as the devices and
 * the program see it. Defined in
 *
 *   virtio-pci.c    the PCI transport: config space and its capabilities,
 *                   the common config, ISR, notify and device structures
 *                   in BAR 0, device status and reset, INTx or irqfd,
 *                   MSI-X (a vector per queue and one for config changes,
 *                   pci-ioreq-msix.c), ioeventfds;
 *   virtio-ring.c   split virtqueues: their rings, descriptor chains and
 *                   the copies into and out of a chain's buffers;
 *   virtio-io.c     the I/O threads: several requests in flight, a
 *                   device's file I/O done outside the loop's thread;
 *   virtio-blk.c    virtio-blk, backed by a file of dom0, with a queue per
 *                   vCPU (VIRTIO_BLK_F_MQ), its reads, writes and flushes
 *                   done by the I/O threads;
 *   virtio-rng.c    virtio-rng, a seeded stream.
 */

#ifndef _SAMPLES_XEN_VIRTIO_PCI_H
#define _SAMPLES_XEN_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/uio.h>

#include <linux/types.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "pci-ioreq-lib.h"
#include "pci-ioreq-mem.h"
#include "pci-ioreq-msix.h"

#define VIRTIO_MAX_QUEUES	8	/* virtio-blk: one per vCPU */
#define VIRTIO_QUEUE_SIZE_MAX	256
#define VIRTIO_INDIRECT_MAX	1024	/* descriptors in an indirect table */
#define VIRTIO_CHAIN_MAX	(VIRTIO_QUEUE_SIZE_MAX + VIRTIO_INDIRECT_MAX)
#define VIRTIO_IO_THREADS_MAX	16
#define VIRTIO_IO_DEPTH		4	/* requests in flight per I/O thread */

#define VIRTIO_ISR_QUEUE	0x1
#define VIRTIO_ISR_CONFIG	0x2

struct vdev;
struct vreq;

/* What a device type adds to the transport. */
struct virtio_device_ops {
	const char *name;		/* as --device names it */
	__u16 pci_device;		/* PCI device ID */
	__u32 class_code;		/* class, subclass, prog-if */
	__u64 features;			/* offered, beyond the transport's */
	/* The device config structure, by dword; NULL: the device has none. */
	__u32 (*devcfg_read32)(struct vdev *v, unsigned int off);
	/*
	 * Serve the chain of @r in the loop's thread, setting r->used to the
	 * bytes written into it (which fit in 32 bits: a chain is shorter
	 * than 4 GiB in all) and returning true; or, where v->io has threads,
	 * hand it to ->io with virtio_io_submit() and return false.
	 */
	bool (*request)(struct vdev *v, struct vreq *r);
	/*
	 * In an I/O thread: the file I/O of @r, which writes only into the
	 * chain's buffers and @r (not into @v, which the loop's thread owns).
	 */
	void (*io)(const struct vdev *v, struct vreq *r);
	/* Back in the loop's thread once ->io is done: the counters. */
	void (*io_done)(struct vdev *v, struct vreq *r);
	/* What the "serving" line and the stats line say of the device. */
	void (*describe)(struct vdev *v);
	void (*stats)(struct vdev *v);
};

/* A descriptor's buffer in our address space. */
struct seg {
	__u8 *p;
	__u32 len;
	bool write;		/* device-writable */
	struct pci_ioreq_gmap m;
};

struct chain {
	__u16 head;
	unsigned int nr, nr_read;	/* readable segments come first */
	__u64 read_len, write_len;	/* together below 4 GiB */
	struct seg seg[VIRTIO_CHAIN_MAX];
};

/*
 * A request: a chain taken from queue @q, served in the loop's thread or
 * in flight in the I/O threads. What a device's ->io needs to know of it
 * besides the chain is in @op, @sector and @len; it sets @status and
 * @used.
 */
struct vreq {
	struct chain chain;
	struct vq *q;
	__u32 op;
	__u64 sector, len;
	__u8 status;
	__u32 used;
	struct vreq *next;	/* on a list of v->io */
};

/*
 * The I/O threads (virtio-io.c). Requests go from the loop's thread to
 * @todo; a thread takes one, does its ->io and puts it on @done, and
 * @done_fd (an eventfd, fd nr_queues + 1 of the loop) wakes the loop,
 * which publishes it as used. Without threads a request is served in
 * the loop, one at a time.
 */
struct virtio_io {
	unsigned int threads, depth;	/* depth: requests in flight at most */
	struct vreq *reqs, *free;	/* free: the loop's thread's */
	unsigned int inflight, inflight_max;
	unsigned long long submitted, waits;
	int done_fd;
	bool running;
	unsigned int nr_started;
	pthread_t tid[VIRTIO_IO_THREADS_MAX];
	pthread_mutex_t lock;		/* the lists below and @stop */
	pthread_cond_t cond;		/* @todo or @stop */
	struct vreq *todo, **todo_tail, *done;
	bool stop;
};

struct vq {
	__u16 size;
	__u16 msix_vector;
	bool enabled;
	__u64 desc_addr, avail_addr, used_addr;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct pci_ioreq_gmap desc_map, avail_map, used_map;
	__u16 last_avail;	/* next avail entry to take */
	__u16 used_idx;		/* next used entry to fill */
	bool kicked;		/* notified since last processed */
	bool starved;		/* stopped for want of a free request */
	int kick_fd;		/* --fast: ioeventfd of the notify address */
	__u64 kick_addr;	/* where it is registered, 0 if not */
};

struct vstats {
	unsigned long long notify_mmio, notify_eventfd, kick_wakeups;
	unsigned long long io_wakeups;	/* by the I/O threads' eventfd */
	unsigned long long chains, intx, irqfd, bytes_in, bytes_out;
	unsigned long long flushes, errors, broken, resets, resamples;
	unsigned long long isr_reads;
};

struct vdev {
	struct pci_ioreq_backend be;	/* fn, header (BAR 0), transport */
	const struct virtio_device_ops *dev;
	bool fast;

	/* config space */
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
	struct vq vq[VIRTIO_MAX_QUEUES];
	__u8 isr;
	bool intx_level;
	int irqfd;			/* --fast: asserts INTA */
	int resamplefd;			/* --fast: its overtaken signals */
	struct pci_ioreq_msix msix;	/* nr 0: INTx only */

	struct pci_ioreq_mem mem;
	struct virtio_io io;

	/* blk */
	int disk_fd;
	__u64 capacity;			/* sectors */
	bool read_only;
	char serial[VIRTIO_BLK_ID_BYTES];
	const char *disk;

	/* rng */
	__u64 seed, rng_state, rng_served;
	__u8 rng_buf[8];
	unsigned int rng_left;

	struct vstats st;
};

/* ---- virtio-pci.c ---- */

/*
 * Make @v a virtio-pci function for guest function @fn with device @dev:
 * its header, BAR 0, features, queues (reset), an MSI-X capability if
 * @msix, no fds open yet. The backend then opens its transport, and with
 * --fast virtio_pci_fast().
 */
void virtio_pci_init(struct vdev *v, const struct virtio_device_ops *dev,
		     const struct xen_pci_ioreq_function *fn, bool msix);

/*
 * Give the function @n queues (1 to VIRTIO_MAX_QUEUES; virtio_pci_init()
 * gives one), before virtio_pci_fast() and before the guest runs.
 */
void virtio_pci_set_queues(struct vdev *v, unsigned int n);

/* --fast: an ioeventfd per queue and an irqfd; -1 after saying why not. */
int virtio_pci_fast(struct vdev *v);

/* Leave nothing behind: the guest may go on and rescan. */
void virtio_pci_teardown(struct vdev *v);

/* Close what virtio_pci_init() and virtio_pci_fast() opened. */
void virtio_pci_exit(struct vdev *v);

/* Print the counters (SIGUSR1, and at exit). */
void virtio_pci_stats(struct vdev *v);

/*
 * Interrupt the driver for queue @q, or for a config change (@q NULL): the
 * vector the driver chose while MSI-X is on, else the ISR bit and INTx.
 */
void virtio_interrupt(struct vdev *v, struct vq *q);

/* The guest broke the virtio rules: DEVICE_NEEDS_RESET, say why. */
void virtio_mark_broken(struct vdev *v, const char *fmt, ...);

/* ---- virtio-ring.c ---- */

/* Unmap a queue's three rings, mapped or not. */
void vq_unmap_rings(struct vdev *v, struct vq *q);

/* The driver enabled a queue: map its three rings, or break. */
void vq_enable(struct vdev *v, struct vq *q);

/* Guest RAM was unmapped: map an enabled queue's rings again, or break. */
void vq_remap_rings(struct vdev *v, struct vq *q);

/* Whether the driver made more chains of @q available than were taken. */
bool vq_more_avail(struct vq *q);

/* Serve what queue @q has; interrupt once if anything was used. */
void vq_process(struct vdev *v, struct vq *q);

/*
 * Take back the requests the I/O threads have done: publish them as used
 * (@publish, unless the device broke since; an interrupt per queue), then
 * with @serve go on with the queues that waited for a free request.
 */
void vq_complete(struct vdev *v, bool publish, bool serve);

/* Copy @len bytes from offset @off of the chain's readable part. */
bool chain_read(const struct chain *c, __u64 off, void *buf, __u64 len);

/* Copy @len bytes to offset @off of the chain's writable part. */
bool chain_write(const struct chain *c, __u64 off, const void *buf,
		 __u64 len);

/*
 * The iovecs of @len bytes from offset @off of the readable (@write false)
 * or writable part of the chain. Returns their number.
 */
int chain_iov(const struct chain *c, bool write, __u64 off, __u64 len,
	      struct iovec *iov);

/* ---- virtio-io.c ---- */

/*
 * Start @threads I/O threads for @v (0: none, requests are served in the
 * loop's thread) and add their eventfd to the loop's fds, after
 * virtio_pci_fast(). Returns 0, or -1 after saying why.
 */
int virtio_io_start(struct vdev *v, unsigned int threads);

/*
 * Stop the threads once nothing is in flight: what was is published
 * unless the guest is gone (virtio_io_drain()).
 */
void virtio_io_stop(struct vdev *v);

/* A free request, or NULL when v->io.depth are in flight. */
struct vreq *virtio_io_get(struct vdev *v);
void virtio_io_put(struct vdev *v, struct vreq *r);

/* Hand @r to the I/O threads (its device's ->io). */
void virtio_io_submit(struct vdev *v, struct vreq *r);

/* The requests the threads have done, oldest last; the eventfd read. */
struct vreq *virtio_io_reap(struct vdev *v);

/*
 * Wait until nothing is in flight: before a reset, an exit or a change of
 * the guest memory mappings. @discard: the device is being reset, its
 * requests are not published.
 */
void virtio_io_drain(struct vdev *v, bool discard);

/* ---- the devices ---- */

extern const struct virtio_device_ops virtio_blk_ops;	/* virtio-blk.c */
extern const struct virtio_device_ops virtio_rng_ops;	/* virtio-rng.c */

/* The disk of virtio-blk: v->read_only set; -1 after saying why not. */
int virtio_blk_open(struct vdev *v, const char *path);

#endif /* _SAMPLES_XEN_VIRTIO_PCI_H */
