// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection into /dev/xen/pci-ioreq, seen from dom0: the setup of a
 * guest's server failing at each step in turn (fail-nth, a loop over the
 * steps), and the release watch missing a guest's death. Each test makes a
 * guest of its own and kills it. A program apart, as the iommufd selftests
 * keep their fail-nth one: it needs the kernel's fault injection, without
 * which it skips, and leaves the knobs as it found them.
 *
 * Needs what ioreq_dom0 needs: XEN_PCI_IOREQ_GUEST_CFG, /dev/xen/pci-ioreq,
 * root, xl in $PATH. Runs in dom0.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <xen/pci-ioreq.h>

#include "../kselftest_harness.h"
#include "lib/ioreq_util.h"
#include "lib/pci_util.h"
#include "lib/xl_util.h"
#include "lib/fresh_fixture.h"

#define FAIL_NTH		"/proc/thread-self/fail-nth"
#define FAIL_VERBOSE		"/sys/kernel/debug/xen-pci-ioreq/fail_server_setup/verbose"

/* Make the @n-th fault-injection point this thread reaches fail; 0: none. */
static int set_fail_nth(unsigned int n)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", n);
	return sysfs_write(FAIL_NTH, buf);
}

/*
 * The setup of a guest's server fails at each step in turn that can fail
 * once Xen has enabled the server (fault injection: the n-th bind of a
 * vCPU's event channel, the n-th claim of a window). Each time BIND fails
 * with the injected error and leaves nothing behind: no event channel of the
 * guest stays bound, and Xen keeps no server (the one that finally works
 * gets id 0, the first free one).
 */
TEST_F_TIMEOUT(fresh, setup_failure_leaves_nothing, 60)
{
	int domid = self->guest.domid, vcpus = domain_vcpus(domid);
	int fd, ret, err, failed = 0;
	unsigned int n;

	if (access(FAIL_NTH, W_OK))
		SKIP(return, "no " FAIL_NTH " (CONFIG_FAULT_INJECTION)");
	/* One line per injected failure in the kernel log, no stack dump. */
	sysfs_write(FAIL_VERBOSE, "1");
	ASSERT_LT(0, vcpus);
	for (n = 1; n < 64; n++) {
		fd = open_dev(true);
		ASSERT_LE(0, fd);
		ASSERT_OK(set_fail_nth(n));
		ret = bind_fd(fd, domid);
		err = errno;
		ASSERT_OK(set_fail_nth(0));
		if (!ret)
			break;
		EXPECT_EQ(EIO, err) TH_LOG("step %u: BIND failed with %s", n,
					   errname(err));
		EXPECT_EQ(0, server_irqs(domid))
			TH_LOG("event channels left bound after step %u failed", n);
		close(fd);
		failed++;
	}
	ASSERT_EQ(0, ret);
	/* Every vCPU's event channel; in ECAM mode, the ECAM and two windows. */
	EXPECT_EQ(vcpus + (ecam_mode(fd) ? 3 : 0), failed);
	EXPECT_EQ(vcpus, server_irqs(domid));
	EXPECT_EQ(0, guest_stat(domid, "ioservid"))
		TH_LOG("Xen kept the server of a failed setup");
	close(fd);
}

#define FAIL_WATCH		"/sys/kernel/debug/xen-pci-ioreq/fail_release_watch"
#define WATCH_MISSES		"1000000"

/*
 * Whether the release watch has fired since fault injection was armed with
 * WATCH_MISSES (each injected failure spends one), within ROUND_TIMEOUT.
 */
static bool watch_missed(void)
{
	char buf[32];
	int i;

	for (i = 0; i < ROUND_TIMEOUT * 100; i++) {
		if (!sysfs_read(FAIL_WATCH "/times", buf, sizeof(buf)) &&
		    strtol(buf, NULL, 10) < strtol(WATCH_MISSES, NULL, 10))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * The release watch misses the guest's death (fault injection: as when it
 * fires late, or never without xenstored). A BIND to the dead guest's domid
 * must not get its dead server: it fails, the dead server is torn down then
 * and there, and the domain, which our mapping of its ioreq page kept as a
 * zombie, goes away.
 */
TEST_F_TIMEOUT(fresh, dead_guest_not_reused, 60)
{
	int domid = self->guest.domid, fd, ret;

	if (access(FAIL_WATCH, F_OK))
		SKIP(return, "no " FAIL_WATCH " (CONFIG_FAULT_INJECTION_DEBUG_FS)");
	fd = open_bound(domid, true);
	ASSERT_LE(0, fd);
	close(fd);	/* the server stays while the guest lives */

	sysfs_write(FAIL_WATCH "/verbose", "1");
	ASSERT_EQ(0, sysfs_write(FAIL_WATCH "/probability", "100"));
	ASSERT_EQ(0, sysfs_write(FAIL_WATCH "/times", WATCH_MISSES));
	ASSERT_OK(guest_destroy(&self->guest));
	/* The watch fires, and misses it: one of its misses is spent. */
	ASSERT_TRUE(watch_missed()) TH_LOG("the release watch never fired");

	fd = open_dev(true);
	ASSERT_LE(0, fd);
	ret = bind_fd(fd, domid);
	TH_LOG("BIND to the dead domain %d: %s", domid, ret ? errname(errno) : "success");
	EXPECT_NE(0, ret) TH_LOG("BIND handed out the server of a dead guest");
	close(fd);
	sysfs_write(FAIL_WATCH "/probability", "0");
	sysfs_write(FAIL_WATCH "/times", "1");
	expect_domain_gone(_metadata, domid);
}

/*
 * Without the release watch (fault injection: it misses every event, as it
 * never fires without xenstored) and without any BIND, the kept server of a
 * guest that died must still go: the reaper finds it within a few seconds,
 * and with it goes the mapping that kept the dead domain as a zombie.
 * (Stopping xenstored itself would stop every toolstack step of the other
 * tests in this dom0 too.)
 */
TEST_F_TIMEOUT(fresh, dead_guest_reaped_without_watch, 90)
{
	int domid = self->guest.domid, fd, i;
	bool gone;

	if (access(FAIL_WATCH, F_OK))
		SKIP(return, "no " FAIL_WATCH " (CONFIG_FAULT_INJECTION_DEBUG_FS)");
	fd = open_dev(true);
	ASSERT_LE(0, fd);
	ASSERT_OK(bind_fd(fd, domid));
	close(fd);
	ASSERT_LE(0, guest_stat(domid, "ioservid"));

	sysfs_write(FAIL_WATCH "/verbose", "1");
	ASSERT_EQ(0, sysfs_write(FAIL_WATCH "/probability", "100"));
	ASSERT_EQ(0, sysfs_write(FAIL_WATCH "/times", "-1"));
	ASSERT_OK(guest_destroy(&self->guest));
	for (i = 0; i < 10 * 4 && guest_stat(domid, "ioservid") >= 0; i++)
		usleep(250000);
	gone = guest_stat(domid, "ioservid") < 0;
	sysfs_write(FAIL_WATCH "/probability", "0");
	sysfs_write(FAIL_WATCH "/times", "1");
	TH_LOG("server of the dead guest %s after %d ms without the watch",
	       gone ? "gone" : "still there", i * 250);
	EXPECT_TRUE(gone) TH_LOG("the reaper did not find the dead guest");
	EXPECT_EQ(0, server_irqs(domid));
	expect_domain_gone(_metadata, domid);
}

int main(int argc, char **argv)
{
	guests_start(false);
	return test_harness_run(argc, argv);
}
