/* SPDX-License-Identifier: ISC */
/* relay: two paths, chosen per direction: copy, then splice once it pays.
 *
 * Every direction starts on the copy path: a request of a hundred bytes
 * and a short answer cost one recv() and one send() each way, where a
 * splice through a pipe costs two calls and a pipe. A direction switches to
 * the splice path (when a pool is given and both sides are sockets) the
 * first time a read fills the whole copy buffer: that is bulk, where
 * splicing saves the copies (the idea of HAProxy's splice-auto). With
 * SPLICE_AT_ONCE every direction splices from its first byte.
 *
 * The splice path moves bytes with
 * splice() from the source into a pipe and from the pipe into the
 * destination, so they never cross into user space. A direction takes a
 * pipe from the loop's pool when its source becomes readable and gives it
 * back the moment the pipe is empty again: an idle connection holds no
 * pipe, and the bytes still in a pipe are that direction's leftover, with
 * the same backpressure as below. When no pipe can be had (out of
 * descriptors, or past the user's pipe quota) the connection switches to
 * the copy path for good.
 *
 * The copy path: each direction reads from its source into the loop's shared
 * scratch buffer and writes to its destination at once. Only what the
 * destination cannot take is kept, in a buffer of exactly that size owned by
 * the direction, and while it is there the source is not read: that is the
 * backpressure, and it bounds a connection's memory to one read's worth per
 * direction. An idle connection holds no buffer at all.
 *
 * A direction's states: READING (its source is watched) -> PENDING (its
 * leftover waits for the destination to be writable) -> READING ...; on
 * end of file it becomes DRAINED once the leftover is written, and then
 * shuts down the destination's sending side, so a half-close travels
 * through — unless the other direction is over already: then the relay
 * ends and close() sends the same FIN, so the shutdown() is skipped. When
 * both directions are DRAINED the relay is over. An error on either side
 * ends both; a reset is passed on as a reset, also from a side whose
 * watch is paused (a paused watch still reports errors).
 *
 * A source whose peer's FIN was reported with its readiness (LOOP_RDHUP)
 * is read until that end of file at once, instead of after another wait.
 *
 * The head of A's stream may have reached B already, written by the
 * connect that found B ready (forward.h): those bytes are read from A with
 * the rest, counted, and not sent again.
 *
 * A pty master (B, when the options say so) is read and written like a
 * file. Its EIO is the terminal's hang-up: B's direction then ends as on
 * FIN, and B is "gone": what A sends afterwards is read and dropped until
 * A finishes, so the client gets a FIN rather than a reset. A terminal
 * cannot be half-closed: when A finishes, B gets its end-of-file character,
 * and if B's program is still there LINGER_MS later, the relay ends (the
 * master closes: a hang-up). */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads per readiness event and direction, so that one busy connection
 * cannot starve the others. */
#define READS_PER_EVENT 4
/* The smallest pipe worth splicing through: the default size. */
#define PIPE_MIN 65536

/* One pipe of the splice path and its capacity in bytes. */
struct relay_pipe {
	int r, w;
	size_t cap;
};

struct relay_pool {
	struct relay_pipe *spare;
	size_t n, max;
	int pipe_size; /* asked with F_SETPIPE_SZ; 0: the system's default */
};

struct dir {
	/* The leftover the destination did not take: in PEND (copy path) or
	 * in PIPE (splice path, PIPED); PLEN bytes either way. */
	uint8_t *pend;
	size_t plen, poff;
	struct relay_pipe pipe;
	bool piped;
	bool eof;    /* the source sent FIN */
	bool shut;   /* FIN passed on to the destination */
	bool splice; /* reads go through pipes (only where r->splice) */
	size_t skip; /* bytes at the head of the source the destination has */
	uint64_t bytes;
};

