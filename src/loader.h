/* SPDX-License-Identifier: ISC */
/* loader: a configuration loaded on a thread of its own, so that the
 * thread that serves connections never waits for a file to be read or a
 * `bind` name to be looked up (a FIFO, a slow disk, a slow DNS server).
 *
 * One load is one thread, made by load_start() and gone when it has
 * loaded: it calls config_load() and then the wake function, from its own
 * thread, which must only wake the owner (a byte in a pipe, a signal). The
 * owner then takes the result with load_take(), on its own thread.
 *
 * Ownership: a load is shared by its owner and its thread, and freed by
 * the last of them: by load_take() when the thread is done, or by the
 * thread when the owner has abandoned it (load_abandon(): the thread may
 * still be blocked for as long as the file or lookup takes). */
#ifndef PORTSPLIT_LOADER_H
#define PORTSPLIT_LOADER_H

#include <stdbool.h>

#include "config.h"

struct load;

/* Called on the load's thread when it is done; must not block. */
typedef void load_wake_fn(void *arg);

/* Starts loading PATH (copied) on a new thread, which calls WAKE(ARG)
 * when done. When no thread can be made, loads on the caller's thread
 * before returning (load_inline() then says why). Returns the load, or
 * NULL with errno. */
struct load *load_start(const char *path, load_wake_fn *wake, void *arg);
/* The error that kept L from having a thread of its own, or 0. */
int load_inline(const struct load *l);
/* Whether L's thread has finished loading (load_take() then returns at
 * once). */
bool load_done(struct load *l);
/* L is done: its result, as config_load() returns it (*OUT, ERRS), and L
 * is freed. */
int load_take(struct load *l, struct config **out, struct config_errors *errs);
/* The owner no longer wants L: WAKE is not called any more, and the thread
 * frees what it loaded when it is done. NULL is allowed. */
void load_abandon(struct load *l);

#endif
