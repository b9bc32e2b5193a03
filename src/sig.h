/* SPDX-License-Identifier: ISC */
/* sig: one signature, a byte string or a PCRE2 pattern, compiled once and
 * evaluated against the bytes a client has sent so far. Pure: no sockets,
 * no logging. */
#ifndef PORTSPLIT_SIG_H
#define PORTSPLIT_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The three states of SPEC §3. UNDECIDED is zero so that a zeroed state
 * array means "nothing evaluated yet". */
enum sig_state { SIG_UNDECIDED = 0, SIG_MATCH, SIG_NOMATCH };

/* A compiled signature. Owned by the configuration that made it; read-only
 * once made, so any number of connections evaluate it at once. */
struct sig;

/* Per-loop scratch for evaluation (PCRE2 match data, limits, JIT stack). One
 * per thread of evaluation; not shared between threads. */
struct sig_scratch;

/* Makes a signature matching data that starts with BYTES (copied). */
struct sig *sig_new_string(const uint8_t *bytes, size_t len);
/* Compiles PATTERN (anchored, `.` matching any byte, no UTF, JIT when
 * available). On error returns NULL with a message naming the offset in
 * ERR. */
struct sig *sig_new_regex(const char *pattern, char *err, size_t errlen);
/* Frees SIG; NULL is allowed. */
void sig_free(struct sig *sig);
/* True for a regex signature. */
bool sig_is_regex(const struct sig *sig);
/* True when the regex runs JIT-compiled (always false for strings). */
bool sig_is_jit(const struct sig *sig);

/* Evaluates SIG on the LEN bytes at DATA. FINAL says no more bytes will be
 * considered: then the answer is MATCH or NOMATCH, never UNDECIDED. An
 * evaluation that hits the match limits counts as NOMATCH and bumps the
 * scratch's limit counter. */
enum sig_state sig_eval(const struct sig *sig, const uint8_t *data, size_t len,
                        bool final, struct sig_scratch *scratch);

/* Makes the scratch space; NULL when out of memory. */
struct sig_scratch *sig_scratch_new(void);
/* Frees it; NULL is allowed. */
void sig_scratch_free(struct sig_scratch *scratch);
/* Evaluations that hit a limit since the scratch was made. */
unsigned long sig_scratch_limit_hits(const struct sig_scratch *scratch);

#endif
