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
 * in force, on a thread of its own (loader.h: reading files and looking up
 * `bind` names may block, the loop must not); a byte in the self-pipe says
 * when it is done, and only when it is valid and its listeners could all
 * be opened does it become the one in force. A SIGHUP during a load makes
 * one more load follow it. Connections keep the configuration
 * they started under (they hold a reference).
 *
 * SIGTERM/SIGINT: listeners close at once, relayed and undecided
 * connections end, programs get SIGTERM (or their terminal's hang-up);
 * what is still running after DAEMON_STOP_GRACE_MS is killed, and after as long
 * again the daemon exits regardless. A second signal exits at once.
 *
 * With `workers` above 1 the supervisor (supervisor.c) drives the same
 * steps: it opens a daemon that binds a socket per address and worker
 * slot, and each worker is a copy of that daemon, made by fork(), that
 * serves its slot's sockets. A worker takes SIGQUIT as "retire": it closes
 * its sockets and ends with its last connection.
 *
 * Under systemd: the listening sockets it passes (LISTEN_FDS) are
 * collected at start, before -d forks (they are meant for the pid that
 * systemd started), and the listener set takes them for their `bind =`
 * lines; the notification socket (NOTIFY_SOCKET) is connected at start,
 * before any chroot, and hears READY=1 once the daemon serves, RELOADING=1
 * then READY=1 around every reload, and STOPPING=1. Only the process that
 * systemd started speaks to it: a worker closes its copy. */
#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "conn.h"
#include "engine.h"
#include "exec.h"
#include "listener.h"
#include "loader.h"
#include "log.h"
#include "nofile.h"
#include "pidfile.h"
#include "privs.h"
#include "replay.h"
#include "sdnotify.h"
#include "sockact.h"
#include "workers.h"

struct daemon {
	struct config *cfg;       /* the configuration in force (a ref) */
	struct engine *engine;    /* NULL in a process that does not serve */
	struct listener_set *set; /* NULL once stopping */
	unsigned nslots;          /* sockets per address: 1, or a worker's */
	int sigpipe[2];
	struct loop_watch *sigwatch;
	bool worker; /* one of several: takes SIGQUIT, does not reload */
	/* SIGTERM: waiting for the last connections; STOP_TIMER kills the
	 * programs left, then gives up on them (STOP_KILLED). A worker a
	 * reload replaced is RETIRING (and STOPPING): it takes no more
	 * connections and ends with its last one. */
	bool stopping, retiring, stop_killed;
	struct loop_timer *stop_timer;
	char *config_path; /* absolute, for reloads */
	int verbosity;     /* -v minus -q */
	bool detach;       /* -d */
	bool detached;     /* standard error is /dev/null now */
	int ready_fd;      /* -d: tells the waiting parent it runs */
	int devnull;
	struct pidfile *pid;
	struct privs ids;
	/* The first messages that services with replay_window matched: made
	 * with the first configuration that needs it, before any fork, kept
	 * (with its size) until exit. NULL while none needs it. */
	struct replay *replay;
	bool relay_copy;       /* PORTSPLIT_RELAY=copy: no splice path */
	bool relay_splice;     /* PORTSPLIT_RELAY=splice: splice at once */
	struct sockact passed; /* listening sockets systemd passed */
	int notify_fd;         /* NOTIFY_SOCKET, connected; or -1 */
	/* SIGHUP: the configuration being loaded on its own thread (NULL:
	 * none), whether another SIGHUP came meanwhile (one more load
	 * follows), and how the thread wakes the one that serves. */
	struct load *loading;
	bool reload_again;
	load_wake_fn *wake;
	void *wake_arg;
};

/* The byte the self-pipe carries when a load is done (signal numbers
 * start at 1). */
#define LOADED_BYTE 0

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

void
daemon_fail(const struct daemon *d, const char *fmt, ...)
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

/* Warns when CFG's maxconn cannot fit in the descriptor limit: past it
 * accepts fail with EMFILE (and are paused), long before maxconn. */
static void
check_nofile(const struct daemon *d, const struct config *cfg)
{
	unsigned long limit = nofile_limit(), per, need, fits;

	per = d->relay_copy ? NOFILE_PER_CONN_COPY : NOFILE_PER_CONN_SPLICE;
	need = nofile_needed(cfg->maxconn, cfg->nbinds, !d->relay_copy);
	if (need <= limit)
		return;
	fits = limit > need - (unsigned long)cfg->maxconn * per
	           ? (limit - (need - (unsigned long)cfg->maxconn * per)) / per
	           : 0;
	log_msg(LVL_WARN,
	        "maxconn %u needs up to %lu descriptors per process (%lu per "
	        "connection, %d more and one per listener) but the limit is "
	        "%lu: about %lu connections fit; raise the limit "
	        "(LimitNOFILE= in the unit, ulimit -n) or lower maxconn",
	        cfg->maxconn, need, per, NOFILE_RESERVE, limit, fits);
}

/* Makes the replay set when CFG is the first configuration that needs
 * one; the engine, when this process has one, borrows it. */
static void
replay_prepare(struct daemon *d, const struct config *cfg)
{
	size_t slots;

	if (d->replay == NULL && cfg->replay_window_max_ms > 0) {
		slots = replay_slots(cfg->maxconn,
		                     (cfg->replay_window_max_ms + 999) / 1000);
		d->replay = replay_new(slots);
		if (d->replay == NULL)
			log_msg(
			    LVL_ERROR,
			    "replay_window: no memory for %zu entries (%s): "
			    "replays are not recognised",
			    slots, strerror(errno));
		else
			log_msg(LVL_INFO, "replay set: %zu entries, %zu KiB",
			        slots, replay_bytes(d->replay) / 1024);
	}
	if (d->engine != NULL)
		d->engine->replay = d->replay;
}

/* Tells systemd (when it listens) that D serves, and what. */
static void
notify_ready(struct daemon *d, const char *how)
{
	char text[256];

	snprintf(text, sizeof(text),
	         "READY=1\nSTATUS=%s: %zu services on %zu bind lines", how,
	         d->cfg->nservices, d->cfg->nbinds);
	if (sdnotify_send(d->notify_fd, text) < 0)
		log_limited(notify_ready, LVL_WARN, "NOTIFY_SOCKET: %s",
		            strerror(errno));
}

static void reload_start(struct daemon *d);

/* The configuration loaded (or not) by the load's thread: checked, and
 * made the one in force when it is valid and its listeners open. Returns
 * 0 when it is, -1 when the old one stays (logged). */
static int
reload_apply(struct daemon *d, int loaded, struct config *cfg,
             struct config_errors *errs)
{
	struct config *old = d->cfg;
	char err[512];

	if (loaded < 0) {
		size_t n = errs->n - errs->nwarnings;
		for (size_t i = 0; i < errs->n; i++)
			log_msg(strstr(errs->lines[i], ": warning: ") != NULL
			            ? LVL_WARN
			            : LVL_ERROR,
			        "%s", errs->lines[i]);
		if (errs->oom)
			log_msg(LVL_ERROR,
			        "%s: out of memory while loading; the running "
			        "configuration stays",
			        d->config_path);
		else
			log_msg(LVL_ERROR,
			        "reload failed (%zu error%s): the running "
			        "configuration stays",
			        n, n == 1 ? "" : "s");
		config_errors_free(errs);
		return -1;
	}
	for (size_t i = 0; i < errs->n; i++)
		log_msg(LVL_WARN, "%s", errs->lines[i]);
	config_errors_free(errs);
	if (listener_set_update(d->set, cfg, err, sizeof(err)) < 0) {
		log_msg(LVL_ERROR,
		        "reload failed: %s; the running configuration stays",
		        err);
		config_unref(cfg);
		return -1;
	}
	/* What was applied once at start cannot change without a restart. */
	if (!same_text(cfg->user, old->user) ||
	    !same_text(cfg->group, old->group) ||
	    !same_text(cfg->chroot_dir, old->chroot_dir) ||
	    !same_text(cfg->pid_path, old->pid_path))
		log_msg(LVL_WARN, "reload: changes to user, group, chroot and "
		                  "pid take effect at the next start");
	if ((cfg->workers > 0 ? cfg->workers : workers_auto()) != d->nslots)
		log_msg(LVL_WARN,
		        "reload: a new number of workers takes effect "
		        "at the next start; %u go on",
		        d->nslots);
	if (cfg->log_dest != old->log_dest ||
	    !same_text(cfg->log_path, old->log_path)) {
		if (open_log(d, cfg) < 0)
			log_msg(LVL_ERROR,
			        "reload: log %s: %s; logging goes on "
			        "where it was",
			        cfg->log_path ? cfg->log_path : "",
			        strerror(errno));
	}
	log_set_verbosity((enum log_level)cfg->log_level, d->verbosity);
	replay_prepare(d, cfg);
	d->cfg = cfg;
	config_unref(old);
	log_msg(LVL_INFO, "reloaded: %zu services, %zu bind lines",
	        cfg->nservices, cfg->nbinds);
	check_nofile(d, cfg);
	return 0;
}

void
daemon_reload(struct daemon *d)
{
	if (d->stopping)
		return;
	if (d->loading != NULL) {
		log_msg(LVL_INFO,
		        "SIGHUP: %s is being loaded; it is loaded again "
		        "once that is done",
		        d->config_path);
		d->reload_again = true;
		return;
	}
	reload_start(d);
}

/* SIGHUP: the log file is reopened and the configuration file is loaded
 * on a thread of its own (loader.h), which calls D's wake function when
 * it is done; daemon_reload_done() takes it from there. */
static void
reload_start(struct daemon *d)
{
	char text[64];

	sdnotify_reloading_text(sdnotify_monotonic_usec(), text, sizeof(text));
	sdnotify_send(d->notify_fd, text);
	if (log_reopen() < 0)
		log_msg(LVL_ERROR,
		        "reopening the log file: %s; going on with "
		        "the old one",
		        strerror(errno));
	log_msg(LVL_INFO, "SIGHUP: reloading %s", d->config_path);
	d->loading = load_start(d->config_path, d->wake, d->wake_arg);
	if (d->loading != NULL && load_inline(d->loading) != 0)
		log_msg(LVL_WARN,
		        "SIGHUP: no thread to load %s on (%s): it was read "
		        "on the serving thread",
		        d->config_path, strerror(load_inline(d->loading)));
	if (d->loading == NULL) {
		log_msg(LVL_ERROR,
		        "reload failed: cannot start loading %s: %s; the "
		        "running configuration stays",
		        d->config_path, strerror(errno));
		notify_ready(d, "reload failed (see the log), still serving");
	}
}

int
daemon_reload_done(struct daemon *d)
{
	struct config *cfg = NULL;
	struct config_errors errs = {0};
	int loaded, rc;

	if (d->loading == NULL || !load_done(d->loading))
		return 0;
	loaded = load_take(d->loading, &cfg, &errs);
	d->loading = NULL;
	if (d->stopping) {
		/* Too late: nothing is applied any more. */
		config_unref(cfg);
		config_errors_free(&errs);
		return 0;
	}
	rc = reload_apply(d, loaded, cfg, &errs);
	notify_ready(d, rc == 0 ? "reloaded, serving"
	                        : "reload failed (see the log), still serving");
	if (d->reload_again) {
		d->reload_again = false;
		reload_start(d);
	}
	return rc == 0 ? 1 : -1;
}

void
daemon_reload_wake(struct daemon *d, load_wake_fn *wake, void *arg)
{
	d->wake = wake;
	d->wake_arg = arg;
}

/* A lone daemon's load is done: a byte in the self-pipe wakes the loop. */
static void
wake_loop(void *arg)
{
	struct daemon *d = arg;
	unsigned char b = LOADED_BYTE;

	if (write(d->sigpipe[1], &b, 1) < 0) {
		/* Full pipe: the loop will read it anyway. */
	}
}

static void
on_stop_grace(void *arg)
{
	struct daemon *d = arg;
	struct engine *e = d->engine;

	if (d->stop_killed) {
		log_msg(LVL_WARN,
		        "stopping: %u connections still open, "
		        "exiting anyway",
		        e->nconns);
		loop_stop(e->loop);
		return;
	}
	if (exec_table_count(e->children) > 0)
		log_msg(LVL_WARN,
		        "stopping: %zu programs still running after %d ms: "
		        "SIGKILL",
		        exec_table_count(e->children), DAEMON_STOP_GRACE_MS);
	exec_table_kill(e->children, SIGKILL);
	d->stop_killed = true;
	loop_timer_arm(d->stop_timer, DAEMON_STOP_GRACE_MS);
}

bool
daemon_stop_signal(struct daemon *d, int signo, const char *what,
                   const char *again)
{
	const char *name = signo == SIGTERM ? "SIGTERM" : "SIGINT";

	if (d->stopping && !d->retiring) {
		log_msg(LVL_INFO, "%s again: %s", name, again);
		return false;
	}
	log_msg(LVL_INFO, "%s: stopping%s", name, what);
	sdnotify_send(d->notify_fd, "STOPPING=1");
	d->stopping = true;
	d->retiring = false;
	/* New connections are refused (with workers: once every worker has
	 * closed its copy too). */
	listener_set_free(d->set);
	d->set = NULL;
	return true;
}

/* SIGTERM or SIGINT, in a process that serves. */
static void
stop(struct daemon *d, int signo)
{
	struct engine *e = d->engine;

	if (!daemon_stop_signal(d, signo, "", "exiting now")) {
		loop_stop(e->loop);
		return;
	}
	conn_stop_all(e);
	if (engine_drain(e))
		return;
	d->stop_timer = loop_timer_new(e->loop, on_stop_grace, d);
	if (d->stop_timer == NULL)
		loop_stop(e->loop);
	else
		loop_timer_arm(d->stop_timer, DAEMON_STOP_GRACE_MS);
}

/* SIGQUIT, in a worker: the supervisor started a new generation. */
static void
retire(struct daemon *d)
{
	if (d->stopping)
		return;
	log_msg(LVL_INFO,
	        "retiring: a reload replaced this worker; it ends "
	        "with its last connection (%u open)",
	        d->engine->nconns);
	if (log_reopen() < 0) {
		/* The lines go on to the old file. */
	}
	d->stopping = true;
	d->retiring = true;
	listener_set_free(d->set);
	d->set = NULL;
	engine_drain(d->engine);
}

void
daemon_reopen_log(void)
{
	if (log_reopen() < 0)
		log_msg(LVL_ERROR,
		        "SIGUSR1: reopening the log file: %s; going on with "
		        "the old one",
		        strerror(errno));
	else if (log_destination() == LOG_TO_FILE)
		log_msg(LVL_INFO, "SIGUSR1: log file reopened");
}

void
daemon_slot_stop(struct daemon *d, unsigned slot, unsigned since)
{
	if (d->set != NULL)
		listener_set_slot_stop(d->set, slot, since);
}

unsigned
daemon_listeners_version(const struct daemon *d)
{
	return d->set != NULL ? listener_set_version(d->set) : 0;
}

const struct config *
daemon_config(const struct daemon *d)
{
	return d->cfg;
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
			case LOADED_BYTE:
				daemon_reload_done(d);
				break;
			case SIGCHLD:
				exec_table_reap(d->engine->children);
				break;
			case SIGHUP:
				if (d->worker)
					log_msg(LVL_WARN,
					        "SIGHUP: a worker does "
					        "not reload; signal "
					        "the master, pid %ld",
					        (long)getppid());
				else
					daemon_reload(d);
				break;
			case SIGQUIT:
				retire(d);
				break;
			case SIGUSR1:
				daemon_reopen_log();
				break;
			default:
				stop(d, sigs[i]);
			}
		}
	}
	/* Should the pipe have been too full for the load's byte. */
	daemon_reload_done(d);
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
	sigaction(SIGUSR1, &sa, NULL);
	/* Stopped children are no news; exited ones are reaped. */
	if (d->worker)
		sigaction(SIGQUIT, &sa, NULL);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigwatch = loop_watch(d->engine->loop, d->sigpipe[0], LOOP_IN,
	                         on_signal_pipe, d);
	return d->sigwatch == NULL ? -1 : 0;
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
end_children(struct exec_table *children)
{
	if (exec_table_count(children) == 0)
		return;
	exec_table_kill(children, SIGKILL);
	for (int i = 0; i < 100 && exec_table_count(children) > 0; i++) {
		exec_table_reap(children);
		if (exec_table_count(children) > 0)
			usleep(10000);
	}
}

