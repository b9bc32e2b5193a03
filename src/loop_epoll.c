/* SPDX-License-Identifier: ISC */
/* loop_epoll: the epoll backend of the loop, level-triggered, so that it
 * behaves exactly as the poll backend does (SO_RCVLOWAT included) while a
 * wait costs only the ready descriptors instead of all of them. A watch
 * made for edges (loop_watch_edge) is registered edge-triggered for input
 * once, and modified once more the first time it asks for output.
 *
 * A descriptor is added once and stays registered until it is unwatched: a
 * paused watch (events 0) is modified to edge-triggered with no events,
 * which still reports an error or hang-up once. A descriptor that is about
 * to be closed is not removed first: close() does that. Its registration
 * may outlive the close when a forked child still holds the descriptor, so
 * events name a descriptor and a generation, looked up in a table, never a
 * pointer: a stale registration's events find no watch and are dropped. */
#define _GNU_SOURCE
#include "loop_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

/* Events taken per wait; more ready ones wait for the next call. */
#define EPOLL_BATCH 256

struct loop_backend {
	int epfd;
	struct loop_watch **byfd; /* the watch registered for each fd */
	size_t nbyfd;
	uint32_t gen; /* the last generation given to a registration */
	struct epoll_event events[EPOLL_BATCH];
};

static struct loop_backend *
epoll_create_backend(void)
{
	struct loop_backend *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0) {
		free(b);
		return NULL;
	}
	return b;
}

static void
epoll_destroy(struct loop_backend *b)
{
	if (b == NULL)
		return;
	close(b->epfd);
	free(b->byfd);
	free(b);
}

/* Makes room for FD in the table; -1 with errno ENOMEM when out of
 * memory. */
static int
reserve(struct loop_backend *b, int fd)
{
	size_t n = b->nbyfd ? b->nbyfd : 64;
	void *p;

	if ((size_t)fd < b->nbyfd)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	p = realloc(b->byfd, n * sizeof(*b->byfd));
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->byfd = p;
	memset(b->byfd + b->nbyfd, 0, (n - b->nbyfd) * sizeof(*b->byfd));
	b->nbyfd = n;
	return 0;
}

static int
epoll_update(struct loop_backend *b, struct loop_watch *w)
{
	struct epoll_event ev = {0};

	ev.events = ((w->events & LOOP_IN) ? EPOLLIN : 0) |
	            ((w->events & LOOP_OUT) ? EPOLLOUT : 0) |
	            ((w->events & LOOP_RDHUP) ? EPOLLRDHUP : 0);
	/* Paused: only an error or hang-up, and only once. */
	if (ev.events == 0)
		ev.events = EPOLLET;
	if (w->edge) {
		/* Every change of readiness, whatever is asked for now
		 * (loop.c filters); writability only from the first time it
		 * is asked for, as a new socket is writable at once. A
		 * modification re-reports what is ready now (REARM). */
		bool out = w->out || (w->events & LOOP_OUT);
		if (w->slot >= 0 && out == w->out && !w->rearm)
			return 0;
		w->out = out;
		ev.events =
		    EPOLLIN | EPOLLRDHUP | EPOLLET | (out ? EPOLLOUT : 0);
	}
	if (w->slot >= 0) {
		ev.data.u64 = (uint64_t)w->gen << 32 | (uint32_t)w->fd;
		return epoll_ctl(b->epfd, EPOLL_CTL_MOD, w->fd, &ev);
	}
	if (w->fd < 0 || reserve(b, w->fd) < 0)
		return -1;
	w->gen = ++b->gen;
	ev.data.u64 = (uint64_t)w->gen << 32 | (uint32_t)w->fd;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -1;
	b->byfd[w->fd] = w;
	w->slot = 0; /* registered */
	return 0;
}

static void
epoll_remove(struct loop_backend *b, struct loop_watch *w, bool closing)
{
	if (w->slot < 0)
		return;
	w->slot = -1;
	b->byfd[w->fd] = NULL;
	if (!closing)
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

static int
epoll_wait_backend(struct loop_backend *b, struct loop *loop, int timeout_ms)
{
	int n = epoll_wait(b->epfd, b->events, EPOLL_BATCH, timeout_ms);

	loop_woke(loop);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	/* A callback may unwatch a watch that is later in this batch: it is
	 * then marked dead, still allocated, and dispatch skips it. */
	for (int i = 0; i < n; i++) {
		uint32_t re = b->events[i].events;
		uint64_t key = b->events[i].data.u64;
		uint32_t fd = (uint32_t)key;
		struct loop_watch *w = fd < b->nbyfd ? b->byfd[fd] : NULL;
		if (w == NULL || w->gen != (uint32_t)(key >> 32))
			continue; /* unwatched meanwhile, or a stale one */
		loop_dispatch(
		    w, ((re & EPOLLIN) ? LOOP_IN : 0) |
		           ((re & EPOLLOUT) ? LOOP_OUT : 0) |
		           ((re & EPOLLRDHUP) ? LOOP_RDHUP : 0) |
		           ((re & (EPOLLERR | EPOLLHUP)) ? LOOP_ERR : 0));
	}
	return 0;
}

const struct loop_backend_ops loop_epoll_ops = {
    .name = "epoll",
    .edges = true,
    .create = epoll_create_backend,
    .destroy = epoll_destroy,
    .update = epoll_update,
    .remove = epoll_remove,
    .wait = epoll_wait_backend,
};
