// SPDX-License-Identifier: GPL-2.0
/*
 * The memory resources of PCI functions as sysfs shows them, and which of
 * them share a page.
 */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "pci-resource.h"

/**
 * pci_res_read() - read the BARs and the ROM of a function from sysfs
 * @bdf: the function, as "SSSS:BB:DD.F"
 * @res: filled with its PCI_RES_NR first resources
 *
 * Return: 0, or a negative errno (-EIO for a short file).
 */
int pci_res_read(const char *bdf, struct pci_res res[PCI_RES_NR])
{
	unsigned long long s, e, fl;
	char path[PATH_MAX];
	int i, ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), PCI_RES_SYSFS "/%s/resource", bdf);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	for (i = 0; i < PCI_RES_NR; i++) {
		if (fscanf(f, "%llx %llx %llx", &s, &e, &fl) != 3) {
			ret = -EIO;
			break;
		}
		snprintf(res[i].dev, sizeof(res[i].dev), "%s", bdf);
		res[i].index = i;
		res[i].start = s;
		res[i].end = e;
		res[i].flags = fl;
	}
	fclose(f);
	return ret;
}

/**
 * pci_res_is_mem() - whether a resource is memory with an address
 * @r: the resource
 *
 * Return: true for an assigned memory BAR or ROM.
 */
bool pci_res_is_mem(const struct pci_res *r)
{
	return (r->flags & PCI_RES_MEM) && r->start && r->end > r->start;
}

/**
 * pci_res_all_mem() - every assigned memory resource of every function
 * @res: filled with them, in sysfs directory order
 * @max: room in @res
 *
 * Return: how many were found (at most @max), or a negative errno.
 */
int pci_res_all_mem(struct pci_res *res, int max)
{
	struct dirent *e;
	int n = 0;
	DIR *d;

	d = opendir(PCI_RES_SYSFS);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct pci_res fn[PCI_RES_NR];
		int i;

		if (e->d_name[0] == '.' || pci_res_read(e->d_name, fn))
			continue;
		for (i = 0; i < PCI_RES_NR && n < max; i++)
			if (pci_res_is_mem(&fn[i]))
				res[n++] = fn[i];
	}
	closedir(d);
	return n;
}

/**
 * pci_res_page_sharer() - find a resource that shares a page with a range
 * @bdf: the function that the range belongs to
 * @index: the resource of @bdf that the range is, or -1 to skip every
 *	resource of @bdf (a function's own BARs may then share pages)
 * @start: first address of the range
 * @end: last address of the range
 * @page: the page size
 * @who: filled with the first resource found
 *
 * Looks through the memory resources of every PCI function in sysfs for one
 * that touches a page of [@start, @end]: mapping that page into a guest
 * would give the guest that resource too.
 *
 * Return: 1 when one was found, 0 when none, or a negative errno.
 */
int pci_res_page_sharer(const char *bdf, int index, __u64 start, __u64 end,
			__u64 page, struct pci_res *who)
{
	struct dirent *e;
	int found = 0;
	DIR *d;

	d = opendir(PCI_RES_SYSFS);
	if (!d)
		return -errno;
	while (!found && (e = readdir(d))) {
		struct pci_res res[PCI_RES_NR];
		bool self = !strcmp(e->d_name, bdf);
		int i;

		if (e->d_name[0] == '.' || pci_res_read(e->d_name, res))
			continue;
		for (i = 0; i < PCI_RES_NR && !found; i++) {
			const struct pci_res *r = &res[i];

			if (!pci_res_is_mem(r) || (self && (index < 0 || index == i)))
				continue;
			if (r->start / page > end / page ||
			    start / page > r->end / page)
				continue;
			*who = *r;
			found = 1;
		}
	}
	closedir(d);
	return found;
}
