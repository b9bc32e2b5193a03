/* SPDX-License-Identifier: ISC */
/* Unit tests for the matcher's guards (replay_window, fresh) and for
 * frame_timeout: what rules a matching service out, what makes it wait,
 * and that the verdict still does not depend on how the bytes were cut. */
#include <unistd.h>

#include "config.h"
#include "matcher.h"
#include "unit.h"
#include "unit_config.h"

static struct sig_scratch *scratch;
static struct replay *set;
static char why[512];

#define NOW 1700000000

/* A first message of the test protocol: a 16-bit length, 0x38, then a
 * big-endian Unix time T, then FILL bytes of X. */
static size_t
message(uint8_t *buf, uint32_t t, size_t fill, uint8_t x)
{
	size_t len = 7 + fill;

	buf[0] = (uint8_t)((len - 2) >> 8);
	buf[1] = (uint8_t)(len - 2);
	buf[2] = 0x38;
	buf[3] = (uint8_t)(t >> 24);
	buf[4] = (uint8_t)(t >> 16);
	buf[5] = (uint8_t)(t >> 8);
	buf[6] = (uint8_t)t;
	memset(buf + 7, x, fill);
	return len;
}

/* What a client sending LEN bytes at once, then waiting, gets at MONO_MS:
 * the first verdict of feed, frame_timeout, timeout; its name, with the
 * explanation in WHY. */
static const char *
client(struct config *cfg, const uint8_t *data, size_t len, uint64_t mono_ms,
       enum matcher_end end)
{
	static char name[64];
	struct matcher *m = matcher_new(cfg);
	struct verdict v;
	bool done;

	matcher_set_replay(m, set);
	matcher_set_clock(m, NOW, mono_ms);
	done = matcher_feed(m, data, len, end, scratch, &v);
	snprintf(name, sizeof(name), "%s",
	         done ? verdict_service_name(&v) : "pending");
	if (done)
		matcher_explain(m, &v, why, sizeof(why));
	else
		why[0] = '\0';
	matcher_free(m);
	return name;
}

static const char *cfgtext = "bind = 127.0.0.1:1\n"
                             "[vpn]\nframe = 0:be16+2\n"
                             "regex = (?s)\\x00.\\x38\n"
                             "replay_window = 60\n"
                             "fresh = 3:be32 30\n"
                             "connect = 127.0.0.1:2\n"
                             "[lower]\nstring = \\00\n"
                             "connect = 127.0.0.1:3\n"
                             "[fallback]\nconnect = 127.0.0.1:4\n";

static void
fresh_and_replay(void)
{
	struct config *cfg = unit_config_must(cfgtext);
	uint8_t a[64], b[64];
	size_t la = message(a, NOW - 10, 20, 'a');
	size_t lb = message(b, NOW + 40, 20, 'b');

	ok(cfg->guards && cfg->replay_window_max_ms == 60000,
	   "the configuration knows it has guards");
	ok_str(client(cfg, a, la, 1000, MATCHER_MORE), "vpn",
	       "a first message with a time 10 s old matches");
	ok_str(client(cfg, a, la, 1000 + 30000, MATCHER_MORE), "lower",
	       "the same message 30 s later is a replay: the next service");
	ok(strstr(why, "ruled out by a guard: vpn (replayed first message)") !=
	       NULL,
	   "the explanation names the guard: %s", why);
	ok_str(client(cfg, a, la, 1000 + 60000, MATCHER_MORE), "vpn",
	       "once the window has passed it is new again");
	ok_str(client(cfg, a, la, 1000 + 60001, MATCHER_MORE), "lower",
	       "and that match started a new window");
	a[la - 1] ^= 1;
	ok_str(client(cfg, a, la, 1000 + 60002, MATCHER_MORE), "vpn",
	       "a message one byte apart is not a replay");
	ok_str(client(cfg, b, lb, 1000, MATCHER_MORE), "lower",
	       "a time 40 s ahead is too far from now (fresh 30)");
	ok(strstr(why, "vpn (time too far from now)") != NULL,
	   "the explanation says so: %s", why);
	lb = message(b, NOW - 31, 20, 'b');
	ok_str(client(cfg, b, lb, 1000, MATCHER_MORE), "lower",
	       "31 s old is too old");
	lb = message(b, NOW + 30, 20, 'b');
	ok_str(client(cfg, b, lb, 1000, MATCHER_MORE), "vpn",
	       "30 s ahead is within the limit");
	/* A replay set is what makes the window checked. */
	struct replay *keep = set;
	set = NULL;
	lb = message(b, NOW, 20, 'c');
	ok_str(client(cfg, b, lb, 1000, MATCHER_MORE), "vpn",
	       "without a replay set: matches");
	ok_str(client(cfg, b, lb, 1000, MATCHER_MORE), "vpn",
	       "and again: the window is not checked");
	set = keep;
	config_unref(cfg);
}

