/*
 * check_addr - sender normalising for greylist triplets.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

START_TEST(greynorm)
{
	static const struct {
		const char *in, *delims, *out;
	} cases[] = {
	    {"", "+", "<>"},
	    {"User@Example.COM", "+", "user@example.com"},
	    {"user+newsletter@example.com", "+", "user@example.com"},
	    {"user-list@example.com", "+-", "user@example.com"},
	    {"user+ext@example.com", "", "user+ext@example.com"},
	    {"+onlyext@example.com", "+", "+onlyext@example.com"},
	    {"prvs=1234abcd5e=bounce@example.com", "+", "bounce@example.com"},
	    {"msprvs1=17826Fbx=bounces-1@mail.example.com", "+", "bounces-1@mail.example.com"},
	    {"btv1==123abc==someone@example.com", "+", "someone@example.com"},
	    {"SRS0=HHH=TT=orig.example=alice@forwarder.example", "+", "alice@orig.example"},
	    {"SRS0+HHH=TT=orig.example=alice@forwarder.example", "+", "alice@orig.example"},
	    {"SRS1=HHH=first.example==HHH=TT=orig.example=bob@second.example", "+", "bob@orig.example"},
	    {"SRS0=broken@forwarder.example", "+", "srs0=broken@forwarder.example"},
	    {"postmaster", "+", "postmaster"},
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rg_addr_greynorm(cases[i].in, cases[i].delims, out, sizeof(out));
		ck_assert_msg(strcmp(out, cases[i].out) == 0, "%s -> %s, expected %s", cases[i].in, out,
			      cases[i].out);
	}
}
END_TEST

START_TEST(bounded)
{
	char big[2000], out[32];

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	big[1000] = '@';
	rg_addr_greynorm(big, "+", out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 31);
	ck_assert_str_eq(rg_addr_domain("a@b@c.example"), "c.example");
	ck_assert_ptr_null(rg_addr_domain("nodomain"));
}
END_TEST

START_TEST(overlong_domain)
{
	char d[400];

	ck_assert_int_eq(rg_addr_domain_overlong("example.com"), 0);
	ck_assert_int_eq(rg_addr_domain_overlong(""), 0);
	memset(d, 'a', 63);
	strcpy(d + 63, ".example.com");
	ck_assert_int_eq(rg_addr_domain_overlong(d), 0);
	memset(d, 'a', 64);
	strcpy(d + 64, ".example.com");
	ck_assert_int_eq(rg_addr_domain_overlong(d), 1);
	for (int i = 0; i < 300; i += 2)
		d[i] = 'a', d[i + 1] = '.';
	strcpy(d + 300, "com");
	ck_assert_int_eq(rg_addr_domain_overlong(d), 1);
	d[250] = 0; /* 250 bytes: "a.a. ... a." */
	ck_assert_int_eq(rg_addr_domain_overlong(d), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, greynorm);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, overlong_domain);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
