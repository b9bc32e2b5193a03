/* SPDX-License-Identifier: ISC */
/* sdnotify: systemd's service notification protocol (see sdnotify.h). */
#define _GNU_SOURCE
#include "sdnotify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
sdnotify_address(const char *value, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = value != NULL ? strlen(value) : 0;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n < 2 || (value[0] != '/' && value[0] != '@') ||
	    n > sizeof(sa->sun_path) - (value[0] == '/')) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sa->sun_path, value, n);
	/* An abstract name starts with a NUL byte and is not terminated. */
	if (value[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	                   (value[0] == '/'));
	return 0;
}

int
sdnotify_open(void)
{
	const char *value = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	int fd, rc, saved;

	if (value == NULL) {
		errno = 0;
		return -1;
	}
	rc = sdnotify_address(value, &sa, &len);
	unsetenv("NOTIFY_SOCKET");
	if (rc < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sdnotify_send(int fd, const char *text)
{
	ssize_t n;

	if (fd < 0)
		return 0;
	do
		n = send(fd, text, strlen(text), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

void
sdnotify_reloading_text(uint64_t usec, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
}

uint64_t
sdnotify_monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
