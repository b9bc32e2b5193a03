/* SPDX-License-Identifier: ISC */
/* Sweeps over the signature library: a recorded sample is one point, and
 * real clients vary what the protocol leaves free (lengths, IDs, nonces,
 * names). Each recorded sample of tests/classify/PROTO/ is varied in two
 * ways and must still reach PROTO, on its first flight, both with PROTO's
 * signature alone and with every library signature in one configuration:
 *
 *   free bytes  every byte of a field the protocol leaves free (a random,
 *               an ID, a session id, a checksum, a port) takes each of the
 *               256 values with PROTO's signature alone, and the values
 *               0x00 0x0a 0x0d 0x20 0x7f 0x80 0xff (and one more) with all
 *               signatures together;
 *   lengths     the first message grows by 0, 1, 2, ... bytes (a padding
 *               extension in TLS, bytes at its end elsewhere) with every
 *               length field that covers it fixed up, so that the low byte
 *               of each length takes every value, the next byte the values
 *               0x00 0x01 0x0a 0x0d as far as max_peek allows, and length
 *               encodings of variable size (MQTT, BER) change size.
 *
 * A subset of the variants is also fed byte by byte and must decide the
 * same way. The refinements (tls-sni, tls-alpn, tls-sni-alpn) must give
 * each padded ClientHello, and each ClientHello split over two or three
 * records at every offset, the verdict they give the original. */
#include <stdarg.h>
#include <unistd.h>

#include "config.h"
#include "matcher.h"
#include "siglib.h"
#include "unit.h"
#include "unit_config.h"

#define MAX_MSG 8192

static struct sample *samples;
static size_t nsamples;
static struct sig_scratch *scratch;
static struct config *all; /* every library signature, one service each */
static const char *libdir;

/* The failures of one sweep are counted and the first few printed; one
 * summary line per protocol and kind. */
struct tally {
	unsigned long variants, wrong;
};

/* The configuration of test_library's all_in_one: refinements first with
 * names no sample carries, then every other signature. */
static struct config *
load_all(void)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	struct config *cfg;
	static char names[128][64];
	int n = siglib_names(libdir, names, 128);

	if (n < 0 || (f = open_memstream(&text, &size)) == NULL)
		return NULL;
	fprintf(f, "bind = 127.0.0.1:1\nsignature_path = %s\n", libdir);
	fprintf(f, "[sni]\nsignature = tls-sni sni.invalid *.sni.invalid\n");
	fprintf(f, "[alpn]\nsignature = tls-alpn acme-tls/1\n");
	fprintf(f, "[host]\nsignature = http-host host.invalid\n");
	fprintf(f, "[socks4]\nsignature = socks4\n");
	fprintf(f, "[socks5]\nsignature = socks5\n");
	for (int i = 0; i < n; i++) {
		struct config *c;
		/* Parameterised files (and opt-in variants that other files'
		 * samples would fall into) load only with arguments or are
		 * not part of the default set: leave them out here. */
		if (strncmp(names[i], "tls-", 4) == 0 ||
		    strcmp(names[i], "http-host") == 0 ||
		    strncmp(names[i], "socks", 5) == 0)
			continue;
		c = siglib_config(libdir, names[i], "");
		if (c == NULL)
			continue;
		config_unref(c);
		fprintf(f, "[%s]\nsignature = %s\n", names[i], names[i]);
	}
	fclose(f);
	cfg = unit_config(text);
	free(text);
	return cfg;
}

/* As `portsplit -c`: the service name decided on the data, or NULL when
 * the data alone did not decide (the timer would). */
static const char *
route(const struct config *cfg, const uint8_t *data, size_t len)
{
	struct matcher *m = matcher_new(cfg);
	struct verdict v;
	const char *name = NULL;

	if (matcher_feed(m, data, len, MATCHER_MORE, scratch, &v))
		name = verdict_service_name(&v);
	matcher_free(m);
	return name;
}

