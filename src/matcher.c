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
 * the first time a client's message spans records. */
#include "matcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

struct matcher {
	const struct config *cfg;
	size_t seen;     /* bytes evaluated last time */
	bool final;      /* the final evaluation was done */
	uint8_t *before; /* service states before the final evaluation */
	uint8_t *view;   /* joined records (frame join), max_peek bytes */
	const struct service *fallback, *timeout; /* where nothing goes */
	uint8_t state[]; /* one enum sig_state per config->sigs */
};

struct matcher *
matcher_new(const struct config *cfg)
{
	struct matcher *m = calloc(1, sizeof(*m) + cfg->nsigs + cfg->nservices);

	if (m == NULL)
		return NULL;
	m->cfg = cfg;
	m->before = m->state + cfg->nsigs;
	m->fallback = cfg->fallback;
	m->timeout = cfg->timeout;
	return m;
}

void
matcher_free(struct matcher *m)
{
	if (m != NULL)
		free(m->view);
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

static void
eval_group(struct matcher *m, const struct group *g, const uint8_t *data,
           size_t len, bool final, struct sig_scratch *scratch)
{
	if (g->has_frame && g->frame.join) {
		bool ended;
		size_t cap = m->cfg->max_peek;
		if (m->view == NULL && (m->view = malloc(cap)) == NULL) {
			/* Out of memory: judge the first record alone. */
			cap = 0;
		}
		data = frame_view(&g->frame, data, len, m->view, cap, &len,
		                  &ended);
		if (ended)
			final = true;
	}
	if (g->has_frame) {
		int64_t flen = frame_length(&g->frame, data, len);
		if (flen >= 0 && (uint64_t)flen <= len) {
			len = (size_t)flen;
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

/* Applies rules 2 and 3; true when decided. */
static bool
rank(const struct matcher *m, struct verdict *v)
{
	const struct config *cfg = m->cfg;

	for (size_t s = 0; s < cfg->nservices; s++) {
		size_t matched = 0;
		switch (service_state(m, &cfg->services[s], &matched)) {
		case SIG_MATCH:
			v->kind = VERDICT_SERVICE;
			v->service = &cfg->services[s];
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
		eval_group(m, &m->cfg->groups[g], data, len, final, scratch);
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
	if ((len > 0 || cfg->nservices > 0) && rank(m, v))
		return true;
	if (end == MATCHER_MORE && !full)
		return false;
	for (size_t s = 0; s < cfg->nservices; s++) {
		size_t unused;
		m->before[s] =
		    (uint8_t)service_state(m, &cfg->services[s], &unused);
	}
	eval_all(m, data, len, true, scratch);
	m->final = true;
	v->end = end;
	v->full = full;
	rank(m, v);
	if (v->kind == VERDICT_FALLBACK && end == MATCHER_TIMEOUT) {
		v->kind = VERDICT_TIMEOUT;
		v->service = m->timeout;
	}
	return true;
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
		snprintf(buf, len, "%s%s%s%s:%d %s '%s'",
		         g->name ? "signature " : "", g->name ? g->name : "",
		         g->name ? " " : "", d->file, d->line,
		         sig_is_regex(d->sig) ? "regex" : "string", text);
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
		if (m->before[s] != SIG_UNDECIDED)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
		                      any ? "," : "; undecided until then: ",
		                      cfg->services[s].name);
		any = true;
	}
}

const char *
verdict_service_name(const struct verdict *v)
{
	if (v->service != NULL)
		return v->service->name;
	return v->kind == VERDICT_TIMEOUT ? "timeout" : "fallback";
}
