/* SPDX-License-Identifier: ISC */
/* Unit tests for matcher.c: every rule of SPEC §3, and the property that
 * the verdict does not depend on how the bytes were cut into segments. */
#include <unistd.h>

#include "config.h"
#include "matcher.h"
#include "unit.h"
#include "unit_config.h"

static struct sig_scratch *scratch;

/* Feeds DATA whole; returns the service name, or "pending". */
static const char *
feed(struct config *cfg, const char *data, size_t len, enum matcher_end end,
     struct verdict *v)
{
	static char name[64];
	struct matcher *m = matcher_new(cfg);
	bool done =
	    matcher_feed(m, (const uint8_t *)data, len, end, scratch, v);

	snprintf(name, sizeof(name), "%s",
	         done ? verdict_service_name(v) : "pending");
	matcher_free(m);
	return name;
}

#define FEED(cfg, lit, end) feed(cfg, lit, sizeof(lit) - 1, end, &v)

/* What a client sending DATA in pieces of the sizes CUTS gets: feeding
 * stops at the first verdict; if none by the end, the timer expires. */
static const char *
feed_cut(struct config *cfg, const uint8_t *data, size_t len,
         const size_t *cuts, size_t ncuts, int *kind)
{
	static char name[64];
	struct matcher *m = matcher_new(cfg);
	struct verdict v;
	size_t have = 0;
	bool done = false;

	for (size_t i = 0; i < ncuts && !done; i++) {
		have += cuts[i];
		done = matcher_feed(m, data, have, MATCHER_MORE, scratch, &v);
	}
	if (!done)
		matcher_feed(m, data, len, MATCHER_TIMEOUT, scratch, &v);
	snprintf(name, sizeof(name), "%s", verdict_service_name(&v));
	*kind = (int)v.kind;
	matcher_free(m);
	return name;
}

static void
rules(void)
{
	struct verdict v;
	struct config *cfg =
	    unit_config_must("bind = 127.0.0.1:1\n"
	                     "[a]\nstring = ABCD\nconnect = 127.0.0.1:2\n"
	                     "[b]\nstring = AB\nconnect = 127.0.0.1:3\n"
	                     "[c]\nregex = X+Y\n"
	                     "[fallback]\nconnect = 127.0.0.1:4\n");

	/* Rule 2: a lower match waits while a higher service is undecided. */
	ok_str(FEED(cfg, "AB", MATCHER_MORE), "pending",
	       "rule 2: 'AB' waits for [a], which is undecided");
	ok_str(FEED(cfg, "ABC", MATCHER_MORE), "pending",
	       "rule 2: 'ABC' still waits");
	ok_str(FEED(cfg, "ABX", MATCHER_MORE), "b",
	       "rule 2: 'ABX' rules [a] out, [b] wins at once");
	ok_str(FEED(cfg, "ABCD", MATCHER_MORE), "a",
	       "rule 1: 'ABCD' goes to [a], ranked first");
	ok(v.kind == VERDICT_SERVICE && v.service == &cfg->services[0] &&
	       v.sig == 0,
	   "the verdict names the service and the signature");
	/* Rule 3: all ruled out, fallback at once. */
	ok_str(FEED(cfg, "Q", MATCHER_MORE), "fallback",
	       "rule 3: one byte that rules everything out: fallback");
	ok(v.kind == VERDICT_FALLBACK && v.service == cfg->fallback,
	   "rule 3: the fallback section takes it");
	ok_str(FEED(cfg, "XXX", MATCHER_MORE), "pending",
	       "[c] X+Y undecided on XXX");
	/* Rule 4: final data (client FIN) settles undecided ones. */
	ok_str(FEED(cfg, "AB", MATCHER_EOF), "b",
	       "rule 4: 'AB' then FIN: [a] ruled out, [b] matches");
	ok_str(FEED(cfg, "XXX", MATCHER_EOF), "fallback",
	       "rule 4: 'XXX' then FIN: fallback");
	ok_str(FEED(cfg, "", MATCHER_EOF), "fallback",
	       "rule 4: nothing then FIN: fallback");
	/* Rule 5: the timer does the same final evaluation, else timeout. */
	ok_str(FEED(cfg, "ABC", MATCHER_TIMEOUT), "b",
	       "rule 5: 'ABC' at timeout goes to [b]");
	ok_str(FEED(cfg, "XX", MATCHER_TIMEOUT), "timeout",
	       "rule 5: 'XX' at timeout: timeout");
	ok(v.kind == VERDICT_TIMEOUT && v.service == NULL,
	   "rule 5: no [timeout] section: the verdict closes");
	ok_str(FEED(cfg, "", MATCHER_TIMEOUT), "timeout",
	       "rule 5: a silent client: timeout");
	config_unref(cfg);

	/* Any of a service's lines matches; max_peek makes data final. */
	cfg = unit_config_must("bind = 127.0.0.1:1\nmax_peek = 8\n"
	                       "[s]\nstring = SSH-\nregex = (?s).*?needle\n"
	                       "[timeout]\nconnect = 127.0.0.1:5\n");
	ok_str(FEED(cfg, "SSH-2.0", MATCHER_MORE), "s",
	       "a string line matches");
	ok_str(FEED(cfg, "a needle", MATCHER_MORE), "s",
	       "a regex line matches");
	ok_str(FEED(cfg, "12345678", MATCHER_MORE), "fallback",
	       "max_peek reached: undecided signatures count as no match");
	ok(v.full && v.bytes == 8, "the verdict says max_peek was reached");
	ok_str(FEED(cfg, "1234567890needle", MATCHER_MORE), "fallback",
	       "bytes past max_peek are not examined");
	ok_str(FEED(cfg, "abc", MATCHER_TIMEOUT), "timeout",
	       "the [timeout] section takes a timeout");
	ok(v.service == cfg->timeout, "... as its service");
	config_unref(cfg);

	/* Only the special sections: talkers go to fallback, silent clients
	 * wait for the timer. */
	cfg = unit_config_must("bind = 127.0.0.1:1\n"
	                       "[fallback]\nconnect = 127.0.0.1:4\n"
	                       "[timeout]\nconnect = 127.0.0.1:5\n");
	ok_str(FEED(cfg, "", MATCHER_MORE), "pending",
	       "no ranked service: a silent client waits");
	ok_str(FEED(cfg, "", MATCHER_TIMEOUT), "timeout",
	       "no ranked service: a silent client gets [timeout]");
	ok_str(FEED(cfg, "x", MATCHER_MORE), "fallback",
	       "no ranked service: any byte goes to [fallback]");
	config_unref(cfg);
}

