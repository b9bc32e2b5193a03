/* SPDX-License-Identifier: ISC */
/* What the unit tests over the signature library (test_library,
 * test_sweep) share: where the library and the recorded clients are, the
 * names of the library's signatures, one signature loaded as the only
 * service of a configuration (so that its frame applies as in the
 * daemon), and the recorded samples of tests/classify. */
#ifndef PORTSPLIT_SIGLIB_H
#define PORTSPLIT_SIGLIB_H

#include <dirent.h>
#include <sys/types.h>

#include "sigargs.h"
#include "unit.h"
#include "unit_config.h"

/* A recorded client, tests/classify/PROTO/NAME.bin. */
struct sample {
	char path[1024]; /* PROTO/NAME.bin */
	char proto[256]; /* PROTO: the service it must reach */
	uint8_t *data;   /* malloc'd */
	size_t len;
};

/* REL (such as "classify") under the tests folder: $TESTS_DIR, or
 * "tests" from the top of the tree when it is not set. */
static inline void
siglib_path(char *buf, size_t size, const char *rel)
{
	const char *tests = getenv("TESTS_DIR");

	snprintf(buf, size, "%s/%s", tests ? tests : "tests", rel);
}

/* The library signature NAME of LIBDIR, given ARGS ("" for none), as the
 * only service of a configuration. NULL, its errors printed, when it does
 * not load. */
static inline struct config *
siglib_config(const char *libdir, const char *name, const char *args)
{
	char text[8192];

	if (snprintf(text, sizeof(text),
	             "bind = 127.0.0.1:1\nsignature_path = %s\n[%s]\n"
	             "signature = %s %s\n",
	             libdir, name, name, args) >= (int)sizeof(text)) {
		printf("# the configuration for %s is too long\n", name);
		return NULL;
	}
	return unit_config(text);
}

static inline int
siglib_by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The names of the signatures in LIBDIR (its NAME.ini files), sorted, at
 * most MAX of them. Returns how many, or -1 when LIBDIR cannot be read. */
static inline int
siglib_names(const char *libdir, char (*names)[64], int max)
{
	DIR *d = opendir(libdir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < max) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0)
			continue;
		snprintf(names[n], sizeof(names[n]), "%.*s", (int)len - 4,
		         e->d_name);
		n++;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), siglib_by_name);
	return n;
}

/* Reads every recorded sample CLASSDIR/PROTO/NAME.bin into *SAMPLES, a
 * malloc'd array (free it with siglib_samples_free). Returns how many, or
 * -1 when CLASSDIR cannot be read. */
static inline ssize_t
siglib_samples(const char *classdir, struct sample **samples)
{
	DIR *d = opendir(classdir);
	struct dirent *e;
	size_t n = 0;

	*samples = NULL;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char sub[2048], file[4096];
		DIR *sd;
		struct dirent *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", classdir, e->d_name);
		if ((sd = opendir(sub)) == NULL)
			continue;
		while ((f = readdir(sd)) != NULL) {
			size_t len = strlen(f->d_name);
			struct sample *s;
			if (len < 5 || strcmp(f->d_name + len - 4, ".bin") != 0)
				continue;
			*samples =
			    realloc(*samples, (n + 1) * sizeof(**samples));
			s = &(*samples)[n++];
			snprintf(s->path, sizeof(s->path), "%s/%s", e->d_name,
			         f->d_name);
			snprintf(s->proto, sizeof(s->proto), "%s", e->d_name);
			snprintf(file, sizeof(file), "%s/%s", sub, f->d_name);
			s->data = unit_slurp(file, &s->len);
		}
		closedir(sd);
	}
	closedir(d);
	return (ssize_t)n;
}

/* Frees the N samples of siglib_samples. */
static inline void
siglib_samples_free(struct sample *samples, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(samples[i].data);
	free(samples);
}

#endif
