// SPDX-License-Identifier: GPL-2.0
/*
 * xen-set-target DM GUEST: make domain DM the device model of domain GUEST
 * in Xen (XEN_DOMCTL_set_target), as libxl does for a stub domain, so that
 * DM may create GUEST's ioreq server, map its memory and raise its
 * interrupts. xl has no command for it on Arm: libxl makes a target only
 * of an HVM guest's stub domain. Run in dom0, the only domain Xen lets set
 * a target; a domain has one target for its whole life. The xenstore side
 * (/local/domain/DM/target, which Linux's privcmd in DM reads when it
 * starts) is the caller's, with xenstore-write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>

static unsigned int domid_arg(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end || !v || v >= DOMID_FIRST_RESERVED) {
		fprintf(stderr, "xen-set-target: bad domain id '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned int dm, guest;
	xc_interface *xch;

	if (argc != 3) {
		fprintf(stderr, "usage: xen-set-target DM GUEST\n");
		return 2;
	}
	dm = domid_arg(argv[1]);
	guest = domid_arg(argv[2]);
	xch = xc_interface_open(NULL, NULL, 0);
	if (!xch) {
		fprintf(stderr, "xen-set-target: xc_interface_open: %s\n",
			strerror(errno));
		return 1;
	}
	if (xc_domain_set_target(xch, dm, guest)) {
		fprintf(stderr, "xen-set-target: XEN_DOMCTL_set_target %u -> %u: %s\n",
			dm, guest, strerror(errno));
		return 1;
	}
	xc_interface_close(xch);
	return 0;
}
