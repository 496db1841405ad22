/*
 * check_callout_reply - the SMTP reply parser and reply-text sanitiser.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../milter/callout_reply.h"

static struct smtpreply_parser *
newp(void)
{
	struct smtpreply_parser *p = malloc(sizeof(*p));

	ck_assert_ptr_nonnull(p);
	smtpreply_reset(p);
	return p;
}

/* Feed all of s in one go; expect DONE having used all of it. */
static const struct smtpreply *
parse_all(struct smtpreply_parser *p, const char *s)
{
	size_t used = 0;

	ck_assert_int_eq(smtpreply_feed(p, s, strlen(s), &used), SMTPREPLY_DONE);
	ck_assert_uint_eq(used, strlen(s));
	return smtpreply_get(p);
}

static int
parse_err(const char *s, size_t len)
{
	struct smtpreply_parser *p = newp();
	int st = smtpreply_feed(p, s, len, NULL);

	if (st == SMTPREPLY_ERROR)
		ck_assert_str_ne(smtpreply_error(p), "");
	free(p);
	return st == SMTPREPLY_ERROR;
}

START_TEST(single_line)
{
	struct smtpreply_parser *p = newp();
	const struct smtpreply *r = parse_all(p, "220 mx.example.com ESMTP ready\r\n");

	ck_assert_int_eq(r->code, 220);
	ck_assert_str_eq(r->enh, "");
	ck_assert_int_eq(r->nlines, 1);
	ck_assert_str_eq(r->text, "mx.example.com ESMTP ready");
	ck_assert_uint_eq(r->textlen, strlen(r->text));
	free(p);
}
END_TEST

START_TEST(enhanced_status)
{
	struct smtpreply_parser *p = newp();
	const struct smtpreply *r = parse_all(p, "550 5.1.1 <x@y>: Recipient address rejected\r\n");

	ck_assert_int_eq(r->code, 550);
	ck_assert_str_eq(r->enh, "5.1.1");
	ck_assert_str_eq(r->text, "<x@y>: Recipient address rejected");
	/* A status of another class than the code is text, not a status. */
	r = parse_all(p, "550 2.1.1 odd\r\n");
	ck_assert_str_eq(r->enh, "");
	ck_assert_str_eq(r->text, "2.1.1 odd");
	/* Not a status: digits run on. */
	r = parse_all(p, "250 2.0.0x ok\r\n");
	ck_assert_str_eq(r->enh, "");
	ck_assert_str_eq(r->text, "2.0.0x ok");
	r = parse_all(p, "250 2.0.0\r\n");
	ck_assert_str_eq(r->enh, "2.0.0");
	ck_assert_str_eq(r->text, "");
	free(p);
}
END_TEST

START_TEST(multi_line)
{
	struct smtpreply_parser *p = newp();
	const struct smtpreply *r;

	r = parse_all(p, "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n");
	ck_assert_int_eq(r->code, 250);
	ck_assert_int_eq(r->nlines, 4);
	ck_assert_str_eq(r->text, "mx.example.com\nPIPELINING\nSIZE 10240000\n8BITMIME");
	/* The status repeats on each line (RFC 2034); the text keeps it once. */
	r = parse_all(p,
		      "550-5.1.1 The email account that you tried to reach\r\n550 5.1.1 does not exist.\r\n");
	ck_assert_str_eq(r->enh, "5.1.1");
	ck_assert_str_eq(r->text, "The email account that you tried to reach\ndoes not exist.");
	/* Bare LF, and a final line that is only the code. */
	r = parse_all(p, "250-first\n250\n");
	ck_assert_int_eq(r->nlines, 2);
	ck_assert_str_eq(r->text, "first\n");
	r = parse_all(p, "250-\r\n250 x\r\n");
	ck_assert_str_eq(r->text, "\nx");
	free(p);
}
END_TEST

START_TEST(pipelined_replies)
{
	struct smtpreply_parser *p = newp();
	const char *s = "250 2.1.0 Ok\r\n550 5.1.1 no\r\n45";
	size_t used, off = 0;

	ck_assert_int_eq(smtpreply_feed(p, s, strlen(s), &used), SMTPREPLY_DONE);
	ck_assert_uint_eq(used, 14);
	ck_assert_int_eq(smtpreply_get(p)->code, 250);
	off += used;
	ck_assert_int_eq(smtpreply_feed(p, s + off, strlen(s) - off, &used), SMTPREPLY_DONE);
	ck_assert_int_eq(smtpreply_get(p)->code, 550);
	ck_assert_str_eq(smtpreply_get(p)->text, "no");
	off += used;
	ck_assert_int_eq(smtpreply_feed(p, s + off, strlen(s) - off, &used), SMTPREPLY_MORE);
	ck_assert_uint_eq(used, 2);
	ck_assert_ptr_null(smtpreply_get(p));
	ck_assert_int_eq(smtpreply_feed(p, "1 4.2.0 later\r\n", 15, &used), SMTPREPLY_DONE);
	ck_assert_int_eq(smtpreply_get(p)->code, 451);
	free(p);
}
END_TEST

