// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the BAR placement of the Xen virtual PCIe root complex.
 *
 * The code under test is xen_vpci_page_align_bar() and
 * xen_vpci_page_align_bars(). To check what they are for (every memory BAR
 * page aligned and page-exclusive, true sizes kept, one page of window per
 * sub-page BAR), BARs are placed the way the PCI core places them. The real
 * allocator does the placing: allocate_resource(), which
 * pci_bus_alloc_resource() ends in, on a stand-alone window resource, with the
 * alignment the core derives from the flags the driver set (the core's
 * pcibios_align_resource() is the identity on arm64, as the default alignf
 * is). Three steps of the core are modelled here instead, because they are
 * static to drivers/pci or need a live bus; each model is marked "Model of":
 *
 * - the alignment of a resource: resource_alignment(), not exported;
 * - the order of assignment on one bus: pdev_sort_resources(), by
 *   decreasing alignment;
 * - the size and alignment of a bridge window: pbus_size_mem(), the sum of
 *   max(size, alignment) of what the window holds, aligned to at least 1 MiB.
 *
 * Windows here are exactly as large as the model says they must be, so a
 * BAR that took more than max(size, PAGE_SIZE) would not fit, and a BAR that
 * took less would share a page, which the checker catches.
 */

#include <kunit/test.h>
#include <linux/ioport.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/pci.h>
#include <linux/prandom.h>
#include <linux/sizes.h>
#include <linux/sort.h>

#include "pcie-xen-vpci.h"

#define SIM_NR_BARS	(PCI_ROM_RESOURCE + 1)
#define SIM_MAX_FNS	24
#define SIM_MAX_DEPTH	2
#define SIM_MEM_BASE	((resource_size_t)GUEST_VPCI_MEM_ADDR)
/* Any well-aligned base works; this one keeps 32-bit resource_size_t happy */
#define SIM_PREF_BASE	((resource_size_t)SZ_1G)

enum { SIM_WIN_MEM, SIM_WIN_PREF, SIM_NR_WINS };

struct sim_bus;

/* A function: its BAR resources as pci_read_bases() leaves them. */
struct sim_fn {
	struct resource res[SIM_NR_BARS];
	resource_size_t size[SIM_NR_BARS];	/* true size of each BAR */
	struct sim_bus *sub;			/* secondary bus of a bridge */
	struct resource win[SIM_NR_WINS];	/* windows of a bridge */
};

struct sim_bus {
	struct sim_fn *fn;
	unsigned int nr_fn;
};

/* Every memory BAR below the host bridge, with its true size. */
struct sim_bar {
	struct resource *res;
	resource_size_t size;
};

struct sim_layout {
	struct sim_bar *bar;
	unsigned int nr, max;
	unsigned int failed;	/* resources allocate_resource() refused */
};

/* Model of resource_alignment() (kernel/resource.c, not exported). */
static resource_size_t sim_align(const struct resource *res)
{
	switch (res->flags & (IORESOURCE_SIZEALIGN | IORESOURCE_STARTALIGN)) {
	case IORESOURCE_SIZEALIGN:
		return resource_size(res);
	case IORESOURCE_STARTALIGN:
		return res->start;
	default:
		return 0;
	}
}

/*
 * Model of the window choice of pbus_size_mem() below a host bridge whose
 * prefetchable window is 64-bit: only 64-bit prefetchable BARs go there.
 */
static int sim_win_type(const struct resource *res)
{
	unsigned long pref64 = IORESOURCE_PREFETCH | IORESOURCE_MEM_64;

	return (res->flags & pref64) == pref64 ? SIM_WIN_PREF : SIM_WIN_MEM;
}

static bool sim_is_mem_bar(const struct resource *res)
{
	return resource_type(res) == IORESOURCE_MEM && resource_size(res);
}

/* A memory BAR as __pci_read_base() reads it, firmware address @fw. */
static void sim_mem_bar(struct sim_fn *fn, int i, resource_size_t size,
			unsigned long flags, resource_size_t fw)
{
	struct resource *res = &fn->res[i];

	res->name = "sim";
	res->flags = IORESOURCE_MEM | IORESOURCE_SIZEALIGN | flags;
	if (!fw)
		res->flags |= IORESOURCE_UNSET;
	res->start = fw;
	res->end = fw + size - 1;
	fn->size[i] = size;
}

static void sim_io_bar(struct sim_fn *fn, int i, resource_size_t size)
{
	struct resource *res = &fn->res[i];

	res->name = "sim";
	res->flags = IORESOURCE_IO | IORESOURCE_SIZEALIGN | IORESOURCE_UNSET;
	res->start = 0;
	res->end = size - 1;
}