/* The loop is over: a signal that arrives now stays pending (the process
 * is ending anyway), so the handler never writes into a closed pipe's
 * number, which a later open may have reused. (A signal delivered during
 * LeakSanitizer's exit scan could also hang it.) */
static void
signals_off(void)
{
	static const int handled[] = {SIGTERM, SIGINT,  SIGHUP,
	                              SIGQUIT, SIGUSR1, SIGCHLD};
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&set, handled[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal_fd = -1;
}

void
daemon_free(struct daemon *d)
{
	char err[512];

	if (d == NULL)
		return;
	signals_off();
	if (pidfile_remove(d->pid, err, sizeof(err)) < 0)
		log_msg(LVL_WARN,
		        "%s (a stale pid file does not block the next start)",
		        err);
	listener_set_free(d->set);
	if (d->engine != NULL) {
		conn_end_all(d->engine);
		end_children(d->engine->children);
	}
	load_abandon(d->loading);
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
	engine_free(d->engine);
	replay_free(d->replay);
	config_unref(d->cfg);
	privs_clear(&d->ids);
	sockact_free(&d->passed);
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	free(d);
}

void
daemon_forked(struct daemon *d)
{
	pidfile_forget(d->pid);
	d->pid = NULL;
	/* A load in progress is the parent's (its thread is not here). */
	d->loading = NULL;
	d->reload_again = false;
	/* The master speaks to systemd and keeps systemd's sockets; the
	 * worker has its copies in the listener set. */
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	d->notify_fd = -1;
	sockact_free(&d->passed);
}

/* The implementation choices the environment makes, checked once at start
 * (before any worker exists): PORTSPLIT_LOOP names the loop backend (the
 * loop itself says which names it knows), PORTSPLIT_RELAY=copy turns the
 * splice path off, PORTSPLIT_RELAY=splice splices every relayed byte (by
 * default a direction copies until a read fills the buffer). The tests run
 * the suite under the default and copy. */
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
		daemon_fail(d, "event loop: %s", strerror(errno));
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
	d->relay_splice = relay != NULL && strcmp(relay, "splice") == 0;
	return 0;
}

