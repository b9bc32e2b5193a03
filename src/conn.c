/* SPDX-License-Identifier: ISC */
/* conn: the undecided phase of a connection.
 *
 * The client's bytes are peeked (MSG_PEEK) into the loop's shared buffer,
 * never consumed, so whatever the verdict the service receives the stream
 * from its first byte. Most clients are decided on the look made at
 * accept, which then costs no timer and no socket option. Otherwise a
 * peeked socket stays readable, so SO_RCVLOWAT is raised above what is
 * buffered: the loop is woken only by enough new bytes, or the client's
 * FIN, and never spins. How far above is pace.c's answer (SPEC §3: however
 * a client splits its bytes, deciding costs a small constant times the
 * same bytes in one piece): the next byte while looks are cheap,
 * geometrically more for a client that drips, with a short timer that
 * looks anyway in case it has stopped below the threshold. The decision
 * timer runs from accept; frame_timeout's, from the first byte.
 *
 * A dripping client also needs two things from the kernel. Under memory
 * pressure (a queue of many tiny segments) a socket is reported readable
 * below SO_RCVLOWAT, and keeps being so: then the watch stops waiting for
 * data until the pace timer looks. And a peek walks such a queue from its
 * head once per segment (quadratic); left alone, the kernel grows the
 * receive buffer rather than merge the segments, so a dripping client's
 * receive buffer is fixed (SO_RCVBUF, room for twice max_peek), which
 * makes the kernel merge them whenever they fill it; once decided it gets
 * the largest buffer the system allows.
 *
 * The decision line gives three times: ms from accept to the decision, and
 * its two parts, first_byte_ms (from accept until portsplit saw the
 * client's first byte: the client's own delay, plus the network's) and
 * decide_ms (from that first byte to the decision: portsplit's own time,
 * plus any wait for further bytes the signatures needed).
 *
 * A connection from a `proxy_from` balancer first reads its PROXY header
 * (peeked until complete, then consumed, so matching starts at the
 * client's first byte), within the same timer and the header's size
 * limits; the address it carries is the client from then on. Global
 * allow/deny and maxconn_per_source are applied to the client at accept,
 * or once its header is read; a service whose allow/deny refuses the
 * client is ruled out in its matcher. */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "action.h"
#include "addr.h"
#include "bytes.h"
#include "exec.h"
#include "log.h"
#include "matcher.h"
#include "pace.h"
#include "proxyproto.h"

struct conn {
	struct engine *e;
	struct config *cfg;       /* the configuration it started under */
	struct conn *prev, *next; /* in e->conns */
	uint64_t id;
	int fd;            /* the client; -1 once the action has it */
	uint64_t start_us; /* accept time */
	uint64_t first_us; /* when the first byte was seen; 0 before */
	char client[ADDR_STRLEN];
	char listener[ADDR_STRLEN];
	/* The client and the address it connected to: as accepted, or as
	 * its balancer's PROXY header said (then VIA is the balancer). */
	struct sockaddr_storage peer, local;
	char via[ADDR_STRLEN]; /* "" when not proxied */
	bool proxy_in;         /* a PROXY header must come first */
	bool health_check;     /* the header was LOCAL: the balancer's own */
	bool src_counted;      /* counted for maxconn_per_source */
	uint8_t srckey[16];
	/* While undecided. */
	struct loop_watch *w;
	struct loop_timer *timer; /* made when the first look did not decide */
	struct loop_timer *pace_timer; /* looks when the threshold is not met */
	struct matcher *m;
	struct pace pace;
	int lowat;     /* SO_RCVLOWAT as last set (1: the default) */
	bool dripping; /* its receive buffer was fixed (see above) */
	/* frame_timeout: armed at the first byte, while undecided. */
	struct loop_timer *frame_timer;
	/* Once decided. */
	const char *service; /* name, owned by cfg */
	struct action *act;  /* NULL once it is over */
	struct action_result res;
};

static void on_client(void *arg, int fd, unsigned events);
static void on_timeout(void *arg);
static void on_frame_timeout(void *arg);
static void on_pace(void *arg);
static void look(struct conn *c, int fd, unsigned events);
static void conn_end(struct conn *c);

