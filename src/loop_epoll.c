/* SPDX-License-Identifier: ISC */
/* loop_epoll: the epoll backend of the loop, level-triggered, so that it
 * behaves exactly as the poll backend does (SO_RCVLOWAT included) while a
 * wait costs only the ready descriptors instead of all of them. A paused
 * watch (events 0) is removed from the set. */
#define _GNU_SOURCE
#include "loop_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

/* Events taken per wait; more ready ones wait for the next call. */
#define EPOLL_BATCH 256

struct loop_backend {
	int epfd;
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
	free(b);
}

static int
epoll_update(struct loop_backend *b, struct loop_watch *w)
{
	struct epoll_event ev = {0};
	int op;

	if (w->events == 0) {
		if (w->slot < 0)
			return 0;
		w->slot = -1;
		return epoll_ctl(b->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	}
	ev.events = ((w->events & LOOP_IN) ? EPOLLIN : 0) |
	            ((w->events & LOOP_OUT) ? EPOLLOUT : 0) |
	            ((w->events & LOOP_RDHUP) ? EPOLLRDHUP : 0);
	ev.data.ptr = w;
	op = w->slot < 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(b->epfd, op, w->fd, &ev) < 0)
		return -1;
	w->slot = 0; /* registered */
	return 0;
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
		loop_dispatch(
		    b->events[i].data.ptr,
		    ((re & EPOLLIN) ? LOOP_IN : 0) |
		        ((re & EPOLLOUT) ? LOOP_OUT : 0) |
		        ((re & EPOLLRDHUP) ? LOOP_RDHUP : 0) |
		        ((re & (EPOLLERR | EPOLLHUP)) ? LOOP_ERR : 0));
	}
	return 0;
}

const struct loop_backend_ops loop_epoll_ops = {
    .name = "epoll",
    .create = epoll_create_backend,
    .destroy = epoll_destroy,
    .update = epoll_update,
    .wait = epoll_wait_backend,
};