static void
whole_message(void)
{
	struct config *cfg = unit_config_must(cfgtext);
	uint8_t a[64];
	size_t la = message(a, NOW, 20, 'w');
	struct matcher *m;
	struct verdict v;

	/* The regex matches on 3 bytes, but the guards need the whole
	 * first message: the service waits, and so does the one below. */
	ok_str(client(cfg, a, 3, 1000, MATCHER_MORE), "pending",
	       "3 of 27 bytes: the guarded service waits for its message");
	ok_str(client(cfg, a, 10, 1000, MATCHER_MORE), "pending",
	       "10 of 27 bytes: still waiting");
	ok_str(client(cfg, a, 10, 1000, MATCHER_EOF), "lower",
	       "10 bytes then FIN: the message cannot complete");
	ok(strstr(why, "vpn (incomplete first message)") != NULL,
	   "the explanation says so: %s", why);
	ok_str(client(cfg, a, 10, 1000, MATCHER_TIMEOUT), "lower",
	       "10 bytes then the timeout: the same");
	/* frame_timeout: the client stopped in the middle of its message. */
	m = matcher_new(cfg);
	matcher_set_replay(m, set);
	matcher_set_clock(m, NOW, 1000);
	ok(!matcher_feed(m, a, 10, MATCHER_MORE, scratch, &v),
	   "10 bytes: undecided");
	ok(matcher_frames_due(m, a, 10, scratch, &v) &&
	       v.service == &cfg->services[1],
	   "frame_timeout: the guarded service is ruled out, the next "
	   "takes it");
	matcher_free(m);
	/* Byte by byte, the whole message: the guarded service in the end. */
	m = matcher_new(cfg);
	matcher_set_replay(m, set);
	matcher_set_clock(m, NOW, 1000);
	bool done = false;
	size_t at = 0;
	while (!done && at < la)
		done = matcher_feed(m, a, ++at, MATCHER_MORE, scratch, &v);
	ok(done && at == la && v.service == &cfg->services[0],
	   "one byte at a time: decided on the last byte (%zu of %zu), "
	   "for the guarded service",
	   at, la);
	matcher_free(m);
	/* A message shorter than the fresh offset needs. */
	uint8_t s[] = {0x00, 0x03, 0x38, 0x00, 0x00};
	ok_str(client(cfg, s, sizeof(s), 1000, MATCHER_MORE), "lower",
	       "a complete message too short for the time: ruled out");
	config_unref(cfg);
}

/* frame_timeout without guards: framed signatures still undecided on an
 * incomplete first message are judged on what came. */
static void
frames_due(void)
{
	struct config *cfg =
	    unit_config_must("bind = 127.0.0.1:1\n"
	                     "frame_timeout = 0.5\n"
	                     "[search]\nframe = 0:be16+2\n"
	                     "regex = (?s)..\\x38.*?needle\n"
	                     "connect = 127.0.0.1:2\n"
	                     "[early]\nframe = 0:be16+2\n"
	                     "regex = (?s)\\x00.\\x39\n"
	                     "connect = 127.0.0.1:2\n"
	                     "[plain]\nstring = \\00\\40\\38ABC\n"
	                     "connect = 127.0.0.1:3\n"
	                     "[fallback]\nconnect = 127.0.0.1:4\n");
	const uint8_t part[] = {0x00, 0x40, 0x38, 'x', 'n', 'e', 'e'};
	const uint8_t early[] = {0x00, 0x40, 0x39, 'x'};
	const uint8_t two[] = {0x00, 0x41};
	struct matcher *m;
	struct verdict v;

	ok(cfg->frame_timeout_ms == 500, "frame_timeout = 0.5 is 500 ms");
	m = matcher_new(cfg);
	ok(!matcher_feed(m, part, sizeof(part), MATCHER_MORE, scratch, &v),
	   "a search inside an incomplete frame is undecided");
	ok(matcher_frames_due(m, part, sizeof(part), scratch, &v) &&
	       v.kind == VERDICT_FALLBACK,
	   "frame_timeout: judged on what came, no needle: fallback");
	matcher_free(m);
	m = matcher_new(cfg);
	ok(!matcher_feed(m, two, sizeof(two), MATCHER_MORE, scratch, &v),
	   "two bytes: undecided");
	ok(matcher_frames_due(m, two, sizeof(two), scratch, &v) &&
	       v.kind == VERDICT_FALLBACK,
	   "frame_timeout on two bytes: fallback, not the timeout");
	matcher_free(m);
	m = matcher_new(cfg);
	ok(matcher_feed(m, early, sizeof(early), MATCHER_MORE, scratch, &v) &&
	       v.service == &cfg->services[1],
	   "an unguarded framed signature still decides before its frame "
	   "is complete");
	matcher_free(m);
	/* Unframed services are not hurried: [plain] stays undecided. */
	const uint8_t pl[] = {0x00, 0x40, 0x38, 'A'};
	m = matcher_new(cfg);
	ok(!matcher_feed(m, pl, sizeof(pl), MATCHER_MORE, scratch, &v),
	   "undecided on 4 bytes");
	ok(!matcher_frames_due(m, pl, sizeof(pl), scratch, &v),
	   "frame_timeout: an unframed service may still match: undecided");
	ok(matcher_feed(m, pl, sizeof(pl), MATCHER_TIMEOUT, scratch, &v) &&
	       v.kind == VERDICT_TIMEOUT,
	   "and the timeout settles it");
	matcher_free(m);
	config_unref(cfg);
}

