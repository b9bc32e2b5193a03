/* SPDX-License-Identifier: ISC */
/* engine: what one event loop owns — the loop, the scratch buffers every
 * connection of the loop borrows between two events, the relay's spare
 * pipes, the programs started by exec, the list of live connections and
 * their admission against `maxconn`.
 *
 * Ownership: a process that serves clients makes exactly one engine
 * (engine_new) and frees it (engine_free) after its loop has returned and
 * every connection has ended. The engine owns every field below; the rooms
 * above it borrow them for the engine's lifetime. A connection (conn.c)
 * links itself into CONNS and is counted in NCONNS from engine_admit() to
 * engine_release(). */
#ifndef PORTSPLIT_ENGINE_H
#define PORTSPLIT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct conn;
struct exec_table;
struct relay_pool;
struct resolver;
struct replay;
struct srccount;
struct sig_scratch;
struct worker_share;

struct engine {
	struct loop *loop;
	/* Scratch shared by every connection of the loop: the peek buffer
	 * (MSG_PEEK copies into it; nothing stays there between events),
	 * the relay's read buffer and the regex match space. */
	uint8_t *peekbuf;
	size_t peeksize;
	uint8_t *relaybuf;
	size_t relaysize;
	struct sig_scratch *scratch;
	/* The splice path's spare pipes; NULL when every relay copies. */
	struct relay_pool *relay_pool;
	/* PORTSPLIT_RELAY=splice: relays splice from the first byte, not
	 * only once a direction moves bulk. */
	bool splice_at_once;
	struct exec_table *children; /* programs started by exec */
	/* `connect` host names, looked up off the loop (resolve.h). */
	struct resolver *resolver;
	/* Every live connection, a list that conn.c keeps; NCONNS counts
	 * the admitted ones. */
	struct conn *conns;
	unsigned nconns;
	uint64_t next_id;
	/* Admission with several worker processes: SHARE counts the
	 * connections of all of them (not owned: the supervisor maps it),
	 * TALLY is this process's count in it. NULL: one process. */
	struct worker_share *share;
	int tally;
	/* The replay set of `replay_window` (replay.h), or NULL: not owned
	 * (the daemon makes it before any worker is forked, so that all of
	 * them share it). */
	struct replay *replay;
	/* Connections per client source (maxconn_per_source): the share's
	 * table with workers, else this engine's own, made when first
	 * needed (SOURCES_OWN). Each engine counts as owner TALLY. */
	struct srccount *sources;
	bool sources_own;
	/* engine_drain(): the loop stops once the last connection ends. */
	bool draining;
};

/* Makes the engine of this process: a loop of BACKEND (NULL: the
 * default; see loop_new), the scratch buffers, and the relay's spare
 * pipes unless RELAY_COPY. SHARE and TALLY: as in struct engine (NULL and
 * -1 for one process). Returns NULL with errno. */
struct engine *engine_new(const char *backend, bool relay_copy,
                          struct worker_share *share, int tally);
/* Frees E and everything it owns; NULL is allowed. Its connections must
 * have ended (conn_end_all). */
void engine_free(struct engine *e);

/* A new connection asks to be counted against MAXCONN: true when it may
 * stay (it is counted until engine_release), false when the limit is
 * reached. With one process E's own count is compared; with workers, the
 * shared total. */
bool engine_admit(struct engine *e, unsigned maxconn);
/* The per-source count table of E, made for MAXCONN connections when a
 * lone process first needs it; NULL when out of memory. */
struct srccount *engine_sources(struct engine *e, unsigned maxconn);
/* A connection that engine_admit() counted is gone. When E is draining
 * and that was the last, the loop stops. */
void engine_release(struct engine *e);
/* The id of a new connection: E's own sequence for one process; with
 * workers, one sequence shared by all of them. */
uint64_t engine_conn_id(struct engine *e);
/* The process is stopping or retiring: the loop stops when the last
 * connection ends, or at once when there is none. Returns true when there
 * was none. */
bool engine_drain(struct engine *e);

#endif
