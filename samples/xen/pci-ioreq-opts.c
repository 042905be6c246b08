// SPDX-License-Identifier: GPL-2.0
/*
 * The options every backend of samples/xen/ has (pci-ioreq-lib.h): the
 * target (guest, slot, function, bus, root complex layout), --verbose and
 * --help, numbers with size suffixes, and getopt_long() over a backend's
 * own options and these.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci-ioreq-lib.h"

/*
 * A number of an option, at most @max: decimal, 0x hex or 0 octal, with an
 * optional K, M or G suffix if @suffixes.
 */
bool pci_ioreq_parse_uint(const char *s, unsigned long long max,
			  bool suffixes, unsigned long long *val)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return false;
	if (suffixes)
		shift = *end == 'K' ? 10 : *end == 'M' ? 20 :
			*end == 'G' ? 30 : 0;
	if (shift)
		end++;
	if (*end || v > max >> shift)
		return false;
	*val = v << shift;
	return true;
}

/* BASE:SIZE of a window, with K, M and G suffixes. */
static bool pci_ioreq_parse_window(const char *arg,
				   struct xen_pci_ioreq_window *w)
{
	const char *colon = strchr(arg, ':');
	unsigned long long base, size;
	char *base_arg;
	bool ok;

	if (!colon)
		return false;
	base_arg = strndup(arg, colon - arg);
	ok = base_arg &&
	     pci_ioreq_parse_uint(base_arg, ULLONG_MAX, true, &base) &&
	     pci_ioreq_parse_uint(colon + 1, ULLONG_MAX, true, &size);
	free(base_arg);
	if (ok) {
		w->base = base;
		w->size = size;
	}
	return ok;
}

/* msi=ID:COUNT: the GIC interrupt ID of vector 0 and the number of vectors */
static bool pci_ioreq_parse_msi(const char *arg,
				struct xen_pci_ioreq_layout *l)
{
	struct xen_pci_ioreq_window w;

	if (!pci_ioreq_parse_window(arg, &w) || w.base > 1019 ||
	    w.size > 1020)
		return false;
	l->msi_base = w.base;
	l->msi_count = w.size;
	return true;
}

/*
 * --layout SPEC into @l, which starts as PCI_IOREQ_DEFAULT_LAYOUT. Only the
 * syntax is checked here: the kernel, or the Xen transport, checks the
 * rest and says so.
 */
static bool pci_ioreq_parse_layout(const char *spec,
				   struct xen_pci_ioreq_layout *l)
{
	char *copy = strdup(spec), *save = NULL, *kv;
	unsigned long long intx, addr;
	bool ok = !!copy;

	for (kv = copy ? strtok_r(copy, ",", &save) : NULL; ok && kv;
	     kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "ecam=", 5))
			ok = pci_ioreq_parse_window(kv + 5, &l->ecam);
		else if (!strncmp(kv, "mem=", 4))
			ok = pci_ioreq_parse_window(kv + 4, &l->mem[0]);
		else if (!strncmp(kv, "pref=", 5))
			ok = pci_ioreq_parse_window(kv + 5, &l->mem[1]);
		else if (!strncmp(kv, "intx=", 5) &&
			 pci_ioreq_parse_uint(kv + 5, 1019, false, &intx))
			l->intx_base = intx;
		else if (!strncmp(kv, "msi=", 4))
			ok = pci_ioreq_parse_msi(kv + 4, l);
		else if (!strncmp(kv, "doorbell=", 9) &&
			 pci_ioreq_parse_uint(kv + 9, ULLONG_MAX, false, &addr))
			l->msi_doorbell = addr;
		else
			ok = false;
	}
	free(copy);
	return ok;
}

#define PCI_IOREQ_DOMID_FIRST_RESERVED	0x7ff0

#define PCI_IOREQ_TARGET_SHORTOPTS	"d:s:f:b:L:"
static const struct option pci_ioreq_target_longopts[] = {
	{ "domid", required_argument, NULL, 'd' },
	{ "slot", required_argument, NULL, 's' },
	{ "function", required_argument, NULL, 'f' },
	{ "bus", required_argument, NULL, 'b' },
	{ "layout", required_argument, NULL, 'L' },
};

