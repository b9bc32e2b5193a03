/* SPDX-License-Identifier: ISC */
/* Unit tests for config.c. Golden files: every tests/config/NAME.ini is
 * loaded and its errors must be exactly tests/config/NAME.err (empty: the
 * file is valid). Then a few values are checked directly. */
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "unit.h"
#include "unit_config.h"

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
		char *want = unit_slurp(errpath, NULL);
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

static void
values(void)
{
	struct config *cfg;

	cfg = unit_config("bind = 127.0.0.1:1\n"
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
	cfg =
	    unit_config("bind = 127.0.0.1:1\ntimeout = 0.25\nidle_timeout = 0\n"
	                "[a]\nstring = x\n");
	ok(cfg != NULL && cfg->timeout_ms == 250 && cfg->idle_timeout_ms == 0,
	   "decimal timeouts");
	ok(cfg != NULL && cfg->services[0].action == ACTION_CLOSE,
	   "a service without an action closes");
	config_unref(cfg);

	cfg = unit_config(
	    "bind = ::1:7898\nbind = :::7899\nbind = 127.0.0.1:7898\n"
	    "[tls]\nstring = \\16\\03\\01\n"
	    "[fallback]\nconnect = 127.0.0.1:80\n"
	    "[timeout]\nconnect = 127.0.0.1:25\n");
	ok(cfg != NULL && cfg->nbinds == 3 && cfg->nservices == 1 &&
	       cfg->fallback != NULL && cfg->timeout != NULL,
	   "the original Portsplit syntax loads");
	config_unref(cfg);

	cfg =
	    unit_config("bind = 127.0.0.1:1\nlog = /tmp/x.log\nuser = nobody\n"
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

/* The reader's edges: what the golden files cannot hold. */
static void
reader_edges(void)
{
	struct config *cfg;
	struct config_errors errs;

	ok(config_load("/nonexistent/portsplit.ini", &cfg, &errs) < 0 &&
	       errs.n == 1,
	   "a missing file is one error");
	if (errs.n == 1)
		ok_str(errs.lines[0],
		       "/nonexistent/portsplit.ini: cannot open: No such file "
		       "or directory",
		       "a missing file: no line number, 'cannot open'");
	config_errors_free(&errs);

	cfg = unit_config("\xef\xbb\xbf"
	                  "bind = 127.0.0.1:1\n[a]\nstring = x\n");
	ok(cfg != NULL && cfg->nbinds == 1, "a UTF-8 BOM before line 1");
	config_unref(cfg);

	cfg = unit_config("bind = 127.0.0.1:1\ntimeout = 0\n[a]\nstring = x\n");
	ok(cfg != NULL && cfg->timeout_ms == 0,
	   "timeout = 0: no limit, as in the original Portsplit");
	config_unref(cfg);

	cfg =
	    unit_config("bind = :::1\nbind = [::]:2\nbind = :::3\n"
	                "bind = 127.0.0.1:3\nbind = ::1:4\n[a]\nstring = x\n");
	ok(cfg != NULL && cfg->nbinds == 5 && cfg->binds[0].dual_stack &&
	       !cfg->binds[1].dual_stack && !cfg->binds[2].dual_stack &&
	       cfg->binds[2].ipv4_line == 4 && !cfg->binds[4].dual_stack,
	   ":::PORT is dual stack unless IPv4 has a line on PORT; [::] and "
	   "::1 are not");
	config_unref(cfg);

	cfg = unit_config("bind = 127.0.0.1:1\n[a]\nstring = x\nconnect = "
	                  "localhost:2\n[b]\nstring = y\nconnect = ::1:3\n");
	ok(cfg != NULL && cfg->services[0].backend == NULL &&
	       strcmp(cfg->services[0].host, "localhost") == 0 &&
	       strcmp(cfg->services[0].port, "2") == 0 &&
	       cfg->services[1].backend != NULL &&
	       cfg->services[1].host == NULL,
	   "a connect host name is kept for lookups per connection, never "
	   "resolved at load; numbers are");
	config_unref(cfg);

	const char *path = unit_tmpfile("bind = 127.0.0.1:1\n[a]\n"
	                                "string = GET \nconnect = "
	                                "127.0.0.1:2\n");
	ok(config_load(path, &cfg, &errs) == 0 && errs.n == 1 &&
	       errs.nwarnings == 1,
	   "a warning does not stop the load, and comes back");
	config_unref(cfg);
	config_errors_free(&errs);
	unlink(path);
}

/* A line of 128 MiB through a pipe: the reader keeps at most the limit of
 * it, so the peak memory of a process that loads it stays far below the
 * line (getline() would hold all of it). */
static void
bounded_line(void)
{
	char fifo[] = "/tmp/portsplit-unit-fifo-XXXXXX";
	int fd = mkstemp(fifo);
	struct rusage ru;
	pid_t reader, writer;
	int status = 0;

	if (fd < 0 || close(fd) < 0 || unlink(fifo) < 0 ||
	    mkfifo(fifo, 0600) < 0) {
		ok(0, "fifo for the long line test");
		return;
	}
	writer = fork();
	if (writer == 0) {
		static char chunk[1 << 16];
		FILE *f = fopen(fifo, "w");
		memset(chunk, 'a', sizeof(chunk));
		fputs("bind = 127.0.0.1:1\n[a]\nstring = ", f);
		for (int i = 0; i < 2048; i++)
			fwrite(chunk, 1, sizeof(chunk), f);
		fputs("\nstring = x\n", f);
		fclose(f);
		_exit(0);
	}
	reader = fork();
	if (reader == 0) {
		struct config *cfg;
		struct config_errors errs;
		int rc = config_load(fifo, &cfg, &errs);
		_exit(rc < 0 && errs.n == 1 &&
		              strstr(errs.lines[0], ":3: line too long "
		                                    "(134217737 bytes") != NULL
		          ? 0
		          : 1);
	}
	waitpid(writer, NULL, 0);
	if (wait4(reader, &status, 0, &ru) < 0)
		memset(&ru, 0, sizeof(ru));
	unlink(fifo);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a 128 MiB line is one error, 'line too long', on its line");
	ok(ru.ru_maxrss < 64 * 1024,
	   "reading it peaks at %ld KiB (under 64 MiB)", ru.ru_maxrss);
}

int
main(void)
{
	const char *dir = getenv("TESTS_DIR");
	char path[512];

	values();
	reader_edges();
	bounded_line();
	snprintf(path, sizeof(path), "%s/config", dir ? dir : "tests");
	if (chdir(path) < 0) {
		printf("not ok - cannot enter %s\n", path);
		return 1;
	}
	golden();
	return unit_done();
}
