/* SPDX-License-Identifier: ISC */
/* listener: accepting connections. A listener accepts in bursts (bounded, so
 * one busy port cannot starve the loop) and hands each socket to the
 * accept function its owner gave. When the process runs out of descriptors
 * or memory, every listener pauses for a moment on a timer: the pending
 * connection stays in the backlog instead of making the loop spin on a
 * listener that is always readable.
 *
 * A reload keeps the socket of every address that is still configured, so
 * that no connection is refused while it happens; only new addresses are
 * bound (all or none) and removed ones closed.
 *
 * A lone process binds one socket per address (one slot) and watches it.
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
 * waiting in a backlog is lost — the next worker of that slot takes it.
 * When that next worker cannot start at once (restarts are rate-limited,
 * fork may fail), the master stops the slot's sockets instead: shutdown()
 * takes a listening socket out of its SO_REUSEPORT group, so the kernel
 * hands new connections to the sockets that have a worker, and the
 * connections waiting in that backlog are reset (or, with the sysctl
 * net.ipv4.tcp_migrate_req = 1, moved to another socket of the group). The
 * socket stays bound, and the slot's next worker makes it listen again:
 * listen() needs no privilege, and the socket keeps its place in the group
 * (it was made by the same user). A plain socket is bound first, as a probe, so
 * that a port another program (another portsplit, say) already listens on is an
 * error rather than a silent share of its connections.
 *
 * Under socket activation (sockact.h) an address that systemd passed a
 * socket for takes a copy of that socket instead of being bound, in every
 * slot: the workers then share one accept queue, and the daemon needs no
 * privilege for it. */
#define _GNU_SOURCE
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "sockact.h"

#define ACCEPT_BURST 64
#define ACCEPT_PAUSE_MS 100
#define LISTEN_BACKLOG 4096

/* One address: a socket per slot. */
struct bound {
	struct listener_set *set;
	struct sockaddr_storage addr;
	char name[ADDR_STRLEN];
	bool keep;     /* during listener_set_update(): still configured */
	bool passed;   /* the socket came from systemd */
	unsigned born; /* the set's version that added it */
	struct loop_watch *w; /* on fds[set->slot], once the set is watched */
	struct bound *next;
	int fds[]; /* nslots of them; -1 once closed */
};

struct listener_set {
	unsigned nslots;
	unsigned version; /* updates done: 1 after the open */
	struct bound *list;
	struct sockact *passed; /* systemd's sockets, or NULL; not owned */
	/* Once watched (listener_set_watch): */
	struct loop *loop;
	unsigned slot;
	listener_accept_fn *fn;
	void *arg;
	struct loop_timer *resume; /* re-enables accepting after EMFILE */
};

static void
pause_all(struct listener_set *set)
{
	for (struct bound *b = set->list; b != NULL; b = b->next)
		if (b->w != NULL)
			loop_watch_set(b->w, 0);
	loop_timer_arm(set->resume, ACCEPT_PAUSE_MS);
}

static void
on_resume(void *arg)
{
	struct listener_set *set = arg;

	for (struct bound *b = set->list; b != NULL; b = b->next)
		if (b->w != NULL)
			loop_watch_set(b->w, LOOP_IN);
}

static void
on_accept(void *arg, int fd, unsigned events)
{
	struct bound *b = arg;
	struct listener_set *set = b->set;

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
				            b->name, strerror(errno),
				            ACCEPT_PAUSE_MS);
				pause_all(set);
				return;
			default:
				log_limited(on_accept, LVL_ERROR,
				            "accept on %s: %s", b->name,
				            strerror(errno));
				return;
			}
		}
		set->fn(set->arg, c, (struct sockaddr *)&ss, b->name);
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
	/* Every accepted socket inherits it: one call per listener instead
	 * of one per connection (relayed bytes go out as they come). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* [::] and 0.0.0.0 are separate listeners, as the user wrote them;
	 * the original Portsplit's `:::PORT` takes IPv4 too (the
	 * configuration marks it AI_V4MAPPED), whatever the system's
	 * default. */
	if (ai->ai_family == AF_INET6) {
		int v6only = !(ai->ai_flags & AI_V4MAPPED);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		           sizeof(v6only));
	}
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

/* "cannot listen on NAME: reason", and for a port the system keeps for
 * root, the ways to get it. */
static void
listen_failed(char *err, size_t errlen, const char *name, int e)
{
	int n =
	    snprintf(err, errlen, "cannot listen on %s: %s", name, strerror(e));

	if (e == EACCES && n > 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n,
		         " (ports below net.ipv4.ip_unprivileged_port_start, "
		         "1024 by default, need root, or the "
		         "CAP_NET_BIND_SERVICE capability: setcap "
		         "cap_net_bind_service=+ep on the program, or "
		         "AmbientCapabilities= in its systemd unit; or let "
		         "systemd bind it: the socket unit)");
}

static void
bound_free(struct bound *b)
{
	loop_unwatch(b->w);
	for (unsigned i = 0; i < b->set->nslots; i++)
		if (b->fds[i] >= 0)
			close(b->fds[i]);
	free(b);
}

/* Keeps only the socket of the watched slot in this process and watches
 * it. A slot's socket the master stopped (listener_set_slot_stop()) listens
 * again first; one that cannot is closed and not watched (logged). Returns
 * 0, or -1 with errno. */
