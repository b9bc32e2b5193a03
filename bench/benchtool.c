/* SPDX-License-Identifier: ISC */
/* benchtool — small helpers for bench/run, compiled on the fly by the bench.
 *
 *   benchtool echo HOST PORT
 *       epoll echo server (the stand-in for sshd behind the SSH-like rule).
 *   benchtool lat HOST PORT COUNT WARMUP MAXSEC REQUEST SAMPLES_FILE
 *       sequential connect -> send REQUEST -> first byte back -> close, COUNT
 *       times (after WARMUP untimed ones); writes one latency in ns per line
 *       to SAMPLES_FILE and prints "ok=N fail=N p50_us=X p99_us=X".
 *   benchtool idle HOST PORT COUNT READY_FILE GO_FILE MAXWAIT
 *       opens COUNT connections, each sends an SSH-like greeting and waits for
 *       its echo (so the connection is routed), writes "opened N" to
 *       READY_FILE, waits (at most MAXWAIT s) for GO_FILE to exist, then sends
 *       one byte on every connection and checks it comes back; prints
 *       "opened=N held=N count=N ..." with why the others were not opened
 *       (connect failed, no echo, or not tried: opening stops after 60 s).
 *   benchtool drip HOST PORT CONNS BYTES GAP_US
 *       the hostile client: CONNS connections at once, each sends an HTTP
 *       request of BYTES bytes (a long X-Pad header, the Host line last) one
 *       byte per write (TCP_NODELAY, so one byte per segment), GAP_US
 *       microseconds apart, then reads the answer to EOF; prints
 *       "ok=N fail=N secs=X" (ok: an answer starting with "HTTP/").
 *   benchtool floor LHOST LPORT BHOST BPORT
 *       the least a user-space switch can do, as a yardstick for the muxes:
 *       one epoll loop; accept, read the first bytes (no matching), connect
 *       (blocking: the backend is on loopback), write, then copy each read
 *       to the other side and close both at the first end of either
 *       (no half-close, no timers, no logging, no limits). Not a product:
 *       a short write drops the rest.
 *
 * Every wait is bounded: socket timeouts, poll timeouts and an overall
 * deadline. Loopback only: HOST is expected to be 127.0.0.1 or ::1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static struct addrinfo *resolve(const char *host, const char *port, int passive)
{
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "getaddrinfo %s %s: %s\n", host, port, gai_strerror(rc));
		exit(1);
	}
	return res;
}

static void set_timeouts(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Blocking connect bounded by SO_SNDTIMEO (Linux honours it for connect). */
static int dial(struct addrinfo *ai, int timeout_ms)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	set_timeouts(fd, timeout_ms);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_exact(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---------------------------------------------------------------- echo */
/* A non-blocking listener on AI (accepted sockets inherit TCP_NODELAY) and
 * an epoll instance watching it in *EP; dies on failure. */
static int listen_epoll(const struct addrinfo *ai, int *ep)
{
	int one = 1;
	int ls = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(ls, ai->ai_addr, ai->ai_addrlen) < 0)
		die("bind");
	if (listen(ls, 4096) < 0)
		die("listen");
	*ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
	if (*ep < 0 || epoll_ctl(*ep, EPOLL_CTL_ADD, ls, &ev) < 0)
		die("epoll");
	return ls;
}

static __attribute__((noreturn)) void cmd_echo(const char *host, const char *port)
{
	int ep, one = 1;
	int ls = listen_epoll(resolve(host, port, 1), &ep);
	struct epoll_event evs[256];
	char buf[65536];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ls) {
				for (int k = 0; k < 256; k++) {
					int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0)
						break;
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
				}
				continue;
			}
			ssize_t r = recv(fd, buf, sizeof buf, 0);
			if (r > 0) {
				/* small messages only: a short write drops the rest */
				if (send(fd, buf, (size_t)r, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
				    errno != EAGAIN)
					goto drop;
				continue;
			}
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
		drop:
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
		}
	}
}

/* --------------------------------------------------------------- floor */
#define FLOOR_FDS 65536
/* Per fd: the other side's fd + 1; -1: a client whose first bytes are
 * awaited; 0: not (or no longer) relayed. */
static int floor_peer[FLOOR_FDS];
static char floor_buf[65536];

/* Client C sent its first R bytes (in floor_buf): connect to the backend
 * (blocking: it is on loopback), write them, and watch both sides (C too
 * unless it is watched already). On failure C is closed. */
