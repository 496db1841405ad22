/*
 * check_ratelimit - the sliding-window script (src/lua/ratelimit.lua) run on
 * a private redis-server with explicit clocks, the keys and command the C
 * side builds, the reply reader, and the 450 text.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_scripts.h"
#include "util.h"
#include "rgtest_redis.h"
#include "ratelimit.h"

static struct rgtest_redis srv;
static redisContext *rc;
static char sha[64];

static void
suite_start(void)
{
	ck_assert_msg(rgtest_redis_start(&srv) == 0, "cannot start redis-server");
}

static void
suite_stop(void)
{
	rgtest_redis_stop(&srv);
}

static void
test_start(void)
{
	redisReply *r;

	ck_assert_ptr_nonnull(rc = rgtest_redis_connect(&srv));
	r = redisCommand(rc, "FLUSHALL");
	ck_assert_ptr_nonnull(r);
	freeReplyObject(r);
	r = redisCommand(rc, "SCRIPT LOAD %s", rg_lua_ratelimit);
	ck_assert_msg(r && r->type == REDIS_REPLY_STRING, "SCRIPT LOAD: %s", r ? r->str : "no reply");
	snprintf(sha, sizeof(sha), "%s", r->str);
	freeReplyObject(r);
}

static void
test_stop(void)
{
	redisFree(rc);
	rc = NULL;
}

/* One script call for subject client 192.0.2.10; returns 0 under, 1 over. */
static int
run(enum ratelimit_mode mode, long long now, long long incr, const struct rg_rate *rates, int n,
    struct ratelimit_result *res)
{
	struct ratelimit_call c;
	redisReply *r;
	char err[256];
	int v;

	ck_assert_int_eq(ratelimit_build(&c, "EVALSHA", sha, "rgt:", "client", "192.0.2.10", mode, now, incr,
					 rates, n, err, sizeof(err)),
			 0);
	r = redisCommandArgv(rc, c.argc, c.argv, c.argvlen);
	v = ratelimit_parse_reply(r, n, res, err, sizeof(err));
	ck_assert_msg(v >= 0, "%s", err);
	freeReplyObject(r);
	return v;
}

/* The policy's order: check, and add only what was admitted. 1 = admitted. */
static int
admit(long long now, const struct rg_rate *rates, int n)
{
	struct ratelimit_result res;

	if (run(RATELIMIT_CHECK, now, 1, rates, n, &res) != 0)
		return 0;
	ck_assert_int_eq(run(RATELIMIT_ADD, now, 1, rates, n, &res), 0);
	return 1;
}

static long long
redis_int(const char *fmt, const char *key)
{
	redisReply *r = redisCommand(rc, fmt, key);
	long long v;

	/* HGET answers a string, EXISTS/PTTL/HLEN an integer. */
	ck_assert_msg(r && (r->type == REDIS_REPLY_INTEGER || r->type == REDIS_REPLY_STRING), "%s %s", fmt,
		      key);
	v = r->type == REDIS_REPLY_INTEGER ? r->integer : atoll(r->str);
	freeReplyObject(r);
	return v;
}

static void
key_of(char *buf, const struct rg_rate *rate)
{
	char err[128];

	ck_assert_int_gt(
	    ratelimit_key(buf, RATELIMIT_KEY_MAX, "rgt:", "client", "192.0.2.10", rate, err, sizeof(err)), 0);
}

static void
assert_over(const struct ratelimit_result *res, int index, long long current, long long count,
	    long long window, long long retry)
{
	ck_assert_int_eq(res->index, index);
	ck_assert_int_eq(res->current, current);
	ck_assert_int_eq(res->count, count);
	ck_assert_int_eq(res->window_ms, window);
	ck_assert_int_eq(res->retry_after_ms, retry);
}

START_TEST(test_edges)
{
	struct rg_rate r5 = {5, 60000};
	struct ratelimit_result res;

	/* Exactly count are admitted... */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(admit(1000 + i * 1000, &r5, 1), 1);
	/* ...count+1 is refused; the oldest bucket (t=1s) frees a slot at 62s. */
	ck_assert_int_eq(run(RATELIMIT_CHECK, 6000, 1, &r5, 1, &res), 1);
	assert_over(&res, 1, 5, 5, 60000, 62000 - 6000);
	/* "add" counts anyway and reports the state after adding: 6 now, two must go. */
	ck_assert_int_eq(run(RATELIMIT_ADD, 6000, 1, &r5, 1, &res), 1);
	assert_over(&res, 1, 6, 5, 60000, 63000 - 6000);
}
END_TEST