int
daemon_engine(struct daemon *d, struct worker_share *share, int tally,
              bool worker)
{
	d->worker = worker;
	d->engine =
	    engine_new(getenv("PORTSPLIT_LOOP"), d->relay_copy, share, tally);
	if (d->engine == NULL) {
		daemon_fail(d, "out of memory");
		return -1;
	}
	d->engine->replay = d->replay;
	d->engine->splice_at_once = d->relay_splice;
	daemon_reload_wake(d, wake_loop, d);
	if (setup_signals(d) < 0) {
		daemon_fail(d, "signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct daemon *
daemon_new(struct config *cfg, const struct daemon_opts *opts, unsigned nslots)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct config_errors errs = {0};
	char err[512];

	if (d == NULL) {
		fprintf(stderr, "portsplit: out of memory\n");
		config_unref(cfg);
		return NULL;
	}
	*d = (struct daemon){
	    .cfg = cfg,
	    .nslots = nslots,
	    .sigpipe = {-1, -1},
	    .ready_fd = -1,
	    .devnull = -1,
	    .notify_fd = -1,
	    .verbosity = opts->verbosity,
	    .detach = opts->detach,
	};
	log_set_verbosity((enum log_level)cfg->log_level, d->verbosity);
	if (open_log(d, cfg) < 0) {
		fprintf(stderr, "portsplit: log %s: %s\n", cfg->log_path,
		        strerror(errno));
		goto fail;
	}
	for (size_t i = 0;
	     opts->warnings != NULL && log_destination() != LOG_TO_STDERR &&
	     i < opts->warnings->n;
	     i++)
		log_msg(LVL_WARN, "%s", opts->warnings->lines[i]);
	/* Reloads read it again, after -d has moved to /. */
	d->config_path = realpath(cfg->path, NULL);
	if (d->config_path == NULL) {
		daemon_fail(d, "%s: %s", cfg->path, strerror(errno));
		goto fail;
	}
	/* Looked up now: after a chroot the databases may be out of reach. */
	if (config_identity(cfg, &d->ids, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			daemon_fail(d, "%s", errs.lines[i]);
		config_errors_free(&errs);
		goto fail;
	}
	if (cfg->pid_path != NULL &&
	    pidfile_check(cfg->pid_path, err, sizeof(err)) < 0) {
		daemon_fail(d, "%s", err);
		goto fail;
	}
	/* Before -d forks: LISTEN_PID names this process. Both also leave
	 * the environment, so no program started later inherits them. */
	if (sockact_collect(&d->passed) < 0) {
		daemon_fail(d, "sockets passed by systemd: %s",
		            strerror(errno));
		goto fail;
	}
	d->notify_fd = sdnotify_open();
	if (d->notify_fd < 0 && errno != 0)
		log_msg(LVL_WARN,
		        "NOTIFY_SOCKET: %s; systemd will not hear "
		        "from portsplit",
		        strerror(errno));
	if (d->detach && (d->ready_fd = detach_start(d)) < 0) {
		daemon_fail(d, "cannot detach: %s", strerror(errno));
		goto fail;
	}
	if (check_env(d) < 0)
		goto fail;
	/* Workers inherit the raised limit. */
	unsigned long soft, hard;
	if (nofile_raise(&soft, &hard) < 0)
		log_msg(LVL_WARN,
		        "cannot raise the descriptor limit from %lu to %lu: %s",
		        soft, hard, strerror(errno));
	check_nofile(d, cfg);
	replay_prepare(d, cfg);
	return d;
fail:
	daemon_free(d);
	return NULL;
}

int
daemon_open(struct daemon *d)
{
	const struct config *cfg = d->cfg;
	char err[512];

	d->set =
	    listener_set_open(cfg, d->nslots, &d->passed, err, sizeof(err));
	if (d->set == NULL) {
		daemon_fail(d, "%s", err);
		return -1;
	}
	for (size_t i = 0; i < d->passed.n; i++) {
		char a[ADDR_STRLEN];
		if (d->passed.used[i])
			continue;
		addr_format((struct sockaddr *)&d->passed.addrs[i], a,
		            sizeof(a));
		log_msg(LVL_WARN,
		        "systemd passed a socket for %s, which no bind "
		        "line names: it stays unused",
		        a);
	}
	if (cfg->pid_path != NULL &&
	    (d->pid = pidfile_write(cfg->pid_path, err, sizeof(err))) == NULL) {
		daemon_fail(d, "%s", err);
		return -1;
	}
	if (privs_drop(&d->ids, err, sizeof(err)) < 0) {
		daemon_fail(d, "%s", err);
		return -1;
	}
	if (privs_wanted(&d->ids))
		log_msg(LVL_INFO, "privileges dropped: uid %u gid %u%s%s",
		        (unsigned)getuid(), (unsigned)getgid(),
		        d->ids.chroot_dir ? ", chroot " : "",
		        d->ids.chroot_dir ? d->ids.chroot_dir : "");
	if (d->ids.chroot_dir != NULL && getuid() == 0)
		log_msg(LVL_WARN, "chroot without 'user =': a process running "
		                  "as root can leave a chroot");
	if (d->detach)
		detach_done(d);
	log_msg(LVL_INFO, "portsplit %s running: %zu services, timeout %.3gs",
	        PORTSPLIT_VERSION, cfg->nservices, cfg->timeout_ms / 1000.0);
	notify_ready(d, "serving");
	return 0;
}

/* A connection accepted on one of D's listeners. */
static void
on_accept(void *arg, int fd, const struct sockaddr *peer, const char *name)
{
	struct daemon *d = arg;

	conn_accepted(d->engine, d->cfg, fd, peer, name);
}

int
daemon_serve(struct daemon *d, unsigned slot)
{
	char err[512];

	if (listener_set_watch(d->set, d->engine->loop, slot, on_accept, d, err,
	                       sizeof(err)) < 0) {
		log_msg(LVL_ERROR, "%s", err);
		return 1;
	}
	if (loop_run(d->engine->loop) < 0) {
		log_msg(LVL_ERROR, "event loop: %s", strerror(errno));
		return 1;
	}
	return 0;
}

int
daemon_run(struct config *cfg, const struct daemon_opts *opts)
{
	struct daemon *d = daemon_new(cfg, opts, 1);
	int rc = 1;

	if (d == NULL)
		return 1;
	if (daemon_engine(d, NULL, -1, false) == 0 && daemon_open(d) == 0)
		rc = daemon_serve(d, 0);
	daemon_free(d);
	return rc;
}
