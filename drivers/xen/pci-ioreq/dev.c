// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/xen/pci-ioreq: the misc device and its file operations, the ioctl
 * switch with one xpi_ioctl_*() helper per command (copy in, check,
 * lock the guest, call the worker in the file of its concern), and module
 * init and exit. The entry points of the driver: everything else is
 * called from here, from the event channel handler, or from the watch,
 * the reaper and the work items that init sets up.
 *
 * Locking: a file's bind_lock serializes its BIND. Each ioctl on a bound
 * file takes the guest's mutex (CLASS(xpi_locked_guest)) around its
 * worker; ADD_MMIO takes xpi.lock before it, as it looks at the guest's
 * other root complexes. read() takes the guest's lock, and so does
 * write() through xpi_complete(); poll() takes none. Release takes the
 * mutex, then the lock inside it, and after both xpi.lock (in
 * xpi_guest_detach()).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cleanup.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/eventfd.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>

#include <xen/features.h>
#include <xen/xen.h>

#include "xpi.h"

/* The driver's state, shared with guest.c and debugfs.c. */
struct xpi_module xpi;

static void xpi_get_info(struct xpi_guest *g, struct xen_pci_ioreq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->domid = g->domid;
	info->nr_vcpus = g->nr_vcpus;
	info->mode = XPI_MODE;
	info->layout = g->layout;
}

static struct xpi_guest *xpi_file_guest(struct xpi_file *f)
{
	/* Pairs with the release in xpi_guest_attach(). */
	return smp_load_acquire(&f->guest);
}

static int xpi_open(struct inode *inode, struct file *filp)
{
	struct xpi_file *f;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	mutex_init(&f->bind_lock);
	INIT_LIST_HEAD(&f->node);
	INIT_LIST_HEAD(&f->queue);
	INIT_LIST_HEAD(&f->fns);
	init_waitqueue_head(&f->wq);
	filp->private_data = f;
	return stream_open(inode, filp);
}

/*
 * Takes the file's functions away (they read all ones from then on) and
 * completes the requests it still had.
 */
static void xpi_file_drop(struct xpi_file *f, struct xpi_guest *g)
{
	struct xpi_fn *fn, *tmp;

	mutex_lock(&g->mutex);
	list_for_each_entry_safe(fn, tmp, &f->fns, node)
		xpi_fn_remove(g, fn);
	spin_lock_irq(&g->lock);
	xpi_abort(g, f, NULL);
	spin_unlock_irq(&g->lock);
	mutex_unlock(&g->mutex);
}

/*
 * Testing (debugfs release_delay_ms): the next bound file that an exiting
 * task releases holds the rest of that exit back, once its functions are
 * gone and it has let go of the guest.
 */
static void xpi_release_delay(void)
{
	unsigned int delay;

	if (!(current->flags & PF_EXITING))
		return;
	delay = xchg(&xpi.release_delay_ms, 0);
	if (delay)
		msleep(min(delay, 60000U));
}

static int xpi_release(struct inode *inode, struct file *filp)
{
	struct xpi_file *f = filp->private_data;
	struct xpi_guest *g = f->guest;

	if (g) {
		xpi_file_drop(f, g);
		xpi_guest_detach(f);
		xpi_release_delay();
	}
	kfree(f);
	return 0;
}

/*
 * A backend that dies may still map pages of the guest through its other
 * files: gntdev unmaps grants only when its file is released, whatever
 * the process's mappings. An exiting task closes its files in the order of
 * their numbers and releases each as task work, the last closed first.
 * Once the functions read all ones, the guest's drivers end the DMA they
 * had started and revoke its grants, and a grant that is still mapped then
 * is lost to the guest. So when an exiting task closes the last reference
 * to a bound file, flush keeps the file and queues xpi_exit_drop(), which
 * runs among the releases of the files that exit closed and queues itself
 * once more: task work added while task work runs comes after the work
 * queued before. It then takes the functions away and lets the file go.
 * A file released elsewhere (the last reference held by another process,
 * or by a kernel thread) takes its functions away at once, as before.
 */
