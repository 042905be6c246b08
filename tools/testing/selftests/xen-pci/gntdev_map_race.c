// SPDX-License-Identifier: GPL-2.0
/*
 * IOCTL_GNTDEV_MAP_GRANT_REF whose copy of the result to user space fails,
 * raced with IOCTL_GNTDEV_UNMAP_GRANT_REF of the index it just handed out.
 *
 * The map ioctl adds the map to the file's list, then copies its index back.
 * If it drops the file's lock before the copy (it must: a fault in the copy
 * takes mmap_lock, and gntdev_mmap() takes the file's lock under mmap_lock),
 * another thread can unmap the new index before the failed copy is undone;
 * an undo that removes the map again is a double list_del and a double put.
 * Mapping grants needs no grant to exist: nothing is mapped before mmap().
 *
 * The argument sits in a read-only page, so every copy back fails: one
 * thread maps and gets EFAULT, the other unmaps index 0 as fast as it can.
 * The kernel must stay clean (KASAN, list debugging: the kernel log is
 * checked), every map must either be unmapped by the other thread or be
 * gone with the undo, and the file must close cleanly.
 *
 * Runs as root in dom0 (or any domain with /dev/xen/gntdev).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
/* <xen/gntdev.h> uses Xen's own names of these, which no uapi header has. */
typedef __u32 grant_ref_t;
typedef __u16 domid_t;
#include <xen/gntdev.h>

#include "../kselftest_harness.h"

#define GNTDEV		"/dev/xen/gntdev"
#define ROUNDS		20000
#define MAX_SECONDS	10	/* a slow guest stops there */
#define DOMID_ANY	1	/* never used: nothing is mapped */

static atomic_bool stop;
static atomic_ulong unmapped;

static void *unmapper(void *arg)
{
	struct ioctl_gntdev_unmap_grant_ref op = { .index = 0, .count = 1 };
	int fd = *(int *)arg;

	while (!atomic_load(&stop))
		if (!ioctl(fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &op))
			atomic_fetch_add(&unmapped, 1);
	return NULL;
}

/* Kernel log lines since @since_us that mean the kernel is in trouble. */
static int kernel_trouble(unsigned long long since_us, char *what, size_t len)
{
	static const char * const bad[] = {
		"BUG:", "KASAN", "list_del corruption", "list_add corruption",
		"refcount_t:", "WARNING:", "Oops", NULL,
	};
	char rec[1024];
	int fd, n = 0, i;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t r = read(fd, rec, sizeof(rec) - 1);
		unsigned long long ts;
		char *msg;

		if (r < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (r <= 0)
			break;
		rec[r] = '\0';
		msg = strchr(rec, ';');
		if (!msg || sscanf(rec, "%*u,%*u,%llu", &ts) != 1 ||
		    ts < since_us)
			continue;
		for (i = 0; bad[i]; i++) {
			if (strstr(msg, bad[i])) {
				if (!n++)
					snprintf(what, len, "%s", msg + 1);
				break;
			}
		}
	}
	close(fd);
	return n;
}

static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

TEST(map_efault_races_unmap)
{
	struct ioctl_gntdev_map_grant_ref *op;
	struct ioctl_gntdev_unmap_grant_ref un = { .index = 0, .count = 1 };
	unsigned long efault = 0, other = 0, ok = 0;
	unsigned long long t0 = now_us();
	char what[512] = "";
	pthread_t thr;
	long page = sysconf(_SC_PAGESIZE);
	int fd, i, n;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one CPU: the two threads cannot race");
	fd = open(GNTDEV, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENODEV))
		SKIP(return, "no " GNTDEV);
	ASSERT_LE(0, fd) TH_LOG("open " GNTDEV ": %s", strerror(errno));

	/* The argument: readable (the ioctl reads it), never writable. */
	op = mmap(NULL, page, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, op);
	op->count = 1;
	op->refs[0].domid = DOMID_ANY;
	op->refs[0].ref = 1;
	ASSERT_EQ(0, mprotect(op, page, PROT_READ));

	atomic_store(&stop, false);
	atomic_store(&unmapped, 0);
	ASSERT_EQ(0, pthread_create(&thr, NULL, unmapper, &fd));
	for (i = 0; i < ROUNDS; i++) {
		if (!(i % 256) && now_us() - t0 > MAX_SECONDS * 1000000ULL)
			break;
		if (!ioctl(fd, IOCTL_GNTDEV_MAP_GRANT_REF, op))
			ok++;
		else if (errno == EFAULT)
			efault++;
		else
			other++;
	}
	atomic_store(&stop, true);
	pthread_join(thr, NULL);

	/* Whatever is still mapped goes now; then index 0 is free. */
	while (!ioctl(fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &un))
		atomic_fetch_add(&unmapped, 1);
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, close(fd));
	munmap(op, page);

	TH_LOG("%d maps: %lu EFAULT, %lu succeeded, %lu other errors; %lu %s",
	       i, efault, ok, other, atomic_load(&unmapped),
	       "unmapped by the other thread");
	/* The copy back always fails: no map ioctl may succeed. */
	EXPECT_EQ((unsigned long)i, efault);
	EXPECT_LE(1000, i) TH_LOG("too few rounds to race");
	EXPECT_EQ(0UL, other);
	/* The race ran: the other thread unmapped maps in the window. */
	EXPECT_LT(0UL, atomic_load(&unmapped))
		TH_LOG("no unmap ever won the race: the test proves nothing");
	n = kernel_trouble(t0, what, sizeof(what));
	ASSERT_LE(0, n) TH_LOG("cannot read /dev/kmsg");
	EXPECT_EQ(0, n) TH_LOG("kernel: %s", what);
}

TEST_HARNESS_MAIN
