/* SPDX-License-Identifier: ISC */
/* Fuzzes the expansion of `%{KIND[:LEN]}` placeholders (sigparam.c). The
 * input is a pattern and up to 8 arguments separated by NUL bytes. Any
 * input either expands or is refused with a message; and an argument can
 * never change the shape of the pattern around it: when the pattern with
 * each placeholder replaced by a plain group compiles, the expansion
 * compiles too, unless it meets one of PCRE2's limits (size, fixed-length
 * lookbehind, nesting depth). */
#include "fuzz.h"

#include <stdbool.h>

#include "sig.h"
#include "sigparam.h"

#define MAX_ARGS 8

/* PATTERN with every placeholder as `(?:x)`, skipping `\` pairs as the
 * expansion does; NULL when a placeholder has no `}`, or stands inside a
 * character class (`[...]`): an expansion is a group of alternatives, meant
 * outside classes, and the shape property does not hold there. */
static char *
plain(const char *pattern)
{
	size_t n = strlen(pattern);
	char *out = malloc(n * 5 + 1), *o = out;
	const char *s = pattern;
	bool in_class = false;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] != '\0') {
			*o++ = *s++;
			*o++ = *s++;
		} else if (!in_class && s[0] == '[') {
			/* A class: `]` first (or after `^`) is a member. */
			in_class = true;
			*o++ = *s++;
			if (*s == '^')
				*o++ = *s++;
			if (*s == ']')
				*o++ = *s++;
		} else if (in_class && s[0] == ']') {
			in_class = false;
			*o++ = *s++;
		} else if (s[0] == '%' && s[1] == '{') {
			const char *close = strchr(s + 2, '}');
			if (close == NULL || in_class) {
				free(out);
				return NULL;
			}
			memcpy(o, "(?:x)", 5);
			o += 5;
			s = close + 1;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* Whether compile error ERR is one of PCRE2's limits. */
static bool
pcre2_limit(const char *err)
{
	return strstr(err, "too large") != NULL ||
	       strstr(err, "not fixed length") != NULL ||
	       strstr(err, "too deeply nested") != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_string(data, size), *args[MAX_ARGS], *out;
	char err[512], cerr[512];
	size_t nargs = 0, count;
	const char *end = copy + size;
	char *s = copy + strlen(copy) + 1;
	enum sigparam_rc rc;

	while (s < end && nargs < MAX_ARGS) {
		args[nargs++] = s;
		s += strlen(s) + 1;
	}
	err[0] = '\0';
	rc = sigparam_expand(copy, args, nargs, &out, &count, err, sizeof(err));
	if (rc != SIGPARAM_OK) {
		FUZZ_CHECK(out == NULL, "output with an error");
		FUZZ_CHECK(err[0] != '\0', "refused without a message");
		free(copy);
		return 0;
	}
	if (nargs == 0 || out == NULL) {
		FUZZ_CHECK(out == NULL, "output without arguments");
		free(copy);
		return 0;
	}
	FUZZ_CHECK(strlen(out) < 65536, "expansion of %zu bytes", strlen(out));
	if (count > 0) {
		char *p = plain(copy);
		struct sig *shape =
		    p ? sig_new_regex(p, cerr, sizeof(cerr)) : NULL;
		if (shape != NULL) {
			struct sig *full =
			    sig_new_regex(out, cerr, sizeof(cerr));
			/* Only PCRE2's limits may refuse it: its size, a
			 * lookbehind given arguments of several lengths,
			 * the nesting depth. The configuration then says so
			 * at the user's line (tests/config/signature-too-
			 * large.ini, signature-lookbehind.ini). */
			FUZZ_CHECK(full != NULL || pcre2_limit(cerr),
			           "'%s' compiles but its expansion '%s' does "
			           "not: %s",
			           p, out, cerr);
			sig_free(full);
			sig_free(shape);
		}
		free(p);
	} else {
		FUZZ_CHECK(strcmp(out, copy) == 0,
		           "no placeholder, yet the pattern changed");
	}
	free(out);
	free(copy);
	return 0;
}
