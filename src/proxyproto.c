/* SPDX-License-Identifier: ISC */
/* proxyproto: PROXY protocol headers, versions 1 and 2.
 *
 * Version 1 is one line of text: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n",
 * or "PROXY UNKNOWN...\r\n", at most 107 bytes. Version 2 is binary: a
 * 12-byte signature, a version/command byte, a family/transport byte, a
 * big-endian length, then that many bytes of addresses and TLVs.
 *
 * The parser is strict because it runs before anything else on bytes from
 * the network: single spaces, canonical numbers, known families only, TLVs
 * that exactly fill the announced length. It is incremental: a prefix of a
 * valid header is MORE, so the caller can wait for the rest within its own
 * time and size bounds; anything that can no longer become a valid header
 * is BAD at once.
 *
 * A version 2 header may carry a CRC32c TLV (type 0x03, 4 bytes, big
 * endian): the CRC32c of the whole header, computed with those 4 bytes
 * zeroed. When there is one it must match, so that a header damaged on
 * the way is refused instead of trusted; a header without one is taken
 * as before. The checksum cannot protect its own type byte: damage that
 * turns the TLV into another type leaves a header without a checksum. */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
static const char v1_sig[] = "PROXY ";

#define PP2_TYPE_CRC32C 0x03
/* CRC32c's polynomial, bit-reversed (RFC 3720, appendix B.4). */
#define CRC32C_POLY 0x82f63b78u

uint32_t
proxyproto_crc32c(uint32_t crc, const void *data, size_t n)
{
	const uint8_t *p = data;

	/* Bit by bit: it runs once per header, at most 1040 bytes. */
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1)));
	}
	return ~crc;
}

/* The family of SA once an IPv4-mapped IPv6 address counts as IPv4;
 * fills the 4 or 16 address bytes and the port. 0 when not IP. */
