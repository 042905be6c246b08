/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FIXTURE(guest): two non-blocking files bound to the guest a
 * program shares among its tests (lib/xl_util.h), its mode and layout as
 * GET_INFO says. For the programs whose tests run on the shared paused
 * guest: ioreq_dom0, ioreq_dom0_eventfd and ioreq_dom0_fuzz. Each program
 * keeps its own fixture list, so each includes this once, after
 * kselftest_harness.h, and creates its shared guest from main().
 */

#ifndef _XEN_PCI_SELFTEST_GUEST_FIXTURE_H
#define _XEN_PCI_SELFTEST_GUEST_FIXTURE_H

#include "ioreq_util.h"
#include "xl_util.h"

FIXTURE(guest) {
	int domid;
	int fd;		/* bound, non-blocking */
	int fd2;	/* bound to the same guest */
	bool ecam;
	struct xen_pci_ioreq_layout lay;	/* as GET_INFO reports it */
};

FIXTURE_SETUP(guest)
{
	const char *why = no_guest_reason();

	self->fd = -1;
	self->fd2 = -1;
	if (why)
		SKIP(return, "%s", why);
	if (shared_guest.domid <= 0)
		TH_LOG("%s", shared_error);
	ASSERT_LT(0, shared_guest.domid);
	self->domid = shared_guest.domid;
	self->fd = open_bound(self->domid, true);
	ASSERT_LE(0, self->fd) TH_LOG("bind to domain %d: %s", self->domid,
				      errname(errno));
	self->fd2 = open_bound(self->domid, true);
	ASSERT_LE(0, self->fd2);
	self->ecam = ecam_mode(self->fd);
	self->lay = layout_of(self->fd);
}

FIXTURE_TEARDOWN(guest)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->fd2 >= 0)
		close(self->fd2);
}

#endif /* _XEN_PCI_SELFTEST_GUEST_FIXTURE_H */
