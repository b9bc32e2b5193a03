/* SPDX-License-Identifier: ISC */
/* log: writes one line per event to standard error, a file or syslog.
 * Standard error and files get a wall-clock time stamp and the level; each
 * line is one write() (to a file opened O_APPEND), so lines stay whole when
 * other processes write to the same place. Repeated system errors go
 * through log_limited() so a flood of them cannot fill a disk. */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_level max_level = LVL_INFO;
static enum log_dest dest = LOG_TO_STDERR;
static int file_fd = -1; /* with LOG_TO_FILE */
static char *file_path;  /* with LOG_TO_FILE, for log_reopen() */
static char tag[32];     /* "[pid] " in a worker process, or empty */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_set_tag(const char *text)
{
	if (text == NULL || *text == '\0')
		tag[0] = '\0';
	else
		snprintf(tag, sizeof(tag), "[%s] ", text);
}

void
log_set_level(enum log_level level)
{
	max_level = level;
}

void
log_set_verbosity(enum log_level base, int delta)
{
	int level = (int)base + delta;

	log_set_level(level < LVL_ERROR   ? LVL_ERROR
	              : level > LVL_DEBUG ? LVL_DEBUG
	                                  : (enum log_level)level);
}

bool
log_enabled(enum log_level level)
{
	return level <= max_level;
}

int
log_level_parse(const char *text)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++)
		if (strcmp(text, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

static int
open_file(const char *path)
{
	return open(path,
	            O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	                O_NOCTTY,
	            0640);
}

int
log_open(enum log_dest to, const char *path)
{
	int fd = -1;
	char *copy = NULL;

	if (to == LOG_TO_FILE) {
		copy = strdup(path);
		if (copy == NULL)
			return -1;
		fd = open_file(path);
		if (fd < 0) {
			free(copy);
			return -1;
		}
	}
	if (dest == LOG_TO_SYSLOG && to != LOG_TO_SYSLOG)
		closelog();
	if (file_fd >= 0)
		close(file_fd);
	free(file_path);
	file_fd = fd;
	file_path = copy;
	if (to == LOG_TO_SYSLOG && dest != LOG_TO_SYSLOG)
		openlog("portsplit", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	dest = to;
	return 0;
}

int
log_reopen(void)
{
	int fd;

	if (dest != LOG_TO_FILE)
		return 0;
	fd = open_file(file_path);
	if (fd < 0)
		return -1;
	/* dup3 swaps the file under the same descriptor number. */
	if (dup3(fd, file_fd, O_CLOEXEC) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

enum log_dest
log_destination(void)
{
	return dest;
}

static void
log_write(enum log_level level, const char *fmt, va_list ap)
{
	static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
	                                 LOG_DEBUG};
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	char line[4096], out[4200];
	int n;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (dest == LOG_TO_SYSLOG) {
		syslog(priorities[level], "%s", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(out, sizeof(out), "%s.%03ld %s %s%s\n", stamp,
	             ts.tv_nsec / 1000000, level_names[level], tag, line);
	if (n >= (int)sizeof(out))
		n = (int)sizeof(out) - 1;
	/* One write per line keeps lines whole when the file is shared; a
	 * failed write has nowhere to be reported. */
	if (write(dest == LOG_TO_FILE ? file_fd : STDERR_FILENO, out,
	          (size_t)n) < 0)
		return;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_write(level, fmt, ap);
	va_end(ap);
}

/* A small table of recent keys; a collision only makes one more line. */
struct limit_slot {
	const void *key;
	time_t second;
	unsigned long held;
};

void
log_limited(const void *key, enum log_level level, const char *fmt, ...)
{
	static struct limit_slot slots[16];
	struct limit_slot *s = &slots[((unsigned long)key >> 4) % 16];
	struct timespec now;
	va_list ap;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (s->key == key && s->second == now.tv_sec) {
		s->held++;
		return;
	}
	if (s->key == key && s->held > 0)
		log_msg(level, "(%lu similar messages held back)", s->held);
	s->key = key;
	s->second = now.tv_sec;
	s->held = 0;
	va_start(ap, fmt);
	log_write(level, fmt, ap);
	va_end(ap);
}

int
log_syslog_check(void)
{
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int err = 0;

	/* Where syslog(3) sends, tried the way it tries. */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			return 0;
		}
		err = errno;
		close(fd);
	}
	errno = err;
	return -1;
}
