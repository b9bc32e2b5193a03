/* SPDX-License-Identifier: ISC */
/* workers: the processor count and the connection count shared by worker
 * processes.
 *
 * Taking a connection reserves it in the total first (fetch-and-add, then
 * a check, undone when over the limit), so two workers accepting at the
 * same instant can never both take the last place: maxconn holds exactly.
 * The only inexactness is a worker killed between its two additions,
 * which leaves at most one connection counted too few or too many. */
#define _GNU_SOURCE
#include "workers.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

struct worker_share {
	atomic_uint total;
	atomic_uint tally[WORKERS_MAX];
	bool used[WORKERS_MAX]; /* the master's alone */
};

unsigned
workers_auto(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

struct worker_share *
workers_share_new(void)
{
	void *p =
	    mmap(NULL, sizeof(struct worker_share), PROT_READ | PROT_WRITE,
	         MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	/* Anonymous mappings start zeroed: every count is 0. */
	return p == MAP_FAILED ? NULL : p;
}

void
workers_share_free(struct worker_share *s)
{
	if (s != NULL)
		munmap(s, sizeof(*s));
}

int
workers_tally_take(struct worker_share *s)
{
	for (int i = 0; i < WORKERS_MAX; i++) {
		if (!s->used[i]) {
			s->used[i] = true;
			atomic_store(&s->tally[i], 0);
			return i;
		}
	}
	return -1;
}

void
workers_tally_release(struct worker_share *s, int i)
{
	unsigned left = atomic_exchange(&s->tally[i], 0);

	atomic_fetch_sub(&s->total, left);
	s->used[i] = false;
}

bool
workers_conn_take(struct worker_share *s, int i, unsigned maxconn)
{
	if (atomic_fetch_add(&s->total, 1) >= maxconn) {
		atomic_fetch_sub(&s->total, 1);
		return false;
	}
	atomic_fetch_add(&s->tally[i], 1);
	return true;
}

void
workers_conn_give(struct worker_share *s, int i)
{
	atomic_fetch_sub(&s->tally[i], 1);
	atomic_fetch_sub(&s->total, 1);
}
