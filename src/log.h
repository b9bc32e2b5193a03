/* SPDX-License-Identifier: ISC */
/* log: levels, the destination, and one line per event. The level, the
 * destination and its descriptor are state of the process, owned here for
 * its whole life (a forked worker has its own copy). */
#ifndef PORTSPLIT_LOG_H
#define PORTSPLIT_LOG_H

#include <stdbool.h>

enum log_level { LVL_ERROR, LVL_WARN, LVL_INFO, LVL_DEBUG };

/* Where lines go: `log = stderr | syslog | PATH`. */
enum log_dest { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FILE };

/* Sends lines to DEST from now on (PATH for LOG_TO_FILE: appended to, created
 * 0640). Syslog uses the daemon facility and the ident "portsplit", and
 * connects at once so that a later chroot does not cut it off. Returns 0,
 * or -1 with errno and the destination unchanged. */
int log_open(enum log_dest dest, const char *path);
/* Whether syslog(3) would reach a system logger (its socket, _PATH_LOG,
 * accepts a connection): 0, or -1 with errno. Without one, syslog drops
 * every line silently. */
int log_syslog_check(void);
/* Reopens the log file by its path (after rotation); for other
 * destinations does nothing. Returns 0, or -1 with errno and the old file
 * still in use. */
int log_reopen(void);
/* The current destination. */
enum log_dest log_destination(void);

/* Puts "[TEXT] " before every message written to standard error or a file
 * from now on (NULL or "": nothing), so that the lines of several worker
 * processes can be told apart; syslog names the pid itself. */
void log_set_tag(const char *text);
/* Sets the most verbose level that is written. */
void log_set_level(enum log_level level);
/* Sets it to BASE made DELTA steps more verbose (-v) or less (-q), kept
 * between error and debug. */
void log_set_verbosity(enum log_level base, int delta);
/* True when a message of LEVEL would be written. */
bool log_enabled(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; -1 for anything else. */
int log_level_parse(const char *text);
/* Returns the name of LEVEL. */
const char *log_level_name(enum log_level level);
/* Writes one line: time, level, message. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like log_msg, but writes at most one line per KEY per second and counts
 * the ones it held back; KEY is any stable pointer naming the event. */
void log_limited(const void *key, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
