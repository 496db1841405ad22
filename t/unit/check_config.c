/*
 * check_config - relayguard.conf: values and units, every kind of error with
 * its line, continuation lines, classes and the resolution order, printing
 * that re-parses to the same values, the shipped example, reference counts.
 */
#include <pthread.h>

#include "cfgtest.h"
#include "confint.h"
#include "table.h"

#define MIN_MS 60000LL
#define DAY_MS 86400000LL
#define MB (1LL << 20)

START_TEST(test_defaults)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load("", &d);

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(d.count, 0);
	ck_assert_int_eq(cfg->nclasses, 2);
	ck_assert_str_eq(cfg->class_names[0], "premium");
	ck_assert_str_eq(cfg->class_names[1], "standard");
	ck_assert_int_eq(cfg->global.greylist_delay, 3 * MIN_MS);
	ck_assert_int_eq(cfg->global.greylist_whitelist_lifetime, 95 * DAY_MS);
	ck_assert_int_eq(cfg->global.message_size_limit, 50 * MB);
	ck_assert_int_eq(cfg->global.policyd_max_line_length, 4096);
	ck_assert_int_eq(cfg->global.policyd_socket_mode, 0660);
	ck_assert_int_eq(cfg->global.milter_socket_mode, 0660);
	ck_assert_int_eq(cfg->global.dynamic_ip_blocking, 1);
	ck_assert_int_eq(cfg->global.greylisting, 0);
	ck_assert(cfg->global.spam_tag_score == 4.0);
	ck_assert_str_eq(cfg->global.syslog_facility, "mail");
	ck_assert_str_eq(cfg->global.redis_key_prefix, "rg:");
	ck_assert_int_eq(cfg->global.trusted_networks.argc, 2);
	ck_assert_str_eq(cfg->global.trusted_networks.argv[1], "::1/128");
	ck_assert_ptr_null(cfg->global.trusted_networks.argv[2]);
	ck_assert_int_eq(cfg->global.rate_limits.argc, 0);
	ck_assert_ptr_null(cfg->global.rate_limits.argv[0]);
	ck_assert(cfg->global.myhostname[0] != 0); /* from gethostname() */
	ck_assert_ptr_null(cfg->domains);
	ck_assert_ptr_null(cfg->clients);
	/* Classes without settings resolve to the globals. */
	ck_assert_int_eq(rg_config_class(cfg, "premium")->greylist_delay, 3 * MIN_MS);
	ck_assert_ptr_null(rg_config_class(cfg, "gold"));
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_values_and_units)
{
	struct rg_diag d = {0};
	struct rg_config *cfg =
	    t_load("greylist_delay = 500ms\n"
		   "greylist_retry_window = 4h\n"
		   "greylist_whitelist_lifetime = 2w\n"
		   "callout_down_backoff = 90\n"
		   "harvest_window = 30s\n"
		   "message_size_limit = 512k\n"
		   "milter_memory_buffer = 2M\n"
		   "spam_max_size = 1G\n"
		   "policyd_max_request_size = 2000\n"
		   "milter_socket_mode = 0600\n"
		   "redis_database = 0x0f\n"
		   "greylisting = YES\n"
		   "greylist_header = false\n"
		   "spam_scan = 1\n"
		   "dry_run = 0\n"
		   "spam_reject_score = -2.5e1\n"
		   "syslog_facility = LOCAL3\n"
		   "myhostname = relay.example.net\n"
		   "callout_own_hostnames = a.example.net,b.example.net  c.example.net ,\n",
		   &d);

	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->global.greylist_delay, 500);
	ck_assert_int_eq(cfg->global.greylist_retry_window, 4 * 3600000LL);
	ck_assert_int_eq(cfg->global.greylist_whitelist_lifetime, 14 * DAY_MS);
	ck_assert_int_eq(cfg->global.callout_down_backoff, 90000);
	ck_assert_int_eq(cfg->global.harvest_window, 30000);
	ck_assert_int_eq(cfg->global.message_size_limit, 512 * 1024);
	ck_assert_int_eq(cfg->global.milter_memory_buffer, 2 * MB);
	ck_assert_int_eq(cfg->global.spam_max_size, 1LL << 30);
	ck_assert_int_eq(cfg->global.policyd_max_request_size, 2000);
	ck_assert_int_eq(cfg->global.milter_socket_mode, 0600);
	ck_assert_int_eq(cfg->global.redis_database, 15);
	ck_assert_int_eq(cfg->global.greylisting, 1);
	ck_assert_int_eq(cfg->global.greylist_header, 0);
	ck_assert_int_eq(cfg->global.spam_scan, 1);
	ck_assert_int_eq(cfg->global.dry_run, 0);
	ck_assert(cfg->global.spam_reject_score == -25.0);
	ck_assert_str_eq(cfg->global.syslog_facility, "local3"); /* canonical spelling */
	ck_assert_str_eq(cfg->global.myhostname, "relay.example.net");
	ck_assert_int_eq(cfg->global.callout_own_hostnames.argc, 3);
	ck_assert_str_eq(cfg->global.callout_own_hostnames.argv[0], "a.example.net");
	ck_assert_str_eq(cfg->global.callout_own_hostnames.argv[1], "b.example.net");
	ck_assert_str_eq(cfg->global.callout_own_hostnames.argv[2], "c.example.net");
	ck_assert_ptr_null(cfg->global.callout_own_hostnames.argv[3]);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_syntax_continuation)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load("# comment\n"
				       "\n"
				       "   # indented comment\n"
				       "callout_own_hostnames = a.example.net,\n"
				       "    b.example.net\n"
				       "# a comment between continuation lines\n"
				       "\n"
				       "\tc.example.net\n"
				       "greylist_defer_text=  Try again # later  \r\n"
				       "greylist_delay = 1m\n"
				       "greylist_delay = 2m\n" /* a later setting wins */
				       "redis_password =\n"
				       "bogus_parameter = 1\n",
				       &d);

	ck_assert_ptr_null(cfg);
	ck_assert_int_eq(d.count, 1);
	/* The line number of an error is that of its logical line's first line. */
	ck_assert(t_has(&d, "relayguard.conf:13: unknown parameter \"bogus_parameter\""));
	rg_diag_free(&d);

	cfg = t_load("callout_own_hostnames = a.example.net,\n"
		     "    b.example.net\n"
		     "# comment\n"
		     "\tc.example.net\n"
		     "greylist_defer_text=  Try again # later  \r\n"
		     "greylist_delay = 1m\n"
		     "greylist_delay = 2m\n"
		     "redis_password =\n",
		     &d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->global.callout_own_hostnames.argc, 3);
	ck_assert_str_eq(cfg->global.callout_own_hostnames.argv[2], "c.example.net");
	ck_assert_str_eq(cfg->global.greylist_defer_text, "Try again # later");
	ck_assert_int_eq(cfg->global.greylist_delay, 2 * MIN_MS);
	ck_assert_str_eq(cfg->global.redis_password, "");
	rg_config_unref(cfg);
}
END_TEST