/* A guarded service whose frame joins records (TLS-like: 5-byte record
 * headers, a handshake message's 24-bit length at offset 6 of the view):
 * the guards judge the joined first message, complete only when its last
 * record is. */
static void
joined_message(void)
{
	struct config *cfg =
	    unit_config_must("bind = 127.0.0.1:1\n"
	                     "[hello]\nframe = 3:be16+5 join 6:be24+9\n"
	                     "regex = (?s)\\x16\\x03\\x01..\\x01\n"
	                     "replay_window = 60\n"
	                     "connect = 127.0.0.1:2\n"
	                     "[lower]\nstring = \\16\n"
	                     "connect = 127.0.0.1:3\n"
	                     "[fallback]\nconnect = 127.0.0.1:4\n");
	/* A 16-byte handshake message (type 1, length 12) in two records of
	 * 6 and 10 bytes. */
	uint8_t split[26] = {0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00,
	                     0x00, 0x0c, 'j',  'j',  0x16, 0x03, 0x01,
	                     0x00, 0x0a, 'j',  'j',  'j',  'j',  'j',
	                     'j',  'j',  'j',  'j',  'j'};
	struct matcher *m;
	struct verdict v;

	ok_str(client(cfg, split, 11, 1000, MATCHER_MORE), "pending",
	       "the first record alone: the guarded service waits for the "
	       "joined message");
	ok_str(client(cfg, split, 20, 1000, MATCHER_EOF), "lower",
	       "the second record cut short by a FIN: ruled out");
	ok(strstr(why, "hello (incomplete first message)") != NULL,
	   "the explanation says so: %s", why);
	ok_str(client(cfg, split, sizeof(split), 1000, MATCHER_MORE), "hello",
	       "both records: the joined message matches");
	ok_str(client(cfg, split, sizeof(split), 2000, MATCHER_MORE), "lower",
	       "the same two records again: a replay");
	ok(strstr(why, "hello (replayed first message)") != NULL,
	   "the explanation says so: %s", why);
	split[sizeof(split) - 1] = 'k';
	ok_str(client(cfg, split, sizeof(split), 3000, MATCHER_MORE), "hello",
	       "a last byte apart in the second record: not a replay (the "
	       "digest covers the joined message, not the first record)");
	/* Byte by byte: decided on the last byte of the second record. */
	split[sizeof(split) - 1] = 'l';
	m = matcher_new(cfg);
	matcher_set_replay(m, set);
	matcher_set_clock(m, NOW, 4000);
	bool done = false;
	size_t at = 0;
	while (!done && at < sizeof(split))
		done = matcher_feed(m, split, ++at, MATCHER_MORE, scratch, &v);
	ok(done && at == sizeof(split) && v.service == &cfg->services[0],
	   "one byte at a time: decided on byte %zu of %zu, for the guarded "
	   "service",
	   at, sizeof(split));
	matcher_free(m);
	config_unref(cfg);
}

int
main(void)
{
	scratch = sig_scratch_new();
	set = replay_new(1024);
	fresh_and_replay();
	whole_message();
	frames_due();
	joined_message();
	replay_free(set);
	sig_scratch_free(scratch);
	return unit_done();
}
