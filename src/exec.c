/* SPDX-License-Identifier: ISC */
/* exec: fork, exec, standard error to the log, reaping.
 *
 * A program's life: exec_start() forks; the child sets itself up and
 * executes the program, or writes its errno to the status pipe and exits
 * 127. The parent watches the status pipe (closed by a successful exec, as
 * it is close-on-exec) to log a program that could not start, and the
 * stderr pipe to log each line. SIGCHLD reaches the daemon's loop through
 * its self-pipe; exec_table_reap() then collects every exited child,
 * drains both pipes so every line is logged before the close line, and
 * reports the wait status.
 *
 * Signals are blocked around fork(), so that a signal cannot run the
 * daemon's handler in the child (it would write to the daemon's
 * self-pipe); the child resets every disposition before unblocking. */
#define _GNU_SOURCE
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "bytes.h"
#include "log.h"
#include "pty.h"

/* A line of standard error longer than this is logged in pieces. */
#define STDERR_LINE 1024
/* Reads per stderr event, so one chatty program cannot hold the loop. */
#define STDERR_READS 4
/* Lines per second and program; the rest are counted, not logged, so a
 * program (or a client making it talk) cannot fill the disk. */
#define STDERR_RATE 50

struct exec {
	struct exec_table *t;
	struct exec *prev, *next;
	pid_t pid;
	uint64_t conn_id;
	char *service;
	char *program;
	const void *limit_key;
	int status_fd; /* -1 once read */
	struct loop_watch *status_w;
	int err_fd; /* -1 once at EOF, or with a pty */
	struct loop_watch *err_w;
	char line[STDERR_LINE];
	size_t len;
	uint64_t window; /* the second the rate counts are for */
	unsigned lines;
	unsigned long held;
	exec_done_fn *fn;
	void *arg;
};

struct exec_table {
	struct loop *loop;
	struct exec *list;
	size_t n;
};

struct exec_table *
exec_table_new(struct loop *loop)
{
	struct exec_table *t = calloc(1, sizeof(*t));

	if (t != NULL)
		t->loop = loop;
	return t;
}

static void close_status(struct exec *e);
static void close_stderr(struct exec *e);

static void
unlink_exec(struct exec *e)
{
	struct exec_table *t = e->t;

	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		t->list = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	t->n--;
}

static void
free_exec(struct exec *e)
{
	close_status(e);
	close_stderr(e);
	free(e->service);
	free(e->program);
	free(e);
}

void
exec_table_free(struct exec_table *t)
{
	if (t == NULL)
		return;
	while (t->list != NULL) {
		struct exec *e = t->list;
		unlink_exec(e);
		free_exec(e);
	}
	free(t);
}

size_t
exec_table_count(const struct exec_table *t)
{
	return t->n;
}

void
exec_kill(struct exec *e, int sig)
{
	/* Its own process group since setsid(); until the child has called
	 * it, the group does not exist yet. */
	if (kill(-e->pid, sig) < 0 && errno == ESRCH)
		kill(e->pid, sig);
}

void
exec_table_kill(struct exec_table *t, int sig)
{
	for (struct exec *e = t->list; e != NULL; e = e->next)
		exec_kill(e, sig);
}

pid_t
exec_pid(const struct exec *e)
{
	return e->pid;
}

void
exec_status_text(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "signal=%d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit=%d", WEXITSTATUS(status));
}

/* --- the status pipe --- */

static void
close_status(struct exec *e)
{
	loop_unwatch(e->status_w);
	e->status_w = NULL;
	if (e->status_fd >= 0)
		close(e->status_fd);
	e->status_fd = -1;
}

/* Reads what the child said: its errno when the exec failed, nothing (end
 * of file) when it succeeded. */
