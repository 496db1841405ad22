/*
 * check_ratereserve - reservations in src/lua/ratelimit.lua (modes
 * reserve, commit, release) on a private redis-server with explicit
 * clocks: a transaction holds its place until it is counted or given back,
 * every limit of a subject at once, expiry of abandoned reservations, the
 * connection's previous transaction, and the commands ratelimit_build_tx
 * builds.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_scripts.h"
#include "ratelimit.h"
#include "rgtest_redis.h"
#include "util.h"

#define T0 1700000000000LL /* a fixed "now" in ms */
#define LIFE 600000LL /* reservation lifetime: 10 minutes */

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

/* One call for subject client 192.0.2.10 by transaction id/tag; 0 under, 1 over. */
static int
call(enum ratelimit_mode mode, long long now, long long incr, const struct rg_rate *rates, int n,
     const char *id, const char *tag, int per_rcpt, struct ratelimit_result *res)
{
	struct ratelimit_tx tx = {.id = id, .tag = tag, .per_rcpt = per_rcpt, .lifetime_ms = LIFE};
	struct ratelimit_call c;
	struct ratelimit_result dummy;
	redisReply *r;
	char err[256];
	int v;

	ck_assert_msg(ratelimit_build_tx(&c, "EVALSHA", sha, "rgt:", "client", "192.0.2.10", mode, now, incr,
					 rates, n, &tx, err, sizeof(err)) == 0,
		      "%s", err);
	r = redisCommandArgv(rc, c.argc, c.argv, c.argvlen);
	v = ratelimit_parse_reply(r, n, res ? res : &dummy, err, sizeof(err));
	ck_assert_msg(v >= 0, "%s", err);
	freeReplyObject(r);
	return v;
}

static int
reserve(long long now, const struct rg_rate *rates, int n, const char *id, const char *tag)
{
	return call(RATELIMIT_RESERVE, now, 1, rates, n, id, tag, 0, NULL);
}

/* Counted messages in the window of rate (sum of its buckets). */
static long long
counted(const struct rg_rate *rate)
{
	char key[RATELIMIT_KEY_MAX], err[128];
	redisReply *r;
	long long sum = 0;

	ck_assert_int_gt(
	    ratelimit_key(key, sizeof(key), "rgt:", "client", "192.0.2.10", rate, err, sizeof(err)), 0);
	r = redisCommand(rc, "HGETALL %s", key);
	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (strncmp(r->element[i]->str, "r:", 2) != 0) /* a bucket, not a reservation */
			sum += atoll(r->element[i + 1]->str);
	freeReplyObject(r);
	return sum;
}

/* Reservations held (fields "r:..." of the first limit's hash). */
static long long
held_in(const struct rg_rate *first)
{
	char key[RATELIMIT_KEY_MAX], err[128];
	redisReply *r;
	long long n = 0;

	ck_assert_int_gt(
	    ratelimit_key(key, sizeof(key), "rgt:", "client", "192.0.2.10", first, err, sizeof(err)), 0);
	r = redisCommand(rc, "HKEYS %s", key);
	ck_assert_ptr_nonnull(r);
	for (size_t i = 0; i < r->elements; i++)
		n += strncmp(r->element[i]->str, "r:", 2) == 0;
	freeReplyObject(r);
	return n;
}
#define held() held_in(&lim)

/* Twenty transactions at once against 10/1h: ten hold a place, ten hear 450. */
START_TEST(test_reserve_exact)
{
	struct rg_rate lim = {10, 3600000};
	struct ratelimit_result res;
	char id[64];
	int ok = 0;

	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "node|127.0.0.1:25|192.0.2.10:%d", 40000 + i);
		if (call(RATELIMIT_RESERVE, T0 + i, 1, &lim, 1, id, "inst", 0, &res) == 0)
			ok++;
		else {
			ck_assert_int_eq(res.index, 1);
			ck_assert_int_eq(res.current, 10); /* 0 counted + 10 reserved */
			ck_assert_int_eq(res.count, 10);
			/* only reservations are in the way: they end by their expiry */
			ck_assert_int_eq(res.retry_after_ms, LIFE - i);
		}
	}
	ck_assert_int_eq(ok, 10);
	ck_assert_int_eq(held(), 10);
	ck_assert_int_eq(counted(&lim), 0); /* nothing counted before the commit */
	/* The ten commit: counted, places given back, an eleventh still 450. */
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "node|127.0.0.1:25|192.0.2.10:%d", 40000 + i);
		ck_assert_int_eq(call(RATELIMIT_COMMIT, T0 + 100, 1, &lim, 1, id, "", 0, NULL), 0);
	}
	ck_assert_int_eq(counted(&lim), 10);
	ck_assert_int_eq(held(), 0);
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + 200, 1, &lim, 1, "late", "x", 0, &res), 1);
	ck_assert_int_eq(res.current, 10);
	/* now it is the counted messages: they leave the window after an hour */
	ck_assert_int_gt(res.retry_after_ms, 3600000 - 200 - 60000);
	ck_assert_int_le(res.retry_after_ms, 3600000 + 60000); /* + one bucket */
}
END_TEST

