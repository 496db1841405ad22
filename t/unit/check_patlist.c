/*
 * check_patlist - client, address and regex pattern lists: every line form,
 * case, "which" pattern matched, and errors with file:line.
 */
#include "cfgtest.h"
#include "patlist.h"

static struct rg_patlist *
list(enum rg_pat_kind kind, const char *text)
{
	struct rg_patlist *l = rg_patlist_new(kind);
	struct rg_diag d = {0};

	t_write("patterns", text);
	if (rg_patlist_load(l, "patterns", &d) != 0)
		t_dump(&d);
	ck_assert_int_eq(d.count, 0);
	return l;
}

/* The pattern that matched, or "-". */
static const char *
which(const struct rg_patlist *l, const char *name, const char *addr)
{
	const char *w = NULL;

	if (!rg_patlist_match(l, name, addr, &w))
		return "-";
	ck_assert_ptr_nonnull(w);
	return w;
}

START_TEST(test_client)
{
	struct rg_patlist *l = list(RG_PAT_CLIENT, "# mail providers that retry from other hosts\n"
						   "/^mx[0-9]+\\.mail\\.example\\.net$/\n"
						   "example.com\n"
						   ".example.org\n"
						   "192.0.2.10\n"
						   "198.51.100.0/24\n"
						   "2001:db8:1::/48\n"
						   "203.0.113\n" /* partial address: a /24 */
						   "10\n");

	ck_assert_int_eq(rg_patlist_count(l), 8);
	ck_assert_str_eq(which(l, "MX12.mail.example.net", "203.0.112.1"),
			 "/^mx[0-9]+\\.mail\\.example\\.net$/");
	ck_assert_str_eq(which(l, "xmx1.mail.example.net", NULL), "-"); /* anchored */
	ck_assert_str_eq(which(l, "example.com", NULL), "example.com");
	ck_assert_str_eq(which(l, "smtp.out.Example.COM", NULL), "example.com");
	ck_assert_str_eq(which(l, "example.com.", NULL), "example.com");
	ck_assert_str_eq(which(l, "badexample.com", NULL), "-");
	ck_assert_str_eq(which(l, "example.org", NULL), "-"); /* ".example.org" is below only */
	ck_assert_str_eq(which(l, "a.example.org", NULL), ".example.org");
	ck_assert_str_eq(which(l, "unknown", "192.0.2.10"), "192.0.2.10");
	ck_assert_str_eq(which(l, NULL, "::ffff:192.0.2.10"), "192.0.2.10");
	ck_assert_str_eq(which(l, NULL, "192.0.2.11"), "-");
	ck_assert_str_eq(which(l, NULL, "198.51.100.254"), "198.51.100.0/24");
	ck_assert_str_eq(which(l, NULL, "2001:db8:1:ffff::1"), "2001:db8:1::/48");
	ck_assert_str_eq(which(l, NULL, "2001:db8:2::1"), "-");
	ck_assert_str_eq(which(l, NULL, "203.0.113.99"), "203.0.113");
	ck_assert_str_eq(which(l, NULL, "10.200.0.1"), "10");
	ck_assert_str_eq(which(l, NULL, "garbage"), "-");
	ck_assert_str_eq(which(l, NULL, NULL), "-");
	/* "unknown" is Postfix's "no name": never matched as a host name. */
	rg_patlist_free(l);
	l = list(RG_PAT_CLIENT, "unknown\n/^unknown$/\n");
	ck_assert_str_eq(which(l, "unknown", "192.0.2.1"), "-");
	ck_assert(rg_patlist_match(l, "unknown", NULL, NULL) == 0);
	rg_patlist_free(l);
}
END_TEST

