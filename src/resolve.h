/* SPDX-License-Identifier: ISC */
/* resolve: host names looked up off the event loop, with a short cache.
 *
 * getaddrinfo() can wait seconds on DNS, so it never runs on a loop: a
 * resolver has one thread of its own that does the lookups, and the
 * answers come back to the loop's thread through an eventfd the loop
 * watches. An answer is kept RESOLVE_TTL_MS (a failure RESOLVE_FAIL_TTL_MS)
 * so that a burst of connections costs one lookup, and callers that ask
 * for a name already being looked up wait for that same lookup. Everything
 * here but that thread runs on the loop's thread. */
#ifndef PORTSPLIT_RESOLVE_H
#define PORTSPLIT_RESOLVE_H

#include <netdb.h>
#include <stdint.h>

#include "loop.h"

/* How long an answer is used before the name is looked up again. */
#define RESOLVE_TTL_MS 30000
#define RESOLVE_FAIL_TTL_MS 5000

struct resolver;
/* One answer: the addresses, or the getaddrinfo() error. Reference
 * counted: whoever receives one owns a reference and drops it with
 * resolved_unref() once it no longer reads the addresses. */
struct resolved;
/* A caller waiting for an answer; valid until its callback runs or
 * resolve_cancel(). */
struct resolve_wait;

/* Called once on the loop's thread with a reference to the answer (the
 * callee owns it; NULL when out of memory), never before resolver_lookup()
 * returns. */
typedef void resolve_done_fn(void *arg, struct resolved *res);

/* A resolver for LOOP; its thread starts with the first lookup. NULL when
 * out of memory. */
struct resolver *resolver_new(struct loop *loop);
/* Frees R: waiting callers are forgotten (their callbacks never run). A
 * lookup in progress is left to finish on its own thread, which then
 * frees what it holds: this never waits for DNS. */
void resolver_free(struct resolver *r);
/* Looks HOST and PORT (numeric) up for TCP; FN(ARG, answer) runs later
 * on the loop. Returns the wait, or NULL when out of memory. */
struct resolve_wait *resolver_lookup(struct resolver *r, const char *host,
                                     const char *port, resolve_done_fn *fn,
                                     void *arg);
/* Stops waiting: the callback does not run. */
void resolve_cancel(struct resolve_wait *w);

/* The addresses of an answer (NULL when it failed). */
const struct addrinfo *resolved_addrs(const struct resolved *res);
/* The getaddrinfo() error of a failed answer, 0 otherwise. */
int resolved_error(const struct resolved *res);
/* Drops a reference; NULL is allowed. */
void resolved_unref(struct resolved *res);

/* What a resolver did, for tests and logs: getaddrinfo() calls made on
 * its thread, and lookups answered from the cache or by joining one in
 * progress. */
struct resolver_stats {
	uint64_t lookups;
	uint64_t shared;
};
void resolver_stats(const struct resolver *r, struct resolver_stats *st);

#endif
