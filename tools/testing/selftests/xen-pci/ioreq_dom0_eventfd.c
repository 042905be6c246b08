// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfds and irqfds of /dev/xen/pci-ioreq, seen from dom0: what may be
 * assigned, collisions, what goes with a BAR range, a function or a file,
 * that a signal asserts the pin and is never lost to a deassertion, and
 * that a resamplefd hands deassertions back to a backend of two threads
 * without losing an interrupt. On a paused guest this program shares among its tests
 * (fixture guest, lib/guest_fixture.h): a family of its own, apart from
 * the ioctls of ioreq_dom0, for the price of one paused guest.
 *
 * Needs what ioreq_dom0 needs: XEN_PCI_IOREQ_GUEST_CFG, /dev/xen/pci-ioreq,
 * root, xl in $PATH; and the driver's debugfs statistics for the irqfd
 * tests. Runs in dom0.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <xen/pci-ioreq.h>

#include "../kselftest_harness.h"
#include "lib/ioreq_util.h"
#include "lib/pci_util.h"
#include "lib/xl_util.h"
#include "lib/guest_fixture.h"

#define IOEVENTFD_DM	XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH
#define IOEVENTFD_DEL	XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN

/*
 * ioeventfds: what may be added and removed, collisions, and that one goes
 * away with its BAR range and with its function.
 */
