/* SPDX-License-Identifier: ISC */
/* Unit tests for workers.c: the maxconn count shared by worker processes.
 * A worker process is killed (SIGKILL) at arbitrary points of its
 * take/give loop, as a crash would; once the master has released its
 * tally, the shared count must be exactly what the live ones hold. */
#define _GNU_SOURCE
#include "workers.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define ROUNDS 300
#define HELD 3

int
main(void)
{
	struct worker_share *s = workers_share_new(1024);
	int mine, drifted = 0, first_drift = -1;

	if (!ok(s != NULL, "the share is mapped"))
		return unit_done();
	mine = workers_tally_take(s);
	for (int i = 0; i < HELD; i++)
		workers_conn_take(s, mine, 10);
	ok(workers_conn_count(s) == HELD, "%d connections held: counted %u",
	   HELD, workers_conn_count(s));

	/* maxconn holds exactly. */
	int other = workers_tally_take(s), taken = 0;
	for (int i = 0; i < 10; i++)
		taken += workers_conn_take(s, other, HELD + 4);
	ok(taken == 4, "maxconn %d with %d held elsewhere: 4 more taken (%d)",
	   HELD + 4, HELD, taken);
	workers_tally_release(s, other);
	ok(workers_conn_count(s) == HELD,
	   "a released tally gives its connections back (%u)",
	   workers_conn_count(s));

	/* Workers killed in the middle of taking and giving. */
	srand(1);
	for (int r = 0; r < ROUNDS; r++) {
		int t = workers_tally_take(s);
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			for (;;)
				if (workers_conn_take(s, t, 1000000))
					workers_conn_give(s, t);
		}
		/* Let it run a varying while; the kill lands anywhere in
		 * its loop. */
		usleep((useconds_t)(rand() % 300));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		workers_tally_release(s, t);
		if (workers_conn_count(s) != HELD) {
			drifted++;
			if (first_drift < 0)
				first_drift = r;
		}
	}
	ok(drifted == 0,
	   "%d workers killed at random points: the count never drifted "
	   "(%d drifts, first in round %d)",
	   ROUNDS, drifted, first_drift);
	workers_tally_release(s, mine);
	ok(workers_conn_count(s) == 0, "all released: 0 counted (%u)",
	   workers_conn_count(s));
	workers_share_free(s);
	return unit_done();
}
