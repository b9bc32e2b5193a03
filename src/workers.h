/* SPDX-License-Identifier: ISC */
/* workers: what several event-loop processes share — how many to run
 * (`workers = auto`), and the count of connections that `maxconn` limits
 * across all of them, kept in shared memory.
 *
 * The count is one tally per worker process, so that the master can give
 * back the connections of a worker that died without closing them, however
 * it died. A worker only ever changes its own tally; the master clears a
 * tally once its process has been reaped. The same mapping holds the
 * per-source counts of `maxconn_per_source` (acl.h), where each worker is
 * the owner of its tally's number. The share is owned by the master for
 * its whole life; each worker uses its copy of the mapping. */
#ifndef PORTSPLIT_WORKERS_H
#define PORTSPLIT_WORKERS_H

#include <stdbool.h>

struct srccount;

/* The most worker processes alive at once, counting the ones reloads are
 * retiring (CONFIG_WORKERS_MAX per generation). */
#define WORKERS_MAX 1024

/* The shared count; made by the master before it forks. */
struct worker_share;

/* The number of processors this process may run on (`workers = auto`),
 * at least 1. */
unsigned workers_auto(void);

/* Maps a zeroed share (MAP_SHARED, inherited by every fork), with a
 * per-source table sized for MAXCONN connections. NULL with errno when the
 * system refuses. */
struct worker_share *workers_share_new(unsigned maxconn);
/* The per-source counts in S, shared by every worker. */
struct srccount *workers_sources(struct worker_share *s);
/* Unmaps it; NULL is allowed. */
void workers_share_free(struct worker_share *s);
/* Master: reserves a free tally for a new worker process. Returns its
 * index, or -1 when WORKERS_MAX processes are alive. */
int workers_tally_take(struct worker_share *s);
/* Master: the worker process that owned tally I has been reaped: its
 * connections leave the total and the per-source counts, and the tally is
 * free again. */
void workers_tally_release(struct worker_share *s, int i);

/* Worker: a new connection asks to be counted in S against MAXCONN: true
 * when it may stay (it is then counted in the total and in tally I), false
 * when the limit is reached. */
bool workers_conn_take(struct worker_share *s, int i, unsigned maxconn);
/* Worker: a connection counted by workers_conn_take() in tally I is
 * gone. */
void workers_conn_give(struct worker_share *s, int i);
/* The connections counted in S, all tallies together. */
unsigned workers_conn_count(struct worker_share *s);
/* Worker: the id of a new connection, unique across every worker of the
 * process group (1, 2, 3, ... in the order they were asked for), so that
 * decision and close lines pair without the pid. */
unsigned long long workers_conn_id(struct worker_share *s);

#endif
