/* SPDX-License-Identifier: ISC */
/* pace: when to look again at an undecided client, so that deciding costs
 * a small constant times what the same bytes cost in one piece, however the
 * client splits them (SPEC §3).
 *
 * A look peeks at everything buffered and evaluates the signatures on all
 * of it: it costs in proportion to the bytes buffered. pace keeps the sum
 * of the looks' sizes (the work) within PACE_FACTOR times the bytes
 * buffered. While a look one byte later keeps within that, the next byte
 * wakes the connection: a message in a few segments is looked at on each,
 * without delay. Otherwise the next look waits until the buffer has grown
 * enough for it to fit: one byte per segment then grows the buffer by
 * PACE_FACTOR/(PACE_FACTOR - 1) between looks, so n bytes take O(log n)
 * looks and at most PACE_FACTOR * n bytes of work (one n more when the
 * last look comes early, at max_peek).
 *
 * A client that stops below that size (it waits for an answer: a SOCKS5
 * greeting sent a byte at a time, say) must not wait for the decision
 * timeout: a short timer looks anyway. Its delay doubles each time it
 * fires, so however slow the drip, the timer adds O(log(time)) looks. */
#ifndef PORTSPLIT_PACE_H
#define PORTSPLIT_PACE_H

#include <stddef.h>
#include <stdint.h>

#define PACE_FACTOR 3
/* The first delay of the timer that looks when the threshold is not met. */
#define PACE_TIMER_MS 10
/* Its delay doubles each time it fires, up to this. */
#define PACE_TIMER_MAX_MS 1000

struct pace {
	uint64_t work;     /* bytes looked at so far, summed over the looks */
	uint32_t looks;    /* looks so far */
	uint32_t timer_ms; /* the delay of the next timer */
};

/* Starts P for a new connection. */
void pace_init(struct pace *p);
/* A look saw N bytes and did not decide. Returns how many bytes must be
 * buffered before the next look (more than N, at most MAX when N < MAX);
 * *TIMER_MS is 0 when that is the next byte, else the delay after which
 * to look anyway. */
size_t pace_next(struct pace *p, size_t n, size_t max, uint32_t *timer_ms);
/* The timer fired: its next delay is doubled. */
void pace_timer_fired(struct pace *p);

#endif
