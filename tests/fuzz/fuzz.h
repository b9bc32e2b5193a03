/* SPDX-License-Identifier: ISC */
/* What the libFuzzer harnesses share: a check that stops the run with a
 * message (libFuzzer then saves the input as a crash), a NUL-terminated
 * copy of the input, and, for the harnesses that resolve addresses, a
 * getaddrinfo() that never asks DNS (a fuzzed host name would otherwise
 * wait for the network on every input). */
#ifndef PORTSPLIT_FUZZ_H
#define PORTSPLIT_FUZZ_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, \
			        __LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/* A malloc'd NUL-terminated copy of DATA (which may hold NULs). */
static inline char *
fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#ifdef FUZZ_NO_DNS
/* Takes the place of libc's getaddrinfo in the harness: numeric hosts and
 * ports only, answered by libc itself without any lookup. */
int getaddrinfo(const char *node, const char *service,
                const struct addrinfo *hints, struct addrinfo **res);

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
            struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *,
	                   struct addrinfo **);
	struct addrinfo h = {0};

	if (real == NULL) {
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
		if (real == NULL)
			abort();
	}
	if (hints != NULL)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
	return real(node, service, &h, res);
}
#endif

#endif
