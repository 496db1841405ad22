/*
 * check_spam_strip - counting the X-Spam-* headers a message brought:
 * any letter case is one name, other headers are not ours, more names
 * than we track overflow, and an overflow turns an accept into a 451
 * (never a reject or a tempfail into something else).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spam_strip.h"

START_TEST(counting)
{
	struct spam_strip s;

	memset(&s, 0, sizeof(s));
	ck_assert(spam_strip_empty(&s));
	ck_assert_int_eq(spam_strip_header(&s, "Subject"), 0);
	ck_assert_int_eq(spam_strip_header(&s, "X-Spam-Flag"), 1);
	ck_assert_int_eq(spam_strip_header(&s, "x-spam-flag"), 1);
	ck_assert_int_eq(spam_strip_header(&s, "X-Spam-Status"), 1);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(s.total, 3);
	ck_assert_int_eq(s.h[0].count, 2);
	ck_assert(!spam_strip_empty(&s) && !s.overflow);
}
END_TEST

START_TEST(overflow_guard)
{
	struct spam_strip s;
	struct scan_out out;
	char name[32];

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < SPAM_STRIP_NAMES + 3; i++) {
		snprintf(name, sizeof(name), "X-Spam-Forged%d", i);
		ck_assert_int_eq(spam_strip_header(&s, name), 1); /* kept from spamd either way */
	}
	ck_assert_int_eq(s.n, SPAM_STRIP_NAMES);
	ck_assert(s.overflow);
	memset(&out, 0, sizeof(out));
	out.action = SCAN_ACCEPT;
	spam_strip_guard(&s, &out);
	ck_assert_int_eq(out.action, SCAN_TEMPFAIL);
	ck_assert_str_eq(out.rcode, "451");
	out.action = SCAN_REJECT;
	strcpy(out.rcode, "550");
	spam_strip_guard(&s, &out);
	ck_assert_int_eq(out.action, SCAN_REJECT);
	ck_assert_str_eq(out.rcode, "550");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("spam_strip");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, counting);
	tcase_add_test(tc, overflow_guard);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
