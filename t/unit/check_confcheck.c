/*
 * check_confcheck - what -t checks beyond syntax (user, directories,
 * myhostname, pattern files), the run directories the daemons create, and
 * the -n NAME / -d printing with secrets masked.
 */
#include <sys/stat.h>

#include "cfgtest.h"
#include "confcheck.h"

static char *
capture_names(const struct rg_config *cfg, int defaults, char *const *names, int n, int *rc)
{
	struct rg_diag d = {0};
	char *text = NULL;
	size_t len;
	FILE *fp = open_memstream(&text, &len);

	*rc = defaults ? rg_confcheck_print_defaults(fp, names, n, &d)
		       : rg_confcheck_print_names(cfg, fp, names, n, &d);
	fclose(fp);
	rg_diag_free(&d);
	return text;
}

START_TEST(test_good_config_passes)
{
	struct rg_diag d = {0};
	char conf[2048];
	struct rg_config *cfg;

	ck_assert_int_eq(mkdir("run", 0755), 0);
	ck_assert_int_eq(mkdir("tmp", 0755), 0);
	snprintf(conf, sizeof(conf),
		 "myhostname = relay.example.net\n"
		 "policyd_pidfile = %.200s/run/policyd.pid\n"
		 "milter_pidfile = %.200s/run/sub/milter.pid\n" /* the last level is created at start */
		 "policyd_listen = unix:%.200s/run/p.sock, inet:127.0.0.1:10040\n"
		 "milter_listen = unix:%.200s/run/m.sock\n"
		 "milter_tmpdir = %.200s/tmp\n"
		 "run_user = root\n",
		 t_dir, t_dir, t_dir, t_dir, t_dir);
	cfg = t_load(conf, &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(rg_confcheck(cfg, NULL, &d), 0);
	t_dump(&d);
	ck_assert_int_eq(d.count, 0);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_what_the_daemons_would_die_on)
{
	struct rg_diag d = {0};
	char conf[2048], want[1024];
	struct rg_config *cfg;

	snprintf(conf, sizeof(conf),
		 "run_user = no-such-user-rg\n"
		 "myhostname = relay_1!.example\n"
		 "policyd_pidfile = %.200s/missing/deeper/policyd.pid\n"
		 "milter_tmpdir = %.200s/no-tmp\n"
		 "milter_listen = unix:%.200s/a/b/m.sock\n"
		 "greylist_whitelist_clients = no-such-file\n",
		 t_dir, t_dir, t_dir);
	cfg = t_load(conf, &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(cfg); /* the syntax is fine: only -t sees these */
	ck_assert_int_eq(rg_confcheck(cfg, NULL, &d), 6);
	ck_assert(t_has(&d, "relayguard.conf:1: run_user: no such user \"no-such-user-rg\""));
	ck_assert(t_has(&d, "relayguard.conf:2: myhostname: \"relay_1!.example\" is not a host name"));
	snprintf(
	    want, sizeof(want),
	    "relayguard.conf:3: policyd_pidfile: directory %.200s/missing/deeper does not exist, nor does "
	    "%.200s/missing (the daemon creates only the last level)",
	    t_dir, t_dir);
	ck_assert(t_has(&d, want));
	snprintf(want, sizeof(want),
		 "relayguard.conf:4: milter_tmpdir: directory %.200s/no-tmp does not exist", t_dir);
	ck_assert(t_has(&d, want));
	snprintf(want, sizeof(want),
		 "relayguard.conf:5: milter_listen: directory %.200s/a/b does not exist, nor does %.200s/a "
		 "(the daemon "
		 "creates only the last level)",
		 t_dir, t_dir);
	ck_assert(t_has(&d, want));
	rg_diag_free(&d);
	/* -u overrides run_user. */
	ck_assert_int_eq(rg_confcheck(cfg, "root", &d), 5);
	rg_diag_free(&d);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_rundirs_created)
{
	struct rg_diag d = {0};
	char conf[2048], path[1024], err[256];
	struct rg_config *cfg;
	struct stat st;

	snprintf(conf, sizeof(conf),
		 "policyd_pidfile = %.200s/prun/policyd.pid\n"
		 "policyd_listen = unix:%.200s/psock/p.sock\n"
		 "milter_pidfile = %.200s/mrun/milter.pid\n",
		 t_dir, t_dir, t_dir);
	cfg = t_load(conf, &d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(rg_confcheck_rundirs(&cfg->global, RG_DAEMON_POLICYD, NULL, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%.200s/prun", t_dir);
	ck_assert(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "%.200s/psock", t_dir);
	ck_assert(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "%.200s/mrun", t_dir);
	ck_assert(stat(path, &st) != 0); /* the milter's, not ours */
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_print_names_and_secrets)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load("redis_password = hunter2\n"
				       "premium_greylisting = yes\n"
				       "spamd_server = inet:127.0.0.1:7830\n",
				       &d);
	char *names[] = {"spamd_server", "premium_greylisting", "standard_greylisting", "redis_password",
			 "redis_server"};
	char *bad[] = {"spamd_server", "no_such_parameter", "gold_greylisting"};
	char *text = NULL;
	size_t len;
	FILE *fp;
	int rc;

	ck_assert_ptr_nonnull(cfg);
	text = capture_names(cfg, 0, names, 5, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(text, "spamd_server = inet:127.0.0.1:7830\n"
			       "premium_greylisting = yes\n"
			       "standard_greylisting = no\n"
			       "redis_password = ********\n"
			       "redis_server = 127.0.0.1:6379\n");
	free(text);
	text = capture_names(cfg, 0, bad, 3, &rc);
	ck_assert_int_eq(rc, -1);
	free(text);
	/* -n without names masks the password too. */
	fp = open_memstream(&text, &len);
	rg_config_print(cfg, fp, 1);
	fclose(fp);
	ck_assert_msg(strstr(text, "hunter2") == NULL, "%.200s", text);
	ck_assert_msg(strstr(text, "redis_password = ********\n") != NULL, "%.200s", text);
	free(text);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_print_defaults)
{
	char *names[] = {"spamd_server", "gold_greylisting", "redis_password"};
	char *text;
	int rc;

	text = capture_names(NULL, 1, names, 3, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(text, "spamd_server = 127.0.0.1:783\ngold_greylisting = no\nredis_password =\n");
	free(text);
	text = capture_names(NULL, 1, NULL, 0, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(text, "\nmilter_metrics_listen =\n") != NULL, "%.200s", text);
	ck_assert_msg(strstr(text, "\npolicy_failure_action = dunno\n") != NULL, "%.200s", text);
	free(text);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("confcheck");
	TCase *tc = tcase_create("confcheck");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_add_test(tc, test_good_config_passes);
	tcase_add_test(tc, test_what_the_daemons_would_die_on);
	tcase_add_test(tc, test_rundirs_created);
	tcase_add_test(tc, test_print_names_and_secrets);
	tcase_add_test(tc, test_print_defaults);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
