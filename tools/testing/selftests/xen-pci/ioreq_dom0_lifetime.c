// SPDX-License-Identifier: GPL-2.0
/*
 * The lifetime of /dev/xen/pci-ioreq servers, seen from dom0, on guests of
 * each test's own that the tests destroy: files that hear of their guest's
 * death, servers that stay with their guest or go with a last file that
 * asked (RELEASE_SERVER),
 * the module held while servers live, the limit of Xen's ranges, and guests
 * destroyed under live files again and again (churn). Two tests need a
 * second guest alive: the program's shared paused guest.
 *
 * Needs what ioreq_dom0 needs: XEN_PCI_IOREQ_GUEST_CFG, /dev/xen/pci-ioreq,
 * root, xl in $PATH. Runs in dom0.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/pci-ioreq.h>

#include "../kselftest_harness.h"
#include "lib/ioreq_util.h"
#include "lib/pci_util.h"
#include "lib/xl_util.h"
#include "lib/fresh_fixture.h"

/*
 * A fresh guest for the death of a guest under live files, once for each
 * lifetime of its server: the guest's (the default), or the files' (each
 * asked RELEASE_SERVER).
 */
FIXTURE(dying) {
	struct guest guest;
};

FIXTURE_VARIANT(dying) {
	bool release;
};

FIXTURE_VARIANT_ADD(dying, kept) {
	.release = false,
};

FIXTURE_VARIANT_ADD(dying, released) {
	.release = true,
};

FIXTURE_SETUP(dying)
{
	own_guest_create(_metadata, &self->guest, CFG_ENV, "-dying", NULL);
}

FIXTURE_TEARDOWN_PARENT(dying)
{
	guest_destroy(&self->guest);
}

/*
 * The guest dies under live files: they report POLLHUP, a sleeping reader
 * wakes up with -ENODEV, everything else fails with -ENODEV, and once the
 * files are closed nothing holds the dead domain.
 */
TEST_F_TIMEOUT(dying, guest_destroyed_under_live_fds, 90)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 2, 0);
	struct epoll_event ev = { .events = EPOLLIN };
	struct xen_pci_ioreq_request req;
	struct xen_pci_ioreq_info info;
	int domid = self->guest.domid;
	int fd, fd2, ep, status, i;
	struct pollfd pfd;
	__u64 mem;
	pid_t reader, w;

	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	fd2 = open_bound(domid, false);
	ASSERT_LE(0, fd2);
	if (variant->release) {
		test_cmd_release_server(fd);
		test_cmd_release_server(fd2);
	}
	test_cmd_register(fd, fn);
	mem = layout_of(fd).mem[0].base;
	test_cmd_add_mmio(fd, fn, 0, mem, 0x100);
	test_cmd_set_intx(fd, fn, 1, 1);
	test_cmd_register(fd2, mkfn(0, 3, 0));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));

	reader = fork();
	ASSERT_LE(0, reader);
	if (!reader) {
		ssize_t n;

		alarm(GONE_TIMEOUT + 10);
		n = read(fd2, &req, sizeof(req));
		_exit(n < 0 ? errno & 0x7f : 0x80);
	}
	ASSERT_TRUE(wait_blocked_in(reader, __NR_read))
		TH_LOG("the reader never slept in read()");

	ASSERT_OK(guest_destroy(&self->guest));

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ASSERT_EQ(1, poll(&pfd, 1, GONE_TIMEOUT * 1000));
	EXPECT_TRUE(!!(pfd.revents & POLLHUP)) TH_LOG("revents %#x", pfd.revents);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	EXPECT_TRUE(!!(ev.events & EPOLLHUP)) TH_LOG("events %#x", ev.events);

	for (i = 0; i < GONE_TIMEOUT * 20; i++) {
		w = waitpid(reader, &status, WNOHANG);
		if (w)
			break;
		usleep(50000);
	}
	if (!w) {
		kill(reader, SIGKILL);
		waitpid(reader, &status, 0);
	}
	EXPECT_EQ(reader, w) TH_LOG("the blocked reader did not wake up");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == ENODEV)
		TH_LOG("reader: status %#x", status);

	alarm(10);	/* a blocking read() that sleeps on dies of SIGALRM */
	EXPECT_ERRNO(ENODEV, read(fd, &req, sizeof(req)));
	EXPECT_ERRNO(ENODEV, read(fd2, &req, sizeof(req)));
	alarm(0);
	EXPECT_ERRNO(ENODEV, respond(fd, 1, 0));
	EXPECT_ERRNO(ENODEV, ioctl(fd, XEN_PCI_IOREQ_GET_INFO, &info));
	test_err_register(ENODEV, fd, mkfn(0, 4, 0));
	test_err_add_mmio(ENODEV, fd, fn, 2, mem + 0x10000, 0x1000);
	test_err_set_intx(ENODEV, fd, fn, 1, 0);
	close(ep);
	close(fd);
	close(fd2);

	/* Nothing keeps the dead domain around, and it cannot be bound. */
	expect_domain_gone(_metadata, domid);
}

