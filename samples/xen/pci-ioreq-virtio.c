// SPDX-License-Identifier: GPL-2.0
/*
 * pci-ioreq-virtio: a virtio-pci device of a Xen guest, served from dom0
 * userspace through /dev/xen/pci-ioreq.
 *
 * This file is the program: its options, setup and exit. The transport is
 * virtio-pci.c and virtio-ring.c, the I/O threads virtio-io.c, the devices
 * virtio-blk.c and virtio-rng.c, guest memory pci-ioreq-mem.c, on the
 * backends' library (pci-ioreq-lib.h).
 *
 * One process serves one PCI function: a modern (virtio 1.x, revision 1)
 * virtio-pci device whose common config, ISR, device config and notify
 * structures lie in a 16 KiB memory BAR, as the vendor-specific
 * capabilities of its config space say. Where the guest's root complex has
 * MSI (--layout msi=ID:COUNT,doorbell=ADDR, as its device tree's
 * "msi-ranges" and "msi" region say), the function also has an MSI-X
 * capability whose table and PBA double the BAR: the guest's virtio_pci
 * driver then gives each queue its own vector and never reads the ISR.
 * Otherwise, or with --intx, it uses INTx. Two device types:
 *
 *   blk  virtio-blk backed by a dom0 file: read, write, flush, get-id;
 *        capacity, block size, segment limit and the number of queues
 *        (VIRTIO_BLK_F_MQ: one per vCPU of the guest, or --queues) in the
 *        device config, each queue with its ioeventfd and MSI-X vector;
 *        read-only with --read-only. Its reads, writes and flushes are
 *        done by --io-threads threads (default 4), up to four requests per
 *        thread in flight at once, of any queue, unless a request is
 *        alone (nothing in flight, nothing more available): the loop's
 *        thread does that one at once, as it does each with
 *        --io-threads 0;
 *   rng  virtio-rng: the bytes of a splitmix64 stream of --seed, in order,
 *        so that a test can tell where the guest's bytes came from.
 *
 * Guest memory is reached by foreign mapping (libxenforeignmemory): guest
 * RAM is mapped on first use in 2 MiB chunks into one reserved range of
 * the backend's address space, and stays mapped, so steady-state I/O makes
 * no map or unmap hypercalls; when the guest gives memory back to Xen, Xen
 * asks to drop such mappings (the backend binds with
 * XEN_PCI_IOREQ_BIND_INVALIDATE), and the backend unmaps it all, maps its
 * rings again and the rest on use. With --grants, the guest's DMA addresses are
 * grant references (its xen-grant-dma-ops, for a root complex whose
 * iommu-map leads to a "xen,grant-dma" node naming dom0): the rings are
 * mapped while their queue runs, and each buffer through gntdev for the
 * time of its request, read-only if the device only reads it; every
 * buffer is unmapped before its chain is published as used.
 *
 * Every address and length the guest gives is checked against what could
 * be mapped; a descriptor chain that loops, is too long, points outside
 * guest RAM (or at a reference never granted) or breaks the virtqueue
 * rules makes the device DEVICE_NEEDS_RESET (with a configuration change
 * interrupt): the backend logs it and serves nothing more until the guest
 * resets it.
 *
 * With --fast, queue notifications are ioeventfds (the guest's notify
 * write is completed in the kernel and wakes the backend through an
 * eventfd) and the interrupts are irqfds (INTx, and each unmasked MSI-X
 * vector); without, each notify is a request read from /dev/xen/pci-ioreq,
 * INTx is set by ioctl and an MSI-X vector signalled by ioctl
 * (XEN_PCI_IOREQ_MSI).
 *
 * Usage:
 *	pci-ioreq-virtio --domid N --slot S --device blk --disk FILE
 *			 [--read-only] [--serial ID] [--queues N]
 *			 [--io-threads N] [options]
 *	pci-ioreq-virtio --domid N --slot S --device rng [--seed N] [options]
 *	options: [--function F] [--intx] [--fast] [--grants] [--verbose]
 *
 * Start it while the guest is paused, as pci-ioreq-emu. It runs until
 * SIGTERM, SIGINT or SIGHUP or until the guest goes away; SIGUSR1 prints
 * the counters, which are printed at exit too.
 */

