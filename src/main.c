/* SPDX-License-Identifier: ISC */
/* main: the command line — options, the three modes (run, --check,
 * --classify) and the exit codes: 0 success, 1 configuration or runtime
 * error, 2 usage error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bytes.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "matcher.h"
#include "paths.h"
#include "privs.h"
#include "supervisor.h"
#include "workers.h"

#ifndef PORTSPLIT_VERSION
#define PORTSPLIT_VERSION "dev"
#endif

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: portsplit [options] CONFIG\n"
	        "       portsplit -t CONFIG\n"
	        "       portsplit -c CONFIG FILE...\n"
	        "Share one TCP port between services, chosen by the first "
	        "bytes each client sends.\n\n"
	        "  -t, --check        validate CONFIG, print a summary, exit "
	        "0 (valid) or 1\n"
	        "  -c, --classify     run CONFIG's matcher over each FILE ('-' "
	        "for standard\n"
	        "                     input) and print the service chosen and "
	        "why\n"
	        "  -f, --foreground   stay in the foreground (the default)\n"
	        "  -d, --daemon       detach: run in the background, log to "
	        "syslog unless\n"
	        "                     'log =' names a file\n"
	        "  -v, --verbose      log more (repeatable)\n"
	        "  -q, --quiet        log less (repeatable)\n"
	        "  -V, --version      print the version\n"
	        "  -h, --help         print this help\n\n"
	        "See portsplit(1) and portsplit.ini(5).\n");
}

static void
print_errors(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->lines[i]);
	config_errors_free(errs);
}

static void
print_seconds(const char *name, uint32_t ms)
{
	if (ms == 0)
		printf("%s none", name);
	else
		printf("%s %gs", name, ms / 1000.0);
}

static void print_address(const struct config *cfg, const struct service *svc);
static void print_offered(const struct config *cfg, int bind);

static void
print_service(const struct config *cfg, const struct service *svc,
              const char *label, const char *absent)
{
	char action[600];

	if (svc == NULL) {
		printf("  %-12s -> close (%s)\n", label, absent);
		return;
	}
	config_action_text(svc, action, sizeof(action));
	printf("  %-12s -> %s   (%s:%d)\n", label, action, svc->file,
	       svc->line);
	print_address(cfg, svc);
	if (svc->has_fresh || svc->replay_window_ms > 0 ||
	    svc->on_reject != ON_REJECT_NONE) {
		printf("       ");
		if (svc->has_fresh)
			printf("fresh %u:be32 %gs; ", svc->fresh_offset,
			       svc->fresh_ms / 1000.0);
		if (svc->replay_window_ms > 0)
			printf("replay_window %gs; ",
			       svc->replay_window_ms / 1000.0);
		if (svc->on_reject != ON_REJECT_NONE)
			printf("on_reject %s",
			       svc->on_reject == ON_REJECT_CLOSE ? "close"
			       : svc->reject_to != NULL ? svc->reject_to->name
			                                : "fallback (close)");
		printf("\n");
	}
	for (size_t g = svc->first_group; g < svc->first_group + svc->ngroups;
	     g++) {
		const struct group *grp = &cfg->groups[g];
		const char *indent = "       ";
		if (grp->name != NULL) {
			printf("       signature %s (%s:%d)\n", grp->name,
			       grp->file, grp->line);
			indent = "         ";
		}
		if (grp->has_frame) {
			char f[64];
			frame_format(&grp->frame, f, sizeof(f));
			printf("%sframe %s\n", indent, f);
		}
		for (size_t s = grp->first_sig; s < grp->first_sig + grp->nsigs;
		     s++) {
			const struct sigdef *d = &cfg->sigs[s];
			/* Whole: an expanded parameterised signature (a
			 * wildcard host name) runs to a kilobyte or two. */
			char text[8192];
			bytes_display(d->text, text, sizeof(text));
			printf("%s%-6s '%s'%s   (%s:%d)\n", indent,
			       sig_is_regex(d->sig) ? "regex" : "string", text,
			       sig_is_regex(d->sig) && !sig_is_jit(d->sig)
			           ? " [no JIT]"
			           : "",
			       d->file, d->line);
		}
	}
}

/* What listener BIND offers: its ranked services, in order, and where
 * the rest goes. */