/*
 * A backend that adds its file to an epoll set before binding it must hear
 * of what happens after BIND: here, the death of the guest.
 */
TEST_F_TIMEOUT(fresh, epoll_added_before_bind, 60)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, ep, n;

	fd = open_dev(true);
	ASSERT_LE(0, fd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	/*
	 * Unbound: nothing to report. An error would wake this level-
	 * triggered set again and again until the bind.
	 */
	n = epoll_wait(ep, &ev, 1, 100);
	EXPECT_EQ(0, n) TH_LOG("unbound: events %#x", ev.events);
	ASSERT_OK(bind_fd(fd, self->guest.domid));
	test_cmd_register(fd, mkfn(0, 5, 0));
	/* Bound and idle: nothing to report either. */
	n = epoll_wait(ep, &ev, 1, 0);
	EXPECT_EQ(0, n) TH_LOG("events %#x", ev.events);

	ASSERT_OK(guest_destroy(&self->guest));
	ev.events = 0;
	n = epoll_wait(ep, &ev, 1, GONE_TIMEOUT * 1000);
	EXPECT_EQ(1, n) TH_LOG("epoll_wait: %d, the file was never woken", n);
	EXPECT_TRUE(!!(ev.events & EPOLLHUP)) TH_LOG("events %#x", ev.events);
	close(ep);
	close(fd);
}

/*
 * Xen gives an ioreq server 256 memory ranges; in ECAM mode the ECAM
 * window and the two memory windows take three of them. A BAR range
 * outside the windows takes one more: past the real limit the driver says
 * ENOSPC (not Xen's error), and ranges inside the windows, which take none,
 * are still accepted up to the driver's own limit of 256.
 */
#define OUTSIDE_BASE		0x34000000ULL	/* between the memory windows */
/* Xen merges adjacent ranges into one: leave a hole between them. */
#define OUTSIDE_STRIDE		0x2000ULL
TEST_F_TIMEOUT(fresh, xen_range_limit, 60)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 6, 0);
	unsigned int n, want, inside;
	int fd, err = 0;

	fd = open_bound(self->guest.domid, true);
	ASSERT_LE(0, fd);
	want = ecam_mode(fd) ? 256 - 3 : 256;
	test_cmd_register(fd, fn);
	for (n = 0; n < 300; n++) {
		if (_test_cmd_mmio(fd, XEN_PCI_IOREQ_ADD_MMIO, fn, n % 6,
				   OUTSIDE_BASE + n * OUTSIDE_STRIDE, 0x1000)) {
			err = errno;
			break;
		}
	}
	EXPECT_EQ(want, n);
	EXPECT_EQ(ENOSPC, err) TH_LOG("range %u: %s", n, errname(err));
	/* One released, one more fits. */
	test_cmd_remove_mmio(fd, fn, 0, OUTSIDE_BASE, 0x1000);
	test_cmd_add_mmio(fd, fn, 0, OUTSIDE_BASE, 0x1000);
	if (ecam_mode(fd)) {
		/* Inside a window: up to 256 ranges in all. */
		for (inside = 0; n + inside < 300; inside++) {
			if (_test_cmd_mmio(fd, XEN_PCI_IOREQ_ADD_MMIO, fn, 0,
					   layout_of(fd).mem[0].base +
					   inside * OUTSIDE_STRIDE,
					   0x1000)) {
				err = errno;
				break;
			}
		}
		EXPECT_EQ(256U, n + inside);
		EXPECT_EQ(ENOSPC, err) TH_LOG("%s", errname(err));
	}
	/* Closing releases them all: the same number fits again. */
	close(fd);
	fd = open_bound(self->guest.domid, true);
	ASSERT_LE(0, fd);
	test_cmd_register(fd, fn);
	for (n = 0; n < want; n++)
		test_cmd_add_mmio(fd, fn, 0, OUTSIDE_BASE + n * OUTSIDE_STRIDE, 0x1000)
			TH_LOG("range %u after close", n);
	close(fd);
}

