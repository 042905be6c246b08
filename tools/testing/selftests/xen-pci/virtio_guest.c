// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of virtio-pci over the Xen virtual root complex: the
 * functions that samples/xen/pci-ioreq-virtio serves in dom0 are driven by
 * the guest's stock drivers, virtio_pci with virtio_blk and virtio_rng.
 *
 * - each function is bound to virtio-pci, and its virtio device to
 *   virtio_blk or virtio_rng, with VIRTIO_F_VERSION_1 negotiated;
 * - the disk has the backend's serial (GET_ID), and its whole content
 *   reads, with interrupts on the function's INTx line;
 * - a pattern written with O_DIRECT reads back with O_DIRECT;
 * - /dev/hwrng is virtio_rng and gives bytes.
 *
 * What only dom0 can check (the disk's SHA-256 against its backing file,
 * the pattern in that file, the rng bytes against the backend's seed) is
 * printed as "VIRTIO-REPORT" lines; virtio_host checks them once the
 * guest is gone.
 */

#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "ioreq_dev.h"
#include "../../../../samples/xen/pci-ioreq-virtio.h"

#define NO_VIRTIO	"no virtio-blk or virtio-rng function in this guest"
#define PATTERN_OFF	(4ULL << 20)
#define PATTERN_LEN	0x100000U	/* 1 MiB */
#define RNG_BYTES	64

/* Copy name @src into @dst of @len bytes; false if it does not fit. */
static bool copy_name(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* The first function with @vendor:@device; false if there is none. */
static bool find_fn(unsigned long device, char bdf[EMU_BDF_LEN])
{
	struct dirent *de;
	bool found = false;
	DIR *d;

	d = opendir(SYSFS_PCI_DEVICES);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		unsigned long v, dv;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= EMU_BDF_LEN)
			continue;
		if (!dev_attr_ulong(de->d_name, "vendor", &v) &&
		    !dev_attr_ulong(de->d_name, "device", &dv) &&
		    v == VIRTIO_VENDOR && dv == device)
			found = copy_name(bdf, EMU_BDF_LEN, de->d_name);
	}
	closedir(d);
	return found;
}

/* The virtio device ("virtioN") below PCI function @bdf. */
static bool virtio_child(const char *bdf, char *name, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s", bdf);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		if (!strncmp(de->d_name, "virtio", 6) &&
		    isdigit((unsigned char)de->d_name[6]))
			found = copy_name(name, len, de->d_name);
	closedir(d);
	return found;
}

static void link_name(const char *path, char *name, size_t len)
{
	char link[PATH_MAX], *p;
	ssize_t n = readlink(path, link, sizeof(link) - 1);

	name[0] = '\0';
	if (n <= 0)
		return;
	link[n] = '\0';
	p = strrchr(link, '/');
	copy_name(name, len, p ? p + 1 : link);
}

/* The block device ("vda") of the virtio-blk device below @bdf. */
static bool blk_name(const char *bdf, char *name, size_t len)
{
	char vdev[32], path[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!virtio_child(bdf, vdev, sizeof(vdev)))
		return false;
	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s/block", bdf,
		 vdev);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		if (de->d_name[0] != '.')
			found = copy_name(name, len, de->d_name);
	closedir(d);
	return found;
}

/* Interrupts taken on @irq, all CPUs together; -1 if it is not listed. */
static long long irq_count(unsigned long irq)
{
	char line[1024], *p, *end;
	long long sum = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strtoul(line, &end, 10) != irq || end == line || *end != ':')
			continue;
		sum = 0;
		for (p = end + 1;;) {
			long long n = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += n;
			p = end;
		}
		break;
	}
	fclose(f);
	return sum;
}

FIXTURE(virtio) {
	char blk[EMU_BDF_LEN];
	char rng[EMU_BDF_LEN];
	char disk[64];		/* "/dev/vda" */
};

FIXTURE_SETUP(virtio)
{
	char name[32];

	if (!access("/dev/xen/pci-ioreq", F_OK))
		SKIP(return, "this is dom0, which serves these functions");
	if (!find_fn(VIRTIO_DEV_BLK, self->blk) ||
	    !find_fn(VIRTIO_DEV_RNG, self->rng))
		SKIP(return, NO_VIRTIO);
	if (geteuid())
		SKIP(return, "needs root");
	self->disk[0] = '\0';
	if (blk_name(self->blk, name, sizeof(name)))
		snprintf(self->disk, sizeof(self->disk), "/dev/%s", name);
}

FIXTURE_TEARDOWN(virtio)
{
}

static void report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf(VIRTIO_REPORT);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

