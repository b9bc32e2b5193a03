/* SPDX-License-Identifier: ISC */
/* config: reading the INI file with inih and building struct config.
 *
 * inih is driven through ini_parse_stream() with a reader of our own. The
 * reader sees every physical line first: it counts lines (the handler gets
 * no line number from the distribution's build), strips leading blanks so no
 * line is ever taken as a continuation, handles `[section]` headers itself,
 * and rejects lines that are not comments, headers or KEY = VALUE. inih's
 * line buffer is small (200 bytes in Debian's build), so a longer line is
 * handed to inih with its value left out and the handler takes the value
 * that the reader cut from the line by inih's own rules.
 *
 * Every error is recorded as `FILE:LINE: message` and parsing goes on, so a
 * user sees all the errors at once. Checks that need the whole file
 * (sections without signatures, resolution of names) run after parsing. */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "bytes.h"
#include "log.h"
#include "paths.h"
#include "privs.h"
#include "sigparam.h"

/* The longest line accepted, in bytes, without its newline. */
#define CONFIG_MAX_LINE 16384
/* The longest folder on `signature_path`: room is left in a PATH_MAX
 * path for a signature name of 200 bytes. */
#define SIG_DIR_MAX (PATH_MAX - 208)
/* inih keeps section names in a 50-byte buffer. */
#define SECTION_MAX 40

/* What one section collects while the file is read; turned into services,
 * groups and signature definitions once the whole file is known. */
struct pgroup {
	char *name; /* NULL: the service's own lines */
	const char *file;
	int line;
	bool has_frame;
	int frame_line;
	struct frame frame;
	struct sigdef *sigs;
	size_t nsigs;
	int lines; /* string/regex lines seen, valid or not */
	/* `signature = NAME ARG...`: the ARGs for the file's placeholders
	 * (see sigparam.h), and how many placeholders its regexes had. */
	char **args;
	size_t nargs;
	size_t placeholders;
	bool arg_error; /* a bad ARG was reported already */
};

enum section_kind { SEC_SERVICE, SEC_FALLBACK, SEC_TIMEOUT };

struct psection {
	char *name;
	enum section_kind kind;
	const char *file;
	int line;
	struct pgroup *groups; /* [0] is the section's own lines */
	size_t ngroups;
	char *connect;
	int connect_line;
	struct addrinfo *backend;
	char *host, *port; /* a connect host name, looked up later */
	char **argv;       /* exec, then each execarg; NULL-terminated */
	size_t argc;
	int exec_line;
	int execarg_line; /* the first execarg */
	int pty;          /* -1: not given, else 0 or 1 */
	int pty_line;
	uint32_t replay_window_ms;
	int replay_line;
	bool has_fresh;
	uint32_t fresh_offset, fresh_ms;
	int fresh_line;
	char *on_reject; /* as written */
	int on_reject_line;
	enum on_reject reject_kind;
	long reject_to;        /* index in sections, or -1 */
	struct service *built; /* what build() made of it */
	bool broken;           /* a line of it was rejected by the reader */
	/* The client's address: allow/deny, PROXY out, transparent. */
	struct acl allow, deny;
	int proxy_protocol, proxy_line;
	int transparent, transparent_line; /* -1: not given */
	/* Per-listener services: `listen =` lines (texts, then the binds
	 * they name) and `role =`. */
	char **listen;
	int *listen_lines;
	size_t *listen_idx;
	size_t nlisten;
	int role_line;
};

/* How the value of a single-valued global key is read. */
enum key_kind {
	KEY_SECONDS,   /* decimal seconds into a uint32_t of ms; MIN 0: 0 ok */
	KEY_UINT,      /* a number from MIN to MAX */
	KEY_AUTO_UINT, /* the same, or "auto" (stored as 0) */
	KEY_LEVEL,     /* a log level name */
	KEY_TEXT,      /* any text but the empty one */
	KEY_PATH,      /* a path; a relative one is from the file's folder */
	KEY_NAME,      /* a user or group name or number; with its line */
	KEY_ABSPATH,   /* an absolute path; with its line */
	KEY_LOG,       /* stderr, syslog or an absolute path */
};

/* One single-valued global key: its name, how it is read, its bounds,
 * where in struct config it goes (OFF, SIZE; LINE_OFF: the int that
 * receives its line) and, for the error message, what it must be. */
struct global_def {
	const char *key;
	enum key_kind kind;
	unsigned long min, max;
	size_t off, size, line_off;
	const char *what;
};

#define FIELD(f)                                                               \
	.off = offsetof(struct config, f),                                     \
	.size = sizeof(((struct config *)NULL)->f)

static const struct global_def global_defs[] = {
    {"timeout", KEY_SECONDS, 0, 0, FIELD(timeout_ms), 0,
     "a number of seconds (0 for no limit)"},
    {"maxconn", KEY_UINT, 1, 1000000, FIELD(maxconn), 0, "a number from"},
    {"max_peek", KEY_UINT, 1, CONFIG_PEEK_MAX, FIELD(max_peek), 0,
     "a number of bytes from"},
    {"pid", KEY_PATH, 0, 0, FIELD(pid_path), offsetof(struct config, pid_line),
     "empty path"},
    {"log_level", KEY_LEVEL, 0, 0, FIELD(log_level), 0,
     "one of error, warn, info, debug"},
    {"connect_timeout", KEY_SECONDS, 1, 0, FIELD(connect_timeout_ms), 0,
     "a number of seconds above 0"},
    {"idle_timeout", KEY_SECONDS, 0, 0, FIELD(idle_timeout_ms), 0,
     "a number of seconds (0 for none)"},
    {"signature_path", KEY_TEXT, 0, 0, FIELD(sig_path), 0, "empty"},
    {"user", KEY_NAME, 0, 0, FIELD(user), offsetof(struct config, user_line),
     "a user name or number"},
    {"group", KEY_NAME, 0, 0, FIELD(group), offsetof(struct config, group_line),
     "a group name or number"},
    {"chroot", KEY_ABSPATH, 0, 0, FIELD(chroot_dir),
     offsetof(struct config, chroot_line), "an absolute path"},
    {"log", KEY_LOG, 0, 0, FIELD(log_dest), 0,
     "stderr, syslog or an absolute path"},
    {"reload_grace", KEY_SECONDS, 0, 0, FIELD(reload_grace_ms), 0,
     "a number of seconds (0 for none)"},
    {"workers", KEY_AUTO_UINT, 1, CONFIG_WORKERS_MAX, FIELD(workers), 0,
     "auto or a number from"},
    {"frame_timeout", KEY_SECONDS, 0, 0, FIELD(frame_timeout_ms), 0,
     "a number of seconds (0 to wait for the timeout)"},
    {"maxconn_per_source", KEY_UINT, 0, 1000000, FIELD(maxconn_per_source), 0,
     "a number (0: no limit) from"},
};
#define NGLOBAL (sizeof(global_defs) / sizeof(global_defs[0]))

/* The state of one file being read: the main file, or a signature file
 * read for `signature =` (then TARGET receives its lines). */
struct parse {
	struct config *cfg;
	struct config_errors *errs;
	FILE *fp;
	const char *file;
	int line;
	char *raw; /* the current physical line */
	size_t rawcap;
	const char *long_value; /* the value of a line too long for inih */
	char *orig_value;  /* a `string` as the original Portsplit read it */
	bool stop;         /* the file cannot be read as lines */
	bool at_eof;       /* the last line read had no line end */
	bool bad_sig_path; /* `signature_path` was refused */
	struct pgroup *target; /* signature file: where its lines go */
	struct psection *sections;
	size_t nsections;
	struct psection *cur; /* NULL before the first section */
	bool in_section;      /* a section header was seen */
	int seen[NGLOBAL];    /* line of each key of global_defs */
	int bind_lines;
};

