/* SPDX-License-Identifier: ISC */
/* acl: who may connect — CIDR lists for `allow`, `deny` and `proxy_from` —
 * and the per-source connection counts that `maxconn_per_source` limits.
 * Pure: addresses in, answers out; the count table lives in memory the
 * caller provides, so that worker processes can share it. */
#ifndef PORTSPLIT_ACL_H
#define PORTSPLIT_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One network. IPv4 networks are kept in their IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d, 96 more prefix bits), so that an IPv4 client met on a
 * dual-stack socket matches them too. */
struct acl_net {
	uint8_t addr[16];
	uint8_t bits; /* prefix length in the 128-bit form */
};

/* A list of networks; owns NETS (free with acl_free). An empty list
 * matches nothing. */
struct acl {
	struct acl_net *nets;
	size_t n;
};

/* Appends the networks of TEXT (CIDRs or single addresses, separated by
 * blanks or commas: `10.0.0.0/8 2001:db8::/32, 192.0.2.7`) to LIST.
 * Returns 0, or -1 with a message in ERR naming the bad word (LIST then
 * holds the words before it). */
int acl_parse(struct acl *list, const char *text, char *err, size_t errlen);
/* Frees LIST's networks and empties it. */
void acl_free(struct acl *list);
/* True when SA (IPv4 or IPv6) is in one of LIST's networks. */
bool acl_match(const struct acl *list, const struct sockaddr *sa);
/* The verdict of an allow/deny pair for SA: deny wins; an empty ALLOW lets
 * everyone in. */
bool acl_permits(const struct acl *allow, const struct acl *deny,
                 const struct sockaddr *sa);
/* Writes LIST as the CIDRs it holds (IPv4 ones as IPv4), or "-" when it
 * is empty. */
void acl_format(const struct acl *list, char *buf, size_t len);

/* The source a client is counted as: its IPv4 address (mapped form), or
 * the /64 its IPv6 address is in. Writes the 16-byte key. */
void acl_source_key(const struct sockaddr *sa, uint8_t key[16]);

/* A bounded table of connection counts per source and owner (a worker
 * process), in memory the caller provides (shared memory with workers).
 * A mutex inside it (process-shared, robust: an owner that dies holding
 * it does not block the others) makes take and give exact across
 * processes. */
struct srccount;

enum srccount_rc {
	SRCCOUNT_OK,   /* counted */
	SRCCOUNT_OVER, /* the source is at its limit: not counted */
	SRCCOUNT_FULL, /* no room for a new source: not counted */
};

/* The capacity that never fills for MAXCONN connections: a power of two
 * at least twice MAXCONN (each connection holds at most one entry). */
unsigned srccount_capacity(unsigned maxconn);
/* Bytes needed for a table of CAPACITY entries (a power of two). */
size_t srccount_size(unsigned capacity);
/* Makes a zeroed table of CAPACITY entries at MEM (srccount_size bytes,
 * suitably aligned, e.g. from mmap). Returns it, or NULL when the mutex
 * cannot be made. */
struct srccount *srccount_init(void *mem, unsigned capacity);
/* Counts one more connection of OWNER from KEY, unless the source already
 * has LIMIT connections (all owners together; 0: no limit). */
enum srccount_rc srccount_take(struct srccount *t, const uint8_t key[16],
                               unsigned owner, unsigned limit);
/* A connection counted by srccount_take() with KEY and OWNER is gone. */
void srccount_give(struct srccount *t, const uint8_t key[16], unsigned owner);
/* OWNER is gone (a dead worker): its connections leave the counts. */
void srccount_drop_owner(struct srccount *t, unsigned owner);
/* The connections counted for KEY, all owners together. */
unsigned srccount_get(struct srccount *t, const uint8_t key[16]);

#endif
