/* SPDX-License-Identifier: ISC */
/* Unit tests for loader.c: a load runs on its own thread, so the caller
 * returns at once even when the file blocks (a FIFO nobody writes yet);
 * the wake function says when it is done; an abandoned load frees itself.
 * Nothing here is timed: the blocked load is shown by its state, and the
 * wake-ups are read from a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "loader.h"
#include "unit.h"

static int wake_pipe[2];

static void
wake(void *arg)
{
	char b = *(const char *)arg;

	if (write(wake_pipe[1], &b, 1) < 0)
		perror("write");
}

/* Blocks until a wake-up comes; returns its byte. */
static char
wait_wake(void)
{
	char b = 0;

	if (read(wake_pipe[0], &b, 1) != 1)
		return 0;
	return b;
}

/* Writes TEXT into the FIFO at PATH (blocks until a reader opens it). */
static void *
writer(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_WRONLY);
	static const char text[] = "bind = 127.0.0.1:1\n[a]\nstring = A\n"
	                           "exec = /bin/true\n";

	if (fd >= 0) {
		if (write(fd, text, sizeof(text) - 1) < 0)
			perror("write");
		close(fd);
	}
	return NULL;
}

int
main(void)
{
	static char tag_a = 'a', tag_b = 'b', tag_c = 'c';
	char fifo[64] = "/tmp/portsplit-unit-fifo-XXXXXX";
	struct config *cfg;
	struct config_errors errs;
	struct load *l;
	pthread_t tid;

	if (pipe(wake_pipe) < 0 || mkdtemp(fifo) == NULL) {
		perror("setup");
		return 1;
	}

	/* A plain file. */
	const char *path = unit_tmpfile("bind = 127.0.0.1:1\n[a]\nstring = A\n"
	                                "exec = /bin/true\n");
	l = load_start(path, wake, &tag_a);
	ok(l != NULL, "a load starts");
	ok(wait_wake() == 'a', "its wake function is called when it is done");
	ok(load_done(l), "it is done then");
	ok(load_take(l, &cfg, &errs) == 0 && cfg != NULL && cfg->nservices == 1,
	   "the result is the loaded configuration");
	config_unref(cfg);
	config_errors_free(&errs);

	/* An invalid one: the errors come back. */
	l = load_start("/nonexistent/portsplit.ini", wake, &tag_a);
	ok(wait_wake() == 'a' && load_take(l, &cfg, &errs) < 0 && cfg == NULL &&
	       errs.n == 1,
	   "a file that cannot be read: -1 and its error");
	config_errors_free(&errs);
	unlink(path);

	/* A FIFO nobody writes: the caller is not held up. */
	strcat(fifo, "/p.ini");
	if (mkfifo(fifo, 0600) < 0) {
		perror("mkfifo");
		return 1;
	}
	l = load_start(fifo, wake, &tag_b);
	ok(l != NULL && !load_done(l),
	   "a load of a FIFO nobody writes: the caller goes on, the load is "
	   "not done");
	pthread_create(&tid, NULL, writer, fifo);
	ok(wait_wake() == 'b' && load_done(l),
	   "once the FIFO is written, the load ends and wakes its owner");
	ok(load_take(l, &cfg, &errs) == 0 && cfg != NULL, "and it is valid");
	pthread_join(tid, NULL);
	config_unref(cfg);
	config_errors_free(&errs);

	/* Abandoned while blocked: it frees itself and wakes nobody. */
	l = load_start(fifo, wake, &tag_c);
	ok(l != NULL && !load_done(l), "another load waits on the FIFO");
	load_abandon(l);
	pthread_create(&tid, NULL, writer, fifo);
	pthread_join(tid, NULL);
	/* The next load's wake-up is the first the pipe sees: the abandoned
	 * one sent none. (Another file: the abandoned thread may still be
	 * reading the first.) */
	path = unit_tmpfile("bind = 127.0.0.1:1\n[a]\nstring = A\n"
	                    "exec = /bin/true\n");
	l = load_start(path, wake, &tag_a);
	ok(wait_wake() == 'a', "an abandoned load never wakes its owner");
	ok(load_take(l, &cfg, &errs) == 0, "and the next load works");
	unlink(path);
	config_unref(cfg);
	config_errors_free(&errs);

	unlink(fifo);
	*strrchr(fifo, '/') = '\0';
	rmdir(fifo);
	return unit_done();
}
