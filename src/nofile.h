/* SPDX-License-Identifier: ISC */
/* nofile: the descriptor budget of one process (RLIMIT_NOFILE). The usual
 * soft limit, 1024, runs out after a few hundred relays while the hard
 * limit allows far more: portsplit raises the soft limit to the hard one at
 * start, and says when `maxconn` still cannot fit. */
#ifndef PORTSPLIT_NOFILE_H
#define PORTSPLIT_NOFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Descriptors one connection may hold at once: the client, the backend,
 * and with the splice relay a pipe (two descriptors) each way. */
#define NOFILE_PER_CONN_SPLICE 6
#define NOFILE_PER_CONN_COPY 2
/* Kept for everything else: listeners come on top; the loop, the log,
 * signals, spare pipes, a program's stderr pipe. */
#define NOFILE_RESERVE 64

/* Raises the soft RLIMIT_NOFILE to the hard limit (capped at the kernel's
 * fs.nr_open when the hard limit is unlimited). Returns 0 with the limits
 * in force in *SOFT and *HARD, or -1 with errno (*SOFT and *HARD then
 * hold the unchanged limits when they could be read, else 0). */
int nofile_raise(unsigned long *soft, unsigned long *hard);

/* The soft limit in force; ULONG_MAX when unlimited or unknown. */
unsigned long nofile_limit(void);

/* Descriptors one process needs for MAXCONN connections on NLISTEN
 * listeners; SPLICE: the splice relay is in use. Pure. */
unsigned long nofile_needed(unsigned maxconn, size_t nlisten, bool splice);

#endif
