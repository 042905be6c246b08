// SPDX-License-Identifier: GPL-2.0
/*
 * Random ioctls, reads, writes and polls on /dev/xen/pci-ioreq files of
 * the paused guest this program creates for its test (fixture guest,
 * lib/guest_fixture.h), then a clean backend that must still work. A
 * program of its own: the generator is most of its code, and its time box
 * (FUZZ_SECONDS) would be most of any other program's time limit.
 *
 * The test takes its seed and its number of iterations from
 * XEN_PCI_IOREQ_FUZZ_SEED and XEN_PCI_IOREQ_FUZZ_ITERS, and always prints
 * the seed it used. Needs what ioreq_dom0 needs: XEN_PCI_IOREQ_GUEST_CFG,
 * /dev/xen/pci-ioreq, root, xl in $PATH. Runs in dom0.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xen/pci-ioreq.h>

#include "../kselftest_harness.h"
#include "lib/ioreq_util.h"
#include "lib/pci_util.h"
#include "lib/xl_util.h"
#include "lib/guest_fixture.h"

/* ---- fuzz ---- */

#define FUZZ_SECONDS		240	/* at most, whatever the iterations */

struct fuzz {
	__u64 rng;
	int domid;
	int fd[2];
	bool bound[2];
	struct xen_pci_ioreq_layout lay;
	unsigned char *bad;	/* an inaccessible page after an accessible one */
	unsigned long long calls, successes, unexpected;
	unsigned int errs[160];
};

static __u64 rnd(struct fuzz *z)
{
	/* xorshift64*: the same sequence everywhere for a given seed */
	z->rng ^= z->rng >> 12;
	z->rng ^= z->rng << 25;
	z->rng ^= z->rng >> 27;
	return z->rng * 0x2545f4914f6cdd1dULL;
}

static __u64 below(struct fuzz *z, __u64 n)
{
	return rnd(z) % n;
}

static void fill(struct fuzz *z, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = rnd(z);
}

static int fuzz_domid(struct fuzz *z)
{
	switch (below(z, 8)) {
	case 0: return 0;
	case 1: return DOMID_SELF;
	case 2: return DOMID_UNUSED;
	case 3: return 0x7ff0 + below(z, 0x8010);	/* special, and beyond */
	default: return z->domid;
	}
}

static struct xen_pci_ioreq_function fuzz_fn(struct fuzz *z)
{
	struct xen_pci_ioreq_function fn = {
		.segment = below(z, 10) ? 0 : rnd(z),
		.bus = below(z, 4) ? below(z, 2) : rnd(z),
		.devfn = below(z, 4) ? below(z, 8) : rnd(z),
	};

	return fn;
}

static __u64 fuzz_addr(struct fuzz *z)
{
	switch (below(z, 6)) {
	case 0: return z->lay.ecam.base + below(z, z->lay.ecam.size);
	case 1: return rnd(z);
	case 2: return 0x100000000ULL + (below(z, 1 << 20) << 12);
	default: return z->lay.mem[0].base + (below(z, 1 << 16) << 8);
	}
}

static __u64 fuzz_size(struct fuzz *z)
{
	switch (below(z, 6)) {
	case 0: return 0;
	case 1: return rnd(z);
	case 2: return below(z, 1 << 20);
	default: return 0x100ULL << below(z, 8);
	}
}

/* A well-formed argument for @cmd, with random contents. */
static void fuzz_sane(struct fuzz *z, unsigned int nr, void *buf)
{
	switch (nr) {
	case 0: {
		struct xen_pci_ioreq_bind b = { .domid = fuzz_domid(z) };

		memcpy(buf, &b, sizeof(b));
		break;
	}
	case 2:
	case 3: {
		struct xen_pci_ioreq_function fn = fuzz_fn(z);

		memcpy(buf, &fn, sizeof(fn));
		break;
	}
	case 4:
	case 5: {
		struct xen_pci_ioreq_mmio m = {
			.fn = fuzz_fn(z),
			.bar = below(z, 8),
			.addr = fuzz_addr(z),
			.size = fuzz_size(z),
		};

		memcpy(buf, &m, sizeof(m));
		break;
	}
	case 6: {
		struct xen_pci_ioreq_intx x = {
			.fn = fuzz_fn(z),
			.pin = below(z, 6),
			.level = below(z, 3),
		};

		memcpy(buf, &x, sizeof(x));
		break;
	}
	}
}