static void add_line(struct config_errors *errs, const char *file, int line,
                     bool warning, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* FILE:LINE: MESSAGE, or FILE: MESSAGE when LINE is 0 (the file itself). */
static void
add_line(struct config_errors *errs, const char *file, int line, bool warning,
         const char *fmt, va_list ap)
{
	char msg[1024], where[32] = "", *text;
	char **grown = realloc(errs->lines, (errs->n + 1) * sizeof(char *));

	/* A line that cannot be kept must not let the file pass. */
	if (grown == NULL) {
		errs->oom = true;
		return;
	}
	errs->lines = grown;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(where, sizeof(where), "%d:", line);
	if (asprintf(&text, "%s:%s %s%s", file, where,
	             warning ? "warning: " : "", msg) < 0) {
		errs->oom = true;
		return;
	}
	errs->lines[errs->n++] = text;
	if (warning)
		errs->nwarnings++;
}

static void add_error(struct config_errors *errs, const char *file, int line,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
add_error(struct config_errors *errs, const char *file, int line,
          const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(errs, file, line, false, fmt, ap);
	va_end(ap);
}

static void add_warning(struct config_errors *errs, const char *file, int line,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
add_warning(struct config_errors *errs, const char *file, int line,
            const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_line(errs, file, line, true, fmt, ap);
	va_end(ap);
}

static size_t
nerrors(const struct config_errors *errs)
{
	return errs->n - errs->nwarnings;
}

#define perr(p, ...) add_error((p)->errs, (p)->file, (p)->line, __VA_ARGS__)
#define pwarn(p, ...) add_warning((p)->errs, (p)->file, (p)->line, __VA_ARGS__)

/* An allocation failed while loading (start-up, -t or a reload): the load
 * fails with ERRS->oom set, nothing more is read, and what was built is
 * freed, so that a reload keeps the configuration in force. Every
 * allocation below is checked; a function that meets a failure calls this
 * and returns, leaving what it made owned by the parse state. */
static void
oom(struct parse *p)
{
	p->errs->oom = true;
	p->stop = true;
}

/* ENOMEM from a helper that reports its errors in a string (errno is
 * cleared before the call): out of memory, not an error in the file. */
static bool
failed_for_memory(struct parse *p)
{
	if (errno != ENOMEM)
		return false;
	oom(p);
	return true;
}

/* Grows *ARR (of *N elements of SIZE bytes) by one zeroed element and
 * returns it; NULL when out of memory (see oom()). */
static void *
grow(struct parse *p, void *arr_ptr, size_t *n, size_t size)
{
	void **arr = arr_ptr;
	char *more = realloc(*arr, (*n + 1) * size);

	if (more == NULL) {
		oom(p);
		return NULL;
	}
	*arr = more;
	memset(more + *n * size, 0, size);
	return more + (*n)++ * size;
}

/* A copy of S; NULL when out of memory (see oom()). */
static char *
xstrdup(struct parse *p, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		oom(p);
	return d;
}

/* Appends a copy of S to *ARR (of *N strings). Returns 0, or -1 when out
 * of memory. */
static int
push_copy(struct parse *p, char ***arr, size_t *n, const char *s)
{
	char *copy = xstrdup(p, s), **slot;

	if (copy == NULL)
		return -1;
	slot = grow(p, arr, n, sizeof(char *));
	if (slot == NULL) {
		free(copy);
		return -1;
	}
	*slot = copy;
	return 0;
}

/* Interns a file name so that every struct can point at it; NULL when out
 * of memory. */
static const char *
intern_file(struct parse *p, const char *path)
{
	struct config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->nfiles; i++)
		if (strcmp(cfg->files[i], path) == 0)
			return cfg->files[i];
	if (push_copy(p, &cfg->files, &cfg->nfiles, path) < 0)
		return NULL;
	return cfg->files[cfg->nfiles - 1];
}

/* inih's rule for where a key or value ends: at one of CHARS, or at a `;`
 * that follows white space. */
static char *
find_end(char *s, const char *chars)
{
	bool was_space = false;

	while (*s != '\0' && (chars == NULL || strchr(chars, *s) == NULL) &&
	       !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static char *
rstrip(char *s)
{
	char *e = s + strlen(s);

	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static char *
lskip(char *s)
{
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	return s;
}

static bool
valid_name(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("_-.", *s) == NULL)
			return false;
	return true;
}

static void begin_section(struct parse *p, char *name);

/* Reads the next physical line into p->raw: at most CONFIG_MAX_LINE + 1
 * bytes of it are kept, and the rest of a longer line is read and counted
 * but never stored, so that no line costs more memory than the limit. The
 * line end (LF, or CR LF) is dropped. Returns the length of the whole line
 * without its end (more than what was kept when it is too long), or -1 at
 * the end of the file. *KEPT is what p->raw holds, NUL-terminated. */
static ssize_t
read_line(struct parse *p, size_t *kept)
{
	size_t n = 0, total = 0;
	int c = EOF;

	if (p->raw == NULL) {
		p->rawcap = CONFIG_MAX_LINE + 2;
		p->raw = malloc(p->rawcap);
		if (p->raw == NULL) {
			oom(p);
			return -1;
		}
	}
	flockfile(p->fp);
	while ((c = getc_unlocked(p->fp)) != EOF && c != '\n') {
		if (n < p->rawcap - 1)
			p->raw[n++] = (char)c;
		total++;
	}
	funlockfile(p->fp);
	if (c == EOF && total == 0)
		return -1;
	p->at_eof = c == EOF;
	p->raw[n] = '\0';
	/* CR LF: the CR goes with the line end. */
	while (n > 0 && n == total && p->raw[n - 1] == '\r') {
		p->raw[--n] = '\0';
		total--;
	}
	*kept = n;
	return (ssize_t)total;
}

/* A line the reader refused: what follows it must not be misread. A
 * refused section header leaves the keys under it unassigned (they were
 * reported with it); a refused key line marks its section broken (so it
 * is not also called empty), and a refused `bind` line still counts as
 * one (so "no bind line" is not added). TEXT is the line as far as it
 * could be read. */
static void
refuse_line(struct parse *p, const char *text)
{
	const char *s = text, *end;

	if (p->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '[') {
		p->cur = NULL;
		p->in_section = true;
		return;
	}
	if (p->cur != NULL)
		p->cur->broken = true;
	end = s + strcspn(s, "=: \t");
	if (!p->in_section && p->target == NULL && end - s == 4 &&
	    strncmp(s, "bind", 4) == 0)
		p->bind_lines++;
}

/* Reads the next physical line and hands inih a line it takes whole. */
static char *
reader(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	ssize_t n;
	size_t kept;
	char *s, *end;

	if (p->stop || p->errs->oom)
		return NULL;
	n = read_line(p, &kept);
	if (n < 0)
		return NULL;
	p->line++;
	p->long_value = NULL;
	free(p->orig_value);
	p->orig_value = NULL;
	buf[0] = '\0';
	/* A file whose lines end with CR alone reads as one line. */
	if (p->line == 1 && p->at_eof && memchr(p->raw, '\r', kept) != NULL) {
		perr(p, "this file ends its lines with CR alone (classic Mac "
		        "OS): convert them to LF, e.g. with "
		        "tr '\\r' '\\n' <OLD >NEW");
		p->stop = true;
		return NULL;
	}
	if (strlen(p->raw) != kept) {
		perr(p, "NUL byte in line: the file is not text");
		refuse_line(p, p->raw);
		return buf;
	}
	s = p->raw;
	if (p->line == 1 && kept >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	s = lskip(s);
	if (*s == '\0' || *s == ';' || *s == '#')
		return buf;
	if (memchr(s, '\r', strlen(s)) != NULL) {
		perr(p, "a CR (carriage return) inside the line: lines end "
		        "with LF or CR LF");
		refuse_line(p, s);
		return buf;
	}
	if (n > CONFIG_MAX_LINE) {
		perr(p, "line too long (%zd bytes; the limit is %d)", n,
		     CONFIG_MAX_LINE);
		refuse_line(p, p->raw);
		return buf;
	}
	if (*s == '[') {
		end = strchr(s, ']');
		if (end == NULL) {
			perr(p, "section header without ']'");
			refuse_line(p, s);
			return buf;
		}
		*end = '\0';
		if (*lskip(end + 1) != '\0' && *lskip(end + 1) != ';' &&
		    *lskip(end + 1) != '#') {
			perr(p, "unexpected text after [%s]", s + 1);
			refuse_line(p, s);
			return buf;
		}
		begin_section(p, rstrip(lskip(s + 1)));
		return buf;
	}
	end = find_end(s, "=:");
	if (*end != '=' && *end != ':') {
		perr(p, "expected KEY = VALUE, a [section] or a comment");
		refuse_line(p, s);
		return buf;
	}
	/* The original Portsplit kept a `string` value whole, from its first
	 * non-blank to the line end; inih may read it shorter. */
	if (*end == '=' && p->target == NULL) {
		size_t klen = (size_t)(end - s);
		while (klen > 0 && isspace((unsigned char)s[klen - 1]))
			klen--;
		if (klen == 6 && strncmp(s, "string", 6) == 0) {
			const char *v = end + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			p->orig_value = xstrdup(p, v);
		}
	}
	if (strlen(s) + 2 <= (size_t)size) {
		snprintf(buf, (size_t)size, "%s\n", s);
		return buf;
	}
	/* Too long for inih: give it the key alone, keep the value here. */
	*end = '\0';
	rstrip(s);
	if (strlen(s) + 3 > (size_t)size) {
		perr(p, "key too long");
		return buf;
	}
	snprintf(buf, (size_t)size, "%s=\n", s);
	char *value = lskip(end + 1);
	*find_end(value, NULL) = '\0';
	p->long_value = rstrip(value);
	return buf;
}

static void
begin_section(struct parse *p, char *name)
{
	struct psection *sec;

	p->cur = NULL;
	p->in_section = true;
	if (p->target != NULL) {
		perr(p, "a signature file has no sections: [%s]", name);
		return;
	}
	if (!valid_name(name) || strlen(name) > SECTION_MAX) {
		perr(p,
		     "bad section name '%s': use letters, digits, '_', '-' "
		     "and '.', at most %d",
		     name, SECTION_MAX);
		return;
	}
	for (size_t i = 0; i < p->nsections; i++) {
		if (strcmp(p->sections[i].name, name) == 0) {
			perr(p, "section [%s] repeated (first at line %d)",
			     name, p->sections[i].line);
			return;
		}
	}
	char *copy = xstrdup(p, name);
	if (copy == NULL)
		return;
	sec = grow(p, &p->sections, &p->nsections, sizeof(*sec));
	if (sec == NULL) {
		free(copy);
		return;
	}
	sec->name = copy;
	sec->file = p->file;
	sec->line = p->line;
	sec->kind = strcmp(name, "fallback") == 0  ? SEC_FALLBACK
	            : strcmp(name, "timeout") == 0 ? SEC_TIMEOUT
	                                           : SEC_SERVICE;
	sec->groups = calloc(1, sizeof(struct pgroup));
	if (sec->groups == NULL) {
		oom(p);
		return;
	}
	sec->ngroups = 1;
	sec->pty = -1;
	sec->reject_to = -1;
	sec->transparent = -1;
	sec->groups[0].file = p->file;
	p->cur = sec;
}

/* Parses a decimal number of seconds into milliseconds. */
static int
parse_seconds(const char *v, bool zero_ok, uint32_t *ms)
{
	char *end;
	double d;

	if (strspn(v, "0123456789.") != strlen(v) || *v == '\0')
		return -1;
	errno = 0;
	d = strtod(v, &end);
	if (*end != '\0' || errno != 0 || d > 2592000.0)
		return -1;
	if (d == 0 && !zero_ok)
		return -1;
	*ms = (uint32_t)(d * 1000 + 0.5);
	if (*ms == 0 && d > 0)
		*ms = 1;
	return 0;
}

static int
parse_uint(const char *v, unsigned long min, unsigned long max,
           unsigned long *out)
{
	char *end;
	unsigned long u;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	u = strtoul(v, &end, 10);
	if (*end != '\0' || errno != 0 || u < min || u > max)
		return -1;
	*out = u;
	return 0;
}

/* The regex on P's line compiles with its placeholders as plain groups
 * (the library's tests see to that), but not with group G's arguments:
 * say so at the user's `signature =` line. Too many arguments make it too
 * large for PCRE2; a placeholder inside a lookbehind takes only arguments
 * of one length; a placeholder nested near PCRE2's 250 groups takes none. */
static void
expansion_error(struct parse *p, const struct pgroup *g, const char *err)
{
	int nlen = (int)strcspn(g->name, " ");

	if (strstr(err, "too large") != NULL)
		add_error(p->errs, g->file, g->line,
		          "signature %.*s: with %zu arguments the regex at "
		          "%s:%d cannot be compiled (%s): split the arguments "
		          "over several 'signature =' lines",
		          nlen, g->name, g->nargs, p->file, p->line, err);
	else
		add_error(p->errs, g->file, g->line,
		          "signature %.*s: the regex at %s:%d cannot be "
		          "compiled with these arguments (%s): %s",
		          nlen, g->name, p->file, p->line, err,
		          strstr(err, "not fixed length") != NULL
		              ? "give arguments of one length, or move the "
		                "placeholder out of the lookbehind"
		              : "fix the pattern in the signature file");
}

/* Adds a `string =` or `regex =` line to group G. */
static void
add_sig(struct parse *p, struct pgroup *g, bool regex, const char *value)
{
	char err[512], *expanded = NULL;
	struct sig *sig;

	g->lines++;
	if (*value == '\0') {
		perr(p, "empty %s", regex ? "regex" : "string");
		return;
	}
	/* A library signature's regexes may hold placeholders for the
	 * arguments of its `signature =` line. */
	if (regex && g->name != NULL) {
		size_t n;
		errno = 0;
		enum sigparam_rc rc = sigparam_expand(
		    value, g->args, g->nargs, &expanded, &n, err, sizeof(err));
		g->placeholders += n;
		switch (rc) {
		case SIGPARAM_BAD_PATTERN:
			if (!failed_for_memory(p))
				perr(p, "%s", err);
			return;
		case SIGPARAM_BAD_ARG:
			if (!g->arg_error)
				add_error(p->errs, g->file, g->line,
				          "signature %s: %s", g->name, err);
			g->arg_error = true;
			return;
		case SIGPARAM_OK:
			break;
		}
		if (n > 0 && g->nargs == 0)
			return; /* reported once, by add_signature() */
		if (expanded != NULL)
			value = expanded;
	}
	errno = 0;
	if (regex) {
		sig = sig_new_regex(value, err, sizeof(err));
	} else {
		uint8_t *bytes;
		size_t len;
		if (bytes_decode(value, &bytes, &len, err, sizeof(err)) < 0) {
			if (!failed_for_memory(p))
				perr(p, "string: %s", err);
			return;
		}
		sig = sig_new_string(bytes, len);
		free(bytes);
		if (sig == NULL)
			snprintf(err, sizeof(err), "out of memory");
	}
	if (sig == NULL && failed_for_memory(p)) {
		free(expanded);
		return;
	}
	if (sig == NULL && expanded != NULL) {
		if (!g->arg_error)
			expansion_error(p, g, err);
		g->arg_error = true;
		free(expanded);
		return;
	}
	if (sig == NULL) {
		perr(p, "%s", err);
		free(expanded);
		return;
	}
	char *text = xstrdup(p, value);
	struct sigdef *d =
	    text != NULL ? grow(p, &g->sigs, &g->nsigs, sizeof(*d)) : NULL;
	if (d == NULL) {
		sig_free(sig);
		free(text);
		free(expanded);
		return;
	}
	d->sig = sig;
	d->text = text;
	d->file = p->file;
	d->line = p->line;
	free(expanded);
}

/* The original Portsplit kept a `string` value whole (p->orig_value: all
 * that follows the blanks after `=`); inih drops trailing blanks and cuts
 * at a `;` that follows a blank. When VALUE, what inih gave, differs, a
 * warning gives the line that keeps the original meaning. */
static void
warn_original_string(struct parse *p, const char *value)
{
	const char *o = p->orig_value;
	size_t len, tail;
	char *fix, *f, now[256], rewrite[512];
	bool blanks, comment = false;

	if (o == NULL || strcmp(o, value) == 0)
		return;
	len = strlen(o);
	tail = len;
	while (tail > 0 && isspace((unsigned char)o[tail - 1]))
		tail--;
	blanks = tail < len;
	fix = f = malloc(len * 3 + 1);
	if (fix == NULL)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)o[i];
		if (i >= tail || (c != ' ' && (c < 0x21 || c > 0x7e))) {
			f += sprintf(f, "\\%02X", c);
		} else if (c == ';' &&
		           (i == 0 || isspace((unsigned char)o[i - 1]))) {
			f += sprintf(f, "\\3B");
			comment = true;
		} else {
			*f++ = (char)c;
		}
	}
	*f = '\0';
	bytes_display(value, now, sizeof(now));
	bytes_display(fix, rewrite, sizeof(rewrite));
	pwarn(p,
	      "string is read as '%s' (%s%s%s); the original Portsplit kept "
	      "the whole rest of the line: to match what it matched, write "
	      "'string = %s'%s",
	      now, blanks ? "trailing blanks are dropped" : "",
	      blanks && comment ? "; " : "",
	      comment ? "' ;' starts a comment" : "", rewrite,
	      comment ? " (a comment goes on a line of its own)" : "");
	free(fix);
}

static void
set_frame(struct parse *p, struct pgroup *g, const char *value)
{
	char err[256];

	if (g->has_frame) {
		perr(p, "frame given twice (first at line %d)", g->frame_line);
		return;
	}
	if (frame_parse(value, &g->frame, err, sizeof(err)) < 0) {
		perr(p, "%s", err);
		return;
	}
	g->has_frame = true;
	g->frame_line = p->line;
}

static int load_file(struct parse *p, const char *path);

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The signature names found on PATH (colon-separated folders), sorted and
 * joined with ", "; NULL when there are none. */
static char *
available_signatures(const char *path)
{
	char *dirs = strdup(path), *save = NULL, **names = NULL, *out = NULL;
	size_t n = 0, len = 1;

	if (dirs == NULL)
		return NULL;
	for (char *d = strtok_r(dirs, ":", &save); d != NULL;
	     d = strtok_r(NULL, ":", &save)) {
		DIR *dir = opendir(d);
		struct dirent *e;
		while (dir != NULL && (e = readdir(dir)) != NULL) {
			size_t l = strlen(e->d_name);
			char *name, **grown;
			if (l <= 4 || strcmp(e->d_name + l - 4, ".ini") != 0)
				continue;
			name = strndup(e->d_name, l - 4);
			grown = realloc(names, (n + 1) * sizeof(char *));
			if (name == NULL || grown == NULL ||
			    !valid_name(name)) {
				free(name);
				if (grown != NULL)
					names = grown;
				continue;
			}
			names = grown;
			names[n++] = name;
			len += l - 4 + 2;
		}
		if (dir != NULL)
			closedir(dir);
	}
	free(dirs);
	if (n > 0 && (out = malloc(len)) != NULL) {
		qsort(names, n, sizeof(char *), cmp_names);
		out[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			/* A name in two folders: the first one is used. */
			if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
				continue;
			if (out[0] != '\0')
				strcat(out, ", ");
			strcat(out, names[i]);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return out;
}

/* Finds NAME.ini on the signature path and reads it into a new group.
 * VALUE is `NAME [ARG...]`: the ARGs fill the file's placeholders. */
static void
add_signature(struct parse *p, struct psection *sec, const char *value)
{
	char path[PATH_MAX];
	char *words = xstrdup(p, value), *dirs, *save = NULL, *name;
	char **args = NULL;
	size_t nargs = 0;
	bool found = false;

	if (words == NULL)
		return;
	if (p->bad_sig_path) {
		sec->broken = true; /* reported with signature_path */
		goto done;
	}
	name = strtok_r(words, " \t", &save);
	for (char *a = strtok_r(NULL, " \t", &save); a != NULL;
	     a = strtok_r(NULL, " \t", &save))
		if (push_copy(p, &args, &nargs, a) < 0)
			goto done;
	if (name == NULL || !valid_name(name)) {
		perr(p, "bad signature name '%s'", name ? name : "");
		sec->broken = true;
		goto done;
	}
	dirs = xstrdup(p, p->cfg->sig_path);
	if (dirs == NULL)
		goto done;
	save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d != NULL && !found;
	     d = strtok_r(NULL, ":", &save)) {
		/* Never test a cut path: it would be another file. */
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.ini", d,
		                     name) >= sizeof(path)) {
			perr(p, "signature '%.64s...': the path is too long",
			     name);
			sec->broken = true;
			free(dirs);
			goto done;
		}
		found = access(path, R_OK) == 0;
	}
	free(dirs);
	if (!found) {
		char *names = available_signatures(p->cfg->sig_path);
		perr(p, "signature '%s' not found (no %s.ini in %s); %s%s",
		     name, name, p->cfg->sig_path,
		     names != NULL
		         ? "available: "
		         : "those folders hold no signature file: "
		           "'signature_path = DIR' says where they are",
		     names != NULL ? names : "");
		free(names);
		sec->broken = true; /* no second error: "no signature" */
		goto done;
	}
	struct pgroup *g = grow(p, &sec->groups, &sec->ngroups, sizeof(*g));
	if (g == NULL)
		goto done;
	/* The name as shown (-t, decisions): with its arguments. */
	g->name = xstrdup(p, name);
	for (size_t i = 0; g->name != NULL && i < nargs; i++) {
		char *longer;
		if (asprintf(&longer, "%s %s", g->name, args[i]) < 0) {
			oom(p);
			break;
		}
		free(g->name);
		g->name = longer;
	}
	if (p->errs->oom)
		goto done;
	g->file = p->file;
	g->line = p->line;
	g->args = args;
	g->nargs = nargs;
	args = NULL;

	struct parse sub = {.cfg = p->cfg, .errs = p->errs, .target = g};
	size_t before = nerrors(p->errs);
	if (load_file(&sub, path) < 0)
		perr(p, "cannot read %s: %s", path, strerror(errno));
	else if (g->placeholders > 0 && g->nargs == 0)
		perr(p,
		     "signature '%s' needs arguments (%s has placeholders): "
		     "signature = %s ARG...",
		     name, path, name);
	else if (g->placeholders == 0 && g->nargs > 0)
		perr(p,
		     "signature '%s' takes no arguments (%s has no "
		     "placeholders)",
		     name, path);
	else if (g->nsigs == 0 && nerrors(p->errs) == before)
		perr(p, "signature '%s' (%s) has no string or regex", name,
		     path);
done:
	for (size_t i = 0; args != NULL && i < nargs; i++)
		free(args[i]);
	free(args);
	free(words);
}

static void
bind_key(struct parse *p, const char *v)
{
	struct config *cfg = p->cfg;
	char *host, *port, err[512];
	struct addrinfo *ai = NULL;

	p->bind_lines++;
	errno = 0;
	if (addr_split(v, &host, &port, err, sizeof(err)) < 0) {
		if (!failed_for_memory(p))
			perr(p, "bind: %s", err);
		return;
	}
	if (addr_resolve(host, port, true, &ai, err, sizeof(err)) < 0)
		perr(p, "bind: %s", err);
	char *text = xstrdup(p, v);
	struct bind *b = text != NULL
	                     ? grow(p, &cfg->binds, &cfg->nbinds, sizeof(*b))
	                     : NULL;
	if (b == NULL) {
		free(text);
		if (ai != NULL)
			freeaddrinfo(ai);
		goto out;
	}
	b->text = text;
	b->file = p->file;
	b->line = p->line;
	b->ai = ai;
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		char name[ADDR_STRLEN];
		addr_format(a->ai_addr, name, sizeof(name));
		if (push_copy(p, &b->names, &b->nnames, name) < 0)
			goto out;
	}
	b->dual_stack = v[0] != '[' && strcmp(host, "::") == 0;
out:
	free(host);
	free(port);
}

/* PATH made absolute: a relative one is taken from the folder of the
 * configuration file, wherever the daemon was started or has moved to
 * since (-d moves to /). */
static char *
absolute_path(struct parse *p, const char *path)
{
	char *dir, *slash, *real, *out;

	if (path[0] == '/')
		return xstrdup(p, path);
	dir = xstrdup(p, p->cfg->path);
	if (dir == NULL)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	real = realpath(dir, NULL);
	if (asprintf(&out, "%s/%s", real != NULL ? real : dir, path) < 0) {
		oom(p);
		out = NULL;
	}
	free(real);
	free(dir);
	return out;
}

/* Stores U in the unsigned field of SIZE bytes at FIELD. */
static void
store_uint(void *field, size_t size, unsigned long u)
{
	if (size == sizeof(uint32_t))
		*(uint32_t *)field = (uint32_t)u;
	else
		*(size_t *)field = (size_t)u;
}

static bool
is_global_key(const char *key)
{
	for (size_t k = 0; k < NGLOBAL; k++)
		if (strcmp(key, global_defs[k].key) == 0)
			return true;
	return strcmp(key, "bind") == 0 || strcmp(key, "proxy_from") == 0;
}

/* The longest folder name on a `signature_path` value. */
static size_t
longest_folder(const char *v)
{
	size_t longest = 0;

	for (;;) {
		size_t len = strcspn(v, ":");
		longest = len > longest ? len : longest;
		if (v[len] == '\0')
			return longest;
		v += len + 1;
	}
}

/* `allow`, `deny`, `proxy_from`: CIDR lists; repeated lines add up. */
static void
acl_key(struct parse *p, struct acl *list, const char *key, const char *v)
{
	char err[512];

	errno = 0;
	if (acl_parse(list, v, err, sizeof(err)) < 0 && !failed_for_memory(p))
		perr(p, "%s: %s", key, err);
}

/* The list-valued global keys about the client's address: who may
 * connect, whose PROXY headers are trusted. False when KEY is not one of
 * them. */
static bool
address_global_key(struct parse *p, const char *key, const char *v)
{
	struct config *cfg = p->cfg;

	if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0 ||
	    strcmp(key, "proxy_from") == 0) {
		acl_key(p,
		        key[0] == 'a'   ? &cfg->allow
		        : key[0] == 'd' ? &cfg->deny
		                        : &cfg->proxy_from,
		        key, v);
		return true;
	}
	return false;
}

