/* SPDX-License-Identifier: ISC */
/* Unit tests for bytes.c: `\XX` decoding and log escaping. */
#include "bytes.h"
#include "unit.h"

static void
decodes(const char *text, const char *want, size_t wantlen)
{
	uint8_t *out = NULL;
	size_t len = 0;
	char err[256];
	int rc = bytes_decode(text, &out, &len, err, sizeof(err));

	ok(rc == 0 && len == wantlen && memcmp(out, want, len) == 0,
	   "decode '%s' gives %zu bytes", text, wantlen);
	free(out);
}

static void
rejects(const char *text, const char *needle)
{
	uint8_t *out = NULL;
	size_t len = 0;
	char err[256] = "";
	int rc = bytes_decode(text, &out, &len, err, sizeof(err));

	ok(rc == -1 && strstr(err, needle) != NULL, "decode '%s' fails: %s",
	   text, err);
}

int
main(void)
{
	char out[64];

	decodes("SSH-", "SSH-", 4);
	decodes("\\16\\03\\01", "\x16\x03\x01", 3);
	decodes("\\00\\ff\\FF", "\x00\xff\xff", 3);
	decodes("a\\\\b", "a\\b", 3);
	decodes("\\5c", "\\", 1);
	decodes("\\3B", ";", 1);
	decodes("\\414243", "A4243", 5); /* two digits per escape */
	rejects("\\1", "'\\1'");
	rejects("\\zz", "column 1");
	rejects("ab\\", "column 3");
	rejects("\\g0", "two hex digits");

	bytes_escape((const uint8_t *)"GET /\r\n\x00\"\\", 10, out,
	             sizeof(out));
	ok_str(out, "GET /\\x0d\\x0a\\x00\\\"\\\\",
	       "escape control, quote, "
	       "backslash");
	bytes_escape((const uint8_t *)"\x1b[31m", 5, out, sizeof(out));
	ok_str(out, "\\x1b[31m", "escape a terminal escape sequence");
	bytes_escape((const uint8_t *)"abcdefghijklmnop", 16, out, 10);
	ok_str(out, "abcdef...", "escape truncates with ...");
	bytes_display("\\16\\03", out, sizeof(out));
	ok_str(out, "\\16\\03", "display keeps a printable value as written");
	return unit_done();
}
