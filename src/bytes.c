/* SPDX-License-Identifier: ISC */
/* bytes: decoding `\XX` escapes (the original Portsplit's notation, kept so
 * its configurations work unchanged) and escaping untrusted bytes. */
#include "bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
bytes_decode(const char *text, uint8_t **out, size_t *len, char *err,
             size_t errlen)
{
	size_t n = 0;
	uint8_t *buf = malloc(strlen(text) + 1);

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (const char *p = text; *p != '\0'; p++) {
		if (*p != '\\') {
			buf[n++] = (uint8_t)*p;
			continue;
		}
		if (p[1] == '\\') {
			buf[n++] = '\\';
			p++;
			continue;
		}
		int hi = hexval(p[1]);
		int lo = hi < 0 ? -1 : hexval(p[2]);
		if (lo < 0) {
			/* Name the escape as written, at most three chars. */
			snprintf(err, errlen,
			         "bad escape '%.3s' at column %zu: write \\XX "
			         "with two hex digits, or \\\\ for a backslash",
			         p, (size_t)(p - text) + 1);
			free(buf);
			return -1;
		}
		buf[n++] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	*out = buf;
	*len = n;
	return 0;
}

size_t
bytes_escape(const uint8_t *data, size_t len, char *out, size_t outsize)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		char tmp[5];
		size_t t;

		if (c == '\\' || c == '"') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			t = 2;
		} else if (c >= 0x20 && c <= 0x7e) {
			tmp[0] = (char)c;
			t = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			t = 4;
		}
		/* Keep room for "..." and the NUL in case more follows. */
		if (o + t + 4 > outsize) {
			memcpy(out + o, "...", 4);
			return o + 3;
		}
		memcpy(out + o, tmp, t);
		o += t;
	}
	out[o] = '\0';
	return o;
}

void
bytes_display(const char *text, char *out, size_t outsize)
{
	size_t len = strlen(text);

	for (size_t i = 0; i < len; i++) {
		if (text[i] < 0x20 || text[i] > 0x7e) {
			bytes_escape((const uint8_t *)text, len, out, outsize);
			return;
		}
	}
	if (len + 1 > outsize && outsize >= 4)
		snprintf(out, outsize, "%.*s...", (int)(outsize - 4), text);
	else
		snprintf(out, outsize, "%s", text);
}