static void sim_rom(struct sim_fn *fn, resource_size_t size)
{
	sim_mem_bar(fn, PCI_ROM_RESOURCE, size,
		    IORESOURCE_PREFETCH | IORESOURCE_READONLY, 0);
}

/* What a function is entitled to: one page at least per memory BAR. */
static resource_size_t sim_footprint(resource_size_t size)
{
	return max_t(resource_size_t, size, PAGE_SIZE);
}

/* The driver's part: what its bus notifier does to every new function. */
static void sim_realign_bus(struct kunit *test, struct sim_bus *bus)
{
	unsigned long moved, pinned, expect;
	unsigned int f, i;

	for (f = 0; f < bus->nr_fn; f++) {
		struct sim_fn *fn = &bus->fn[f];

		expect = 0;
		for (i = 0; i < SIM_NR_BARS; i++)
			if (fn->size[i] && fn->size[i] < PAGE_SIZE)
				expect |= BIT(i);

		moved = xen_vpci_page_align_bars(fn->res, SIM_NR_BARS, &pinned);
		KUNIT_EXPECT_EQ(test, moved, expect);
		KUNIT_EXPECT_EQ(test, pinned, 0UL);

		if (fn->sub)
			sim_realign_bus(test, fn->sub);
	}
}

static void sim_size_bus(struct kunit *test, struct sim_bus *bus, bool check,
			 resource_size_t need[SIM_NR_WINS],
			 resource_size_t align[SIM_NR_WINS],
			 resource_size_t expect[SIM_NR_WINS]);

/*
 * Model of pbus_size_mem() for the windows of bridge @fn: each window holds
 * what the secondary bus needs, aligned to at least 1 MiB. Adds the windows
 * to what the primary bus needs.
 */
static void sim_size_bridge(struct kunit *test, struct sim_fn *fn, bool check,
			    resource_size_t need[SIM_NR_WINS],
			    resource_size_t align[SIM_NR_WINS],
			    resource_size_t expect[SIM_NR_WINS])
{
	resource_size_t sub_need[SIM_NR_WINS] = { };
	resource_size_t sub_align[SIM_NR_WINS] = { };
	resource_size_t sub_expect[SIM_NR_WINS] = { };
	unsigned int t;

	sim_size_bus(test, fn->sub, check, sub_need, sub_align, sub_expect);

	for (t = 0; t < SIM_NR_WINS; t++) {
		struct resource *win = &fn->win[t];
		resource_size_t a, size;

		/* The window use property, bus by bus */
		if (check)
			KUNIT_EXPECT_EQ(test, sub_need[t], sub_expect[t]);
		if (!sub_need[t])
			continue;

		a = max_t(resource_size_t, sub_align[t], SZ_1M);
		size = ALIGN(sub_need[t], a);
		win->name = "sim bridge window";
		win->flags = IORESOURCE_MEM | IORESOURCE_STARTALIGN;
		if (t == SIM_WIN_PREF)
			win->flags |= IORESOURCE_PREFETCH | IORESOURCE_MEM_64;
		win->start = a;
		win->end = a + size - 1;

		need[t] += size;
		align[t] = max(align[t], a);
		expect[t] += size;
	}
}

/*
 * Model of pbus_size_mem(): size the windows of every bridge below @bus and
 * return in @need what @bus itself needs per window type, in @align the
 * largest alignment. @expect gets the same sum computed from the true sizes
 * instead: max(size, PAGE_SIZE) per BAR.
 */
static void sim_size_bus(struct kunit *test, struct sim_bus *bus, bool check,
			 resource_size_t need[SIM_NR_WINS],
			 resource_size_t align[SIM_NR_WINS],
			 resource_size_t expect[SIM_NR_WINS])
{
	unsigned int f, i, t;

	for (f = 0; f < bus->nr_fn; f++) {
		struct sim_fn *fn = &bus->fn[f];

		for (i = 0; i < SIM_NR_BARS; i++) {
			struct resource *res = &fn->res[i];
			resource_size_t a;

			if (!sim_is_mem_bar(res))
				continue;
			t = sim_win_type(res);
			a = sim_align(res);
			need[t] += max(resource_size(res), a);
			align[t] = max(align[t], a);
			expect[t] += sim_footprint(fn->size[i]);
		}

		if (fn->sub)
			sim_size_bridge(test, fn, check, need, align, expect);
	}
}

