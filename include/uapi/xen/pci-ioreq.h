/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * /dev/xen/pci-ioreq: serve single PCI functions of a Xen guest from dom0
 * userspace.
 *
 * A backend opens the device, binds the file to one guest, registers the
 * functions (segment, bus, device, function) it emulates, reads the guest's
 * config-space and BAR MMIO accesses to them as struct xen_pci_ioreq_request
 * records, and completes each with a struct xen_pci_ioreq_response. The
 * kernel owns the guest's Xen ioreq server and shares it between all the
 * backends of that guest; accesses to functions nobody registered are
 * answered in the kernel as by hardware (reads all ones, writes ignored).
 *
 * See Documentation/userspace-api/xen-pci-ioreq.rst.
 */

#ifndef _UAPI_XEN_PCI_IOREQ_H
#define _UAPI_XEN_PCI_IOREQ_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Bit 0 of the flags of struct xen_pci_ioreq_bind is retired: before this
 * interface was released it was XEN_PCI_IOREQ_BIND_KEEP, which kept the
 * guest's ioreq server after its last file, as every server now stays. A
 * BIND that sets it fails with -EINVAL, and it never gets another meaning.
 */
/* The bind names the guest's root complex in @layout (ECAM mode only). */
#define XEN_PCI_IOREQ_BIND_LAYOUT	(1 << 1)
/*
 * Hand this file Xen's requests to drop mappings of guest memory
 * (%XEN_PCI_IOREQ_KIND_INVALIDATE records), and make the guest wait until
 * it completes them: for a backend that keeps guest memory mapped.
 */
#define XEN_PCI_IOREQ_BIND_INVALIDATE	(1 << 2)

/**
 * struct xen_pci_ioreq_window - a range of guest physical addresses
 * @base: the first address
 * @size: its size in bytes
 */
struct xen_pci_ioreq_window {
	__u64 base;
	__u64 size;
};

/**
 * struct xen_pci_ioreq_layout - where a guest sees its PCI root complex
 * @ecam: the ECAM window, 1 MiB aligned, 1 MiB (one bus) to 256 MiB long
 * @mem: the two memory windows of the root complex, in the guest's device
 *	tree order (non-prefetchable, prefetchable); page aligned, a size of
 *	0 for a window the root complex does not have. Bus addresses equal
 *	guest physical addresses in them.
 * @intx_base: the GIC interrupt ID of the first of the four INTx lines;
 *	pin P (1 = INTA) of slot S on the root bus raises @intx_base +
 *	((S + P - 1) % 4), as the guest's "interrupt-map" must say
 * @msi_base: the GIC interrupt ID of MSI vector 0, or 0 if the root
 *	complex has no MSI; vector n raises @msi_base + n, as the guest's
 *	"msi-ranges" must say
 * @msi_doorbell: the guest physical address of the MSI doorbell, a 4 KiB
 *	page inside @mem[0]; 0 without MSI
 * @msi_count: the number of MSI vectors; 0 without MSI
 * @reserved: must be 0
 *
 * None of the windows may overlap another, nor the MSI vectors the INTx
 * lines. Without %XEN_PCI_IOREQ_BIND_LAYOUT the guest has the layout Xen's
 * toolstack gives an Arm guest: ECAM at 0x10000000 (256 MiB), memory at
 * 0x23000000 (256 MiB) and 0x100000000 (4 GiB), INTx on interrupt IDs 44 to
 * 47, and no MSI.
 */
struct xen_pci_ioreq_layout {
	struct xen_pci_ioreq_window ecam;
	struct xen_pci_ioreq_window mem[2];
	__u32 intx_base;
	__u32 msi_base;
	__u64 msi_doorbell;
	__u32 msi_count;
	__u32 reserved;
};

