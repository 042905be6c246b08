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

/*
 * Call @fn on every assigned memory resource of every function, in sysfs
 * directory order, until it returns non-zero. Returns that value, 0, or a
 * negative errno.
 */
static int pci_res_walk(int (*fn)(const struct pci_res *r, void *arg),
			void *arg)
{
	struct dirent *e;
	int ret = 0;
	DIR *d;

	d = opendir(PCI_RES_SYSFS);
	if (!d)
		return -errno;
	while (!ret && (e = readdir(d))) {
		struct pci_res res[PCI_RES_NR];
		int i;

		if (e->d_name[0] == '.' || pci_res_read(e->d_name, res))
			continue;
		for (i = 0; i < PCI_RES_NR && !ret; i++)
			if (pci_res_is_mem(&res[i]))
				ret = fn(&res[i], arg);
	}
	closedir(d);
	return ret;
}

struct pci_res_list {
	struct pci_res *res;
	int n, max;
};

static int list_add(const struct pci_res *r, void *arg)
{
	struct pci_res_list *l = arg;

	if (l->n == l->max)
		return 1;
	l->res[l->n++] = *r;
	return 0;
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
	struct pci_res_list l = { .res = res, .max = max };
	int ret = pci_res_walk(list_add, &l);

	return ret < 0 ? ret : l.n;
}

struct pci_res_range {
	const char *bdf;
	int index;
	__u64 start, end, page;
	struct pci_res *who;
};

static int shares_page(const struct pci_res *r, void *arg)
{
	const struct pci_res_range *q = arg;

	if (!strcmp(r->dev, q->bdf) && (q->index < 0 || q->index == r->index))
		return 0;
	if (r->start / q->page > q->end / q->page ||
	    q->start / q->page > r->end / q->page)
		return 0;
	*q->who = *r;
	return 1;
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
	struct pci_res_range q = {
		.bdf = bdf, .index = index, .start = start, .end = end,
		.page = page, .who = who,
	};

	return pci_res_walk(shares_page, &q);
}