static int sim_cmp_align(const void *a, const void *b)
{
	resource_size_t x = sim_align(*(struct resource * const *)a);
	resource_size_t y = sim_align(*(struct resource * const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

static void sim_note(struct sim_layout *lay, struct resource *res,
		     resource_size_t size)
{
	if (lay->nr < lay->max) {
		lay->bar[lay->nr].res = res;
		lay->bar[lay->nr].size = size;
		lay->nr++;
	}
}

/*
 * Assign everything on @bus from @win, then recurse: what
 * __pci_bus_assign_resources() does, with allocate_resource() doing the
 * placing and pdev_sort_resources() modelled by a sort.
 */
static void sim_assign_bus(struct kunit *test, struct sim_bus *bus,
			   struct resource *win[SIM_NR_WINS],
			   struct sim_layout *lay)
{
	struct resource **list;
	unsigned int n = 0, f, i, t;

	list = kunit_kcalloc(test, bus->nr_fn * (SIM_NR_BARS + SIM_NR_WINS),
			     sizeof(*list), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, list);

	for (f = 0; f < bus->nr_fn; f++) {
		struct sim_fn *fn = &bus->fn[f];

		for (i = 0; i < SIM_NR_BARS; i++)
			if (sim_is_mem_bar(&fn->res[i]))
				list[n++] = &fn->res[i];
		if (fn->sub)
			for (t = 0; t < SIM_NR_WINS; t++)
				if (fn->win[t].flags)
					list[n++] = &fn->win[t];
	}

	/* Model of pdev_sort_resources(): largest alignment first */
	sort(list, n, sizeof(*list), sim_cmp_align, NULL);

	for (i = 0; i < n; i++) {
		struct resource *res = list[i];
		struct resource *root = win[sim_win_type(res)];
		int ret;

		if (!root || !root->flags) {
			lay->failed++;
			continue;
		}
		ret = allocate_resource(root, res, resource_size(res),
					root->start, root->end, sim_align(res),
					NULL, NULL);
		if (ret)
			lay->failed++;
	}

	for (f = 0; f < bus->nr_fn; f++) {
		struct sim_fn *fn = &bus->fn[f];

		for (i = 0; i < SIM_NR_BARS; i++)
			if (fn->size[i])
				sim_note(lay, &fn->res[i], fn->size[i]);

		if (fn->sub) {
			struct resource *sub_win[SIM_NR_WINS] = {
				&fn->win[SIM_WIN_MEM], &fn->win[SIM_WIN_PREF],
			};

			sim_assign_bus(test, fn->sub, sub_win, lay);
		}
	}
}

static int sim_cmp_start(const void *a, const void *b)
{
	const struct resource *x = ((const struct sim_bar *)a)->res;
	const struct resource *y = ((const struct sim_bar *)b)->res;

	return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/*
 * Number of violations in @lay: unplaced, misaligned or resized BARs, and
 * pairs of BARs sharing a page.
 */
static unsigned int sim_violations(struct kunit *test, struct sim_layout *lay,
				   bool verbose)
{
	unsigned int i, bad = 0;

	for (i = 0; i < lay->nr; i++) {
		struct resource *res = lay->bar[i].res;

		if (!res->parent || !IS_ALIGNED(res->start, PAGE_SIZE) ||
		    resource_size(res) != lay->bar[i].size) {
			if (verbose)
				kunit_info(test, "bad BAR %pR, true size %#llx\n",
					   res, (unsigned long long)lay->bar[i].size);
			bad++;
		}
	}

	sort(lay->bar, lay->nr, sizeof(*lay->bar), sim_cmp_start, NULL);
	for (i = 1; i < lay->nr; i++) {
		struct resource *prev = lay->bar[i - 1].res;
		struct resource *res = lay->bar[i].res;

		if (!prev->parent || !res->parent)
			continue;
		if ((prev->end >> PAGE_SHIFT) >= (res->start >> PAGE_SHIFT)) {
			if (verbose)
				kunit_info(test, "%pR and %pR share a page\n",
					   prev, res);
			bad++;
		}
	}

	return bad;
}

static unsigned int sim_count_bars(struct sim_bus *bus)
{
	unsigned int f, n = 0;

	for (f = 0; f < bus->nr_fn; f++) {
		n += SIM_NR_BARS;
		if (bus->fn[f].sub)
			n += sim_count_bars(bus->fn[f].sub);
	}

	return n;
}

/*
 * Place every BAR below a host bridge whose windows are exactly as large as
 * needed, less @short_by bytes of the 32-bit window. Returns the layout.
 */
static struct sim_layout *sim_place(struct kunit *test, struct sim_bus *root,
				    bool realign, resource_size_t short_by)
{
	resource_size_t need[SIM_NR_WINS] = { };
	resource_size_t align[SIM_NR_WINS] = { };
	resource_size_t expect[SIM_NR_WINS] = { };
	struct resource *win[SIM_NR_WINS];
	struct sim_layout *lay;
	unsigned int t;

	if (realign)
		sim_realign_bus(test, root);

	sim_size_bus(test, root, realign, need, align, expect);
	if (realign)
		for (t = 0; t < SIM_NR_WINS; t++)
			KUNIT_EXPECT_EQ(test, need[t], expect[t]);

	for (t = 0; t < SIM_NR_WINS; t++) {
		resource_size_t base = t == SIM_WIN_MEM ? SIM_MEM_BASE :
							  SIM_PREF_BASE;

		win[t] = kunit_kzalloc(test, sizeof(*win[t]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, win[t]);
		if (!need[t])
			continue;
		if (t == SIM_WIN_MEM)
			need[t] -= short_by;
		/* The windows are aligned at least as much as anything in them */
		KUNIT_ASSERT_TRUE(test, IS_ALIGNED(base, align[t]));
		win[t]->name = "sim host bridge window";
		win[t]->flags = IORESOURCE_MEM;
		if (t == SIM_WIN_PREF)
			win[t]->flags |= IORESOURCE_PREFETCH | IORESOURCE_MEM_64;
		win[t]->start = base;
		win[t]->end = base + need[t] - 1;
	}

	lay = kunit_kzalloc(test, sizeof(*lay), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, lay);
	lay->max = sim_count_bars(root);
	lay->bar = kunit_kcalloc(test, lay->max, sizeof(*lay->bar), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, lay->bar);

	sim_assign_bus(test, root, win, lay);

	return lay;
}

static struct sim_bus *sim_alloc_bus(struct kunit *test, unsigned int nr_fn)
{
	struct sim_bus *bus;

	bus = kunit_kzalloc(test, sizeof(*bus), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bus);
	bus->fn = kunit_kcalloc(test, nr_fn, sizeof(*bus->fn), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bus->fn);
	bus->nr_fn = nr_fn;

	return bus;
}

static u32 sim_rand(struct rnd_state *rnd, u32 n)
{
	return prandom_u32_state(rnd) % n;
}

/* A random size of 2^lo to 2^hi bytes, uniform in the exponent. */
static resource_size_t sim_rand_size(struct rnd_state *rnd, u32 lo, u32 hi)
{
	return (resource_size_t)1 << (lo + sim_rand(rnd, hi - lo + 1));
}

static void sim_rand_fn(struct rnd_state *rnd, struct sim_fn *fn,
			bool bridge)
{
	unsigned int nr_bars = bridge ? 2 : PCI_STD_NUM_BARS;
	unsigned int i;

	for (i = 0; i < nr_bars; i++) {
		resource_size_t size, fw;
		unsigned long flags;

		switch (sim_rand(rnd, 6)) {
		case 0:		/* unimplemented */
			continue;
		case 1:
			sim_io_bar(fn, i, sim_rand_size(rnd, 2, 8));
			continue;
		case 2:		/* 32-bit, non-prefetchable */
			size = sim_rand_size(rnd, 4, 20);
			flags = 0;
			break;
		case 3:		/* 32-bit, prefetchable */
			size = sim_rand_size(rnd, 4, 20);
			flags = IORESOURCE_PREFETCH;
			break;
		default:	/* 64-bit, uses two BAR registers */
			if (i + 1 == nr_bars)
				continue;
			size = sim_rand_size(rnd, 4, 24);
			flags = IORESOURCE_MEM_64;
			if (sim_rand(rnd, 2))
				flags |= IORESOURCE_PREFETCH;
			break;
		}

		/* Sometimes firmware placed it already, somewhere */
		fw = sim_rand(rnd, 2) ? 0 : ALIGN(SZ_256M + sim_rand(rnd, SZ_1M), size);
		sim_mem_bar(fn, i, size, flags, fw);
		if (flags & IORESOURCE_MEM_64)
			i++;
	}

	if (!sim_rand(rnd, 3))
		sim_rom(fn, sim_rand_size(rnd, 11, 17));
}

static struct sim_bus *sim_rand_bus(struct kunit *test, struct rnd_state *rnd,
				    unsigned int depth)
{
	unsigned int max = depth ? 8 : SIM_MAX_FNS;
	struct sim_bus *bus = sim_alloc_bus(test, 1 + sim_rand(rnd, max));
	unsigned int f;

	for (f = 0; f < bus->nr_fn; f++) {
		struct sim_fn *fn = &bus->fn[f];
		bool bridge = depth < SIM_MAX_DEPTH && !sim_rand(rnd, 5);

		sim_rand_fn(rnd, fn, bridge);
		if (bridge)
			fn->sub = sim_rand_bus(test, rnd, depth + 1);
	}

	return bus;
}

/* --- the placement of one BAR ------------------------------------------ */

static void xen_vpci_test_sub_page_bar_moved(struct kunit *test)
{
	static const unsigned long types[] = {
		0, IORESOURCE_PREFETCH, IORESOURCE_MEM_64,
		IORESOURCE_MEM_64 | IORESOURCE_PREFETCH,
		IORESOURCE_PREFETCH | IORESOURCE_READONLY,	/* ROM */
	};
	resource_size_t size;
	unsigned int t;

	for (t = 0; t < ARRAY_SIZE(types); t++) {
		for (size = 16; size < PAGE_SIZE; size <<= 1) {
			struct sim_fn fn = { };
			struct resource *res = &fn.res[0];

			sim_mem_bar(&fn, 0, size, types[t], 0x10000100);
			KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(res),
					XEN_VPCI_BAR_MOVED);
			KUNIT_EXPECT_EQ(test, resource_size(res), size);
			KUNIT_EXPECT_EQ(test, res->start, (resource_size_t)PAGE_SIZE);
			KUNIT_EXPECT_EQ(test, sim_align(res),
					(resource_size_t)PAGE_SIZE);
			KUNIT_EXPECT_TRUE(test, res->flags & IORESOURCE_STARTALIGN);
			KUNIT_EXPECT_FALSE(test, res->flags & IORESOURCE_SIZEALIGN);
			KUNIT_EXPECT_TRUE(test, res->flags & IORESOURCE_UNSET);
			/* Type bits untouched */
			KUNIT_EXPECT_EQ(test, res->flags &
					(IORESOURCE_TYPE_BITS | IORESOURCE_PREFETCH |
					 IORESOURCE_MEM_64 | IORESOURCE_READONLY),
					IORESOURCE_MEM | types[t]);
		}
	}
}

static void xen_vpci_test_large_bar_kept(struct kunit *test)
{
	resource_size_t size;

	for (size = PAGE_SIZE; size <= SZ_256M; size <<= 1) {
		struct sim_fn fn = { };
		struct resource before;

		sim_mem_bar(&fn, 0, size, IORESOURCE_MEM_64, 0);
		before = fn.res[0];
		KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(&fn.res[0]),
				XEN_VPCI_BAR_OK);
		KUNIT_EXPECT_MEMEQ(test, &fn.res[0], &before, sizeof(before));
	}
}

static void xen_vpci_test_ignored(struct kunit *test)
{
	struct sim_fn fn = { };
	struct resource before;
	unsigned int i;

	/* 0: unimplemented, 1: I/O, 2: empty memory resource */
	sim_io_bar(&fn, 1, 256);
	fn.res[2].flags = IORESOURCE_MEM;
	fn.res[2].start = 0;
	fn.res[2].end = -1;

	for (i = 0; i < 3; i++) {
		before = fn.res[i];
		KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(&fn.res[i]),
				XEN_VPCI_BAR_IGNORED);
		KUNIT_EXPECT_MEMEQ(test, &fn.res[i], &before, sizeof(before));
	}
}

static void xen_vpci_test_idempotent(struct kunit *test)
{
	struct sim_fn fn = { };
	struct resource once;

	sim_mem_bar(&fn, 0, 128, 0, 0);
	KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(&fn.res[0]),
			XEN_VPCI_BAR_MOVED);
	once = fn.res[0];
	KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(&fn.res[0]),
			XEN_VPCI_BAR_OK);
	KUNIT_EXPECT_MEMEQ(test, &fn.res[0], &once, sizeof(once));
}

