/*
 * rkeys - the name of every Redis key relayguard writes, in one place, for
 * both daemons and for relayguardctl. relayguard.conf(5), REDIS DATA, shows
 * the same table with types, TTLs, scripts and sizes.
 *
 *   kind              key                                          type    written by
 *   greylist triplet  <p>g:{<net>}:<h16>                           hash    greylist.lua
 *   auto-whitelist    <p>a:{<net>}                                 string  greylist.lua
 *   rate limit        <p>r:{<kind>:<subject>}:<count>/<window_ms>  hash    ratelimit.lua
 *   callout cache     <p>c:{<domain>}:<h16>                        string  milter (SET PX)
 *   hop-down mark     <p>cd:{<hop>}                                string  milter (SET PX NX)
 *   harvest counter   <p>h:{<ip>}:<window_ms>                      hash    ratelimit.lua
 *
 * <p> is redis_key_prefix; {...} is the Redis Cluster hash tag, so every
 * key one script call touches is in one slot (rkeys_slot; t/unit/check_rkeys
 * proves it for every call). <net> is the client network as text
 * ("198.51.100.0/24", "2001:db8:1:2::/64"); <h16> is 16 hex digits of
 * SipHash-2-4 keyed with redis_key_secret, so nobody who does not know the
 * secret can make two triplets or two recipients share a key. The hashed
 * parts stay readable in the values: a triplet's hash holds fields s
 * (sender) and r (recipient), a cache entry starts with its recipient.
 * Subjects of rate limits are escaped (bytes outside [A-Za-z0-9.@:_+=-] as
 * %XX), which is injective and keeps them readable.
 *
 * For an admin tool: rkeys_greylist_pattern / rkeys_rate_pattern give SCAN
 * MATCH patterns (glob characters escaped) for a network's triplets and a
 * subject's limits, rkeys_kind_pattern / rkeys_callout_pattern for every
 * key of a kind and a domain's cache entries; rkeys_network turns a client
 * address into <net>.
 *
 * Contract: pure functions over caller storage; thread-safe. Every function
 * returns the key's length, or -1 (with err where there is one) when an
 * input is unusable or the key does not fit in size bytes.
 */
#ifndef RG_RKEYS_H
#define RG_RKEYS_H

#include <stddef.h>

#include "config.h"
#include "siphash.h"

#define RKEYS_MAX 640 /* room for any key, NUL included */
#define RKEYS_PREFIX_MAX 40

/* What every key function needs: the prefix and the SipHash key. */
struct rkeys {
	char prefix[RKEYS_PREFIX_MAX + 1];
	struct rg_sipkey sip;
};

/* From redis_key_prefix and redis_key_secret. 0, or -1 with err (a prefix with braces or too long). */
int rkeys_init(struct rkeys *k, const char *prefix, const char *secret, char *err, size_t errlen);

/* rkeys_init from g's parameters (a bad prefix: "rg:", as the configuration check refuses it). */
void rkeys_from_params(struct rkeys *k, const struct rg_params *g);

/* The client network <net> of client_addr for the given prefix lengths; -1 if not an IP address. */
int rkeys_network(const char *client_addr, int v4len, int v6len, char *buf, size_t size);

/* The 64-bit keyed hash of sender NUL rcpt (as normalised by the caller). */
unsigned long long rkeys_triplet_hash(const struct rkeys *k, const char *sender, const char *rcpt);

/* Greylist triplet of (net, normalised sender, lower-cased recipient). */
int rkeys_greylist(const struct rkeys *k, const char *net, const char *sender, const char *rcpt, char *buf,
		   size_t size);

/* Auto-whitelist counter of net. */
int rkeys_awl(const struct rkeys *k, const char *net, char *buf, size_t size);

/*
 * One rate limit of (kind, subject): kind [a-z0-9_-]+ ("client", "sasl",
 * "sender", ...), subject escaped.
 */
int rkeys_rate(const struct rkeys *k, const char *kind, const char *subject, long long count,
	       long long window_ms, char *buf, size_t size, char *err, size_t errlen);

/* Callout cache entry of a recipient (the domain and hash case-insensitive). */
int rkeys_callout(const struct rkeys *k, const char *rcpt, char *buf, size_t size);

/* Cluster-wide "next hop is down" mark of hop (braces in hop made '_'). */
int rkeys_hopdown(const struct rkeys *k, const char *hop, char *buf, size_t size);

/* Harvest counter (rejected recipients) of a client address over window_ms; -1 if addr is not IP text. */
int rkeys_harvest(const struct rkeys *k, const char *addr, long long window_ms, char *buf, size_t size);

/* SCAN MATCH patterns: every triplet of net; every limit of (kind, subject). */
int rkeys_greylist_pattern(const struct rkeys *k, const char *net, char *buf, size_t size);
int rkeys_rate_pattern(const struct rkeys *k, const char *kind, const char *subject, char *buf, size_t size);
/* ... every key of a kind ("g", "a", "r", "c", "cd", "h"); every cache entry of a domain. */
int rkeys_kind_pattern(const struct rkeys *k, const char *kind, char *buf, size_t size);
int rkeys_callout_pattern(const struct rkeys *k, const char *domain, char *buf, size_t size);

/* The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag, or of all of it, mod 16384. */
unsigned rkeys_slot(const char *key, size_t len);

#endif
