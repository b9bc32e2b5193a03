/* SPDX-License-Identifier: ISC */
/* frame: parsing `frame =` and computing a first message's length. */
#include "frame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint8_t width;
	bool little;
} types[] = {
    {"u8", 1, false},   {"be16", 2, false}, {"be24", 3, false},
    {"be32", 4, false}, {"le16", 2, true},  {"le24", 3, true},
    {"le32", 4, true},
};

int
frame_parse(const char *text, struct frame *f, char *err, size_t errlen)
{
	char *end;
	unsigned long off;
	size_t tlen;
	const char *t, *adj;

	errno = 0;
	off = strtoul(text, &end, 10);
	if (end == text || *end != ':' || errno != 0 || off > 65535 ||
	    text[0] == '-' || text[0] == '+')
		goto bad;
	t = end + 1;
	adj = t + strcspn(t, "+-");
	tlen = (size_t)(adj - t);
	f->width = 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strlen(types[i].name) == tlen &&
		    strncmp(types[i].name, t, tlen) == 0) {
			f->width = types[i].width;
			f->little = types[i].little;
		}
	}
	if (f->width == 0)
		goto bad;
	f->offset = (uint32_t)off;
	f->adjust = 0;
	if (*adj != '\0') {
		long long v;
		if (adj[1] < '0' || adj[1] > '9')
			goto bad;
		errno = 0;
		v = strtoll(adj + 1, &end, 10);
		if (*end != '\0' || errno != 0 || v > 65535)
			goto bad;
		f->adjust = *adj == '-' ? -v : v;
	}
	return 0;
bad:
	snprintf(err, errlen,
	         "bad frame '%s': expected OFFSET:TYPE[+N|-N] with TYPE one "
	         "of u8, be16, be24, be32, le16, le24, le32 (e.g. 3:be16+5)",
	         text);
	return -1;
}

void
frame_format(const struct frame *f, char *buf, size_t buflen)
{
	const char *name = "?";

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].width == f->width && types[i].little == f->little)
			name = types[i].name;
	if (f->adjust != 0)
		snprintf(buf, buflen, "%" PRIu32 ":%s%+" PRId64, f->offset,
		         name, f->adjust);
	else
		snprintf(buf, buflen, "%" PRIu32 ":%s", f->offset, name);
}

int64_t
frame_length(const struct frame *f, const uint8_t *data, size_t len)
{
	uint64_t v = 0;
	int64_t total, field_end = (int64_t)f->offset + f->width;

	if (len < (size_t)field_end)
		return -1;
	for (unsigned i = 0; i < f->width; i++) {
		unsigned idx = f->little ? f->width - 1 - i : i;
		v = v << 8 | data[f->offset + idx];
	}
	total = (int64_t)v + f->adjust;
	return total < field_end ? field_end : total;
}