/* The service keys about the client's address. False when KEY is not one
 * of them. */
static bool
address_service_key(struct parse *p, struct psection *sec, const char *key,
                    const char *v)
{
	if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0) {
		if (sec->kind != SEC_SERVICE)
			perr(p,
			     "[%s] takes no '%s': it is not matched, it gets "
			     "the clients the ranked services leave; use a "
			     "global '%s' to refuse clients",
			     sec->name, key, key);
		else
			acl_key(p, key[0] == 'a' ? &sec->allow : &sec->deny,
			        key, v);
		return true;
	}
	if (strcmp(key, "proxy_protocol") == 0) {
		if (sec->proxy_line != 0) {
			perr(p,
			     "proxy_protocol given twice in [%s] (first at "
			     "line %d)",
			     sec->name, sec->proxy_line);
			return true;
		}
		sec->proxy_line = p->line;
		if (strcmp(v, "v1") == 0)
			sec->proxy_protocol = 1;
		else if (strcmp(v, "v2") == 0)
			sec->proxy_protocol = 2;
		else
			perr(p, "proxy_protocol: '%s' is not v1 or v2", v);
		return true;
	}
	if (strcmp(key, "listen") == 0) {
		if (*v == '\0') {
			perr(p, "listen: empty; write the text of a bind line");
			return true;
		}
		size_t n = sec->nlisten;
		int *line;
		if (push_copy(p, &sec->listen, &n, v) < 0)
			return true;
		n = sec->nlisten;
		line = grow(p, &sec->listen_lines, &n, sizeof(int));
		if (line == NULL) {
			free(sec->listen[sec->nlisten]);
			return true;
		}
		*line = p->line;
		sec->nlisten++;
		return true;
	}
	if (strcmp(key, "role") == 0) {
		if (sec->role_line != 0) {
			perr(p, "role given twice in [%s] (first at line %d)",
			     sec->name, sec->role_line);
			return true;
		}
		if (sec->kind != SEC_SERVICE) {
			perr(p,
			     "[%s] is already the %s service: role is for "
			     "a listener's own one",
			     sec->name, sec->name);
			return true;
		}
		sec->role_line = p->line;
		if (strcmp(v, "fallback") == 0)
			sec->kind = SEC_FALLBACK;
		else if (strcmp(v, "timeout") == 0)
			sec->kind = SEC_TIMEOUT;
		else
			perr(p, "role: '%s' is not fallback or timeout", v);
		return true;
	}
	if (strcmp(key, "transparent") == 0) {
		if (sec->transparent_line != 0) {
			perr(p,
			     "transparent given twice in [%s] (first at line "
			     "%d)",
			     sec->name, sec->transparent_line);
			return true;
		}
		sec->transparent_line = p->line;
		if (strcmp(v, "yes") == 0)
			sec->transparent = 1;
		else if (strcmp(v, "no") == 0)
			sec->transparent = 0;
		else
			perr(p, "transparent: '%s' is not yes or no", v);
		return true;
	}
	return false;
}