/* The same, fed one byte more at a time. */
static const char *
route_trickled(const struct config *cfg, const uint8_t *data, size_t len)
{
	struct matcher *m = matcher_new(cfg);
	struct verdict v;
	const char *name = NULL;

	for (size_t n = 1; n <= len; n++) {
		if (matcher_feed(m, data, n, MATCHER_MORE, scratch, &v)) {
			name = verdict_service_name(&v);
			break;
		}
	}
	matcher_free(m);
	return name;
}

/* Checks one variant of a sample of PROTO; SOLO is PROTO's signature
 * alone, WIDE says to check all signatures together too. */
static void check_variant(struct tally *t, const char *proto,
                          const struct config *solo, const uint8_t *data,
                          size_t len, bool wide, bool trickle, const char *fmt,
                          ...) __attribute__((format(printf, 8, 9)));

static void
check_variant(struct tally *t, const char *proto, const struct config *solo,
              const uint8_t *data, size_t len, bool wide, bool trickle,
              const char *fmt, ...)
{
	char what[512];
	va_list ap;
	const char *a = route(solo, data, len), *b = NULL, *c = NULL;
	bool good = a != NULL && strcmp(a, proto) == 0;

	if (good && wide) {
		b = route(all, data, len);
		good = b != NULL && strcmp(b, proto) == 0;
	}
	if (good && trickle) {
		c = route_trickled(all, data, len);
		good = c != NULL && strcmp(c, proto) == 0;
	}
	t->variants++;
	if (good || ++t->wrong > 5)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ok(0, "%s -> %s: alone %s, with all %s, byte by byte %s", what, proto,
	   a ? a : "undecided", b ? b : "-", c ? c : "-");
}

/* ---------------------------------------------------------- free bytes */

struct field {
	size_t off, len;
};

/* The fields a protocol leaves free in sample S; returns how many. */
static size_t
free_fields(const struct sample *s, struct field *f)
{
	const uint8_t *d = s->data;
	size_t n = 0, len = s->len;
#define FIELD(o, l)                                                            \
	do {                                                                   \
		if ((size_t)(o) + (size_t)(l) <= len)                          \
			f[n++] = (struct field){(size_t)(o), (size_t)(l)};     \
	} while (0)

	if (strcmp(s->proto, "tls") == 0) {
		FIELD(11, 32); /* random */
		if (len > 44)  /* legacy_session_id */
			FIELD(44, d[43]);
	} else if (strcmp(s->proto, "dns") == 0) {
		FIELD(2, 2); /* ID */
	} else if (strcmp(s->proto, "adb") == 0) {
		FIELD(8, 4);  /* arg1, maxdata */
		FIELD(16, 4); /* data checksum */
	} else if (strcmp(s->proto, "rdp") == 0) {
		FIELD(8, 2); /* SRC-REF */
	} else if (strcmp(s->proto, "openvpn") == 0) {
		FIELD(3, 8); /* session id */
		if (len > 15 && d[2] == 0x38 && d[11] == 0 && d[12] == 0 &&
		    d[13] == 0 && d[14] == 1)
			FIELD(15, 4); /* tls-crypt: time */
		if (d[2] == 0x50)
			FIELD(15, 4); /* tls-crypt-v2: time */
		if (d[2] == 0x38 && len > 40 && d[len - 5] == 0 &&
		    (d[len - 13] == 0 || d[len - 13] == 0x0f) &&
		    d[len - 10] == 1) {
			FIELD(11, len - 24); /* tls-auth: HMAC */
			FIELD(len - 9, 4);   /* tls-auth: time */
		}
	} else if (strcmp(s->proto, "ldap") == 0) {
		size_t o = 2 + (d[1] & 0x80 ? (d[1] & 0x7f) : 0);
		if (o + 1 < len && d[o] == 0x02)
			FIELD(o + 2, d[o + 1]); /* messageID */
	} else if (strcmp(s->proto, "socks4") == 0) {
		FIELD(2, 2); /* port */
		if (len > 8 && !(d[4] == 0 && d[5] == 0 && d[6] == 0))
			FIELD(4, 4); /* address */
	} else if (strcmp(s->proto, "mqtt") == 0) {
		size_t o = 2;
		while (o < len && d[o - 1] & 0x80)
			o++;
		o += 2 + (size_t)(d[o] << 8 | d[o + 1]) + 2; /* keep alive */
		FIELD(o, 2);
	} else if (strcmp(s->proto, "memcached") == 0 && d[0] == 0x80) {
		FIELD(6, 2);  /* vbucket */
		FIELD(12, 4); /* opaque */
		FIELD(16, 8); /* CAS */
	} else if (strcmp(s->proto, "rtmp") == 0) {
		FIELD(1, 4);  /* time */
		FIELD(9, 32); /* random */
	} else if (strcmp(s->proto, "postgres") == 0 && len == 16) {
		FIELD(8, 8); /* CancelRequest: process id, secret key */
	} else if (strcmp(s->proto, "tds") == 0 && d[0] != 0x02) {
		FIELD(6, 1); /* packet id */
	} else if (strcmp(s->proto, "mongodb") == 0) {
		FIELD(4, 4); /* requestID */
	} else if (strcmp(s->proto, "cql") == 0 && d[0] >= 3) {
		FIELD(2, 2); /* stream */
	} else if (strcmp(s->proto, "kafka") == 0) {
		FIELD(8, 4); /* correlation_id */
	} else if (strcmp(s->proto, "zookeeper") == 0) {
		FIELD(8, 8);   /* lastZxidSeen */
		FIELD(16, 4);  /* timeOut */
		FIELD(20, 8);  /* sessionId */
		FIELD(32, 16); /* passwd */
	} else if (strcmp(s->proto, "bittorrent") == 0) {
		FIELD(20, 48); /* reserved, info hash, peer id */
	} else if (strcmp(s->proto, "stun") == 0) {
		FIELD(8, 12); /* transaction id */
	} else if (strcmp(s->proto, "smb") == 0 && len > 8 && d[4] == 0xfe) {
		FIELD(4 + 24, 8);  /* MessageId */
		FIELD(4 + 32, 4);  /* Reserved / process id */
		FIELD(4 + 48, 16); /* Signature */
	}
#undef FIELD
	return n;
}

