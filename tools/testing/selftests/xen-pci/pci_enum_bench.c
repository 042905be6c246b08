// SPDX-License-Identifier: GPL-2.0
/*
 * What page-exclusive BAR placement costs: run on the same machine under
 * pcie-xen-vpci and under pci-host-generic (bare QEMU, the test bed's
 * bare-ours and bare-generic runs), it prints
 *
 * - the window use of the memory BARs as placed at boot: the bytes of the
 *   pages they touch, each page counted once, beside the sum over the BARs
 *   of max(size, page). The two are equal exactly when no two BARs share
 *   a page; pcie-xen-vpci must make them equal;
 * - the time of one enumeration of the root bus: every function below it
 *   removed, then a rescan of the bus, repeated for a fixed time.
 *
 * Every assigned memory BAR is listed, so that the test bed can compare
 * the two runs over the same BARs (lib/enum-bench-report.py). Not a test:
 * it prints plain "pci_enum_bench: " lines. Run as root.
 *
 *	pci_enum_bench [-t SECONDS]
 *
 * Exit status: 0, 1 on an error (2 when the placement shares a page under
 * pcie-xen-vpci).
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/pci_util.h"

#define PROG		"pci_enum_bench"
#define MAX_BARS	256

/* A sysfs name, or "" if it does not fit (PCI addresses always do). */
static void copy_name(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = 0;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static int bar_cmp(const void *a, const void *b)
{
	const struct pci_res *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The assigned memory BARs (and ROMs) of every function, by address. */
static int read_bars(struct pci_res *bars, int max)
{
	int n = pci_res_all_mem(bars, max);

	if (n > 0)
		qsort(bars, n, sizeof(*bars), bar_cmp);
	return n;
}

/* Prints the placement; returns whether two BARs share a page. */
static bool window_use(const struct pci_res *bars, int n, unsigned long page)
{
	unsigned long long used = 0, want = 0, last_page = ~0ULL, size, p0, p1;
	int i;

	for (i = 0; i < n; i++) {
		size = bars[i].end - bars[i].start + 1;
		printf(PROG ": bar %s %d %#llx %#llx\n", bars[i].dev,
		       bars[i].index, bars[i].start, size);
		want += size > page ? size : page;
		p0 = bars[i].start / page;
		p1 = bars[i].end / page;
		/* Sorted by start: a shared page is the previous BAR's last. */
		if (p0 == last_page)
			p0++;
		if (p1 >= p0)
			used += (p1 - p0 + 1) * page;
		if (last_page == ~0ULL || p1 > last_page)
			last_page = p1;
	}
	printf(PROG ": window use %llu bytes, sum of max(size, page) %llu bytes",
	       used, want);
	printf(", %d BARs, page %lu\n", n, page);
	return used != want;
}

/* The driver of the host bridge of bus 0000:00, or "". */
static void host_driver(char *drv, size_t len)
{
	char link[PATH_MAX], *slash;
	ssize_t n;

	drv[0] = 0;
	n = readlink("/sys/class/pci_bus/0000:00/device/../driver", link,
		     sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = 0;
	slash = strrchr(link, '/');
	copy_name(drv, len, slash ? slash + 1 : link);
}

/* The functions directly on bus 0000:00, but the host bridge at 00.0. */
static int root_functions(char bdfs[][EMU_BDF_LEN], int max)
{
	struct dirent *d;
	int n = 0;
	DIR *dir;

	dir = opendir(SYSFS_PCI_DEVICES);
	if (!dir)
		return -1;
	while ((d = readdir(dir)) && n < max)
		if (!strncmp(d->d_name, "0000:00:", 8) &&
		    strcmp(d->d_name, "0000:00:00.0"))
			copy_name(bdfs[n++], EMU_BDF_LEN, d->d_name);
	closedir(dir);
	return n;
}

/* Remove the root bus's functions (bridges take theirs along), rescan. */
static int enumerate_once(void)
{
	char bdfs[64][EMU_BDF_LEN];
	int i, n = root_functions(bdfs, 64);

	if (n <= 0)
		return -1;
	for (i = 0; i < n; i++)
		if (dev_attr_write(bdfs[i], "remove", "1"))
			return -1;
	if (sysfs_write("/sys/bus/pci/rescan", "1"))
		return -1;
	for (i = 0; i < n; i++)
		if (!dev_exists(bdfs[i]))
			return -1;
	return n;
}

int main(int argc, char **argv)
{
	unsigned long page = sysconf(_SC_PAGESIZE);
	static struct pci_res bars[MAX_BARS];
	double secs = 2, t0, t;
	unsigned long long ops;
	char drv[64] = "";
	int opt, n, fns = 0;
	bool shared;

	while ((opt = getopt(argc, argv, "t:h")) != -1) {
		if (opt != 't') {
			fprintf(stderr, "usage: " PROG " [-t SECONDS]\n");
			return opt == 'h' ? 0 : 1;
		}
		secs = atof(optarg);
	}
	if (secs <= 0 || secs > 20) {
		fprintf(stderr, PROG ": -t takes 0 to 20 seconds\n");
		return 1;
	}
	n = read_bars(bars, MAX_BARS);
	if (n <= 0) {
		fprintf(stderr, PROG ": no assigned memory BAR\n");
		return 1;
	}
	host_driver(drv, sizeof(drv));
	printf(PROG ": host bridge driver %s\n", drv);
	shared = window_use(bars, n, page);

	t0 = now();
	for (ops = 0, t = t0; t - t0 < secs || !ops; ops++) {
		fns = enumerate_once();
		if (fns < 0) {
			fprintf(stderr, PROG ": enumeration %llu failed\n", ops);
			return 1;
		}
		t = now();
	}
	printf(PROG ": enumeration of %d root functions: %llu in %.2f s: %.2f/s, %.1f ms each\n",
	       fns, ops, t - t0, ops / (t - t0), (t - t0) * 1e3 / ops);
	if (shared && !strcmp(drv, "pcie-xen-vpci")) {
		fprintf(stderr, PROG ": BARs share pages under pcie-xen-vpci\n");
		return 2;
	}
	return 0;
}