/* `listen =` names binds; `role =` sections serve their listeners; every
 * listener offers something. */
static void
check_listen(struct parse *p)
{
	struct config *cfg = p->cfg;
	bool *served = calloc(cfg->nbinds + 1, sizeof(bool));
	int *fb = calloc(cfg->nbinds + 1, sizeof(int));
	int *to = calloc(cfg->nbinds + 1, sizeof(int));

	if (served == NULL || fb == NULL || to == NULL) {
		oom(p);
		goto done;
	}
	for (size_t i = 0; i < p->nsections; i++) {
		struct psection *sec = &p->sections[i];
		bool named = strcmp(sec->name, "fallback") == 0 ||
		             strcmp(sec->name, "timeout") == 0;
		if (sec->nlisten > 0 && named)
			add_error(p->errs, sec->file, sec->listen_lines[0],
			          "[%s] is every listener's %s: for one "
			          "listener's own, name a section and give it "
			          "role = %s and listen",
			          sec->name, sec->name, sec->name);
		else if (sec->role_line != 0 && sec->nlisten == 0 &&
		         sec->kind != SEC_SERVICE)
			add_error(p->errs, sec->file, sec->role_line,
			          "role in [%s] without listen: say which "
			          "listener it serves (or name the section "
			          "[%s] for all of them)",
			          sec->name,
			          sec->kind == SEC_FALLBACK ? "fallback"
			                                    : "timeout");
		sec->listen_idx = calloc(sec->nlisten + 1, sizeof(size_t));
		if (sec->listen_idx == NULL) {
			oom(p);
			goto done;
		}
		for (size_t k = 0; k < sec->nlisten; k++) {
			size_t b = 0;
			while (b < cfg->nbinds &&
			       strcmp(cfg->binds[b].text, sec->listen[k]) != 0)
				b++;
			if (b == cfg->nbinds) {
				add_error(
				    p->errs, sec->file, sec->listen_lines[k],
				    "listen = %s in [%s] is not the text of "
				    "a bind line",
				    sec->listen[k], sec->name);
				continue;
			}
			sec->listen_idx[k] = b;
			served[b] = true;
			int *slot = sec->kind == SEC_FALLBACK  ? &fb[b]
			            : sec->kind == SEC_TIMEOUT ? &to[b]
			                                       : NULL;
			if (named || slot == NULL)
				continue;
			if (*slot != 0)
				add_error(p->errs, sec->file,
				          sec->listen_lines[k],
				          "%s already has its own %s (line %d)",
				          sec->listen[k],
				          sec->kind == SEC_FALLBACK ? "fallback"
				                                    : "timeout",
				          *slot);
			else
				*slot = sec->listen_lines[k];
		}
		if (sec->nlisten == 0)
			for (size_t b = 0; b < cfg->nbinds; b++)
				served[b] = true;
	}
	for (size_t b = 0; p->nsections > 0 && b < cfg->nbinds; b++)
		if (!served[b])
			add_error(
			    p->errs, cfg->binds[b].file, cfg->binds[b].line,
			    "nothing is offered on bind = %s: every "
			    "service has listen lines for other binds; add "
			    "listen = %s to one, or a [fallback]",
			    cfg->binds[b].text, cfg->binds[b].text);
done:
	free(served);
	free(fb);
	free(to);
}

