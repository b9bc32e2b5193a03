/* SPDX-License-Identifier: ISC */
/* proxyproto: the PROXY protocol header (versions 1 and 2) that tells a
 * server who the client of a relayed connection really is. A builder for
 * the header portsplit sends to a backend, and a strict, incremental parser
 * for the header a balancer sends to portsplit. Pure: buffers in, buffers
 * out, no sockets. */
#ifndef PORTSPLIT_PROXYPROTO_H
#define PORTSPLIT_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The longest version 1 header, CRLF included (the specification's
 * bound). */
#define PROXYPROTO_V1_MAX 107
/* The longest version 2 header accepted: the 16-byte fixed part and up to
 * this many bytes of addresses and TLVs. */
#define PROXYPROTO_V2_MAX (16 + 1024)
/* Room for any header the builder writes. */
#define PROXYPROTO_BUILD_MAX 108

/* Writes a version VERSION (1 or 2) header for a connection from SRC to
 * DST into BUF (LEN bytes, at least PROXYPROTO_BUILD_MAX). With SRC or DST
 * NULL, or not IPv4/IPv6, it writes the header that carries no address
 * (v1 UNKNOWN, v2 LOCAL): the receiver then uses the connection's own.
 * An IPv4 address mapped into IPv6 is written as IPv4; when the two
 * addresses still differ in family, both are written as IPv6. Returns the
 * header's length, or -1 when VERSION is unknown or LEN too small. */
int proxyproto_build(int version, const struct sockaddr *src,
                     const struct sockaddr *dst, uint8_t *buf, size_t len);

enum proxyproto_rc {
	PROXYPROTO_MORE, /* a valid start: more bytes are needed */
	PROXYPROTO_DONE, /* a complete, valid header */
	PROXYPROTO_BAD,  /* not a valid header, whatever follows */
};

/* What a complete header says. */
struct proxyproto_hdr {
	size_t len;    /* the header's length: the client's bytes follow */
	int version;   /* 1 or 2 */
	bool has_addr; /* false: LOCAL, UNKNOWN or a family without IP
	                  addresses; keep the connection's own addresses */
	bool crc32c;   /* v2: it carried a CRC32c TLV, and the sum matched */
	struct sockaddr_storage src, dst; /* with has_addr */
};

/* The CRC32c (Castagnoli) of the N bytes at DATA, continuing CRC: the
 * value of an earlier call for the bytes before them, 0 to start. */
uint32_t proxyproto_crc32c(uint32_t crc, const void *data, size_t n);

/* Parses the N bytes at BUF, the start of a connection that must begin
 * with a header. MORE when they are a valid beginning of one (call again
 * with more), DONE with *H filled, or BAD with a reason in *WHY (a static
 * string). A version 2 header with a CRC32c TLV is DONE only when the
 * checksum matches. Never reads past N. */
enum proxyproto_rc proxyproto_parse(const uint8_t *buf, size_t n,
                                    struct proxyproto_hdr *h, const char **why);

#endif
