/* SPDX-License-Identifier: ISC */
/* action: carrying out a verdict — forward to the service's backend and
 * relay until both sides are done; or start its program.
 *
 * A program without a pty gets the client socket itself, so the action is
 * over once the program is reaped. With a pty the action is over when both
 * the relay has ended and the program has been reaped, in either order:
 * when the relay ends first (the client left), the program is hung up and,
 * if it lingers, killed.
 *
 * A forward whose service has on_reject goes through reject.c's window
 * between the connect and the relay; when the backend rejects, the action
 * starts over with the service on_reject names, once. */
#define _GNU_SOURCE
#include "action.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec.h"
#include "forward.h"
#include "log.h"
#include "proxyproto.h"
#include "pty.h"
#include "reject.h"
#include "relay.h"
#include "resolve.h"

/* How long a program may outlive its terminal's hang-up before SIGKILL,
 * and how long it may go on after the client's FIN before the hang-up. */
#define HANGUP_GRACE_MS 5000
#define PTY_LINGER_MS 5000

struct action {
	struct engine *e;
	struct action_ctx ctx;
	const struct service *svc;
	int fd; /* the client; -1 once a relay or the program has it */
	struct resolve_wait *lookup; /* the backend's name, being looked up */
	struct resolved *addrs; /* its answer, while the connect reads it */
	struct loop_watch *w;   /* the client's watch until the relay has it */
	struct forward *fwd;
	struct reject *rej; /* on_reject's window */
	bool redispatched;  /* on_reject moved it once: no second window */
	struct relay *relay;
	struct exec *exec;        /* the program, until it is reaped */
	struct loop_timer *timer; /* the program's hang-up grace */
	bool cancelling;          /* the relay's end calls nothing */
	struct action_result res;
	action_done_fn *done;
	void *arg;
};

/* Whatever still runs goes on unwatched; the timer and the client's
 * socket are let go; A is freed. */
static void
release(struct action *a)
{
	if (a->exec != NULL)
		exec_detach(a->exec);
	loop_timer_free(a->timer);
	if (a->w != NULL)
		loop_unwatch_close(a->w); /* and the client's socket */
	else if (a->fd >= 0)
		close(a->fd);
	free(a);
}

/* The action is over: the owner hears it first, then A is released. */
static void
finish(struct action *a)
{
	a->done(a->arg, &a->res);
	release(a);
}

static void
on_relay_done(void *arg, const struct relay_stats *st)
{
	struct action *a = arg;

	a->relay = NULL;
	a->fd = -1; /* the relay closed it */
	a->res.up = st->up;
	a->res.down = st->down;
	if (a->cancelling)
		return; /* halt()'s caller ends A */
	if (st->error != 0 && st->error != ECANCELED && log_enabled(LVL_DEBUG))
		log_msg(LVL_DEBUG, "relay conn=%llu ended by %s side: %s",
		        (unsigned long long)a->ctx.conn_id,
		        st->error_side == 0 ? "client" : "backend",
		        strerror(st->error));
	finish(a);
}

static void
on_hangup_grace(void *arg)
{
	struct action *a = arg;

	if (a->exec == NULL)
		return;
	log_msg(LVL_WARN,
	        "exec conn=%llu service=%s pid=%ld still running %d ms after "
	        "its terminal hung up: killing it",
	        (unsigned long long)a->ctx.conn_id, a->ctx.service,
	        (long)exec_pid(a->exec), HANGUP_GRACE_MS);
	exec_kill(a->exec, SIGKILL);
}

static void
on_pty_relay_done(void *arg, const struct relay_stats *st)
{
	struct action *a = arg;

	a->relay = NULL;
	a->fd = -1;
	a->res.up = st->up;
	a->res.down = st->down;
	if (a->cancelling)
		return;
	if (a->exec == NULL) {
		finish(a);
		return;
	}
	/* The client is gone and the master closed, which hung the terminal
	 * up; tell the whole session, and wait a while for it. */
	exec_kill(a->exec, SIGHUP);
	exec_kill(a->exec, SIGCONT);
	a->timer = loop_timer_new(a->e->loop, on_hangup_grace, a);
	if (a->timer != NULL)
		loop_timer_arm(a->timer, HANGUP_GRACE_MS);
}

/* Relays the client with B: a backend socket, or the master of the
 * program's terminal when PTY; B has the first SENT bytes of the client's
 * already. Returns true, or false (out of memory, logged) with B closed
 * and the client's socket still A's. */
