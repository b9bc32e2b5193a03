/* SPDX-License-Identifier: ISC */
/* supervisor: the master of several workers.
 *
 * With `workers` above 1 the process that starts is the master: it opens
 * the daemon with a socket per address and worker slot (listener.c), which
 * writes the pid file and drops privileges; then it forks one worker per
 * slot and only supervises, waiting for signals with sigwaitinfo() (it runs
 * no loop). A worker is the daemon on its slot's sockets. The master's
 * SIGHUP reloads the daemon's configuration and sockets as a lone daemon
 * does, the file read on a thread of its own that sends SIG_LOADED when
 * it is done (so that a slow file or `bind` lookup never delays reaping,
 * restarting or stopping workers); when that works it starts a new
 * generation of workers with the new configuration and tells the old ones to
 * retire (SIGQUIT): they close their sockets and end with their last
 * connection, so connections in progress go on untouched. A slot's old worker
 * retires only once the slot's new one runs: the master holds every slot's
 * socket, and a socket of a SO_REUSEPORT group that no process accepts on would
 * strand the connections the kernel gives it. Retiring workers are bounded:
 * after `reload_grace` seconds (when set) they are stopped as by SIGTERM, and
 * beyond RETIRING_GENERATIONS generations the oldest is stopped at once.
 * A worker that dies is replaced, no sooner than RESTART_MIN_MS after the
 * slot's last start; while its slot has no worker (that wait, or a fork
 * that fails), the slot's sockets stop listening (listener.c), so that the
 * other workers get its new connections. SIGUSR1 reopens the log file, here and
 * in every worker. SIGTERM/SIGINT go on to every worker, which stops as a lone
 * daemon does; the master then removes the pid file and exits, killing what
 * still runs after MASTER_STOP_MS. Workers are in a process group of their own
 * (a terminal's Ctrl-C reaches the master only, which passes it on once) and
 * get SIGTERM if the master vanishes. */
#define _GNU_SOURCE
#include "supervisor.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "log.h"
#include "loop.h"
#include "workers.h"

/* A worker stops within 2 grace periods; the master allows a second more. */
#define MASTER_STOP_MS (2 * DAEMON_STOP_GRACE_MS + 1000)
#define RESTART_MIN_MS 1000
/* The load of a reload is done (loader.h): its thread sends it to the
 * master's. */
#define SIG_LOADED SIGUSR2
/* The most generations retiring at once: a reload beyond it stops the
 * oldest, so that the processes alive stay within workers x (1 + this). */
#define RETIRING_GENERATIONS 4

/* One live worker process. */
struct worker {
	pid_t pid;
	unsigned slot; /* its sockets in the listener set */
	unsigned gen;  /* the configuration generation it runs */
	int tally;     /* its count in the shared memory */
	unsigned lver; /* the listener set's version at its fork */
	bool retired;  /* told to retire */
	bool stopped;  /* told to stop (SIGTERM) */
	/* Retired: when it is stopped (0: never). Stopped: when it is
	 * killed (0: done). */
	uint64_t due;
};

struct supervisor {
	struct daemon *d;
	unsigned nworkers;
	/* Counts connections for maxconn across all workers. */
	struct worker_share *share;
	/* Every live worker process (WORKERS_MAX room), the generation a
	 * reload makes, and per slot when it last started a worker and when
	 * it may start the next one (0: none due). */
	struct worker *workers;
	size_t nlive;
	unsigned gen;
	uint64_t *started_at, *restart_at;
	bool stopping, stop_killed;
	uint64_t kill_at; /* stopping: when what still runs is killed */
	pthread_t thread; /* the master's, which a load's thread wakes */
};

static uint64_t
now_ms(void)
{
	return loop_clock_us() / 1000;
}

/* The signals the master waits for; blocked from the start, so that none
 * is lost before it waits, and inherited blocked by each worker until it
 * has its handlers. SIGQUIT is only blocked: it means "retire" to a worker,
 * and nothing to the master. */
static void
master_signals(sigset_t *wait, sigset_t *block)
{
	sigemptyset(wait);
	sigaddset(wait, SIGTERM);
	sigaddset(wait, SIGINT);
	sigaddset(wait, SIGHUP);
	sigaddset(wait, SIGCHLD);
	sigaddset(wait, SIGUSR1);
	sigaddset(wait, SIG_LOADED);
	*block = *wait;
	sigaddset(block, SIGQUIT);
}

static void
tables_free(struct supervisor *s)
{
	free(s->workers);
	free(s->started_at);
	free(s->restart_at);
	s->workers = NULL;
	s->started_at = s->restart_at = NULL;
	s->nlive = 0;
}

