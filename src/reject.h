/* SPDX-License-Identifier: ISC */
/* reject: the short window after a forward reached its backend, in which a
 * backend that closes or resets before sending a single byte can be undone
 * (`on_reject`): the connection then goes to another service with the same
 * first bytes, as if this one had never matched. */
#ifndef PORTSPLIT_REJECT_H
#define PORTSPLIT_REJECT_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

/* How long after the backend accepted its rejection still counts. */
#define REJECT_WINDOW_MS 500

enum reject_outcome {
	/* The backend sent a byte, or the window passed: relay as usual.
	 * The decision bytes have been consumed from the client socket
	 * (the backend has them). */
	REJECT_ACCEPTED,
	/* The backend closed or reset before sending a byte, and the client
	 * sent nothing past the decision bytes: they are still unread in
	 * the client socket, for another service. */
	REJECT_REJECTED,
	/* The backend closed or reset, but the client had sent more, or a
	 * system call failed: the connection cannot go on. */
	REJECT_FAILED,
};

/* Called once with the outcome. BACKEND is the backend socket (now the
 * callee's) for REJECT_ACCEPTED, else -1 (closed). ERR: the backend's
 * error (ECONNRESET for a reset, 0 for a FIN, or a system call's errno);
 * MS: how long after the start it ended. The window is gone by then. */
typedef void reject_done_fn(void *arg, enum reject_outcome outcome, int backend,
                            int err, uint64_t ms);

struct reject;

/* Opens the window on BACKEND (connected, non-blocking; now the
 * window's) for CLIENT (the window reads nothing from it but the NBYTES
 * decision bytes, peeked into SCRATCH of SCRATCHLEN >= NBYTES bytes, a
 * buffer the loop shares, and sent on). Ends within WINDOW_MS. The
 * callback never runs before this returns. NULL when out of memory (the
 * descriptors are then still the caller's). */
struct reject *reject_start(struct loop *loop, int client, int backend,
                            size_t nbytes, uint8_t *scratch, size_t scratchlen,
                            uint32_t window_ms, reject_done_fn *fn, void *arg);
/* Closes the window and its backend socket; the callback does not run. */
void reject_cancel(struct reject *r);

#endif
