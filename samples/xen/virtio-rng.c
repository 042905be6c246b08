// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng for pci-ioreq-virtio (virtio-pci.h): the bytes of the
 * splitmix64 stream of --seed (pci-ioreq-virtio.h), in order, so that a
 * test can tell where the guest's bytes came from.
 */

#include <stdio.h>

#include "pci-ioreq-virtio.h"
#include "virtio-pci.h"

#define CLASS_OTHERS		0xff0000
#define RNG_REQ_MAX		65536	/* bytes served per rng buffer */

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

static bool rng_request(struct vdev *v, struct vreq *r)
{
	struct chain *c = &r->chain;
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
	r->used = done;
	return true;
}

static void describe(struct vdev *v)
{
	printf(" seed %llu", (unsigned long long)v->seed);
}

static void stats(struct vdev *v)
{
	printf(" rng seed %llu served %llu", (unsigned long long)v->seed,
	       (unsigned long long)v->rng_served);
}

const struct virtio_device_ops virtio_rng_ops = {
	.name = "rng",
	.pci_device = VIRTIO_DEV_RNG,
	.class_code = CLASS_OTHERS,
	.request = rng_request,
	.describe = describe,
	.stats = stats,
};
