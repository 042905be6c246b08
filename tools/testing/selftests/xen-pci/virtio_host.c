// SPDX-License-Identifier: GPL-2.0
/*
 * The dom0 side of the virtio-pci tests: run by dom0's init once a guest
 * served by samples/xen/pci-ioreq-virtio is gone and its backends have
 * exited. It checks what the guest reported (virtio_guest's VIRTIO-REPORT
 * lines in the guest's console log) against what dom0 has:
 *
 * - the SHA-256 of the disk as the guest read it equals that of the
 *   backing file before the guest started (taken by dom0's init);
 * - the patterns the guest wrote with O_DIRECT, before and after its
 *   memory went down and up again, are in the backing file, byte for
 *   byte;
 * - the ext4 file system the guest made on its second disk passes e2fsck;
 * - the bytes the guest read from /dev/hwrng are in the stream the rng
 *   backend logged it served (seed and count);
 * - the rng backend marked its device broken (and logged it) once for
 *   each violation of the rules the guest reported (the chain of more
 *   than 4 GiB for its length), the disk never;
 * - the backends started with --fast took notifications by ioeventfd and
 *   interrupted by irqfd; those whose guest enabled MSI-X (--layout msi=)
 *   sent every interrupt as a message (through the vectors' irqfds with
 *   --fast), none refused, and nothing read the ISR;
 * - guest memory came by grants to the backends started with --grants, by
 *   foreign mapping to the others, which heard of Xen's invalidates when
 *   the guest's memory went down.
 *
 * XEN_PCI_GUEST names the guest, XEN_PCI_GUEST_LOG is its console log;
 * the backends' logs are /tmp/backend-GUEST-N.log.
 */

#define _GNU_SOURCE
#include <ctype.h>
#include <glob.h>

#include "../kselftest_harness.h"
#include "lib/pci_util.h"
#include "../../../../samples/xen/pci-ioreq-virtio.h"

#define LINE_MAX_LEN	4096

/*
 * The text after @key in the first line of @path that contains it, or in
 * the last one if @last (counters are printed last).
 */
static bool find_line(const char *path, const char *key, bool last,
		      char *out, size_t len)
{
	char line[LINE_MAX_LEN];
	bool found = false;
	FILE *f = fopen(path, "r");
	char *p;

	if (!f)
		return false;
	while ((last || !found) && fgets(line, sizeof(line), f)) {
		p = strstr(line, key);
		if (!p)
			continue;
		p += strlen(key);
		p[strcspn(p, "\r\n")] = '\0';
		snprintf(out, len, "%s", p);
		found = true;
	}
	fclose(f);
	return found;
}

static bool find_after(const char *path, const char *key, char *out,
		       size_t len)
{
	return find_line(path, key, false, out, len);
}

static bool find_last_after(const char *path, const char *key, char *out,
			    size_t len)
{
	return find_line(path, key, true, out, len);
}

/* How many lines of @path contain @key. */
static int count_lines(const char *path, const char *key)
{
	char line[LINE_MAX_LEN];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, key);
	fclose(f);
	return n;
}

static unsigned long long field(const char *s, const char *key);

/*
 * The largest figure after @name in the lines of @path that contain @key:
 * a backend's log holds a stats line per SIGUSR1, and one per instance
 * at its exit (a restarted backend appends to the log). 0 if none.
 */
static unsigned long long max_field(const char *path, const char *key,
				    const char *name)
{
	unsigned long long v, max = 0;
	char line[LINE_MAX_LEN];
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, key))
			continue;
		v = field(line, name);
		if (v != ~0ULL && v > max)
			max = v;
	}
	fclose(f);
	return max;
}

/* The same, in any of the guest's backend logs; *which gets its path. */
static bool find_in_backends(const char *key, char *out, size_t len,
			     char *which, size_t wlen)
{
	char pat[PATH_MAX];
	bool found = false;
	glob_t g;
	size_t i;

	snprintf(pat, sizeof(pat), "/tmp/backend-%s-[0-9]*.log",
		 getenv("XEN_PCI_GUEST"));
	if (glob(pat, 0, NULL, &g))
		return false;
	for (i = 0; i < g.gl_pathc && !found; i++) {
		found = find_after(g.gl_pathv[i], key, out, len);
		if (found && which)
			snprintf(which, wlen, "%s", g.gl_pathv[i]);
	}
	globfree(&g);
	return found;
}

