/*
 * check_rcore - the Redis core both clients share: SHA1 as Redis computes
 * a script's name (checked against a real redis-server's SCRIPT LOAD), the
 * setup commands, error classes, backoff, and the Sentinel replies
 * (get-master-addr-by-name, ROLE, +switch-master) including hostile ones.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis.h>

#include "rcore.h"
#include "rgtest_redis.h"
#include "sha1.h"
#include "util.h"

/* Our RESP formatting is byte for byte hiredis' own, and honest about room. */
START_TEST(resp_format_as_hiredis)
{
	char big[300];
	const char *av[] = {"EVALSHA", "", "a\r\nb\0c", big, "12345678901234567890"};
	size_t avl[] = {7, 0, 6, sizeof(big), 20};
	char *ref = NULL, buf[1024], small[16], num[24];
	int rlen;
	size_t n;

	memset(big, 'k', sizeof(big));
	rlen = redisFormatCommandArgv(&ref, 5, av, avl);
	ck_assert_int_gt(rlen, 0);
	n = rcore_resp_format(buf, sizeof(buf), 5, av, avl);
	ck_assert_uint_eq(n, (size_t)rlen);
	ck_assert_int_eq(memcmp(buf, ref, n), 0);
	/* too small: nothing past the room is written, the need is reported */
	memset(small, 'Z', sizeof(small));
	ck_assert_uint_eq(rcore_resp_format(small, 8, 5, av, avl), (size_t)rlen);
	for (size_t i = 8; i < sizeof(small); i++)
		ck_assert_int_eq(small[i], 'Z');
	free(ref);
	ck_assert_uint_eq(rcore_u64_text(num, 0), 1);
	ck_assert_str_eq(num, "0");
	ck_assert_uint_eq(rcore_u64_text(num, 18446744073709551615ULL), 20);
	ck_assert_str_eq(num, "18446744073709551615");
}
END_TEST

