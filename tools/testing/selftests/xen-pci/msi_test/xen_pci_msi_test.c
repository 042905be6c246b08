// SPDX-License-Identifier: GPL-2.0
/*
 * xen_pci_msi_test: a test driver for the MSI-X vectors of the function that
 * samples/xen/pci-ioreq-emu emulates (pci-ioreq-emu.h), so that a Xen guest
 * whose root complex is its MSI controller (pcie-xen-vpci with "msi-ranges")
 * can check, through the PCI core's own MSI-X code, what the device model
 * and dom0 make of its vectors. The selftest pci_msi drives it.
 *
 * It has no ID table: it binds only to a function whose driver_override
 * names it. It takes all EMU_MSIX_VECTORS vectors with MSI-X (or fails the
 * probe) and counts the interrupts of each. Its debugfs folder,
 * xen_pci_msi_test/<function>/, holds:
 *
 *   counts   "VECTOR IRQ COUNT" for each vector
 *   chain    write N: each vector is signalled N times, in a chain: its
 *            interrupt asks the function for the next signal (from a work
 *            item) until N went (a lost interrupt stops its chain); 0
 *            stops the chains
 *   signal   write V: ask the function to signal vector V once
 *   mask     write V: mask vector V now (disable_irq() without the lazy
 *            path: the table entry's mask bit is set before it returns)
 *   unmask   write V: enable_irq(), which clears the mask bit
 *   entry    read: "VECTOR ADDRESS DATA CONTROL" of each table entry;
 *            write "V ADDRESS DATA": write vector V's table entry behind
 *            the PCI core's back, as a hostile guest would
 *   regs     the function's MSI-X counters and its pending bit array
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/irq.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/workqueue.h>

#include "pci-ioreq-emu.h"

#define DRV_NAME	"xen_pci_msi_test"

struct xpmt;

/**
 * struct xpmt_vec - one vector
 * @t: its function
 * @nr: its index in the MSI-X table
 * @irq: its Linux interrupt
 * @count: interrupts taken
 * @left: signals the chain still asks for
 * @next: asks the function for the chain's next signal
 * @masked: masked by a write to "mask"
 */
struct xpmt_vec {
	struct xpmt *t;
	unsigned int nr;
	int irq;
	atomic_long_t count;
	atomic_t left;
	struct work_struct next;
	bool masked;
};

/**
 * struct xpmt - a bound function
 * @pdev: the function
 * @regs: BAR 0, the registers
 * @table: BAR 1, the MSI-X table and pending bit array
 * @dir: its debugfs folder
 * @lock: serialises mask, unmask and entry writes
 * @vec: its vectors
 */
struct xpmt {
	struct pci_dev *pdev;
	void __iomem *regs;
	void __iomem *table;
	struct dentry *dir;
	struct mutex lock;		/* mask, unmask, entry */
	struct xpmt_vec vec[EMU_MSIX_VECTORS];
};

static struct dentry *xpmt_root;

static irqreturn_t xpmt_irq(int irq, void *data)
{
	struct xpmt_vec *v = data;

	atomic_long_inc(&v->count);
	if (atomic_dec_if_positive(&v->left) >= 0)
		queue_work(system_highpri_wq, &v->next);
	return IRQ_HANDLED;
}

/*
 * A chain's next signal comes from a work item of the CPU that took the
 * interrupt. Asked for from the hard interrupt handler, it would come back
 * before the handler returned, and the storm would hold its CPU in
 * interrupt context; from the vector's irq thread, a SCHED_FIFO task that
 * is always runnable during a storm, it starved the CPU's other tasks
 * (the guest's RCU grace-period kthread for 65 s: "rcu_sched kthread
 * starved"). A work item of the high-priority workqueue (a nice -20
 * kworker) shares the CPU and still keeps the chain going.
 */
static void xpmt_next(struct work_struct *work)
{
	struct xpmt_vec *v = container_of(work, struct xpmt_vec, next);

	iowrite32(v->nr, v->t->regs + EMU_REG_MSIX_SIGNAL);
}

static int counts_show(struct seq_file *m, void *unused)
{
	struct xpmt *t = m->private;
	unsigned int i;

	for (i = 0; i < EMU_MSIX_VECTORS; i++)
		seq_printf(m, "%u %d %ld\n", i, t->vec[i].irq,
			   atomic_long_read(&t->vec[i].count));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counts);