START_TEST(garbage)
{
	static const char *bad[] = {
	    "abc def\r\n", /* no code */
	    "25\r\n", /* short */
	    "2x0 ok\r\n", /* non-digit */
	    "150 ok\r\n", /* no such class */
	    "650 ok\r\n", /* no such class */
	    "250x ok\r\n", /* no space or hyphen */
	    "250_ok\r\n", /* no space or hyphen */
	    "250-a\r\n251 b\r\n", /* code changes */
	    "250-a\r\n550 b\r\n", /* code changes */
	    "\r\n", /* empty line */
	    " 250 ok\r\n", /* leading space */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_err(bad[i], strlen(bad[i])), "accepted: %s", bad[i]);
	/* A NUL byte inside a line. */
	ck_assert(parse_err("250 o\0k\r\n", 8));
}
END_TEST

START_TEST(error_is_sticky)
{
	struct smtpreply_parser *p = newp();
	size_t used = 99;

	ck_assert_int_eq(smtpreply_feed(p, "xyz\r\n", 5, NULL), SMTPREPLY_ERROR);
	ck_assert_int_eq(smtpreply_feed(p, "250 ok\r\n", 8, &used), SMTPREPLY_ERROR);
	ck_assert_uint_eq(used, 0);
	ck_assert_ptr_null(smtpreply_get(p));
	smtpreply_reset(p);
	ck_assert_str_eq(smtpreply_error(p), "");
	ck_assert_int_eq(parse_all(p, "250 ok\r\n")->code, 250);
	free(p);
}
END_TEST

START_TEST(overlong_line)
{
	char buf[1024];
	struct smtpreply_parser *p = newp();
	const struct smtpreply *r;

	/* Exactly 512 bytes with CRLF: accepted. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "250 ", 4);
	memcpy(buf + 510, "\r\n", 2);
	ck_assert_int_eq(smtpreply_feed(p, buf, 512, NULL), SMTPREPLY_DONE);
	r = smtpreply_get(p);
	ck_assert_uint_eq(r->textlen, 506);
	/* 513: refused, and refused before the terminator arrives. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "250 ", 4);
	memcpy(buf + 511, "\r\n", 2);
	ck_assert(parse_err(buf, 513));
	ck_assert(parse_err(buf, 600));
	smtpreply_reset(p);
	ck_assert_int_eq(smtpreply_feed(p, buf, 511, NULL), SMTPREPLY_MORE);
	ck_assert_int_eq(smtpreply_feed(p, "b", 1, NULL), SMTPREPLY_ERROR);
	free(p);
}
END_TEST

START_TEST(too_many_lines)
{
	char buf[2048];
	size_t o = 0;
	int i;

	for (i = 0; i < 99; i++) {
		memcpy(buf + o, "250-x\r\n", 7);
		o += 7;
	}
	memcpy(buf + o, "250 x\r\n", 7);
	ck_assert(!parse_err(buf, o + 7)); /* 100 lines */
	memcpy(buf + o, "250-x\r\n250 x\r\n", 14);
	ck_assert(parse_err(buf, o + 14)); /* 101 lines */
}
END_TEST

START_TEST(too_big_total)
{
	char *buf = malloc(20 * 500);
	size_t o = 0;

	for (int i = 0; i < 20; i++) {
		memset(buf + o, 'y', 500);
		memcpy(buf + o, "250-", 4);
		memcpy(buf + o + 498, "\r\n", 2);
		o += 500;
	}
	/* 16 lines = 8000 bytes are fine while unterminated; the 17th crosses 8192. */
	struct smtpreply_parser *p = newp();

	ck_assert_int_eq(smtpreply_feed(p, buf, 8000, NULL), SMTPREPLY_MORE);
	ck_assert_int_eq(smtpreply_feed(p, buf + 8000, 192, NULL), SMTPREPLY_MORE);
	ck_assert_int_eq(smtpreply_feed(p, buf + 8192, 1, NULL), SMTPREPLY_ERROR);
	ck_assert(parse_err(buf, o));
	free(p);
	free(buf);
}
END_TEST

