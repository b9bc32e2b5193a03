/* listener: accepting connections. A listener accepts in bursts (bounded, so
 * one busy port cannot starve the loop) and hands each socket to conn.c.
 * Above maxconn a new connection is closed at once. When the process runs
 * out of descriptors or memory, every listener pauses for a moment on a
 * timer: the pending connection stays in the backlog instead of making the
 * loop spin on a listener that is always readable.
 *
 * A reload keeps the socket of every address that is still configured, so
 * that no connection is refused while it happens; only new addresses are
 * bound (all or none) and removed ones closed. */
#define _GNU_SOURCE
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "conn.h"
#include "log.h"

#define ACCEPT_BURST 64
#define ACCEPT_PAUSE_MS 100
#define LISTEN_BACKLOG 4096

struct listener {
	struct daemon *d;
	int fd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool keep; /* during listener_update(): still configured */
	char name[ADDR_STRLEN];
	struct loop_watch *w;
	struct listener *next;
};

static void
pause_all(struct daemon *d)
{
	for (struct listener *l = d->listeners; l != NULL; l = l->next)
		loop_watch_set(l->w, 0);
	loop_timer_arm(d->resume, ACCEPT_PAUSE_MS);
}

static void
on_resume(void *arg)
{
	struct daemon *d = arg;

	for (struct listener *l = d->listeners; l != NULL; l = l->next)
		loop_watch_set(l->w, LOOP_IN);
}

static void
on_accept(void *arg, int fd, unsigned events)
{
	struct listener *l = arg;
	struct daemon *d = l->d;

	(void)events;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int c = accept4(fd, (struct sockaddr *)&ss, &sl,
				SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			switch (errno) {
			case EAGAIN:
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				log_limited(pause_all, LVL_WARN,
					    "accept on %s: %s; pausing accept "
					    "for %d ms",
					    l->name, strerror(errno),
					    ACCEPT_PAUSE_MS);
				pause_all(d);
				return;
			default:
				log_limited(on_accept, LVL_ERROR,
					    "accept on %s: %s", l->name,
					    strerror(errno));
				return;
			}
		}
		if (d->nconns >= d->cfg->maxconn) {
			char peer[ADDR_STRLEN];
			addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
			log_limited(&d->nconns, LVL_WARN,
				    "maxconn %u reached: closing connection "
				    "from %s on %s",
				    d->cfg->maxconn, peer, l->name);
			close(c);
			continue;
		}
		conn_accepted(d, c, (struct sockaddr *)&ss, l->name);
	}
}

/* Opens a listener on AI and puts it at the head of *LIST. */
static int
open_one(struct daemon *d, struct listener **list, const struct addrinfo *ai,
	 char *err, size_t errlen)
{
	struct listener *l = calloc(1, sizeof(*l));
	int one = 1;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	addr_format(ai->ai_addr, l->name, sizeof(l->name));
	memcpy(&l->addr, ai->ai_addr, ai->ai_addrlen);
	l->addrlen = ai->ai_addrlen;
	l->d = d;
	l->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0);
	if (l->fd < 0)
		goto fail;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] and 0.0.0.0 are separate listeners, as the user wrote them. */
	if (ai->ai_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(l->fd, LISTEN_BACKLOG) < 0)
		goto fail;
	l->w = loop_watch(d->loop, l->fd, LOOP_IN, on_accept, l);
	if (l->w == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	l->next = *list;
	*list = l;
	return 0;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", l->name,
		 strerror(errno));
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return -1;
}

int
listener_open_all(struct daemon *d, char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;

	if (d->resume == NULL)
		d->resume = loop_timer_new(d->loop, on_resume, d);
	if (d->resume == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nbinds; i++)
		for (const struct addrinfo *ai = cfg->binds[i].ai; ai != NULL;
		     ai = ai->ai_next)
			if (open_one(d, &d->listeners, ai, err, errlen) < 0)
				return -1;
			else
				log_msg(LVL_INFO, "listening on %s",
					d->listeners->name);
	return 0;
}

static void
close_one(struct listener *l)
{
	loop_unwatch(l->w);
	close(l->fd);
	free(l);
}

/* The same address and port (and IPv6 scope). */
static bool
same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
					 *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
					  *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr,
			      sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

int
listener_update(struct daemon *d, const struct config *cfg, char *err,
		size_t errlen)
{
	struct listener *fresh = NULL, **pp;

	for (size_t i = 0; i < cfg->nbinds; i++) {
		for (const struct addrinfo *ai = cfg->binds[i].ai; ai != NULL;
		     ai = ai->ai_next) {
			struct listener *l = d->listeners;
			while (l != NULL && !same_addr((struct sockaddr *)&l->addr,
						       ai->ai_addr))
				l = l->next;
			if (l != NULL) {
				l->keep = true;
				continue;
			}
			for (l = fresh; l != NULL; l = l->next)
				if (same_addr((struct sockaddr *)&l->addr,
					      ai->ai_addr))
					break;
			if (l != NULL)
				continue; /* written twice */
			if (open_one(d, &fresh, ai, err, errlen) < 0)
				goto fail;
		}
	}
	/* All opened: now close what is no longer configured. */
	pp = &d->listeners;
	while (*pp != NULL) {
		struct listener *l = *pp;
		if (l->keep) {
			l->keep = false;
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		log_msg(LVL_INFO, "no longer listening on %s", l->name);
		close_one(l);
	}
	for (struct listener *l = fresh; l != NULL; l = l->next)
		log_msg(LVL_INFO, "listening on %s", l->name);
	*pp = fresh;
	return 0;
fail:
	while (fresh != NULL) {
		struct listener *l = fresh;
		fresh = l->next;
		close_one(l);
	}
	for (struct listener *l = d->listeners; l != NULL; l = l->next)
		l->keep = false;
	return -1;
}

void
listener_close_all(struct daemon *d)
{
	while (d->listeners != NULL) {
		struct listener *l = d->listeners;
		d->listeners = l->next;
		close_one(l);
	}
	loop_timer_free(d->resume);
	d->resume = NULL;
}