/* A refused or tempfailed message gives its place back at once, uncounted. */
START_TEST(test_release)
{
	struct rg_rate lim = {2, 3600000};

	ck_assert_int_eq(reserve(T0, &lim, 1, "a", "1"), 0);
	ck_assert_int_eq(reserve(T0, &lim, 1, "b", "1"), 0);
	ck_assert_int_eq(reserve(T0, &lim, 1, "c", "1"), 1);
	ck_assert_int_eq(call(RATELIMIT_RELEASE, T0 + 1, 0, &lim, 1, "a", "", 0, NULL), 0);
	ck_assert_int_eq(held(), 1);
	ck_assert_int_eq(reserve(T0 + 2, &lim, 1, "c", "1"), 0);
	ck_assert_int_eq(counted(&lim), 0);
	/* commit of nothing (every recipient refused) is a release */
	ck_assert_int_eq(call(RATELIMIT_COMMIT, T0 + 3, 0, &lim, 1, "b", "", 0, NULL), 0);
	ck_assert_int_eq(counted(&lim), 0);
	ck_assert_int_eq(held(), 1);
	/* releasing what is not held is harmless */
	ck_assert_int_eq(call(RATELIMIT_RELEASE, T0 + 4, 0, &lim, 1, "nobody", "", 0, NULL), 0);
	ck_assert_int_eq(held(), 1);
}
END_TEST

/* An abandoned session's reservation ends after its lifetime, by itself. */
START_TEST(test_expiry)
{
	struct rg_rate lim = {1, 3600000};
	char key[RATELIMIT_KEY_MAX], err[128];
	redisReply *r;

	ck_assert_int_eq(reserve(T0, &lim, 1, "gone", "1"), 0);
	ck_assert_int_eq(reserve(T0 + LIFE - 1, &lim, 1, "next", "1"), 1);
	ck_assert_int_eq(reserve(T0 + LIFE, &lim, 1, "next", "1"), 0);
	ck_assert_int_eq(held(), 1); /* the expired one was dropped */
	/* the hash (no buckets yet) expires with its last reservation */
	ck_assert_int_gt(
	    ratelimit_key(key, sizeof(key), "rgt:", "client", "192.0.2.10", &lim, err, sizeof(err)), 0);
	r = redisCommand(rc, "PTTL %s", key);
	ck_assert_int_gt(r->integer, LIFE - 1000);
	ck_assert_int_le(r->integer, LIFE);
	freeReplyObject(r);
	/* a late commit of the expired transaction still counts what was accepted */
	ck_assert_int_eq(call(RATELIMIT_COMMIT, T0 + LIFE + 5, 1, &lim, 1, "gone", "", 0, NULL), 0);
	ck_assert_int_eq(counted(&lim), 1);
	ck_assert_int_eq(held(), 1); /* "next" still holds its own */
}
END_TEST

/* Every limit of the subject at once: one that is full refuses, none is taken. */
START_TEST(test_several_limits)
{
	struct rg_rate lims[3] = {{5, 60000}, {3, 3600000}, {100, 86400000}};
	struct ratelimit_result res;
	char id[32];

	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		ck_assert_int_eq(call(RATELIMIT_RESERVE, T0, 1, lims, 3, id, "m", 0, NULL), 0);
	}
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0, 1, lims, 3, "t3", "m", 0, &res), 1);
	ck_assert_int_eq(res.index, 2);
	ck_assert_int_eq(res.count, 3);
	ck_assert_int_eq(res.window_ms, 3600000);
	ck_assert_int_eq(held_in(&lims[0]), 3);
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		ck_assert_int_eq(call(RATELIMIT_COMMIT, T0 + 10, 1, lims, 3, id, "", 0, NULL), 0);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(counted(&lims[i]), 3);
	/* after a minute the 1-minute limit has room, the hourly one still not */
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + 61000, 1, lims, 3, "t4", "m", 0, &res), 1);
	ck_assert_int_eq(res.index, 2);
}
END_TEST

/* unit = message: one slot per message whatever its recipients; unit =
 * recipient: one per RCPT, all or nothing against the limit. */
