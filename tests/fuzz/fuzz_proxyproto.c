/* SPDX-License-Identifier: ISC */
/* Fuzzes the PROXY protocol parser (proxyproto.c), which reads bytes from
 * the network before anything else does. Every prefix of the input is
 * parsed in a buffer of exactly its size (ASan catches any read past it):
 * the verdicts must be MORE, MORE, ..., then one final answer that never
 * changes as more bytes come; DONE never claims more bytes than it was
 * given nor more than the bounds; BAD always says why; a header built
 * from DONE's addresses parses back to the same addresses; and a v2
 * header whose CRC32c was verified is refused with its source address
 * changed by one bit. */
#include "fuzz.h"

#include <netinet/in.h>

#include "proxyproto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum proxyproto_rc final = PROXYPROTO_MORE;
	size_t final_len = 0;

	if (size > PROXYPROTO_V2_MAX + 64)
		size = PROXYPROTO_V2_MAX + 64;
	for (size_t n = 0; n <= size; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size for ASan */
		struct proxyproto_hdr h;
		const char *why = NULL;
		enum proxyproto_rc rc;

		memcpy(copy, data, n);
		rc = proxyproto_parse(copy, n, &h, &why);
		free(copy);
		if (final != PROXYPROTO_MORE) {
			FUZZ_CHECK(rc == final,
			           "verdict %d changed to %d at %zu", final, rc,
			           n);
			if (rc == PROXYPROTO_DONE)
				FUZZ_CHECK(h.len == final_len,
				           "length %zu changed to %zu",
				           final_len, h.len);
			continue;
		}
		if (rc == PROXYPROTO_BAD)
			FUZZ_CHECK(why != NULL && why[0] != '\0',
			           "refused without a reason");
		if (rc == PROXYPROTO_DONE) {
			FUZZ_CHECK(h.len <= n, "length %zu past the %zu given",
			           h.len, n);
			FUZZ_CHECK(h.version == 1 ? h.len <= PROXYPROTO_V1_MAX
			                          : h.len <= PROXYPROTO_V2_MAX,
			           "v%d header of %zu bytes", h.version, h.len);
			/* An IPv4-mapped pair is rebuilt as IPv4 on purpose. */
			if (h.has_addr && !(h.src.ss_family == AF_INET6 &&
			                    IN6_IS_ADDR_V4MAPPED(
			                        &((struct sockaddr_in6 *)&h.src)
			                             ->sin6_addr))) {
				uint8_t buf[PROXYPROTO_BUILD_MAX];
				struct proxyproto_hdr g;
				int len = proxyproto_build(
				    h.version, (struct sockaddr *)&h.src,
				    (struct sockaddr *)&h.dst, buf,
				    sizeof(buf));
				FUZZ_CHECK(len > 0, "rebuild refused");
				FUZZ_CHECK(
				    proxyproto_parse(buf, (size_t)len, &g,
				                     &why) == PROXYPROTO_DONE &&
				        g.has_addr &&
				        memcmp(&g.src, &h.src, sizeof(g.src)) ==
				            0,
				    "rebuilt header reads differently");
			}
			if (h.crc32c && h.has_addr) {
				uint8_t *bad = malloc(h.len);
				struct proxyproto_hdr g;
				memcpy(bad, data, h.len);
				bad[16] ^= 0x01; /* the source's first byte */
				FUZZ_CHECK(
				    proxyproto_parse(bad, h.len, &g, &why) ==
				        PROXYPROTO_BAD,
				    "checksummed header taken changed");
				free(bad);
			}
			final_len = h.len;
		}
		final = rc;
	}
	return 0;
}