/* In the child of fork(): the worker of SLOT, counting its connections in
 * TALLY. Returns its exit status. */
static int
worker_main(struct supervisor *s, unsigned slot, int tally, pid_t master)
{
	struct daemon *d = s->d;
	char tag[24];
	sigset_t none;
	int rc = 1;

	daemon_forked(d);
	tables_free(s);
	snprintf(tag, sizeof(tag), "%ld", (long)getpid());
	log_set_tag(tag);
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != master)
		goto out; /* the master is gone already */
	if (daemon_engine(d, s->share, tally, true) < 0)
		goto out;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	log_msg(LVL_INFO, "worker %u of %u running (generation %u)", slot + 1,
	        s->nworkers, s->gen + 1);
	rc = daemon_serve(d, slot);
out:
	daemon_free(d);
	workers_share_free(s->share);
	return rc;
}

/* SLOT's next worker does not start now: the slot's sockets that no live
 * worker accepts on stop listening until one does, so that no connection
 * waits in a backlog nobody accepts from. Retired and stopped workers have
 * closed theirs; a live one has the sockets of the addresses there were
 * when it was forked (a reload may have added some). */
static void
orphans_stop(struct supervisor *s, unsigned slot)
{
	bool served = false;
	unsigned since = 0;

	for (size_t i = 0; i < s->nlive; i++) {
		const struct worker *w = &s->workers[i];
		if (w->slot != slot || w->retired || w->stopped)
			continue;
		served = true;
		if (w->lver > since)
			since = w->lver;
	}
	daemon_slot_stop(s->d, slot, served ? since : 0);
}

/* SLOT's worker could not start: tried again RESTART_MIN_MS later. */
static void
spawn_failed(struct supervisor *s, unsigned slot, uint64_t now)
{
	s->restart_at[slot] = now + RESTART_MIN_MS;
	orphans_stop(s, slot);
}

/* Starts the worker of SLOT for the current generation and returns true;
 * when it cannot, returns false and tries again RESTART_MIN_MS later. */
static bool
spawn(struct supervisor *s, unsigned slot, uint64_t now)
{
	int tally = workers_tally_take(s->share);
	pid_t pid, master = getpid();

	if (tally < 0) {
		log_limited(spawn, LVL_ERROR,
		            "cannot start worker %u: %d worker processes are "
		            "alive (retiring ones wait for their connections)",
		            slot + 1, WORKERS_MAX);
		spawn_failed(s, slot, now);
		return false;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_limited(spawn, LVL_ERROR, "cannot start worker %u: %s",
		            slot + 1, strerror(errno));
		workers_tally_release(s->share, tally);
		spawn_failed(s, slot, now);
		return false;
	}
	if (pid == 0)
		_exit(worker_main(s, slot, tally, master));
	s->workers[s->nlive++] = (struct worker){
	    .pid = pid,
	    .slot = slot,
	    .gen = s->gen,
	    .tally = tally,
	    .lver = daemon_listeners_version(s->d),
	};
	s->started_at[slot] = now;
	s->restart_at[slot] = 0;
	return true;
}

/* Tells W to stop as on SIGTERM: it ends its connections now; it is
 * killed if it is still there MASTER_STOP_MS later. */
static void
stop_worker(struct worker *w, uint64_t now)
{
	kill(w->pid, SIGTERM);
	w->stopped = true;
	w->due = now + MASTER_STOP_MS;
}

/* SLOT has a worker of the current generation: the older ones of that
 * slot retire, and are stopped after reload_grace when it is set. Returns
 * how many were told. */
static size_t
retire_slot(struct supervisor *s, unsigned slot, uint64_t now)
{
	uint32_t grace = daemon_config(s->d)->reload_grace_ms;
	size_t n = 0;

	for (size_t i = 0; i < s->nlive; i++) {
		struct worker *w = &s->workers[i];
		if (w->slot != slot || w->gen == s->gen || w->retired)
			continue;
		kill(w->pid, SIGQUIT);
		w->retired = true;
		w->due = grace > 0 ? now + grace : 0;
		n++;
	}
	return n;
}

/* W is retiring and not stopped yet. */
static bool
retiring(const struct worker *w)
{
	return w->retired && !w->stopped;
}

/* Beyond RETIRING_GENERATIONS generations retiring, the oldest are
 * stopped. */
