/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guests of the dom0 selftests, made with xl (lib/xl_util.c): run a
 * command with a time limit, create a paused guest under a name of the
 * tests' own and destroy it, read "xl list" and "xl vcpu-list". Also the
 * one guest that a program shares among its tests (created from main(),
 * destroyed at exit) and the fixture helpers that create a guest of a
 * test's own, for the ioreq_dom0* programs.
 */

#ifndef _XEN_PCI_SELFTEST_XL_UTIL_H
#define _XEN_PCI_SELFTEST_XL_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* The xl configuration of the small guest the tests create paused. */
#define CFG_ENV			"XEN_PCI_IOREQ_GUEST_CFG"
/* The xl configuration of a guest that runs and has our root complex. */
#define RUN_CFG_ENV		"XEN_PCI_IOREQ_RUN_CFG"
#define NAME_PREFIX		"ioreq-selftest-"
#define XL_TIMEOUT		60	/* seconds for one xl command */
#define GONE_TIMEOUT		20	/* seconds for a dead guest to vanish */

struct guest {
	int domid;
	char name[64];
};

/* The guest of a program's tests that need no guest of their own. */
extern struct guest shared_guest;
/* Why it could not be created, or "". */
extern char shared_error[512];

int run(const char *const argv[], char *out, size_t len);
int xl(char *out, size_t len, const char *a1, const char *a2, const char *a3, const char *a4);
bool domain_listed(int domid);
int domain_vcpus(int domid);
int guest_create(struct guest *g, const char *cfg, const char *suffix,
		 const char *extra, char *err, size_t errlen);
int guest_destroy(struct guest *g);
int guest_unpause(int domid, char *out, size_t len);
bool wait_domain_gone(int domid);
void destroy_stale_guests(void);
const char *no_guest_reason(void);
void guests_start(bool shared);

/* The fixture helpers, for the programs that include kselftest_harness.h. */
#ifdef __KSELFTEST_HARNESS_H

#include "ioreq_util.h"

/*
 * For a FIXTURE_SETUP: create, paused, a guest of the test's own from the
 * xl configuration that environment variable @cfg_env names (with one more
 * xl "key=value", @extra, if not NULL), named with @suffix; or skip the
 * test without guests. The shared guest, if the program made one, must
 * exist: else the error that kept it from being created is the test's.
 */
static inline void own_guest_create(struct __test_metadata *_metadata,
				    struct guest *g, const char *cfg_env,
				    const char *suffix, const char *extra)
{
	const char *why = no_guest_reason(), *cfg = getenv(cfg_env);
	char err[1024];

	g->domid = -1;
	if (why)
		SKIP(return, "%s", why);
	if (!cfg)
		SKIP(return, RUN_CFG_ENV " not set: no guest with a root complex to run");
	ASSERT_FALSE(shared_error[0]) TH_LOG("%s", shared_error);
	ASSERT_OK(guest_create(g, cfg, suffix, extra, err, sizeof(err)))
		TH_LOG("%s", err);
}

/*
 * A destroyed guest vanishes from xl's list and can no longer be bound:
 * nothing of ours holds the dead domain.
 */
static inline void expect_domain_gone(struct __test_metadata *_metadata,
				      int domid)
{
	int fd;

	EXPECT_TRUE(wait_domain_gone(domid))
		TH_LOG("domain %d still listed %d s after xl destroy", domid,
		       GONE_TIMEOUT);
	fd = open_dev(true);
	ASSERT_LE(0, fd);
	EXPECT_ERRNO(ESRCH, bind_fd(fd, domid));
	close(fd);
}

#endif /* __KSELFTEST_HARNESS_H */

#endif /* _XEN_PCI_SELFTEST_XL_UTIL_H */
