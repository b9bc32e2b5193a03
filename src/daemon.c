/* daemon: the life of the running program. Signals arrive through a
 * self-pipe watched by the loop, so every reaction to them runs as an
 * ordinary loop callback. */
#define _GNU_SOURCE
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "listener.h"
#include "log.h"

#define PEEK_MAX 65536 /* the largest max_peek */
#define RELAY_BUF 65536

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

static void
on_signal_pipe(void *arg, int fd, unsigned events)
{
	struct daemon *d = arg;
	unsigned char sigs[64];
	ssize_t n;

	(void)events;
	while ((n = read(fd, sigs, sizeof(sigs))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (sigs[i] == SIGHUP) {
				log_msg(LVL_WARN,
					"SIGHUP: reloading is not supported by "
					"this version; configuration unchanged");
				continue;
			}
			log_msg(LVL_INFO, "%s: stopping",
				sigs[i] == SIGTERM ? "SIGTERM" : "SIGINT");
			loop_stop(d->loop);
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
	signal(SIGPIPE, SIG_IGN);
	d->sigwatch = loop_watch(d->loop, d->sigpipe[0], LOOP_IN,
				 on_signal_pipe, d);
	return d->sigwatch == NULL ? -1 : 0;
}

static int
write_pid(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		      0644);
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (fd < 0)
		return -1;
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
daemon_run(struct config *cfg)
{
	struct daemon d = {.cfg = cfg, .sigpipe = {-1, -1}};
	char err[512];
	int rc = 1;

	/* PORTSPLIT_LOOP=poll selects the portable backend (tests run both). */
	d.loop = loop_new(getenv("PORTSPLIT_LOOP"));
	if (d.loop == NULL && errno == EINVAL) {
		log_msg(LVL_ERROR, "PORTSPLIT_LOOP: '%s' is not epoll or poll",
			getenv("PORTSPLIT_LOOP"));
		goto out;
	}
	d.peeksize = PEEK_MAX;
	d.peekbuf = malloc(d.peeksize);
	d.relaysize = RELAY_BUF;
	d.relaybuf = malloc(d.relaysize);
	d.scratch = sig_scratch_new();
	if (d.loop == NULL || d.peekbuf == NULL || d.relaybuf == NULL ||
	    d.scratch == NULL) {
		log_msg(LVL_ERROR, "out of memory");
		goto out;
	}
	if (setup_signals(&d) < 0) {
		log_msg(LVL_ERROR, "signals: %s", strerror(errno));
		goto out;
	}
	if (listener_open_all(&d, err, sizeof(err)) < 0) {
		log_msg(LVL_ERROR, "%s", err);
		goto out;
	}
	if (cfg->pid_path != NULL && write_pid(cfg->pid_path) < 0) {
		log_msg(LVL_ERROR, "pid file %s: %s", cfg->pid_path,
			strerror(errno));
		goto out;
	}
	log_msg(LVL_INFO, "portsplit %s running: %zu services, timeout %.3gs",
		PORTSPLIT_VERSION, cfg->nservices, cfg->timeout_ms / 1000.0);
	if (loop_run(d.loop) < 0)
		log_msg(LVL_ERROR, "event loop: %s", strerror(errno));
	else
		rc = 0;
	if (cfg->pid_path != NULL)
		unlink(cfg->pid_path);
out:
	listener_close_all(&d);
	conn_end_all(&d);
	loop_unwatch(d.sigwatch);
	if (d.sigpipe[0] >= 0) {
		close(d.sigpipe[0]);
		close(d.sigpipe[1]);
	}
	loop_free(d.loop);
	free(d.peekbuf);
	free(d.relaybuf);
	sig_scratch_free(d.scratch);
	config_unref(d.cfg);
	return rc;
}
