/*
 * check_dynip - dynamic-IP classification of reverse-DNS names: a table of
 * real-world-style names with their client addresses, the pattern file
 * (loading, exceptions, file:line errors), bounds and sanitising.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../policyd/dynip.h"

#define S DYNIP_STATIC
#define D DYNIP_DYNAMIC
#define N DYNIP_NO_RDNS

static const struct {
	const char *name;
	const char *addr;
	enum dynip_class want;
} cases[] = {
    /* Generic consumer names: the client's address plus a line word. */
    {"dsl-203-0-113-5.dyn.example.net", "203.0.113.5", D},
    {"p5B0C1A2F.dip0.t-ipconnect.de", "91.12.26.47", D},
    {"ip-203-0-113-5.broadband.example.com", "203.0.113.5", D},
    {"5.113.0.203.dynamic.example.org", "203.0.113.5", D},
    {"cpe-203-0-113-5.cable.example.com", "203.0.113.5", D},
    {"host-203-0-113-5.customer.example.net", "203.0.113.5", D},
    {"c-73-12-34-56.hsd1.ca.comcast.net", "73.12.34.56", D},
    {"pool-71-105-22-9.nycmny.fios.verizon.net", "71.105.22.9", D},
    {"host5-113-dynamic.0-203-r.retail.telecomitalia.it", "203.0.113.5", D},
    {"cpe-1-120-33-44.bpw3-r-962.win.vic.bigpond.net.au", "1.120.33.44", D},
    {"adsl-69-105-12-34.dsl.pltn13.pacbell.net", "69.105.12.34", D},
    {"dhcp-198-51-100-23.res.example.edu", "198.51.100.23", D},
    {"ppp-203-0-113-5.dialup.example.com.br", "203.0.113.5", D},
    {"203-0-113-5.pppoe.example.ru", "203.0.113.5", D},
    {"113-5.dynamic.example.net", "203.0.113.5", D},
    {"xdsl-203000113005.example.de", "203.0.113.5", D},
    {"dyn3405803781.pool.example.net", "203.0.113.5", D},
    {"ppp057100cb.example.net", "203.0.113.5", D},
    {"dsl203-000-113-005.example.com", "203.0.113.5", D},
    {"203.0.113.5.adsl.example.com", "203.0.113.5", D},
    {"customer-203-0-113-5.example.com", "203.0.113.5", D},
    {"ARennes-257-1-12-34.w86-218.abo.wanadoo.fr", "86.218.12.34", D},
    {"ppp-94-66-12-34.home.otenet.gr", "94.66.12.34", D},
    {"dslb-092-075-012-034.092.075.pools.vodafone-ip.de", "92.75.12.34", D},
    {"x4d0c1a2b.dyn.telefonica.de", "77.12.26.43", D},
    {"broadband-178-140-12-34.ip.moscow.rt.ru", "178.140.12.34", D},
    {"177-12-34-56.user.vivozap.com.br", "177.12.34.56", D},
    {"122-118-12-34.dynamic-ip.hinet.net", "122.118.12.34", D},
    {"dhcp-77.wlan.example.edu", "198.51.100.77", D},
    {"DSL-203-0-113-5.DYN.Example.NET", "203.0.113.5", D},
    {"cpe-203-0-113-5.cable.example.com.", "203.0.113.5", D},
    {"dsl-203-0-113-5.dyn.example.net", "::ffff:203.0.113.5", D},
    /* IPv6: hex of the /64, dashed groups, "::" as "--", ip6.arpa nibbles. */
    {"p200300e5a71c4f00a5b1c2d3e4f5a6b7.dip0.t-ipconnect.de", "2003:e5:a71c:4f00:a5b1:c2d3:e4f5:a6b7", D},
    {"dyn-2001-db8-85a3-0-0-8a2e-370-7334.example.net", "2001:db8:85a3::8a2e:370:7334", D},
    {"2001-db8-1--5.pool.example.org", "2001:db8:1::5", D},
    {"4.3.3.7.0.7.3.0.e.2.a.8.0.0.0.0.dyn.example.net", "2001:db8:85a3::8a2e:370:7334", D},
    {"cust-2001-0db8-0001-0002.cable.example.net", "2001:db8:1:2::99", D},

    /* Mail servers of big providers and other static-looking names. */
    {"mail.example.com", "192.0.2.10", S},
    {"mx1.example.net", "198.51.100.1", S},
    {"smtp-out-203.example.com", "203.0.113.5", S},
    {"mout.kundenserver.de", "212.227.126.130", S},
    {"mail-ej1-f41.google.com", "209.85.218.41", S},
    {"mail-wr1-f54.google.com", "209.85.221.54", S},
    {"o1.ptr1234.example.com", "167.89.1.2", S},
    {"a1-2.smtp-out.amazonses.com", "54.240.1.2", S},
    {"a48-93.smtp-out.amazonses.com", "54.240.48.93", S},
    {"m228-4.mailgun.net", "159.135.228.4", S},
    {"mail-am6eur05on2091.outbound.protection.outlook.com", "40.107.22.91", S},
    {"sonic314-20.consmr.mail.ir2.yahoo.com", "77.238.176.146", S},
    {"mail-qt1-x82f.google.com", "2607:f8b0:4864:20::82f", S},
    {"mta-203-0-113-5.static.example.net", "203.0.113.5", S},
    /* A server word vetoes the heuristic even with a line word present. */
    {"static-203-0-113-5.dsl.example.net", "203.0.113.5", S},
    {"203-0-113-5.static.cable.example.com", "203.0.113.5", S},
    {"203-0-113-5.fixed.dsl.example.net", "203.0.113.5", S},
    {"mx-out-203-0-113-5.customer.example.net", "203.0.113.5", S},
    {"smtp203-0-113-5.dsl.example.net", "203.0.113.5", S},
    {"mail-203-0-113-5.dynamic.example.net", "203.0.113.5", S},
    {"business-203-0-113-5.cable.example.net", "203.0.113.5", S},
    /* Numbers that are not the client's own octets. */
    {"dsl-198-51-100-7.dyn.example.net", "203.0.113.5", S},
    {"pool-10-20-30-40.example.net", "10.20.99.98", S},
    {"dyn-2024-01.example.com", "203.0.113.5", S},
    {"ns1.customer-203.example.net", "203.0.113.5", S},
    {"p5B0C1A2F.dip0.t-ipconnect.de", "91.12.26.48", S},
    {"dyn-2001-db8-1-2-3-4-5-6.example.net", "2001:db8:9::1", S},
    {"dyn5.example.net", "203.0.113.6", S},
    {"dyn-34058037811.example.net", "203.0.113.5", S},
    {"2001-db8-1--6.pool.example.org", "2001:db8:1::5", S},
    {"4.3.3.7.0.7.3.0.e.2.a.8.0.0.0.1.dyn.example.net", "2001:db8:85a3::8a2e:370:7334", S},
    /* An address but no line word, or a word but no address. */
    {"203-0-113-5.example.net", "203.0.113.5", S},
    {"host-203-0-113-5.hosting.example.net", "203.0.113.5", S},
    {"dynamic.example.net", "203.0.113.5", S},
    {"mail.home.pl", "79.96.1.2", S},
    {"bounce.dyn.com", "203.0.113.5", S},
    {"client-198-51-100-7.example.com", "not-an-address", S},
    /* No reverse DNS. */
    {"unknown", "203.0.113.5", N},
    {"UNKNOWN", "2001:db8::1", N},
    {"", "203.0.113.5", N},
};

