/* SPDX-License-Identifier: ISC */
/* Fuzzes the address forms of `bind =` and `connect =` (addr.c). Any text
 * either splits into a host and a port from 1 to 65535 or is refused with
 * a message; a numeric host resolves, and every address it resolves to
 * prints as text that splits and resolves back to the same address. */
#define FUZZ_NO_DNS
#include "fuzz.h"

#include <stdbool.h>

#include "addr.h"

static void
check_round_trip(const struct addrinfo *ai)
{
	char text[ADDR_STRLEN], *host, *port, err[512];
	struct addrinfo *again;

	addr_format(ai->ai_addr, text, sizeof(text));
	FUZZ_CHECK(addr_split(text, &host, &port, err, sizeof(err)) == 0,
	           "printed '%s' does not split: %s", text, err);
	FUZZ_CHECK(addr_resolve(host, port, false, &again, err, sizeof(err)) ==
	               0,
	           "printed '%s' does not resolve: %s", text, err);
	FUZZ_CHECK(again->ai_family == ai->ai_family &&
	               again->ai_addrlen == ai->ai_addrlen,
	           "'%s' resolves to another family", text);
	if (ai->ai_family == AF_INET)
		FUZZ_CHECK(
		    memcmp(again->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0,
		    "'%s' resolves elsewhere", text);
	freeaddrinfo(again);
	free(host);
	free(port);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), *host = NULL, *port = NULL;
	char err[512];
	struct addrinfo *res;

	if (addr_split(text, &host, &port, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != '\0', "refused without a message");
		free(text);
		return 0;
	}
	FUZZ_CHECK(host[0] != '\0', "empty host from '%s'", text);
	FUZZ_CHECK(atoi(port) >= 1 && atoi(port) <= 65535, "port '%s'", port);
	for (int passive = 0; passive < 2; passive++) {
		if (addr_resolve(host, port, passive, &res, err, sizeof(err)) <
		    0) {
			FUZZ_CHECK(err[0] != '\0', "refused without a message");
			continue;
		}
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
			check_round_trip(ai);
		freeaddrinfo(res);
	}
	free(host);
	free(port);
	free(text);
	return 0;
}
