// SPDX-License-Identifier: GPL-2.0
/*
 * The request loop of the backends of samples/xen/ (pci-ioreq-lib.h): one
 * epoll loop over the transport's fd, the signalfd and the backend's own
 * fds, which receives the pending requests in batches, has the backend
 * serve them, and sends the responses back together. Every backend runs
 * it (pci_ioreq_loop()).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "pci-ioreq-lib.h"

#define EV_TRANSPORT	(UINT64_MAX)
#define EV_SIGNAL	(UINT64_MAX - 1)

void pci_ioreq_failed(struct pci_ioreq_backend *be)
{
	if (errno == ENODEV)
		be->gone = true;
}

int pci_ioreq_complete(struct pci_ioreq_backend *be, unsigned int nr)
{
	struct pci_ioreq_transport *t = be->t;
	unsigned int done = 0;

	while (done < nr) {
		const struct xen_pci_ioreq_response *r = &t->rsp[done];
		int n = t->ops->complete(t, r, nr - done);

		if (n < 0 && errno == ENODEV) {
			be->gone = true;
			return PCI_IOREQ_GONE;
		}
		if (n < 0 && errno == EINVAL) {
			say("response to request %llu refused\n",
			    (unsigned long long)r->id);
			be->st.bad++;
			done++;
			continue;
		}
		if (n <= 0)
			return PCI_IOREQ_ERROR;
		done += n;
	}
	return PCI_IOREQ_OK;
}

/* Serve the batch of @nr requests in be->t->req, then answer them. */
static int serve_batch(struct pci_ioreq_backend *be, unsigned int nr)
{
	const struct pci_ioreq_backend_ops *ops = be->ops;
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++) {
		const struct xen_pci_ioreq_request *r = &be->t->req[i];
		struct xen_pci_ioreq_response *rsp = &be->t->rsp[i];
		bool ok = true;
		__u64 data = 0;

		if (r->kind == XEN_PCI_IOREQ_KIND_INVALIDATE) {
			/* Dropped before the guest's vCPU goes on. */
			be->st.invalidates++;
			if (ops->invalidate)
				ops->invalidate(be);
		} else {
			ok = ops->request ? ops->request(be, r, &data) :
					    pci_ioreq_serve(be, r, &data);
		}
		if (!ok) {
			if (ops->bad && !be->quiet_bad)
				ops->bad(r);
			else if (!be->quiet_bad)
				say("bad request %llu: kind %u dir %u size %u bar %u addr %#llx\n",
				    (unsigned long long)r->id, r->kind, r->dir,
				    r->size, r->bar,
				    (unsigned long long)r->addr);
			be->st.bad++;
			data = ~0ULL;
		}
		if (be->verbose && ops->trace)
			ops->trace(r, data);
		memset(rsp, 0, sizeof(*rsp));
		rsp->id = r->id;
		if (r->dir == XEN_PCI_IOREQ_DIR_READ)
			rsp->data = data & pci_ioreq_size_mask(r->size);
	}
	/* Let the vCPUs go first, then do what the requests started. */
	ret = pci_ioreq_complete(be, nr);
	if (ret == PCI_IOREQ_OK && !be->gone && ops->batch_done)
		ops->batch_done(be);
	if (ret == PCI_IOREQ_OK && be->gone)
		ret = PCI_IOREQ_GONE;
	return ret;
}

/*
 * The transport's fd is readable: serve what is pending. At most one
 * request per vCPU can be pending, so one batch of be->t->batch records
 * normally gets them all; ask again only when it came back full.
 */
static int serve_pending(struct pci_ioreq_backend *be)
{
	bool first = true;

	be->st.wakeups++;
	for (;;) {
		int nr = be->t->ops->recv(be->t);
		int ret;

		if (nr < 0 && errno == ENODEV) {
			be->gone = true;
			return PCI_IOREQ_GONE;
		}
		if (nr < 0)
			return PCI_IOREQ_ERROR;
		if (!nr) {
			if (first)
				be->st.empty++;
			return PCI_IOREQ_OK;
		}
		first = false;
		be->st.reads++;
		be->st.requests += nr;
		ret = serve_batch(be, nr);
		if (ret != PCI_IOREQ_OK || (unsigned int)nr < be->t->batch)
			return ret;
	}
}

/* Returns true when the loop must stop. */
static bool handle_signal(struct pci_ioreq_backend *be, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (si.ssi_signo == SIGUSR1 && be->ops->stats) {
		be->ops->stats(be);
		return false;
	}
	say("%s: stopping\n", strsignal(si.ssi_signo));
	return true;
}

/* One event: PCI_IOREQ_OK to go on, or why the loop ends (-1: a signal). */
static int handle_event(struct pci_ioreq_backend *be, int sfd,
			const struct epoll_event *ev)
{
	int ret;

	if (ev->data.u64 == EV_SIGNAL)
		return handle_signal(be, sfd) ? -1 : PCI_IOREQ_OK;
	if (ev->data.u64 == EV_TRANSPORT) {
		/*
		 * The guest is gone: POLLHUP, and the transport says ENODEV.
		 * An error on the fd means the same.
		 */
		ret = serve_pending(be);
		if (ret == PCI_IOREQ_OK && ev->events & (EPOLLHUP | EPOLLERR)) {
			be->gone = true;
			ret = PCI_IOREQ_GONE;
		}
		return ret;
	}
	be->ops->fd_ready(be, ev->data.u64);
	return be->gone ? PCI_IOREQ_GONE : PCI_IOREQ_OK;
}

static int add_fd(int ep, int fd, __u64 what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = what };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int pci_ioreq_loop(struct pci_ioreq_backend *be, int sfd)
{
	struct epoll_event evs[2 + PCI_IOREQ_MAX_FDS];
	struct pci_ioreq_transport *t = be->t;
	int timeout = t->ops->check ? t->idle_ms : -1;
	int ep, ret = PCI_IOREQ_ERROR;
	unsigned int i;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		goto fail;
	if (add_fd(ep, t->fd, EV_TRANSPORT) || add_fd(ep, sfd, EV_SIGNAL))
		goto fail;
	for (i = 0; i < be->nr_fds; i++)
		if (be->fds[i] >= 0 && add_fd(ep, be->fds[i], i))
			goto fail;

	for (;;) {
		int k, n;

		n = epoll_wait(ep, evs, 2 + be->nr_fds, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		/* Idle for a while: make sure the guest is still there. */
		if (!n && t->ops->check(t)) {
			if (errno == ENODEV) {
				be->gone = true;
				ret = PCI_IOREQ_GONE;
			}
			goto out;
		}
		for (k = 0; k < n; k++) {
			ret = handle_event(be, sfd, &evs[k]);
			if (ret < 0)
				ret = PCI_IOREQ_OK;
			else if (ret == PCI_IOREQ_OK)
				continue;
			goto out;
		}
	}
fail:
	say("epoll: %s\n", strerror(errno));
out:
	if (ep >= 0)
		close(ep);
	if (ret == PCI_IOREQ_GONE)
		say("domain %u is gone\n", t->info.domid);
	return ret;
}
