/* SPDX-License-Identifier: ISC */
/* addr: the address forms of `bind =` and `connect =`, their resolution, and
 * printing socket addresses. */
#ifndef PORTSPLIT_ADDR_H
#define PORTSPLIT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <netdb.h>
#include <sys/socket.h>

/* Room for "[ffff:...:ffff%ifname]:65535" and a NUL. */
#define ADDR_STRLEN 72

/* Splits TEXT into host and port. Accepted forms: `1.2.3.4:443`,
 * `name:443`, `[::1]:443`, and the original Portsplit's unbracketed IPv6
 * form where the last colon separates the port (`:::443`, `::1:7898`).
 * The port is a number from 1 to 65535. On success returns 0 with malloc'd
 * *HOST and *PORT (caller frees); on error -1 and a message in ERR. */
int addr_split(const char *text, char **host, char **port, char *err,
               size_t errlen);

/* Resolves HOST and PORT to TCP addresses (PASSIVE for binding). Returns 0
 * and a list the caller frees with freeaddrinfo(), or -1 and ERR. */
int addr_resolve(const char *host, const char *port, bool passive,
                 struct addrinfo **res, char *err, size_t errlen);

/* Like addr_resolve() for an address written as numbers (never a host
 * name, so it never waits on DNS). Returns 0 and a list the caller frees
 * with freeaddrinfo(), or -1 when HOST is not a numeric address. */
int addr_numeric(const char *host, const char *port, struct addrinfo **res);

/* Prints SA as `1.2.3.4:443` or `[::1]:443` into BUF (ADDR_STRLEN); an
 * IPv4-mapped IPv6 address (an IPv4 client of a dual-stack listener) as
 * the IPv4 address it is. */
void addr_format(const struct sockaddr *sa, char *buf, size_t buflen);

/* Prints SA's host and port separately (for UCSPI variables); IPv4-mapped
 * addresses as IPv4, as addr_format() does. */
void addr_host_port(const struct sockaddr *sa, char *host, size_t hostlen,
                    unsigned *port);

#endif
