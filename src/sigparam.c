/* SPDX-License-Identifier: ISC */
/* sigparam: expanding `%{KIND[:LEN]}` placeholders into regex text.
 *
 * Every argument becomes one alternative of a non-capturing group. Bytes
 * that PCRE2 could read as syntax are written as `\xHH`, so an argument can
 * never change the shape of the pattern around it. A length prefix is
 * written as `\xHH` escapes outside any `(?i:...)`, because caseless
 * matching applies to escapes too and would let a length of 0x41 match a
 * byte 0x61.
 *
 * A wildcard name `*.example.org` with a length prefix cannot be one regex
 * branch with a range of lengths: nothing would tie the length to the end
 * of the name, and `a.example.org.evil.net` would pass as a prefix. So it is
 * written as one branch per length of the first label (1 to 63), each with
 * its exact length value: about a kilobyte of pattern, compiled once. */
#define _GNU_SOURCE
#include "sigparam.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* No expansion may grow past this: it is compiled into every connection's
 * matching, and a config that needs more is a mistake. */
#define SIGPARAM_MAX_OUT 65536
#define DNS_MAX_NAME 253
#define DNS_MAX_LABEL 63

struct buf {
	char *s;
	size_t len, cap;
	bool overflow;
};

static void put(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0 || b->len + (size_t)n >= SIGPARAM_MAX_OUT) {
			b->overflow = true;
			return;
		}
		if (b->len + (size_t)n < b->cap)
			break;
		size_t cap = b->cap * 2 + (size_t)n;
		char *grown = realloc(b->s, cap);
		if (grown == NULL) {
			b->overflow = true;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
	b->len += (size_t)n;
}

enum kind { KIND_HOSTNAME, KIND_BYTES };

struct placeholder {
	enum kind kind;
	unsigned width; /* 0: no length prefix */
	bool little;
};

/* Reads `KIND[:LEN]` between `%{` and `}`. */
static int
parse_placeholder(const char *s, size_t n, struct placeholder *ph, char *err,
                  size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	size_t klen = colon ? (size_t)(colon - s) : n;

	memset(ph, 0, sizeof(*ph));
	if (klen == 8 && memcmp(s, "hostname", 8) == 0)
		ph->kind = KIND_HOSTNAME;
	else if (klen == 5 && memcmp(s, "bytes", 5) == 0)
		ph->kind = KIND_BYTES;
	else
		goto bad;
	if (colon != NULL) {
		const char *l = colon + 1;
		size_t llen = n - klen - 1;
		if (llen == 2 && memcmp(l, "u8", 2) == 0)
			ph->width = 1;
		else if (llen == 4 && memcmp(l, "be16", 4) == 0)
			ph->width = 2;
		else if (llen == 4 && memcmp(l, "le16", 4) == 0) {
			ph->width = 2;
			ph->little = true;
		} else
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen,
	         "bad placeholder '%%{%.*s}': expected %%{hostname} or "
	         "%%{bytes}, optionally with :u8, :be16 or :le16",
	         (int)(n > 40 ? 40 : n), s);
	return -1;
}

static void
put_length(struct buf *b, const struct placeholder *ph, size_t v)
{
	if (ph->width == 1)
		put(b, "\\x%02x", (unsigned)v);
	else if (ph->little)
		put(b, "\\x%02x\\x%02x", (unsigned)(v & 0xff),
		    (unsigned)(v >> 8));
	else if (ph->width == 2)
		put(b, "\\x%02x\\x%02x", (unsigned)(v >> 8),
		    (unsigned)(v & 0xff));
}

/* Writes one byte as a regex literal that means that byte only: PCRE2
 * reads a backslash before any punctuation as that character itself, and
 * `-`, `/` and `_` mean themselves outside a class. */
static void
put_literal(struct buf *b, uint8_t c)
{
	if (isalnum(c) || c == '_' || c == '-' || c == '/')
		put(b, "%c", c);
	else if (c > 0x20 && c < 0x7f)
		put(b, "\\%c", c);
	else
		put(b, "\\x%02x", c);
}

