/* SPDX-License-Identifier: ISC */
/* pty: opening a pseudo-terminal pair with posix_openpt(). Both ends are
 * opened in the parent, before fork, so that a failure is reported with the
 * connection instead of being lost in a child; the parent closes its copy
 * of the slave once the child has it, so that the master reads EIO when the
 * program and everything it started have let go of the terminal. */
#define _GNU_SOURCE
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int
pty_open(int *master, int *slave)
{
	struct winsize ws = {.ws_row = PTY_ROWS, .ws_col = PTY_COLS};
	char name[128];
	int m, s = -1, saved;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		return -1;
	if (grantpt(m) < 0 || unlockpt(m) < 0 ||
	    ptsname_r(m, name, sizeof(name)) != 0)
		goto fail;
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		goto fail;
	/* A size of 0x0 confuses full-screen programs. */
	ioctl(s, TIOCSWINSZ, &ws);
	*master = m;
	*slave = s;
	return 0;
fail:
	saved = errno;
	close(m);
	errno = saved;
	return -1;
}

uint8_t
pty_eof_char(int master)
{
	struct termios t;

	/* On Linux the master reports the slave's settings. */
	if (tcgetattr(master, &t) < 0 || t.c_cc[VEOF] == _POSIX_VDISABLE)
		return 4;
	return t.c_cc[VEOF];
}

int
pty_make_controlling(int slave)
{
	return ioctl(slave, TIOCSCTTY, 0);
}
