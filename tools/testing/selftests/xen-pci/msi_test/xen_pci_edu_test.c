// SPDX-License-Identifier: GPL-2.0
/*
 * xen_pci_edu_test: a test driver for QEMU's "edu" device (1234:11e8) as
 * samples/xen/pci-passthrough hands it to a Xen guest, so that the guest's
 * own PCI core can take the device's interrupts, INTx and MSI, and count
 * them. The selftest pt_irq drives it.
 *
 * The edu device raises an interrupt when its Interrupt Raise register is
 * written, keeps it pending in its Interrupt Status register until the
 * bits are written to Interrupt Acknowledge, and does no DMA unless asked.
 *
 * It has no ID table: it binds only to a function whose driver_override
 * names it, and checks the device's identification register. Its debugfs
 * folder, xen_pci_edu_test/<function>/, holds:
 *
 *   mode     write "intx", "msi" or "none": free the interrupt, then take
 *            the device's INTx or its MSI vector (through
 *            pci_alloc_irq_vectors()); read "MODE IRQ"
 *   chain    write N: raise N interrupts in a chain: the handler
 *            acknowledges each and queues a work item that raises the next,
 *            until N went (a lost interrupt stops the chain); 0 stops it
 *   counts   "taken T left L spurious S errors E": interrupts that found
 *            the device pending, raises still to come, interrupts that found
 *            nothing, and those that read a status the device cannot have
 *            (all ones: the read did not reach it)
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/workqueue.h>

#define DRV_NAME	"xen_pci_edu_test"

#define EDU_ID		0x00	/* 0xRRrr00ed: version and the edu tag */
#define EDU_ID_TAG	0xff
#define EDU_ID_EDU	0xed
#define EDU_IRQ_STATUS	0x24
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64
#define EDU_IRQ_RAISED	0x1	/* what the chain writes to raise */

enum xpet_mode { XPET_NONE, XPET_INTX, XPET_MSI };

static const char * const xpet_mode_names[] = {
	[XPET_NONE] = "none",
	[XPET_INTX] = "intx",
	[XPET_MSI] = "msi",
};

/**
 * struct xpet - one edu device
 * @pdev: the device
 * @regs: its BAR 0
 * @dir: its debugfs folder
 * @lock: serializes mode changes and the start of a chain
 * @mode: the interrupt it has now
 * @irq: its Linux interrupt, if @mode is not XPET_NONE
 * @taken: interrupts that found the device pending
 * @spurious: interrupts that found nothing pending
 * @errors: interrupts that read a status the device cannot have
 * @left: raises the chain still asks for
 * @next: raises the chain's next interrupt (a work item, as in
 *	xen_pci_msi_test: an irq thread would hog its CPU)
 */
struct xpet {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct dentry *dir;
	struct mutex lock;	/* of @mode, @irq, the start of a chain */
	enum xpet_mode mode;
	int irq;
	atomic_long_t taken;
	atomic_long_t spurious;
	atomic_long_t errors;
	atomic_t left;
	struct work_struct next;
};

static struct dentry *xpet_root;

/*
 * Acknowledge what the device holds pending. An INTx line may be shared,
 * and a forwarded INTx may arrive once more after its service: nothing
 * pending is not ours.
 */
static irqreturn_t xpet_irq(int irq, void *data)
{
	struct xpet *t = data;
	u32 status = ioread32(t->regs + EDU_IRQ_STATUS);

	if (!status) {
		atomic_long_inc(&t->spurious);
		return IRQ_NONE;
	}
	/* All ones: the read went nowhere; the chain stops here. */
	if (status & ~EDU_IRQ_RAISED) {
		atomic_long_inc(&t->errors);
		return IRQ_NONE;
	}
	iowrite32(status, t->regs + EDU_IRQ_ACK);
	atomic_long_inc(&t->taken);
	if (atomic_dec_if_positive(&t->left) >= 0)
		queue_work(system_highpri_wq, &t->next);
	return IRQ_HANDLED;
}

/* The next raise of the chain, once this one was taken. */
static void xpet_next(struct work_struct *work)
{
	struct xpet *t = container_of(work, struct xpet, next);

	iowrite32(EDU_IRQ_RAISED, t->regs + EDU_IRQ_RAISE);
}

static void xpet_irq_free(struct xpet *t)
{
	if (t->mode == XPET_NONE)
		return;
	atomic_set(&t->left, 0);
	free_irq(t->irq, t);
	cancel_work_sync(&t->next);
	pci_free_irq_vectors(t->pdev);
	/* A raise queued before the chain stopped may have come through. */
	iowrite32(ioread32(t->regs + EDU_IRQ_STATUS) & EDU_IRQ_RAISED,
		  t->regs + EDU_IRQ_ACK);
	t->mode = XPET_NONE;
}

