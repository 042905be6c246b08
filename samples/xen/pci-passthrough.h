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

/*
 * The host device's interrupts (pci-passthrough-irq.c), through VFIO when
 * dom0 binds the device to vfio-pci; none otherwise.
 */
struct pt_irq {
	int container, group, dev;	/* VFIO's fds, -1: no interrupts */
	__u64 region[PCI_STD_NUM_BARS];	/* VFIO's offsets of the BARs */
	bool trapped[PCI_STD_NUM_BARS];	/* routed to us at... */
	__u64 trapped_addr[PCI_STD_NUM_BARS];	/* ...this guest address */

	/* INTx: the host's line, masked by VFIO each time it fires */
	int intx_fd;		/* VFIO's trigger, -1: INTx not forwarded */
	bool intx_on;		/* VFIO signals it (not while MSI is on) */
	/* fired, and the guest has not touched the device since: BARs trap */
	bool pending;
	bool line;		/* the guest's INTx pin as last set */
	bool trapping;

	/* MSI: one vector, the guest's copy of the capability */
	bool msi_wanted;	/* --msi */
	__u8 msi_cap;		/* offset, 0: MSI not forwarded */
	bool msi_64;
	__u16 msi_ctrl;
	__u32 msi_addr_lo, msi_addr_hi;
	__u16 msi_data;
	int msi_fd;		/* VFIO's MSI trigger = the irqfd, -1: none */
	__u64 msi_irqfd_addr;	/* the message of the irqfd, if msi_irqfd */
	__u32 msi_irqfd_data;
	bool msi_irqfd;
	bool msi_host;		/* MSI on in dom0 */
	bool guest_master;	/* the guest's Bus Master (reads as 0) */
	bool host_master;	/* set on the host: msi_host && guest_master */
	__u64 msi_refused_addr;	/* the message last refused, said once */
	__u32 msi_refused_data;

	unsigned long long intx_fired, eois, msi_enables, msi_refused;
	unsigned long long bad_access;	/* trapped accesses that failed */
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
	bool quiet;		/* map and unmap BARs without a word (traps) */

	struct pt_irq irq;
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

/* ---- pci-passthrough.c ---- */

/* Unmap BAR @i from the guest, map it where the guest put it. */
void pt_unmap_bar(struct pt *p, unsigned int i);
void pt_update_bars(struct pt *p);

/* ---- pci-passthrough-irq.c ---- */

/*
 * Forward the interrupts of the host device if dom0 binds it to vfio-pci:
 * its INTx, and with --msi (p->irq.msi_wanted) its MSI. 0, or -1 after
 * saying why not (a device bound to vfio-pci that VFIO will not give us,
 * --msi that cannot be had).
 */
int pt_irq_open(struct pt *p);
void pt_irq_close(struct pt *p);
/* The guest's Interrupt Pin, and Interrupt Status of its Status register. */
__u8 pt_irq_pin(const struct pt *p);
__u16 pt_irq_status(const struct pt *p);
/* Config dword @off of the MSI capability: true if it is one of them. */
bool pt_irq_cfg_read(struct pt *p, unsigned int off, __u32 *val);
bool pt_irq_cfg_write(struct pt *p, unsigned int off, __u32 val, __u32 mask);
/* The guest changed its Command register (Interrupt Disable, Bus Master). */
void pt_irq_command(struct pt *p);
/* While the BARs trap for an interrupt: route BAR @i where the guest has it. */
void pt_irq_route_bar(struct pt *p, unsigned int i);
/* A guest access to BAR @r->bar while it traps; false: not one. */
bool pt_irq_bar_access(struct pt *p, const struct xen_pci_ioreq_request *r,
		       __u64 *data);
/* be->fds[@i] is readable. */
void pt_irq_fd_ready(struct pt *p, unsigned int i);

#endif /* _SAMPLES_XEN_PCI_PASSTHROUGH_H */
