/*
 * check_table - the domain and client tables: exact and parent domains,
 * case, longest-prefix for IPv4 and IPv6 (/0, /32, /128, mapped addresses),
 * duplicates and bad lines with file:line, overrides, file order, size.
 */
#include "cfgtest.h"
#include "table.h"

/* A configuration with the default classes and no tables. */
static struct rg_config *cfg;

static void
setup(void)
{
	struct rg_diag d = {0};

	t_setup();
	cfg = t_load("classes = premium standard trial\npremium_greylisting = yes\n", &d);
	ck_assert_ptr_nonnull(cfg);
}

static void
teardown(void)
{
	rg_config_unref(cfg);
	t_teardown();
}

static struct rg_table *
load(enum rg_table_kind kind, const char *text, struct rg_diag *d)
{
	t_write("table", text);
	return rg_table_load(kind, "table", cfg, d);
}

static const char *
dclass(const struct rg_table *t, const char *domain)
{
	const struct rg_entry *e = rg_table_domain(t, domain);

	return e ? e->key : "(none)";
}

static const char *
cclass(const struct rg_table *t, const char *addr)
{
	const struct rg_entry *e = rg_table_client(t, addr);

	return e ? e->key : "(none)";
}

START_TEST(test_domain_lookup)
{
	struct rg_diag d = {0};
	struct rg_table *t = load(RG_TABLE_DOMAIN,
				  "# customers\n"
				  "example.com premium\n"
				  ".example.com standard\n"
				  "Sub.Example.COM trial\n"
				  ".a.example.com trial\n"
				  "example.net. standard\n",
				  &d);

	t_dump(&d);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(rg_table_count(t), 5);
	ck_assert_str_eq(dclass(t, "example.com"), "example.com"); /* exact */
	ck_assert_str_eq(dclass(t, "EXAMPLE.com"), "example.com"); /* case */
	ck_assert_str_eq(dclass(t, "example.com."), "example.com");
	ck_assert_str_eq(dclass(t, "www.example.com"), ".example.com"); /* parent */
	ck_assert_str_eq(dclass(t, "sub.example.com"), "Sub.Example.COM"); /* exact beats parent */
	ck_assert_str_eq(dclass(t, "x.sub.example.com"), ".example.com"); /* no .sub entry */
	ck_assert_str_eq(dclass(t, "a.example.com"), ".example.com"); /* .a is below only */
	ck_assert_str_eq(dclass(t, "b.a.example.com"), ".a.example.com"); /* nearest parent */
	ck_assert_str_eq(dclass(t, "c.b.A.Example.Com"), ".a.example.com");
	ck_assert_str_eq(dclass(t, "example.net"), "example.net.");
	ck_assert_str_eq(dclass(t, "mx.example.net"), "(none)"); /* no .example.net */
	ck_assert_str_eq(dclass(t, "example.org"), "(none)");
	ck_assert_str_eq(dclass(t, "com"), "(none)");
	ck_assert_str_eq(dclass(t, "xexample.com"), "(none)");
	ck_assert_str_eq(dclass(t, ""), "(none)");
	ck_assert_str_eq(dclass(t, ".example.com"), "(none)");
	ck_assert_str_eq(dclass(t, "[192.0.2.1]"), "(none)");
	ck_assert_ptr_null(rg_table_domain(t, NULL));
	ck_assert_ptr_null(rg_table_client(t, "192.0.2.1")); /* wrong kind */
	{
		char longname[400];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = 0;
		ck_assert_str_eq(dclass(t, longname), "(none)");
	}
	ck_assert_str_eq(rg_table_domain(t, "www.example.com")->class_name, "standard");
	ck_assert_int_eq(rg_table_domain(t, "example.com")->line, 2);
	ck_assert_str_eq(rg_table_domain(t, "example.com")->file, "table");
	rg_table_free(t);
}
END_TEST