/* The same reply, cut at every byte boundary (and fed a byte at a time), parses the same. */
START_TEST(split_everywhere)
{
	static const char *s =
	    "550-5.1.1 <bob@example.com>: no such\r\n550-5.1.1 user here\n550 5.1.1 bye\r\n";
	size_t len = strlen(s), k, used;
	struct smtpreply_parser *p = newp();
	const struct smtpreply *r;

	for (k = 0; k <= len; k++) {
		smtpreply_reset(p);
		ck_assert_int_eq(smtpreply_feed(p, s, k, &used), k == len ? SMTPREPLY_DONE : SMTPREPLY_MORE);
		ck_assert_uint_eq(used, k);
		if (k < len) {
			ck_assert_int_eq(smtpreply_feed(p, s + k, len - k, &used), SMTPREPLY_DONE);
			ck_assert_uint_eq(used, len - k);
		}
		r = smtpreply_get(p);
		ck_assert_int_eq(r->code, 550);
		ck_assert_str_eq(r->enh, "5.1.1");
		ck_assert_int_eq(r->nlines, 3);
		ck_assert_str_eq(r->text, "<bob@example.com>: no such\nuser here\nbye");
	}
	smtpreply_reset(p);
	for (k = 0; k < len; k++)
		ck_assert_int_eq(smtpreply_feed(p, s + k, 1, NULL),
				 k == len - 1 ? SMTPREPLY_DONE : SMTPREPLY_MORE);
	ck_assert_str_eq(smtpreply_get(p)->text, "<bob@example.com>: no such\nuser here\nbye");
	/* Garbage stays garbage wherever it is split. */
	for (k = 0; k <= 12; k++) {
		const char *g = "250-ok\r\n25x no\r\n";

		smtpreply_reset(p);
		(void)smtpreply_feed(p, g, k, NULL);
		ck_assert_int_eq(smtpreply_feed(p, g + k, strlen(g) - k, NULL), SMTPREPLY_ERROR);
	}
	free(p);
}
END_TEST

START_TEST(oneline)
{
	char out[SMTPREPLY_ONELINE_MAX + 1], big[1000];
	size_t n;

	smtpreply_oneline(out, sizeof(out), "550 5.1.1 <x@y>: unknown\r\n user", 100);
	ck_assert_str_eq(out, "<x@y>: unknown user");
	smtpreply_oneline(out, sizeof(out), "<x@y>:\tno\x01such\x7f user 100% \xc3\xa9t\xc3\xa9  ", 100);
	ck_assert_str_eq(out, "<x@y>: no?such? user 100? ??t??");
	/* Duplicated leading codes (a server or a cached summary) go. */
	smtpreply_oneline(out, sizeof(out), "  550-5.1.1 550 5.1.1 text", 100);
	ck_assert_str_eq(out, "text");
	smtpreply_oneline(out, sizeof(out), "550 5.1.1", 100);
	ck_assert_str_eq(out, "");
	/* Not codes: kept. */
	smtpreply_oneline(out, sizeof(out), "123 Main Street", 100);
	ck_assert_str_eq(out, "123 Main Street");
	/* len bounds the input. */
	smtpreply_oneline(out, sizeof(out), "user unknown, really", 12);
	ck_assert_str_eq(out, "user unknown");
	/* Bounded, marked as cut. */
	memset(big, 'z', sizeof(big));
	smtpreply_oneline(out, sizeof(out), big, sizeof(big));
	n = strlen(out);
	ck_assert_uint_eq(n, SMTPREPLY_ONELINE_MAX);
	ck_assert_str_eq(out + n - 3, "...");
	for (size_t i = 0; i < n; i++)
		ck_assert(out[i] >= 0x20 && out[i] < 0x7f);
	smtpreply_oneline(out, 5, "abcdefgh", 8);
	ck_assert_str_eq(out, "a...");
	smtpreply_oneline(out, 3, "abcdefgh", 8);
	ck_assert_str_eq(out, "ab");
}
END_TEST

/* Found by fuzzing: an enhanced code ended by a line break was text, so a
 * second pass over the result (a cached summary) dropped it. */
START_TEST(oneline_idempotent)
{
	char out[100], again[100];

	smtpreply_oneline(out, sizeof(out), "550 5.1.250\n2.x", 100);
	ck_assert_str_eq(out, "2.x");
	smtpreply_oneline(out, sizeof(out), "5.1.1\r\nuser unknown", 100);
	ck_assert_str_eq(out, "user unknown");
	smtpreply_oneline(again, sizeof(again), out, strlen(out));
	ck_assert_str_eq(again, out);
}
END_TEST

START_TEST(summary)
{
	struct smtpreply_parser *p = newp();
	char out[64];

	smtpreply_summary(out, sizeof(out), parse_all(p, "550-5.1.1 <x@y>: unknown\r\n550 5.1.1 user\r\n"));
	ck_assert_str_eq(out, "550 5.1.1 <x@y>: unknown user");
	smtpreply_summary(out, sizeof(out), parse_all(p, "450 try\tlater\r\n"));
	ck_assert_str_eq(out, "450 try later");
	smtpreply_summary(out, sizeof(out), parse_all(p, "250\r\n"));
	ck_assert_str_eq(out, "250");
	smtpreply_summary(out, 16, parse_all(p, "550 5.1.1 a long long long text\r\n"));
	ck_assert_str_eq(out, "550 5.1.1 a ...");
	free(p);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("smtpreply");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, single_line);
	tcase_add_test(tc, enhanced_status);
	tcase_add_test(tc, multi_line);
	tcase_add_test(tc, pipelined_replies);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, error_is_sticky);
	tcase_add_test(tc, overlong_line);
	tcase_add_test(tc, too_many_lines);
	tcase_add_test(tc, too_big_total);
	tcase_add_test(tc, split_everywhere);
	tcase_add_test(tc, oneline);
	tcase_add_test(tc, oneline_idempotent);
	tcase_add_test(tc, summary);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