/* PROXY out and transparent mode shape a backend connection. */
static void
check_address(struct parse *p, struct psection *sec)
{
	if (sec->connect != NULL)
		return;
	if (sec->proxy_line != 0)
		add_error(p->errs, sec->file, sec->proxy_line,
		          "proxy_protocol in [%s] without connect: the header "
		          "goes to a backend",
		          sec->name);
	if (sec->transparent_line != 0)
		add_error(p->errs, sec->file, sec->transparent_line,
		          "transparent in [%s] without connect: it shapes the "
		          "connection to a backend",
		          sec->name);
}

static void
global_key(struct parse *p, const char *key, const char *v)
{
	const struct global_def *def = global_defs;
	char *cfg = (char *)p->cfg;
	void *field;
	unsigned long u;
	bool ok = true;
	int l;

	if (strcmp(key, "bind") == 0) {
		bind_key(p, v);
		return;
	}
	if (address_global_key(p, key, v))
		return;
	while (def < global_defs + NGLOBAL && strcmp(key, def->key) != 0)
		def++;
	if (def == global_defs + NGLOBAL) {
		perr(p, "unknown key '%s'", key);
		return;
	}
	size_t k = (size_t)(def - global_defs);
	if (p->seen[k] != 0) {
		perr(p, "'%s' given twice (first at line %d)", key, p->seen[k]);
		return;
	}
	p->seen[k] = p->line;
	if (strcmp(key, "signature_path") == 0 &&
	    longest_folder(v) > SIG_DIR_MAX) {
		perr(p,
		     "signature_path: a folder name of %zu bytes; the limit "
		     "is %d",
		     longest_folder(v), SIG_DIR_MAX);
		p->bad_sig_path = true;
		return;
	}
	field = cfg + def->off;
	switch (def->kind) {
	case KEY_SECONDS:
		ok = parse_seconds(v, def->min == 0, field) == 0;
		break;
	case KEY_AUTO_UINT:
		if (strcmp(v, "auto") == 0) {
			/* 0 stands for auto: found at start. */
			store_uint(field, def->size, 0);
			break;
		}
		/* fall through */
	case KEY_UINT:
		ok = parse_uint(v, def->min, def->max, &u) == 0;
		if (ok)
			store_uint(field, def->size, u);
		break;
	case KEY_LEVEL:
		l = log_level_parse(v);
		ok = l >= 0;
		if (ok)
			*(int *)field = l;
		break;
	case KEY_TEXT:
		ok = *v != '\0';
		if (ok) {
			free(*(char **)field);
			*(char **)field = xstrdup(p, v);
		}
		break;
	case KEY_PATH:
		ok = *v != '\0';
		if (ok) {
			free(*(char **)field);
			*(char **)field = absolute_path(p, v);
		}
		break;
	case KEY_NAME:
		ok = *v != '\0' && strpbrk(v, " \t:") == NULL;
		break;
	case KEY_ABSPATH:
		ok = v[0] == '/';
		break;
	case KEY_LOG:
		if (strcmp(v, "stderr") == 0)
			*(int *)field = LOG_TO_STDERR;
		else if (strcmp(v, "syslog") == 0)
			*(int *)field = LOG_TO_SYSLOG;
		else if (v[0] == '/') {
			*(int *)field = LOG_TO_FILE;
			p->cfg->log_path = xstrdup(p, v);
		} else
			ok = false;
		break;
	}
	if ((def->kind == KEY_NAME || def->kind == KEY_ABSPATH) && ok)
		*(char **)field = xstrdup(p, v);
	if (def->line_off != 0 && ok)
		*(int *)(cfg + def->line_off) = p->line;
	if (ok)
		return;
	if (def->kind == KEY_TEXT || def->kind == KEY_PATH)
		perr(p, "%s: %s", key, def->what);
	else if (def->kind == KEY_UINT || def->kind == KEY_AUTO_UINT)
		perr(p, "%s: '%s' is not %s %lu to %lu", key, v, def->what,
		     def->min, def->max);
	else
		perr(p, "%s: '%s' is not %s", key, v, def->what);
}

/* Appends ARG to SEC's argument vector, keeping it NULL-terminated. The
 * program (argv[0]) may arrive after its arguments: `exec =` then takes
 * slot 0. */
static void
push_arg(struct parse *p, struct psection *sec, const char *arg, bool program)
{
	char **argv = realloc(sec->argv, (sec->argc + 3) * sizeof(char *));
	char *copy;

	if (argv == NULL) {
		oom(p);
		return;
	}
	sec->argv = argv;
	if (sec->argc == 0) {
		argv[sec->argc++] = NULL; /* slot 0: the program */
		argv[1] = NULL;
	}
	copy = xstrdup(p, arg);
	if (copy == NULL)
		return;
	if (program)
		argv[0] = copy;
	else
		argv[sec->argc++] = copy;
	argv[sec->argc] = NULL;
}

/* `exec =`, `execarg =` and `pty =`. Whether they fit together is checked
 * once the section is complete (validate()). */
static void
exec_key(struct parse *p, struct psection *sec, const char *key, const char *v)
{
	if (strcmp(key, "exec") == 0) {
		if (sec->exec_line != 0) {
			perr(p, "exec given twice in [%s] (first at line %d)",
			     sec->name, sec->exec_line);
			return;
		}
		sec->exec_line = p->line;
		if (*v == '\0') {
			perr(p, "exec: empty program in [%s]", sec->name);
			return;
		}
		push_arg(p, sec, v, true);
	} else if (strcmp(key, "execarg") == 0) {
		if (sec->execarg_line == 0)
			sec->execarg_line = p->line;
		push_arg(p, sec, v, false);
	} else {
		if (sec->pty_line != 0) {
			perr(p, "pty given twice in [%s] (first at line %d)",
			     sec->name, sec->pty_line);
			return;
		}
		sec->pty_line = p->line;
		if (strcmp(v, "yes") == 0)
			sec->pty = 1;
		else if (strcmp(v, "no") == 0)
			sec->pty = 0;
		else
			perr(p, "pty: '%s' is not yes or no", v);
	}
}

/* `fresh = OFFSET:be32 SECONDS`. Returns 0, or -1 when V is not that. */
static int
parse_fresh(const char *v, uint32_t *offset, uint32_t *ms)
{
	char *end;
	unsigned long off;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	off = strtoul(v, &end, 10);
	if (errno != 0 || off > 65535 || strncmp(end, ":be32", 5) != 0 ||
	    (end[5] != ' ' && end[5] != '\t'))
		return -1;
	end += 5;
	end += strspn(end, " \t");
	if (parse_seconds(end, false, ms) < 0)
		return -1;
	*offset = (uint32_t)off;
	return 0;
}

/* `replay_window =` and `fresh =`: what rules a ranked service out for a
 * first message it would otherwise take. */
static void
guard_key(struct parse *p, struct psection *sec, const char *key, const char *v)
{
	bool replay = strcmp(key, "replay_window") == 0;
	int *line = replay ? &sec->replay_line : &sec->fresh_line;

	if (sec->kind != SEC_SERVICE) {
		perr(p,
		     "[%s] takes an action only, not '%s': it has no "
		     "signature for %s to rule out",
		     sec->name, key, key);
		return;
	}
	if (*line != 0) {
		perr(p, "%s given twice in [%s] (first at line %d)", key,
		     sec->name, *line);
		return;
	}
	*line = p->line;
	if (replay) {
		if (parse_seconds(v, false, &sec->replay_window_ms) < 0)
			perr(p,
			     "replay_window: '%s' is not a number of seconds "
			     "above 0",
			     v);
	} else if (parse_fresh(v, &sec->fresh_offset, &sec->fresh_ms) < 0) {
		perr(p,
		     "fresh: '%s' is not OFFSET:be32 SECONDS (the offset of "
		     "a big-endian Unix time in the first message, and how "
		     "far from now it may be; e.g. 15:be32 60)",
		     v);
	} else {
		sec->has_fresh = true;
	}
}