START_TEST(test_increment)
{
	struct rg_rate r5 = {5, 60000};
	struct ratelimit_result res;

	/* A message with 5 recipients fits a 5-recipient limit, 6 never do. */
	ck_assert_int_eq(run(RATELIMIT_CHECK, 1000, 5, &r5, 1, &res), 0);
	ck_assert_int_eq(run(RATELIMIT_CHECK, 1000, 6, &r5, 1, &res), 1);
	assert_over(&res, 1, 0, 5, 60000, -1);
	ck_assert_int_eq(run(RATELIMIT_ADD, 1000, 3, &r5, 1, &res), 0);
	/* 3 counted: 2 more fit, 3 more wait until the bucket of t=1s ages out. */
	ck_assert_int_eq(run(RATELIMIT_CHECK, 2000, 2, &r5, 1, &res), 0);
	ck_assert_int_eq(run(RATELIMIT_CHECK, 2000, 3, &r5, 1, &res), 1);
	assert_over(&res, 1, 3, 5, 60000, 62000 - 2000);
}
END_TEST

START_TEST(test_sliding_no_double_burst)
{
	struct rg_rate r5 = {5, 60000};
	struct ratelimit_result res;

	/* 5 at t=59s. A clock-minute bucket would reset at 60s and take 5 more. */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(admit(59000, &r5, 1), 1);
	ck_assert_int_eq(run(RATELIMIT_CHECK, 61000, 1, &r5, 1, &res), 1);
	assert_over(&res, 1, 5, 5, 60000, 120000 - 61000);
	ck_assert_int_eq(run(RATELIMIT_CHECK, 119999, 1, &r5, 1, &res), 1);
	ck_assert_int_eq(res.retry_after_ms, 1);
	/* The t=59s bucket ([59s,60s)) leaves the window at 120s: all 5 free up. */
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(admit(120000, &r5, 1), 1);
	ck_assert_int_eq(admit(120000, &r5, 1), 0);
}
END_TEST

START_TEST(test_sliding_share)
{
	struct rg_rate r5 = {5, 60000};
	struct ratelimit_result res;

	ck_assert_int_eq(admit(10000, &r5, 1) + admit(10000, &r5, 1), 2);
	ck_assert_int_eq(admit(30000, &r5, 1) + admit(30000, &r5, 1) + admit(30000, &r5, 1), 3);
	ck_assert_int_eq(admit(40000, &r5, 1), 0);
	ck_assert_int_eq(admit(70999, &r5, 1), 0);
	/* At 71s only the two of t=10s have aged out: two more, not five. */
	ck_assert_int_eq(admit(71000, &r5, 1), 1);
	ck_assert_int_eq(admit(71500, &r5, 1), 1);
	ck_assert_int_eq(run(RATELIMIT_CHECK, 72000, 1, &r5, 1, &res), 1);
	assert_over(&res, 1, 5, 5, 60000, 91000 - 72000);
}
END_TEST

/* Random arrivals: no 60s span ever holds more than 5, and the limit is usable. */
START_TEST(test_sliding_property)
{
	struct rg_rate r5 = {5, 60000};
	long long t = 1000, got[2000];
	int n = 0;
	unsigned seed = 4711;

	for (int i = 0; i < 2000; i++) {
		t += rand_r(&seed) % 1500;
		if (admit(t, &r5, 1))
			got[n++] = t;
	}
	for (int i = 0; i < n; i++) {
		int in = 0;

		for (int j = 0; j <= i; j++)
			in += got[j] > got[i] - 60000;
		ck_assert_msg(in <= 5, "%d admitted in the 60s before %lld", in, got[i]);
	}
	/* A slot frees at most 1s (a bucket) + 1.5s (next arrival) after 60s. */
	ck_assert_int_ge(n, 5 * (int)(t / 62500));
}
END_TEST