static void xpi_exit_drop(struct callback_head *work)
{
	struct xpi_file *f = container_of(work, struct xpi_file, exit_work);

	if (!f->exit_requeued) {
		f->exit_requeued = true;
		if (!task_work_add(current, work, TWA_NONE))
			return;
	}
	xpi_file_drop(f, f->guest);
	/* The release, as task work of its own: the file holds the module. */
	fput(f->filp);
}

static int xpi_flush(struct file *filp, fl_owner_t id)
{
	struct xpi_file *f = filp->private_data;

	if (!(current->flags & PF_EXITING) || file_count(filp) != 1 ||
	    !xpi_file_guest(f) || f->filp)
		return 0;
	f->filp = get_file(filp);
	init_task_work(&f->exit_work, xpi_exit_drop);
	if (task_work_add(current, &f->exit_work, TWA_NONE)) {
		f->filp = NULL;
		fput(filp);
	}
	return 0;
}

/*
 * The root complex a BIND names: the one it gives, checked, or the default
 * (ECAM mode); none in PCI mode, where Xen decodes config cycles.
 */
static int xpi_bind_layout(const struct xen_pci_ioreq_bind *b,
			   struct xen_pci_ioreq_layout *l)
{
	if (!(b->flags & XEN_PCI_IOREQ_BIND_LAYOUT)) {
		if (memchr_inv(&b->layout, 0, sizeof(b->layout)))
			return -EINVAL;
		if (xpi_ecam_mode())
			*l = xpi_default_layout;
		else
			memset(l, 0, sizeof(*l));
		return 0;
	}
	if (!xpi_ecam_mode())
		return -EOPNOTSUPP;
	*l = b->layout;
	return xpi_layout_check(l, XEN_PAGE_SIZE);
}