/**
 * struct xen_pci_ioreq_bind - bind the file to a root complex of a guest
 * @domid: the guest's domain id; not dom0, not DOMID_SELF
 * @flags: %XEN_PCI_IOREQ_BIND_LAYOUT, %XEN_PCI_IOREQ_BIND_INVALIDATE, or 0;
 *	any other bit gives -EINVAL
 * @reserved: must be 0
 * @layout: with %XEN_PCI_IOREQ_BIND_LAYOUT, the root complex; else all 0
 *
 * Once bound, a file never touches another domain. Binding twice fails with
 * -EBUSY (-ENODEV once the guest died), a domain that does not exist with
 * -ESRCH. The first file bound to a root complex (a guest and an ECAM
 * window) creates its ioreq server; the files bound after it share it, and
 * must name the same layout, else -EBUSY; so must a root complex whose
 * windows or INTx lines overlap another's of the same guest, or whose
 * windows take in a BAR range that another root complex claimed outside
 * its own.
 *
 * The server lives as long as the guest, whether files are bound to it or
 * not: when a backend exits, crashes or restarts, the guest's accesses to
 * its functions read all ones (as absent functions do) until a backend
 * registers them again, and never find the root complex gone (which on Arm
 * is a data abort in the guest). It goes with the guest, or with its last
 * file if that file asked with %XEN_PCI_IOREQ_RELEASE_SERVER.
 *
 * A file bound with %XEN_PCI_IOREQ_BIND_INVALIDATE reads invalidate records
 * besides the accesses to its functions (see struct xen_pci_ioreq_request);
 * the others never see one.
 */
struct xen_pci_ioreq_bind {
	__u16 domid;
	__u16 flags;
	__u32 reserved;
	struct xen_pci_ioreq_layout layout;
};

/* The kernel decodes the guest's ECAM window itself (Arm: Xen has no vPCI). */
#define XEN_PCI_IOREQ_MODE_ECAM		1
/* Xen decodes config cycles and forwards them per function (x86 HVM). */
#define XEN_PCI_IOREQ_MODE_PCI		2

/**
 * struct xen_pci_ioreq_info - what a backend needs to know about its guest
 * @domid: the bound guest
 * @reserved1: 0
 * @nr_vcpus: number of vCPUs of the guest (vCPU ids are below it)
 * @mode: %XEN_PCI_IOREQ_MODE_ECAM or %XEN_PCI_IOREQ_MODE_PCI
 * @reserved0: 0
 * @layout: the root complex the file serves in ECAM mode, else all 0
 * @reserved: 0
 */
struct xen_pci_ioreq_info {
	__u16 domid;
	__u16 reserved1;
	__u32 nr_vcpus;
	__u32 mode;
	__u32 reserved0;
	struct xen_pci_ioreq_layout layout;
	__u64 reserved;
};

/**
 * struct xen_pci_ioreq_function - a PCI function of the guest
 * @segment: PCI segment (domain); 0 on Arm guests
 * @bus: bus number
 * @devfn: device (bits 7-3) and function (bits 2-0), as PCI_DEVFN()
 * @flags: must be 0
 * @reserved: must be 0
 */
struct xen_pci_ioreq_function {
	__u16 segment;
	__u8 bus;
	__u8 devfn;
	__u32 flags;
	__u64 reserved;
};

/* The @bar of the expansion ROM, as PCI_ROM_RESOURCE. */
#define XEN_PCI_IOREQ_BAR_ROM		6
/* The @bar of a request that is no BAR access (a config access). */
#define XEN_PCI_IOREQ_BAR_NONE		0xff

/**
 * struct xen_pci_ioreq_mmio - a guest-physical MMIO range of a function
 * @fn: the function, which this file must have registered
 * @bar: BAR index 0-5, or %XEN_PCI_IOREQ_BAR_ROM; echoed in requests
 * @reserved0: must be 0
 * @flags: must be 0
 * @addr: guest physical start address
 * @size: size in bytes, non-zero; @addr + @size must not wrap
 * @reserved: must be 0
 *
 * The backend adds a range when the guest enables decoding of a BAR and
 * removes it when the guest moves the BAR or disables decoding. Removing
 * takes exactly the @fn, @addr and @size that were added.
 */
struct xen_pci_ioreq_mmio {
	struct xen_pci_ioreq_function fn;
	__u8 bar;
	__u8 reserved0[3];
	__u32 flags;
	__u64 addr;
	__u64 size;
	__u64 reserved;
};

/**
 * struct xen_pci_ioreq_intx - drive the INTx line of a function
 * @fn: the function, which this file must have registered
 * @pin: 1 (INTA) to 4 (INTD), as the Interrupt Pin register says
 * @level: 1 asserts the line, 0 deasserts it
 * @reserved0: must be 0
 * @reserved: must be 0
 */
