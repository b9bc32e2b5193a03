/* SPDX-License-Identifier: ISC */
/* supervisor: running `workers` processes above one daemon — starting a
 * worker per slot, replacing the ones that die, a new generation at each
 * reload, and the stop.
 *
 * Ownership: supervisor_run() owns the daemon it opens, the table of
 * worker processes and the shared connection count, for as long as it
 * runs; each worker gets a copy of all of it with fork(). */
#ifndef PORTSPLIT_SUPERVISOR_H
#define PORTSPLIT_SUPERVISOR_H

#include "config.h"
#include "daemon.h"

/* Runs CFG (takes the reference) with NWORKERS worker processes until
 * SIGTERM or SIGINT. Returns the exit status, as daemon_run() does. */
int supervisor_run(struct config *cfg, const struct daemon_opts *opts,
                   unsigned nworkers);

#endif