TEST_F(guest, ioeventfd_rules)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 9, 0), fn2 = mkfn(0, 10, 0);
	__u64 a = self->lay.mem[0].base + 0x400000;
	int e1 = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct xen_pci_ioreq_ioeventfd bad;
	unsigned int i;

	ASSERT_LE(0, e1);
	ASSERT_LE(0, e2);
	ASSERT_LE(0, null);
	test_cmd_register(self->fd, fn);
	test_cmd_register(self->fd2, fn2);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);

	/* Inside a range of the function, of a size an access has */
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a + 0x100, 4, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a + 0xfe, 4, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a - 4, 4, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a, 3, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a, 0, 0);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a, 16, 0);
	/* data only with DATAMATCH, and no wider than the access */
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 0, a, 4, 1);
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, IOEVENTFD_DM, a, 2, 0x10000);
	/* Unknown flags, reserved fields */
	test_err_ioeventfd(EINVAL, self->fd, fn, e1, 4, a, 4, 0);
	for (i = 0; i < 2; i++) {
		bad = (struct xen_pci_ioreq_ioeventfd){
			.fn = fn, .fd = e1, .addr = a, .size = 4,
		};
		if (i)
			bad.reserved = 1;
		else
			bad.reserved0 = 1;
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_IOEVENTFD, &bad));
	}
	/* An eventfd, open */
	test_err_ioeventfd(EINVAL, self->fd, fn, null, 0, a, 4, 0);
	test_err_ioeventfd(EBADF, self->fd, fn, -1, 0, a, 4, 0);
	/* Functions of this file only */
	test_err_ioeventfd(ERR_NOT_OURS, self->fd, fn2, e1, 0, a, 4, 0);
	test_err_ioeventfd(ERR_NOT_OURS, self->fd2, fn, e1, 0, a, 4, 0);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_IOEVENTFD, NULL));

	/* Two that could match one write collide */
	test_cmd_ioeventfd(self->fd, fn, e1, 0, a + 0x10, 4, 0);
	test_err_ioeventfd(EEXIST, self->fd, fn, e2, 0, a + 0x10, 4, 0);
	test_err_ioeventfd(EEXIST, self->fd, fn, e2, IOEVENTFD_DM, a + 0x10, 4, 7);
	test_cmd_ioeventfd(self->fd, fn, e2, 0, a + 0x10, 2, 0);
	test_cmd_ioeventfd(self->fd, fn, e1, IOEVENTFD_DM, a + 0x20, 4, 1);
	test_cmd_ioeventfd(self->fd, fn, e2, IOEVENTFD_DM, a + 0x20, 4, 2);
	test_err_ioeventfd(EEXIST, self->fd, fn, e2, 0, a + 0x20, 4, 0);

	/* Removing takes the same arguments and eventfd */
	test_err_ioeventfd(ENOENT, self->fd, fn, e2, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_err_ioeventfd(ENOENT, self->fd, fn, e1, IOEVENTFD_DEL | IOEVENTFD_DM, a + 0x20, 4, 2);
	test_cmd_ioeventfd(self->fd, fn, e1, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_err_ioeventfd(ENOENT, self->fd, fn, e1, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_cmd_ioeventfd(self->fd, fn, e1, 0, a + 0x10, 4, 0);

	/* Gone with the BAR range ... */
	test_cmd_remove_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_err_ioeventfd(ENOENT, self->fd, fn, e1, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_err_ioeventfd(ENOENT, self->fd, fn, e2, IOEVENTFD_DEL | IOEVENTFD_DM, a + 0x20, 4, 2);
	/* ... and with the function */
	test_cmd_ioeventfd(self->fd, fn, e1, 0, a + 0x10, 4, 0);
	test_cmd_unregister(self->fd, fn);
	test_cmd_register(self->fd, fn);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_err_ioeventfd(ENOENT, self->fd, fn, e1, IOEVENTFD_DEL, a + 0x10, 4, 0);
	test_cmd_ioeventfd(self->fd, fn, e1, 0, a + 0x10, 4, 0);
	test_cmd_remove_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_unregister(self->fd, fn);
	close(e1);
	close(e2);
	close(null);
}

/*
 * irqfds: each signal asserts the pin (intx_raised and irqfd_asserted
 * grow), until the irqfd is removed, its function goes or its file closes.
 */
TEST_F(guest, irqfd)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 11, 0), fn2 = mkfn(0, 12, 0);
	const __u32 del = XEN_PCI_IOREQ_IRQFD_DEASSIGN;
	int e1 = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	long long asserted, raised, signals;
	struct xen_pci_ioreq_irqfd bad;
	__u64 one = 1;
	int i, fd3;

	ASSERT_LE(0, e1);
	ASSERT_LE(0, e2);
	ASSERT_LE(0, null);
	if (guest_stat(self->domid, "irqfds") < 0)
		SKIP(goto out, "no debugfs statistics of guest %d", self->domid);
	test_cmd_register(self->fd, fn);
	test_cmd_register(self->fd2, fn2);

	test_err_irqfd(EINVAL, self->fd, fn, e1, 0, 0);
	test_err_irqfd(EINVAL, self->fd, fn, e1, 0, 5);
	test_err_irqfd(EINVAL, self->fd, fn, e1, 4, 1);
	test_err_irqfd(EINVAL, self->fd, fn, null, 0, 1);
	test_err_irqfd(EBADF, self->fd, fn, -1, 0, 1);
	/* Root bus only */
	test_cmd_register(self->fd, mkfn(1, 11, 0));
	test_err_irqfd(EINVAL, self->fd, mkfn(1, 11, 0), e1, 0, 1);
	test_cmd_unregister(self->fd, mkfn(1, 11, 0));
	test_err_irqfd(ERR_NOT_OURS, self->fd, fn2, e1, 0, 1);
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, XEN_PCI_IOREQ_IRQFD, NULL));
	for (i = 0; i < 2; i++) {
		bad = (struct xen_pci_ioreq_irqfd){ .fn = fn, .fd = e1, .pin = 1 };
		/* a message without XEN_PCI_IOREQ_IRQFD_MSI */
		if (i)
			bad.msi_address = 1;
		else
			bad.reserved0[2] = 1;
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, XEN_PCI_IOREQ_IRQFD, &bad));
	}

	test_cmd_irqfd(self->fd, fn, e1, 0, 1);
	test_err_irqfd(EEXIST, self->fd, fn, e1, 0, 1);
	test_err_irqfd(EBUSY, self->fd, fn, e1, 0, 2);
	test_err_irqfd(ENOENT, self->fd, fn, e2, del, 1);
	EXPECT_EQ(1, guest_stat(self->domid, "irqfds"));

	/* Each signal asserts the pin once */
	raised = guest_stat(self->domid, "intx_raised");
	asserted = guest_stat(self->domid, "irqfd_asserted");
	for (i = 1; i <= 5; i++) {
		ASSERT_EQ(8, write(e1, &one, 8));
		EXPECT_TRUE(stat_grows(self->domid, "irqfd_asserted",
				       asserted + i - 1));
	}
	EXPECT_LE(raised + 5, guest_stat(self->domid, "intx_raised"));
	/* The count was taken: the eventfd reads nothing */
	fcntl(e1, F_SETFL, O_NONBLOCK);
	EXPECT_ERRNO(EAGAIN, read(e1, &one, 8));
	one = 1;
	test_cmd_set_intx(self->fd, fn, 1, 0);

	/* Removed: signals assert nothing */
	test_cmd_irqfd(self->fd, fn, e1, del, 1);
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
	signals = guest_stat(self->domid, "irqfd_signals");
	asserted = guest_stat(self->domid, "irqfd_asserted");
	ASSERT_EQ(8, write(e1, &one, 8));
	usleep(200000);
	EXPECT_EQ(signals, guest_stat(self->domid, "irqfd_signals"));
	EXPECT_EQ(asserted, guest_stat(self->domid, "irqfd_asserted"));

	/* Signalled before it was added: asserts at once */
	test_cmd_irqfd(self->fd, fn, e1, 0, 4);
	EXPECT_TRUE(stat_grows(self->domid, "irqfd_asserted", asserted));
	test_cmd_set_intx(self->fd, fn, 4, 0);

	/* Gone with the function, and with the file */
	test_cmd_unregister(self->fd, fn);
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
	fd3 = open_bound(self->domid, true);
	ASSERT_LE(0, fd3);
	test_cmd_register(fd3, fn);
	test_cmd_irqfd(fd3, fn, e2, 0, 2);
	EXPECT_EQ(1, guest_stat(self->domid, "irqfds"));
	close(fd3);
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
out:
	close(e1);
	close(e2);
	close(null);
}

