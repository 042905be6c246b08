// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci transport of pci-ioreq-virtio (virtio-pci.h), on the
 * backends' library: a modern (virtio 1.x, revision 1) function whose
 * common config, ISR, device config and notify structures lie in a 16 KiB
 * memory BAR, as the vendor-specific capabilities of its config space
 * say, with the VIRTIO_PCI_CAP_PCI_CFG window. Its interrupt is INTx, set
 * by request or (--fast) through an irqfd; where the guest's root complex
 * has MSI it also has an MSI-X capability, with a vector for each queue and
 * one for config changes, and then, once the driver enables MSI-X, it
 * uses no INTx and sets in the ISR only the config bit the virtio spec
 * asks for. With --fast each queue's notify
 * address is an ioeventfd.
 * The device type (virtio-blk.c, virtio-rng.c) adds its IDs, features,
 * device config and the serving of its queue.
 */

#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "pci-ioreq-virtio.h"
#include "virtio-pci.h"

#define INTX_PIN		1	/* INTA */
#define VIRTIO_SUBSYS_ID	0x1100

/* BAR 0: one page per structure; the MSI-X table and PBA double it. */
#define BAR0_SIZE		0x4000
#define BAR0_SIZE_MSIX		0x8000
#define MSIX_TABLE_OFF		0x4000
#define MSIX_PBA_OFF		0x5000
#define COMMON_OFF		0x0000	/* must stay 0: see bar0_read32() */
#define COMMON_LEN		0x40
#define ISR_OFF			0x1000
#define ISR_LEN			4
#define DEVCFG_OFF		0x2000
#define DEVCFG_LEN		0x100
#define NOTIFY_OFF		0x3000
#define NOTIFY_MULT		4	/* bytes between queue notify addresses */

/* Config space: the vendor-specific capabilities, linked in this order. */
#define CAP_COMMON		0x40
#define CAP_ISR			0x50
#define CAP_DEVCFG		0x60
#define CAP_NOTIFY		0x70	/* struct virtio_pci_notify_cap */
#define CAP_PCICFG		0x84	/* struct virtio_pci_cfg_cap */
#define CAP_PCICFG_DATA		(CAP_PCICFG + 16)
#define CAP_MSIX		0x98

static void ioctl_failed(struct vdev *v, const char *what)
{
	if (errno == ENODEV)
		v->be.gone = true;
	else
		say("%s: %s\n", what, strerror(errno));
}

/* ---- interrupts ---- */

static void set_intx(struct vdev *v, bool level)
{
	__u64 one = 1;

	if (v->be.gone)
		return;
	if (level && v->irqfd >= 0) {
		if (write(v->irqfd, &one, sizeof(one)) != sizeof(one))
			say("irqfd: %s\n", strerror(errno));
		v->st.irqfd++;
	} else if (pci_ioreq_set_intx(&v->be, level)) {
		return;
	} else if (level) {
		v->st.intx++;
	}
	v->intx_level = level;
}

/*
 * The line follows the ISR: asserted on its first bit, like a level; never
 * while MSI-X is on.
 */
static void update_intx(struct vdev *v)
{
	bool level = v->isr &&
		     !(v->be.hdr.command & PCI_COMMAND_INTX_DISABLE) &&
		     !pci_ioreq_msix_enabled(&v->msix);

	if (level != v->intx_level)
		set_intx(v, level);
}

static void raise_isr(struct vdev *v, __u8 bits)
{
	v->isr |= bits;
	update_intx(v);
}

void virtio_interrupt(struct vdev *v, struct vq *q)
{
	__u16 vec = q ? q->msix_vector : v->msix_config;
	bool msix = pci_ioreq_msix_enabled(&v->msix);

	/*
	 * The config bit is set whatever the interrupt (virtio 1.x,
	 * 4.1.4.5.1); with MSI-X on it drives no INTx (update_intx()).
	 */
	if (!msix || !q)
		raise_isr(v, q ? VIRTIO_ISR_QUEUE : VIRTIO_ISR_CONFIG);
	if (msix && vec != VIRTIO_MSI_NO_VECTOR && !v->be.gone)
		pci_ioreq_msix_signal(&v->be, &v->msix, vec);
}