struct xen_pci_ioreq_intx {
	struct xen_pci_ioreq_function fn;
	__u8 pin;
	__u8 level;
	__u16 reserved0;
	__u32 reserved;
};

/* Match only writes that carry @data. */
#define XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH	(1 << 0)
/* Remove the ioeventfd that has these @fn, @fd, @addr, @size and @data. */
#define XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN	(1 << 1)

/**
 * struct xen_pci_ioreq_ioeventfd - complete guest writes in the kernel
 * @fn: the function, which this file must have registered
 * @fd: an eventfd, signalled once for each matching write
 * @flags: %XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH, %XEN_PCI_IOREQ_IOEVENTFD_DEASSIGN
 * @addr: guest physical address, inside a BAR range that @fn added
 * @size: size of the writes that match: 1, 2, 4 or 8 bytes
 * @reserved0: must be 0
 * @data: with %XEN_PCI_IOREQ_IOEVENTFD_DATAMATCH, the value (in the low
 *	@size bytes) that a write must carry; otherwise must be 0
 * @reserved: must be 0
 *
 * A guest write of @size bytes at @addr (carrying @data, with DATAMATCH) is
 * completed by the kernel and signals @fd: the backend reads no request
 * for it. Reads and other writes are requests, as before. An ioeventfd
 * goes away with the BAR range it lies in, with its function, with the
 * guest, and when @fd is closed (its last file): from then on the writes
 * are requests again. Adding one that exists gives -EEXIST; removing one
 * that does not, -ENOENT.
 */
struct xen_pci_ioreq_ioeventfd {
	struct xen_pci_ioreq_function fn;
	__s32 fd;
	__u32 flags;
	__u64 addr;
	__u32 size;
	__u32 reserved0;
	__u64 data;
	__u64 reserved;
};

/* Remove the irqfd that has these @fn, @fd and @pin. */
#define XEN_PCI_IOREQ_IRQFD_DEASSIGN	(1 << 0)
/* Hand overtaken signals back through @resamplefd (see below). */
#define XEN_PCI_IOREQ_IRQFD_RESAMPLE	(1 << 1)
/* Each signal is the MSI @msi_data to @msi_address (see below). */
#define XEN_PCI_IOREQ_IRQFD_MSI		(1 << 2)

/**
 * struct xen_pci_ioreq_irqfd - interrupt the guest when an eventfd is signalled
 * @fn: the function, which this file must have registered; on bus 0 for
 *	INTx
 * @fd: an eventfd
 * @flags: %XEN_PCI_IOREQ_IRQFD_DEASSIGN, %XEN_PCI_IOREQ_IRQFD_RESAMPLE,
 *	%XEN_PCI_IOREQ_IRQFD_MSI, or 0
 * @pin: 1 (INTA) to 4 (INTD); 0 with %XEN_PCI_IOREQ_IRQFD_MSI
 * @reserved0: must be 0
 * @resamplefd: with %XEN_PCI_IOREQ_IRQFD_RESAMPLE, an eventfd other than
 *	@fd; must be 0 with neither that flag nor %XEN_PCI_IOREQ_IRQFD_MSI
 * @msi_data: with %XEN_PCI_IOREQ_IRQFD_MSI (in the place of @resamplefd),
 *	the message data
 * @msi_address: with %XEN_PCI_IOREQ_IRQFD_MSI, the message address;
 *	otherwise must be 0
 *
 * Each signal of @fd asserts @pin of @fn, as %XEN_PCI_IOREQ_SET_INTX with
 * level 1 does: the line stays asserted until the backend deasserts it
 * with %XEN_PCI_IOREQ_SET_INTX, and each assertion reaches the guest. No
 * signal is lost: without %XEN_PCI_IOREQ_IRQFD_RESAMPLE, a signal that a
 * deassertion overtakes (the signal came first, its assertion had not
 * happened yet) asserts after the deassertion; if the condition it stood
 * for was handled already, the guest takes one interrupt with nothing to
 * service. With it, each deassertion of @pin drops such signals and
 * signals @resamplefd: the backend checks whether its condition still
 * stands and signals @fd again if it does, as with KVM's resamplefd. A
 * backend whose threads raise conditions while another deasserts needs
 * it: a condition raised and asserted just before a deassertion that did
 * not see it is raised again only so.
 *
 * With %XEN_PCI_IOREQ_IRQFD_MSI, each signal of @fd is the message
 * @msi_data written to @msi_address by @fn, as %XEN_PCI_IOREQ_MSI sends
 * it, raised in the eventfd's wakeup itself: an edge, with nothing to
 * deassert and nothing to resample. The message is checked when the irqfd
 * is added, with the errors of %XEN_PCI_IOREQ_MSI. Signals that come
 * faster than they are raised make one interrupt, as a pending MSI does.
 * The backend masks the vector by removing the irqfd and unmasks it by
 * adding it again: signals of @fd while it was away raise one interrupt
 * when it comes back. A changed message is a removal and an addition.
 * Removing one names @fn and @fd with %XEN_PCI_IOREQ_IRQFD_MSI; the message
 * is not looked at.
 *
 * An irqfd goes away with its function, with the guest, and when @fd is
 * closed (its last file). Adding one that exists gives -EEXIST; removing
 * one that does not, -ENOENT; an eventfd that serves another pin or
 * function, -EBUSY (one eventfd, one irqfd).
 */