/* ---- the module stays while a guest uses it ---- */

#define MODULE_NAME		"xen_pci_ioreq"
#define MODULE_REFCNT		"/sys/module/" MODULE_NAME "/refcnt"

static int module_refcnt(void)
{
	char buf[32];
	FILE *f = fopen(MODULE_REFCNT, "r");
	int n = -1;

	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		n = atoi(buf);
	fclose(f);
	return n;
}

/*
 * A live server is the guest's PCI bus: unloading the module under it
 * would make its next configuration access fault. Each server holds the
 * module until its guest dies, open files or not.
 */
TEST_F_TIMEOUT(fresh, module_held_while_guests_live, 90)
{
	int fd, before, after = -1, i;

	if (module_refcnt() < 0)
		SKIP(return, "%s is built in", MODULE_NAME);
	/* The shared guest's server, kept without a file. */
	fd = open_bound(shared_guest.domid, true);
	ASSERT_LE(0, fd);
	close(fd);
	fd = open_bound(self->guest.domid, true);
	ASSERT_LE(0, fd);
	test_cmd_register(fd, mkfn(0, 7, 0));
	close(fd);

	/* This guest's server and the shared guest's, without any file. */
	before = module_refcnt();
	EXPECT_LE(2, before) TH_LOG("refcnt %d with two live servers", before);
	errno = 0;
	if (!syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK)) {
		/* Back, for the tests that follow; this one failed. */
		TH_LOG("the module was unloaded under two live guests");
		EXPECT_EQ(0, system("modprobe xen-pci-ioreq"));
		ASSERT_TRUE(false);
	}
	EXPECT_EQ(EWOULDBLOCK, errno) TH_LOG("delete_module: %s", errname(errno));

	/* The guest dies: its server goes, and with it its reference. */
	ASSERT_OK(guest_destroy(&self->guest));
	for (i = 0; i < GONE_TIMEOUT * 10; i++) {
		after = module_refcnt();
		if (after == before - 1)
			break;
		usleep(100000);
	}
	EXPECT_EQ(before - 1, after);
}

/* Functions and ranges belong to one guest: two guests may use the same. */
TEST_F_TIMEOUT(fresh, functions_are_per_guest, 60)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 14, 0);
	struct xen_pci_ioreq_info a, b;
	int fda, fdb;

	fda = open_bound(shared_guest.domid, true);
	ASSERT_LE(0, fda);
	fdb = open_bound(self->guest.domid, true);
	ASSERT_LE(0, fdb);
	ASSERT_OK(ioctl(fda, XEN_PCI_IOREQ_GET_INFO, &a));
	ASSERT_OK(ioctl(fdb, XEN_PCI_IOREQ_GET_INFO, &b));
	EXPECT_EQ(shared_guest.domid, a.domid);
	EXPECT_EQ(self->guest.domid, b.domid);

	test_cmd_register(fda, fn);
	test_cmd_register(fdb, fn);
	test_cmd_add_mmio(fda, fn, 0, a.layout.mem[0].base, 0x100);
	test_cmd_add_mmio(fdb, fn, 0, b.layout.mem[0].base, 0x100);
	test_cmd_set_intx(fda, fn, 1, 1);
	test_cmd_set_intx(fdb, fn, 1, 1);
	test_cmd_set_intx(fda, fn, 1, 0);
	test_cmd_set_intx(fdb, fn, 1, 0);
	close(fda);
	close(fdb);
}

/*
 * Files that asked XEN_PCI_IOREQ_RELEASE_SERVER: the server stays while
 * one of them is open, and the last close() destroys it in Xen too (the
 * next server gets the same id, the first free one), unbinds its event
 * channels and drops its debugfs directory. What may not ask.
 */
