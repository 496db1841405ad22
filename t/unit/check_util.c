/*
 * check_util - rg_sb, the bounded string builder: exact text, numbers at
 * their limits, and an overflow that leaves a terminated prefix and -1.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

START_TEST(sb_builds)
{
	char buf[64], ref[64];
	struct rg_sb b;

	rg_sb_init(&b, buf, sizeof(buf));
	rg_sb_str(&b, "rg:r:{");
	rg_sb_num(&b, 0);
	rg_sb_mem(&b, "}:", 2);
	rg_sb_num(&b, LLONG_MIN);
	rg_sb_mem(&b, "/", 1);
	rg_sb_num(&b, LLONG_MAX);
	snprintf(ref, sizeof(ref), "rg:r:{%d}:%lld/%lld", 0, LLONG_MIN, LLONG_MAX);
	ck_assert_str_eq(buf, ref);
	ck_assert_int_eq(rg_sb_done(&b), (int)strlen(ref));
}
END_TEST

START_TEST(sb_overflow)
{
	char buf[8];
	struct rg_sb b;

	rg_sb_init(&b, buf, sizeof(buf));
	rg_sb_str(&b, "1234567"); /* exactly fills: 7 + NUL */
	ck_assert_int_eq(rg_sb_done(&b), 7);
	rg_sb_str(&b, "8");
	ck_assert_int_eq(rg_sb_done(&b), -1);
	ck_assert_str_eq(buf, "1234567");
	rg_sb_str(&b, ""); /* once over, stays over */
	ck_assert_int_eq(rg_sb_done(&b), -1);
	rg_sb_init(&b, buf, 0);
	ck_assert_int_eq(rg_sb_done(&b), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("sb");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, sb_builds);
	tcase_add_test(tc, sb_overflow);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
