/* SPDX-License-Identifier: ISC */
/* matcher: the ranking rules of SPEC §3.
 *
 * Every signature is UNDECIDED, MATCH or NOMATCH; only UNDECIDED ones are
 * evaluated again, and only when the data grew or became final. A service
 * matches when any of its signatures does and is ruled out when all of them
 * are. Walking the services in rank order, the first one that matches wins
 * unless one above it is still undecided; when all are ruled out, fallback.
 *
 * A group with a frame sees only its first message: once that many bytes
 * are there, its signatures are evaluated as on final data, whatever the
 * client sends next. A frame with `join` (frame.h) sees the records of its
 * message joined: the view is built in a buffer of the matcher's, made
 * the first time a client's message spans records. A first message that
 * has begun but is still incomplete when `frame_timeout` has passed
 * (matcher_frames_due) is judged as it is: a real client sends its first
 * message at once, a prober may stop anywhere.
 *
 * Guards: a service with `replay_window` or `fresh` is judged on its whole
 * first message (its matching signature's frame, on the joined view with
 * `join`, or without a frame the bytes of the decision). While the message
 * is incomplete the service counts as undecided; when it cannot complete
 * any more (final data, or frame_timeout) it is ruled out. It is ruled out
 * too when the message is one it matched within the window (the replay
 * set), or when the Unix time at the `fresh` offset is too far from now. A
 * service a guard ruled out stays ruled out for this connection, and the
 * explanation names it. */
#include "matcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* Why a guard ruled a service out (matcher->out[], per service). */
enum guard_out {
	OUT_NONE,
	OUT_REPLAY,     /* the first message was seen within the window */
	OUT_STALE,      /* the fresh time is too far from now */
	OUT_INCOMPLETE, /* the first message never completed */
};

static const char *const out_text[] = {"", "replayed first message",
                                       "time too far from now",
                                       "incomplete first message"};

/* A guard's answer for a service that matches. */
enum guard_rc { GUARD_PASS, GUARD_WAIT, GUARD_FAIL };

/* What only a configuration with guards needs. */
struct guard_state {
	struct replay *replay; /* NULL: replay_window is not checked */
	int64_t unix_s;
	uint64_t mono_ms;
	uint64_t digest; /* of the winner's first message */
};

struct matcher {
	const struct config *cfg;
	struct guard_state *g; /* NULL: the configuration has no guards */
	size_t seen;           /* bytes evaluated last time */
	bool final;            /* the final evaluation was done */
	bool due;              /* frame_timeout has passed */
	uint8_t *view;         /* joined records (frame join), max_peek bytes */
	const struct service *fallback, *timeout; /* where nothing goes */
	/* One enum sig_state per config->sigs; then, per service, its state
	 * before the final evaluation (before()); per group, whether its
	 * first message was cut short (cut()); with guards, per service,
	 * why a guard ruled it out (out()). One allocation, the size of the
	 * old one when there are no guards. */
	uint8_t state[];
};

/* The arrays after STATE (writable through a const matcher only where
 * the matcher itself writes them). */
static inline uint8_t *
before(const struct matcher *m)
{
	return (uint8_t *)m->state + m->cfg->nsigs;
}

static inline uint8_t *
cut(const struct matcher *m)
{
	return before(m) + m->cfg->nservices;
}

static inline uint8_t *
out(const struct matcher *m)
{
	return cut(m) + m->cfg->ngroups;
}

struct matcher *
matcher_new(const struct config *cfg)
{
	struct matcher *m =
	    calloc(1, sizeof(*m) + cfg->nsigs + cfg->nservices + cfg->ngroups +
	                  (cfg->guards ? cfg->nservices : 0));

	if (m == NULL)
		return NULL;
	m->cfg = cfg;
	if (cfg->guards && (m->g = calloc(1, sizeof(*m->g))) == NULL) {
		free(m);
		return NULL;
	}
	m->fallback = cfg->fallback;
	m->timeout = cfg->timeout;
	return m;
}