static long xpi_ioctl_bind(struct xpi_file *f, void __user *uarg)
{
	struct xen_pci_ioreq_layout layout;
	struct xen_pci_ioreq_bind b;
	long ret;

	if (copy_from_user(&b, uarg, sizeof(b)))
		return -EFAULT;
	/* Bit 0 too: the retired KEEP, now what every BIND does. */
	if (b.flags & ~(XEN_PCI_IOREQ_BIND_LAYOUT | XEN_PCI_IOREQ_BIND_INVALIDATE) ||
	    b.reserved)
		return -EINVAL;
	if (b.domid == 0 || b.domid >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	ret = xpi_bind_layout(&b, &layout);
	if (ret)
		return ret;

	mutex_lock(&f->bind_lock);
	if (f->guest)
		ret = READ_ONCE(f->guest->dead) ? -ENODEV : -EBUSY;
	else
		ret = xpi_guest_attach(f, b.domid, &layout,
				       b.flags & XEN_PCI_IOREQ_BIND_INVALIDATE);
	mutex_unlock(&f->bind_lock);
	return ret;
}

/* The guest of a bound file, its mutex held, or why there is none. */
static struct xpi_guest *xpi_lock_guest(struct xpi_file *f)
{
	struct xpi_guest *g = xpi_file_guest(f);

	if (!g)
		return ERR_PTR(-EINVAL);
	mutex_lock(&g->mutex);
	if (g->dead) {
		mutex_unlock(&g->mutex);
		return ERR_PTR(-ENODEV);
	}
	return g;
}

static void xpi_unlock_guest(struct xpi_guest *g)
{
	if (!IS_ERR(g))
		mutex_unlock(&g->mutex);
}

/*
 * CLASS(xpi_locked_guest, g)(f): the guest of bound file @f with its mutex
 * held until @g goes out of scope, or an ERR_PTR() saying why there is
 * none.
 */
DEFINE_CLASS(xpi_locked_guest, struct xpi_guest *, xpi_unlock_guest(_T),
	     xpi_lock_guest(f), struct xpi_file *f);

static long xpi_ioctl_get_info(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_info info;

	{
		CLASS(xpi_locked_guest, g)(f);

		if (IS_ERR(g))
			return PTR_ERR(g);
		xpi_get_info(g, &info);
	}
	return copy_to_user(udata, &info, sizeof(info)) ? -EFAULT : 0;
}

static long xpi_ioctl_register(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_function ufn;

	if (copy_from_user(&ufn, udata, sizeof(ufn)))
		return -EFAULT;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	return xpi_register(g, f, &ufn);
}

static long xpi_ioctl_unregister(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_function ufn;
	struct xpi_fn *fn;

	if (copy_from_user(&ufn, udata, sizeof(ufn)))
		return -EFAULT;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	fn = xpi_file_fn(g, f, &ufn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	xpi_fn_remove(g, fn);
	return 0;
}

/* XEN_PCI_IOREQ_ADD_MMIO (@add) and XEN_PCI_IOREQ_REMOVE_MMIO */
static long xpi_ioctl_mmio(struct xpi_file *f, void __user *udata, bool add)
{
	struct xen_pci_ioreq_mmio m;

	if (copy_from_user(&m, udata, sizeof(m)))
		return -EFAULT;
	if (!add) {
		CLASS(xpi_locked_guest, g)(f);

		return IS_ERR(g) ? PTR_ERR(g) : xpi_remove_mmio(g, f, &m);
	}
	/* The guest's other root complexes are looked at too. */
	guard(mutex)(&xpi.lock);
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	return xpi_add_mmio(g, f, &m);
}

static long xpi_ioctl_set_intx(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_intx in;

	if (copy_from_user(&in, udata, sizeof(in)))
		return -EFAULT;
	if (in.pin < 1 || in.pin > 4 || in.level > 1 || in.reserved0 ||
	    in.reserved)
		return -EINVAL;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	return xpi_intx(g, f, &in);
}

static long xpi_ioctl_msi(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_msi in;

	if (copy_from_user(&in, udata, sizeof(in)))
		return -EFAULT;
	if (in.flags || in.reserved)
		return -EINVAL;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	return xpi_msi(g, f, &in);
}

static long xpi_ioctl_ioeventfd(struct xpi_file *f, void __user *udata)
{
	struct xen_pci_ioreq_ioeventfd a;
	struct eventfd_ctx *ctx;
	struct xpi_fn *fn;
	bool datamatch;
	long ret;
	int i;

	if (copy_from_user(&a, udata, sizeof(a)))
		return -EFAULT;
	datamatch = a.flags & XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH;
	if (a.flags & ~(XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH |
			XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN) ||
	    a.reserved0 || a.reserved || !xpi_size_valid(a.size) ||
	    (a.data & ~(datamatch ? xpi_size_mask(a.size) : 0)))
		return -EINVAL;
	CLASS(fd, fd)(a.fd);
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	fn = xpi_file_fn(g, f, &a.fn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	/* Inside one BAR range of the function */
	i = xpi_range_find(g->ranges, g->nr_ranges, a.addr, a.size);
	if (i < 0 || g->ranges[i].fn != fn)
		return -EINVAL;
	if (!fd_file(fd))
		return -EBADF;
	ctx = eventfd_ctx_fileget(fd_file(fd));
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	if (a.flags & XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN)
		ret = xpi_ioeventfd_deassign(g, fn, ctx, &a);
	else
		ret = xpi_ioeventfd_assign(g, fn, fd_file(fd), ctx, &a);
	/* An assigned ioeventfd keeps the reference. */
	if (ret || (a.flags & XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN))
		eventfd_ctx_put(ctx);
	return ret;
}

/* The resamplefd of @a, or NULL without XEN_PCI_IOREQ_IRQFD_RESAMPLE. */
static struct eventfd_ctx *
xpi_irqfd_resample_ctx(const struct xen_pci_ioreq_irqfd *a)
{
	struct eventfd_ctx *ctx;

	if (!(a->flags & XEN_PCI_IOREQ_IRQFD_RESAMPLE))
		return NULL;
	CLASS(fd, rfd)(a->resamplefd);
	if (!fd_file(rfd))
		return ERR_PTR(-EBADF);
	ctx = eventfd_ctx_fileget(fd_file(rfd));
	return IS_ERR(ctx) ? ERR_PTR(-EINVAL) : ctx;
}

/* The flags and fields of an irqfd request, as far as they go alone. */
static int xpi_irqfd_args_check(const struct xen_pci_ioreq_irqfd *a)
{
	const u32 flags = XEN_PCI_IOREQ_IRQFD_DEASSIGN |
			  XEN_PCI_IOREQ_IRQFD_RESAMPLE |
			  XEN_PCI_IOREQ_IRQFD_MSI;

	if (a->flags & ~flags ||
	    memchr_inv(a->reserved0, 0, sizeof(a->reserved0)))
		return -EINVAL;
	/* An MSI is an edge: no pin, nothing to resample. */
	if (a->flags & XEN_PCI_IOREQ_IRQFD_MSI)
		return a->pin || (a->flags & XEN_PCI_IOREQ_IRQFD_RESAMPLE) ?
		       -EINVAL : 0;
	if ((a->flags & XEN_PCI_IOREQ_IRQFD_DEASSIGN &&
	     a->flags & XEN_PCI_IOREQ_IRQFD_RESAMPLE) ||
	    a->pin < 1 || a->pin > 4 || a->msi_address ||
	    (!(a->flags & XEN_PCI_IOREQ_IRQFD_RESAMPLE) && a->resamplefd))
		return -EINVAL;
	return 0;
}

static long xpi_ioctl_irqfd(struct xpi_file *f, void __user *udata)
{
	struct eventfd_ctx *ctx, *resample;
	struct xen_pci_ioreq_irqfd a;
	struct xpi_fn *fn;
	u32 intid = 0;
	bool msi;
	long ret;

	if (copy_from_user(&a, udata, sizeof(a)))
		return -EFAULT;
	ret = xpi_irqfd_args_check(&a);
	if (ret)
		return ret;
	msi = a.flags & XEN_PCI_IOREQ_IRQFD_MSI;
	CLASS(fd, fd)(a.fd);
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	fn = xpi_file_fn(g, f, &a.fn);
	if (IS_ERR(fn))
		return PTR_ERR(fn);
	/* INTx on the root bus only, as XEN_PCI_IOREQ_SET_INTX */
	if (!msi && (xpi_sbdf_segment(fn->sbdf) || xpi_sbdf_bus(fn->sbdf)))
		return -EINVAL;
	if (!fd_file(fd))
		return -EBADF;
	ctx = eventfd_ctx_fileget(fd_file(fd));
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	if (a.flags & XEN_PCI_IOREQ_IRQFD_DEASSIGN) {
		ret = xpi_irqfd_deassign(g, fn, ctx, a.pin);
		eventfd_ctx_put(ctx);
		return ret;
	}
	if (msi) {
		ret = xpi_msi_check(g, a.msi_address, a.msi_data, &intid);
		if (ret) {
			eventfd_ctx_put(ctx);
			return ret;
		}
	}
	resample = xpi_irqfd_resample_ctx(&a);
	if (IS_ERR(resample)) {
		eventfd_ctx_put(ctx);
		return PTR_ERR(resample);
	}
	/* A resample would signal the irqfd itself: refused. */
	if (resample == ctx)
		ret = -EINVAL;
	else
		ret = xpi_irqfd_assign(g, fn, fd_file(fd), ctx, resample,
				       a.pin, intid);
	/* An assigned irqfd keeps the references. */
	if (ret) {
		eventfd_ctx_put(ctx);
		if (resample)
			eventfd_ctx_put(resample);
	}
	return ret;
}

/* The server goes with @f if @f is its last file: see xpi_guest_detach(). */
static long xpi_ioctl_release_server(struct xpi_file *f, unsigned long arg)
{
	if (arg)
		return -EINVAL;
	CLASS(xpi_locked_guest, g)(f);
	if (IS_ERR(g))
		return PTR_ERR(g);
	f->release_server = true;
	return 0;
}

static long xpi_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct xpi_file *f = filp->private_data;
	void __user *udata = (void __user *)arg;

	switch (cmd) {
	case XEN_PCI_IOREQ_BIND:
		return xpi_ioctl_bind(f, udata);
	case XEN_PCI_IOREQ_GET_INFO:
		return xpi_ioctl_get_info(f, udata);
	case XEN_PCI_IOREQ_REGISTER:
		return xpi_ioctl_register(f, udata);
	case XEN_PCI_IOREQ_UNREGISTER:
		return xpi_ioctl_unregister(f, udata);
	case XEN_PCI_IOREQ_ADD_MMIO:
		return xpi_ioctl_mmio(f, udata, true);
	case XEN_PCI_IOREQ_REMOVE_MMIO:
		return xpi_ioctl_mmio(f, udata, false);
	case XEN_PCI_IOREQ_SET_INTX:
		return xpi_ioctl_set_intx(f, udata);
	case XEN_PCI_IOREQ_IOEVENTFD:
		return xpi_ioctl_ioeventfd(f, udata);
	case XEN_PCI_IOREQ_IRQFD:
		return xpi_ioctl_irqfd(f, udata);
	case XEN_PCI_IOREQ_MSI:
		return xpi_ioctl_msi(f, udata);
	case XEN_PCI_IOREQ_RELEASE_SERVER:
		return xpi_ioctl_release_server(f, arg);
	default:
		return -ENOTTY;
	}
}

static bool xpi_readable(struct xpi_file *f, struct xpi_guest *g)
{
	return READ_ONCE(g->dead) || !list_empty_careful(&f->queue) ||
	       xpi_inval_pending(f);
}

static ssize_t xpi_read(struct file *filp, char __user *buf, size_t count,
			loff_t *ppos)
{
	struct xpi_file *f = filp->private_data;
	struct xpi_guest *g = xpi_file_guest(f);
	struct xen_pci_ioreq_request *recs;
	bool requeued = false;
	size_t max, n = 0;
	u64 inval_was = 0;
	ssize_t ret;

	if (!g || count < sizeof(*recs))
		return -EINVAL;
	/* A request per vCPU, and an invalidate. */
	max = min_t(size_t, count / sizeof(*recs), g->nr_vcpus + 1);
	recs = kmalloc_array(max, sizeof(*recs), GFP_KERNEL);
	if (!recs)
		return -ENOMEM;

	for (;;) {
		spin_lock_irq(&g->lock);
		if (g->dead) {
			spin_unlock_irq(&g->lock);
			ret = -ENODEV;
			goto out;
		}
		/*
		 * First, so that a backend drops its mappings before it
		 * serves what the guest asked after the invalidate.
		 */
		if (xpi_inval_pending(f)) {
			inval_was = f->inval_sent;
			xpi_inval_record(f, &recs[n++]);
		}
		while (n < max && !list_empty(&f->queue)) {
			struct xpi_vcpu *v = list_first_entry(&f->queue,
							      struct xpi_vcpu,
							      node);

			list_del_init(&v->node);
			v->state = XPI_REQ_DELIVERED;
			recs[n++] = v->rec;
			g->stats.delivered++;
		}
		spin_unlock_irq(&g->lock);
		if (n)
			break;
		if (filp->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out;
		}
		ret = wait_event_interruptible(f->wq, xpi_readable(f, g));
		if (ret)
			goto out;
	}

	ret = n * sizeof(*recs);
	if (copy_to_user(buf, recs, ret)) {
		/* Not delivered after all: back to the head of the queue. */
		spin_lock_irq(&g->lock);
		while (n--) {
			struct xpi_vcpu *v;

			if (recs[n].kind == XEN_PCI_IOREQ_KIND_INVALIDATE) {
				/* Unless another read() took a newer one. */
				if (!g->dead && f->inval_sent ==
				    recs[n].id >> XPI_ID_VCPU_BITS) {
					WRITE_ONCE(f->inval_sent, inval_was);
					g->stats.delivered--;
					requeued = true;
				}
				continue;
			}
			v = &g->vcpus[recs[n].id & XPI_ID_VCPU_MASK];
			if (g->dead || v->state != XPI_REQ_DELIVERED ||
			    v->file != f || v->rec.id != recs[n].id)
				continue;
			v->state = XPI_REQ_QUEUED;
			list_add(&v->node, &f->queue);
			g->stats.delivered--;
			requeued = true;
		}
		spin_unlock_irq(&g->lock);
		/* Another reader or an epoll waiter may take them now. */
		if (requeued)
			wake_up_interruptible_poll(&f->wq, EPOLLIN | EPOLLRDNORM);
		ret = -EFAULT;
	}
out:
	kfree(recs);
	return ret;
}

static ssize_t xpi_write(struct file *filp, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct xpi_file *f = filp->private_data;
	struct xpi_guest *g = xpi_file_guest(f);
	struct xen_pci_ioreq_response r;
	size_t done;
	int ret = 0;

	if (!g || count % sizeof(r))
		return -EINVAL;
	for (done = 0; done < count; done += sizeof(r)) {
		if (copy_from_user(&r, buf + done, sizeof(r))) {
			ret = -EFAULT;
			break;
		}
		ret = xpi_complete(g, f, &r);
		if (ret)
			break;
	}
	return done ? done : ret;
}

static __poll_t xpi_poll(struct file *filp, poll_table *wait)
{
	struct xpi_file *f = filp->private_data;
	struct xpi_guest *g = xpi_file_guest(f);
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	/*
	 * Always on the wait queue, bound or not: an epoll set that takes the
	 * file before XEN_PCI_IOREQ_BIND must hear of the requests after it.
	 */
	poll_wait(filp, &f->wq, wait);
	/*
	 * Unbound: nothing to report yet. An error here would be reported
	 * to a waiter whatever it asked for, and a level-triggered epoll set
	 * that took the file before BIND would spin on it.
	 */
	if (!g)
		return 0;
	if (READ_ONCE(g->dead))
		return EPOLLHUP;
	if (!list_empty_careful(&f->queue) || xpi_inval_pending(f))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static const struct file_operations xpi_fops = {
	.owner = THIS_MODULE,
	.open = xpi_open,
	.flush = xpi_flush,
	.release = xpi_release,
	.read = xpi_read,
	.write = xpi_write,
	.poll = xpi_poll,
	.unlocked_ioctl = xpi_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int __init xpi_init(void)
{
	int rc;

	/*
	 * dom0, or a driver domain that dom0 made the device model of the
	 * guests it serves (XEN_DOMCTL_set_target): Xen lets a domain serve
	 * only those.
	 */
	if (!xen_domain())
		return -ENODEV;
	if (!xen_feature(XENFEAT_auto_translated_physmap)) {
		pr_info("needs an auto-translated domain (Arm, PVH)\n");
		return -ENODEV;
	}

	mutex_init(&xpi.lock);
	INIT_LIST_HEAD(&xpi.guests);
	xpi.misc.minor = MISC_DYNAMIC_MINOR;
	xpi.misc.name = "xen/pci-ioreq";
	xpi.misc.fops = &xpi_fops;
	xpi.xs_nb.notifier_call = xpi_xenstore_ready;
	xpi.watch.node = "@releaseDomain";
	xpi.watch.callback = xpi_release_domain;
	INIT_DELAYED_WORK(&xpi.reaper, xpi_reap);

	xpi.debugfs = debugfs_create_dir("xen-pci-ioreq", NULL);
	fault_create_debugfs_attr("fail_server_setup", xpi.debugfs,
				  &xpi_fail_setup);
	fault_create_debugfs_attr("fail_release_watch", xpi.debugfs,
				  &xpi_fail_watch);
	debugfs_create_u32("release_delay_ms", 0600, xpi.debugfs,
			   &xpi.release_delay_ms);
	rc = misc_register(&xpi.misc);
	if (rc) {
		debugfs_remove_recursive(xpi.debugfs);
		return rc;
	}
	/* Calls xpi_xenstore_ready() now, or once xenstored runs. */
	register_xenstore_notifier(&xpi.xs_nb);
	return 0;
}

static void __exit xpi_exit(void)
{
	/* No file is open and no server lives: either holds the module. */
	WARN_ON(!list_empty(&xpi.guests));
	misc_deregister(&xpi.misc);
	unregister_xenstore_notifier(&xpi.xs_nb);
	if (xpi.watching)
		unregister_xenbus_watch(&xpi.watch);
	cancel_delayed_work_sync(&xpi.reaper);
	debugfs_remove_recursive(xpi.debugfs);
}

module_init(xpi_init);
module_exit(xpi_exit);

MODULE_DESCRIPTION("Xen: userspace backends for single PCI functions of guests");
MODULE_LICENSE("GPL");