static void
service_key(struct parse *p, struct psection *sec, const char *key,
            const char *v)
{
	bool special = sec->kind != SEC_SERVICE;

	if (strcmp(key, "connect") == 0) {
		char *host, *port, err[512];
		if (sec->connect != NULL) {
			perr(p,
			     "connect given twice in [%s] (first at line "
			     "%d)",
			     sec->name, sec->connect_line);
			return;
		}
		sec->connect = xstrdup(p, v);
		if (sec->connect == NULL)
			return;
		sec->connect_line = p->line;
		errno = 0;
		if (addr_split(v, &host, &port, err, sizeof(err)) < 0) {
			if (!failed_for_memory(p))
				perr(p, "connect: %s", err);
			return;
		}
		/* A host name is looked up when a connection needs it (as
		 * the original Portsplit did), never here: a reload must not
		 * wait on DNS. */
		if (addr_numeric(host, port, &sec->backend) < 0) {
			sec->host = host;
			sec->port = port;
			return;
		}
		free(host);
		free(port);
		return;
	}
	if (strcmp(key, "string") == 0 || strcmp(key, "regex") == 0 ||
	    strcmp(key, "signature") == 0 || strcmp(key, "frame") == 0) {
		if (special) {
			perr(p,
			     "[%s] takes an action only, not '%s': it gets the "
			     "connections no signature takes",
			     sec->name, key);
			return;
		}
		if (strcmp(key, "string") == 0) {
			warn_original_string(p, v);
			add_sig(p, &sec->groups[0], false, v);
		} else if (strcmp(key, "regex") == 0)
			add_sig(p, &sec->groups[0], true, v);
		else if (strcmp(key, "frame") == 0)
			set_frame(p, &sec->groups[0], v);
		else
			add_signature(p, sec, v);
		return;
	}
	if (strcmp(key, "exec") == 0 || strcmp(key, "execarg") == 0 ||
	    strcmp(key, "pty") == 0) {
		exec_key(p, sec, key, v);
		return;
	}
	if (strcmp(key, "replay_window") == 0 || strcmp(key, "fresh") == 0) {
		guard_key(p, sec, key, v);
		return;
	}
	if (strcmp(key, "on_reject") == 0) {
		if (special) {
			perr(
			    p,
			    "[%s] takes an action only, not 'on_reject': it is "
			    "where rejected connections go, not one that "
			    "rejects",
			    sec->name);
		} else if (sec->on_reject_line != 0) {
			perr(p,
			     "on_reject given twice in [%s] (first at line %d)",
			     sec->name, sec->on_reject_line);
		} else if (*v == '\0') {
			perr(p, "on_reject: empty (fallback, close or a "
			        "service's name)");
		} else {
			sec->on_reject = xstrdup(p, v);
			sec->on_reject_line = p->line;
		}
		return;
	}
	if (address_service_key(p, sec, key, v))
		return;
	if (is_global_key(key))
		perr(p,
		     "'%s' is a global key, not a key of [%s]: global keys go "
		     "before the first [section]",
		     key, sec->name);
	else
		perr(p, "unknown key '%s' in [%s]", key, sec->name);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;

	(void)section; /* the reader tracks sections itself */
	if (p->errs->oom)
		return 1;
	if (p->long_value != NULL)
		value = p->long_value;
	if (p->target != NULL) {
		if (strcmp(name, "string") == 0)
			add_sig(p, p->target, false, value);
		else if (strcmp(name, "regex") == 0)
			add_sig(p, p->target, true, value);
		else if (strcmp(name, "frame") == 0)
			set_frame(p, p->target, value);
		else
			perr(p,
			     "unknown key '%s' in a signature file (string, "
			     "regex and frame are allowed)",
			     name);
	} else if (!p->in_section) {
		global_key(p, name, value);
	} else if (p->cur != NULL) {
		service_key(p, p->cur, name, value);
	}
	/* Keys under a rejected section header were reported with it. */
	p->long_value = NULL;
	return 1;
}

/* Reads one file with P; returns -1 with errno when it cannot be opened. */
static int
load_file(struct parse *p, const char *path)
{
	int rc;

	p->fp = fopen(path, "re");
	if (p->fp == NULL) {
		if (errno == ENOMEM)
			oom(p);
		return -1;
	}
	p->file = intern_file(p, path);
	if (p->file == NULL) {
		fclose(p->fp);
		return 0;
	}
	rc = ini_parse_stream(reader, p, handler, p);
	/* The reader reports every syntax error itself; this catches any
	 * that inih finds on its own. */
	if (rc > 0 && nerrors(p->errs) == 0)
		add_error(p->errs, p->file, rc, "syntax error");
	if (rc == -2) /* inih's own line buffer */
		oom(p);
	if (ferror(p->fp)) {
		p->line++;
		perr(p, "read error: %s", strerror(errno));
	}
	fclose(p->fp);
	free(p->raw);
	p->raw = NULL;
	free(p->orig_value);
	p->orig_value = NULL;
	return 0;
}

/* Turns the sections into ranked services, groups and signatures. Each
 * thing moves from its section to the configuration at once (the section's
 * pointer cleared), and cfg->nbuilt counts every service slot used, so
 * that when memory runs out half-way both sides free what they hold. */
static void
build(struct parse *p)
{
	struct config *cfg = p->cfg;
	size_t nsvc = 0;

	for (size_t i = 0; i < p->nsections; i++)
		if (p->sections[i].kind == SEC_SERVICE)
			nsvc++;
	/* Ranked services first, then the two special ones. */
	cfg->services = calloc(p->nsections + 2, sizeof(struct service));
	if (cfg->services == NULL) {
		oom(p);
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < p->nsections; i++) {
			struct psection *sec = &p->sections[i];
			struct service *svc;
			if ((pass == 0) != (sec->kind == SEC_SERVICE))
				continue;
			svc = &cfg->services[cfg->nservices++];
			cfg->nbuilt = cfg->nservices;
			svc->name = sec->name;
			sec->name = NULL;
			svc->file = sec->file;
			svc->line = sec->line;
			svc->action = sec->connect     ? ACTION_CONNECT
			              : sec->exec_line ? ACTION_EXEC
			                               : ACTION_CLOSE;
			svc->connect = sec->connect;
			svc->connect_line = sec->connect_line;
			svc->backend = sec->backend;
			svc->host = sec->host;
			svc->port = sec->port;
			sec->connect = NULL;
			sec->backend = NULL;
			sec->host = sec->port = NULL;
			svc->pty = sec->pty == 1;
			svc->replay_window_ms = sec->replay_window_ms;
			svc->has_fresh = sec->has_fresh;
			svc->fresh_offset = sec->fresh_offset;
			svc->fresh_ms = sec->fresh_ms;
			svc->on_reject = sec->reject_kind;
			svc->reject_name = sec->on_reject;
			sec->built = svc;
			cfg->guards |= svc->replay_window_ms || svc->has_fresh;
			if (svc->replay_window_ms > cfg->replay_window_max_ms)
				cfg->replay_window_max_ms =
				    svc->replay_window_ms;
			svc->allow = sec->allow;
			svc->deny = sec->deny;
			memset(&sec->allow, 0, sizeof(sec->allow));
			memset(&sec->deny, 0, sizeof(sec->deny));
			svc->proxy_protocol = sec->proxy_protocol;
			svc->transparent = sec->transparent == 1;
			if (sec->nlisten > 0 && sec->listen_idx != NULL) {
				svc->listens = sec->listen_idx;
				svc->nlistens = sec->nlisten;
				sec->listen_idx = NULL;
			}
			/* Only a whole vector moves: execarg without exec (an
			 * error) leaves slot 0 empty, and it is freed with the
			 * section, which knows its length. */
			if (sec->argv != NULL && sec->argv[0] != NULL) {
				svc->argv = sec->argv;
				sec->argv = NULL;
				sec->argc = 0;
			}
			svc->first_group = cfg->ngroups;
			svc->first_sig = cfg->nsigs;
			for (size_t k = 0; k < sec->ngroups; k++) {
				struct pgroup *pg = &sec->groups[k];
				struct group *g;
				if (pg->nsigs == 0 && k == 0 && !pg->has_frame)
					continue;
				/* Room for the group's signatures first:
				 * then nothing can fail half-way through
				 * them. */
				if (pg->nsigs > 0) {
					struct sigdef *all =
					    realloc(cfg->sigs,
					            (cfg->nsigs + pg->nsigs) *
					                sizeof(*all));
					if (all == NULL) {
						oom(p);
						return;
					}
					cfg->sigs = all;
				}
				g = grow(p, &cfg->groups, &cfg->ngroups,
				         sizeof(*g));
				if (g == NULL)
					return;
				g->name = pg->name;
				g->file = pg->file;
				g->line = pg->line;
				g->has_frame = pg->has_frame;
				g->frame = pg->frame;
				g->first_sig = cfg->nsigs;
				g->nsigs = pg->nsigs;
				for (size_t s = 0; s < pg->nsigs; s++) {
					struct sigdef *d =
					    &cfg->sigs[cfg->nsigs++];
					*d = pg->sigs[s];
					d->service = cfg->nservices - 1;
					d->group = cfg->ngroups - 1;
				}
				free(pg->sigs);
				pg->sigs = NULL;
				pg->nsigs = 0;
				pg->name = NULL;
			}
			svc->ngroups = cfg->ngroups - svc->first_group;
			svc->nsigs = cfg->nsigs - svc->first_sig;
			if (sec->role_line != 0) {
				/* A listener's own fallback or timeout. */
				cfg->nroles++;
				for (size_t k = 0; k < svc->nlistens; k++) {
					/* A listen line that names no bind
					 * is an error already reported. */
					if (svc->listens[k] >= cfg->nbinds)
						continue;
					struct bind *b =
					    &cfg->binds[svc->listens[k]];
					if (sec->kind == SEC_FALLBACK)
						b->fallback = svc;
					else
						b->timeout = svc;
				}
			} else if (sec->kind == SEC_FALLBACK)
				cfg->fallback = svc;
			else if (sec->kind == SEC_TIMEOUT)
				cfg->timeout = svc;
		}
		if (pass == 0)
			nsvc = cfg->nservices;
	}
	cfg->nbuilt = cfg->nservices;
	cfg->nservices = nsvc;
	for (size_t i = 0; i < p->nsections; i++) {
		struct psection *sec = &p->sections[i];
		if (sec->built != NULL && sec->reject_to >= 0)
			sec->built->reject_to =
			    p->sections[sec->reject_to].built;
		if (sec->built != NULL)
			sec->on_reject = NULL; /* the service's now */
	}
}

