/*
 * check_plog - policyd's log fields: queue id prefix, single-token actions.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plog.h"

START_TEST(actions)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"DUNNO", "action=dunno"},
	    {"OK", "action=ok"},
	    {"DEFER_IF_PERMIT 4.7.1 Greylisted, try again in 180 seconds",
	     "action=defer_if_permit code=450 dsn=4.7.1 text=\"Greylisted, try again in 180 seconds\""},
	    {"DEFER 4.3.0 Policy service temporarily unavailable",
	     "action=defer code=450 dsn=4.3.0 text=\"Policy service temporarily unavailable\""},
	    {"550 5.7.1 Client host [192.0.2.1] is \"dynamic\"",
	     "action=reject code=550 dsn=5.7.1 text=\"Client host [192.0.2.1] is \\\"dynamic\\\"\""},
	    {"450 4.7.25 no rDNS", "action=defer code=450 dsn=4.7.25 text=\"no rDNS\""},
	    {"452 over quota", "action=defer code=452 text=\"over quota\""},
	    {"PREPEND X-Greylist: delayed 3 seconds",
	     "action=prepend header=\"X-Greylist: delayed 3 seconds\""},
	    {"PREPEND", "action=prepend header=\"\""},
	    {"FILTER smtp:[x]\\y", "action=other text=\"FILTER smtp:[x]\\\\y\""},
	};
	char buf[700];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		plog_action(cases[i].in, buf, sizeof(buf));
		ck_assert_msg(strcmp(buf, cases[i].out) == 0, "%s -> %s, expected %s", cases[i].in, buf,
			      cases[i].out);
	}
	ck_assert_str_eq(plog_action_name("DEFER_IF_PERMIT x"), "defer_if_permit");
	ck_assert_str_eq(plog_action_name("552 5.3.4 big"), "reject");
	ck_assert_str_eq(plog_action_name("450 4.7.1 x"), "defer");
	ck_assert_str_eq(plog_action_name("dunno"), "dunno");
}
END_TEST

START_TEST(quoting)
{
	char buf[16];

	/* Cut, still closed, never an escape split in two. */
	plog_quote("aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", buf, sizeof(buf));
	ck_assert_str_eq(buf, "\"aaaaaaaaaaaaa\"");
	plog_quote("aaaaaaaaaaaa\"b", buf, sizeof(buf));
	ck_assert_str_eq(buf, "\"aaaaaaaaaaaa\"");
	plog_quote("a\r\nb\x80", buf, sizeof(buf));
	ck_assert_str_eq(buf, "\"a??b?\"");
	ck_assert_int_eq(buf[strlen(buf) - 1], '"');
}
END_TEST

START_TEST(queue_id)
{
	struct preq q;
	char buf[40], line[200];
	char err[64];

	preq_init(&q, 16, 4096);
	ck_assert_str_eq(plog_qid(&q, buf, sizeof(buf)), "NOQUEUE");
	snprintf(line, sizeof(line), "queue_id=4XyZ1abc");
	ck_assert_int_eq(preq_add_line(&q, line, strlen(line), err, sizeof(err)), 0);
	ck_assert_str_eq(plog_qid(&q, buf, sizeof(buf)), "4XyZ1abc");
	preq_reset(&q);
	/* Client-controlled bytes never reach the prefix. */
	snprintf(line, sizeof(line), "queue_id=AB: fake: x=\"y\"");
	ck_assert_int_eq(preq_add_line(&q, line, strlen(line), err, sizeof(err)), 0);
	ck_assert_str_eq(plog_qid(&q, buf, sizeof(buf)), "ABfakexy");
	preq_reset(&q);
	snprintf(line, sizeof(line), "queue_id=::::");
	ck_assert_int_eq(preq_add_line(&q, line, strlen(line), err, sizeof(err)), 0);
	ck_assert_str_eq(plog_qid(&q, buf, sizeof(buf)), "NOQUEUE");
	preq_reset(&q);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("plog");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, actions);
	tcase_add_test(tc, quoting);
	tcase_add_test(tc, queue_id);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