static void
bound_generations(struct supervisor *s, uint64_t now)
{
	for (;;) {
		unsigned oldest = s->gen;
		size_t ngens = 0;
		for (size_t i = 0; i < s->nlive; i++) {
			const struct worker *w = &s->workers[i];
			size_t j = 0;
			if (!retiring(w))
				continue;
			while (j < i && !(retiring(&s->workers[j]) &&
			                  s->workers[j].gen == w->gen))
				j++;
			ngens += j == i; /* the first of its generation */
			if (w->gen < oldest)
				oldest = w->gen;
		}
		if (ngens <= RETIRING_GENERATIONS)
			return;
		for (size_t i = 0; i < s->nlive; i++) {
			struct worker *w = &s->workers[i];
			if (!retiring(w) || w->gen != oldest)
				continue;
			log_msg(LVL_WARN,
			        "worker %u pid %ld of generation %u: more than "
			        "%d generations are retiring; stopping it",
			        w->slot + 1, (long)w->pid, w->gen + 1,
			        RETIRING_GENERATIONS);
			stop_worker(w, now);
		}
	}
}

/* The retiring workers whose reload_grace is over are stopped; the
 * stopped ones still there after MASTER_STOP_MS are killed. */
static void
tend_retired(struct supervisor *s, uint64_t now)
{
	for (size_t i = 0; i < s->nlive; i++) {
		struct worker *w = &s->workers[i];
		if (w->due == 0 || now < w->due)
			continue;
		if (!w->stopped) {
			log_msg(LVL_INFO,
			        "worker %u pid %ld: reload_grace is over; "
			        "stopping it",
			        w->slot + 1, (long)w->pid);
			stop_worker(w, now);
		} else {
			log_msg(LVL_WARN,
			        "worker %u pid %ld still running %d ms after "
			        "SIGTERM: SIGKILL",
			        w->slot + 1, (long)w->pid, MASTER_STOP_MS);
			kill(w->pid, SIGKILL);
			w->due = 0;
		}
	}
}

/* After a reload: new workers on the new configuration, and the old ones
 * told to retire. */
static void
new_generation(struct supervisor *s)
{
	uint64_t now = now_ms();
	size_t retiring = 0;
	unsigned started = 0;

	s->gen++;
	for (unsigned i = 0; i < s->nworkers; i++) {
		if (spawn(s, i, now)) {
			started++;
			retiring += retire_slot(s, i, now);
		}
	}
	log_msg(LVL_INFO,
	        "reload: %u new workers; %zu old ones retire as "
	        "their connections end",
	        started, retiring);
	if (started < s->nworkers)
		log_msg(LVL_WARN,
		        "reload: %u slots go on with their old worker until "
		        "a new one starts",
		        s->nworkers - started);
	bound_generations(s, now);
}

/* SIGCHLD: reaps the workers that ended and gives back their count; a
 * worker of the current generation is replaced, unless stopping. */
static void
reap(struct supervisor *s, uint64_t now)
{
	pid_t pid;
	int status;
	char how[32];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		size_t i = 0;
		while (i < s->nlive && s->workers[i].pid != pid)
			i++;
		if (i == s->nlive)
			continue;
		struct worker w = s->workers[i];
		s->workers[i] = s->workers[--s->nlive];
		workers_tally_release(s->share, w.tally);
		exec_status_text(status, how, sizeof(how));
		if (w.gen != s->gen || s->stopping) {
			log_msg(LVL_INFO, "worker %u pid %ld ended (%s)",
			        w.slot + 1, (long)pid, how);
			/* An old worker still serving its slot because the
			 * new one could not start. */
			if (!s->stopping && s->restart_at[w.slot] != 0)
				orphans_stop(s, w.slot);
			continue;
		}
		uint64_t at = s->started_at[w.slot] + RESTART_MIN_MS;
		s->restart_at[w.slot] = at > now ? at : now;
		log_msg(LVL_ERROR,
		        "worker %u pid %ld ended (%s): starting another%s",
		        w.slot + 1, (long)pid, how,
		        at > now ? " in a moment" : "");
		/* Started at once (below), the next worker takes the backlog
		 * as it is; until a later start, the other slots take the new
		 * connections. */
		if (at > now)
			orphans_stop(s, w.slot);
	}
}

/* SIGTERM or SIGINT to the master: passed on to every worker, which takes
 * a second one as "exit now". */
static void
master_stop(struct supervisor *s, int signo, uint64_t now)
{
	char what[48];

	snprintf(what, sizeof(what), " %zu workers", s->nlive);
	if (daemon_stop_signal(s->d, signo, what, "workers exit now")) {
		s->stopping = true;
		s->kill_at = now + MASTER_STOP_MS;
	} else if (s->kill_at > now + DAEMON_STOP_GRACE_MS) {
		s->kill_at = now + DAEMON_STOP_GRACE_MS;
	}
	for (size_t i = 0; i < s->nlive; i++)
		kill(s->workers[i].pid, SIGTERM);
}

