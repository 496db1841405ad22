/*
 * check_cidr - address and prefix parsing, masking, matching, text forms,
 * and prefix lists.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"

static struct rg_addr
addr(const char *s)
{
	struct rg_addr a;

	ck_assert_msg(rg_addr_parse(s, &a) == 0, "cannot parse %s", s);
	return a;
}

static struct rg_prefix
prefix(const char *s)
{
	struct rg_prefix p;
	char err[256];

	ck_assert_msg(rg_prefix_parse(s, &p, err, sizeof(err)) == 0, "%s: %s", s, err);
	return p;
}

START_TEST(test_addr_parse)
{
	static const char *const bad[] = {"",          "1.2.3",    "1.2.3.4.5",    "0x7f.0.0.1", "10.1",
					  "256.0.0.1", "::g",      "[::1",         "::1]",       "[]",
					  "1.2.3.4 ",  " 1.2.3.4", "fe80::1%eth0", "localhost",  "1.2.3.04x"};
	struct rg_addr a;
	char buf[64];
	size_t i;

	a = addr("192.0.2.1");
	ck_assert_int_eq(a.v4, 1);
	ck_assert_int_eq(a.b[10], 0xff);
	ck_assert_int_eq(a.b[12], 192);
	ck_assert_int_eq(a.b[15], 1);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "192.0.2.1");
	a = addr("2001:DB8::1");
	ck_assert_int_eq(a.v4, 0);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "2001:db8::1");
	a = addr("[2001:db8::1]");
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "2001:db8::1");
	a = addr("::ffff:192.0.2.1");
	ck_assert_int_eq(a.v4, 1);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "192.0.2.1");
	a = addr("[::ffff:c000:201]");
	ck_assert_int_eq(a.v4, 1);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "192.0.2.1");
	a = addr("::");
	ck_assert_int_eq(a.v4, 0);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "::");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rg_addr_parse(bad[i], &a) == -1, "accepted \"%s\"", bad[i]);
	{
		char longtext[200];

		memset(longtext, '1', sizeof(longtext) - 1);
		longtext[sizeof(longtext) - 1] = 0;
		ck_assert_int_eq(rg_addr_parse(longtext, &a), -1);
	}
}
END_TEST

START_TEST(test_prefix_parse)
{
	struct rg_prefix p;
	char err[256];

	p = prefix("192.0.2.0/24");
	ck_assert_int_eq(p.len, 120);
	ck_assert_int_eq(p.addr.v4, 1);
	ck_assert_int_eq(prefix("192.0.2.7").len, 128);
	ck_assert_int_eq(prefix("0.0.0.0/0").len, 96);
	ck_assert_int_eq(prefix("192.0.2.7/32").len, 128);
	ck_assert_int_eq(prefix("2001:db8::/32").len, 32);
	ck_assert_int_eq(prefix("[2001:db8::]/32").len, 32);
	ck_assert_int_eq(prefix("::/0").len, 0);
	ck_assert_int_eq(prefix("::1/128").len, 128);
	ck_assert_int_eq(prefix("::ffff:192.0.2.0/120").len, 120);
	ck_assert_int_eq(prefix("::ffff:192.0.2.0/120").addr.v4, 1);

	ck_assert_int_eq(rg_prefix_parse("192.0.2.1/24", &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "host bits set in \"192.0.2.1/24\" (network is 192.0.2.0/24)");
	ck_assert_int_eq(rg_prefix_parse("2001:db8::1/64", &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "host bits set in \"2001:db8::1/64\" (network is 2001:db8::/64)");
	ck_assert_int_eq(rg_prefix_parse("192.0.2.0/33", &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "bad prefix length in \"192.0.2.0/33\" (IPv4: 0..32)");
	ck_assert_int_eq(rg_prefix_parse("::/129", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_prefix_parse("::ffff:0.0.0.0/95", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_prefix_parse("192.0.2.0/", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_prefix_parse("192.0.2.0/+24", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_prefix_parse("192.0.2.0/ 24", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_prefix_parse("192.0.2.0/0x18", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_prefix_parse("192.0.2.0/24/1", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_prefix_parse("192.0.2.0/00024", &p, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_prefix_parse("/24", &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "bad address \"/24\"");
	ck_assert_int_eq(rg_prefix_parse("bad\001/8", &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "bad address \"bad?/8\""); /* sanitised */
}
END_TEST

