/*
 * check_scan_servers - the order in which redundant scanners are tried
 * (scan_servers.h) with a scripted attempt function: first that answers
 * wins, a failed one is passed over for the back-off and tried again after
 * it, a probe when all are down (the one whose back-off ends first), a
 * server that answers is up again, back-off 0 never skips, and the log
 * fields name the server used and the ones skipped.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "scan_servers.h"
#include "util.h"

static struct rg_endpoint eps[3];
static struct rg_eplist list = {3, eps};
static int up[3], calls[3], order[16], norder;

static enum scansrv_rc
attempt(const struct rg_endpoint *ep, void *arg)
{
	int i = (int)(ep - eps);

	(void)arg;
	calls[i]++;
	if (norder < 16)
		order[norder++] = i;
	return up[i] ? SCANSRV_ANSWERED : SCANSRV_FAILED;
}

static const char *
why(void *arg)
{
	(void)arg;
	return "connect: Connection refused";
}

static void
setup(void)
{
	char err[200];

	scansrv_reset();
	ck_assert_int_eq(rg_endpoint_parse("127.0.0.1:7831", 0, 783, &eps[0], err, sizeof(err)), 0);
	ck_assert_int_eq(rg_endpoint_parse("127.0.0.1:7832", 0, 783, &eps[1], err, sizeof(err)), 0);
	ck_assert_int_eq(rg_endpoint_parse("unix:/run/s3.sock", 0, 783, &eps[2], err, sizeof(err)), 0);
	memset(calls, 0, sizeof(calls));
	norder = 0;
	up[0] = up[1] = up[2] = 1;
}

static int
run(long long backoff, char *note, size_t len)
{
	norder = 0;
	return scansrv_run("spamd", &list, backoff, attempt, why, NULL, note, len);
}

START_TEST(first_that_answers)
{
	char note[300];

	setup();
	ck_assert_int_eq(run(30000, note, sizeof(note)), 0);
	ck_assert_str_eq(note, "spamd=inet:127.0.0.1:7831");
	up[0] = 0;
	ck_assert_int_eq(run(30000, note, sizeof(note)), 1);
	ck_assert_int_eq(norder, 2);
	ck_assert_str_eq(note, "spamd=inet:127.0.0.1:7832");
	/* Next message: the failed one is not tried at all. */
	ck_assert_int_eq(run(30000, note, sizeof(note)), 1);
	ck_assert_int_eq(norder, 1);
	ck_assert_int_eq(order[0], 1);
	ck_assert_str_eq(note, "spamd=inet:127.0.0.1:7832 spamd_skipped=inet:127.0.0.1:7831");
	ck_assert_int_eq(calls[0], 2); /* the answer, the failure; then nothing */
}
END_TEST

START_TEST(back_after_backoff)
{
	char note[300];

	setup();
	up[0] = 0;
	ck_assert_int_eq(run(200, note, sizeof(note)), 1);
	ck_assert_int_eq(run(200, note, sizeof(note)), 1);
	ck_assert_int_eq(calls[0], 1);
	usleep(300000);
	up[0] = 1;
	ck_assert_int_eq(run(200, note, sizeof(note)), 0);
	ck_assert_str_eq(note, "spamd=inet:127.0.0.1:7831");
}
END_TEST

START_TEST(probe_when_all_down)
{
	char note[300];

	setup();
	up[0] = up[1] = up[2] = 0;
	ck_assert_int_eq(run(30000, note, sizeof(note)), -1);
	ck_assert_int_eq(norder, 3);
	usleep(5000);
	ck_assert_str_eq(note, "spamd=unix:/run/s3.sock");
	/* All in back-off: one probe, the one whose back-off ends first (the first marked). */
	ck_assert_int_eq(run(30000, note, sizeof(note)), -1);
	ck_assert_int_eq(norder, 1);
	ck_assert_int_eq(order[0], 0);
	ck_assert_str_eq(note,
			 "spamd=inet:127.0.0.1:7831 spamd_skipped=inet:127.0.0.1:7832,unix:/run/s3.sock");
	/* The probe's failure renewed its back-off: the next probe is the second. */
	usleep(5000);
	ck_assert_int_eq(run(30000, note, sizeof(note)), -1);
	ck_assert_int_eq(order[0], 1);
	/* A probe that answers brings its server back for the messages after it. */
	up[2] = 1;
	ck_assert_int_eq(run(30000, note, sizeof(note)), 2);
	ck_assert_int_eq(run(30000, note, sizeof(note)), 2);
	ck_assert_int_eq(norder, 1);
}
END_TEST

START_TEST(no_backoff_tries_all)
{
	char note[300];

	setup();
	up[0] = 0;
	ck_assert_int_eq(run(0, note, sizeof(note)), 1);
	ck_assert_int_eq(run(0, note, sizeof(note)), 1);
	ck_assert_int_eq(calls[0], 2);
	ck_assert_str_eq(note, "spamd=inet:127.0.0.1:7832");
}
END_TEST

START_TEST(empty_list_and_small_note)
{
	struct rg_eplist none = {0, NULL};
	char note[300], small[12];

	setup();
	ck_assert_int_eq(scansrv_run("clamd", &none, 30000, attempt, why, NULL, note, sizeof(note)), -1);
	ck_assert_str_eq(note, "clamd=none");
	ck_assert_int_eq(run(30000, small, sizeof(small)), 0);
	ck_assert_uint_lt(strlen(small), sizeof(small));
	/* Log lines: a note is appended cut to fit. */
	rg_strlcpy(note, "virus=clean", sizeof(note));
	scansrv_log_add(note, 16, "clamd=inet:127.0.0.1:3310");
	ck_assert_str_eq(note, "virus=clean cla");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("scan_servers");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, first_that_answers);
	tcase_add_test(tc, back_after_backoff);
	tcase_add_test(tc, probe_when_all_down);
	tcase_add_test(tc, no_backoff_tries_all);
	tcase_add_test(tc, empty_list_and_small_note);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
