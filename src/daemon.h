/* SPDX-License-Identifier: ISC */
/* daemon: the life of one serving process — start-up (log, pid file,
 * detaching, listeners, the privilege drop), its engine and signals, the
 * configuration in force and its reloads, the stop, and the teardown.
 *
 * A lone process is a daemon that runs its own engine (daemon_run). With
 * several workers the supervisor (supervisor.h) sits above: it opens a
 * daemon, which binds a slot per worker, and runs each worker as a copy of
 * it made by fork() whose engine serves one slot.
 *
 * Ownership: daemon_new() returns a daemon owned by the caller until
 * daemon_free(). It owns the configuration in force (a reference; each
 * connection holds its own), the listener set, the engine, the pid file
 * and the signal pipe. */
#ifndef PORTSPLIT_DAEMON_H
#define PORTSPLIT_DAEMON_H

#include <stdbool.h>

#include "config.h"
#include "loader.h"

struct daemon;
struct worker_share;

/* After SIGTERM, how long programs may take to end before SIGKILL, and how
 * long after that the daemon waits before it exits regardless. */
#define DAEMON_STOP_GRACE_MS 1000

/* How the command line asks the daemon to run. */
struct daemon_opts {
	int verbosity; /* added to log_level: -v minus -q */
	bool detach;   /* -d: fork, setsid, chdir /, stdio to /dev/null */
	/* The configuration's warnings (NULL: none), shown on standard
	 * error already: logged too once the log is open elsewhere. */
	const struct config_errors *warnings;
};

/* Runs a lone daemon with CFG (takes the reference) until SIGTERM or
 * SIGINT. Returns the exit status: 0, or 1 when it could not start. With
 * -d only the detached process returns; the one started exits 0 once the
 * daemon runs, or 1. */
int daemon_run(struct config *cfg, const struct daemon_opts *opts);

/* The steps of daemon_run, for the supervisor. */

/* Start-up: the log, the pid file check, detaching, the environment. The
 * daemon will bind NSLOTS sockets per address. Takes CFG's reference.
 * NULL when it cannot start (said where the user sees it). */
struct daemon *daemon_new(struct config *cfg, const struct daemon_opts *opts,
                          unsigned nslots);
/* Logs an error that ends the start-up; before -d has finished, also on
 * the standard error it was started from. */
void daemon_fail(const struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Binds, writes the pid file, drops privileges and finishes detaching.
 * Returns 0, or -1 when the daemon cannot start (said). */
int daemon_open(struct daemon *d);
/* Makes the engine and the signal handlers of a process that serves:
 * SHARE and TALLY count its connections among workers (NULL and -1 for a
 * lone process). A WORKER also takes SIGQUIT (retire) and leaves reloads
 * to its supervisor. Returns 0, or -1 (said). */
int daemon_engine(struct daemon *d, struct worker_share *share, int tally,
                  bool worker);
/* Accepts on the sockets of SLOT and runs the loop until the daemon has
 * stopped. Returns the exit status. */
int daemon_serve(struct daemon *d, unsigned slot);
/* SIGHUP: starts loading the configuration again on a thread of its own
 * (loader.h), or, when a load is running, makes one more follow it. The
 * wake function (daemon_reload_wake) says when it is done. */
void daemon_reload(struct daemon *d);
/* After the wake: when the load is done, takes it, and when it is valid
 * and its listeners open, makes it the configuration in force. Returns 1
 * then, -1 when the old configuration stays (logged), 0 when no load was
 * done (none, still running, or the daemon is stopping). */
int daemon_reload_done(struct daemon *d);
/* How the load's thread wakes the thread that serves D: WAKE(ARG), called
 * on the load's thread, must not block. A process that serves (an engine)
 * has its own: a byte in its signal pipe. */
void daemon_reload_wake(struct daemon *d, load_wake_fn *wake, void *arg);
/* SIGTERM or SIGINT (SIGNO). The first one closes the listeners, logs
 * "NAME: stopping" followed by WHAT, and returns true; another one, once
 * stopping, logs "NAME again: " followed by AGAIN and returns false. */
bool daemon_stop_signal(struct daemon *d, int signo, const char *what,
                        const char *again);
/* SIGUSR1: reopens the log file (after rotation); nothing else changes. */
void daemon_reopen_log(void);
/* Master: no worker accepts on SLOT's sockets of the addresses added
 * after listener version SINCE (0: all) until the slot's next one starts:
 * they stop listening (listener_set_slot_stop()). */
void daemon_slot_stop(struct daemon *d, unsigned slot, unsigned since);
/* The version of D's listener set (listener_set_version()). */
unsigned daemon_listeners_version(const struct daemon *d);
/* The configuration in force (D's reference). */
const struct config *daemon_config(const struct daemon *d);
/* In a child of fork(): the pid file stays the parent's to remove. */
void daemon_forked(struct daemon *d);
/* Releases everything D holds (removing the pid file if it is its own) and
 * frees it; NULL is allowed. */
void daemon_free(struct daemon *d);

#endif
