/* SPDX-License-Identifier: ISC */
/* exec: starting a service's program on a connection (`exec =`), logging
 * what it writes to standard error, and reaping it.
 *
 * Without a pty the client socket itself becomes the program's standard
 * input and output, in blocking mode, with the bytes the decision was made
 * on still unread in it; standard error is a pipe to the log. With a pty
 * the program gets the slave of a new pseudo-terminal as 0, 1 and 2, and
 * the caller relays the master. Either way the program runs in a session of
 * its own (setsid), with default signal handling, the UCSPI environment and
 * no other descriptor. */
#ifndef PORTSPLIT_EXEC_H
#define PORTSPLIT_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "loop.h"

/* Every started program of a daemon that has not been reaped yet. */
struct exec_table;
/* One started program. Owned by the table until it is reaped. */
struct exec;

/* Makes an empty table; NULL when out of memory. */
struct exec_table *exec_table_new(struct loop *loop);
/* Frees the table and what it still holds; the programs are not waited
 * for (init inherits them). NULL is allowed. */
void exec_table_free(struct exec_table *t);
/* Reaps every child that has exited, without blocking: call it on
 * SIGCHLD. Each reaped program's callback runs. */
void exec_table_reap(struct exec_table *t);
/* Programs started and not reaped yet. */
size_t exec_table_count(const struct exec_table *t);
/* Sends SIG to every program's process group. */
void exec_table_kill(struct exec_table *t, int sig);

/* Called once, when the program has been reaped, with its wait status.
 * The exec is gone by then. */
typedef void exec_done_fn(void *arg, int status);

struct exec_spec {
	char *const *argv; /* argv[0] is looked up on PATH without a '/' */
	char *const *env;  /* from exec_env_new() */
	int fd;            /* the client socket; stays the caller's */
	bool pty;
	/* For log lines: the connection and its service. LIMIT_KEY names
	 * the service for log_limited(). */
	uint64_t conn_id;
	const char *service;
	const void *limit_key;
};

/* Forks and executes SPEC->argv. Returns the exec, or NULL with errno
 * (nothing started). With SPEC->pty, *MASTER is the terminal's master
 * (non-blocking, close-on-exec, now the caller's). A program that cannot
 * be executed is logged, exits with status 127 and is reaped like any
 * other. */
struct exec *exec_start(struct exec_table *t, const struct exec_spec *spec,
                        int *master, exec_done_fn *fn, void *arg);
/* Sends SIG to the program's process group. */
void exec_kill(struct exec *e, int sig);
/* The caller is going away: no callback will run and nothing more is
 * logged for E; the table still reaps the program. */
void exec_detach(struct exec *e);
/* The program's process id. */
pid_t exec_pid(const struct exec *e);

/* Builds the program's environment: from BASE only PATH, HOME, USER,
 * LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TERM and TMPDIR (nothing of
 * systemd's LISTEN_*, NOTIFY_SOCKET, WATCHDOG_* or anything else), then
 * PROTO=TCP, TCPREMOTEIP,
 * TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT (from REMOTE and LOCAL) and
 * PORTSPLIT_SERVICE=SERVICE. Returns one allocation (free with
 * exec_env_free) whose strings borrow BASE's, or NULL when out of
 * memory. Pure. */
char **exec_env_new(char *const *base, const char *service,
                    const struct sockaddr *remote,
                    const struct sockaddr *local);
/* Frees what exec_env_new() returned; NULL is allowed. */
void exec_env_free(char **env);
/* Writes how a wait STATUS ended: "exit=N" or "signal=N". */
void exec_status_text(int status, char *buf, size_t len);

#endif