/* Bound to the stock drivers, and negotiated as a modern device. */
TEST_F(virtio, stock_drivers_bound)
{
	static const char * const want[] = { "virtio_blk", "virtio_rng" };
	int i;

	for (i = 0; i < 2; i++) {
		const char *bdf = i ? self->rng : self->blk;
		char drv[64], vdev[32], path[PATH_MAX], feat[128];

		dev_driver(bdf, drv, sizeof(drv));
		ASSERT_STREQ("virtio-pci", drv) TH_LOG("%s", bdf);
		ASSERT_TRUE(virtio_child(bdf, vdev, sizeof(vdev)))
			TH_LOG("%s has no virtio device", bdf);
		snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s/driver",
			 bdf, vdev);
		link_name(path, drv, sizeof(drv));
		ASSERT_STREQ(want[i], drv) TH_LOG("%s/%s", bdf, vdev);
		snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s/features",
			 bdf, vdev);
		ASSERT_EQ(0, sysfs_read(path, feat, sizeof(feat)));
		/* One character per feature bit; bit 32 is VERSION_1. */
		ASSERT_GT(strlen(feat), 32);
		EXPECT_EQ('1', feat[32]) TH_LOG("%s features %s", bdf, feat);
		TH_LOG("%s: %s, features %s", bdf, drv, feat);
	}
}

/* GET_ID, the capacity, and the whole disk read with INTx interrupts. */
TEST_F(virtio, blk_reads_whole_disk)
{
	char path[PATH_MAX], serial[64], cmd[128], sum[80];
	unsigned long irq, sectors;
	long long irqs0, irqs1;
	FILE *p;

	ASSERT_NE('\0', self->disk[0]) TH_LOG("no block device below %s",
					      self->blk);
	snprintf(path, sizeof(path), "/sys/block/%s/serial", self->disk + 5);
	ASSERT_EQ(0, sysfs_read(path, serial, sizeof(serial)));
	EXPECT_STREQ(VIRTIO_BLK_SERIAL, serial);
	snprintf(path, sizeof(path), "/sys/block/%s/size", self->disk + 5);
	ASSERT_EQ(0, sysfs_read(path, cmd, sizeof(cmd)));
	sectors = strtoul(cmd, NULL, 10);
	ASSERT_GE(sectors, (PATTERN_OFF + PATTERN_LEN) / 512);

	ASSERT_EQ(0, dev_attr_ulong(self->blk, "irq", &irq));
	irqs0 = irq_count(irq);
	ASSERT_GE(irqs0, 0) TH_LOG("IRQ %lu is not in /proc/interrupts", irq);
	/* Through the page cache, as a user would; drop it first. */
	sysfs_write("/proc/sys/vm/drop_caches", "3");
	snprintf(cmd, sizeof(cmd), "sha256sum %s", self->disk);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, fgets(sum, sizeof(sum), p));
	ASSERT_EQ(0, pclose(p));
	ASSERT_EQ(' ', sum[64]) TH_LOG("sha256sum said: %s", sum);
	sum[64] = '\0';
	irqs1 = irq_count(irq);
	EXPECT_GT(irqs1, irqs0) TH_LOG("no interrupt on IRQ %lu", irq);
	report("disk-sha256=%s sectors=%lu", sum, sectors);
	TH_LOG("%s: %lu sectors, sha256 %s, %lld interrupts on IRQ %lu",
	       self->disk, sectors, sum, irqs1 - irqs0, irq);
}

/* A pattern written with O_DIRECT and synced reads back with O_DIRECT. */
TEST_F(virtio, blk_odirect_pattern)
{
	__u8 *out, *in;
	__u64 seed;
	int fd;

	ASSERT_NE('\0', self->disk[0]);
	ASSERT_EQ(0, posix_memalign((void **)&out, 4096, PATTERN_LEN));
	ASSERT_EQ(0, posix_memalign((void **)&in, 4096, PATTERN_LEN));
	seed = (__u64)time(NULL) << 16 ^ getpid();
	stream_fill(seed, out, PATTERN_LEN);

	fd = open(self->disk, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", self->disk, strerror(errno));
	ASSERT_EQ(PATTERN_LEN, pwrite(fd, out, PATTERN_LEN, PATTERN_OFF));
	ASSERT_EQ(0, fsync(fd));
	sync();
	memset(in, 0, PATTERN_LEN);
	ASSERT_EQ(PATTERN_LEN, pread(fd, in, PATTERN_LEN, PATTERN_OFF));
	close(fd);
	EXPECT_EQ(0, memcmp(in, out, PATTERN_LEN));
	report("pattern seed=%llu offset=%llu length=%u",
	       (unsigned long long)seed, PATTERN_OFF, PATTERN_LEN);
	free(in);
	free(out);
}

/* /dev/hwrng is the virtio rng, and reads. */
TEST_F(virtio, rng_reads)
{
	char cur[64], hex[2 * RNG_BYTES + 1];
	__u8 buf[RNG_BYTES];
	ssize_t n, got = 0;
	int fd, i;

	ASSERT_EQ(0, sysfs_read("/sys/class/misc/hw_random/rng_current", cur,
				sizeof(cur)));
	ASSERT_EQ(0, strncmp(cur, "virtio_rng", 10))
		TH_LOG("rng_current: %s", cur);
	fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	while (got < RNG_BYTES) {
		n = read(fd, buf + got, RNG_BYTES - got);
		ASSERT_LT(0, n) TH_LOG("read /dev/hwrng: %s", strerror(errno));
		got += n;
	}
	close(fd);
	for (i = 0; i < RNG_BYTES; i++)
		sprintf(hex + 2 * i, "%02x", buf[i]);
	report("rng bytes=%s", hex);
}

TEST_HARNESS_MAIN
