/* SPDX-License-Identifier: ISC */
/* replay: the set of first messages recently matched by services with
 * `replay_window`, so that the same bytes sent again within the window can
 * rule the service out. Pure apart from its memory: a fixed table made
 * once, shareable by worker processes (it lives in a shared anonymous
 * mapping, so a fork inherits it).
 *
 * Bounded memory: the table has a fixed number of slots chosen when it is
 * made (replay_slots()); a slot is 16 bytes. An entry is forgotten when its
 * window has passed, or earlier when the table is full: a new entry then
 * takes the place of the one nearest to its expiry among the slots it may
 * use. So a replay is caught when it comes within the window AND the
 * table has not been filled by other guarded matches in between. */
#ifndef PORTSPLIT_REPLAY_H
#define PORTSPLIT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The slots a set may use: see replay_slots(). */
#define REPLAY_SLOTS_MIN 1024
#define REPLAY_SLOTS_MAX (1u << 20)

struct replay;

/* The slot count for MAXCONN connections and a WINDOW_S second window:
 * MAXCONN x WINDOW_S (every connection slot turning over once a second for
 * the whole window), rounded up to a power of two and kept within
 * REPLAY_SLOTS_MIN..REPLAY_SLOTS_MAX (16 KiB to 16 MiB). */
size_t replay_slots(unsigned maxconn, uint32_t window_s);

/* Makes an empty set of SLOTS slots (a power of two) with a random key.
 * Its memory is a shared anonymous mapping: processes forked afterwards
 * use the same set. NULL with errno when the system refuses. */
struct replay *replay_new(size_t slots);
/* Unmaps it; NULL is allowed. */
void replay_free(struct replay *r);
/* How many bytes R takes. */
size_t replay_bytes(const struct replay *r);

/* The keyed digest (SipHash-2-4 under R's key) of LEN bytes at DATA,
 * tagged with TAG (the service), so that two services never share
 * entries. */
uint64_t replay_digest(const struct replay *r, uint32_t tag,
                       const uint8_t *data, size_t len);
/* Whether DIGEST was added and its window has not passed at NOW_MS (any
 * monotonic clock in milliseconds, the same for every caller). */
bool replay_seen(const struct replay *r, uint64_t digest, uint64_t now_ms);
/* Remembers DIGEST until NOW_MS + WINDOW_MS (an existing entry for it is
 * extended). */
void replay_add(struct replay *r, uint64_t digest, uint64_t now_ms,
                uint32_t window_ms);

#endif