/* Each line of the file and the message it must produce (NULL: none). */
static const struct {
	const char *line, *msg;
} bad_lines[] = {
    {"  continues nothing", "continuation line (starts with white space) without a preceding line"},
    {"# every other line below is wrong", NULL},
    {"greylist_dealy = 3m", "unknown parameter \"greylist_dealy\""},
    {"greylist_delay = 3x", "bad time value \"3x\" for greylist_delay"},
    {"greylist_delay = 3 m", "bad time value \"3 m\" for greylist_delay"},
    {"greylist_delay = -3m", "bad time value \"-3m\" for greylist_delay"},
    {"message_size_limit = 50Q", "bad size value \"50Q\" for message_size_limit"},
    {"greylisting = maybe", "bad boolean value \"maybe\" (use yes or no) for greylisting"},
    {"redis_database = 12abc", "bad integer value \"12abc\" for redis_database"},
    {"redis_database = 256", "value \"256\" out of range for redis_database (0..255)"},
    {"redis_database = 99999999999999999999",
     "bad integer value \"99999999999999999999\" for redis_database"},
    {"redis_timeout = 5ms", "value \"5ms\" out of range for redis_timeout (10ms..1m)"},
    {"message_size_limit = 512", "value \"512\" out of range for message_size_limit (1k..4294967295)"},
    {"policyd_socket_mode = 01000", "value \"01000\" out of range for policyd_socket_mode (0..0777)"},
    {"spam_tag_score = 1e9", "value \"1e9\" out of range for spam_tag_score (-1000.0..1000.0)"},
    {"spam_reject_score = high", "bad number value \"high\" for spam_reject_score"},
    {"premium_redis_server = 10.0.0.1:6379",
     "\"premium_redis_server\": redis_server is a global parameter and cannot be set per class"},
    {"greylisting yes", "missing \"=\" in \"greylisting yes\" (expected name = value)"},
    {"Grey-listing = yes", "bad parameter name \"Grey-listing\""},
    {"= yes", "missing parameter name before \"=\""},
    {"gold_greylisting = yes", "unknown parameter \"gold_greylisting\" (no class \"gold\" in classes)"},
    {"premium_bogus = yes", "unknown parameter \"premium_bogus\""},
    {"syslog_facility = kern",
     "bad value \"kern\" for syslog_facility (allowed: mail|daemon|local0|local1|local2|local3|local4|local5|"
     "local6|local7)"},
    {"dry_run = \001", "invalid character 0x01 in line (not a text file?)"},
    {"premium_rate_limits = 500/1h, 500/1x", "bad premium_rate_limits: bad window in rate limit \"500/1x\""},
    {"trusted_networks = 127.0.0.0/8 10.0.0.1/8",
     "bad trusted_networks: host bits set in \"10.0.0.1/8\" (network is 10.0.0.0/8)"},
    {"policyd_listen = unix:/run/p.sock inet:127.0.0.1",
     "bad policyd_listen: \"inet:127.0.0.1\": missing port (host:port)"},
    {"policyd_listen = inet:[::1:10040", "bad policyd_listen: \"inet:[::1:10040\": missing ']'"},
    {"policyd_listen = unix:run/p.sock",
     "bad policyd_listen: \"unix:run/p.sock\": a socket path must be absolute (unix:/path)"},
    {"milter_listen = inet:x@localhost",
     "bad milter_listen: \"inet:x@localhost\": bad port before '@' (inet:port@host, port 1..65535)"},
    {"milter_listen = tcp:8891",
     "bad milter_listen: \"tcp:8891\": unknown address type (use inet:, inet6: or "
     "unix:)"},
    {"standard_dynamic_ip_dnsbl = zen.example=127.0.0",
     "bad standard_dynamic_ip_dnsbl: bad DNSBL answer code \"127.0.0\" in \"zen.example=127.0.0\""},
    {"classes = premium, standard, Gold", "bad classes: bad class name \"Gold\" (only a-z and 0-9)"},
    {"classes = premium, standard, premium", "bad classes: class \"premium\" named twice"},
    {"greylist_delay = 2m", NULL},
};