/* The client's address as text, made the first time a log line needs it:
 * most connections at the default level never do. */
static const char *
client_name(struct conn *c)
{
	if (c->client[0] == '\0')
		addr_format((struct sockaddr *)&c->peer, c->client,
		            sizeof(c->client));
	return c->client;
}

/* Whether the client may go on: global allow/deny, then its source's
 * count. Logs (rate-limited) and returns -1 when it must be closed. Rules
 * out the services whose allow/deny refuses it. */
static int
admit(struct conn *c)
{
	const struct config *cfg = c->cfg;
	const struct sockaddr *sa = (const struct sockaddr *)&c->peer;
	struct srccount *sources;

	if (!acl_permits(&cfg->allow, &cfg->deny, sa)) {
		log_limited(&cfg->allow, LVL_INFO,
		            "denied conn=%llu client=%s listener=%s: not "
		            "allowed (allow/deny)",
		            (unsigned long long)c->id, client_name(c),
		            c->listener);
		return -1;
	}
	if (cfg->maxconn_per_source > 0) {
		sources = engine_sources(c->e, cfg->maxconn);
		acl_source_key(sa, c->srckey);
		switch (sources == NULL
		            ? SRCCOUNT_FULL
		            : srccount_take(sources, c->srckey,
		                            (unsigned)c->e->tally,
		                            cfg->maxconn_per_source)) {
		case SRCCOUNT_OK:
			c->src_counted = true;
			break;
		case SRCCOUNT_OVER:
			log_limited(&cfg->maxconn_per_source, LVL_WARN,
			            "maxconn_per_source %u reached: closing "
			            "conn=%llu client=%s listener=%s",
			            cfg->maxconn_per_source,
			            (unsigned long long)c->id, client_name(c),
			            c->listener);
			return -1;
		case SRCCOUNT_FULL:
			log_limited(
			    &c->e->sources, LVL_WARN,
			    "maxconn_per_source: no room to count a new "
			    "source (maxconn was raised by a reload: "
			    "restart to grow the table); closing "
			    "conn=%llu client=%s",
			    (unsigned long long)c->id, client_name(c));
			return -1;
		}
	}
	for (size_t s = 0; s < cfg->nservices; s++)
		if (!acl_permits(&cfg->services[s].allow,
		                 &cfg->services[s].deny, sa))
			matcher_rule_out(c->m, s);
	return 0;
}

/* The PROXY header of a proxy_from connection: peeked until complete,
 * then consumed. Returns 1 when it is read (the client is known), 0 when
 * more bytes are needed, -1 when C was ended. */
static int
read_header(struct conn *c, unsigned events)
{
	uint8_t buf[PROXYPROTO_V2_MAX];
	struct proxyproto_hdr h;
	const char *why;
	ssize_t n;

	do
		n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN && !(events & LOOP_ERR))
		return 0;
	if (n < 0) {
		log_msg(LVL_DEBUG,
		        "client gone conn=%llu before its PROXY header: %s",
		        (unsigned long long)c->id, strerror(errno));
		conn_end(c);
		return -1;
	}
	switch (proxyproto_parse(buf, (size_t)n, &h, &why)) {
	case PROXYPROTO_MORE:
		if (n > 0 && !(events & (LOOP_RDHUP | LOOP_ERR))) {
			int lowat = (int)n + 1;
			setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat,
			           sizeof(lowat));
			c->lowat = lowat;
			return 0;
		}
		if (n == 0) {
			/* Nothing at all: a balancer's plain TCP check. */
			log_msg(LVL_DEBUG, "health check conn=%llu from=%s",
			        (unsigned long long)c->id, client_name(c));
			conn_end(c);
			return -1;
		}
		why = "closed before the header was complete";
		/* fall through */
	case PROXYPROTO_BAD:
		log_limited(read_header, LVL_WARN,
		            "bad PROXY header conn=%llu from=%s listener=%s: "
		            "%s",
		            (unsigned long long)c->id, client_name(c),
		            c->listener, why);
		conn_end(c);
		return -1;
	case PROXYPROTO_DONE:
		break;
	}
	/* The header's bytes are in the buffer: this read takes exactly
	 * them, and the client's own bytes stay for the matcher. */
	if (recv(c->fd, buf, h.len, MSG_DONTWAIT) != (ssize_t)h.len) {
		conn_end(c);
		return -1;
	}
	c->proxy_in = false;
	if (c->lowat != 1) {
		int one = 1;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
		c->lowat = 1;
	}
	snprintf(c->via, sizeof(c->via), "%s", client_name(c));
	c->health_check = !h.has_addr;
	if (h.has_addr) {
		c->peer = h.src;
		c->local = h.dst;
		addr_format((struct sockaddr *)&c->peer, c->client,
		            sizeof(c->client));
	}
	log_msg(LVL_DEBUG, "PROXY v%d header conn=%llu client=%s via=%s%s",
	        h.version, (unsigned long long)c->id, client_name(c), c->via,
	        h.crc32c ? " crc32c=ok" : "");
	if (admit(c) < 0) {
		conn_end(c);
		return -1;
	}
	return 1;
}

