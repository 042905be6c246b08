// SPDX-License-Identifier: GPL-2.0
/*
 * xen-dt-backend IN OUT DOMID: copy the partial device tree IN (xl.cfg
 * device_tree=) to OUT with the backend domain of its grant DMA set to
 * DOMID. A guest served by a driver domain names that domain in its root
 * complex's iommu-map (<rid-base &xen-grant-dma backend-domid length>),
 * and the test bed learns the driver domain's id only when dom0 creates
 * it: the tree holds GRANT_BACKEND_PLACEHOLDER (guest/dts/
 * xen-vpci-domd-guest.dts) there, which must occur exactly once. Exits 3
 * when IN has no grant DMA at all ("xen,grant-dma"): the guest's memory is
 * then not shared by grants, and nothing needs naming.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRANT_BACKEND_PLACEHOLDER	0x7ff0
#define MAX_DTB				(64 << 10)

int main(int argc, char **argv)
{
	static unsigned char buf[MAX_DTB];
	/* the placeholder cell and the length cell (0x10000) after it */
	static const unsigned char want[8] = { 0, 0, 0x7f, 0xf0, 0, 1, 0, 0 };
	unsigned char *hit = NULL;
	unsigned long domid;
	size_t n, i;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: xen-dt-backend IN OUT DOMID\n");
		return 2;
	}
	domid = strtoul(argv[3], NULL, 0);
	if (!domid || domid >= GRANT_BACKEND_PLACEHOLDER) {
		fprintf(stderr, "xen-dt-backend: bad domain id '%s'\n", argv[3]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (i = 0; i + sizeof(want) <= n; i += 4) {
		if (memcmp(buf + i, want, sizeof(want)))
			continue;
		if (hit) {
			fprintf(stderr, "%s: the placeholder occurs twice\n", argv[1]);
			return 1;
		}
		hit = buf + i;
	}
	if (n == sizeof(buf)) {
		fprintf(stderr, "%s: larger than %u bytes\n", argv[1], MAX_DTB);
		return 1;
	}
	if (!hit && !memmem(buf, n, "xen,grant-dma", 13))
		return 3;
	if (!hit) {
		fprintf(stderr, "%s: grant DMA, but no placeholder backend domain 0x%x\n",
			argv[1], GRANT_BACKEND_PLACEHOLDER);
		return 1;
	}
	hit[2] = domid >> 8;
	hit[3] = domid;
	f = fopen(argv[2], "wb");
	if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
