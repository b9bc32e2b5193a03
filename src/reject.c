/* SPDX-License-Identifier: ISC */
/* reject: the window of on_reject.
 *
 * The client's decision bytes were only peeked, never consumed. The window
 * peeks them again into the loop's shared buffer and sends them to the
 * backend, and reads nothing else from the client: whatever the client
 * sends meanwhile waits in its socket (TCP's own flow control bounds it).
 * So the window holds no copy of its own, and a rejected connection still
 * has its stream intact, from the first byte, for the next service.
 *
 * States: SENDING (decision bytes not all written; the backend is watched
 * for writability too) -> WAITING (watching the backend for a byte or its
 * end) -> one of
 *   ACCEPTED  the backend sent a byte (peeked, left for the relay), or
 *             the window passed: exactly the bytes sent are consumed from
 *             the client, so the relay continues the stream after them;
 *   REJECTED  FIN or reset (or a failed write) before any byte, and the
 *             client's socket holds no more than the decision bytes;
 *   FAILED    the same, but the client sent more, or a call failed. */
#define _GNU_SOURCE
#include "reject.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct reject {
	struct loop *loop;
	int client, backend;
	size_t nbytes, sent;
	uint8_t *scratch;
	size_t scratchlen;
	uint64_t start_ms;
	struct loop_watch *w;
	struct loop_timer *timer;
	reject_done_fn *fn; /* NULL once over or cancelled */
	void *arg;
	bool kick_pending; /* on_kick is queued on the loop */
};

static void
release(struct reject *r)
{
	loop_unwatch(r->w);
	r->w = NULL;
	loop_timer_free(r->timer);
	r->timer = NULL;
	r->fn = NULL;
	if (!r->kick_pending)
		free(r);
}

static void
end(struct reject *r, enum reject_outcome outcome, int err)
{
	reject_done_fn *fn = r->fn;
	void *arg = r->arg;
	int backend = r->backend;
	uint64_t ms = loop_now_ms(r->loop) - r->start_ms;

	if (outcome != REJECT_ACCEPTED) {
		/* Closed with its registration, none left behind. */
		loop_unwatch_close(r->w);
		r->w = NULL;
		backend = -1;
	}
	r->backend = -1;
	release(r);
	fn(arg, outcome, backend, err, ms);
}

/* The backend ended (ERR 0: FIN) before sending a byte. */
static void
rejected(struct reject *r, int err)
{
	int avail = -1;

	/* What the client's socket holds: the decision bytes, or more. */
	if (ioctl(r->client, FIONREAD, &avail) < 0 || avail < 0 ||
	    (size_t)avail != r->nbytes)
		end(r, REJECT_FAILED, err);
	else
		end(r, REJECT_REJECTED, err);
}

/* The backend took the connection: the bytes it got leave the client's
 * socket, so that the relay goes on after them. */
static void
accepted(struct reject *r)
{
	size_t left = r->sent;

	while (left > 0) {
		ssize_t n = recv(r->client, r->scratch, left, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* They were there: only a reset takes them away. */
			end(r, REJECT_FAILED, n < 0 ? errno : EPIPE);
			return;
		}
		left -= (size_t)n;
	}
	end(r, REJECT_ACCEPTED, 0);
}

/* Writes the decision bytes not yet sent; false when the window ended. */
static bool
send_more(struct reject *r)
{
	while (r->sent < r->nbytes) {
		ssize_t n = recv(r->client, r->scratch, r->nbytes,
		                 MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (size_t)n < r->nbytes) {
			end(r, REJECT_FAILED, n < 0 ? errno : EPIPE);
			return false;
		}
		n = send(r->backend, r->scratch + r->sent, r->nbytes - r->sent,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			rejected(r, errno); /* EPIPE, ECONNRESET */
			return false;
		}
		r->sent += (size_t)n;
	}
	loop_watch_set(r->w, LOOP_IN | LOOP_RDHUP |
	                         (r->sent < r->nbytes ? LOOP_OUT : 0));
	return true;
}

static void
on_backend(void *arg, int fd, unsigned events)
{
	struct reject *r = arg;
	uint8_t byte;
	ssize_t n;

	if ((events & LOOP_OUT) && !send_more(r))
		return;
	if (!(events & (LOOP_IN | LOOP_RDHUP | LOOP_ERR)))
		return;
	do
		n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		accepted(r);
	else if (n == 0)
		rejected(r, 0);
	else if (errno != EAGAIN)
		rejected(r, errno);
}

static void
on_window(void *arg)
{
	accepted(arg);
}

static void
on_kick(void *arg)
{
	struct reject *r = arg;

	r->kick_pending = false;
	if (r->fn == NULL) {
		free(r); /* cancelled, or over, meanwhile */
		return;
	}
	if (send_more(r))
		on_backend(r, r->backend, LOOP_IN);
}

struct reject *
reject_start(struct loop *loop, int client, int backend, size_t nbytes,
             uint8_t *scratch, size_t scratchlen, uint32_t window_ms,
             reject_done_fn *fn, void *arg)
{
	struct reject *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->loop = loop;
	r->client = client;
	r->backend = backend;
	r->nbytes = nbytes < scratchlen ? nbytes : scratchlen;
	r->scratch = scratch;
	r->scratchlen = scratchlen;
	r->start_ms = loop_now_ms(loop);
	r->fn = fn;
	r->arg = arg;
	r->w = loop_watch(loop, backend, LOOP_IN | LOOP_RDHUP | LOOP_OUT,
	                  on_backend, r);
	r->timer = loop_timer_new(loop, on_window, r);
	if (r->w == NULL || r->timer == NULL ||
	    loop_defer(loop, on_kick, r) < 0) {
		loop_unwatch(r->w);
		loop_timer_free(r->timer);
		free(r);
		return NULL;
	}
	r->kick_pending = true;
	loop_watch_set(r->w, 0); /* the kick looks first */
	loop_timer_arm(r->timer, window_ms);
	return r;
}

void
reject_cancel(struct reject *r)
{
	if (r->backend >= 0) {
		loop_unwatch_close(r->w); /* and the backend's socket */
		r->w = NULL;
	}
	r->backend = -1;
	release(r);
}