TEST_F_TIMEOUT(fresh, released_server_goes_with_last_file, 60)
{
	int domid = self->guest.domid, vcpus = domain_vcpus(domid), fd, fd2;
	struct xen_pci_ioreq_function fn = mkfn(0, 2, 0);
	long long ioservid;

	ASSERT_LT(0, vcpus);
	fd = open_dev(true);
	ASSERT_LE(0, fd);
	EXPECT_ERRNO(ERR_UNBOUND, ioctl(fd, XEN_PCI_IOREQ_RELEASE_SERVER, 0));
	ASSERT_OK(bind_fd(fd, domid));
	EXPECT_ERRNO(EINVAL, ioctl(fd, XEN_PCI_IOREQ_RELEASE_SERVER, 1));
	test_cmd_release_server(fd);
	fd2 = open_bound(domid, true);
	ASSERT_LE(0, fd2);
	test_cmd_release_server(fd2);
	test_cmd_register(fd, fn);
	test_cmd_add_mmio(fd, fn, 0, layout_of(fd).mem[0].base, 0x100);
	ioservid = guest_stat(domid, "ioservid");
	ASSERT_LE(0, ioservid) TH_LOG("no debugfs statistics of the guest");
	EXPECT_EQ(vcpus, server_irqs(domid));

	close(fd);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"))
		TH_LOG("the server went while a file was still bound");
	EXPECT_EQ(vcpus, server_irqs(domid));
	EXPECT_EQ(0, guest_stat(domid, "functions"));

	close(fd2);
	EXPECT_EQ(-1, guest_stat(domid, "ioservid"))
		TH_LOG("the server outlived the last file");
	EXPECT_EQ(0, server_irqs(domid)) TH_LOG("event channels left bound");

	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"))
		TH_LOG("Xen kept the old server: the new one got another id");
	test_cmd_release_server(fd);
	close(fd);
	EXPECT_EQ(0, server_irqs(domid));
}

/*
 * The server outlives its files until the guest dies: a backend that exits
 * or crashes never takes the guest's root complex with it, even when an
 * earlier file asked RELEASE_SERVER (only a last file's own request
 * counts). Then it goes with the guest, and nothing holds the dead domain.
 */
TEST_F_TIMEOUT(fresh, server_outlives_files_until_guest_dies, 90)
{
	int domid = self->guest.domid, vcpus = domain_vcpus(domid), fd, fd2, i;
	long long ioservid;

	ASSERT_LT(0, vcpus);
	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	fd2 = open_bound(domid, true);
	ASSERT_LE(0, fd2);
	ioservid = guest_stat(domid, "ioservid");
	ASSERT_LE(0, ioservid);
	EXPECT_EQ(2, guest_stat(domid, "files"));
	test_cmd_release_server(fd);
	close(fd);
	close(fd2);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"))
		TH_LOG("the server went with a last file that did not ask");
	EXPECT_EQ(0, guest_stat(domid, "files"));
	EXPECT_EQ(vcpus, server_irqs(domid));

	/* Later files find it, and it stays after them too. */
	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"));
	close(fd);
	EXPECT_EQ(ioservid, guest_stat(domid, "ioservid"));

	ASSERT_OK(guest_destroy(&self->guest));
	for (i = 0; i < GONE_TIMEOUT * 4 && guest_stat(domid, "ioservid") >= 0; i++)
		usleep(250000);
	EXPECT_EQ(-1, guest_stat(domid, "ioservid"))
		TH_LOG("the server outlived its guest");
	EXPECT_EQ(0, server_irqs(domid));
	expect_domain_gone(_metadata, domid);
}

/*
 * Guests destroyed under live files, CHURN_ROUNDS times in a row, every
 * other one running with a request of its vCPU open (its enumeration
 * reached a registered function; with XEN_PCI_IOREQ_RUN_CFG): each time
 * the files hear of it (POLLHUP), and once they are closed nothing is left:
 * no debugfs directory, no event channel, no module reference, no leak
 * (kmemleak, when the kernel has it).
 */
#define CHURN_ROUNDS		8
#define CHURN_BOOT_TIMEOUT	90	/* seconds for a guest's first request */
#define KMEMLEAK		"/sys/kernel/debug/kmemleak"