static int regs_show(struct seq_file *m, void *unused)
{
	struct xpmt *t = m->private;

	seq_printf(m, "sent %u\npended %u\nreleased %u\nrefused %u\npba %#x\n",
		   ioread32(t->regs + EMU_REG_MSIX_SENT),
		   ioread32(t->regs + EMU_REG_MSIX_PENDED),
		   ioread32(t->regs + EMU_REG_MSIX_RELEASED),
		   ioread32(t->regs + EMU_REG_MSIX_REFUSED),
		   ioread32(t->table + EMU_MSIX_PBA_OFF));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(regs);

static int entry_show(struct seq_file *m, void *unused)
{
	struct xpmt *t = m->private;
	void __iomem *e;
	unsigned int i;

	for (i = 0; i < EMU_MSIX_VECTORS; i++) {
		e = t->table + i * PCI_MSIX_ENTRY_SIZE;
		seq_printf(m, "%u %#llx %#x %#x\n", i,
			   (u64)ioread32(e + PCI_MSIX_ENTRY_UPPER_ADDR) << 32 |
			   ioread32(e + PCI_MSIX_ENTRY_LOWER_ADDR),
			   ioread32(e + PCI_MSIX_ENTRY_DATA),
			   ioread32(e + PCI_MSIX_ENTRY_VECTOR_CTRL));
	}
	return 0;
}

static ssize_t entry_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	struct xpmt *t = file_inode(file)->i_private;
	unsigned int vec, data;
	void __iomem *e;
	char buf[64];
	u64 addr;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "%u %llx %x", &vec, &addr, &data) != 3 ||
	    vec >= EMU_MSIX_VECTORS)
		return -EINVAL;
	e = t->table + vec * PCI_MSIX_ENTRY_SIZE;
	guard(mutex)(&t->lock);
	iowrite32(lower_32_bits(addr), e + PCI_MSIX_ENTRY_LOWER_ADDR);
	iowrite32(upper_32_bits(addr), e + PCI_MSIX_ENTRY_UPPER_ADDR);
	iowrite32(data, e + PCI_MSIX_ENTRY_DATA);
	return len;
}
DEFINE_SHOW_STORE_ATTRIBUTE(entry);

static int xpmt_signal(struct xpmt_vec *v)
{
	iowrite32(v->nr, v->t->regs + EMU_REG_MSIX_SIGNAL);
	return 0;
}

static int xpmt_mask(struct xpmt_vec *v)
{
	guard(mutex)(&v->t->lock);
	if (v->masked)
		return -EBUSY;
	disable_irq(v->irq);
	v->masked = true;
	return 0;
}

static int xpmt_unmask(struct xpmt_vec *v)
{
	guard(mutex)(&v->t->lock);
	if (!v->masked)
		return -EINVAL;
	enable_irq(v->irq);
	v->masked = false;
	return 0;
}

/* A vector number written to a file of the folder: @op on that vector. */
static ssize_t xpmt_vec_write(struct file *file, const char __user *ubuf,
			      size_t len, int (*op)(struct xpmt_vec *v))
{
	struct xpmt *t = file_inode(file)->i_private;
	unsigned int vec;
	int ret;

	ret = kstrtouint_from_user(ubuf, len, 0, &vec);
	if (ret)
		return ret;
	if (vec >= EMU_MSIX_VECTORS)
		return -EINVAL;
	ret = op(&t->vec[vec]);
	return ret ? ret : len;
}

/* The write-only file @name: xpmt_@name() on the vector written to it. */
#define XPMT_VEC_FILE(name)						\
static ssize_t name##_write(struct file *file, const char __user *ubuf,	\
			    size_t len, loff_t *ppos)			\
{									\
	return xpmt_vec_write(file, ubuf, len, xpmt_##name);		\
}									\
static const struct file_operations name##_fops = {			\
	.owner	= THIS_MODULE,						\
	.open	= simple_open,						\
	.write	= name##_write,						\
}

XPMT_VEC_FILE(signal);
XPMT_VEC_FILE(mask);
XPMT_VEC_FILE(unmask);

static ssize_t chain_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	struct xpmt *t = file_inode(file)->i_private;
	unsigned int n, i;
	int ret;

	ret = kstrtouint_from_user(ubuf, len, 0, &n);
	if (ret)
		return ret;
	if (n > INT_MAX)
		return -ERANGE;
	for (i = 0; i < EMU_MSIX_VECTORS; i++)
		atomic_set(&t->vec[i].left, n ? n - 1 : 0);
	for (i = 0; i < EMU_MSIX_VECTORS && n; i++)
		iowrite32(i, t->regs + EMU_REG_MSIX_SIGNAL);
	return len;
}

