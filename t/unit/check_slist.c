/*
 * check_slist - the spam sender lists: the file format and its errors
 * (file:line), pattern kinds, an address entry winning over its domain,
 * specificity and deny-over-allow within one entry, score overrides, and
 * the null sender.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "slist.h"

static char path[64];

static struct rg_slist *
load(const char *text, struct rg_diag *d)
{
	FILE *fp;
	int fd;

	strcpy(path, "/tmp/check_slist.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	{
		struct rg_slist *l = rg_slist_load(path, d);

		unlink(path);
		return l;
	}
}

static const char *
verdict(const struct rg_slist *l, const char *rcpt, const char *sender)
{
	struct rg_slist_res r;

	rg_slist_lookup(l, rcpt, sender, &r);
	return rg_slist_verdict_name(r.verdict);
}

static const char table[] = "# domain-wide\n"
			    "example.com  allow  @partner.test, .trusted.test\n"
			    "example.com  deny   spammer@partner.test @bad.test\n"
			    "example.com  spam_tag_score 3.5\n"
			    "\n"
			    "Alice@Example.com  deny  @PARTNER.test\n"
			    "alice@example.com  spam_reject_score 8\n"
			    "bob@example.com    allow boss@bad.test\n";

START_TEST(lookups)
{
	struct rg_diag d = {0};
	struct rg_slist *l = load(table, &d);
	struct rg_slist_res r;

	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(verdict(l, "carol@example.com", "x@partner.test"), "allow");
	ck_assert_str_eq(verdict(l, "carol@example.com", "x@mx.trusted.test"), "allow");
	ck_assert_str_eq(verdict(l, "carol@example.com", "x@trusted.test"), "none"); /* .domain: subdomains */
	/* the address pattern is more specific than @partner.test */
	ck_assert_str_eq(verdict(l, "carol@example.com", "Spammer@Partner.test"), "deny");
	ck_assert_str_eq(verdict(l, "carol@example.com", "x@bad.test"), "deny");
	ck_assert_str_eq(verdict(l, "carol@example.com", "x@good.test"), "none");
	/* alice's own entry wins over the domain's allow */
	ck_assert_str_eq(verdict(l, "alice@EXAMPLE.com", "x@partner.test"), "deny");
	/* ... but where it does not match, the domain's entry still applies */
	ck_assert_str_eq(verdict(l, "alice@example.com", "x@mx.trusted.test"), "allow");
	ck_assert_str_eq(verdict(l, "bob@example.com", "boss@bad.test"), "allow");
	ck_assert_str_eq(verdict(l, "bob@example.com", "other@bad.test"), "deny");
	ck_assert_str_eq(verdict(l, "carol@example.com", ""), "none"); /* the null sender */
	ck_assert_str_eq(verdict(l, "x@other.test", "x@bad.test"), "none");
	rg_slist_lookup(l, "alice@example.com", "x@y.test", &r);
	ck_assert(r.has_tag && r.tag == 3.5); /* from the domain */
	ck_assert(r.has_reject && r.reject == 8);
	rg_slist_lookup(l, "carol@example.com", "x@y.test", &r);
	ck_assert(r.has_tag && !r.has_reject);
	{
		struct rg_slist_res a, b;

		rg_slist_lookup(l, "alice@example.com", "x@y.test", &a);
		rg_slist_lookup(l, "carol@example.com", "x@y.test", &b);
		ck_assert(!rg_slist_same(&a, &b));
		rg_slist_lookup(l, "dave@example.com", "x@y.test", &a);
		ck_assert(rg_slist_same(&a, &b));
	}
	rg_slist_lookup(NULL, "a@b.test", "c@d.test", &r);
	ck_assert_int_eq(r.verdict, RG_SLIST_NONE);
	rg_slist_free(l);
	rg_diag_free(&d);
}
END_TEST

START_TEST(errors)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"example.com allow\n", ":1: expected"},
	    {"example.com allow partner.test\n", ":1: bad sender pattern"},
	    {"# ok\nexample.com maybe @x.test\n", ":2: unknown \"maybe\""},
	    {"example..com allow @x.test\n", ":1: bad recipient"},
	    {"a@example.com spam_tag_score lots\n", ":1: spam_tag_score needs one score"},
	    {"a@example.com spam_tag_score 5\na@example.com spam_tag_score 6\n", ":2: spam_tag_score for"},
	    {"example.com deny @x.test\nexample.com deny @<y>.test\n", ":2: bad sender pattern"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rg_diag d = {0};

		ck_assert_ptr_null(load(cases[i].text, &d));
		ck_assert_int_ge(d.count, 1);
		ck_assert_msg(strstr(d.msgs[0], cases[i].want) && strstr(d.msgs[0], "/tmp/check_slist."),
			      "case %zu: %s", i, d.msgs[0]);
		rg_diag_free(&d);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("slist");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, lookups);
	tcase_add_test(tc, errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
