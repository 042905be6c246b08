// SPDX-License-Identifier: GPL-2.0
/*
 * The MSI-X capability of an emulated function (pci-ioreq-msix.h), as the
 * PCI Local Bus Specification 3.0, section 6.8.2, has it: Message Control
 * with MSI-X Enable and Function Mask, a table of 16-byte entries (message
 * address, data, vector control with its mask bit) and a pending bit array,
 * both in a memory BAR of the function.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pci-ioreq-msix.h"

#define ENTRY_SIZE	16
#define CTRL_ENABLE	PCI_MSIX_FLAGS_ENABLE
#define CTRL_MASKALL	PCI_MSIX_FLAGS_MASKALL

void pci_ioreq_msix_init(struct pci_ioreq_msix *m, unsigned int nr, __u8 bar,
			 __u32 table_off, __u32 pba_off)
{
	unsigned int i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < PCI_IOREQ_MSIX_MAX; i++)
		m->efd[i] = -1;
	m->nr = nr < PCI_IOREQ_MSIX_MAX ? nr : PCI_IOREQ_MSIX_MAX;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	pci_ioreq_msix_reset(m);
}

void pci_ioreq_msix_reset(struct pci_ioreq_msix *m)
{
	unsigned int i;

	m->ctrl = 0;
	m->pending = 0;
	for (i = 0; i < m->nr; i++) {
		memset(&m->entry[i], 0, sizeof(m->entry[i]));
		m->entry[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
}

bool pci_ioreq_msix_enabled(const struct pci_ioreq_msix *m)
{
	return m->nr && (m->ctrl & CTRL_ENABLE);
}

/*
 * Whether vector @vec must wait in the PBA: MSI-X off, the function or the
 * vector masked, or Bus Master Enable clear (a message is a memory write,
 * which the function may not issue then).
 */
static bool vector_masked(const struct pci_ioreq_backend *be,
			  const struct pci_ioreq_msix *m, unsigned int vec)
{
	return !(m->ctrl & CTRL_ENABLE) || (m->ctrl & CTRL_MASKALL) ||
	       (m->entry[vec].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT) ||
	       !(be->hdr.command & PCI_COMMAND_MASTER);
}

static int irqfd_ioctl(struct pci_ioreq_backend *be, struct pci_ioreq_msix *m,
		       unsigned int vec, bool add)
{
	const struct pci_ioreq_msix_entry *e = &m->irqfd_msg[vec];
	struct xen_pci_ioreq_irqfd a = {
		.fn = be->fn,
		.fd = m->efd[vec],
		.flags = XEN_PCI_IOREQ_IRQFD_MSI |
			 (add ? 0 : XEN_PCI_IOREQ_IRQFD_DEASSIGN),
		.msi_data = add ? e->data : 0,
		.msi_address = add ? (__u64)e->addr_hi << 32 | e->addr_lo : 0,
	};

	return ioctl(be->t->fd, XEN_PCI_IOREQ_IRQFD, &a);
}

/*
 * With irqfds: the kernel holds vector @vec's irqfd exactly while the vector
 * is unmasked, with the message of the moment. A message it refuses (a
 * hostile guest's) leaves the vector without one: its signals then go by
 * XEN_PCI_IOREQ_MSI, refused and counted each.
 */
