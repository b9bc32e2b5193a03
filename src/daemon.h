/* SPDX-License-Identifier: ISC */
/* daemon: the run state of the program — the loop, the configuration in
 * force, the listeners, the connections, signals and the pid file. */
#ifndef PORTSPLIT_DAEMON_H
#define PORTSPLIT_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "sig.h"

struct listener;
struct listener_set;
struct conn;
struct relay_pool;
struct worker;
struct worker_share;

struct daemon {
	struct loop *loop;
	struct config *cfg;         /* the configuration in force (a ref) */
	struct listener *listeners; /* owned; a list */
	struct conn *conns;         /* every live connection; a list */
	unsigned nconns;
	uint64_t next_id;
	/* Scratch shared by every connection of the loop: the peek buffer
	 * (MSG_PEEK copies into it; nothing stays there between events),
	 * the relay's read buffer and the regex match space. */
	uint8_t *peekbuf;
	size_t peeksize;
	uint8_t *relaybuf;
	size_t relaysize;
	/* The splice path's spare pipes; NULL when PORTSPLIT_RELAY=copy
	 * makes every relay copy. */
	struct relay_pool *relay_pool;
	struct sig_scratch *scratch;
	struct loop_timer *resume; /* re-enables accepting after EMFILE */
	int sigpipe[2];
	struct loop_watch *sigwatch;
	struct exec_table *children; /* programs started by exec */
	/* SIGTERM: waiting for the last connections; STOP_TIMER kills the
	 * programs left, then gives up on them (STOP_KILLED). */
	bool stopping, stop_killed;
	struct loop_timer *stop_timer;
	char *config_path; /* absolute, for reloads */
	int verbosity;     /* -v minus -q */
	bool detach;       /* -d */
	bool detached;     /* standard error is /dev/null now */
	int ready_fd;      /* -d: tells the waiting parent it runs */
	int devnull;
	int pid_dir; /* the pid file's folder, open; -1 when none */
	char *pid_name;
	bool pid_written;
	/* PORTSPLIT_RELAY=copy: no splice path. */
	bool relay_copy;
	/* Worker processes (`workers`), when more than one: the master binds
	 * SET, starts a worker per slot and supervises them; each worker
	 * (WORKER) runs the loop on its slot's sockets. SHARE counts
	 * connections for maxconn across all of them; TALLY is a worker's
	 * own count in it. */
	unsigned nworkers;
	bool worker;
	/* A worker a reload replaced: it takes no more connections and ends
	 * with its last one (STOPPING is set too). */
	bool retiring;
	struct worker_share *share;
	int tally;
	struct listener_set *set;
	/* The master's: every live worker process (WORKERS_MAX room), the
	 * generation a reload makes, and per slot when it last started a
	 * worker and when it may start the next one (0: none due). */
	struct worker *workers;
	size_t nlive;
	unsigned gen;
	uint64_t *started_at, *restart_at;
	uint64_t kill_at; /* stopping: when what still runs is killed */
};

/* How the command line asks the daemon to run. */
struct daemon_opts {
	int verbosity; /* added to log_level: -v minus -q */
	bool detach;   /* -d: fork, setsid, chdir /, stdio to /dev/null */
};

/* Runs the daemon with CFG (takes the reference) until SIGTERM or SIGINT.
 * Returns the exit status: 0, or 1 when it could not start. With -d only
 * the detached process returns; the one started exits 0 once the daemon
 * runs, or 1. */
int daemon_run(struct config *cfg, const struct daemon_opts *opts);

#endif