struct relay {
	struct loop *loop;
	int fd[2];
	bool pty[2];  /* fd[i] is a pty master */
	bool gone[2]; /* fd[i] hung up: writes to it are dropped */
	bool has_eof_char;
	uint8_t eof_char;
	uint32_t linger_ms;
	struct loop_timer *linger; /* armed when A finished and B is a pty */
	struct loop_watch *w[2];
	struct dir d[2]; /* d[i] carries fd[i] -> fd[1 - i] */
	struct loop_timer *idle;
	uint32_t idle_ms;
	uint64_t last_ms;
	uint8_t *buf;
	size_t bufsize;
	struct relay_pool *pool;
	bool splice; /* a direction may splice (both sides are sockets) */
	relay_done_fn *fn;
	void *arg;
	bool kick_pending; /* on_kick is queued on the loop */
	bool over;         /* finished while the kick was queued */
};

static void finish(struct relay *r, int error, int side);

static bool
reading(const struct dir *d)
{
	return !d->eof && d->plen == 0;
}

static void
update(struct relay *r)
{
	for (int i = 0; i < 2; i++)
		loop_watch_set(r->w[i],
		               (reading(&r->d[i]) ? LOOP_IN | LOOP_RDHUP : 0) |
		                   (r->d[1 - i].plen ? LOOP_OUT : 0));
}

static ssize_t
src_read(struct relay *r, int i, void *buf, size_t len)
{
	if (r->pty[i])
		return read(r->fd[i], buf, len);
	return recv(r->fd[i], buf, len, MSG_DONTWAIT);
}