START_TEST(test_several_limits)
{
	/*
	 * 500/1h & 5000/1d, scaled: 3 per 6s and 5 per 60s (buckets of 100ms
	 * and 1s). T0 is a multiple of both; now = 0 would mean Redis's clock.
	 */
	enum { T0 = 600000 };
	struct rg_rate rates[2] = {{3, 6000}, {5, 60000}};
	struct ratelimit_result res;
	char k1[RATELIMIT_KEY_MAX], k2[RATELIMIT_KEY_MAX];

	ck_assert_int_eq(admit(T0, rates, 2) + admit(T0 + 100, rates, 2) + admit(T0 + 200, rates, 2), 3);
	ck_assert_int_eq(run(RATELIMIT_CHECK, T0 + 300, 1, rates, 2, &res), 1);
	assert_over(&res, 1, 3, 3, 6000, 6100 - 300);
	/* The short limit frees up; the long one still counts everything. */
	ck_assert_int_eq(admit(T0 + 6100, rates, 2), 1);
	ck_assert_int_eq(admit(T0 + 6300, rates, 2), 1);
	ck_assert_int_eq(run(RATELIMIT_CHECK, T0 + 12500, 1, rates, 2, &res), 1);
	assert_over(&res, 2, 5, 5, 60000, 61000 - 12500);
	/* "add" counts against every limit, and names the first one over. */
	ck_assert_int_eq(run(RATELIMIT_ADD, T0 + 12500, 1, rates, 2, &res), 1);
	ck_assert_int_eq(res.index, 2);
	ck_assert_int_eq(res.current, 6);
	key_of(k1, &rates[0]);
	key_of(k2, &rates[1]);
	ck_assert_int_eq(redis_int("HGET %s 6125", k1), 1);
	ck_assert_int_eq(redis_int("HGET %s 612", k2), 1);
	/* A single add that pushes both over reports the first. */
	for (int i = 0; i < 3; i++)
		run(RATELIMIT_ADD, T0 + 12600, 1, rates, 2, &res);
	ck_assert_int_eq(res.index, 1);
	ck_assert_int_eq(res.current, 4);
}
END_TEST

START_TEST(test_ttl_and_cleanup)
{
	struct rg_rate rates[2] = {{5, 60000}, {5000, 86400000}};
	struct ratelimit_result res;
	char k1[RATELIMIT_KEY_MAX], k2[RATELIMIT_KEY_MAX];
	long long ttl;

	key_of(k1, &rates[0]);
	key_of(k2, &rates[1]);
	/* A check writes nothing. */
	ck_assert_int_eq(run(RATELIMIT_CHECK, 59500, 1, rates, 2, &res), 0);
	ck_assert_int_eq(redis_int("EXISTS %s", k1), 0);
	/* TTL: until the newest bucket ([59s,60s), 1d's [0,24m)) leaves the window. */
	ck_assert_int_eq(run(RATELIMIT_ADD, 59500, 1, rates, 2, &res), 0);
	ttl = redis_int("PTTL %s", k1);
	ck_assert_msg(ttl > 60500 - 1000 && ttl <= 60500, "ttl %lld", ttl);
	ttl = redis_int("PTTL %s", k2);
	ck_assert_msg(ttl > 87780500 - 1000 && ttl <= 87780500, "ttl %lld", ttl);
	/* Expired buckets are deleted as the script runs. */
	run(RATELIMIT_ADD, 60000, 1, rates, 2, &res);
	run(RATELIMIT_ADD, 61000, 1, rates, 2, &res);
	ck_assert_int_eq(redis_int("HLEN %s", k1), 3);
	ck_assert_int_eq(run(RATELIMIT_CHECK, 120500, 1, rates, 2, &res), 0);
	ck_assert_int_eq(redis_int("HLEN %s", k1), 2);
	ck_assert_int_eq(run(RATELIMIT_CHECK, 500000, 1, rates, 2, &res), 0);
	ck_assert_int_eq(redis_int("EXISTS %s", k1), 0);
	ck_assert_int_eq(redis_int("HLEN %s", k2), 1);
}
END_TEST

