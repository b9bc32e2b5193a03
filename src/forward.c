/* SPDX-License-Identifier: ISC */
/* forward: connecting to a backend. Each address gets its own attempt and
 * its own connect_timeout; a refusal or a timeout moves on to the next one,
 * as a client program would. */
#define _GNU_SOURCE
#include "forward.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct forward {
	struct loop *loop;
	const struct addrinfo *next; /* the next address to try */
	int fd;
	int err;
	uint32_t timeout_ms;
	struct loop_watch *w;
	struct loop_timer *timer;
	forward_done_fn *fn; /* NULL once cancelled */
	void *arg;
	bool failed; /* every address failed: the timer reports it */
	const struct forward_first *first; /* during forward_start_from() */
	size_t sent;      /* of FIRST, by the attempt that is now connected */
	int checks;       /* deferred on_check calls still queued */
	bool transparent; /* bind to FROM before connect */
	struct sockaddr_storage from; /* the client, port 0 */
	socklen_t fromlen;
};

static void attempt(struct forward *f);

/* Frees F once nothing queued on the loop still names it. */
static void
release(struct forward *f)
{
	if (f->fn == NULL && f->checks == 0)
		free(f);
}

static void
end(struct forward *f, int fd)
{
	forward_done_fn *fn = f->fn;
	void *arg = f->arg;
	int err = f->err;
	size_t sent = fd >= 0 ? f->sent : 0;

	loop_unwatch(f->w);
	f->w = NULL;
	loop_timer_free(f->timer);
	f->timer = NULL;
	f->fn = NULL;
	release(f);
	fn(arg, fd, err, sent);
}

static void
fail_attempt(struct forward *f, int err)
{
	loop_unwatch(f->w);
	f->w = NULL;
	loop_timer_disarm(f->timer);
	close(f->fd);
	f->fd = -1;
	f->err = err;
	f->sent = 0;
	attempt(f);
}

/* The attempt on FD is connected. */
static void
connected(struct forward *f, int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	f->fd = -1;
	end(f, fd);
}

static void
on_connect(void *arg, int fd, unsigned events)
{
	struct forward *f = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		fail_attempt(f, err);
		return;
	}
	connected(f, fd);
}

/* The first look at an attempt, after the iteration's callbacks: on
 * loopback and on a fast network the handshake is often over by then, and
 * the connect finishes without ever being watched (or it was already
 * known: its first bytes went). Otherwise the loop watches it from now
 * on. */
static void
on_check(void *arg)
{
	struct forward *f = arg;
	struct pollfd pfd = {.fd = f->fd, .events = POLLOUT};

	f->checks--;
	if (f->fn == NULL) {
		release(f); /* cancelled meanwhile */
		return;
	}
	if (f->sent > 0) {
		/* The first bytes went: connected. */
		connected(f, f->fd);
		return;
	}
	if (poll(&pfd, 1, 0) == 1) {
		/* Writable and nothing else: connected, no need to ask for
		 * the socket's error. */
		if (pfd.revents == POLLOUT)
			connected(f, f->fd);
		else
			on_connect(f, f->fd, LOOP_OUT);
		return;
	}
	f->w = loop_watch(f->loop, f->fd, LOOP_OUT, on_connect, f);
	if (f->w == NULL)
		fail_attempt(f, ENOMEM);
}

static void
on_timeout(void *arg)
{
	struct forward *f = arg;

	if (f->failed)
		end(f, -1);
	else
		fail_attempt(f, ETIMEDOUT);
}

/* Makes FD connect from F's client address: IP_TRANSPARENT lets it bind
 * an address that is not this host's; IP_BIND_ADDRESS_NO_PORT leaves the
 * port to connect(), so that many connections from one client do not run
 * out of ports at bind. Returns 0 or -1 with errno. */
static int
bind_transparent(struct forward *f, int fd, int family)
{
	int one = 1;

	if (family == AF_INET6) {
		if (setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one,
		               sizeof(one)) < 0)
			return -1;
	} else if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) <
	           0)
		return -1;
	setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(fd, (struct sockaddr *)&f->from, f->fromlen);
}

/* Right after the first attempt's connect: writes the first bytes, when
 * the socket takes them at once (its handshake is over). Returns 0, or -1
 * with f->err when the write says the connect failed. */