START_TEST(sha1_vectors)
{
	char hex[41], big[1000];

	ck_assert_str_eq(rg_sha1_hex("abc", 3, hex), "a9993e364706816aba3e25717850c26c9cd0d89d");
	ck_assert_str_eq(rg_sha1_hex("", 0, hex), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	ck_assert_str_eq(rg_sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex),
			 "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	memset(big, 'a', sizeof(big));
	ck_assert_str_eq(rg_sha1_hex(big, sizeof(big), hex), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}
END_TEST

START_TEST(sha1_as_redis)
{
	struct rgtest_redis srv;
	struct rcore_scripts reg = {0};
	static const char body[] = "return {KEYS[1], ARGV[1], \"\\n\"}\n";
	const struct rcore_script *s;
	redisContext *c;
	redisReply *rep;

	ck_assert_int_eq(rgtest_redis_start(&srv), 0);
	c = rgtest_redis_connect(&srv);
	ck_assert_ptr_nonnull(c);
	rep = redisCommand(c, "SCRIPT LOAD %s", body);
	ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
	s = rcore_script_get(&reg, "t", body);
	ck_assert_str_eq(s->sha, rep->str);
	ck_assert_ptr_eq(rcore_script_get(&reg, "t", body), s);
	freeReplyObject(rep);
	redisFree(c);
	rgtest_redis_stop(&srv);
}
END_TEST

START_TEST(setup_commands)
{
	struct rcore_conf c;
	struct rcore_setup s;
	struct rg_params g = {0};
	redisReply role = {0}, el = {0}, *els[1] = {&el};
	char err[128];

	g.redis_server = "127.0.0.1:6390";
	g.redis_password = "pw";
	g.redis_database = 3;
	g.redis_reconnect_max_backoff = 1000;
	rcore_conf_init(&c, &g, "x");
	ck_assert_str_eq(c.addr.host, "127.0.0.1");
	ck_assert_int_eq(c.addr.port, 6390);
	rcore_setup_build(&c, 1, &s);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.cmd[0].argv[0], "AUTH");
	ck_assert_str_eq(s.cmd[0].argv[1], "pw");
	ck_assert_str_eq(s.cmd[1].argv[1], "3");
	ck_assert_str_eq(s.cmd[2].argv[0], "ROLE");
	role.type = REDIS_REPLY_ARRAY;
	role.elements = 1;
	role.element = els;
	el.type = REDIS_REPLY_STRING;
	el.str = "slave";
	el.len = 5;
	ck_assert_int_eq(rcore_setup_check(&s, 2, &role, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not the master"));
	el.str = "master";
	el.len = 6;
	ck_assert_int_eq(rcore_setup_check(&s, 2, &role, err, sizeof(err)), 0);
	g.redis_password = "";
	g.redis_database = 0;
	rcore_conf_init(&c, &g, "x");
	rcore_setup_build(&c, 0, &s);
	ck_assert_int_eq(s.n, 0);
}
END_TEST

static redisReply
err_reply(const char *s)
{
	redisReply r = {0};

	r.type = REDIS_REPLY_ERROR;
	r.str = (char *)s;
	r.len = strlen(s);
	return r;
}

START_TEST(error_classes)
{
	redisReply r;

	r = err_reply("NOSCRIPT No matching script. Please use EVAL.");
	ck_assert_int_eq(rcore_error_class(&r), RCORE_ERR_NOSCRIPT);
	r = err_reply("READONLY You can't write against a read only replica.");
	ck_assert_int_eq(rcore_error_class(&r), RCORE_ERR_READONLY);
	ck_assert(rcore_error_rediscover(rcore_error_class(&r)));
	r = err_reply("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
	ck_assert_int_eq(rcore_error_class(&r), RCORE_ERR_MASTERDOWN);
	r = err_reply("LOADING Redis is loading the dataset in memory");
	ck_assert_int_eq(rcore_error_class(&r), RCORE_ERR_LOADING);
	r = err_reply("READONLYX no");
	ck_assert_int_eq(rcore_error_class(&r), RCORE_ERR_OTHER);
	r = err_reply("ERR wrong number of arguments");
	ck_assert(!rcore_error_rediscover(rcore_error_class(&r)));
	ck_assert_int_eq(rcore_error_class(NULL), RCORE_ERR_OTHER);
}
END_TEST

START_TEST(backoff_and_outage)
{
	struct rcore_conf c;
	struct rcore_health h;
	struct rg_params g = {0};
	struct rg_redis_stats st;

	g.redis_server = "127.0.0.1";
	g.redis_password = "";
	g.redis_reconnect_max_backoff = 500;
	rcore_conf_init(&c, &g, "testing");
	rcore_health_init(&h, &c);
	ck_assert_int_eq(rcore_backoff_next(&h), 100);
	ck_assert_int_eq(rcore_backoff_next(&h), 200);
	ck_assert_int_eq(rcore_backoff_next(&h), 400);
	ck_assert_int_eq(rcore_backoff_next(&h), 500);
	ck_assert_int_eq(rcore_backoff_next(&h), 500);
	ck_assert_int_eq(rcore_health_fail(&h, &c, "x"), 1);
	ck_assert_int_eq(rcore_health_fail(&h, &c, "x"), 0); /* logged once */
	rcore_health_affected(&h);
	rcore_health_affected(&h);
	rcore_health_stats(&h, &st);
	ck_assert_int_eq(st.down, 1);
	ck_assert_int_eq((int)st.affected, 2);
	ck_assert_int_eq((int)st.outages, 1);
	rcore_health_ok(&h, &c);
	rcore_health_stats(&h, &st);
	ck_assert_int_eq(st.down, 0);
	ck_assert_int_eq(rcore_backoff_next(&h), 100);
}
END_TEST

static redisReply
str_reply(const char *s)
{
	redisReply r = {0};

	r.type = REDIS_REPLY_STRING;
	r.str = (char *)s;
	r.len = strlen(s);
	return r;
}

START_TEST(sentinel_master_addr)
{
	redisReply host = str_reply("127.0.0.1"), port = str_reply("6381"), *els[2] = {&host, &port};
	redisReply arr = {0}, nil = {0}, e;
	struct rg_endpoint a;
	char err[128];

	arr.type = REDIS_REPLY_ARRAY;
	arr.elements = 2;
	arr.element = els;
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_int_eq(a.port, 6381);
	host = str_reply("2001:db8::1");
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.host, "2001:db8::1");
	/* Found by fuzzing: the address as the grammar reads it. "::1" is an
	 * IPv6 literal whose text reads back; "cafe" (hex letters) is a name
	 * to resolve, not a numeric host. */
	host = str_reply("::1");
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_str_eq(rg_endpoint_str(&a, err, sizeof(err)), "inet:[::1]:6381");
	host = str_reply("cafe");
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.literal, 0);
	host = str_reply("bad..name");
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), -1);
	host = str_reply("2001:db8::1");
	nil.type = REDIS_REPLY_NIL;
	ck_assert_int_eq(rcore_parse_master_addr(&nil, &a, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown master name");
	e = err_reply("ERR unknown command\r\nX");
	ck_assert_int_eq(rcore_parse_master_addr(&e, &a, err, sizeof(err)), -1);
	ck_assert_ptr_null(strchr(err, '\r'));
	e = err_reply("");
	ck_assert_int_eq(rcore_parse_master_addr(&e, &a, err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
	ck_assert_int_eq(rcore_parse_master_addr(NULL, &a, err, sizeof(err)), -1);
	host = str_reply("10.0.0.1\r\nSET");
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), -1);
	host = str_reply("10.0.0.1");
	port = str_reply("65536");
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), -1);
	port = str_reply("");
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), -1);
	arr.elements = 1;
	ck_assert_int_eq(rcore_parse_master_addr(&arr, &a, err, sizeof(err)), -1);
}
END_TEST

