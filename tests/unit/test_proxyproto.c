/* SPDX-License-Identifier: ISC */
/* Unit tests for proxyproto.c: headers built and parsed back, every prefix
 * of a valid header asks for more, and truncated, oversized and malformed
 * headers are refused; CRC32c against published check values, and the
 * checksum TLV of version 2 verified on a header HAProxy sent. */
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

/* Known answers: the usual check value, and the four 32-byte vectors of
 * RFC 3720, appendix B.4. */
static void
crc32c_vectors(void)
{
	uint8_t v[32];

	ok(proxyproto_crc32c(0, "123456789", 9) == 0xe3069283,
	   "crc32c(\"123456789\") = 0xe3069283 (got 0x%08x)",
	   proxyproto_crc32c(0, "123456789", 9));
	ok(proxyproto_crc32c(0, "", 0) == 0, "crc32c of nothing is 0");
	uint32_t part = proxyproto_crc32c(0, "1234", 4);
	ok(proxyproto_crc32c(part, "56789", 5) == 0xe3069283,
	   "crc32c continues from an earlier value");
	memset(v, 0, sizeof(v));
	ok(proxyproto_crc32c(0, v, 32) == 0x8a9136aa,
	   "crc32c of 32 zero bytes = 0x8a9136aa");
	memset(v, 0xff, sizeof(v));
	ok(proxyproto_crc32c(0, v, 32) == 0x62a8ab43,
	   "crc32c of 32 0xff bytes = 0x62a8ab43");
	for (int i = 0; i < 32; i++)
		v[i] = (uint8_t)i;
	ok(proxyproto_crc32c(0, v, 32) == 0x46dd794e,
	   "crc32c of 0x00..0x1f = 0x46dd794e");
	for (int i = 0; i < 32; i++)
		v[i] = (uint8_t)(31 - i);
	ok(proxyproto_crc32c(0, v, 32) == 0x113fdb5c,
	   "crc32c of 0x1f..0x00 = 0x113fdb5c");
}

/* Writes the CRC32c of the LEN-byte header at BUF into its 4 bytes at
 * AT (zeroed first), big-endian, as a sender does. */
static void
put_crc(uint8_t *buf, size_t len, size_t at)
{
	memset(buf + at, 0, 4);
	uint32_t c = proxyproto_crc32c(0, buf, len);
	buf[at] = (uint8_t)(c >> 24);
	buf[at + 1] = (uint8_t)(c >> 16);
	buf[at + 2] = (uint8_t)(c >> 8);
	buf[at + 3] = (uint8_t)c;
}

/* A header HAProxy 2.6 sent (server option send-proxy-v2 with
 * proxy-v2-options crc32c) for a client at 127.0.0.2:49015: TCP over IPv4,
 * then one TLV, type 0x03, length 4, the checksum 0x43cdc144. */
static const uint8_t haproxy_hdr[35] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
    0x21, 0x11, 0x00, 0x13, 0x7f, 0x00, 0x00, 0x02, 0x7f, 0x00, 0x00, 0x01,
    0xbf, 0x77, 0xd9, 0x1f, 0x03, 0x00, 0x04, 0x43, 0xcd, 0xc1, 0x44};
#define HAPROXY_CRC_TYPE 28 /* the offset of the TLV's type byte */

