/*
 * sha1 - SHA-1 (FIPS 180-4) of a buffer, as 40 lower-case hex digits: the
 * name Redis gives a Lua script (EVALSHA), so a client knows a script's
 * SHA without a SCRIPT LOAD round trip. Not used for anything secret.
 *
 * Contract: pure, thread-safe.
 */
#ifndef RG_SHA1_H
#define RG_SHA1_H

#include <stddef.h>

/* The 20-byte digest of len bytes at data. */
void rg_sha1(const void *data, size_t len, unsigned char out[20]);

/* The digest as 40 hex digits and a NUL into hex (41 bytes). Returns hex. */
char *rg_sha1_hex(const void *data, size_t len, char hex[41]);

#endif
