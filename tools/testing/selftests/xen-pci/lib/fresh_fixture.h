/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FIXTURE(fresh): a paused guest of each test's own (lib/xl_util.h), made
 * from XEN_PCI_IOREQ_GUEST_CFG before the test and destroyed after it, if
 * the test did not destroy it itself. For the programs whose tests kill
 * their guest: ioreq_dom0_lifetime and ioreq_dom0_fault. Include it once,
 * after kselftest_harness.h.
 */

#ifndef _XEN_PCI_SELFTEST_FRESH_FIXTURE_H
#define _XEN_PCI_SELFTEST_FRESH_FIXTURE_H

#include "xl_util.h"

FIXTURE(fresh) {
	struct guest guest;
};

FIXTURE_SETUP(fresh)
{
	own_guest_create(_metadata, &self->guest, CFG_ENV, "-fresh", NULL);
}

FIXTURE_TEARDOWN_PARENT(fresh)
{
	guest_destroy(&self->guest);
}

#endif /* _XEN_PCI_SELFTEST_FRESH_FIXTURE_H */
