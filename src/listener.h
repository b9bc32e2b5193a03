/* SPDX-License-Identifier: ISC */
/* listener: the bound sockets of the `bind =` addresses, accepting on them,
 * and pausing accept when the process is out of descriptors.
 *
 * A listener set holds, for every address, one socket per slot: one slot
 * for a lone process, one per worker when there are several (a
 * SO_REUSEPORT group, see listener.c for why). The same set serves the
 * start, the reloads and the workers.
 *
 * Ownership: the set owns its sockets and is owned by whoever opened it (a
 * worker gets its copy with fork()). Once listener_set_watch() has been
 * called, the set also owns its watches on that loop, which must outlive
 * the set, and it hands each accepted socket to the accept function. */
#ifndef PORTSPLIT_LISTENER_H
#define PORTSPLIT_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "loop.h"

struct listener_set;
struct sockact;

/* A socket FD accepted from PEER on the listener named NAME (the strings
 * are the set's: copy them to keep them). FD is the function's. */
typedef void listener_accept_fn(void *arg, int fd, const struct sockaddr *peer,
                                const char *name);

/* Binds and listens on every address of every `bind =` of CFG, NSLOTS
 * times each; an address that PASSED (sockets from systemd, or NULL) has a
 * socket for is not bound but takes that socket, shared by every slot, at
 * the start and at every update. PASSED must outlive the set. Returns the
 * set, or NULL with a message in ERR (nothing stays bound). */
struct listener_set *listener_set_open(const struct config *cfg,
                                       unsigned nslots, struct sockact *passed,
                                       char *err, size_t errlen);
/* Makes SET's addresses those of CFG (a configuration being reloaded):
 * addresses still there keep their sockets, so that no connection is
 * refused meanwhile; new ones are bound (and watched, when SET is), removed
 * ones closed. All or nothing: returns 0, or -1 with a message in ERR and
 * SET as it was. */
int listener_set_update(struct listener_set *set, const struct config *cfg,
                        char *err, size_t errlen);
/* Accepts on the sockets of SLOT on LOOP from now on, handing each
 * connection to FN with ARG; the other slots' sockets are closed in this
 * process, and SLOT's listen again if the master had stopped them.
 * Returns 0, or -1 with a message in ERR. */
int listener_set_watch(struct listener_set *set, struct loop *loop,
                       unsigned slot, listener_accept_fn *fn, void *arg,
                       char *err, size_t errlen);
/* How many times SET's addresses were set (open, then each update): a
 * worker forked at version V holds the sockets of the addresses added up
 * to V, and none added after. */
unsigned listener_set_version(const struct listener_set *set);
/* Master: no process accepts on SLOT's sockets of the addresses added
 * after version SINCE (0: all) for now (the slot's worker died, or the
 * one serving it was forked before they were added, and its next one is
 * not started yet): they stop listening, so that the kernel gives new
 * connections to the other slots' sockets; they stay bound, and the slot's
 * next worker, in listener_set_watch(), makes them listen again. Sockets
 * from systemd, which every slot shares, are left alone. */
void listener_set_slot_stop(struct listener_set *set, unsigned slot,
                            unsigned since);
/* Closes every socket of SET (in this process) and frees it; NULL is
 * allowed. */
void listener_set_free(struct listener_set *set);

#endif
