// SPDX-License-Identifier: GPL-2.0
/*
 * How fast a guest's disks are, each on the same kind of dom0 file: the
 * virtio-blk functions of samples/xen/pci-ioreq-virtio (with and without
 * ioeventfd + irqfd) and a Xen PV disk (blkfront, blkback). For each disk,
 * on the REGION MiB at its offset, with O_DIRECT:
 *
 * - sequential 1 MiB writes, then sequential 1 MiB reads (MB/s);
 * - 4 KiB reads at random aligned offsets, one at a time (IOPS, QD1);
 * - the same with 16 in flight through Linux AIO (IOPS, QD16).
 *
 * Each for a fixed time. Before a disk's first figure and after each
 * figure, it asks dom0 for the counters of the disk's backend (if it is a
 * PCI function, of device number SLOT) and of /dev/xen/pci-ioreq
 * ("@@XENPCI request=backend-stats tag=LABEL_FIGURE-end slot=SLOT|none" on
 * the console, which dom0's console relay answers; "-begin" before the
 * first) and waits until dom0, or the driver domain that runs the backend,
 * says it took them (it writes the tag to the guest's data/xenpci-stats in
 * xenstore), so that the test bed can print backend wakeups and requests
 * answered in the kernel per I/O of each figure
 * (testbed/lib/bench-report.py). The end of one figure is the start of
 * the next: nothing reaches the disk in between. It prints how long each
 * answer took.
 *
 * Not a test: it prints plain "blk_bench: " lines for the test bed to
 * quote. Run inside the guest, as root.
 *
 *	blk_bench [-t SECONDS] [-w SECONDS] LABEL=DEVICE@OFFSET_MIB...
 *
 * -w is how long dom0 may take to answer (30 s).
 *
 * Exit status: 0, 1 on an error (an I/O that fails is one).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/aio_abi.h>
#include <linux/fs.h>

#include "lib/pci_util.h"

#define PROG		"blk_bench"
#define REGION		(16ULL << 20)
#define SEQ_BLOCK	0x100000U	/* 1 MiB */
#define RAND_BLOCK	4096U
#define QD		16

static __u64 rnd_state = 0x2545f4914f6cdd1dULL;

static __u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static __u64 rand_off(__u64 base)
{
	return base + rnd() % (REGION / RAND_BLOCK) * RAND_BLOCK;
}

struct disk {
	const char *label;
	char dev[64];
	int slot;		/* of its PCI function, or -1 */
	__u64 off;
	int fd;
	void *buf;		/* QD x 4 KiB, or 1 MiB */
};

static void fail(const struct disk *d, const char *what)
{
	fprintf(stderr, PROG ": %s %s: %s: %s\n", d->label, d->dev, what,
		strerror(errno));
	exit(1);
}

static void result(const struct disk *d, const char *what, double v,
		   const char *unit, unsigned long long ios, double secs)
{
	printf(PROG ": %s %s %s: %.1f %s (%llu I/Os in %.2f s)\n", d->label,
	       d->dev, what, v, unit, ios, secs);
	fflush(stdout);
}

static void seq_1m(struct disk *d, bool wr, double limit)
{
	unsigned long long ios = 0;
	__u64 pos = 0;
	double t0 = now(), t;
	ssize_t n;

	do {
		if (wr)
			n = pwrite(d->fd, d->buf, SEQ_BLOCK, d->off + pos);
		else
			n = pread(d->fd, d->buf, SEQ_BLOCK, d->off + pos);
		if (n != SEQ_BLOCK)
			fail(d, wr ? "sequential write" : "sequential read");
		ios++;
		pos = (pos + SEQ_BLOCK) % REGION;
		t = now() - t0;
	} while (t < limit);
	if (wr && fdatasync(d->fd))
		fail(d, "fdatasync");
	t = now() - t0;
	result(d, wr ? "seq-write-1M" : "seq-read-1M",
	       ios * (double)SEQ_BLOCK / 1e6 / t, "MB/s", ios, t);
}

static void rand_qd1(struct disk *d, double limit)
{
	unsigned long long ios = 0;
	double t0 = now(), t;

	do {
		if (pread(d->fd, d->buf, RAND_BLOCK, rand_off(d->off)) !=
		    RAND_BLOCK)
			fail(d, "random read");
		ios++;
		t = now() - t0;
	} while (t < limit);
	result(d, "rand-read-4k-qd1", ios / t, "IOPS", ios, t);
}

static void submit(aio_context_t ctx, struct disk *d, struct iocb *cb, int i)
{
	struct iocb *p = cb;

	memset(cb, 0, sizeof(*cb));
	cb->aio_fildes = d->fd;
	cb->aio_lio_opcode = IOCB_CMD_PREAD;
	cb->aio_buf = (__u64)(unsigned long)((char *)d->buf + i * RAND_BLOCK);
	cb->aio_nbytes = RAND_BLOCK;
	cb->aio_offset = rand_off(d->off);
	cb->aio_data = i;
	if (syscall(__NR_io_submit, ctx, 1, &p) != 1)
		fail(d, "io_submit");
}

