// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O threads of pci-ioreq-virtio (virtio-pci.h): several requests of
 * a queue in flight at once, their file I/O done outside the loop's
 * thread, which keeps everything the guest sees (config space, rings,
 * mappings, interrupts).
 *
 * The loop's thread walks a chain into a free request (mapping its
 * buffers), and the device either serves it at once or submits it; a
 * thread does the device's ->io on the mapped buffers and puts it on the
 * done list; the done eventfd wakes the loop, which unmaps the buffers and
 * publishes the chain as used (vq_complete()). Up to VIRTIO_IO_DEPTH
 * requests per thread are in flight; a queue that finds none free waits
 * for a completion. Whatever could change a mapping that a request in
 * flight uses (a reset, Xen's invalidate, a chunk of guest RAM mapped
 * again, the exit) first drains them (virtio_io_drain()).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio-pci.h"

static void *io_thread(void *arg)
{
	struct vdev *v = arg;
	struct virtio_io *io = &v->io;
	const __u64 one = 1;

	pthread_mutex_lock(&io->lock);
	for (;;) {
		struct vreq *r;

		while (!io->todo && !io->stop)
			pthread_cond_wait(&io->cond, &io->lock);
		if (!io->todo)
			break;
		r = io->todo;
		io->todo = r->next;
		if (!io->todo)
			io->todo_tail = &io->todo;
		pthread_mutex_unlock(&io->lock);

		v->dev->io(v, r);

		pthread_mutex_lock(&io->lock);
		r->next = io->done;
		io->done = r;
		/* a full counter (never here) still leaves the fd readable */
		if (write(io->done_fd, &one, sizeof(one)) != sizeof(one) &&
		    errno != EAGAIN)
			say("I/O thread: eventfd: %s\n", strerror(errno));
	}
	pthread_mutex_unlock(&io->lock);
	return NULL;
}

/* A chunk of guest RAM is to be mapped again: nothing may use it. */
static void quiesce(void *arg)
{
	virtio_io_drain(arg, false);
}

int virtio_io_start(struct vdev *v, unsigned int threads)
{
	struct virtio_io *io = &v->io;
	unsigned int i;
	int err;

	io->depth = threads ? threads * VIRTIO_IO_DEPTH : 1;
	io->reqs = calloc(io->depth, sizeof(*io->reqs));
	if (!io->reqs) {
		say("out of memory\n");
		return -1;
	}
	for (i = 0; i < io->depth; i++)
		virtio_io_put(v, &io->reqs[i]);
	io->todo_tail = &io->todo;
	if (!threads)
		return 0;
	io->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (io->done_fd < 0) {
		say("eventfd: %s\n", strerror(errno));
		return -1;
	}
	io->threads = threads;
	v->mem.quiesce = quiesce;
	v->mem.quiesce_arg = v;
	/* fd nr_queues + 1 of the loop: after the kicks and the resamplefd */
	for (i = v->fast ? v->nr_queues + 1 : 0; i <= v->nr_queues; i++)
		v->be.fds[i] = -1;
	v->be.fds[v->nr_queues + 1] = io->done_fd;
	v->be.nr_fds = v->nr_queues + 2;
	pthread_mutex_init(&io->lock, NULL);
	pthread_cond_init(&io->cond, NULL);
	io->running = true;
	for (i = 0; i < threads; i++) {
		err = pthread_create(&io->tid[i], NULL, io_thread, v);
		if (err) {
			say("pthread_create: %s\n", strerror(err));
			io->nr_started = i;
			return -1;
		}
		io->nr_started = i + 1;
	}
	return 0;
}

void virtio_io_stop(struct vdev *v)
{
	struct virtio_io *io = &v->io;
	unsigned int i;

	if (io->running) {
		/* Published while the guest is there to see them. */
		virtio_io_drain(v, v->be.gone);
		pthread_mutex_lock(&io->lock);
		io->stop = true;
		pthread_cond_broadcast(&io->cond);
		pthread_mutex_unlock(&io->lock);
		for (i = 0; i < io->nr_started; i++)
			pthread_join(io->tid[i], NULL);
		pthread_cond_destroy(&io->cond);
		pthread_mutex_destroy(&io->lock);
		io->running = false;
	}
	if (io->threads && io->done_fd >= 0)
		close(io->done_fd);
	io->done_fd = -1;
	free(io->reqs);
	io->reqs = NULL;
	io->free = NULL;
}

struct vreq *virtio_io_get(struct vdev *v)
{
	struct vreq *r = v->io.free;

	if (!r) {
		v->io.waits++;
		return NULL;
	}
	v->io.free = r->next;
	r->next = NULL;
	return r;
}

void virtio_io_put(struct vdev *v, struct vreq *r)
{
	r->next = v->io.free;
	v->io.free = r;
}

void virtio_io_submit(struct vdev *v, struct vreq *r)
{
	struct virtio_io *io = &v->io;

	io->submitted++;
	if (++io->inflight > io->inflight_max)
		io->inflight_max = io->inflight;
	r->next = NULL;
	pthread_mutex_lock(&io->lock);
	*io->todo_tail = r;
	io->todo_tail = &r->next;
	pthread_cond_signal(&io->cond);
	pthread_mutex_unlock(&io->lock);
}

struct vreq *virtio_io_reap(struct vdev *v)
{
	struct virtio_io *io = &v->io;
	struct vreq *r, *n;
	__u64 cnt;

	if (!io->threads)
		return NULL;
	if (read(io->done_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		say("eventfd: %s\n", strerror(errno));
	pthread_mutex_lock(&io->lock);
	r = io->done;
	io->done = NULL;
	pthread_mutex_unlock(&io->lock);
	for (n = r; n; n = n->next)
		io->inflight--;
	return r;
}

void virtio_io_drain(struct vdev *v, bool discard)
{
	struct pollfd p = { .fd = v->io.done_fd, .events = POLLIN };
	const __u64 one = 1;
	unsigned int i;

	while (v->io.inflight) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR) {
			say("poll: %s\n", strerror(errno));
			return;
		}
		vq_complete(v, !discard, false);
	}
	/*
	 * A queue that waited for a free request goes on at the next
	 * completion, and there is none left now: make one more wakeup, so
	 * that the loop serves it (the driver may notify no more).
	 */
	for (i = 0; i < v->nr_queues && !discard; i++)
		if (v->vq[i].starved) {
			if (write(v->io.done_fd, &one, sizeof(one)) < 0)
				say("eventfd: %s\n", strerror(errno));
			break;
		}
}