START_TEST(test_mask_match)
{
	struct rg_prefix p = prefix("192.0.2.128/25");
	struct rg_addr a;
	char buf[64];

	ck_assert(rg_prefix_match(&p, &(struct rg_addr){0}) == 0);
	a = addr("192.0.2.200");
	ck_assert(rg_prefix_match(&p, &a));
	a = addr("192.0.2.127");
	ck_assert(!rg_prefix_match(&p, &a));
	a = addr("::ffff:192.0.2.129");
	ck_assert(rg_prefix_match(&p, &a));
	p = prefix("0.0.0.0/0");
	a = addr("203.0.113.1");
	ck_assert(rg_prefix_match(&p, &a));
	a = addr("2001:db8::1");
	ck_assert(!rg_prefix_match(&p, &a)); /* families do not mix */
	p = prefix("::/0");
	ck_assert(rg_prefix_match(&p, &a));
	a = addr("203.0.113.1");
	ck_assert(!rg_prefix_match(&p, &a));
	p = prefix("2001:db8:1:2::/63");
	a = addr("2001:db8:1:3::9");
	ck_assert(rg_prefix_match(&p, &a));
	a = addr("2001:db8:1:4::9");
	ck_assert(!rg_prefix_match(&p, &a));
	p = prefix("2001:db8::7");
	ck_assert(rg_prefix_match(&p, &(struct rg_addr){0}) == 0);
	a = addr("2001:db8::7");
	ck_assert(rg_prefix_match(&p, &a));

	a = addr("2001:db8:abcd:1234:5678::1");
	rg_addr_mask(&a, 52);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "2001:db8:abcd:1000::");
	a = addr("192.0.2.255");
	rg_addr_mask(&a, 96 + 20);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "192.0.0.0");
	rg_addr_mask(&a, 96);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "0.0.0.0");
	a = addr("2001:db8::1");
	rg_addr_mask(&a, 0);
	ck_assert_str_eq(rg_addr_text(&a, buf, sizeof(buf)), "::");
}
END_TEST

START_TEST(test_net_text)
{
	struct rg_addr a = addr("192.0.2.77");
	char buf[64];

	ck_assert_str_eq(rg_addr_net_text(&a, 24, 64, buf, sizeof(buf)), "192.0.2.0/24");
	ck_assert_str_eq(rg_addr_net_text(&a, 32, 64, buf, sizeof(buf)), "192.0.2.77/32");
	ck_assert_str_eq(rg_addr_net_text(&a, 0, 64, buf, sizeof(buf)), "0.0.0.0/0");
	ck_assert_str_eq(rg_addr_net_text(&a, 99, 64, buf, sizeof(buf)), "192.0.2.77/32"); /* clamped */
	a = addr("2001:db8:1:2:3:4:5:6");
	ck_assert_str_eq(rg_addr_net_text(&a, 24, 64, buf, sizeof(buf)), "2001:db8:1:2::/64");
	ck_assert_str_eq(rg_addr_net_text(&a, 24, 48, buf, sizeof(buf)), "2001:db8:1::/48");
	ck_assert_str_eq(rg_addr_net_text(&a, 24, 128, buf, sizeof(buf)), "2001:db8:1:2:3:4:5:6/128");
	a = addr("::ffff:198.51.100.9");
	ck_assert_str_eq(rg_addr_net_text(&a, 24, 64, buf, sizeof(buf)), "198.51.100.0/24");
	ck_assert_str_eq(rg_addr_net_text(&a, 24, 64, buf, 8), "198.51."); /* bounded */
}
END_TEST

START_TEST(test_cidrlist)
{
	struct rg_cidrlist *l = rg_cidrlist_new();
	struct rg_addr a;
	char err[256];

	a = addr("10.1.2.3");
	ck_assert(!rg_cidrlist_match(l, &a));
	ck_assert(!rg_cidrlist_match(NULL, &a));
	ck_assert_int_eq(rg_cidrlist_add(l, "127.0.0.0/8", err, sizeof(err)), 0);
	ck_assert_int_eq(rg_cidrlist_add(l, "::1", err, sizeof(err)), 0);
	ck_assert_int_eq(rg_cidrlist_add(l, "10.0.0.0/8", err, sizeof(err)), 0);
	ck_assert_int_eq(rg_cidrlist_add(l, "10.0.0.1/8", err, sizeof(err)), -1);
	for (int i = 0; i < 40; i++) {
		char net[32];

		snprintf(net, sizeof(net), "172.16.%d.0/24", i);
		ck_assert_int_eq(rg_cidrlist_add(l, net, err, sizeof(err)), 0);
	}
	ck_assert(rg_cidrlist_match(l, &a));
	a = addr("::1");
	ck_assert(rg_cidrlist_match(l, &a));
	a = addr("::2");
	ck_assert(!rg_cidrlist_match(l, &a));
	a = addr("172.16.39.1");
	ck_assert(rg_cidrlist_match(l, &a));
	a = addr("172.16.40.1");
	ck_assert(!rg_cidrlist_match(l, &a));
	rg_cidrlist_free(l);
	rg_cidrlist_free(NULL);
}
END_TEST

static Suite *
cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("cidr");

	tcase_add_test(tc, test_addr_parse);
	tcase_add_test(tc, test_prefix_parse);
	tcase_add_test(tc, test_mask_match);
	tcase_add_test(tc, test_net_text);
	tcase_add_test(tc, test_cidrlist);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cidr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
