/* SPDX-License-Identifier: ISC */
/* sigparam: the placeholders of a parameterised library signature. A
 * `regex =` line of a signature file may hold `%{KIND}` or `%{KIND:LEN}`;
 * `signature = NAME ARG...` replaces each with an alternation built from the
 * ARGs, so that users route by server name or protocol id without writing
 * byte regexes, and no protocol is compiled into the program. Pure.
 *
 *   KIND hostname  each ARG a DNS name, matched case-insensitively; a first
 *                  label `*` stands for exactly one label
 *   KIND bytes     each ARG a byte string (`\XX` escapes as in `string =`),
 *                  matched exactly
 *   LEN  u8, be16, le16: each alternative is preceded by the length of the
 *                  name it matches, in that encoding (outside the
 *                  case-insensitive group, so 0x41 never matches 0x61)
 *
 * With `--` among the ARGs, they form groups, and the placeholders of a
 * pattern take them in order (the first placeholder the first group...):
 * `signature = tls-sni-alpn example.org -- h2` fills a host name and an
 * ALPN id. Without `--`, every placeholder takes all the ARGs.
 *
 * A backslash and the character after it are copied as they are, so `\%`
 * writes a literal `%` even before `{`. */
#ifndef PORTSPLIT_SIGPARAM_H
#define PORTSPLIT_SIGPARAM_H

#include <stddef.h>

enum sigparam_rc {
	SIGPARAM_OK = 0,
	SIGPARAM_BAD_PATTERN = -1, /* a placeholder is malformed */
	SIGPARAM_BAD_ARG = -2,     /* an argument does not fit its kind */
};

/* Expands the placeholders of PATTERN with the NARGS ARGS into a malloc'd
 * *OUT (caller frees) and counts them in *COUNT. With no ARGS, a pattern
 * with placeholders is counted but not expanded (*OUT NULL, SIGPARAM_OK):
 * the caller reports the missing arguments once per signature. On error
 * ERR says what is wrong and *OUT is NULL. */
enum sigparam_rc sigparam_expand(const char *pattern, char *const *args,
                                 size_t nargs, char **out, size_t *count,
                                 char *err, size_t errlen);

#endif