START_TEST(test_units)
{
	struct rg_rate lim = {3, 3600000};
	struct ratelimit_result res;

	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + i, 1, &lim, 1, "m", "msg1", 0, NULL), 0);
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0, 1, &lim, 1, "o1", "x", 0, NULL), 0);
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0, 1, &lim, 1, "o2", "x", 0, NULL), 0);
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0, 1, &lim, 1, "o3", "x", 0, NULL), 1);
	ck_assert_int_eq(call(RATELIMIT_RELEASE, T0, 0, &lim, 1, "o1", "", 0, NULL), 0);
	ck_assert_int_eq(call(RATELIMIT_RELEASE, T0, 0, &lim, 1, "o2", "", 0, NULL), 0);
	ck_assert_int_eq(call(RATELIMIT_RELEASE, T0, 0, &lim, 1, "m", "", 0, NULL), 0);
	/* per recipient: three RCPTs fit, the fourth is 450, the three commit as 3 */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + 10, 1, &lim, 1, "r", "msg2", 1, NULL), 0);
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + 10, 1, &lim, 1, "r", "msg2", 1, &res), 1);
	ck_assert_int_eq(res.current, 3);
	ck_assert_int_eq(call(RATELIMIT_COMMIT, T0 + 20, 3, &lim, 1, "r", "", 1, NULL), 0);
	ck_assert_int_eq(counted(&lim), 3);
	ck_assert_int_eq(held(), 0);
	{
		/* the counted buckets expire when they leave the window */
		char key[RATELIMIT_KEY_MAX], err[128];
		redisReply *r;

		ck_assert_int_gt(
		    ratelimit_key(key, sizeof(key), "rgt:", "client", "192.0.2.10", &lim, err, sizeof(err)),
		    0);
		r = redisCommand(rc, "PTTL %s", key);
		ck_assert_int_gt(r->integer, 3600000 - 60000);
		ck_assert_int_le(r->integer, 3600000 + 60000);
		freeReplyObject(r);
	}
}
END_TEST

/* The connection's previous transaction, never ended, is replaced by the
 * next one on the same connection; it does not hold a second place. */
START_TEST(test_next_transaction)
{
	struct rg_rate lim = {1, 3600000};

	ck_assert_int_eq(reserve(T0, &lim, 1, "conn", "msg1"), 0);
	ck_assert_int_eq(reserve(T0 + 1, &lim, 1, "conn", "msg1"), 0); /* its next RCPT */
	ck_assert_int_eq(reserve(T0 + 2, &lim, 1, "other", "m"), 1);
	ck_assert_int_eq(reserve(T0 + 3, &lim, 1, "conn", "msg2"), 0);
	ck_assert_int_eq(held(), 1);
	ck_assert_int_eq(reserve(T0 + 4, &lim, 1, "other", "m"), 1);
	/* a per-recipient transaction does not inherit the previous one's amount */
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + 5, 1, &lim, 1, "conn", "msg3", 1, NULL), 0);
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + 6, 1, &lim, 1, "conn", "msg3", 1, NULL), 1);
}
END_TEST

/* A reservation sees what is counted and what others hold, both. */
START_TEST(test_counted_and_reserved)
{
	struct rg_rate lim = {3, 3600000};
	struct ratelimit_result res;

	/* two counted (e.g. committed by another node) + one reserved = full */
	ck_assert_int_eq(call(RATELIMIT_COMMIT, T0, 2, &lim, 1, "x", "", 0, NULL), 0);
	ck_assert_int_eq(reserve(T0 + 1, &lim, 1, "a", "1"), 0);
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + 2, 1, &lim, 1, "b", "1", 0, &res), 1);
	ck_assert_int_eq(res.current, 3);
	/* counted ones free first: an hour after the commit */
	ck_assert_int_gt(res.retry_after_ms, 3600000 - 60000 - 2);
	ck_assert_int_le(res.retry_after_ms, 3600000 + 60000); /* + one bucket */
	/* a commit may go over: what was accepted is counted */
	ck_assert_int_eq(call(RATELIMIT_COMMIT, T0 + 3, 2, &lim, 1, "a", "", 0, &res), 0);
	ck_assert_int_eq(counted(&lim), 4);
	ck_assert_int_eq(call(RATELIMIT_RESERVE, T0 + 4, 1, &lim, 1, "b", "1", 0, &res), 1);
	ck_assert_int_eq(res.current, 4);
}
END_TEST

