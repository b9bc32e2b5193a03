/* SPDX-License-Identifier: ISC */
/* Unit tests for pace.c: how many looks, and how many bytes looked at, a
 * client costs however it splits its bytes (SPEC §3). Counted, not timed:
 * the simulated client adds its bytes, and the connection looks whenever
 * the threshold pace asked for is reached. */
#include "pace.h"
#include "unit.h"

struct sim {
	uint64_t looks, work;
	int delayed; /* a segment that arrived without being looked at */
};

/* The client sends TOTAL bytes in segments of SEG bytes; returns what the
 * looks cost until all TOTAL bytes were looked at (or MAX). */
static struct sim
drip(size_t total, size_t seg, size_t max)
{
	struct pace p;
	struct sim s = {0};
	size_t buffered = 0, need = 1;
	uint32_t timer;

	pace_init(&p);
	while (buffered < total) {
		buffered += seg;
		if (buffered > total)
			buffered = total;
		if (buffered < need)
			continue;
		size_t n = buffered < max ? buffered : max;
		s.looks++;
		s.work += n;
		if (n >= max)
			break; /* full: decided */
		need = pace_next(&p, n, max, &timer);
		if (buffered == total && timer != 0)
			s.delayed = 1; /* the last bytes wait for the timer */
	}
	return s;
}

static void
bounded(size_t total, size_t seg, size_t max, uint64_t max_looks)
{
	struct sim s = drip(total, seg, max);
	size_t n = total < max ? total : max;

	ok(s.looks <= max_looks,
	   "%zu bytes in segments of %zu: %llu looks (at most %llu)", total,
	   seg, (unsigned long long)s.looks, (unsigned long long)max_looks);
	/* The last look may come early, at max_peek: one more N. */
	ok(s.work <= (uint64_t)(PACE_FACTOR + 1) * n,
	   "%zu bytes in segments of %zu: %llu bytes looked at, within %d x "
	   "%zu",
	   total, seg, (unsigned long long)s.work, PACE_FACTOR + 1, n);
}

int
main(void)
{
	/* One byte per segment: O(log n) looks, O(n) work. */
	bounded(8192, 1, 65536, 40);
	bounded(65536, 1, 65536, 48);
	bounded(16384, 1, 8192, 40); /* stops at max_peek */
	bounded(8192, 7, 65536, 40);
	/* A message in a few segments is looked at on every one of them. */
	struct sim s = drip(3 * 1448, 1448, 8192);
	ok(s.looks == 3 && !s.delayed,
	   "a message in 3 segments: 3 looks, none delayed (%llu)",
	   (unsigned long long)s.looks);
	/* A SOCKS5 greeting a byte at a time: looked at on each byte. */
	s = drip(3, 1, 8192);
	ok(s.looks == 3 && !s.delayed,
	   "3 bytes one at a time: 3 looks, none delayed (%llu)",
	   (unsigned long long)s.looks);
	/* Below the threshold, the timer looks; each firing doubles it. */
	struct pace p;
	uint32_t timer = 0, first;
	size_t need, n = 1;
	pace_init(&p);
	do {
		need = pace_next(&p, n, 65536, &timer);
		n = need; /* the client drips: woken at the threshold */
	} while (timer == 0 && n < 1000);
	ok(timer == PACE_TIMER_MS, "once looks must wait, a timer of %d ms",
	   PACE_TIMER_MS);
	first = timer;
	pace_timer_fired(&p);
	pace_next(&p, n, 65536, &timer);
	ok(timer == 2 * first,
	   "after it fires, the next one waits twice as "
	   "long (%u ms)",
	   timer);
	for (int i = 0; i < 20; i++)
		pace_timer_fired(&p);
	pace_next(&p, n, 65536, &timer);
	ok(timer == PACE_TIMER_MAX_MS, "the timer is capped at %d ms (%u)",
	   PACE_TIMER_MAX_MS, timer);
	return unit_done();
}