#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pci-ioreq-virtio.h"
#include "virtio-pci.h"

#define VIRTIO_IO_THREADS_BLK	4	/* default of --io-threads */

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: %s --domid N --slot S --device blk|rng [options]\n"
		"Serve a virtio-pci device (virtio 1.x; INTx, or MSI-X with\n"
		"--layout msi=) to Xen guest N at 0000:BB:SS.F through\n"
		PCI_IOREQ_DEV_PATH ".\n"
		PCI_IOREQ_TARGET_USAGE
		"  -t, --device TYPE      blk or rng (required)\n"
		"  -D, --disk FILE        blk: the backing file (required for blk)\n"
		"  -r, --read-only        blk: a read-only disk\n"
		"  -i, --serial ID        blk: the disk's id (20 bytes at most)\n"
		"  -q, --queues N         blk: request queues, 1 to %u (default:\n"
		"                         one per vCPU of the guest)\n"
		"  -T, --io-threads N     blk: threads that do the file I/O, 0 to\n"
		"                         %u, %u requests in flight per thread\n"
		"                         (default %u; 0: one request at a time,\n"
		"                         in the loop's thread)\n"
		"  -S, --seed N           rng: the seed of the byte stream\n"
		"                         (default 1)\n"
		"  -I, --intx             no MSI-X capability, even where the\n"
		"                         root complex has MSI: INTx only\n"
		"  -F, --fast             notify by ioeventfd, interrupt by irqfd\n"
		"  -g, --grants           guest memory by grants (xen-grant-dma-ops\n"
		"                         in the guest), not by foreign mapping\n"
		"  -v, --verbose          trace every request on stderr\n"
		"  -h, --help             this help\n", pci_ioreq_prog,
		VIRTIO_MAX_QUEUES, VIRTIO_IO_THREADS_MAX, VIRTIO_IO_DEPTH,
		VIRTIO_IO_THREADS_BLK);
}