/* A large BAR that lost its natural alignment gets it back. */
static void xen_vpci_test_large_bar_realigned(struct kunit *test)
{
	struct sim_fn fn = { };
	struct resource *res = &fn.res[0];

	sim_mem_bar(&fn, 0, SZ_64K, 0, 0);
	res->flags &= ~IORESOURCE_SIZEALIGN;
	res->flags |= IORESOURCE_STARTALIGN;
	res->start = 16;
	res->end = res->start + SZ_64K - 1;

	KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(res), XEN_VPCI_BAR_MOVED);
	KUNIT_EXPECT_EQ(test, resource_size(res), (resource_size_t)SZ_64K);
	KUNIT_EXPECT_EQ(test, sim_align(res), (resource_size_t)SZ_64K);
}

static void xen_vpci_test_fixed_and_placed(struct kunit *test)
{
	struct resource win = DEFINE_RES_MEM(SIM_MEM_BASE, SZ_1M);
	struct sim_fn fn = { };
	struct resource before;

	/* Fixed on a page boundary: stays, and is page-exclusive */
	sim_mem_bar(&fn, 0, 256, 0, SIM_MEM_BASE);
	fn.res[0].flags |= IORESOURCE_PCI_FIXED;
	before = fn.res[0];
	KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(&fn.res[0]),
			XEN_VPCI_BAR_OK);
	KUNIT_EXPECT_MEMEQ(test, &fn.res[0], &before, sizeof(before));

	/* Fixed inside a page: stays, reported */
	sim_mem_bar(&fn, 1, 256, 0, SIM_MEM_BASE + 0x100);
	fn.res[1].flags |= IORESOURCE_PCI_FIXED;
	before = fn.res[1];
	KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(&fn.res[1]),
			XEN_VPCI_BAR_PINNED);
	KUNIT_EXPECT_MEMEQ(test, &fn.res[1], &before, sizeof(before));

	/* A ROM shadowed in RAM, as x86 does for the boot VGA device */
	sim_mem_bar(&fn, PCI_ROM_RESOURCE, SZ_128K, 0, 0xc0000);
	fn.res[PCI_ROM_RESOURCE].flags = IORESOURCE_MEM | IORESOURCE_PCI_FIXED |
					 IORESOURCE_ROM_SHADOW;
	before = fn.res[PCI_ROM_RESOURCE];
	KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(&fn.res[PCI_ROM_RESOURCE]),
			XEN_VPCI_BAR_OK);
	KUNIT_EXPECT_MEMEQ(test, &fn.res[PCI_ROM_RESOURCE], &before,
			   sizeof(before));

	/* Already in the resource tree (a VF BAR): never touched */
	sim_mem_bar(&fn, 2, 256, 0, SIM_MEM_BASE + PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, request_resource(&win, &fn.res[2]), 0);
	KUNIT_EXPECT_EQ(test, xen_vpci_page_align_bar(&fn.res[2]),
			XEN_VPCI_BAR_OK);
	KUNIT_EXPECT_EQ(test, fn.res[2].start, SIM_MEM_BASE + PAGE_SIZE);
	KUNIT_EXPECT_PTR_EQ(test, fn.res[2].parent, &win);
	release_resource(&fn.res[2]);
}

