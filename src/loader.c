/* SPDX-License-Identifier: ISC */
/* loader: loading a configuration off the serving thread (see loader.h).
 *
 * The owner and the thread share a load under its mutex: the thread sets
 * DONE when config_load() returns and calls WAKE unless the owner has
 * ABANDONED it; each side drops its reference when it is finished with the
 * load, and the last one frees it (and, when nobody took it, the
 * configuration it holds). */
#define _GNU_SOURCE
#include "loader.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct load {
	pthread_mutex_t mu;
	char *path;
	load_wake_fn *wake;
	void *arg;
	/* Under MU: */
	bool done;
	bool abandoned;
	unsigned refs; /* the owner's, and the thread's while it runs */
	/* Written by the thread before DONE; read by the owner after. */
	int rc;
	struct config *cfg;
	struct config_errors errs;
	int inline_error; /* why it was loaded without a thread, or 0 */
};

/* Drops a reference to L; the last one frees it. */
static void
load_release(struct load *l)
{
	bool last;

	pthread_mutex_lock(&l->mu);
	last = --l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (!last)
		return;
	config_unref(l->cfg);
	config_errors_free(&l->errs);
	pthread_mutex_destroy(&l->mu);
	free(l->path);
	free(l);
}

static void *
load_main(void *arg)
{
	struct load *l = arg;
	struct config *cfg = NULL;
	struct config_errors errs = {0};
	int rc = config_load(l->path, &cfg, &errs);

	pthread_mutex_lock(&l->mu);
	l->rc = rc;
	l->cfg = cfg;
	l->errs = errs;
	l->done = true;
	if (!l->abandoned)
		l->wake(l->arg);
	pthread_mutex_unlock(&l->mu);
	load_release(l);
	return NULL;
}

struct load *
load_start(const char *path, load_wake_fn *wake, void *arg)
{
	struct load *l = calloc(1, sizeof(*l));
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	if (l == NULL)
		return NULL;
	l->path = strdup(path);
	if (l->path == NULL || pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l->path);
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	l->wake = wake;
	l->arg = arg;
	l->refs = 2;
	if (pthread_attr_init(&attr) != 0) {
		rc = ENOMEM;
		goto fail;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals are the serving thread's: the load's thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tid, &attr, load_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return l;
	/* No thread (RLIMIT_NPROC, memory): a reload that waits beats no
	 * reload at all. */
	l->inline_error = rc;
	load_main(l);
	return l;
fail:
	pthread_mutex_destroy(&l->mu);
	free(l->path);
	free(l);
	errno = rc;
	return NULL;
}

int
load_inline(const struct load *l)
{
	return l->inline_error;
}

bool
load_done(struct load *l)
{
	bool done;

	pthread_mutex_lock(&l->mu);
	done = l->done;
	pthread_mutex_unlock(&l->mu);
	return done;
}

int
load_take(struct load *l, struct config **out, struct config_errors *errs)
{
	int rc = l->rc;

	*out = l->cfg;
	*errs = l->errs;
	l->cfg = NULL;
	memset(&l->errs, 0, sizeof(l->errs));
	load_release(l);
	return rc;
}

void
load_abandon(struct load *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->abandoned = true;
	pthread_mutex_unlock(&l->mu);
	load_release(l);
}