static void
print_offered(const struct config *cfg, int bind)
{
	const struct bind *b = &cfg->binds[bind];
	const struct service *fb = b->fallback ? b->fallback : cfg->fallback;
	const struct service *to = b->timeout ? b->timeout : cfg->timeout;
	int n = 0;

	printf("      services:");
	for (size_t s = 0; s < cfg->nservices; s++)
		if (config_offered(&cfg->services[s], bind))
			printf("%s %zu. %s", n++ ? "," : "", s + 1,
			       cfg->services[s].name);
	printf("%s; fallback: %s%s; timeout: %s%s\n", n ? "" : " none",
	       fb ? fb->name : "close", b->fallback ? " (its own)" : "",
	       to ? to->name : "close", b->timeout ? " (its own)" : "");
}

/* Who may connect, whose PROXY headers are trusted, per-source limit. */
static void
print_access(const struct config *cfg)
{
	char a[1024];

	acl_format(&cfg->allow, a, sizeof(a));
	printf("clients: allow %s", cfg->allow.n > 0 ? a : "all");
	acl_format(&cfg->deny, a, sizeof(a));
	printf(", deny %s", cfg->deny.n > 0 ? a : "none");
	if (cfg->maxconn_per_source > 0)
		printf(", maxconn_per_source %u (IPv6 per /64)",
		       cfg->maxconn_per_source);
	else
		printf(", maxconn_per_source none");
	acl_format(&cfg->proxy_from, a, sizeof(a));
	printf("\nPROXY headers: %s%s\n",
	       cfg->proxy_from.n > 0 ? "required from " : "trusted from no one",
	       cfg->proxy_from.n > 0 ? a : "");
}

/* A service's PROXY, transparent and allow/deny settings, when set. */
static void
print_address(const struct config *cfg, const struct service *svc)
{
	char a[1024];

	for (size_t k = 0; k < svc->nlistens; k++)
		printf("%s%s%s", k == 0 ? "       listen " : ", ",
		       cfg->binds[svc->listens[k]].text,
		       k + 1 == svc->nlistens ? "\n" : "");

	if (svc->proxy_protocol != 0 || svc->transparent)
		printf("       backend sees the client: %s%s%s\n",
		       svc->proxy_protocol == 1   ? "PROXY v1 header"
		       : svc->proxy_protocol == 2 ? "PROXY v2 header"
		                                  : "",
		       svc->proxy_protocol != 0 && svc->transparent ? ", " : "",
		       svc->transparent ? "transparent (client's address)"
		                        : "");
	if (svc->allow.n > 0) {
		acl_format(&svc->allow, a, sizeof(a));
		printf("       allow %s\n", a);
	}
	if (svc->deny.n > 0) {
		acl_format(&svc->deny, a, sizeof(a));
		printf("       deny %s\n", a);
	}
}