/* --- the BARs of one function ------------------------------------------ */

static void xen_vpci_test_function_mask(struct kunit *test)
{
	unsigned long moved, pinned;
	struct sim_fn fn = { };

	/* Like QEMU's rtl8139: I/O 256 B, MMIO 256 B, ROM 256 KiB */
	sim_io_bar(&fn, 0, 256);
	sim_mem_bar(&fn, 1, 256, 0, 0);
	sim_rom(&fn, SZ_256K);
	/* And a sub-page 64-bit prefetchable BAR, a fixed odd one */
	sim_mem_bar(&fn, 2, 64, IORESOURCE_MEM_64 | IORESOURCE_PREFETCH, 0);
	sim_mem_bar(&fn, 4, 32, 0, SIM_MEM_BASE + 0x20);
	fn.res[4].flags |= IORESOURCE_PCI_FIXED;
	sim_mem_bar(&fn, 5, SZ_64K, 0, 0);

	moved = xen_vpci_page_align_bars(fn.res, SIM_NR_BARS, &pinned);
	KUNIT_EXPECT_EQ(test, moved, BIT(1) | BIT(2));
	KUNIT_EXPECT_EQ(test, pinned, BIT(4));

	/* A sub-page ROM is moved as well */
	sim_rom(&fn, SZ_2K);
	moved = xen_vpci_page_align_bars(fn.res, SIM_NR_BARS, &pinned);
	KUNIT_EXPECT_EQ(test, moved, BIT(PCI_ROM_RESOURCE));
}