/*
 * The figure @key of @fn's line in the guest's statistics ("function
 * 0000:00:0d.0 ranges 1 intx 0x1 ioeventfds 0"), or -1.
 */
static int fn_stat(int domid, struct xen_pci_ioreq_function fn, const char *key)
{
	char path[96], line[256], want[48], k[24];
	int val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/xen-pci-ioreq/%d/stats",
		 domid);
	snprintf(want, sizeof(want), "function %04x:%02x:%02x.%u ", fn.segment,
		 fn.bus, fn.devfn >> 3, fn.devfn & 7);
	snprintf(k, sizeof(k), " %s ", key);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, k);

		if (!strncmp(line, want, strlen(want)) && p)
			val = strtol(p + strlen(k), NULL, 0);
	}
	fclose(f);
	return val;
}

/* The INTx pins a function asserts, or -1. */
static int fn_intx(int domid, struct xen_pci_ioreq_function fn)
{
	return fn_stat(domid, fn, "intx");
}

/*
 * Wait until @read(@domid, @fn) is @want, for at most ROUND_TIMEOUT
 * seconds: the state, not a fixed time. What it last read.
 */
static int wait_count(int (*read)(int, struct xen_pci_ioreq_function), int domid,
		      struct xen_pci_ioreq_function fn, int want)
{
	int i, val = read(domid, fn);

	for (i = 0; i < ROUND_TIMEOUT * 100 && val != want; i++) {
		usleep(10000);
		val = read(domid, fn);
	}
	return val;
}

/*
 * A backend signals its irqfd and deasserts the pin at once, before the
 * kernel's worker has asserted it. The signal may stand for a condition
 * the deassertion did not see: it must still assert the pin. (It used to
 * be cancelled: a backend with a second thread lost the interrupt.)
 */
