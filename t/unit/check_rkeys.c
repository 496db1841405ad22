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

START_TEST(greylist)
{
	struct rg_gl_triplet t, u;
	char big[3000];

	ck_assert_int_eq(rg_key_greylist(&t, "rg:", "+", 24, 64, "203.0.113.5", "Bob+News@Sender.TEST",
					 "Alice@Example.com"),
			 0);
	ck_assert_str_eq(t.net, "203.0.113.0/24");
	ck_assert_str_eq(t.sender, "bob@sender.test");
	ck_assert_str_eq(t.rcpt, "alice@example.com");
	ck_assert_str_eq(t.netkey, "rg:a:{203.0.113.0/24}");
	ck_assert_int_eq(strncmp(t.key, "rg:g:{203.0.113.0/24}:", 22), 0);
	ck_assert_uint_eq(strlen(t.key), 22 + 16);
	/* the hash of sender NUL recipient, FNV-1a as before */
	{
		unsigned long long h = rg_hash64("bob@sender.test", 16, RG_HASH64_SEED);
		char want[64];

		h = rg_hash64("alice@example.com", 17, h);
		snprintf(want, sizeof(want), "rg:g:{203.0.113.0/24}:%016llx", h);
		ck_assert_str_eq(t.key, want);
	}
	/* a /24 neighbour shares it; the parts cannot slide into each other */
	rg_key_greylist(&u, "rg:", "+", 24, 64, "203.0.113.77", "bob@sender.test", "alice@example.com");
	ck_assert_str_eq(t.key, u.key);
	rg_key_greylist(&u, "rg:", "+", 24, 64, "203.0.113.77", "bob@sender.testalice", "@example.com");
	ck_assert_str_ne(t.key, u.key);
	ck_assert_int_eq(rg_key_greylist(&u, "rg:", "+", 24, 64, "2001:db8:1:2::5", "", "a@b"), 0);
	ck_assert_str_eq(u.net, "2001:db8:1:2::/64");
	ck_assert_str_eq(u.sender, "<>");
	ck_assert_int_eq(rg_key_greylist(&u, "rg:", "+", 24, 64, "not-an-ip", "a@b", "c@d"), -1);
	/* long addresses: whole in the hash, cut only for display */
	memset(big, 'x', sizeof(big) - 20);
	strcpy(big + sizeof(big) - 20, "@example.com");
	rg_key_greylist(&t, "rg:", "+", 24, 64, "192.0.2.1", big, "a@b");
	big[600] = 'y';
	rg_key_greylist(&u, "rg:", "+", 24, 64, "192.0.2.1", big, "a@b");
	ck_assert_str_ne(t.key, u.key);
	ck_assert_uint_eq(strlen(t.sender), sizeof(t.sender) - 1);
}
END_TEST

START_TEST(networks)
{
	char net[80];

	ck_assert_int_eq(rg_key_net("192.0.2.77", 24, 64, net, sizeof(net)), 0);
	ck_assert_str_eq(net, "192.0.2.0/24");
	ck_assert_int_eq(rg_key_net("192.0.2.0/24", 24, 64, net, sizeof(net)), 0);
	ck_assert_str_eq(net, "192.0.2.0/24");
	ck_assert_int_eq(rg_key_net("192.0.2.0/16", 24, 64, net, sizeof(net)), -1);
	ck_assert_int_eq(rg_key_net("2001:db8::1/64", 24, 64, net, sizeof(net)), 0);
	ck_assert_str_eq(net, "2001:db8::/64");
	ck_assert_int_eq(rg_key_net("example.com", 24, 64, net, sizeof(net)), -1);
	ck_assert_int_eq(rg_key_net("1.2.3.4/", 24, 64, net, sizeof(net)), -1);
}
END_TEST

START_TEST(patterns_and_others)
{
	char buf[RG_KEY_MAX], err[128];
	struct rg_rate r = {.count = 3, .window_ms = 3600000};

	ck_assert_str_eq(rg_key_pattern(buf, sizeof(buf), "rg:", "g", "192.0.2.0/24"),
			 "rg:g:{192.0.2.0/24}:*");
	ck_assert_str_eq(rg_key_pattern(buf, sizeof(buf), "rg:", "a", NULL), "rg:a:{*");
	ck_assert_str_eq(rg_key_pattern(buf, sizeof(buf), "r*[x]:", "cd", NULL), "r\\*\\[x\\]:cd:{*");
	ck_assert_str_eq(rg_key_pattern(buf, sizeof(buf), "rg:", "c", "ex?mple.com"),
			 "rg:c:{ex\\?mple.com}:*");
	ck_assert_int_gt(
	    rg_key_ratelimit(buf, sizeof(buf), "rg:", "client", "192.0.2.10", &r, err, sizeof(err)), 0);
	ck_assert_str_eq(buf, "rg:r:{client:192.0.2.10}:3/3600000");
	ck_assert_int_gt(rg_key_ratelimit(buf, sizeof(buf), "rg:", "sasl", "a b}{", NULL, err, sizeof(err)),
			 0);
	ck_assert_str_eq(buf, "rg:r:{sasl:a%20b%7D%7B}:");
	ck_assert_int_eq(rg_key_ratelimit(buf, sizeof(buf), "r{g", "sasl", "x", NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(rg_key_callout(buf, sizeof(buf), "rg:", "Bob@Ex{}ample.COM"));
	ck_assert_int_eq(strncmp(buf, "rg:c:{ex__ample.com}:", 21), 0);
	ck_assert_int_gt(rg_key_harvest(buf, sizeof(buf), "rg:", "192.0.2.1", 600000), 0);
	ck_assert_str_eq(buf, "rg:h:{192.0.2.1}:600000");
	ck_assert_int_eq(rg_key_harvest(buf, sizeof(buf), "rg:", "192.0.2.1}", 600000), -1);
	ck_assert_str_eq(rg_key_hopdown(buf, sizeof(buf), "rg:", "[mx.{x}]:25"), "rg:cd:{[mx._x_]:25}");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rkeys");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, greylist);
	tcase_add_test(tc, networks);
	tcase_add_test(tc, patterns_and_others);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
