/* SPDX-License-Identifier: ISC */
/* Unit tests for acl.c: CIDR lists (IPv4, IPv6, IPv4-mapped), allow/deny,
 * source keys (IPv6 per /64), and the per-source count table, alone,
 * against a model, and shared by several processes at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acl.h"
#include "unit.h"

static struct sockaddr_storage
ip(const char *host)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *in6 = (void *)&ss;
		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, host, &in6->sin6_addr);
	} else {
		struct sockaddr_in *in = (void *)&ss;
		in->sin_family = AF_INET;
		inet_pton(AF_INET, host, &in->sin_addr);
	}
	return ss;
}

static bool
matches(const char *list, const char *host)
{
	struct acl acl = {0};
	char err[256];
	struct sockaddr_storage ss = ip(host);
	bool m;

	if (acl_parse(&acl, list, err, sizeof(err)) < 0) {
		printf("# parse '%s': %s\n", list, err);
		return false;
	}
	m = acl_match(&acl, (struct sockaddr *)&ss);
	acl_free(&acl);
	return m;
}

static void
refuses(const char *list, const char *needle)
{
	struct acl acl = {0};
	char err[256] = "";

	ok(acl_parse(&acl, list, err, sizeof(err)) < 0 &&
	       strstr(err, needle) != NULL,
	   "'%s' refused: %s", list, err);
	acl_free(&acl);
}

static void
formats(const char *list, const char *want)
{
	struct acl acl = {0};
	char err[256], buf[256];

	acl_parse(&acl, list, err, sizeof(err));
	acl_format(&acl, buf, sizeof(buf));
	ok_str(buf, want, "'%s' shown as '%s'", list, want);
	acl_free(&acl);
}

static void
key_of(const char *host, uint8_t key[16])
{
	struct sockaddr_storage ss = ip(host);

	acl_source_key((struct sockaddr *)&ss, key);
}

/* Many sources coming and going, checked against a plain array. */
static void
against_model(void)
{
	enum { CAP = 64, KEYS = 40, STEPS = 20000 };
	static unsigned char mem[1 << 14];
	struct srccount *t = srccount_init(mem, CAP);
	unsigned model[KEYS][3] = {{0}};
	unsigned seed = 12345, wrong = 0, held = 0;
	uint8_t key[16];

	ok(srccount_size(CAP) <= sizeof(mem) && t != NULL, "table made");
	for (int step = 0; step < STEPS; step++) {
		seed = seed * 1103515245 + 12345;
		unsigned k = (seed >> 8) % KEYS, owner = (seed >> 20) % 3;
		bool take = ((seed >> 24) & 1) && held < CAP / 2;
		memset(key, 0, 16);
		key[0] = (uint8_t)k;
		key[15] = (uint8_t)(k * 7);
		if (take) {
			unsigned sum = model[k][0] + model[k][1] + model[k][2];
			enum srccount_rc rc = srccount_take(t, key, owner, 5);
			if (rc != (sum >= 5 ? SRCCOUNT_OVER : SRCCOUNT_OK))
				wrong++;
			if (rc == SRCCOUNT_OK) {
				model[k][owner]++;
				held++;
			}
		} else if (model[k][owner] > 0) {
			srccount_give(t, key, owner);
			model[k][owner]--;
			held--;
		}
		if (srccount_get(t, key) !=
		    model[k][0] + model[k][1] + model[k][2])
			wrong++;
	}
	ok(wrong == 0,
	   "%d random takes and gives agree with a model (%u "
	   "disagreements)",
	   STEPS, wrong);
	srccount_drop_owner(t, 1);
	wrong = 0;
	for (unsigned k = 0; k < KEYS; k++) {
		memset(key, 0, 16);
		key[0] = (uint8_t)k;
		key[15] = (uint8_t)(k * 7);
		if (srccount_get(t, key) != model[k][0] + model[k][2])
			wrong++;
	}
	ok(wrong == 0, "dropping an owner removes its counts, and only its");
}

/* Processes that take at once never get more than the limit in all. */
static void
shared_exact(void)
{
	enum { PROCS = 4, TRIES = 2000, LIMIT = 777 };
	unsigned cap = srccount_capacity(1024);
	size_t size = srccount_size(cap) + PROCS * sizeof(unsigned);
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
	                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct srccount *t = srccount_init(mem, cap);
	unsigned *got = (unsigned *)((char *)mem + srccount_size(cap));
	uint8_t key[16];
	pid_t pids[PROCS];

	key_of("2001:db8::1", key);
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			for (int i = 0; i < TRIES; i++)
				if (srccount_take(t, key, (unsigned)p, LIMIT) ==
				    SRCCOUNT_OK)
					got[p]++;
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++)
		waitpid(pids[p], NULL, 0);
	unsigned total = 0;
	for (int p = 0; p < PROCS; p++)
		total += got[p];
	ok(total == LIMIT && srccount_get(t, key) == LIMIT,
	   "%d processes taking %d each at once got exactly %d (got %u, "
	   "counted %u)",
	   PROCS, TRIES, LIMIT, total, srccount_get(t, key));
	srccount_drop_owner(t, 0);
	ok(srccount_get(t, key) == LIMIT - got[0],
	   "a dead process's connections leave the count");
	munmap(mem, size);
}

