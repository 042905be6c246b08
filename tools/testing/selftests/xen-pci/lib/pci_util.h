/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PCI half of the xen-pci selftest library (lib/pci_util.c, built once
 * and linked into every program): PCI functions found in sysfs, their
 * config space through sysfs, and their BARs through mmap() of the sysfs
 * resource files, with exactly one access per MMIO helper call. The memory
 * resources and the page-sharing rule are tools/lib/pci/pci-resource.c's.
 */

#ifndef _XEN_PCI_SELFTEST_PCI_UTIL_H
#define _XEN_PCI_SELFTEST_PCI_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/types.h>

#include "../../../../../samples/xen/pci-ioreq-emu.h"
#include "../../../../lib/pci/pci-resource.h"

#define SYSFS_PCI_DEVICES	PCI_RES_SYSFS
#define EMU_MAX_DEVS		64
#define EMU_BDF_LEN		16	/* "0000:00:00.0" */

/*
 * MMIO accessors: each call is exactly one access of its size. On arm64,
 * a single ldr/str without writeback: Xen emulates a trapped access from
 * the syndrome the CPU reports, which describes only such plain loads and
 * stores, so the compiler must not pick another form (a post-indexed one,
 * a pair) for a BAR access. Elsewhere, relaxed atomic accesses, which the
 * compiler neither splits nor merges.
 */
#ifdef __aarch64__
static inline __u8 mmio_read8(const void *addr)
{
	__u32 val;

	asm volatile("ldrb %w0, [%1]" : "=r" (val) : "r" (addr) : "memory");
	return val;
}

static inline __u16 mmio_read16(const void *addr)
{
	__u32 val;

	asm volatile("ldrh %w0, [%1]" : "=r" (val) : "r" (addr) : "memory");
	return val;
}

static inline __u32 mmio_read32(const void *addr)
{
	__u32 val;

	asm volatile("ldr %w0, [%1]" : "=r" (val) : "r" (addr) : "memory");
	return val;
}

static inline __u64 mmio_read64(const void *addr)
{
	__u64 val;

	asm volatile("ldr %x0, [%1]" : "=r" (val) : "r" (addr) : "memory");
	return val;
}

static inline void mmio_write8(void *addr, __u8 val)
{
	asm volatile("strb %w0, [%1]" : : "r" (val), "r" (addr) : "memory");
}

static inline void mmio_write16(void *addr, __u16 val)
{
	asm volatile("strh %w0, [%1]" : : "r" (val), "r" (addr) : "memory");
}

static inline void mmio_write32(void *addr, __u32 val)
{
	asm volatile("str %w0, [%1]" : : "r" (val), "r" (addr) : "memory");
}

static inline void mmio_write64(void *addr, __u64 val)
{
	asm volatile("str %x0, [%1]" : : "r" (val), "r" (addr) : "memory");
}
#else
static inline __u8 mmio_read8(const void *addr)
{
	return __atomic_load_n((const __u8 *)addr, __ATOMIC_RELAXED);
}

static inline __u16 mmio_read16(const void *addr)
{
	return __atomic_load_n((const __u16 *)addr, __ATOMIC_RELAXED);
}

static inline __u32 mmio_read32(const void *addr)
{
	return __atomic_load_n((const __u32 *)addr, __ATOMIC_RELAXED);
}

static inline __u64 mmio_read64(const void *addr)
{
	return __atomic_load_n((const __u64 *)addr, __ATOMIC_RELAXED);
}

static inline void mmio_write8(void *addr, __u8 val)
{
	__atomic_store_n((__u8 *)addr, val, __ATOMIC_RELAXED);
}

static inline void mmio_write16(void *addr, __u16 val)
{
	__atomic_store_n((__u16 *)addr, val, __ATOMIC_RELAXED);
}

static inline void mmio_write32(void *addr, __u32 val)
{
	__atomic_store_n((__u32 *)addr, val, __ATOMIC_RELAXED);
}

static inline void mmio_write64(void *addr, __u64 val)
{
	__atomic_store_n((__u64 *)addr, val, __ATOMIC_RELAXED);
}
#endif

/* ---- sysfs, config space and BARs (pci_util.c) ---- */

#define DEV_FIND_MAX	32

struct bar_map {
	void *map;		/* what mmap() returned */
	size_t len;		/* its length */
	__u8 *base;		/* the BAR's first byte */
	__u64 size;		/* the BAR's size */
};

int sysfs_write(const char *path, const char *s);
int sysfs_read(const char *path, char *buf, size_t len);
int dev_attr_ulong(const char *bdf, const char *attr, unsigned long *val);
int dev_attr_write(const char *bdf, const char *attr, const char *s);
bool dev_exists(const char *bdf);
bool dev_is_emu(const char *bdf);
bool dev_rescan_until(const char *bdf, unsigned long vendor, unsigned long device, int secs);
void dev_driver(const char *bdf, char *drv, size_t len);
/*
 * Load the test module at @rel, a path relative to the running program's
 * folder: 0 (also if it is loaded already) or -errno.
 */
int test_module_load(const char *rel);
/* Unbind @bdf from its driver and bind it to @drv by driver_override. */
int dev_bind_override(const char *bdf, const char *drv);
/*
 * Both: load the test module at @rel and bind @bdf to its driver @drv.
 * 0, or -errno with what failed in @why.
 */
int test_module_bind(const char *bdf, const char *rel, const char *drv,
		     char *why, size_t len);
/* Unbind @bdf from @drv and clear its driver_override. */
void dev_unbind_override(const char *bdf, const char *drv);
bool dev_find_nth(__u32 vendor, __u32 device, int n, char bdf[EMU_BDF_LEN]);
bool dev_find(__u32 vendor, __u32 device, char bdf[EMU_BDF_LEN]);
int find_emu_devices(char bdfs[][EMU_BDF_LEN], int max);
int bdf_to_busdevfn(const char *bdf);
int dev_cfg_open(const char *bdf);
int cfg_read(int fd, unsigned int off, unsigned int size, __u32 *val);
int cfg_write(int fd, unsigned int off, unsigned int size, __u32 val);
int dev_resource(const char *bdf, int idx, __u64 *start, __u64 *size, __u64 *flags);
int dev_map_bar(const char *bdf, int idx, struct bar_map *m);
void dev_unmap_bar(struct bar_map *m);
long long irq_count(unsigned long irq);
long long irq_count_cpu(unsigned long irq, int cpu);
double now(void);

/*
 * The value of xenstore key @path (relative: under the guest's home),
 * through /dev/xen/xenbus: 0, or -1 (no such key, no xenbus).
 */
int xs_read(const char *path, char *val, size_t len);
/*
 * Ask for the counters of the backend of device number @slot (-1: none,
 * only /dev/xen/pci-ioreq's) under @tag, and wait until they are taken, at
 * most @limit seconds: 0, or -ETIMEDOUT. dom0's console relay answers
 * "@@XENPCI request=backend-stats" (testbed/guest/dom0-init), or forwards
 * it to the driver domain that runs the backend: the backend prints them
 * to its log, and dom0 or the driver domain writes @tag to the guest's
 * data/xenpci-stats.
 */
int backend_counters(const char *tag, int slot, double limit);

#endif /* _XEN_PCI_SELFTEST_PCI_UTIL_H */
