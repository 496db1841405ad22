/*
 * check_ratetx - the transaction id both daemons compute for one SMTP
 * connection (policy attributes and milter macros give the same parts),
 * what it refuses, and the subjects a message counts against, from a
 * configuration loaded as an admin writes it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest.h"
#include "ratetx.h"

START_TEST(test_id)
{
	char id[RATETX_ID_MAX];

	ck_assert_int_eq(
	    ratetx_id(id, sizeof(id), "MX1.example.net", "192.0.2.1", "25", "198.51.100.7", "40123"), 0);
	ck_assert_str_eq(id, "mx1.example.net|192.0.2.1:25|198.51.100.7:40123");
	/* the milter may see "IPv6:" where the policy server does not */
	ck_assert_int_eq(ratetx_id(id, sizeof(id), "mx1", "IPv6:2001:DB8::1", "25", "2001:db8::7", "5000"),
			 0);
	ck_assert_str_eq(id, "mx1|2001:db8::1:25|2001:db8::7:5000");
	/* missing or hostile parts: no id */
	ck_assert_int_eq(ratetx_id(id, sizeof(id), "mx1", "192.0.2.1", "25", "198.51.100.7", ""), -1);
	ck_assert_int_eq(ratetx_id(id, sizeof(id), "mx1", "192.0.2.1", "", "198.51.100.7", "1"), -1);
	ck_assert_int_eq(ratetx_id(id, sizeof(id), "", "192.0.2.1", "25", "198.51.100.7", "1"), -1);
	ck_assert_int_eq(ratetx_id(id, sizeof(id), "mx1", "192.0.2.1", "25", "198.51.100.7|x", "1"), -1);
	ck_assert_int_eq(ratetx_id(id, sizeof(id), "mx1", "192.0.2.1", "25", "198.51.100.7", "1\r\n"), -1);
	ck_assert_int_eq(ratetx_id(id, sizeof(id), "mx 1", "192.0.2.1", "25", "198.51.100.7", "1"), -1);
	ck_assert_int_eq(ratetx_id(id, sizeof(id), "mx1", "unknown", "25", "198.51.100.7", "1"), -1);
	ck_assert_int_eq(ratetx_id(id, 10, "mx1", "192.0.2.1", "25", "198.51.100.7", "1"), -1);
}
END_TEST

START_TEST(test_subjects)
{
	struct rg_diag d = {0};
	struct rg_config *cfg;
	const struct rg_entry *e;
	struct ratetx_subject s[RATETX_MAX_SUBJECTS];
	int n;

	t_write("domains", "example.com premium rate_limit_unit=recipient\nplain.test standard\n");
	t_write("clients", "192.0.2.10 premium\n");
	cfg = t_load("domain_table = domains\nclient_table = clients\n"
		     "premium_rate_limits = 500/1h, 5000/1d\n"
		     "premium_sasl_rate_limits = 100/1h\n"
		     "premium_sender_domain_rate_limits = 1000/1d\n"
		     "premium_inbound_rate_limits = 20/1m\n",
		     &d);
	ck_assert_ptr_nonnull(cfg);
	e = rg_config_client(cfg, "192.0.2.10");
	ck_assert_ptr_nonnull(e);
	n = ratetx_outbound(e->p, "192.0.2.10", "", "Info@Customer.Example", s, 0, RATETX_MAX_SUBJECTS);
	ck_assert_int_eq(n, 2); /* no SASL user: no SASL subject */
	ck_assert_str_eq(s[0].kind, "client");
	ck_assert_str_eq(s[0].subject, "192.0.2.10");
	ck_assert_int_eq(s[0].nrates, 2);
	ck_assert_int_eq(s[0].rates[1].count, 5000);
	ck_assert_int_eq(s[0].rates[1].window_ms, 86400000);
	ck_assert_str_eq(s[1].kind, "sender");
	ck_assert_str_eq(s[1].subject, "customer.example");
	ck_assert_int_eq(s[1].per_rcpt, 0);
	n = ratetx_outbound(e->p, "192.0.2.10", "Bob", "", s, 0, RATETX_MAX_SUBJECTS);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(s[1].kind, "sasl");
	ck_assert_str_eq(s[1].subject, "bob");
	/* the room is respected */
	ck_assert_int_eq(ratetx_outbound(e->p, "192.0.2.10", "bob", "a@b.test", s, 0, 2), 2);
	/* inbound: the domain's own settings, its unit */
	e = rg_config_domain(cfg, "example.com");
	n = ratetx_inbound(e->p, "Example.COM", s, 0, RATETX_MAX_SUBJECTS);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(s[0].kind, "domain");
	ck_assert_str_eq(s[0].subject, "example.com");
	ck_assert_int_eq(s[0].per_rcpt, 1);
	ck_assert_int_eq(s[0].rates[0].window_ms, 60000);
	/* a class without inbound limits adds nothing */
	e = rg_config_domain(cfg, "plain.test");
	ck_assert_int_eq(ratetx_inbound(e->p, "plain.test", s, 1, RATETX_MAX_SUBJECTS), 1);
	rg_config_unref(cfg);
	rg_diag_free(&d);
}
END_TEST

static Suite *
ratetx_suite(void)
{
	Suite *s = suite_create("ratetx");
	TCase *tc = tcase_create("ratetx");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_add_test(tc, test_id);
	tcase_add_test(tc, test_subjects);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratetx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