START_TEST(test_client_lookup)
{
	struct rg_diag d = {0};
	struct rg_table *t = load(RG_TABLE_CLIENT,
				  "192.0.2.0/24 standard\n"
				  "192.0.2.10 premium\n"
				  "192.0.2.128/25 trial\n"
				  "198.51.100.7/32 premium\n"
				  "2001:db8::/32 standard\n"
				  "2001:db8:1::/48 premium\n"
				  "[2001:db8:1::1]/128 trial\n"
				  "2001:db8:2::5 trial\n",
				  &d);

	t_dump(&d);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(cclass(t, "192.0.2.10"), "192.0.2.10");
	ck_assert_str_eq(cclass(t, "192.0.2.11"), "192.0.2.0/24");
	ck_assert_str_eq(cclass(t, "192.0.2.200"), "192.0.2.128/25");
	ck_assert_str_eq(cclass(t, "198.51.100.7"), "198.51.100.7/32");
	ck_assert_str_eq(cclass(t, "198.51.100.8"), "(none)");
	ck_assert_str_eq(cclass(t, "::ffff:192.0.2.10"), "192.0.2.10"); /* mapped = IPv4 */
	ck_assert_str_eq(cclass(t, "::ffff:192.0.2.129"), "192.0.2.128/25");
	ck_assert_str_eq(cclass(t, "2001:db8:1::1"), "[2001:db8:1::1]/128");
	ck_assert_str_eq(cclass(t, "2001:DB8:1::2"), "2001:db8:1::/48");
	ck_assert_str_eq(cclass(t, "2001:db8:2::5"), "2001:db8:2::5");
	ck_assert_str_eq(cclass(t, "2001:db8:2::6"), "2001:db8::/32");
	ck_assert_str_eq(cclass(t, "2001:db9::1"), "(none)");
	ck_assert_str_eq(cclass(t, "[2001:db8:1::1]"), "[2001:db8:1::1]/128");
	ck_assert_str_eq(cclass(t, "not an address"), "(none)");
	ck_assert_str_eq(cclass(t, "192.0.2"), "(none)");
	ck_assert_ptr_null(rg_table_client(t, NULL));
	ck_assert_ptr_null(rg_table_domain(t, "example.com")); /* wrong kind */
	rg_table_free(t);
}
END_TEST

START_TEST(test_client_zero_prefixes)
{
	struct rg_diag d = {0};
	struct rg_table *t = load(RG_TABLE_CLIENT, "0.0.0.0/0 standard\n10.0.0.0/8 premium\n", &d);

	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(cclass(t, "10.1.2.3"), "10.0.0.0/8");
	ck_assert_str_eq(cclass(t, "203.0.113.9"), "0.0.0.0/0");
	ck_assert_str_eq(cclass(t, "::ffff:203.0.113.9"), "0.0.0.0/0");
	ck_assert_str_eq(cclass(t, "2001:db8::1"), "(none)"); /* an IPv4 /0 is not IPv6 */
	rg_table_free(t);
	t = load(RG_TABLE_CLIENT, "::/0 standard\n", &d);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(cclass(t, "2001:db8::1"), "::/0");
	ck_assert_str_eq(cclass(t, "::1"), "::/0");
	ck_assert_str_eq(cclass(t, "192.0.2.1"), "(none)"); /* and ::/0 is not IPv4 */
	rg_table_free(t);
	t = load(RG_TABLE_CLIENT, "::ffff:192.0.2.0/120 standard\n", &d); /* mapped text form */
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(cclass(t, "192.0.2.99"), "::ffff:192.0.2.0/120");
	rg_table_free(t);
	ck_assert_int_eq(d.count, 0);
}
END_TEST

