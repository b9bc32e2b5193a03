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

static int parse_one(const char *text, struct frame *f);

int
frame_parse(const char *text, struct frame *f, char *err, size_t errlen)
{
	const char *join = strstr(text, " join ");
	struct frame m;
	char rec[64];

	memset(f, 0, sizeof(*f));
	if (join == NULL) {
		if (parse_one(text, f) == 0)
			return 0;
		goto bad;
	}
	if ((size_t)(join - text) >= sizeof(rec))
		goto bad;
	memcpy(rec, text, (size_t)(join - text));
	rec[join - text] = '\0';
	if (parse_one(rec, f) < 0 || parse_one(join + 6, &m) < 0)
		goto bad;
	f->join = true;
	f->moffset = m.offset;
	f->mwidth = m.width;
	f->mlittle = m.little;
	f->madjust = m.adjust;
	return 0;
bad:
	snprintf(err, errlen,
	         "bad frame '%s': expected OFFSET:TYPE[+N|-N] with TYPE one "
	         "of u8, be16, be24, be32, le16, le24, le32 (e.g. 3:be16+5), "
	         "optionally followed by 'join OFFSET:TYPE[+N|-N]' "
	         "(e.g. 3:be16+5 join 6:be24+9)",
	         text);
	return -1;
}

/* Reads one OFFSET:TYPE[+N|-N] into the record fields of *F. */
static int
parse_one(const char *text, struct frame *f)
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
	return -1;
}

static int
format_one(char *buf, size_t buflen, uint32_t offset, uint8_t width,
           bool little, int64_t adjust)
{
	const char *name = "?";

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].width == width && types[i].little == little)
			name = types[i].name;
	if (adjust != 0)
		return snprintf(buf, buflen, "%" PRIu32 ":%s%+" PRId64, offset,
		                name, adjust);
	return snprintf(buf, buflen, "%" PRIu32 ":%s", offset, name);
}

void
frame_format(const struct frame *f, char *buf, size_t buflen)
{
	int n =
	    format_one(buf, buflen, f->offset, f->width, f->little, f->adjust);

	if (f->join && n >= 0 && (size_t)n + 6 < buflen) {
		memcpy(buf + n, " join ", 7);
		format_one(buf + n + 6, buflen - (size_t)n - 6, f->moffset,
		           f->mwidth, f->mlittle, f->madjust);
	}
}

/* The value of a WIDTH-byte field at OFFSET plus ADJUST, at least the
 * field's end; -1 when the field is not all there. */
static int64_t
field_length(const uint8_t *data, size_t len, uint32_t offset, uint8_t width,
             bool little, int64_t adjust)
{
	uint64_t v = 0;
	int64_t total, field_end = (int64_t)offset + width;

	if (len < (size_t)field_end)
		return -1;
	for (unsigned i = 0; i < width; i++) {
		unsigned idx = little ? width - 1u - i : i;
		v = v << 8 | data[offset + idx];
	}
	total = (int64_t)v + adjust;
	return total < field_end ? field_end : total;
}

int64_t
frame_length(const struct frame *f, const uint8_t *data, size_t len)
{
	if (f->join)
		return field_length(data, len, f->moffset, f->mwidth,
		                    f->mlittle, f->madjust);
	return field_length(data, len, f->offset, f->width, f->little,
	                    f->adjust);
}

const uint8_t *
frame_view(const struct frame *f, const uint8_t *data, size_t len, uint8_t *buf,
           size_t cap, size_t *vlen, bool *ended)
{
	size_t hdr = (size_t)f->offset + f->width, pos, out;
	int64_t rlen;

	*vlen = len;
	*ended = false;
	if (!f->join)
		return data;
	rlen =
	    field_length(data, len, f->offset, f->width, f->little, f->adjust);
	/* Everything so far lies in the first record: no copy. */
	if (rlen < 0 || (uint64_t)rlen >= len)
		return data;
	out = (size_t)rlen < cap ? (size_t)rlen : cap;
	memcpy(buf, data, out);
	pos = (size_t)rlen;
	while (pos < len && out < cap) {
		size_t avail = len - pos, take;
		if (data[pos] != data[0]) {
			*ended = true; /* another record type: no more joins */
			break;
		}
		rlen = field_length(data + pos, avail, f->offset, f->width,
		                    f->little, f->adjust);
		if (rlen < 0)
			break; /* its header is not all there yet */
		if ((size_t)rlen <= hdr) {
			pos += hdr; /* an empty record adds nothing */
			continue;
		}
		take = ((size_t)rlen < avail ? (size_t)rlen : avail) - hdr;
		if (take > cap - out)
			take = cap - out;
		memcpy(buf + out, data + pos + hdr, take);
		out += take;
		pos += (size_t)rlen;
	}
	*vlen = out;
	return buf;
}
