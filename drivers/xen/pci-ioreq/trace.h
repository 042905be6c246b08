/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the xen-pci-ioreq driver: each guest access it is handed,
 * where it went, and each completion. Used by the request path, ioreq.c,
 * which defines them (CREATE_TRACE_POINTS); its Makefile line gives it
 * -I$(src) so that define_trace.h finds this file.
 */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM xen_pci_ioreq

#if !defined(_XEN_PCI_IOREQ_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _XEN_PCI_IOREQ_TRACE_H

#include <linux/tracepoint.h>

/*
 * xen_pci_ioreq_dispatch - a guest access was decoded
 * @domid: the guest
 * @vcpu: its vCPU that waits for the access
 * @sbdf: the function (segment << 16 | bus << 8 | devfn), or ~0 if none
 * @kind: XEN_PCI_IOREQ_KIND_CONFIG, _MMIO or _INVALIDATE (Xen asks the
 *	backends to drop mappings of guest memory), 0 if none of them
 * @dir: XEN_PCI_IOREQ_DIR_READ or XEN_PCI_IOREQ_DIR_WRITE
 * @size: access size in bytes
 * @addr: register offset (config) or guest physical address (MMIO)
 * @data: data of a write
 * @id: request id handed to the backend, 0 if answered in the kernel; for
 *	an invalidate, the id of its records
 */
TRACE_EVENT(xen_pci_ioreq_dispatch,
	    TP_PROTO(u16 domid, u32 vcpu, u32 sbdf, u8 kind, u8 dir, u8 size,
		     u64 addr, u64 data, u64 id),
	    TP_ARGS(domid, vcpu, sbdf, kind, dir, size, addr, data, id),
	    TP_STRUCT__entry(__field(u16, domid)
			     __field(u32, vcpu)
			     __field(u32, sbdf)
			     __field(u8, kind)
			     __field(u8, dir)
			     __field(u8, size)
			     __field(u64, addr)
			     __field(u64, data)
			     __field(u64, id)),
	    TP_fast_assign(__entry->domid = domid;
			   __entry->vcpu = vcpu;
			   __entry->sbdf = sbdf;
			   __entry->kind = kind;
			   __entry->dir = dir;
			   __entry->size = size;
			   __entry->addr = addr;
			   __entry->data = data;
			   __entry->id = id;),
	    TP_printk("dom%u vcpu%u sbdf %#x %s %s%u addr %#llx data %#llx %s %#llx",
		      __entry->domid, __entry->vcpu, __entry->sbdf,
		      __entry->kind == 1 ? "config" :
		      __entry->kind == 2 ? "mmio" :
		      __entry->kind == 3 ? "invalidate" : "other",
		      __entry->dir ? "read" : "write", __entry->size,
		      __entry->addr, __entry->data,
		      __entry->id ? "id" : "in-kernel", __entry->id)
);

/*
 * xen_pci_ioreq_complete - a request went back to the guest
 * @domid: the guest
 * @vcpu: the vCPU that resumes
 * @id: request id, 0 for an access answered in the kernel
 * @data: the data returned to a read (masked to the access size)
 * @aborted: completed by the kernel for a backend that went away
 */
TRACE_EVENT(xen_pci_ioreq_complete,
	    TP_PROTO(u16 domid, u32 vcpu, u64 id, u64 data, bool aborted),
	    TP_ARGS(domid, vcpu, id, data, aborted),
	    TP_STRUCT__entry(__field(u16, domid)
			     __field(u32, vcpu)
			     __field(u64, id)
			     __field(u64, data)
			     __field(bool, aborted)),
	    TP_fast_assign(__entry->domid = domid;
			   __entry->vcpu = vcpu;
			   __entry->id = id;
			   __entry->data = data;
			   __entry->aborted = aborted;),
	    TP_printk("dom%u vcpu%u id %#llx data %#llx%s",
		      __entry->domid, __entry->vcpu, __entry->id,
		      __entry->data, __entry->aborted ? " aborted" : "")
);

#endif /* _XEN_PCI_IOREQ_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