static void
sweep_free_bytes(const char *proto, const struct config *solo)
{
	static const uint8_t special[] = {0x00, 0x0a, 0x0d, 0x20,
	                                  0x7f, 0x80, 0xff, 0x5c};
	struct tally t = {0};
	uint8_t buf[MAX_MSG];
	unsigned long bytes = 0;

	for (size_t i = 0; i < nsamples; i++) {
		struct sample *s = &samples[i];
		struct field f[16];
		size_t nf;
		if (strcmp(s->proto, proto) != 0 || s->len > sizeof(buf))
			continue;
		nf = free_fields(s, f);
		memcpy(buf, s->data, s->len);
		for (size_t k = 0; k < nf; k++) {
			for (size_t o = f[k].off; o < f[k].off + f[k].len;
			     o++) {
				uint8_t keep = buf[o];
				bytes++;
				for (unsigned v = 0; v < 256; v++) {
					bool wide = false;
					/* SOCKS 4 port 0 is no request */
					if (strcmp(proto, "socks4") == 0 &&
					    (o == 2 || o == 3) &&
					    buf[5 - o] == 0 && v == 0)
						continue;
					for (size_t j = 0; j < sizeof(special);
					     j++)
						wide |= special[j] == v;
					buf[o] = (uint8_t)v;
					check_variant(
					    &t, proto, solo, buf, s->len, wide,
					    wide && o % 7 == 0,
					    "%.300s with byte %zu = %#04x",
					    s->path, o, v);
				}
				buf[o] = keep;
			}
		}
	}
	if (bytes > 0)
		ok(t.wrong == 0,
		   "%s: %lu free bytes of its samples take every value: %lu "
		   "variants, %lu misrouted",
		   proto, bytes, t.variants, t.wrong);
}

/* ------------------------------------------------------------- lengths */

enum lkind { L_BE, L_LE, L_VBI, L_BER };

/* A length field covering the first message: for L_BE and L_LE, WIDTH
 * bytes at OFF whose value plus ADJ is the message's end; for L_VBI (MQTT
 * remaining length) and L_BER (a BER definite length) the value counts
 * the bytes after the encoding at OFF. */
struct lfield {
	enum lkind kind;
	size_t off;
	unsigned width;
	long adj;
};

