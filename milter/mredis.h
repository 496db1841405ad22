/*
 * mredis - the milter's Redis client: synchronous hiredis connections in a
 * small mutex-protected pool, for libmilter's one-thread-per-SMTP-session
 * model (src/redis.c is the policy server's asynchronous client on its
 * event loop; the two share nothing but the redis_* parameters).
 *
 * Every command is bounded by redis_connect_timeout and redis_timeout. A
 * connection that fails is closed; the server is then "down" and every
 * call fails at once, without a network wait, until the next attempt:
 * after 100 ms, doubling up to redis_reconnect_max_backoff. An outage is
 * logged once when it starts and once when it ends, never per request:
 * callers treat a failure as "Redis knows nothing" (a cache miss, no
 * harvest count), never as a reason to refuse mail.
 *
 * Scripts: mredis_eval sends EVALSHA with the script's SHA1 (learnt by
 * SCRIPT LOAD on first use) and falls back to EVAL when Redis answers
 * NOSCRIPT (after a restart or failover).
 *
 * Contract: thread-safe; any number of threads may call at once (each
 * call takes an idle connection or opens one; at most MREDIS_POOL_MAX stay
 * open when idle). Settings are read once, at mredis_new.
 */
#ifndef RG_MILTER_MREDIS_H
#define RG_MILTER_MREDIS_H

#include <stddef.h>

#include <hiredis.h>

#include "config.h"

#define MREDIS_POOL_MAX 32

struct mredis;

/* A client for redis_server (host:port, [v6]:port, unix:/path or /path) with g's redis_* settings. */
struct mredis *mredis_new(const struct rg_params *g);
void mredis_free(struct mredis *r);

/*
 * One command in argv form (argvlen may be NULL for C strings). Returns
 * the reply, which the caller frees with freeReplyObject, or NULL with err
 * (sanitised) when Redis was unreachable, timed out, or answered with an
 * error reply.
 */
redisReply *mredis_command(struct mredis *r, int argc, const char **argv, const size_t *argvlen, char *err,
			   size_t errlen);

/*
 * Run the Lua script body (static storage: its address names the script)
 * with keys argv[0..nkeys) and arguments argv[nkeys..argc). Same return
 * rules as mredis_command.
 */
redisReply *mredis_eval(struct mredis *r, const char *body, int nkeys, int argc, const char **argv,
			const size_t *argvlen, char *err, size_t errlen);

/* The redis_server this client was made for (to notice a reload that changes it). */
const char *mredis_server(const struct mredis *r);

/* 1 unless the server is currently believed down. */
int mredis_up(struct mredis *r);

#endif