START_TEST(test_table)
{
	char reason[256];

	ck_assert_int_ge((int)(sizeof(cases) / sizeof(cases[0])), 40);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum dynip_class got = dynip_classify(cases[i].name, cases[i].addr, reason, sizeof(reason));

		ck_assert_msg(got == cases[i].want, "%s [%s]: got %s, want %s (%s)", cases[i].name,
			      cases[i].addr, dynip_class_name(got), dynip_class_name(cases[i].want), reason);
		ck_assert_msg(reason[0] != 0, "%s: empty reason", cases[i].name);
	}
}
END_TEST

START_TEST(test_null_and_reasons)
{
	char reason[256];

	ck_assert_int_eq(dynip_classify(NULL, "203.0.113.5", reason, sizeof(reason)), DYNIP_NO_RDNS);
	ck_assert_str_eq(reason, "no reverse DNS name");
	ck_assert_int_eq(dynip_classify("dsl-203-0-113-5.dyn.example.net", NULL, NULL, 0), DYNIP_STATIC);
	ck_assert_int_eq(
	    dynip_classify("dsl-203-0-113-5.dyn.example.net", "203.0.113.5", reason, sizeof(reason)),
	    DYNIP_DYNAMIC);
	ck_assert_str_eq(
	    reason, "name dsl-203-0-113-5.dyn.example.net embeds the client address and the word \"dsl\"");
	ck_assert_int_eq(
	    dynip_classify("static-203-0-113-5.dsl.example.net", "203.0.113.5", reason, sizeof(reason)),
	    DYNIP_STATIC);
	ck_assert_ptr_nonnull(strstr(reason, "\"static\""));
	dynip_classify("5.113.0.203.dynamic.example.org", "203.0.113.5", reason, sizeof(reason));
	ck_assert_ptr_nonnull(strstr(reason, "the word \"dynamic\""));
	ck_assert_str_eq(dynip_class_name(DYNIP_DYNAMIC), "dynamic");
	ck_assert_str_eq(dynip_class_name(DYNIP_NO_RDNS), "no-rdns");
}
END_TEST