struct lspec {
	const char *proto;
	/* Does the spec apply to this sample (e.g. a startup message, not
	 * an SSLRequest)? NULL: always. */
	bool (*applies)(const struct sample *s);
	struct lfield f[3];
	size_t nf;
	size_t max;  /* largest first message the protocol allows */
	size_t step; /* lengths grow by multiples of this (0: 1) */
};

static bool
pg_startup(const struct sample *s)
{
	return s->len > 8 && memcmp(s->data + 4, "\x00\x03\x00\x00", 4) == 0;
}

static bool
smb_direct(const struct sample *s)
{
	return s->data[0] == 0;
}

/* TDS 5.0 logins come in full 512-byte packets (the last one shorter), so
 * the first packet's length is fixed. */
static bool
tds_not_sybase(const struct sample *s)
{
	return s->data[0] != 0x02;
}

static bool
memcached_binary(const struct sample *s)
{
	return s->data[0] == 0x80;
}

static bool
cql_v3(const struct sample *s)
{
	return s->data[0] >= 3;
}

static bool
ovpn_v2(const struct sample *s)
{
	return s->len > 3 && s->data[2] == 0x50;
}

static const struct lspec lspecs[] = {
    {"dns", NULL, {{L_BE, 0, 2, 2}}, 1, 1023 + 2, 1},
    {"postgres", pg_startup, {{L_BE, 0, 4, 0}}, 1, 10000, 1},
    /* TPKT length, and the X.224 length indicator (one byte: at most
     * 254, so the TPKT length reaches 259). */
    {"rdp", NULL, {{L_BE, 2, 2, 0}, {L_BE, 4, 1, 5}}, 2, 259, 1},
    {"smb", smb_direct, {{L_BE, 1, 3, 4}}, 1, 65536, 1},
    {"adb", NULL, {{L_LE, 12, 4, 24}}, 1, 1024 * 1024, 1},
    {"mqtt", NULL, {{L_VBI, 1, 0, 0}}, 1, 1 << 20, 1},
    {"ldap", NULL, {{L_BER, 1, 0, 0}}, 1, 1 << 20, 1},
    {"openvpn", ovpn_v2, {{L_BE, 0, 2, 2}}, 1, 0x0700, 1},
    {"memcached", memcached_binary, {{L_BE, 8, 4, 24}}, 1, 1 << 20, 1},
    {"mongodb", NULL, {{L_LE, 0, 4, 0}}, 1, 65535, 1},
    {"tds", tds_not_sybase, {{L_BE, 2, 2, 0}}, 1, 4096, 1},
    {"cql", cql_v3, {{L_BE, 5, 4, 9}}, 1, 65535, 1},
    {"kafka", NULL, {{L_BE, 0, 4, 4}}, 1, 1 << 24, 1},
    {"stun", NULL, {{L_BE, 2, 2, 20}}, 1, 65535, 4},
};

static uint64_t
get_uint(const uint8_t *d, unsigned width, bool little)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v = v << 8 | d[little ? width - 1 - i : i];
	return v;
}

static void
put_uint(uint8_t *d, unsigned width, bool little, uint64_t v)
{
	for (unsigned i = 0; i < width; i++)
		d[little ? i : width - 1 - i] = (uint8_t)(v >> (8 * i));
}

/* Reads a variable-size length at D: returns its value and sets *SIZE. */
static uint64_t
get_var(enum lkind kind, const uint8_t *d, size_t *size)
{
	uint64_t v = 0;

	if (kind == L_BER) {
		if (d[0] < 0x80) {
			*size = 1;
			return d[0];
		}
		*size = 1 + (d[0] & 0x7fu);
		return get_uint(d + 1, d[0] & 0x7fu, false);
	}
	for (*size = 0; *size < 4; (*size)++) {
		v |= (uint64_t)(d[*size] & 0x7f) << (7 * *size);
		if (!(d[*size] & 0x80))
			break;
	}
	(*size)++;
	return v;
}

