// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq seen from dom0 while a guest runs: the tests serve a
 * small function of their own to a guest that boots and enumerates it
 * (tracepoints, INTx resampling, a read() that faults), and kill backend
 * after backend with a request in flight while the guest keeps reading
 * config space. Each test boots a guest of its own.
 *
 * XEN_PCI_IOREQ_RUN_CFG names the guest: its device tree has the Xen
 * virtual root complex, and it waits to be destroyed once booted. Needs
 * also what ioreq_dom0 needs: XEN_PCI_IOREQ_GUEST_CFG, /dev/xen/pci-ioreq,
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xen/pci-ioreq.h>

#include "../kselftest_harness.h"
#include "lib/ioreq_util.h"
#include "lib/pci_util.h"
#include "lib/xl_util.h"

#define BOOT_TIMEOUT		90	/* seconds for a guest to reach our function */

/*
 * The config space of a small function: no BAR, no capability, INTA, a
 * class no driver claims. Only the Command register and the Interrupt Line
 * take writes.
 */
struct tiny_fn {
	__u8 cfg[256];
	unsigned int reads, writes;
};

static void tiny_fn_init(struct tiny_fn *t)
{
	memset(t, 0, sizeof(*t));
	t->cfg[0x00] = 0xf4;	/* vendor 0x1af4 */
	t->cfg[0x01] = 0x1a;
	t->cfg[0x02] = 0xf1;	/* device 0x10f1 */
	t->cfg[0x03] = 0x10;
	t->cfg[0x0b] = 0xff;	/* class 0xff0000 */
	t->cfg[0x3d] = 1;	/* INTA */
}

static __u64 tiny_fn_access(struct tiny_fn *t,
			    const struct xen_pci_ioreq_request *req)
{
	unsigned int i;
	__u64 val = 0;

	if (req->kind != XEN_PCI_IOREQ_KIND_CONFIG || req->addr + req->size > 256)
		return 0;
	if (req->dir == XEN_PCI_IOREQ_DIR_READ) {
		t->reads++;
		for (i = 0; i < req->size; i++)
			val |= (__u64)t->cfg[req->addr + i] << (8 * i);
		return val;
	}
	t->writes++;
	for (i = 0; i < req->size; i++) {
		__u64 reg = req->addr + i;

		if (reg == 0x04 || reg == 0x05 || reg == 0x3c)
			t->cfg[reg] = req->data >> (8 * i);
	}
	return 0;
}

/* The guest's console, as xenconsoled logs it (testbed/guest/dom0-init). */
#define CONSOLE_LOG		"/var/log/xen/console/guest-%s.log"
/*
 * What its /init prints once the host driver, a module, has probed and so
 * enumerated the root bus (testbed/guest/domU-init).
 */
#define INIT_UP			"@@XENPCI pci-enumerated"

/*
 * The size of guest @name's console log now: what a guest of the same name
 * wrote before (xenconsoled appends), which guest_init_up() skips.
 */
static long console_size(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), CONSOLE_LOG, name);
	return stat(path, &st) ? 0 : st.st_size;
}

/* Whether guest @name's console, from offset @off on, says it enumerated. */
static bool guest_init_up(const char *name, long off)
{
	char path[PATH_MAX], line[512];
	bool up = false;
	FILE *f;

	snprintf(path, sizeof(path), CONSOLE_LOG, name);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fseek(f, off, SEEK_SET)) {
		fclose(f);
		return false;
	}
	while (!up && fgets(line, sizeof(line), f))
		up = strstr(line, INIT_UP);
	if (up)	/* what ended the wait, for the record */
		printf("# %s: %s", path, line);
	fclose(f);
	return up;
}

/*
 * Answer requests until guest @name has enumerated its root bus (its
 * console log, from @off, says so), and those that came before: the number
 * answered, or -1. The first may take as long as a boot,
 * and so may the rest.
 */
static int tiny_fn_serve(int fd, struct tiny_fn *t, const char *name,
			 long off)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct xen_pci_ioreq_request req;
	struct timespec t0, now;
	bool up = false;
	int n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (poll(&pfd, 1, 200) != 1) {
			if (up)
				return n;	/* nothing left from before init */
			up = guest_init_up(name, off);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t0.tv_sec > 2 * BOOT_TIMEOUT)
				return -1;
			continue;
		}
		if (read(fd, &req, sizeof(req)) != sizeof(req)) {
			if (errno == EAGAIN)
				continue;
			return -1;
		}
		if (respond(fd, req.id, tiny_fn_access(t, &req)) != RSP_SIZE)
			return -1;
		n++;
	}
}