static void sync_irqfd(struct pci_ioreq_backend *be, struct pci_ioreq_msix *m,
		       unsigned int vec)
{
	const struct pci_ioreq_msix_entry *e = &m->entry[vec];
	bool want = m->use_irqfds && !vector_masked(be, m, vec);

	if (m->irqfd_on[vec] && want &&
	    m->irqfd_msg[vec].addr_lo == e->addr_lo &&
	    m->irqfd_msg[vec].addr_hi == e->addr_hi &&
	    m->irqfd_msg[vec].data == e->data)
		return;
	if (m->irqfd_on[vec]) {
		if (irqfd_ioctl(be, m, vec, false) && errno != ENODEV) {
			/* still the kernel's: it keeps the old message */
			say("XEN_PCI_IOREQ_IRQFD (remove MSI %u): %s\n", vec,
			    strerror(errno));
			return;
		}
		m->irqfd_on[vec] = false;
	}
	if (!want || be->gone)
		return;
	m->irqfd_msg[vec] = *e;
	if (!irqfd_ioctl(be, m, vec, true)) {
		m->irqfd_on[vec] = true;
		m->st.irqfd_adds++;
	} else if (errno == EINVAL || errno == ERANGE) {
		m->st.refused++;
	} else if (errno == ENODEV) {
		be->gone = true;
	} else {
		say("XEN_PCI_IOREQ_IRQFD (MSI %u): %s\n", vec, strerror(errno));
	}
}

static void sync_irqfds(struct pci_ioreq_backend *be, struct pci_ioreq_msix *m)
{
	unsigned int vec;

	for (vec = 0; vec < m->nr && m->use_irqfds; vec++)
		sync_irqfd(be, m, vec);
}

static int send(struct pci_ioreq_backend *be, struct pci_ioreq_msix *m,
		unsigned int vec)
{
	const struct pci_ioreq_msix_entry *e = &m->entry[vec];
	__u64 one = 1;

	if (m->irqfd_on[vec]) {
		if (write(m->efd[vec], &one, sizeof(one)) == sizeof(one)) {
			m->st.by_irqfd++;
			return 0;
		}
		say("irqfd of MSI %u: %s\n", vec, strerror(errno));
	}
	if (!pci_ioreq_msi(be, (__u64)e->addr_hi << 32 | e->addr_lo,
			   e->data)) {
		m->st.sent++;
		return 0;
	}
	if (errno == EINVAL || errno == ERANGE || errno == EOPNOTSUPP)
		m->st.refused++;
	return -1;
}

/* A mask went away: each pending vector that is now unmasked goes, once. */
static void release_pending(struct pci_ioreq_backend *be,
			    struct pci_ioreq_msix *m)
{
	unsigned int vec;

	for (vec = 0; vec < m->nr && m->pending; vec++) {
		if (!(m->pending & 1ULL << vec) || vector_masked(be, m, vec))
			continue;
		m->pending &= ~(1ULL << vec);
		m->st.released++;
		send(be, m, vec);
	}
}

int pci_ioreq_msix_signal(struct pci_ioreq_backend *be,
			  struct pci_ioreq_msix *m, unsigned int vec)
{
	if (vec >= m->nr) {
		errno = ERANGE;
		return -1;
	}
	if (vector_masked(be, m, vec)) {
		m->pending |= 1ULL << vec;
		m->st.pended++;
		return 0;
	}
	return send(be, m, vec);
}

__u32 pci_ioreq_msix_cap_read(const struct pci_ioreq_msix *m, unsigned int dw,
			      __u8 next)
{
	switch (dw) {
	case 0:
		return PCI_CAP_ID_MSIX | next << 8 |
		       (__u32)(m->ctrl | (m->nr - 1)) << 16;
	case 1:
		return m->table_off | m->bar;
	case 2:
		return m->pba_off | m->bar;
	default:
		return 0;
	}
}

void pci_ioreq_msix_cap_write(struct pci_ioreq_backend *be,
			      struct pci_ioreq_msix *m, unsigned int dw,
			      __u32 val, __u32 mask)
{
	__u16 ctrl;

	if (dw || !(mask & 0xffff0000))
		return;
	ctrl = m->ctrl & ~(mask >> 16);
	ctrl |= (val & mask) >> 16;
	m->ctrl = ctrl & (CTRL_ENABLE | CTRL_MASKALL);
	pci_ioreq_msix_update(be, m);
}