TEST_F_TIMEOUT(guest, irqfd_signal_before_deassert_asserts, 2 * ROUND_TIMEOUT)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 13, 0);
	long long signals, asserted, cancelled;
	int e = eventfd(0, EFD_CLOEXEC);
	__u64 one = 1;
	int i;

	ASSERT_LE(0, e);
	if (guest_stat(self->domid, "irqfds") < 0)
		SKIP(goto out, "no debugfs statistics of guest %d", self->domid);
	test_cmd_register(self->fd, fn);
	test_cmd_irqfd(self->fd, fn, e, 0, 1);
	signals = guest_stat(self->domid, "irqfd_signals");
	asserted = guest_stat(self->domid, "irqfd_asserted");
	cancelled = guest_stat(self->domid, "irqfd_cancelled");
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(8, write(e, &one, 8));
		test_cmd_set_intx(self->fd, fn, 1, 0);
		/*
		 * It asserted, before the deassertion or after it. (One
		 * signal at a time: two before the worker runs are one.)
		 */
		ASSERT_TRUE(stat_grows(self->domid, "irqfd_asserted",
				       asserted + i));
	}
	EXPECT_EQ(signals + 20, guest_stat(self->domid, "irqfd_signals"));
	EXPECT_EQ(asserted + 20, guest_stat(self->domid, "irqfd_asserted"));
	EXPECT_EQ(cancelled, guest_stat(self->domid, "irqfd_cancelled"));
	test_cmd_unregister(self->fd, fn);
out:
	close(e);
}

/* What @efd counted since it was last read (nonblocking), or -1. */
static long long eventfd_take(int efd)
{
	__u64 cnt;

	if (read(efd, &cnt, 8) == 8)
		return cnt;
	return errno == EAGAIN ? 0 : -1;
}

/*
 * With a resamplefd, each deassertion drops the signals it overtook (no
 * stale assertion) and signals the resamplefd, once per deassertion; the
 * backend's signal after that asserts. What a resamplefd may be.
 */
TEST_F(guest, irqfd_resample)
{
	const __u32 rs = XEN_PCI_IOREQ_IRQFD_RESAMPLE;
	const __u32 del = XEN_PCI_IOREQ_IRQFD_DEASSIGN;
	struct xen_pci_ioreq_function fn = mkfn(0, 13, 0);
	int e = eventfd(0, EFD_CLOEXEC);
	int r = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	long long signals, asserted, cancelled, resampled;
	__u64 one = 1;
	int i;

	ASSERT_LE(0, e);
	ASSERT_LE(0, r);
	ASSERT_LE(0, null);
	if (guest_stat(self->domid, "irqfds") < 0)
		SKIP(goto out, "no debugfs statistics of guest %d", self->domid);
	test_cmd_register(self->fd, fn);
	EXPECT_ERRNO(EINVAL, _test_cmd_irqfd_resample(self->fd, fn, e, e, rs, 1));
	EXPECT_ERRNO(EINVAL, _test_cmd_irqfd_resample(self->fd, fn, e, null, rs, 1));
	EXPECT_ERRNO(EBADF, _test_cmd_irqfd_resample(self->fd, fn, e, -1, rs, 1));
	EXPECT_ERRNO(EINVAL, _test_cmd_irqfd_resample(self->fd, fn, e, r, 0, 1));
	EXPECT_ERRNO(EINVAL, _test_cmd_irqfd_resample(self->fd, fn, e, r,
						      rs | del, 1));
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
	ASSERT_OK(_test_cmd_irqfd_resample(self->fd, fn, e, r, rs, 1));

	signals = guest_stat(self->domid, "irqfd_signals");
	asserted = guest_stat(self->domid, "irqfd_asserted");
	cancelled = guest_stat(self->domid, "irqfd_cancelled");
	resampled = guest_stat(self->domid, "irqfd_resampled");
	for (i = 1; i <= 20; i++) {
		ASSERT_EQ(8, write(e, &one, 8));
		test_cmd_set_intx(self->fd, fn, 1, 0);
		/* Asserted before the deassertion, or dropped by it */
		EXPECT_EQ(asserted + cancelled + i,
			  guest_stat(self->domid, "irqfd_asserted") +
			  guest_stat(self->domid, "irqfd_cancelled"));
		EXPECT_EQ(0, fn_intx(self->domid, fn));
		EXPECT_EQ(1, eventfd_take(r));
	}
	EXPECT_EQ(signals + 20, guest_stat(self->domid, "irqfd_signals"));
	EXPECT_EQ(resampled + 20, guest_stat(self->domid, "irqfd_resampled"));
	/* The backend finds its condition standing and signals again */
	ASSERT_EQ(8, write(e, &one, 8));
	EXPECT_EQ(1, wait_count(fn_intx, self->domid, fn, 1));
	test_cmd_set_intx(self->fd, fn, 1, 0);
	EXPECT_EQ(1, eventfd_take(r));
	test_cmd_irqfd(self->fd, fn, e, del, 1);
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
	test_cmd_unregister(self->fd, fn);
out:
	close(e);
	close(r);
	close(null);
}

