/* SPDX-License-Identifier: ISC */
/* addr: parsing and printing of addresses. Splitting is pure;
 * addr_resolve() calls getaddrinfo(), which may block on DNS: it resolves
 * `bind` names while a configuration is loaded, and `connect` names only
 * for -t and the start (a connection's names are looked up by resolve.c,
 * on its own thread); addr_numeric() takes numbers only and never
 * blocks. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
valid_port(const char *p)
{
	unsigned long v = 0;

	if (*p == '\0' || strlen(p) > 5)
		return 0;
	for (const char *q = p; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			return 0;
		v = v * 10 + (unsigned long)(*q - '0');
	}
	return v >= 1 && v <= 65535;
}

int
addr_split(const char *text, char **host, char **port, char *err, size_t errlen)
{
	const char *h, *p;
	size_t hlen;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen,
			         "bad address '%s': expected [IPv6]:PORT",
			         text);
			return -1;
		}
		h = text + 1;
		hlen = (size_t)(close - h);
		p = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (colon == NULL) {
			snprintf(err, errlen,
			         "bad address '%s': expected HOST:PORT", text);
			return -1;
		}
		h = text;
		hlen = (size_t)(colon - text);
		p = colon + 1;
	}
	if (hlen == 0) {
		snprintf(err, errlen, "bad address '%s': the host is missing",
		         text);
		return -1;
	}
	if (!valid_port(p)) {
		snprintf(err, errlen,
		         "bad address '%s': the port must be a number from 1 "
		         "to 65535",
		         text);
		return -1;
	}
	*host = strndup(h, hlen);
	*port = strdup(p);
	if (*host == NULL || *port == NULL) {
		free(*host);
		free(*port);
		*host = *port = NULL;
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
addr_resolve(const char *host, const char *port, bool passive,
             struct addrinfo **res, char *err, size_t errlen)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	rc = getaddrinfo(host, port, &hints, res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host,
		         gai_strerror(rc));
		return -1;
	}
	return 0;
}

int
addr_numeric(const char *host, const char *port, struct addrinfo **res)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	return getaddrinfo(host, port, &hints, res) == 0 ? 0 : -1;
}

void
addr_host_port(const struct sockaddr *sa, char *host, size_t hostlen,
               unsigned *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t)hostlen);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		/* An IPv4 client of a dual-stack listener is an IPv4
		 * client: shown (and given to programs) as one. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host,
			          (socklen_t)hostlen);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, host,
			          (socklen_t)hostlen);
		*port = ntohs(in6->sin6_port);
	} else {
		snprintf(host, hostlen, "?");
		*port = 0;
	}
}

void
addr_format(const struct sockaddr *sa, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	addr_host_port(sa, host, sizeof(host), &port);
	if (sa->sa_family == AF_INET6 && strchr(host, ':') != NULL)
		snprintf(buf, buflen, "[%s]:%u", host, port);
	else
		snprintf(buf, buflen, "%s:%u", host, port);
}