static size_t
put_var(enum lkind kind, uint8_t *d, uint64_t v)
{
	size_t n = 0;

	if (kind == L_BER) {
		if (v < 0x80) {
			d[0] = (uint8_t)v;
			return 1;
		}
		for (uint64_t x = v; x > 0; x >>= 8)
			n++;
		d[0] = (uint8_t)(0x80 | n);
		put_uint(d + 1, (unsigned)n, false, v);
		return n + 1;
	}
	do {
		d[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v > 0)
			d[n] |= 0x80;
		n++;
	} while (v > 0);
	return n;
}

/* Builds in OUT the first message of S grown by K bytes (appended at its
 * end), every length of SPEC fixed up. Returns its length, 0 when it
 * would be too long. */
static size_t
grow(const struct sample *s, const struct lspec *spec, size_t k, uint8_t *out)
{
	const struct lfield *f0 = &spec->f[0];
	const uint8_t *d = s->data;
	size_t end, size = 0;

	if (f0->kind == L_BE || f0->kind == L_LE)
		end = (size_t)((long)get_uint(d + f0->off, f0->width,
		                              f0->kind == L_LE) +
		               f0->adj);
	else
		end =
		    f0->off + 0 + (size_t)get_var(f0->kind, d + f0->off, &size);
	if (f0->kind == L_VBI || f0->kind == L_BER)
		end += size;
	if (end > s->len || end + k > spec->max || end + k + 8 > MAX_MSG)
		return 0;
	if (f0->kind == L_VBI || f0->kind == L_BER) {
		size_t o = f0->off, n;
		uint64_t v = get_var(f0->kind, d + o, &size);
		memcpy(out, d, o);
		n = put_var(f0->kind, out + o, v + k);
		memcpy(out + o + n, d + o + size, end - o - size);
		memset(out + o + n + end - o - size, 'x', k);
		return o + n + end - o - size + k;
	}
	memcpy(out, d, end);
	memset(out + end, 'x', k);
	for (size_t i = 0; i < spec->nf; i++) {
		const struct lfield *f = &spec->f[i];
		bool le = f->kind == L_LE;
		uint64_t v = get_uint(out + f->off, f->width, le) + k;
		if (f->width < 8 && v >> (8 * f->width) != 0)
			return 0;
		put_uint(out + f->off, f->width, le, v);
	}
	return end + k;
}

/* The growths that put every value in the low byte of a length and
 * 0x00, 0x01, 0x0a, 0x0d in the next one: K = 0..299, and the K that
 * make the message 0x0100, 0x0a00, 0x0d00 bytes long plus 0x00, 0x0a,
 * 0x0d or 0xff. */
static size_t
growths(size_t base, size_t *k)
{
	static const unsigned hi[] = {0x01, 0x02, 0x0a, 0x0d, 0x1f};
	static const unsigned lo[] = {0x00, 0x0a, 0x0d, 0xff};
	size_t n = 0;

	for (size_t i = 0; i < 300; i++)
		k[n++] = i;
	for (size_t i = 0; i < sizeof(hi) / sizeof(*hi); i++)
		for (size_t j = 0; j < sizeof(lo) / sizeof(*lo); j++) {
			size_t want = hi[i] << 8 | lo[j];
			if (want > base + 300)
				k[n++] = want - base;
		}
	return n;
}

/* Prefixes no signature can tell apart, which the manual documents
 * (ranking): a MongoDB message of 261 or 517 bytes opens with 05 01 00 00
 * or 05 02 00 00, a complete SOCKS 5 greeting, and SOCKS ranks first. */
static bool
collides(const char *proto, size_t len)
{
	return strcmp(proto, "mongodb") == 0 && (len == 261 || len == 517);
}

static void
sweep_lengths(const struct lspec *spec, const struct config *solo)
{
	static uint8_t buf[MAX_MSG];
	struct tally t = {0};
	size_t k[400], nk;
	unsigned long nsamp = 0;
	size_t largest = 0;

	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *s = &samples[i];
		if (strcmp(s->proto, spec->proto) != 0 ||
		    (spec->applies && !spec->applies(s)))
			continue;
		nsamp++;
		nk = growths(s->len, k);
		for (size_t j = 0; j < nk; j++) {
			size_t n = spec->step > 1 && k[j] % spec->step != 0
			               ? 0
			               : grow(s, spec, k[j], buf);
			if (n == 0)
				continue;
			largest = n > largest ? n : largest;
			check_variant(
			    &t, spec->proto, solo, buf, n,
			    !collides(spec->proto, n), j % 37 == 0 && n < 2048,
			    "%.300s grown by %zu bytes", s->path, k[j]);
		}
	}
	ok(nsamp > 0 && t.variants > 0 && t.wrong == 0,
	   "%s: %lu samples grown to %lu lengths (up to %zu bytes), %lu "
	   "misrouted",
	   spec->proto, nsamp, t.variants, largest, t.wrong);
}