/*
 * A backend of two threads, as the issue found it: B reads and clears the
 * status and then deasserts the pin, A sets the status and signals the
 * irqfd, with nothing ordering A between B's two steps. With a resamplefd,
 * whose handler signals again if the status is set, no round ends with the
 * status set and the pin low.
 */
struct race {
	pthread_barrier_t start, end;
	pthread_mutex_t lock;
	struct xen_pci_ioreq_function fn;
	int fd, e, rounds, isr, set_intx_err;
	unsigned int seed_a, seed_b;
};

static void spin_us(unsigned int us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000 +
	       (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

/* The device: a completion sets the status and signals the irqfd. */
static void *race_device(void *arg)
{
	struct race *rc = arg;
	__u64 one = 1;
	int i;

	for (i = 0; i < rc->rounds; i++) {
		pthread_barrier_wait(&rc->start);
		spin_us(rand_r(&rc->seed_a) % 200);
		pthread_mutex_lock(&rc->lock);
		rc->isr = 1;
		pthread_mutex_unlock(&rc->lock);
		if (write(rc->e, &one, 8) != 8)
			rc->set_intx_err = errno;
		pthread_barrier_wait(&rc->end);
	}
	return NULL;
}

/* The guest's status read: clears the status, then deasserts. */
static void *race_reader(void *arg)
{
	struct race *rc = arg;
	int i;

	for (i = 0; i < rc->rounds; i++) {
		pthread_barrier_wait(&rc->start);
		spin_us(rand_r(&rc->seed_b) % 100);
		pthread_mutex_lock(&rc->lock);
		rc->isr = 0;
		pthread_mutex_unlock(&rc->lock);
		spin_us(rand_r(&rc->seed_b) % 200);
		if (_test_cmd_set_intx(rc->fd, rc->fn, 1, 0))
			rc->set_intx_err = errno;
		pthread_barrier_wait(&rc->end);
	}
	return NULL;
}

#define RACE_ROUNDS	400

/*
 * Wait until each of @writes signals since @base (irqfd_asserted +
 * irqfd_cancelled then) has asserted the pin or was dropped: the line is
 * final. Only one signal is ever in flight, so none merges with another.
 */
static bool race_settle(int domid, long long base, long long writes)
{
	int i;

	for (i = 0; i < ROUND_TIMEOUT * 1000; i++) {
		if (guest_stat(domid, "irqfd_asserted") +
		    guest_stat(domid, "irqfd_cancelled") - base == writes)
			return true;
		usleep(1000);
	}
	return false;
}

TEST_F(guest, irqfd_two_threads_lose_nothing)
{
	const __u32 rs = XEN_PCI_IOREQ_IRQFD_RESAMPLE;
	struct race rc = {
		.fn = mkfn(0, 13, 0), .fd = self->fd, .rounds = RACE_ROUNDS,
		.seed_a = 1, .seed_b = 2,
	};
	int r = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	long long base, writes = 0, resamples = 0, again = 0, stale = 0;
	long long cancelled;
	pthread_t a, b;
	__u64 one = 1;
	int i, lost = 0;

	rc.e = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, rc.e);
	ASSERT_LE(0, r);
	if (guest_stat(self->domid, "irqfds") < 0)
		SKIP(goto out, "no debugfs statistics of guest %d", self->domid);
	test_cmd_register(self->fd, rc.fn);
	ASSERT_OK(_test_cmd_irqfd_resample(self->fd, rc.fn, rc.e, r, rs, 1));
	cancelled = guest_stat(self->domid, "irqfd_cancelled");
	base = guest_stat(self->domid, "irqfd_asserted") + cancelled;
	ASSERT_EQ(0, pthread_mutex_init(&rc.lock, NULL));
	ASSERT_EQ(0, pthread_barrier_init(&rc.start, NULL, 3));
	ASSERT_EQ(0, pthread_barrier_init(&rc.end, NULL, 3));
	ASSERT_EQ(0, pthread_create(&a, NULL, race_device, &rc));
	ASSERT_EQ(0, pthread_create(&b, NULL, race_reader, &rc));
	for (i = 0; i < RACE_ROUNDS; i++) {
		long long n;

		pthread_barrier_wait(&rc.start);
		pthread_barrier_wait(&rc.end);
		if (!race_settle(self->domid, base, ++writes))
			break;
		/* The backend's resample handler */
		n = eventfd_take(r);
		resamples += n;
		if (n > 0 && rc.isr) {
			if (write(rc.e, &one, 8) != 8 ||
			    !race_settle(self->domid, base, ++writes))
				break;
			again++;
		}
		if (rc.isr && fn_intx(self->domid, rc.fn) != 1)
			lost++;
		stale += !rc.isr && fn_intx(self->domid, rc.fn) == 1;
		/* The next round starts from a low line and a clear status */
		rc.isr = 0;
		if (_test_cmd_set_intx(self->fd, rc.fn, 1, 0))
			break;
		eventfd_take(r);
	}
	if (i < RACE_ROUNDS) {
		/* The threads wait for a round that never comes: not joined */
		TH_LOG("round %d: a signal stuck for %d s, or an ioctl failed",
		       i, ROUND_TIMEOUT);
	}
	EXPECT_EQ(RACE_ROUNDS, i);
	if (i == RACE_ROUNDS) {
		EXPECT_EQ(0, pthread_join(a, NULL));
		EXPECT_EQ(0, pthread_join(b, NULL));
	}
	EXPECT_EQ(0, rc.set_intx_err);
	EXPECT_EQ(0, lost);
	TH_LOG("%d rounds: %lld resamples (%lld raised again), %lld dropped, %lld stale",
	       i, resamples, again,
	       guest_stat(self->domid, "irqfd_cancelled") - cancelled, stale);
	test_cmd_unregister(self->fd, rc.fn);
out:
	close(rc.e);
	close(r);
}

/* The guest's irqfds, from its statistics (@fn unused), or -1. */
static int guest_irqfds(int domid, struct xen_pci_ioreq_function fn)
{
	return guest_stat(domid, "irqfds");
}

/* The ioeventfds of @fn, or -1. */
static int fn_ioeventfds(int domid, struct xen_pci_ioreq_function fn)
{
	return fn_stat(domid, fn, "ioeventfds");
}

/* More than the guest's irqfds and a function's ioeventfds (256, 64) */
#define CLOSE_CYCLES	257

/*
 * A backend closes the eventfd of an irqfd without removing it first (it
 * exits, or drops a queue): the irqfd goes by itself, as it can no longer
 * be removed (DEASSIGN needs the eventfd). Else the irqfds of a closed
 * eventfd stay until their function goes, and use up the guest's limit,
 * which every backend of the guest shares.
 */
TEST_F_TIMEOUT(guest, irqfd_goes_with_its_eventfd, 120)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 14, 0), fn2 = mkfn(0, 15, 0);
	int e, i, failed = 0, err = 0;

	if (guest_stat(self->domid, "irqfds") < 0)
		SKIP(return, "no debugfs statistics of guest %d", self->domid);
	ASSERT_EQ(0, guest_stat(self->domid, "irqfds"));
	test_cmd_register(self->fd, fn);
	test_cmd_register(self->fd2, fn2);

	e = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, e);
	test_cmd_irqfd(self->fd, fn, e, 0, 1);
	EXPECT_EQ(1, guest_stat(self->domid, "irqfds"));
	close(e);
	EXPECT_EQ(0, wait_count(guest_irqfds, self->domid, fn, 0))
		TH_LOG("the irqfd outlived its eventfd by %d s", ROUND_TIMEOUT);

	/* More than the limit, one after another, from one file */
	for (i = 0; i < CLOSE_CYCLES; i++) {
		e = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, e);
		if (_test_cmd_irqfd(self->fd, fn, e, 0, 1 + i % 4) && !failed++)
			err = errno;
		close(e);
	}
	EXPECT_EQ(0, failed)
		TH_LOG("%d of %d IRQFD failed, the first with %s", failed,
		       CLOSE_CYCLES, errname(err));
	EXPECT_EQ(0, wait_count(guest_irqfds, self->domid, fn, 0));

	/* Another backend of the guest still gets one */
	e = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, e);
	test_cmd_irqfd(self->fd2, fn2, e, 0, 1);
	EXPECT_EQ(1, guest_stat(self->domid, "irqfds"));
	test_cmd_unregister(self->fd2, fn2);
	EXPECT_EQ(0, guest_stat(self->domid, "irqfds"));
	close(e);
	test_cmd_unregister(self->fd, fn);
}