START_TEST(test_address)
{
	struct rg_patlist *l = list(RG_PAT_ADDRESS, "postmaster@example.com\n"
						    "abuse@\n"
						    "example.net\n"
						    "@example.org\n"
						    ".example.edu\n"
						    "/^bounce-[0-9]+@lists\\./\n");

	ck_assert_str_eq(which(l, "Postmaster@Example.com", NULL), "postmaster@example.com");
	ck_assert_str_eq(which(l, "info@example.com", NULL), "-");
	ck_assert_str_eq(which(l, "abuse@anywhere.example", NULL), "abuse@");
	ck_assert_str_eq(which(l, "xabuse@anywhere.example", NULL), "-");
	ck_assert_str_eq(which(l, "anyone@EXAMPLE.NET", NULL), "example.net");
	/* a bare domain covers its subdomains, as postgrey reads it; "@domain" does not */
	ck_assert_str_eq(which(l, "anyone@sub.example.net", NULL), "example.net");
	ck_assert_str_eq(which(l, "anyone@sub.example.org", NULL), "-");
	ck_assert_str_eq(which(l, "anyone@badexample.net", NULL), "-");
	/* user@ and user@domain cover user+extension (postgrey's rule) */
	ck_assert_str_eq(which(l, "abuse+reports@x.example", NULL), "abuse@");
	ck_assert_str_eq(which(l, "postmaster+x@example.com", NULL), "postmaster@example.com");
	ck_assert_str_eq(which(l, "postmaster+x@example.info", NULL), "-");
	ck_assert_str_eq(which(l, "+abuse@x.example", NULL), "-");
	ck_assert_str_eq(which(l, "anyone@example.org", NULL), "@example.org");
	ck_assert_str_eq(which(l, "anyone@mail.example.edu", NULL), ".example.edu");
	ck_assert_str_eq(which(l, "anyone@example.edu", NULL), "-");
	ck_assert_str_eq(which(l, "Bounce-123@lists.example.info", NULL), "/^bounce-[0-9]+@lists\\./");
	ck_assert_str_eq(which(l, "", NULL), "-");
	ck_assert_str_eq(which(l, NULL, NULL), "-");
	ck_assert_str_eq(which(l, "abuse", NULL), "abuse@"); /* no domain: a local part */
	{
		char big[5000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		ck_assert_str_eq(which(l, big, NULL), "-");
	}
	rg_patlist_free(l);
}
END_TEST

START_TEST(test_regex_kind)
{
	struct rg_patlist *l = list(RG_PAT_REGEX, "/(^|[.-])(dyn|dsl|cable|pool)[0-9.-]*\\./\n"
						  "/^[0-9]+-[0-9]+-[0-9]+-[0-9]+\\./\n");

	ck_assert_str_eq(which(l, "dsl-84-12.isp.example", NULL),
			 "/(^|[.-])(dyn|dsl|cable|pool)[0-9.-]*\\./");
	ck_assert_str_eq(which(l, "host.POOL12.isp.example", NULL),
			 "/(^|[.-])(dyn|dsl|cable|pool)[0-9.-]*\\./");
	ck_assert_str_eq(which(l, "192-0-2-1.customers.example", NULL), "/^[0-9]+-[0-9]+-[0-9]+-[0-9]+\\./");
	ck_assert_str_eq(which(l, "mail.example.com", NULL), "-");
	ck_assert(rg_patlist_match(l, "dyn1.example", NULL, NULL));
	rg_patlist_free(l);
}
END_TEST

/* Perl-style regexes as postgrey's whitelist_clients has them (PCRE2). */
START_TEST(test_perl_regex)
{
	struct rg_patlist *l = list(RG_PAT_CLIENT, "/^(?:smtp\\w*|postfix)[0-9]+-g[0-9]+\\.free\\.fr$/\n"
						   "/^mail\\d+\\.telekom\\.de$/\n"
						   "/^.*?.server.arvato-systems.de$/\n"
						   "/^(a+)+$/\n" /* catastrophic backtracking */
						   "2a01:4180:4051:0800::/64\n"
						   "dgfip.finances.gouv.fr \n");
	char evil[200];

	ck_assert_int_eq(rg_patlist_count(l), 6);
	ck_assert_str_eq(which(l, "smtpout3-g21.free.fr", NULL),
			 "/^(?:smtp\\w*|postfix)[0-9]+-g[0-9]+\\.free\\.fr$/");
	ck_assert_str_eq(which(l, "postfix1-g2.FREE.fr", NULL),
			 "/^(?:smtp\\w*|postfix)[0-9]+-g[0-9]+\\.free\\.fr$/");
	ck_assert_str_eq(which(l, "MAIL12.telekom.de", NULL), "/^mail\\d+\\.telekom\\.de$/");
	ck_assert_str_eq(which(l, "mailx.telekom.de", NULL), "-");
	ck_assert_str_eq(which(l, "mx1.server.arvato-systems.de", NULL), "/^.*?.server.arvato-systems.de$/");
	ck_assert_str_eq(which(l, NULL, "2a01:4180:4051:800::25"), "2a01:4180:4051:0800::/64");
	ck_assert_str_eq(which(l, "mx.dgfip.finances.gouv.fr", NULL), "dgfip.finances.gouv.fr");
	/* a hostile subject against a backtracking pattern: bounded, no match */
	memset(evil, 'a', sizeof(evil) - 2);
	evil[sizeof(evil) - 2] = '!';
	evil[sizeof(evil) - 1] = 0;
	ck_assert_str_eq(which(l, evil, NULL), "-");
	rg_patlist_free(l);
}
END_TEST

START_TEST(test_errors)
{
	struct rg_patlist *l = rg_patlist_new(RG_PAT_CLIENT);
	struct rg_diag d = {0};

	t_write("patterns", "example.com\n"
			    "/unterminated\n"
			    "/a(b/\n"
			    "//\n"
			    "192.0.2.1/24\n"
			    "bad_host!name\n"
			    "2001:db8::g\n"
			    "  mail.example.net  \n"
			    "1.2.3.4.5\n");
	ck_assert_int_eq(rg_patlist_load(l, "patterns", &d), -1);
	ck_assert(t_has(&d, "patterns:2: unterminated regex \"/unterminated\" (write /regex/)"));
	ck_assert_str_eq(d.msgs[1],
			 "patterns:3: bad regex \"/a(b/\": missing closing parenthesis at offset 3");
	ck_assert(t_has(&d, "patterns:4: unterminated regex \"//\" (write /regex/)"));
	ck_assert(t_has(&d, "patterns:5: host bits set in \"192.0.2.1/24\" (network is 192.0.2.0/24)"));
	ck_assert(t_has(&d, "patterns:6: bad host name \"bad_host!name\""));
	ck_assert(t_has(&d, "patterns:7: bad address \"2001:db8::g\""));
	ck_assert(t_has(&d, "patterns:9: bad address \"1.2.3.4.5\""));
	ck_assert_int_eq(d.count, 7);
	ck_assert_int_eq(rg_patlist_count(l), 2); /* the good lines are kept */
	ck_assert(rg_patlist_match(l, "mail.example.net", NULL, NULL));
	rg_diag_free(&d);
	ck_assert_int_eq(rg_patlist_load(l, "missing", &d), -1);
	ck_assert_str_eq(d.msgs[0], "missing: cannot open: No such file or directory");
	rg_diag_free(&d);
	rg_patlist_free(l);

	l = rg_patlist_new(RG_PAT_REGEX);
	ck_assert_int_eq(rg_patlist_add(l, "dsl.example", "main.cf", 7, &d), -1);
	ck_assert_str_eq(d.msgs[0], "main.cf:7: not a /regex/ pattern: \"dsl.example\"");
	rg_diag_free(&d);
	rg_patlist_free(l);

	l = rg_patlist_new(RG_PAT_ADDRESS);
	ck_assert_int_eq(rg_patlist_add(l, "user@bad..domain", "f", 1, &d), -1);
	ck_assert_int_eq(rg_patlist_add(l, "@", "f", 2, &d), -1);
	ck_assert_int_eq(rg_patlist_add(l, "", "f", 3, &d), -1);
	ck_assert_int_eq(rg_patlist_add(l, "user@example.com", "f", 4, &d), 0);
	ck_assert(t_has(&d, "f:1: bad address pattern \"user@bad..domain\""));
	ck_assert(t_has(&d, "f:3: empty pattern"));
	ck_assert_int_eq(d.count, 3);
	rg_diag_free(&d);
	rg_patlist_free(l);
	rg_patlist_free(NULL);
}
END_TEST

static Suite *
patlist_suite(void)
{
	Suite *s = suite_create("patlist");
	TCase *tc = tcase_create("patlist");

	tcase_add_checked_fixture(tc, t_setup, t_teardown);
	tcase_add_test(tc, test_client);
	tcase_add_test(tc, test_address);
	tcase_add_test(tc, test_regex_kind);
	tcase_add_test(tc, test_perl_regex);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(patlist_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
