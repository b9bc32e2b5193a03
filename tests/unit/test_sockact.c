/* SPDX-License-Identifier: ISC */
/* sockact: LISTEN_PID / LISTEN_FDS, and real listening sockets placed at
 * descriptors 3 and 4 as systemd passes them, taken by address. */
#define _GNU_SOURCE
#include "sockact.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

/* A socket bound to 127.0.0.1 on a free port, listening unless !LISTEN,
 * moved to descriptor AT. Returns its port. */
static int
place(int at, int type, int listening)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (listening && listen(fd, 8) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0 ||
	    (fd != at && dup2(fd, at) < 0)) {
		perror("place");
		exit(1);
	}
	if (fd != at)
		close(fd);
	return ntohs(sin.sin_port);
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons((uint16_t)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static void
set_env(long pid, const char *fds)
{
	char p[32];

	snprintf(p, sizeof(p), "%ld", pid);
	setenv("LISTEN_PID", p, 1);
	setenv("LISTEN_FDS", fds, 1);
	setenv("LISTEN_FDNAMES", "a:b", 1);
}

int
main(void)
{
	struct sockact sa;
	struct sockaddr_in a, b, other;
	struct sockaddr_in6 six = {.sin6_family = AF_INET6};
	int pa, pb, fd;

	ok(sockact_count("42", "2", 42) == 2, "LISTEN_PID ours: 2 sockets");
	ok(sockact_count("43", "2", 42) == 0, "LISTEN_PID another's: none");
	ok(sockact_count(NULL, "2", 42) == 0, "no LISTEN_PID: none");
	ok(sockact_count("42", NULL, 42) == 0, "no LISTEN_FDS: none");
	ok(sockact_count("42", "2x", 42) == 0, "LISTEN_FDS malformed: none");
	ok(sockact_count("42", "-1", 42) == 0, "LISTEN_FDS negative: none");
	ok(sockact_count(" 42", "1", 42) == 0, "LISTEN_PID with a blank: none");
	ok(sockact_count("42", "99999999", 42) == 0,
	   "LISTEN_FDS absurdly large: none");

	a = loopback(443);
	b = loopback(443);
	other = loopback(444);
	ok(sockact_same_addr((struct sockaddr *)&a, (struct sockaddr *)&b),
	   "same address and port");
	ok(!sockact_same_addr((struct sockaddr *)&a, (struct sockaddr *)&other),
	   "another port");
	six.sin6_port = htons(443);
	ok(!sockact_same_addr((struct sockaddr *)&a, (struct sockaddr *)&six),
	   "another family");

	/* Another process's sockets: left alone, variables removed. */
	pa = place(3, SOCK_STREAM, 1);
	set_env((long)getpid() + 1, "1");
	ok(sockact_collect(&sa) == 0, "LISTEN_PID of another process: none");
	ok(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL &&
	       getenv("LISTEN_FDNAMES") == NULL,
	   "the variables are removed from the environment");
	ok(fcntl(3, F_GETFD) >= 0, "descriptor 3 is left open");
	sockact_free(&sa);

	/* Ours: 3 and 4 listening, 5 a datagram socket (not ours to use). */
	pb = place(4, SOCK_STREAM, 1);
	place(5, SOCK_DGRAM, 0);
	set_env((long)getpid(), "3");
	ok(sockact_collect(&sa) == 2,
	   "two listening stream sockets kept, the datagram one not");
	ok(fcntl(5, F_GETFD) < 0 && errno == EBADF,
	   "the passed socket that is not a listening stream is closed");
	ok((fcntl(3, F_GETFD) & FD_CLOEXEC) && (fcntl(3, F_GETFL) & O_NONBLOCK),
	   "a kept socket is made close-on-exec and non-blocking");
	a = loopback(pa);
	b = loopback(pb);
	fd = sockact_take(&sa, (struct sockaddr *)&b);
	ok(fd >= 0 && fd != 4 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	   "the socket of the second address is taken as a new descriptor");
	{
		struct sockaddr_in got;
		socklen_t len = sizeof(got);
		getsockname(fd, (struct sockaddr *)&got, &len);
		ok(ntohs(got.sin_port) == pb, "it is bound to that port");
	}
	/* A client reaches it through the taken descriptor. */
	{
		int c = socket(AF_INET, SOCK_STREAM, 0), s;
		connect(c, (struct sockaddr *)&b, sizeof(b));
		s = accept(fd, NULL, NULL);
		ok(s >= 0, "a connection to that address is accepted on it");
		close(s);
		close(c);
	}
	close(fd);
	fd = sockact_take(&sa, (struct sockaddr *)&b);
	ok(fd >= 0, "taken again after the first copy was closed (reload)");
	close(fd);
	other = loopback(pa == 65535 ? 1 : pa + 1);
	ok(sockact_take(&sa, (struct sockaddr *)&other) < 0 && errno == ENOENT,
	   "an address no passed socket has: none");
	ok(sa.used[1] && !sa.used[0], "used: the one taken only");
	sockact_free(&sa);
	ok(fcntl(3, F_GETFD) < 0 && fcntl(4, F_GETFD) < 0,
	   "sockact_free closes the passed sockets");
	return unit_done();
}