START_TEST(test_duplicates_and_bad_lines)
{
	static const char *const expect[] = {
	    "table:2: duplicate entry \"EXAMPLE.com\" (first at line 1)",
	    "table:3: missing class after \"example.net\"",
	    "table:4: unknown class \"gold\" for \"example.org\"",
	    "table:5: bad domain \"ex!ample.com\"",
	    "table:6: bad domain \"a..example.com\"",
	    "table:7: unknown parameter \"greylist_dealy\"",
	    "table:8: redis_server is a global parameter and cannot be set per entry",
	    "table:9: bad time value \"3x\" for greylist_delay",
	    "table:10: bad override \"greylisting\" (expected name=value)",
	    "table:11: value \"100\" out of range for message_size_limit (1k..4294967295)",
	    "table:13: bad value \"maybe\" for spam_failure_action (allowed: accept|tempfail)",
	};
	struct rg_diag d = {0};
	size_t i;

	ck_assert_ptr_null(load(RG_TABLE_DOMAIN,
				"example.com premium\n"
				"EXAMPLE.com standard\n"
				"example.net\n"
				"example.org gold\n"
				"ex!ample.com premium\n"
				"a..example.com premium\n"
				"b.example.com premium greylist_dealy=3m\n"
				"c.example.com premium redis_server=x\n"
				"d.example.com premium greylist_delay=3x\n"
				"e.example.com premium greylisting\n"
				"f.example.com premium\n"
				"   message_size_limit=100\n" /* continuation */
				"g.example.com premium spam_failure_action=maybe\n",
				&d));
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		ck_assert_msg(t_has(&d, expect[i]), "missing %s", expect[i]);
	ck_assert_int_eq(d.count, (int)(sizeof(expect) / sizeof(expect[0])));
	rg_diag_free(&d);

	ck_assert_ptr_null(load(RG_TABLE_CLIENT,
				"192.0.2.10 premium\n"
				"192.0.2.10/32 standard\n"
				"::ffff:192.0.2.10 standard\n"
				"192.0.2.1/24 standard\n"
				"192.0.2.0/33 standard\n"
				"2001:db8::/129 standard\n"
				"example.com standard\n"
				"10.1 standard\n"
				"2001:db8::/32 standard\n"
				"2001:DB8:0::/32 premium\n",
				&d));
	ck_assert(t_has(&d, "table:2: duplicate entry \"192.0.2.10/32\" (first at line 1)"));
	ck_assert(t_has(&d, "table:3: duplicate entry \"::ffff:192.0.2.10\" (first at line 1)"));
	ck_assert(t_has(&d, "table:4: host bits set in \"192.0.2.1/24\" (network is 192.0.2.0/24)"));
	ck_assert(t_has(&d, "table:5: bad prefix length in \"192.0.2.0/33\" (IPv4: 0..32)"));
	ck_assert(t_has(&d, "table:6: bad prefix length in \"2001:db8::/129\" (IPv6: 0..128)"));
	ck_assert(t_has(&d, "table:7: bad address \"example.com\""));
	ck_assert(t_has(&d, "table:8: bad address \"10.1\""));
	ck_assert(t_has(&d, "table:10: duplicate entry \"2001:DB8:0::/32\" (first at line 9)"));
	ck_assert_int_eq(d.count, 8);
	rg_diag_free(&d);

	ck_assert_ptr_null(rg_table_load(RG_TABLE_DOMAIN, "missing", cfg, &d));
	ck_assert_str_eq(d.msgs[0], "missing: cannot open: No such file or directory");
	rg_diag_free(&d);
}
END_TEST

