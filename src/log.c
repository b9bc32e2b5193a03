/* log: writes one line per event to standard error, with a wall-clock time
 * stamp and the level. Repeated system errors go through log_limited() so a
 * flood of them cannot fill a disk. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level max_level = LVL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_set_level(enum log_level level)
{
	max_level = level;
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

static void
log_write(enum log_level level, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	char line[4096];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One fprintf per line keeps lines whole when stderr is shared. */
	fprintf(stderr, "%s.%03ld %s %s\n", stamp, ts.tv_nsec / 1000000,
		level_names[level], line);
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