/* TLS: a padding extension (type 21, RFC 7685) of K bytes appended to the
 * extensions of a single-record ClientHello: record length, handshake
 * length and extensions length fixed up. */
static size_t
tls_pad(const struct sample *s, size_t k, uint8_t *out)
{
	const uint8_t *d = s->data;
	size_t rec = (size_t)(d[3] << 8 | d[4]) + 5, e, n;
	unsigned elen;

	if (rec > s->len || rec + 4 + k > MAX_MSG - 8 ||
	    rec - 5 + 4 + k > 0x4000)
		return 0;
	memcpy(out, d, rec);
	e = 5 + 4 + 2 + 32;
	e += 1 + out[e];
	e += 2 + (size_t)(out[e] << 8 | out[e + 1]);
	e += 1 + out[e];
	if (e + 2 > rec)
		return 0;
	elen = (unsigned)(out[e] << 8 | out[e + 1]) + 4 + (unsigned)k;
	put_uint(out + e, 2, false, elen);
	n = rec;
	memcpy(out + n, "\x00\x15", 2);
	put_uint(out + n + 2, 2, false, k);
	memset(out + n + 4, 0, k);
	n += 4 + k;
	put_uint(out + 3, 2, false, n - 5);
	put_uint(out + 6, 3, false, n - 9);
	return n;
}

static void
sweep_tls(const struct config *solo)
{
	static uint8_t buf[MAX_MSG];
	struct config *ref[2] = {
	    siglib_config(libdir, "tls-sni", "example.org *.example.org"),
	    siglib_config(libdir, "tls-alpn", "h2 http/1.1")};
	struct tally t = {0}, r = {0};
	size_t k[400], nk;
	unsigned long nsamp = 0;

	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *s = &samples[i];
		const char *want[2];
		if (strcmp(s->proto, "tls") != 0)
			continue;
		nsamp++;
		for (int c = 0; c < 2; c++)
			want[c] = ref[c] ? route(ref[c], s->data, s->len) : "";
		nk = growths(s->len, k);
		for (size_t j = 0; j < nk; j++) {
			size_t n = tls_pad(s, k[j], buf);
			if (n == 0)
				continue;
			check_variant(&t, "tls", solo, buf, n, true,
			              j % 37 == 0 && n < 2048,
			              "%.300s with %zu bytes of padding",
			              s->path, k[j]);
			for (int c = 0; c < 2 && ref[c] != NULL; c++) {
				const char *got = route(ref[c], buf, n);
				r.variants++;
				if ((got == NULL) != (want[c] == NULL) ||
				    (got && strcmp(got, want[c]) != 0)) {
					if (++r.wrong <= 5)
						ok(0,
						   "%s with %zu bytes of "
						   "padding: "
						   "%s gives %s, not %s",
						   s->path, k[j],
						   c ? "tls-alpn" : "tls-sni",
						   got ? got : "undecided",
						   want[c] ? want[c]
						           : "undecided");
				}
			}
		}
	}
	ok(nsamp > 0 && t.wrong == 0,
	   "tls: %lu ClientHellos padded to %lu lengths, %lu misrouted", nsamp,
	   t.variants, t.wrong);
	ok(r.variants > 0 && r.wrong == 0,
	   "tls-sni and tls-alpn give %lu padded hellos the verdict of the "
	   "original, %lu differ",
	   r.variants, r.wrong);
	config_unref(ref[0]);
	config_unref(ref[1]);
}

/* Writes the TLS record payload P (N bytes) of sample S as records of
 * the given CUTS (sizes, summing to N) into OUT; returns its length. */
