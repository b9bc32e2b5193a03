/* SPDX-License-Identifier: ISC */
/* pace: the wake-up threshold of an undecided client (see pace.h). */
#include "pace.h"

void
pace_init(struct pace *p)
{
	p->work = 0;
	p->looks = 0;
	p->timer_ms = PACE_TIMER_MS;
}

size_t
pace_next(struct pace *p, size_t n, size_t max, uint32_t *timer_ms)
{
	uint64_t need = (uint64_t)n + 1;
	/* The smallest buffer whose look keeps work <= PACE_FACTOR * size. */
	uint64_t fits;

	p->looks++;
	p->work += n;
	fits = (p->work + PACE_FACTOR - 2) / (PACE_FACTOR - 1);
	if (fits > need)
		need = fits;
	if (need > max)
		need = max > n ? max : (uint64_t)n + 1;
	*timer_ms = need > (uint64_t)n + 1 ? p->timer_ms : 0;
	return (size_t)need;
}

void
pace_timer_fired(struct pace *p)
{
	if (p->timer_ms < PACE_TIMER_MAX_MS)
		p->timer_ms *= 2;
	if (p->timer_ms > PACE_TIMER_MAX_MS)
		p->timer_ms = PACE_TIMER_MAX_MS;
}