/* --- whole hierarchies -------------------------------------------------- */

static void sim_expect_clean(struct kunit *test, struct sim_layout *lay)
{
	KUNIT_EXPECT_EQ(test, lay->failed, 0U);
	KUNIT_EXPECT_EQ(test, sim_violations(test, lay, true), 0U);
}

/* Every BAR size from 16 B to 16 MiB, of every kind, one function each. */
static void xen_vpci_test_every_size(struct kunit *test)
{
	static const unsigned long types[] = {
		0, IORESOURCE_PREFETCH, IORESOURCE_MEM_64,
		IORESOURCE_MEM_64 | IORESOURCE_PREFETCH,
	};
	const unsigned int nr_sizes = 21;	/* 2^4 .. 2^24 */
	struct sim_bus *bus;
	unsigned int s, t, f = 0;

	bus = sim_alloc_bus(test, nr_sizes * ARRAY_SIZE(types));
	for (s = 0; s < nr_sizes; s++) {
		for (t = 0; t < ARRAY_SIZE(types); t++, f++) {
			struct sim_fn *fn = &bus->fn[f];

			sim_mem_bar(fn, 0, (resource_size_t)16 << s, types[t], 0);
			if (s >= 7 && s <= 13)	/* ROMs of 2 KiB to 128 KiB */
				sim_rom(fn, (resource_size_t)16 << s);
		}
	}

	sim_expect_clean(test, sim_place(test, bus, true, 0));
}

