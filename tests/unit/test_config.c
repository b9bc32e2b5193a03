/* SPDX-License-Identifier: ISC */
/* Unit tests for config.c. Golden files: every tests/config/NAME.ini is
 * loaded and its errors must be exactly tests/config/NAME.err (empty: the
 * file is valid). Then a few values are checked directly. */
#include <dirent.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "unit.h"

static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static void
golden(void)
{
	DIR *dir = opendir(".");
	struct dirent *e;
	int files = 0;

	while ((e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);
		char errpath[512];
		struct config *cfg;
		struct config_errors errs;
		char got[8192] = "";

		if (len < 5 || strcmp(e->d_name + len - 4, ".ini") != 0)
			continue;
		files++;
		snprintf(errpath, sizeof(errpath), "%.*s.err", (int)len - 4,
		         e->d_name);
		char *want = read_all(errpath);
		if (config_load(e->d_name, &cfg, &errs) == 0)
			config_unref(cfg);
		for (size_t i = 0; i < errs.n; i++) {
			strncat(got, errs.lines[i],
			        sizeof(got) - strlen(got) - 2);
			strcat(got, "\n");
		}
		ok_str(got, want ? want : "(no .err file)",
		       "golden %s: %zu errors", e->d_name, errs.n);
		config_errors_free(&errs);
		free(want);
	}
	closedir(dir);
	ok(files >= 10, "%d golden configurations found", files);
}

static struct config *
load(const char *text)
{
	struct config *cfg = NULL;
	struct config_errors errs;
	const char *path = unit_tmpfile(text);

	if (config_load(path, &cfg, &errs) < 0)
		for (size_t i = 0; i < errs.n; i++)
			printf("# %s\n", errs.lines[i]);
	config_errors_free(&errs);
	unlink(path);
	return cfg;
}

static void
values(void)
{
	struct config *cfg;

	cfg = load("bind = 127.0.0.1:1\n"
	           "[a]\n"
	           "string = abc ; a comment after white space\n"
	           "string = a;b\n"
	           "string = \\3B\n"
	           "   regex = x  \n"
	           "string: colon\n"
	           "connect = 127.0.0.1:2\n");
	ok(cfg != NULL && cfg->nsigs == 5, "inline comments config loads");
	if (cfg != NULL) {
		ok_str(cfg->sigs[0].text, "abc", "' ;' starts a comment");
		ok_str(cfg->sigs[1].text, "a;b", "';' without space is data");
		ok_str(cfg->sigs[2].text, "\\3B", "\\3B is kept for decoding");
		ok_str(cfg->sigs[3].text, "x",
		       "leading blanks are no continuation");
		ok_str(cfg->sigs[4].text, "colon", "KEY: VALUE works too");
		ok(cfg->sigs[3].line == 6, "line numbers are counted (%d)",
		   cfg->sigs[3].line);
		ok(cfg->timeout_ms == 5000 && cfg->maxconn == 1024 &&
		       cfg->max_peek == 8192 &&
		       cfg->connect_timeout_ms == 10000 &&
		       cfg->idle_timeout_ms == 0 && cfg->log_level == LVL_INFO,
		   "defaults as SPEC §2 says");
		config_unref(cfg);
	}
	cfg = load("bind = 127.0.0.1:1\ntimeout = 0.25\nidle_timeout = 0\n"
	           "[a]\nstring = x\n");
	ok(cfg != NULL && cfg->timeout_ms == 250 && cfg->idle_timeout_ms == 0,
	   "decimal timeouts");
	ok(cfg != NULL && cfg->services[0].action == ACTION_CLOSE,
	   "a service without an action closes");
	config_unref(cfg);

	cfg = load("bind = ::1:7898\nbind = :::7899\nbind = 127.0.0.1:7898\n"
	           "[tls]\nstring = \\16\\03\\01\n"
	           "[fallback]\nconnect = 127.0.0.1:80\n"
	           "[timeout]\nconnect = 127.0.0.1:25\n");
	ok(cfg != NULL && cfg->nbinds == 3 && cfg->nservices == 1 &&
	       cfg->fallback != NULL && cfg->timeout != NULL,
	   "the original Portsplit syntax loads");
	config_unref(cfg);

	cfg = load("bind = 127.0.0.1:1\nlog = /tmp/x.log\nuser = nobody\n"
	           "[sh]\nstring = x\nexecarg = -c\nexec = sh\n"
	           "execarg = echo  two  spaces\nexecarg =\npty = yes\n"
	           "[timeout]\nexec = cat\n");
	ok(cfg != NULL, "exec config loads");
	if (cfg != NULL) {
		char **a = cfg->services[0].argv;
		ok(cfg->services[0].action == ACTION_EXEC &&
		       cfg->services[0].pty,
		   "exec with pty = yes");
		ok_str(a[0], "sh", "argv[0] is the program, wherever it stood");
		ok_str(a[1], "-c", "execarg before exec stays first");
		ok_str(a[2], "echo  two  spaces", "an execarg is one argument");
		ok_str(a[3], "", "an empty execarg is an empty argument");
		ok(a[4] == NULL, "argv ends with NULL");
		ok(cfg->timeout->action == ACTION_EXEC && !cfg->timeout->pty &&
		       cfg->timeout->argv[1] == NULL,
		   "[timeout] exec without arguments, no pty");
		ok(cfg->log_dest == LOG_TO_FILE &&
		       strcmp(cfg->log_path, "/tmp/x.log") == 0,
		   "log = PATH");
		ok_str(cfg->user, "nobody", "user is kept as written");
		config_unref(cfg);
	}
}

int
main(void)
{
	const char *dir = getenv("TESTS_DIR");
	char path[512];

	values();
	snprintf(path, sizeof(path), "%s/config", dir ? dir : "tests");
	if (chdir(path) < 0) {
		printf("not ok - cannot enter %s\n", path);
		return 1;
	}
	golden();
	return unit_done();
}