static void
framing(void)
{
	struct verdict v;
	/* A TLS-like record: type 0x16, version, 16-bit length; [named]
	 * searches for a name inside the first record only. */
	struct config *cfg = unit_config_must("bind = 127.0.0.1:1\n"
	                                      "[named]\nframe = 3:be16+5\n"
	                                      "regex = \\x16(?s).*?example\n"
	                                      "[plain]\nstring = \\16\n");
	static const char rec_other[] = "\x16\x03\x01\x00\x05hello";
	static const char rec_named[] = "\x16\x03\x01\x00\x07"
	                                "example";
	static const char rec_later[] = "\x16\x03\x01\x00\x05helloexample";

	ok_str(FEED(cfg, "\x16\x03\x01\x00\x05hel", MATCHER_MORE), "pending",
	       "frame: incomplete first message, [named] undecided");
	ok_str(FEED(cfg, rec_other, MATCHER_MORE), "plain",
	       "frame: complete message without the name goes to [plain] at "
	       "once");
	ok_str(FEED(cfg, rec_named, MATCHER_MORE), "named",
	       "frame: the name inside the message matches");
	ok_str(FEED(cfg, rec_later, MATCHER_MORE), "plain",
	       "frame: the name after the first message is not looked at");
	config_unref(cfg);
}

/* The verdict is the same whether the bytes come one at a time, in random
 * pieces, or all at once. */
