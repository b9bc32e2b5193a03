/* SPDX-License-Identifier: ISC */
/* Fuzzes the configuration loader (config.c with inih): the input is
 * written as a file and loaded. Any bytes either give a configuration
 * or errors, every one of the form `FILE:LINE: message` with a line that
 * exists; the configuration is consistent (every service's signatures are
 * its own, every group inside its service) and frees without a leak.
 * The file sits in a fresh folder whose `signatures/` is absent, so
 * `signature =` finds the source tree's library (compiled in). */
#define FUZZ_NO_DNS
#include "fuzz.h"

#include <fcntl.h>
#include <unistd.h>

#include "config.h"

static char dir[64], path[256];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/portsplit-fuzz-config-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/fuzz.ini", dir);
	atexit(cleanup);
	return 0;
}

static void
check_error(const char *e, size_t lines)
{
	const char *colon = strstr(e, ": ");
	const char *p = colon;
	long line;

	FUZZ_CHECK(colon != NULL && colon > e, "not FILE:LINE: '%s'", e);
	/* Back from ": " over the digits of LINE to its ':'. */
	while (p > e && p[-1] >= '0' && p[-1] <= '9')
		p--;
	FUZZ_CHECK(p < colon && p > e && p[-1] == ':', "no line in '%s'", e);
	FUZZ_CHECK(colon[2] != '\0', "no message in '%s'", e);
	line = strtol(p, NULL, 10);
	if ((size_t)(p - 1 - e) == strlen(path) &&
	    strncmp(e, path, strlen(path)) == 0)
		FUZZ_CHECK(line >= 0 && (size_t)line <= lines + 1,
		           "line %ld of a file of %zu lines: '%s'", line, lines,
		           e);
}

static void
check_config(const struct config *cfg)
{
	for (size_t s = 0; s < cfg->nservices; s++) {
		const struct service *svc = &cfg->services[s];
		FUZZ_CHECK(svc->first_sig + svc->nsigs <= cfg->nsigs,
		           "service %zu's signatures", s);
		FUZZ_CHECK(svc->first_group + svc->ngroups <= cfg->ngroups,
		           "service %zu's groups", s);
		for (size_t i = svc->first_sig; i < svc->first_sig + svc->nsigs;
		     i++)
			FUZZ_CHECK(cfg->sigs[i].service == s &&
			               cfg->sigs[i].sig != NULL,
			           "signature %zu", i);
		FUZZ_CHECK(svc->action != ACTION_EXEC ||
		               (svc->argv != NULL && svc->argv[0] != NULL),
		           "exec without a program");
	}
	FUZZ_CHECK(cfg->max_peek > 0, "max_peek 0");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	struct config_errors errs;
	size_t lines = 1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r';
	if (config_load(path, &cfg, &errs) == 0) {
		FUZZ_CHECK(cfg != NULL && errs.n == errs.nwarnings,
		           "loaded with errors");
		for (size_t i = 0; i < errs.n; i++)
			check_error(errs.lines[i], lines);
		check_config(cfg);
		config_unref(cfg);
	} else {
		FUZZ_CHECK(cfg == NULL, "a configuration with errors");
		FUZZ_CHECK(errs.n > errs.nwarnings, "refused without an error");
		for (size_t i = 0; i < errs.n; i++)
			check_error(errs.lines[i], lines);
	}
	config_errors_free(&errs);
	return 0;
}