START_TEST(test_every_error)
{
	char *text = NULL, want[512];
	size_t len, i;
	int n = 0;
	FILE *fp = open_memstream(&text, &len);
	struct rg_diag d = {0};

	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++)
		fprintf(fp, "%s\n", bad_lines[i].line);
	fclose(fp);
	ck_assert_ptr_null(t_load(text, &d));
	free(text);
	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		if (bad_lines[i].msg == NULL)
			continue;
		snprintf(want, sizeof(want), "relayguard.conf:%zu: %s", i + 1, bad_lines[i].msg);
		/* All errors are reported, in line order. */
		ck_assert_int_gt(d.count, n);
		if (strcmp(d.msgs[n], want) != 0)
			t_dump(&d);
		ck_assert_str_eq(d.msgs[n], want);
		n++;
	}
	ck_assert_int_eq(d.count, n);
	rg_diag_free(&d);
}
END_TEST

START_TEST(test_cannot_open)
{
	struct rg_diag d = {0};

	ck_assert_ptr_null(rg_config_load("nonexistent.conf", &d));
	ck_assert_int_eq(d.count, 1);
	ck_assert_str_eq(d.msgs[0], "nonexistent.conf: cannot open: No such file or directory");
	rg_diag_free(&d);
}
END_TEST

START_TEST(test_too_many_errors)
{
	struct rg_diag d = {0};
	char *text = NULL;
	size_t len;
	FILE *fp = open_memstream(&text, &len);
	int i;

	for (i = 0; i < 500; i++)
		fprintf(fp, "nonsense%d = 1\n", i);
	fclose(fp);
	ck_assert_ptr_null(t_load(text, &d));
	free(text);
	ck_assert_int_eq(d.count, RG_DIAG_MAX + 1);
	ck_assert_str_eq(d.msgs[RG_DIAG_MAX], "too many errors; the rest are not shown");
	rg_diag_free(&d);
	/* A binary file: one message per offending line, bounded. */
	{
		static const char elf[] = "\x7f"
					  "ELF\x02\x01\x01\n\x00\x00\x00\n";
		FILE *bin = fopen("relayguard.conf", "w");

		ck_assert_ptr_nonnull(bin);
		ck_assert_int_eq(fwrite(elf, 1, sizeof(elf) - 1, bin), sizeof(elf) - 1);
		fclose(bin);
	}
	ck_assert_ptr_null(rg_config_load("relayguard.conf", &d));
	ck_assert_int_eq(d.count, 2);
	rg_diag_free(&d);
}
END_TEST

START_TEST(test_bounds)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load("redis_database = 255\n"
				       "policyd_max_connections = 1\n"
				       "redis_timeout = 10ms\n"
				       "redis_connect_timeout = 1m\n"
				       "message_size_limit = 4294967295\n"
				       "policyd_max_line_length = 256\n"
				       "spam_tag_score = -1000\n"
				       "greylist_whitelist_lifetime = 365d\n"
				       "greylist_delay = 0\n"
				       "harvest_limit = 0\n",
				       &d);

	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->global.redis_database, 255);
	ck_assert_int_eq(cfg->global.redis_timeout, 10);
	ck_assert_int_eq(cfg->global.message_size_limit, 4294967295LL);
	ck_assert_int_eq(cfg->global.greylist_whitelist_lifetime, 365 * DAY_MS);
	ck_assert_int_eq(cfg->global.greylist_delay, 0);
	rg_config_unref(cfg);
	cfg = t_load("greylist_whitelist_lifetime = 366d\n", &d);
	ck_assert_ptr_null(cfg);
	ck_assert(t_has(&d, "relayguard.conf:1: value \"366d\" out of range for greylist_whitelist_lifetime "
			    "(1s..365d)"));
	rg_diag_free(&d);
}
END_TEST

