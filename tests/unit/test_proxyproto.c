/* SPDX-License-Identifier: ISC */
/* Unit tests for proxyproto.c: headers built and parsed back, every prefix
 * of a valid header asks for more, and truncated, oversized and malformed
 * headers are refused. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "proxyproto.h"
#include "unit.h"

static struct sockaddr_storage
ip(const char *host, unsigned port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *in6 = (void *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &in6->sin6_addr);
	} else {
		struct sockaddr_in *in = (void *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &in->sin_addr);
	}
	return ss;
}

static const char *
fmt(const struct sockaddr_storage *ss)
{
	static char buf[2][ADDR_STRLEN];
	static int k;

	k ^= 1;
	addr_format((const struct sockaddr *)ss, buf[k], sizeof(buf[k]));
	return buf[k];
}

/* Every strict prefix of a valid header is MORE, never BAD. */
static void
prefixes_want_more(const uint8_t *buf, size_t len, const char *what)
{
	struct proxyproto_hdr h;
	const char *why;
	size_t bad_at = 0;

	for (size_t i = 0; i < len; i++)
		if (proxyproto_parse(buf, i, &h, &why) != PROXYPROTO_MORE) {
			bad_at = i;
			break;
		}
	ok(bad_at == 0, "%s: every prefix asks for more (failed at %zu)", what,
	   bad_at);
}

/* Builds a header for SRC -> DST, parses it back with client bytes after
 * it, and checks the addresses and the length. */
static void
round_trip(int version, const char *sh, unsigned sp, const char *dh,
           unsigned dp, const char *want_src, const char *want_dst)
{
	struct sockaddr_storage s = ip(sh, sp), d = ip(dh, dp);
	uint8_t buf[PROXYPROTO_BUILD_MAX + 16];
	struct proxyproto_hdr h;
	const char *why = NULL;
	int n = proxyproto_build(version, (void *)&s, (void *)&d, buf,
	                         PROXYPROTO_BUILD_MAX);

	ok(n > 0, "v%d %s -> %s builds (%d bytes)", version, sh, dh, n);
	if (n <= 0)
		return;
	prefixes_want_more(buf, (size_t)n, "built header");
	memcpy(buf + n, "SSH-2.0", 7);
	enum proxyproto_rc rc = proxyproto_parse(buf, (size_t)n + 7, &h, &why);
	ok(rc == PROXYPROTO_DONE && h.len == (size_t)n && h.has_addr &&
	       h.version == version,
	   "v%d parses back, length %d (rc %d len %zu: %s)", version, n, rc,
	   h.len, why ? why : "");
	if (rc == PROXYPROTO_DONE && h.has_addr) {
		ok_str(fmt(&h.src), want_src, "v%d source", version);
		ok_str(fmt(&h.dst), want_dst, "v%d destination", version);
	}
}

static void
parses(const char *text, size_t len, const char *src, const char *what)
{
	struct proxyproto_hdr h;
	const char *why = NULL;
	enum proxyproto_rc rc =
	    proxyproto_parse((const uint8_t *)text, len, &h, &why);

	if (src == NULL)
		ok(rc == PROXYPROTO_DONE && !h.has_addr,
		   "%s: done, no address (rc %d %s)", what, rc, why ? why : "");
	else {
		ok(rc == PROXYPROTO_DONE && h.has_addr, "%s: done (rc %d %s)",
		   what, rc, why ? why : "");
		if (rc == PROXYPROTO_DONE)
			ok_str(fmt(&h.src), src, "%s: source", what);
	}
}

static void
refuses(const char *text, size_t len, const char *reason)
{
	struct proxyproto_hdr h;
	const char *why = NULL;
	enum proxyproto_rc rc =
	    proxyproto_parse((const uint8_t *)text, len, &h, &why);

	ok(rc == PROXYPROTO_BAD && why != NULL && strstr(why, reason) != NULL,
	   "refused (%s): got rc %d '%s'", reason, rc, why ? why : "");
}

static void
wants_more(const char *text, size_t len, const char *what)
{
	struct proxyproto_hdr h;
	const char *why = NULL;

	ok(proxyproto_parse((const uint8_t *)text, len, &h, &why) ==
	       PROXYPROTO_MORE,
	   "%s: more is needed", what);
}

#define S(lit) lit, sizeof(lit) - 1
#define V2SIG "\r\n\r\n\0\r\nQUIT\n"

