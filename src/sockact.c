/* SPDX-License-Identifier: ISC */
/* sockact: listening sockets passed by systemd (see sockact.h). */
#define _GNU_SOURCE
#include "sockact.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Far more than any .socket unit passes; bounds a hostile variable. */
#define SOCKACT_MAX 4096

/* A decimal number with nothing around it, or -1. */
static long
number(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return v;
}

size_t
sockact_count(const char *listen_pid, const char *listen_fds, long pid)
{
	long p = number(listen_pid), n = number(listen_fds);

	if (p <= 0 || p != pid || n <= 0 || n > SOCKACT_MAX)
		return 0;
	return (size_t)n;
}

static bool
is_listening_stream(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 ||
	    v != SOCK_STREAM)
		return false;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 &&
	       v != 0;
}

int
sockact_collect(struct sockact *sa)
{
	size_t n = sockact_count(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
	                         (long)getpid());

	memset(sa, 0, sizeof(*sa));
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n == 0)
		return 0;
	sa->fds = calloc(n, sizeof(*sa->fds));
	sa->addrs = calloc(n, sizeof(*sa->addrs));
	sa->addrlens = calloc(n, sizeof(*sa->addrlens));
	sa->used = calloc(n, sizeof(*sa->used));
	if (sa->fds == NULL || sa->addrs == NULL || sa->addrlens == NULL ||
	    sa->used == NULL) {
		sockact_free(sa);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int fd = SOCKACT_FIRST_FD + (int)i, fl;
		socklen_t len = sizeof(sa->addrs[0]);

		if (!is_listening_stream(fd) ||
		    getsockname(fd, (struct sockaddr *)&sa->addrs[sa->n],
		                &len) < 0) {
			close(fd);
			continue;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		sa->addrlens[sa->n] = len;
		sa->fds[sa->n++] = fd;
	}
	return (int)sa->n;
}

bool
sockact_same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
		                         *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
		                          *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr,
		              sizeof(x->sin6_addr)) == 0 &&
		       x->sin6_scope_id == y->sin6_scope_id;
	}
	return false;
}

int
sockact_take(struct sockact *sa, const struct sockaddr *addr)
{
	for (size_t i = 0; i < sa->n; i++) {
		if (!sockact_same_addr((struct sockaddr *)&sa->addrs[i], addr))
			continue;
		int fd = fcntl(sa->fds[i], F_DUPFD_CLOEXEC, 0);
		if (fd >= 0)
			sa->used[i] = true;
		return fd;
	}
	errno = ENOENT;
	return -1;
}

void
sockact_free(struct sockact *sa)
{
	for (size_t i = 0; i < sa->n; i++)
		close(sa->fds[i]);
	free(sa->fds);
	free(sa->addrs);
	free(sa->addrlens);
	free(sa->used);
	memset(sa, 0, sizeof(*sa));
}