static const struct file_operations chain_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= chain_write,
};

static int xpmt_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	unsigned int i;
	struct xpmt *t;
	int ret;

	if (pdev->vendor != EMU_VENDOR_ID || pdev->device != EMU_DEVICE_ID)
		return -ENODEV;
	t = devm_kzalloc(dev, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->pdev = pdev;
	ret = devm_mutex_init(dev, &t->lock);
	if (ret)
		return ret;
	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable the function\n");
	t->regs = pcim_iomap_region(pdev, 0, DRV_NAME);
	if (IS_ERR(t->regs))
		return dev_err_probe(dev, PTR_ERR(t->regs), "BAR 0\n");
	if (!(ioread32(t->regs + EMU_REG_FEATURES) & EMU_FEAT_MSIX) ||
	    !pdev->msix_cap)
		return dev_err_probe(dev, -ENODEV, "the function has no MSI-X\n");
	t->table = pcim_iomap_region(pdev, 1, DRV_NAME);
	if (IS_ERR(t->table))
		return dev_err_probe(dev, PTR_ERR(t->table), "BAR 1\n");
	pci_set_master(pdev);

	ret = pci_alloc_irq_vectors(pdev, EMU_MSIX_VECTORS, EMU_MSIX_VECTORS,
				    PCI_IRQ_MSIX);
	if (ret < 0)
		return dev_err_probe(dev, ret, "%u MSI-X vectors\n",
				     EMU_MSIX_VECTORS);
	for (i = 0; i < EMU_MSIX_VECTORS; i++) {
		struct xpmt_vec *v = &t->vec[i];

		v->t = t;
		v->nr = i;
		v->irq = pci_irq_vector(pdev, i);
		/* "mask" masks at once, not at the next interrupt */
		irq_set_status_flags(v->irq, IRQ_DISABLE_UNLAZY);
		INIT_WORK(&v->next, xpmt_next);
		ret = devm_request_irq(dev, v->irq, xpmt_irq, 0, DRV_NAME, v);
		if (ret)
			return dev_err_probe(dev, ret, "vector %u\n", i);
	}

	t->dir = debugfs_create_dir(pci_name(pdev), xpmt_root);
	debugfs_create_file("counts", 0400, t->dir, t, &counts_fops);
	debugfs_create_file("regs", 0400, t->dir, t, &regs_fops);
	debugfs_create_file("entry", 0600, t->dir, t, &entry_fops);
	debugfs_create_file("signal", 0200, t->dir, t, &signal_fops);
	debugfs_create_file("mask", 0200, t->dir, t, &mask_fops);
	debugfs_create_file("unmask", 0200, t->dir, t, &unmask_fops);
	debugfs_create_file("chain", 0200, t->dir, t, &chain_fops);
	pci_set_drvdata(pdev, t);
	return 0;
}

/*
 * The chains stop (no handler queues a signal once it has run after
 * left = 0), then the interrupts, the vectors (the function is managed:
 * pcim_enable_device()) and the mappings go with the device's resources,
 * in that order.
 */
static void xpmt_remove(struct pci_dev *pdev)
{
	struct xpmt *t = pci_get_drvdata(pdev);
	unsigned int i;

	debugfs_remove_recursive(t->dir);
	for (i = 0; i < EMU_MSIX_VECTORS; i++) {
		atomic_set(&t->vec[i].left, 0);
		synchronize_irq(t->vec[i].irq);
		cancel_work_sync(&t->vec[i].next);
		if (t->vec[i].masked)
			enable_irq(t->vec[i].irq);
	}
}

static struct pci_driver xpmt_driver = {
	.name		= DRV_NAME,
	.probe		= xpmt_probe,
	.remove		= xpmt_remove,
};

static int __init xpmt_init(void)
{
	int ret;

	xpmt_root = debugfs_create_dir(DRV_NAME, NULL);
	ret = pci_register_driver(&xpmt_driver);
	if (ret)
		debugfs_remove_recursive(xpmt_root);
	return ret;
}
module_init(xpmt_init);

static void __exit xpmt_exit(void)
{
	pci_unregister_driver(&xpmt_driver);
	debugfs_remove_recursive(xpmt_root);
}
module_exit(xpmt_exit);

MODULE_DESCRIPTION("Test driver for the MSI-X vectors of the xen-pci selftests' emulated function");
MODULE_LICENSE("GPL");