static bool
relay_client(struct action *a, int b, bool pty, size_t sent)
{
	struct engine *e = a->e;
	int one = 1;
	struct relay_opts opts = {
	    .idle_ms = a->ctx.idle_timeout_ms,
	    .buf = e->relaybuf,
	    .bufsize = e->relaysize,
	    .splice_at_once = a->ctx.splice_at_once,
	    .a_watch = a->w,
	    .a_sent = sent,
	};

	if (pty) {
		opts.b_is_pty = true;
		opts.has_eof_char = true;
		opts.eof_char = pty_eof_char(b);
		opts.pty_linger_ms = PTY_LINGER_MS;
	} else {
		opts.pool = e->relay_pool;
	}
	/* A socket accepted from a listener has TCP_NODELAY already (see
	 * listener.c); a program's terminal has no such thing. */
	if (pty)
		setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	a->relay = relay_start(e->loop, a->fd, b, &opts,
	                       pty ? on_pty_relay_done : on_relay_done, a);
	if (a->relay == NULL) {
		log_limited(relay_client, LVL_ERROR,
		            "out of memory: closing conn=%llu",
		            (unsigned long long)a->ctx.conn_id);
		close(b);
		return false;
	}
	a->fd = -1; /* the relay's now, and its watch */
	a->w = NULL;
	return true;
}

static bool start_exec(struct action *a, const struct service *svc);
static void on_connected(void *arg, int fd, int err, size_t sent);
static bool start_forward(struct action *a, const struct service *svc,
                          bool first);

/* Reads what the client has sent (a bounded amount), so that closing its
 * socket sends a FIN, as the backend did, rather than a reset. */
static void
drain(struct action *a)
{
	for (int i = 0; i < 4; i++)
		if (recv(a->fd, a->e->peekbuf, a->e->peeksize, MSG_DONTWAIT) <=
		    0)
			break;
}

/* The end of on_reject's window (reject.h). */
static void
on_reject_done(void *arg, enum reject_outcome outcome, int fd, int err,
               uint64_t ms)
{
	struct action *a = arg;
	const struct service *from = a->svc, *to = from->reject_to;
	const char *how = err == 0            ? "closed"
	                  : err == ECONNRESET ? "reset"
	                                      : strerror(err);

	a->rej = NULL;
	if (outcome == REJECT_ACCEPTED) {
		if (!relay_client(a, fd, false, 0))
			finish(a);
		return;
	}
	if (outcome == REJECT_FAILED || from->on_reject == ON_REJECT_CLOSE) {
		log_msg(
		    LVL_INFO,
		    "rejected conn=%llu service=%s backend=%s how=\"%s\" "
		    "ms=%llu bytes=%zu: closing%s",
		    (unsigned long long)a->ctx.conn_id, a->ctx.service,
		    from->connect, how, (unsigned long long)ms, a->ctx.decided,
		    outcome == REJECT_FAILED ? " (the client sent more)" : "");
		if (err == ECONNRESET) {
			/* Pass the reset on, as the relay would have. */
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(a->fd, SOL_SOCKET, SO_LINGER, &lg,
			           sizeof(lg));
		} else {
			drain(a);
		}
		finish(a);
		return;
	}
	const char *name = to != NULL ? to->name : "fallback";
	log_msg(LVL_INFO,
	        "rejected conn=%llu service=%s backend=%s how=\"%s\" ms=%llu "
	        "bytes=%zu: to %s",
	        (unsigned long long)a->ctx.conn_id, a->ctx.service,
	        from->connect, how, (unsigned long long)ms, a->ctx.decided,
	        name);
	/* As if FROM had never matched: TO gets the client's stream from
	 * its first byte, still unread in the socket. */
	a->svc = to;
	a->ctx.service = name;
	a->res.service = name;
	a->redispatched = true;
	if (to == NULL || to->action == ACTION_CLOSE) {
		drain(a);
		finish(a);
	} else if (to->action == ACTION_EXEC) {
		/* The program gets the socket: the loop lets go of it first
		 * (a pty's relay makes its own watch). */
		loop_unwatch(a->w);
		a->w = NULL;
		if (!start_exec(a, to))
			finish(a);
	} else if (!start_forward(a, to, false)) {
		log_limited(on_reject_done, LVL_ERROR,
		            "out of memory: closing conn=%llu",
		            (unsigned long long)a->ctx.conn_id);
		finish(a);
	}
}

/* Sends the service's PROXY header on the new backend connection FD,
 * before the relay moves a byte of the client's. The socket's send buffer
 * is empty, so the few bytes go at once or the connection is broken.
 * Returns 0, or -1 (logged). */
