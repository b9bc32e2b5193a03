/* SPDX-License-Identifier: ISC */
/* matcher: SPEC §3 over the ranked services of a configuration. Feed it all
 * the bytes a client has sent so far; it answers with a verdict or asks for
 * more. Pure: it knows nothing of sockets, so the daemon, --classify and the
 * unit tests drive it the same way. */
#ifndef PORTSPLIT_MATCHER_H
#define PORTSPLIT_MATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "replay.h"
#include "sig.h"

/* Why the data would not grow any more. */
enum matcher_end {
	MATCHER_MORE,    /* more bytes may come */
	MATCHER_EOF,     /* the client closed its sending side */
	MATCHER_TIMEOUT, /* the decision timer expired */
};

enum verdict_kind {
	VERDICT_SERVICE,  /* a ranked service matched */
	VERDICT_FALLBACK, /* everything was ruled out */
	VERDICT_TIMEOUT,  /* the timer expired and nothing matched */
};

struct verdict {
	enum verdict_kind kind;
	/* The service that takes the connection; for FALLBACK and TIMEOUT
	 * the configured special section, or NULL (then: close). */
	const struct service *service;
	/* For VERDICT_SERVICE, the signature that matched (index in
	 * config->sigs). */
	size_t sig;
	/* Bytes the decision was made on. */
	size_t bytes;
	/* Why the data was final, when it was. */
	enum matcher_end end;
	/* Whether max_peek was reached. */
	bool full;
};

/* The state of one connection's matching. Holds no reference to CFG: the
 * caller keeps the configuration alive while the matcher exists. */
struct matcher;

/* Makes a matcher for CFG; NULL when out of memory. */
struct matcher *matcher_new(const struct config *cfg);
/* Frees it; NULL is allowed. */
void matcher_free(struct matcher *m);

/* Rules out ranked service number S (index in config->services) for this
 * connection before any byte: it can never match, so the services below
 * it decide (the service's allow/deny said no to this client). */
void matcher_rule_out(struct matcher *m, size_t s);

/* Makes FALLBACK and TIMEOUT (NULL: close) the services this connection
 * goes to when nothing matches, instead of the configuration's
 * [fallback] and [timeout] (a listener's own, `role =`). */
void matcher_set_specials(struct matcher *m, const struct service *fallback,
                          const struct service *timeout);

/* Evaluates the LEN bytes at DATA (everything received so far, from the
 * first byte; bytes past max_peek are ignored). Returns true with *V filled
 * when the connection is decided, false when more bytes are needed. With
 * END other than MATCHER_MORE it always decides. */
bool matcher_feed(struct matcher *m, const uint8_t *data, size_t len,
                  enum matcher_end end, struct sig_scratch *scratch,
                  struct verdict *v);

/* The set that `replay_window` checks and fills (NULL, the default: the
 * window is not checked, nothing is remembered). R must outlive M. */
void matcher_set_replay(struct matcher *m, struct replay *r);
/* The clock the guards read: UNIX_S (wall clock, seconds) for `fresh`,
 * MONO_MS (a monotonic clock shared by every process) for
 * `replay_window`. Set it before each feed when the configuration has
 * guards (config->guards); it starts at 0. */
void matcher_set_clock(struct matcher *m, int64_t unix_s, uint64_t mono_ms);
/* `frame_timeout` has passed since the client's first byte: framed first
 * messages still incomplete in the LEN bytes at DATA are judged as they
 * are (their signatures as on final data; a service that needs its whole
 * first message is ruled out). Returns like matcher_feed() with
 * MATCHER_MORE. */
bool matcher_frames_due(struct matcher *m, const uint8_t *data, size_t len,
                        struct sig_scratch *scratch, struct verdict *v);

/* Writes why V was reached: the signature that matched, or the state of
 * each service before the final evaluation. */
void matcher_explain(const struct matcher *m, const struct verdict *v,
                     char *buf, size_t len);

/* The service name of a verdict: the section's name, or "fallback" /
 * "timeout" when that section is absent. */
const char *verdict_service_name(const struct verdict *v);

#endif