/* QEMU devices whose small BARs share a page otherwise. */
static struct sim_bus *sim_qemu_bus(struct kunit *test)
{
	struct sim_bus *bus = sim_alloc_bus(test, 5);
	struct sim_bus *sub = sim_alloc_bus(test, 2);
	unsigned int f;

	for (f = 0; f < 2; f++) {	/* rtl8139 */
		sim_io_bar(&bus->fn[f], 0, 256);
		sim_mem_bar(&bus->fn[f], 1, 256, 0, 0);
		sim_rom(&bus->fn[f], SZ_256K);
	}
	/* ivshmem-plain: 256 B registers, 64-bit prefetchable shared memory */
	sim_mem_bar(&bus->fn[2], 0, 256, 0, 0);
	sim_mem_bar(&bus->fn[2], 2, SZ_4M,
		    IORESOURCE_MEM_64 | IORESOURCE_PREFETCH, 0);
	/* pci-bridge with a 256 B BAR, an rtl8139 and a pci-testdev behind */
	sim_mem_bar(&bus->fn[3], 0, 256, IORESOURCE_MEM_64, 0);
	bus->fn[3].sub = sub;
	sim_io_bar(&sub->fn[0], 0, 256);
	sim_mem_bar(&sub->fn[0], 1, 256, 0, 0);
	sim_mem_bar(&sub->fn[1], 0, SZ_4K, 0, 0);
	sim_io_bar(&sub->fn[1], 1, 256);
	/* pci-testdev on the root bus */
	sim_mem_bar(&bus->fn[4], 0, SZ_4K, 0, 0);

	return bus;
}

/* The seed case */
static void xen_vpci_test_qemu_devices(struct kunit *test)
{
	sim_expect_clean(test, sim_place(test, sim_qemu_bus(test), true, 0));
}

/* The checker is not vacuous: without the driver, small BARs share pages. */
static void xen_vpci_test_checker_catches_sharing(struct kunit *test)
{
	struct sim_bus *bus = sim_alloc_bus(test, 2);
	struct sim_layout *lay;

	sim_mem_bar(&bus->fn[0], 1, 256, 0, 0);
	sim_mem_bar(&bus->fn[1], 1, 256, 0, 0);

	lay = sim_place(test, bus, false, 0);
	KUNIT_EXPECT_EQ(test, lay->failed, 0U);
	KUNIT_EXPECT_GT(test, sim_violations(test, lay, false), 0U);
}

/* A BAR that does not fit fails alone; the others keep their pages. */
static void xen_vpci_test_window_too_small(struct kunit *test)
{
	struct sim_bus *bus = sim_alloc_bus(test, 3);
	struct sim_layout *lay;
	unsigned int f;

	for (f = 0; f < bus->nr_fn; f++)
		sim_mem_bar(&bus->fn[f], 0, 128, 0, 0);
	sim_mem_bar(&bus->fn[0], 1, SZ_64K, 0, 0);

	lay = sim_place(test, bus, true, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, lay->failed, 1U);
	/* The one unplaced BAR is the only violation */
	KUNIT_EXPECT_EQ(test, sim_violations(test, lay, false), 1U);
}

static void xen_vpci_test_random_mixes(struct kunit *test)
{
	unsigned int seed;

	for (seed = 1; seed <= 200; seed++) {
		struct rnd_state rnd;
		struct sim_layout *lay;
		struct sim_bus *bus;

		prandom_seed_state(&rnd, seed);
		bus = sim_rand_bus(test, &rnd, 0);
		lay = sim_place(test, bus, true, 0);

		KUNIT_EXPECT_EQ_MSG(test, lay->failed, 0U, "seed %u", seed);
		KUNIT_EXPECT_EQ_MSG(test, sim_violations(test, lay, true), 0U,
				    "seed %u", seed);
	}
}

/* --- release and reassignment ------------------------------------------ */

/*
 * Model of what the PCI core does to the BARs and bridge windows below a
 * window it releases to size it again (pci_assign_unassigned_bridge_resources()
 * when something added below a bridge does not fit): pci_assign_resource()
 * dropped IORESOURCE_STARTALIGN when it placed a BAR; release_child_resources()
 * takes each BAR out of its window and sets its start to 0, keeping its size
 * and flags. With @restore, pci_realign_released_bar() then gives each BAR
 * that has neither IORESOURCE_SIZEALIGN nor IORESOURCE_STARTALIGN left its
 * start alignment back: a page, as pcibios_default_alignment() is 0 in a domU.
 * Returns the number of memory BARs left with no alignment at all, which the
 * next pbus_size_mem() disables.
 */
