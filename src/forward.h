/* SPDX-License-Identifier: ISC */
/* forward: a non-blocking connect to a backend, trying each of its
 * addresses in turn, each within the connect timeout.
 *
 * Ownership: a forward belongs to its loop from forward_start() until its
 * callback runs or forward_cancel(); it frees itself then. */
#ifndef PORTSPLIT_FORWARD_H
#define PORTSPLIT_FORWARD_H

#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"

/* Called once: FD is the connected socket (non-blocking, close-on-exec,
 * TCP_NODELAY; now the callee's), or -1 with ERR the errno of the last
 * address tried. SENT: how many of the FIRST bytes (see
 * forward_start_from) the socket has already taken. The forward is gone by
 * then. */
typedef void forward_done_fn(void *arg, int fd, int err, size_t sent);

struct forward;

/* Starts connecting to the addresses in AI (which must stay valid until the
 * callback). The callback never runs before this returns. NULL when out of
 * memory. */
struct forward *forward_start(struct loop *loop, const struct addrinfo *ai,
                              uint32_t timeout_ms, forward_done_fn *fn,
                              void *arg);
/* What forward_start_from() may send at once. */
struct forward_first {
	const void *data; /* read during forward_start_from() only */
	size_t len;
};
/* The same, and when FROM is not NULL, transparent: each attempt binds to
 * FROM's address (IP_TRANSPARENT; the port is the kernel's choice) so
 * that the backend sees the client's own address. Only the backend
 * addresses of FROM's family are tried (an IPv4-mapped FROM counts as
 * IPv4); when there is none, the callback's error is EAFNOSUPPORT. Needs
 * CAP_NET_ADMIN and a route back through this host.
 *
 * FIRST (may be NULL): the first bytes for the backend. The first attempt
 * writes them right after its connect: on loopback and a fast network the
 * handshake is over by then, and the write both sends them and says the
 * connect succeeded, sparing a check and a turn of the loop. When the
 * socket cannot take them yet, nothing is sent and the connect is watched
 * as usual; the callback's SENT says how many went. */
struct forward *forward_start_from(struct loop *loop, const struct addrinfo *ai,
                                   uint32_t timeout_ms,
                                   const struct sockaddr *from,
                                   const struct forward_first *first,
                                   forward_done_fn *fn, void *arg);
/* Gives up: closes the attempt; the callback does not run. */
void forward_cancel(struct forward *f);

#endif