static int
send_first(struct forward *f)
{
	ssize_t n;

	if (f->first == NULL || f->first->len == 0)
		return 0;
	do
		n = send(f->fd, f->first->data, f->first->len,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		f->sent = (size_t)n;
		return 0;
	}
	if (errno == EAGAIN)
		return 0; /* still connecting: watched as usual */
	f->err = errno;
	return -1;
}

/* Starts the next address's attempt, or reports failure: from the timer,
 * armed to fire at once, so that the callback never runs inside
 * forward_start. Arming cannot fail (the loop reserved the timer's place
 * when it was made), so no report is ever lost; a cancel frees the timer
 * and with it the report. */
static void
attempt(struct forward *f)
{
	while (f->next != NULL) {
		const struct addrinfo *ai = f->next;
		f->next = ai->ai_next;
		/* Connecting from any other address than the client's would
		 * show the backend a wrong client: skipped. */
		if (f->transparent && ai->ai_family != f->from.ss_family)
			continue;
		f->fd = socket(ai->ai_family,
		               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		               ai->ai_protocol);
		if (f->fd < 0) {
			f->err = errno;
			continue;
		}
		if (f->transparent &&
		    bind_transparent(f, f->fd, ai->ai_family) < 0) {
			f->err = errno;
			close(f->fd);
			f->fd = -1;
			continue;
		}
		if (connect(f->fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			f->err = errno;
			close(f->fd);
			f->fd = -1;
			continue;
		}
		if (send_first(f) < 0) {
			close(f->fd);
			f->fd = -1;
			continue;
		}
		if (loop_defer(f->loop, on_check, f) < 0) {
			f->err = ENOMEM;
			close(f->fd);
			f->fd = -1;
			continue;
		}
		f->checks++;
		loop_timer_arm(f->timer, f->timeout_ms);
		return;
	}
	f->failed = true;
	loop_timer_arm(f->timer, 0);
}

struct forward *
forward_start(struct loop *loop, const struct addrinfo *ai, uint32_t timeout_ms,
              forward_done_fn *fn, void *arg)
{
	return forward_start_from(loop, ai, timeout_ms, NULL, NULL, fn, arg);
}

struct forward *
forward_start_from(struct loop *loop, const struct addrinfo *ai,
                   uint32_t timeout_ms, const struct sockaddr *from,
                   const struct forward_first *first, forward_done_fn *fn,
                   void *arg)
{
	struct forward *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	if (from != NULL && from->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(
	        &((const struct sockaddr_in6 *)(const void *)from)
	             ->sin6_addr)) {
		/* A dual-stack listener's IPv4 client: bind it as IPv4. */
		const struct sockaddr_in6 *in6 = (const void *)from;
		struct sockaddr_in *in = (void *)&f->from;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, in6->sin6_addr.s6_addr + 12, 4);
		f->fromlen = sizeof(*in);
		f->transparent = true;
	} else if (from != NULL && (from->sa_family == AF_INET ||
	                            from->sa_family == AF_INET6)) {
		f->fromlen = from->sa_family == AF_INET
		                 ? sizeof(struct sockaddr_in)
		                 : sizeof(struct sockaddr_in6);
		memcpy(&f->from, from, f->fromlen);
		f->transparent = true;
	}
	/* The kernel picks the port at connect. */
	if (f->from.ss_family == AF_INET)
		((struct sockaddr_in *)&f->from)->sin_port = 0;
	else if (f->from.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&f->from)->sin6_port = 0;
	f->loop = loop;
	f->next = ai;
	f->fd = -1;
	/* The error when no address is tried: with transparent, the
	 * backend has none of the client's family. */
	f->err = f->transparent ? EAFNOSUPPORT : EHOSTUNREACH;
	f->timeout_ms = timeout_ms;
	f->fn = fn;
	f->arg = arg;
	f->timer = loop_timer_new(loop, on_timeout, f);
	if (f->timer == NULL) {
		free(f);
		return NULL;
	}
	/* Only the first attempt, now, may send them: later ones run
	 * after this call, when the bytes are not ours to read. */
	f->first = first;
	attempt(f);
	f->first = NULL;
	return f;
}

void
forward_cancel(struct forward *f)
{
	loop_unwatch(f->w);
	f->w = NULL;
	loop_timer_free(f->timer);
	f->timer = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->fn = NULL;
	release(f);
}
