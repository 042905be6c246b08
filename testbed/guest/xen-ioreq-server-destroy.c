// SPDX-License-Identifier: GPL-2.0
/*
 * xen-ioreq-server-destroy GUEST ID: ask Xen to destroy ioreq server ID of
 * domain GUEST (XEN_DMOP_destroy_ioreq_server), as the toolstack would to
 * take back a guest whose device model died. Xen 4.20 lets only the
 * server's emulator (the domain that created it) do so, dom0 included
 * (common/ioreq.c): dom0's init uses this to show that nothing but the
 * guest's death retires the servers of a driver domain that is gone.
 * Prints the result; exits 0 when Xen destroyed the server, 3 on EPERM,
 * 1 on any other error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xendevicemodel.h>

static unsigned long num_arg(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end || v > max) {
		fprintf(stderr, "xen-ioreq-server-destroy: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	xendevicemodel_handle *dmod;
	unsigned int guest, id;
	int rc, err;

	if (argc != 3) {
		fprintf(stderr, "usage: xen-ioreq-server-destroy GUEST ID\n");
		return 2;
	}
	guest = num_arg(argv[1], 0x7fef);
	id = num_arg(argv[2], 0xffff);
	dmod = xendevicemodel_open(NULL, 0);
	if (!dmod) {
		fprintf(stderr, "xen-ioreq-server-destroy: xendevicemodel_open: %s\n",
			strerror(errno));
		return 1;
	}
	rc = xendevicemodel_destroy_ioreq_server(dmod, guest, id);
	err = errno;
	if (rc)
		printf("XEN_DMOP_destroy_ioreq_server of server %u of domain %u: %s\n",
		       id, guest, strerror(err));
	else
		printf("XEN_DMOP_destroy_ioreq_server of server %u of domain %u: done\n",
		       id, guest);
	rc = rc ? (err == EPERM ? 3 : 1) : 0;
	xendevicemodel_close(dmod);
	return rc;
}