static void
crc32c_tlv(void)
{
	/* The header, then client bytes: enough that a length made longer
	 * by damage is still all there to be judged. */
	uint8_t buf[sizeof(haproxy_hdr) + 700];
	struct proxyproto_hdr h;
	const char *why = NULL;
	size_t n = sizeof(haproxy_hdr);

	for (size_t i = n; i < sizeof(buf); i++)
		buf[i] = (uint8_t) "GET / HTTP/1.1\r\n"[i % 16];
	memcpy(buf, haproxy_hdr, n);
	prefixes_want_more(buf, n, "HAProxy's header");
	enum proxyproto_rc rc = proxyproto_parse(buf, sizeof(buf), &h, &why);
	ok(rc == PROXYPROTO_DONE && h.len == n && h.crc32c && h.has_addr,
	   "HAProxy's header with a CRC32c TLV is accepted and checked (rc %d "
	   "%s)",
	   rc, why ? why : "");
	if (rc == PROXYPROTO_DONE)
		ok_str(fmt(&h.src), "127.0.0.2:49015", "its source");

	/* Any one bit changed is refused: in the fixed part, the addresses,
	 * the TLV's length and its value. Not the TLV's type byte: changed,
	 * it makes another TLV, and the header one without a checksum. */
	size_t flips = 0, first_bad = 0;
	for (size_t bit = 0; bit < n * 8; bit++) {
		if (bit / 8 == HAPROXY_CRC_TYPE)
			continue;
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = proxyproto_parse(buf, sizeof(buf), &h, &why);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (rc == PROXYPROTO_BAD)
			flips++;
		else if (first_bad == 0)
			first_bad = bit + 1;
	}
	ok(flips == n * 8 - 8,
	   "each of the %zu one-bit changes is refused (%zu were; first "
	   "not: bit %zu)",
	   n * 8 - 8, flips, first_bad ? first_bad - 1 : 0);
	buf[34] ^= 0x01;
	rc = proxyproto_parse(buf, n, &h, &why);
	ok(rc == PROXYPROTO_BAD && strstr(why, "CRC32c checksum") != NULL,
	   "a changed checksum is refused as not matching (%s)",
	   why ? why : "");
	buf[34] ^= 0x01;
	buf[19] ^= 0x01; /* 127.0.0.2 -> 127.0.0.3 */
	rc = proxyproto_parse(buf, n, &h, &why);
	ok(rc == PROXYPROTO_BAD && strstr(why, "CRC32c checksum") != NULL,
	   "a changed source address is refused (%s)", why ? why : "");
	buf[19] ^= 0x01;
	buf[12] = 0x20; /* PROXY damaged into LOCAL */
	rc = proxyproto_parse(buf, n, &h, &why);
	ok(rc == PROXYPROTO_BAD && strstr(why, "CRC32c checksum") != NULL,
	   "a PROXY command changed into LOCAL is refused (%s)",
	   why ? why : "");

	/* The same header without the TLV: accepted, nothing checked. */
	memcpy(buf, haproxy_hdr, 28);
	buf[15] = 12;
	rc = proxyproto_parse(buf, 28, &h, &why);
	ok(rc == PROXYPROTO_DONE && h.has_addr && !h.crc32c,
	   "without a CRC32c TLV the header is accepted (rc %d %s)", rc,
	   why ? why : "");

	/* IPv6, the checksum between two other TLVs (NOOP, AUTHORITY). */
	uint8_t v6[16 + 36 + 5 + 7 + 14];
	memset(v6, 0, sizeof(v6));
	memcpy(v6, V2SIG "\x21\x21", 14);
	v6[15] = (uint8_t)(sizeof(v6) - 16);
	v6[31] = 7; /* source 2001:db8::7 (below) */
	v6[16] = 0x20, v6[17] = 0x01, v6[18] = 0x0d, v6[19] = 0xb8;
	v6[47] = 1;                           /* destination ::1 */
	v6[48] = 0x13, v6[49] = 0x88;         /* port 5000 */
	memcpy(v6 + 52, "\x04\x00\x02xx", 5); /* NOOP */
	memcpy(v6 + 57, "\x03\x00\x04", 3);
	memcpy(v6 + 64,
	       "\x02\x00\x0b"
	       "example.org",
	       14);
	put_crc(v6, sizeof(v6), 60);
	rc = proxyproto_parse(v6, sizeof(v6), &h, &why);
	ok(rc == PROXYPROTO_DONE && h.crc32c && h.len == sizeof(v6),
	   "IPv6 with the checksum among other TLVs is accepted (rc %d %s)", rc,
	   why ? why : "");
	if (rc == PROXYPROTO_DONE)
		ok_str(fmt(&h.src), "[2001:db8::7]:5000", "IPv6 source");
	v6[sizeof(v6) - 1] ^= 0x20; /* in the TLV after it */
	refuses((char *)v6, sizeof(v6), "CRC32c checksum does not match");

	/* A balancer's health check: LOCAL, no address, the checksum (byte
	 * for byte what HAProxy 2.6 sends with check-send-proxy). */
	uint8_t local[16 + 7];
	memcpy(local, V2SIG "\x20\x00\x00\x07\x03\x00\x04", 19);
	put_crc(local, sizeof(local), 19);
	rc = proxyproto_parse(local, sizeof(local), &h, &why);
	ok(rc == PROXYPROTO_DONE && !h.has_addr && h.crc32c,
	   "LOCAL with a CRC32c TLV: accepted, checked (rc %d %s)", rc,
	   why ? why : "");
	ok(memcmp(local + 19, "\xa9\xb8\x7e\x8f", 4) == 0,
	   "  its checksum is HAProxy's, 0xa9b87e8f");
	local[22] ^= 0x80;
	refuses((char *)local, sizeof(local), "CRC32c checksum does not match");
	/* A LOCAL header's TLVs are read where its family says they begin;
	 * with a family of no known size, its block is ignored whole. */
	refuses(S(V2SIG "\x20\x00\x00\x02\x04\x00"), "truncated TLV");
	parses(S(V2SIG "\x20\x55\x00\x03\x03\x00\x09"), NULL,
	       "LOCAL, unknown family: block ignored");

	/* Wrong length, or two of them: refused whatever the sum. */
	refuses(S(V2SIG "\x21\x11\x00\x12"
	                "\x7f\x00\x00\x02\x7f\x00\x00\x01\xbf\x77\xd9\x1f"
	                "\x03\x00\x03\x43\xcd\xc1"),
	        "CRC32c TLV not 4 bytes");
	refuses(S(V2SIG "\x21\x11\x00\x14"
	                "\x7f\x00\x00\x02\x7f\x00\x00\x01\xbf\x77\xd9\x1f"
	                "\x03\x00\x05\x43\xcd\xc1\x44\x00"),
	        "CRC32c TLV not 4 bytes");
	refuses(S(V2SIG "\x20\x00\x00\x03\x03\x00\x00"),
	        "CRC32c TLV not 4 bytes");
	uint8_t two[16 + 14];
	memcpy(two, V2SIG "\x21\x00\x00\x0e", 16);
	memcpy(two + 16, "\x03\x00\x04\0\0\0\0\x03\x00\x04\0\0\0\0", 14);
	put_crc(two, sizeof(two), 19);
	refuses((char *)two, sizeof(two), "two CRC32c TLVs");
}

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
	crc32c_vectors();
	crc32c_tlv();
	return unit_done();
}