static void rand_qd16(struct disk *d, double limit)
{
	struct io_event ev[QD];
	struct iocb cbs[QD];
	unsigned long long ios = 0;
	aio_context_t ctx = 0;
	int i, n, inflight = QD;
	bool more = true;
	double t0, t;

	if (syscall(__NR_io_setup, QD, &ctx))
		fail(d, "io_setup");
	t0 = now();
	for (i = 0; i < QD; i++)
		submit(ctx, d, &cbs[i], i);
	while (inflight) {
		n = syscall(__NR_io_getevents, ctx, 1, QD, ev, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(d, "io_getevents");
		more = more && now() - t0 < limit;
		for (i = 0; i < n; i++) {
			if (ev[i].res != RAND_BLOCK) {
				errno = ev[i].res < 0 ? -ev[i].res : EIO;
				fail(d, "random read (AIO)");
			}
			ios++;
			if (more)
				submit(ctx, d, &cbs[ev[i].data], ev[i].data);
			else
				inflight--;
		}
	}
	t = now() - t0;
	syscall(__NR_io_destroy, ctx);
	result(d, "rand-read-4k-qd16", ios / t, "IOPS", ios, t);
}

/* The counters of the disk's backend, where it runs, once they are taken. */
static void counters(const struct disk *d, const char *fig, const char *when,
		     double limit)
{
	double t0 = now();
	char tag[96];

	snprintf(tag, sizeof(tag), "%s_%s-%s", d->label, fig, when);
	if (backend_counters(tag, d->slot, limit)) {
		errno = ETIMEDOUT;
		fail(d, "no answer with its backend's figures");
	}
	printf(PROG ": %s answered in %.2f s\n", tag, now() - t0);
}

/*
 * The device number of the PCI function below which block device @dev
 * is (/sys/block/vda -> .../0000:00:02.0/virtio1/block/vda), or -1.
 */
static int pci_slot_of(const char *dev)
{
	char path[PATH_MAX], link[PATH_MAX], *p, *bdf = NULL;
	unsigned int dom, bus, slot, fn;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/block/%s", strrchr(dev, '/') ?
		 strrchr(dev, '/') + 1 : dev);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = '\0';
	for (p = strtok(link, "/"); p; p = strtok(NULL, "/"))
		if (sscanf(p, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) == 4)
			bdf = p;
	return bdf ? (int)slot : -1;
}

static void die_usage(void)
{
	fprintf(stderr, "usage: " PROG " [-t SECONDS] [-w SECONDS] LABEL=DEVICE@OFFSET_MIB...\n");
	exit(1);
}

int main(int argc, char **argv)
{
	double limit = 2, wait = 30;
	unsigned long long size;
	struct disk d;
	int opt, i;
	char *at;

	while ((opt = getopt(argc, argv, "t:w:")) != -1) {
		switch (opt) {
		case 't':
			limit = atof(optarg);
			break;
		case 'w':
			wait = atof(optarg);
			break;
		default:
			die_usage();
		}
	}
	if (optind == argc || limit <= 0 || wait <= 0)
		die_usage();
	printf(PROG ": %g s per figure, %llu MiB per disk, O_DIRECT\n", limit,
	       REGION >> 20);
	for (i = optind; i < argc; i++) {
		memset(&d, 0, sizeof(d));
		d.label = argv[i];
		at = strchr(argv[i], '=');
		if (!at || !strchr(at, '@'))
			die_usage();
		*at++ = '\0';
		snprintf(d.dev, sizeof(d.dev), "%.*s", (int)strcspn(at, "@"),
			 at);
		d.off = strtoull(strchr(at, '@') + 1, NULL, 0) << 20;
		d.slot = pci_slot_of(d.dev);
		d.fd = open(d.dev, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (d.fd < 0)
			fail(&d, "open");
		if (ioctl(d.fd, BLKGETSIZE64, &size) || size < d.off + REGION) {
			errno = errno ? errno : ENOSPC;
			fail(&d, "too small for the region");
		}
		if (posix_memalign(&d.buf, 4096, SEQ_BLOCK))
			fail(&d, "posix_memalign");
		memset(d.buf, 0x5a, SEQ_BLOCK);
		counters(&d, "seqw", "begin", wait);
		seq_1m(&d, true, limit);
		counters(&d, "seqw", "end", wait);
		seq_1m(&d, false, limit);
		counters(&d, "seqr", "end", wait);
		rand_qd1(&d, limit);
		counters(&d, "qd1", "end", wait);
		rand_qd16(&d, limit);
		counters(&d, "qd16", "end", wait);
		free(d.buf);
		close(d.fd);
	}
	return 0;
}