void
matcher_free(struct matcher *m)
{
	if (m != NULL) {
		free(m->g);
		free(m->view);
	}
	free(m);
}

void
matcher_set_specials(struct matcher *m, const struct service *fallback,
                     const struct service *timeout)
{
	m->fallback = fallback;
	m->timeout = timeout;
}

void
matcher_rule_out(struct matcher *m, size_t s)
{
	const struct service *svc = &m->cfg->services[s];

	/* Only undecided signatures are ever evaluated: these never are. */
	for (size_t i = svc->first_sig; i < svc->first_sig + svc->nsigs; i++)
		m->state[i] = SIG_NOMATCH;
}

void
matcher_set_replay(struct matcher *m, struct replay *r)
{
	if (m->g != NULL)
		m->g->replay = r;
}

void
matcher_set_clock(struct matcher *m, int64_t unix_s, uint64_t mono_ms)
{
	if (m->g != NULL) {
		m->g->unix_s = unix_s;
		m->g->mono_ms = mono_ms;
	}
}

/* The length of G's first message in LEN bytes, or -1 while it is
 * incomplete (or G has no frame). */
static int64_t
first_message(const struct group *g, const uint8_t *data, size_t len)
{
	int64_t flen;

	if (!g->has_frame)
		return -1;
	flen = frame_length(&g->frame, data, len);
	return flen >= 0 && (uint64_t)flen <= len ? flen : -1;
}

/* The bytes group G's signatures see of the LEN bytes at DATA: DATA
 * itself, or with `join` the joined view (in the matcher's buffer). Sets
 * *VLEN, and *ENDED when no more bytes can come to the view. */
static const uint8_t *
group_view(struct matcher *m, const struct group *g, const uint8_t *data,
           size_t len, size_t *vlen, bool *ended)
{
	*vlen = len;
	*ended = false;
	if (!g->has_frame || !g->frame.join)
		return data;
	size_t cap = m->cfg->max_peek;
	if (m->view == NULL && (m->view = malloc(cap)) == NULL) {
		/* Out of memory: judge the first record alone. */
		cap = 0;
	}
	return frame_view(&g->frame, data, len, m->view, cap, vlen, ended);
}

static void
eval_group(struct matcher *m, size_t gi, const uint8_t *data, size_t len,
           bool final, struct sig_scratch *scratch)
{
	const struct group *g = &m->cfg->groups[gi];
	bool ended;

	data = group_view(m, g, data, len, &len, &ended);
	if (ended)
		final = true;
	if (g->has_frame) {
		int64_t flen = first_message(g, data, len);
		if (flen >= 0) {
			len = (size_t)flen;
			final = true;
		} else if (m->due && len > 0) {
			cut(m)[gi] = true;
			final = true;
		}
	}
	for (size_t i = g->first_sig; i < g->first_sig + g->nsigs; i++)
		if (m->state[i] == SIG_UNDECIDED)
			m->state[i] = sig_eval(m->cfg->sigs[i].sig, data, len,
			                       final, scratch);
}

