/*
 * rkeys - every Redis key name relayguard uses, built in one place, so that
 * the daemons and relayguardctl always agree on them:
 *
 *   <prefix>g:{<net>}:<16 hex>     greylist triplet (hash: f first seen,
 *                                  p passed, n passes, s sender, r recipient)
 *   <prefix>a:{<net>}              passed triplets of a client network
 *                                  (auto-whitelist count; RG_KEY_AWL_MANUAL
 *                                  and more: whitelisted by hand)
 *   <prefix>r:{<kind>:<subject>}:<count>/<window_ms>   one rate limit (hash
 *                                  of sub-buckets, ratelimit.lua)
 *   <prefix>c:{<domain>}:<16 hex>  callout cache entry of a recipient
 *   <prefix>h:{<ip>}:<window_ms>   harvest counter of a client address
 *   <prefix>cd:{<hop>}             "next hop is down" mark
 *
 * {...} is the hash tag: a Lua script's keys share one, so a Redis Cluster
 * keeps them on one node. <net> is the client address's network
 * (greylist_ipv4_prefix / greylist_ipv6_prefix, e.g. "192.0.2.0/24").
 * The 16 hex digits are a 64-bit FNV-1a hash (of sender NUL recipient, or
 * of the recipient); the values carry the plain text they stand for, so a
 * hash collision can be told from a hit.
 *
 * Contract: pure functions over caller storage; thread-safe. Trust
 * boundary: addresses, subjects and hops come from SMTP clients or
 * downstream servers; in keys they are normalised and escaped so they can
 * neither break a hash tag nor collide with another one.
 */
#ifndef RG_RKEYS_H
#define RG_RKEYS_H

#include <stddef.h>

#include "ratespec.h"

#define RG_KEY_MAX 700
#define RG_KEY_AWL_MANUAL 1000000000000000LL /* a:{net} at or above: whitelisted by hand */

/* A greylist triplet: its parts as the daemons normalise them, and its keys. */
struct rg_gl_triplet {
	char net[80]; /* "192.0.2.0/24", "2001:db8::/64" */
	char sender[512]; /* rg_addr_greynorm: lower case, no +ext, SRS/BATV undone, "<>" */
	char rcpt[512]; /* lower case */
	char key[RG_KEY_MAX]; /* <prefix>g:{net}:<hash> */
	char netkey[RG_KEY_MAX]; /* <prefix>a:{net} */
};

/*
 * The network of client_addr, "192.0.2.0/24"; also accepts a network
 * written so ("192.0.2.0/24", bits must equal v4len/v6len). Returns 0, or
 * -1 when it is neither.
 */
int rg_key_net(const char *client_or_net, int v4len, int v6len, char *net, size_t netlen);

/* Fill t for (client, sender, recipient). Returns 0, or -1 when client_addr is not an address. */
int rg_key_greylist(struct rg_gl_triplet *t, const char *prefix, const char *delims, int v4len, int v6len,
		    const char *client_addr, const char *sender, const char *rcpt);

/* <prefix>a:{net}. Returns buf. */
char *rg_key_awl(char *buf, size_t len, const char *prefix, const char *net);

/*
 * A SCAN MATCH pattern: every key of kind ("g", "a", "r", "c", "h", "cd")
 * whose hash tag is exactly tag (NULL: any), glob characters in prefix
 * and tag escaped. Returns buf.
 */
char *rg_key_pattern(char *buf, size_t len, const char *prefix, const char *kind, const char *tag);

/*
 * One rate limit: "<prefix>r:{<kind>:<subject>}:<count>/<window_ms>". kind
 * is [a-z0-9_-]+; prefix may not contain braces. Subject bytes other than
 * [A-Za-z0-9.@:_+=-] are written %XX. rate NULL: the key up to and
 * including "}:" (for a pattern). Returns the length, or -1 with err.
 */
int rg_key_ratelimit(char *buf, size_t size, const char *prefix, const char *kind, const char *subject,
		     const struct rg_rate *rate, char *err, size_t errlen);
#define RG_KEY_SUBJECT_MAX 512 /* escaped subject bytes */

/* 64-bit FNV-1a of s, ASCII letters folded to lower case (the callout key's hash). */
unsigned long long rg_key_hash_nocase(const char *s, size_t len);

/* The callout cache key of rcpt, "<prefix>c:{<domain>}:<hash>"; NULL when it does not fit. */
char *rg_key_callout(char *buf, size_t len, const char *prefix, const char *rcpt);
/* "<prefix>c:{<domain>}" part for a domain (lower-cased, escaped like rg_key_callout). */
char *rg_key_callout_tag(char *buf, size_t len, const char *domain);

/* "<prefix>h:{<ip>}:<window_ms>"; the length, or -1 when addr is not IP address text. */
int rg_key_harvest(char *buf, size_t size, const char *prefix, const char *addr, long long window_ms);

/* "<prefix>cd:{<hop>}", braces in hop written '_'. Returns buf. */
char *rg_key_hopdown(char *buf, size_t size, const char *prefix, const char *hop);

#endif
