/*
 * check_scan_health - when the milter's /health calls a content scanner
 * down (scan_health.h): only a scanner in use (globally, for a class or in a
 * table entry), only when every server of its list is down, up again when
 * one answers; servers not contacted yet count as up; the reason names the
 * server(s) and is one line; the relayguard_milter_scanner_up gauge follows;
 * scan_servers' attempts feed it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest.h"
#include "metrics_milter.h"
#include "scan_health.h"
#include "scan_servers.h"

static char why[300];

static void
setup(void)
{
	t_setup();
	scanhealth_reset();
	scansrv_reset();
	why[0] = 0;
}

static void
teardown(void)
{
	t_teardown();
	rg_metrics_reset();
	mm_scanner_up = NULL;
}

static struct rg_config *
load(const char *text)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load(text, &d);

	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	rg_diag_free(&d);
	return cfg;
}

START_TEST(not_in_use)
{
	struct rg_config *cfg = load("clamd_server = 127.0.0.1:3310\n");

	ck_assert_int_eq(scanhealth_in_use(cfg, "clamd"), 0);
	ck_assert_int_eq(scanhealth_in_use(cfg, "spamd"), 0);
	scanhealth_note("clamd", "inet:127.0.0.1:3310", 0, "connect failed");
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 0);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(one_server)
{
	struct rg_config *cfg = load("clamd_server = 127.0.0.1:3310\npremium_virus_scan = yes\n");

	ck_assert_int_eq(scanhealth_in_use(cfg, "clamd"), 1);
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 0); /* not contacted yet */
	scanhealth_note("clamd", "inet:127.0.0.1:3310", 0, "connect: Connection refused\r\nX");
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 1);
	ck_assert_str_eq(why, "clamd inet:127.0.0.1:3310: connect: Connection refused??X");
	scanhealth_note("clamd", "inet:127.0.0.1:3310", 1, NULL);
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 0);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(every_server)
{
	struct rg_config *cfg = load("spamd_server = 127.0.0.1:7831, 127.0.0.1:7832\nspam_scan = yes\n");

	scanhealth_note("spamd", "inet:127.0.0.1:7831", 0, "timeout");
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 0); /* the second is not known down */
	scanhealth_note("spamd", "inet:127.0.0.1:7832", 0, "connect failed");
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 1);
	ck_assert_str_eq(why, "spamd all 2 servers down: inet:127.0.0.1:7831: timeout; "
			      "inet:127.0.0.1:7832: connect failed");
	scanhealth_note("spamd", "inet:127.0.0.1:7832", 1, NULL);
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 0);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(table_entry_uses)
{
	struct rg_diag d = {0};
	struct rg_config *cfg;

	t_write("domains", "virus.test premium virus_scan=yes\n");
	cfg = t_load("domain_table = domains\nclamd_server = unix:/run/x/clamd.ctl\n", &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(scanhealth_in_use(cfg, "clamd"), 1);
	ck_assert_int_eq(scanhealth_in_use(cfg, "spamd"), 0);
	rg_diag_free(&d);
	rg_config_unref(cfg);
}
END_TEST

/* scan_servers' attempts are contacts too, and the gauge shows them. */
static int up_now;

static enum scansrv_rc
attempt(const struct rg_endpoint *ep, void *arg)
{
	(void)ep;
	(void)arg;
	return up_now ? SCANSRV_ANSWERED : SCANSRV_FAILED;
}

static const char *
attempt_why(void *arg)
{
	(void)arg;
	return "connect: Connection refused";
}

START_TEST(scans_feed_it)
{
	struct rg_config *cfg = load("clamd_server = unix:/run/x/clamd.ctl\nvirus_scan = yes\n");
	char note[300], *text;

	mmetrics_init("test");
	up_now = 0;
	scansrv_run("clamd", &cfg->global.clamd_server_ep, 0, attempt, attempt_why, NULL, note, sizeof(note));
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 1);
	ck_assert_ptr_nonnull(strstr(why, "connect: Connection refused"));
	text = rg_metrics_render(NULL);
	ck_assert_ptr_nonnull(strstr(
	    text, "relayguard_milter_scanner_up{scanner=\"clamd\",server=\"unix:/run/x/clamd.ctl\"} 0\n"));
	free(text);
	up_now = 1;
	scansrv_run("clamd", &cfg->global.clamd_server_ep, 0, attempt, attempt_why, NULL, note, sizeof(note));
	ck_assert_int_eq(scanhealth_check(cfg, why, sizeof(why)), 0);
	text = rg_metrics_render(NULL);
	ck_assert_ptr_nonnull(strstr(
	    text, "relayguard_milter_scanner_up{scanner=\"clamd\",server=\"unix:/run/x/clamd.ctl\"} 1\n"));
	free(text);
	rg_config_unref(cfg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("scan_health");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, not_in_use);
	tcase_add_test(tc, one_server);
	tcase_add_test(tc, every_server);
	tcase_add_test(tc, table_entry_uses);
	tcase_add_test(tc, scans_feed_it);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
