/*
 * vredis - see callout_redis.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lua_scripts.h"
#include "util.h"
#include "callout_redis.h"

void
vredis_lifetimes(const struct rg_params *p, struct calcache_lifetimes *lt)
{
	lt->pos_expire = p->callout_positive_expire;
	lt->pos_refresh = p->callout_positive_refresh;
	lt->neg_expire = p->callout_negative_expire;
	lt->neg_refresh = p->callout_negative_refresh;
}

enum calcache_state
vredis_cache_get(struct rg_redis_pool *r, const struct rg_params *g, const struct calcache_lifetimes *lt,
		 const char *rcpt, struct calcache_entry *e, int *up)
{
	char key[RKEYS_MAX], err[256];
	enum calcache_state st = CALCACHE_MISS;
	redisReply *rep;
	struct rkeys k;

	*up = 0;
	rkeys_from_params(&k, g);
	if (rkeys_callout(&k, rcpt, key, sizeof(key)) < 0)
		return CALCACHE_MISS;
	if ((rep = rg_redis_pool_command(r, 2, (const char *[]){"GET", key}, NULL, err, sizeof(err))) == NULL)
		return CALCACHE_MISS;
	*up = 1;
	/* Anything but our exact format, or another recipient's value, is
	 * garbage: a miss, overwritten by the next answer (callout_cache.h). */
	if (rep->type == REDIS_REPLY_STRING && calcache_value_parse(rep->str, rep->len, rcpt, e) == 0)
		st = calcache_decide(e, rg_wall_ms(), lt);
	freeReplyObject(rep);
	return st;
}

void
vredis_cache_put(struct rg_redis_pool *r, const struct rg_params *g, const struct calcache_lifetimes *lt,
		 const char *rcpt, const struct callout_result *res)
{
	struct calcache_entry e;
	char key[RKEYS_MAX], val[CALCACHE_STORED_MAX], ttl[24], err[256];
	redisReply *rep;
	int n;
	struct rkeys k;

	if (calcache_from_verdict(&e, res->verdict, res->reply, rg_wall_ms()) < 0 ||
	    (rkeys_from_params(&k, g), rkeys_callout(&k, rcpt, key, sizeof(key))) < 0 ||
	    (n = calcache_value_format(&e, rcpt, val, sizeof(val))) < 0)
		return;
	snprintf(ttl, sizeof(ttl), "%lld", calcache_ttl_ms(&e, lt));
	rep = rg_redis_pool_command(r, 5, (const char *[]){"SET", key, val, "PX", ttl},
				    (const size_t[]){3, strlen(key), (size_t)n, 2, strlen(ttl)}, err,
				    sizeof(err));
	if (rep)
		freeReplyObject(rep);
}

int
vredis_harvest(struct rg_redis_pool *r, const struct rg_params *g, const char *addr, long long limit,
	       long long window_ms, int add, long long *count)
{
	char key[RKEYS_MAX], lim[24], win[24], err[256];
	const char *argv[6];
	redisReply *rep;
	int rc = -1;
	struct rkeys k;

	*count = 0;
	rkeys_from_params(&k, g);
	if (limit <= 0 || window_ms <= 0 || rkeys_harvest(&k, addr, window_ms, key, sizeof(key)) < 0)
		return -1;
	snprintf(lim, sizeof(lim), "%lld", limit);
	snprintf(win, sizeof(win), "%lld", window_ms);
	argv[0] = key;
	/* check with increment 1: would one more rejection go over, i.e. are there limit already? */
	argv[1] = add ? "add" : "check";
	argv[2] = "0"; /* Redis' clock, the same for every node */
	argv[3] = "1";
	argv[4] = lim;
	argv[5] = win;
	if ((rep = rg_redis_pool_eval(r, rg_lua_ratelimit, 1, 6, argv, NULL, err, sizeof(err))) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER) {
		rc = rep->element[0]->integer != 0;
		if (rc && rep->elements >= 2 && rep->element[1]->type == REDIS_REPLY_INTEGER)
			*count = rep->element[1]->integer;
	}
	freeReplyObject(rep);
	return rc;
}

/* A one-key command on hop's down mark: 0 and its integer reply in *v, or -1. */
static int
vr_hop_int(struct rg_redis_pool *r, const struct rg_params *g, const char *cmd, const char *hop, long long *v)
{
	char key[RKEYS_MAX], err[256];
	redisReply *rep;
	struct rkeys k;
	int rc = -1;

	rkeys_from_params(&k, g);
	if (rkeys_hopdown(&k, hop, key, sizeof(key)) < 0)
		return -1;
	if ((rep = rg_redis_pool_command(r, 2, (const char *[]){cmd, key}, NULL, err, sizeof(err))) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_INTEGER) {
		*v = rep->integer;
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

long long
vredis_down_left(struct rg_redis_pool *r, const struct rg_params *g, const char *hop)
{
	long long left;

	return vr_hop_int(r, g, "PTTL", hop, &left) == 0 && left > 0 ? left : 0;
}

int
vredis_down_cleared(struct rg_redis_pool *r, const struct rg_params *g, const char *hop)
{
	long long n;

	/* Redis unreachable: not known to be cleared */
	return vr_hop_int(r, g, "EXISTS", hop, &n) == 0 && n == 0;
}

void
vredis_down_set(struct rg_redis_pool *r, const struct rg_params *g, const char *hop, long long ms)
{
	char key[RKEYS_MAX], v[24], err[256];
	redisReply *rep;
	struct rkeys k;

	rkeys_from_params(&k, g);
	if (ms <= 0 || rkeys_hopdown(&k, hop, key, sizeof(key)) < 0)
		return;
	snprintf(v, sizeof(v), "%lld", ms);
	rep = rg_redis_pool_command(r, 6, (const char *[]){"SET", key, "1", "PX", v, "NX"}, NULL, err,
				    sizeof(err));
	if (rep)
		freeReplyObject(rep);
}