static void
read_status(struct exec *e)
{
	int err;
	ssize_t n;

	do
		n = read(e->status_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return; /* not executed yet */
	if (n == (ssize_t)sizeof(err))
		log_limited(e->limit_key, LVL_WARN,
		            "exec failed conn=%llu service=%s pid=%ld "
		            "program=%s error=\"%s\"",
		            (unsigned long long)e->conn_id, e->service,
		            (long)e->pid, e->program, strerror(err));
	else if (n == 0)
		log_msg(LVL_DEBUG,
		        "exec conn=%llu service=%s pid=%ld program=%s",
		        (unsigned long long)e->conn_id, e->service,
		        (long)e->pid, e->program);
	close_status(e);
}

static void
on_status(void *arg, int fd, unsigned events)
{
	(void)fd;
	(void)events;
	read_status(arg);
}

/* --- standard error --- */

static void
report_held(struct exec *e)
{
	if (e->held > 0)
		log_msg(LVL_WARN,
		        "stderr conn=%llu service=%s pid=%ld: %lu lines held "
		        "back (more than %d a second)",
		        (unsigned long long)e->conn_id, e->service,
		        (long)e->pid, e->held, STDERR_RATE);
	e->held = 0;
}

static void
emit_line(struct exec *e, const char *text, size_t len)
{
	char esc[STDERR_LINE * 4 + 4];
	uint64_t now = loop_now_ms(e->t->loop) / 1000;

	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (now != e->window) {
		report_held(e);
		e->window = now;
		e->lines = 0;
	}
	if (e->lines++ >= STDERR_RATE) {
		e->held++;
		return;
	}
	bytes_escape((const uint8_t *)text, len, esc, sizeof(esc));
	log_msg(LVL_INFO, "stderr conn=%llu service=%s pid=%ld \"%s\"",
	        (unsigned long long)e->conn_id, e->service, (long)e->pid, esc);
}

static void
close_stderr(struct exec *e)
{
	loop_unwatch(e->err_w);
	e->err_w = NULL;
	if (e->err_fd >= 0)
		close(e->err_fd);
	e->err_fd = -1;
}

/* Reads up to MAX times; logs every complete line, and the rest at end of
 * file. */
static void
read_stderr(struct exec *e, int max)
{
	for (int k = 0; k < max && e->err_fd >= 0; k++) {
		ssize_t n =
		    read(e->err_fd, e->line + e->len, sizeof(e->line) - e->len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (e->len > 0)
				emit_line(e, e->line, e->len);
			e->len = 0;
			report_held(e);
			close_stderr(e);
			return;
		}
		e->len += (size_t)n;
		char *start = e->line, *nl;
		while ((nl = memchr(start, '\n',
		                    e->len - (size_t)(start - e->line))) !=
		       NULL) {
			emit_line(e, start, (size_t)(nl - start));
			start = nl + 1;
		}
		e->len -= (size_t)(start - e->line);
		memmove(e->line, start, e->len);
		if (e->len == sizeof(e->line)) {
			emit_line(e, e->line, e->len);
			e->len = 0;
		}
	}
}

static void
on_stderr(void *arg, int fd, unsigned events)
{
	(void)fd;
	(void)events;
	read_stderr(arg, STDERR_READS);
}

/* --- the child --- */

static void __attribute__((noreturn))
child(const struct exec_spec *s, int io, int err, int status)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int e;

	/* Ignored signals stay ignored across exec (SIGPIPE is): back to the
	 * defaults a program expects. */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	setsid();
	if (s->pty) {
		if (pty_make_controlling(io) < 0)
			goto fail;
	} else if (fcntl(io, F_SETFL, fcntl(io, F_GETFL) & ~O_NONBLOCK) < 0) {
		goto fail;
	}
	/* Moved above 2 first, so that placing one cannot close another. */
	io = fcntl(io, F_DUPFD_CLOEXEC, 3);
	err = fcntl(err, F_DUPFD_CLOEXEC, 3);
	if (io < 0 || err < 0 || dup2(io, 0) < 0 || dup2(io, 1) < 0 ||
	    dup2(err, 2) < 0)
		goto fail;
	/* Everything is close-on-exec from birth; this makes sure of it for
	 * any descriptor a library may have opened otherwise. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(s->argv[0], s->argv, s->env);
fail:
	e = errno;
	if (write(status, &e, sizeof(e)) < 0) {
		/* The parent will see exit status 127 alone. */
	}
	_exit(127);
}

struct exec *
exec_start(struct exec_table *t, const struct exec_spec *spec, int *master,
           exec_done_fn *fn, void *arg)
{
	struct exec *e = calloc(1, sizeof(*e));
	int status[2] = {-1, -1}, err[2] = {-1, -1};
	int m = -1, slave = -1, saved;
	sigset_t all, old;
	pid_t pid;

	if (e == NULL)
		return NULL;
	e->t = t;
	e->status_fd = e->err_fd = -1;
	e->conn_id = spec->conn_id;
	e->limit_key = spec->limit_key;
	e->fn = fn;
	e->arg = arg;
	e->service = strdup(spec->service);
	e->program = strdup(spec->argv[0]);
	if (e->service == NULL || e->program == NULL)
		goto fail;
	if (pipe2(status, O_CLOEXEC) < 0)
		goto fail;
	if (spec->pty ? pty_open(&m, &slave) < 0 : pipe2(err, O_CLOEXEC) < 0)
		goto fail;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		child(spec, spec->pty ? slave : spec->fd,
		      spec->pty ? slave : err[1], status[1]);
	saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		errno = saved;
		goto fail;
	}
	e->pid = pid;
	close(status[1]);
	status[1] = -1;
	if (spec->pty) {
		close(slave);
		slave = -1;
	} else {
		close(err[1]);
		err[1] = -1;
		e->err_fd = err[0];
		fcntl(e->err_fd, F_SETFL, O_NONBLOCK);
		e->err_w =
		    loop_watch(t->loop, e->err_fd, LOOP_IN, on_stderr, e);
	}
	e->status_fd = status[0];
	fcntl(e->status_fd, F_SETFL, O_NONBLOCK);
	e->status_w = loop_watch(t->loop, e->status_fd, LOOP_IN, on_status, e);
	/* Without a watch (out of memory) the pipes are still drained when
	 * the child is reaped. */
	e->next = t->list;
	if (t->list != NULL)
		t->list->prev = e;
	t->list = e;
	t->n++;
	if (spec->pty)
		*master = m;
	return e;