static int
watch_bound(struct bound *b)
{
	struct listener_set *set = b->set;
	int *fd = &b->fds[set->slot];

	for (unsigned i = 0; i < set->nslots; i++)
		if (i != set->slot && b->fds[i] >= 0) {
			close(b->fds[i]);
			b->fds[i] = -1;
		}
	if (set->nslots > 1 && !b->passed && *fd >= 0 &&
	    listen(*fd, LISTEN_BACKLOG) < 0) {
		log_msg(LVL_ERROR,
		        "cannot listen on %s again: %s; this worker leaves it "
		        "to the others",
		        b->name, strerror(errno));
		close(*fd);
		*fd = -1;
	}
	if (*fd < 0)
		return 0;
	b->w = loop_watch(set->loop, *fd, LOOP_IN, on_accept, b);
	if (b->w == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Binds AI once per slot (one slot: a plain socket; several: a probe, then
 * a SO_REUSEPORT group), watches it when SET is watched, and puts it at the
 * end of *LIST (which keeps the order of the configuration). */
static int
bind_group(struct listener_set *set, struct bound **list,
           const struct addrinfo *ai, char *err, size_t errlen)
{
	struct bound *b = calloc(1, sizeof(*b) + set->nslots * sizeof(int));
	bool group = set->nslots > 1;

	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	b->set = set;
	addr_format(ai->ai_addr, b->name, sizeof(b->name));
	memcpy(&b->addr, ai->ai_addr, ai->ai_addrlen);
	for (unsigned i = 0; i < set->nslots; i++)
		b->fds[i] = -1;
	if (set->passed != NULL &&
	    (b->fds[0] = sockact_take(set->passed, ai->ai_addr)) >= 0) {
		b->passed = true;
		for (unsigned i = 1; i < set->nslots; i++)
			if ((b->fds[i] = fcntl(b->fds[0], F_DUPFD_CLOEXEC, 0)) <
			    0)
				goto fail;
		goto bound;
	}
	if (group) {
		int probe = bind_one(ai, false, true);
		if (probe < 0)
			goto fail;
		close(probe);
	}
	for (unsigned i = 0; i < set->nslots; i++)
		if ((b->fds[i] = bind_one(ai, group, false)) < 0)
			goto fail;
bound:
	if (set->loop != NULL && watch_bound(b) < 0)
		goto fail;
	while (*list != NULL)
		list = &(*list)->next;
	*list = b;
	return 0;
fail:
	listen_failed(err, errlen, b->name, errno);
	bound_free(b);
	return -1;
}

/* The address of AI is in LIST already. */
static struct bound *
find_bound(struct bound *list, const struct addrinfo *ai)
{
	while (list != NULL &&
	       !sockact_same_addr((struct sockaddr *)&list->addr, ai->ai_addr))
		list = list->next;
	return list;
}

struct listener_set *
listener_set_open(const struct config *cfg, unsigned nslots,
                  struct sockact *passed, char *err, size_t errlen)
{
	struct listener_set *set = calloc(1, sizeof(*set));

	if (set == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	set->nslots = nslots;
	set->passed = passed;
	if (listener_set_update(set, cfg, err, errlen) < 0) {
		listener_set_free(set);
		return NULL;
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
				continue; /* written twice */
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
		bound_free(b);
	}
	set->version++;
	for (struct bound *b = fresh; b != NULL; b = b->next) {
		b->born = set->version;
		log_msg(LVL_INFO, "listening on %s%s", b->name,
		        b->passed ? " (passed by systemd)" : "");
	}
	*pp = fresh;
	return 0;
fail:
	while (fresh != NULL) {
		struct bound *b = fresh;
		fresh = b->next;
		bound_free(b);
	}
	for (struct bound *b = set->list; b != NULL; b = b->next)
		b->keep = false;
	return -1;
}

int
listener_set_watch(struct listener_set *set, struct loop *loop, unsigned slot,
                   listener_accept_fn *fn, void *arg, char *err, size_t errlen)
{
	set->loop = loop;
	set->slot = slot;
	set->fn = fn;
	set->arg = arg;
	set->resume = loop_timer_new(loop, on_resume, set);
	if (set->resume == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (struct bound *b = set->list; b != NULL; b = b->next)
		if (watch_bound(b) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	return 0;
}

/* Takes FD, a listening socket, out of its group (see the top). Only a
 * socket that listens: shutdown() of one that no longer does marks it as
 * shut for reading, and every connection it accepts after listen() would
 * then read as ended at once. */
static void
stop_listening(int fd)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
	    listening)
		shutdown(fd, SHUT_RD);
}

unsigned
listener_set_version(const struct listener_set *set)
{
	return set->version;
}

void
listener_set_slot_stop(struct listener_set *set, unsigned slot, unsigned since)
{
	for (struct bound *b = set->list; b != NULL; b = b->next)
		if (!b->passed && b->born > since && slot < set->nslots &&
		    b->fds[slot] >= 0)
			stop_listening(b->fds[slot]);
}

void
listener_set_free(struct listener_set *set)
{
	if (set == NULL)
		return;
	while (set->list != NULL) {
		struct bound *b = set->list;
		set->list = b->next;
		bound_free(b);
	}
	loop_timer_free(set->resume);
	free(set);
}
