/* SPDX-License-Identifier: ISC */
/* Unit tests for replay.c: the keyed digest, the window, the bounded
 * table, and a set shared with a forked process. */
#include <sys/wait.h>
#include <unistd.h>

#include "replay.h"
#include "unit.h"

uint64_t replay_siphash(uint64_t k0, uint64_t k1, const uint8_t *data,
                        size_t len);

static void
siphash(void)
{
	uint8_t msg[64];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	/* The reference vectors of the SipHash paper (appendix A) and of its
	 * reference code: key 00 01 .. 0f, messages 00 01 .. (n-1). */
	uint64_t k0 = 0x0706050403020100u, k1 = 0x0f0e0d0c0b0a0908u;
	ok(replay_siphash(k0, k1, msg, 15) == 0xa129ca6149be45e5u,
	   "SipHash-2-4 of the paper's 15-byte message");
	ok(replay_siphash(k0, k1, msg, 0) == 0x726fdb47dd0e0e31u,
	   "SipHash-2-4 of the empty message");
	ok(replay_siphash(k0, k1, msg, 8) == 0x93f5f5799a932462u,
	   "SipHash-2-4 of an 8-byte message (one full word)");
}

static void
sizes(void)
{
	ok(replay_slots(1024, 120) == 131072,
	   "maxconn 1024, window 120 s: 131072 slots (2 MiB)");
	ok(replay_slots(1, 1) == REPLAY_SLOTS_MIN,
	   "a tiny set has the minimum");
	ok(replay_slots(1000000, 3600) == REPLAY_SLOTS_MAX,
	   "a huge one is capped at %u slots (16 MiB)", REPLAY_SLOTS_MAX);
	struct replay *r = replay_new(1024);
	ok(r != NULL && replay_bytes(r) <= 1024 * 16 + 64,
	   "1024 slots take 16 bytes each (%zu bytes)",
	   r ? replay_bytes(r) : 0);
	replay_free(r);
	ok(replay_new(1000) == NULL, "a slot count that is not a power of "
	                             "two is refused");
}

static void
window(void)
{
	struct replay *r = replay_new(1024);
	const uint8_t a[] = "first message", b[] = "first messagf";
	uint64_t da = replay_digest(r, 0, a, sizeof(a));

	ok(!replay_seen(r, da, 1000), "an empty set has seen nothing");
	replay_add(r, da, 1000, 5000);
	ok(replay_seen(r, da, 1000), "seen at once");
	ok(replay_seen(r, da, 5999), "seen until the window ends");
	ok(!replay_seen(r, da, 6000), "forgotten when the window has passed");
	ok(!replay_seen(r, replay_digest(r, 0, b, sizeof(b)), 1000),
	   "a message one byte apart is not seen");
	ok(replay_digest(r, 0, a, sizeof(a)) !=
	       replay_digest(r, 1, a, sizeof(a)),
	   "the same bytes for another service are another digest");
	replay_add(r, da, 5000, 5000);
	ok(replay_seen(r, da, 9999), "adding again extends the window");
	struct replay *r2 = replay_new(1024);
	ok(replay_digest(r, 0, a, sizeof(a)) !=
	       replay_digest(r2, 0, a, sizeof(a)),
	   "two sets have different keys");
	replay_free(r2);
	replay_free(r);
}

/* The table never grows: many more entries than slots keep the newest
 * ones, and expired slots are reused before live ones. */
static void
bounded(void)
{
	struct replay *r = replay_new(1024);
	size_t bytes = replay_bytes(r), recent = 0, old = 0;
	uint8_t msg[8];

	for (uint32_t i = 0; i < 16 * 1024; i++) {
		memcpy(msg, &i, sizeof(i));
		replay_add(r, replay_digest(r, 0, msg, 4), 1000 + i, 60000);
	}
	for (uint32_t i = 16 * 1024 - 64; i < 16 * 1024; i++) {
		memcpy(msg, &i, sizeof(i));
		recent += replay_seen(r, replay_digest(r, 0, msg, 4), 20000);
	}
	for (uint32_t i = 0; i < 64; i++) {
		memcpy(msg, &i, sizeof(i));
		old += replay_seen(r, replay_digest(r, 0, msg, 4), 20000);
	}
	ok(replay_bytes(r) == bytes,
	   "16 times more entries than slots: the "
	   "size stays %zu bytes",
	   bytes);
	ok(recent == 64, "the 64 newest entries are all kept (%zu)", recent);
	ok(old < 8, "the oldest ones made room (%zu of 64 left)", old);
	/* Once everything expired, new entries find room at once. */
	size_t fresh = 0;
	for (uint32_t i = 0; i < 512; i++) {
		memcpy(msg, &i, sizeof(i));
		msg[4] = 1;
		replay_add(r, replay_digest(r, 0, msg, 5), 200000, 60000);
	}
	for (uint32_t i = 0; i < 512; i++) {
		memcpy(msg, &i, sizeof(i));
		msg[4] = 1;
		fresh += replay_seen(r, replay_digest(r, 0, msg, 5), 200001);
	}
	/* A digest may use PROBE slots: at half load a few windows are full
	 * (random keys: about 0.1% of entries are displaced). */
	ok(fresh >= 506,
	   "after expiry, of 512 new entries in 1024 slots "
	   "nearly all are kept (%zu)",
	   fresh);
	replay_free(r);
}

/* Worker processes are forked after the set is made: they share it. */
static void
shared(void)
{
	struct replay *r = replay_new(1024);
	const uint8_t a[] = "a first message";
	uint64_t d = replay_digest(r, 3, a, sizeof(a));
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		replay_add(r, d, 100, 1000);
		_exit(replay_seen(r, d, 100) ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a forked process adds to the set");
	ok(replay_seen(r, d, 500), "and its parent sees the entry");
	replay_free(r);
}

int
main(void)
{
	siphash();
	sizes();
	window();
	bounded();
	shared();
	return unit_done();
}