struct xen_pci_ioreq_irqfd {
	struct xen_pci_ioreq_function fn;
	__s32 fd;
	__u32 flags;
	__u8 pin;
	__u8 reserved0[3];
	union {
		__s32 resamplefd;
		__u32 msi_data;
	};
	__u64 msi_address;
};

/**
 * struct xen_pci_ioreq_msi - signal a message-signalled interrupt
 * @fn: the function that signals, which this file must have registered
 * @flags: must be 0
 * @data: the message data the guest programmed for the vector
 * @address: the message address the guest programmed for the vector
 * @reserved: must be 0
 *
 * What the function would write to memory to signal one of its MSI or
 * MSI-X vectors. On Arm the root complex is the guest's MSI controller: the
 * message must be a write of vector number @data, below @msi_count, to the
 * doorbell of the file's layout, and raises the SPI @msi_base + @data as an
 * edge. Anything else is refused and counted: -EOPNOTSUPP if the root
 * complex has no MSI (or Xen decodes config cycles, x86), -EINVAL for
 * another address, -ERANGE for a vector the root complex does not have.
 */
struct xen_pci_ioreq_msi {
	struct xen_pci_ioreq_function fn;
	__u32 flags;
	__u32 data;
	__u64 address;
	__u64 reserved;
};

#define XEN_PCI_IOREQ_KIND_CONFIG	1	/* config space: @addr = register */
#define XEN_PCI_IOREQ_KIND_MMIO		2	/* BAR: @addr = guest physical */
/* Drop every mapping of guest memory (%XEN_PCI_IOREQ_BIND_INVALIDATE). */
#define XEN_PCI_IOREQ_KIND_INVALIDATE	3

#define XEN_PCI_IOREQ_DIR_WRITE		0
#define XEN_PCI_IOREQ_DIR_READ		1

/**
 * struct xen_pci_ioreq_request - one guest access, read() from the file
 * @id: identifies the request; echo it in the response
 * @fn: the function accessed; all 0 for an invalidate
 * @vcpu: the guest vCPU that made the access (it waits for the response)
 * @kind: %XEN_PCI_IOREQ_KIND_CONFIG, %XEN_PCI_IOREQ_KIND_MMIO, or
 *	%XEN_PCI_IOREQ_KIND_INVALIDATE (files bound with
 *	%XEN_PCI_IOREQ_BIND_INVALIDATE only)
 * @dir: %XEN_PCI_IOREQ_DIR_READ or %XEN_PCI_IOREQ_DIR_WRITE (invalidate:
 *	write)
 * @size: access size in bytes: 1, 2, 4 or 8; 0 for an invalidate
 * @bar: for MMIO, the @bar of the range hit; %XEN_PCI_IOREQ_BAR_NONE for
 *	config accesses and invalidates
 * @addr: config: register offset (0-4095); MMIO: guest physical address;
 *	invalidate: 0
 * @data: data of a write, 0 for a read or an invalidate
 * @reserved: 0
 *
 * read() returns whole records only, as many as fit and are pending; it
 * blocks until one is pending unless the file is O_NONBLOCK (-EAGAIN).
 *
 * An invalidate says that the guest gave memory back to Xen: the frames
 * the backend mapped there are no longer the guest's. The backend drops
 * every mapping of guest memory it keeps (what it maps again afterwards is
 * the guest's memory of now), then completes the record like any request.
 * The guest's vCPU that freed the memory waits until every file bound
 * with the flag has completed it. Invalidates coalesce: a file has at
 * most one pending, which stands for all that came before it was read.
 */
