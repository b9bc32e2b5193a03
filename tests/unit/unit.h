/* SPDX-License-Identifier: ISC */
/* unit: the smallest test harness that does the job. Each check prints
 * "ok - what" or "not ok - what" (tests/run counts them); unit_done()
 * returns the exit status. */
#ifndef PORTSPLIT_UNIT_H
#define PORTSPLIT_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_failed;

static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		unit_failed++;
	return cond;
}

/* Compares strings, printing both on failure. */
#define ok_str(got, want, ...)                                                 \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (!ok(g_ != NULL && strcmp(g_, w_) == 0, __VA_ARGS__))       \
			printf("#   got:  '%s'\n#   want: '%s'\n",             \
			       g_ ? g_ : "(null)", w_);                        \
	} while (0)

static inline int
unit_done(void)
{
	return unit_failed ? 1 : 0;
}

/* Writes TEXT to a new temporary file and returns its path (static). */
static inline const char *
unit_tmpfile(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/portsplit-unit-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return path;
}

/* Reads the file PATH whole into a malloc'd buffer with a NUL byte after
 * its end (so text can be used as a string); its length in *LEN when LEN
 * is not NULL. Returns NULL when PATH cannot be opened. */
static inline void *
unit_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	size_t got;

	if (f == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n > 0 ? (size_t)n + 1 : 1);
	got = buf != NULL && n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
	fclose(f);
	if (len != NULL)
		*len = got;
	return buf;
}

#endif