/* Malformed entries (someone wrote the hash by hand) are dropped, not trusted. */
START_TEST(test_garbage)
{
	struct rg_rate lim = {1, 3600000};
	char key[RATELIMIT_KEY_MAX], err[128];
	redisReply *r;

	ck_assert_int_gt(
	    ratelimit_key(key, sizeof(key), "rgt:", "client", "192.0.2.10", &lim, err, sizeof(err)), 0);
	r = redisCommand(rc, "HSET %s r:junk notanumber r:big 99999999:1:x", key);
	freeReplyObject(r);
	ck_assert_int_eq(reserve(T0, &lim, 1, "a", "1"), 0); /* expiry 1 is long past */
	ck_assert_int_eq(held(), 1);
}
END_TEST

START_TEST(test_build_tx)
{
	struct rg_rate lims[2] = {{10, 3600000}, {100, 86400000}};
	struct ratelimit_tx tx = {.id = "mx1|10.0.0.1:25|192.0.2.10:4711", .tag = "", .lifetime_ms = 600000};
	struct ratelimit_call c;
	char err[160], longid[RATELIMIT_ID_MAX + 2];

	ck_assert_int_eq(ratelimit_build_tx(&c, "EVALSHA", "sha", "rg:", "client", "192.0.2.10",
					    RATELIMIT_COMMIT, 0, 1, lims, 2, &tx, err, sizeof(err)),
			 0);
	ck_assert_int_eq(c.nkeys, 2);
	ck_assert_int_eq(c.argc, 3 + 2 + 3 + 4 + 4);
	ck_assert_str_eq(c.argv[3], "rg:r:{client:192.0.2.10}:10/3600000");
	ck_assert_str_eq(c.argv[4], "rg:r:{client:192.0.2.10}:100/86400000");
	ck_assert_str_eq(c.argv[5], "commit");
	ck_assert_str_eq(c.argv[12], "mx1|10.0.0.1:25|192.0.2.10:4711");
	ck_assert_str_eq(c.argv[13], "");
	ck_assert_str_eq(c.argv[14], "message");
	ck_assert_str_eq(c.argv[15], "600000");
	/* modes and transactions that do not go together */
	ck_assert_int_eq(ratelimit_build(&c, "EVALSHA", "sha", "rg:", "client", "x", RATELIMIT_RESERVE, 0, 1,
					 lims, 1, err, sizeof(err)),
			 -1);
	ck_assert_int_eq(ratelimit_build_tx(&c, "EVALSHA", "sha", "rg:", "client", "x", RATELIMIT_ADD, 0, 1,
					    lims, 1, &tx, err, sizeof(err)),
			 -1);
	tx.id = "";
	ck_assert_int_eq(ratelimit_build_tx(&c, "EVALSHA", "sha", "rg:", "client", "x", RATELIMIT_RESERVE, 0,
					    1, lims, 1, &tx, err, sizeof(err)),
			 -1);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	tx.id = longid;
	ck_assert_int_eq(ratelimit_build_tx(&c, "EVALSHA", "sha", "rg:", "client", "x", RATELIMIT_RESERVE, 0,
					    1, lims, 1, &tx, err, sizeof(err)),
			 -1);
}
END_TEST

/* The script refuses a reservation call without its transaction arguments. */
START_TEST(test_script_errors)
{
	redisReply *r = redisCommand(rc, "EVALSHA %s 1 k1 reserve 0 1 10 1000", sha);

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
	r = redisCommand(rc, "EVALSHA %s 1 k1 reserve 0 1 10 1000 id tag weekly 1000", sha);
	ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
	r = redisCommand(rc, "EVALSHA %s 1 k1 reserve 0 1 10 1000 id tag message 1000", sha);
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	freeReplyObject(r);
}
END_TEST

static Suite *
ratereserve_suite(void)
{
	Suite *s = suite_create("ratereserve");
	TCase *tr = tcase_create("redis");
	TCase *tc = tcase_create("pure");

	tcase_add_unchecked_fixture(tr, suite_start, suite_stop);
	tcase_add_checked_fixture(tr, test_start, test_stop);
	tcase_set_timeout(tr, 60);
	tcase_add_test(tr, test_reserve_exact);
	tcase_add_test(tr, test_release);
	tcase_add_test(tr, test_expiry);
	tcase_add_test(tr, test_several_limits);
	tcase_add_test(tr, test_units);
	tcase_add_test(tr, test_next_transaction);
	tcase_add_test(tr, test_counted_and_reserved);
	tcase_add_test(tr, test_garbage);
	tcase_add_test(tr, test_script_errors);
	suite_add_tcase(s, tr);
	tcase_add_test(tc, test_build_tx);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratereserve_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
