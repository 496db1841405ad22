/*
 * check_metrics - the metrics registry: text format, exact counts under
 * threads, bounded label values and series.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

START_TEST(render)
{
	static const double b[] = {0.001, 0.01, 0.1};
	struct rg_metric *c = rg_metric_new(RG_COUNTER, "t_requests_total", "Requests.", "state", NULL, 0);
	struct rg_metric *g = rg_metric_new(RG_GAUGE, "t_open", "Open.", NULL, NULL, 0);
	struct rg_metric *h = rg_metric_new(RG_HISTOGRAM, "t_latency_seconds", "Latency.", NULL, b, 3);
	char *text;

	ck_assert_ptr_eq(rg_metric_new(RG_COUNTER, "t_requests_total", "x", "state", NULL, 0), c);
	rg_metric_inc(c, "rcpt");
	rg_metric_add(c, 2, "rcpt");
	rg_metric_inc(c, "data");
	rg_metric_add(c, -5, "data"); /* a counter never goes down */
	rg_metric_add(g, 3);
	rg_metric_add(g, -1);
	rg_metric_observe(h, 0.0005);
	rg_metric_observe(h, 0.05);
	rg_metric_observe(h, 7);
	text = rg_metrics_render(NULL);
	ck_assert_msg(strstr(text,
			     "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n"
			     "t_requests_total{state=\"rcpt\"} 3\nt_requests_total{state=\"data\"} 1\n"),
		      "%s", text);
	ck_assert(strstr(text, "# TYPE t_open gauge\nt_open 2\n"));
	ck_assert_msg(strstr(text, "t_latency_seconds_bucket{le=\"0.001\"} 1\n"
				   "t_latency_seconds_bucket{le=\"0.01\"} 1\n"
				   "t_latency_seconds_bucket{le=\"0.1\"} 2\n"
				   "t_latency_seconds_bucket{le=\"+Inf\"} 3\n"
				   "t_latency_seconds_sum 7.050500\n"
				   "t_latency_seconds_count 3\n"),
		      "%s", text);
	free(text);
	rg_metrics_reset();
}
END_TEST

/* Series declared up front read 0, in the order given; extra spaces are no value. */
START_TEST(zero_series)
{
	struct rg_metric *c = rg_metric_new(RG_COUNTER, "t_kinds_total", "Kinds.", "kind", NULL, 0);
	char *text;

	rg_metric_zero(c, " client  sasl sender ");
	rg_metric_inc(c, "sasl");
	text = rg_metrics_render(NULL);
	ck_assert_msg(strstr(text, "t_kinds_total{kind=\"client\"} 0\nt_kinds_total{kind=\"sasl\"} 1\n"
				   "t_kinds_total{kind=\"sender\"} 0\n"),
		      "%s", text);
	ck_assert_ptr_null(strstr(text, "kind=\"\""));
	free(text);
	rg_metrics_reset();
}
END_TEST

/* A hidden gauge series leaves the text until it is set again; hiding an
 * unknown one creates nothing. */
START_TEST(hide_gauge)
{
	struct rg_metric *g = rg_metric_new(RG_GAUGE, "t_up", "Up.", "scanner,server", NULL, 0);
	char *text;

	rg_metric_set(g, 1, "spamd", "inet:127.0.0.1:783");
	rg_metric_set(g, 0, "spamd", "inet:127.0.0.2:783");
	rg_metric_hide(g, "spamd", "inet:127.0.0.2:783");
	rg_metric_hide(g, "clamd", "unix:/run/clamd.ctl");
	text = rg_metrics_render(NULL);
	ck_assert_msg(strstr(text, "t_up{scanner=\"spamd\",server=\"inet:127.0.0.1:783\"} 1\n"), "%s", text);
	ck_assert_msg(strstr(text, "127.0.0.2") == NULL, "%s", text);
	ck_assert_msg(strstr(text, "clamd") == NULL, "%s", text);
	free(text);
	rg_metric_set(g, 1, "spamd", "inet:127.0.0.2:783");
	text = rg_metrics_render(NULL);
	ck_assert_msg(strstr(text, "t_up{scanner=\"spamd\",server=\"inet:127.0.0.2:783\"} 1\n"), "%s", text);
	free(text);
	rg_metrics_reset();
}
END_TEST

START_TEST(hostile_labels)
{
	struct rg_metric *c = rg_metric_new(RG_COUNTER, "t_x_total", "X.", "a,b", NULL, 0);
	char *text, v[32];
	int lines = 0;

	rg_metric_inc(c, "ok", "a\"b\n} 99");
	rg_metric_inc(c, "", NULL);
	for (int i = 0; i < 1000; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		rg_metric_inc(c, v, "x");
	}
	text = rg_metrics_render(NULL);
	ck_assert(strstr(text, "t_x_total{a=\"ok\",b=\"other\"} 1\n"));
	ck_assert(strstr(text, "t_x_total{a=\"other\",b=\"other\"} "));
	ck_assert(strchr(text, '}') != NULL && strstr(text, "99\n") == NULL);
	for (const char *p = text; (p = strstr(p, "\nt_x_total{")) != NULL; p++)
		lines++;
	ck_assert_int_le(lines, RG_METRIC_MAX_SERIES);
	ck_assert_int_ge(lines, RG_METRIC_MAX_SERIES - 1);
	free(text);
	rg_metrics_reset();
}
END_TEST

static struct rg_metric *tm;

static void *
bump(void *arg)
{
	const char *who = arg;

	for (int i = 0; i < 100000; i++)
		rg_metric_inc(tm, i % 2 ? "odd" : "even", who);
	return NULL;
}

START_TEST(threads)
{
	pthread_t t[4];
	static const char *const who[] = {"t0", "t1", "t2", "t3"};
	char *text, want[80];

	tm = rg_metric_new(RG_COUNTER, "t_threads_total", "T.", "parity,who", NULL, 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, bump, (void *)who[i % 2]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	text = rg_metrics_render(NULL);
	for (int i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "t_threads_total{parity=\"odd\",who=\"%s\"} 100000\n", who[i]);
		ck_assert_msg(strstr(text, want), "%s", text);
		snprintf(want, sizeof(want), "t_threads_total{parity=\"even\",who=\"%s\"} 100000\n", who[i]);
		ck_assert_msg(strstr(text, want), "%s", text);
	}
	free(text);
	rg_metrics_reset();
}
END_TEST

START_TEST(null_is_noop)
{
	rg_metric_inc(NULL, "x");
	rg_metric_set(NULL, 1);
	rg_metric_observe(NULL, 1.0);
	rg_metric_zero(NULL, "a b");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, render);
	tcase_add_test(tc, zero_series);
	tcase_add_test(tc, hide_gauge);
	tcase_add_test(tc, hostile_labels);
	tcase_add_test(tc, threads);
	tcase_add_test(tc, null_is_noop);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
