/* SPDX-License-Identifier: ISC */
/* conn: one client connection, from accept to its close line. While
 * undecided it is peeked at, never read; then action.c carries out the
 * verdict. */
#ifndef PORTSPLIT_CONN_H
#define PORTSPLIT_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "daemon.h"
#include "matcher.h"

struct exec;
struct forward;
struct relay;

struct conn {
	struct daemon *d;
	struct config *cfg; /* the configuration it started under (a ref) */
	struct conn *prev, *next; /* in d->conns */
	uint64_t id;
	int fd;            /* the client; -1 once handed to a relay */
	uint64_t start_us; /* accept time */
	char client[ADDR_STRLEN];
	char listener[ADDR_STRLEN];
	/* While undecided. */
	struct loop_watch *w;
	struct loop_timer *timer;
	struct matcher *m;
	bool lowat; /* SO_RCVLOWAT was raised above 1 */
	/* Once decided. */
	const char *service;       /* name, owned by cfg */
	const struct service *svc; /* NULL: fallback/timeout not configured */
	bool cancelling;           /* action_cancel() is ending it */
	struct forward *fwd;
	struct relay *relay;
	uint64_t up, down;
	bool uncounted; /* exec without pty: the program has the bytes */
	/* exec: the program until it is reaped, then how it ended. */
	struct exec *exec;
	bool reaped;
	int status; /* wait status */
};

/* Takes a freshly accepted socket FD from PEER on LISTENER. */
void conn_accepted(struct daemon *d, int fd, const struct sockaddr *peer,
                   const char *listener);
/* Writes the close line, releases everything C holds, frees it. */
void conn_end(struct conn *c);
/* Ends every connection of D (at exit). */
void conn_end_all(struct daemon *d);

/* action.c: carries out verdict V for C (whose watch and timer are gone).
 * Ends C itself when the action is over. */
void action_start(struct conn *c, const struct verdict *v);
/* action.c: stops whatever action C is in, without callbacks. */
void action_cancel(struct conn *c);
/* action.c: the daemon is stopping: ends C now, or, when a program serves
 * it, signals the program (SIGTERM; a terminal is hung up) and ends C
 * when the program is reaped. */
void action_stop(struct conn *c);

#endif