/* A service has at most one action, and the exec keys go together. */
static void
check_action(struct parse *p, struct psection *sec)
{
	if (sec->connect != NULL && sec->exec_line != 0)
		add_error(p->errs, sec->file,
		          sec->exec_line > sec->connect_line
		              ? sec->exec_line
		              : sec->connect_line,
		          "[%s] has both connect (line %d) and exec (line %d): "
		          "a service has one action",
		          sec->name, sec->connect_line, sec->exec_line);
	if (sec->exec_line == 0 && sec->execarg_line != 0)
		add_error(p->errs, sec->file, sec->execarg_line,
		          "execarg in [%s] without exec", sec->name);
	if (sec->exec_line == 0 && sec->pty_line != 0)
		add_error(p->errs, sec->file, sec->pty_line,
		          "pty in [%s] without exec", sec->name);
}

static bool
is_any(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)
		           ->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
}

static unsigned
port_of(const struct sockaddr *sa)
{
	return ntohs(
	    sa->sa_family == AF_INET
	        ? ((const struct sockaddr_in *)(const void *)sa)->sin_port
	        : ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
}

/* Whether a socket bound to A (of bind BA) and one bound to B (of bind BB)
 * cannot both listen: Linux refuses the second (EADDRINUSE) when they
 * share a port and an address, a wildcard counting as every address of
 * its family, and a dual-stack [::] as every IPv4 address too. */
static bool
overlaps(const struct sockaddr *a, const struct bind *ba,
         const struct sockaddr *b, const struct bind *bb)
{
	if (port_of(a) != port_of(b))
		return false;
	if (a->sa_family != b->sa_family)
		return (a->sa_family == AF_INET6 && ba->dual_stack &&
		        is_any(a)) ||
		       (b->sa_family == AF_INET6 && bb->dual_stack &&
		        is_any(b));
	if (is_any(a) || is_any(b))
		return true;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)(const void *)a)
		                   ->sin_addr,
		              &((const struct sockaddr_in *)(const void *)b)
		                   ->sin_addr,
		              sizeof(struct in_addr)) == 0;
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_scope_id == y->sin6_scope_id &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static const char *
family_name(const struct bind *b, const struct addrinfo *ai)
{
	if (ai->ai_family == AF_INET)
		return "IPv4";
	return b->dual_stack ? "IPv6 and IPv4" : "IPv6";
}

/* `:::PORT` is dual stack unless IPv4 has a line of its own on PORT (as
 * the original Portsplit's manual wrote it: `0.0.0.0:9090` and
 * `:::9090`); then IPv6 only. Every other overlap of two lines is an
 * error here, the same answer -t and the start give. */
static void
check_binds(struct parse *p)
{
	struct config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->nbinds; i++) {
		struct bind *b = &cfg->binds[i];
		if (!b->dual_stack || b->ai == NULL)
			continue;
		for (size_t j = 0; j < cfg->nbinds && b->dual_stack; j++)
			for (const struct addrinfo *ai = cfg->binds[j].ai;
			     ai != NULL; ai = ai->ai_next)
				if (ai->ai_family == AF_INET &&
				    port_of(ai->ai_addr) ==
				        port_of(b->ai->ai_addr)) {
					b->dual_stack = false;
					b->ipv4_line = cfg->binds[j].line;
					break;
				}
	}
	/* The listener reads the choice from the address itself:
	 * AI_V4MAPPED marks an IPv6 socket that takes IPv4 clients too (they
	 * arrive as ::ffff:a.b.c.d). */
	for (size_t i = 0; i < cfg->nbinds; i++)
		for (struct addrinfo *ai = cfg->binds[i].ai; ai != NULL;
		     ai = ai->ai_next) {
			ai->ai_flags &= ~AI_V4MAPPED;
			if (cfg->binds[i].dual_stack &&
			    ai->ai_family == AF_INET6)
				ai->ai_flags |= AI_V4MAPPED;
		}
	for (size_t j = 1; j < cfg->nbinds; j++) {
		const struct bind *bj = &cfg->binds[j];
		bool found = false;
		for (size_t i = 0; i < j && !found; i++) {
			const struct bind *bi = &cfg->binds[i];
			for (const struct addrinfo *x = bi->ai; x && !found;
			     x = x->ai_next)
				for (const struct addrinfo *y = bj->ai;
				     y && !found; y = y->ai_next) {
					char ax[ADDR_STRLEN], ay[ADDR_STRLEN];
					if (!overlaps(x->ai_addr, bi,
					              y->ai_addr, bj))
						continue;
					found = true;
					addr_format(x->ai_addr, ax, sizeof(ax));
					addr_format(y->ai_addr, ay, sizeof(ay));
					if (strcmp(ax, ay) == 0)
						add_error(
						    p->errs, bj->file, bj->line,
						    "bind %s: line %d (%s) "
						    "listens on %s already: "
						    "remove one of the two",
						    bj->text, bi->line,
						    bi->text, ay);
					else
						add_error(
						    p->errs, bj->file, bj->line,
						    "bind %s overlaps line %d "
						    "(%s): %s takes every %s "
						    "address on port %u, and "
						    "Linux lets only one of "
						    "the "
						    "two listen: remove one, "
						    "or "
						    "bind distinct addresses",
						    bj->text, bi->line,
						    bi->text,
						    is_any(x->ai_addr) ? ax
						                       : ay,
						    family_name(
						        is_any(x->ai_addr) ? bi
						                           : bj,
						        is_any(x->ai_addr) ? x
						                           : y),
						    port_of(y->ai_addr));
				}
		}
	}
}

/* `on_reject`: needs connect, and names close, fallback or another ranked
 * service. */
static void
check_reject(struct parse *p, struct psection *sec)
{
	const char *v = sec->on_reject;

	sec->reject_to = -1;
	if (v == NULL)
		return;
	if (sec->connect == NULL) {
		add_error(p->errs, sec->file, sec->on_reject_line,
		          "on_reject in [%s] without connect: only a backend "
		          "can reject a connection",
		          sec->name);
		return;
	}
	if (strcmp(v, "close") == 0) {
		sec->reject_kind = ON_REJECT_CLOSE;
		return;
	}
	for (size_t i = 0; i < p->nsections; i++) {
		struct psection *t = &p->sections[i];
		if (t->name == NULL || strcmp(t->name, v) != 0)
			continue;
		if (t == sec) {
			add_error(p->errs, sec->file, sec->on_reject_line,
			          "on_reject in [%s] names [%s] itself: name "
			          "fallback, close or another service",
			          sec->name, v);
			return;
		}
		sec->reject_kind = ON_REJECT_SERVICE;
		sec->reject_to = (long)i;
		return;
	}
	if (strcmp(v, "fallback") == 0) {
		sec->reject_kind = ON_REJECT_SERVICE; /* absent: close */
		return;
	}
	add_error(p->errs, sec->file, sec->on_reject_line,
	          "on_reject in [%s]: '%s' is not fallback, close or the name "
	          "of a service in this file",
	          sec->name, v);
}

/* Cross-checks that need the whole file. */
static void
validate(struct parse *p)
{

	if (p->bind_lines == 0)
		add_error(p->errs, p->file, p->line > 0 ? p->line : 1,
		          "no 'bind =' line: nothing to listen on");
	check_binds(p);
	check_listen(p);
	for (size_t i = 0; i < p->nsections; i++) {
		struct psection *sec = &p->sections[i];
		bool sigs = false;
		/* Lines that failed were reported already. */
		for (size_t g = 0; g < sec->ngroups; g++)
			sigs |= sec->groups[g].lines > 0 || g > 0;
		check_action(p, sec);
		check_reject(p, sec);
		check_address(p, sec);
		if (sec->kind != SEC_SERVICE && sec->role_line != 0 && sigs)
			add_error(
			    p->errs, sec->file, sec->role_line,
			    "[%s] has role = %s: it takes an action only, "
			    "not string, regex or signature lines",
			    sec->name,
			    sec->kind == SEC_FALLBACK ? "fallback" : "timeout");
		if (sec->kind != SEC_SERVICE) {
			if (sec->connect == NULL && sec->exec_line == 0)
				add_error(
				    p->errs, sec->file, sec->line,
				    "[%s] has no action (connect or exec)",
				    sec->name);
		} else if (!sigs && !sec->broken) {
			add_error(p->errs, sec->file, sec->line,
			          "[%s] has no string, regex or signature: it "
			          "could never match",
			          sec->name);
		} else if (sec->groups[0].has_frame &&
		           sec->groups[0].nsigs == 0) {
			add_error(p->errs, sec->file, sec->groups[0].frame_line,
			          "frame in [%s] applies to its own string and "
			          "regex lines, and it has none",
			          sec->name);
		}
	}
}

