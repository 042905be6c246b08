// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs, config space, BAR and interrupt helpers of the xen-pci selftests,
 * and the clock of their benchmarks.
 */

#include <libgen.h>
#include <sys/syscall.h>
#include <time.h>

#include "pci_util.h"

int sysfs_write(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : 0;
}

int sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

/* A number in a sysfs file of device @bdf, such as "vendor" or "irq". */
int dev_attr_ulong(const char *bdf, const char *attr, unsigned long *val)
{
	char path[PATH_MAX], buf[64], *end;
	int ret;

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s", bdf, attr);
	ret = sysfs_read(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*val = strtoul(buf, &end, 0);
	return errno || end == buf ? -EINVAL : 0;
}

int dev_attr_write(const char *bdf, const char *attr, const char *s)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/%s", bdf, attr);
	return sysfs_write(path, s);
}

bool dev_exists(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s", bdf);
	return !access(path, F_OK);
}

bool dev_is_emu(const char *bdf)
{
	unsigned long vendor, device;

	return !dev_attr_ulong(bdf, "vendor", &vendor) &&
	       !dev_attr_ulong(bdf, "device", &device) &&
	       vendor == EMU_VENDOR_ID && device == EMU_DEVICE_ID;
}

/*
 * Rescan the PCI buses until @bdf is there as @vendor:@device, for up to
 * @secs seconds.
 */
bool dev_rescan_until(const char *bdf, unsigned long vendor, unsigned long device, int secs)
{
	unsigned long v, d;
	int i;

	for (i = 0; i < secs * 2; i++) {
		sysfs_write("/sys/bus/pci/rescan", "1");
		if (!dev_attr_ulong(bdf, "vendor", &v) &&
		    !dev_attr_ulong(bdf, "device", &d) &&
		    v == vendor && d == device)
			return true;
		usleep(500000);
	}
	return false;
}

/* The name of the driver bound to @bdf, or "" when there is none. */
void dev_driver(const char *bdf, char *drv, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX], *name;
	size_t l;
	ssize_t n;

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	drv[0] = '\0';
	if (n <= 0)
		return;
	link[n] = '\0';
	name = strrchr(link, '/');
	name = name ? name + 1 : link;
	l = strlen(name) < len ? strlen(name) : len - 1;
	memcpy(drv, name, l);
	drv[l] = '\0';
}

int test_module_load(const char *rel)
{
	char exe[PATH_MAX], path[2 * PATH_MAX];
	ssize_t len;
	int fd, ret;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len < 0)
		return -errno;
	exe[len] = 0;
	snprintf(path, sizeof(path), "%s/%s", dirname(exe), rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, "", 0);
	ret = ret && errno != EEXIST ? -errno : 0;
	close(fd);
	return ret;
}

int dev_bind_override(const char *bdf, const char *drv)
{
	char path[PATH_MAX], cur[64];
	int ret;

	dev_driver(bdf, cur, sizeof(cur));
	if (!strcmp(cur, drv))
		return 0;
	if (cur[0]) {
		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", cur);
		ret = sysfs_write(path, bdf);
		if (ret)
			return ret;
	}
	ret = dev_attr_write(bdf, "driver_override", drv);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", drv);
	return sysfs_write(path, bdf);
}

int test_module_bind(const char *bdf, const char *rel, const char *drv,
		     char *why, size_t len)
{
	int ret = test_module_load(rel);

	if (ret) {
		snprintf(why, len, "loading %s", rel);
		return ret;
	}
	ret = dev_bind_override(bdf, drv);
	if (ret)
		snprintf(why, len, "%s did not take %s (its dmesg says why)",
			 drv, bdf);
	return ret;
}

void dev_unbind_override(const char *bdf, const char *drv)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", drv);
	sysfs_write(path, bdf);
	dev_attr_write(bdf, "driver_override", "\n");
}

static int emu_bdf_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * The @n-th (from 0) device @vendor:@device in address order, in @bdf.
 * Returns false if there is none.
 */
bool dev_find_nth(__u32 vendor, __u32 device, int n, char bdf[EMU_BDF_LEN])
{
	char all[DEV_FIND_MAX][EMU_BDF_LEN];
	unsigned long v, d;
	struct dirent *e;
	int count = 0;
	DIR *dir;

	dir = opendir(SYSFS_PCI_DEVICES);
	if (!dir)
		return false;
	while (count < DEV_FIND_MAX && (e = readdir(dir))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= EMU_BDF_LEN)
			continue;
		if (!dev_attr_ulong(e->d_name, "vendor", &v) &&
		    !dev_attr_ulong(e->d_name, "device", &d) &&
		    v == vendor && d == device)
			snprintf(all[count++], EMU_BDF_LEN, "%s", e->d_name);
	}
	closedir(dir);
	if (n >= count)
		return false;
	qsort(all, count, EMU_BDF_LEN, emu_bdf_cmp);
	snprintf(bdf, EMU_BDF_LEN, "%s", all[n]);
	return true;
}

/* The first one, as dev_find_nth(). */
bool dev_find(__u32 vendor, __u32 device, char bdf[EMU_BDF_LEN])
{
	return dev_find_nth(vendor, device, 0, bdf);
}

/* The emulated devices, sorted by address. Returns how many. */
int find_emu_devices(char bdfs[][EMU_BDF_LEN], int max)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	d = opendir(SYSFS_PCI_DEVICES);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= EMU_BDF_LEN)
			continue;
		if (dev_is_emu(e->d_name))
			snprintf(bdfs[n++], EMU_BDF_LEN, "%s", e->d_name);
	}
	closedir(d);
	qsort(bdfs, n, EMU_BDF_LEN, emu_bdf_cmp);
	return n;
}

