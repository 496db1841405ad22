/*
 * check_spam_hdr - X-Spam-* header values: exact text for ham, spam and
 * "not scanned", X-Spam-Level, folding (<= 78 columns, tab continuation,
 * SpamAssassin's break points), and that nothing from spamd can break out
 * of a header.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../milter/spam_hdr.h"
#include "util.h"

static struct spamhdr_set set; /* tests run one at a time */

static const char *
build(double score, double required, const char *tests, const char *report)
{
	struct spamhdr_in in = {.score = score,
				.required = required,
				.tests = tests,
				.report = report,
				.version = "4.0.1",
				.host = "mx1.example.net"};

	spamhdr_free(&set);
	spamhdr_build(&in, &set);
	return spamhdr_get(&set, "X-Spam-Status");
}

static const char *
level(double score)
{
	build(score, 4.0, "", NULL);
	return spamhdr_get(&set, "X-Spam-Level");
}

/*
 * Every header in set is safe to hand to smfi_addheader: only printable
 * ASCII and "\n\t"; no blank line; each line (the first counted with
 * "Name: ", a tab as 8 columns) fits in 78 columns unless it is one word.
 */
static void
assert_well_folded(void)
{
	for (int i = 0; i < set.n; i++) {
		const char *v = set.f[i].value, *line = v;
		size_t col = strlen(set.f[i].name) + 2;

		for (const char *p = v;; p++) {
			if (*p == '\n' || *p == 0) {
				size_t len = (size_t)(p - line);
				int one_word = memchr(line, ' ', len) == NULL;
				const char *c = line;

				for (size_t k = 0; k < len; k++)
					if (line[k] == ',' && k + 1 < len)
						one_word = 0;
				while (c < p && (*c == '\t' || *c == ' '))
					c++;
				ck_assert_msg(c < p || (line == v && *p == 0 && len == 0), "%s: blank line",
					      set.f[i].name);
				ck_assert_msg(col + len <= SPAMHDR_WIDTH || one_word,
					      "%s: line of %zu columns: %.*s", set.f[i].name, col + len,
					      (int)len, line);
				ck_assert_uint_lt(col + len, 998);
				if (*p == 0)
					break;
				ck_assert_msg(p[1] == '\t', "%s: continuation without a tab", set.f[i].name);
				line = p + 2;
				col = 8;
				p++;
				continue;
			}
			ck_assert_msg((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
				      "%s: byte 0x%02x", set.f[i].name, (unsigned char)*p);
		}
	}
}

START_TEST(ham_exact)
{
	ck_assert_str_eq(build(1.2, 4.0, "BAYES_00,NO_RELAYS", "* 1.2 X y"),
			 "No, score=1.2 required=4.0 tests=BAYES_00,NO_RELAYS\n\tversion=4.0.1");
	ck_assert_int_eq(set.n, 3);
	ck_assert_str_eq(set.f[0].name, "X-Spam-Checker-Version");
	ck_assert_str_eq(set.f[0].value, "SpamAssassin 4.0.1 on mx1.example.net");
	ck_assert_str_eq(set.f[1].name, "X-Spam-Level");
	ck_assert_str_eq(set.f[1].value, "*");
	ck_assert_str_eq(set.f[2].name, "X-Spam-Status");
	ck_assert_ptr_null(spamhdr_get(&set, "X-Spam-Flag"));
	ck_assert_ptr_null(spamhdr_get(&set, "X-Spam-Report"));
	/* no rule hit, and rules unknown */
	ck_assert_str_eq(build(-0.1, 4.0, "", NULL), "No, score=-0.1 required=4.0 tests=none version=4.0.1");
	ck_assert_str_eq(build(0, 4.0, NULL, NULL), "No, score=0.0 required=4.0 version=4.0.1");
}
END_TEST

START_TEST(spam_exact)
{
	ck_assert_str_eq(
	    build(5.0, 4.0, "GTUBE,NO_RELAYS", "* 1000 GTUBE BODY: Generic Test\n*  0.0 NO_RELAYS x"),
	    "Yes, score=5.0 required=4.0 tests=GTUBE,NO_RELAYS version=4.0.1");
	ck_assert_int_eq(set.n, 5);
	ck_assert_str_eq(set.f[1].name, "X-Spam-Flag");
	ck_assert_str_eq(set.f[1].value, "YES");
	ck_assert_str_eq(spamhdr_get(&set, "x-spam-level"), "*****");
	ck_assert_str_eq(set.f[4].name, "X-Spam-Report");
	ck_assert_str_eq(set.f[4].value, "* 1000 GTUBE BODY: Generic Test\n\t*  0.0 NO_RELAYS x");
	/* the class's required score decides, not spamd's threshold */
	ck_assert_str_eq(build(3.0, 2.5, "A", NULL), "Yes, score=3.0 required=2.5 tests=A version=4.0.1");
	ck_assert_ptr_nonnull(spamhdr_get(&set, "X-Spam-Flag"));
	ck_assert_ptr_null(spamhdr_get(&set, "X-Spam-Report")); /* no report given */
	assert_well_folded();
}
END_TEST

START_TEST(folds_like_spamassassin)
{
	/* SpamAssassin 4.0.1 folded this tests= list at the same places. */
	ck_assert_str_eq(
	    build(13.6, 5.0,
		  "ADVANCE_FEE_2_NEW_MONEY,DRUGS_ERECTILE,DRUG_ED_ONLINE,GUARANTEED_100_PERCENT,"
		  "HTML_FONT_SIZE_HUGE,HTML_IMAGE_ONLY_08,HTML_MESSAGE,IP_LINK_PLUS,LOTS_OF_MONEY,"
		  "MIME_HTML_ONLY,MISSING_DATE,MSGID_SHORT,NORMAL_HTTP_TO_IP,NO_RECEIVED,NO_RELAYS,"
		  "ONLINE_PHARMACY,TO_NO_BRKTS_PCNT,TVD_VISIT_PHARMA",
		  NULL),
	    "Yes, score=13.6 required=5.0 tests=ADVANCE_FEE_2_NEW_MONEY,\n"
	    "\tDRUGS_ERECTILE,DRUG_ED_ONLINE,GUARANTEED_100_PERCENT,\n"
	    "\tHTML_FONT_SIZE_HUGE,HTML_IMAGE_ONLY_08,HTML_MESSAGE,IP_LINK_PLUS,\n"
	    "\tLOTS_OF_MONEY,MIME_HTML_ONLY,MISSING_DATE,MSGID_SHORT,\n"
	    "\tNORMAL_HTTP_TO_IP,NO_RECEIVED,NO_RELAYS,ONLINE_PHARMACY,\n"
	    "\tTO_NO_BRKTS_PCNT,TVD_VISIT_PHARMA version=4.0.1");
	assert_well_folded();
}
END_TEST

START_TEST(folding_bounds)
{
	char tests[4096], report[20000];
	size_t o = 0;

	/* many rules of many lengths */
	for (int i = 0; o + 40 < sizeof(tests); i++)
		o += (size_t)snprintf(tests + o, sizeof(tests) - o, "%sR%.*s", o ? "," : "", i % 37,
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
	/* long report lines, words of every length, one word of 2000 bytes */
	o = 0;
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(
		    report + o, sizeof(report) - o, "* %2d.0 RULE_%d %.*s words and more words\n", i, i,
		    i * 5,
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	memset(report + o, 'W', 2000);
	report[o + 2000] = 0;
	build(50, 4, tests, report);
	assert_well_folded();
	ck_assert_ptr_nonnull(strstr(spamhdr_get(&set, "X-Spam-Report"), "\n\t* 39.0 RULE_39\n\txxxxx"));
	ck_assert_ptr_nonnull(strstr(spamhdr_get(&set, "X-Spam-Report"), "\n\tWWWWW"));

	/* a 4 KiB "word" without break points is split below 998 */
	memset(tests, 'T', sizeof(tests) - 1);
	tests[sizeof(tests) - 1] = 0;
	build(50, 4, tests, NULL);
	assert_well_folded();
}
END_TEST

START_TEST(report_capped)
{
	size_t n = 100000, o = 0;
	char *big = xmalloc(n + 100);

	while (o < n)
		o += (size_t)sprintf(big + o, "* 0.1 SOME_RULE Some description that goes on\n");
	build(9, 4, "SOME_RULE", big);
	ck_assert_uint_le(strlen(spamhdr_get(&set, "X-Spam-Report")), SPAMHDR_REPORT_MAX);
	ck_assert_ptr_nonnull(strstr(spamhdr_get(&set, "X-Spam-Report"), "\n\t[...]"));
	assert_well_folded();
	free(big);
}
END_TEST

START_TEST(sanitised)
{
	const char *v;

	build(9, 4, "A,B\r\nX-Evil: 1\r\n\r\n,C\x01\xff D",
	      "* 1.0 EVIL\r\nX-Injected: yes\r\n\r\n\n \n\t\nbody?\x00hidden");
	assert_well_folded();
	for (int i = 0; i < set.n; i++) {
		v = set.f[i].value;
		for (const char *p = strchr(v, '\n'); p; p = strchr(p + 1, '\n'))
			ck_assert_int_eq(p[1], '\t');
	}
	ck_assert_str_eq(spamhdr_get(&set, "X-Spam-Status"),
			 "Yes, score=9.0 required=4.0 tests=A,B??X-Evil:?1????,C???D\n\tversion=4.0.1");
	v = spamhdr_get(&set, "X-Spam-Report");
	ck_assert_str_eq(v, "* 1.0 EVIL\n\tX-Injected: yes\n\tbody?");

	/* 8-bit and controls in version/host; a report of blanks only */
	struct spamhdr_in in = {
	    .score = 9, .required = 4, .report = " \n\t\r\n", .version = "4\r\n0", .host = "h\xc3\xa9 x"};

	spamhdr_free(&set);
	spamhdr_build(&in, &set);
	ck_assert_str_eq(spamhdr_get(&set, "X-Spam-Checker-Version"), "SpamAssassin 4??0 on h???x");
	ck_assert_ptr_null(spamhdr_get(&set, "X-Spam-Report"));
	assert_well_folded();
}
END_TEST

START_TEST(levels)
{
	ck_assert_str_eq(level(0), "");
	ck_assert_str_eq(level(0.9), "");
	ck_assert_str_eq(level(1.0), "*");
	ck_assert_str_eq(level(5.5), "*****");
	ck_assert_str_eq(level(-3.0), "");
	ck_assert_str_eq(level(49.9), "*************************************************");
	ck_assert_str_eq(level(1e12), "**************************************************");
	ck_assert_str_eq(level(NAN), "");
}
END_TEST

START_TEST(not_scanned)
{
	static const char *const want[] = {NULL, "not scanned (too-large)", "not scanned (unavailable)",
					   "not scanned (error)"};

	for (int r = SPAMHDR_SKIP_TOO_LARGE; r <= SPAMHDR_SKIP_ERROR; r++) {
		struct spamhdr_in in = {
		    .scan = (enum spamhdr_scan)r, .score = 50, .required = 4, .tests = "X"};

		spamhdr_free(&set);
		spamhdr_build(&in, &set);
		ck_assert_int_eq(set.n, 1);
		/* No X-Spam-* at all: no consumer may read a verdict into it. */
		ck_assert_str_eq(set.f[0].name, "X-Relayguard-Scan");
		ck_assert_str_eq(set.f[0].value, want[r]);
		ck_assert_ptr_null(spamhdr_get(&set, "X-Spam-Status"));
	}
}
END_TEST

START_TEST(verdict_and_scores)
{
	char b[32];

	ck_assert_int_eq(spamhdr_is_spam(4.0, 4.0), 1);
	ck_assert_int_eq(spamhdr_is_spam(3.9, 4.0), 0);
	ck_assert_int_eq(spamhdr_is_spam(3.96, 4.0), 1); /* shown as 4.0: decided as 4.0 */
	ck_assert_int_eq(spamhdr_is_spam(-1.0, -1.0), 1);
	ck_assert_int_eq(spamhdr_is_spam(-1.1, -1.0), 0);
	ck_assert_str_eq(spamhdr_score(-1.5, b, sizeof(b)), "-1.5");
	ck_assert_str_eq(spamhdr_score(-0.04, b, sizeof(b)), "0.0");
	ck_assert_str_eq(spamhdr_score(1000, b, sizeof(b)), "1000.0");
	ck_assert_str_eq(spamhdr_score(5.25, b, sizeof(b)), "5.3");
	ck_assert_str_eq(spamhdr_score(NAN, b, sizeof(b)), "0.0");
	ck_assert_str_eq(spamhdr_score(-1e300, b, sizeof(b)), "-1000000000.0");
}
END_TEST

START_TEST(is_xspam)
{
	ck_assert(spamhdr_is_xspam("X-Spam-Status"));
	ck_assert(spamhdr_is_xspam("x-spam-flag"));
	ck_assert(spamhdr_is_xspam("X-SPAM-LEVEL"));
	ck_assert(spamhdr_is_xspam("x-SpAm-Report"));
	ck_assert(spamhdr_is_xspam("X-Spam-Prev-Subject"));
	ck_assert(spamhdr_is_xspam("X-Spam-"));
	ck_assert(!spamhdr_is_xspam("X-Spam"));
	ck_assert(!spamhdr_is_xspam("X-Spamd-Result"));
	ck_assert(!spamhdr_is_xspam("X-Virus-Status"));
	ck_assert(!spamhdr_is_xspam("Subject"));
	ck_assert(!spamhdr_is_xspam(""));
	ck_assert(!spamhdr_is_xspam(NULL));
	ck_assert(spamhdr_is_ours("x-relayguard-scan"));
	ck_assert(spamhdr_is_ours("X-Spam-Flag"));
	ck_assert(!spamhdr_is_ours("X-Relayguard-Scanned"));
	ck_assert(!spamhdr_is_ours(NULL));
}
END_TEST

START_TEST(checker_version_unknowns)
{
	struct spamhdr_in in = {.score = 1, .required = 4};

	spamhdr_free(&set);
	spamhdr_build(&in, &set);
	ck_assert_str_eq(spamhdr_get(&set, "X-Spam-Checker-Version"), "SpamAssassin");
	ck_assert_str_eq(spamhdr_get(&set, "X-Spam-Status"), "No, score=1.0 required=4.0");
	in.host = "mx1";
	spamhdr_free(&set);
	spamhdr_build(&in, &set);
	ck_assert_str_eq(spamhdr_get(&set, "X-Spam-Checker-Version"), "SpamAssassin on mx1");
	spamhdr_free(&set);
	ck_assert_int_eq(set.n, 0);
}
END_TEST

static void
teardown(void)
{
	spamhdr_free(&set);
}

int
main(void)
{
	Suite *s = suite_create("spamhdr");
	TCase *tc = tcase_create("headers");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, ham_exact);
	tcase_add_test(tc, spam_exact);
	tcase_add_test(tc, folds_like_spamassassin);
	tcase_add_test(tc, folding_bounds);
	tcase_add_test(tc, report_capped);
	tcase_add_test(tc, sanitised);
	tcase_add_test(tc, levels);
	tcase_add_test(tc, not_scanned);
	tcase_add_test(tc, verdict_and_scores);
	tcase_add_test(tc, is_xspam);
	tcase_add_test(tc, checker_version_unknowns);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
