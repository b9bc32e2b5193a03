/* SPDX-License-Identifier: ISC */
/* engine: the resources of one event loop, made together and freed
 * together, and the admission count of its connections. */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>

#include "acl.h"
#include "config.h"
#include "exec.h"
#include "relay.h"
#include "resolve.h"
#include "sig.h"
#include "workers.h"

#define RELAY_BUF 65536
/* The splice path: each pipe asks for this capacity (the bigger, the
 * fewer system calls per gigabyte: measured on loopback, 1 MiB costs about
 * 0.25 s of CPU per GB where 64 KiB costs 0.5), and the loop keeps this
 * many empty ones for the next burst instead of making new ones. A pipe
 * holds bytes only while a destination is full, and the sockets around it
 * buffer megabytes already. */
#define RELAY_PIPE_SIZE (1024 * 1024)
#define RELAY_SPARE_PIPES 16

struct engine *
engine_new(const char *backend, bool relay_copy, struct worker_share *share,
           int tally)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->share = share;
	e->tally = tally;
	if (share != NULL)
		e->sources = workers_sources(share);
	e->loop = loop_new(backend);
	if (!relay_copy)
		e->relay_pool =
		    relay_pool_new(RELAY_SPARE_PIPES, RELAY_PIPE_SIZE);
	/* The peek never asks for more than the largest max_peek. */
	e->peeksize = CONFIG_PEEK_MAX;
	e->peekbuf = malloc(e->peeksize);
	e->relaysize = RELAY_BUF;
	e->relaybuf = malloc(e->relaysize);
	e->scratch = sig_scratch_new();
	if (e->loop != NULL) {
		e->children = exec_table_new(e->loop);
		e->resolver = resolver_new(e->loop);
	}
	if (e->loop == NULL || (!relay_copy && e->relay_pool == NULL) ||
	    e->peekbuf == NULL || e->relaybuf == NULL || e->scratch == NULL ||
	    e->children == NULL || e->resolver == NULL) {
		engine_free(e);
		errno = ENOMEM;
		return NULL;
	}
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	exec_table_free(e->children);
	resolver_free(e->resolver);
	loop_free(e->loop);
	free(e->peekbuf);
	free(e->relaybuf);
	relay_pool_free(e->relay_pool);
	sig_scratch_free(e->scratch);
	if (e->sources_own)
		free(e->sources);
	free(e);
}

struct srccount *
engine_sources(struct engine *e, unsigned maxconn)
{
	if (e->sources == NULL) {
		unsigned cap = srccount_capacity(maxconn);
		void *mem = calloc(1, srccount_size(cap));
		e->sources = mem ? srccount_init(mem, cap) : NULL;
		if (e->sources == NULL)
			free(mem);
		e->sources_own = e->sources != NULL;
	}
	return e->sources;
}

bool
engine_admit(struct engine *e, unsigned maxconn)
{
	if (e->share == NULL ? e->nconns >= maxconn
	                     : !workers_conn_take(e->share, e->tally, maxconn))
		return false;
	e->nconns++;
	return true;
}

void
engine_release(struct engine *e)
{
	e->nconns--;
	if (e->share != NULL)
		workers_conn_give(e->share, e->tally);
	if (e->draining && e->nconns == 0)
		loop_stop(e->loop);
}

bool
engine_drain(struct engine *e)
{
	e->draining = true;
	if (e->nconns > 0)
		return false;
	loop_stop(e->loop);
	return true;
}

uint64_t
engine_conn_id(struct engine *e)
{
	if (e->share != NULL)
		return workers_conn_id(e->share);
	return ++e->next_id;
}
