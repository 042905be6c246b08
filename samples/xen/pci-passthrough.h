/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two files of pci-passthrough share: the backend's state (the
 * guest's view of the device and the host device behind it) and the host
 * device's config space and checks (pci-passthrough-host.c), which
 * pci-passthrough.c, the backend, uses.
 */

#ifndef _SAMPLES_XEN_PCI_PASSTHROUGH_H
#define _SAMPLES_XEN_PCI_PASSTHROUGH_H

#include <stdbool.h>

#include <xenctrl.h>

#include "pci-ioreq-lib.h"

#define XEN_PAGE		4096ULL
#define CFG_SIZE		256	/* conventional config space */

struct pt_bar {
	bool present;		/* a memory BAR of the device (low half) */
	bool upper;		/* the upper half of the 64-bit BAR before */
	__u64 host;		/* host physical address */
	__u64 size;
	__u32 flags;		/* low bits of the BAR register */
	__u64 guest;		/* as programmed by the guest */
	bool mapped;
	__u64 mapped_gfn;
	__u64 refused;		/* guest address last refused, to warn once */
};

struct pt {
	struct pci_ioreq_backend be;
	int cfg_fd;
	xc_interface *xch;
	const char *host;	/* SSSS:BB:DD.F */
	bool bm_warned;

	/* the guest's view */
	__u16 command;
	__u8 cache_line, latency, irq_line;
	__u8 cap_first;
	__u8 cap_next[CFG_SIZE];	/* next exposed capability, by offset */
	bool cap_exposed[CFG_SIZE];
	struct pt_bar bar[PCI_STD_NUM_BARS];

	__u16 host_command;	/* the device's Command register at start */
	bool host_command_changed;

	unsigned long long maps, unmaps, refusals, dropped_writes;
};

static inline __u64 bar_pages(const struct pt_bar *b)
{
	return (b->size + XEN_PAGE - 1) / XEN_PAGE;
}

/* ---- pci-passthrough-host.c ---- */

/* Config space of the host device, through its sysfs config file. */
__u32 host_read32(struct pt *p, unsigned int off);
__u16 host_read16(struct pt *p, unsigned int off);
__u8 host_read8(struct pt *p, unsigned int off);
void host_set_command(struct pt *p, __u16 cmd);

/* Whether @s is a device name SSSS:BB:DD.F. */
bool valid_host_name(const char *s);

/*
 * Open the host device p->host and check that it can be passed through
 * safely: its BARs, its capabilities; Bus Master and INTx off on it.
 * Returns 0, or -1 after saying why not.
 */
int probe_host(struct pt *p);

#endif /* _SAMPLES_XEN_PCI_PASSTHROUGH_H */
