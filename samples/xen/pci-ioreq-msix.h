/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An MSI-X capability for the emulated functions of samples/xen/: the
 * capability's registers, the vector table and the pending bit array in a
 * BAR of the function, and the delivery of a vector as the message the guest
 * programmed for it (XEN_PCI_IOREQ_MSI). Defined in pci-ioreq-msix.c.
 *
 * A vector signalled while it or the function is masked, while MSI-X is
 * off or while Bus Master Enable is clear, sets its pending bit; unmasking
 * it (or the function, enabling MSI-X, setting Bus Master Enable) delivers
 * it once. With irqfds (pci_ioreq_msix_irqfds()), each
 * unmasked vector has a kernel irqfd in MSI mode that holds its message,
 * and a signal is a write to its eventfd; the irqfd is removed while the
 * vector is masked and added again, with the message of the moment, on
 * unmask. A message the kernel refuses (a guest that
 * programmed another address, or a vector its root complex does not have)
 * is dropped and counted: a hostile guest costs itself the interrupt.
 */

#ifndef _SAMPLES_XEN_PCI_IOREQ_MSIX_H
#define _SAMPLES_XEN_PCI_IOREQ_MSIX_H

#include <stdbool.h>

#include <linux/types.h>

#include "pci-ioreq-lib.h"

#define PCI_IOREQ_MSIX_MAX	64	/* vectors: a PBA of one qword */
#define PCI_IOREQ_MSIX_CAP_LEN	12

struct pci_ioreq_msix_entry {
	__u32 addr_lo, addr_hi, data, ctrl;
};

struct pci_ioreq_msix_stats {
	unsigned long long sent;	/* messages the kernel took */
	unsigned long long pended;	/* signals held by a mask */
	unsigned long long released;	/* pending vectors sent on unmask */
	unsigned long long refused;	/* messages the kernel refused */
	unsigned long long table_writes;
	unsigned long long by_irqfd;	/* signals written to an irqfd */
	unsigned long long irqfd_adds;	/* irqfds added (unmask, message) */
};

struct pci_ioreq_msix {
	unsigned int nr;		/* vectors; 0: no MSI-X capability */
	__u8 bar;			/* BAR of the table and the PBA */
	__u32 table_off, pba_off;	/* in that BAR */
	__u16 ctrl;			/* Message Control: enable, mask */
	struct pci_ioreq_msix_entry entry[PCI_IOREQ_MSIX_MAX];
	__u64 pending;
	/* with irqfds: an eventfd per vector, and what the kernel holds */
	bool use_irqfds;
	int efd[PCI_IOREQ_MSIX_MAX];
	bool irqfd_on[PCI_IOREQ_MSIX_MAX];
	struct pci_ioreq_msix_entry irqfd_msg[PCI_IOREQ_MSIX_MAX];
	struct pci_ioreq_msix_stats st;
};

/*
 * @nr vectors (at most PCI_IOREQ_MSIX_MAX, 0 for none), their table at
 * @table_off and their PBA at @pba_off of BAR @bar; every vector masked,
 * MSI-X off, as after a reset.
 */
void pci_ioreq_msix_init(struct pci_ioreq_msix *m, unsigned int nr, __u8 bar,
			 __u32 table_off, __u32 pba_off);

/* Back to the state after pci_ioreq_msix_init() (a function reset). */
void pci_ioreq_msix_reset(struct pci_ioreq_msix *m);

/* The Command register changed (Bus Master Enable): follow it. */
void pci_ioreq_msix_update(struct pci_ioreq_backend *be,
			   struct pci_ioreq_msix *m);

/* MSI-X Enable is set: the function uses no INTx. */
bool pci_ioreq_msix_enabled(const struct pci_ioreq_msix *m);

/* Dword @dw (0-2) of the capability, linked to @next. */
__u32 pci_ioreq_msix_cap_read(const struct pci_ioreq_msix *m, unsigned int dw,
			      __u8 next);

/* The guest writes dword @dw of the capability (Message Control only). */
void pci_ioreq_msix_cap_write(struct pci_ioreq_backend *be,
			      struct pci_ioreq_msix *m, unsigned int dw,
			      __u32 val, __u32 mask);

/*
 * BAR dword @off of the table or the PBA; false if @off is in neither,
 * for the caller's own registers.
 */
bool pci_ioreq_msix_bar_read32(const struct pci_ioreq_msix *m,
			       unsigned int off, __u32 *val);
bool pci_ioreq_msix_bar_write32(struct pci_ioreq_backend *be,
				struct pci_ioreq_msix *m, unsigned int off,
				__u32 val, __u32 mask);

/*
 * Signal vector @vec: send its message, or hold it pending while it is
 * masked. Returns 0, or -1 for a vector the function does not have or a
 * message the transport refused (counted).
 */
int pci_ioreq_msix_signal(struct pci_ioreq_backend *be,
			  struct pci_ioreq_msix *m, unsigned int vec);

/*
 * Signal the vectors through kernel irqfds (XEN_PCI_IOREQ_IRQFD_MSI), one
 * eventfd each; -1 after saying why not.
 */
int pci_ioreq_msix_irqfds(struct pci_ioreq_backend *be,
			  struct pci_ioreq_msix *m);

/* Remove the irqfds (unless the guest is gone) and close their eventfds. */
void pci_ioreq_msix_exit(struct pci_ioreq_backend *be,
			 struct pci_ioreq_msix *m);

/* Print the counters, for a stats line (nothing without MSI-X). */
void pci_ioreq_msix_stats(const struct pci_ioreq_msix *m);

#endif /* _SAMPLES_XEN_PCI_IOREQ_MSIX_H */