START_TEST(test_bounds_and_sanitise)
{
	char name[400], reason[256], small[12];

	/* 300 bytes of an otherwise dynamic-looking name: not examined. */
	memset(name, 'a', sizeof(name));
	memcpy(name, "dsl-203-0-113-5.dyn.", 20);
	name[300] = 0;
	ck_assert_int_eq(dynip_classify(name, "203.0.113.5", reason, sizeof(reason)), DYNIP_STATIC);
	ck_assert_ptr_nonnull(strstr(reason, "overlong"));
	ck_assert_uint_lt(strlen(reason), 120);

	/* Control bytes never reach the reason. */
	ck_assert_int_eq(
	    dynip_classify("dsl-203-0-113-5.dyn\r\n\x01.example.net", "203.0.113.5", reason, sizeof(reason)),
	    DYNIP_DYNAMIC);
	for (const char *p = reason; *p; p++)
		ck_assert_msg(*p >= 0x20 && *p < 0x7f, "unsanitised byte in %s", reason);

	/* A tiny reason buffer is cut and terminated. */
	memset(small, 'x', sizeof(small));
	dynip_classify("dsl-203-0-113-5.dyn.example.net", "203.0.113.5", small, sizeof(small));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

/* Random bytes and separator soup: any answer is fine, a crash is not. */
START_TEST(test_random_names)
{
	static const char alpha[] = "0123456789abcdefdynpoolcpe-._-.-\x01\xff:";
	static const char *const addrs[] = {"203.0.113.5", "2001:db8::5", "0.0.0.0", "::"};
	unsigned seed = 12345;
	char name[300], reason[128];

	for (int i = 0; i < 20000; i++) {
		int len = (int)(rand_r(&seed) % 270);

		for (int j = 0; j < len; j++)
			name[j] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		name[len] = 0;
		ck_assert_int_le(dynip_classify(name, addrs[i % 4], reason, sizeof(reason)), DYNIP_NO_RDNS);
	}
}
END_TEST

static char tmpdir[64];

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
setup_tmp(void)
{
	strcpy(tmpdir, "/tmp/check_dynip.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_pattern_file)
{
	char path[128], err[256], reason[256];
	struct dynip *d = dynip_new();

	snprintf(path, sizeof(path), "%s/patterns", tmpdir);
	write_file(path, "# ISP schemes\n"
			 "\n"
			 "/\\.cable\\.virginm\\.net$/   Virgin Media cable\n"
			 "  !/\\.dyn\\.partner\\.example$/  partner's own server\n"
			 "/^ip[0-9]+-[0-9]+-[0-9]+-[0-9]+\\.[a-z]+\\.[a-z]+\\.cox\\.net$/\n"
			 "/^a\\/b\\./  slash inside\n");
	ck_assert_int_eq(dynip_load_patterns(d, path, err, sizeof(err)), 4);
	ck_assert_int_eq(dynip_pattern_count(d), 4);

	/* A pattern: dynamic, with the file's reason text. */
	ck_assert_int_eq(dynip_check(d, "cpc123456-brnt4-2-0-cust789.4-2.cable.virginm.net", "81.100.1.2",
				     reason, sizeof(reason)),
			 DYNIP_DYNAMIC);
	snprintf(err, sizeof(err), "%s:3: Virgin Media cable", path);
	ck_assert_ptr_nonnull(strstr(reason, err));
	/* Case-insensitive; no reason text gives file:line alone. */
	ck_assert_int_eq(dynip_check(d, "IP68-1-2-3.PH.PH.COX.NET", "68.1.2.3", reason, sizeof(reason)),
			 DYNIP_DYNAMIC);
	snprintf(err, sizeof(err), "%s:5", path);
	ck_assert_ptr_nonnull(strstr(reason, err));
	ck_assert_int_eq(dynip_check(d, "a/b.example", "192.0.2.1", NULL, 0), DYNIP_DYNAMIC);
	/* The heuristic still applies to names no pattern covers... */
	ck_assert_int_eq(dynip_check(d, "dsl-203-0-113-5.dyn.example.net", "203.0.113.5", NULL, 0),
			 DYNIP_DYNAMIC);
	/* ...unless an exception says otherwise. */
	ck_assert_int_eq(
	    dynip_check(d, "dsl-203-0-113-5.dyn.partner.example", "203.0.113.5", reason, sizeof(reason)),
	    DYNIP_STATIC);
	ck_assert_ptr_nonnull(strstr(reason, "partner's own server"));
	ck_assert_int_eq(dynip_check(d, "mail.example.com", "192.0.2.10", NULL, 0), DYNIP_STATIC);
	ck_assert_int_eq(dynip_check(d, "unknown", "192.0.2.10", NULL, 0), DYNIP_NO_RDNS);
	dynip_free(d);
}
END_TEST

START_TEST(test_pattern_errors)
{
	char path[128], err[256], want[200];
	struct dynip *d = dynip_new();

	snprintf(path, sizeof(path), "%s/bad", tmpdir);
	ck_assert_int_eq(dynip_add_pattern(d, "/^dyn/", "inline", 1, err, sizeof(err)), 0);

	write_file(path, "# comment\n/ok\\./\n/[unclosed/  broken\n");
	ck_assert_int_eq(dynip_load_patterns(d, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: bad regex /[unclosed/: ", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got %s", err);
	/* All or nothing: line 2's pattern was not kept. */
	ck_assert_int_eq(dynip_pattern_count(d), 1);

	write_file(path, "/ok/\n\n\n/no-closing-slash\n");
	ck_assert_int_eq(dynip_load_patterns(d, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:4: missing closing /", path);
	ck_assert_str_eq(err, want);

	write_file(path, "dyn.example.net\n");
	ck_assert_int_eq(dynip_load_patterns(d, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1: expected /regex/ or !/regex/", path);
	ck_assert_str_eq(err, want);

	write_file(path, "/dyn/i\n");
	ck_assert_int_eq(dynip_load_patterns(d, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ":1: text right after the closing /"));

	write_file(path, "/dyn\tpool/\n");
	ck_assert_int_eq(dynip_load_patterns(d, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ":1: control or non-ASCII byte in regex"));

	write_file(path, "//\n");
	ck_assert_int_eq(dynip_load_patterns(d, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ":1: empty regex"));

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	ck_assert_int_eq(dynip_load_patterns(d, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_int_eq(dynip_pattern_count(d), 1);
	ck_assert_ptr_null(dynip_free(d));
	ck_assert_ptr_null(dynip_free(NULL));
}
END_TEST

START_TEST(test_shipped_patterns)
{
	char path[512], err[256];
	const char *src = getenv("RG_SRCDIR");
	struct dynip *d = dynip_new();

	snprintf(path, sizeof(path), "%s/conf/dynamic_ip_patterns", src ? src : ".");
	ck_assert_msg(dynip_load_patterns(d, path, err, sizeof(err)) > 5, "%s", err);
	ck_assert_int_eq(
	    dynip_check(d, "cpc123456-brnt4-2-0-cust789.4-2.cable.virginm.net", "81.100.1.2", NULL, 0),
	    DYNIP_DYNAMIC);
	ck_assert_int_eq(dynip_check(d, "mar75-1-82-224-10-20.fbx.proxad.net", "82.224.10.20", NULL, 0),
			 DYNIP_DYNAMIC);
	ck_assert_int_eq(
	    dynip_check(d, "cpe00fc8d123456-cm00fc8d123456.cpe.net.cable.rogers.com", "99.1.2.3", NULL, 0),
	    DYNIP_DYNAMIC);
	/*
	 * The shipped file does not turn big providers' servers dynamic (the
	 * Telekom pool is dynamic whatever the address, so that case is skipped).
	 */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cases[i].want != DYNIP_DYNAMIC && strstr(cases[i].name, "t-ipconnect") == NULL)
			ck_assert_msg(dynip_check(d, cases[i].name, cases[i].addr, NULL, 0) == cases[i].want,
				      "%s", cases[i].name);
	dynip_free(d);
}
END_TEST

/* One checker shared by several threads gives every thread the same answers. */
static void *
worker(void *arg)
{
	const struct dynip *d = arg;
	char reason[128];

	for (int round = 0; round < 50; round++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (dynip_check(d, cases[i].name, cases[i].addr, reason, sizeof(reason)) !=
			    cases[i].want)
				return (void *)1;
	return NULL;
}

START_TEST(test_threads)
{
	char err[128];
	pthread_t t[4];
	struct dynip *d = dynip_new();

	ck_assert_int_eq(dynip_add_pattern(d, "/\\.cable\\.virginm\\.net$/", "inline", 1, err, sizeof(err)),
			 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, d), 0);
	for (int i = 0; i < 4; i++) {
		void *rc;

		ck_assert_int_eq(pthread_join(t[i], &rc), 0);
		ck_assert_ptr_null(rc);
	}
	dynip_free(d);
}
END_TEST

static Suite *
dynip_suite(void)
{
	Suite *s = suite_create("dynip");
	TCase *tc = tcase_create("heuristic");
	TCase *tp = tcase_create("patterns");

	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_null_and_reasons);
	tcase_add_test(tc, test_bounds_and_sanitise);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_random_names);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tp, setup_tmp, teardown_tmp);
	tcase_add_test(tp, test_pattern_file);
	tcase_add_test(tp, test_pattern_errors);
	tcase_add_test(tp, test_shipped_patterns);
	suite_add_tcase(s, tp);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dynip_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
