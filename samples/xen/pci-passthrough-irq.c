// SPDX-License-Identifier: GPL-2.0
/*
 * The interrupts of a passed-through device (pci-passthrough.h), taken from
 * the host device through VFIO and raised in the guest through
 * /dev/xen/pci-ioreq.
 *
 * dom0 binds the device to vfio-pci (without an IOMMU for it, as on Xen
 * 4.20 for Arm, in VFIO's no-IOMMU mode: enable_unsafe_noiommu_mode=1).
 * The device is then the backend's alone; its config space and BARs are
 * still handled as pci-passthrough.c says, VFIO gives its interrupts as
 * eventfds:
 *
 * - INTx, as QEMU's VFIO forwards it without KVM: VFIO masks the host line
 *   each time it fires (PCI 2.3 Interrupt Disable where the device has it)
 *   and signals an eventfd. The backend asserts the guest's pin and takes
 *   the device's BARs out of the guest's memory map: the guest's next
 *   access to the device, which is its interrupt handler servicing it,
 *   comes to the backend, which forwards it to the device and then
 *   deasserts the pin, maps the BARs again and unmasks the host line. If
 *   the device still wants service, the line fires again at once. Nothing
 *   is lost; the cost is a guest interrupt that may find nothing to do
 *   when the handler's first access is a read of a status that the
 *   handler's next access clears. The guest's Interrupt Disable holds the
 *   pin low, its Interrupt Status shows a pending interrupt.
 *
 * - MSI, with --msi: the guest sees the device's MSI capability, one
 *   vector, emulated here (Enable, its message; Multiple Message Enable
 *   stays 0, so one vector). While the guest enables it, the device's own
 *   MSI is on in dom0 with VFIO, and VFIO's eventfd for it is an MSI irqfd
 *   of /dev/xen/pci-ioreq with the guest's message: dom0's kernel raises
 *   the guest's SPI from the host interrupt itself, without the backend.
 *   A message that dom0 refuses (not the root complex's doorbell, a
 *   vector out of its range) is counted and delivers nothing. To send an
 *   MSI the device needs Bus Master, which is set on the host while MSI is
 *   enabled: without an IOMMU, that lets the device's DMA reach all of the
 *   host's memory, which is why --msi is asked for by name, for devices
 *   whose DMA the guest cannot aim (QEMU's edu) or guests that are trusted
 *   with the host.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "pci-passthrough.h"
#include "pci-resource.h"

#define VFIO_DEV	"/dev/vfio"

/* ---- VFIO ---- */

static int set_irqs(struct pt *p, unsigned int index, unsigned int action,
		    int fd)
{
	struct {
		struct vfio_irq_set s;
		__s32 fd;
	} a = {
		.s.argsz = sizeof(a.s),
		.s.flags = action | VFIO_IRQ_SET_DATA_NONE,
		.s.index = index,
		.s.count = 1,
	};

	if (fd >= 0) {
		a.s.argsz = sizeof(a);
		a.s.flags = action | VFIO_IRQ_SET_DATA_EVENTFD;
		a.fd = fd;
	} else if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
		a.s.count = 0;		/* no eventfd: off */
	}
	if (!ioctl(p->irq.dev, VFIO_DEVICE_SET_IRQS, &a))
		return 0;
	say("%s: VFIO_DEVICE_SET_IRQS (%s %s): %s\n", p->host,
	    index == VFIO_PCI_INTX_IRQ_INDEX ? "INTx" : "MSI",
	    action == VFIO_IRQ_SET_ACTION_UNMASK ? "unmask" :
	    fd >= 0 ? "on" : "off", strerror(errno));
	return -1;
}

static unsigned int irq_count(struct pt *p, unsigned int index)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };

	return ioctl(p->irq.dev, VFIO_DEVICE_GET_IRQ_INFO, &info) ? 0 :
	       info.count;
}

/* Whether dom0 drives the host device with vfio-pci. */
static bool bound_to_vfio(const struct pt *p)
{
	char path[PATH_MAX], drv[PATH_MAX];
	ssize_t len;

	snprintf(path, sizeof(path), PCI_RES_SYSFS "/%s/driver", p->host);
	len = readlink(path, drv, sizeof(drv) - 1);
	if (len <= 0)
		return false;
	drv[len] = 0;
	return !strcmp(strrchr(drv, '/') + 1, "vfio-pci");
}

