/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pci-ioreq-virtio's devices as its tests see them
 * (tools/testing/selftests/xen-pci/virtio_*.c): their IDs, the disk's
 * default serial, and the byte stream its virtio-rng serves: splitmix64
 * of the seed, each value least significant byte first. The guest test
 * prints what it found as "VIRTIO-REPORT key=value..." lines, which dom0
 * checks once the guest is gone.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_VIRTIO_H
#define _SAMPLES_XEN_PCI_IOREQ_VIRTIO_H

#include <stddef.h>
#include <linux/types.h>

#define VIRTIO_VENDOR		0x1af4U
#define VIRTIO_DEV_BLK		0x1042U	/* 0x1040 + VIRTIO_ID_BLOCK */
#define VIRTIO_DEV_RNG		0x1044U	/* 0x1040 + VIRTIO_ID_RNG */
#define VIRTIO_BLK_SERIAL	"xen-pci-virtio"	/* the backend's default */

/* "VIRTIO-REPORT key=value ..." in the guest's console, one per fact. */
#define VIRTIO_REPORT		"VIRTIO-REPORT "

static inline __u64 splitmix64(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The first @len bytes of the stream of @seed. */
static inline void stream_fill(__u64 seed, __u8 *p, size_t len)
{
	size_t i;
	__u64 x = 0;

	for (i = 0; i < len; i++) {
		if (!(i % 8))
			x = splitmix64(&seed);
		p[i] = x >> (8 * (i % 8));
	}
}

#endif /* _SAMPLES_XEN_PCI_IOREQ_VIRTIO_H */
