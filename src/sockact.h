/* SPDX-License-Identifier: ISC */
/* sockact: listening sockets passed by systemd (socket activation).
 *
 * systemd starts the service with the sockets of its .socket unit as
 * descriptors 3, 4, ... and says so in LISTEN_FDS (how many) and
 * LISTEN_PID (for which process: the variables are ignored by any other).
 * portsplit takes a passed socket for each `bind =` address that it has
 * instead of binding one itself: the daemon then needs no privilege for
 * port 443.
 *
 * The passed sockets are held for the process's life (systemd holds them
 * too); a listener gets its own duplicate, which it closes as any other
 * listener, so that a reload that removes a `bind =` line and a later one
 * that adds it back both work. The variables are removed from the
 * environment at collection, so programs started by `exec` never see
 * them. */
#ifndef PORTSPLIT_SOCKACT_H
#define PORTSPLIT_SOCKACT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The first descriptor systemd passes. */
#define SOCKACT_FIRST_FD 3

/* The passed sockets; owned by the daemon, filled by sockact_collect(). */
struct sockact {
	int *fds;
	struct sockaddr_storage *addrs; /* each one's local address */
	socklen_t *addrlens;
	bool *used; /* taken by some `bind =` line at least once */
	size_t n;
};

/* Pure: how many sockets LISTEN_PID and LISTEN_FDS (either may be NULL)
 * pass to process PID: 0 when they are absent, malformed, or meant for
 * another process. */
size_t sockact_count(const char *listen_pid, const char *listen_fds, long pid);

/* Reads and removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES; keeps the
 * passed descriptors that are listening stream sockets (made
 * close-on-exec and non-blocking), closes any other. Returns how many are
 * kept; -1 with errno on an allocation failure. */
int sockact_collect(struct sockact *sa);

/* Pure: whether two socket addresses are the same family, address and
 * port (IPv4 and IPv6; other families never match). */
bool sockact_same_addr(const struct sockaddr *a, const struct sockaddr *b);

/* A new descriptor (close-on-exec) for the passed socket bound to ADDR,
 * or -1 when none is. The caller owns and closes it. */
int sockact_take(struct sockact *sa, const struct sockaddr *addr);

/* Closes the passed sockets and frees SA's arrays. */
void sockact_free(struct sockact *sa);

#endif
