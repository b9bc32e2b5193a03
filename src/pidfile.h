/* SPDX-License-Identifier: ISC */
/* pidfile: the `pid =` file — refusing to start beside a running
 * portsplit, writing this process's pid, removing it at exit.
 *
 * Ownership: pidfile_write() returns a handle owned by the caller until
 * pidfile_remove() or pidfile_forget(). Nothing here ends the process:
 * every failure is returned with a message. */
#ifndef PORTSPLIT_PIDFILE_H
#define PORTSPLIT_PIDFILE_H

#include <stddef.h>

struct pidfile;

/* Before binding: a pid file at PATH naming a running portsplit stops the
 * start (-1, with the reason in ERR); any other pid file is stale and is
 * removed. Returns 0 when the start may go on. */
int pidfile_check(const char *path, char *err, size_t errlen);
/* Writes this process's pid to PATH, which must not exist. Returns the
 * handle, or NULL with the reason in ERR. */
struct pidfile *pidfile_write(const char *path, char *err, size_t errlen);
/* At exit: removes the file if it still names this process, and frees P
 * (NULL is allowed). Returns 0, or -1 with the reason in ERR. */
int pidfile_remove(struct pidfile *p, char *err, size_t errlen);
/* In a child of fork(): frees this process's copy of P without touching
 * the file, which stays the parent's to remove. NULL is allowed. */
void pidfile_forget(struct pidfile *p);

#endif