/* Offset of a reserved field in the argument of command @nr, or -1. */
static int reserved_off(unsigned int nr)
{
	switch (nr) {
	case 0: return offsetof(struct xen_pci_ioreq_bind, reserved);
	case 2:
	case 3: return offsetof(struct xen_pci_ioreq_function, reserved);
	case 4:
	case 5: return offsetof(struct xen_pci_ioreq_mmio, reserved);
	case 6: return offsetof(struct xen_pci_ioreq_intx, reserved);
	default: return -1;
	}
}

static const unsigned long fuzz_cmds[] = {
	XEN_PCI_IOREQ_BIND, XEN_PCI_IOREQ_GET_INFO, XEN_PCI_IOREQ_REGISTER,
	XEN_PCI_IOREQ_UNREGISTER, XEN_PCI_IOREQ_ADD_MMIO,
	XEN_PCI_IOREQ_REMOVE_MMIO, XEN_PCI_IOREQ_SET_INTX,
};

#define NR_CMDS ARRAY_SIZE(fuzz_cmds)

static void fuzz_result(struct __test_metadata *_metadata, struct fuzz *z,
			long ret, bool may_succeed, const char *what,
			unsigned long long arg)
{
	z->calls++;
	if (ret < 0) {
		z->errs[errno < 160 ? errno : 0]++;
		return;
	}
	z->successes++;
	if (may_succeed)
		return;
	if (z->unexpected++ < 10)
		TH_LOG("call %llu: %s %#llx succeeded (%ld)", z->calls, what,
		       arg, ret);
}

static void fuzz_ioctl(struct __test_metadata *_metadata, struct fuzz *z,
		       int k)
{
	union {
		unsigned char b[128];
		__u64 align;
	} u;
	unsigned char *arg = u.b;
	unsigned int nr = below(z, NR_CMDS), kind = below(z, 8);
	unsigned long cmd = fuzz_cmds[nr];
	bool may_succeed = false;
	void *p = arg;
	unsigned int i;
	long ret;
	int off;

	fill(z, arg, sizeof(u.b));
	switch (kind) {
	case 0:	/* a command that is not ours */
		cmd = _IOC(below(z, 4), XEN_PCI_IOREQ_MAGIC, below(z, 256),
			   below(z, 128));
		for (i = 0; i < NR_CMDS; i++)
			if (cmd == fuzz_cmds[i])
				cmd = _IO(XEN_PCI_IOREQ_MAGIC, 0x80);
		break;
	case 1:	/* a pointer the kernel cannot follow all the way */
		switch (below(z, 3)) {
		case 0:
			p = NULL;
			break;
		case 1:
			p = z->bad;
			break;
		default:	/* straddling into the inaccessible page */
			p = z->bad - 1 - below(z, _IOC_SIZE(cmd) - 1);
			break;
		}
		break;
	case 2:	/* junk, with a reserved field set */
		off = reserved_off(nr);
		if (off >= 0)
			arg[off] |= 1;
		may_succeed = nr == 1;	/* GET_INFO writes, reads nothing */
		break;
	default: /* well formed */
		memset(arg, 0, sizeof(u.b));
		fuzz_sane(z, nr, arg);
		may_succeed = true;
		break;
	}
	if (nr == 0 && z->bound[k] && kind > 2)
		may_succeed = false;	/* bound once only */
	if (nr == 1 && kind == 2 && !z->bound[k])
		may_succeed = false;
	ret = ioctl(z->fd[k], cmd, p);
	if (!ret && nr == 0 && kind > 2)
		z->bound[k] = true;
	fuzz_result(_metadata, z, ret, may_succeed, "ioctl", cmd);
}

static void fuzz_rw(struct __test_metadata *_metadata, struct fuzz *z, int k,
		    bool wr)
{
	union {
		unsigned char b[4 * REQ_SIZE + 16];
		struct xen_pci_ioreq_response r[4];
	} u;
	size_t len = below(z, sizeof(u.b) + 1);
	void *p = u.b;
	long ret;

	if (!below(z, 8))
		p = below(z, 2) ? (void *)z->bad : NULL;
	fill(z, u.b, sizeof(u.b));
	if (wr && !below(z, 2)) {
		/* plausible ids, valid flags */
		size_t i;

		for (i = 0; i < ARRAY_SIZE(u.r); i++) {
			u.r[i].id = below(z, 64);
			u.r[i].flags = 0;
			u.r[i].reserved = 0;
		}
	}
	ret = wr ? write(z->fd[k], p, len) : read(z->fd[k], p, len);
	/* The guest is paused: nothing to read, nothing to complete. */
	fuzz_result(_metadata, z, ret, len == 0,
		    wr ? "write" : "read", len);
}

