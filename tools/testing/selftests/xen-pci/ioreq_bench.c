// SPDX-License-Identifier: GPL-2.0
/*
 * How fast a guest reaches a PCI function emulated in dom0 userspace
 * through /dev/xen/pci-ioreq (samples/xen/pci-ioreq-emu): config space
 * reads through sysfs (4 bytes each, one ECAM access each) and BAR 0 MMIO
 * round trips (a 4-byte load, then a 4-byte store, each a round trip to
 * the backend), each for a fixed time; then the guest's enumeration of the
 * function: removed, and found again by a rescan of the root bus (every
 * absent slot read, the function probed, its BARs sized and assigned).
 * Also checks, with the backend's own counters, that every guest access
 * reached the backend exactly once. The same program measures a backend
 * on /dev/xen/pci-ioreq and one that owns its ioreq server
 * (pci-ioreq-emu --server xen): the test bed prints the ratios.
 *
 * Not a test: it prints plain "ioreq_bench: " lines for the test bed to
 * quote. Run inside the guest, as root.
 *
 *	ioreq_bench [-t SECONDS] [-d SSSS:BB:DD.F]
 *
 * Exit status: 0, 1 on an error, 4 (kselftest's skip) when there is no
 * emulated function.
 */

#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <time.h>

#include <linux/pci_regs.h>

#include "lib/pci_util.h"

#define PROG		"ioreq_bench"
#define KSFT_SKIP	4
#define CHECK_EVERY	64	/* iterations between clock reads */

/*
 * Prints one figure. Every guest access must reach the backend exactly once:
 * returns -1 (and says so) if the backend's count differs.
 */
static int report(const char *what, unsigned long long ops, double secs,
		  unsigned long long backend)
{
	printf(PROG ": %s: %llu in %.2f s: %.0f/s, %.1f us each", what, ops,
	       secs, ops / secs, secs * 1e6 / ops);
	printf(", backend saw %.3f accesses per guest access\n",
	       (double)backend / ops);
	if (backend == ops)
		return 0;
	fprintf(stderr, PROG ": %s: the backend saw %llu accesses for %llu: not exactly once\n",
		what, backend, ops);
	return -1;
}

