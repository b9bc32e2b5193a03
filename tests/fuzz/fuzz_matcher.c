/* SPDX-License-Identifier: ISC */
/* Fuzzes the matcher (matcher.c, sig.c, frame.c) with configurations drawn
 * from the signature library, and checks SPEC §3's promise that the way a
 * client splits its bytes never changes where it goes: the same bytes fed
 * whole, one byte at a time, and in random chunks reach the same service,
 * both when the client then closes and when the timer expires. Bytes past
 * the prefix being fed are poisoned, so reading ahead is a crash.
 *
 * The input's first byte picks the configuration, the second seeds the
 * chunk sizes; the rest is what the client sends. */
#include "fuzz.h"

#include <dirent.h>
#include <sanitizer/asan_interface.h>
#include <unistd.h>

#include "../unit/sigargs.h" /* the arguments the unit tests use */
#include "config.h"
#include "matcher.h"

#define NCONFIGS 3
static struct config *configs[NCONFIGS];
static struct sig_scratch *scratch;

struct outcome {
	enum verdict_kind kind;
	const struct service *service;
	size_t bytes;
};

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes a configuration of the library signatures NAMES (in that order,
 * one service each) to DIR/FILE and loads it. */
static struct config *
make_config(const char *dir, const char *file, char **names, size_t n,
            const char *globals, bool specials)
{
	char path[512];
	struct config *cfg;
	struct config_errors errs;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fprintf(f, "bind = 127.0.0.1:9\nsignature_path = %s\n%s\n",
	        SIGNATURE_DIR, globals);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "[s-%s]\nsignature = %s %s\nconnect = 127.0.0.1:9\n",
		        names[i], names[i], sigargs_args(names[i]));
	if (specials)
		fprintf(f, "[fallback]\nconnect = 127.0.0.1:9\n"
		           "[timeout]\nconnect = 127.0.0.1:9\n");
	fclose(f);
	if (config_load(path, &cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		abort();
	}
	config_errors_free(&errs);
	unlink(path);
	return cfg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/portsplit-fuzz-matcher-XXXXXX";
	char *names[128], *rev[128], *some[128];
	size_t n = 0, nsome = 0;
	DIR *d = opendir(SIGNATURE_DIR);
	struct dirent *e;

	(void)argc;
	(void)argv;
	if (d == NULL || mkdtemp(dir) == NULL)
		abort();
	while ((e = readdir(d)) != NULL && n < 128) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".ini") == 0)
			names[n++] = strndup(e->d_name, len - 4);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		rev[i] = names[n - 1 - i];
		/* The refinements before the protocols they refine. */
		if (strchr(names[i], '-') != NULL)
			some[nsome++] = names[i];
	}
	for (size_t i = 0; i < n; i++)
		if (strchr(names[i], '-') == NULL && i % 2 == 0)
			some[nsome++] = names[i];
	configs[0] = make_config(dir, "all.ini", names, n, "", false);
	configs[1] = make_config(dir, "rev.ini", rev, n, "max_peek = 64", true);
	configs[2] =
	    make_config(dir, "some.ini", some, nsome, "max_peek = 700", true);
	rmdir(dir);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	scratch = sig_scratch_new();
	return 0;
}

static void
check_verdict(const struct config *cfg, const struct verdict *v, size_t n)
{
	FUZZ_CHECK(v->bytes <= n && v->bytes <= cfg->max_peek,
	           "decided on %zu bytes of %zu", v->bytes, n);
	if (v->kind == VERDICT_SERVICE) {
		size_t s = (size_t)(v->service - cfg->services);
		FUZZ_CHECK(s < cfg->nservices, "not a ranked service");
		FUZZ_CHECK(v->sig < cfg->nsigs &&
		               cfg->sigs[v->sig].service == s,
		           "signature %zu is not service %zu's", v->sig, s);
	} else if (v->kind == VERDICT_FALLBACK) {
		FUZZ_CHECK(v->service == cfg->fallback, "fallback");
	} else {
		FUZZ_CHECK(v->service == cfg->timeout, "timeout");
	}
}

/* Feeds the prefixes of BUF ending at CUTS (increasing, the last N), then
 * END when still undecided. Bytes past the prefix are poisoned. */
static struct outcome
run(const struct config *cfg, uint8_t *buf, size_t n, const size_t *cuts,
    size_t ncuts, enum matcher_end end)
{
	struct matcher *m = matcher_new(cfg);
	struct verdict v;
	struct outcome o;
	bool decided = false;
	char why[1024];

	FUZZ_CHECK(m != NULL, "matcher_new");
	for (size_t i = 0; i < ncuts && !decided; i++) {
		ASAN_POISON_MEMORY_REGION(buf + cuts[i], n - cuts[i]);
		decided =
		    matcher_feed(m, buf, cuts[i], MATCHER_MORE, scratch, &v);
		ASAN_UNPOISON_MEMORY_REGION(buf, n);
	}
	if (!decided)
		FUZZ_CHECK(matcher_feed(m, buf, n, end, scratch, &v),
		           "undecided at the end");
	check_verdict(cfg, &v, n);
	matcher_explain(m, &v, why, sizeof(why));
	FUZZ_CHECK(why[0] != '\0', "no explanation");
	matcher_free(m);
	o.kind = v.kind;
	o.service = v.service;
	o.bytes = v.bytes;
	return o;
}

static void
compare(const char *what, struct outcome a, struct outcome b,
        enum matcher_end end)
{
	FUZZ_CHECK(a.kind == b.kind && a.service == b.service,
	           "%s (%s): whole gives %d %s on %zu bytes, this gives %d %s "
	           "on %zu",
	           what, end == MATCHER_EOF ? "then close" : "then timeout",
	           (int)a.kind, a.service ? a.service->name : "-", a.bytes,
	           (int)b.kind, b.service ? b.service->name : "-", b.bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config *cfg;
	uint32_t seed;
	size_t n, *cuts, ncuts;
	uint8_t *buf;

	if (size < 2)
		return 0;
	cfg = configs[data[0] % NCONFIGS];
	seed = data[1] * 2654435761u + 1;
	n = size - 2;
	buf = malloc(n ? n : 1);
	memcpy(buf, data + 2, n);
	cuts = malloc((n + 1) * sizeof(*cuts));
	for (int e = 0; e < 2; e++) {
		enum matcher_end end = e ? MATCHER_TIMEOUT : MATCHER_EOF;
		unsigned long hits = sig_scratch_limit_hits(scratch);
		struct outcome whole, one, chunks;
		size_t at = 0;

		cuts[0] = n;
		whole = run(cfg, buf, n, cuts, 1, end);
		for (ncuts = 0; ncuts < n; ncuts++)
			cuts[ncuts] = ncuts + 1;
		one = run(cfg, buf, n, cuts, ncuts, end);
		for (ncuts = 0; at < n; ncuts++) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			at += 1 + seed % (n / 4 + 2);
			cuts[ncuts] = at < n ? at : n;
		}
		chunks = run(cfg, buf, n, cuts, ncuts, end);
		/* A regex that hit PCRE2's limits counts as no match, which
		 * may depend on the length it was tried on: not comparable. */
		if (sig_scratch_limit_hits(scratch) != hits)
			continue;
		compare("one byte at a time", whole, one, end);
		compare("random chunks", whole, chunks, end);
	}
	free(cuts);
	free(buf);
	return 0;
}