static unsigned int sim_release_bus(struct kunit *test, struct sim_bus *bus,
				    bool restore)
{
	unsigned int f, i, t, bad = 0;

	for (f = 0; f < bus->nr_fn; f++) {
		struct sim_fn *fn = &bus->fn[f];

		if (fn->sub)
			bad += sim_release_bus(test, fn->sub, restore);

		for (i = 0; i < SIM_NR_BARS; i++) {
			struct resource *res = &fn->res[i];
			resource_size_t size = resource_size(res);

			if (!res->parent)
				continue;
			KUNIT_ASSERT_EQ(test, release_resource(res), 0);
			res->flags &= ~IORESOURCE_STARTALIGN;
			res->flags |= IORESOURCE_UNSET;
			res->start = 0;
			res->end = size - 1;

			if (restore && !(res->flags & (IORESOURCE_SIZEALIGN |
							IORESOURCE_STARTALIGN))) {
				if (size < PAGE_SIZE) {
					res->flags |= IORESOURCE_STARTALIGN;
					res->start = PAGE_SIZE;
				} else {
					res->flags |= IORESOURCE_SIZEALIGN;
				}
				res->end = res->start + size - 1;
			}
			if (!sim_align(res))
				bad++;
		}

		for (t = 0; t < SIM_NR_WINS; t++)
			if (fn->win[t].parent)
				KUNIT_ASSERT_EQ(test, release_resource(&fn->win[t]), 0);
	}

	return bad;
}

/* Without the alignment given back, every sub-page BAR would be disabled. */
static void xen_vpci_test_release_loses_alignment(struct kunit *test)
{
	struct sim_bus *bus = sim_qemu_bus(test);

	sim_expect_clean(test, sim_place(test, bus, true, 0));
	/*
	 * ivshmem's registers, two rtl8139s, the bridge's BAR, one behind it;
	 * with pages over 4 KiB, the two pci-testdevs' 4 KiB BARs too.
	 */
	KUNIT_EXPECT_EQ(test, sim_release_bus(test, bus, false),
			PAGE_SHIFT > 12 ? 7U : 5U);
}

/* With it, the BARs are placed again on pages of their own, twice. */
static void xen_vpci_test_release_and_reassign(struct kunit *test)
{
	unsigned int seed, round;

	for (seed = 0; seed <= 50; seed++) {
		struct rnd_state rnd;
		struct sim_bus *bus;

		prandom_seed_state(&rnd, seed);
		bus = seed ? sim_rand_bus(test, &rnd, 0) : sim_qemu_bus(test);
		sim_expect_clean(test, sim_place(test, bus, true, 0));

		for (round = 1; round <= 2; round++) {
			struct sim_layout *lay;

			KUNIT_EXPECT_EQ_MSG(test, sim_release_bus(test, bus, true),
					    0U, "seed %u round %u", seed, round);
			lay = sim_place(test, bus, false, 0);
			KUNIT_EXPECT_EQ_MSG(test, lay->failed, 0U,
					    "seed %u round %u", seed, round);
			KUNIT_EXPECT_EQ_MSG(test, sim_violations(test, lay, true),
					    0U, "seed %u round %u", seed, round);
		}
	}
}

static struct kunit_case xen_vpci_test_cases[] = {
	KUNIT_CASE(xen_vpci_test_sub_page_bar_moved),
	KUNIT_CASE(xen_vpci_test_large_bar_kept),
	KUNIT_CASE(xen_vpci_test_ignored),
	KUNIT_CASE(xen_vpci_test_idempotent),
	KUNIT_CASE(xen_vpci_test_large_bar_realigned),
	KUNIT_CASE(xen_vpci_test_fixed_and_placed),
	KUNIT_CASE(xen_vpci_test_function_mask),
	KUNIT_CASE(xen_vpci_test_every_size),
	KUNIT_CASE(xen_vpci_test_qemu_devices),
	KUNIT_CASE(xen_vpci_test_checker_catches_sharing),
	KUNIT_CASE(xen_vpci_test_window_too_small),
	KUNIT_CASE(xen_vpci_test_random_mixes),
	KUNIT_CASE(xen_vpci_test_release_loses_alignment),
	KUNIT_CASE(xen_vpci_test_release_and_reassign),
	{ }
};

static struct kunit_suite xen_vpci_test_suite = {
	.name = "pcie-xen-vpci",
	.test_cases = xen_vpci_test_cases,
};

kunit_test_suite(xen_vpci_test_suite);

MODULE_DESCRIPTION("KUnit tests for the Xen virtual PCIe root complex driver");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
