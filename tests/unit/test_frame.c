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

/* `join`: a TLS handshake message of 12 bytes (type 1, length 8) split
 * over records at every offset, then cut off by an alert record. */
static void
joins(void)
{
	static const uint8_t hs[12] = {1,   0,   0,   8,   3,   3,
	                               'a', 'b', 'c', 'd', 'e', 'f'};
	struct frame f;
	char err[256];
	uint8_t in[64], buf[64];
	size_t vlen, n, bad = 0;
	bool ended;
	const uint8_t *v;

	frame_parse("3:be16+5 join 6:be24+9", &f, err, sizeof(err));
	/* One record: the view is the data itself, no copy. */
	memcpy(in, "\x16\x03\x01\x00\x0c", 5);
	memcpy(in + 5, hs, 12);
	v = frame_view(&f, in, 17, buf, sizeof(buf), &vlen, &ended);
	ok(v == in && vlen == 17 && !ended && frame_length(&f, v, vlen) == 17,
	   "join: one record is its own view, 17 bytes long");
	for (size_t k = 1; k < 12; k++) {
		n = 0;
		memcpy(in + n, "\x16\x03\x01\x00", 4);
		in[n + 4] = (uint8_t)k;
		memcpy(in + n + 5, hs, k);
		n += 5 + k;
		memcpy(in + n, "\x16\x03\x01\x00", 4);
		in[n + 4] = (uint8_t)(12 - k);
		memcpy(in + n + 5, hs + k, 12 - k);
		n += 5 + 12 - k;
		v = frame_view(&f, in, n, buf, sizeof(buf), &vlen, &ended);
		if (vlen != 17 || memcmp(v + 5, hs, 12) != 0 || ended ||
		    frame_length(&f, v, vlen) != 17)
			bad++;
		/* Every prefix of the two records is a prefix of the view. */
		for (size_t p = 1; p < n; p++) {
			v = frame_view(&f, in, p, buf, sizeof(buf), &vlen,
			               &ended);
			if (vlen > 17 ||
			    memcmp(v + 5, hs, vlen > 5 ? vlen - 5 : 0))
				bad++;
		}
	}
	ok(bad == 0, "join: a message split at each of its 11 offsets (and "
	             "every prefix of it) reads as the unsplit one");
	/* Three records, the middle one empty. */
	memcpy(in, "\x16\x03\x01\x00\x03", 5);
	memcpy(in + 5, hs, 3);
	memcpy(in + 8, "\x16\x03\x01\x00\x00", 5);
	memcpy(in + 13, "\x16\x03\x01\x00\x09", 5);
	memcpy(in + 18, hs + 3, 9);
	v = frame_view(&f, in, 27, buf, sizeof(buf), &vlen, &ended);
	ok(vlen == 17 && memcmp(v + 5, hs, 12) == 0,
	   "join: an empty record in between adds nothing");
	/* A record of another type ends the view. */
	memcpy(in, "\x16\x03\x01\x00\x03", 5);
	memcpy(in + 5, hs, 3);
	memcpy(in + 8, "\x15\x03\x01\x00\x02\x02\x28", 7);
	v = frame_view(&f, in, 15, buf, sizeof(buf), &vlen, &ended);
	ok(vlen == 8 && ended,
	   "join: an alert record ends the joining (view %zu bytes)", vlen);
	/* The view is cut at the buffer's size. */
	v = frame_view(&f, in, 8, buf, 6, &vlen, &ended);
	ok(vlen == 8 && v == in, "join: within the first record, no copy");
	memcpy(in + 8, "\x16\x03\x01\x00\x09", 5);
	memcpy(in + 13, hs + 3, 9);
	v = frame_view(&f, in, 22, buf, 10, &vlen, &ended);
	ok(vlen == 10 && memcmp(v + 5, hs, 5) == 0,
	   "join: the view stops at the buffer's end");
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
	parses("3:be16+5 join 6:be24+9", "3:be16+5 join 6:be24+9");
	parses("0:be16+2 join 0:be16+2", "0:be16+2 join 0:be16+2");
	rejects("3:be16+5 join");
	rejects("3:be16+5 join x");
	rejects("join 6:be24+9");
	rejects("3:be16+5 join 6:be24+9 join 1:u8");

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
	joins();
	return unit_done();
}