/* The device's fd, through its IOMMU group (or VFIO's no-IOMMU group). */
static int vfio_open(struct pt *p)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[PATH_MAX], link[PATH_MAX];
	const char *grp;
	bool noiommu = false;
	ssize_t len;

	snprintf(path, sizeof(path), PCI_RES_SYSFS "/%s/iommu_group", p->host);
	len = readlink(path, link, sizeof(link) - 1);
	if (len <= 0) {
		say("%s: %s: %s\n", p->host, path, strerror(errno));
		return -1;
	}
	link[len] = 0;
	grp = strrchr(link, '/') + 1;
	p->irq.container = open(VFIO_DEV "/vfio", O_RDWR | O_CLOEXEC);
	if (p->irq.container < 0) {
		say(VFIO_DEV "/vfio: %s\n", strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), VFIO_DEV "/%s", grp);
	p->irq.group = open(path, O_RDWR | O_CLOEXEC);
	if (p->irq.group < 0 && errno == ENOENT) {
		noiommu = true;
		snprintf(path, sizeof(path), VFIO_DEV "/noiommu-%s", grp);
		p->irq.group = open(path, O_RDWR | O_CLOEXEC);
	}
	if (p->irq.group < 0) {
		say("%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (ioctl(p->irq.group, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		say("%s: IOMMU group %s is not viable (a device of it is not bound to vfio-pci)\n",
		    p->host, grp);
		return -1;
	}
	if (ioctl(p->irq.group, VFIO_GROUP_SET_CONTAINER, &p->irq.container) ||
	    ioctl(p->irq.container, VFIO_SET_IOMMU,
		  noiommu ? VFIO_NOIOMMU_IOMMU : VFIO_TYPE1v2_IOMMU)) {
		say("%s: VFIO container: %s\n", path, strerror(errno));
		return -1;
	}
	p->irq.dev = ioctl(p->irq.group, VFIO_GROUP_GET_DEVICE_FD, p->host);
	if (p->irq.dev < 0) {
		say("%s: VFIO_GROUP_GET_DEVICE_FD: %s\n", p->host,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- INTx ---- */

/* Set the guest's pin to what the host line and the guest's Command say. */
static void sync_line(struct pt *p)
{
	bool want = p->irq.pending &&
		    !(p->command & PCI_COMMAND_INTX_DISABLE);

	if (want != p->irq.line && !pci_ioreq_set_intx(&p->be, want))
		p->irq.line = want;
}

/* Route BAR @i to us at @addr (@on), or stop routing it. */
static void route(struct pt *p, unsigned int i, bool on, __u64 addr)
{
	struct pci_ioreq_transport *t = p->be.t;
	struct xen_pci_ioreq_mmio m = {
		.fn = p->be.fn,
		.bar = i,
		.addr = on ? addr : p->irq.trapped_addr[i],
		.size = bar_pages(&p->bar[i]) * XEN_PAGE,
	};

	if (on && !t->ops->add_mmio(t, &m)) {
		p->irq.trapped[i] = true;
		p->irq.trapped_addr[i] = addr;
	} else if (!on && p->irq.trapped[i]) {
		p->irq.trapped[i] = false;
		if (!p->be.gone)
			t->ops->remove_mmio(t, &m);
	}
}

/*
 * While the BARs trap: BAR @i is routed to us wherever the guest decodes
 * it, and mapped nowhere. The route comes before the BAR is unmapped: an
 * access in between (another vCPU of the guest) comes to us rather than
 * to the kernel, which would drop it as it does for a BAR nobody serves.
 * pci-passthrough.c calls it for a BAR the guest moves or turns off.
 */
void pt_irq_route_bar(struct pt *p, unsigned int i)
{
	struct pt_bar *b = &p->bar[i];
	bool want = b->present && (p->command & PCI_COMMAND_MEMORY) &&
		    b->guest && !(b->guest % XEN_PAGE);

	if (p->irq.trapped[i] && (!want || p->irq.trapped_addr[i] != b->guest))
		route(p, i, false, 0);
	if (want && !p->irq.trapped[i])
		route(p, i, true, b->guest);
	p->quiet = true;
	pt_unmap_bar(p, i);
	p->quiet = false;
}

/*
 * Take the BARs out of the guest's memory map and route them to us (@on),
 * or map them again and then unroute them (no gap either way).
 */
static void trap(struct pt *p, bool on)
{
	unsigned int i;

	if (on == p->irq.trapping)
		return;
	p->irq.trapping = on;
	if (!on) {
		p->quiet = true;
		pt_update_bars(p);
		p->quiet = false;
	}
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (on)
			pt_irq_route_bar(p, i);
		else
			route(p, i, false, 0);
	}
}

/* The guest touched the device while its interrupt was pending. */
static void eoi(struct pt *p)
{
	if (!p->irq.pending)
		return;
	p->irq.pending = false;
	p->irq.eois++;
	sync_line(p);
	trap(p, false);
	set_irqs(p, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, -1);
}

/* Empty eventfd @fd of signals that no longer mean anything. */
static void drain(int fd)
{
	__u64 n;

	if (fd >= 0 && read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		say("eventfd: %s\n", strerror(errno));
}

static void intx_forward(struct pt *p, bool on)
{
	if (p->irq.intx_fd < 0 || on == p->irq.intx_on)
		return;
	if (!on) {
		p->irq.pending = false;
		sync_line(p);
		trap(p, false);
	}
	if (set_irqs(p, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
		     on ? p->irq.intx_fd : -1))
		return;
	p->irq.intx_on = on;
	if (!on)
		drain(p->irq.intx_fd);
}

bool pt_irq_bar_access(struct pt *p, const struct xen_pci_ioreq_request *r,
		       __u64 *data)
{
	const struct pt_bar *b;
	__u64 off, v = 0;
	bool ok = false;

	*data = 0;
	if (r->bar >= PCI_STD_NUM_BARS || p->irq.dev < 0 ||
	    !pci_ioreq_valid_size(r->size))
		return false;
	b = &p->bar[r->bar];
	off = r->addr - b->guest;
	/* Only where the guest has the BAR now; elsewhere a master abort. */
	if (b->present && (p->command & PCI_COMMAND_MEMORY) &&
	    r->addr >= b->guest && off < b->size && r->size <= b->size - off &&
	    !(off & (r->size - 1))) {
		off += p->irq.region[r->bar];
		if (r->dir == XEN_PCI_IOREQ_DIR_READ) {
			ok = pread(p->irq.dev, &v, r->size, off) == r->size;
			*data = ok ? v : pci_ioreq_size_mask(r->size);
		} else {
			v = r->data;
			ok = pwrite(p->irq.dev, &v, r->size, off) == r->size;
		}
		if (r->dir == XEN_PCI_IOREQ_DIR_READ)
			p->be.st.mmio_reads++;
		else
			p->be.st.mmio_writes++;
	} else if (r->dir == XEN_PCI_IOREQ_DIR_READ) {
		*data = pci_ioreq_size_mask(r->size);
	}
	if (!ok)
		p->irq.bad_access++;
	eoi(p);
	return true;
}

void pt_irq_fd_ready(struct pt *p, unsigned int i)
{
	__u64 n;

	if (p->irq.intx_fd < 0 || p->be.fds[i] != p->irq.intx_fd ||
	    read(p->irq.intx_fd, &n, sizeof(n)) != sizeof(n) ||
	    !p->irq.intx_on)
		return;
	p->irq.intx_fired++;
	p->irq.pending = true;
	trap(p, true);
	sync_line(p);
}

/* Bus Master on the host: while the guest has MSI on and Bus Master set. */
static void sync_master(struct pt *p)
{
	bool want = p->irq.msi_host && p->irq.guest_master;

	if (want == p->irq.host_master)
		return;
	host_set_command(p, want ?
			 host_read16(p, PCI_COMMAND) | PCI_COMMAND_MASTER :
			 host_read16(p, PCI_COMMAND) & ~PCI_COMMAND_MASTER);
	p->irq.host_master = want;
}

void pt_irq_command(struct pt *p)
{
	if (p->irq.intx_fd >= 0)
		sync_line(p);
	sync_master(p);
}

__u8 pt_irq_pin(const struct pt *p)
{
	return p->irq.intx_fd >= 0 ? p->be.hdr.pin : 0;
}

__u16 pt_irq_status(const struct pt *p)
{
	return p->irq.pending ? PCI_STATUS_INTERRUPT : 0;
}

/* ---- MSI ---- */

static __u64 msi_address(const struct pt *p)
{
	return (__u64)(p->irq.msi_64 ? p->irq.msi_addr_hi : 0) << 32 |
	       p->irq.msi_addr_lo;
}

static int msi_irqfd(struct pt *p, bool add, __u64 addr, __u32 data)
{
	struct xen_pci_ioreq_irqfd a = {
		.fn = p->be.fn,
		.fd = p->irq.msi_fd,
		.flags = XEN_PCI_IOREQ_IRQFD_MSI |
			 (add ? 0 : XEN_PCI_IOREQ_IRQFD_DEASSIGN),
		.msi_data = add ? data : 0,
		.msi_address = add ? addr : 0,
	};

	return ioctl(p->be.t->fd, XEN_PCI_IOREQ_IRQFD, &a);
}

static void msi_irqfd_off(struct pt *p)
{
	if (!p->irq.msi_irqfd)
		return;
	if (msi_irqfd(p, false, 0, 0) && errno != ENODEV)
		say("XEN_PCI_IOREQ_IRQFD (remove MSI): %s\n", strerror(errno));
	p->irq.msi_irqfd = false;
}

/* Bring the host's MSI and the irqfd in line with the guest's capability. */
static void msi_sync(struct pt *p)
{
	struct pt_irq *q = &p->irq;
	bool want = q->msi_ctrl & PCI_MSI_FLAGS_ENABLE;
	__u64 addr = msi_address(p);
	__u32 data = q->msi_data;

	if (want && !q->msi_host) {
		intx_forward(p, false);
		if (set_irqs(p, VFIO_PCI_MSI_IRQ_INDEX,
			     VFIO_IRQ_SET_ACTION_TRIGGER, q->msi_fd)) {
			/* The guest reads MSI Enable clear, and keeps INTx. */
			q->msi_ctrl &= ~PCI_MSI_FLAGS_ENABLE;
			intx_forward(p, true);
			return;
		}
		q->msi_host = true;
		q->msi_enables++;
		sync_master(p);
	} else if (!want && q->msi_host) {
		msi_irqfd_off(p);
		set_irqs(p, VFIO_PCI_MSI_IRQ_INDEX,
			 VFIO_IRQ_SET_ACTION_TRIGGER, -1);
		q->msi_host = false;
		sync_master(p);
		drain(q->msi_fd);
		intx_forward(p, true);
		return;
	}
	if (!want || (q->msi_irqfd && q->msi_irqfd_addr == addr &&
		      q->msi_irqfd_data == data))
		return;
	msi_irqfd_off(p);
	if (msi_irqfd(p, true, addr, data)) {
		q->msi_refused++;
		/* Once per message: the guest writes as often as it likes. */
		if (q->msi_refused_addr != addr || q->msi_refused_data != data)
			printf("%s: MSI message %#llx/%#x of the guest refused: %s\n",
			       pci_ioreq_prog, (unsigned long long)addr, data,
			       strerror(errno));
		fflush(stdout);
		q->msi_refused_addr = addr;
		q->msi_refused_data = data;
		return;
	}
	q->msi_irqfd = true;
	q->msi_irqfd_addr = addr;
	q->msi_irqfd_data = data;
}

/* Offset of the Message Data register in the capability. */
static unsigned int msi_data_off(const struct pt *p)
{
	return p->irq.msi_64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32;
}

bool pt_irq_cfg_read(struct pt *p, unsigned int off, __u32 *val)
{
	unsigned int c = p->irq.msi_cap;

	if (!c || off < c || off > c + msi_data_off(p))
		return false;
	if (off == c)
		*val = (host_read32(p, c) & 0xffff) |
		       (__u32)((p->irq.msi_ctrl & PCI_MSI_FLAGS_ENABLE) |
			       (p->irq.msi_64 ? PCI_MSI_FLAGS_64BIT : 0)) << 16;
	else if (off == c + PCI_MSI_ADDRESS_LO)
		*val = p->irq.msi_addr_lo;
	else if (off == c + msi_data_off(p))
		*val = p->irq.msi_data;
	else
		*val = p->irq.msi_addr_hi;
	return true;
}

bool pt_irq_cfg_write(struct pt *p, unsigned int off, __u32 val, __u32 mask)
{
	unsigned int c = p->irq.msi_cap;
	__u32 cur;

	if (!c || off < c || off > c + msi_data_off(p))
		return false;
	pt_irq_cfg_read(p, off, &cur);
	val = (cur & ~mask) | (val & mask);
	if (off == c)
		p->irq.msi_ctrl = (val >> 16) & PCI_MSI_FLAGS_ENABLE;
	else if (off == c + PCI_MSI_ADDRESS_LO)
		p->irq.msi_addr_lo = val & ~3U;
	else if (off == c + msi_data_off(p))
		p->irq.msi_data = val;
	else
		p->irq.msi_addr_hi = val;
	msi_sync(p);
	return true;
}

/* ---- setup and teardown ---- */

int pt_irq_open(struct pt *p)
{
	struct pt_irq *q = &p->irq;
	unsigned int i;
	__u8 pin = host_read8(p, PCI_INTERRUPT_PIN);
	__u32 probe;

	if (!bound_to_vfio(p)) {
		q->msi_cap = 0;		/* --msi was refused at probe */
		return 0;
	}
	if (vfio_open(p))
		return -1;
	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };

		if (!p->bar[i].present)
			continue;
		if (ioctl(q->dev, VFIO_DEVICE_GET_REGION_INFO, &ri) ||
		    ri.size < p->bar[i].size) {
			say("%s: BAR%u: VFIO region: %s\n", p->host, i,
			    strerror(errno));
			return -1;
		}
		q->region[i] = ri.offset;
		/* VFIO refuses BAR accesses while its Command lacks Memory */
		if (pread(q->dev, &probe, sizeof(probe), ri.offset) !=
		    sizeof(probe)) {
			say("%s: BAR%u through VFIO: %s\n", p->host, i,
			    strerror(errno));
			return -1;
		}
	}
	if (pin >= 1 && pin <= 4 &&
	    irq_count(p, VFIO_PCI_INTX_IRQ_INDEX) == 1) {
		if (p->be.nr_fds >= PCI_IOREQ_MAX_FDS)
			return -1;
		q->intx_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->intx_fd < 0) {
			say("eventfd: %s\n", strerror(errno));
			return -1;
		}
		p->be.hdr.pin = pin;
		p->be.fds[p->be.nr_fds++] = q->intx_fd;
	}
	if (q->msi_wanted) {
		if (!q->msi_cap || !irq_count(p, VFIO_PCI_MSI_IRQ_INDEX)) {
			say("--msi: %s has no MSI capability\n", p->host);
			return -1;
		}
		if (!p->be.t->info.layout.msi_count) {
			say("--msi: the guest's root complex has no MSI (--layout msi=)\n");
			return -1;
		}
		q->msi_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->msi_fd < 0) {
			say("eventfd: %s\n", strerror(errno));
			return -1;
		}
	} else {
		q->msi_cap = 0;
	}
	if (q->intx_fd >= 0) {
		intx_forward(p, true);
		if (!q->intx_on)
			return -1;
	}
	return 0;
}

