/*
 * check_callout_redis - the milter's Redis client (redis_pool: pooled synchronous
 * connections, scripts with the NOSCRIPT fallback, fail-fast outages) and
 * the callout's records on it (vredis: cache entries with their TTL,
 * garbage read as a miss, unknown never stored, harvest counting, the
 * cluster-wide down mark), on a private redis-server.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "rgtest_redis.h"
#include "redis_pool.h"
#include "../../milter/callout_redis.h"

static struct rgtest_redis srv;
static struct rg_params g;
static struct rg_redis_pool *mr;

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
params(const char *server)
{
	memset(&g, 0, sizeof(g));
	g.redis_server = server;
	g.redis_password = "";
	g.redis_connect_timeout = 500;
	g.redis_timeout = 500;
	g.redis_reconnect_max_backoff = 1000;
}

static void
test_start(void)
{
	redisContext *c = rgtest_redis_connect(&srv);
	redisReply *r;

	ck_assert_ptr_nonnull(c);
	r = redisCommand(c, "FLUSHALL");
	freeReplyObject(r);
	redisFree(c);
	params(srv.sock);
	mr = rg_redis_pool_new(&g);
}

static void
test_stop(void)
{
	rg_redis_pool_free(mr);
}

static const struct calcache_lifetimes lt = {.pos_expire = 31LL * 86400000,
					     .pos_refresh = 7LL * 86400000,
					     .neg_expire = 3LL * 86400000,
					     .neg_refresh = 3600000};

static long long
pttl(const char *key)
{
	char err[128];
	redisReply *r = rg_redis_pool_command(mr, 2, (const char *[]){"PTTL", key}, NULL, err, sizeof(err));
	long long v;

	ck_assert_ptr_nonnull(r);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

START_TEST(command_and_error_reply)
{
	char err[128] = "";
	redisReply *r =
	    rg_redis_pool_command(mr, 3, (const char *[]){"SET", "k", "v"}, NULL, err, sizeof(err));

	ck_assert_ptr_nonnull(r);
	freeReplyObject(r);
	r = rg_redis_pool_command(mr, 2, (const char *[]){"NOSUCHCOMMAND", "x"}, NULL, err, sizeof(err));
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err, "unknown command") != NULL, "err: %s", err);
	ck_assert_int_eq(rg_redis_pool_up(mr), 1); /* an error reply is not an outage */
}
END_TEST

START_TEST(script_survives_flush)
{
	static const char body[] = "return tonumber(ARGV[1]) + 1";
	char err[128] = "";
	redisReply *r;

	r = rg_redis_pool_eval(mr, body, 0, 1, (const char *[]){"41"}, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->integer, 42);
	freeReplyObject(r);
	r = rg_redis_pool_command(mr, 2, (const char *[]){"SCRIPT", "FLUSH"}, NULL, err, sizeof(err));
	freeReplyObject(r);
	/* EVALSHA gets NOSCRIPT; EVAL answers instead. */
	r = rg_redis_pool_eval(mr, body, 0, 1, (const char *[]){"1"}, NULL, err, sizeof(err));
	ck_assert_msg(r != NULL, "err: %s", err);
	ck_assert_int_eq(r->integer, 2);
	freeReplyObject(r);
}
END_TEST

START_TEST(outage_fails_fast)
{
	struct rg_redis_pool *dead;
	char err[128] = "";
	long long t0;

	params("127.0.0.1:1"); /* nothing listens there */
	dead = rg_redis_pool_new(&g);
	ck_assert_ptr_null(rg_redis_pool_command(dead, 1, (const char *[]){"PING"}, NULL, err, sizeof(err)));
	ck_assert_int_eq(rg_redis_pool_up(dead), 0);
	t0 = rg_mono_ms();
	for (int i = 0; i < 100; i++)
		ck_assert_ptr_null(
		    rg_redis_pool_command(dead, 1, (const char *[]){"PING"}, NULL, err, sizeof(err)));
	ck_assert_int_lt(rg_mono_ms() - t0, 200);
	ck_assert_msg(strstr(err, "unavailable") != NULL, "err: %s", err);
	rg_redis_pool_free(dead);
}
END_TEST