static ssize_t
dst_write(struct relay *r, int i, const void *buf, size_t len)
{
	if (r->pty[i])
		return write(r->fd[i], buf, len);
	return send(r->fd[i], buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Passes a finished direction's FIN on; a terminal gets its EOF
 * character instead (best effort: a full terminal drops it). */
static void
maybe_shut(struct relay *r, int i)
{
	struct dir *d = &r->d[i];
	int to = 1 - i;

	if (d->eof && d->plen == 0 && !d->shut) {
		/* When the other direction is over too, the relay ends now and
		 * close() sends this FIN: its receive queue was read to end of
		 * file, so nothing unread turns the close into a reset. */
		if (!r->pty[to] && !r->d[to].shut)
			shutdown(r->fd[to], SHUT_WR);
		else if (r->has_eof_char && !r->gone[to] &&
		         write(r->fd[to], &r->eof_char, 1) < 0) {
			/* Nothing more to do: the program keeps its input. */
		}
		if (r->pty[to] && r->linger != NULL)
			loop_timer_arm(r->linger, r->linger_ms);
		d->shut = true;
	}
}

/* Side I (a pty master) hung up: nothing can be written to it any more.
 * Its output ends when reading it says so (EIO after the last bytes). */
static void
hangup(struct relay *r, int i)
{
	struct dir *in = &r->d[1 - i];

	r->gone[i] = true;
	free(in->pend);
	in->pend = NULL;
	in->plen = in->poff = 0;
	maybe_shut(r, 1 - i);
}

/* Reading side I (a pty master) gave EIO: its output is over too. */
static void
hangup_read(struct relay *r, int i)
{
	r->d[i].eof = true;
	maybe_shut(r, i);
	hangup(r, i);
}

/* --- the pipes of the splice path --- */

struct relay_pool *
relay_pool_new(size_t max_spare, size_t pipe_size)
{
	struct relay_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->spare = calloc(max_spare ? max_spare : 1, sizeof(*p->spare));
	if (p->spare == NULL) {
		free(p);
		return NULL;
	}
	p->max = max_spare;
	p->pipe_size = pipe_size > 0x40000000 ? 0x40000000 : (int)pipe_size;
	return p;
}

void
relay_pool_free(struct relay_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		close(p->spare[i].r);
		close(p->spare[i].w);
	}
	free(p->spare);
	free(p);
}

/* Gives direction D a pipe: a spare one, or a new one. Returns 0, or -1
 * with errno (EMFILE, ENFILE, ENOMEM; ENOBUFS for a pipe too small). */
static int
pipe_take(struct relay_pool *p, struct dir *d)
{
	int fds[2], got;

	if (p->n > 0) {
		d->pipe = p->spare[--p->n];
		d->piped = true;
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	/* Bigger than the default 64 KiB means fewer system calls per
	 * megabyte; when the per-user pipe quota says no, the default is
	 * fine. */
	got = p->pipe_size > 0 ? fcntl(fds[1], F_SETPIPE_SZ, p->pipe_size) : -1;
	if (got < 0)
		got = fcntl(fds[1], F_GETPIPE_SZ);
	if (got < PIPE_MIN) {
		/* Past its pipe quota a user gets pipes of two pages, which
		 * would move less per call than the copy path does. */
		close(fds[0]);
		close(fds[1]);
		errno = ENOBUFS;
		return -1;
	}
	d->pipe.r = fds[0];
	d->pipe.w = fds[1];
	d->pipe.cap = (size_t)got;
	d->piped = true;
	return 0;
}

/* Takes direction D's pipe away: back to the pool when it is empty and
 * there is room, else closed (bytes still in it are dropped). */
static void
pipe_release(struct relay_pool *p, struct dir *d)
{
	if (!d->piped)
		return;
	if (d->plen == 0 && p->n < p->max) {
		p->spare[p->n++] = d->pipe;
	} else {
		close(d->pipe.r);
		close(d->pipe.w);
	}
	d->piped = false;
	d->plen = 0;
}

/* Writes what direction I's pipe holds into its destination, giving the
 * pipe back once it is empty; -1 when the relay ended. */
static int
flush_pipe(struct relay *r, int i)
{
	struct dir *d = &r->d[i];

	while (d->plen > 0) {
		ssize_t n = splice(d->pipe.r, NULL, r->fd[1 - i], NULL, d->plen,
		                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			finish(r, errno, 1 - i);
			return -1;
		}
		if (n == 0) {
			/* Cannot happen while the pipe holds bytes; never
			 * wait for a writable socket that takes nothing. */
			finish(r, EIO, 1 - i);
			return -1;
		}
		d->plen -= (size_t)n;
	}
	pipe_release(r->pool, d);
	maybe_shut(r, i);
	return 0;
}

/* The splice path of pump(): source -> pipe -> destination. */
static int
pump_pipe(struct relay *r, int i)
{
	struct dir *d = &r->d[i];
	bool drained = false;

	for (int k = 0; k < READS_PER_EVENT && reading(d); k++) {
		if (!d->piped && pipe_take(r->pool, d) < 0) {
			/* No pipe to be had: copy, for good. */
			r->splice = r->d[0].splice = r->d[1].splice = false;
			return 1;
		}
		size_t cap = d->pipe.cap;
		ssize_t n = splice(r->fd[i], NULL, d->pipe.w, NULL, cap,
		                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == 0) {
			pipe_release(r->pool, d);
			d->eof = true;
			maybe_shut(r, i);
			return 0;
		}
		if (n < 0) {
			drained = errno == EAGAIN;
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (errno == EINVAL || errno == ENOSYS) {
				/* A source splice() does not know. */
				pipe_release(r->pool, d);
				r->splice = r->d[0].splice = r->d[1].splice =
				    false;
				return 1;
			}
			finish(r, errno, i);
			return -1;
		}
		d->bytes += (size_t)n;
		d->plen = (size_t)n;
		if (flush_pipe(r, i) < 0)
			return -1;
		if (d->plen > 0)
			return 0; /* destination full: read again once not */
		if ((size_t)n < cap) {
			/* Unlike a short recv(), a short splice() does not
			 * mean the socket is drained (it stops at the pipe's
			 * slots too): look again. */
			loop_watch_again(r->w[i]);
			return 0;
		}
	}
	pipe_release(r->pool, d);
	if (!drained && reading(d))
		loop_watch_again(r->w[i]); /* stopped short of EAGAIN */
	return 0;
}

/* Writes direction I's leftover; -1 when the relay ended. */
static int
flush(struct relay *r, int i)
{
	struct dir *d = &r->d[i];

	if (d->piped)
		return flush_pipe(r, i);
	while (d->plen > 0) {
		ssize_t n = dst_write(r, 1 - i, d->pend + d->poff, d->plen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == EIO && r->pty[1 - i]) {
				hangup(r, 1 - i);
				return 0;
			}
			finish(r, errno, 1 - i);
			return -1;
		}
		d->poff += (size_t)n;
		d->plen -= (size_t)n;
	}
	free(d->pend);
	d->pend = NULL;
	d->poff = 0;
	maybe_shut(r, i);
	return 0;
}

/* Moves what direction I's source has; -1 when the relay ended. HUP: the
 * source's FIN was reported, so a short read is followed by the read that
 * sees it, not by another wait. */
static int
pump(struct relay *r, int i, bool hup)
{
	struct dir *d = &r->d[i];

	if (d->splice && d->skip == 0) {
		int rc = pump_pipe(r, i);
		if (rc <= 0)
			return rc;
		/* No pipe to be had: this turn and the rest copy. */
	}
	for (int k = 0; k < READS_PER_EVENT && reading(d); k++) {
		ssize_t n = src_read(r, i, r->buf, r->bufsize);
		if (n == 0) {
			d->eof = true;
			maybe_shut(r, i);
			return 0;
		}
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				break; /* read again */
			if (errno == EIO && r->pty[i]) {
				hangup_read(r, i);
				return 0;
			}
			finish(r, errno, i);
			return -1;
		}
		if (r->gone[1 - i])
			continue; /* nobody to deliver to */
		d->bytes += (size_t)n;
		/* The head the destination has already: read, not sent. */
		size_t off = d->skip < (size_t)n ? d->skip : (size_t)n;
		d->skip -= off;
		ssize_t w = off == (size_t)n ? 0
		                             : dst_write(r, 1 - i, r->buf + off,
		                                         (size_t)n - off);
		if (w < 0) {
			if (errno == EIO && r->pty[1 - i]) {
				hangup(r, 1 - i);
				continue;
			}
			if (errno != EAGAIN && errno != EINTR) {
				finish(r, errno, 1 - i);
				return -1;
			}
			w = 0;
		}
		if ((size_t)w < (size_t)n - off) {
			d->plen = (size_t)n - off - (size_t)w;
			d->pend = malloc(d->plen);
			if (d->pend == NULL) {
				finish(r, ENOMEM, i);
				return -1;
			}
			memcpy(d->pend, r->buf + off + w, d->plen);
			return 0;
		}
		if ((size_t)n == r->bufsize) {
			/* A full buffer: bulk. Splice from now on. */
			d->splice = r->splice;
			if (d->splice)
				break; /* the next turn splices */
		} else if (!hup) {
			return 0; /* drained for now; skip the EAGAIN read */
		}
	}
	if (reading(d))
		loop_watch_again(r->w[i]); /* stopped short of EAGAIN */
	return 0;
}