FIXTURE(running) {
	struct guest guest;
	long console_off;	/* where its console log starts */
};

FIXTURE_SETUP(running)
{
	own_guest_create(_metadata, &self->guest, RUN_CFG_ENV, "-run", NULL);
	self->console_off = console_size(self->guest.name);
}

FIXTURE_TEARDOWN_PARENT(running)
{
	guest_destroy(&self->guest);
}

#define TRACEFS		"/sys/kernel/tracing"
#define TRACE_EVENTS	TRACEFS "/events/xen_pci_ioreq"

static int tracefs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* What the tracepoints said of guest @domid. */
struct trace_counts {
	int routed;		/* dispatched to a backend */
	int in_kernel;		/* answered in the kernel */
	int completed;		/* a backend's request back to the guest */
};

static int trace_count(int domid, struct trace_counts *c)
{
	char line[512], dispatch[64], complete[64];
	FILE *f = fopen(TRACEFS "/trace", "re");
	char *p;

	if (!f)
		return -errno;
	memset(c, 0, sizeof(*c));
	snprintf(dispatch, sizeof(dispatch), "xen_pci_ioreq_dispatch: dom%d vcpu",
		 domid);
	snprintf(complete, sizeof(complete), "xen_pci_ioreq_complete: dom%d vcpu",
		 domid);
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, dispatch);
		if (p) {
			c->routed += !!strstr(p, " id 0x");
			c->in_kernel += !!strstr(p, " in-kernel ");
		}
		/* The kernel prints an id of 0 as 0x0. */
		p = strstr(line, complete);
		if (p && strstr(p, " id 0x") && !strstr(p, " id 0x0 "))
			c->completed++;
	}
	fclose(f);
	return 0;
}

/*
 * The tracepoints tell what happens to a guest's accesses: one dispatch
 * event per request a backend gets and one completion when it answers,
 * and the accesses to absent functions answered in the kernel.
 */
TEST_F_TIMEOUT(running, tracepoints, 240)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 0, 0);
	struct trace_counts c;
	struct tiny_fn t;
	char out[4096];
	int domid = self->guest.domid, fd, served;
	struct stat st;

	if (stat(TRACEFS "/trace", &st))
		mount("nodev", TRACEFS, "tracefs", 0, NULL);
	if (stat(TRACE_EVENTS, &st))
		SKIP(return, "no xen_pci_ioreq events in " TRACEFS " (CONFIG_FTRACE)");
	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	tiny_fn_init(&t);
	test_cmd_register(fd, fn);
	ASSERT_EQ(0, tracefs_write(TRACEFS "/trace", ""));
	ASSERT_EQ(0, tracefs_write(TRACE_EVENTS "/enable", "1"));

	ASSERT_OK(guest_unpause(domid, out, sizeof(out))) TH_LOG("%s", out);
	served = tiny_fn_serve(fd, &t, self->guest.name, self->console_off);
	tracefs_write(TRACE_EVENTS "/enable", "0");
	ASSERT_EQ(0, trace_count(domid, &c));
	TH_LOG("served %d requests; traced: %d routed, %d completed, %d answered in the kernel",
	       served, c.routed, c.completed, c.in_kernel);
	ASSERT_LT(0, served);
	EXPECT_EQ(served, c.routed);
	EXPECT_EQ(served, c.completed);
	if (ecam_mode(fd))
		EXPECT_LT(0, c.in_kernel) TH_LOG("absent functions are answered in the kernel");
	tracefs_write(TRACEFS "/trace", "");
	close(fd);
}

/*
 * A guest boots and enumerates a function registered before it ran, with
 * the function's INTA asserted all along.
 * - A read() whose buffer faults gives the request back and wakes the
 *   file's waiters again: an edge-triggered epoll waiter hears of it.
 * - Each config write of the guest after which the line is still asserted
 *   raises it again: on Xen's Arm vGIC an interrupt is an edge for the
 *   guest, and a line still high once the guest has handled it must be
 *   injected anew.
 */