static bool
hostname_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* Checks a DNS name: labels of letters, digits, '-' and '_', 1 to 63 each,
 * at most 253 in all, `*` only as the whole first label and not alone. A
 * final dot is dropped (*LEN excludes it). */
static int
check_hostname(const char *name, size_t *len, bool *wild, char *err,
               size_t errlen)
{
	size_t n = strlen(name), label = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	*wild = n >= 2 && name[0] == '*' && name[1] == '.';
	if (n == 0 || n > DNS_MAX_NAME)
		goto bad;
	for (size_t i = *wild ? 2 : 0; i < n; i++) {
		if (name[i] == '.') {
			if (label == 0)
				goto bad;
			label = 0;
		} else if (hostname_char(name[i]) && ++label <= DNS_MAX_LABEL) {
			continue;
		} else {
			goto bad;
		}
	}
	if (label == 0)
		goto bad;
	*len = n;
	return 0;
bad:
	snprintf(err, errlen,
	         "'%s' is not a host name (labels of letters, digits, '-' and "
	         "'_', 1 to 63 each, 253 in all; '*' only as the first label "
	         "of a longer name, e.g. *.example.org)",
	         name);
	return -1;
}

static int
put_hostname(struct buf *b, const struct placeholder *ph, const char *name,
             char *err, size_t errlen)
{
	size_t n, start;
	bool wild;

	if (check_hostname(name, &n, &wild, err, errlen) < 0)
		return -1;
	start = wild ? 1 : 0; /* the suffix starts at the dot */
	if (!wild) {
		put_length(b, ph, n);
	} else if (ph->width == 0) {
		put(b, "[\\w-]{1,%d}", DNS_MAX_LABEL);
	} else {
		/* One branch per first-label length, see the top. A name is
		 * at most 253 bytes, so the high byte of a be16 length is 0
		 * in every branch and is written once, before them.
		 * The lookahead on the range of that low byte rejects most
		 * positions of a search at once, instead of trying 63
		 * branches at each (a sixfold speed-up on adversarial input).
		 */
		bool be16 = ph->width == 2 && !ph->little;
		struct placeholder low = {.kind = ph->kind, .width = 1};
		size_t kmax = DNS_MAX_LABEL;
		if (n - 1 + kmax > DNS_MAX_NAME)
			kmax = DNS_MAX_NAME - (n - 1);
		put(b, "%s(?=[\\x%02x-\\x%02x])(?:", be16 ? "\\x00" : "",
		    (unsigned)n, (unsigned)(n - 1 + kmax));
		for (size_t k = 1; k <= kmax; k++) {
			put(b, "%s", k > 1 ? "|" : "");
			put_length(b, be16 ? &low : ph, n - 1 + k);
			put(b, "[\\w-]{%zu}", k);
		}
		put(b, ")");
	}
	put(b, "(?i:");
	for (size_t i = start; i < n; i++)
		put_literal(b, (uint8_t)name[i]);
	put(b, ")");
	return 0;
}

static int
put_bytes(struct buf *b, const struct placeholder *ph, const char *arg,
          char *err, size_t errlen)
{
	uint8_t *bytes;
	size_t len;
	char why[256];

	if (bytes_decode(arg, &bytes, &len, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "'%s': %s", arg, why);
		return -1;
	}
	if (len == 0 || (ph->width == 1 && len > 255)) {
		snprintf(err, errlen, "'%s': %s", arg,
		         len == 0 ? "empty" : "longer than 255 bytes");
		free(bytes);
		return -1;
	}
	put_length(b, ph, len);
	for (size_t i = 0; i < len; i++)
		put_literal(b, bytes[i]);
	free(bytes);
	return 0;
}

