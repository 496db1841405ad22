/*
 * redis - one asynchronous Redis connection on a libevent loop, made safe to
 * build a mail service on: every command is answered within redis_timeout
 * (by Redis, or by an error), the connection is re-established by itself
 * with exponential backoff, and an outage is logged once, not per request.
 * Settings, setup commands, scripts, backoff and outage bookkeeping are
 * rcore's (rcore.h); src/redis_pool.c is the milter's client on that core.
 *
 * Scripts: register Lua bodies once (rg_redis_script_new); calls go out as
 * EVALSHA with the SHA1 rcore computed, and fall back to EVAL when Redis
 * answers NOSCRIPT (after a restart or failover), which re-caches it.
 *
 * Reload: rg_redis_reconfigure switches to new settings without failing
 * what is in flight: commands already sent finish on the old connection,
 * which is closed once they have (hiredis' graceful disconnect).
 *
 * Contract: single-threaded (the libevent loop's thread). Every callback
 * fires exactly once, never from inside rg_redis_eval itself (always from
 * the event loop), with either a reply (valid only during the callback; an
 * error reply is passed as err, not as reply) or err set. rg_redis_free
 * fires the pending callbacks with err "shutting down".
 */
#ifndef RG_REDIS_H
#define RG_REDIS_H

#include <event2/event.h>
#include <hiredis.h>

#include "config.h"
#include "rcore.h"

struct rg_redis;
struct rg_script;

typedef void (*rg_redis_cb)(const redisReply *reply, const char *err, void *arg);

/* Connect (asynchronously) using g's redis_* parameters (rcore_conf_init). */
struct rg_redis *rg_redis_new(struct event_base *base, const struct rg_params *g);
void rg_redis_free(struct rg_redis *r);

/* Apply g's redis_* settings if they differ (SIGHUP). Returns 1 if they did. */
int rg_redis_reconfigure(struct rg_redis *r, const struct rg_params *g);

/* Register a script body (static storage; not copied). NULL when too many. */
struct rg_script *rg_redis_script_new(struct rg_redis *r, const char *name, const char *body);

/* Run a script: argv[0..nkeys-1] are KEYS, the rest ARGV. */
void rg_redis_eval(struct rg_redis *r, struct rg_script *s, int nkeys, int argc, const char **argv,
		   const size_t *argvlen, rg_redis_cb cb, void *arg);

/* 1 while the connection is believed usable. */
int rg_redis_up(const struct rg_redis *r);

/* The outage counters (rcore.h). */
void rg_redis_stats(const struct rg_redis *r, struct rg_redis_stats *st);

#endif
