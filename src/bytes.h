/* SPDX-License-Identifier: ISC */
/* bytes: the `\XX` notation of `string =` values, and escaping of client
 * bytes for log lines. Pure functions. */
#ifndef PORTSPLIT_BYTES_H
#define PORTSPLIT_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Decodes TEXT: `\XX` is the byte with hex value XX, `\\` a backslash, any
 * other character itself. On success returns 0 and a malloc'd buffer in *OUT
 * (caller frees) of *LEN bytes; on error returns -1 and a message in ERR. */
int bytes_decode(const char *text, uint8_t **out, size_t *len, char *err,
                 size_t errlen);

/* Writes DATA to OUT as printable ASCII: `\` and `"` are escaped with a
 * backslash and every other byte outside 0x20..0x7e becomes `\xXX`. Stops
 * with "..." when OUT is full. Returns the length written (OUT is always
 * NUL-terminated; OUTSIZE must be at least 4). */
size_t bytes_escape(const uint8_t *data, size_t len, char *out, size_t outsize);

/* Writes TEXT (a configuration value) to OUT for display: as it is when
 * every byte is printable ASCII, else escaped as bytes_escape() does. */
void bytes_display(const char *text, char *out, size_t outsize);

#endif