static int
check(struct config *cfg)
{
	struct config_errors errs = {0};
	struct privs ids;

	/* Done here as at start: a name that does not resolve stops it. */
	if (config_identity(cfg, &ids, &errs) < 0) {
		print_errors(&errs);
		config_unref(cfg);
		return 1;
	}
	privs_clear(&ids);
	printf("%s: configuration OK\n", cfg->path);
	printf("listeners:\n");
	for (size_t i = 0; i < cfg->nbinds; i++) {
		const struct bind *b = &cfg->binds[i];
		char a[ADDR_STRLEN];
		printf("  %s", b->text);
		/* The addresses, unless they say what the text says. */
		if (b->ai != NULL)
			addr_format(b->ai->ai_addr, a, sizeof(a));
		for (struct addrinfo *ai = b->ai;
		     ai != NULL &&
		     (ai->ai_next != NULL || strcmp(a, b->text) != 0);
		     ai = ai->ai_next) {
			addr_format(ai->ai_addr, a, sizeof(a));
			printf("%s%s", ai == b->ai ? " = " : ", ", a);
		}
		if (b->dual_stack)
			printf(" (IPv6 and IPv4)");
		else if (b->ipv4_line != 0)
			printf(" (IPv6 only: IPv4 is line %d)", b->ipv4_line);
		printf("   (%s:%d)\n", b->file, b->line);
		print_offered(cfg, (int)i);
	}
	printf("services, in rank order:\n");
	for (size_t i = 0; i < cfg->nservices; i++) {
		char label[64];
		snprintf(label, sizeof(label), "%zu. %s", i + 1,
		         cfg->services[i].name);
		print_service(cfg, &cfg->services[i], label, "");
	}
	print_service(cfg, cfg->fallback, "[fallback]",
	              "no [fallback] section");
	print_service(cfg, cfg->timeout, "[timeout]", "no [timeout] section");
	/* A listener's own fallback or timeout (role =), after the two. */
	for (size_t i = cfg->nservices; i < cfg->nbuilt; i++) {
		char label[64];
		if (&cfg->services[i] == cfg->fallback ||
		    &cfg->services[i] == cfg->timeout)
			continue;
		snprintf(label, sizeof(label), "[%s]", cfg->services[i].name);
		print_service(cfg, &cfg->services[i], label, "");
	}
	printf("settings: ");
	print_seconds("timeout", cfg->timeout_ms);
	printf(", max_peek %zu, maxconn %u, ", cfg->max_peek, cfg->maxconn);
	print_seconds("connect_timeout", cfg->connect_timeout_ms);
	printf(", ");
	print_seconds("idle_timeout", cfg->idle_timeout_ms);
	printf(", ");
	print_seconds("frame_timeout", cfg->frame_timeout_ms);
	printf(", log_level %s, ", log_level_name(cfg->log_level));
	if (cfg->workers == 0)
		printf("workers auto (%u here)\n", workers_auto());
	else
		printf("workers %u\n", cfg->workers);
	printf("log: %s", cfg->log_dest == LOG_TO_FILE     ? cfg->log_path
	                  : cfg->log_dest == LOG_TO_SYSLOG ? "syslog (daemon)"
	                                                   : "stderr");
	if (cfg->pid_path != NULL)
		printf(", pid file %s", cfg->pid_path);
	if (cfg->user != NULL)
		printf(", user %s", cfg->user);
	if (cfg->group != NULL)
		printf(", group %s", cfg->group);
	if (cfg->chroot_dir != NULL)
		printf(", chroot %s", cfg->chroot_dir);
	printf("\n");
	print_access(cfg);
	config_unref(cfg);
	return 0;
}

/* Reads all of PATH ("-": standard input); returns NULL with errno. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (n == cap) {
			uint8_t *p = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (p == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (buf != NULL && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

/* Each file is what a client sent before waiting for an answer: it is fed
 * whole, and if that leaves the matcher undecided, frame_timeout passes
 * (when it comes before the timeout), then the timer expires. The files
 * are one run: with replay_window, a file identical to an earlier one that
 * a guarded service took is a replay. */
static int
classify(struct config *cfg, char **files, int nfiles)
{
	struct sig_scratch *scratch = sig_scratch_new();
	struct replay *replay = NULL;
	struct timespec ts;
	int rc = 0;

	if (cfg->replay_window_max_ms > 0 &&
	    (replay = replay_new(REPLAY_SLOTS_MIN)) == NULL) {
		fprintf(stderr, "portsplit: out of memory\n");
		exit(1);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);

	for (int i = 0; i < nfiles; i++) {
		size_t len;
		uint8_t *data = slurp(files[i], &len);
		struct matcher *m;
		struct verdict v;
		char why[512];

		if (data == NULL) {
			fprintf(stderr, "portsplit: %s: %s\n", files[i],
			        strerror(errno));
			rc = 1;
			continue;
		}
		m = matcher_new(cfg);
		if (m == NULL || scratch == NULL) {
			fprintf(stderr, "portsplit: out of memory\n");
			exit(1);
		}
		matcher_set_replay(m, replay);
		matcher_set_clock(m, (int64_t)time(NULL),
		                  (uint64_t)ts.tv_sec * 1000 +
		                      (uint64_t)ts.tv_nsec / 1000000);
		bool done =
		    matcher_feed(m, data, len, MATCHER_MORE, scratch, &v);
		if (!done && cfg->frame_timeout_ms > 0 &&
		    (cfg->timeout_ms == 0 ||
		     cfg->frame_timeout_ms < cfg->timeout_ms))
			done = matcher_frames_due(m, data, len, scratch, &v);
		if (!done)
			matcher_feed(m, data, len, MATCHER_TIMEOUT, scratch,
			             &v);
		matcher_explain(m, &v, why, sizeof(why));
		printf("%s: %s (%s; %zu bytes)\n", files[i],
		       verdict_service_name(&v), why, v.bytes);
		matcher_free(m);
		free(data);
	}
	sig_scratch_free(scratch);
	replay_free(replay);
	config_unref(cfg);
	return rc;
}

