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
 * address tried. The forward is gone by then. */
typedef void forward_done_fn(void *arg, int fd, int err);

struct forward;

/* Starts connecting to the addresses in AI (which must stay valid until the
 * callback). The callback never runs before this returns. NULL when out of
 * memory. */
struct forward *forward_start(struct loop *loop, const struct addrinfo *ai,
                              uint32_t timeout_ms, forward_done_fn *fn,
                              void *arg);
/* The same, and when FROM is not NULL, transparent: each attempt binds to
 * FROM's address (IP_TRANSPARENT; the port is the kernel's choice) so
 * that the backend sees the client's own address. Only the backend
 * addresses of FROM's family are tried (an IPv4-mapped FROM counts as
 * IPv4). Needs CAP_NET_ADMIN and a route back through this host. */
struct forward *forward_start_from(struct loop *loop, const struct addrinfo *ai,
                                   uint32_t timeout_ms,
                                   const struct sockaddr *from,
                                   forward_done_fn *fn, void *arg);
/* Gives up: closes the attempt; the callback does not run. */
void forward_cancel(struct forward *f);

#endif
