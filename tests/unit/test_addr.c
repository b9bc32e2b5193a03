/* SPDX-License-Identifier: ISC */
/* Unit tests for addr.c: every address form SPEC §2 lists. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "unit.h"

static void
splits(const char *text, const char *host, const char *port)
{
	char *h = NULL, *p = NULL, err[256];
	int rc = addr_split(text, &h, &p, err, sizeof(err));

	ok(rc == 0 && h && p && strcmp(h, host) == 0 && strcmp(p, port) == 0,
	   "'%s' is host '%s' port '%s' (got '%s' '%s')", text, host, port,
	   h ? h : "-", p ? p : "-");
	free(h);
	free(p);
}

static void
rejects(const char *text, const char *needle)
{
	char *h = NULL, *p = NULL, err[256] = "";
	int rc = addr_split(text, &h, &p, err, sizeof(err));

	ok(rc == -1 && strstr(err, needle) != NULL, "'%s' rejected: %s", text,
	   err);
	free(h);
	free(p);
}

static void
resolves(const char *text, int family, const char *printed)
{
	char *h = NULL, *p = NULL, err[256] = "", buf[ADDR_STRLEN] = "";
	struct addrinfo *ai = NULL;

	if (addr_split(text, &h, &p, err, sizeof(err)) == 0 &&
	    addr_resolve(h, p, true, &ai, err, sizeof(err)) == 0)
		addr_format(ai->ai_addr, buf, sizeof(buf));
	ok(ai != NULL && ai->ai_family == family && strcmp(buf, printed) == 0,
	   "'%s' resolves to %s (got '%s' %s)", text, printed, buf, err);
	if (ai)
		freeaddrinfo(ai);
	free(h);
	free(p);
}

int
main(void)
{
	splits("0.0.0.0:443", "0.0.0.0", "443");
	splits("127.0.0.1:8443", "127.0.0.1", "8443");
	splits("[::]:443", "::", "443");
	splits("[::1]:7898", "::1", "7898");
	splits(":::8998", "::", "8998");   /* the original Portsplit form */
	splits("::1:7898", "::1", "7898"); /* ditto */
	splits("fe80::1:22", "fe80::1", "22");
	splits("localhost:80", "localhost", "80");
	splits("example.com:65535", "example.com", "65535");
	rejects("127.0.0.1", "HOST:PORT");
	rejects(":443", "host is missing");
	rejects("127.0.0.1:0", "1 to 65535");
	rejects("127.0.0.1:65536", "1 to 65535");
	rejects("127.0.0.1:http", "1 to 65535");
	rejects("127.0.0.1:", "1 to 65535");
	rejects("[::1]443", "[IPv6]:PORT");
	rejects("[::1", "[IPv6]:PORT");

	resolves("127.0.0.1:8443", AF_INET, "127.0.0.1:8443");
	resolves("[::1]:8443", AF_INET6, "[::1]:8443");
	resolves("::1:7898", AF_INET6, "[::1]:7898");
	resolves(":::443", AF_INET6, "[::]:443");
	resolves("0.0.0.0:1", AF_INET, "0.0.0.0:1");
	/* An IPv4 client of a dual-stack (:::PORT) listener. */
	resolves("[::ffff:192.0.2.7]:443", AF_INET6, "192.0.2.7:443");
	resolves("[::ffff:0:c000:207]:443", AF_INET6,
	         "[::ffff:0:c000:207]:443");

	char *h, *p, err[256];
	struct addrinfo *ai = NULL;
	addr_split("no-such-host.invalid:80", &h, &p, err, sizeof(err));
	ok(addr_resolve(h, p, false, &ai, err, sizeof(err)) == -1 &&
	       strstr(err, "no-such-host.invalid") != NULL,
	   "an unknown host name is an error naming it: %s", err);
	free(h);
	free(p);
	return unit_done();
}