static enum sig_state
service_state(const struct matcher *m, const struct service *svc,
              size_t *matched)
{
	enum sig_state st = SIG_NOMATCH;

	for (size_t i = svc->first_sig; i < svc->first_sig + svc->nsigs; i++) {
		if (m->state[i] == SIG_MATCH) {
			*matched = i;
			return SIG_MATCH;
		}
		if (m->state[i] == SIG_UNDECIDED)
			st = SIG_UNDECIDED;
	}
	return st;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Judges the first message of service S, which matches with signature
 * SIG, against its guards. FINAL: no more bytes will come. */
static enum guard_rc
guard(struct matcher *m, size_t s, size_t sig, const uint8_t *data, size_t len,
      bool final)
{
	const struct service *svc = &m->cfg->services[s];
	size_t gi = m->cfg->sigs[sig].group;
	const struct group *g = &m->cfg->groups[gi];
	size_t msg;
	bool ended;

	/* With `join`, the first message is the joined one. */
	data = group_view(m, g, data, len, &len, &ended);
	if (ended)
		final = true;
	msg = len;
	if (g->has_frame) {
		int64_t flen = first_message(g, data, len);
		if (flen < 0) {
			if (!final && !cut(m)[gi])
				return GUARD_WAIT;
			out(m)[s] = OUT_INCOMPLETE;
			return GUARD_FAIL;
		}
		msg = (size_t)flen;
	}
	if (svc->has_fresh) {
		if ((size_t)svc->fresh_offset + 4 > msg) {
			if (!final && !g->has_frame)
				return GUARD_WAIT;
			out(m)[s] = OUT_INCOMPLETE;
			return GUARD_FAIL;
		}
		int64_t t = be32(data + svc->fresh_offset);
		int64_t now = m->g->unix_s;
		int64_t dist = t > now ? t - now : now - t;
		if (dist * 1000 > (int64_t)svc->fresh_ms) {
			out(m)[s] = OUT_STALE;
			return GUARD_FAIL;
		}
	}
	if (svc->replay_window_ms > 0 && m->g->replay != NULL) {
		struct guard_state *gs = m->g;
		gs->digest = replay_digest(gs->replay, (uint32_t)s, data, msg);
		if (replay_seen(gs->replay, gs->digest, gs->mono_ms)) {
			out(m)[s] = OUT_REPLAY;
			return GUARD_FAIL;
		}
	}
	return GUARD_PASS;
}

/* Applies rules 2 and 3, with the guards; true when decided. */
static bool
rank(struct matcher *m, const uint8_t *data, size_t len, bool final,
     struct verdict *v)
{
	const struct config *cfg = m->cfg;

	for (size_t s = 0; s < cfg->nservices; s++) {
		const struct service *svc = &cfg->services[s];
		size_t matched = 0;
		if (m->g != NULL && out(m)[s] != OUT_NONE)
			continue; /* ruled out by a guard */
		switch (service_state(m, svc, &matched)) {
		case SIG_MATCH:
			if (m->g != NULL &&
			    (svc->replay_window_ms > 0 || svc->has_fresh)) {
				enum guard_rc rc =
				    guard(m, s, matched, data, len, final);
				if (rc == GUARD_WAIT)
					return false;
				if (rc == GUARD_FAIL)
					break;
				if (svc->replay_window_ms > 0 &&
				    m->g->replay != NULL)
					replay_add(m->g->replay, m->g->digest,
					           m->g->mono_ms,
					           svc->replay_window_ms);
			}
			v->kind = VERDICT_SERVICE;
			v->service = svc;
			v->sig = matched;
			return true;
		case SIG_UNDECIDED:
			return false;
		case SIG_NOMATCH:
			break;
		}
	}
	v->kind = VERDICT_FALLBACK;
	v->service = m->fallback;
	return true;
}

/* Evaluates the undecided signatures on LEN bytes. */
static void
eval_all(struct matcher *m, const uint8_t *data, size_t len, bool final,
         struct sig_scratch *scratch)
{
	for (size_t g = 0; g < m->cfg->ngroups; g++)
		eval_group(m, g, data, len, final, scratch);
	m->seen = len;
}

bool
matcher_feed(struct matcher *m, const uint8_t *data, size_t len,
             enum matcher_end end, struct sig_scratch *scratch,
             struct verdict *v)
{
	const struct config *cfg = m->cfg;
	bool full = len >= cfg->max_peek;

	memset(v, 0, sizeof(*v));
	if (full)
		len = cfg->max_peek;
	v->bytes = len;
	/* New bytes are first judged as bytes that more may follow: a
	 * verdict they reach is the one a slower client would have got, and
	 * the final evaluation below then only settles what they left open
	 * (rule 4), which is what the explanation reports. */
	if (len > m->seen || len == 0)
		eval_all(m, data, len, false, scratch);
	/* With no ranked service at all, "everything ruled out" is only
	 * true of a client that said something: a silent one still waits
	 * for the timer. */
	if ((len > 0 || cfg->nservices > 0) && rank(m, data, len, false, v))
		return true;
	if (end == MATCHER_MORE && !full)
		return false;
	for (size_t s = 0; s < cfg->nservices; s++) {
		size_t unused;
		before(m)[s] =
		    m->g != NULL && out(m)[s] != OUT_NONE
		        ? SIG_NOMATCH
		        : (uint8_t)service_state(m, &cfg->services[s], &unused);
	}
	eval_all(m, data, len, true, scratch);
	m->final = true;
	v->end = end;
	v->full = full;
	rank(m, data, len, true, v);
	if (v->kind == VERDICT_FALLBACK && end == MATCHER_TIMEOUT) {
		v->kind = VERDICT_TIMEOUT;
		v->service = m->timeout;
	}
	return true;
}

bool
matcher_frames_due(struct matcher *m, const uint8_t *data, size_t len,
                   struct sig_scratch *scratch, struct verdict *v)
{
	if (len > m->cfg->max_peek)
		len = m->cfg->max_peek;
	memset(v, 0, sizeof(*v));
	v->bytes = len;
	m->due = true;
	/* Only the framed groups can change: the others saw these bytes. */
	for (size_t g = 0; g < m->cfg->ngroups; g++)
		if (m->cfg->groups[g].has_frame)
			eval_group(m, g, data, len, false, scratch);
	return len > 0 && rank(m, data, len, false, v);
}

/* Appends the services a guard ruled out to BUF, which holds O bytes. */
static void
explain_guards(const struct matcher *m, char *buf, size_t len, size_t o)
{
	bool any = false;

	for (size_t s = 0; m->g != NULL && s < m->cfg->nservices && o < len;
	     s++) {
		if (out(m)[s] == OUT_NONE)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s (%s)",
		                      any ? "," : "; ruled out by a guard: ",
		                      m->cfg->services[s].name,
		                      out_text[out(m)[s]]);
		any = true;
	}
}

