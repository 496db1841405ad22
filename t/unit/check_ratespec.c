/*
 * check_ratespec - "count/window" rate-limit lists.
 */
#include <check.h>
#include <string.h>

#include "ratespec.h"

static int
parse(const char *const *words, int n, struct rg_rate *r, char *err, size_t errlen)
{
	struct rg_list l = {n, (char **)words};

	return rg_ratespec_parse(&l, r, err, errlen);
}

START_TEST(test_good)
{
	const char *w[] = {"500/1h", "5000/1d", "10/30", "3/m", "1/1w", "100/90s", NULL};
	struct rg_rate r[RG_RATE_MAX];
	char err[256];

	ck_assert_int_eq(parse(w, 6, r, err, sizeof(err)), 6);
	ck_assert_int_eq(r[0].count, 500);
	ck_assert_int_eq(r[0].window_ms, 3600000);
	ck_assert_int_eq(r[1].count, 5000);
	ck_assert_int_eq(r[1].window_ms, 86400000);
	ck_assert_int_eq(r[2].window_ms, 30000); /* bare number: seconds */
	ck_assert_int_eq(r[3].count, 3);
	ck_assert_int_eq(r[3].window_ms, 60000); /* "3/m" = 3/1m */
	ck_assert_int_eq(r[4].window_ms, 7 * 86400000LL);
	ck_assert_int_eq(r[5].window_ms, 90000);
	ck_assert_int_eq(parse(w, 0, r, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_bad)
{
	static const struct {
		const char *word, *msg;
	} bad[] = {
	    {"500", "bad rate limit \"500\" (use count/window, e.g. 500/1h)"},
	    {"/1h", "bad rate limit \"/1h\" (use count/window, e.g. 500/1h)"},
	    {"-1/1h", "bad rate limit \"-1/1h\" (use count/window, e.g. 500/1h)"},
	    {"0/1h", "bad count in rate limit \"0/1h\""},
	    {"5x/1h", "bad count in rate limit \"5x/1h\""},
	    {"99999999999999999999/1h", "bad count in rate limit \"99999999999999999999/1h\""},
	    {"500/1x", "bad window in rate limit \"500/1x\""},
	    {"500/", "bad rate limit \"500/\" (use count/window, e.g. 500/1h)"},
	    {"500/1h/2", "bad window in rate limit \"500/1h/2\""},
	    {"500/500ms", "window shorter than 1s in rate limit \"500/500ms\""},
	    {"500/0", "window shorter than 1s in rate limit \"500/0\""},
	};
	struct rg_rate r[RG_RATE_MAX];
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *w[] = {"10/1m", bad[i].word, NULL};

		ck_assert_int_eq(parse(w, 2, r, err, sizeof(err)), -1);
		ck_assert_str_eq(err, bad[i].msg);
	}
	{
		const char *w[] = {"1/1h", "2/1h", "3/1h", "4/1h", "5/1h",
				   "6/1h", "7/1h", "8/1h", "9/1h", NULL};

		ck_assert_int_eq(parse(w, 8, r, err, sizeof(err)), 8);
		ck_assert_int_eq(parse(w, 9, r, err, sizeof(err)), -1);
		ck_assert_str_eq(err, "more than 8 rate limits in one list");
	}
}
END_TEST

static Suite *
ratespec_suite(void)
{
	Suite *s = suite_create("ratespec");
	TCase *tc = tcase_create("ratespec");

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_bad);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratespec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