/* Descriptors 0, 1 and 2 are opened on /dev/null when the caller left
 * them closed, so that no socket or pipe ever takes their place (a
 * program started by exec gets them as its standard streams). */
static void
open_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2) {
	}
	if (fd > 2)
		close(fd);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"check", no_argument, NULL, 't'},
	    {"classify", no_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"daemon", no_argument, NULL, 'd'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum { RUN, CHECK, CLASSIFY } mode = RUN;

	open_stdio();
	paths_init(NULL);
	int verbosity = 0, opt;
	bool detach = false;
	struct config *cfg;
	struct config_errors errs;

	while ((opt = getopt_long(argc, argv, "tcfdvqVh", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			mode = CHECK;
			break;
		case 'c':
			mode = CLASSIFY;
			break;
		case 'f':
			detach = false;
			break;
		case 'd':
			detach = true;
			break;
		case 'v':
			verbosity++;
			break;
		case 'q':
			verbosity--;
			break;
		case 'V':
			printf("portsplit %s\n", PORTSPLIT_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'portsplit --help'.\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "portsplit: missing CONFIG\n"
		                "Try 'portsplit --help'.\n");
		return 2;
	}
	if (mode == CLASSIFY && optind + 1 >= argc) {
		fprintf(stderr, "portsplit: --classify needs CONFIG and at "
		                "least one FILE\n");
		return 2;
	}
	if (mode != CLASSIFY && optind + 1 < argc) {
		fprintf(stderr, "portsplit: unexpected argument '%s'\n",
		        argv[optind + 1]);
		return 2;
	}
	if (config_load(argv[optind], &cfg, &errs) < 0) {
		if (errs.oom)
			fprintf(stderr,
			        "portsplit: %s: out of memory while loading\n",
			        argv[optind]);
		print_errors(&errs);
		return 1;
	}
	/* Host names are looked up per connection, off the loop; here,
	 * before any loop runs, a name that does not resolve is worth a
	 * warning. */
	if (mode != CLASSIFY)
		config_check_names(cfg, &errs);
	/* Warnings: shown before anything starts, on the terminal (or the
	 * journal) that started it; a log elsewhere gets them too. */
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	/* Lines sent to syslog with no logger to take them are lost without
	 * a trace: say so while there is still a terminal to say it on. */
	if ((cfg->log_dest == LOG_TO_SYSLOG ||
	     (mode == RUN && detach && cfg->log_dest == LOG_TO_STDERR)) &&
	    mode != CLASSIFY && log_syslog_check() < 0)
		fprintf(stderr,
		        "portsplit: warning: the log goes to syslog, and no "
		        "system logger listens on %s (%s): every line will be "
		        "lost; start one (rsyslog, systemd-journald), or write "
		        "'log = /var/log/portsplit.log'%s\n",
		        _PATH_LOG, strerror(errno),
		        cfg->log_dest == LOG_TO_SYSLOG
		            ? ""
		            : " (with -d, 'log = stderr' means syslog)");
	log_set_verbosity(cfg->log_level, verbosity);
	if (mode != RUN)
		config_errors_free(&errs);
	switch (mode) {
	case CHECK:
		return check(cfg);
	case CLASSIFY:
		return classify(cfg, argv + optind + 1, argc - optind - 1);
	case RUN:
		break;
	}
	struct daemon_opts dopts = {
	    .verbosity = verbosity, .detach = detach, .warnings = &errs};
	unsigned nworkers = cfg->workers > 0 ? cfg->workers : workers_auto();
	int rc;
	/* Several workers: a supervisor runs them, each a daemon of its own.
	 * So does a chroot with a pid file, with one worker: the pid file's
	 * folder stays open (outside the jail) for the removal at exit, and
	 * no process that handles client bytes may hold a way out. */
	if (nworkers > 1 || (cfg->chroot_dir != NULL && cfg->pid_path != NULL))
		rc = supervisor_run(cfg, &dopts, nworkers);
	else
		rc = daemon_run(cfg, &dopts);
	config_errors_free(&errs);
	return rc;
}