void
matcher_explain(const struct matcher *m, const struct verdict *v, char *buf,
                size_t len)
{
	const struct config *cfg = m->cfg;
	size_t o;
	bool any = false;

	if (v->kind == VERDICT_SERVICE) {
		const struct sigdef *d = &cfg->sigs[v->sig];
		const struct group *g = &cfg->groups[d->group];
		char text[96];
		bytes_display(d->text, text, sizeof(text));
		o = (size_t)snprintf(
		    buf, len, "%s%s%s%s:%d %s '%s'",
		    g->name ? "signature " : "", g->name ? g->name : "",
		    g->name ? " " : "", d->file, d->line,
		    sig_is_regex(d->sig) ? "regex" : "string", text);
		explain_guards(m, buf, len, o);
		return;
	}
	o = (size_t)snprintf(buf, len, "%s",
	                     !m->final ? "every service ruled out"
	                     : v->kind == VERDICT_TIMEOUT
	                         ? "timeout, nothing matched"
	                     : v->full ? "max_peek reached, nothing matched"
	                               : "client closed, nothing matched");
	/* Name the services that only the final evaluation ruled out. */
	for (size_t s = 0; m->final && s < cfg->nservices && o < len; s++) {
		if (before(m)[s] != SIG_UNDECIDED)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
		                      any ? "," : "; undecided until then: ",
		                      cfg->services[s].name);
		any = true;
	}
	explain_guards(m, buf, len, o);
}

const char *
verdict_service_name(const struct verdict *v)
{
	if (v->service != NULL)
		return v->service->name;
	return v->kind == VERDICT_TIMEOUT ? "timeout" : "fallback";
}
