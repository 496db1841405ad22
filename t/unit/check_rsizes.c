/*
 * check_rsizes - every kind of Redis key, made the way the daemons make it
 * (the real key functions, the real Lua scripts, the milter's cache
 * writer) on a private redis-server: each exists, has a TTL (no key lives
 * forever), holds its plain text where its name is hashed, and its MEMORY
 * USAGE is printed - the figures of relayguard.conf(5), REDIS DATA.
 * RG_SIZES_OUT=FILE also writes the table there.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greylist.h"
#include "lua_scripts.h"
#include "ratelimit.h"
#include "redis_pool.h"
#include "rgtest_redis.h"
#include "rkeys.h"
#include "../../milter/callout_redis.h"

static struct rgtest_redis srv;
static struct rg_params g, p;
static struct rg_redis_pool *pool;
static FILE *out;

static void
setup(void)
{
	ck_assert_msg(rgtest_redis_start(&srv) == 0, "cannot start redis-server");
	memset(&g, 0, sizeof(g));
	g.redis_server = srv.sock;
	g.redis_password = "";
	g.redis_connect_timeout = 1000;
	g.redis_timeout = 1000;
	g.redis_reconnect_max_backoff = 1000;
	g.redis_key_prefix = "rg:";
	g.redis_key_secret = "measuring";
	g.recipient_delimiter = "+";
	p = g;
	p.greylist_ipv4_prefix = 24;
	p.greylist_ipv6_prefix = 64;
	pool = rg_redis_pool_new(&g);
}

static void
teardown(void)
{
	rg_redis_pool_free(pool);
	rgtest_redis_stop(&srv);
}

static redisReply *
cmd(int argc, const char **argv)
{
	char err[256];
	redisReply *r = rg_redis_pool_command(pool, argc, argv, NULL, err, sizeof(err));

	ck_assert_msg(r != NULL, "%s: %s", argv[0], err);
	return r;
}

static long long
num(int argc, const char **argv)
{
	redisReply *r = cmd(argc, argv);
	long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -999;

	freeReplyObject(r);
	return v;
}

/* Check the key and print its size. */
static void
measure(const char *kind, const char *key, const char *note)
{
	long long bytes = num(3, (const char *[]){"MEMORY", "USAGE", key});
	long long ttl = num(2, (const char *[]){"PTTL", key});

	ck_assert_msg(bytes > 0, "%s: %s missing", kind, key);
	ck_assert_msg(ttl > 0, "%s: %s has no TTL (%lld)", kind, key, ttl);
	printf("%-26s %5lld bytes  %s  (%s)\n", kind, bytes, key, note);
	if (out)
		fprintf(out, "%s\t%lld\t%s\t%s\n", kind, bytes, key, note);
}

static void
greylist(const char *client, const char *sender, const char *rcpt, long long now, struct greylist_triplet *t)
{
	char snow[24], err[256];
	redisReply *r;

	ck_assert_int_eq(greylist_keys(&p, &g, client, sender, rcpt, t), 0);
	snprintf(snow, sizeof(snow), "%lld", now);
	/* greylist_check's arguments: delay 180 s, retry 1 d, lifetime 95 d, auto-whitelist after 5. */
	r = rg_redis_pool_eval(
	    pool, rg_lua_greylist, 2, 9,
	    (const char *[]){t->tkey, t->nkey, snow, "180", "86400", "8208000", "5", t->sender, t->rcpt},
	    NULL, err, sizeof(err));
	ck_assert_msg(r != NULL, "greylist.lua: %s", err);
	freeReplyObject(r);
}