void
conn_accepted(struct engine *e, struct config *cfg, int fd,
              const struct sockaddr *peer, const char *listener)
{
	struct conn *c;

	if (!engine_admit(e, cfg->maxconn)) {
		char name[ADDR_STRLEN];
		addr_format(peer, name, sizeof(name));
		log_limited(&e->nconns, LVL_WARN,
		            "maxconn %u reached: closing connection from %s "
		            "on %s",
		            cfg->maxconn, name, listener);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto fail;
	c->e = e;
	c->cfg = config_ref(cfg);
	c->fd = fd;
	c->id = engine_conn_id(e);
	c->start_us = loop_clock_us();
	/* The client's name is made when a log line needs it; the
	 * listener's is copied (a reload may free the original). */
	size_t llen = strnlen(listener, sizeof(c->listener) - 1);
	memcpy(c->listener, listener, llen);
	c->listener[llen] = '\0';
	memcpy(&c->peer, peer,
	       peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                   : sizeof(struct sockaddr_in));
	c->m = matcher_new(c->cfg);
	if (c->m != NULL)
		matcher_set_replay(c->m, e->replay);
	c->w = loop_watch(e->loop, fd, LOOP_IN | LOOP_RDHUP, on_client, c);
	c->lowat = 1;
	pace_init(&c->pace);
	if (c->m == NULL || c->w == NULL) {
		loop_unwatch(c->w);
		matcher_free(c->m);
		config_unref(c->cfg);
		free(c);
		goto fail;
	}
	c->next = e->conns;
	if (e->conns != NULL)
		e->conns->prev = c;
	e->conns = c;
	if (log_enabled(LVL_DEBUG))
		log_msg(LVL_DEBUG, "accept conn=%llu client=%s listener=%s",
		        (unsigned long long)c->id, client_name(c), c->listener);
	/* The services of this listener, and its own fallback and
	 * timeout. */
	int bind = config_bind_index(c->cfg, listener);
	for (size_t s = 0; s < c->cfg->nservices; s++)
		if (!config_offered(&c->cfg->services[s], bind))
			matcher_rule_out(c->m, s);
	if (bind >= 0)
		matcher_set_specials(
		    c->m,
		    c->cfg->binds[bind].fallback ? c->cfg->binds[bind].fallback
		                                 : c->cfg->fallback,
		    c->cfg->binds[bind].timeout ? c->cfg->binds[bind].timeout
		                                : c->cfg->timeout);
	/* Only a trusted balancer's header says who the client is; before
	 * it, the balancer is not judged as a client. */
	c->proxy_in = acl_match(&c->cfg->proxy_from, peer);
	if (!c->proxy_in && admit(c) < 0) {
		conn_end(c);
		return;
	}
	/* A client often sends right after its handshake: look now, and
	 * decide without a wait when its bytes are already here. */
	look(c, fd, LOOP_IN);
	return;
fail:
	log_limited(conn_accepted, LVL_ERROR,
	            "out of memory: closing a new connection");
	close(fd);
	engine_release(e);
}

/* The action is over: the close line, and C is gone. */
static void
on_action_done(void *arg, const struct action_result *r)
{
	struct conn *c = arg;

	c->act = NULL;
	c->res = *r;
	if (r->service != NULL)
		c->service = r->service; /* on_reject moved it */
	conn_end(c);
}

static void
decide(struct conn *c, const struct verdict *v)
{
	char text[512], why[600], first[32] = "-", dec[32] = "-";

	c->service = verdict_service_name(v);
	/* Explaining costs more than deciding, and so does printing the
	 * times: only when it is logged. Escaped, so the quoted value stays
	 * one field of the line. */
	if (log_enabled(LVL_INFO)) {
		uint64_t now = loop_clock_us();
		double ms = (double)(now - c->start_us) / 1000.0;
		if (c->first_us != 0) {
			snprintf(first, sizeof(first), "%.3f",
			         (double)(c->first_us - c->start_us) / 1000.0);
			snprintf(dec, sizeof(dec), "%.3f",
			         (double)(now - c->first_us) / 1000.0);
		}
		matcher_explain(c->m, v, text, sizeof(text));
		bytes_escape((const uint8_t *)text, strlen(text), why,
		             sizeof(why));
		log_msg(LVL_INFO,
		        "decision conn=%llu client=%s listener=%s service=%s "
		        "why=\"%s\" bytes=%zu ms=%.3f first_byte_ms=%s "
		        "decide_ms=%s peeks=%u%s%s",
		        (unsigned long long)c->id, client_name(c), c->listener,
		        c->service, why, v->bytes, ms, first, dec,
		        c->pace.looks + 1, c->via[0] ? " via=" : "", c->via);
	}
	if (log_enabled(LVL_DEBUG)) {
		char esc[200];
		bytes_escape(c->e->peekbuf, v->bytes < 64 ? v->bytes : 64, esc,
		             sizeof(esc));
		log_msg(LVL_DEBUG, "first bytes conn=%llu \"%s\"",
		        (unsigned long long)c->id, esc);
	}
	loop_timer_free(c->timer);
	c->timer = NULL;
	loop_timer_free(c->frame_timer);
	c->frame_timer = NULL;
	loop_timer_free(c->pace_timer);
	c->pace_timer = NULL;
	matcher_free(c->m);
	c->m = NULL;
	/* Back to normal reads for the relay. */
	if (c->lowat != 1) {
		int one = 1;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	}
	/* The relay gets as big a receive buffer as it may have (the system
	 * caps it at net.core.rmem_max; it stays fixed). */
	if (c->dripping) {
		int big = INT_MAX / 2;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	/* The address the client connected to, when the service passes it on
	 * and no PROXY header gave it: asked now, so that other connections
	 * pay no system call for it. */
	if (c->local.ss_family == 0 && v->service != NULL &&
	    (v->service->proxy_protocol != 0 ||
	     v->service->action == ACTION_EXEC)) {
		socklen_t llen = sizeof(c->local);
		if (getsockname(c->fd, (struct sockaddr *)&c->local, &llen) < 0)
			c->local.ss_family = 0;
	}
	struct action_ctx ctx = {
	    .conn_id = c->id,
	    .service = c->service,
	    .connect_timeout_ms = c->cfg->connect_timeout_ms,
	    .idle_timeout_ms = c->cfg->idle_timeout_ms,
	    .decided = v->bytes,
	    .splice_at_once = c->e->splice_at_once,
	    .client = (struct sockaddr *)&c->peer,
	    .local =
	        c->local.ss_family != 0 ? (struct sockaddr *)&c->local : NULL,
	};
	/* A connecting service takes the client's watch over (one
	 * registration for the socket's life); the others do without. */
	if (v->service != NULL && v->service->action == ACTION_CONNECT) {
		if (c->w != NULL)
			loop_watch_set(c->w, LOOP_IN | LOOP_RDHUP);
		ctx.watch = c->w;
	} else {
		loop_unwatch(c->w);
		c->w = NULL;
	}
	c->act = action_start(c->e, v->service, c->fd, &ctx, on_action_done, c);
	if (c->act == NULL) {
		conn_end(c); /* nothing to do, or it failed */
	} else {
		c->fd = -1; /* the action's now, and the watch */
		c->w = NULL;
	}
}

/* Peeks at everything buffered; returns the byte count, or -1 with errno. */
static ssize_t
peek(struct conn *c)
{
	ssize_t n;

	do
		n = recv(c->fd, c->e->peekbuf, c->cfg->max_peek,
		         MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n;
}

/* The clock the guards read, when the configuration has any. */
static void
set_clock(struct conn *c)
{
	if (c->cfg->guards)
		matcher_set_clock(c->m, (int64_t)time(NULL),
		                  loop_now_ms(c->e->loop));
}

static void
on_client(void *arg, int fd, unsigned events)
{
	struct conn *c = arg;
	int avail;

	/* Woken below the threshold: memory pressure (see above). No look
	 * until the pace timer's. */
	if (c->lowat > 1 && !(events & (LOOP_RDHUP | LOOP_ERR)) &&
	    ioctl(fd, FIONREAD, &avail) == 0 && avail < c->lowat) {
		loop_watch_set(c->w, LOOP_RDHUP);
		loop_timer_arm(c->pace_timer, c->pace.timer_ms);
		return;
	}
	look(c, fd, events);
}

/* Undecided after the first look: the decision timer starts (it counts
 * from accept), and the pace timer is made. Returns 0, or -1 when out of
 * memory: C is then gone. */
static int
start_timers(struct conn *c)
{
	uint64_t spent;

	if (c->timer != NULL)
		return 0;
	spent = (loop_clock_us() - c->start_us) / 1000;
	c->timer = loop_timer_new(c->e->loop, on_timeout, c);
	c->pace_timer = loop_timer_new(c->e->loop, on_pace, c);
	if (c->timer == NULL || c->pace_timer == NULL) {
		log_limited(conn_accepted, LVL_ERROR,
		            "out of memory: closing conn=%llu",
		            (unsigned long long)c->id);
		conn_end(c);
		return -1;
	}
	/* timeout = 0: no limit, the client is waited for. */
	if (c->cfg->timeout_ms > 0)
		loop_timer_arm(c->timer, c->cfg->timeout_ms > spent
		                             ? c->cfg->timeout_ms - spent
		                             : 0);
	return 0;
}

/* Peeks at everything buffered and decides, or sets when to look again. */
static void
look(struct conn *c, int fd, unsigned events)
{
	struct verdict v;
	enum matcher_end end = MATCHER_MORE;
	ssize_t n;

	if (c->proxy_in) {
		int r = read_header(c, events);
		if (r == 0)
			start_timers(c); /* the header is bounded by timeout */
		if (r <= 0)
			return;
	}
	n = peek(c);

	if (n < 0) {
		if (errno == EAGAIN && !(events & LOOP_ERR)) {
			start_timers(c); /* nothing yet: undecided */
			return;
		}
		log_msg(LVL_DEBUG,
		        "client gone conn=%llu before a decision: %s",
		        (unsigned long long)c->id,
		        errno == EAGAIN ? "hang-up" : strerror(errno));
		conn_end(c);
		return;
	}
	if (n > 0 && c->first_us == 0)
		c->first_us = loop_clock_us();
	if (n == 0 || (events & (LOOP_RDHUP | LOOP_ERR)))
		end = MATCHER_EOF;
	/* A balancer's health check: a LOCAL header, then nothing. */
	if (n == 0 && end == MATCHER_EOF && c->health_check) {
		log_msg(LVL_DEBUG, "health check conn=%llu from=%s",
		        (unsigned long long)c->id, c->via);
		conn_end(c);
		return;
	}
	set_clock(c);
	if (matcher_feed(c->m, c->e->peekbuf, (size_t)n, end, c->e->scratch,
	                 &v)) {
		decide(c, &v);
		return;
	}
	if (start_timers(c) < 0)
		return;
	/* A first message has begun: framed signatures give it
	 * frame_timeout to complete (see matcher.c). Only a client still
	 * undecided after its first bytes pays for the timer. */
	if (n > 0 && c->frame_timer == NULL && c->cfg->frame_timeout_ms > 0 &&
	    (c->cfg->timeout_ms == 0 ||
	     c->cfg->frame_timeout_ms < c->cfg->timeout_ms)) {
		c->frame_timer =
		    loop_timer_new(c->e->loop, on_frame_timeout, c);
		if (c->frame_timer != NULL)
			loop_timer_arm(c->frame_timer,
			               c->cfg->frame_timeout_ms);
	}
	/* Wake up for new bytes only, as many as pace.c says a look is
	 * worth. */
	uint32_t wait_ms;
	int lowat =
	    (int)pace_next(&c->pace, (size_t)n, c->cfg->max_peek, &wait_ms);
	if (lowat != c->lowat) {
		setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
		c->lowat = lowat;
	}
	if (wait_ms > 0 && !c->dripping) {
		int size = 2 * (int)c->cfg->max_peek;
		if (size < 65536)
			size = 65536;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		c->dripping = true;
	}
	if (wait_ms > 0)
		loop_timer_arm(c->pace_timer, wait_ms);
	else
		loop_timer_disarm(c->pace_timer);
}

/* The wake-up threshold has not been met for a while: look anyway, in
 * case the client stopped below it and waits for an answer. */
static void
on_pace(void *arg)
{
	struct conn *c = arg;

	pace_timer_fired(&c->pace);
	loop_watch_set(c->w, LOOP_IN | LOOP_RDHUP);
	look(c, c->fd, LOOP_IN);
}

static void
on_timeout(void *arg)
{
	struct conn *c = arg;
	struct verdict v;
	ssize_t n;

	if (c->proxy_in) {
		log_limited(on_timeout, LVL_WARN,
		            "bad PROXY header conn=%llu from=%s listener=%s: "
		            "not complete within timeout",
		            (unsigned long long)c->id, client_name(c),
		            c->listener);
		conn_end(c);
		return;
	}
	n = peek(c);
	if (n < 0)
		n = 0;
	if (n > 0 && c->first_us == 0)
		c->first_us = loop_clock_us();
	set_clock(c);
	matcher_feed(c->m, c->e->peekbuf, (size_t)n, MATCHER_TIMEOUT,
	             c->e->scratch, &v);
	decide(c, &v);
}

static void
on_frame_timeout(void *arg)
{
	struct conn *c = arg;
	struct verdict v;
	ssize_t n = peek(c);

	if (n <= 0)
		return; /* the client's own events will tell */
	set_clock(c);
	if (matcher_frames_due(c->m, c->e->peekbuf, (size_t)n, c->e->scratch,
	                       &v))
		decide(c, &v);
}

static void
conn_end(struct conn *c)
{
	struct engine *e = c->e;

	if (c->service != NULL && log_enabled(LVL_INFO)) {
		/* Bytes that went straight to a program are not known. */
		char up[24] = "-", down[24] = "-", status[32] = "";
		if (!c->res.uncounted) {
			snprintf(up, sizeof(up), "%llu",
			         (unsigned long long)c->res.up);
			snprintf(down, sizeof(down), "%llu",
			         (unsigned long long)c->res.down);
		}
		if (c->res.reaped) {
			status[0] = ' ';
			exec_status_text(c->res.status, status + 1,
			                 sizeof(status) - 1);
		}
		log_msg(LVL_INFO,
		        "close conn=%llu client=%s service=%s up=%s down=%s "
		        "duration=%.3f%s",
		        (unsigned long long)c->id, client_name(c), c->service,
		        up, down, (double)(loop_clock_us() - c->start_us) / 1e6,
		        status);
	}
	loop_timer_free(c->timer);
	loop_timer_free(c->frame_timer);
	loop_timer_free(c->pace_timer);
	matcher_free(c->m);
	if (c->w != NULL)
		loop_unwatch_close(c->w); /* and the client's socket */
	else if (c->fd >= 0)
		close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		e->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->src_counted)
		srccount_give(e->sources, c->srckey, (unsigned)e->tally);
	config_unref(c->cfg);
	free(c);
	engine_release(e); /* the last one a stop waited for stops the loop */
}

void
conn_stop_all(struct engine *e)
{
	for (struct conn *c = e->conns, *next; c != NULL; c = next) {
		next = c->next;
		if (c->act != NULL)
			action_stop(c->act);
		else
			conn_end(c);
	}
}

void
conn_end_all(struct engine *e)
{
	while (e->conns != NULL) {
		struct conn *c = e->conns;
		if (c->act != NULL) {
			action_cancel(c->act, &c->res);
			c->act = NULL;
		}
		conn_end(c);
	}
}
