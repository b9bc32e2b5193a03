/* SPDX-License-Identifier: ISC */
/* loop: the event loop — descriptor events, monotonic timers and deferred
 * work. One loop runs in one thread; nothing here is thread-safe. */
#ifndef PORTSPLIT_LOOP_H
#define PORTSPLIT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

enum {
	LOOP_IN = 1,    /* readable (or, with SO_RCVLOWAT, enough to read) */
	LOOP_OUT = 2,   /* writable, or a connect finished */
	LOOP_RDHUP = 4, /* the peer closed its sending side */
	LOOP_ERR = 8,   /* error or hang-up: always reported while watched */
};

struct loop;
/* A descriptor being watched. Owned by the loop; valid until
 * loop_unwatch(). */
struct loop_watch;
/* A one-shot timer, owned by whoever made it. */
struct loop_timer;

/* Called with the events that happened on FD. */
typedef void loop_io_fn(void *arg, int fd, unsigned events);
/* Called when a timer expires, or for deferred work. */
typedef void loop_fn(void *arg);

/* Makes a loop on BACKEND: "epoll" (NULL: the default) or "poll". NULL
 * with errno EINVAL for another name, or when out of memory. */
struct loop *loop_new(const char *backend);
/* The name of the loop's backend. */
const char *loop_backend_name(const struct loop *loop);
/* Frees the loop; every watch must be gone and every timer freed. */
void loop_free(struct loop *loop);
/* Runs until loop_stop(); returns 0, or -1 with errno on a failure of the
 * system's wait call. */
int loop_run(struct loop *loop);
/* Makes loop_run() return after the current iteration. */
void loop_stop(struct loop *loop);
/* The monotonic time of the current iteration, in milliseconds. */
uint64_t loop_now_ms(const struct loop *loop);
/* The monotonic time right now, in microseconds. */
uint64_t loop_clock_us(void);
/* Runs FN(ARG) once the current iteration's callbacks are done: the place
 * to free objects that a pending event may still name. */
int loop_defer(struct loop *loop, loop_fn *fn, void *arg);

/* Watches FD for EVENTS (LOOP_IN | LOOP_OUT | LOOP_RDHUP). NULL when out
 * of memory. A descriptor stays registered with the system from here to
 * loop_unwatch(), however often its events change. */
struct loop_watch *loop_watch(struct loop *loop, int fd, unsigned events,
                              loop_io_fn *fn, void *arg);
/* The same, for a socket that its owner reads until a read would block or
 * falls short of its buffer, or else calls loop_watch_again(): the loop
 * may then report only what is new (edge-triggered, on the epoll backend),
 * and a change of events costs no system call. When the events come to
 * include LOOP_IN again, LOOP_IN is reported once (after the current
 * callbacks), as bytes may have come while it was not asked for. */
struct loop_watch *loop_watch_edge(struct loop *loop, int fd, unsigned events,
                                   loop_io_fn *fn, void *arg);
/* The owner of an edge watch stopped reading before the socket was
 * drained: LOOP_IN is reported again once the current callbacks are done
 * (if still asked for). Nothing for any other watch: its readiness is
 * reported as long as it lasts. */
void loop_watch_again(struct loop_watch *w);
/* Changes the events a watch waits for. 0 pauses it: no readiness is
 * reported, but an error or hang-up still is (LOOP_ERR, once per pause), so
 * a paused socket's reset is not missed. Cannot fail: the registration
 * already exists. */
void loop_watch_set(struct loop_watch *w, unsigned events);
/* Hands W to a new owner: from now on FN(ARG) gets its events, and it waits
 * for EVENTS (one system call at most, none when they are the same). */
void loop_watch_rebind(struct loop_watch *w, unsigned events, loop_io_fn *fn,
                       void *arg);
/* The events a watch waits for. */
unsigned loop_watch_events(const struct loop_watch *w);
/* Stops watching; no callback for it runs after this. The descriptor is
 * not closed. NULL is allowed. */
void loop_unwatch(struct loop_watch *w);
/* Stops watching and closes the descriptor: closing it ends its
 * registration, so no system call is spent on removing it first. NULL is
 * allowed. */
void loop_unwatch_close(struct loop_watch *w);

/* Makes a disarmed timer; NULL when out of memory. */
struct loop_timer *loop_timer_new(struct loop *loop, loop_fn *fn, void *arg);
/* Arms (or re-arms) T to fire DELAY_MS from the current iteration. */
void loop_timer_arm(struct loop_timer *t, uint64_t delay_ms);
/* Disarms T. */
void loop_timer_disarm(struct loop_timer *t);
/* Disarms and frees T; NULL is allowed. */
void loop_timer_free(struct loop_timer *t);

#endif
