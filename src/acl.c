/* SPDX-License-Identifier: ISC */
/* acl: CIDR lists and per-source counts.
 *
 * The count table is an open-addressing hash table with linear probing,
 * keyed by (source, owner) and hashed by the source alone: every entry of
 * one source sits in the run of occupied slots that starts at the source's
 * home slot, so one scan of that run both sums the source's connections
 * across owners and finds the caller's own entry. An entry whose count
 * falls to 0 is deleted by shifting the run back (no tombstones), so the
 * runs stay short and a table sized at twice the connection limit never
 * fills. Every operation holds the table's mutex for one short scan. */
#define _GNU_SOURCE
#include "acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* SA as a 16-byte address, IPv4 in its mapped form; false when SA is not
 * IP. */
static bool
addr16(const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, v4mapped, 12);
		memcpy(
		    out + 12,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(
		    out,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    16);
		return true;
	}
	return false;
}

static bool
in_net(const struct acl_net *net, const uint8_t a[16])
{
	unsigned full = net->bits / 8, rest = net->bits % 8;

	if (memcmp(net->addr, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->addr[full] & mask) == (a[full] & mask);
}

/* Parses one word into NET. */
static int
parse_net(const char *word, struct acl_net *net, char *err, size_t errlen)
{
	char text[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long bits;
	bool v4, text_v4 = false;

	if (strlen(word) >= sizeof(text)) {
		snprintf(err, errlen, "'%.60s' is not an address or CIDR",
		         word);
		return -1;
	}
	strcpy(text, word);
	slash = strchr(text, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, text, net->addr + 12) == 1) {
		memcpy(net->addr, v4mapped, 12);
		v4 = text_v4 = true;
	} else if (inet_pton(AF_INET6, text, net->addr) == 1) {
		v4 = memcmp(net->addr, v4mapped, 12) == 0;
	} else {
		snprintf(err, errlen,
		         "'%s' is not an address or CIDR (like 192.0.2.0/24 "
		         "or 2001:db8::/32)",
		         word);
		return -1;
	}
	unsigned max = text_v4 ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		char *end;
		errno = 0;
		bits = strtoul(slash, &end, 10);
		if (*slash < '0' || *slash > '9' || *end != '\0' ||
		    errno != 0 || bits > max) {
			snprintf(err, errlen,
			         "'%s': the prefix length must be 0 to %u",
			         word, max);
			return -1;
		}
	}
	/* IPv4-mapped written as IPv6 counts its bits in the 128-bit form. */
	if (text_v4)
		net->bits = (uint8_t)(bits + 96);
	else if (v4 && bits < 96) {
		snprintf(err, errlen,
		         "'%s': an IPv4-mapped network needs a prefix of 96 or "
		         "more",
		         word);
		return -1;
	} else
		net->bits = (uint8_t)bits;
	/* Bits past the prefix must be zero: 192.0.2.7/24 is a typo for
	 * either the host or the network, and guessing is wrong half the
	 * time. */
	struct acl_net masked = *net;
	for (unsigned i = masked.bits; i < 128; i++)
		masked.addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	if (memcmp(masked.addr, net->addr, 16) != 0) {
		char shown[INET6_ADDRSTRLEN];
		if (v4)
			inet_ntop(AF_INET, masked.addr + 12, shown,
			          sizeof(shown));
		else
			inet_ntop(AF_INET6, masked.addr, shown, sizeof(shown));
		snprintf(err, errlen,
		         "'%s' has bits set past its prefix: write %s/%lu for "
		         "the network, or the address alone for one host",
		         word, shown, bits);
		return -1;
	}
	return 0;
}

int
acl_parse(struct acl *list, const char *text, char *err, size_t errlen)
{
	char *copy = strdup(text), *save = NULL;
	int rc = 0, words = 0;

	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (char *w = strtok_r(copy, " \t,", &save); w != NULL;
	     w = strtok_r(NULL, " \t,", &save)) {
		struct acl_net net, *grown;
		words++;
		if (parse_net(w, &net, err, errlen) < 0) {
			rc = -1;
			break;
		}
		grown = realloc(list->nets, (list->n + 1) * sizeof(net));
		if (grown == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
			break;
		}
		list->nets = grown;
		list->nets[list->n++] = net;
	}
	if (rc == 0 && words == 0) {
		snprintf(err, errlen, "no address or CIDR given");
		rc = -1;
	}
	free(copy);
	return rc;
}

void
acl_free(struct acl *list)
{
	free(list->nets);
	list->nets = NULL;
	list->n = 0;
}

bool
acl_match(const struct acl *list, const struct sockaddr *sa)
{
	uint8_t a[16];

	if (list == NULL || !addr16(sa, a))
		return false;
	for (size_t i = 0; i < list->n; i++)
		if (in_net(&list->nets[i], a))
			return true;
	return false;
}

bool
acl_permits(const struct acl *allow, const struct acl *deny,
            const struct sockaddr *sa)
{
	if (acl_match(deny, sa))
		return false;
	return allow == NULL || allow->n == 0 || acl_match(allow, sa);
}