START_TEST(sentinel_switch_master)
{
	struct rg_endpoint a;
	const char *m = "mymaster 127.0.0.1 6379 127.0.0.1 6380";

	ck_assert_int_eq(rcore_parse_switch_master(m, strlen(m), "mymaster", &a), 0);
	ck_assert_str_eq(a.host, "127.0.0.1");
	ck_assert_int_eq(a.port, 6380);
	ck_assert_int_eq(rcore_parse_switch_master(m, strlen(m), "other", &a), -1);
	ck_assert_int_eq(rcore_parse_switch_master(m, 10, "mymaster", &a), -1);
	m = "mymaster 127.0.0.1 6379 127.0.0.1 6380 extra";
	ck_assert_int_eq(rcore_parse_switch_master(m, strlen(m), "mymaster", &a), -1);
	m = "mymaster 127.0.0.1 6379 127.0.0.1 x";
	ck_assert_int_eq(rcore_parse_switch_master(m, strlen(m), "mymaster", &a), -1);
}
END_TEST

START_TEST(role_reply)
{
	redisReply el = str_reply("sentinel"), *els[1] = {&el}, arr = {0};
	char err[64];

	arr.type = REDIS_REPLY_ARRAY;
	arr.elements = 1;
	arr.element = els;
	ck_assert_int_eq(rcore_parse_role(&arr, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "sentinel");
	el = str_reply("master");
	ck_assert_int_eq(rcore_parse_role(&arr, err, sizeof(err)), 1);
	/* Found by fuzzing: a NUL cut the comparison, so this was a master. */
	el.str = (char *)"master\0slave";
	el.len = 12;
	ck_assert_int_eq(rcore_parse_role(&arr, err, sizeof(err)), 0);
	arr.elements = 0;
	ck_assert_int_eq(rcore_parse_role(&arr, err, sizeof(err)), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rcore");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, resp_format_as_hiredis);
	tcase_add_test(tc, sha1_vectors);
	tcase_add_test(tc, sha1_as_redis);
	tcase_add_test(tc, setup_commands);
	tcase_add_test(tc, error_classes);
	tcase_add_test(tc, backoff_and_outage);
	tcase_add_test(tc, sentinel_master_addr);
	tcase_add_test(tc, sentinel_switch_master);
	tcase_add_test(tc, role_reply);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