/* Scan for leaks; the number of objects kmemleak reports, or -1. */
static int kmemleak_reports(void)
{
	char line[256];
	int n = 0;
	FILE *f;

	/*
	 * An object is reported once a scan finds it unreferenced and old
	 * enough; a second scan a moment later catches what the first saw
	 * too young or while a pointer to it was still in flight.
	 */
	sysfs_write(KMEMLEAK, "scan");
	sleep(1);
	sysfs_write(KMEMLEAK, "scan");
	f = fopen(KMEMLEAK, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "unreferenced object")) {
			n++;
			printf("# kmemleak: %s", line);
		}
	fclose(f);
	return n;
}

FIXTURE(churn) {
	int unused;
};

FIXTURE_SETUP(churn)
{
}

FIXTURE_TEARDOWN(churn)
{
}

TEST_F_TIMEOUT(churn, guests_destroyed_under_live_fds, 300)
{
	int refs_before = module_refcnt(), leaks, round, hups = 0, left = 0;
	const char *why = no_guest_reason(), *run_cfg = getenv(RUN_CFG_ENV);
	int in_flight = 0;
	bool kmemleak = !access(KMEMLEAK, W_OK);
	char err[1024], path[96];

	if (why)
		SKIP(return, "%s", why);
	if (kmemleak)
		sysfs_write(KMEMLEAK, "clear");
	for (round = 0; round < CHURN_ROUNDS; round++) {
		struct pollfd pfd[2] = {
			{ .events = POLLIN }, { .events = POLLIN },
		};
		struct xen_pci_ioreq_function fn = mkfn(0, 2, 0);
		bool running = run_cfg && round % 2;
		struct guest g;
		int domid;

		ASSERT_OK(guest_create(&g, running ? run_cfg : getenv(CFG_ENV),
				       "-churn", NULL, err, sizeof(err)))
			TH_LOG("%s", err);
		domid = g.domid;
		pfd[0].fd = open_bound(domid, true);
		pfd[1].fd = open_bound(domid, false);
		ASSERT_LE(0, pfd[0].fd);
		ASSERT_LE(0, pfd[1].fd);
		test_cmd_register(pfd[0].fd, fn);
		test_cmd_add_mmio(pfd[0].fd, fn, 0, layout_of(pfd[0].fd).mem[0].base,
				  0x1000);
		test_cmd_set_intx(pfd[0].fd, fn, 1, 1);
		test_cmd_register(pfd[1].fd, mkfn(0, 3, 0));
		if (running) {
			/* Its enumeration reaches 00:02.0: left unanswered. */
			ASSERT_OK(guest_unpause(domid, err, sizeof(err)))
				TH_LOG("%s", err);
			ASSERT_EQ(1, poll(pfd, 1, CHURN_BOOT_TIMEOUT * 1000))
				TH_LOG("round %d: no request within %d s", round,
				       CHURN_BOOT_TIMEOUT);
			in_flight++;
		}
		ASSERT_OK(guest_destroy(&g));
		ASSERT_EQ(2, poll(pfd, 2, GONE_TIMEOUT * 1000));
		hups += !!(pfd[0].revents & POLLHUP) + !!(pfd[1].revents & POLLHUP);
		close(pfd[0].fd);
		close(pfd[1].fd);
		EXPECT_TRUE(wait_domain_gone(domid))
			TH_LOG("round %d: domain %d still listed", round, domid);
		snprintf(path, sizeof(path), "/sys/kernel/debug/xen-pci-ioreq/%d",
			 domid);
		left += !access(path, F_OK) + !!server_irqs(domid);
	}
	EXPECT_EQ(2 * CHURN_ROUNDS, hups);
	if (run_cfg)
		EXPECT_EQ(CHURN_ROUNDS / 2, in_flight);
	EXPECT_EQ(0, left) TH_LOG("debugfs directories or event channels left");
	EXPECT_EQ(refs_before, module_refcnt());
	if (kmemleak)
		sleep(6);	/* kmemleak reports objects older than 5 s */
	leaks = kmemleak ? kmemleak_reports() : -1;
	TH_LOG("%d guests destroyed under live files, %d running with a request: %d POLLHUP of %d",
	       CHURN_ROUNDS, in_flight, hups, 2 * CHURN_ROUNDS);
	TH_LOG("%d left behind, module references %d -> %d, kmemleak %d",
	       left, refs_before, module_refcnt(), leaks);
	if (kmemleak)
		EXPECT_EQ(0, leaks);
}

int main(int argc, char **argv)
{
	guests_start(true);
	return test_harness_run(argc, argv);
}