static size_t
tls_records(const uint8_t *hdr, const uint8_t *p, size_t n, const size_t *cuts,
            size_t ncuts, uint8_t *out)
{
	size_t o = 0, done = 0;

	for (size_t i = 0; i < ncuts && done < n; i++) {
		size_t c = cuts[i] < n - done ? cuts[i] : n - done;
		if (i == ncuts - 1)
			c = n - done;
		memcpy(out + o, hdr, 3);
		put_uint(out + o + 3, 2, false, c);
		memcpy(out + o + 5, p + done, c);
		o += 5 + c;
		done += c;
	}
	return o;
}

/* A ClientHello split over two records at every offset (and over three at
 * some): tls must take it, and tls-sni, tls-alpn and tls-sni-alpn must
 * give it the verdict they give the hello in one record, on the client's
 * first flight, with the frame's `join`. */
static void
sweep_tls_split(const struct config *solo)
{
	static uint8_t buf[MAX_MSG + 64];
	struct config *ref[3] = {
	    siglib_config(libdir, "tls-sni", "example.org *.example.org"),
	    siglib_config(libdir, "tls-alpn", "h2 http/1.1"),
	    siglib_config(libdir, "tls-sni-alpn",
	                  "*.example.org example.org -- h2")};
	struct tally t = {0}, r = {0};
	unsigned long nsamp = 0;

	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *s = &samples[i];
		const char *want[3];
		size_t rec, n;
		if (strcmp(s->proto, "tls") != 0)
			continue;
		rec = (size_t)(s->data[3] << 8 | s->data[4]);
		if (rec + 5 > s->len || rec * 2 + 64 > MAX_MSG)
			continue;
		nsamp++;
		for (int c = 0; c < 3; c++)
			want[c] = ref[c] ? route(ref[c], s->data, rec + 5) : "";
		for (size_t k = 1; k < rec + 40; k++) {
			size_t cuts[3] = {k, rec, rec};
			size_t ncuts = 2;
			if (k >=
			    rec) { /* three records: k - rec + 1, 7, rest */
				cuts[0] = k - rec + 1;
				cuts[1] = 7;
				ncuts = 3;
			}
			n = tls_records(s->data, s->data + 5, rec, cuts, ncuts,
			                buf);
			check_variant(&t, "tls", solo, buf, n, true,
			              k % 53 == 0,
			              "%.300s split into records of %zu, %zu..",
			              s->path, cuts[0], cuts[1]);
			for (int c = 0; c < 3 && ref[c] != NULL; c++) {
				const char *got = route(ref[c], buf, n);
				r.variants++;
				if (got != NULL && want[c] != NULL &&
				    strcmp(got, want[c]) == 0)
					continue;
				if (++r.wrong <= 5)
					ok(0,
					   "%s split at %zu: refinement %d "
					   "gives "
					   "%s, not %s",
					   s->path, k, c,
					   got ? got : "undecided",
					   want[c] ? want[c] : "undecided");
			}
		}
	}
	ok(nsamp > 0 && t.wrong == 0,
	   "tls: %lu ClientHellos split into two records at every offset "
	   "(and three at 40 more): %lu variants, %lu misrouted",
	   nsamp, t.variants, t.wrong);
	ok(r.variants > 0 && r.wrong == 0,
	   "tls-sni, tls-alpn and tls-sni-alpn decide %lu split hellos as the "
	   "unsplit ones on the first flight, %lu differ",
	   r.variants, r.wrong);
	for (int c = 0; c < 3; c++)
		config_unref(ref[c]);
}

/* DNS: every one of the 65536 query IDs on one sample. */
static void
sweep_dns_ids(const struct config *solo)
{
	struct tally t = {0};
	uint8_t buf[512];

	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *s = &samples[i];
		if (strcmp(s->proto, "dns") != 0 || s->len > sizeof(buf))
			continue;
		memcpy(buf, s->data, s->len);
		for (unsigned id = 0; id < 65536; id++) {
			put_uint(buf + 2, 2, false, id);
			check_variant(&t, "dns", solo, buf, s->len,
			              id % 257 == 0, false,
			              "%.300s with ID %#06x", s->path, id);
		}
		break;
	}
	ok(t.variants == 65536 && t.wrong == 0,
	   "dns: all %lu query IDs, %lu misrouted", t.variants, t.wrong);
}

