/* SPDX-License-Identifier: ISC */
/* resolve: host names looked up off the event loop (see resolve.h).
 *
 * The loop's side keeps a cache of entries, one per HOST:PORT: an entry is
 * FRESH (an answer younger than its TTL), PENDING (a lookup queued or
 * running; callers wait on it) or STALE (looked up again on the next ask).
 * The thread's side is a queue of jobs under a mutex: it takes one, calls
 * getaddrinfo() with the lock released, puts the answer on the done list
 * and bumps the eventfd; the loop then takes the done list, refreshes the
 * entries and calls their waiters.
 *
 * The state the two sides share is reference counted (the loop, and the
 * thread while it runs), so that freeing a resolver never waits for a
 * lookup in progress: the thread finds the resolver gone, frees its job
 * and what remains, and ends. */
#define _GNU_SOURCE
#include "resolve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct resolved {
	struct addrinfo *ai;
	int err;
	unsigned refs;
};

struct job {
	struct job *next;
	struct entry *entry; /* read by the loop's side only */
	char *host, *port;
	struct addrinfo *ai;
	int err;
};

/* Shared by the loop and the thread; every field under MU. */
struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job *todo, **todo_tail;
	struct job *done;
	int efd;
	bool gone;     /* the resolver was freed */
	unsigned refs; /* the resolver, and the thread while it runs */
	uint64_t lookups;
};

struct entry {
	struct entry *next;
	char *host, *port;
	struct resolved *res; /* NULL until the first answer */
	uint64_t expires_ms;
	bool pending;
	struct resolve_wait *waiters;
};

struct resolve_wait {
	struct resolve_wait *next;
	struct entry *entry; /* NULL while an answer is being handed */
	struct resolver *r;  /* NULL once the resolver is gone */
	resolve_done_fn *fn;
	void *arg;
	struct resolved *res; /* a cached answer, handed after a defer */
	bool cancelled;
};

struct resolver {
	struct loop *loop;
	struct shared *sh;
	struct loop_watch *w;
	struct entry *entries;
	struct resolve_wait *handing; /* cached answers queued by deliver() */
	bool thread;
	uint64_t shared_answers;
};

static void
shared_release(struct shared *sh)
{
	struct job *lists[2], *j;
	bool last;

	pthread_mutex_lock(&sh->mu);
	last = --sh->refs == 0;
	pthread_mutex_unlock(&sh->mu);
	if (!last)
		return;
	lists[0] = sh->todo;
	lists[1] = sh->done;
	for (int i = 0; i < 2; i++)
		while ((j = lists[i]) != NULL) {
			lists[i] = j->next;
			if (j->ai != NULL)
				freeaddrinfo(j->ai);
			free(j->host);
			free(j->port);
			free(j);
		}
	close(sh->efd);
	pthread_cond_destroy(&sh->cond);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
}

static void *
thread_main(void *arg)
{
	struct shared *sh = arg;
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_protocol = IPPROTO_TCP,
	    .ai_flags = AI_NUMERICSERV,
	};

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		struct job *j;
		uint64_t one = 1;
		while (sh->todo == NULL && !sh->gone)
			pthread_cond_wait(&sh->cond, &sh->mu);
		if (sh->gone)
			break;
		j = sh->todo;
		sh->todo = j->next;
		if (sh->todo == NULL)
			sh->todo_tail = &sh->todo;
		sh->lookups++;
		pthread_mutex_unlock(&sh->mu);
		j->err = getaddrinfo(j->host, j->port, &hints, &j->ai);
		if (j->err != 0)
			j->ai = NULL;
		pthread_mutex_lock(&sh->mu);
		j->next = sh->done;
		sh->done = j;
		if (!sh->gone && write(sh->efd, &one, sizeof(one)) < 0) {
			/* The counter is already non-zero: the loop will
			 * look. */
		}
	}
	pthread_mutex_unlock(&sh->mu);
	shared_release(sh);
	return NULL;
}

/* Starts the thread with every signal blocked: signals are the loop's. */
static int
start_thread(struct resolver *r)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -1;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r->sh->refs++;
	rc = pthread_create(&tid, &attr, thread_main, r->sh);
	if (rc != 0)
		r->sh->refs--;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	r->thread = true;
	return 0;
}

/* Hands each waiter of E the answer, then forgets them. */
static void
answer(struct entry *e)
{
	struct resolve_wait *list = e->waiters, *w;

	/* Taken off the entry first: a callback may cancel a wait further
	 * down the list (it is then marked, and freed here). */
	e->waiters = NULL;
	for (w = list; w != NULL; w = w->next)
		w->entry = NULL;
	while ((w = list) != NULL) {
		list = w->next;
		if (!w->cancelled) {
			if (e->res != NULL)
				e->res->refs++;
			w->fn(w->arg, e->res);
		}
		free(w);
	}
}

static void
on_done(void *arg, int fd, unsigned events)
{
	struct resolver *r = arg;
	struct job *done;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&r->sh->mu);
	done = r->sh->done;
	r->sh->done = NULL;
	pthread_mutex_unlock(&r->sh->mu);
	while (done != NULL) {
		struct job *j = done;
		struct entry *e = j->entry;
		struct resolved *res = calloc(1, sizeof(*res));
		done = j->next;
		if (res == NULL) {
			/* Out of memory: the waiters see a failure. */
			if (j->ai != NULL)
				freeaddrinfo(j->ai);
			j->ai = NULL;
			j->err = EAI_MEMORY;
			res = e->res; /* keep the old answer, if any */
		} else {
			res->ai = j->ai;
			res->err = j->err;
			res->refs = 1; /* the cache's */
			resolved_unref(e->res);
			e->res = res;
		}
		e->pending = false;
		e->expires_ms =
		    loop_now_ms(r->loop) +
		    (j->err == 0 ? RESOLVE_TTL_MS : RESOLVE_FAIL_TTL_MS);
		free(j->host);
		free(j->port);
		free(j);
		answer(e);
	}
}