/* Milliseconds until the master has something to do; -1: nothing. */
static long
next_due(const struct supervisor *s, uint64_t now)
{
	uint64_t due = 0;

	if (s->stopping)
		due = s->kill_at;
	else
		for (unsigned i = 0; i < s->nworkers; i++)
			if (s->restart_at[i] != 0 &&
			    (due == 0 || s->restart_at[i] < due))
				due = s->restart_at[i];
	for (size_t i = 0; !s->stopping && i < s->nlive; i++)
		if (s->workers[i].due != 0 &&
		    (due == 0 || s->workers[i].due < due))
			due = s->workers[i].due;
	if (due == 0)
		return -1;
	return due > now ? (long)(due - now) : 0;
}

/* On the load's thread: the master waits for signals, so a signal wakes
 * it. */
static void
wake_master(void *arg)
{
	struct supervisor *s = arg;

	pthread_kill(s->thread, SIG_LOADED);
}

/* The master's life once everything is bound and dropped: start the
 * workers, then react to signals until the last worker has ended. */
static int
supervise(struct supervisor *s)
{
	sigset_t wait, block;
	uint64_t now = now_ms();

	master_signals(&wait, &block);
	log_msg(LVL_INFO, "master pid %ld: starting %u workers", (long)getpid(),
	        s->nworkers);
	for (unsigned i = 0; i < s->nworkers; i++)
		spawn(s, i, now);
	for (;;) {
		long ms = next_due(s, now);
		int sig;

		if (s->stopping && s->nlive == 0)
			return 0;
		if (ms < 0) {
			sig = sigwaitinfo(&wait, NULL);
		} else {
			struct timespec ts = {.tv_sec = ms / 1000,
			                      .tv_nsec = ms % 1000 * 1000000};
			sig = sigtimedwait(&wait, NULL, &ts);
		}
		now = now_ms();
		switch (sig) {
		case SIGCHLD:
			reap(s, now);
			break;
		case SIGHUP:
			if (!s->stopping)
				daemon_reload(s->d);
			break;
		case SIG_LOADED:
			if (!s->stopping && daemon_reload_done(s->d) > 0)
				new_generation(s);
			break;
		case SIGTERM:
		case SIGINT:
			master_stop(s, sig, now);
			break;
		case SIGUSR1:
			daemon_reopen_log();
			for (size_t i = 0; i < s->nlive; i++)
				kill(s->workers[i].pid, SIGUSR1);
			break;
		}
		if (s->stopping && s->nlive > 0 && now >= s->kill_at) {
			if (s->stop_killed) {
				log_msg(LVL_WARN,
				        "stopping: %zu workers did "
				        "not end; exiting anyway",
				        s->nlive);
				return 0;
			}
			log_msg(LVL_WARN,
			        "stopping: %zu workers still running "
			        "after %d ms: SIGKILL",
			        s->nlive, MASTER_STOP_MS);
			for (size_t i = 0; i < s->nlive; i++)
				kill(s->workers[i].pid, SIGKILL);
			s->stop_killed = true;
			s->kill_at = now + DAEMON_STOP_GRACE_MS;
		} else if (!s->stopping) {
			for (unsigned i = 0; i < s->nworkers; i++)
				if (s->restart_at[i] != 0 &&
				    s->restart_at[i] <= now && spawn(s, i, now))
					retire_slot(s, i, now);
			tend_retired(s, now);
		}
	}
}

int
supervisor_run(struct config *cfg, const struct daemon_opts *opts,
               unsigned nworkers)
{
	struct supervisor s = {.nworkers = nworkers};
	sigset_t wait, block;
	int rc = 1;

	s.d = daemon_new(cfg, opts, nworkers);
	if (s.d == NULL)
		return 1;
	master_signals(&wait, &block);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.share = workers_share_new(cfg->maxconn);
	if (s.share == NULL) {
		daemon_fail(s.d, "shared memory for %u workers: %s", nworkers,
		            strerror(errno));
		goto out;
	}
	s.workers = calloc(WORKERS_MAX, sizeof(*s.workers));
	s.started_at = calloc(nworkers, sizeof(*s.started_at));
	s.restart_at = calloc(nworkers, sizeof(*s.restart_at));
	if (s.workers == NULL || s.started_at == NULL || s.restart_at == NULL) {
		daemon_fail(s.d, "out of memory");
		goto out;
	}
	s.thread = pthread_self();
	daemon_reload_wake(s.d, wake_master, &s);
	if (daemon_open(s.d) == 0)
		rc = supervise(&s);
out:
	daemon_free(s.d);
	workers_share_free(s.share);
	tables_free(&s);
	return rc;
}
