/* SPDX-License-Identifier: ISC */
/* sdnotify: systemd's service notification protocol, without libsystemd.
 *
 * systemd (Type=notify) passes the path of a datagram socket in
 * NOTIFY_SOCKET; the service sends it newline-separated KEY=VALUE lines:
 * READY=1 once it serves, RELOADING=1 when it starts a reload (with
 * MONOTONIC_USEC, the CLOCK_MONOTONIC time in microseconds) and READY=1
 * when it is done, STOPPING=1 when it stops, STATUS=text at any time. A
 * path starting with '@' names a Linux abstract socket.
 *
 * The socket is opened and connected once at start, so that a later
 * chroot cannot put its path out of reach; its descriptor is close-on-exec
 * and the variable is removed from the environment, so programs that
 * portsplit starts never talk to systemd in its name. */
#ifndef PORTSPLIT_SDNOTIFY_H
#define PORTSPLIT_SDNOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Pure: fills SA and LEN from a NOTIFY_SOCKET value (an absolute path or
 * '@' + an abstract name). Returns 0, or -1 with errno EINVAL when the
 * value is neither or too long. */
int sdnotify_address(const char *value, struct sockaddr_un *sa, socklen_t *len);

/* Reads NOTIFY_SOCKET, removes it from the environment and returns a
 * connected datagram socket (close-on-exec, non-blocking); -1 with errno 0
 * when there is no NOTIFY_SOCKET, -1 with errno on a failure. */
int sdnotify_open(void);

/* Sends TEXT (the lines above) as one datagram on FD; nothing when FD is
 * -1. Returns 0, or -1 with errno: the caller may log it, never dies of
 * it. */
int sdnotify_send(int fd, const char *text);

/* Pure: writes "RELOADING=1\nMONOTONIC_USEC=USEC" into BUF. */
void sdnotify_reloading_text(uint64_t usec, char *buf, size_t buflen);

/* The current CLOCK_MONOTONIC time in microseconds. */
uint64_t sdnotify_monotonic_usec(void);

#endif