START_TEST(test_parsers)
{
	char err[128];
	long long v;
	int b;

	ck_assert_int_eq(rg_parse_time("3m", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 180000);
	ck_assert_int_eq(rg_parse_time("95d", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 95 * DAY_MS);
	ck_assert_int_eq(rg_parse_time("500ms", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 500);
	ck_assert_int_eq(rg_parse_time("7", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 7000);
	ck_assert_int_eq(rg_parse_time("010", &v, err, sizeof(err)), 0); /* decimal, not octal */
	ck_assert_int_eq(v, 10000);
	ck_assert_int_eq(rg_parse_time("1w", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 7 * DAY_MS);
	ck_assert_int_eq(rg_parse_time("", &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "bad time value \"\"");
	ck_assert_int_eq(rg_parse_time("1h30m", &v, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_parse_time("3M", &v, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_parse_time(" 3m", &v, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_parse_time("99999999999999999w", &v, err, sizeof(err)), -1); /* overflow */
	ck_assert_int_eq(rg_parse_size("50M", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 50 * MB);
	ck_assert_int_eq(rg_parse_size("512k", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 512 * 1024);
	ck_assert_int_eq(rg_parse_size("512K", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(rg_parse_size("2G", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 2LL << 30);
	ck_assert_int_eq(rg_parse_size("100", &v, err, sizeof(err)), 0);
	ck_assert_int_eq(v, 100);
	ck_assert_int_eq(rg_parse_size("1MB", &v, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_parse_size("1.5M", &v, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_parse_size("9999999999999G", &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "bad size value \"9999999999999G\"");
	ck_assert_int_eq(rg_parse_bool("yes", &b, err, sizeof(err)), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(rg_parse_bool("True", &b, err, sizeof(err)), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(rg_parse_bool("no", &b, err, sizeof(err)), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(rg_parse_bool("0", &b, err, sizeof(err)), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(rg_parse_bool("y", &b, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_classes_and_precedence)
{
	struct rg_diag d = {0};
	struct rg_config *cfg;
	const struct rg_entry *e;
	const struct rg_params *prem, *std;

	t_write("domains", "example.com premium greylist_delay=1m\n"
			   "example.net premium\n"
			   "example.org standard spam_reject=yes\n");
	cfg = t_load("domain_table = domains\n"
		     "premium_greylist_delay = 3m\n" /* class before the global: order does not matter */
		     "greylist_delay = 5m\n"
		     "greylisting = yes\n"
		     "premium_message_size_limit = 200M\n"
		     "standard_greylisting = no\n",
		     &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	prem = rg_config_class(cfg, "premium");
	std = rg_config_class(cfg, "standard");
	/* entry > class > global > default */
	e = rg_config_domain(cfg, "example.com");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->p->greylist_delay, 1 * MIN_MS); /* entry */
	ck_assert_int_eq(e->p->message_size_limit, 200 * MB); /* class */
	ck_assert_int_eq(e->p->greylisting, 1); /* global */
	ck_assert_int_eq(e->p->greylist_retry_window, DAY_MS); /* default */
	ck_assert_ptr_ne(e->p, prem); /* own resolved copy */
	ck_assert_int_eq(prem->greylist_delay, 3 * MIN_MS); /* class */
	ck_assert_int_eq(std->greylist_delay, 5 * MIN_MS); /* global */
	ck_assert_int_eq(std->greylisting, 0); /* class */
	ck_assert_int_eq(std->message_size_limit, 50 * MB); /* default */
	ck_assert_int_eq(cfg->global.greylist_delay, 5 * MIN_MS);
	e = rg_config_domain(cfg, "example.net");
	ck_assert_ptr_eq(e->p, prem); /* no overrides: shares the class's set */
	ck_assert_str_eq(e->class_name, "premium");
	e = rg_config_domain(cfg, "example.org");
	ck_assert_int_eq(e->p->spam_reject, 1);
	ck_assert_int_eq(std->spam_reject, 0);
	ck_assert_ptr_null(rg_config_domain(cfg, "example.edu"));
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_custom_classes_exact_name_wins)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load("spam_scan = yes\n" /* the global, not class "spam" */
				       "spam_spam_scan = no\n" /* class "spam" */
				       "gold1_greylisting = yes\n"
				       "classes = gold1 spam\n", /* classes may come last */
				       &d);

	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->nclasses, 2);
	ck_assert_int_eq(cfg->global.spam_scan, 1);
	ck_assert_int_eq(rg_config_class(cfg, "spam")->spam_scan, 0);
	ck_assert_int_eq(rg_config_class(cfg, "gold1")->spam_scan, 1);
	ck_assert_int_eq(rg_config_class(cfg, "gold1")->greylisting, 1);
	ck_assert_ptr_null(rg_config_class(cfg, "premium"));
	rg_config_unref(cfg);
	/* With the default classes, "premium_greylisting" is premium's. */
	cfg = t_load("premium_greylisting = yes\n", &d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(rg_config_class(cfg, "premium")->greylisting, 1);
	ck_assert_int_eq(rg_config_class(cfg, "standard")->greylisting, 0);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_tables_fail_load)
{
	struct rg_diag d = {0};

	t_write("domains", "example.com premium\n"
			   "example.com standard\n"
			   "example.net premium rate_limits=5/1x\n"
			   "example.org premium redis_server=x\n");
	ck_assert_ptr_null(t_load("domain_table = domains\nclient_table = /nonexistent/clients\n", &d));
	ck_assert(t_has(&d, "domains:2: duplicate entry \"example.com\" (first at line 1)"));
	ck_assert(t_has(&d, "domains:3: bad rate_limits: bad window in rate limit \"5/1x\""));
	ck_assert(t_has(&d, "domains:4: redis_server is a global parameter and cannot be set per entry"));
	ck_assert(t_has(&d, "/nonexistent/clients: cannot open: No such file or directory"));
	ck_assert_int_eq(d.count, 4);
	rg_diag_free(&d);
	/* Table paths are relative to the configuration file's directory. */
	ck_assert_int_eq(mkdir("etc", 0700), 0);
	t_write("etc/clients", "192.0.2.0/24 standard\n");
	t_write("etc/relayguard.conf", "client_table = clients\n");
	{
		struct rg_config *cfg = rg_config_load("etc/relayguard.conf", &d);

		t_dump(&d);
		ck_assert_ptr_nonnull(cfg);
		ck_assert_str_eq(rg_config_client(cfg, "192.0.2.7")->class_name, "standard");
		ck_assert_ptr_null(rg_config_client(cfg, "198.51.100.1"));
		ck_assert_ptr_null(rg_config_domain(cfg, "example.com"));
		rg_config_unref(cfg);
	}
}
END_TEST

START_TEST(test_trusted)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load("", &d);

	ck_assert(rg_config_trusted(cfg, "127.0.0.1"));
	ck_assert(rg_config_trusted(cfg, "::1"));
	ck_assert(rg_config_trusted(cfg, "::ffff:127.1.2.3"));
	ck_assert(!rg_config_trusted(cfg, "192.0.2.1"));
	ck_assert(!rg_config_trusted(cfg, "garbage"));
	ck_assert(!rg_config_trusted(cfg, NULL));
	rg_config_unref(cfg);
	cfg = t_load("trusted_networks = 192.0.2.0/24, [2001:db8::]/32\n", &d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert(!rg_config_trusted(cfg, "127.0.0.1"));
	ck_assert(rg_config_trusted(cfg, "192.0.2.200"));
	ck_assert(rg_config_trusted(cfg, "2001:db8:ffff::1"));
	ck_assert(!rg_config_trusted(cfg, "2001:db9::1"));
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_special_syntax)
{
	struct rg_dnsbl bl;
	char err[256];

	ck_assert_int_eq(rg_dnsbl_parse("zen.spamhaus.org", &bl, err, sizeof(err)), 0);
	ck_assert_str_eq(bl.zone, "zen.spamhaus.org");
	ck_assert_int_eq(bl.ncodes, 0);
	ck_assert_int_eq(rg_dnsbl_parse("zen.spamhaus.org=127.0.0.10|127.0.0.11", &bl, err, sizeof(err)), 0);
	ck_assert_str_eq(bl.zone, "zen.spamhaus.org");
	ck_assert_int_eq(bl.ncodes, 2);
	ck_assert_int_eq(bl.codes[1][3], 11);
	ck_assert_int_eq(rg_dnsbl_parse("zen..org", &bl, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_dnsbl_parse("zen.org=", &bl, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_dnsbl_parse("zen.org=127.0.0.2||127.0.0.3", &bl, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_dnsbl_parse("=127.0.0.2", &bl, err, sizeof(err)), -1);
	/* A bare code is not a zone: the old run-time reader took it as one. */
	ck_assert_int_eq(rg_dnsbl_parse("127.0.0.11", &bl, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "'|'") != NULL, "%s", err);
}
END_TEST

/* Every address parameter is parsed once at load by the endpoint grammar. */
START_TEST(test_typed_addresses)
{
	struct rg_diag d = {0};
	struct rg_config *cfg =
	    t_load("policyd_listen = unix:/run/p.sock, inet:127.0.0.1:10040 inet:[::1]:10040\n"
		   "    inet:*:10041\n"
		   "milter_listen = inet:127.0.0.1:10042\n"
		   "policyd_metrics_listen = 127.0.0.1:9101\n"
		   "redis_server = unix:/run/redis/redis.sock\n"
		   "spamd_server = inet:127.0.0.1:783, 127.0.0.2 unix:/run/spamd.sock\n"
		   "dns_server = 127.0.0.1:5353\n"
		   "nexthop = [mail.example.com]:2525\n",
		   &d);
	char conn[300];

	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->global.policyd_listen_ep.n, 4);
	ck_assert_int_eq(cfg->global.policyd_listen_ep.v[0].kind, RG_EP_UNIX);
	ck_assert_str_eq(cfg->global.policyd_listen_ep.v[0].path, "/run/p.sock");
	ck_assert_str_eq(cfg->global.policyd_listen_ep.v[2].host, "::1");
	ck_assert_str_eq(cfg->global.policyd_listen_ep.v[3].host, "");
	ck_assert_int_eq(cfg->global.policyd_listen_ep.v[3].port, 10041);
	/* The policyd spelling works for the milter; libmilter gets its own. */
	ck_assert_int_eq(rg_endpoint_milter_conn(cfg->global.milter_listen_ep, conn, sizeof(conn)), 0);
	ck_assert_str_eq(conn, "inet:10042@127.0.0.1");
	ck_assert_int_eq(cfg->global.policyd_metrics_listen_ep->port, 9101);
	ck_assert_ptr_null(cfg->global.milter_metrics_listen_ep); /* empty = off */
	ck_assert_str_eq(cfg->global.redis_server_ep->path, "/run/redis/redis.sock");
	/* A scanning cluster: several spamd, in order, each with the default port. */
	ck_assert_int_eq(cfg->global.spamd_server_ep.n, 3);
	ck_assert_str_eq(cfg->global.spamd_server_ep.v[0].host, "127.0.0.1");
	ck_assert_int_eq(cfg->global.spamd_server_ep.v[0].port, 783);
	ck_assert_str_eq(cfg->global.spamd_server_ep.v[1].host, "127.0.0.2");
	ck_assert_int_eq(cfg->global.spamd_server_ep.v[1].port, 783);
	ck_assert_int_eq(cfg->global.spamd_server_ep.v[2].kind, RG_EP_UNIX);
	ck_assert_str_eq(cfg->global.spamd_server.argv[0], "inet:127.0.0.1:783"); /* text as written */
	ck_assert_int_eq(cfg->global.dns_server_ep->port, 5353);
	ck_assert_int_eq(cfg->global.nexthop_ep->bracketed, 1);
	ck_assert_int_eq(rg_config_class(cfg, "premium")->nexthop_ep->port, 2525);
	rg_config_unref(cfg);

	/* Defaults parse too. */
	cfg = t_load("", &d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->global.spamd_server_ep.n, 1);
	ck_assert_int_eq(cfg->global.spamd_server_ep.v[0].port, 783);
	ck_assert_int_eq(cfg->global.clamd_server_ep.n, 1);
	ck_assert_str_eq(cfg->global.clamd_server_ep.v[0].path, "/run/clamav/clamd.ctl");
	ck_assert_int_eq(cfg->global.redis_server_ep->port, 6379);
	ck_assert_ptr_null(cfg->global.dns_server_ep);
	ck_assert_ptr_null(cfg->global.nexthop_ep);
	rg_config_unref(cfg);
}
END_TEST

START_TEST(test_bad_addresses)
{
	struct rg_diag d = {0};

	ck_assert_ptr_null(t_load("spamd_server = localhost:783x\n"
				  "redis_server =\n"
				  "milter_listen = inet:10041@\n"
				  "policyd_listen = inet:127.0.0.1\n"
				  "dns_server = ns.example.net\n"
				  "nexthop = [mail.example.com:25\n"
				  "standard_nexthop = unix:/x\n"
				  "milter_metrics_listen = 9102\n",
				  &d));
	ck_assert_int_eq(d.count, 8);
	ck_assert(t_has(
	    &d, "relayguard.conf:1: bad spamd_server: \"localhost:783x\": bad port \"783x\" (1..65535)"));
	ck_assert(t_has(&d, "relayguard.conf:2: redis_server cannot be empty (default: 127.0.0.1:6379)"));
	ck_assert(t_has(&d, "relayguard.conf:3: bad milter_listen: \"inet:10041@\": missing host after '@'"));
	ck_assert(
	    t_has(&d, "relayguard.conf:4: bad policyd_listen: \"inet:127.0.0.1\": missing port (host:port)"));
	ck_assert(t_has(
	    &d, "relayguard.conf:5: bad dns_server: \"ns.example.net\": the host must be an IP address"));
	ck_assert(t_has(&d, "relayguard.conf:6: bad nexthop: \"[mail.example.com:25\": missing ']'"));
	ck_assert(t_has(&d,
			"relayguard.conf:7: bad standard_nexthop: \"unix:/x\": a UNIX-domain socket is not "
			"allowed here (use host:port)"));
	rg_diag_free(&d);
}
END_TEST

/* A table entry's overrides get the same typed parsing as the file. */
START_TEST(test_typed_table_overrides)
{
	struct rg_diag d = {0};
	struct rg_config *cfg;
	const struct rg_entry *e;

	t_write("domains", "good.example premium nexthop=[mail.good.example]:25 rate_limits=10/1m,100/1h "
			   "spam_failure_action=tempfail "
			   "dynamic_ip_dnsbl=zone1.example=127.0.0.10|127.0.0.11,zone2.example\n"
			   "bad.example premium nexthop=[mail.example.com:25\n"
			   "bad2.example premium inbound_rate_limits=10/x\n"
			   "bad3.example premium dynamic_ip_dnsbl=zone1.example=127.0.0.10,127.0.0.11\n");
	ck_assert_ptr_null(t_load("domain_table = domains\n", &d));
	ck_assert(t_has(&d, "domains:2: bad nexthop: \"[mail.example.com:25\": missing ']'"));
	ck_assert(t_has(&d, "domains:3: bad inbound_rate_limits: bad window in rate limit \"10/x\""));
	ck_assert_int_eq(d.count, 3);
	ck_assert_msg(
	    strncmp(d.msgs[2], "domains:4: bad dynamic_ip_dnsbl: \"127.0.0.11\" is an address", 58) == 0,
	    "%s", d.msgs[2]);
	rg_diag_free(&d);

	t_write("domains", "good.example premium nexthop=[mail.good.example]:25 rate_limits=10/1m,100/1h "
			   "spam_failure_action=tempfail "
			   "dynamic_ip_dnsbl=zone1.example=127.0.0.10|127.0.0.11,zone2.example\n");
	cfg = t_load("domain_table = domains\n", &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	e = rg_config_domain(cfg, "good.example");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->p->nexthop_ep->host, "mail.good.example");
	ck_assert_int_eq(e->p->nexthop_ep->bracketed, 1);
	ck_assert_int_eq(e->p->rate_limits_rates.n, 2);
	ck_assert_int_eq(e->p->rate_limits_rates.v[0].count, 10);
	ck_assert_int_eq(e->p->rate_limits_rates.v[0].window_ms, MIN_MS);
	ck_assert_int_eq(e->p->rate_limits_rates.v[1].window_ms, 60 * MIN_MS);
	ck_assert_int_eq(e->p->spam_failure_action, RG_SPAM_FAIL_TEMPFAIL);
	ck_assert_int_eq(e->p->dynamic_ip_dnsbl_bl.n, 2);
	ck_assert_str_eq(e->p->dynamic_ip_dnsbl_bl.v[0].zone, "zone1.example");
	ck_assert_int_eq(e->p->dynamic_ip_dnsbl_bl.v[0].ncodes, 2);
	ck_assert_int_eq(e->p->dynamic_ip_dnsbl_bl.v[1].ncodes, 0);
	/* The class set is untouched. */
	ck_assert_int_eq(rg_config_class(cfg, "premium")->rate_limits_rates.n, 0);
	ck_assert_int_eq(rg_config_class(cfg, "premium")->spam_failure_action, RG_SPAM_FAIL_ACCEPT);
	rg_config_unref(cfg);
}
END_TEST

/* The string enums are C enums; their words print back. */
START_TEST(test_typed_enums)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load("policy_failure_action = DEFER_IF_PERMIT\n"
				       "premium_rate_limit_unit = recipient\n"
				       "callout_unknown_action = tempfail\n",
				       &d);
	char word[32];

	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->global.policy_failure_action, RG_POLICY_FAIL_DEFER_IF_PERMIT);
	ck_assert_int_eq(cfg->global.rate_limit_unit, RG_RATE_UNIT_MESSAGE);
	ck_assert_int_eq(rg_config_class(cfg, "premium")->rate_limit_unit, RG_RATE_UNIT_RECIPIENT);
	ck_assert_int_eq(cfg->global.callout_unknown_action, RG_CALLOUT_UNKNOWN_TEMPFAIL);
	ck_assert_str_eq(
	    rg_enum_name(rg_pinfo_find("policy_failure_action"), RG_POLICY_FAIL_DEFER, word, sizeof(word)),
	    "defer");
	ck_assert_str_eq(
	    rg_enum_name(rg_pinfo_find("spam_failure_action"), RG_SPAM_FAIL_TEMPFAIL, word, sizeof(word)),
	    "tempfail");
	rg_config_unref(cfg);
	ck_assert_ptr_null(t_load("spam_failure_action = bounce\n", &d));
	ck_assert(t_has(
	    &d,
	    "relayguard.conf:1: bad value \"bounce\" for spam_failure_action (allowed: accept|tempfail)"));
	rg_diag_free(&d);
}
END_TEST

/* Every global and class value of a equals b's. */
static void
assert_same(const struct rg_config *a, const struct rg_config *b)
{
	const struct rg_pinfo *pi;
	int c;

	ck_assert_int_eq(a->nclasses, b->nclasses);
	for (pi = rg_pinfo; pi->name; pi++) {
		ck_assert_msg(rg_conf_valeq(pi, &a->global, &b->global), "global %s differs", pi->name);
		for (c = 0; c < a->nclasses; c++)
			ck_assert_msg(rg_conf_valeq(pi, a->class_params[c], b->class_params[c]),
				      "%s_%s differs", a->class_names[c], pi->name);
	}
}

static char *
print_to_string(const struct rg_config *cfg, int nondefault)
{
	char *text = NULL;
	size_t len;
	FILE *fp = open_memstream(&text, &len);

	rg_config_print(cfg, fp, nondefault);
	fclose(fp);
	return text;
}

START_TEST(test_print_roundtrip)
{
	struct rg_diag d = {0};
	struct rg_config *cfg, *again;
	char *text;

	t_write("domains", "example.com premium\n");
	cfg = t_load("classes = premium, standard, trial\n"
		     "domain_table = domains\n"
		     "greylist_delay = 500ms\n"
		     "premium_greylist_delay = 3m\n"
		     "premium_greylist_whitelist_lifetime = 95d\n"
		     "premium_message_size_limit = 200M\n"
		     "premium_rate_limits = 500/1h,5000/1d\n"
		     "standard_spam_tag_score = 5\n"
		     "trial_spam_reject_score = 7.25\n"
		     "trial_spam_max_size = 2000\n"
		     "spam_max_size = 512k\n"
		     "milter_socket_mode = 0600\n"
		     "harvest_window = 90\n"
		     "callout_negative_refresh = 7d\n"
		     "dynamic_ip_dnsbl = zen.example.org=127.0.0.10|127.0.0.11 dnsbl.example.net\n"
		     "greylist_defer_text = Greylisted, please retry\n"
		     "syslog_facility = local0\n"
		     "policyd_listen = unix:/run/p.sock, inet:[::1]:10040\n"
		     "standard_rate_limits =\n"
		     "redis_password =\n",
		     &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	text = print_to_string(cfg, 1);
	ck_assert_ptr_nonnull(strstr(text, "\ngreylist_delay = 500ms\n"));
	ck_assert_ptr_nonnull(strstr(text, "\npremium_greylist_delay = 3m\n"));
	ck_assert_ptr_nonnull(strstr(text, "\npremium_greylist_whitelist_lifetime = 95d\n"));
	ck_assert_ptr_nonnull(strstr(text, "\npremium_message_size_limit = 200M\n"));
	ck_assert_ptr_nonnull(strstr(text, "\npremium_rate_limits = 500/1h, 5000/1d\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nstandard_spam_tag_score = 5.0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ntrial_spam_reject_score = 7.25\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nspam_max_size = 512k\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nmilter_socket_mode = 0600\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nharvest_window = 90s\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ncallout_negative_refresh = 7d\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nredis_password =\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nstandard_rate_limits =\n"));
	ck_assert_ptr_null(strstr(text, "message_size_limit = 50M")); /* not set: not in -n */
	ck_assert_ptr_null(strstr(text, "myhostname"));
	ck_assert_ptr_null(strstr(text, " \n")); /* "name =" for empty values, no trailing blank */
	t_write("printed.conf", text);
	free(text);
	again = rg_config_load("printed.conf", &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(again);
	assert_same(cfg, again);
	rg_config_unref(again);

	/* The full form also re-parses to the same values. */
	text = print_to_string(cfg, 0);
	ck_assert_ptr_nonnull(strstr(text, "\nmessage_size_limit = 50M\n"));
	ck_assert_ptr_nonnull(strstr(text, "\npolicyd_socket_mode = 0660\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nspam_tag_score = 4.0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ntrial_spam_max_size = 2000\n"));
	ck_assert_ptr_null(strstr(text, "trial_greylist_delay")); /* same as the global */
	t_write("full.conf", text);
	free(text);
	again = rg_config_load("full.conf", &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(again);
	assert_same(cfg, again);
	rg_config_unref(again);

	text = NULL;
	{
		size_t len;
		FILE *fp = open_memstream(&text, &len);

		rg_params_print(rg_config_class(cfg, "premium"), fp);
		fclose(fp);
	}
	ck_assert_ptr_nonnull(strstr(text, "\ngreylist_delay = 3m\n"));
	ck_assert_ptr_null(strstr(text, "redis_server")); /* global only */
	free(text);
	rg_config_unref(cfg);
}
END_TEST

/* Copy src to dst, uncommenting "#word ..." lines (the examples) and keeping the rest. */
static void
uncomment(const char *src, const char *dst)
{
	FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
	char line[1024];

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), in))
		fputs(line[0] == '#' && line[1] != ' ' && line[1] != '\n' && line[1] != '#' ? line + 1 : line,
		      out);
	fclose(in);
	fclose(out);
}

START_TEST(test_shipped_example)
{
	struct rg_diag d = {0};
	struct rg_config *cfg;
	const struct rg_params *p, *s;
	char path[PATH_MAX + 64];
	const struct rg_entry *e;

	snprintf(path, sizeof(path), "%s/conf/relayguard.conf", t_srcdir());
	cfg = rg_config_load(path, &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(d.count, 0);
	p = rg_config_class(cfg, "premium");
	s = rg_config_class(cfg, "standard");
	ck_assert_int_eq(p->greylisting, 1);
	ck_assert_int_eq(p->greylist_delay, 3 * MIN_MS);
	ck_assert_int_eq(p->greylist_retry_window, DAY_MS);
	ck_assert_int_eq(p->greylist_whitelist_lifetime, 95 * DAY_MS);
	ck_assert_int_eq(p->dynamic_ip_blocking, 1);
	ck_assert_int_eq(p->rate_limits.argc, 2);
	ck_assert_int_eq(p->message_size_limit, 200 * MB);
	ck_assert_int_eq(p->spam_scan, 1);
	ck_assert(p->spam_tag_score == 4.0);
	ck_assert_int_eq(p->spam_reject, 0);
	ck_assert_int_eq(p->recipient_callout, 1);
	ck_assert_int_eq(s->message_size_limit, 50 * MB);
	ck_assert_int_eq(s->dynamic_ip_blocking, 1);
	ck_assert_int_eq(s->greylisting, 0);
	ck_assert_int_eq(s->spam_scan, 0);
	ck_assert_int_eq(s->rate_limits.argc, 0);
	ck_assert_int_eq(s->recipient_callout, 0);
	ck_assert_int_eq(rg_table_count(cfg->domains), 0);
	ck_assert_int_eq(rg_table_count(cfg->clients), 0);
	rg_config_unref(cfg);

	/* The commented examples in the shipped tables are valid entries. */
	uncomment(path, "relayguard.conf");
	snprintf(path, sizeof(path), "%s/conf/domains", t_srcdir());
	uncomment(path, "domains");
	snprintf(path, sizeof(path), "%s/conf/clients", t_srcdir());
	uncomment(path, "clients");
	snprintf(path, sizeof(path), "%s/conf/sender_lists", t_srcdir());
	uncomment(path, "sender_lists");
	t_write("whitelist_clients", "");
	t_write("dynamic_ip_patterns", "");
	cfg = rg_config_load("relayguard.conf", &d);
	t_dump(&d);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_gt(rg_table_count(cfg->domains), 3);
	ck_assert_int_gt(rg_table_count(cfg->clients), 3);
	e = rg_config_domain(cfg, "example.com");
	ck_assert_int_eq(e->p->spam_reject, 1);
	ck_assert_str_eq(e->p->nexthop, "[mail.example.com]:25");
	e = rg_config_client(cfg, "198.51.100.25");
	ck_assert_str_eq(e->class_name, "premium");
	rg_config_unref(cfg);
}
END_TEST

static void *
ref_worker(void *arg)
{
	struct rg_config *cfg = arg;
	int i;

	for (i = 0; i < 10000; i++) {
		rg_config_ref(cfg);
		ck_assert_int_eq(rg_config_class(cfg, "premium")->greylist_delay, 3 * MIN_MS);
		rg_config_unref(cfg);
	}
	rg_config_unref(cfg); /* the reference given to this thread */
	return NULL;
}

START_TEST(test_refcount_threads)
{
	struct rg_diag d = {0};
	struct rg_config *cfg = t_load("", &d);
	pthread_t th[4];
	int i;

	ck_assert_ptr_nonnull(cfg);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, ref_worker, rg_config_ref(cfg)), 0);
	rg_config_unref(cfg); /* the loader's reference; the threads hold theirs */
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	rg_config_unref(NULL);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values_and_units);
	tcase_add_test(tc, test_syntax_continuation);
	tcase_add_test(tc, test_every_error);
	tcase_add_test(tc, test_cannot_open);
	tcase_add_test(tc, test_too_many_errors);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_parsers);
	tcase_add_test(tc, test_classes_and_precedence);
	tcase_add_test(tc, test_custom_classes_exact_name_wins);
	tcase_add_test(tc, test_tables_fail_load);
	tcase_add_test(tc, test_trusted);
	tcase_add_test(tc, test_special_syntax);
	tcase_add_test(tc, test_typed_addresses);
	tcase_add_test(tc, test_bad_addresses);
	tcase_add_test(tc, test_typed_table_overrides);
	tcase_add_test(tc, test_typed_enums);
	tcase_add_test(tc, test_print_roundtrip);
	tcase_add_test(tc, test_shipped_example);
	tcase_add_test(tc, test_refcount_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