TEST_F_TIMEOUT(running, enumeration, 240)
{
	struct xen_pci_ioreq_function fn = mkfn(0, 0, 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct tiny_fn t;
	char out[4096];
	int domid = self->guest.domid, fd, ep, served;
	long long resampled;
	void *bad;

	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	if (!ecam_mode(fd))
		SKIP(return, "Xen decodes config cycles itself: no line to resample");
	tiny_fn_init(&t);
	test_cmd_register(fd, fn);
	test_cmd_set_intx(fd, fn, 1, 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);

	ASSERT_OK(guest_unpause(domid, out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, BOOT_TIMEOUT * 1000))
		TH_LOG("no access of the guest to 00:00.0 within %d s", BOOT_TIMEOUT);
	ASSERT_FALSE(ev.events & (EPOLLHUP | EPOLLERR))
		TH_LOG("the guest died before it reached 00:00.0 (events %#x)",
		       ev.events);
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	EXPECT_ERRNO(EFAULT, read(fd, bad, REQ_SIZE));
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 2000))
		TH_LOG("the request that a failed read() gave back woke nobody");

	served = tiny_fn_serve(fd, &t, self->guest.name, self->console_off);
	TH_LOG("served %d requests: %u config reads, %u config writes",
	       served, t.reads, t.writes);
	ASSERT_LT(0, served);
	EXPECT_LT(0U, t.writes);
	resampled = guest_stat(domid, "intx_resampled");
	TH_LOG("INTA raised again %lld times after a guest write", resampled);
	EXPECT_EQ((long long)t.writes, resampled);
	munmap(bad, 4096);
	close(ep);
	close(fd);
}

/* ---- a guest that keeps reading config space ---- */

#define POLL_EXTRA		"extra=\"console=hvc0 panic=-1 rdinit=/init xenpci.mode=poll\""
#define KILL_ROUNDS		100
#define BOOT_REQUESTS		500	/* enumeration and the first reads */

/*
 * A backend of 00:00.0 (run in a child): answers @answer requests, then
 * takes one more and holds it unanswered, says so on @done and waits to be
 * killed.
 */
static void doomed_backend(int domid, unsigned int answer, int done)
{
	struct xen_pci_ioreq_request req;
	struct tiny_fn t;
	int fd, i;

	tiny_fn_init(&t);
	/* As a backend binds; no other file holds the server. */
	fd = open_bound(domid, false);
	if (fd < 0)
		_exit(10);
	/* The last one's registration goes when its file is released. */
	for (i = 0; _test_cmd_function(fd, XEN_PCI_IOREQ_REGISTER, mkfn(0, 0, 0)); i++) {
		if (errno != EBUSY || i == 100)
			_exit(11);
		usleep(10000);
	}
	for (;;) {
		if (read(fd, &req, sizeof(req)) != sizeof(req))
			_exit(12);
		if (!answer--)
			break;
		if (respond(fd, req.id, tiny_fn_access(&t, &req)) != RSP_SIZE)
			_exit(13);
	}
	if (write(done, "!", 1) != 1)
		_exit(14);
	for (;;)
		pause();
}

/* Start a doomed backend; its pid, with the read end of its pipe in @done. */
static pid_t doomed_start(int domid, unsigned int answer, int *done)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (!pid) {
		close(p[0]);
		doomed_backend(domid, answer, p[1]);
	}
	close(p[1]);
	*done = p[0];
	return pid;
}

/*
 * Wait until the backend holds a request, for at most @limit seconds; false
 * if it did not.
 */
static bool doomed_holds(int done, int limit)
{
	struct pollfd pfd = { .fd = done, .events = POLLIN };
	char c;

	return poll(&pfd, 1, limit * 1000) == 1 && read(done, &c, 1) == 1;
}

FIXTURE(polled) {
	struct guest guest;
};

FIXTURE_SETUP(polled)
{
	own_guest_create(_metadata, &self->guest, RUN_CFG_ENV, "-poll", POLL_EXTRA);
}

FIXTURE_TEARDOWN_PARENT(polled)
{
	guest_destroy(&self->guest);
}

#define CONSOLE_LOG	"/var/log/xen/console/guest-%s.log"

/*
 * The lines of guest @name's console (as xenconsoled logs it) that say its
 * kernel took a fault or worse, logged; their number, or -1 without a log.
 */