static void
segmentation(void)
{
	struct config *cfg =
	    unit_config_must("bind = 127.0.0.1:1\nmax_peek = 64\n"
	                     "[a]\nstring = ABCA\nregex = AB(?=CC)\n"
	                     "[b]\nregex = A[BC]*D$\n"
	                     "[c]\nframe = 1:u8+2\nregex = \\x03(?s).*?BB\n"
	                     "[d]\nstring = AB\nregex = \\x03\n"
	                     "[e]\nregex = (?:C|D)+?A\n"
	                     "[fallback]\nconnect = 127.0.0.1:9\n");
	static const char alphabet[] = "ABCD\x03\x02";
	unsigned seed = 12345;
	int mismatches = 0, inputs = 2000;
	size_t verdicts[8] = {0};

	for (int n = 0; n < inputs; n++) {
		uint8_t data[24];
		size_t len = (size_t)(rand_r(&seed) % 20), cuts[24], ncuts = 0;
		const char *want, *got;
		int kwant, kgot;

		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)alphabet[rand_r(&seed) % 6];
		cuts[0] = len;
		want = feed_cut(cfg, data, len, cuts, 1, &kwant);
		verdicts[*want - 'a' < 5 ? *want - 'a' : 5 + kwant]++;
		/* One byte at a time. */
		for (size_t i = 0; i < len; i++)
			cuts[i] = 1;
		got = feed_cut(cfg, data, len, cuts, len, &kgot);
		if (strcmp(got, want) != 0 || kgot != kwant) {
			if (mismatches++ < 5)
				printf("# bytewise: %s, whole: %s\n", got,
				       want);
		}
		/* Random pieces. */
		for (size_t have = 0; have < len; have += cuts[ncuts++]) {
			cuts[ncuts] = 1 + (size_t)rand_r(&seed) % 5;
			if (have + cuts[ncuts] > len)
				cuts[ncuts] = len - have;
		}
		got = feed_cut(cfg, data, len, cuts, ncuts, &kgot);
		if (strcmp(got, want) != 0 || kgot != kwant) {
			if (mismatches++ < 5)
				printf("# chunked: %s, whole: %s\n", got, want);
		}
	}
	ok(mismatches == 0,
	   "%d random inputs: bytewise = chunked = whole (%d differences)",
	   inputs, mismatches);
	/* The corpus must exercise every outcome, or the property is empty. */
	ok(verdicts[0] && verdicts[1] && verdicts[2] && verdicts[3] &&
	       verdicts[4] && verdicts[5 + VERDICT_FALLBACK] &&
	       verdicts[5 + VERDICT_TIMEOUT],
	   "the inputs reach every service, fallback and timeout "
	   "(a%zu b%zu c%zu d%zu e%zu fallback%zu timeout%zu)",
	   verdicts[0], verdicts[1], verdicts[2], verdicts[3], verdicts[4],
	   verdicts[5 + VERDICT_FALLBACK], verdicts[5 + VERDICT_TIMEOUT]);
	config_unref(cfg);
}

/* A service ruled out for a client (its allow/deny) never matches: the
 * next one decides, and with none left the fallback at once. */
static void
ruled_out(void)
{
	struct verdict v;
	struct config *cfg =
	    unit_config_must("bind = 127.0.0.1:1\n"
	                     "[a]\nstring = AB\nconnect = 127.0.0.1:2\n"
	                     "[b]\nstring = A\nconnect = 127.0.0.1:3\n"
	                     "[fallback]\nconnect = 127.0.0.1:4\n");
	struct matcher *m = matcher_new(cfg);

	matcher_rule_out(m, 0);
	ok(matcher_feed(m, (const uint8_t *)"A", 1, MATCHER_MORE, scratch,
	                &v) &&
	       v.service == &cfg->services[1],
	   "[a] ruled out: 'A' goes to [b] without waiting for [a]");
	matcher_free(m);
	m = matcher_new(cfg);
	matcher_rule_out(m, 0);
	matcher_rule_out(m, 1);
	ok(matcher_feed(m, (const uint8_t *)"AB", 2, MATCHER_MORE, scratch,
	                &v) &&
	       v.kind == VERDICT_FALLBACK,
	   "both ruled out: 'AB', which [a] matches, goes to fallback");
	matcher_free(m);
	m = matcher_new(cfg);
	ok(matcher_feed(m, (const uint8_t *)"AB", 2, MATCHER_MORE, scratch,
	                &v) &&
	       v.service == &cfg->services[0],
	   "without the rule-out, 'AB' goes to [a]");
	matcher_free(m);
	/* A listener's own fallback and timeout (role =). */
	const struct service *own = &cfg->services[1];
	m = matcher_new(cfg);
	matcher_set_specials(m, own, NULL);
	ok(matcher_feed(m, (const uint8_t *)"Q", 1, MATCHER_MORE, scratch,
	                &v) &&
	       v.kind == VERDICT_FALLBACK && v.service == own,
	   "a listener's own fallback takes what everything rules out");
	matcher_free(m);
	m = matcher_new(cfg);
	matcher_set_specials(m, cfg->fallback, own);
	ok(matcher_feed(m, (const uint8_t *)"", 0, MATCHER_TIMEOUT, scratch,
	                &v) &&
	       v.kind == VERDICT_TIMEOUT && v.service == own,
	   "and its own timeout the silent client");
	matcher_free(m);
	config_unref(cfg);
}

int
main(void)
{
	scratch = sig_scratch_new();
	rules();
	ruled_out();
	framing();
	segmentation();
	sig_scratch_free(scratch);
	return unit_done();
}
