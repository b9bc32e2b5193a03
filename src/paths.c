/* SPDX-License-Identifier: ISC */
/* paths: where the signature library is (see paths.h). */
#define _GNU_SOURCE
#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SIGNATURE_DIR
#define SIGNATURE_DIR "/usr/local/share/portsplit/signatures"
#endif

/* Chosen once at start by paths_init(), read afterwards: the reload of a
 * chrooted daemon can no longer look at /proc/self/exe. */
static char library[PATH_MAX] = SIGNATURE_DIR;

const char *
paths_installed_library(void)
{
	return SIGNATURE_DIR;
}

const char *
paths_library(void)
{
	return library;
}

/* The candidates, relative to the folder holding the executable, in order:
 * an installed layout (PREFIX/sbin or bin -> PREFIX/share/...), then the
 * source tree (build/portsplit and build/VARIANT/portsplit). A tree is
 * recognised by its signatures/ folder beside src/, so that an unrelated
 * "signatures" folder near an installed binary is never taken. */
int
paths_beside(const char *exe_dir, int (*exists)(const char *dir), char *out,
             size_t outlen)
{
	static const char *const installed = "/../share/portsplit/signatures";
	static const char *const trees[] = {"/..", "/../.."};
	char probe[PATH_MAX];

	snprintf(probe, sizeof(probe), "%s%s", exe_dir, installed);
	if (exists(probe)) {
		snprintf(out, outlen, "%s", probe);
		return 0;
	}
	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		snprintf(probe, sizeof(probe), "%s%s/src", exe_dir, trees[i]);
		if (!exists(probe))
			continue;
		snprintf(probe, sizeof(probe), "%s%s/signatures", exe_dir,
		         trees[i]);
		if (exists(probe)) {
			snprintf(out, outlen, "%s", probe);
			return 0;
		}
	}
	return -1;
}

static int
is_dir(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

void
paths_init(const char *exe)
{
	char self[PATH_MAX], found[PATH_MAX], *slash, *real;

	if (exe == NULL) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return;
		self[n] = '\0';
		exe = self;
	}
	real = realpath(exe, NULL);
	if (real == NULL)
		return;
	slash = strrchr(real, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (paths_beside(real, is_dir, found, sizeof(found)) == 0 &&
		    (exe = realpath(found, self)) != NULL)
			snprintf(library, sizeof(library), "%s", self);
	}
	free(real);
}