bool pci_ioreq_msix_bar_read32(const struct pci_ioreq_msix *m,
			       unsigned int off, __u32 *val)
{
	unsigned int i;

	if (off >= m->table_off && off < m->table_off + m->nr * ENTRY_SIZE) {
		i = (off - m->table_off) / ENTRY_SIZE;
		switch ((off - m->table_off) % ENTRY_SIZE) {
		case PCI_MSIX_ENTRY_LOWER_ADDR:
			*val = m->entry[i].addr_lo;
			break;
		case PCI_MSIX_ENTRY_UPPER_ADDR:
			*val = m->entry[i].addr_hi;
			break;
		case PCI_MSIX_ENTRY_DATA:
			*val = m->entry[i].data;
			break;
		default:
			*val = m->entry[i].ctrl;
		}
		return true;
	}
	if (off >= m->pba_off && off < m->pba_off + 8) {
		*val = m->pending >> (off - m->pba_off) * 8;
		return true;
	}
	return false;
}

bool pci_ioreq_msix_bar_write32(struct pci_ioreq_backend *be,
				struct pci_ioreq_msix *m, unsigned int off,
				__u32 val, __u32 mask)
{
	struct pci_ioreq_msix_entry *e;
	__u32 *reg;

	if (off >= m->pba_off && off < m->pba_off + 8)
		return true;		/* read-only */
	if (off < m->table_off || off >= m->table_off + m->nr * ENTRY_SIZE)
		return false;

	e = &m->entry[(off - m->table_off) / ENTRY_SIZE];
	switch ((off - m->table_off) % ENTRY_SIZE) {
	case PCI_MSIX_ENTRY_LOWER_ADDR:
		reg = &e->addr_lo;
		mask &= ~3U;		/* dword aligned */
		break;
	case PCI_MSIX_ENTRY_UPPER_ADDR:
		reg = &e->addr_hi;
		break;
	case PCI_MSIX_ENTRY_DATA:
		reg = &e->data;
		break;
	default:
		reg = &e->ctrl;
		mask &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	*reg = (*reg & ~mask) | (val & mask);
	m->st.table_writes++;
	sync_irqfd(be, m, (off - m->table_off) / ENTRY_SIZE);
	release_pending(be, m);
	return true;
}

void pci_ioreq_msix_update(struct pci_ioreq_backend *be,
			   struct pci_ioreq_msix *m)
{
	sync_irqfds(be, m);
	release_pending(be, m);
}

int pci_ioreq_msix_irqfds(struct pci_ioreq_backend *be,
			  struct pci_ioreq_msix *m)
{
	unsigned int vec;

	for (vec = 0; vec < m->nr; vec++) {
		m->efd[vec] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (m->efd[vec] < 0) {
			say("eventfd: %s\n", strerror(errno));
			return -1;
		}
	}
	m->use_irqfds = m->nr > 0;
	sync_irqfds(be, m);
	return 0;
}

void pci_ioreq_msix_exit(struct pci_ioreq_backend *be,
			 struct pci_ioreq_msix *m)
{
	unsigned int vec;

	m->use_irqfds = false;
	for (vec = 0; vec < m->nr; vec++) {
		if (!be->gone)
			sync_irqfd(be, m, vec);
		if (m->efd[vec] >= 0)
			close(m->efd[vec]);
		m->efd[vec] = -1;
		m->irqfd_on[vec] = false;
	}
}

void pci_ioreq_msix_stats(const struct pci_ioreq_msix *m)
{
	if (!m->nr)
		return;
	printf(" msix %s vectors %u sent %llu by-irqfd %llu pended %llu",
	       pci_ioreq_msix_enabled(m) ? "on" : "off", m->nr, m->st.sent,
	       m->st.by_irqfd, m->st.pended);
	printf(" released %llu refused %llu table-writes %llu irqfd-adds %llu",
	       m->st.released, m->st.refused, m->st.table_writes,
	       m->st.irqfd_adds);
}