static void on_alarm(int sig)
{
	static const char msg[] = PROG ": watchdog: an access hung\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/*
 * Enumeration: remove the function, rescan the root bus until it is back,
 * for @secs. Prints the time of one remove + rescan. 0, or 1 on an error.
 */
static int rescans(const char *bdf, double secs)
{
	unsigned long long ops;
	double t0, t;

	t0 = now();
	for (ops = 0, t = t0; t - t0 < secs || !ops; ops++) {
		if (dev_attr_write(bdf, "remove", "1") ||
		    sysfs_write("/sys/bus/pci/rescan", "1") || !dev_exists(bdf)) {
			fprintf(stderr, PROG ": %s: remove and rescan %llu failed\n",
				bdf, ops);
			return 1;
		}
		t = now();
	}
	printf(PROG ": rescan: %llu in %.2f s: %.1f/s, %.1f ms each\n", ops,
	       t - t0, ops / (t - t0), (t - t0) * 1e3 / ops);
	return 0;
}

int main(int argc, char **argv)
{
	char bdfs[EMU_MAX_DEVS][EMU_BDF_LEN], bdf[EMU_BDF_LEN] = "", drv[64];
	unsigned long long ops;
	struct bar_map bar0 = { 0 };
	double secs = 2, t0, t;
	__u32 c0, c1, v;
	int opt, cfg, ret = 1;
	bool enabled = false;

	while ((opt = getopt(argc, argv, "t:d:h")) != -1) {
		switch (opt) {
		case 't':
			secs = atof(optarg);
			break;
		case 'd':
			snprintf(bdf, sizeof(bdf), "%s", optarg);
			break;
		default:
			fprintf(stderr, "usage: " PROG " [-t SECONDS] [-d SSSS:BB:DD.F]\n");
			return opt == 'h' ? 0 : 1;
		}
	}
	if (secs <= 0 || secs > 20) {
		fprintf(stderr, PROG ": -t takes 0 to 20 seconds\n");
		return 1;
	}
	if (!bdf[0]) {
		if (!find_emu_devices(bdfs, EMU_MAX_DEVS)) {
			printf(PROG ": no %04x:%04x function: nothing to measure\n",
			       EMU_VENDOR_ID, EMU_DEVICE_ID);
			return KSFT_SKIP;
		}
		snprintf(bdf, sizeof(bdf), "%s", bdfs[0]);
	}
	if (!dev_is_emu(bdf)) {
		fprintf(stderr, PROG ": %s is not an emulated function\n", bdf);
		return 1;
	}
	dev_driver(bdf, drv, sizeof(drv));
	if (drv[0]) {
		fprintf(stderr, PROG ": %s is driven by %s\n", bdf, drv);
		return 1;
	}

	/* No access may take long: each run is bounded, and so is the whole. */
	signal(SIGALRM, on_alarm);
	alarm(4 * secs + 30);

	if (dev_attr_write(bdf, "enable", "1")) {
		fprintf(stderr, PROG ": cannot enable %s\n", bdf);
		return 1;
	}
	enabled = true;
	cfg = dev_cfg_open(bdf);
	if (cfg < 0 || dev_map_bar(bdf, 0, &bar0)) {
		fprintf(stderr, PROG ": cannot open %s: %s\n", bdf,
			strerror(errno));
		goto out;
	}
	if (mmio_read32(bar0.base + EMU_REG_MAGIC) != EMU_MAGIC) {
		fprintf(stderr, PROG ": %s: bad magic in BAR 0\n", bdf);
		goto out;
	}
	printf(PROG ": %s (%04x:%04x), %.1f s per measurement\n", bdf,
	       EMU_VENDOR_ID, EMU_DEVICE_ID, secs);

	/* Config space reads. */
	c0 = mmio_read32(bar0.base + EMU_REG_CONFIG_COUNT);
	t0 = now();
	for (ops = 0, t = t0; t - t0 < secs; ops++) {
		if (cfg_read(cfg, PCI_VENDOR_ID, 4, &v) ||
		    v != (EMU_DEVICE_ID << 16 | EMU_VENDOR_ID)) {
			fprintf(stderr, PROG ": config read %llu: %#x\n", ops, v);
			goto out;
		}
		if (!(ops % CHECK_EVERY))
			t = now();
	}
	t = now();
	c1 = mmio_read32(bar0.base + EMU_REG_CONFIG_COUNT);
	if (report("config_read_4B", ops, t - t0, c1 - c0))
		goto out;

	/* MMIO loads. */
	c0 = mmio_read32(bar0.base + EMU_REG_MMIO_COUNT);
	t0 = now();
	for (ops = 0, t = t0; t - t0 < secs; ops++) {
		if (mmio_read32(bar0.base + EMU_REG_MAGIC) != EMU_MAGIC) {
			fprintf(stderr, PROG ": MMIO read %llu: bad value\n", ops);
			goto out;
		}
		if (!(ops % CHECK_EVERY))
			t = now();
	}
	t = now();
	c1 = mmio_read32(bar0.base + EMU_REG_MMIO_COUNT);
	/* the counter's own read counts too */
	if (report("mmio_read_4B", ops, t - t0, c1 - c0 - 1))
		goto out;

	/* MMIO stores. */
	c0 = mmio_read32(bar0.base + EMU_REG_MMIO_COUNT);
	t0 = now();
	for (ops = 0, t = t0; t - t0 < secs; ops++) {
		mmio_write32(bar0.base + EMU_REG_SCRATCH, ops);
		if (!(ops % CHECK_EVERY))
			t = now();
	}
	t = now();
	c1 = mmio_read32(bar0.base + EMU_REG_MMIO_COUNT);
	if (report("mmio_write_4B", ops, t - t0, c1 - c0 - 1))
		goto out;
	if (mmio_read32(bar0.base + EMU_REG_SCRATCH) != (__u32)(ops - 1)) {
		fprintf(stderr, PROG ": the last store did not land\n");
		goto out;
	}
	dev_unmap_bar(&bar0);
	close(cfg);
	cfg = -1;
	dev_attr_write(bdf, "enable", "0");
	enabled = false;
	ret = rescans(bdf, secs);
out:
	alarm(0);
	dev_unmap_bar(&bar0);
	if (cfg >= 0)
		close(cfg);
	if (enabled)
		dev_attr_write(bdf, "enable", "0");
	return ret;
}
