// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk for pci-ioreq-virtio (virtio-pci.h): a disk backed by a
 * regular file of dom0; read, write, flush and get-id, read-only with
 * --read-only; capacity, block size, segment limit and number of queues
 * (VIRTIO_BLK_F_MQ: one per vCPU unless --queues says) in its device
 * config. The loop's thread takes each request and checks it; its file
 * I/O is done by the I/O threads (virtio-io.c), several requests of each
 * queue at once, or, for a request alone and with --io-threads 0, at
 * once in the loop's thread.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

#include "pci-ioreq-virtio.h"
#include "virtio-pci.h"

#define BLK_SEG_MAX		(VIRTIO_INDIRECT_MAX - 2)
#define SECTOR_SIZE		512
#define CLASS_STORAGE_OTHER	0x018000	/* class code, prog-if 0 */

/* struct virtio_blk_config, by dword. */
static __u32 devcfg_read32(struct vdev *v, unsigned int off)
{
	switch (off) {
	case offsetof(struct virtio_blk_config, capacity):
		return v->capacity;
	case offsetof(struct virtio_blk_config, capacity) + 4:
		return v->capacity >> 32;
	case offsetof(struct virtio_blk_config, seg_max):
		return BLK_SEG_MAX;
	case offsetof(struct virtio_blk_config, blk_size):
		return SECTOR_SIZE;
	case offsetof(struct virtio_blk_config, wce):
		/* wce 0, unused, num_queues (VIRTIO_BLK_F_MQ) */
		return v->nr_queues << 16;
	default:
		return 0;
	}
}

/*
 * Read or write @len bytes at @sector between the disk and the buffers of
 * @c. In an I/O thread, or in the loop's thread without them.
 */
static bool blk_rw(const struct vdev *v, const struct chain *c, bool write,
		   __u64 sector, __u64 len)
{
	struct iovec iov[VIRTIO_CHAIN_MAX];
	__u64 pos = sector * SECTOR_SIZE;
	int n;

	/* Data follows the header (readable) or precedes the status byte. */
	n = write ? chain_iov(c, false, sizeof(struct virtio_blk_outhdr), len,
			      iov) :
		    chain_iov(c, true, 0, len, iov);
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

/* The file I/O of a read, write or flush; sets its status and length. */
static void blk_io(const struct vdev *v, struct vreq *r)
{
	const struct chain *c = &r->chain;
	bool ok;

	switch (r->op) {
	case VIRTIO_BLK_T_IN:
		ok = blk_rw(v, c, false, r->sector, r->len);
		break;
	case VIRTIO_BLK_T_OUT:
		ok = blk_rw(v, c, true, r->sector, r->len);
		break;
	default:	/* VIRTIO_BLK_T_FLUSH */
		ok = !fdatasync(v->disk_fd);
		break;
	}
	r->status = ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	r->used = 1 + (ok && r->op == VIRTIO_BLK_T_IN ? r->len : 0);
	chain_write(c, c->write_len - 1, &r->status, 1);
}

static void blk_io_done(struct vdev *v, struct vreq *r)
{
	if (r->status != VIRTIO_BLK_S_OK)
		v->st.errors++;
	else if (r->op == VIRTIO_BLK_T_IN)
		v->st.bytes_in += r->len;
	else if (r->op == VIRTIO_BLK_T_OUT)
		v->st.bytes_out += r->len;
}

/*
 * Take one request: its header and what it asks, checked here; a read,
 * write or flush then goes to the I/O threads, or is done at once without
 * them.
 */
static bool blk_request(struct vdev *v, struct vreq *r)
{
	struct chain *c = &r->chain;
	struct virtio_blk_outhdr h;
	__u8 status = VIRTIO_BLK_S_OK;
	__u64 data;

	r->used = 0;
	if (!c->write_len || !chain_read(c, 0, &h, sizeof(h))) {
		virtio_mark_broken(v, "virtio-blk request without header or status");
		return true;
	}
	r->op = h.type;
	r->sector = h.sector;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		r->len = h.type == VIRTIO_BLK_T_IN ? c->write_len - 1 :
						     c->read_len - sizeof(h);
		if ((h.type == VIRTIO_BLK_T_OUT && v->read_only) ||
		    r->len % SECTOR_SIZE || h.sector > v->capacity ||
		    r->len / SECTOR_SIZE > v->capacity - h.sector) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		goto io;
	case VIRTIO_BLK_T_FLUSH:
		v->st.flushes++;
		r->len = 0;
		goto io;
	case VIRTIO_BLK_T_GET_ID:
		data = c->write_len - 1 < VIRTIO_BLK_ID_BYTES ?
		       c->write_len - 1 : VIRTIO_BLK_ID_BYTES;
		chain_write(c, 0, v->serial, data);
		r->used = data;
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	if (status != VIRTIO_BLK_S_OK)
		v->st.errors++;
	chain_write(c, c->write_len - 1, &status, 1);
	r->used++;
	return true;
io:
	/*
	 * Alone (nothing in flight, nothing more available), it is served
	 * at once: handing it over would cost a second wakeup and gain
	 * nothing.
	 */
	if (v->io.threads && (v->io.inflight || vq_more_avail(r->q))) {
		virtio_io_submit(v, r);
		return false;
	}
	blk_io(v, r);
	blk_io_done(v, r);
	return true;
}

int virtio_blk_open(struct vdev *v, const char *path)
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

static void describe(struct vdev *v)
{
	printf(" %s (%llu sectors%s, %u queue%s)", v->disk,
	       (unsigned long long)v->capacity,
	       v->read_only ? ", read-only" : "", v->nr_queues,
	       v->nr_queues > 1 ? "s" : "");
}

const struct virtio_device_ops virtio_blk_ops = {
	.name = "blk",
	.pci_device = VIRTIO_DEV_BLK,
	.class_code = CLASS_STORAGE_OTHER,
	.features = 1ULL << VIRTIO_BLK_F_SEG_MAX |
		    1ULL << VIRTIO_BLK_F_BLK_SIZE |
		    1ULL << VIRTIO_BLK_F_FLUSH |
		    1ULL << VIRTIO_BLK_F_MQ,
	.devcfg_read32 = devcfg_read32,
	.request = blk_request,
	.io = blk_io,
	.io_done = blk_io_done,
	.describe = describe,
};