static void floor_join(int ep, const struct addrinfo *bai, int c, ssize_t r, int watched)
{
	int one = 1;
	int b = r > 0 ? socket(bai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
	if (b < 0 || b >= FLOOR_FDS || connect(b, bai->ai_addr, bai->ai_addrlen) < 0 ||
	    send(b, floor_buf, (size_t)r, MSG_NOSIGNAL) != r) {
		if (b >= 0)
			close(b);
		close(c);
		return;
	}
	setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(b, F_SETFL, O_NONBLOCK);
	floor_peer[c] = b + 1;
	floor_peer[b] = c + 1;
	struct epoll_event bev = {.events = EPOLLIN, .data.fd = b};
	struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, b, &bev);
	if (!watched)
		epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
}

static __attribute__((noreturn)) void cmd_floor(const char *lhost, const char *lport,
						const char *bhost, const char *bport)
{
	struct addrinfo *bai = resolve(bhost, bport, 0);
	int ep, ls;
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	ls = listen_epoll(resolve(lhost, lport, 1), &ep);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ls) {
				for (int k = 0; k < 256; k++) {
					int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0)
						break;
					if (c >= FLOOR_FDS) {
						close(c);
						continue;
					}
					floor_peer[c] = 0;
					/* often already here: no wait, no registration yet */
					ssize_t r = read(c, floor_buf, sizeof floor_buf);
					if (r < 0 && errno == EAGAIN) {
						struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
						epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
						floor_peer[c] = -1;
						continue;
					}
					floor_join(ep, bai, c, r, 0);
				}
				continue;
			}
			if (floor_peer[fd] == 0)
				continue; /* closed earlier in this batch */
			ssize_t r = read(fd, floor_buf, sizeof floor_buf);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (floor_peer[fd] == -1) { /* a client's first bytes, after a wait */
				floor_peer[fd] = 0;
				floor_join(ep, bai, fd, r, 1);
				continue;
			}
			int other = floor_peer[fd] - 1;
			if (r > 0 && send(other, floor_buf, (size_t)r, MSG_NOSIGNAL | MSG_DONTWAIT) == r)
				continue;
			floor_peer[fd] = floor_peer[other] = 0;
			close(fd);
			close(other);
		}
	}
}

/* ----------------------------------------------------------------- lat */
static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static int cmd_lat(const char *host, const char *port, long count, long warmup, double maxsec,
		   const char *req, const char *samples_file)
{
	struct addrinfo *ai = resolve(host, port, 0);
	size_t reqlen = strlen(req);
	long long *lat = calloc((size_t)count + 1, sizeof *lat);
	long ok = 0, fail = 0;
	long long deadline = now_ns() + (long long)(maxsec * 1e9);
	char c;
	for (long i = 0; i < count + warmup && now_ns() < deadline; i++) {
		long long t0 = now_ns();
		int fd = dial(ai, 2000);
		int good = fd >= 0 && send_all(fd, req, reqlen) == 0 && recv_exact(fd, &c, 1) == 0;
		long long t1 = now_ns();
		if (fd >= 0)
			close(fd);
		if (i < warmup)
			continue;
		if (good)
			lat[ok++] = t1 - t0;
		else
			fail++;
	}
	FILE *f = fopen(samples_file, "w");
	if (f) {
		for (long i = 0; i < ok; i++)
			fprintf(f, "%lld\n", lat[i]);
		fclose(f);
	}
	qsort(lat, (size_t)ok, sizeof *lat, cmp_ll);
	double p50 = ok ? lat[(ok - 1) * 50 / 100] / 1000.0 : 0;
	double p99 = ok ? lat[(ok - 1) * 99 / 100] / 1000.0 : 0;
	printf("ok=%ld fail=%ld p50_us=%.1f p99_us=%.1f\n", ok, fail, p50, p99);
	return ok ? 0 : 1;
}