START_TEST(test_add_then_check)
{
	struct rg_rate r = {7, 10000};
	struct ratelimit_result res;

	for (int k = 1; k <= 7; k++) {
		ck_assert_int_eq(run(RATELIMIT_ADD, 1000 + k, 1, &r, 1, &res), 0);
		/* What is left fits exactly; one more does not, and check says how many are in. */
		if (k < 7)
			ck_assert_int_eq(run(RATELIMIT_CHECK, 1000 + k, 7 - k, &r, 1, &res), 0);
		ck_assert_int_eq(run(RATELIMIT_CHECK, 1000 + k, 8 - k, &r, 1, &res), 1);
		ck_assert_int_eq(res.current, k);
	}
	ck_assert_int_eq(run(RATELIMIT_ADD, 1010, 1, &r, 1, &res), 1);
	assert_over(&res, 1, 8, 7, 10000, 7 * 167 + 10000 - 1010);
}
END_TEST

START_TEST(test_redis_clock)
{
	struct rg_rate r = {5, 60000};
	struct ratelimit_result res;
	char key[RATELIMIT_KEY_MAX];
	redisReply *rep;
	long long ttl, bucket;

	ck_assert_int_eq(run(RATELIMIT_ADD, 0, 1, &r, 1, &res), 0);
	key_of(key, &r);
	ttl = redis_int("PTTL %s", key);
	ck_assert_msg(ttl > 59000 && ttl <= 61000, "ttl %lld", ttl);
	rep = redisCommand(rc, "HKEYS %s", key);
	ck_assert_int_eq(rep->type, REDIS_REPLY_ARRAY);
	ck_assert_int_eq(rep->elements, 1);
	bucket = atoll(rep->element[0]->str);
	freeReplyObject(rep);
	ck_assert_msg(llabs(bucket - rg_wall_ms() / 1000) <= 5, "bucket %lld", bucket);
}
END_TEST

START_TEST(test_eval_and_errors)
{
	struct rg_rate r = {5, 60000};
	struct ratelimit_call c;
	struct ratelimit_result res;
	redisReply *rep;
	char err[256];

	/* EVAL with the body works as EVALSHA does (the NOSCRIPT fallback). */
	ck_assert_int_eq(ratelimit_build(&c, "EVAL", rg_lua_ratelimit, "rgt:", "client", "192.0.2.10",
					 RATELIMIT_ADD, 1000, 1, &r, 1, err, sizeof(err)),
			 0);
	rep = redisCommandArgv(rc, c.argc, c.argv, c.argvlen);
	ck_assert_int_eq(ratelimit_parse_reply(rep, 1, &res, err, sizeof(err)), 0);
	freeReplyObject(rep);

	rep = redisCommand(rc, "EVALSHA %s 1 k bogus 0 1 5 60000", sha);
	ck_assert_int_eq(ratelimit_parse_reply(rep, 1, &res, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "mode must be check, add"));
	freeReplyObject(rep);
	rep = redisCommand(rc, "EVALSHA %s 1 k check 0 1 5", sha);
	ck_assert_int_eq(ratelimit_parse_reply(rep, 1, &res, err, sizeof(err)), -1);
	freeReplyObject(rep);
	rep = redisCommand(rc, "EVALSHA %s 1 k check 0 1 0 60000", sha);
	ck_assert_int_eq(ratelimit_parse_reply(rep, 1, &res, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "limit 1"));
	freeReplyObject(rep);
	rep = redisCommand(rc, "EVALSHA %s 1 k add -5 1 5 60000", sha);
	ck_assert_int_eq(ratelimit_parse_reply(rep, 1, &res, err, sizeof(err)), -1);
	freeReplyObject(rep);
}
END_TEST