/* The argument group of placeholder number K (from 0): with no `--` every
 * placeholder takes all the arguments; with `--`, the groups it separates
 * go to the placeholders in order. Sets *FIRST and *N. */
static void
arg_group(char *const *args, size_t nargs, size_t k, size_t *first, size_t *n)
{
	size_t g = 0, start = 0;

	for (size_t i = 0; i <= nargs; i++) {
		if (i < nargs && strcmp(args[i], "--") != 0)
			continue;
		if (g == k) {
			*first = start;
			*n = i - start;
			return;
		}
		g++;
		start = i + 1;
	}
	*first = 0;
	*n = nargs; /* a single group: everything */
}

/* How many `--`-separated groups ARGS holds (1 without `--`). */
static size_t
arg_groups(char *const *args, size_t nargs)
{
	size_t groups = 1;

	for (size_t i = 0; i < nargs; i++)
		groups += strcmp(args[i], "--") == 0;
	return groups;
}

enum sigparam_rc
sigparam_expand(const char *pattern, char *const *args, size_t nargs,
                char **out, size_t *count, char *err, size_t errlen)
{
	struct buf b = {0};
	enum sigparam_rc rc = SIGPARAM_OK;
	const char *s = pattern;
	size_t groups = arg_groups(args, nargs);

	*out = NULL;
	*count = 0;
	b.cap = strlen(pattern) + 256;
	b.s = malloc(b.cap);
	if (b.s == NULL) {
		snprintf(err, errlen, "out of memory");
		return SIGPARAM_BAD_PATTERN;
	}
	b.s[0] = '\0';
	while (*s != '\0') {
		if (s[0] == '\\' && s[1] != '\0') {
			put(&b, "%c%c", s[0], s[1]);
			s += 2;
			continue;
		}
		if (s[0] != '%' || s[1] != '{') {
			put(&b, "%c", *s++);
			continue;
		}
		const char *close = strchr(s + 2, '}');
		struct placeholder ph;
		size_t first, n;
		(*count)++; /* even a bad one: the file meant to have one */
		if (close == NULL) {
			snprintf(err, errlen,
			         "placeholder '%%{' without '}' (write \\%% "
			         "for a literal %%)");
			rc = SIGPARAM_BAD_PATTERN;
			goto done;
		}
		if (parse_placeholder(s + 2, (size_t)(close - s - 2), &ph, err,
		                      errlen) < 0) {
			rc = SIGPARAM_BAD_PATTERN;
			goto done;
		}
		arg_group(args, nargs, groups > 1 ? *count - 1 : 0, &first, &n);
		if (nargs > 0 && n == 0) {
			snprintf(
			    err, errlen,
			    "argument group %zu (separated by --) is empty",
			    *count);
			rc = SIGPARAM_BAD_ARG;
			goto done;
		}
		put(&b, "(?:");
		for (size_t i = first; i < first + n; i++) {
			int r;
			put(&b, "%s", i > first ? "|" : "");
			r = ph.kind == KIND_HOSTNAME
			        ? put_hostname(&b, &ph, args[i], err, errlen)
			        : put_bytes(&b, &ph, args[i], err, errlen);
			if (r < 0) {
				rc = SIGPARAM_BAD_ARG;
				goto done;
			}
		}
		put(&b, ")");
		s = close + 1;
	}
	if (nargs > 0 && groups > 1 && groups != *count) {
		snprintf(err, errlen,
		         "%zu argument groups separated by -- for %zu "
		         "placeholders: give one group per placeholder",
		         groups, *count);
		rc = SIGPARAM_BAD_ARG;
	} else if (b.overflow) {
		snprintf(
		    err, errlen,
		    "the expanded pattern would exceed %d bytes: use fewer "
		    "arguments",
		    SIGPARAM_MAX_OUT);
		rc = SIGPARAM_BAD_ARG;
	}
done:
	if (rc != SIGPARAM_OK || nargs == 0)
		free(b.s);
	else
		*out = b.s;
	return rc;
}