struct resolver *
resolver_new(struct loop *loop)
{
	struct resolver *r = calloc(1, sizeof(*r));
	struct shared *sh = calloc(1, sizeof(*sh));

	if (r == NULL || sh == NULL)
		goto fail;
	sh->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sh->efd < 0)
		goto fail;
	pthread_mutex_init(&sh->mu, NULL);
	pthread_cond_init(&sh->cond, NULL);
	sh->todo_tail = &sh->todo;
	sh->refs = 1;
	r->loop = loop;
	r->sh = sh;
	r->w = loop_watch(loop, sh->efd, LOOP_IN, on_done, r);
	if (r->w == NULL) {
		shared_release(sh);
		free(r);
		return NULL;
	}
	return r;
fail:
	if (sh != NULL && sh->efd > 0)
		close(sh->efd);
	free(sh);
	free(r);
	return NULL;
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	loop_unwatch(r->w);
	for (struct resolve_wait *w = r->handing; w != NULL; w = w->next) {
		w->cancelled = true;
		w->r = NULL;
	}
	while (r->entries != NULL) {
		struct entry *e = r->entries;
		r->entries = e->next;
		while (e->waiters != NULL) {
			struct resolve_wait *w = e->waiters;
			e->waiters = w->next;
			free(w);
		}
		resolved_unref(e->res);
		free(e->host);
		free(e->port);
		free(e);
	}
	pthread_mutex_lock(&r->sh->mu);
	r->sh->gone = true;
	pthread_cond_signal(&r->sh->cond);
	pthread_mutex_unlock(&r->sh->mu);
	shared_release(r->sh);
	free(r);
}

/* Hands a cached answer, after the iteration (never inside lookup). */
static void
deliver(void *arg)
{
	struct resolve_wait *w = arg;

	if (w->r != NULL) {
		struct resolve_wait **pp = &w->r->handing;
		while (*pp != w)
			pp = &(*pp)->next;
		*pp = w->next;
	}
	if (!w->cancelled)
		w->fn(w->arg, w->res);
	else
		resolved_unref(w->res);
	free(w);
}

static struct entry *
find_entry(struct resolver *r, const char *host, const char *port)
{
	struct entry *e, **pp = &r->entries;
	uint64_t now = loop_now_ms(r->loop);

	for (e = r->entries; e != NULL; e = e->next)
		if (strcmp(e->host, host) == 0 && strcmp(e->port, port) == 0)
			return e;
	/* Names come from the configuration, so there are few; entries
	 * nobody waits for and whose answer is old are dropped here. */
	while ((e = *pp) != NULL) {
		if (!e->pending && e->waiters == NULL &&
		    e->expires_ms + RESOLVE_TTL_MS < now) {
			*pp = e->next;
			resolved_unref(e->res);
			free(e->host);
			free(e->port);
			free(e);
			continue;
		}
		pp = &e->next;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->host = strdup(host);
	e->port = strdup(port);
	if (e->host == NULL || e->port == NULL) {
		free(e->host);
		free(e->port);
		free(e);
		return NULL;
	}
	e->next = r->entries;
	r->entries = e;
	return e;
}

struct resolve_wait *
resolver_lookup(struct resolver *r, const char *host, const char *port,
                resolve_done_fn *fn, void *arg)
{
	struct entry *e = find_entry(r, host, port);
	struct resolve_wait *w;
	struct job *j;

	if (e == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->fn = fn;
	w->arg = arg;
	w->r = r;
	if (e->res != NULL && !e->pending &&
	    e->expires_ms > loop_now_ms(r->loop)) {
		w->res = e->res;
		if (loop_defer(r->loop, deliver, w) < 0) {
			free(w);
			return NULL;
		}
		e->res->refs++;
		r->shared_answers++;
		w->next = r->handing;
		r->handing = w;
		return w;
	}
	if (e->pending) {
		r->shared_answers++;
		goto wait;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->host = strdup(host)) == NULL ||
	    (j->port = strdup(port)) == NULL ||
	    (!r->thread && start_thread(r) < 0)) {
		if (j != NULL) {
			free(j->host);
			free(j->port);
		}
		free(j);
		free(w);
		return NULL;
	}
	j->entry = e;
	e->pending = true;
	pthread_mutex_lock(&r->sh->mu);
	*r->sh->todo_tail = j;
	r->sh->todo_tail = &j->next;
	pthread_cond_signal(&r->sh->cond);
	pthread_mutex_unlock(&r->sh->mu);
wait:
	w->entry = e;
	w->next = e->waiters;
	e->waiters = w;
	return w;
}

void
resolve_cancel(struct resolve_wait *w)
{
	struct resolve_wait **pp;

	if (w->entry == NULL) {
		w->cancelled = true; /* being handed: deliver() or answer()
		                      * frees it */
		return;
	}
	for (pp = &w->entry->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	free(w);
}

const struct addrinfo *
resolved_addrs(const struct resolved *res)
{
	return res->ai;
}

int
resolved_error(const struct resolved *res)
{
	return res->err;
}

void
resolved_unref(struct resolved *res)
{
	if (res == NULL || --res->refs > 0)
		return;
	if (res->ai != NULL)
		freeaddrinfo(res->ai);
	free(res);
}

void
resolver_stats(const struct resolver *r, struct resolver_stats *st)
{
	pthread_mutex_lock(&r->sh->mu);
	st->lookups = r->sh->lookups;
	pthread_mutex_unlock(&r->sh->mu);
	st->shared = r->shared_answers;
}
