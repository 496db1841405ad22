/*
 * check_redisaddr - the redis_server forms, and that a bad one is a
 * configuration error with file:line.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "redisaddr.h"

START_TEST(forms)
{
	struct rg_redis_addr a;
	char err[128];

	ck_assert_int_eq(rg_redis_addr_parse("unix:/run/redis/redis.sock", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.path, "/run/redis/redis.sock");
	ck_assert_int_eq(rg_redis_addr_parse("/tmp/r.sock", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.path, "/tmp/r.sock");
	ck_assert_int_eq(rg_redis_addr_parse("10.0.0.5:6380", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.host, "10.0.0.5");
	ck_assert_int_eq(a.port, 6380);
	ck_assert_int_eq(rg_redis_addr_parse("redis.example.net", &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.port, 6379);
	ck_assert_int_eq(rg_redis_addr_parse("[2001:db8::7]:6390", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.host, "2001:db8::7");
	ck_assert_int_eq(a.port, 6390);
	ck_assert_int_eq(rg_redis_addr_parse("[::1]", &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.port, 6379);
	ck_assert_int_eq(rg_redis_addr_parse("::1:6379", &a, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_redis_addr_parse("host:0", &a, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_redis_addr_parse("host:70000", &a, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_redis_addr_parse("host:63x", &a, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_redis_addr_parse(":6379", &a, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_redis_addr_parse("[::1", &a, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_redis_addr_parse("", &a, err, sizeof(err)), -1);
}
END_TEST

START_TEST(config_error)
{
	char dir[] = "/tmp/check_redisaddr.XXXXXX", path[256];
	struct rg_diag diag = {0};
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/relayguard.conf", dir);
	fp = fopen(path, "w");
	fprintf(fp, "# a typo an admin makes\nredis_server = 10.0.0.5:63790x\n");
	fclose(fp);
	ck_assert_ptr_null(rg_config_load(path, &diag));
	ck_assert_int_ge(diag.count, 1);
	ck_assert_msg(strstr(diag.msgs[0], "relayguard.conf:2:") != NULL, "got: %s", diag.msgs[0]);
	ck_assert_msg(strstr(diag.msgs[0], "redis_server") != NULL, "got: %s", diag.msgs[0]);
	rg_diag_free(&diag);
	unlink(path);
	rmdir(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("redisaddr");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, forms);
	tcase_add_test(tc, config_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
