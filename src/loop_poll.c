/* SPDX-License-Identifier: ISC */
/* loop_poll: the poll() backend of the loop. Watches live in a dense
 * pollfd array (a watch's slot is its index; removal moves the last entry
 * into the hole), so registering, changing and removing are O(1) and a wait
 * costs one pass over the registered descriptors. A paused watch (events 0)
 * stays in the array, so that its error or hang-up is reported (once). */
#define _GNU_SOURCE
#include "loop_backend.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "loop.h"

struct loop_backend {
	struct pollfd *pfds;
	struct loop_watch **watches;
	struct loop_watch **ready;
	unsigned *revents;
	size_t n, cap;
};

static struct loop_backend *
poll_create(void)
{
	return calloc(1, sizeof(struct loop_backend));
}

static void
poll_destroy(struct loop_backend *b)
{
	if (b == NULL)
		return;
	free(b->pfds);
	free(b->watches);
	free(b->ready);
	free(b->revents);
	free(b);
}

static short
poll_events(unsigned events)
{
	return (short)(((events & LOOP_IN) ? POLLIN : 0) |
	               ((events & LOOP_OUT) ? POLLOUT : 0) |
	               ((events & LOOP_RDHUP) ? POLLRDHUP : 0));
}

static int
reserve(struct loop_backend *b)
{
	size_t cap = b->cap ? b->cap * 2 : 64;
	void *p;

	if (b->n < b->cap)
		return 0;
	if ((p = realloc(b->pfds, cap * sizeof(*b->pfds))) == NULL)
		return -1;
	b->pfds = p;
	if ((p = realloc(b->watches, cap * sizeof(*b->watches))) == NULL)
		return -1;
	b->watches = p;
	if ((p = realloc(b->ready, cap * sizeof(*b->ready))) == NULL)
		return -1;
	b->ready = p;
	if ((p = realloc(b->revents, cap * sizeof(*b->revents))) == NULL)
		return -1;
	b->revents = p;
	b->cap = cap;
	return 0;
}

static int
poll_update(struct loop_backend *b, struct loop_watch *w)
{
	if (w->slot < 0) {
		if (reserve(b) < 0) {
			errno = ENOMEM;
			return -1;
		}
		w->slot = (int)b->n++;
		b->watches[w->slot] = w;
	}
	/* Paused: poll() reports errors and hang-ups whatever was asked;
	 * after the first report the entry is silenced (a negative fd) until
	 * the events change, as the epoll backend does. */
	b->pfds[w->slot].fd = w->fd;
	b->pfds[w->slot].events = poll_events(w->events);
	return 0;
}

static void
poll_remove(struct loop_backend *b, struct loop_watch *w, bool closing)
{
	size_t last;

	(void)closing;
	if (w->slot < 0)
		return;
	last = --b->n;
	b->pfds[w->slot] = b->pfds[last];
	b->watches[w->slot] = b->watches[last];
	b->watches[w->slot]->slot = w->slot;
	w->slot = -1;
}

static int
poll_wait(struct loop_backend *b, struct loop *loop, int timeout_ms)
{
	size_t nready = 0;
	int rc = poll(b->pfds, b->n, timeout_ms);

	loop_woke(loop);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	/* Collect first: callbacks add and remove watches, which moves
	 * entries of the array. Watches removed meanwhile stay allocated (and
	 * marked dead) until the iteration ends. */
	for (size_t i = 0; i < b->n && nready < (size_t)rc; i++) {
		short re = b->pfds[i].revents;
		if (re == 0)
			continue;
		if (b->pfds[i].events == 0)
			b->pfds[i].fd = -1; /* paused: reported once */
		b->ready[nready] = b->watches[i];
		b->revents[nready++] =
		    ((re & POLLIN) ? LOOP_IN : 0) |
		    ((re & POLLOUT) ? LOOP_OUT : 0) |
		    ((re & POLLRDHUP) ? LOOP_RDHUP : 0) |
		    ((re & (POLLERR | POLLHUP | POLLNVAL)) ? LOOP_ERR : 0);
	}
	for (size_t i = 0; i < nready; i++)
		loop_dispatch(b->ready[i], b->revents[i]);
	return 0;
}

const struct loop_backend_ops loop_poll_ops = {
    .name = "poll",
    .edges = false,
    .create = poll_create,
    .destroy = poll_destroy,
    .update = poll_update,
    .remove = poll_remove,
    .wait = poll_wait,
};
