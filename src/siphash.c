/*
 * siphash - see siphash.h. The reference algorithm: 2 compression rounds
 * per 8-byte word, 4 finalisation rounds, little-endian words.
 */
#include <string.h>

#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                             \
	do {                                                                                                 \
		v0 += v1;                                                                                    \
		v1 = ROTL(v1, 13);                                                                           \
		v1 ^= v0;                                                                                    \
		v0 = ROTL(v0, 32);                                                                           \
		v2 += v3;                                                                                    \
		v3 = ROTL(v3, 16);                                                                           \
		v3 ^= v2;                                                                                    \
		v0 += v3;                                                                                    \
		v3 = ROTL(v3, 21);                                                                           \
		v3 ^= v0;                                                                                    \
		v2 += v1;                                                                                    \
		v1 = ROTL(v1, 17);                                                                           \
		v1 ^= v2;                                                                                    \
		v2 = ROTL(v2, 32);                                                                           \
	} while (0)

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t
rg_siphash(const struct rg_sipkey *k, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ k->k0, v1 = 0x646f72616e646f6dULL ^ k->k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k->k0, v3 = 0x7465646279746573ULL ^ k->k1;
	uint64_t m, b = (uint64_t)len << 56;
	size_t left = len & 7;

	for (const unsigned char *end = p + (len - left); p < end; p += 8) {
		m = le64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void
rg_siphash_key(struct rg_sipkey *k, const char *secret)
{
	unsigned char raw[16];
	size_t len = strlen(secret);
	struct rg_sipkey fixed;

	if (len == 16) {
		memcpy(raw, secret, 16);
		k->k0 = le64(raw);
		k->k1 = le64(raw + 8);
		return;
	}
	for (int i = 0; i < 16; i++)
		raw[i] = (unsigned char)i;
	fixed.k0 = le64(raw);
	fixed.k1 = le64(raw + 8);
	k->k0 = rg_siphash(&fixed, secret, len);
	fixed.k0 = k->k0;
	k->k1 = rg_siphash(&fixed, secret, len);
}