static void
on_event(struct relay *r, int i, unsigned events)
{
	bool tried = false;

	r->last_ms = loop_now_ms(r->loop);
	if ((events & (LOOP_OUT | LOOP_ERR)) && r->d[1 - i].plen > 0) {
		tried = true;
		if (flush(r, 1 - i) < 0)
			return;
	}
	if ((events & (LOOP_IN | LOOP_ERR)) && reading(&r->d[i])) {
		tried = true;
		if (pump(r, i, (events & (LOOP_RDHUP | LOOP_ERR)) != 0) < 0)
			return;
	}
	if ((events & LOOP_ERR) && !tried && !r->pty[i]) {
		/* A paused side: a reset (or other error) ends the relay and
		 * is passed on; a plain hang-up (its FIN after ours) is read
		 * in turn, once its direction reads again. A terminal's
		 * hang-up is seen by reading it (EIO), in turn too. */
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(r->fd[i], SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			finish(r, err, i);
			return;
		}
	}
	if (r->d[0].shut && r->d[1].shut) {
		finish(r, 0, 0);
		return;
	}
	update(r);
}

static void
on_a(void *arg, int fd, unsigned events)
{
	(void)fd;
	on_event(arg, 0, events);
}

static void
on_b(void *arg, int fd, unsigned events)
{
	(void)fd;
	on_event(arg, 1, events);
}

static void
on_idle(void *arg)
{
	struct relay *r = arg;
	uint64_t idle = loop_now_ms(r->loop) - r->last_ms;

	if (idle >= r->idle_ms)
		finish(r, ETIMEDOUT, 0);
	else
		loop_timer_arm(r->idle, r->idle_ms - idle);
}

static void
on_linger(void *arg)
{
	finish(arg, 0, 0);
}

