/* SPDX-License-Identifier: ISC */
/* Unit tests for loop.c's watches on real sockets (a socketpair): what a
 * level watch and an edge watch report, on both backends. Counted, never
 * timed: each turn of the loop ends with a timer that stops it, and the
 * test counts the callbacks that ran. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "unit.h"

struct probe {
	struct loop *loop;
	int calls;
	unsigned last;
};

/* Counts the report and ends the turn: one report per turn at most. */
static void
on_io(void *arg, int fd, unsigned events)
{
	struct probe *p = arg;

	(void)fd;
	p->calls++;
	p->last = events;
	loop_stop(p->loop);
}

static void
on_stop(void *arg)
{
	loop_stop(arg);
}

/* Runs one turn of L: until a watch reports (its callback stops the
 * loop after that iteration) or, when nothing does, a 10 ms timer. */
static void
turn(struct loop *l)
{
	struct loop_timer *t = loop_timer_new(l, on_stop, l);

	loop_timer_arm(t, 10);
	loop_run(l);
	loop_timer_free(t);
}

static void
test_backend(const char *name)
{
	struct loop *l = loop_new(name);
	int sv[2];
	struct probe lv = {.loop = l}, ed = {.loop = l};
	char c;

	if (!ok(l != NULL, "%s: loop made", name))
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) {
		ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	bool edges = strcmp(name, "epoll") == 0;

	/* The level watch: readiness is reported while it lasts. */
	struct loop_watch *w = loop_watch(l, sv[0], LOOP_IN, on_io, &lv);
	ok(write(sv[1], "a", 1) == 1, "%s: a byte sent", name);
	turn(l);
	turn(l);
	ok(lv.calls == 2,
	   "%s: a level watch reports an unread byte on "
	   "every turn (%d reports in 2 turns)",
	   name, lv.calls);
	loop_unwatch(w);
	ok(read(sv[0], &c, 1) == 1, "%s: the byte read", name);

	/* The edge watch: new bytes are reported; an unread byte is
	 * reported again only when asked (epoll), or like a level watch
	 * (poll, which has no edges). */
	w = loop_watch_edge(l, sv[0], LOOP_IN | LOOP_RDHUP, on_io, &ed);
	ok(w != NULL, "%s: an edge watch made", name);
	turn(l);
	ok(ed.calls == 0, "%s: nothing to report on an idle socket", name);
	ok(write(sv[1], "b", 1) == 1, "%s: a byte sent", name);
	turn(l);
	ok(ed.calls == 1 && (ed.last & LOOP_IN),
	   "%s: a new byte is reported (%d)", name, ed.calls);
	turn(l);
	ok(ed.calls == (edges ? 1 : 2),
	   "%s: an unread byte is reported %s (%d reports)", name,
	   edges ? "once" : "on every turn", ed.calls);
	loop_watch_again(w);
	turn(l);
	ok(ed.calls == (edges ? 2 : 3),
	   "%s: loop_watch_again reports it once more (%d)", name, ed.calls);
	/* Paused and resumed: the byte that came meanwhile is reported. */
	loop_watch_set(w, 0);
	ok(write(sv[1], "c", 1) == 1, "%s: a byte sent while paused", name);
	turn(l);
	int paused = ed.calls;
	ok(paused == (edges ? 2 : 3),
	   "%s: nothing is reported while paused (%d)", name, paused);
	loop_watch_set(w, LOOP_IN | LOOP_RDHUP);
	turn(l);
	ok(ed.calls > paused && (ed.last & LOOP_IN),
	   "%s: resuming reports the bytes that came meanwhile", name);
	char buf[8];
	ok(read(sv[0], buf, sizeof(buf)) == 2, "%s: two bytes read", name);
	/* A paused watch still hears the peer's hang-up. */
	loop_watch_set(w, 0);
	int before = ed.calls;
	close(sv[1]);
	turn(l);
	ok(ed.calls == before + 1 && (ed.last & LOOP_ERR),
	   "%s: a paused watch reports the hang-up (events %#x)", name,
	   ed.last);
	loop_unwatch_close(w);
	turn(l); /* frees the dead watches */
	loop_free(l);
}

int
main(void)
{
	test_backend("epoll");
	test_backend("poll");
	return unit_done();
}