static void fuzz_poll(struct __test_metadata *_metadata, struct fuzz *z,
		      int k)
{
	struct pollfd pfd = { .fd = z->fd[k], .events = POLLIN };

	z->calls++;
	if (poll(&pfd, 1, 0) < 0)
		return;
	/* Unbound, a file reports nothing; bound, no request or death here. */
	if ((pfd.revents & POLLIN) || (!z->bound[k] && pfd.revents) ||
	    (z->bound[k] && (pfd.revents & (POLLHUP | POLLERR)))) {
		if (z->unexpected++ < 10)
			TH_LOG("call %llu: poll gave %#x", z->calls,
			       pfd.revents);
	}
}

static void fuzz_reopen(struct fuzz *z, int k)
{
	if (z->fd[k] >= 0)
		close(z->fd[k]);
	z->fd[k] = open_dev(true);
	z->bound[k] = false;
	if (z->fd[k] >= 0 && below(z, 4) && !bind_fd(z->fd[k], z->domid))
		z->bound[k] = true;
}

/*
 * Random ioctls, reads, writes and polls on two files of one guest, some
 * well formed and some not: nothing may crash or succeed where it must
 * not, and afterwards a clean backend still works.
 */
TEST_F_TIMEOUT(guest, fuzz, FUZZ_SECONDS + 60)
{
	const char *seed_env = getenv("XEN_PCI_IOREQ_FUZZ_SEED");
	const char *iters_env = getenv("XEN_PCI_IOREQ_FUZZ_ITERS");
	struct xen_pci_ioreq_function fn = mkfn(0, 31, 7);
	struct xen_pci_ioreq_request req;
	unsigned long long seed = 0x58454e2d50434921ULL, iters = 120000, n;
	struct timespec t0, t;
	struct fuzz z = { .domid = self->domid, .lay = self->lay };
	unsigned char *pages;
	unsigned int i;
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	if (seed_env)
		seed = strtoull(seed_env, NULL, 0);
	if (iters_env)
		iters = strtoull(iters_env, NULL, 0);
	TH_LOG("fuzz seed %#llx, %llu iterations (XEN_PCI_IOREQ_FUZZ_SEED, _ITERS)",
	       seed, iters);
	z.rng = seed ? seed : 1;

	pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pages);
	ASSERT_OK(mprotect(pages + page, page, PROT_NONE));
	z.bad = pages + page;

	close(self->fd);
	close(self->fd2);
	self->fd = -1;
	self->fd2 = -1;
	z.fd[0] = open_bound(self->domid, true);
	z.bound[0] = true;
	z.fd[1] = open_dev(true);
	ASSERT_LE(0, z.fd[0]);
	ASSERT_LE(0, z.fd[1]);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (n = 0; n < iters; n++) {
		int k = below(&z, 2);

		if (z.fd[k] < 0) {
			fuzz_reopen(&z, k);
			continue;
		}
		switch (below(&z, 16)) {
		case 0 ... 8:
			fuzz_ioctl(_metadata, &z, k);
			break;
		case 9 ... 10:
			fuzz_rw(_metadata, &z, k, false);
			break;
		case 11 ... 12:
			fuzz_rw(_metadata, &z, k, true);
			break;
		case 13 ... 14:
			fuzz_poll(_metadata, &z, k);
			break;
		default:
			fuzz_reopen(&z, k);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= FUZZ_SECONDS) {
			TH_LOG("time is up after %llu iterations", n + 1);
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	TH_LOG("%llu iterations in %ld s: %llu calls, %llu succeeded, %llu unexpectedly",
	       n, (long)(t.tv_sec - t0.tv_sec), z.calls, z.successes,
	       z.unexpected);
	for (i = 0; i < 160; i++)
		if (z.errs[i])
			TH_LOG("  %s: %u", errname(i), z.errs[i]);
	EXPECT_EQ(0ULL, z.unexpected);
	for (i = 0; i < 2; i++)
		if (z.fd[i] >= 0)
			close(z.fd[i]);
	munmap(pages, 2 * page);

	/* All released: a clean backend works. */
	fd = open_bound(self->domid, true);
	ASSERT_LE(0, fd);
	test_cmd_register(fd, fn);
	test_cmd_add_mmio(fd, fn, 0, self->lay.mem[0].base + 0xff00000, 0x1000);
	test_cmd_set_intx(fd, fn, 1, 1);
	test_cmd_set_intx(fd, fn, 1, 0);
	test_cmd_remove_mmio(fd, fn, 0, self->lay.mem[0].base + 0xff00000, 0x1000);
	test_cmd_unregister(fd, fn);
	EXPECT_ERRNO(EAGAIN, read(fd, &req, sizeof(req)));
	close(fd);
}

int main(int argc, char **argv)
{
	guests_start(true);
	return test_harness_run(argc, argv);
}
