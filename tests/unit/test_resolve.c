/* SPDX-License-Identifier: ISC */
/* Unit tests for resolve.c: lookups run on the resolver's thread and come
 * back on the loop, never inside resolver_lookup(); callers asking for the
 * same name at once share one lookup; an answer is cached; a failure is an
 * answer too; a cancelled wait gets no callback; freeing a resolver with a
 * lookup in flight does not wait for it. Work is counted (getaddrinfo calls
 * made), never timed. */
#include <pthread.h>

#include "loop.h"
#include "resolve.h"
#include "unit.h"

struct got {
	int calls;
	int err;
	int naddrs;
	pthread_t thread;
};

static struct loop *loop;
static int outstanding;

static void
done(void *arg, struct resolved *res)
{
	struct got *g = arg;

	g->calls++;
	g->thread = pthread_self();
	g->err = res != NULL ? resolved_error(res) : -1;
	for (const struct addrinfo *ai = res ? resolved_addrs(res) : NULL;
	     ai != NULL; ai = ai->ai_next)
		g->naddrs++;
	resolved_unref(res);
	if (--outstanding == 0)
		loop_stop(loop);
}

/* A bound on a test that would hang: not a timing assertion. */
static void
give_up(void *arg)
{
	(void)arg;
	printf("# gave up waiting for the resolver\n");
	loop_stop(loop);
}

static void
run(void)
{
	struct loop_timer *t = loop_timer_new(loop, give_up, NULL);

	loop_timer_arm(t, 20000);
	loop_run(loop);
	loop_timer_free(t);
}

int
main(void)
{
	struct resolver_stats st;
	struct got a = {0}, b = {0}, c = {0}, bad = {0}, gone = {0};
	struct resolver *r;

	loop = loop_new(NULL);
	r = resolver_new(loop);
	ok(loop != NULL && r != NULL, "a loop and a resolver");

	outstanding = 2;
	ok(resolver_lookup(r, "localhost", "80", done, &a) != NULL &&
	       resolver_lookup(r, "localhost", "80", done, &b) != NULL,
	   "two lookups of localhost:80 queued");
	ok(a.calls == 0 && b.calls == 0,
	   "no callback inside resolver_lookup()");
	run();
	ok(a.calls == 1 && b.calls == 1 && a.err == 0 && a.naddrs > 0 &&
	       b.naddrs == a.naddrs,
	   "both answered with addresses (%d)", a.naddrs);
	ok(pthread_equal(a.thread, pthread_self()),
	   "answers come back on the loop's thread");
	resolver_stats(r, &st);
	ok(st.lookups == 1 && st.shared == 1,
	   "one getaddrinfo() for the two (%llu calls, %llu shared)",
	   (unsigned long long)st.lookups, (unsigned long long)st.shared);

	outstanding = 1;
	ok(resolver_lookup(r, "localhost", "80", done, &c) != NULL,
	   "a third lookup");
	ok(c.calls == 0, "a cached answer is not handed inside the call");
	run();
	resolver_stats(r, &st);
	ok(c.calls == 1 && c.naddrs == a.naddrs && st.lookups == 1,
	   "answered from the cache (%llu calls)",
	   (unsigned long long)st.lookups);

	/* RFC 6761: .invalid never resolves (with DNS or without). */
	outstanding = 1;
	struct resolve_wait *w =
	    resolver_lookup(r, "portsplit.invalid", "80", done, &gone);
	resolve_cancel(w);
	ok(resolver_lookup(r, "portsplit.invalid", "80", done, &bad) != NULL,
	   "a lookup of a name that does not exist");
	run();
	ok(bad.calls == 1 && bad.err != 0 && bad.naddrs == 0,
	   "a failure is an answer (%s)", gai_strerror(bad.err));
	ok(gone.calls == 0, "a cancelled wait gets no callback");
	resolver_stats(r, &st);
	ok(st.lookups == 2,
	   "the cancelled and the second wait shared one "
	   "lookup (%llu calls)",
	   (unsigned long long)st.lookups);

	/* Freed with a lookup queued or running: nothing waits for it, and
	 * the thread frees what it holds (ASan's leak check sees it). */
	ok(resolver_lookup(r, "example.invalid", "443", done, &gone) != NULL,
	   "a lookup left in flight");
	resolver_free(r);
	ok(gone.calls == 0, "freeing the resolver forgets its waiters");
	loop_free(loop);
	return unit_done();
}
