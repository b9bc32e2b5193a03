/* SPDX-License-Identifier: ISC */
/* frame: where a client's first message ends, read from a length field that
 * the protocol puts at a fixed offset. Pure. */
#ifndef PORTSPLIT_FRAME_H
#define PORTSPLIT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `frame = OFFSET:TYPE[+ADJUST|-ADJUST]`: the first message is
 * value(TYPE at OFFSET) + ADJUST bytes long. TYPE is u8, be16, be24, be32,
 * le16, le24 or le32. Examples: TLS `3:be16+5`, PostgreSQL `0:be32`,
 * OpenVPN over TCP `0:be16+2`.
 *
 * `frame = RECORD join MESSAGE` (both OFFSET:TYPE[+-N]) is for protocols
 * whose message may be split over several records, as a TLS ClientHello
 * over two TLS records: RECORD says how long each record is, and its
 * header is the OFFSET + width bytes up to the end of its length field.
 * The signature then sees the joined view: the first record whole, then
 * the payload (the bytes after the header) of each record that follows
 * and has the same type (first byte) as the first one. MESSAGE, read on
 * that view, says how long the first message is: TLS
 * `3:be16+5 join 6:be24+9` (the handshake length, after the 5-byte record
 * header and the 4-byte handshake header). */
struct frame {
	uint32_t offset;
	uint8_t width; /* bytes: 1 to 4 */
	bool little;
	int64_t adjust;
	bool join; /* the fields below describe MESSAGE */
	uint32_t moffset;
	uint8_t mwidth;
	bool mlittle;
	int64_t madjust;
};

/* Parses TEXT into *F. Returns 0, or -1 with a message in ERR. */
int frame_parse(const char *text, struct frame *f, char *err, size_t errlen);
/* Prints *F in the syntax frame_parse() reads. */
void frame_format(const struct frame *f, char *buf, size_t buflen);
/* The length of the first message in the view at DATA (see frame_view),
 * or -1 while the length field has not fully arrived. A length shorter than
 * the field's own end counts as ending there. */
int64_t frame_length(const struct frame *f, const uint8_t *data, size_t len);
/* The bytes the signature sees of the LEN bytes at DATA: DATA itself
 * without `join` or while the first record holds everything that has come;
 * otherwise the joined view, written to BUF (CAP bytes; a view longer than
 * CAP is cut there). Sets *VLEN, and *ENDED when a record of another type
 * ended the joining (no more bytes can come to the view). */
const uint8_t *frame_view(const struct frame *f, const uint8_t *data,
                          size_t len, uint8_t *buf, size_t cap, size_t *vlen,
                          bool *ended);

#endif