static unsigned long long field(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p ? strtoull(p + strlen(key), NULL, 0) : ~0ULL;
}

FIXTURE(host) {
	const char *log;
	char disk[PATH_MAX];
};

FIXTURE_SETUP(host)
{
	char buf[LINE_MAX_LEN];

	self->log = getenv("XEN_PCI_GUEST_LOG");
	if (!self->log || !getenv("XEN_PCI_GUEST"))
		SKIP(return, "run by dom0's init after a virtio guest is gone (XEN_PCI_GUEST_LOG)");
	ASSERT_TRUE(find_in_backends("virtio-blk ", buf, sizeof(buf), NULL, 0))
		TH_LOG("no virtio-blk backend served %s", getenv("XEN_PCI_GUEST"));
	buf[strcspn(buf, " ")] = '\0';
	snprintf(self->disk, sizeof(self->disk), "%s", buf);
}

FIXTURE_TEARDOWN(host)
{
}

TEST_F(host, disk_sha256_is_the_file_s)
{
	char guest[LINE_MAX_LEN], path[PATH_MAX + 8], want[128];

	ASSERT_TRUE(find_after(self->log, VIRTIO_REPORT "disk-sha256=", guest,
			       sizeof(guest)))
		TH_LOG("the guest reported no disk-sha256");
	guest[64] = '\0';
	snprintf(path, sizeof(path), "%s.sha256", self->disk);
	ASSERT_EQ(0, sysfs_read(path, want, sizeof(want)))
		TH_LOG("%s: taken before the guest started", path);
	want[64] = '\0';
	EXPECT_STREQ(want, guest);
}

