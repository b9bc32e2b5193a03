/* SPDX-License-Identifier: ISC */
/* sig: compiling and evaluating one signature.
 *
 * Regexes are compiled with PCRE2_ANCHORED (at compile time, because at
 * match time it would turn JIT off) and matched with PCRE2_PARTIAL_HARD
 * while more data may come: PCRE2_ERROR_PARTIAL means the pattern could
 * still match with more bytes, which is exactly UNDECIDED. HARD rather than
 * SOFT, because SOFT reports a full match as soon as one exists and so
 * decides too early on `$`, `\b` and lookaheads. When the data is final one
 * plain match decides. Match and depth limits bound the cost of any pattern
 * on any input.
 *
 * The data is bytes, not lines of text, so `.` matches any byte, a newline
 * too (PCRE2_DOTALL; `(?-s)` in a pattern turns it off). Without it, every
 * binary field written as `.` (a length, an ID, a nonce) would refuse the
 * values 0x0a and, under some newline conventions, 0x0d: a TLS record of
 * length 0x010e or a DNS query whose random ID holds 0x0a would miss. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "sig.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Backtracking budget per evaluation: SIG_MATCH_LIMIT, plus
 * SIG_MATCH_PER_BYTE per byte of the subject. A pattern that scans (`.*?X`)
 * spends about one unit per byte, so a fixed budget would rule it out
 * (a limit hit counts as no match) once the data passed ~50 000 bytes, which
 * max_peek allows; the per-byte part keeps such patterns answering at any
 * max_peek while a pathological one stays bounded by the subject's length.
 * With JIT a unit costs a few nanoseconds: at most about 1 ms at the largest
 * max_peek. */
#define SIG_MATCH_LIMIT 50000
#define SIG_MATCH_PER_BYTE 4
#define SIG_DEPTH_LIMIT 2000
#define SIG_HEAP_LIMIT_KIB 1024

struct sig {
	pcre2_code *re; /* NULL for a byte string */
	bool jit;
	size_t len;
	uint8_t bytes[]; /* the string, for a byte string */
};

struct sig_scratch {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	unsigned long limit_hits;
};

struct sig *
sig_new_string(const uint8_t *bytes, size_t len)
{
	struct sig *s = calloc(1, sizeof(*s) + len);

	if (s == NULL)
		return NULL;
	s->len = len;
	memcpy(s->bytes, bytes, len);
	return s;
}

struct sig *
sig_new_regex(const char *pattern, char *err, size_t errlen)
{
	int errcode;
	PCRE2_SIZE erroff;
	struct sig *s;
	pcre2_code *re =
	    pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	                  PCRE2_ANCHORED | PCRE2_DOTALL | PCRE2_NEVER_UTF |
	                      PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C,
	                  &errcode, &erroff, NULL);

	if (re == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		snprintf(err, errlen, "bad regex at offset %zu: %s",
		         (size_t)erroff, (const char *)msg);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		pcre2_code_free(re);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->re = re;
	/* JIT is an optimisation: without it (an unsupported platform, or
	 * SELinux forbidding executable memory) the interpreter gives the
	 * same answers under the same limits. */
	s->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE |
	                                   PCRE2_JIT_PARTIAL_HARD) == 0;
	return s;
}

void
sig_free(struct sig *sig)
{
	if (sig == NULL)
		return;
	pcre2_code_free(sig->re);
	free(sig);
}

bool
sig_is_regex(const struct sig *sig)
{
	return sig->re != NULL;
}

bool
sig_is_jit(const struct sig *sig)
{
	return sig->jit;
}

static enum sig_state
eval_string(const struct sig *sig, const uint8_t *data, size_t len, bool final)
{
	if (len >= sig->len)
		return memcmp(data, sig->bytes, sig->len) == 0 ? SIG_MATCH
		                                               : SIG_NOMATCH;
	if (memcmp(data, sig->bytes, len) != 0 || final)
		return SIG_NOMATCH;
	return SIG_UNDECIDED;
}

enum sig_state
sig_eval(const struct sig *sig, const uint8_t *data, size_t len, bool final,
         struct sig_scratch *scratch)
{
	int rc;

	if (sig->re == NULL)
		return eval_string(sig, data, len, final);
	/* PCRE2 reports no partial match on an empty subject, but nothing
	 * can be ruled out before the first byte. */
	if (len == 0 && !final)
		return SIG_UNDECIDED;
	if (len == 0)
		data = (const uint8_t *)""; /* PCRE2 wants a valid pointer */
	pcre2_set_match_limit(scratch->mctx,
	                      SIG_MATCH_LIMIT +
	                          SIG_MATCH_PER_BYTE * (uint32_t)len);
	rc = pcre2_match(sig->re, data, len, 0, final ? 0 : PCRE2_PARTIAL_HARD,
	                 scratch->md, scratch->mctx);
	if (rc >= 0)
		return SIG_MATCH;
	if (rc == PCRE2_ERROR_PARTIAL)
		return SIG_UNDECIDED;
	if (rc != PCRE2_ERROR_NOMATCH)
		scratch->limit_hits++;
	return SIG_NOMATCH;
}

struct sig_scratch *
sig_scratch_new(void)
{
	struct sig_scratch *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->md = pcre2_match_data_create(1, NULL);
	s->mctx = pcre2_match_context_create(NULL);
	s->jstack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	if (s->md == NULL || s->mctx == NULL) {
		sig_scratch_free(s);
		return NULL;
	}
	pcre2_set_match_limit(s->mctx, SIG_MATCH_LIMIT);
	pcre2_set_depth_limit(s->mctx, SIG_DEPTH_LIMIT);
	pcre2_set_heap_limit(s->mctx, SIG_HEAP_LIMIT_KIB);
	if (s->jstack != NULL)
		pcre2_jit_stack_assign(s->mctx, NULL, s->jstack);
	return s;
}

void
sig_scratch_free(struct sig_scratch *scratch)
{
	if (scratch == NULL)
		return;
	pcre2_match_data_free(scratch->md);
	pcre2_match_context_free(scratch->mctx);
	pcre2_jit_stack_free(scratch->jstack);
	free(scratch);
}

unsigned long
sig_scratch_limit_hits(const struct sig_scratch *scratch)
{
	return scratch->limit_hits;
}