START_TEST(test_keys_and_command)
{
	struct rg_rate rates[2] = {{500, 3600000}, {5000, 86400000}};
	struct ratelimit_call c;
	char key[RATELIMIT_KEY_MAX], err[128], big[700];

	ck_assert_int_gt(
	    ratelimit_key(key, sizeof(key), "rg:", "client", "192.0.2.10", &rates[0], err, sizeof(err)), 0);
	ck_assert_str_eq(key, "rg:r:{client:192.0.2.10}:500/3600000");
	ratelimit_key(key, sizeof(key), "rg:", "sender", "Joe Doe{x}%@example.com", &rates[1], err,
		      sizeof(err));
	ck_assert_str_eq(key, "rg:r:{sender:Joe%20Doe%7Bx%7D%25@example.com}:5000/86400000");
	ratelimit_key(key, sizeof(key), "", "client", "2001:db8::1", &rates[0], err, sizeof(err));
	ck_assert_str_eq(key, "r:{client:2001:db8::1}:500/3600000");
	ck_assert_int_eq(ratelimit_key(key, sizeof(key), "rg{", "client", "x", &rates[0], err, sizeof(err)),
			 -1);
	ck_assert_int_eq(ratelimit_key(key, sizeof(key), "rg:", "Client", "x", &rates[0], err, sizeof(err)),
			 -1);
	ck_assert_int_eq(ratelimit_key(key, 20, "rg:", "client", "192.0.2.10", &rates[0], err, sizeof(err)),
			 -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ck_assert_int_eq(ratelimit_key(key, sizeof(key), "rg:", "client", big, &rates[0], err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "subject longer"));

	ck_assert_int_eq(ratelimit_build(&c, "EVALSHA", "abc123", "rg:", "sasl", "alice", RATELIMIT_ADD, 1234,
					 3, rates, 2, err, sizeof(err)),
			 0);
	{
		const char *want[] = {"EVALSHA",
				      "abc123",
				      "2",
				      "rg:r:{sasl:alice}:500/3600000",
				      "rg:r:{sasl:alice}:5000/86400000",
				      "add",
				      "1234",
				      "3",
				      "500",
				      "3600000",
				      "5000",
				      "86400000"};

		ck_assert_int_eq(c.argc, 12);
		ck_assert_int_eq(c.nkeys, 2);
		for (int i = 0; i < 12; i++) {
			ck_assert_uint_eq(c.argvlen[i], strlen(want[i]));
			ck_assert_msg(memcmp(c.argv[i], want[i], c.argvlen[i]) == 0, "arg %d", i);
		}
	}
	ck_assert_int_eq(ratelimit_build(&c, "EVALSHA", "abc", "rg:", "sasl", "alice", RATELIMIT_CHECK, 0, 1,
					 rates, 0, err, sizeof(err)),
			 -1);
	ck_assert_int_eq(ratelimit_build(&c, "EVALSHA", "abc", "rg:", "sasl", big, RATELIMIT_CHECK, 0, 1,
					 rates, 2, err, sizeof(err)),
			 -1);
	{
		struct rg_rate many[RG_RATE_MAX];

		for (int i = 0; i < RG_RATE_MAX; i++)
			many[i] = (struct rg_rate){1000000000000LL + i, 31536000000LL};
		memset(big, 'b', 512);
		big[512] = 0;
		ck_assert_int_eq(ratelimit_build(&c, "EVALSHA", "abc", "rg:", "sender-domain", big,
						 RATELIMIT_CHECK, 1700000000000LL, 1, many, RG_RATE_MAX, err,
						 sizeof(err)),
				 0);
		ck_assert_int_eq(c.argc, 3 + RG_RATE_MAX + 3 + 2 * RG_RATE_MAX);
	}
}
END_TEST

START_TEST(test_parse_reply)
{
	redisReply e[5], *ep[5], arr, err_r;
	struct ratelimit_result res;
	char err[128];
	long long v[5] = {2, 501, 500, 3600000, 180000};

	for (int i = 0; i < 5; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].type = REDIS_REPLY_INTEGER;
		e[i].integer = v[i];
		ep[i] = &e[i];
	}
	memset(&arr, 0, sizeof(arr));
	arr.type = REDIS_REPLY_ARRAY;
	arr.element = ep;
	arr.elements = 5;
	ck_assert_int_eq(ratelimit_parse_reply(&arr, 2, &res, err, sizeof(err)), 1);
	assert_over(&res, 2, 501, 500, 3600000, 180000);
	ck_assert_int_eq(ratelimit_parse_reply(&arr, 1, &res, err, sizeof(err)),
			 -1); /* index past the limits */
	e[4].type = REDIS_REPLY_STRING;
	ck_assert_int_eq(ratelimit_parse_reply(&arr, 2, &res, err, sizeof(err)), -1);
	e[0].integer = 0;
	arr.elements = 1;
	ck_assert_int_eq(ratelimit_parse_reply(&arr, 2, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(res.index, 0);
	arr.elements = 0;
	ck_assert_int_eq(ratelimit_parse_reply(&arr, 2, &res, err, sizeof(err)), -1);
	ck_assert_int_eq(ratelimit_parse_reply(NULL, 2, &res, err, sizeof(err)), -1);
	memset(&err_r, 0, sizeof(err_r));
	err_r.type = REDIS_REPLY_ERROR;
	err_r.str = "NOSCRIPT No matching script\r\n";
	err_r.len = strlen(err_r.str);
	ck_assert_int_eq(ratelimit_parse_reply(&err_r, 2, &res, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "redis: NOSCRIPT No matching script??");
}
END_TEST

START_TEST(test_duration)
{
	static const struct {
		long long ms;
		int up;
		const char *want;
	} d[] = {
	    {3600000, 0, "1h"},  {86400000, 0, "1d"}, {5400000, 0, "1h30m"},   {45000, 0, "45s"},
	    {90000, 0, "1m30s"}, {179200, 1, "3m"},   {179200, 0, "2m59s"},    {3600001, 1, "1h1m"},
	    {59999, 1, "1m"},    {86399000, 1, "1d"}, {86399000, 0, "23h59m"}, {90061000, 0, "1d1h"},
	    {0, 1, "0s"},        {1, 1, "1s"},        {604800000, 0, "7d"},    {-5, 1, "0s"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		ck_assert_str_eq(ratelimit_duration(buf, sizeof(buf), d[i].ms, d[i].up), d[i].want);
}
END_TEST

START_TEST(test_reply_text)
{
	struct ratelimit_result res = {1, 500, 500, 3600000, 179200};
	char buf[512], small[20];

	ck_assert_str_eq(
	    ratelimit_reply_text(buf, sizeof(buf), &res, "message", "client", "192.0.2.10"),
	    "450 4.7.1 Rate limit exceeded: 500 messages per 1h for client 192.0.2.10, try again in 3m");
	res = (struct ratelimit_result){2, 1, 1, 86400000, 1};
	ck_assert_str_eq(
	    ratelimit_reply_text(buf, sizeof(buf), &res, "message", "SASL user", "alice"),
	    "450 4.7.1 Rate limit exceeded: 1 message per 1d for SASL user alice, try again in 1s");
	res = (struct ratelimit_result){1, 0, 100, 3600000, -1};
	ck_assert_str_eq(
	    ratelimit_reply_text(buf, sizeof(buf), &res, "recipient", "sender domain", "example.com"),
	    "450 4.7.1 Rate limit exceeded: 100 recipients per 1h for sender domain example.com, too many "
	    "recipients at once");
	/* Client text never brings a line break or a control byte into the reply. */
	res = (struct ratelimit_result){1, 6, 5, 60000, 30000};
	ratelimit_reply_text(buf, sizeof(buf), &res, "message", "sender domain",
			     "evil.example\r\n250 ok\x01");
	ck_assert_str_eq(buf, "450 4.7.1 Rate limit exceeded: 5 messages per 1m for sender domain "
			      "evil.example??250 ok?, try again in 30s");
	ratelimit_reply_text(small, sizeof(small), &res, "message", "client", "192.0.2.10");
	ck_assert_str_eq(small, "450 4.7.1 Rate limi");
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tr = tcase_create("redis");
	TCase *tc = tcase_create("pure");

	tcase_add_unchecked_fixture(tr, suite_start, suite_stop);
	tcase_add_checked_fixture(tr, test_start, test_stop);
	tcase_set_timeout(tr, 60);
	tcase_add_test(tr, test_edges);
	tcase_add_test(tr, test_increment);
	tcase_add_test(tr, test_sliding_no_double_burst);
	tcase_add_test(tr, test_sliding_share);
	tcase_add_test(tr, test_sliding_property);
	tcase_add_test(tr, test_several_limits);
	tcase_add_test(tr, test_ttl_and_cleanup);
	tcase_add_test(tr, test_add_then_check);
	tcase_add_test(tr, test_redis_clock);
	tcase_add_test(tr, test_eval_and_errors);
	suite_add_tcase(s, tr);
	tcase_add_test(tc, test_keys_and_command);
	tcase_add_test(tc, test_parse_reply);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_reply_text);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