struct xen_pci_ioreq_request {
	__u64 id;
	struct xen_pci_ioreq_function fn;
	__u32 vcpu;
	__u8 kind;
	__u8 dir;
	__u8 size;
	__u8 bar;
	__u64 addr;
	__u64 data;
	__u64 reserved;
};

/**
 * struct xen_pci_ioreq_response - completion of a request, write() to the file
 * @id: the request's @id
 * @data: the value read, for a read request (low @size bytes are used)
 * @flags: must be 0
 * @reserved: must be 0
 *
 * Every request read from the file must be completed exactly once, by a
 * write() to the same file; an unknown or already completed @id gives
 * -EINVAL. The @data of a write or an invalidate is ignored. A write()
 * may complete several requests: it processes whole records in order and
 * stops at the first bad one.
 */
struct xen_pci_ioreq_response {
	__u64 id;
	__u64 data;
	__u32 flags;
	__u32 reserved;
};

#define XEN_PCI_IOREQ_MAGIC	0xBA

/* Bind this file to a guest. */
#define XEN_PCI_IOREQ_BIND \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x00, struct xen_pci_ioreq_bind)
/* What the backend needs to know about its guest. */
#define XEN_PCI_IOREQ_GET_INFO \
	_IOR(XEN_PCI_IOREQ_MAGIC, 0x01, struct xen_pci_ioreq_info)
/* Serve a function: its accesses come to this file. -EBUSY if taken. */
#define XEN_PCI_IOREQ_REGISTER \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x02, struct xen_pci_ioreq_function)
/* Stop serving a function; pending requests to it are aborted. */
#define XEN_PCI_IOREQ_UNREGISTER \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x03, struct xen_pci_ioreq_function)
/* Route a guest MMIO range (a BAR) of a registered function to this file. */
#define XEN_PCI_IOREQ_ADD_MMIO \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x04, struct xen_pci_ioreq_mmio)
/* Stop routing it. */
#define XEN_PCI_IOREQ_REMOVE_MMIO \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x05, struct xen_pci_ioreq_mmio)
/* Set the INTx level of a registered function. */
#define XEN_PCI_IOREQ_SET_INTX \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x06, struct xen_pci_ioreq_intx)

/* Add or remove an ioeventfd on a BAR range of a function. */
#define XEN_PCI_IOREQ_IOEVENTFD \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x07, struct xen_pci_ioreq_ioeventfd)

/* Add or remove an irqfd for an INTx pin or an MSI of a function. */
#define XEN_PCI_IOREQ_IRQFD \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x08, struct xen_pci_ioreq_irqfd)

/* Raise an MSI of a function: its message, written to the doorbell. */
#define XEN_PCI_IOREQ_MSI \
	_IOW(XEN_PCI_IOREQ_MAGIC, 0x09, struct xen_pci_ioreq_msi)

/*
 * Ask that the server of this file's root complex go when this file is
 * closed, if no other file is bound to it then; the argument must be 0.
 * The server's claims on the guest's address space go with it, and the
 * guest's next access to the root complex finds no server (on Arm, a data
 * abort): for a root complex the guest no longer uses, or to bind it again
 * with another layout. A file that did not ask never takes the server with
 * it, whatever the others asked. -EINVAL on an unbound file or for another
 * argument, -ENODEV once the guest died.
 */
#define XEN_PCI_IOREQ_RELEASE_SERVER	_IO(XEN_PCI_IOREQ_MAGIC, 0x0a)

#endif /* _UAPI_XEN_PCI_IOREQ_H */
