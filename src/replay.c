/* SPDX-License-Identifier: ISC */
/* replay: an open-addressed table of (digest, expiry) slots.
 *
 * A digest may sit in any of PROBE consecutive slots from the one its low
 * bits name; a lookup reads those PROBE slots, an insertion takes the
 * first one that is free or expired there, else the one that would expire
 * first. Both cost PROBE slot reads, whatever the table holds, and the
 * digest is keyed with a random key so that nobody can aim many first
 * messages at the same slots.
 *
 * Worker processes share the table without a lock: each field is an
 * atomic word, and an insertion clears the expiry before it writes the
 * digest, so a reader can see a slot half-written only as "expired"
 * (a replay racing its own original by microseconds can slip through;
 * a false "seen" cannot happen). */
#define _GNU_SOURCE
#include "replay.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Slots an entry may use. */
#define PROBE 16

struct slot {
	_Atomic uint64_t digest; /* 0: never used */
	_Atomic uint64_t expires;
};

struct replay {
	uint64_t k0, k1; /* the SipHash key */
	size_t mask;     /* slots - 1 */
	size_t bytes;    /* the size of the mapping */
	struct slot slot[];
};

size_t
replay_slots(unsigned maxconn, uint32_t window_s)
{
	uint64_t want =
	    (uint64_t)(maxconn ? maxconn : 1) * (window_s ? window_s : 1);
	size_t n = REPLAY_SLOTS_MIN;

	while (n < want && n < REPLAY_SLOTS_MAX)
		n <<= 1;
	return n;
}

struct replay *
replay_new(size_t slots)
{
	size_t bytes = sizeof(struct replay) + slots * sizeof(struct slot);
	struct replay *r;
	uint64_t key[2];

	if (slots == 0 || (slots & (slots - 1)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		/* Not secret then, but still different per start. */
		key[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		key[1] = (uint64_t)(uintptr_t)&key ^ 0x9e3779b97f4a7c15u;
	}
	r = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return NULL;
	/* Anonymous mappings start zeroed: every slot is free. */
	r->k0 = key[0];
	r->k1 = key[1];
	r->mask = slots - 1;
	r->bytes = bytes;
	return r;
}

void
replay_free(struct replay *r)
{
	if (r != NULL)
		munmap(r, r->bytes);
}

size_t
replay_bytes(const struct replay *r)
{
	return r->bytes;
}

/* --- SipHash-2-4 (Aumasson and Bernstein, 2012) --- */

static inline uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = rotl(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = rotl(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = rotl(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = rotl(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = rotl(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = rotl(v2, 32);                                             \
	} while (0)

static uint64_t
le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Exposed for the unit test's reference vector. */
uint64_t replay_siphash(uint64_t k0, uint64_t k1, const uint8_t *data,
                        size_t len);

uint64_t
replay_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575u;
	uint64_t v1 = k1 ^ 0x646f72616e646f6du;
	uint64_t v2 = k0 ^ 0x6c7967656e657261u;
	uint64_t v3 = k1 ^ 0x7465646279746573u;
	size_t full = len & ~(size_t)7;
	uint64_t m;

	for (size_t i = 0; i < full; i += 8) {
		m = le64(data + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	m = le64(data + full, len - full) | (uint64_t)(len & 0xff) << 56;
	v3 ^= m;
	SIPROUND;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
replay_digest(const struct replay *r, uint32_t tag, const uint8_t *data,
              size_t len)
{
	uint64_t d = replay_siphash(r->k0 ^ tag, r->k1, data, len);

	return d != 0 ? d : 1; /* 0 marks a slot never used */
}

bool
replay_seen(const struct replay *r, uint64_t digest, uint64_t now_ms)
{
	for (size_t i = 0; i < PROBE; i++) {
		const struct slot *s = &r->slot[(digest + i) & r->mask];
		if (atomic_load(&s->digest) == digest &&
		    atomic_load(&s->expires) > now_ms)
			return true;
	}
	return false;
}

void
replay_add(struct replay *r, uint64_t digest, uint64_t now_ms,
           uint32_t window_ms)
{
	uint64_t expires = now_ms + window_ms;
	struct slot *best = NULL;
	uint64_t best_exp = UINT64_MAX;

	for (size_t i = 0; i < PROBE; i++) {
		struct slot *s = &r->slot[(digest + i) & r->mask];
		uint64_t e = atomic_load(&s->expires);
		if (atomic_load(&s->digest) == digest) {
			if (e < expires)
				atomic_store(&s->expires, expires);
			return;
		}
		if (e <= now_ms) {
			if (best == NULL || best_exp > now_ms) {
				best = s;
				best_exp = e;
			}
		} else if (e < best_exp) {
			best = s;
			best_exp = e;
		}
	}
	atomic_store(&best->expires, 0);
	atomic_store(&best->digest, digest);
	atomic_store(&best->expires, expires);
}
