/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memory resources of PCI functions as sysfs shows them, and the rule
 * that lets a BAR be mapped into a Xen guest: no page of it holds anything
 * of another BAR. Shared by samples/xen/pci-passthrough and the xen-pci
 * selftests.
 */

#ifndef _SAMPLES_XEN_PCI_RESOURCE_H
#define _SAMPLES_XEN_PCI_RESOURCE_H

#include <stdbool.h>

#include <linux/types.h>

#define PCI_RES_SYSFS		"/sys/bus/pci/devices"
#define PCI_RES_NR		7	/* BARs 0-5, then the ROM */
#define PCI_RES_ROM		6
#define PCI_RES_MEM		0x200ULL	/* IORESOURCE_MEM */
#define PCI_RES_MEM_64		0x100000ULL	/* IORESOURCE_MEM_64 */
#define PCI_RES_DEV_LEN		16	/* "0000:00:00.0" and its NUL */

/**
 * struct pci_res - one line of a function's sysfs "resource" file
 * @dev: the function, as "SSSS:BB:DD.F"
 * @index: 0-5 for a BAR, PCI_RES_ROM for the expansion ROM
 * @start: first address
 * @end: last address
 * @flags: the IORESOURCE_* flags
 */
struct pci_res {
	char dev[PCI_RES_DEV_LEN];
	int index;
	__u64 start;
	__u64 end;
	__u64 flags;
};

int pci_res_read(const char *bdf, struct pci_res res[PCI_RES_NR]);
bool pci_res_is_mem(const struct pci_res *r);
int pci_res_all_mem(struct pci_res *res, int max);
int pci_res_page_sharer(const char *bdf, int index, __u64 start, __u64 end,
			__u64 page, struct pci_res *who);

#endif /* _SAMPLES_XEN_PCI_RESOURCE_H */