static int console_trouble(struct __test_metadata *_metadata, const char *name)
{
	static const char *const trouble[] = {
		"Internal error: ", "Unable to handle kernel", "Oops",
		"Kernel panic", "BUG: ", "WARNING: ", "Call trace:",
	};
	char path[128], line[512];
	unsigned int i;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), CONSOLE_LOG, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (i = 0; i < ARRAY_SIZE(trouble); i++) {
			if (!strstr(line, trouble[i]))
				continue;
			line[strcspn(line, "\n")] = 0;
			if (n++ < 20)
				TH_LOG("guest console: %s", line);
			break;
		}
	}
	fclose(f);
	return n;
}

/*
 * The only backend of the guest's root complex killed with a guest request
 * in flight, KILL_ROUNDS times in a row, while the guest keeps reading the
 * config space of every function it found: a crashed device model costs
 * the device, never the guest. Each time the kernel answers the request
 * the backend held (the vCPU goes on), the server stays though no file is
 * bound to it, the function is absent until the next backend registers it
 * (the guest's reads are answered in the kernel, all ones), and the next
 * backend serves it again. The guest's kernel never faults (its console
 * says no oops) and it is still running at the end.
 */
TEST_F_TIMEOUT(polled, backend_killed_in_flight, 600)
{
	int domid = self->guest.domid, fd, done, round, st, trouble;
	long long aborted0 = 0, absent;
	bool ecam, grew;
	unsigned int seed = time(NULL), answered = 0;
	char out[4096];
	struct timespec t0, t1;
	pid_t pid;

	/* A file bound and closed at once: the server stays all the same. */
	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	ecam = ecam_mode(fd);
	close(fd);
	if (!ecam)
		SKIP(return, "the guest's config cycles are Xen's: nothing polls this function");
	EXPECT_LE(0, guest_stat(domid, "ioservid"))
		TH_LOG("the server went with its only file");

	pid = doomed_start(domid, BOOT_REQUESTS, &done);
	ASSERT_LT(0, pid);
	ASSERT_OK(guest_unpause(domid, out, sizeof(out))) TH_LOG("%s", out);
	TH_LOG("seed %u", seed);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (round = 0; round < KILL_ROUNDS; round++) {
		/* The first backend waits for the guest's boot too. */
		int limit = round ? ROUND_TIMEOUT : BOOT_TIMEOUT;
		bool held = doomed_holds(done, limit);

		if (!round)
			aborted0 = guest_stat(domid, "aborted");
		absent = guest_stat(domid, "answered_in_kernel");
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		close(done);
		ASSERT_TRUE(held)
			TH_LOG("round %d: no request to hold within %d s (backend: %#x)",
			       round, limit, st);
		grew = stat_grows(domid, "answered_in_kernel", absent);
		if (!grew)
			console_trouble(_metadata, self->guest.name);
		ASSERT_TRUE(grew)
			TH_LOG("round %d: none answered as absent %d s after the kill; server %s",
			       round, ROUND_TIMEOUT,
			       guest_stat(domid, "ioservid") < 0 ? "gone" : "there");
		answered = rand_r(&seed) % 16;
		pid = doomed_start(domid, answered, &done);
		ASSERT_LT(0, pid);
	}
	/* The last one serves too: the function is back. */
	EXPECT_TRUE(doomed_holds(done, ROUND_TIMEOUT))
		TH_LOG("the backend after the last kill got no request");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(done);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_LE(KILL_ROUNDS + 1, guest_stat(domid, "aborted") - aborted0);
	EXPECT_TRUE(stat_grows(domid, "answered_in_kernel",
			       guest_stat(domid, "answered_in_kernel")));
	EXPECT_EQ(0, guest_stat(domid, "in_flight"));
	TH_LOG("%d backends killed holding a request, in %ld s", KILL_ROUNDS + 1,
	       (long)(t1.tv_sec - t0.tv_sec));
	TH_LOG("%lld requests aborted, %lld in flight now, guest running: %s",
	       guest_stat(domid, "aborted") - aborted0,
	       guest_stat(domid, "in_flight"),
	       domain_listed(domid) ? "yes" : "no");
	EXPECT_TRUE(domain_listed(domid));
	trouble = console_trouble(_metadata, self->guest.name);
	if (trouble < 0)
		TH_LOG("no console log of %s: no look for faults", self->guest.name);
	else
		TH_LOG("the guest's console: %d lines of kernel trouble", trouble);
	EXPECT_EQ(0, trouble > 0 ? trouble : 0)
		TH_LOG("the guest's kernel faulted");
}

int main(int argc, char **argv)
{
	guests_start(false);
	return test_harness_run(argc, argv);
}