/* syslog: every PRI value, 0 to 191, in each sample; 192 to 999 and
 * leading zeros are not PRIs. */
static void
sweep_syslog_pri(const struct config *solo)
{
	struct tally t = {0};
	unsigned long refused = 0, wrongly = 0;
	uint8_t buf[MAX_MSG];

	for (size_t i = 0; i < nsamples; i++) {
		const struct sample *s = &samples[i];
		const uint8_t *lt, *gt;
		if (strcmp(s->proto, "syslog") != 0 || s->len > 4000 ||
		    (lt = memchr(s->data, '<', s->len)) == NULL ||
		    (gt = memchr(lt, '>', s->len - (size_t)(lt - s->data))) ==
		        NULL)
			continue;
		for (unsigned pri = 0; pri < 1000; pri++) {
			for (int zero = 0; zero < 2; zero++) {
				size_t pre = (size_t)(lt - s->data) + 1, n;
				int w = snprintf((char *)buf + pre, 8,
				                 zero ? "0%u" : "%u", pri);
				memcpy(buf, s->data, pre);
				n = pre + (size_t)w;
				memcpy(buf + n, gt,
				       s->len - (size_t)(gt - s->data));
				n += s->len - (size_t)(gt - s->data);
				if (pri <= 191 && !zero) {
					check_variant(&t, "syslog", solo, buf,
					              n, pri % 17 == 0, false,
					              "%.300s with PRI %u",
					              s->path, pri);
				} else {
					const char *r = route(solo, buf, n);
					refused++;
					if (r != NULL &&
					    strcmp(r, "syslog") == 0 &&
					    ++wrongly <= 3)
						ok(0,
						   "%s with PRI %s%u is no "
						   "syslog",
						   s->path, zero ? "0" : "",
						   pri);
				}
			}
		}
	}
	ok(t.variants > 0 && t.wrong == 0 && wrongly == 0,
	   "syslog: PRI 0..191 in %lu variants, %lu misrouted; %lu with PRI "
	   "192..999 or a leading zero, %lu taken",
	   t.variants, t.wrong, refused, wrongly);
}

int
main(void)
{
	char lib[1024], classdir[1024];
	const char *protos[64];
	size_t nprotos = 0;
	ssize_t n;

	siglib_path(lib, sizeof(lib), "../signatures");
	siglib_path(classdir, sizeof(classdir), "classify");
	libdir = lib;
	scratch = sig_scratch_new();
	n = siglib_samples(classdir, &samples);
	nsamples = n > 0 ? (size_t)n : 0;
	all = load_all();
	if (!ok(all != NULL && nsamples > 0,
	        "the library (%s) and %zu samples load", lib, nsamples))
		return unit_done();
	for (size_t i = 0; i < nsamples; i++) {
		bool seen = false;
		for (size_t j = 0; j < nprotos; j++)
			seen |= strcmp(protos[j], samples[i].proto) == 0;
		if (!seen && nprotos < 64)
			protos[nprotos++] = samples[i].proto;
	}
	for (size_t j = 0; j < nprotos; j++) {
		struct config *solo = siglib_config(libdir, protos[j], "");
		if (!ok(solo != NULL, "%s loads", protos[j]))
			continue;
		sweep_free_bytes(protos[j], solo);
		for (size_t i = 0; i < sizeof(lspecs) / sizeof(*lspecs); i++)
			if (strcmp(lspecs[i].proto, protos[j]) == 0)
				sweep_lengths(&lspecs[i], solo);
		if (strcmp(protos[j], "tls") == 0) {
			sweep_tls(solo);
			sweep_tls_split(solo);
		}
		if (strcmp(protos[j], "dns") == 0)
			sweep_dns_ids(solo);
		if (strcmp(protos[j], "syslog") == 0)
			sweep_syslog_pri(solo);
		config_unref(solo);
	}
	config_unref(all);
	siglib_samples_free(samples, nsamples);
	sig_scratch_free(scratch);
	return unit_done();
}