/* The pattern the guest reported under @key is in the disk's file. */
static void pattern_in_file(struct __test_metadata *_metadata,
			    const char *log, const char *disk, const char *key)
{
	unsigned long long seed, off, len;
	char rep[LINE_MAX_LEN];
	__u8 *want, *got;
	int fd;

	ASSERT_TRUE(find_after(log, key, rep, sizeof(rep)))
		TH_LOG("the guest reported no %s", key);
	seed = field(rep, "seed=");
	off = field(rep, "offset=");
	len = field(rep, "length=");
	ASSERT_TRUE(len && len <= 16 << 20) TH_LOG("%s", rep);
	want = malloc(len);
	got = malloc(len);
	ASSERT_TRUE(want && got);
	stream_fill(seed, want, len);
	fd = open(disk, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", disk, strerror(errno));
	ASSERT_EQ((ssize_t)len, pread(fd, got, len, off));
	close(fd);
	EXPECT_EQ(0, memcmp(want, got, len))
		TH_LOG("%s at %llu differs from the guest's pattern", disk,
		       off);
	free(want);
	free(got);
}

TEST_F(host, guest_pattern_in_file)
{
	pattern_in_file(_metadata, self->log, self->disk,
			VIRTIO_REPORT "pattern ");
}

/* What the guest's threads wrote side by side is in the file. */
TEST_F(host, guest_inflight_pattern_in_file)
{
	pattern_in_file(_metadata, self->log, self->disk,
			VIRTIO_REPORT "inflight-pattern ");
}

/* What the guest wrote after its memory went down and up is in the file. */
TEST_F(host, guest_balloon_pattern_in_file)
{
	if (!count_lines(self->log, VIRTIO_REPORT "balloon-pattern ") &&
	    count_lines(self->log, "virtio.blk_balloon_io # SKIP"))
		SKIP(return, "the guest skipped its balloon test");
	pattern_in_file(_metadata, self->log, self->disk,
			VIRTIO_REPORT "balloon-pattern ");
}

/* The ext4 file system the guest made and filled passes a full e2fsck. */
TEST_F(host, guest_ext4_passes_e2fsck)
{
	char rep[LINE_MAX_LEN], key[64], disk[LINE_MAX_LEN], cmd[PATH_MAX + 64];
	char out[LINE_MAX_LEN];
	size_t n;
	FILE *p;
	int rc;

	if (!find_after(self->log, VIRTIO_REPORT "ext4 bdf=", rep, sizeof(rep)))
		SKIP(return, "the guest made no ext4 file system (no second disk)");
	rep[strcspn(rep, " ")] = '\0';
	ASSERT_GT(32, strlen(rep)) TH_LOG("%s", rep);
	/* "serving BDF of domain N: virtio-blk PATH (..." */
	snprintf(key, sizeof(key), "serving %.32s of domain ", rep);
	ASSERT_TRUE(find_in_backends(key, disk, sizeof(disk), NULL, 0))
		TH_LOG("no backend served %s", rep);
	ASSERT_NE(NULL, strstr(disk, "virtio-blk ")) TH_LOG("%s", disk);
	memmove(disk, strstr(disk, "virtio-blk ") + 11,
		strlen(strstr(disk, "virtio-blk ") + 11) + 1);
	disk[strcspn(disk, " ")] = '\0';
	if (access("/usr/sbin/e2fsck", X_OK))
		SKIP(return, "no e2fsck (e2fsprogs) in dom0");
	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s 2>&1", disk);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	rc = pclose(p);
	EXPECT_EQ(0, rc) TH_LOG("%s: %s", cmd, out);
	/* "...: 3011/4096 files (0.0% non-contiguous), ..." */
	EXPECT_NE(NULL, strstr(out, " files ")) TH_LOG("%s", out);
	TH_LOG("%s", out);
}

TEST_F(host, rng_bytes_from_backend_stream)
{
	char rep[LINE_MAX_LEN], serving[LINE_MAX_LEN], stats[LINE_MAX_LEN];
	char which[PATH_MAX];
	unsigned long long seed, served;
	__u8 bytes[256], *stream;
	size_t n = 0, i;

	ASSERT_TRUE(find_after(self->log, VIRTIO_REPORT "rng bytes=", rep,
			       sizeof(rep)));
	for (n = 0; n < sizeof(bytes); n++)
		if (sscanf(rep + 2 * n, "%2hhx", &bytes[n]) != 1 ||
		    !isxdigit((unsigned char)rep[2 * n + 1]))
			break;
	ASSERT_GE(n, 16);
	ASSERT_TRUE(find_in_backends("virtio-rng seed ", serving,
				     sizeof(serving), which, sizeof(which)));
	seed = strtoull(serving, NULL, 0);
	ASSERT_TRUE(find_last_after(which, " served ", stats, sizeof(stats)))
		TH_LOG("%s has no stats line", which);
	served = strtoull(stats, NULL, 0);
	ASSERT_GE(served, n);
	ASSERT_LE(served, 64 << 20);
	stream = malloc(served);
	ASSERT_NE(NULL, stream);
	stream_fill(seed, stream, served);
	for (i = 0; i + n <= served; i++)
		if (!memcmp(stream + i, bytes, n))
			break;
	EXPECT_LE(i + n, served)
		TH_LOG("the guest's %zu bytes are not in the %llu bytes of seed %llu",
		       n, served, seed);
	TH_LOG("the guest's bytes are at offset %zu of the %llu served", i,
	       served);
	free(stream);
}

TEST_F(host, backends_healthy_and_fast_paths_used)
{
	char pat[PATH_MAX], line[LINE_MAX_LEN], cmd[LINE_MAX_LEN];
	int stats = 0, fast = 0, msi = 0, violations;
	unsigned long long threads;
	bool balloon, is_msi;
	glob_t g;
	size_t i;

	/* The guest broke the rng's rules on purpose (virtio_guest, raw). */
	violations = count_lines(self->log, VIRTIO_REPORT "violation ");
	ASSERT_LE(0, violations);
	/* The guest's memory went down and up (virtio_guest). */
	balloon = count_lines(self->log, VIRTIO_REPORT "balloon-pattern ") > 0;

	snprintf(pat, sizeof(pat), "/tmp/backend-%s-[0-9]*.log",
		 getenv("XEN_PCI_GUEST"));
	ASSERT_EQ(0, glob(pat, 0, NULL, &g));
	for (i = 0; i < g.gl_pathc; i++) {
		bool is_fast;

		if (!find_last_after(g.gl_pathv[i], "pci-ioreq-virtio: stats ",
				     line, sizeof(line)))
			continue;
		stats++;
		snprintf(pat, sizeof(pat), "%.*s.cmd",
			 (int)(strlen(g.gl_pathv[i]) - 4), g.gl_pathv[i]);
		ASSERT_EQ(0, sysfs_read(pat, cmd, sizeof(cmd)));
		/* Broken once per violation, each logged; never otherwise. */
		if (strstr(cmd, "--device rng")) {
			EXPECT_EQ(violations, field(line, " broken "))
				TH_LOG("%s", line);
			EXPECT_EQ(violations, count_lines(g.gl_pathv[i],
							  "DEVICE_NEEDS_RESET"));
			/* The 4 GiB chain broke it for its length. */
			EXPECT_EQ(count_lines(self->log, VIRTIO_REPORT
					      "violation chain-4gib "),
				  count_lines(g.gl_pathv[i],
					      "descriptor chain longer than 4 GiB"));
		} else {
			EXPECT_EQ(0, field(line, " broken ")) TH_LOG("%s", line);
		}
		/*
		 * The first disk took virtio.blk_requests_in_flight's 32
		 * threads: with I/O threads, several requests at once. The
		 * guest had the counters printed right after (its backend is
		 * killed and restarted later).
		 */
		threads = field(line, " io threads ");
		ASSERT_NE(~0ULL, threads) TH_LOG("%s", line);
		if (strstr(cmd, "--device blk") && strstr(cmd, self->disk) &&
		    threads)
			EXPECT_LE(2, max_field(g.gl_pathv[i],
					       "pci-ioreq-virtio: stats ",
					       " in flight max "))
				TH_LOG("%s", g.gl_pathv[i]);
		/* Guest memory came the way the backend was told. */
		if (strstr(cmd, "--grants")) {
			EXPECT_LT(0, field(line, " grant maps ")) TH_LOG("%s", line);
			EXPECT_EQ(0, field(line, "foreign-map calls "))
				TH_LOG("%s", line);
			/* Nothing cached: no invalidates asked for. */
			EXPECT_EQ(0, field(line, " invalidates "))
				TH_LOG("%s", line);
		} else {
			EXPECT_LT(0, field(line, "foreign-map calls "))
				TH_LOG("%s", line);
			EXPECT_EQ(0, field(line, " grant maps ")) TH_LOG("%s", line);
			/* Xen's invalidates reached the cache of mappings. */
			if (balloon)
				EXPECT_LT(0, field(line, " invalidates "))
					TH_LOG("%s", line);
		}
		is_fast = strstr(cmd, "--fast");
		/* MSI-X where the layout has MSI, unless --intx */
		is_msi = (strstr(cmd, ",msi=") || strstr(cmd, " msi=")) &&
			 !strstr(cmd, "--intx");
		if (!is_msi)
			EXPECT_EQ(NULL, strstr(line, " msix "))
				TH_LOG("an MSI-X capability: %s", line);
		if (is_msi) {
			/*
			 * The guest enabled MSI-X: every interrupt of its
			 * drivers a message, none refused, and the ISR never
			 * read. (INTx is for a driver without MSI-X: the raw
			 * tests drive the rng function so.)
			 */
			msi++;
			EXPECT_NE(NULL, strstr(line, " msix on "))
				TH_LOG("%s", line);
			/* --fast: through the vectors' irqfds */
			EXPECT_LT(0, field(line, strstr(cmd, "--fast") ?
					   " by-irqfd " : " sent "))
				TH_LOG("%s", line);
			EXPECT_EQ(0, field(line, " refused ")) TH_LOG("%s", line);
			EXPECT_EQ(0, field(line, " irqfd ")) TH_LOG("%s", line);
			EXPECT_EQ(0, field(line, " isr reads ")) TH_LOG("%s", line);
		}
		/* "notifies N by request, M by ioeventfd" */
		if (!is_fast) {
			EXPECT_LT(0, field(line, " notifies ")) TH_LOG("%s", line);
			EXPECT_EQ(0, field(line, "by request, ")) TH_LOG("%s", line);
			continue;
		}
		fast++;
		EXPECT_LT(0, field(line, "by request, ")) TH_LOG("%s", line);
		TH_LOG("%s", line);
		if (is_msi)
			continue;
		EXPECT_LT(0, field(line, " irqfd ")) TH_LOG("%s", line);
		/* Each deassertion came back through the resamplefd. */
		EXPECT_LT(0, field(line, " resamples ")) TH_LOG("%s", line);
	}
	globfree(&g);
	EXPECT_LE(2, stats) TH_LOG("stats lines of the virtio backends");
	EXPECT_LE(1, fast) TH_LOG("backends with --fast");
	TH_LOG("%d of %d virtio backends interrupted by MSI-X", msi, stats);
}

TEST_HARNESS_MAIN
