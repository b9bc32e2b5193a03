/* SPDX-License-Identifier: ISC */
/* loop_backend: what loop.c asks of a descriptor-event backend. One file
 * per backend implements it (loop_poll.c, loop_epoll.c) and exports its
 * operations table. Internal to the loop. */
#ifndef PORTSPLIT_LOOP_BACKEND_H
#define PORTSPLIT_LOOP_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_watch;
struct loop_backend;

/* The part of a watch that backends see. */
struct loop_watch {
	struct loop *loop;
	int fd;
	unsigned events; /* what the owner wants */
	int slot;        /* the backend's own index; -1 when not registered */
	uint32_t gen;    /* the backend's own: which registration of FD */
	bool dead;
	/* Made by loop_watch_edge() on a backend that reports edges
	 * (ops->edges): registered for new readiness only, and a change of
	 * events costs no system call (out: LOOP_OUT is registered too, from
	 * the first time it is asked for). */
	bool edge;
	bool out;
	bool again; /* a repeated LOOP_IN report is queued (loop.c) */
	bool rearm; /* register again even if nothing changed */
	void *fn;
	void *arg;
	struct loop_watch *next_dead;
};

struct loop_backend_ops {
	const char *name;
	/* Whether it can register a watch for edges (see loop_watch_edge);
	 * when not, such a watch is an ordinary one. */
	bool edges;
	/* Makes the backend; NULL when it cannot. */
	struct loop_backend *(*create)(void);
	/* Frees it. */
	void (*destroy)(struct loop_backend *b);
	/* Registers W for W->events or updates it; events 0 pauses it but
	 * keeps errors and hang-ups reported (once per pause). Returns 0, or
	 * -1 with errno (only registering can fail). */
	int (*update)(struct loop_backend *b, struct loop_watch *w);
	/* Forgets W. CLOSING: its descriptor is closed right after, which
	 * ends a kernel registration by itself. */
	void (*remove)(struct loop_backend *b, struct loop_watch *w,
	               bool closing);
	/* Waits up to TIMEOUT_MS (-1: forever), calls loop_woke(), then
	 * loop_dispatch() for each ready watch. Returns 0, or -1 with errno
	 * (EINTR is not an error). */
	int (*wait)(struct loop_backend *b, struct loop *loop, int timeout_ms);
};

extern const struct loop_backend_ops loop_poll_ops;
extern const struct loop_backend_ops loop_epoll_ops;
/* Called by the backend when its wait returns, before any dispatch, so
 * that callbacks see the time they run at. */
void loop_woke(struct loop *loop);
/* Called by the backend for each ready watch. */
void loop_dispatch(struct loop_watch *w, unsigned events);

#endif