int
main(void)
{
	ok(matches("10.0.0.0/8", "10.1.2.3"), "IPv4 in its network");
	ok(!matches("10.0.0.0/8", "11.0.0.1"), "IPv4 outside");
	ok(matches("192.0.2.7", "192.0.2.7"), "a single IPv4 address");
	ok(!matches("192.0.2.7", "192.0.2.8"), "and not its neighbour");
	ok(matches("10.0.0.0/8", "::ffff:10.9.9.9"),
	   "an IPv4-mapped client matches an IPv4 network");
	ok(matches("::ffff:10.0.0.0/104", "10.9.9.9"),
	   "an IPv4-mapped network matches an IPv4 client");
	ok(matches("2001:db8::/32", "2001:db8:ffff::1"), "IPv6 in");
	ok(!matches("2001:db8::/32", "2001:db9::1"), "IPv6 out");
	ok(matches("2001:db8::/33", "2001:db8:7fff::1"), "odd prefix in");
	ok(!matches("2001:db8::/33", "2001:db8:8000::1"), "odd prefix out");
	ok(matches("0.0.0.0/0", "203.0.113.1"), "0.0.0.0/0 is every IPv4");
	ok(!matches("0.0.0.0/0", "2001:db8::1"), "but no IPv6");
	ok(matches("::/0", "2001:db8::1"), "::/0 is every IPv6");
	ok(matches("192.0.2.1, 10.0.0.0/8 ::1", "::1"),
	   "commas and blanks separate");
	struct acl all = {0};
	struct sockaddr unix_sa = {.sa_family = AF_UNIX};
	char perr[64];
	acl_parse(&all, "::/0 0.0.0.0/0", perr, sizeof(perr));
	ok(!acl_match(&all, &unix_sa), "not IP: no match");
	acl_free(&all);

	refuses("10.0.0.1/8", "write 10.0.0.0/8");
	refuses("2001:db8::1/32", "write 2001:db8::/32");
	refuses("10.0.0.0/33", "0 to 32");
	refuses("2001:db8::/129", "0 to 128");
	refuses("10.0.0.0/", "prefix length");
	refuses("10.0.0.0/8x", "prefix length");
	refuses("localhost", "not an address");
	refuses("10.0.0", "not an address");
	refuses("::ffff:0:0/64", "96 or more");
	refuses(" , ", "no address");

	formats("10.0.0.0/8 2001:db8::/32 192.0.2.7",
	        "10.0.0.0/8 2001:db8::/32 192.0.2.7/32");
	formats("::ffff:10.0.0.0/104", "10.0.0.0/8");
	struct acl empty = {0};
	char buf[16];
	acl_format(&empty, buf, sizeof(buf));
	ok_str(buf, "-", "an empty list is shown as -");

	struct acl allow = {0}, deny = {0};
	char err[256];
	struct sockaddr_storage a = ip("10.1.1.1"), b = ip("10.2.2.2"),
	                        c = ip("192.0.2.1");
	ok(acl_permits(&allow, &deny, (struct sockaddr *)&c),
	   "no allow, no deny: everyone");
	acl_parse(&deny, "10.2.0.0/16", err, sizeof(err));
	ok(!acl_permits(&allow, &deny, (struct sockaddr *)&b) &&
	       acl_permits(&allow, &deny, (struct sockaddr *)&c),
	   "deny alone: all but the denied");
	acl_parse(&allow, "10.0.0.0/8", err, sizeof(err));
	ok(acl_permits(&allow, &deny, (struct sockaddr *)&a),
	   "allowed and not denied");
	ok(!acl_permits(&allow, &deny, (struct sockaddr *)&b), "deny wins");
	ok(!acl_permits(&allow, &deny, (struct sockaddr *)&c), "not allowed");
	acl_free(&allow);
	acl_free(&deny);

	uint8_t k1[16], k2[16];
	key_of("2001:db8:1:2:aaaa::1", k1);
	key_of("2001:db8:1:2:bbbb::9", k2);
	ok(memcmp(k1, k2, 16) == 0, "one /64 is one source");
	key_of("2001:db8:1:3::1", k2);
	ok(memcmp(k1, k2, 16) != 0, "the next /64 is another");
	key_of("192.0.2.1", k1);
	key_of("::ffff:192.0.2.1", k2);
	ok(memcmp(k1, k2, 16) == 0, "IPv4 and its mapped form: one source");
	key_of("192.0.2.2", k2);
	ok(memcmp(k1, k2, 16) != 0, "IPv4 is counted per address");

	ok(srccount_capacity(1024) == 2048 && srccount_capacity(1) == 64 &&
	       srccount_capacity(1000) == 2048,
	   "capacity: a power of two, at least twice maxconn");

	/* A table full of other sources refuses a new one. */
	static unsigned char small[4096];
	struct srccount *t = srccount_init(small, 8);
	uint8_t key[16] = {0};
	int okn = 0;
	for (int i = 0; i < 9; i++) {
		key[3] = (uint8_t)i;
		okn += srccount_take(t, key, 0, 0) == SRCCOUNT_OK;
	}
	ok(okn == 8, "an 8-slot table takes 8 sources (%d)", okn);
	key[3] = 20;
	ok(srccount_take(t, key, 0, 0) == SRCCOUNT_FULL,
	   "and refuses the ninth");
	key[3] = 2;
	ok(srccount_take(t, key, 0, 0) == SRCCOUNT_OK,
	   "a known source is still counted");
	srccount_give(t, key, 0);
	srccount_give(t, key, 0);
	key[3] = 20;
	ok(srccount_take(t, key, 0, 0) == SRCCOUNT_OK,
	   "a freed slot takes a new source");

	against_model();
	shared_exact();
	return unit_done();
}