START_TEST(reconfigure)
{
	char err[256];
	redisReply *r;

	/* A reload to a server that is not there: new calls fail, fast... */
	params("127.0.0.1:1");
	ck_assert_int_eq(rg_redis_pool_reconfigure(mr, &g), 1);
	ck_assert_int_eq(rg_redis_pool_reconfigure(mr, &g), 0); /* the same again: nothing to do */
	ck_assert_ptr_null(rg_redis_pool_command(mr, 1, (const char *[]){"PING"}, NULL, err, sizeof(err)));
	/* ...and back: the next call works at once, no backoff left over. */
	params(srv.sock);
	ck_assert_int_eq(rg_redis_pool_reconfigure(mr, &g), 1);
	r = rg_redis_pool_command(mr, 1, (const char *[]){"PING"}, NULL, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	freeReplyObject(r);
	ck_assert_int_eq(rg_redis_pool_up(mr), 1);
}
END_TEST

START_TEST(replica_is_not_kept)
{
	char err[256];
	redisReply *r;

	/* The server becomes a replica (as after a failover): a write gets
	 * -READONLY, which is an outage of this server, not an answer. */
	r = rg_redis_pool_command(mr, 3, (const char *[]){"REPLICAOF", "127.0.0.1", "1"}, NULL, err,
				  sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	freeReplyObject(r);
	ck_assert_ptr_null(
	    rg_redis_pool_command(mr, 3, (const char *[]){"SET", "k", "v"}, NULL, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "READONLY", 8) == 0, "err: %s", err);
	ck_assert_int_eq(rg_redis_pool_up(mr), 0);
	/* It is the master again: after the backoff the pool uses it again. */
	{
		redisContext *c = rgtest_redis_connect(&srv);

		freeReplyObject(redisCommand(c, "REPLICAOF NO ONE"));
		redisFree(c);
	}
	rgtest_redis_sleep_ms(150);
	r = rg_redis_pool_command(mr, 3, (const char *[]){"SET", "k", "v"}, NULL, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	freeReplyObject(r);
	ck_assert_int_eq(rg_redis_pool_up(mr), 1);
}
END_TEST

START_TEST(stats_for_metrics)
{
	struct rg_redis_stats st;
	char err[256];
	redisReply *r;

	for (int i = 0; i < 3; i++) {
		r = rg_redis_pool_command(mr, 1, (const char *[]){"PING"}, NULL, err, sizeof(err));
		ck_assert_ptr_nonnull(r);
		freeReplyObject(r);
	}
	ck_assert_ptr_null(
	    rg_redis_pool_command(mr, 1, (const char *[]){"NOSUCHCOMMAND"}, NULL, err, sizeof(err)));
	rg_redis_pool_stats(mr, &st);
	ck_assert_int_eq((int)st.replies, 4);
	ck_assert_int_eq((int)st.error_replies, 1);
	ck_assert(st.latency_max_us > 0 && st.latency_us >= st.latency_max_us);
	ck_assert_int_eq(st.down, 0);
	ck_assert_str_eq(st.master, srv.sock);
}
END_TEST

START_TEST(cache_roundtrip)
{
	struct callout_result ok = {.verdict = CALLOUT_VALID, .code = 250, .reply = "250 2.1.5 Ok"};
	struct callout_result no = {
	    .verdict = CALLOUT_INVALID, .code = 550, .reply = "550 5.1.1 <bob@example.com>: User unknown"};
	struct callout_result unk = {.verdict = CALLOUT_UNKNOWN, .code = 450, .reply = "450 4.2.0 later"};
	struct calcache_entry e;
	char key[RKEYS_MAX];
	struct rkeys keys;
	int up;

	ck_assert_int_eq(vredis_cache_get(mr, &g, &lt, "alice@example.com", &e, &up), CALCACHE_MISS);
	ck_assert_int_eq(up, 1);
	vredis_cache_put(mr, &g, &lt, "alice@example.com", &ok);
	vredis_cache_put(mr, &g, &lt, "bob@example.com", &no);
	vredis_cache_put(mr, &g, &lt, "carol@example.com", &unk);
	ck_assert_int_eq(vredis_cache_get(mr, &g, &lt, "Alice@Example.com", &e, &up), CALCACHE_FRESH);
	ck_assert_int_eq(e.status, CALCACHE_VALID);
	ck_assert_int_eq(vredis_cache_get(mr, &g, &lt, "bob@example.com", &e, &up), CALCACHE_FRESH);
	ck_assert_int_eq(e.status, CALCACHE_INVALID);
	ck_assert_str_eq(e.reply, "550 5.1.1 <bob@example.com>: User unknown");
	ck_assert_int_eq(vredis_cache_get(mr, &g, &lt, "carol@example.com", &e, &up), CALCACHE_MISS);
	/* Each key lives as long as its expire time. */
	rkeys_from_params(&keys, &g);
	rkeys_callout(&keys, "alice@example.com", key, sizeof(key));
	ck_assert_int_gt(pttl(key), 30LL * 86400000);
	rkeys_callout(&keys, "bob@example.com", key, sizeof(key));
	ck_assert_int_le(pttl(key), 3LL * 86400000);
	/* Past the refresh time: stale. */
	struct calcache_lifetimes short_lt = lt;

	short_lt.neg_refresh = 1000;
	{
		char err[128];
		char val[128];
		redisReply *r;

		snprintf(val, sizeof(val), "bob@example.com\ni|%lld|550 old", rg_wall_ms() - 5000);
		r = rg_redis_pool_command(mr, 3, (const char *[]){"SET", key, val}, NULL, err, sizeof(err));
		freeReplyObject(r);
		ck_assert_int_eq(vredis_cache_get(mr, &g, &short_lt, "bob@example.com", &e, &up),
				 CALCACHE_STALE);
		/* An entry stored under bob's key for another address (a hash
		 * collision found on purpose) is a miss for bob. */
		snprintf(val, sizeof(val), "mallory@example.com\ni|%lld|550 planted", rg_wall_ms());
		r = rg_redis_pool_command(mr, 3, (const char *[]){"SET", key, val}, NULL, err, sizeof(err));
		freeReplyObject(r);
		ck_assert_int_eq(vredis_cache_get(mr, &g, &lt, "bob@example.com", &e, &up), CALCACHE_MISS);
		/* The old format without the address is a miss too. */
		snprintf(val, sizeof(val), "i|%lld|550 old format", rg_wall_ms());
		r = rg_redis_pool_command(mr, 3, (const char *[]){"SET", key, val}, NULL, err, sizeof(err));
		freeReplyObject(r);
		ck_assert_int_eq(vredis_cache_get(mr, &g, &lt, "bob@example.com", &e, &up), CALCACHE_MISS);
		/* Garbage written by anyone is a miss. */
		r = rg_redis_pool_command(mr, 3, (const char *[]){"SET", key, "x|garbage"}, NULL, err,
					  sizeof(err));
		freeReplyObject(r);
		ck_assert_int_eq(vredis_cache_get(mr, &g, &lt, "bob@example.com", &e, &up), CALCACHE_MISS);
		ck_assert_int_eq(up, 1);
	}
}
END_TEST

START_TEST(cache_without_redis)
{
	struct rg_redis_pool *dead;
	struct calcache_entry e;
	int up = 1;

	params("127.0.0.1:1");
	dead = rg_redis_pool_new(&g);
	ck_assert_int_eq(vredis_cache_get(dead, &g, &lt, "alice@example.com", &e, &up), CALCACHE_MISS);
	ck_assert_int_eq(up, 0);
	rg_redis_pool_free(dead);
}
END_TEST

START_TEST(harvest_counts)
{
	long long n;

	/* Under the limit until three rejections are counted. */
	ck_assert_int_eq(vredis_harvest(mr, &g, "203.0.113.5", 3, 60000, 0, &n), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(vredis_harvest(mr, &g, "203.0.113.5", 3, 60000, 1, &n), 0);
	ck_assert_int_eq(vredis_harvest(mr, &g, "203.0.113.5", 3, 60000, 0, &n), 1);
	ck_assert_int_eq(n, 3);
	/* Another client, and IPv6, count on their own. */
	ck_assert_int_eq(vredis_harvest(mr, &g, "2001:db8::5", 3, 60000, 0, &n), 0);
	/* Disabled, or not an address: cannot tell. */
	ck_assert_int_eq(vredis_harvest(mr, &g, "203.0.113.5", 0, 60000, 0, &n), -1);
	ck_assert_int_eq(vredis_harvest(mr, &g, "", 3, 60000, 0, &n), -1);
	ck_assert_int_eq(vredis_harvest(mr, &g, "1.2.3.4}{x", 3, 60000, 0, &n), -1);
}
END_TEST

START_TEST(down_mark)
{
	ck_assert_int_eq(vredis_down_left(mr, &g, "[192.0.2.1]:25"), 0);
	vredis_down_set(mr, &g, "[192.0.2.1]:25", 60000);
	ck_assert_int_gt(vredis_down_left(mr, &g, "[192.0.2.1]:25"), 50000);
	/* NX: a later, shorter mark does not shorten it. */
	vredis_down_set(mr, &g, "[192.0.2.1]:25", 1000);
	ck_assert_int_gt(vredis_down_left(mr, &g, "[192.0.2.1]:25"), 50000);
	ck_assert_int_eq(vredis_down_left(mr, &g, "[192.0.2.2]:25"), 0);
	ck_assert_int_eq(pttl("rg:cd:{[192.0.2.1]:25}") > 0, 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("vredis");
	TCase *tc = tcase_create("redis");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, suite_start, suite_stop);
	tcase_add_checked_fixture(tc, test_start, test_stop);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, command_and_error_reply);
	tcase_add_test(tc, script_survives_flush);
	tcase_add_test(tc, outage_fails_fast);
	tcase_add_test(tc, reconfigure);
	tcase_add_test(tc, stats_for_metrics);
	tcase_add_test(tc, replica_is_not_kept);
	tcase_add_test(tc, cache_roundtrip);
	tcase_add_test(tc, cache_without_redis);
	tcase_add_test(tc, harvest_counts);
	tcase_add_test(tc, down_mark);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
