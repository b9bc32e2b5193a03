/* action: carrying out a verdict — close, or forward to the service's
 * backend and relay until both sides are done. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "forward.h"
#include "log.h"
#include "relay.h"

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

void
action_start(struct conn *c, const struct verdict *v)
{
	const struct service *svc = v->service;

	if (svc == NULL || svc->action == ACTION_CLOSE) {
		conn_end(c);
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
}