int
main(void)
{
	uint8_t buf[PROXYPROTO_BUILD_MAX];
	int n;

	round_trip(1, "127.0.0.2", 40000, "127.0.0.1", 443, "127.0.0.2:40000",
	           "127.0.0.1:443");
	round_trip(1, "2001:db8::1", 1, "::1", 65535, "[2001:db8::1]:1",
	           "[::1]:65535");
	round_trip(2, "192.0.2.7", 5555, "10.0.0.1", 443, "192.0.2.7:5555",
	           "10.0.0.1:443");
	round_trip(2, "2001:db8::7", 5555, "2001:db8::1", 443,
	           "[2001:db8::7]:5555", "[2001:db8::1]:443");
	/* A dual-stack listener sees IPv4 clients as mapped addresses. */
	round_trip(2, "::ffff:192.0.2.9", 1000, "::ffff:10.0.0.1", 443,
	           "192.0.2.9:1000", "10.0.0.1:443");
	round_trip(1, "::ffff:192.0.2.9", 1000, "2001:db8::1", 443,
	           "192.0.2.9:1000", "[2001:db8::1]:443");

	struct sockaddr_storage s = ip("192.0.2.1", 1), d = ip("10.0.0.1", 2);
	n = proxyproto_build(1, (void *)&s, (void *)&d, buf, sizeof(buf));
	ok(n == 35 &&
	       memcmp(buf, "PROXY TCP4 192.0.2.1 10.0.0.1 1 2\r\n", 35) == 0,
	   "v1 text is exact (%d bytes)", n);
	n = proxyproto_build(2, NULL, NULL, buf, sizeof(buf));
	ok(n == 16 && buf[12] == 0x20 && buf[13] == 0 && buf[15] == 0,
	   "v2 without addresses is LOCAL, 16 bytes");
	n = proxyproto_build(1, NULL, NULL, buf, sizeof(buf));
	ok(n == 15 && memcmp(buf, "PROXY UNKNOWN\r\n", 15) == 0,
	   "v1 without addresses is UNKNOWN");
	ok(proxyproto_build(3, NULL, NULL, buf, sizeof(buf)) == -1,
	   "version 3 is refused");
	ok(proxyproto_build(1, NULL, NULL, buf, 20) == -1,
	   "a small buffer is refused");

	/* The longest v1 header is 107 bytes and parses. */
	const char *longest =
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	ok(strlen(longest) == 104, "the longest address line is 104 bytes");
	parses(longest, strlen(longest),
	       "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", "longest v1");
	parses(S("PROXY UNKNOWN\r\n"), NULL, "v1 UNKNOWN");
	parses(S("PROXY UNKNOWN whatever 1 2 3\r\n"), NULL,
	       "v1 UNKNOWN with fields");
	parses(S("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\nGET /"),
	       "0.0.0.0:0", "v1 extremes");
	parses(S(V2SIG "\x20\x00\x00\x00"), NULL, "v2 LOCAL");
	parses(S(V2SIG "\x20\x11\x00\x0c"
	               "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02"),
	       NULL, "v2 LOCAL with addresses: ignored");
	parses(S(V2SIG "\x21\x00\x00\x00"), NULL, "v2 PROXY UNSPEC");
	parses(S(V2SIG "\x21\x11\x00\x0c"
	               "\xc0\x00\x02\x01\x0a\x00\x00\x01\x1f\x90\x01\xbb"),
	       "192.0.2.1:8080", "v2 TCP4");
	parses(S(V2SIG "\x21\x11\x00\x13"
	               "\xc0\x00\x02\x01\x0a\x00\x00\x01\x1f\x90\x01\xbb"
	               "\x04\x00\x04"
	               "abcd"),
	       "192.0.2.1:8080", "v2 TCP4 with a TLV");

	/* Truncated: a valid start is MORE; the caller's bounds end it. */
	wants_more(S("PROXY TCP4 1.2.3.4"), "v1 without CRLF");
	wants_more(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), "v1 before LF");
	wants_more(S("PRO"), "v1 signature start");
	wants_more(S(V2SIG "\x21\x11\x00\x0c\x01\x02"), "v2 short addresses");
	wants_more(S("\r\n\r\n\0"), "v2 signature start");

	/* Oversized. */
	char big[200];
	memset(big, 'a', sizeof(big));
	memcpy(big, "PROXY UNKNOWN ", 14);
	refuses(big, 107, "longer than 107");
	memcpy(big + 105, "\r\n", 2);
	parses(big, 107, NULL, "v1 UNKNOWN of exactly 107 bytes");
	memcpy(big + 105, "a\r\n", 3);
	refuses(big, 108, "longer than 107");
	refuses(S(V2SIG "\x21\x11\xff\xff"), "longer than the limit");

	/* Malformed. */
	refuses(S("GET / HTTP/1.1\r\n"), "not a PROXY header");
	refuses(S("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "empty field");
	refuses(S("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "not a PROXY");
	refuses(S("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), "not TCP4");
	refuses(S("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), "6 fields");
	refuses(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), "too many");
	refuses(S("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), "bad port");
	refuses(S("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), "bad port");
	refuses(S("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), "bad port");
	refuses(S("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), "bad address");
	refuses(S("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), "bad address");
	refuses(S("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), "bad address");
	refuses(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "control");
	refuses(S("PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n"), "CR without LF");
	refuses(S("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"), "control");
	refuses(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), "empty field");
	refuses(S("\r\n\r\n\0\r\nQUIX\n"), "not a PROXY");
	refuses(S(V2SIG "\x11\x11\x00\x0c"), "version is not 2");
	refuses(S(V2SIG "\x22\x11\x00\x0c"), "command");
	refuses(S(V2SIG "\x21\x12\x00\x0c"), "not a stream");
	refuses(S(V2SIG "\x21\x41\x00\x0c"), "not a stream");
	refuses(S(V2SIG "\x21\x21\x00\x0c"), "too short");
	refuses(S(V2SIG "\x21\x11\x00\x0e"
	                "\xc0\x00\x02\x01\x0a\x00\x00\x01\x1f\x90\x01\xbb"
	                "\x04\x00"),
	        "truncated TLV");
	refuses(S(V2SIG "\x21\x11\x00\x10"
	                "\xc0\x00\x02\x01\x0a\x00\x00\x01\x1f\x90\x01\xbb"
	                "\x04\x00\x09\x00"),
	        "TLV longer");
	return unit_done();
}