static void
free_psections(struct parse *p)
{
	for (size_t i = 0; i < p->nsections; i++) {
		struct psection *sec = &p->sections[i];
		for (size_t g = 0; g < sec->ngroups; g++) {
			for (size_t s = 0; s < sec->groups[g].nsigs; s++) {
				sig_free(sec->groups[g].sigs[s].sig);
				free(sec->groups[g].sigs[s].text);
			}
			free(sec->groups[g].sigs);
			free(sec->groups[g].name);
			for (size_t a = 0; a < sec->groups[g].nargs; a++)
				free(sec->groups[g].args[a]);
			free(sec->groups[g].args);
		}
		free(sec->groups);
		free(sec->name);
		free(sec->connect);
		free(sec->on_reject);
		if (sec->backend != NULL)
			freeaddrinfo(sec->backend);
		free(sec->host);
		free(sec->port);
		for (size_t a = 0; a < sec->argc; a++)
			free(sec->argv[a]);
		free(sec->argv);
		acl_free(&sec->allow);
		acl_free(&sec->deny);
		for (size_t k = 0; k < sec->nlisten; k++)
			free(sec->listen[k]);
		free(sec->listen);
		free(sec->listen_lines);
		free(sec->listen_idx);
	}
	free(p->sections);
}

/* The default signature path: the config file's signatures/ folder, then
 * the library (the source tree's or the installed one, see paths.h). */
static char *
default_sig_path(const char *config_path)
{
	char *dir = strdup(config_path), *slash, *out;

	if (dir == NULL)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (asprintf(&out, "%s/signatures:%s", dir, paths_library()) < 0)
		out = NULL;
	free(dir);
	return out;
}

int
config_load(const char *path, struct config **out, struct config_errors *errs)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	struct parse p = {.cfg = cfg, .errs = errs};

	memset(errs, 0, sizeof(*errs));
	*out = NULL;
	if (cfg == NULL) {
		errs->oom = true;
		return -1;
	}
	cfg->refs = 1;
	cfg->timeout_ms = 5000;
	cfg->connect_timeout_ms = 10000;
	cfg->frame_timeout_ms = 1000;
	cfg->maxconn = 1024;
	cfg->workers = 1;
	cfg->max_peek = 8192;
	cfg->log_level = LVL_INFO;
	cfg->path = strdup(path);
	cfg->sig_path = default_sig_path(path);
	if (cfg->path == NULL || cfg->sig_path == NULL) {
		errs->oom = true;
		config_unref(cfg);
		return -1;
	}
	if (load_file(&p, path) < 0) {
		add_error(errs, path, 0, "cannot open: %s", strerror(errno));
		config_unref(cfg);
		return -1;
	}
	/* A file that could not be read as lines has nothing to cross-check;
	 * after an allocation failure nothing is checked or built either. */
	if (!p.stop)
		validate(&p);
	if (!errs->oom)
		build(&p);
	free_psections(&p);
	if (nerrors(errs) > 0 || errs->oom) {
		config_unref(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

void
config_errors_free(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
	errs->nwarnings = 0;
	errs->oom = false;
}

struct config *
config_ref(struct config *cfg)
{
	cfg->refs++;
	return cfg;
}

void
config_unref(struct config *cfg)
{
	if (cfg == NULL || --cfg->refs > 0)
		return;
	for (size_t i = 0; i < cfg->nbinds; i++) {
		for (size_t k = 0; k < cfg->binds[i].nnames; k++)
			free(cfg->binds[i].names[k]);
		free(cfg->binds[i].names);
		free(cfg->binds[i].text);
		if (cfg->binds[i].ai != NULL)
			freeaddrinfo(cfg->binds[i].ai);
	}
	free(cfg->binds);
	for (size_t i = 0; i < cfg->nbuilt; i++) {
		struct service *svc = &cfg->services[i];
		free(svc->name);
		free(svc->connect);
		free(svc->reject_name);
		if (svc->backend != NULL)
			freeaddrinfo(svc->backend);
		free(svc->host);
		free(svc->port);
		for (char **a = svc->argv; a != NULL && *a != NULL; a++)
			free(*a);
		free(svc->argv);
		acl_free(&svc->allow);
		acl_free(&svc->deny);
		free(svc->listens);
	}
	free(cfg->services);
	acl_free(&cfg->allow);
	acl_free(&cfg->deny);
	acl_free(&cfg->proxy_from);
	for (size_t i = 0; i < cfg->ngroups; i++)
		free(cfg->groups[i].name);
	free(cfg->groups);
	for (size_t i = 0; i < cfg->nsigs; i++) {
		sig_free(cfg->sigs[i].sig);
		free(cfg->sigs[i].text);
	}
	free(cfg->sigs);
	for (size_t i = 0; i < cfg->nfiles; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg->pid_path);
	free(cfg->log_path);
	free(cfg->user);
	free(cfg->group);
	free(cfg->chroot_dir);
	free(cfg->sig_path);
	free(cfg->path);
	free(cfg);
}

/* The pid file is written after the listeners open: a folder it cannot
 * be written in must stop the start before that, and fail -t too. */
static void
check_pid_folder(const struct config *cfg, struct config_errors *errs)
{
	char *copy = strdup(cfg->pid_path);
	const char *dir;
	struct stat st;

	if (copy == NULL)
		return;
	dir = dirname(copy);
	if (stat(dir, &st) < 0)
		add_error(errs, cfg->path, cfg->pid_line,
		          "pid: folder '%s' does not exist (%s): create it, "
		          "e.g. mkdir -p %s, or choose another path",
		          dir, strerror(errno), dir);
	else if (!S_ISDIR(st.st_mode))
		add_error(errs, cfg->path, cfg->pid_line,
		          "pid: '%s' is not a folder", dir);
	else if (access(dir, W_OK) < 0)
		add_error(errs, cfg->path, cfg->pid_line,
		          "pid: cannot write in folder '%s' (%s): start as a "
		          "user who can, or choose another path",
		          dir, strerror(errno));
	free(copy);
}

int
config_identity(const struct config *cfg, struct privs *id,
                struct config_errors *errs)
{
	size_t before = errs->n;
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (cfg->user != NULL) {
		if (privs_lookup_user(cfg->user, id) < 0)
			add_error(errs, cfg->path, cfg->user_line,
			          "user '%s' does not exist", cfg->user);
	}
	if (cfg->group != NULL) {
		if (privs_lookup_group(cfg->group, id) < 0)
			add_error(errs, cfg->path, cfg->group_line,
			          "group '%s' does not exist", cfg->group);
	}
	/* Transparent connections bind to the clients' addresses. */
	for (size_t i = 0; i < cfg->nbuilt; i++)
		id->keep_net_admin |= cfg->services[i].transparent;
	if (errs->n == before && privs_lookup_groups(id) < 0)
		add_error(errs, cfg->path, cfg->user_line,
		          "user '%s' has no group of its own: add 'group ='",
		          cfg->user);
	if (cfg->pid_path != NULL)
		check_pid_folder(cfg, errs);
	if (cfg->chroot_dir != NULL) {
		if (stat(cfg->chroot_dir, &st) < 0 || !S_ISDIR(st.st_mode))
			add_error(errs, cfg->path, cfg->chroot_line,
			          "chroot: '%s' is not a folder",
			          cfg->chroot_dir);
		else
			id->chroot_dir = cfg->chroot_dir;
	}
	if (errs->n > before) {
		privs_clear(id);
		return -1;
	}
	return 0;
}

int
config_bind_index(const struct config *cfg, const char *name)
{
	for (size_t b = 0; b < cfg->nbinds; b++)
		for (size_t k = 0; k < cfg->binds[b].nnames; k++)
			if (strcmp(cfg->binds[b].names[k], name) == 0)
				return (int)b;
	return -1;
}

bool
config_offered(const struct service *svc, int bind)
{
	if (svc->nlistens == 0)
		return true;
	for (size_t k = 0; k < svc->nlistens; k++)
		if ((int)svc->listens[k] == bind)
			return true;
	return false;
}

void
config_check_names(const struct config *cfg, struct config_errors *errs)
{
	size_t n = cfg->nbuilt;

	for (size_t i = 0; i < n; i++) {
		const struct service *svc = &cfg->services[i];
		struct addrinfo *ai;
		char err[512];
		if (svc->host == NULL)
			continue;
		if (addr_resolve(svc->host, svc->port, false, &ai, err,
		                 sizeof(err)) == 0) {
			freeaddrinfo(ai);
			continue;
		}
		add_warning(errs, svc->file, svc->connect_line,
		            "connect: %s; [%s] looks it up again for each "
		            "connection (they fail while it does not resolve)",
		            err, svc->name);
	}
}

void
config_action_text(const struct service *svc, char *buf, size_t len)
{
	size_t n;

	if (svc == NULL || svc->action == ACTION_CLOSE) {
		snprintf(buf, len, "close");
		return;
	}
	if (svc->action == ACTION_CONNECT) {
		snprintf(buf, len, "connect %s", svc->connect);
		return;
	}
	/* Arguments are shown quoted when they hold blanks (or nothing), so
	 * that the summary says where each one ends. */
	n = (size_t)snprintf(buf, len, "exec%s", svc->pty ? " (pty)" : "");
	for (char **a = svc->argv; *a != NULL && n < len; a++) {
		char text[256];
		bytes_display(*a, text, sizeof(text));
		n += (size_t)snprintf(
		    buf + n, len - n,
		    **a == '\0' || strpbrk(*a, " \t") ? " '%s'" : " %s", text);
	}
}
