/* SPDX-License-Identifier: ISC */
/* action: carrying out a verdict — close; forward to the service's
 * backend and relay until both sides are done; or start its program.
 *
 * A program without a pty gets the client socket itself, so the connection
 * is over for portsplit once the program is reaped. With a pty the
 * connection is over when both the relay has ended and the program has
 * been reaped, in either order: when the relay ends first (the client
 * left), the program is hung up and, if it lingers, killed. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "exec.h"
#include "forward.h"
#include "log.h"
#include "pty.h"
#include "relay.h"

/* How long a program may outlive its terminal's hang-up before SIGKILL,
 * and how long it may go on after the client's FIN before the hang-up. */
#define HANGUP_GRACE_MS 5000
#define PTY_LINGER_MS 5000

static void
on_relay_done(void *arg, const struct relay_stats *st)
{
	struct conn *c = arg;

	c->relay = NULL;
	c->fd = -1; /* the relay closed it */
	c->up = st->up;
	c->down = st->down;
	if (c->cancelling)
		return; /* action_cancel()'s caller ends C */
	if (st->error != 0 && st->error != ECANCELED)
		log_msg(LVL_DEBUG, "relay conn=%llu ended by %s side: %s",
		        (unsigned long long)c->id,
		        st->error_side == 0 ? "client" : "backend",
		        strerror(st->error));
	conn_end(c);
}

static void
on_connected(void *arg, int fd, int err)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	int one = 1;

	c->fwd = NULL;
	if (fd < 0) {
		log_limited(c->svc, LVL_WARN,
		            "connect failed conn=%llu service=%s backend=%s "
		            "error=\"%s\"",
		            (unsigned long long)c->id, c->service,
		            c->svc->connect, strerror(err));
		conn_end(c);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct relay_opts opts = {
	    .idle_ms = c->cfg->idle_timeout_ms,
	    .buf = d->relaybuf,
	    .bufsize = d->relaysize,
	    .pool = d->relay_pool,
	};
	c->relay = relay_start(d->loop, c->fd, fd, &opts, on_relay_done, c);
	if (c->relay == NULL) {
		log_limited(on_connected, LVL_ERROR,
		            "out of memory: closing conn=%llu",
		            (unsigned long long)c->id);
		close(fd);
		conn_end(c);
		return;
	}
	c->fd = -1; /* the relay's now */
}

static void
on_exec_done(void *arg, int status)
{
	struct conn *c = arg;

	c->exec = NULL;
	c->reaped = true;
	c->status = status;
	if (c->relay == NULL)
		conn_end(c);
}

static void
on_hangup_grace(void *arg)
{
	struct conn *c = arg;

	if (c->exec == NULL)
		return;
	log_msg(LVL_WARN,
	        "exec conn=%llu service=%s pid=%ld still running %d ms after "
	        "its terminal hung up: killing it",
	        (unsigned long long)c->id, c->service, (long)exec_pid(c->exec),
	        HANGUP_GRACE_MS);
	exec_kill(c->exec, SIGKILL);
}

static void
on_pty_relay_done(void *arg, const struct relay_stats *st)
{
	struct conn *c = arg;

	c->relay = NULL;
	c->fd = -1;
	c->up = st->up;
	c->down = st->down;
	if (c->cancelling)
		return;
	if (c->exec == NULL) {
		conn_end(c);
		return;
	}
	/* The client is gone and the master closed, which hung the terminal
	 * up; tell the whole session, and wait a while for it. */
	exec_kill(c->exec, SIGHUP);
	exec_kill(c->exec, SIGCONT);
	c->timer = loop_timer_new(c->d->loop, on_hangup_grace, c);
	if (c->timer != NULL)
		loop_timer_arm(c->timer, HANGUP_GRACE_MS);
}

static void
start_exec(struct conn *c, const struct service *svc)
{
	struct daemon *d = c->d;
	struct sockaddr_storage remote, local;
	socklen_t rlen = sizeof(remote), llen = sizeof(local);
	int master = -1, one = 1;
	char **env;

	if (getpeername(c->fd, (struct sockaddr *)&remote, &rlen) < 0 ||
	    getsockname(c->fd, (struct sockaddr *)&local, &llen) < 0) {
		log_msg(LVL_DEBUG, "client gone conn=%llu before exec: %s",
		        (unsigned long long)c->id, strerror(errno));
		conn_end(c);
		return;
	}
	env = exec_env_new(environ, c->service, (struct sockaddr *)&remote,
	                   (struct sockaddr *)&local);
	struct exec_spec spec = {
	    .argv = svc->argv,
	    .env = env,
	    .fd = c->fd,
	    .pty = svc->pty,
	    .conn_id = c->id,
	    .service = c->service,
	    .limit_key = svc,
	};
	c->exec = env == NULL ? NULL
	                      : exec_start(d->children, &spec, &master,
	                                   on_exec_done, c);
	exec_env_free(env);
	if (c->exec == NULL) {
		log_limited(svc, LVL_ERROR,
		            "exec failed conn=%llu service=%s program=%s "
		            "error=\"%s\"",
		            (unsigned long long)c->id, c->service, svc->argv[0],
		            env == NULL ? strerror(ENOMEM) : strerror(errno));
		conn_end(c);
		return;
	}
	if (!svc->pty) {
		/* The program has the socket now; our copy would keep the
		 * connection open after the program closed it. */
		close(c->fd);
		c->fd = -1;
		c->uncounted = true;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct relay_opts opts = {
	    .idle_ms = c->cfg->idle_timeout_ms,
	    .buf = d->relaybuf,
	    .bufsize = d->relaysize,
	    .b_is_pty = true,
	    .has_eof_char = true,
	    .eof_char = pty_eof_char(master),
	    .pty_linger_ms = PTY_LINGER_MS,
	};
	c->relay =
	    relay_start(d->loop, c->fd, master, &opts, on_pty_relay_done, c);
	if (c->relay == NULL) {
		/* Closing the master hangs the program up; it is reaped. */
		log_limited(start_exec, LVL_ERROR,
		            "out of memory: closing conn=%llu",
		            (unsigned long long)c->id);
		close(master);
		close(c->fd);
		c->fd = -1;
		exec_kill(c->exec, SIGHUP);
		return;
	}
	c->fd = -1; /* the relay's now */
}

void
action_start(struct conn *c, const struct verdict *v)
{
	const struct service *svc = v->service;

	if (svc == NULL || svc->action == ACTION_CLOSE) {
		conn_end(c);
		return;
	}
	if (svc->action == ACTION_EXEC) {
		start_exec(c, svc);
		return;
	}
	c->fwd = forward_start(c->d->loop, svc->backend,
	                       c->cfg->connect_timeout_ms, on_connected, c);
	if (c->fwd == NULL) {
		log_limited(action_start, LVL_ERROR,
		            "out of memory: closing conn=%llu",
		            (unsigned long long)c->id);
		conn_end(c);
	}
}

void
action_cancel(struct conn *c)
{
	if (c->fwd != NULL) {
		forward_cancel(c->fwd);
		c->fwd = NULL;
	}
	if (c->relay != NULL) {
		c->cancelling = true;
		relay_abort(c->relay);
	}
	if (c->exec != NULL) {
		exec_detach(c->exec);
		c->exec = NULL;
	}
}

void
action_stop(struct conn *c)
{
	if (c->exec == NULL) {
		action_cancel(c);
		conn_end(c);
		return;
	}
	if (c->relay != NULL)
		relay_abort(c->relay); /* hangs the terminal up */
	else
		exec_kill(c->exec, SIGTERM);
}
