/*
 * check_spam_lists - what a recipient's sender lists do to the settings
 * the spam scan uses: allow switches spam_reject off, deny makes every
 * score spam (and refuses where the class rejects), the recipient's scores
 * replace the class's, and nothing listed leaves the class's settings.
 */
#include <check.h>
#include <stdlib.h>

#include "spam_lists.h"

START_TEST(apply)
{
	struct rg_params p = {0}, eff;
	struct rg_slist_res none = {0}, allow = {.verdict = RG_SLIST_ALLOW},
			    deny = {.verdict = RG_SLIST_DENY},
			    scores = {.has_tag = 1, .tag = 2.5, .has_reject = 1, .reject = 8};
	const struct rg_params *r;

	p.spam_reject = 1;
	p.spam_tag_score = 4;
	p.spam_reject_score = 15;
	ck_assert_ptr_eq(spam_lists_params(&p, &none, &eff), &p);
	ck_assert(!spam_lists_refuse(&p, &none));
	r = spam_lists_params(&p, &allow, &eff);
	ck_assert(r == &eff && r->spam_reject == 0 && r->spam_tag_score == 4);
	ck_assert(!spam_lists_refuse(&p, &allow));
	r = spam_lists_params(&p, &deny, &eff);
	ck_assert(r->spam_tag_score == -1000 && r->spam_reject == 1);
	ck_assert(spam_lists_refuse(&p, &deny));
	p.spam_reject = 0;
	ck_assert(!spam_lists_refuse(&p, &deny)); /* tagged, not refused */
	r = spam_lists_params(&p, &scores, &eff);
	ck_assert(r->spam_tag_score == 2.5 && r->spam_reject_score == 8);
	ck_assert(p.spam_tag_score == 4); /* the class's own set is untouched */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("spam_lists");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, apply);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