/*
 * The same for ioeventfds: one whose eventfd is closed goes by itself, so
 * that its address is free again (a backend that restarts a queue with a
 * new eventfd gets it) and it does not use up its function's limit; its
 * writes go to the backend again meanwhile.
 */
TEST_F_TIMEOUT(guest, ioeventfd_goes_with_its_eventfd, 120)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 16, 0), fn2 = mkfn(0, 17, 0);
	__u64 a = self->lay.mem[0].base + 0x500000, a2 = a + 0x1000;
	int e, i, failed = 0, err = 0;

	test_cmd_register(self->fd, fn);
	test_cmd_register(self->fd2, fn2);
	test_cmd_add_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_add_mmio(self->fd2, fn2, 0, a2, 0x100);
	if (fn_ioeventfds(self->domid, fn) < 0)
		SKIP(goto out, "no debugfs statistics of guest %d", self->domid);

	e = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, e);
	test_cmd_ioeventfd(self->fd, fn, e, 0, a + 0x10, 4, 0);
	EXPECT_EQ(1, fn_ioeventfds(self->domid, fn));
	close(e);
	EXPECT_EQ(0, wait_count(fn_ioeventfds, self->domid, fn, 0))
		TH_LOG("the ioeventfd outlived its eventfd by %d s", ROUND_TIMEOUT);

	/* The same address again and again, past the function's limit */
	for (i = 0; i < CLOSE_CYCLES; i++) {
		e = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, e);
		if (_test_cmd_ioeventfd(self->fd, fn, e, 0, a + 0x10, 4, 0) &&
		    !failed++)
			err = errno;
		close(e);
	}
	EXPECT_EQ(0, failed)
		TH_LOG("%d of %d IOEVENTFD failed, the first with %s", failed,
		       CLOSE_CYCLES, errname(err));
	EXPECT_EQ(0, wait_count(fn_ioeventfds, self->domid, fn, 0));

	/* Another backend of the guest still gets one */
	e = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, e);
	test_cmd_ioeventfd(self->fd2, fn2, e, 0, a2, 4, 0);
	EXPECT_EQ(1, fn_ioeventfds(self->domid, fn2));
	test_cmd_ioeventfd(self->fd2, fn2, e, IOEVENTFD_DEL, a2, 4, 0);
	close(e);
out:
	test_cmd_remove_mmio(self->fd, fn, 0, a, 0x100);
	test_cmd_remove_mmio(self->fd2, fn2, 0, a2, 0x100);
	test_cmd_unregister(self->fd, fn);
	test_cmd_unregister(self->fd2, fn2);
}

int main(int argc, char **argv)
{
	guests_start(true);
	return test_harness_run(argc, argv);
}
