/*
 * siphash - SipHash-2-4 (Aumasson & Bernstein, 2012), a keyed 64-bit hash:
 * without the 16-byte key nobody can pick texts whose hashes collide, so
 * a hash of attacker-chosen text (a sender, a recipient) can name a Redis
 * key. The key comes from redis_key_secret (rg_siphash_key).
 *
 * Contract: pure, thread-safe.
 */
#ifndef RG_SIPHASH_H
#define RG_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct rg_sipkey {
	uint64_t k0, k1;
};

/* SipHash-2-4 of len bytes at data under key k. */
uint64_t rg_siphash(const struct rg_sipkey *k, const void *data, size_t len);

/*
 * A key from a secret of any length: its first 16 bytes as they are when
 * it is exactly 16 bytes long, else SipHash of the secret under the fixed
 * key 00 01 .. 0f and again under that result (so every text maps to a
 * full key).
 */
void rg_siphash_key(struct rg_sipkey *k, const char *secret);

#endif
