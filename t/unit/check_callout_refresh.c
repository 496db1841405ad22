/*
 * check_callout_refresh - the background re-check queue: jobs of one hop and
 * sender run together, a recipient is never queued twice, a full queue
 * drops new jobs, and freeing waits for the running batch and releases
 * every configuration reference.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "util.h"
#include "../../milter/callout_refresh.h"

struct rec {
	pthread_mutex_t lock;
	int gate; /* the first batch waits until this is set */
	int batches;
	int sizes[16];
	char first[16][64];
};

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
run(void *arg, struct refresh_job *const *jobs, int n)
{
	struct rec *r = arg;
	int wait = 1;

	for (int i = 0; i < 300 && wait; i++) {
		pthread_mutex_lock(&r->lock);
		wait = !r->gate;
		pthread_mutex_unlock(&r->lock);
		if (wait)
			sleep_ms(10);
	}
	pthread_mutex_lock(&r->lock);
	if (r->batches < 16) {
		r->sizes[r->batches] = n;
		rg_strlcpy(r->first[r->batches], jobs[0]->rcpt, sizeof(r->first[0]));
		for (int i = 1; i < n; i++) /* a batch is one hop and one sender */
			ck_assert_str_eq(jobs[i]->hop, jobs[0]->hop);
	}
	r->batches++;
	pthread_mutex_unlock(&r->lock);
}

static int
batches(struct rec *r)
{
	int n;

	pthread_mutex_lock(&r->lock);
	n = r->batches;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static struct rg_config *
config(void)
{
	struct rg_config *cfg = NULL;
	struct rg_diag d = {0};
	char path[] = "/tmp/rg-refresh-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	cfg = rg_config_load(path, &d);
	unlink(path);
	ck_assert_ptr_nonnull(cfg);
	rg_diag_free(&d);
	return cfg;
}

START_TEST(batch_dedupe_full)
{
	struct rec r = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct rg_config *cfg = config();
	const struct rg_params *p = &cfg->global;
	struct refresh *q = refresh_new(1, 4, 3, run, &r);

	/* The worker takes the first job and blocks on the gate. */
	ck_assert_int_eq(refresh_add(q, cfg, p, "a:25", "one@a.test"), 1);
	for (int i = 0; i < 200 && refresh_pending(q) != 1; i++)
		sleep_ms(5);
	sleep_ms(50);
	ck_assert_int_eq(refresh_add(q, cfg, p, "a:25", "ONE@a.test"), 0); /* running: not again */
	ck_assert_int_eq(refresh_add(q, cfg, p, "b:25", "two@b.test"), 1);
	ck_assert_int_eq(refresh_add(q, cfg, p, "a:25", "three@a.test"), 1);
	ck_assert_int_eq(refresh_add(q, cfg, p, "a:25", "three@a.test"), 0); /* queued: not again */
	ck_assert_int_eq(refresh_add(q, cfg, p, "a:25", "four@a.test"), 1);
	ck_assert_int_eq(refresh_add(q, cfg, p, "a:25", "five@a.test"), -1); /* full (4) */
	ck_assert_uint_eq(refresh_pending(q), 4);
	pthread_mutex_lock(&r.lock);
	r.gate = 1;
	pthread_mutex_unlock(&r.lock);
	for (int i = 0; i < 300 && (batches(&r) < 3 || refresh_pending(q) > 0); i++)
		sleep_ms(10);
	ck_assert_int_eq(batches(&r), 3);
	ck_assert_int_eq(r.sizes[0], 1);
	ck_assert_str_eq(r.first[0], "one@a.test");
	/* Oldest first (two@b), alone; then three and four of a:25 together. */
	ck_assert_str_eq(r.first[1], "two@b.test");
	ck_assert_int_eq(r.sizes[1], 1);
	ck_assert_str_eq(r.first[2], "three@a.test");
	ck_assert_int_eq(r.sizes[2], 2);
	refresh_free(q);
	rg_config_unref(cfg); /* the last reference: ASan tells if a job leaked one */
}
END_TEST

START_TEST(free_drops_queued)
{
	struct rec r = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct rg_config *cfg = config();
	struct refresh *q = refresh_new(1, 8, 4, run, &r);

	ck_assert_int_eq(refresh_add(q, cfg, &cfg->global, "a:25", "x@a.test"), 1);
	ck_assert_int_eq(refresh_add(q, cfg, &cfg->global, "b:25", "y@b.test"), 1);
	pthread_mutex_lock(&r.lock);
	r.gate = 1;
	pthread_mutex_unlock(&r.lock);
	refresh_free(q); /* the running batch finishes; the rest is dropped */
	ck_assert_int_le(batches(&r), 2);
	rg_config_unref(cfg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("refresh");
	TCase *tc = tcase_create("refresh");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, batch_dedupe_full);
	tcase_add_test(tc, free_drops_queued);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