START_TEST(test_overrides_and_order)
{
	struct rg_diag d = {0};
	const struct rg_entry *e;
	const struct rg_params *prem = rg_config_class(cfg, "premium");
	struct rg_table *t =
	    load(RG_TABLE_DOMAIN,
		 "example.com premium greylisting=no nexthop=[mail.example.com]:25\n"
		 "example.net premium\n"
		 "example.org standard rate_limits=100/1h,1000/1d\n"
		 "    spam_reject=yes\n"
		 "example.edu trial dynamic_ip_dnsbl=zen.example.org=127.0.0.10|127.0.0.11\n",
		 &d);

	t_dump(&d);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(rg_table_count(t), 4);
	ck_assert_str_eq(rg_table_at(t, 0)->key, "example.com");
	ck_assert_str_eq(rg_table_at(t, 1)->key, "example.net");
	ck_assert_str_eq(rg_table_at(t, 2)->key, "example.org");
	ck_assert_str_eq(rg_table_at(t, 3)->key, "example.edu");
	ck_assert_ptr_null(rg_table_at(t, 4));
	ck_assert_ptr_null(rg_table_at(t, -1));
	e = rg_table_domain(t, "example.com");
	ck_assert_ptr_ne(e->p, prem);
	ck_assert_int_eq(prem->greylisting, 1);
	ck_assert_int_eq(e->p->greylisting, 0);
	ck_assert_str_eq(e->p->nexthop, "[mail.example.com]:25");
	ck_assert_int_eq(e->p->greylist_delay, prem->greylist_delay);
	e = rg_table_domain(t, "example.net");
	ck_assert_ptr_eq(e->p, prem); /* shared, not copied */
	e = rg_table_domain(t, "example.org");
	ck_assert_int_eq(e->p->rate_limits.argc, 2);
	ck_assert_str_eq(e->p->rate_limits.argv[1], "1000/1d");
	ck_assert_int_eq(e->p->spam_reject, 1);
	ck_assert_int_eq(e->line, 3);
	e = rg_table_domain(t, "example.edu");
	ck_assert_int_eq(e->p->dynamic_ip_dnsbl.argc, 1);
	ck_assert_str_eq(e->class_name, "trial");
	rg_table_free(t);
	t = load(RG_TABLE_CLIENT, "# nothing\n\n", &d);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(rg_table_count(t), 0);
	ck_assert_ptr_null(rg_table_client(t, "192.0.2.1"));
	rg_table_free(t);
	rg_table_free(NULL);
	ck_assert_int_eq(rg_table_count(NULL), 0);
}
END_TEST

START_TEST(test_many_entries)
{
	struct rg_diag d = {0};
	char *text = NULL, name[64];
	size_t len;
	FILE *fp = open_memstream(&text, &len);
	struct rg_table *t;
	int i;

	for (i = 0; i < 20000; i++)
		fprintf(fp, "customer%d.example %s\n", i, i % 2 ? "premium" : "standard");
	fclose(fp);
	t = load(RG_TABLE_DOMAIN, text, &d);
	free(text);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(rg_table_count(t), 20000);
	for (i = 0; i < 20000; i += 997) {
		snprintf(name, sizeof(name), "CUSTOMER%d.example", i);
		ck_assert_int_eq(rg_table_domain(t, name)->line, i + 1);
	}
	ck_assert_ptr_null(rg_table_domain(t, "customer20000.example"));
	rg_table_free(t);

	text = NULL;
	fp = open_memstream(&text, &len);
	for (i = 0; i < 20000; i++)
		fprintf(fp, "10.%d.%d.0/24 standard\n2001:db8:%x::/48 premium\n", i / 256, i % 256, i);
	fclose(fp);
	t = load(RG_TABLE_CLIENT, text, &d);
	free(text);
	t_dump(&d);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(rg_table_count(t), 40000);
	for (i = 0; i < 20000; i += 513) {
		snprintf(name, sizeof(name), "10.%d.%d.77", i / 256, i % 256);
		ck_assert_int_eq(rg_table_client(t, name)->line, 2 * i + 1);
		snprintf(name, sizeof(name), "2001:db8:%x::77", i);
		ck_assert_int_eq(rg_table_client(t, name)->line, 2 * i + 2);
	}
	ck_assert_ptr_null(rg_table_client(t, "11.0.0.1"));
	rg_table_free(t);
}
END_TEST

static Suite *
table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_domain_lookup);
	tcase_add_test(tc, test_client_lookup);
	tcase_add_test(tc, test_client_zero_prefixes);
	tcase_add_test(tc, test_duplicates_and_bad_lines);
	tcase_add_test(tc, test_overrides_and_order);
	tcase_add_test(tc, test_many_entries);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(table_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
