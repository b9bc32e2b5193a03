/* SPDX-License-Identifier: ISC */
/* listener: accepting connections. A listener accepts in bursts (bounded, so
 * one busy port cannot starve the loop) and hands each socket to conn.c.
 * Above maxconn a new connection is closed at once. When the process runs
 * out of descriptors or memory, every listener pauses for a moment on a
 * timer: the pending connection stays in the backlog instead of making the
 * loop spin on a listener that is always readable.
 *
 * A reload keeps the socket of every address that is still configured, so
 * that no connection is refused while it happens; only new addresses are
 * bound (all or none) and removed ones closed.
 *
 * With several workers the master binds, before it drops privileges, one
 * socket per address and worker slot, all with SO_REUSEPORT, and keeps
 * them; each worker inherits them across fork() and watches its slot's.
 * Why this and not one shared socket woken with EPOLLEXCLUSIVE: the kernel
 * spreads connections evenly over a SO_REUSEPORT group by their addresses,
 * whichever loop backend runs (poll() has no exclusive wake-up, and
 * EPOLLEXCLUSIVE hands a quiet daemon's connections all to the same
 * worker); binding in the master keeps privileged ports working after the
 * drop; and since the master holds every socket, a worker that dies or a
 * reload that replaces the workers never closes a socket, so no connection
 * waiting in a backlog is lost — the next worker of that slot takes it. A
 * plain socket is bound first, as a probe, so that a port another program
 * (another portsplit, say) already listens on is an error rather than a
 * silent share of its connections. */
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
#include "workers.h"

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
		if (!workers_conn_take(d)) {
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

/* A socket bound to AI; listening unless PROBE; with REUSEPORT, one of a
 * group the kernel spreads connections over. Returns it, or -1 with
 * errno. */
static int
bind_one(const struct addrinfo *ai, bool reuseport, bool probe)
{
	int one = 1, saved;
	int fd = socket(ai->ai_family,
	                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] and 0.0.0.0 are separate listeners, as the user wrote them. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if ((reuseport &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    (!probe && listen(fd, LISTEN_BACKLOG) < 0)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Opens a listener on AI and puts it at the head of *LIST. */
static int
open_one(struct daemon *d, struct listener **list, const struct addrinfo *ai,
         char *err, size_t errlen)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	addr_format(ai->ai_addr, l->name, sizeof(l->name));
	memcpy(&l->addr, ai->ai_addr, ai->ai_addrlen);
	l->addrlen = ai->ai_addrlen;
	l->d = d;
	l->fd = bind_one(ai, false, false);
	if (l->fd < 0)
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
			while (l != NULL &&
			       !same_addr((struct sockaddr *)&l->addr,
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

/* --- the master's sockets, shared by its workers --- */

/* One address: a socket per worker slot. */
struct bound {
	struct sockaddr_storage addr;
	char name[ADDR_STRLEN];
	bool keep; /* during listener_set_update(): still configured */
	struct bound *next;
	int fds[]; /* nslots of them */
};

struct listener_set {
	unsigned nslots;
	struct bound *list;
};

static void
bound_free(const struct listener_set *set, struct bound *b)
{
	for (unsigned i = 0; i < set->nslots; i++)
		if (b->fds[i] >= 0)
			close(b->fds[i]);
	free(b);
}

/* Binds AI once per slot and puts it at the head of *LIST. */
static int
bind_group(const struct listener_set *set, struct bound **list,
           const struct addrinfo *ai, char *err, size_t errlen)
{
	struct bound *b = calloc(1, sizeof(*b) + set->nslots * sizeof(int));
	int probe;

	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	addr_format(ai->ai_addr, b->name, sizeof(b->name));
	memcpy(&b->addr, ai->ai_addr, ai->ai_addrlen);
	for (unsigned i = 0; i < set->nslots; i++)
		b->fds[i] = -1;
	probe = bind_one(ai, false, true);
	if (probe < 0)
		goto fail;
	close(probe);
	for (unsigned i = 0; i < set->nslots; i++)
		if ((b->fds[i] = bind_one(ai, true, false)) < 0)
			goto fail;
	b->next = *list;
	*list = b;
	return 0;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", b->name,
	         strerror(errno));
	bound_free(set, b);
	return -1;
}

/* The address of AI is in LIST already. */
static struct bound *
find_bound(struct bound *list, const struct addrinfo *ai)
{
	while (list != NULL &&
	       !same_addr((struct sockaddr *)&list->addr, ai->ai_addr))
		list = list->next;
	return list;
}

struct listener_set *
listener_set_open(const struct config *cfg, unsigned nslots, char *err,
                  size_t errlen)
{
	struct listener_set *set = calloc(1, sizeof(*set));

	if (set == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	set->nslots = nslots;
	for (size_t i = 0; i < cfg->nbinds; i++) {
		for (const struct addrinfo *ai = cfg->binds[i].ai; ai != NULL;
		     ai = ai->ai_next) {
			if (find_bound(set->list, ai) != NULL)
				continue; /* written twice */
			if (bind_group(set, &set->list, ai, err, errlen) < 0) {
				listener_set_free(set);
				return NULL;
			}
			log_msg(LVL_INFO, "listening on %s", set->list->name);
		}
	}
	return set;
}

int
listener_set_update(struct listener_set *set, const struct config *cfg,
                    char *err, size_t errlen)
{
	struct bound *fresh = NULL, **pp;

	for (size_t i = 0; i < cfg->nbinds; i++) {
		for (const struct addrinfo *ai = cfg->binds[i].ai; ai != NULL;
		     ai = ai->ai_next) {
			struct bound *b = find_bound(set->list, ai);
			if (b != NULL) {
				b->keep = true;
				continue;
			}
			if (find_bound(fresh, ai) != NULL)
				continue;
			if (bind_group(set, &fresh, ai, err, errlen) < 0)
				goto fail;
		}
	}
	/* All bound: now close what is no longer configured. */
	pp = &set->list;
	while (*pp != NULL) {
		struct bound *b = *pp;
		if (b->keep) {
			b->keep = false;
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		log_msg(LVL_INFO, "no longer listening on %s", b->name);
		bound_free(set, b);
	}
	for (struct bound *b = fresh; b != NULL; b = b->next)
		log_msg(LVL_INFO, "listening on %s", b->name);
	*pp = fresh;
	return 0;
fail:
	while (fresh != NULL) {
		struct bound *b = fresh;
		fresh = b->next;
		bound_free(set, b);
	}
	for (struct bound *b = set->list; b != NULL; b = b->next)
		b->keep = false;
	return -1;
}

void
listener_set_free(struct listener_set *set)
{
	if (set == NULL)
		return;
	while (set->list != NULL) {
		struct bound *b = set->list;
		set->list = b->next;
		bound_free(set, b);
	}
	free(set);
}

int
listener_adopt(struct daemon *d, struct listener_set *set, unsigned slot,
               char *err, size_t errlen)
{
	if (d->resume == NULL)
		d->resume = loop_timer_new(d->loop, on_resume, d);
	if (d->resume == NULL)
		goto nomem;
	for (struct bound *b = set->list; b != NULL; b = b->next) {
		struct listener *l = calloc(1, sizeof(*l));
		if (l == NULL)
			goto nomem;
		snprintf(l->name, sizeof(l->name), "%s", b->name);
		memcpy(&l->addr, &b->addr, sizeof(l->addr));
		l->d = d;
		l->fd = b->fds[slot];
		l->w = loop_watch(d->loop, l->fd, LOOP_IN, on_accept, l);
		if (l->w == NULL) {
			free(l);
			goto nomem;
		}
		b->fds[slot] = -1; /* the listener's now */
		l->next = d->listeners;
		d->listeners = l;
	}
	listener_set_free(set); /* the other slots' sockets, in this process */
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	listener_set_free(set);
	return -1;
}
