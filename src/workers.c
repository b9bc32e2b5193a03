/* SPDX-License-Identifier: ISC */
/* workers: the processor count and the connection count shared by worker
 * processes.
 *
 * The count is only the tallies: a worker changes nothing but its own, one
 * atomic operation at a time, so a worker killed at any instant leaves
 * nothing behind once the master has zeroed its tally. Taking a connection
 * adds it to the worker's tally first and then sums every tally in use,
 * undoing the addition when the sum is over the limit: of two workers
 * taking the last place at the same instant, the one that sums second
 * sees the other's addition, so maxconn holds exactly. The sum reads as
 * many tallies as the highest one in use (a few per generation). */
#define _GNU_SOURCE
#include "workers.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "acl.h"

struct worker_share {
	atomic_uint tally[WORKERS_MAX];
	atomic_uint ntally;     /* one past the highest tally in use */
	atomic_ullong next_id;  /* the last connection id handed out */
	bool used[WORKERS_MAX]; /* the master's alone */
	/* Set before the first fork, then only read. */
	size_t size; /* of the whole mapping */
	struct srccount *sources;
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
workers_share_new(unsigned maxconn)
{
	unsigned cap = srccount_capacity(maxconn);
	size_t head = (sizeof(struct worker_share) + 63) & ~(size_t)63;
	size_t size = head + srccount_size(cap);
	struct worker_share *s = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	/* Anonymous mappings start zeroed: every count is 0. */
	if (s == MAP_FAILED)
		return NULL;
	s->size = size;
	s->sources = srccount_init((char *)s + head, cap);
	if (s->sources == NULL) {
		munmap(s, size);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

struct srccount *
workers_sources(struct worker_share *s)
{
	return s->sources;
}

void
workers_share_free(struct worker_share *s)
{
	if (s != NULL)
		munmap(s, s->size);
}

int
workers_tally_take(struct worker_share *s)
{
	for (int i = 0; i < WORKERS_MAX; i++) {
		if (!s->used[i]) {
			s->used[i] = true;
			atomic_store(&s->tally[i], 0);
			if (atomic_load(&s->ntally) < (unsigned)i + 1)
				atomic_store(&s->ntally, (unsigned)i + 1);
			return i;
		}
	}
	return -1;
}

void
workers_tally_release(struct worker_share *s, int i)
{
	unsigned n = atomic_load(&s->ntally);

	atomic_store(&s->tally[i], 0);
	srccount_drop_owner(s->sources, (unsigned)i);
	s->used[i] = false;
	while (n > 0 && !s->used[n - 1])
		n--;
	atomic_store(&s->ntally, n);
}

unsigned
workers_conn_count(struct worker_share *s)
{
	unsigned n = atomic_load(&s->ntally), sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += atomic_load(&s->tally[i]);
	return sum;
}

bool
workers_conn_take(struct worker_share *s, int i, unsigned maxconn)
{
	atomic_fetch_add(&s->tally[i], 1);
	if (workers_conn_count(s) > maxconn) {
		atomic_fetch_sub(&s->tally[i], 1);
		return false;
	}
	return true;
}

void
workers_conn_give(struct worker_share *s, int i)
{
	atomic_fetch_sub(&s->tally[i], 1);
}

unsigned long long
workers_conn_id(struct worker_share *s)
{
	return atomic_fetch_add(&s->next_id, 1) + 1;
}
