/*
 * check_callout_hopstate - per-next-hop session slots and down-backoff: the limit
 * holds, a waiter gets a released slot, a down hop is refused without
 * waiting and comes back after its backoff, a full table forgets only idle
 * hops.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"
#include "../../milter/callout_hopstate.h"

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

START_TEST(limit_holds)
{
	struct hopstate *h = hopstate_new(16);

	ck_assert_int_eq(hopstate_acquire(h, "[192.0.2.1]:25", 2, 0), HOPSTATE_OK);
	ck_assert_int_eq(hopstate_acquire(h, "[192.0.2.1]:25", 2, 0), HOPSTATE_OK);
	ck_assert_int_eq(hopstate_acquire(h, "[192.0.2.1]:25", 2, 0), HOPSTATE_BUSY);
	ck_assert_int_eq(hopstate_active(h, "[192.0.2.1]:25"), 2);
	/* Hop names compare without case; another hop has its own slots. */
	ck_assert_int_eq(hopstate_acquire(h, "EXAMPLE.com:25", 1, 0), HOPSTATE_OK);
	ck_assert_int_eq(hopstate_acquire(h, "example.COM:25", 1, 0), HOPSTATE_BUSY);
	hopstate_release(h, "[192.0.2.1]:25");
	ck_assert_int_eq(hopstate_active(h, "[192.0.2.1]:25"), 1);
	ck_assert_int_eq(hopstate_acquire(h, "[192.0.2.1]:25", 2, 0), HOPSTATE_OK);
	hopstate_free(h);
}
END_TEST

static void *
release_later(void *arg)
{
	sleep_ms(100);
	hopstate_release(arg, "hop:25");
	return NULL;
}

START_TEST(waiter_gets_released_slot)
{
	struct hopstate *h = hopstate_new(4);
	pthread_t th;
	long long t0;

	ck_assert_int_eq(hopstate_acquire(h, "hop:25", 1, 0), HOPSTATE_OK);
	t0 = rg_mono_ms();
	ck_assert_int_eq(hopstate_acquire(h, "hop:25", 1, 50), HOPSTATE_BUSY);
	ck_assert_int_ge(rg_mono_ms() - t0, 45);
	ck_assert_int_eq(pthread_create(&th, NULL, release_later, h), 0);
	t0 = rg_mono_ms();
	ck_assert_int_eq(hopstate_acquire(h, "hop:25", 1, 3000), HOPSTATE_OK);
	ck_assert_int_lt(rg_mono_ms() - t0, 2000); /* woken by the release, not the timeout */
	pthread_join(th, NULL);
	hopstate_free(h);
}
END_TEST

START_TEST(down_and_back)
{
	struct hopstate *h = hopstate_new(4);
	long long t0;

	ck_assert_int_eq(hopstate_down_left(h, "hop:25"), 0);
	hopstate_result(h, "hop:25", 1, 150);
	ck_assert_int_gt(hopstate_down_left(h, "hop:25"), 100);
	t0 = rg_mono_ms();
	ck_assert_int_eq(hopstate_acquire(h, "hop:25", 5, 1000), HOPSTATE_DOWN);
	ck_assert_int_lt(rg_mono_ms() - t0, 50); /* no waiting on a hop that is down */
	/* A shorter backoff does not shorten a longer one already set. */
	hopstate_result(h, "hop:25", 1, 10);
	ck_assert_int_gt(hopstate_down_left(h, "hop:25"), 50);
	sleep_ms(170);
	ck_assert_int_eq(hopstate_down_left(h, "hop:25"), 0);
	ck_assert_int_eq(hopstate_acquire(h, "hop:25", 5, 0), HOPSTATE_OK);
	hopstate_release(h, "hop:25");
	/* Success clears it at once. */
	hopstate_result(h, "hop:25", 1, 100000);
	hopstate_result(h, "hop:25", 0, 0);
	ck_assert_int_eq(hopstate_down_left(h, "hop:25"), 0);
	hopstate_free(h);
}
END_TEST

START_TEST(full_table)
{
	struct hopstate *h = hopstate_new(2);

	ck_assert_int_eq(hopstate_acquire(h, "a:25", 1, 0), HOPSTATE_OK);
	ck_assert_int_eq(hopstate_acquire(h, "b:25", 1, 0), HOPSTATE_OK);
	/* Both entries have a session open: a third hop cannot be tracked. */
	ck_assert_int_eq(hopstate_acquire(h, "c:25", 1, 0), HOPSTATE_BUSY);
	hopstate_release(h, "a:25");
	/* a is idle now and gets forgotten for c; b keeps its session count. */
	ck_assert_int_eq(hopstate_acquire(h, "c:25", 1, 0), HOPSTATE_OK);
	ck_assert_int_eq(hopstate_active(h, "b:25"), 1);
	ck_assert_int_eq(hopstate_active(h, "a:25"), 0);
	hopstate_free(h);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hopstate");
	TCase *tc = tcase_create("hopstate");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, limit_holds);
	tcase_add_test(tc, waiter_gets_released_slot);
	tcase_add_test(tc, down_and_back);
	tcase_add_test(tc, full_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
