/* SPDX-License-Identifier: ISC */
/* daemon: the life of the running program. Signals arrive through a
 * self-pipe watched by the loop, so every reaction to them runs as an
 * ordinary loop callback.
 *
 * Start: logging, the pid file check, detaching (-d), listeners, the pid
 * file, then the privilege drop; with -d the parent process waits until
 * all of that has worked and exits with the child's verdict, so a daemon
 * that cannot start says so where it was started.
 *
 * SIGHUP reopens a log file and builds a new configuration beside the one
 * in force; only when it is valid and its listeners could all be opened
 * does it become the one in force. Connections keep the configuration
 * they started under (they hold a reference).
 *
 * SIGTERM/SIGINT: listeners close at once, relayed and undecided
 * connections end, programs get SIGTERM (or their terminal's hang-up);
 * what is still running after STOP_GRACE_MS is killed, and after as long
 * again the daemon exits regardless. A second signal exits at once.
 *
 * With `workers` above 1 the process that starts is the master: it binds
 * (listener_set), writes the pid file, drops privileges, then forks one
 * worker per slot and only supervises, waiting for signals with
 * sigwaitinfo() (it runs no loop). A worker is the daemon above on its
 * slot's sockets. The master's SIGHUP loads the configuration and updates
 * the sockets as a lone daemon does; when that works it starts a new
 * generation of workers with the new configuration and tells the old ones
 * to retire (SIGQUIT): they close their sockets and end with their last
 * connection, so connections in progress go on untouched. A worker that
 * dies is replaced, no sooner than RESTART_MIN_MS after the slot's last
 * start. SIGTERM/SIGINT go on to every worker, which stops as a lone
 * daemon does; the master then removes the pid file and exits, killing
 * what still runs after MASTER_STOP_MS. Workers are in a process group of
 * their own (a terminal's Ctrl-C reaches the master only, which passes it
 * on once) and get SIGTERM if the master vanishes. */
#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "exec.h"
#include "listener.h"
#include "log.h"
#include "privs.h"
#include "relay.h"
#include "workers.h"

#define PEEK_MAX 65536 /* the largest max_peek */
#define RELAY_BUF 65536
/* The splice path: each pipe asks for this capacity (the bigger, the
 * fewer system calls per gigabyte: measured on loopback, 1 MiB costs about
 * 0.25 s of CPU per GB where 64 KiB costs 0.5), and the loop keeps this
 * many empty ones for the next burst instead of making new ones. A pipe
 * holds bytes only while a destination is full, and the sockets around it
 * buffer megabytes already. */
#define RELAY_PIPE_SIZE (1024 * 1024)
#define RELAY_SPARE_PIPES 16
#define STOP_GRACE_MS 1000
/* A worker stops within 2 STOP_GRACE_MS; the master allows a second more. */
#define MASTER_STOP_MS (2 * STOP_GRACE_MS + 1000)
#define RESTART_MIN_MS 1000

/* One live worker process, in the master. */
struct worker {
	pid_t pid;
	unsigned slot; /* its sockets in the listener set */
	unsigned gen;  /* the configuration generation it runs */
	int tally;     /* its count in the shared memory */
	bool retired;  /* told to retire */
};

static void new_generation(struct daemon *d);

/* The write end of the self-pipe, for the signal handler. */
static int signal_fd = -1;

static void
on_signal(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;

	if (signal_fd < 0)
		return; /* the daemon is ending */
	if (write(signal_fd, &b, 1) < 0) {
		/* Full pipe: a signal is already pending. */
	}
	errno = saved;
}

/* Logs an error that ends the start-up; before -d has finished, also on
 * the standard error it was started from, when the log goes elsewhere. */
static void __attribute__((format(printf, 2, 3)))
fatal(const struct daemon *d, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LVL_ERROR, "%s", msg);
	if (!d->detached && log_destination() != LOG_TO_STDERR)
		fprintf(stderr, "portsplit: %s\n", msg);
}

static void
apply_log_level(const struct daemon *d, const struct config *cfg)
{
	int level = cfg->log_level + d->verbosity;

	log_set_level(level < LVL_ERROR   ? LVL_ERROR
	              : level > LVL_DEBUG ? LVL_DEBUG
	                                  : (enum log_level)level);
}

/* The log destination CFG asks for; with -d, standard error is
 * /dev/null, so `log = stderr` means syslog. */
