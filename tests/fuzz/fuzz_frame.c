/* SPDX-License-Identifier: ISC */
/* Fuzzes `frame =` (frame.c). The input is TEXT, a newline, then DATA.
 * TEXT either parses or is refused with a message; what parses prints back
 * to text that parses to the same frame; the length read from DATA is -1
 * until the field has arrived, then never changes as more bytes come, and
 * is never shorter than the field's own end. With `join`, the length is
 * read on the joined view (frame_view), which never grows past the data
 * or the buffer, and whose bytes come from the data. */
#include "fuzz.h"

#include "frame.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t tlen = nl ? (size_t)(nl - data) : size;
	const uint8_t *body = nl ? nl + 1 : data + size;
	size_t blen = size - (size_t)(body - data);
	char *text = fuzz_string(data, tlen), err[512], printed[64];
	struct frame f, g;
	int64_t known = -1;

	if (frame_parse(text, &f, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != '\0', "refused without a message");
		free(text);
		return 0;
	}
	FUZZ_CHECK(f.width >= 1 && f.width <= 4, "width %u", f.width);
	frame_format(&f, printed, sizeof(printed));
	FUZZ_CHECK(frame_parse(printed, &g, err, sizeof(err)) == 0,
	           "'%s' printed as '%s', refused: %s", text, printed, err);
	FUZZ_CHECK(
	    f.offset == g.offset && f.width == g.width &&
	        f.little == g.little && f.adjust == g.adjust &&
	        f.join == g.join &&
	        (!f.join || (f.moffset == g.moffset && f.mwidth == g.mwidth &&
	                     f.mlittle == g.mlittle && f.madjust == g.madjust)),
	    "'%s' printed as '%s' reads differently", text, printed);
	if (f.join) {
		/* The view: within the data and the buffer; the first record's
		 * bytes, as far as they go, are the data's own. */
		size_t cap = blen / 2 + 1;
		uint8_t *buf = malloc(cap), *copy = malloc(blen ? blen : 1);
		size_t vlen;
		bool ended;
		const uint8_t *v;
		memcpy(copy, body, blen);
		v = frame_view(&f, copy, blen, buf, cap, &vlen, &ended);
		FUZZ_CHECK(vlen <= blen && (v == copy || vlen <= cap),
		           "view of %zu bytes from %zu (buffer %zu)", vlen,
		           blen, cap);
		FUZZ_CHECK(vlen == 0 || v[0] == copy[0],
		           "view starts elsewhere");
		(void)frame_length(&f, v, vlen);
		free(buf);
		free(copy);
		free(text);
		return 0;
	}
	for (size_t n = 0; n <= blen; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size for ASan */
		int64_t l;
		memcpy(copy, body, n);
		l = frame_length(&f, copy, n);
		free(copy);
		if (known < 0) {
			FUZZ_CHECK(l == -1 || n >= (size_t)f.offset + f.width,
			           "a length before the field arrived");
			known = l;
		} else {
			FUZZ_CHECK(l == known,
			           "length changed from %lld to %lld",
			           (long long)known, (long long)l);
		}
		FUZZ_CHECK(l == -1 || l >= (int64_t)f.offset + f.width,
		           "length %lld inside the field", (long long)l);
	}
	free(text);
	return 0;
}