/* What the driver may map a queue or config changes to. */
static __u16 msix_vector(struct vdev *v, __u16 vec)
{
	return vec < v->msix.nr ? vec : VIRTIO_MSI_NO_VECTOR;
}

/* ---- queue notifications through ioeventfds (--fast) ---- */

static int kick_ioeventfd(struct vdev *v, struct vq *q, __u64 addr,
			  bool deassign)
{
	struct xen_pci_ioreq_ioeventfd io = {
		.fn = v->be.fn,
		.fd = q->kick_fd,
		.flags = deassign ? XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN : 0,
		.addr = addr,
		.size = 2,
	};

	return ioctl(v->be.t->fd, XEN_PCI_IOREQ_IOEVENTFD, &io);
}

/*
 * Register the notify address of each queue while BAR 0 is routed to us.
 * The kernel drops them itself when the range goes.
 */
static void update_kicks(struct vdev *v)
{
	const struct pci_ioreq_bar *b = &v->be.hdr.bar[0];
	unsigned int i;

	for (i = 0; i < v->nr_queues && v->fast && !v->be.gone; i++) {
		struct vq *q = &v->vq[i];
		__u64 want = b->mapped ? b->mapped_addr + NOTIFY_OFF +
					 i * NOTIFY_MULT : 0;

		if (q->kick_addr == want)
			continue;
		if (q->kick_addr && b->mapped &&
		    kick_ioeventfd(v, q, q->kick_addr, true))
			ioctl_failed(v, "XEN_PCI_IOREQ_IOEVENTFD (remove)");
		q->kick_addr = 0;
		if (want && !kick_ioeventfd(v, q, want, false))
			q->kick_addr = want;
		else if (want)
			ioctl_failed(v, "XEN_PCI_IOREQ_IOEVENTFD");
	}
}

