/* SPDX-License-Identifier: ISC */
/* relay: the two-way pump between two connected sockets, or a socket and a
 * pseudo-terminal master — backpressure, half-close, idle timeout and byte
 * counts. It knows nothing of services: it moves bytes until both
 * directions are finished, then reports. */
#ifndef PORTSPLIT_RELAY_H
#define PORTSPLIT_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct relay_stats {
	uint64_t up;    /* bytes from A to B */
	uint64_t down;  /* bytes from B to A */
	int error;      /* 0 when both directions finished cleanly */
	int error_side; /* 0: A, 1: B (when error is set) */
};

/* Called once when the relay is over; the relay and both descriptors are
 * gone by then. */
typedef void relay_done_fn(void *arg, const struct relay_stats *st);

/* Spare pipes of the splice path, shared by every relay of one loop. A
 * direction takes a pipe when data starts to flow and gives it back as soon
 * as the pipe is empty, so an idle connection holds none; the pool keeps a
 * few empty ones so that a busy loop does not create a pipe per burst. */
struct relay_pool;

/* Makes a pool that keeps up to MAX_SPARE empty pipes, each asked for
 * PIPE_SIZE bytes of capacity (best effort: the system may refuse and
 * leave its default). NULL when out of memory. */
struct relay_pool *relay_pool_new(size_t max_spare, size_t pipe_size);
/* Closes the spare pipes and frees POOL; every relay using it must be
 * over. NULL is allowed. */
void relay_pool_free(struct relay_pool *pool);

struct relay_opts {
	uint32_t idle_ms; /* 0: no idle timeout */
	/* A scratch buffer shared by every relay of the loop: data waits in
	 * a connection's own memory only when its destination is full. */
	uint8_t *buf;
	size_t bufsize;
	/* Non-NULL: a direction that moves bulk (a read fills BUF) goes on
	 * with splice() through pipes from POOL, never through user space
	 * (not with a pty: a terminal is read and written). NULL: the copy
	 * path through BUF only. */
	struct relay_pool *pool;
	/* With POOL: splice from the first byte, not only after a full
	 * read. */
	bool splice_at_once;
	/* Non-NULL: A's watch, handed over by its owner (one registration
	 * for the socket's whole life); the relay owns it once relay_start()
	 * succeeds. */
	struct loop_watch *a_watch;
	/* The first A_SENT bytes of A's stream reached B already (sent by
	 * the connect, see forward.h) though A's socket still holds them:
	 * the relay reads them and counts them, but does not send them
	 * again. */
	size_t a_sent;
	/* B is not a socket but a pseudo-terminal master: it is read and
	 * written with read()/write(); EIO from it means the terminal hung
	 * up (its program is gone), which ends B's output like a FIN and
	 * drops whatever A still sends. A terminal cannot be half-closed: when
	 * A finishes, B gets the byte EOF_CHAR instead (when HAS_EOF_CHAR),
	 * as if a user typed it. */
	bool b_is_pty;
	bool has_eof_char;
	uint8_t eof_char;
	/* With B_IS_PTY: once A has finished, the relay ends this long
	 * after (closing the master hangs the terminal up), unless B's
	 * program is done first. 0: never. */
	uint32_t pty_linger_ms;
};

struct relay;

/* Starts relaying between A and B (non-blocking sockets, or B a pty
 * master as OPTS says; now owned by the relay). Bytes already waiting in either
 * socket are relayed first. Returns NULL when out of memory (the descriptors
 * are then still the caller's). */
struct relay *relay_start(struct loop *loop, int a, int b,
                          const struct relay_opts *opts, relay_done_fn *fn,
                          void *arg);
/* Ends the relay now, as with an error ECANCELED. */
void relay_abort(struct relay *r);

#endif
