/* SPDX-License-Identifier: ISC */
/* listener: bound sockets, accept, the connection limit, and pausing
 * accept when the process is out of descriptors. */
#ifndef PORTSPLIT_LISTENER_H
#define PORTSPLIT_LISTENER_H

#include <netdb.h>
#include <stddef.h>

#include "daemon.h"

/* Binds and listens on every address of every `bind =` of D->cfg. Returns
 * 0, or -1 with a message in ERR (the listeners opened so far stay in D and
 * are closed by listener_close_all). */
int listener_open_all(struct daemon *d, char *err, size_t errlen);
/* Makes D's listeners those of CFG (a configuration being reloaded):
 * listeners whose address is still there keep their socket, new addresses
 * are bound, removed ones closed. All or nothing: returns 0, or -1 with a
 * message in ERR and D's listeners as they were. */
int listener_update(struct daemon *d, const struct config *cfg, char *err,
                    size_t errlen);
/* Closes every listener of D. */
void listener_close_all(struct daemon *d);

/* The sockets a master binds for its workers: for every address, one per
 * worker slot, in a SO_REUSEPORT group (see listener.c for why). Owned by
 * the master; each worker gets a copy with fork() and keeps its slot's. */
struct listener_set;

/* Binds every address of CFG NSLOTS times. Returns the set, or NULL with a
 * message in ERR (nothing stays bound). */
struct listener_set *listener_set_open(const struct config *cfg,
                                       unsigned nslots, char *err,
                                       size_t errlen);
/* Makes SET's addresses those of CFG, as listener_update() does: kept
 * addresses keep their sockets, new ones are bound, removed ones closed.
 * All or nothing: returns 0, or -1 with a message in ERR and SET as it
 * was. */
int listener_set_update(struct listener_set *set, const struct config *cfg,
                        char *err, size_t errlen);
/* Closes every socket of SET (in this process) and frees it; NULL is
 * allowed. */
void listener_set_free(struct listener_set *set);
/* In a worker: makes D's listeners the sockets of SLOT in SET, closes the
 * other slots' copies and frees SET (this process's copy of it). Returns
 * 0, or -1 with a message in ERR. */
int listener_adopt(struct daemon *d, struct listener_set *set, unsigned slot,
                   char *err, size_t errlen);

#endif
