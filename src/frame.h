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
 * OpenVPN over TCP `0:be16+2`. */
struct frame {
	uint32_t offset;
	uint8_t width; /* bytes: 1 to 4 */
	bool little;
	int64_t adjust;
};

/* Parses TEXT into *F. Returns 0, or -1 with a message in ERR. */
int frame_parse(const char *text, struct frame *f, char *err, size_t errlen);
/* Prints *F in the syntax frame_parse() reads. */
void frame_format(const struct frame *f, char *buf, size_t buflen);
/* The length of the first message in DATA, or -1 while the length field
 * has not fully arrived. A length shorter than the field's own end counts as
 * ending there. */
int64_t frame_length(const struct frame *f, const uint8_t *data, size_t len);

#endif
