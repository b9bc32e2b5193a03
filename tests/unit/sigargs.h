/* SPDX-License-Identifier: ISC */
/* The arguments the tests give the library's parameterised signatures,
 * and the protocol each one refines (whose samples it may match). Shared
 * by the unit tests over the library and the matcher's fuzz harness, so it
 * needs nothing but the C library. */
#ifndef PORTSPLIT_SIGARGS_H
#define PORTSPLIT_SIGARGS_H

#include <string.h>

struct sigargs {
	const char *name, *args, *family;
};

/* NAME's entry, or NULL for a signature that takes no arguments. */
static inline const struct sigargs *
sigargs_find(const char *name)
{
	static const struct sigargs table[] = {
	    {"tls-sni", "example.org *.example.org", "tls"},
	    {"tls-alpn", "h2 http/1.1", "tls"},
	    {"tls-sni-alpn", "example.org *.example.org -- h2 http/1.1", "tls"},
	    {"http-host", "127.0.0.1 localhost example.org *.example.org",
	     "http"},
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

/* The arguments to give signature NAME ("" when it takes none). */
static inline const char *
sigargs_args(const char *name)
{
	const struct sigargs *a = sigargs_find(name);

	return a != NULL ? a->args : "";
}

/* The protocol signature NAME belongs to: the one it refines, or its own. */
static inline const char *
sigargs_family(const char *name)
{
	const struct sigargs *a = sigargs_find(name);

	return a != NULL ? a->family : name;
}

#endif
