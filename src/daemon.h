/* daemon: the run state of the program — the loop, the configuration in
 * force, the listeners, the connections, signals and the pid file. */
#ifndef PORTSPLIT_DAEMON_H
#define PORTSPLIT_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"
#include "sig.h"

struct listener;
struct conn;

struct daemon {
	struct loop *loop;
	struct config *cfg;	     /* the configuration in force (a ref) */
	struct listener *listeners; /* owned; a list */
	struct conn *conns;	     /* every live connection; a list */
	unsigned nconns;
	uint64_t next_id;
	/* Scratch shared by every connection of the loop: the peek buffer
	 * (MSG_PEEK copies into it; nothing stays there between events),
	 * the relay's read buffer and the regex match space. */
	uint8_t *peekbuf;
	size_t peeksize;
	uint8_t *relaybuf;
	size_t relaysize;
	struct sig_scratch *scratch;
	struct loop_timer *resume; /* re-enables accepting after EMFILE */
	int sigpipe[2];
	struct loop_watch *sigwatch;
};

/* Runs the daemon with CFG (takes the reference) until SIGTERM or SIGINT.
 * Returns the exit status: 0, or 1 when it could not start. */
int daemon_run(struct config *cfg);

#endif
