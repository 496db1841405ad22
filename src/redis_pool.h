/*
 * redis_pool - the milter's Redis client: synchronous hiredis connections
 * in a small mutex-protected pool, for libmilter's one-thread-per-SMTP-
 * session model. Settings, AUTH/SELECT, scripts, backoff and the outage
 * log are rcore's (rcore.h); src/redis.c is the asynchronous client on the
 * same core.
 *
 * Every command is bounded by redis_connect_timeout and redis_timeout. A
 * connection that fails is closed; the server is then "down" and every
 * call fails at once, without a network wait, until the next attempt
 * (rcore's backoff). An outage is logged once when it starts and once
 * when it ends: callers treat a failure as "Redis knows nothing" (a cache
 * miss, no harvest count), never as a reason to refuse mail.
 *
 * Reload: rg_redis_pool_reconfigure switches to new settings at once;
 * calls already on the wire finish on their old connection, which is then
 * closed instead of being pooled.
 *
 * Contract: thread-safe; any number of threads may call at once (each
 * call takes an idle connection or opens one; at most RG_REDIS_POOL_MAX
 * stay open when idle).
 */
#ifndef RG_REDIS_POOL_H
#define RG_REDIS_POOL_H

#include <stddef.h>

#include <hiredis.h>

#include "config.h"
#include "rcore.h"

#define RG_REDIS_POOL_MAX 32

struct rg_redis_pool;

/* A pool for g's redis_* settings. */
struct rg_redis_pool *rg_redis_pool_new(const struct rg_params *g);
void rg_redis_pool_free(struct rg_redis_pool *r);

/* Apply g's redis_* settings if they differ (SIGHUP). Returns 1 if they did. */
int rg_redis_pool_reconfigure(struct rg_redis_pool *r, const struct rg_params *g);

/*
 * One command in argv form (argvlen may be NULL for C strings). Returns
 * the reply, which the caller frees with freeReplyObject, or NULL with err
 * (sanitised) when Redis was unreachable, timed out, or answered with an
 * error reply.
 */
redisReply *rg_redis_pool_command(struct rg_redis_pool *r, int argc, const char **argv, const size_t *argvlen,
				  char *err, size_t errlen);

/*
 * Run the Lua script body (static storage: its address names the script)
 * with keys argv[0..nkeys) and arguments argv[nkeys..argc). EVALSHA with
 * the SHA1 rcore computed, EVAL when Redis answers NOSCRIPT. Same return
 * rules as rg_redis_pool_command.
 */
redisReply *rg_redis_pool_eval(struct rg_redis_pool *r, const char *body, int nkeys, int argc,
			       const char **argv, const size_t *argvlen, char *err, size_t errlen);

/* 1 unless the server is currently believed down. */
int rg_redis_pool_up(struct rg_redis_pool *r);

/* The outage counters (rcore.h). */
void rg_redis_pool_stats(struct rg_redis_pool *r, struct rg_redis_stats *st);

#endif