fail:
	saved = errno;
	for (int i = 0; i < 2; i++) {
		if (status[i] >= 0)
			close(status[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (m >= 0)
		close(m);
	if (slave >= 0)
		close(slave);
	free(e->service);
	free(e->program);
	free(e);
	errno = saved;
	return NULL;
}

void
exec_detach(struct exec *e)
{
	e->fn = NULL;
	close_status(e);
	close_stderr(e);
}

void
exec_table_reap(struct exec_table *t)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct exec *e = t->list;
		while (e != NULL && e->pid != pid)
			e = e->next;
		if (e == NULL)
			continue;
		if (e->status_fd >= 0)
			read_status(e);
		/* The pipe holds at most what the child wrote before it
		 * exited (a descendant may keep writing: it is cut off). */
		if (e->err_fd >= 0)
			read_stderr(e, 64);
		if (e->len > 0)
			emit_line(e, e->line, e->len);
		e->len = 0;
		report_held(e);
		unlink_exec(e);
		exec_done_fn *fn = e->fn;
		void *arg = e->arg;
		free_exec(e);
		if (fn != NULL)
			fn(arg, st);
	}
}

/* --- the environment --- */

/* What a program inherits from the daemon's environment: what a shell and
 * the C library need to find programs, files, the user's language and the
 * time zone, and TERM for a pty. Everything else stays behind: the
 * descriptors and sockets that systemd handed to portsplit (LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES, NOTIFY_SOCKET, WATCHDOG_*), its credentials
 * and journal stream, and whatever the operator's shell happened to hold
 * (an agent socket, LD_PRELOAD): none of it is meant for a program started
 * on a client's behalf. */
static bool
inherited(const char *entry)
{
	static const char *const names[] = {
	    "PATH=", "HOME=",     "USER=", "LOGNAME=", "SHELL=",
	    "LANG=", "LANGUAGE=", "TZ=",   "TERM=",    "TMPDIR=",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return true;
	return strncmp(entry, "LC_", 3) == 0 && strchr(entry, '=') != NULL;
}

/* Appends one "NAME=value" to ENV (at *K) from the text block at *TEXT. */
static void __attribute__((format(printf, 5, 6)))
env_add(char **env, size_t *k, char **text, size_t *left, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*text, *left, fmt, ap);
	va_end(ap);
	env[(*k)++] = *text;
	*text += n + 1;
	*left -= (size_t)n + 1;
}

char **
exec_env_new(char *const *base, const char *service,
             const struct sockaddr *remote, const struct sockaddr *local)
{
	enum { OURS = 6 };
	char rhost[INET6_ADDRSTRLEN], lhost[INET6_ADDRSTRLEN];
	unsigned rport, lport;
	size_t n = 0, k = 0, left;
	char **env, *text;

	addr_host_port(remote, rhost, sizeof(rhost), &rport);
	addr_host_port(local, lhost, sizeof(lhost), &lport);
	while (base != NULL && base[n] != NULL)
		n++;
	/* Our strings live in the same block, after the pointers; this is
	 * room for all six with the longest addresses and ports. */
	left = 2 * INET6_ADDRSTRLEN + strlen(service) + 128;
	env = malloc((n + OURS + 1) * sizeof(char *) + left);
	if (env == NULL)
		return NULL;
	text = (char *)(env + n + OURS + 1);
	for (size_t i = 0; i < n; i++)
		if (inherited(base[i]))
			env[k++] = base[i];
	env_add(env, &k, &text, &left, "PROTO=TCP");
	env_add(env, &k, &text, &left, "TCPREMOTEIP=%s", rhost);
	env_add(env, &k, &text, &left, "TCPREMOTEPORT=%u", rport);
	env_add(env, &k, &text, &left, "TCPLOCALIP=%s", lhost);
	env_add(env, &k, &text, &left, "TCPLOCALPORT=%u", lport);
	env_add(env, &k, &text, &left, "PORTSPLIT_SERVICE=%s", service);
	env[k] = NULL;
	return env;
}

void
exec_env_free(char **env)
{
	free(env);
}
