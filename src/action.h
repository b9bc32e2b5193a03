/* SPDX-License-Identifier: ISC */
/* action: carrying out a verdict on a client socket — forward it to the
 * service's backend and relay until both sides are done, or start the
 * service's program on it.
 *
 * Ownership: an action is made by action_start() and owned by the engine's
 * loop until it ends; it then calls its done function once and frees
 * itself. action_cancel() and action_stop() are the caller's way to end it
 * sooner. The caller keeps SERVICE (and the configuration it belongs to)
 * alive until then. */
#ifndef PORTSPLIT_ACTION_H
#define PORTSPLIT_ACTION_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"

struct action;

/* What the connection needs for its close line. */
struct action_result {
	uint64_t up, down; /* bytes relayed from and to the client */
	bool uncounted;    /* exec without pty: the program had the bytes */
	bool reaped;       /* exec: the program ended, with STATUS */
	int status;        /* its wait status */
	/* on_reject handed the connection to another service: its name
	 * (owned by the configuration), else NULL. */
	const char *service;
};

/* Called once when the action is over: every descriptor it took is
 * closed, except the client's when it is still open, which the action
 * closes right after this returns. */
typedef void action_done_fn(void *arg, const struct action_result *r);

/* Who the action is for, for its log lines and its limits. */
struct action_ctx {
	uint64_t conn_id;
	const char *service; /* the service's name */
	uint32_t connect_timeout_ms;
	uint32_t idle_timeout_ms; /* 0: none */
	size_t decided; /* the bytes the decision was made on (on_reject) */
	/* The client socket's watch, or NULL. Only for a service that
	 * connects: the action (and then its relay) takes it over, so that
	 * the socket stays registered with the loop once for its whole life.
	 * It is the action's once action_start() returns it; with NULL, still
	 * the caller's. */
	struct loop_watch *watch;
	/* PORTSPLIT_RELAY=splice: splice from the first byte. */
	bool splice_at_once;
	/* The client and the address it connected to, as the connection
	 * knows them (behind a balancer: its PROXY header's), for PROXY out,
	 * transparent connects and the UCSPI variables. Borrowed: valid
	 * until the action is over. NULL: ask the socket. */
	const struct sockaddr *client, *local;
};

/* Carries out SVC (NULL: none; ACTION_CLOSE: close) for the client socket
 * FD on E's loop. Returns the action, which owns FD from then on and calls
 * DONE with ARG when it is over; or NULL when it is over at once (nothing
 * to do, or it failed and said why in the log): FD is then still the
 * caller's and DONE is not called. */
struct action *action_start(struct engine *e, const struct service *svc, int fd,
                            const struct action_ctx *ctx, action_done_fn *done,
                            void *arg);
/* Ends A now without calling its done function; R receives what it had
 * counted. Every descriptor it held is closed; a program it started goes
 * on unwatched. */
void action_cancel(struct action *a, struct action_result *r);
/* The process is stopping: ends A now (calling its done function), or,
 * when a program serves it, signals the program (SIGTERM; a terminal is
 * hung up) and ends when the program is reaped. */
void action_stop(struct action *a);

#endif
