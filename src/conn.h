/* SPDX-License-Identifier: ISC */
/* conn: one client connection, from accept to its close line. While
 * undecided it is peeked at, never read; then an action (action.h) carries
 * out the verdict, and the connection writes its close line when the
 * action reports that it is over.
 *
 * Ownership: a connection is made by conn_accepted() and lives in its
 * engine's list (engine.h) until it ends; it then frees itself. It holds a
 * reference to the configuration it was accepted under for all that time,
 * and its action borrows that configuration's service. */
#ifndef PORTSPLIT_CONN_H
#define PORTSPLIT_CONN_H

#include <sys/socket.h>

#include "config.h"
#include "engine.h"

/* Takes a freshly accepted socket FD from PEER on LISTENER (a name, copied)
 * under CFG (referenced for the connection's life). Above CFG's maxconn the
 * socket is closed at once. */
void conn_accepted(struct engine *e, struct config *cfg, int fd,
                   const struct sockaddr *peer, const char *listener);
/* The process is stopping: ends every connection of E now, except those a
 * program serves: their program is told to end (action_stop), and they
 * end when it is reaped. */
void conn_stop_all(struct engine *e);
/* Ends every connection of E at once, without waiting for anything (at
 * exit). */
void conn_end_all(struct engine *e);

#endif