static int
open_log(const struct daemon *d, const struct config *cfg)
{
	enum log_dest dest = cfg->log_dest;

	if (d->detach && dest == LOG_TO_STDERR)
		dest = LOG_TO_SYSLOG;
	return log_open(dest, cfg->log_path);
}

static bool
same_text(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* SIGHUP. */
static void
reload(struct daemon *d)
{
	struct config *cfg, *old = d->cfg;
	struct config_errors errs = {0};
	char err[512];

	if (log_reopen() < 0)
		log_msg(LVL_ERROR,
		        "reopening the log file: %s; going on with "
		        "the old one",
		        strerror(errno));
	log_msg(LVL_INFO, "SIGHUP: reloading %s", d->config_path);
	if (config_load(d->config_path, &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_msg(LVL_ERROR, "%s", errs.lines[i]);
		log_msg(LVL_ERROR,
		        "reload failed (%zu error%s): the running "
		        "configuration stays",
		        errs.n, errs.n == 1 ? "" : "s");
		config_errors_free(&errs);
		return;
	}
	if ((d->set != NULL ? listener_set_update(d->set, cfg, err, sizeof(err))
	                    : listener_update(d, cfg, err, sizeof(err))) < 0) {
		log_msg(LVL_ERROR,
		        "reload failed: %s; the running configuration stays",
		        err);
		config_unref(cfg);
		return;
	}
	/* What was applied once at start cannot change without a restart. */
	if (!same_text(cfg->user, old->user) ||
	    !same_text(cfg->group, old->group) ||
	    !same_text(cfg->chroot_dir, old->chroot_dir) ||
	    !same_text(cfg->pid_path, old->pid_path))
		log_msg(LVL_WARN, "reload: changes to user, group, chroot and "
		                  "pid take effect at the next start");
	if ((cfg->workers > 0 ? cfg->workers : workers_auto()) != d->nworkers)
		log_msg(LVL_WARN,
		        "reload: a new number of workers takes effect "
		        "at the next start; %u go on",
		        d->nworkers);
	if (cfg->log_dest != old->log_dest ||
	    !same_text(cfg->log_path, old->log_path)) {
		if (open_log(d, cfg) < 0)
			log_msg(LVL_ERROR,
			        "reload: log %s: %s; logging goes on "
			        "where it was",
			        cfg->log_path ? cfg->log_path : "",
			        strerror(errno));
	}
	apply_log_level(d, cfg);
	d->cfg = cfg;
	config_unref(old);
	log_msg(LVL_INFO, "reloaded: %zu services, %zu bind lines",
	        cfg->nservices, cfg->nbinds);
	if (d->set != NULL)
		new_generation(d);
}

static void
on_stop_grace(void *arg)
{
	struct daemon *d = arg;

	if (d->stop_killed) {
		log_msg(LVL_WARN,
		        "stopping: %u connections still open, "
		        "exiting anyway",
		        d->nconns);
		loop_stop(d->loop);
		return;
	}
	if (exec_table_count(d->children) > 0)
		log_msg(LVL_WARN,
		        "stopping: %zu programs still running after %d ms: "
		        "SIGKILL",
		        exec_table_count(d->children), STOP_GRACE_MS);
	exec_table_kill(d->children, SIGKILL);
	d->stop_killed = true;
	loop_timer_arm(d->stop_timer, STOP_GRACE_MS);
}

/* SIGTERM or SIGINT. */
static void
stop(struct daemon *d, int signo)
{
	const char *name = signo == SIGTERM ? "SIGTERM" : "SIGINT";

	if (d->stopping && !d->retiring) {
		log_msg(LVL_INFO, "%s again: exiting now", name);
		loop_stop(d->loop);
		return;
	}
	log_msg(LVL_INFO, "%s: stopping", name);
	d->stopping = true;
	d->retiring = false;
	listener_close_all(d);
	for (struct conn *c = d->conns, *next; c != NULL; c = next) {
		next = c->next;
		action_stop(c);
	}
	if (d->nconns == 0) {
		loop_stop(d->loop);
		return;
	}
	d->stop_timer = loop_timer_new(d->loop, on_stop_grace, d);
	if (d->stop_timer == NULL)
		loop_stop(d->loop);
	else
		loop_timer_arm(d->stop_timer, STOP_GRACE_MS);
}

/* SIGQUIT, in a worker: the master started a new generation. */
static void
retire(struct daemon *d)
{
	if (d->stopping)
		return;
	log_msg(LVL_INFO,
	        "retiring: a reload replaced this worker; it ends "
	        "with its last connection (%u open)",
	        d->nconns);
	if (log_reopen() < 0) {
		/* The lines go on to the old file. */
	}
	d->stopping = true;
	d->retiring = true;
	listener_close_all(d);
	if (d->nconns == 0)
		loop_stop(d->loop);
}

static void
on_signal_pipe(void *arg, int fd, unsigned events)
{
	struct daemon *d = arg;
	unsigned char sigs[64];
	ssize_t n;

	(void)events;
	while ((n = read(fd, sigs, sizeof(sigs))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			switch (sigs[i]) {
			case SIGCHLD:
				exec_table_reap(d->children);
				break;
			case SIGHUP:
				if (d->worker)
					log_msg(LVL_WARN,
					        "SIGHUP: a worker does "
					        "not reload; signal "
					        "the master, pid %ld",
					        (long)getppid());
				else if (!d->stopping)
					reload(d);
				break;
			case SIGQUIT:
				retire(d);
				break;
			default:
				stop(d, sigs[i]);
			}
		}
	}
}

static int
setup_signals(struct daemon *d)
{
	struct sigaction sa;

	if (pipe2(d->sigpipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	signal_fd = d->sigpipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Stopped children are no news; exited ones are reaped. */
	if (d->worker)
		sigaction(SIGQUIT, &sa, NULL);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigwatch =
	    loop_watch(d->loop, d->sigpipe[0], LOOP_IN, on_signal_pipe, d);
	return d->sigwatch == NULL ? -1 : 0;
}

/* Reads the pid in NAME (in folder DIR): > 0, 0 when there is no such
 * file, -1 with errno when it cannot be read, -2 when it holds no pid. */
static long
read_pid(int dir, const char *name)
{
	char buf[32], *end;
	ssize_t n;
	long pid;
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || pid <= 0)
		return -2;
	return pid;
}

/* True when process PID runs the same program as this one (its name, as
 * the kernel keeps it): a recycled pid is not a running portsplit. */
static bool
same_program(long pid)
{
	char path[64], theirs[64] = "", ours[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(theirs, sizeof(theirs), f) == NULL)
			theirs[0] = '\0';
		fclose(f);
	}
	if ((f = fopen("/proc/self/comm", "re")) != NULL) {
		if (fgets(ours, sizeof(ours), f) == NULL)
			ours[0] = '\0';
		fclose(f);
	}
	return theirs[0] != '\0' && strcmp(theirs, ours) == 0;
}

/* Before binding: a pid file naming a running portsplit stops the start;
 * any other pid file is stale and is removed. */
static int
pid_check(struct daemon *d)
{
	const char *path = d->cfg->pid_path;
	long pid = read_pid(AT_FDCWD, path);

	if (pid == 0)
		return 0;
	if (pid == -1) {
		fatal(d, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	if (pid > 0 && pid != getpid() &&
	    (kill((pid_t)pid, 0) == 0 || errno == EPERM) && same_program(pid)) {
		fatal(d,
		      "pid file %s: portsplit is already running as pid %ld "
		      "(stop it first, or remove the file if it is not)",
		      path, pid);
		return -1;
	}
	if (pid > 0)
		log_msg(LVL_INFO,
		        "pid file %s is stale (no portsplit runs as pid %ld): "
		        "removing it",
		        path, pid);
	else
		log_msg(LVL_INFO, "pid file %s holds no pid: removing it",
		        path);
	if (unlink(path) < 0 && errno != ENOENT) {
		fatal(d, "pid file %s: cannot remove it: %s", path,
		      strerror(errno));
		return -1;
	}
	return 0;
}

/* After binding. The folder stays open so that the file can be removed
 * at exit by name even after a chroot. */
static int
pid_write(struct daemon *d)
{
	const char *path = d->cfg->pid_path;
	char *dcopy = strdup(path), *bcopy = strdup(path), buf[32];
	int fd = -1, len, rc = -1;

	if (dcopy == NULL || bcopy == NULL)
		goto out;
	d->pid_dir = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d->pid_name = strdup(basename(bcopy));
	if (d->pid_dir < 0 || d->pid_name == NULL)
		goto out;
	fd = openat(d->pid_dir, d->pid_name,
	            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		unlinkat(d->pid_dir, d->pid_name, 0);
		goto out;
	}
	d->pid_written = true;
	rc = 0;
out:
	if (rc < 0)
		fatal(d, "pid file %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dcopy);
	free(bcopy);
	return rc;
}

/* At exit: removes the pid file if it is still ours. */
static void
pid_remove(struct daemon *d)
{
	if (d->pid_written &&
	    read_pid(d->pid_dir, d->pid_name) == (long)getpid() &&
	    unlinkat(d->pid_dir, d->pid_name, 0) < 0)
		log_msg(LVL_WARN,
		        "pid file %s: cannot remove it: %s (a stale pid file "
		        "does not block the next start)",
		        d->cfg->pid_path, strerror(errno));
	if (d->pid_dir >= 0)
		close(d->pid_dir);
	free(d->pid_name);
}

/* -d: forks. The parent waits for the child to say it runs and exits 0,
 * or 1 when the child exits first. Returns, in the child, the pipe to say
 * it on; -1 with errno when it cannot fork. */
static int
detach_start(struct daemon *d)
{
	int p[2];
	pid_t pid;

	d->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (d->devnull < 0 || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		char ok;
		ssize_t n;
		close(p[1]);
		do
			n = read(p[0], &ok, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0) {
		close(p[1]);
		return -1;
	}
	return p[1];
}

/* -d, once running: standard input, output and error to /dev/null (the
 * log is elsewhere), and the parent released. */
static void
detach_done(struct daemon *d)
{
	for (int fd = 0; fd < 3; fd++)
		dup2(d->devnull, fd);
	close(d->devnull);
	d->devnull = -1;
	if (write(d->ready_fd, "1", 1) < 0) {
		/* The parent is gone: nobody to tell. */
	}
	close(d->ready_fd);
	d->ready_fd = -1;
	d->detached = true;
}

/* At exit: the programs still running are killed and reaped, for a
 * bounded time, so that none is left behind as a zombie. */
static void
end_children(struct daemon *d)
{
	if (d->children == NULL || exec_table_count(d->children) == 0)
		return;
	exec_table_kill(d->children, SIGKILL);
	for (int i = 0; i < 100 && exec_table_count(d->children) > 0; i++) {
		exec_table_reap(d->children);
		if (exec_table_count(d->children) > 0)
			usleep(10000);
	}
}

/* At exit, in every kind of process: releases what the daemon holds. */
/* The loop is over: a signal that arrives now stays pending (the process
 * is ending anyway), so the handler never writes into a closed pipe's
 * number, which a later open may have reused. (A signal delivered during
 * LeakSanitizer's exit scan could also hang it.) */
static void
signals_off(void)
{
	static const int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT,
	                              SIGCHLD};
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&set, handled[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal_fd = -1;
}

static void
teardown(struct daemon *d)
{
	signals_off();
	pid_remove(d);
	listener_close_all(d);
	conn_end_all(d);
	end_children(d);
	exec_table_free(d->children);
	loop_timer_free(d->stop_timer);
	free(d->config_path);
	if (d->ready_fd >= 0)
		close(d->ready_fd);
	if (d->devnull >= 0)
		close(d->devnull);
	loop_unwatch(d->sigwatch);
	if (d->sigpipe[0] >= 0) {
		close(d->sigpipe[0]);
		close(d->sigpipe[1]);
	}
	loop_free(d->loop);
	free(d->peekbuf);
	free(d->relaybuf);
	relay_pool_free(d->relay_pool);
	sig_scratch_free(d->scratch);
	config_unref(d->cfg);
	listener_set_free(d->set);
	workers_share_free(d->share);
	free(d->workers);
	free(d->started_at);
	free(d->restart_at);
}

/* The implementation choices the environment makes, checked once at start
 * (before any worker exists): PORTSPLIT_LOOP names the loop backend (the
 * loop itself says which names it knows), PORTSPLIT_RELAY=copy turns the
 * splice path off. The tests run the suite under both. */
static int
check_env(struct daemon *d)
{
	const char *name = getenv("PORTSPLIT_LOOP");
	const char *relay = getenv("PORTSPLIT_RELAY");
	struct loop *probe = loop_new(name);

	if (probe == NULL && errno == EINVAL) {
		log_msg(LVL_ERROR, "PORTSPLIT_LOOP: '%s' is not epoll or poll",
		        name);
		return -1;
	}
	if (probe == NULL) {
		fatal(d, "event loop: %s", strerror(errno));
		return -1;
	}
	loop_free(probe);
	if (relay != NULL && strcmp(relay, "copy") != 0 &&
	    strcmp(relay, "splice") != 0) {
		log_msg(LVL_ERROR,
		        "PORTSPLIT_RELAY: '%s' is not splice or copy", relay);
		return -1;
	}
	d->relay_copy = relay != NULL && strcmp(relay, "copy") == 0;
	return 0;
}

/* What a process that runs the loop needs: the loop, the relay's pipes,
 * the scratch buffers, the program table, the signals. */
static int
prepare(struct daemon *d)
{
	d->loop = loop_new(getenv("PORTSPLIT_LOOP"));
	if (!d->relay_copy)
		d->relay_pool =
		    relay_pool_new(RELAY_SPARE_PIPES, RELAY_PIPE_SIZE);
	d->peeksize = PEEK_MAX;
	d->peekbuf = malloc(d->peeksize);
	d->relaysize = RELAY_BUF;
	d->relaybuf = malloc(d->relaysize);
	d->scratch = sig_scratch_new();
	if (d->loop != NULL)
		d->children = exec_table_new(d->loop);
	if (d->loop == NULL || (!d->relay_copy && d->relay_pool == NULL) ||
	    d->peekbuf == NULL || d->relaybuf == NULL || d->scratch == NULL ||
	    d->children == NULL) {
		fatal(d, "out of memory");
		return -1;
	}
	if (setup_signals(d) < 0) {
		fatal(d, "signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --- the master of several workers --- */

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
	*block = *wait;
	sigaddset(block, SIGQUIT);
}

/* Before the privilege drop: the shared count, the workers' table, and
 * every socket, bound once per worker slot. */
static int
master_prepare(struct daemon *d, char *err, size_t errlen)
{
	sigset_t wait, block;

	master_signals(&wait, &block);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->share = workers_share_new();
	if (d->share == NULL) {
		snprintf(err, errlen, "shared memory for %u workers: %s",
		         d->nworkers, strerror(errno));
		return -1;
	}
	d->workers = calloc(WORKERS_MAX, sizeof(*d->workers));
	d->started_at = calloc(d->nworkers, sizeof(*d->started_at));
	d->restart_at = calloc(d->nworkers, sizeof(*d->restart_at));
	if (d->workers == NULL || d->started_at == NULL ||
	    d->restart_at == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->set = listener_set_open(d->cfg, d->nworkers, err, errlen);
	return d->set == NULL ? -1 : 0;
}

/* In the child of fork(): the worker of SLOT, counting its connections in
 * TALLY. Returns its exit status. */
static int
worker_main(struct daemon *d, unsigned slot, int tally, pid_t master)
{
	struct listener_set *set = d->set;
	char err[512], tag[24];
	sigset_t none;
	int rc = 1;

	d->worker = true;
	d->tally = tally;
	d->set = NULL;
	d->pid_written = false; /* the master's to remove */
	free(d->workers);
	free(d->started_at);
	free(d->restart_at);
	d->workers = NULL;
	d->started_at = d->restart_at = NULL;
	d->nlive = 0;
	snprintf(tag, sizeof(tag), "%ld", (long)getpid());
	log_set_tag(tag);
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != master) {
		listener_set_free(set);
		goto out; /* the master is gone already */
	}
	if (prepare(d) < 0) {
		listener_set_free(set);
		goto out;
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (listener_adopt(d, set, slot, err, sizeof(err)) < 0) {
		log_msg(LVL_ERROR, "worker %u: %s", slot + 1, err);
		goto out;
	}
	log_msg(LVL_INFO, "worker %u of %u running (generation %u)", slot + 1,
	        d->nworkers, d->gen + 1);
	if (loop_run(d->loop) < 0)
		log_msg(LVL_ERROR, "event loop: %s", strerror(errno));
	else
		rc = 0;
out:
	teardown(d);
	return rc;
}

/* Starts the worker of SLOT for the current generation; when it cannot,
 * tries again RESTART_MIN_MS later. */
static void
spawn(struct daemon *d, unsigned slot, uint64_t now)
{
	int tally = workers_tally_take(d->share);
	pid_t pid, master = getpid();

	if (tally < 0) {
		log_limited(spawn, LVL_ERROR,
		            "cannot start worker %u: %d worker processes are "
		            "alive (retiring ones wait for their connections)",
		            slot + 1, WORKERS_MAX);
		d->restart_at[slot] = now + RESTART_MIN_MS;
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_limited(spawn, LVL_ERROR, "cannot start worker %u: %s",
		            slot + 1, strerror(errno));
		workers_tally_release(d->share, tally);
		d->restart_at[slot] = now + RESTART_MIN_MS;
		return;
	}
	if (pid == 0)
		_exit(worker_main(d, slot, tally, master));
	d->workers[d->nlive++] = (struct worker){
	    .pid = pid,
	    .slot = slot,
	    .gen = d->gen,
	    .tally = tally,
	};
	d->started_at[slot] = now;
	d->restart_at[slot] = 0;
}

/* After a reload: new workers on the new configuration, and the old ones
 * told to retire. */
static void
new_generation(struct daemon *d)
{
	uint64_t now = now_ms();
	size_t old = d->nlive, retiring = 0;

	d->gen++;
	for (unsigned s = 0; s < d->nworkers; s++)
		spawn(d, s, now);
	for (size_t i = 0; i < old; i++) {
		struct worker *w = &d->workers[i];
		if (w->gen != d->gen && !w->retired) {
			kill(w->pid, SIGQUIT);
			w->retired = true;
			retiring++;
		}
	}
	log_msg(LVL_INFO,
	        "reload: %u new workers; %zu old ones retire as "
	        "their connections end",
	        d->nworkers, retiring);
}

/* SIGCHLD: reaps the workers that ended and gives back their count; a
 * worker of the current generation is replaced, unless stopping. */
static void
reap(struct daemon *d, uint64_t now)
{
	pid_t pid;
	int status;
	char how[32];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		size_t i = 0;
		while (i < d->nlive && d->workers[i].pid != pid)
			i++;
		if (i == d->nlive)
			continue;
		struct worker w = d->workers[i];
		d->workers[i] = d->workers[--d->nlive];
		workers_tally_release(d->share, w.tally);
		exec_status_text(status, how, sizeof(how));
		if (w.gen != d->gen || d->stopping) {
			log_msg(LVL_INFO, "worker %u pid %ld ended (%s)",
			        w.slot + 1, (long)pid, how);
			continue;
		}
		uint64_t at = d->started_at[w.slot] + RESTART_MIN_MS;
		d->restart_at[w.slot] = at > now ? at : now;
		log_msg(LVL_ERROR,
		        "worker %u pid %ld ended (%s): starting another%s",
		        w.slot + 1, (long)pid, how,
		        at > now ? " in a moment" : "");
	}
}

/* SIGTERM or SIGINT to the master. */
static void
master_stop(struct daemon *d, int signo, uint64_t now)
{
	const char *name = signo == SIGTERM ? "SIGTERM" : "SIGINT";

	if (d->stopping) {
		/* Each worker takes a second signal as "exit now". */
		log_msg(LVL_INFO, "%s again: workers exit now", name);
		if (d->kill_at > now + STOP_GRACE_MS)
			d->kill_at = now + STOP_GRACE_MS;
	} else {
		log_msg(LVL_INFO, "%s: stopping %zu workers", name, d->nlive);
		d->stopping = true;
		d->kill_at = now + MASTER_STOP_MS;
		/* New connections are refused once the workers have closed
		 * their copies too. */
		listener_set_free(d->set);
		d->set = NULL;
	}
	for (size_t i = 0; i < d->nlive; i++)
		kill(d->workers[i].pid, SIGTERM);
}

/* Milliseconds until the master has something to do; -1: nothing. */
static long
next_due(const struct daemon *d, uint64_t now)
{
	uint64_t due = 0;

	if (d->stopping)
		due = d->kill_at;
	else
		for (unsigned s = 0; s < d->nworkers; s++)
			if (d->restart_at[s] != 0 &&
			    (due == 0 || d->restart_at[s] < due))
				due = d->restart_at[s];
	if (due == 0)
		return -1;
	return due > now ? (long)(due - now) : 0;
}

/* The master's life once everything is bound and dropped: start the
 * workers, then react to signals until the last worker has ended. */
static int
supervise(struct daemon *d)
{
	sigset_t wait, block;
	uint64_t now = now_ms();

	master_signals(&wait, &block);
	log_msg(LVL_INFO, "master pid %ld: starting %u workers", (long)getpid(),
	        d->nworkers);
	for (unsigned s = 0; s < d->nworkers; s++)
		spawn(d, s, now);
	for (;;) {
		long ms = next_due(d, now);
		int sig;

		if (d->stopping && d->nlive == 0)
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
			reap(d, now);
			break;
		case SIGHUP:
			if (!d->stopping)
				reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			master_stop(d, sig, now);
			break;
		}
		if (d->stopping && d->nlive > 0 && now >= d->kill_at) {
			if (d->stop_killed) {
				log_msg(LVL_WARN,
				        "stopping: %zu workers did "
				        "not end; exiting anyway",
				        d->nlive);
				return 0;
			}
			log_msg(LVL_WARN,
			        "stopping: %zu workers still running "
			        "after %d ms: SIGKILL",
			        d->nlive, MASTER_STOP_MS);
			for (size_t i = 0; i < d->nlive; i++)
				kill(d->workers[i].pid, SIGKILL);
			d->stop_killed = true;
			d->kill_at = now + STOP_GRACE_MS;
		} else if (!d->stopping) {
			for (unsigned s = 0; s < d->nworkers; s++)
				if (d->restart_at[s] != 0 &&
				    d->restart_at[s] <= now)
					spawn(d, s, now);
		}
	}
}

int
daemon_run(struct config *cfg, const struct daemon_opts *opts)
{
	struct daemon d = {
	    .cfg = cfg,
	    .sigpipe = {-1, -1},
	    .pid_dir = -1,
	    .ready_fd = -1,
	    .devnull = -1,
	    .verbosity = opts->verbosity,
	    .detach = opts->detach,
	};
	struct privs ids = {0};
	struct config_errors errs = {0};
	char err[512];
	int rc = 1;

	apply_log_level(&d, cfg);
	if (open_log(&d, cfg) < 0) {
		fprintf(stderr, "portsplit: log %s: %s\n", cfg->log_path,
		        strerror(errno));
		goto out;
	}
	/* Reloads read it again, after -d has moved to /. */
	d.config_path = realpath(cfg->path, NULL);
	if (d.config_path == NULL) {
		fatal(&d, "%s: %s", cfg->path, strerror(errno));
		goto out;
	}
	/* Looked up now: after a chroot the databases may be out of reach. */
	if (config_identity(cfg, &ids, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fatal(&d, "%s", errs.lines[i]);
		config_errors_free(&errs);
		goto out;
	}
	if (cfg->pid_path != NULL && pid_check(&d) < 0)
		goto out;
	if (d.detach && (d.ready_fd = detach_start(&d)) < 0) {
		fatal(&d, "cannot detach: %s", strerror(errno));
		goto out;
	}

	if (check_env(&d) < 0)
		goto out;
	d.nworkers = cfg->workers > 0 ? cfg->workers : workers_auto();
	if (d.nworkers > 1) {
		if (master_prepare(&d, err, sizeof(err)) < 0) {
			fatal(&d, "%s", err);
			goto out;
		}
	} else if (prepare(&d) < 0) {
		goto out;
	} else if (listener_open_all(&d, err, sizeof(err)) < 0) {
		fatal(&d, "%s", err);
		goto out;
	}
	if (cfg->pid_path != NULL && pid_write(&d) < 0)
		goto out;
	if (privs_drop(&ids, err, sizeof(err)) < 0) {
		fatal(&d, "%s", err);
		goto out;
	}
	if (privs_wanted(&ids))
		log_msg(LVL_INFO, "privileges dropped: uid %u gid %u%s%s",
		        (unsigned)getuid(), (unsigned)getgid(),
		        ids.chroot_dir ? ", chroot " : "",
		        ids.chroot_dir ? ids.chroot_dir : "");
	if (ids.chroot_dir != NULL && getuid() == 0)
		log_msg(LVL_WARN, "chroot without 'user =': a process running "
		                  "as root can leave a chroot");
	if (d.detach)
		detach_done(&d);
	log_msg(LVL_INFO, "portsplit %s running: %zu services, timeout %.3gs",
	        PORTSPLIT_VERSION, cfg->nservices, cfg->timeout_ms / 1000.0);
	if (d.nworkers > 1)
		rc = supervise(&d);
	else if (loop_run(d.loop) < 0)
		log_msg(LVL_ERROR, "event loop: %s", strerror(errno));
	else
		rc = 0;
out:
	teardown(&d);
	privs_clear(&ids);
	return rc;
}