static void
finish(struct relay *r, int error, int side)
{
	struct relay_stats st = {
	    .up = r->d[0].bytes,
	    .down = r->d[1].bytes,
	    .error = error,
	    .error_side = side,
	};
	relay_done_fn *fn = r->fn;
	void *arg = r->arg;

	if (error == ECONNRESET || error == EPIPE) {
		/* Pass the reset on rather than a clean close. (A socket that
		 * had its peer's FIN reports that peer's later reset as
		 * EPIPE; so does a send to a socket reset meanwhile.) */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(r->fd[1 - side], SOL_SOCKET, SO_LINGER, &lg,
		           sizeof(lg));
	}
	for (int i = 0; i < 2; i++) {
		loop_unwatch_close(r->w[i]); /* closes fd[i] */
		free(r->d[i].pend);
		if (r->d[i].piped)
			pipe_release(r->pool, &r->d[i]);
	}
	loop_timer_free(r->idle);
	loop_timer_free(r->linger);
	if (r->kick_pending)
		r->over = true; /* on_kick frees it */
	else
		free(r);
	fn(arg, &st);
}

/* The first turn of side A, right after start: the client's first bytes
 * are known to be waiting (they were peeked), so they go out now rather
 * than after another wait. */
static void
on_kick(void *arg)
{
	struct relay *r = arg;

	r->kick_pending = false;
	if (r->over) {
		free(r);
		return;
	}
	on_event(r, 0, LOOP_IN);
}

struct relay *
relay_start(struct loop *loop, int a, int b, const struct relay_opts *opts,
            relay_done_fn *fn, void *arg)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->loop = loop;
	r->fd[0] = a;
	r->fd[1] = b;
	r->pty[1] = opts->b_is_pty;
	r->has_eof_char = opts->has_eof_char;
	r->eof_char = opts->eof_char;
	r->linger_ms = opts->pty_linger_ms;
	r->buf = opts->buf;
	r->bufsize = opts->bufsize;
	r->pool = opts->pool;
	r->splice = opts->pool != NULL && !opts->b_is_pty;
	r->d[0].splice = r->d[1].splice = r->splice && opts->splice_at_once;
	r->d[0].skip = opts->a_sent;
	r->idle_ms = opts->idle_ms;
	r->fn = fn;
	r->arg = arg;
	r->last_ms = loop_now_ms(loop);
	/* A handed-over watch is taken over only once nothing can fail. */
	if (opts->a_watch == NULL)
		r->w[0] = loop_watch(loop, a, LOOP_IN | LOOP_RDHUP, on_a, r);
	/* The backend's socket is registered once for its whole life: for
	 * edges, as every read above goes on until the socket is drained or
	 * asks to be called again, so that pausing and resuming it, and its
	 * FIN, cost no system call. */
	r->w[1] = r->pty[1]
	              ? loop_watch(loop, b, LOOP_IN | LOOP_RDHUP, on_b, r)
	              : loop_watch_edge(loop, b, LOOP_IN | LOOP_RDHUP, on_b, r);
	if (r->idle_ms > 0)
		r->idle = loop_timer_new(loop, on_idle, r);
	if (r->pty[1] && r->linger_ms > 0)
		r->linger = loop_timer_new(loop, on_linger, r);
	if ((r->w[0] == NULL && opts->a_watch == NULL) || r->w[1] == NULL ||
	    (r->idle_ms > 0 && r->idle == NULL) ||
	    (r->pty[1] && r->linger_ms > 0 && r->linger == NULL)) {
		loop_unwatch(r->w[0]);
		loop_unwatch(r->w[1]);
		loop_timer_free(r->idle);
		loop_timer_free(r->linger);
		free(r);
		return NULL;
	}
	if (opts->a_watch != NULL) {
		r->w[0] = opts->a_watch;
		loop_watch_rebind(r->w[0], LOOP_IN | LOOP_RDHUP, on_a, r);
	}
	if (r->idle != NULL)
		loop_timer_arm(r->idle, r->idle_ms);
	/* Deferred, so that the done callback never runs inside
	 * relay_start(). */
	r->kick_pending = loop_defer(loop, on_kick, r) == 0;
	return r;
}

void
relay_abort(struct relay *r)
{
	finish(r, ECANCELED, 0);
}
