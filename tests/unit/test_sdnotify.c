/* SPDX-License-Identifier: ISC */
/* sdnotify: NOTIFY_SOCKET values, and real datagrams through a socket of
 * the test's own, a path one and an abstract one, as systemd has. */
#define _GNU_SOURCE
#include "sdnotify.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

static int
listener(const char *value)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || sdnotify_address(value, &sa, &len) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, len) < 0) {
		perror("notify listener");
		exit(1);
	}
	return fd;
}

/* Receives one datagram (without waiting) into BUF; "" when none. */
static const char *
receive(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
round_trip(const char *value, const char *what)
{
	char buf[256], text[128];
	int l = listener(value), fd;

	setenv("NOTIFY_SOCKET", value, 1);
	fd = sdnotify_open();
	ok(fd >= 0, "%s: sdnotify_open connects", what);
	ok(getenv("NOTIFY_SOCKET") == NULL,
	   "%s: NOTIFY_SOCKET is removed from the environment", what);
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	   "%s: the socket is close-on-exec", what);
	ok(sdnotify_send(fd, "READY=1\nSTATUS=serving 2 listeners") == 0,
	   "%s: send READY", what);
	ok_str(
	    receive(l, buf, sizeof(buf)), "READY=1\nSTATUS=serving 2 listeners",
	    "%s: the listener gets READY=1 and STATUS in one datagram", what);
	sdnotify_reloading_text(sdnotify_monotonic_usec(), text, sizeof(text));
	sdnotify_send(fd, text);
	receive(l, buf, sizeof(buf));
	ok(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0 &&
	       strtoull(buf + 27, NULL, 10) > 0,
	   "%s: RELOADING=1, then MONOTONIC_USEC=%s", what,
	   strchr(buf, '=') ? strrchr(buf, '=') + 1 : buf);
	sdnotify_send(fd, "STOPPING=1");
	ok_str(receive(l, buf, sizeof(buf)), "STOPPING=1", "%s: STOPPING=1",
	       what);
	close(fd);
	close(l);
}

int
main(void)
{
	struct sockaddr_un sa;
	socklen_t len;
	char path[64], abstract[64], longpath[200];

	ok(sdnotify_address("/run/systemd/notify", &sa, &len) == 0 &&
	       strcmp(sa.sun_path, "/run/systemd/notify") == 0 &&
	       len == offsetof(struct sockaddr_un, sun_path) + 20,
	   "a path: copied with its NUL");
	ok(sdnotify_address("@x/y", &sa, &len) == 0 && sa.sun_path[0] == 0 &&
	       memcmp(sa.sun_path + 1, "x/y", 3) == 0 &&
	       len == offsetof(struct sockaddr_un, sun_path) + 4,
	   "'@name': abstract, leading NUL, no terminator");
	ok(sdnotify_address("relative", &sa, &len) < 0 && errno == EINVAL,
	   "a relative path is refused");
	ok(sdnotify_address("", &sa, &len) < 0, "an empty value is refused");
	ok(sdnotify_address("@", &sa, &len) < 0, "a bare '@' is refused");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ok(sdnotify_address(longpath, &sa, &len) < 0,
	   "a path longer than sun_path is refused");

	unsetenv("NOTIFY_SOCKET");
	ok(sdnotify_open() == -1 && errno == 0,
	   "no NOTIFY_SOCKET: -1 with errno 0");
	ok(sdnotify_send(-1, "READY=1") == 0,
	   "sending without a socket: nothing");
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	ok(sdnotify_open() == -1 && errno != 0 &&
	       getenv("NOTIFY_SOCKET") == NULL,
	   "a socket that does not exist: -1 with errno, variable removed");

	snprintf(path, sizeof(path), "/tmp/portsplit-notify-%d", (int)getpid());
	unlink(path);
	round_trip(path, "path socket");
	unlink(path);
	snprintf(abstract, sizeof(abstract), "@portsplit-notify-%d",
	         (int)getpid());
	round_trip(abstract, "abstract socket");
	return unit_done();
}