int main(int argc, char **argv)
{
	static const struct option own_opts[] = {
		{ "device", required_argument, NULL, 't' },
		{ "disk", required_argument, NULL, 'D' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "serial", required_argument, NULL, 'i' },
		{ "queues", required_argument, NULL, 'q' },
		{ "io-threads", required_argument, NULL, 'T' },
		{ "seed", required_argument, NULL, 'S' },
		{ "intx", no_argument, NULL, 'I' },
		{ "fast", no_argument, NULL, 'F' },
		{ "grants", no_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct pci_ioreq_target tgt = PCI_IOREQ_TARGET_INIT;
	unsigned long long seed = 1, queues = 0, threads = ULLONG_MAX;
	struct vdev v = { .disk_fd = -1, .irqfd = -1, .resamplefd = -1,
			  .io.done_fd = -1 };
	const char *disk = NULL, *type = NULL, *serial = NULL;
	bool grants = false, intx = false;
	int opt, sfd, ret = PCI_IOREQ_ERROR;

	pci_ioreq_prog = "pci-ioreq-virtio";
	while ((opt = pci_ioreq_getopt(argc, argv, "t:D:ri:q:T:S:IFgvh", own_opts,
				       &tgt)) != -1) {
		switch (opt) {
		case 't':
			type = optarg;
			if (strcmp(type, "blk") && strcmp(type, "rng"))
				pci_ioreq_bad_arg("device");
			break;
		case 'D':
			disk = optarg;
			break;
		case 'r':
			v.read_only = true;
			break;
		case 'i':
			serial = optarg;
			if (strlen(serial) > VIRTIO_BLK_ID_BYTES)
				pci_ioreq_bad_arg("serial");
			break;
		case 'q':
			if (!pci_ioreq_parse_uint(optarg, VIRTIO_MAX_QUEUES,
						  false, &queues) || !queues)
				pci_ioreq_bad_arg("queues");
			break;
		case 'T':
			if (!pci_ioreq_parse_uint(optarg, VIRTIO_IO_THREADS_MAX,
						  false, &threads))
				pci_ioreq_bad_arg("io-threads");
			break;
		case 'S':
			if (!pci_ioreq_parse_uint(optarg, ULLONG_MAX, true,
						  &seed))
				pci_ioreq_bad_arg("seed");
			break;
		case 'I':
			intx = true;
			break;
		case 'F':
			v.fast = true;
			break;
		case 'g':
			grants = true;
			break;
		default:
			pci_ioreq_common_opt(opt, &v.be.verbose, print_usage);
			break;
		}
	}
	if (optind != argc || !pci_ioreq_target_done(&tgt) || !type ||
	    (!strcmp(type, "blk") != !!disk)) {
		if (type && !strcmp(type, "blk") && !disk)
			say("--device blk needs --disk FILE\n");
		else if (disk)
			say("--disk is for --device blk\n");
		print_usage(stderr);
		return 2;
	}
	if ((queues || threads != ULLONG_MAX) && strcmp(type, "blk")) {
		say("--%s is for --device blk\n", queues ? "queues" : "io-threads");
		print_usage(stderr);
		return 2;
	}
	/* rng: each request is served at once, in the loop's thread */
	if (threads == ULLONG_MAX)
		threads = strcmp(type, "blk") ? 0 : VIRTIO_IO_THREADS_BLK;

	/* MSI-X where the guest's root complex has MSI (--layout msi=) */
	virtio_pci_init(&v, strcmp(type, "blk") ? &virtio_rng_ops :
						  &virtio_blk_ops, &tgt.fn,
			tgt.layout.msi_count > 0 && !intx);
	if (v.dev == &virtio_blk_ops) {
		if (v.read_only)
			v.features |= 1ULL << VIRTIO_BLK_F_RO;
		if (!serial)
			serial = VIRTIO_BLK_SERIAL;
		/* not NUL-terminated when it takes all 20 bytes */
		memcpy(v.serial, serial, strlen(serial));
	}
	v.disk = disk;
	v.seed = seed;
	v.rng_state = seed;

	sfd = pci_ioreq_loop_signalfd();
	if (sfd < 0)
		return 1;

	if ((v.dev == &virtio_blk_ops && virtio_blk_open(&v, disk)) ||
	    pci_ioreq_mem_init(&v.mem, tgt.domid, grants))
		goto out;
	/* Cached foreign mappings must go when the guest frees memory. */
	v.be.t = pci_ioreq_kernel_open(tgt.domid,
				       pci_ioreq_target_layout(&tgt), &v.be.fn,
				       grants ? 0 : XEN_PCI_IOREQ_BIND_INVALIDATE);
	if (!v.be.t)
		goto out;
	/* virtio-blk: a queue per vCPU, unless --queues says */
	if (v.dev == &virtio_blk_ops)
		virtio_pci_set_queues(&v, queues ? queues :
				      v.be.t->info.nr_vcpus < VIRTIO_MAX_QUEUES ?
				      v.be.t->info.nr_vcpus : VIRTIO_MAX_QUEUES);
	if ((v.fast && virtio_pci_fast(&v)) || virtio_io_start(&v, threads))
		goto out;

	printf("%s: serving %04x:%02x:%02x.%x of domain %u: virtio-%s",
	       pci_ioreq_prog, v.be.fn.segment, v.be.fn.bus,
	       PCI_SLOT(v.be.fn.devfn), PCI_FUNC(v.be.fn.devfn),
	       v.be.t->info.domid, v.dev->name);
	v.dev->describe(&v);
	printf(", guest memory by %s, %s, %u I/O threads\n",
	       grants ? "grants" : "foreign mapping",
	       v.fast ? "ioeventfd + irqfd" : "notify and INTx by request",
	       v.io.threads);
	fflush(stdout);

	ret = pci_ioreq_loop(&v.be, sfd);
	virtio_pci_teardown(&v);
	virtio_pci_stats(&v);
out:
	if (v.be.t)
		v.be.t->ops->close(v.be.t, v.be.gone);
	virtio_pci_exit(&v);
	pci_ioreq_mem_exit(&v.mem);
	if (v.disk_fd >= 0)
		close(v.disk_fd);
	close(sfd);
	return ret == PCI_IOREQ_ERROR ? 1 : 0;
}