void virtio_mark_broken(struct vdev *v, const char *fmt, ...)
{
	va_list ap;

	if (v->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "%s: %s %02x:%02x.%x: device broken: ", pci_ioreq_prog,
		v->dev->name, v->be.fn.bus, PCI_SLOT(v->be.fn.devfn),
		PCI_FUNC(v->be.fn.devfn));
	vfprintf(stderr, fmt, ap);
	fputs("; DEVICE_NEEDS_RESET\n", stderr);
	va_end(ap);
	v->st.broken++;
	v->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	v->generation++;
	if (v->status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_interrupt(v, NULL);
}

static void reset_device(struct vdev *v)
{
	unsigned int i;

	/* What is in flight uses the rings and buffers: not published. */
	virtio_io_drain(v, true);
	for (i = 0; i < v->nr_queues; i++) {
		struct vq *q = &v->vq[i];

		q->size = VIRTIO_QUEUE_SIZE_MAX;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
		q->enabled = false;
		q->desc_addr = 0;
		q->avail_addr = 0;
		q->used_addr = 0;
		vq_unmap_rings(v, q);
		q->last_avail = 0;
		q->used_idx = 0;
		q->kicked = false;
		q->starved = false;
	}
	v->driver_features = 0;
	v->dfselect = 0;
	v->gfselect = 0;
	v->msix_config = VIRTIO_MSI_NO_VECTOR;
	v->queue_select = 0;
	v->status = 0;
	v->isr = 0;
	update_intx(v);
	v->st.resets++;
}

static void set_status(struct vdev *v, __u8 val)
{
	unsigned int i;

	if (!val) {
		reset_device(v);
		return;
	}
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(v->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* Accept only what was offered, and only the modern interface. */
		if ((v->driver_features & ~v->features) ||
		    !(v->driver_features & 1ULL << VIRTIO_F_VERSION_1)) {
			say("driver features %#llx refused (offered %#llx)\n",
			    (unsigned long long)v->driver_features,
			    (unsigned long long)v->features);
			val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		}
	}
	/* Buffers made available before DRIVER_OK are served now. */
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(v->status & VIRTIO_CONFIG_S_DRIVER_OK))
		for (i = 0; i < v->nr_queues; i++)
			v->vq[i].kicked = true;
	v->status = val | (v->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static struct vq *cur_vq(struct vdev *v)
{
	return v->queue_select < v->nr_queues ? &v->vq[v->queue_select] : NULL;
}

/* The ring address whose low (@off & 4 == 0) or high half dword @off is. */
static __u64 *queue_addr(struct vq *q, unsigned int off)
{
	return off < 0x28 ? &q->desc_addr : off < 0x30 ? &q->avail_addr :
							   &q->used_addr;
}

/* struct virtio_pci_common_cfg, by dword. */
static __u32 common_read32(struct vdev *v, unsigned int off)
{
	struct vq *q = cur_vq(v);

	switch (off) {
	case 0x00:
		return v->dfselect;
	case 0x04:
		return v->dfselect < 2 ? v->features >> (32 * v->dfselect) : 0;
	case 0x08:
		return v->gfselect;
	case 0x0c:
		return v->gfselect < 2 ?
		       v->driver_features >> (32 * v->gfselect) : 0;
	case 0x10:
		return v->msix_config | (__u32)v->nr_queues << 16;
	case 0x14:
		return v->status | v->generation << 8 |
		       (__u32)v->queue_select << 16;
	case 0x18:
		return q ? q->size | (__u32)q->msix_vector << 16 : 0;
	case 0x1c:
		/* queue_enable; queue_notify_off is the queue's index */
		return q ? q->enabled | (__u32)v->queue_select << 16 : 0;
	case 0x20 ... 0x34:
		return q ? *queue_addr(q, off) >> (off & 4) * 8 : 0;
	default:
		return 0;
	}
}

static void common_write32(struct vdev *v, unsigned int off, __u32 val,
			   __u32 mask)
{
	__u32 new = (common_read32(v, off) & ~mask) | (val & mask);
	struct vq *q = cur_vq(v);
	/* Queue set-up is only for a queue that is not running. */
	bool qw = q && !q->enabled;

	switch (off) {
	case 0x00:
		v->dfselect = new;
		break;
	case 0x08:
		v->gfselect = new;
		break;
	case 0x0c:
		if (v->gfselect < 2 && !(v->status & VIRTIO_CONFIG_S_FEATURES_OK))
			v->driver_features =
				(v->driver_features &
				 ~(0xffffffffULL << (32 * v->gfselect))) |
				(__u64)new << (32 * v->gfselect);
		break;
	case 0x10:
		if (mask & 0xffff)
			v->msix_config = msix_vector(v, new);
		break;
	case 0x14:
		if (mask & 0xff)
			set_status(v, new);
		if (mask & 0xffff0000)
			v->queue_select = new >> 16;
		break;
	case 0x18:
		if (qw && (mask & 0xffff))
			q->size = new;
		if (q && (mask & 0xffff0000))
			q->msix_vector = msix_vector(v, new >> 16);
		break;
	case 0x1c:
		if (qw && (mask & 0xffff) && (new & 0xffff) == 1)
			vq_enable(v, q);
		break;
	case 0x20 ... 0x34:
		if (qw) {
			__u64 *a = queue_addr(q, off);
			unsigned int shift = (off & 4) * 8;

			*a = (*a & ~((__u64)mask << shift)) |
			     (__u64)(val & mask) << shift;
		}
		break;
	}
}

static struct vdev *to_vdev(void *dev)
{
	return pci_ioreq_container_of(dev, struct vdev, be);
}

/* BAR 0, by dword. */
static __u32 bar0_read32(void *dev, unsigned int off)
{
	struct vdev *v = to_vdev(dev);
	__u32 isr;

	if (off < COMMON_OFF + COMMON_LEN)
		return common_read32(v, off - COMMON_OFF);
	if (pci_ioreq_msix_bar_read32(&v->msix, off, &isr))
		return isr;
	if (off == ISR_OFF) {
		v->st.isr_reads++;
		isr = v->isr;
		v->isr = 0;
		update_intx(v);
		return isr;
	}
	if (off >= DEVCFG_OFF && off < DEVCFG_OFF + DEVCFG_LEN &&
	    v->dev->devcfg_read32)
		return v->dev->devcfg_read32(v, off - DEVCFG_OFF);
	return 0;
}

static void bar0_write32(void *dev, unsigned int off, __u32 val, __u32 mask)
{
	struct vdev *v = to_vdev(dev);
	unsigned int qi;

	if (off < COMMON_OFF + COMMON_LEN) {
		common_write32(v, off - COMMON_OFF, val, mask);
	} else if (pci_ioreq_msix_bar_write32(&v->be, &v->msix, off, val,
					      mask)) {
		return;
	} else if (off >= NOTIFY_OFF &&
		   off < NOTIFY_OFF + VIRTIO_MAX_QUEUES * NOTIFY_MULT) {
		qi = (off - NOTIFY_OFF) / NOTIFY_MULT;
		if (qi < v->nr_queues) {
			v->vq[qi].kicked = true;
			v->st.notify_mmio++;
		}
	}
}

/* ---- config space ---- */

static __u32 cap_dword(__u8 type, __u8 next, __u8 len, __u32 off, __u32 blen,
		       unsigned int dw)
{
	switch (dw) {
	case 0:
		return PCI_CAP_ID_VNDR | next << 8 | len << 16 |
		       (__u32)type << 24;
	case 1:
		return 0;		/* bar 0, id 0, padding */
	case 2:
		return off;
	case 3:
		return blen;
	default:
		return 0;
	}
}

/* The header (pci-ioreq-cfg.c), then the capabilities. */
static __u32 cfg_read32(void *dev, unsigned int off)
{
	struct vdev *v = to_vdev(dev);
	/* the INTx status: none while MSI-X is on */
	__u16 status = PCI_STATUS_CAP_LIST |
		       (v->isr && !pci_ioreq_msix_enabled(&v->msix) ?
			PCI_STATUS_INTERRUPT : 0);
	bool has_devcfg = v->dev->devcfg_read32;

	switch (off) {
	case CAP_COMMON ... CAP_COMMON + 15:
		return cap_dword(VIRTIO_PCI_CAP_COMMON_CFG, CAP_ISR, 16,
				 COMMON_OFF, COMMON_LEN, (off - CAP_COMMON) / 4);
	case CAP_ISR ... CAP_ISR + 15:
		return cap_dword(VIRTIO_PCI_CAP_ISR_CFG,
				 has_devcfg ? CAP_DEVCFG : CAP_NOTIFY, 16,
				 ISR_OFF, ISR_LEN, (off - CAP_ISR) / 4);
	case CAP_DEVCFG ... CAP_DEVCFG + 15:
		if (!has_devcfg)
			return 0;
		return cap_dword(VIRTIO_PCI_CAP_DEVICE_CFG, CAP_NOTIFY, 16,
				 DEVCFG_OFF, DEVCFG_LEN, (off - CAP_DEVCFG) / 4);
	case CAP_NOTIFY ... CAP_NOTIFY + 15:
		return cap_dword(VIRTIO_PCI_CAP_NOTIFY_CFG, CAP_PCICFG, 20,
				 NOTIFY_OFF, VIRTIO_MAX_QUEUES * NOTIFY_MULT,
				 (off - CAP_NOTIFY) / 4);
	case CAP_NOTIFY + 16:
		return NOTIFY_MULT;
	case CAP_PCICFG:
		return PCI_CAP_ID_VNDR | (v->msix.nr ? CAP_MSIX : 0) << 8 |
		       20 << 16 | (__u32)VIRTIO_PCI_CAP_PCI_CFG << 24;
	case CAP_PCICFG + 4:
		return v->pcicfg_bar;
	case CAP_PCICFG + 8:
		return v->pcicfg_off;
	case CAP_PCICFG + 12:
		return v->pcicfg_len;
	case CAP_MSIX ... CAP_MSIX + PCI_IOREQ_MSIX_CAP_LEN - 1:
		if (!v->msix.nr)
			return 0;
		return pci_ioreq_msix_cap_read(&v->msix, (off - CAP_MSIX) / 4, 0);
	default:
		return pci_ioreq_header_read(&v->be, off, status);
	}
}

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window: an access of cap.length bytes at
 * cap.offset of BAR cap.bar, through config space.
 */
static bool pcicfg_window_ok(struct vdev *v)
{
	return v->pcicfg_bar == 0 &&
	       (v->pcicfg_len == 1 || v->pcicfg_len == 2 ||
		v->pcicfg_len == 4) &&
	       !(v->pcicfg_off & (v->pcicfg_len - 1)) &&
	       v->pcicfg_off < v->be.hdr.bar[0].size;
}

/* A config access at the window's data: BAR 0 through config space. */
static bool pcicfg_access(struct pci_ioreq_backend *be,
			  const struct xen_pci_ioreq_request *r, __u64 *data)
{
	struct vdev *v = to_vdev(be);

	if (r->addr != CAP_PCICFG_DATA || !pcicfg_window_ok(v))
		return false;
	if (r->dir == XEN_PCI_IOREQ_DIR_READ)
		*data = pci_ioreq_dword_read(be, bar0_read32, v->pcicfg_off,
					     v->pcicfg_len);
	else
		pci_ioreq_dword_write(be, bar0_write32, v->pcicfg_off,
				      v->pcicfg_len, r->data);
	return true;
}

static void cfg_write32(void *dev, unsigned int off, __u32 val, __u32 mask)
{
	struct vdev *v = to_vdev(dev);
	__u32 new = pci_ioreq_header_write(&v->be, off, cfg_read32(dev, off),
					   val, mask);

	switch (off) {
	case CAP_PCICFG + 4:
		v->pcicfg_bar = new;
		break;
	case CAP_PCICFG + 8:
		v->pcicfg_off = new;
		break;
	case CAP_PCICFG + 12:
		v->pcicfg_len = new;
		break;
	case CAP_MSIX ... CAP_MSIX + PCI_IOREQ_MSIX_CAP_LEN - 1:
		if (!v->msix.nr)
			break;
		pci_ioreq_msix_cap_write(&v->be, &v->msix, (off - CAP_MSIX) / 4,
					 val, mask);
		/* INTx is off while MSI-X is on, and back when it goes */
		update_intx(v);
		break;
	}
}

/* ---- the backend's callbacks ---- */

static void header_changed(struct pci_ioreq_backend *be)
{
	struct vdev *v = to_vdev(be);

	update_intx(v);
	/* Bus Master Enable holds or lets go of the MSI-X messages */
	pci_ioreq_msix_update(be, &v->msix);
}

static void bars_routed(struct pci_ioreq_backend *be)
{
	update_kicks(to_vdev(be));
}

/* After the vCPUs got their responses: the queues' work. */
static void process_kicked(struct pci_ioreq_backend *be)
{
	struct vdev *v = to_vdev(be);
	unsigned int i;

	for (i = 0; i < v->nr_queues; i++)
		if (v->vq[i].kicked)
			vq_process(v, &v->vq[i]);
}

/*
 * --fast: a deassertion overtook a signal of the irqfd, and the kernel
 * handed it back: signal again if the ISR still asks for the line. (Only
 * the loop's thread interrupts, so it never does: its deassertions follow
 * the ISR reads that cleared what the signals stood for.)
 */
static void resample_ready(struct vdev *v)
{
	__u64 cnt;

	if (read(v->resamplefd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	v->st.resamples += cnt;
	if (!v->intx_level)
		update_intx(v);
}

/*
 * The loop's fd @i: the ioeventfd of queue @i or the resamplefd (--fast),
 * or the I/O threads' eventfd.
 */
static void fd_ready(struct pci_ioreq_backend *be, unsigned int i)
{
	struct vdev *v = to_vdev(be);
	__u64 cnt;

	if (i == v->nr_queues + 1) {
		v->st.io_wakeups++;
		vq_complete(v, true, true);
		return;
	}
	if (i == v->nr_queues) {
		resample_ready(v);
		return;
	}
	if (read(v->vq[i].kick_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	v->st.kick_wakeups++;
	v->st.notify_eventfd += cnt;
	vq_process(v, &v->vq[i]);
}

static void say_bad(const struct xen_pci_ioreq_request *r)
{
	say("bad request %llu: kind %u dir %u size %u addr %#llx\n",
	    (unsigned long long)r->id, r->kind, r->dir, r->size,
	    (unsigned long long)r->addr);
}

static void trace(const struct xen_pci_ioreq_request *r, __u64 data)
{
	bool rd = r->dir == XEN_PCI_IOREQ_DIR_READ;

	say("%s %s %#llx/%u %#llx\n",
	    r->kind == XEN_PCI_IOREQ_KIND_CONFIG ? "cfg" : "mmio",
	    rd ? "read" : "write", (unsigned long long)r->addr, r->size,
	    (unsigned long long)(rd ? data : r->data));
}

void virtio_pci_stats(struct vdev *v)
{
	const struct pci_ioreq_stats *b = &v->be.st;
	const struct vstats *s = &v->st;
	const struct xen_pci_ioreq_function *fn = &v->be.fn;
	unsigned long long wakeups = b->wakeups + s->kick_wakeups +
				     s->io_wakeups;
	double chains = s->chains ? s->chains : 1;

	printf("%s: stats %s %04x:%02x:%02x.%x dom%u: requests %llu (config %llu, mmio %llu)",
	       pci_ioreq_prog, v->dev->name, fn->segment, fn->bus,
	       PCI_SLOT(fn->devfn), PCI_FUNC(fn->devfn), v->be.t->info.domid,
	       b->requests, b->cfg_reads + b->cfg_writes,
	       b->mmio_reads + b->mmio_writes);
	printf(" notifies %llu by request, %llu by ioeventfd", s->notify_mmio,
	       s->notify_eventfd);
	printf(" wakeups %llu (%.3f per buffer) buffers %llu", wakeups,
	       wakeups / chains, s->chains);
	printf(" intx %llu irqfd %llu in %llu out %llu flushes %llu errors %llu",
	       s->intx, s->irqfd, s->bytes_in, s->bytes_out, s->flushes,
	       s->errors);
	printf(" broken %llu resets %llu foreign-map calls %llu pages %llu",
	       s->broken, s->resets, v->mem.map_calls, v->mem.pages_mapped);
	printf(" resamples %llu isr reads %llu", s->resamples, s->isr_reads);
	pci_ioreq_msix_stats(&v->msix);
	printf(" io threads %u in flight max %u submitted %llu waits %llu",
	       v->io.threads, v->io.inflight_max, v->io.submitted, v->io.waits);
	printf(" invalidates %llu chunks dropped %llu retries %llu",
	       b->invalidates, v->mem.chunks_dropped, v->mem.retries);
	printf(" grant maps %llu pages %llu", v->mem.grant_maps,
	       v->mem.grant_pages);
	if (v->dev->stats)
		v->dev->stats(v);
	printf("\n");
	fflush(stdout);
}

static void stats(struct pci_ioreq_backend *be)
{
	virtio_pci_stats(to_vdev(be));
}

/* The guest gave memory back: drop guest RAM, map the rings again. */
static void invalidate(struct pci_ioreq_backend *be)
{
	struct vdev *v = to_vdev(be);
	unsigned int i;

	/* Requests in flight use the mappings: let them finish first. */
	virtio_io_drain(v, false);
	pci_ioreq_mem_invalidate(&v->mem);
	for (i = 0; i < v->nr_queues; i++)
		if (v->vq[i].enabled)
			vq_remap_rings(v, &v->vq[i]);
}

static const struct pci_ioreq_backend_ops virtio_pci_ops = {
	.cfg_read32 = cfg_read32,
	.cfg_write32 = cfg_write32,
	.bar_read32 = bar0_read32,
	.bar_write32 = bar0_write32,
	.cfg_access = pcicfg_access,
	.header_changed = header_changed,
	.bars_routed = bars_routed,
	.bad = say_bad,
	.trace = trace,
	.batch_done = process_kicked,
	.fd_ready = fd_ready,
	.stats = stats,
	.invalidate = invalidate,
};

/* ---- setup and teardown ---- */

void virtio_pci_init(struct vdev *v, const struct virtio_device_ops *dev,
		     const struct xen_pci_ioreq_function *fn, bool msix)
{
	struct pci_ioreq_header *h = &v->be.hdr;
	unsigned int i;

	v->be.ops = &virtio_pci_ops;
	v->be.fn = *fn;
	v->dev = dev;
	h->vendor = VIRTIO_VENDOR;
	h->device = dev->pci_device;
	h->subsys_vendor = VIRTIO_VENDOR;
	h->subsys = VIRTIO_SUBSYS_ID;
	/* revision 1: a modern-only device */
	h->class_rev = 1 | dev->class_code << 8;
	h->header_type = PCI_HEADER_TYPE_NORMAL;
	h->cap_list = CAP_COMMON;
	h->pin = INTX_PIN;
	h->bar[0].size = msix ? BAR0_SIZE_MSIX : BAR0_SIZE;
	h->bar[0].flags = PCI_BASE_ADDRESS_SPACE_MEMORY |
			  PCI_BASE_ADDRESS_MEM_TYPE_32;
	/* a vector per queue, and one for config changes */
	if (msix)
		pci_ioreq_msix_init(&v->msix, VIRTIO_MAX_QUEUES + 1, 0,
				    MSIX_TABLE_OFF, MSIX_PBA_OFF);
	v->features = 1ULL << VIRTIO_F_VERSION_1 |
		      1ULL << VIRTIO_F_ACCESS_PLATFORM |
		      1ULL << VIRTIO_RING_F_INDIRECT_DESC |
		      1ULL << VIRTIO_RING_F_EVENT_IDX | dev->features;
	v->irqfd = -1;
	v->resamplefd = -1;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		v->vq[i].kick_fd = -1;
	virtio_pci_set_queues(v, 1);
}

void virtio_pci_set_queues(struct vdev *v, unsigned int n)
{
	v->nr_queues = n;
	reset_device(v);
	v->st.resets = 0;
}

/*
 * The loop's fds: a notify ioeventfd per queue, the resamplefd, the I/O
 * threads' eventfd (virtio_io_start()).
 */
static_assert(VIRTIO_MAX_QUEUES + 2 <= PCI_IOREQ_MAX_FDS, "loop fds");

int virtio_pci_fast(struct vdev *v)
{
	struct xen_pci_ioreq_irqfd irq = {
		.fn = v->be.fn,
		.flags = XEN_PCI_IOREQ_IRQFD_RESAMPLE,
		.pin = INTX_PIN,
	};
	unsigned int i;

	for (i = 0; i < v->nr_queues; i++) {
		v->vq[i].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->vq[i].kick_fd < 0)
			goto fail;
		/* fd i of the loop: fd_ready() of queue i */
		v->be.fds[i] = v->vq[i].kick_fd;
		v->be.nr_fds = i + 1;
	}
	v->resamplefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->resamplefd < 0)
		goto fail;
	/* fd nr_queues of the loop: resample_ready() */
	v->be.fds[i] = v->resamplefd;
	v->be.nr_fds = i + 1;
	/* MSI-X vectors: an irqfd each while unmasked */
	if (v->msix.nr && pci_ioreq_msix_irqfds(&v->be, &v->msix))
		return -1;
	irq.resamplefd = v->resamplefd;
	irq.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (irq.fd < 0)
		goto fail;
	if (ioctl(v->be.t->fd, XEN_PCI_IOREQ_IRQFD, &irq)) {
		say("XEN_PCI_IOREQ_IRQFD: %s\n", strerror(errno));
		close(irq.fd);
		return -1;
	}
	v->irqfd = irq.fd;
	return 0;
fail:
	say("eventfd: %s\n", strerror(errno));
	return -1;
}

/*
 * Leave nothing behind: the guest may go on and rescan. Closing the
 * transport then unregisters the function.
 */
void virtio_pci_teardown(struct vdev *v)
{
	struct xen_pci_ioreq_irqfd irq = {
		.fn = v->be.fn,
		.fd = v->irqfd,
		.flags = XEN_PCI_IOREQ_IRQFD_DEASSIGN,
		.pin = INTX_PIN,
	};

	virtio_io_stop(v);
	pci_ioreq_msix_exit(&v->be, &v->msix);
	if (v->be.gone)
		return;
	v->be.hdr.command &= ~PCI_COMMAND_MEMORY;
	/* The kernel drops the ioeventfds with the range. */
	pci_ioreq_update_bars(&v->be);
	if (v->irqfd >= 0 && ioctl(v->be.t->fd, XEN_PCI_IOREQ_IRQFD, &irq))
		ioctl_failed(v, "XEN_PCI_IOREQ_IRQFD (remove)");
	v->irqfd = -1;
	v->isr = 0;
	set_intx(v, false);
}

void virtio_pci_exit(struct vdev *v)
{
	unsigned int i;

	/* the guest is gone, or virtio_pci_teardown() removed the irqfds */
	v->be.gone = true;
	virtio_io_stop(v);
	pci_ioreq_msix_exit(&v->be, &v->msix);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (v->vq[i].kick_fd >= 0)
			close(v->vq[i].kick_fd);
	if (v->irqfd >= 0)
		close(v->irqfd);
	if (v->resamplefd >= 0)
		close(v->resamplefd);
}