void
acl_format(const struct acl *list, char *buf, size_t len)
{
	size_t n = 0;

	snprintf(buf, len, "-");
	for (size_t i = 0; list != NULL && i < list->n && n < len; i++) {
		const struct acl_net *net = &list->nets[i];
		char text[INET6_ADDRSTRLEN];
		bool v4 =
		    net->bits >= 96 && memcmp(net->addr, v4mapped, 12) == 0;
		if (v4)
			inet_ntop(AF_INET, net->addr + 12, text, sizeof(text));
		else
			inet_ntop(AF_INET6, net->addr, text, sizeof(text));
		n += (size_t)snprintf(buf + n, len - n, "%s%s/%u",
		                      i > 0 ? " " : "", text,
		                      v4 ? net->bits - 96u : net->bits);
	}
}

void
acl_source_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (!addr16(sa, key))
		return;
	if (memcmp(key, v4mapped, 12) != 0)
		memset(key + 8, 0, 8); /* IPv6: the /64 */
}

struct srcentry {
	uint8_t key[16];
	uint32_t owner;
	uint32_t count; /* 0: the slot is empty */
};

struct srccount {
	pthread_mutex_t lock;
	uint32_t mask; /* capacity - 1 */
	struct srcentry e[];
};

unsigned
srccount_capacity(unsigned maxconn)
{
	unsigned cap = 64;

	while (cap < 2u * maxconn && cap < (1u << 30))
		cap <<= 1;
	return cap;
}

size_t
srccount_size(unsigned capacity)
{
	return sizeof(struct srccount) + capacity * sizeof(struct srcentry);
}

struct srccount *
srccount_init(void *mem, unsigned capacity)
{
	struct srccount *t = mem;
	pthread_mutexattr_t attr;
	int rc;

	memset(t, 0, srccount_size(capacity));
	t->mask = capacity - 1;
	if (pthread_mutexattr_init(&attr) != 0)
		return NULL;
	rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(&t->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return rc == 0 ? t : NULL;
}

static void
lock(struct srccount *t)
{
	/* An owner that died holding the lock left at most one count
	 * half-changed; the table itself is whole after every store. */
	if (pthread_mutex_lock(&t->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&t->lock);
}

static uint32_t
home(const struct srccount *t, const uint8_t key[16])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h & t->mask;
}

/* Empties slot I and shifts the rest of its run back so that every entry
 * stays reachable from its home slot. */
static void
delete_at(struct srccount *t, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		j = (j + 1) & t->mask;
		if (t->e[j].count == 0)
			break;
		uint32_t k = home(t, t->e[j].key);
		/* Entry j stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->e[i] = t->e[j];
		i = j;
	}
	memset(&t->e[i], 0, sizeof(t->e[i]));
}

enum srccount_rc
srccount_take(struct srccount *t, const uint8_t key[16], unsigned owner,
              unsigned limit)
{
	uint32_t i, sum = 0;
	struct srcentry *mine = NULL, *empty = NULL;
	enum srccount_rc rc = SRCCOUNT_OK;

	lock(t);
	i = home(t, key);
	for (uint32_t probes = 0; probes <= t->mask; probes++) {
		struct srcentry *e = &t->e[i];
		if (e->count == 0) {
			empty = e;
			break;
		}
		if (memcmp(e->key, key, 16) == 0) {
			sum += e->count;
			if (e->owner == owner)
				mine = e;
		}
		i = (i + 1) & t->mask;
	}
	if (limit != 0 && sum >= limit)
		rc = SRCCOUNT_OVER;
	else if (mine != NULL)
		mine->count++;
	else if (empty != NULL) {
		memcpy(empty->key, key, 16);
		empty->owner = owner;
		empty->count = 1;
	} else
		rc = SRCCOUNT_FULL;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void
srccount_give(struct srccount *t, const uint8_t key[16], unsigned owner)
{
	uint32_t i;

	lock(t);
	i = home(t, key);
	for (uint32_t probes = 0; probes <= t->mask; probes++) {
		struct srcentry *e = &t->e[i];
		if (e->count == 0)
			break;
		if (e->owner == owner && memcmp(e->key, key, 16) == 0) {
			if (--e->count == 0)
				delete_at(t, i);
			break;
		}
		i = (i + 1) & t->mask;
	}
	pthread_mutex_unlock(&t->lock);
}

void
srccount_drop_owner(struct srccount *t, unsigned owner)
{
	lock(t);
	/* A deletion may shift another of OWNER's entries into slot I, so
	 * each slot is looked at until it holds someone else's. */
	for (uint32_t i = 0; i <= t->mask; i++)
		while (t->e[i].count != 0 && t->e[i].owner == owner)
			delete_at(t, i);
	pthread_mutex_unlock(&t->lock);
}

unsigned
srccount_get(struct srccount *t, const uint8_t key[16])
{
	uint32_t i, sum = 0;

	lock(t);
	i = home(t, key);
	for (uint32_t probes = 0; probes <= t->mask; probes++) {
		struct srcentry *e = &t->e[i];
		if (e->count == 0)
			break;
		if (memcmp(e->key, key, 16) == 0)
			sum += e->count;
		i = (i + 1) & t->mask;
	}
	pthread_mutex_unlock(&t->lock);
	return sum;
}
