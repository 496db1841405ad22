/*
 * check_callout_cache - the callout cache state machine, value format and keys.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../milter/callout_cache.h"

#define SEC 1000LL
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)
#define NOW 1732250000000LL

static const struct calcache_lifetimes lt = {
    .pos_expire = 31 * DAY,
    .pos_refresh = 7 * DAY,
    .neg_expire = 3 * DAY,
    .neg_refresh = 3 * HOUR,
};

static struct calcache_entry
entry(enum calcache_status st, long long checked)
{
	struct calcache_entry e;

	memset(&e, 0, sizeof(e));
	e.status = st;
	e.checked_ms = checked;
	if (st == CALCACHE_INVALID)
		strcpy(e.reply, "550 5.1.1 <x@y>: unknown user");
	return e;
}

START_TEST(no_entry_is_miss)
{
	ck_assert_int_eq(calcache_decide(NULL, NOW, &lt), CALCACHE_MISS);
}
END_TEST

START_TEST(positive_lifecycle)
{
	struct calcache_entry e = entry(CALCACHE_VALID, NOW);

	ck_assert_int_eq(calcache_decide(&e, NOW, &lt), CALCACHE_FRESH);
	ck_assert_int_eq(calcache_decide(&e, NOW + 7 * DAY - 1, &lt), CALCACHE_FRESH);
	ck_assert_int_eq(calcache_decide(&e, NOW + 7 * DAY, &lt), CALCACHE_STALE);
	ck_assert_int_eq(calcache_decide(&e, NOW + 31 * DAY - 1, &lt), CALCACHE_STALE);
	ck_assert_int_eq(calcache_decide(&e, NOW + 31 * DAY, &lt), CALCACHE_MISS);
	ck_assert_int_eq(calcache_decide(&e, NOW + 400 * DAY, &lt), CALCACHE_MISS);
}
END_TEST

START_TEST(negative_lifecycle)
{
	struct calcache_entry e = entry(CALCACHE_INVALID, NOW);

	ck_assert_int_eq(calcache_decide(&e, NOW + 3 * HOUR - 1, &lt), CALCACHE_FRESH);
	ck_assert_int_eq(calcache_decide(&e, NOW + 3 * HOUR, &lt), CALCACHE_STALE);
	ck_assert_int_eq(calcache_decide(&e, NOW + 3 * DAY - 1, &lt), CALCACHE_STALE);
	ck_assert_int_eq(calcache_decide(&e, NOW + 3 * DAY, &lt), CALCACHE_MISS);
	/* A positive entry of the same age is still fresh: the lifetimes differ. */
	e.status = CALCACHE_VALID;
	ck_assert_int_eq(calcache_decide(&e, NOW + 3 * HOUR, &lt), CALCACHE_FRESH);
}
END_TEST

START_TEST(clock_skew)
{
	struct calcache_entry e = entry(CALCACHE_VALID, NOW + 5 * SEC);

	ck_assert_int_eq(calcache_decide(&e, NOW, &lt), CALCACHE_FRESH);
	e.checked_ms = NOW + 2 * DAY; /* from the future: not believed */
	ck_assert_int_eq(calcache_decide(&e, NOW, &lt), CALCACHE_MISS);
	e.status = (enum calcache_status)7;
	e.checked_ms = NOW;
	ck_assert_int_eq(calcache_decide(&e, NOW, &lt), CALCACHE_MISS);
}
END_TEST

START_TEST(unknown_never_cached)
{
	struct calcache_entry e = entry(CALCACHE_VALID, 1);

	ck_assert(calcache_should_store(CALLOUT_VALID));
	ck_assert(calcache_should_store(CALLOUT_INVALID));
	ck_assert(!calcache_should_store(CALLOUT_UNKNOWN));
	ck_assert_int_eq(calcache_from_verdict(&e, CALLOUT_UNKNOWN, "450 4.2.0 later", NOW), -1);
	ck_assert_int_eq(e.status, CALCACHE_VALID); /* untouched */
	ck_assert_int_eq(e.checked_ms, 1);
	ck_assert_int_eq(calcache_from_verdict(&e, CALLOUT_INVALID, "550 5.1.1 no\r\nsuch", NOW), 0);
	ck_assert_int_eq(e.status, CALCACHE_INVALID);
	ck_assert_int_eq(e.checked_ms, NOW);
	ck_assert_str_eq(e.reply, "550 5.1.1 no??such");
	ck_assert_int_eq(calcache_from_verdict(&e, CALLOUT_VALID, "250 2.1.5 ok", NOW), 0);
	ck_assert_int_eq(e.status, CALCACHE_VALID);
	ck_assert_str_eq(e.reply, "");
}
END_TEST

