/*
 * check_failpolicy - the -t warnings for fail-open choices on classes that
 * promise a check, and none where the class fails closed or has no check.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cfgtest.h"
#include "failpolicy.h"

/* Run the check on text; the output in buf, the count returned. */
static int
warn(const char *text, char *buf, size_t len)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load(text, &d);
	FILE *fp = fmemopen(buf, len, "w");
	int n;

	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_nonnull(fp);
	n = rg_failpolicy_warn(cfg, "prog", fp);
	fclose(fp);
	rg_config_unref(cfg);
	rg_diag_free(&d);
	return n;
}

START_TEST(test_defaults_quiet)
{
	char buf[4096] = "";

	/* nothing promised: nothing to warn about */
	ck_assert_int_eq(warn("", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_fail_open)
{
	char buf[4096] = "";

	ck_assert_int_eq(warn("premium_greylisting = yes\n"
			      "premium_spam_scan = yes\n"
			      "premium_recipient_callout = yes\n"
			      "premium_rate_limits = 500/1h\n"
			      "standard_spam_scan = yes\n"
			      "standard_spam_failure_action = tempfail\n",
			      buf, sizeof(buf)),
			 4);
	ck_assert_ptr_nonnull(strstr(buf, "prog: warning: class premium: greylisting = yes, but "
					  "policy_failure_action = dunno"));
	ck_assert_ptr_nonnull(strstr(buf, "class premium: rate limits are set"));
	ck_assert_ptr_nonnull(
	    strstr(buf, "class premium: spam_scan = yes, but spam_failure_action = accept"));
	ck_assert_ptr_nonnull(strstr(buf,
				     "class premium: recipient_callout = yes, but callout_unknown_action "
				     "= accept"));
	ck_assert_ptr_nonnull(strstr(buf, "callout_down_backoff = 300s"));
	ck_assert_ptr_null(strstr(buf, "class standard"));
}
END_TEST

START_TEST(test_fail_closed)
{
	char buf[4096] = "";

	ck_assert_int_eq(warn("policy_failure_action = defer_if_permit\n"
			      "greylisting = yes\n"
			      "spam_scan = yes\n"
			      "spam_failure_action = tempfail\n"
			      "recipient_callout = yes\n"
			      "callout_unknown_action = tempfail\n",
			      buf, sizeof(buf)),
			 0);
	/* a global choice reaches every class: one line per class */
	ck_assert_int_eq(warn("greylisting = yes\n", buf, sizeof(buf)), 2);
}
END_TEST

static Suite *
failpolicy_suite(void)
{
	Suite *s = suite_create("failpolicy");
	TCase *tc = tcase_create("failpolicy");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_add_test(tc, test_defaults_quiet);
	tcase_add_test(tc, test_fail_open);
	tcase_add_test(tc, test_fail_closed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(failpolicy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