/*
 * After the BARs were unmapped (teardown): unroute them, lower the pin,
 * turn the host's interrupts off (no INTx back after MSI), then let VFIO
 * have the device back.
 */
void pt_irq_close(struct pt *p)
{
	struct pt_irq *q = &p->irq;
	unsigned int i;

	if (q->dev >= 0) {
		for (i = 0; i < PCI_STD_NUM_BARS; i++)
			route(p, i, false, 0);
		q->trapping = false;
		q->pending = false;
		if (q->line && !p->be.gone)
			pci_ioreq_set_intx(&p->be, false);
		q->line = false;
		if (q->msi_host) {
			if (!p->be.gone)
				msi_irqfd_off(p);
			set_irqs(p, VFIO_PCI_MSI_IRQ_INDEX,
				 VFIO_IRQ_SET_ACTION_TRIGGER, -1);
			q->msi_host = false;
			sync_master(p);
		}
		if (q->intx_on)
			set_irqs(p, VFIO_PCI_INTX_IRQ_INDEX,
				 VFIO_IRQ_SET_ACTION_TRIGGER, -1);
		q->intx_on = false;
		printf("%s: interrupts of %s: INTx %llu forwarded, %llu serviced;",
		       pci_ioreq_prog, p->host, q->intx_fired, q->eois);
		printf(" MSI enabled %llu times, %llu messages refused; %llu BAR accesses failed\n",
		       q->msi_enables, q->msi_refused, q->bad_access);
		fflush(stdout);
		close(q->dev);
	}
	if (q->group >= 0)
		close(q->group);
	if (q->container >= 0)
		close(q->container);
	if (q->intx_fd >= 0)
		close(q->intx_fd);
	if (q->msi_fd >= 0)
		close(q->msi_fd);
	q->dev = -1;
	q->group = -1;
	q->container = -1;
	q->intx_fd = -1;
	q->msi_fd = -1;
}
