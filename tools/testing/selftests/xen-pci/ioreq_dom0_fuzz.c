// SPDX-License-Identifier: GPL-2.0
/*
 * Random ioctls, reads, writes and polls on /dev/xen/pci-ioreq files of
 * the paused guest this program creates for its test (fixture guest,
 * lib/guest_fixture.h), then a clean backend that must still work. A
 * program of its own: the generator is most of its code, and its time box
 * (FUZZ_SECONDS) would be most of any other program's time limit.
 *
 * The test makes at least FUZZ_MIN_IOCTLS ioctls, of every command (ioeventfd
 * and irqfd with live, closed and foreign file descriptors among them), and
 * fails if its time box ends first. Its seed changes from run to run and is
 * printed; XEN_PCI_IOREQ_FUZZ_SEED replays one, XEN_PCI_IOREQ_FUZZ_IOCTLS
 * asks for more ioctls. Needs what ioreq_dom0 needs: XEN_PCI_IOREQ_GUEST_CFG,
 * /dev/xen/pci-ioreq, root, xl in $PATH. Runs in dom0.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
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

#define FUZZ_SECONDS		240	/* at most: reaching it fails */
#define FUZZ_MIN_IOCTLS		100000ULL

struct fuzz {
	__u64 rng;
	int domid;
	int fd[2];
	bool bound[2];
	struct xen_pci_ioreq_layout lay;
	unsigned char *bad;	/* an inaccessible page after an accessible one */
	int efd[2];		/* eventfds, closed and made again at random */
	unsigned long long calls, ioctls, successes, unexpected;
	unsigned long long per_cmd[16];
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

/* An eventfd, mostly a live one; or no file, or a file of another kind. */
static int fuzz_efd(struct fuzz *z)
{
	switch (below(z, 8)) {
	case 0: return -1;
	case 1: return z->fd[below(z, 2)];
	case 2: return 0x7fff;	/* not open */
	default: return z->efd[below(z, 2)];
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
	case 7: {
		struct xen_pci_ioreq_ioeventfd e = {
			.fn = fuzz_fn(z),
			.fd = fuzz_efd(z),
			.flags = below(z, 4),
			.addr = fuzz_addr(z),
			.size = below(z, 4) ? 1U << below(z, 4) : below(z, 16),
		};

		if (e.flags & XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH)
			e.data = below(z, 4);
		memcpy(buf, &e, sizeof(e));
		break;
	}
	case 8: {
		struct xen_pci_ioreq_irqfd q = {
			.fn = fuzz_fn(z),
			.fd = fuzz_efd(z),
			.flags = below(z, 2),
			.pin = below(z, 6),
		};

		memcpy(buf, &q, sizeof(q));
		break;
	}
	case 9: {
		struct xen_pci_ioreq_msi m = {
			.fn = fuzz_fn(z),
			.data = below(z, 4) ? below(z, 64) : rnd(z),
			.address = below(z, 2) ? z->lay.msi_doorbell : fuzz_addr(z),
		};

		memcpy(buf, &m, sizeof(m));
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
	case 7: return offsetof(struct xen_pci_ioreq_ioeventfd, reserved);
	case 8: return offsetof(struct xen_pci_ioreq_irqfd, reserved0);
	case 9: return offsetof(struct xen_pci_ioreq_msi, reserved);
	default: return -1;
	}
}

static const unsigned long fuzz_cmds[] = {
	XEN_PCI_IOREQ_BIND, XEN_PCI_IOREQ_GET_INFO, XEN_PCI_IOREQ_REGISTER,
	XEN_PCI_IOREQ_UNREGISTER, XEN_PCI_IOREQ_ADD_MMIO,
	XEN_PCI_IOREQ_REMOVE_MMIO, XEN_PCI_IOREQ_SET_INTX,
	XEN_PCI_IOREQ_IOEVENTFD, XEN_PCI_IOREQ_IRQFD, XEN_PCI_IOREQ_MSI,
	XEN_PCI_IOREQ_RELEASE_SERVER,
};

/* The index of XEN_PCI_IOREQ_RELEASE_SERVER, whose argument is no pointer. */
#define NR_RELEASE	10

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
	if (nr == NR_RELEASE) {
		/* An argument of 0, on a bound file, is the only good one. */
		if (kind > 2)
			p = NULL;
		may_succeed = !p && z->bound[k];
	}
	if (nr == 1 && kind == 2 && !z->bound[k])
		may_succeed = false;
	z->ioctls++;
	z->per_cmd[nr]++;
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
	/* Sometimes an eventfd goes too, with whatever still uses it. */
	if (!below(z, 4)) {
		int e = below(z, 2);

		close(z->efd[e]);
		z->efd[e] = eventfd(0, EFD_NONBLOCK);
	}
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
	struct xen_pci_ioreq_function fn = mkfn(0, 31, 7);
	struct xen_pci_ioreq_request req;
	const char *ioctls_env = getenv("XEN_PCI_IOREQ_FUZZ_IOCTLS");
	unsigned long long seed, want = FUZZ_MIN_IOCTLS, n;
	bool time_up = false;
	struct timespec t0, t;
	struct fuzz z = { .domid = self->domid, .lay = self->lay };
	unsigned char *pages;
	unsigned int i;
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	if (seed_env)
		seed = strtoull(seed_env, NULL, 0);
	else if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = time(NULL) ^ ((unsigned long long)getpid() << 32);
	if (ioctls_env)
		want = strtoull(ioctls_env, NULL, 0);
	if (want < FUZZ_MIN_IOCTLS)
		want = FUZZ_MIN_IOCTLS;
	TH_LOG("fuzz seed %#llx (replay: XEN_PCI_IOREQ_FUZZ_SEED=%#llx), %llu ioctls",
	       seed, seed, want);
	z.rng = seed ? seed : 1;
	z.efd[0] = eventfd(0, EFD_NONBLOCK);
	z.efd[1] = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, z.efd[0]);
	ASSERT_LE(0, z.efd[1]);

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
	for (n = 0; z.ioctls < want; n++) {
		int k = below(&z, 2);

		if (z.fd[k] < 0) {
			fuzz_reopen(&z, k);
			continue;
		}
		switch (below(&z, 16)) {
		case 0 ... 9:
			fuzz_ioctl(_metadata, &z, k);
			break;
		case 10 ... 11:
			fuzz_rw(_metadata, &z, k, false);
			break;
		case 12:
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
			time_up = true;
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	TH_LOG("%llu iterations, %ld s: %llu calls (%llu ioctls), %llu ok, %llu unexpected",
	       n, (long)(t.tv_sec - t0.tv_sec), z.calls, z.ioctls,
	       z.successes, z.unexpected);
	for (i = 0; i < NR_CMDS; i++)
		TH_LOG("  ioctl %#lx: %llu calls", fuzz_cmds[i], z.per_cmd[i]);
	for (i = 0; i < 160; i++)
		if (z.errs[i])
			TH_LOG("  %s: %u", errname(i), z.errs[i]);
	EXPECT_EQ(0ULL, z.unexpected);
	EXPECT_FALSE(time_up);
	EXPECT_GE(z.ioctls, FUZZ_MIN_IOCTLS);
	for (i = 0; i < NR_CMDS; i++)
		EXPECT_LT(1000ULL, z.per_cmd[i]);
	close(z.efd[0]);
	close(z.efd[1]);
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
