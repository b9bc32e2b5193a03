/* SPDX-License-Identifier: ISC */
/* Configurations for the unit tests, written as strings: config_load reads
 * files, so the text goes to a temporary file first, removed after. */
#ifndef PORTSPLIT_UNIT_CONFIG_H
#define PORTSPLIT_UNIT_CONFIG_H

#include <unistd.h>

#include "config.h"
#include "unit.h"

/* Loads TEXT as a configuration file. Returns it (one reference), or NULL
 * when it is invalid, after printing its errors as comments. */
static inline struct config *
unit_config(const char *text)
{
	const char *path = unit_tmpfile(text);
	struct config *cfg = NULL;
	struct config_errors errs;

	if (config_load(path, &cfg, &errs) < 0)
		for (size_t i = 0; i < errs.n; i++)
			printf("# %s\n", errs.lines[i]);
	config_errors_free(&errs);
	unlink(path);
	return cfg;
}

/* The same for a configuration the test cannot go on without: when it is
 * invalid, that is a failure and the end of the test. */
static inline struct config *
unit_config_must(const char *text)
{
	struct config *cfg = unit_config(text);

	if (cfg == NULL) {
		printf("not ok - test config loads\n");
		exit(1);
	}
	return cfg;
}

#endif
