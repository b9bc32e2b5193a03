/* SPDX-License-Identifier: ISC */
/* loop: timers (a binary min-heap on the expiry time), deferred work, and
 * the dispatch of descriptor events from the backend. Callbacks may free
 * anything: an unwatched descriptor's watch stays allocated, marked dead,
 * until the iteration ends, and dispatch skips dead watches. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop_backend.h"

struct loop_timer {
	struct loop *loop;
	uint64_t when;
	size_t idx; /* position in the heap; NOT_ARMED when disarmed */
	loop_fn *fn;
	void *arg;
};

#define NOT_ARMED ((size_t)-1)

struct deferred {
	loop_fn *fn;
	void *arg;
};

struct loop {
	const struct loop_backend_ops *ops;
	struct loop_backend *backend;
	uint64_t now_ms;
	bool stop;
	struct loop_timer **heap;
	size_t nheap, capheap;
	size_t ntimers; /* made and not freed: capheap is at least this */
	struct deferred *deferred;
	size_t ndeferred, capdeferred;
	struct loop_watch *dead;
};

uint64_t
loop_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct loop *
loop_new(const char *backend)
{
	struct loop *l;
	const struct loop_backend_ops *ops = &loop_epoll_ops;

	if (backend != NULL && strcmp(backend, loop_poll_ops.name) == 0)
		ops = &loop_poll_ops;
	else if (backend != NULL && strcmp(backend, loop_epoll_ops.name) != 0) {
		errno = EINVAL;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->ops = ops;
	l->backend = ops->create();
	if (l->backend == NULL) {
		free(l);
		return NULL;
	}
	l->now_ms = loop_clock_us() / 1000;
	return l;
}

static void
free_dead(struct loop *l)
{
	while (l->dead != NULL) {
		struct loop_watch *w = l->dead;
		l->dead = w->next_dead;
		free(w);
	}
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	free_dead(l);
	l->ops->destroy(l->backend);
	free(l->heap);
	free(l->deferred);
	free(l);
}

const char *
loop_backend_name(const struct loop *l)
{
	return l->ops->name;
}

uint64_t
loop_now_ms(const struct loop *l)
{
	return l->now_ms;
}

void
loop_woke(struct loop *l)
{
	l->now_ms = loop_clock_us() / 1000;
}

void
loop_stop(struct loop *l)
{
	l->stop = true;
}

int
loop_defer(struct loop *l, loop_fn *fn, void *arg)
{
	if (l->ndeferred == l->capdeferred) {
		size_t cap = l->capdeferred ? l->capdeferred * 2 : 32;
		void *p = realloc(l->deferred, cap * sizeof(*l->deferred));
		if (p == NULL)
			return -1;
		l->deferred = p;
		l->capdeferred = cap;
	}
	l->deferred[l->ndeferred].fn = fn;
	l->deferred[l->ndeferred++].arg = arg;
	return 0;
}

/* --- descriptor watches --- */

static struct loop_watch *
watch_new(struct loop *l, int fd, unsigned events, loop_io_fn *fn, void *arg,
          bool edge)
{
	struct loop_watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->edge = edge && l->ops->edges;
	w->loop = l;
	w->fd = fd;
	w->slot = -1;
	w->fn = (void *)fn;
	w->arg = arg;
	w->events = events;
	if (l->ops->update(l->backend, w) < 0) {
		free(w);
		return NULL;
	}
	return w;
}

struct loop_watch *
loop_watch(struct loop *l, int fd, unsigned events, loop_io_fn *fn, void *arg)
{
	return watch_new(l, fd, events, fn, arg, false);
}

struct loop_watch *
loop_watch_edge(struct loop *l, int fd, unsigned events, loop_io_fn *fn,
                void *arg)
{
	return watch_new(l, fd, events, fn, arg, true);
}

/* The repeated LOOP_IN report of an edge watch. A watch unwatched
 * meanwhile is still allocated: dead watches are freed after the
 * iteration's deferred work. */
static void
on_again(void *arg)
{
	struct loop_watch *w = arg;

	w->again = false;
	if (!w->dead && (w->events & LOOP_IN))
		((loop_io_fn *)w->fn)(w->arg, w->fd, LOOP_IN);
}

void
loop_watch_again(struct loop_watch *w)
{
	if (!w->edge || w->again || w->dead)
		return;
	w->again = loop_defer(w->loop, on_again, w) == 0;
	if (!w->again) {
		/* Out of memory: registering the watch again makes the
		 * system report what is ready now. */
		w->rearm = true;
		w->loop->ops->update(w->loop->backend, w);
		w->rearm = false;
	}
}

void
loop_watch_set(struct loop_watch *w, unsigned events)
{
	unsigned added = events & ~w->events;

	if (w->events == events)
		return;
	w->events = events;
	/* Registered since loop_watch(): a change cannot fail. */
	w->loop->ops->update(w->loop->backend, w);
	if (added & LOOP_IN)
		loop_watch_again(w);
}

void
loop_watch_rebind(struct loop_watch *w, unsigned events, loop_io_fn *fn,
                  void *arg)
{
	w->fn = (void *)fn;
	w->arg = arg;
	loop_watch_set(w, events);
}

unsigned
loop_watch_events(const struct loop_watch *w)
{
	return w->events;
}

static void
unwatch(struct loop_watch *w, bool closing)
{
	w->loop->ops->remove(w->loop->backend, w, closing);
	w->events = 0;
	w->dead = true;
	w->next_dead = w->loop->dead;
	w->loop->dead = w;
}

void
loop_unwatch(struct loop_watch *w)
{
	if (w != NULL)
		unwatch(w, false);
}

void
loop_unwatch_close(struct loop_watch *w)
{
	if (w == NULL)
		return;
	unwatch(w, true);
	close(w->fd);
}

void
loop_dispatch(struct loop_watch *w, unsigned events)
{
	if (w->dead)
		return;
	/* Report only what was asked for, plus errors. */
	events &= w->events | LOOP_ERR;
	if (events != 0)
		((loop_io_fn *)w->fn)(w->arg, w->fd, events);
}

/* --- timers --- */

static void
heap_swap(struct loop *l, size_t a, size_t b)
{
	struct loop_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->idx = a;
	l->heap[b]->idx = b;
}

static void
heap_up(struct loop *l, size_t i)
{
	while (i > 0 && l->heap[(i - 1) / 2]->when > l->heap[i]->when) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;
		if (c < l->nheap && l->heap[c]->when < l->heap[m]->when)
			m = c;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[m]->when)
			m = c + 1;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

struct loop_timer *
loop_timer_new(struct loop *l, loop_fn *fn, void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	/* Each timer takes at most one place in the heap: reserving it now
	 * means arming can never fail, and a timer that could not be armed
	 * would never fire and leak whatever waits for it. */
	if (l->ntimers == l->capheap) {
		size_t cap = l->capheap ? l->capheap * 2 : 64;
		void *p = realloc(l->heap, cap * sizeof(*l->heap));
		if (p == NULL) {
			free(t);
			return NULL;
		}
		l->heap = p;
		l->capheap = cap;
	}
	l->ntimers++;
	t->loop = l;
	t->idx = NOT_ARMED;
	t->fn = fn;
	t->arg = arg;
	return t;
}

void
loop_timer_disarm(struct loop_timer *t)
{
	struct loop *l = t->loop;
	size_t i = t->idx;

	if (i == NOT_ARMED)
		return;
	l->nheap--;
	if (i != l->nheap) {
		l->heap[i] = l->heap[l->nheap];
		l->heap[i]->idx = i;
		heap_down(l, i);
		heap_up(l, i);
	}
	t->idx = NOT_ARMED;
}

void
loop_timer_arm(struct loop_timer *t, uint64_t delay_ms)
{
	struct loop *l = t->loop;

	loop_timer_disarm(t);
	/* Never full: every timer's place was reserved when it was made. */
	t->when = l->now_ms + delay_ms;
	t->idx = l->nheap;
	l->heap[l->nheap++] = t;
	heap_up(l, t->idx);
}

void
loop_timer_free(struct loop_timer *t)
{
	if (t == NULL)
		return;
	loop_timer_disarm(t);
	t->loop->ntimers--;
	free(t);
}

/* --- the loop --- */

static int
next_timeout(struct loop *l)
{
	uint64_t d;

	if (l->ndeferred > 0)
		return 0;
	if (l->nheap == 0)
		return -1;
	if (l->heap[0]->when <= l->now_ms)
		return 0;
	d = l->heap[0]->when - l->now_ms;
	return d > 60000 ? 60000 : (int)d;
}

static void
run_timers(struct loop *l)
{
	while (l->nheap > 0 && l->heap[0]->when <= l->now_ms) {
		struct loop_timer *t = l->heap[0];
		loop_timer_disarm(t);
		t->fn(t->arg); /* may free t */
	}
}

static void
run_deferred(struct loop *l)
{
	/* Deferred work may defer more; it runs in the same pass. */
	for (size_t i = 0; i < l->ndeferred; i++)
		l->deferred[i].fn(l->deferred[i].arg);
	l->ndeferred = 0;
}

int
loop_run(struct loop *l)
{
	l->stop = false;
	while (!l->stop) {
		if (l->ops->wait(l->backend, l, next_timeout(l)) < 0)
			return -1;
		run_timers(l);
		run_deferred(l);
		free_dead(l);
	}
	return 0;
}