static int xpet_irq_take(struct xpet *t, enum xpet_mode mode)
{
	struct device *dev = &t->pdev->dev;
	int ret;

	ret = pci_alloc_irq_vectors(t->pdev, 1, 1,
				    mode == XPET_MSI ? PCI_IRQ_MSI : PCI_IRQ_INTX);
	if (ret < 0) {
		dev_err(dev, "no %s vector: %d\n", xpet_mode_names[mode], ret);
		return ret;
	}
	t->irq = pci_irq_vector(t->pdev, 0);
	ret = request_irq(t->irq, xpet_irq, mode == XPET_INTX ? IRQF_SHARED : 0,
			  DRV_NAME, t);
	if (ret) {
		dev_err(dev, "IRQ %d: %d\n", t->irq, ret);
		pci_free_irq_vectors(t->pdev);
		return ret;
	}
	t->mode = mode;
	return 0;
}

static ssize_t mode_write(struct file *f, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	struct xpet *t = file_inode(f)->i_private;
	char buf[8];
	int mode, ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	mode = sysfs_match_string(xpet_mode_names, buf);
	if (mode < 0)
		return mode;
	mutex_lock(&t->lock);
	xpet_irq_free(t);
	ret = mode == XPET_NONE ? 0 : xpet_irq_take(t, mode);
	mutex_unlock(&t->lock);
	return ret ?: len;
}

static int mode_show(struct seq_file *s, void *unused)
{
	struct xpet *t = s->private;

	mutex_lock(&t->lock);
	seq_printf(s, "%s %d\n", xpet_mode_names[t->mode],
		   t->mode == XPET_NONE ? -1 : t->irq);
	mutex_unlock(&t->lock);
	return 0;
}

static int mode_open(struct inode *inode, struct file *f)
{
	return single_open(f, mode_show, inode->i_private);
}

static const struct file_operations mode_fops = {
	.owner		= THIS_MODULE,
	.open		= mode_open,
	.read		= seq_read,
	.write		= mode_write,
	.llseek		= seq_lseek,
	.release	= single_release,
};

static int chain_set(void *data, u64 n)
{
	struct xpet *t = data;
	int ret = 0;

	if (n > INT_MAX)
		return -EINVAL;
	mutex_lock(&t->lock);
	if (t->mode == XPET_NONE && n) {
		ret = -ENXIO;
	} else {
		atomic_set(&t->left, n ? n - 1 : 0);
		if (n)
			iowrite32(EDU_IRQ_RAISED, t->regs + EDU_IRQ_RAISE);
	}
	mutex_unlock(&t->lock);
	return ret;
}
DEFINE_DEBUGFS_ATTRIBUTE(chain_fops, NULL, chain_set, "%llu\n");

static int counts_show(struct seq_file *s, void *unused)
{
	struct xpet *t = s->private;

	seq_printf(s, "taken %ld left %d spurious %ld errors %ld\n",
		   atomic_long_read(&t->taken), atomic_read(&t->left),
		   atomic_long_read(&t->spurious),
		   atomic_long_read(&t->errors));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counts);

static int xpet_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct xpet *t;
	u32 ident;
	int ret;

	t = devm_kzalloc(dev, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->pdev = pdev;
	mutex_init(&t->lock);
	INIT_WORK(&t->next, xpet_next);
	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable the device\n");
	t->regs = pcim_iomap_region(pdev, 0, DRV_NAME);
	if (IS_ERR(t->regs))
		return dev_err_probe(dev, PTR_ERR(t->regs), "BAR 0\n");
	ident = ioread32(t->regs + EDU_ID);
	if ((ident & EDU_ID_TAG) != EDU_ID_EDU)
		return dev_err_probe(dev, -ENODEV, "not an edu device (%#x)\n",
				     ident);
	/* An MSI is a write of the device's: it needs Bus Master. */
	pci_set_master(pdev);

	t->dir = debugfs_create_dir(pci_name(pdev), xpet_root);
	debugfs_create_file("mode", 0600, t->dir, t, &mode_fops);
	debugfs_create_file_unsafe("chain", 0200, t->dir, t, &chain_fops);
	debugfs_create_file("counts", 0400, t->dir, t, &counts_fops);
	pci_set_drvdata(pdev, t);
	return 0;
}

static void xpet_remove(struct pci_dev *pdev)
{
	struct xpet *t = pci_get_drvdata(pdev);

	debugfs_remove_recursive(t->dir);
	mutex_lock(&t->lock);
	xpet_irq_free(t);
	mutex_unlock(&t->lock);
	pci_clear_master(pdev);
}

static struct pci_driver xpet_driver = {
	.name		= DRV_NAME,
	.probe		= xpet_probe,
	.remove		= xpet_remove,
};

static int __init xpet_init(void)
{
	int ret;

	xpet_root = debugfs_create_dir(DRV_NAME, NULL);
	ret = pci_register_driver(&xpet_driver);
	if (ret)
		debugfs_remove(xpet_root);
	return ret;
}
module_init(xpet_init);

static void __exit xpet_exit(void)
{
	pci_unregister_driver(&xpet_driver);
	debugfs_remove(xpet_root);
}
module_exit(xpet_exit);

MODULE_DESCRIPTION("Test driver for the interrupts of QEMU's edu device passed through to a Xen guest");
MODULE_LICENSE("GPL");