/*
 * Take option @opt with argument @arg if it is one of the target's.
 * Returns 1 if it was, 0 if it is not one of them, -1 after saying that
 * its argument is invalid.
 */
static int pci_ioreq_target_opt(struct pci_ioreq_target *t, int opt,
				const char *arg)
{
	const char *bad;
	bool ok;

	switch (opt) {
	case 'd':
		bad = "domid";
		ok = pci_ioreq_parse_uint(arg, PCI_IOREQ_DOMID_FIRST_RESERVED - 1,
					  false, &t->domid) && t->domid;
		break;
	case 's':
		bad = "slot";
		ok = pci_ioreq_parse_uint(arg, 31, false, &t->slot);
		break;
	case 'f':
		bad = "function";
		ok = pci_ioreq_parse_uint(arg, 7, false, &t->func);
		break;
	case 'b':
		bad = "bus";
		ok = pci_ioreq_parse_uint(arg, 255, false, &t->bus);
		break;
	case 'L':
		bad = "layout";
		ok = pci_ioreq_parse_layout(arg, &t->layout);
		t->layout_given = true;
		break;
	default:
		return 0;
	}
	if (ok)
		return 1;
	say("invalid --%s: %s\n", bad, arg);
	return -1;
}

/*
 * getopt_long() for a backend: its own options (@own_short, @own, the
 * latter ended by a zero entry) and the target's, which it takes into @t
 * itself. Returns the next option of the backend's own, -1 at the end, or
 * '?' for an unknown option and after saying that an argument of the
 * target's is invalid: the backend's switch hands -v, -h and '?' to
 * pci_ioreq_common_opt().
 */
int pci_ioreq_getopt(int argc, char **argv, const char *own_short,
		     const struct option *own,
		     struct pci_ioreq_target *t)
{
	static const size_t n = sizeof(pci_ioreq_target_longopts) /
				sizeof(pci_ioreq_target_longopts[0]);
	static struct option *all;
	static char *shorts;
	size_t m = 0, len;
	int opt;

	if (!all) {
		while (own[m].name)
			m++;
		all = calloc(n + m + 1, sizeof(*all));
		len = strlen(PCI_IOREQ_TARGET_SHORTOPTS) + strlen(own_short) + 1;
		shorts = malloc(len);
		if (!all || !shorts) {
			say("out of memory\n");
			return '?';
		}
		memcpy(all, pci_ioreq_target_longopts,
		       sizeof(pci_ioreq_target_longopts));
		memcpy(all + n, own, m * sizeof(*own));
		snprintf(shorts, len, "%s%s", PCI_IOREQ_TARGET_SHORTOPTS,
			 own_short);
	}
	while ((opt = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		switch (pci_ioreq_target_opt(t, opt, optarg)) {
		case 1:
			continue;
		case -1:
			return '?';
		}
		return opt;
	}
	return -1;
}

/*
 * The default case of a backend's option switch, for the options every
 * backend has: -v (--verbose) sets *@verbose; -h (--help) prints @usage on
 * stdout and exits with 0; anything else (an unknown option, an invalid
 * argument of the target's) prints it on stderr and exits with 2.
 */
void pci_ioreq_common_opt(int opt, bool *verbose,
			  void (*usage)(FILE *f))
{
	switch (opt) {
	case 'v':
		*verbose = true;
		return;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		exit(2);
	}
}

/* The argument of the backend's option --@name is invalid: exit with 2. */
void pci_ioreq_bad_arg(const char *name)
{
	say("invalid --%s: %s\n", name, optarg);
	exit(2);
}

/* After the options: whether the target is whole; fills t->fn. */
bool pci_ioreq_target_done(struct pci_ioreq_target *t)
{
	if (!t->domid || t->slot > 31)
		return false;
	t->fn.bus = t->bus;
	t->fn.devfn = PCI_DEVFN(t->slot, t->func);
	return true;
}

/* The layout to bind with: NULL for the kernel's default. */
const struct xen_pci_ioreq_layout *
pci_ioreq_target_layout(const struct pci_ioreq_target *t)
{
	return t->layout_given ? &t->layout : NULL;
}
