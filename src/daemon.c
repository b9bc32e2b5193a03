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
 * again the daemon exits regardless. A second signal exits at once. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "exec.h"
#include "listener.h"
#include "log.h"
#include "privs.h"
#include "relay.h"

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

/* The write end of the self-pipe, for the signal handler. */
static int signal_fd = -1;

static void
on_signal(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;

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

	log_set_level(level < LVL_ERROR	  ? LVL_ERROR
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
		log_msg(LVL_ERROR, "reopening the log file: %s; going on with "
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
	if (listener_update(d, cfg, err, sizeof(err)) < 0) {
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
	if (cfg->log_dest != old->log_dest ||
	    !same_text(cfg->log_path, old->log_path)) {
		if (open_log(d, cfg) < 0)
			log_msg(LVL_ERROR, "reload: log %s: %s; logging goes on "
					   "where it was",
				cfg->log_path ? cfg->log_path : "", strerror(errno));
	}
	apply_log_level(d, cfg);
	d->cfg = cfg;
	config_unref(old);
	log_msg(LVL_INFO, "reloaded: %zu services, %zu bind lines",
		cfg->nservices, cfg->nbinds);
}

static void
on_stop_grace(void *arg)
{
	struct daemon *d = arg;

	if (d->stop_killed) {
		log_msg(LVL_WARN, "stopping: %u connections still open, "
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

	if (d->stopping) {
		log_msg(LVL_INFO, "%s again: exiting now", name);
		loop_stop(d->loop);
		return;
	}
	log_msg(LVL_INFO, "%s: stopping", name);
	d->stopping = true;
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
				if (!d->stopping)
					reload(d);
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
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigwatch = loop_watch(d->loop, d->sigpipe[0], LOOP_IN,
				 on_signal_pipe, d);
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
	if (pid > 0 && pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM) &&
	    same_program(pid)) {
		fatal(d,
		      "pid file %s: portsplit is already running as pid %ld "
		      "(stop it first, or remove the file if it is not)",
		      path, pid);
		return -1;
	}
	if (pid > 0)
		log_msg(LVL_INFO, "pid file %s is stale (no portsplit runs as pid %ld): removing it",
			path, pid);
	else
		log_msg(LVL_INFO, "pid file %s holds no pid: removing it", path);
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

	/* PORTSPLIT_LOOP=poll selects the portable backend (tests run both). */
	d.loop = loop_new(getenv("PORTSPLIT_LOOP"));
	if (d.loop == NULL && errno == EINVAL) {
		log_msg(LVL_ERROR, "PORTSPLIT_LOOP: '%s' is not epoll or poll",
			getenv("PORTSPLIT_LOOP"));
		goto out;
	}
	/* PORTSPLIT_RELAY=copy makes every relay copy (the tests run both
	 * paths); the default splices wherever both ends are sockets. */
	const char *relay = getenv("PORTSPLIT_RELAY");
	if (relay != NULL && strcmp(relay, "copy") != 0 &&
	    strcmp(relay, "splice") != 0) {
		log_msg(LVL_ERROR, "PORTSPLIT_RELAY: '%s' is not splice or copy",
			relay);
		goto out;
	}
	if (relay == NULL || strcmp(relay, "splice") == 0) {
		d.relay_pool = relay_pool_new(RELAY_SPARE_PIPES, RELAY_PIPE_SIZE);
		if (d.relay_pool == NULL) {
			fatal(&d, "out of memory");
			goto out;
		}
	}
	d.peeksize = PEEK_MAX;
	d.peekbuf = malloc(d.peeksize);
	d.relaysize = RELAY_BUF;
	d.relaybuf = malloc(d.relaysize);
	d.scratch = sig_scratch_new();
	if (d.loop != NULL)
		d.children = exec_table_new(d.loop);
	if (d.loop == NULL || d.peekbuf == NULL || d.relaybuf == NULL ||
	    d.scratch == NULL || d.children == NULL) {
		fatal(&d, "out of memory");
		goto out;
	}
	if (setup_signals(&d) < 0) {
		fatal(&d, "signals: %s", strerror(errno));
		goto out;
	}
	if (listener_open_all(&d, err, sizeof(err)) < 0) {
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
	if (d.detach)
		detach_done(&d);
	log_msg(LVL_INFO, "portsplit %s running: %zu services, timeout %.3gs",
		PORTSPLIT_VERSION, cfg->nservices, cfg->timeout_ms / 1000.0);
	if (loop_run(d.loop) < 0)
		log_msg(LVL_ERROR, "event loop: %s", strerror(errno));
	else
		rc = 0;
out:
	pid_remove(&d);
	listener_close_all(&d);
	conn_end_all(&d);
	end_children(&d);
	exec_table_free(d.children);
	loop_timer_free(d.stop_timer);
	privs_clear(&ids);
	free(d.config_path);
	if (d.ready_fd >= 0)
		close(d.ready_fd);
	if (d.devnull >= 0)
		close(d.devnull);
	loop_unwatch(d.sigwatch);
	if (d.sigpipe[0] >= 0) {
		close(d.sigpipe[0]);
		close(d.sigpipe[1]);
	}
	loop_free(d.loop);
	free(d.peekbuf);
	free(d.relaybuf);
	relay_pool_free(d.relay_pool);
	sig_scratch_free(d.scratch);
	config_unref(d.cfg);
	return rc;
}