/* bus << 8 | devfn of "SSSS:BB:DD.F", or -1. */
int bdf_to_busdevfn(const char *bdf)
{
	unsigned int seg, bus, dev, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &dev, &fn) != 4)
		return -1;
	return bus << 8 | dev << 3 | fn;
}

/* Open the config space of @bdf. */
int dev_cfg_open(const char *bdf)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/config", bdf);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* One config access of @size bytes (1, 2 or 4), little endian. */
int cfg_read(int fd, unsigned int off, unsigned int size, __u32 *val)
{
	__u8 b[4] = { 0 };
	unsigned int i;

	if (pread(fd, b, size, off) != (ssize_t)size)
		return -1;
	*val = 0;
	for (i = 0; i < size; i++)
		*val |= (__u32)b[i] << i * 8;
	return 0;
}

int cfg_write(int fd, unsigned int off, unsigned int size, __u32 val)
{
	__u8 b[4];
	unsigned int i;

	for (i = 0; i < size; i++)
		b[i] = val >> i * 8;
	return pwrite(fd, b, size, off) == (ssize_t)size ? 0 : -1;
}

/* Resource @idx of @bdf as sysfs shows it (0-5 BARs, 6 the ROM). */
int dev_resource(const char *bdf, int idx, __u64 *start, __u64 *size, __u64 *flags)
{
	struct pci_res res[PCI_RES_NR];
	int ret;

	if (idx < 0 || idx >= PCI_RES_NR)
		return -ENOENT;
	ret = pci_res_read(bdf, res);
	if (ret)
		return ret;
	*start = res[idx].start;
	*size = res[idx].end > res[idx].start ? res[idx].end - res[idx].start + 1 : 0;
	*flags = res[idx].flags;
	return 0;
}

/* Map BAR @idx of @bdf whole, through its sysfs resource file. */
int dev_map_bar(const char *bdf, int idx, struct bar_map *m)
{
	long page = sysconf(_SC_PAGESIZE);
	__u64 start = 0, flags, off;
	char path[PATH_MAX];
	int fd, ret;

	ret = dev_resource(bdf, idx, &start, &m->size, &flags);
	if (ret)
		return ret;
	if (!m->size)
		return -ENODEV;
	off = start & (page - 1);
	m->len = (off + m->size + page - 1) & ~(__u64)(page - 1);
	snprintf(path, sizeof(path), SYSFS_PCI_DEVICES "/%s/resource%d", bdf,
		 idx);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	m->map = mmap(NULL, m->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ret = m->map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	m->base = (__u8 *)m->map + off;
	return 0;
}

void dev_unmap_bar(struct bar_map *m)
{
	if (m->map && m->map != MAP_FAILED)
		munmap(m->map, m->len);
	m->map = NULL;
	m->base = NULL;
}

/*
 * Interrupts taken on Linux IRQ @irq so far, all CPUs together, from
 * /proc/interrupts; -1 if it is not listed.
 */
long long irq_count(unsigned long irq)
{
	return irq_count_cpu(irq, -1);
}

/* The same, on CPU @cpu only (its column), or all CPUs for -1. */
long long irq_count_cpu(unsigned long irq, int cpu)
{
	char line[4096];
	long long total = -1;
	int col = 0;
	FILE *f;

	f = fopen("/proc/interrupts", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		unsigned long long n;

		n = strtoull(p, &end, 10);
		if (end == p || *end != ':' || n != irq)
			continue;
		total = 0;
		for (p = end + 1;; p = end, col++) {
			n = strtoull(p, &end, 10);
			if (end == p)
				break;
			if (cpu < 0 || col == cpu)
				total += n;
		}
		break;
	}
	fclose(f);
	return total;
}

/* Seconds of CLOCK_MONOTONIC, for the benchmarks. */
double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

#define XS_READ		2	/* xenstore's wire protocol (xs_wire.h) */
#define STATS_KEY	"data/xenpci-stats"	/* under the guest's home */

int xs_read(const char *path, char *val, size_t len)
{
	struct {
		__u32 type, req_id, tx_id, len;
		char body[256];
	} msg = { .type = XS_READ, .len = strlen(path) + 1 };
	ssize_t n;
	int fd;

	fd = open("/dev/xen/xenbus", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(msg.body, sizeof(msg.body), "%s", path);
	n = write(fd, &msg, 16 + msg.len);
	if (n == (ssize_t)(16 + msg.len))
		n = read(fd, &msg, sizeof(msg) - 1);
	close(fd);
	if (n < 16 || msg.type != XS_READ || msg.len > (size_t)(n - 16) ||
	    msg.len >= len)
		return -1;
	memcpy(val, msg.body, msg.len);
	val[msg.len] = '\0';
	return 0;
}

int backend_counters(const char *tag, int slot, double limit)
{
	double end = now() + limit;
	char got[96];

	if (slot < 0)
		printf("@@XENPCI request=backend-stats tag=%s slot=none\n", tag);
	else
		printf("@@XENPCI request=backend-stats tag=%s slot=%d\n", tag,
		       slot);
	fflush(stdout);
	while (xs_read(STATS_KEY, got, sizeof(got)) || strcmp(got, tag)) {
		if (now() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}