static int
send_header(struct action *a, int fd)
{
	uint8_t hdr[PROXYPROTO_BUILD_MAX];
	int n = proxyproto_build(a->svc->proxy_protocol, a->ctx.client,
	                         a->ctx.local, hdr, sizeof(hdr));
	ssize_t sent;

	do
		sent = send(fd, hdr, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (sent < 0 && errno == EINTR);
	if (sent == n)
		return 0;
	log_limited(send_header, LVL_WARN,
	            "PROXY header not sent conn=%llu service=%s backend=%s: %s",
	            (unsigned long long)a->ctx.conn_id, a->ctx.service,
	            a->svc->connect,
	            sent < 0 ? strerror(errno) : "short write");
	return -1;
}

static void
on_connected(void *arg, int fd, int err, size_t sent)
{
	struct action *a = arg;
	struct engine *e = a->e;

	a->fwd = NULL;
	resolved_unref(a->addrs); /* the connect is done with them */
	a->addrs = NULL;
	if (fd < 0) {
		log_limited(a->svc, LVL_WARN,
		            "connect failed conn=%llu service=%s backend=%s "
		            "error=\"%s\"",
		            (unsigned long long)a->ctx.conn_id, a->ctx.service,
		            a->svc->connect,
		            a->svc->transparent && err == EAFNOSUPPORT
		                ? "transparent: no backend address of the "
		                  "client's family"
		                : strerror(err));
		finish(a);
		return;
	}
	if (a->svc->proxy_protocol != 0 && send_header(a, fd) < 0) {
		close(fd);
		finish(a);
		return;
	}
	if (a->svc->on_reject != ON_REJECT_NONE && !a->redispatched) {
		a->rej = reject_start(e->loop, a->fd, fd, a->ctx.decided,
		                      e->peekbuf, e->peeksize, REJECT_WINDOW_MS,
		                      on_reject_done, a);
		if (a->rej != NULL)
			return;
		/* Out of memory: relay without the window. */
	}
	if (!relay_client(a, fd, false, sent))
		finish(a);
}

static void
on_exec_done(void *arg, int status)
{
	struct action *a = arg;

	a->exec = NULL;
	a->res.reaped = true;
	a->res.status = status;
	if (a->relay == NULL)
		finish(a);
}

/* Starts SVC's program on the client. Returns false when it could not
 * (logged): the action is over at once. */
static bool
start_exec(struct action *a, const struct service *svc)
{
	struct sockaddr_storage remote, local;
	socklen_t rlen = sizeof(remote), llen = sizeof(local);
	int master = -1;
	char **env;

	if (getpeername(a->fd, (struct sockaddr *)&remote, &rlen) < 0 ||
	    getsockname(a->fd, (struct sockaddr *)&local, &llen) < 0) {
		log_msg(LVL_DEBUG, "client gone conn=%llu before exec: %s",
		        (unsigned long long)a->ctx.conn_id, strerror(errno));
		return false;
	}
	/* Behind a balancer the client is its PROXY header's, which
	 * getpeername() cannot tell the program. */
	env = exec_env_new(
	    environ, a->ctx.service,
	    a->ctx.client ? a->ctx.client : (struct sockaddr *)&remote,
	    a->ctx.local ? a->ctx.local : (struct sockaddr *)&local);
	struct exec_spec spec = {
	    .argv = svc->argv,
	    .env = env,
	    .fd = a->fd,
	    .pty = svc->pty,
	    .conn_id = a->ctx.conn_id,
	    .service = a->ctx.service,
	    .limit_key = svc,
	};
	a->exec = env == NULL ? NULL
	                      : exec_start(a->e->children, &spec, &master,
	                                   on_exec_done, a);
	exec_env_free(env);
	if (a->exec == NULL) {
		log_limited(svc, LVL_ERROR,
		            "exec failed conn=%llu service=%s program=%s "
		            "error=\"%s\"",
		            (unsigned long long)a->ctx.conn_id, a->ctx.service,
		            svc->argv[0],
		            env == NULL ? strerror(ENOMEM) : strerror(errno));
		return false;
	}
	if (!svc->pty) {
		/* The program has the socket now; our copy would keep the
		 * connection open after the program closed it. */
		close(a->fd);
		a->fd = -1;
		a->res.uncounted = true;
		return true;
	}
	if (!relay_client(a, master, true, 0)) {
		/* Closing the master hung the program up; it is reaped. */
		close(a->fd);
		a->fd = -1;
		exec_kill(a->exec, SIGHUP);
	}
	return true;
}

/* The backend's host name is looked up (resolve.h): connect to its
 * addresses, or end the action with a log line that says why. */
static void
on_resolved(void *arg, struct resolved *res)
{
	struct action *a = arg;
	int err = res == NULL ? EAI_MEMORY : resolved_error(res);

	a->lookup = NULL;
	if (err != 0) {
		log_limited(a->svc, LVL_WARN,
		            "connect failed conn=%llu service=%s backend=%s "
		            "error=\"cannot resolve %s: %s\"",
		            (unsigned long long)a->ctx.conn_id, a->ctx.service,
		            a->svc->connect, a->svc->host, gai_strerror(err));
		resolved_unref(res);
		finish(a);
		return;
	}
	a->addrs = res;
	a->fwd = forward_start_from(
	    a->e->loop, resolved_addrs(res), a->ctx.connect_timeout_ms,
	    a->svc->transparent ? a->ctx.client : NULL, NULL, on_connected, a);
	if (a->fwd == NULL) {
		log_limited(action_start, LVL_ERROR,
		            "out of memory: closing conn=%llu",
		            (unsigned long long)a->ctx.conn_id);
		resolved_unref(a->addrs);
		a->addrs = NULL;
		finish(a);
	}
}

/* Starts connecting A to SVC's backend; false when out of memory. FIRST:
 * the engine's peek buffer still holds the client's first bytes (the ones
 * the decision saw), which the connect may send at once. Not when
 * something must reach the backend before them (a PROXY header), or when
 * on_reject must see the backend's answer to exactly those bytes before
 * deciding (reject.c sends them itself). */
static bool
start_forward(struct action *a, const struct service *svc, bool first)
{
	struct forward_first early = {.data = a->e->peekbuf,
	                              .len = a->ctx.decided};

	/* A host name: looked up now, off the loop, then connected. */
	if (svc->backend == NULL && svc->host != NULL) {
		a->lookup = resolver_lookup(a->e->resolver, svc->host,
		                            svc->port, on_resolved, a);
		return a->lookup != NULL;
	}
	if (svc->proxy_protocol != 0 || svc->on_reject != ON_REJECT_NONE)
		first = false;
	a->fwd = forward_start_from(a->e->loop, svc->backend,
	                            a->ctx.connect_timeout_ms,
	                            svc->transparent ? a->ctx.client : NULL,
	                            first ? &early : NULL, on_connected, a);
	return a->fwd != NULL;
}

/* The client's watch while the backend's connect runs: the client's first
 * bytes wait in its socket, so it is readable; after a first report the
 * watch is paused until the relay takes it (on a fast network the connect
 * is over before the loop waits at all, and this never runs). It stays
 * paused through on_reject's window, which watches only the backend. */
static void
on_client_parked(void *arg, int fd, unsigned events)
{
	struct action *a = arg;

	(void)fd;
	(void)events;
	loop_watch_set(a->w, 0);
}

struct action *
action_start(struct engine *e, const struct service *svc, int fd,
             const struct action_ctx *ctx, action_done_fn *done, void *arg)
{
	struct action *a;

	if (svc == NULL || svc->action == ACTION_CLOSE)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		goto nomem;
	*a = (struct action){
	    .e = e,
	    .ctx = *ctx,
	    .svc = svc,
	    .fd = fd,
	    .done = done,
	    .arg = arg,
	};
	if (svc->action == ACTION_EXEC) {
		if (start_exec(a, svc))
			return a;
		free(a);
		return NULL;
	}
	if (start_forward(a, svc, true)) {
		/* The client's watch waits for the relay. */
		a->w = ctx->watch;
		if (a->w != NULL)
			loop_watch_rebind(a->w, loop_watch_events(a->w),
			                  on_client_parked, a);
		return a;
	}
	free(a);
nomem:
	log_limited(action_start, LVL_ERROR, "out of memory: closing conn=%llu",
	            (unsigned long long)ctx->conn_id);
	return NULL;
}

/* Stops the connect, the relay and the watch on the program, without
 * callbacks. */
static void
halt(struct action *a)
{
	if (a->lookup != NULL) {
		resolve_cancel(a->lookup);
		a->lookup = NULL;
	}
	if (a->fwd != NULL) {
		forward_cancel(a->fwd);
		a->fwd = NULL;
	}
	resolved_unref(a->addrs);
	a->addrs = NULL;
	if (a->rej != NULL) {
		reject_cancel(a->rej);
		a->rej = NULL;
	}
	if (a->relay != NULL) {
		a->cancelling = true;
		relay_abort(a->relay);
	}
	if (a->exec != NULL) {
		exec_detach(a->exec);
		a->exec = NULL;
	}
}

void
action_cancel(struct action *a, struct action_result *r)
{
	halt(a);
	*r = a->res;
	release(a);
}

void
action_stop(struct action *a)
{
	if (a->exec == NULL) {
		halt(a);
		finish(a);
		return;
	}
	if (a->relay != NULL)
		relay_abort(a->relay); /* hangs the terminal up */
	else
		exec_kill(a->exec, SIGTERM);
}
