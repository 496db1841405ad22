/*
 * vredis - the callout's records in Redis, shared by every relay node:
 * cache entries (callout_cache.h's keys and values, with their expire time as
 * the key's TTL), harvest counters (rejected recipients per client
 * address, a sliding window kept by src/lua/ratelimit.lua), and the "next
 * hop is down" mark that spares every node a downstream known to fail.
 *
 * Keys (src/rkeys.h, from g's redis_key_prefix and redis_key_secret):
 * cache "<prefix>c:{<domain>}:<hash>", harvest "<prefix>h:{<ip>}:<window_ms>",
 * down mark "<prefix>cd:{<hop>}".
 *
 * Contract: thread-safe (redis_pool is); nothing here keeps state. A Redis
 * failure is reported as "cannot tell" (see each function), never as an
 * answer. Values read back are parsed by calcache_parse (bounded).
 */
#ifndef RG_MILTER_VREDIS_H
#define RG_MILTER_VREDIS_H

#include "callout_cache.h"
#include "callout.h"
#include "config.h"
#include "redis_pool.h"
#include "rkeys.h"

/* The four cache lifetimes of a recipient's settings. */
void vredis_lifetimes(const struct rg_params *p, struct calcache_lifetimes *lt);

/*
 * The cached entry for rcpt (into *e) and what it means now. *up is 0 when
 * Redis could not be asked (the result is then a MISS).
 */
enum calcache_state vredis_cache_get(struct rg_redis_pool *r, const struct rg_params *g,
				     const struct calcache_lifetimes *lt, const char *rcpt,
				     struct calcache_entry *e, int *up);

/* Store a VALID or INVALID result for rcpt (UNKNOWN is never stored). */
void vredis_cache_put(struct rg_redis_pool *r, const struct rg_params *g, const struct calcache_lifetimes *lt,
		      const char *rcpt, const struct callout_result *res);

/*
 * Harvest counter of client address addr (IP text): add == 0 asks whether
 * the client already has limit rejections within window_ms; add != 0
 * counts one more. Returns 1 at or over the limit (*count: the count),
 * 0 under, -1 when it cannot tell (limit 0, odd address, Redis failure).
 */
int vredis_harvest(struct rg_redis_pool *r, const struct rg_params *g, const char *addr, long long limit,
		   long long window_ms, int add, long long *count);

/* ms the cluster-wide down mark of hop has left, 0 if none (or Redis is silent). */
long long vredis_down_left(struct rg_redis_pool *r, const struct rg_params *g, const char *hop);

/* 1 when Redis answered that hop has no down mark (relayguardctl hop up removed it, or it expired). */
int vredis_down_cleared(struct rg_redis_pool *r, const struct rg_params *g, const char *hop);

/* Set hop's down mark for ms, unless one is set already. */
void vredis_down_set(struct rg_redis_pool *r, const struct rg_params *g, const char *hop, long long ms);

#endif
