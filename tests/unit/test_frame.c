/* SPDX-License-Identifier: ISC */
/* Unit tests for frame.c: `frame =` syntax and first-message lengths. */
#include "frame.h"
#include "unit.h"

static void
parses(const char *text, const char *printed)
{
	struct frame f;
	char err[256] = "", buf[64] = "";
	int rc = frame_parse(text, &f, err, sizeof(err));

	if (rc == 0)
		frame_format(&f, buf, sizeof(buf));
	ok(rc == 0 && strcmp(buf, printed) == 0, "frame '%s' reads as '%s' %s",
	   text, buf, err);
}

static void
rejects(const char *text)
{
	struct frame f;
	char err[256] = "";

	ok(frame_parse(text, &f, err, sizeof(err)) == -1 &&
	       strstr(err, "OFFSET:TYPE") != NULL,
	   "frame '%s' rejected", text);
}

static int64_t
len_of(const char *spec, const char *data, size_t n)
{
	struct frame f;
	char err[256];

	if (frame_parse(spec, &f, err, sizeof(err)) < 0)
		return -99;
	return frame_length(&f, (const uint8_t *)data, n);
}

int
main(void)
{
	parses("3:be16+5", "3:be16+5");
	parses("0:be32", "0:be32");
	parses("0:be16+2", "0:be16+2");
	parses("1:u8-1", "1:u8-1");
	parses("4:le24", "4:le24");
	parses("2:le32+0", "2:le32");
	rejects("be16");
	rejects("3:be17");
	rejects("3:be16+");
	rejects("3:be16+x");
	rejects("-1:u8");
	rejects("3:be16*2");
	rejects(":be16");
	rejects("3:be16+5 junk");

	/* TLS: record header 16 03 01 LL LL; length + 5. */
	ok(len_of("3:be16+5", "\x16\x03\x01\x02", 4) == -1,
	   "TLS: unknown until the length field is complete");
	ok(len_of("3:be16+5", "\x16\x03\x01\x02\x00", 5) == 517,
	   "TLS: 0x0200 + 5 = 517");
	/* PostgreSQL SSLRequest: 00 00 00 08 04 d2 16 2f. */
	ok(len_of("0:be32", "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8) == 8,
	   "PostgreSQL: the length includes itself");
	/* OpenVPN over TCP: 16-bit length + 2. */
	ok(len_of("0:be16+2", "\x00\x0e\x38", 3) == 16, "OpenVPN: 14 + 2");
	ok(len_of("0:le16", "\x34\x12", 2) == 0x1234, "little endian");
	ok(len_of("1:be24", "x\x01\x02\x03", 4) == 0x010203, "24 bits");
	ok(len_of("0:be32", "\xff\xff\xff\xff", 4) == 0xffffffffLL,
	   "32 bits, no overflow");
	ok(len_of("2:u8-10", "ab\x01", 3) == 3,
	   "a length before the field's end counts as the field's end");
	return unit_done();
}