/* ---------------------------------------------------------------- idle */
#define OPEN_LIMIT_S 60 /* the opening phase stops after this */
static int cmd_idle(const char *host, const char *port, long count, const char *ready,
		    const char *go, double maxwait)
{
	struct addrinfo *ai = resolve(host, port, 0);
	int *fds = calloc((size_t)count, sizeof *fds);
	static const char greet[] = "SSH-2.0-portsplit_bench_idle\r\n";
	char buf[64];
	long opened = 0, held = 0, no_connect = 0, no_echo = 0, late = 0;
	long long deadline = now_ns() + (long long)(OPEN_LIMIT_S * 1e9); /* opening phase */
	for (long i = 0; i < count; i++) {
		fds[i] = -1;
		if (now_ns() > deadline) {
			late++;
			continue;
		}
		int fd = dial(ai, 5000);
		if (fd < 0) {
			no_connect++;
			continue;
		}
		if (send_all(fd, greet, sizeof greet - 1) || recv_exact(fd, buf, sizeof greet - 1) ||
		    memcmp(buf, greet, sizeof greet - 1)) {
			no_echo++;
			close(fd);
			continue;
		}
		fds[i] = fd;
		opened++;
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", ready);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die("ready file");
	fprintf(f, "opened %ld\n", opened);
	fclose(f);
	rename(tmp, ready);

	long long until = now_ns() + (long long)(maxwait * 1e9);
	struct stat st;
	while (stat(go, &st) != 0 && now_ns() < until)
		usleep(20000);

	/* check every connection is still open and still relays both ways */
	deadline = now_ns() + (long long)(120 * 1e9);
	for (long i = 0; i < count; i++) {
		if (fds[i] < 0 || now_ns() > deadline)
			continue;
		set_timeouts(fds[i], 2000);
		if (send_all(fds[i], "p", 1) == 0 && recv_exact(fds[i], buf, 1) == 0 && buf[0] == 'p')
			held++;
		close(fds[i]);
	}
	printf("opened=%ld held=%ld count=%ld connect_failed=%ld echo_failed=%ld "
	       "not_tried_after_%ds=%ld\n",
	       opened, held, count, no_connect, no_echo, OPEN_LIMIT_S, late);
	return 0;
}

/* ---------------------------------------------------------------- drip */
#define DRIP_HOST "Host: drip.example\r\n"
static int cmd_drip(const char *host, const char *port, long conns, long bytes, long gap_us)
{
	struct addrinfo *ai = resolve(host, port, 0);
	static const char head[] = "GET /index.html HTTP/1.1\r\nConnection: close\r\nX-Pad: ";
	static const char tail[] = "\r\n" DRIP_HOST "\r\n";
	long fixed = (long)(sizeof head - 1 + sizeof tail - 1);
	if (bytes < fixed + 1 || conns < 1 || conns > 1000)
		return 2;
	char *req = malloc((size_t)bytes);
	memcpy(req, head, sizeof head - 1);
	memset(req + sizeof head - 1, 'a', (size_t)(bytes - fixed));
	memcpy(req + bytes - (long)(sizeof tail - 1), tail, sizeof tail - 1);
	int *fds = calloc((size_t)conns, sizeof *fds);
	long ok = 0, fail = 0, one = 1;
	long long t0 = now_ns();
	for (long i = 0; i < conns; i++) {
		fds[i] = dial(ai, 5000);
		if (fds[i] >= 0)
			setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));
	}
	/* one byte per connection per step: the connections drip together */
	for (long off = 0; off < bytes; off++) {
		for (long i = 0; i < conns; i++)
			if (fds[i] >= 0 && send(fds[i], req + off, 1, MSG_NOSIGNAL) != 1) {
				close(fds[i]);
				fds[i] = -1;
				fail++;
			}
		if (gap_us > 0)
			usleep((useconds_t)gap_us);
		if (now_ns() - t0 > 300LL * 1000000000LL)
			break; /* bounded: 5 minutes at most */
	}
	for (long i = 0; i < conns; i++) {
		if (fds[i] < 0)
			continue;
		char buf[4096], first[5];
		ssize_t n;
		size_t have = 0;
		set_timeouts(fds[i], 10000);
		while ((n = recv(fds[i], buf, sizeof buf, 0)) > 0)
			for (ssize_t k = 0; k < n && have < sizeof first; k++)
				first[have++] = buf[k];
		if (have == sizeof first && memcmp(first, "HTTP/", 5) == 0)
			ok++;
		else
			fail++;
		close(fds[i]);
	}
	printf("ok=%ld fail=%ld secs=%.3f\n", ok, fail, (double)(now_ns() - t0) / 1e9);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (argc == 4 && !strcmp(argv[1], "echo"))
		cmd_echo(argv[2], argv[3]);
	if (argc == 6 && !strcmp(argv[1], "floor"))
		cmd_floor(argv[2], argv[3], argv[4], argv[5]);
	if (argc == 9 && !strcmp(argv[1], "lat"))
		return cmd_lat(argv[2], argv[3], atol(argv[4]), atol(argv[5]), atof(argv[6]),
			       argv[7], argv[8]);
	if (argc == 8 && !strcmp(argv[1], "idle"))
		return cmd_idle(argv[2], argv[3], atol(argv[4]), argv[5], argv[6], atof(argv[7]));
	if (argc == 7 && !strcmp(argv[1], "drip"))
		return cmd_drip(argv[2], argv[3], atol(argv[4]), atol(argv[5]), atol(argv[6]));
	fprintf(stderr, "usage: see the comment at the top of bench/benchtool.c\n");
	return 2;
}
