/*
 * check_rkeys - the Redis key names: the layout the daemons have always
 * written (existing data stays valid), networks, SCAN patterns, escaping.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rkeys.h"
#include "util.h"

static struct rkeys k;

static void
setup(void)
{
	char err[128];

	ck_assert_int_eq(rkeys_init(&k, "rg:", NULL, err, sizeof(err)), 0);
}

START_TEST(greylist)
{
	char key[RKEYS_MAX], other[RKEYS_MAX], net[80], want[80], big[3000], big2[3000];
	unsigned long long h;

	ck_assert_int_gt(rkeys_network("203.0.113.5", 24, 64, net, sizeof(net)), 0);
	ck_assert_str_eq(net, "203.0.113.0/24");
	ck_assert_int_gt(rkeys_greylist(&k, net, "bob@sender.test", "alice@example.com", key, sizeof(key)),
			 0);
	/* FNV-1a of sender NUL recipient, as the daemons have always written it */
	h = rg_hash64("bob@sender.test", 16, RG_HASH64_SEED);
	h = rg_hash64("alice@example.com", 17, h);
	snprintf(want, sizeof(want), "rg:g:{203.0.113.0/24}:%016llx", h);
	ck_assert_str_eq(key, want);
	rkeys_greylist(&k, net, "bob@sender.testalice", "@example.com", other, sizeof(other));
	ck_assert_str_ne(key, other);
	ck_assert_int_gt(rkeys_awl(&k, net, key, sizeof(key)), 0);
	ck_assert_str_eq(key, "rg:a:{203.0.113.0/24}");
	ck_assert_int_gt(rkeys_network("2001:db8:1:2::5", 24, 64, net, sizeof(net)), 0);
	ck_assert_str_eq(net, "2001:db8:1:2::/64");
	ck_assert_int_eq(rkeys_network("not-an-ip", 24, 64, net, sizeof(net)), -1);
	ck_assert_int_eq(rkeys_greylist(&k, "a}b", "x", "y", key, sizeof(key)), -1);
	/* long addresses: the whole text is hashed */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big2, big, sizeof(big));
	big2[2000] = 'y';
	rkeys_greylist(&k, "192.0.2.0/24", big, "a@b", key, sizeof(key));
	rkeys_greylist(&k, "192.0.2.0/24", big2, "a@b", other, sizeof(other));
	ck_assert_str_ne(key, other);
}
END_TEST

START_TEST(others)
{
	char buf[RKEYS_MAX], err[128];
	struct rkeys bad;

	ck_assert_int_gt(
	    rkeys_rate(&k, "client", "192.0.2.10", 3, 3600000, buf, sizeof(buf), err, sizeof(err)), 0);
	ck_assert_str_eq(buf, "rg:r:{client:192.0.2.10}:3/3600000");
	ck_assert_int_gt(rkeys_rate(&k, "sasl", "a b}{", 1, 1000, buf, sizeof(buf), err, sizeof(err)), 0);
	ck_assert_str_eq(buf, "rg:r:{sasl:a%20b%7D%7B}:1/1000");
	ck_assert_int_eq(rkeys_rate(&k, "Bad", "x", 1, 1, buf, sizeof(buf), err, sizeof(err)), -1);
	ck_assert_int_eq(rkeys_init(&bad, "r{g", NULL, err, sizeof(err)), -1);
	/* FNV-1a 64, letters folded: "a" is af63dc4c8601ec8c */
	ck_assert_int_gt(rkeys_callout(&k, "A", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:c:{}:af63dc4c8601ec8c");
	ck_assert_int_gt(rkeys_callout(&k, "Bob@Ex{}ample.COM", buf, sizeof(buf)), 0);
	ck_assert_int_eq(strncmp(buf, "rg:c:{ex__ample.com}:", 21), 0);
	ck_assert_int_gt(rkeys_harvest(&k, "192.0.2.1", 600000, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:h:{192.0.2.1}:600000");
	ck_assert_int_eq(rkeys_harvest(&k, "192.0.2.1}", 600000, buf, sizeof(buf)), -1);
	ck_assert_int_gt(rkeys_hopdown(&k, "[mx.{x}]:25", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:cd:{[mx._x_]:25}");
}
END_TEST

START_TEST(patterns)
{
	char buf[2 * RKEYS_MAX], err[128];
	struct rkeys g;

	ck_assert_int_gt(rkeys_greylist_pattern(&k, "192.0.2.0/24", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:g:{192.0.2.0/24}:*");
	ck_assert_int_gt(rkeys_rate_pattern(&k, "client", "192.0.2.10", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:r:{client:192.0.2.10}:*");
	ck_assert_int_gt(rkeys_kind_pattern(&k, "a", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:a:{*");
	ck_assert_int_gt(rkeys_callout_pattern(&k, "Ex?mple.com", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:c:{ex_mple.com}:*");
	ck_assert_int_eq(rkeys_init(&g, "r*[x]:", NULL, err, sizeof(err)), 0);
	ck_assert_int_gt(rkeys_kind_pattern(&g, "cd", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "r\\*\\[x\\]:cd:{*");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rkeys");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, greylist);
	tcase_add_test(tc, others);
	tcase_add_test(tc, patterns);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
