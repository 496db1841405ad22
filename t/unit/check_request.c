/*
 * check_request - the policy request parser: good requests, malformed lines,
 * binary input, attribute and size limits.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

static int
feed(struct preq *r, const char *line)
{
	char err[128];

	return preq_add_line(r, line, strlen(line), err, sizeof(err));
}

START_TEST(good_request)
{
	struct preq r;

	preq_init(&r, 128, 65536);
	ck_assert_int_eq(feed(&r, "request=smtpd_access_policy"), 0);
	ck_assert_int_eq(feed(&r, "protocol_state=RCPT"), 0);
	ck_assert_int_eq(feed(&r, "client_address=192.0.2.1"), 0);
	ck_assert_int_eq(feed(&r, "sender="), 0);
	ck_assert_int_eq(feed(&r, "recipient=User@Example.COM"), 0);
	ck_assert_int_eq(feed(&r, "ccert_subject=x=y=z"), 0); /* unknown, '=' in value */
	ck_assert_int_eq(feed(&r, "client_name=mx.example.net\r"), 0);
	ck_assert_str_eq(preq_get(&r, PREQ_REQUEST), "smtpd_access_policy");
	ck_assert_str_eq(preq_get(&r, PREQ_PROTOCOL_STATE), "RCPT");
	ck_assert_str_eq(preq_get(&r, PREQ_SENDER), "");
	ck_assert_ptr_nonnull(r.val[PREQ_SENDER]);
	ck_assert_str_eq(preq_get(&r, PREQ_RECIPIENT), "User@Example.COM");
	ck_assert_str_eq(preq_get(&r, PREQ_CLIENT_NAME), "mx.example.net");
	ck_assert_str_eq(preq_get(&r, PREQ_HELO_NAME), "");
	ck_assert_ptr_null(r.val[PREQ_HELO_NAME]);
	ck_assert_int_eq(r.nattr, 7);
	preq_reset(&r);
	ck_assert_int_eq(r.nattr, 0);
	ck_assert_ptr_null(r.val[PREQ_RECIPIENT]);
	/* A later value of the same name replaces the earlier one. */
	ck_assert_int_eq(feed(&r, "sender=a@b"), 0);
	ck_assert_int_eq(feed(&r, "sender=c@d"), 0);
	ck_assert_str_eq(preq_get(&r, PREQ_SENDER), "c@d");
	preq_reset(&r);
	/* The last attributes of the list are matched too (a length table
	 * that missed them once made them absent). */
	ck_assert_int_eq(feed(&r, "client_port=40000"), 0);
	ck_assert_int_eq(feed(&r, "server_address=192.0.2.25"), 0);
	ck_assert_int_eq(feed(&r, "server_port=25"), 0);
	ck_assert_int_eq(feed(&r, "encryption_protocol=TLSv1.3"), 0);
	ck_assert_str_eq(preq_get(&r, PREQ_CLIENT_PORT), "40000");
	ck_assert_str_eq(preq_get(&r, PREQ_SERVER_ADDRESS), "192.0.2.25");
	ck_assert_str_eq(preq_get(&r, PREQ_SERVER_PORT), "25");
	ck_assert_str_eq(preq_get(&r, PREQ_ENCRYPTION_PROTOCOL), "TLSv1.3");
	preq_reset(&r);
	/* Values beyond the inline room are kept whole (and freed at reset). */
	{
		char big[1200];

		memset(big, 'a', sizeof(big));
		memcpy(big, "helo_name=", 10);
		big[sizeof(big) - 1] = 0;
		ck_assert_int_eq(preq_add_line(&r, big, strlen(big), (char[64]){0}, 64), 0);
		ck_assert_uint_eq(strlen(preq_get(&r, PREQ_HELO_NAME)), sizeof(big) - 1 - 10);
		ck_assert_int_eq(feed(&r, "sender=x@y"), 0);
		ck_assert_str_eq(preq_get(&r, PREQ_SENDER), "x@y");
	}
	preq_reset(&r);
}
END_TEST

START_TEST(malformed_lines)
{
	static const char *bad[] = {
	    "no equals sign",
	    "=value without name",
	    "bad name=x",
	    "na;me=x",
	    "\x01\x02=\x03",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=x",
	};
	struct preq r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		preq_init(&r, 128, 65536);
		ck_assert_msg(feed(&r, bad[i]) == -1, "accepted \"%s\"", bad[i]);
		preq_reset(&r);
	}
}
END_TEST

START_TEST(binary_input)
{
	struct preq r;
	char err[128];
	const char line[] = "sender=a\0b@c";

	preq_init(&r, 128, 65536);
	ck_assert_int_eq(preq_add_line(&r, line, sizeof(line) - 1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	preq_reset(&r);
	/* 8-bit bytes in a value are kept (they are sanitised when logged). */
	preq_init(&r, 128, 65536);
	ck_assert_int_eq(feed(&r, "helo_name=\xff\xfe\x80"), 0);
	ck_assert_str_eq(preq_get(&r, PREQ_HELO_NAME), "\xff\xfe\x80");
	preq_reset(&r);
}
END_TEST

START_TEST(limits)
{
	struct preq r;
	char big[3000];
	int i, rc = 0;

	preq_init(&r, 10, 65536);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(feed(&r, "x_unknown=1"), 0);
	ck_assert_int_eq(feed(&r, "x_unknown=1"), -1); /* the eleventh */
	preq_reset(&r);

	preq_init(&r, 1000, 8192);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "sender=", 7);
	for (i = 0; i < 5 && rc == 0; i++)
		rc = feed(&r, big);
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(i, 3); /* 3 x 3000 bytes > 8192 */
	preq_reset(&r);
}
END_TEST

static Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, good_request);
	tcase_add_test(tc, malformed_lines);
	tcase_add_test(tc, binary_input);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(request_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
