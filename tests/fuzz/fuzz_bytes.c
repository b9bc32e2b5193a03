/* SPDX-License-Identifier: ISC */
/* Fuzzes the `\XX` notation (bytes.c): any text either decodes or is
 * refused with a message; what decodes survives a round trip through
 * `\XX` escapes; escaping for logs always yields printable, terminated
 * text of the length it says, whatever the buffer size. */
#include "fuzz.h"

#include "bytes.h"

static void
check_printable(const char *s, size_t outsize)
{
	size_t n = strlen(s);

	FUZZ_CHECK(n < outsize, "%zu bytes in a buffer of %zu", n, outsize);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(s[i] >= 0x20 && s[i] < 0x7f, "byte 0x%02x at %zu",
		           (unsigned char)s[i], i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), err[256], *back;
	uint8_t *out = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	size_t outsize = 4 + (size > 0 ? data[0] % 120 : 0);
	char *esc = malloc(outsize);

	if (bytes_decode(text, &out, &len, err, sizeof(err)) == 0) {
		FUZZ_CHECK(len <= strlen(text), "%zu bytes from %zu", len,
		           strlen(text));
		back = malloc(len * 3 + 1);
		for (size_t i = 0; i < len; i++)
			snprintf(back + i * 3, 4, "\\%02X", out[i]);
		back[len * 3] = '\0';
		FUZZ_CHECK(
		    bytes_decode(back, &again, &len2, err, sizeof(err)) == 0,
		    "re-encoded text refused: %s", err);
		FUZZ_CHECK(len2 == len && memcmp(out, again, len) == 0,
		           "round trip changed the bytes");
		free(again);
		free(back);
		FUZZ_CHECK(bytes_escape(out, len, esc, outsize) == strlen(esc),
		           "escape length");
		check_printable(esc, outsize);
		free(out);
	} else {
		FUZZ_CHECK(err[0] != '\0', "refused without a message");
	}
	FUZZ_CHECK(bytes_escape(data, size, esc, outsize) == strlen(esc),
	           "escape length");
	check_printable(esc, outsize);
	bytes_display(text, esc, outsize);
	check_printable(esc, outsize);
	free(esc);
	free(text);
	return 0;
}