static int
ip_of(const struct sockaddr *sa, uint8_t addr[16], uint16_t *port)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		memcpy(addr, &in->sin_addr, 4);
		*port = in->sin_port;
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		*port = in6->sin6_port;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			memcpy(addr, in6->sin6_addr.s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(addr, &in6->sin6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

/* Rewrites a 4-byte IPv4 address in ADDR as its IPv4-mapped IPv6 form. */
static void
map_v6(uint8_t addr[16])
{
	memmove(addr + 12, addr, 4);
	memset(addr, 0, 10);
	addr[10] = addr[11] = 0xff;
}

int
proxyproto_build(int version, const struct sockaddr *src,
                 const struct sockaddr *dst, uint8_t *buf, size_t len)
{
	uint8_t sa[16], da[16];
	uint16_t sp = 0, dp = 0;
	int sf = ip_of(src, sa, &sp), df = ip_of(dst, da, &dp);
	int fam = 0;

	if (len < PROXYPROTO_BUILD_MAX || (version != 1 && version != 2))
		return -1;
	if (sf != 0 && df != 0) {
		fam = sf;
		if (sf != df) {
			fam = AF_INET6;
			if (sf == AF_INET)
				map_v6(sa);
			if (df == AF_INET)
				map_v6(da);
		}
	}
	if (version == 1) {
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
		if (fam == 0)
			return snprintf((char *)buf, len, "PROXY UNKNOWN\r\n");
		inet_ntop(fam, sa, s, sizeof(s));
		inet_ntop(fam, da, d, sizeof(d));
		return snprintf((char *)buf, len, "PROXY %s %s %s %u %u\r\n",
		                fam == AF_INET ? "TCP4" : "TCP6", s, d,
		                ntohs(sp), ntohs(dp));
	}
	size_t alen = fam == AF_INET ? 4 : 16, n = 16;
	memcpy(buf, v2_sig, 12);
	buf[12] = fam == 0 ? 0x20 : 0x21; /* version 2, LOCAL or PROXY */
	buf[13] = fam == 0 ? 0x00 : fam == AF_INET ? 0x11 : 0x21;
	if (fam != 0) {
		memcpy(buf + n, sa, alen);
		memcpy(buf + n + alen, da, alen);
		n += 2 * alen;
		memcpy(buf + n, &sp, 2);
		memcpy(buf + n + 2, &dp, 2);
		n += 4;
	}
	buf[14] = (uint8_t)((n - 16) >> 8);
	buf[15] = (uint8_t)(n - 16);
	return (int)n;
}

/* A decimal port: "0" or 1 to 65535 without a leading zero. */
static int
parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = htons((uint16_t)v);
	return 0;
}

static int
parse_ip(int fam, const char *s, size_t n, struct sockaddr_storage *ss,
         uint16_t port)
{
	char text[INET6_ADDRSTRLEN];

	memset(ss, 0, sizeof(*ss));
	if (n == 0 || n >= sizeof(text))
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	if (fam == AF_INET) {
		struct sockaddr_in *in = (void *)ss;
		in->sin_family = AF_INET;
		in->sin_port = port;
		return inet_pton(AF_INET, text, &in->sin_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in6 *in6 = (void *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = port;
	return inet_pton(AF_INET6, text, &in6->sin6_addr) == 1 ? 0 : -1;
}

static enum proxyproto_rc
bad(const char **why, const char *reason)
{
	*why = reason;
	return PROXYPROTO_BAD;
}

static enum proxyproto_rc
parse_v1(const uint8_t *buf, size_t n, struct proxyproto_hdr *h,
         const char **why)
{
	const char *tok[6];
	size_t toklen[6], ntok = 0, end = 0;
	bool found = false;

	if (memcmp(buf, v1_sig, n < 6 ? n : 6) != 0)
		return bad(why, "not a PROXY header");
	/* Only printable ASCII, up to the CRLF that ends the line. */
	for (size_t i = 0; i < n && i < PROXYPROTO_V1_MAX; i++) {
		if (buf[i] == '\r') {
			if (i + 1 < n && buf[i + 1] != '\n')
				return bad(why, "v1: CR without LF");
			if (i + 1 < n) {
				end = i;
				found = true;
				break;
			}
			continue;
		}
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return bad(why, "v1: a control or non-ASCII byte");
	}
	if (!found || end + 2 > PROXYPROTO_V1_MAX) {
		if (found || n >= PROXYPROTO_V1_MAX)
			return bad(why, "v1: longer than 107 bytes");
		return PROXYPROTO_MORE;
	}
	/* Split at single spaces. */
	for (size_t i = 0, start = 0; i <= end; i++) {
		if (i < end && buf[i] != ' ')
			continue;
		if (i == start)
			return bad(why, "v1: empty field (two spaces)");
		if (ntok == 6)
			return bad(why, "v1: too many fields");
		tok[ntok] = (const char *)buf + start;
		toklen[ntok++] = i - start;
		start = i + 1;
	}
	memset(h, 0, sizeof(*h));
	h->len = end + 2;
	h->version = 1;
	if (toklen[1] == 7 && memcmp(tok[1], "UNKNOWN", 7) == 0)
		return PROXYPROTO_DONE; /* the rest of the line is ignored */
	int fam;
	if (toklen[1] == 4 && memcmp(tok[1], "TCP4", 4) == 0)
		fam = AF_INET;
	else if (toklen[1] == 4 && memcmp(tok[1], "TCP6", 4) == 0)
		fam = AF_INET6;
	else
		return bad(why, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
	if (ntok != 6)
		return bad(why, "v1: expected 6 fields");
	uint16_t sp, dp;
	if (parse_port(tok[4], toklen[4], &sp) < 0 ||
	    parse_port(tok[5], toklen[5], &dp) < 0)
		return bad(why, "v1: bad port");
	if (parse_ip(fam, tok[2], toklen[2], &h->src, sp) < 0 ||
	    parse_ip(fam, tok[3], toklen[3], &h->dst, dp) < 0)
		return bad(why, "v1: bad address");
	h->has_addr = true;
	return PROXYPROTO_DONE;
}

static void
set_ip(struct sockaddr_storage *ss, int fam, const uint8_t *addr,
       const uint8_t *port)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *in = (void *)ss;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, addr, 4);
		memcpy(&in->sin_port, port, 2);
	} else {
		struct sockaddr_in6 *in6 = (void *)ss;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, addr, 16);
		memcpy(&in6->sin6_port, port, 2);
	}
}

/* The TLVs of the header at BUF, from offset OFF to its end END: each
 * type, length, value, together filling it exactly; a CRC32c TLV, at most
 * one, must hold the header's checksum (*CRC is then set). */
static enum proxyproto_rc
check_tlvs(const uint8_t *buf, size_t off, size_t end, bool *crc,
           const char **why)
{
	static const uint8_t zero[4];
	size_t at = 0; /* where the CRC32c value is; 0: none */

	while (off < end) {
		if (off + 3 > end)
			return bad(why, "v2: truncated TLV");
		size_t vlen = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (off + 3 + vlen > end)
			return bad(why, "v2: TLV longer than the header");
		if (buf[off] == PP2_TYPE_CRC32C) {
			if (vlen != 4)
				return bad(why, "v2: CRC32c TLV not 4 bytes");
			if (at != 0)
				return bad(why, "v2: two CRC32c TLVs");
			at = off + 3;
		}
		off += 3 + vlen;
	}
	if (at == 0)
		return PROXYPROTO_DONE;
	uint32_t want = (uint32_t)buf[at] << 24 | (uint32_t)buf[at + 1] << 16 |
	                (uint32_t)buf[at + 2] << 8 | buf[at + 3];
	uint32_t sum = proxyproto_crc32c(0, buf, at);
	sum = proxyproto_crc32c(sum, zero, 4);
	sum = proxyproto_crc32c(sum, buf + at + 4, end - at - 4);
	if (sum != want)
		return bad(why, "v2: CRC32c checksum does not match");
	*crc = true;
	return PROXYPROTO_DONE;
}

static enum proxyproto_rc
parse_v2(const uint8_t *buf, size_t n, struct proxyproto_hdr *h,
         const char **why)
{
	size_t len, alen = 0;
	int fam = 0;
	bool known = true; /* a family whose address block has a known size */

	if (memcmp(buf, v2_sig, n < 12 ? n : 12) != 0)
		return bad(why, "not a PROXY header");
	if (n > 12 && (buf[12] >> 4) != 2)
		return bad(why, "v2: version is not 2");
	if (n > 12 && (buf[12] & 0x0f) > 1)
		return bad(why, "v2: command is not LOCAL or PROXY");
	if (n > 13) {
		switch (buf[13]) {
		case 0x00: /* UNSPEC */
			break;
		case 0x11: /* TCP over IPv4 */
			fam = AF_INET;
			alen = 12;
			break;
		case 0x21: /* TCP over IPv6 */
			fam = AF_INET6;
			alen = 36;
			break;
		case 0x31: /* stream over a UNIX socket: no IP address */
			alen = 216;
			break;
		default:
			/* A LOCAL header's addresses are ignored anyway. */
			if ((buf[12] & 0x0f) == 1)
				return bad(why, "v2: not a stream family");
			known = false;
		}
	}
	if (n < 16)
		return PROXYPROTO_MORE;
	len = (size_t)buf[14] << 8 | buf[15];
	if (16 + len > PROXYPROTO_V2_MAX)
		return bad(why, "v2: longer than the limit");
	bool local = (buf[12] & 0x0f) == 0;
	if (!local && len < alen)
		return bad(why, "v2: length too short for its addresses");
	if (n < 16 + len)
		return PROXYPROTO_MORE;
	memset(h, 0, sizeof(*h));
	h->len = 16 + len;
	h->version = 2;
	/* A LOCAL header's block is ignored, but where its TLVs can be
	 * found they are checked like a PROXY header's: a PROXY header whose
	 * command bit was damaged into LOCAL still fails its checksum. */
	if (local && (!known || len < alen))
		return PROXYPROTO_DONE;
	enum proxyproto_rc rc =
	    check_tlvs(buf, 16 + alen, 16 + len, &h->crc32c, why);
	if (rc != PROXYPROTO_DONE || local)
		return rc;
	if (fam == AF_INET) {
		set_ip(&h->src, fam, buf + 16, buf + 24);
		set_ip(&h->dst, fam, buf + 20, buf + 26);
		h->has_addr = true;
	} else if (fam == AF_INET6) {
		set_ip(&h->src, fam, buf + 16, buf + 48);
		set_ip(&h->dst, fam, buf + 32, buf + 50);
		h->has_addr = true;
	}
	return PROXYPROTO_DONE;
}

enum proxyproto_rc
proxyproto_parse(const uint8_t *buf, size_t n, struct proxyproto_hdr *h,
                 const char **why)
{
	*why = NULL;
	if (n == 0)
		return PROXYPROTO_MORE;
	if (buf[0] == 'P')
		return parse_v1(buf, n, h, why);
	if (buf[0] == 0x0d)
		return parse_v2(buf, n, h, why);
	return bad(why, "not a PROXY header");
}