START_TEST(every_kind)
{
	struct greylist_triplet t;
	struct ratelimit_call c;
	struct rg_rate rates[2] = {{500, 3600000}, {5000, 86400000}};
	struct rkeys k;
	char key[RKEYS_MAX], err[256];
	redisReply *r;
	long long t0 = 1700000000;
	long long n;

	out = getenv("RG_SIZES_OUT") ? fopen(getenv("RG_SIZES_OUT"), "w") : NULL;
	rkeys_from_params(&k, &g);

	/* Greylisting: a pending triplet, then the same one passed. */
	greylist("198.51.100.7", "newsletter+id123@mailer.example.net", "alice.smith@customer.example", t0,
		 &t);
	measure("greylist triplet, pending", t.tkey, "first seen, sender and recipient");
	r = cmd(3, (const char *[]){"HGET", t.tkey, "s"});
	ck_assert_str_eq(r->str, "newsletter@mailer.example.net"); /* readable: the admin sees who */
	freeReplyObject(r);
	greylist_triplet_free(&t);
	greylist("198.51.100.7", "newsletter+id123@mailer.example.net", "alice.smith@customer.example",
		 t0 + 200, &t);
	measure("greylist triplet, passed", t.tkey, "after the retry; lives for the whitelist lifetime");
	measure("auto-whitelist counter", t.nkey, "one per client network");
	greylist_triplet_free(&t);

	/* Rate limits of one subject, two limits (500/1h, 5000/1d): one message, then a busy subject. */
	ck_assert_int_eq(ratelimit_build(&c, "EVAL", rg_lua_ratelimit, "rg:", "client", "192.0.2.10",
					 RATELIMIT_ADD, t0 * 1000, 1, rates, 2, err, sizeof(err)),
			 0);
	freeReplyObject(cmd(c.argc, c.argv));
	rkeys_rate(&k, "client", "192.0.2.10", 500, 3600000, key, sizeof(key), err, sizeof(err));
	measure("rate limit, 1 bucket", key, "one limit of a subject after one message");
	for (int i = 1; i < 120; i++) {
		ck_assert_int_eq(ratelimit_build(&c, "EVAL", rg_lua_ratelimit, "rg:", "client", "192.0.2.10",
						 RATELIMIT_ADD, t0 * 1000 + i * 60000LL, 1, rates, 2, err,
						 sizeof(err)),
				 0);
		freeReplyObject(cmd(c.argc, c.argv));
	}
	measure("rate limit, 60 buckets", key, "one limit of a subject busy all window");
	rkeys_rate(&k, "client", "192.0.2.10", 5000, 86400000, key, sizeof(key), err, sizeof(err));
	measure("rate limit, 1d, 2 h busy", key, "the same subject's daily limit");

	/* The milter: callout cache entries, a hop-down mark, a harvest counter. */
	{
		struct calcache_lifetimes lt;
		struct callout_result ok = {.verdict = CALLOUT_VALID, .code = 250, .reply = "250 2.1.5 Ok"};
		struct callout_result no = {.verdict = CALLOUT_INVALID,
					    .code = 550,
					    .reply =
						"550 5.1.1 <bob.jones@customer.example>: Recipient address "
						"rejected: User unknown in virtual mailbox table"};
		long long cnt;

		lt.pos_expire = 31LL * 86400000;
		lt.pos_refresh = 7LL * 86400000;
		lt.neg_expire = 3LL * 86400000;
		lt.neg_refresh = 3600000;
		vredis_cache_put(pool, &g, &lt, "alice.smith@customer.example", &ok);
		rkeys_callout(&k, "alice.smith@customer.example", key, sizeof(key));
		measure("callout cache, valid", key, "the recipient and its verdict");
		vredis_cache_put(pool, &g, &lt, "bob.jones@customer.example", &no);
		rkeys_callout(&k, "bob.jones@customer.example", key, sizeof(key));
		measure("callout cache, invalid", key, "with the downstream's reply");
		vredis_down_set(pool, &g, "[mail.customer.example]:25", 30000);
		rkeys_hopdown(&k, "[mail.customer.example]:25", key, sizeof(key));
		measure("hop-down mark", key, "while a next hop fails");
		ck_assert_int_eq(vredis_harvest(pool, &g, "203.0.113.5", 20, 600000, 1, &cnt), 0);
		rkeys_harvest(&k, "203.0.113.5", 600000, key, sizeof(key));
		measure("harvest counter", key, "rejected recipients of one client");
	}
	n = num(1, (const char *[]){"DBSIZE"});
	ck_assert_int_eq(n, 8); /* nothing else was written */
	if (out)
		fclose(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rsizes");
	TCase *tc = tcase_create("sizes");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_kind);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
