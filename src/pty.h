/* SPDX-License-Identifier: ISC */
/* pty: a pseudo-terminal pair for `pty = yes` services. The parent keeps
 * the master and relays it to the client; the child makes the slave its
 * controlling terminal. Both descriptors are the caller's to close. */
#ifndef PORTSPLIT_PTY_H
#define PORTSPLIT_PTY_H

#include <stdint.h>

/* The window size a new terminal starts with: the client's is unknown. */
#define PTY_COLS 80
#define PTY_ROWS 24

/* Opens a pair: *MASTER non-blocking, both close-on-exec and neither the
 * caller's controlling terminal; the window is PTY_COLS x PTY_ROWS.
 * Returns 0, or -1 with errno. */
int pty_open(int *master, int *slave);
/* The terminal's end-of-file character (VEOF, normally Ctrl-D), read from
 * MASTER; 4 when it cannot be read. */
uint8_t pty_eof_char(int master);
/* In the child, after setsid(): makes SLAVE the controlling terminal.
 * Returns 0, or -1 with errno. Async-signal-safe. */
int pty_make_controlling(int slave);

#endif