START_TEST(format_parse_round_trip)
{
	struct calcache_entry e = entry(CALCACHE_INVALID, NOW), back;
	char buf[CALCACHE_VALUE_MAX];
	int n;

	n = calcache_format(&e, buf, sizeof(buf));
	ck_assert_str_eq(buf, "i|1732250000000|550 5.1.1 <x@y>: unknown user");
	ck_assert_int_eq(n, (int)strlen(buf));
	memset(&back, 0x55, sizeof(back));
	ck_assert_int_eq(calcache_parse(buf, (size_t)n, &back), 0);
	ck_assert_int_eq(back.status, CALCACHE_INVALID);
	ck_assert_int_eq(back.checked_ms, NOW);
	ck_assert_str_eq(back.reply, e.reply);

	e = entry(CALCACHE_VALID, NOW);
	n = calcache_format(&e, buf, sizeof(buf));
	ck_assert_str_eq(buf, "v|1732250000000|");
	ck_assert_int_eq(calcache_parse(buf, (size_t)n, &back), 0);
	ck_assert_int_eq(back.status, CALCACHE_VALID);
	ck_assert_int_eq(back.checked_ms, NOW);
	ck_assert_str_eq(back.reply, "");

	/* Text with '|' survives (it is the last field); the largest value fits. */
	e = entry(CALCACHE_INVALID, 999999999999999999LL);
	memset(e.reply, '|', sizeof(e.reply) - 1);
	e.reply[sizeof(e.reply) - 1] = 0;
	n = calcache_format(&e, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(calcache_parse(buf, (size_t)n, &back), 0);
	ck_assert_str_eq(back.reply, e.reply);
	ck_assert_int_eq(calcache_format(&e, buf, 10), -1);
	e.checked_ms = -5;
	ck_assert_int_eq(calcache_format(&e, buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(stored_value_names_its_recipient)
{
	struct calcache_entry e = entry(CALCACHE_INVALID, NOW), back;
	char buf[CALCACHE_STORED_MAX], big[400];
	int n;

	n = calcache_value_format(&e, "Alice@Example.COM", buf, sizeof(buf));
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_str_eq(buf, "alice@example.com\ni|1732250000000|550 5.1.1 <x@y>: unknown user");
	ck_assert_int_eq(calcache_value_parse(buf, (size_t)n, "ALICE@example.com", &back), 0);
	ck_assert_int_eq(back.status, CALCACHE_INVALID);
	/* A value planted under a colliding key for another mailbox is a miss. */
	ck_assert_int_eq(calcache_value_parse(buf, (size_t)n, "bob@example.com", &back), -1);
	ck_assert_int_eq(calcache_value_parse(buf, (size_t)n, "alice@example.co", &back), -1);
	ck_assert_int_eq(calcache_value_parse("i|1|x", 5, "alice@example.com", &back), -1);
	ck_assert_int_eq(calcache_value_parse(NULL, 0, "a@b", &back), -1);
	ck_assert_int_eq(calcache_value_format(&e, "a\nb@example.com", buf, sizeof(buf)), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ck_assert_int_eq(calcache_value_format(&e, big, buf, sizeof(buf)), -1);
	ck_assert_int_eq(calcache_value_format(&e, "a@b", buf, 8), -1);
}
END_TEST

START_TEST(garbage_values)
{
	static const char *bad[] = {
	    "",       "v",     "v|",     "v||",
	    "x|1|",   "V|1|",  "v1|",    "v|12",
	    "v|12x|", "v|-1|", "i| 1|t", "v|1234567890123456789|", /* would overflow our bound */
	};
	struct calcache_entry e;
	char big[5000];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(calcache_parse(bad[i], strlen(bad[i]), &e) == -1, "accepted: '%s'", bad[i]);
	ck_assert_int_eq(calcache_parse(NULL, 0, &e), -1);
	/* len is honoured: a valid prefix cut short is garbage. */
	ck_assert_int_eq(calcache_parse("v|1732250000000|", 10, &e), -1);
	/* Hostile text is bounded and made printable. */
	memset(big, 'A', sizeof(big));
	memcpy(big, "i|5|\r\n\x01", 7);
	ck_assert_int_eq(calcache_parse(big, sizeof(big), &e), 0);
	ck_assert_int_eq(e.checked_ms, 5);
	ck_assert_uint_eq(strlen(e.reply), CALCACHE_REPLY_MAX - 1);
	ck_assert_int_eq(memcmp(e.reply, "???AAA", 6), 0);
	/* NUL inside the value ends the text, never reads past len. */
	ck_assert_int_eq(calcache_parse("i|5|ab\0cd", 9, &e), 0);
	ck_assert_str_eq(e.reply, "ab");
}
END_TEST

START_TEST(ttl)
{
	struct calcache_entry v = entry(CALCACHE_VALID, NOW), i = entry(CALCACHE_INVALID, NOW);

	ck_assert_int_eq(calcache_ttl_ms(&v, &lt), 31 * DAY);
	ck_assert_int_eq(calcache_ttl_ms(&i, &lt), 3 * DAY);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("calcache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, no_entry_is_miss);
	tcase_add_test(tc, positive_lifecycle);
	tcase_add_test(tc, negative_lifecycle);
	tcase_add_test(tc, clock_skew);
	tcase_add_test(tc, unknown_never_cached);
	tcase_add_test(tc, format_parse_round_trip);
	tcase_add_test(tc, garbage_values);
	tcase_add_test(tc, stored_value_names_its_recipient);
	tcase_add_test(tc, ttl);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
