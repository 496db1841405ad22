/*
 * check_auth - the pieces of the SPF/DKIM code that need no DNS server
 * (51-auth.t drives the rest against dnsmasq): recognising our authserv-id
 * in an Authentication-Results value, the domain filter for header values,
 * the DNS response status, and a resolver with no server answering
 * (temperror within its deadline, never a hang).
 */
#include <check.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "auth_dns.h"
#include "auth_msg.h"
#include "auth_spf.h"
#include "util.h"

START_TEST(authserv_id)
{
	ck_assert(auth_msg_authserv_is("relay.example", " relay.example; spf=pass"));
	ck_assert(auth_msg_authserv_is("relay.example", "RELAY.Example;spf=pass"));
	ck_assert(auth_msg_authserv_is("relay.example", "\r\n\trelay.example 1; none"));
	ck_assert(auth_msg_authserv_is("relay.example", "relay.example (comment); none"));
	ck_assert(!auth_msg_authserv_is("relay.example", "relay.example.evil; spf=pass"));
	ck_assert(!auth_msg_authserv_is("relay.example", "mx.relay.example; spf=pass"));
	ck_assert(!auth_msg_authserv_is("relay.example", "relay; spf=pass"));
	ck_assert(!auth_msg_authserv_is("relay.example", ""));
	/* Found by fuzzing: RFC 8601 lets CFWS come first and the id be a
	 * quoted-string; those forged headers were kept. */
	ck_assert(auth_msg_authserv_is("relay.example", "(forged) relay.example; spf=pass"));
	ck_assert(auth_msg_authserv_is("relay.example", " (a (nested\\) one)) relay.example; spf=pass"));
	ck_assert(auth_msg_authserv_is("relay.example", "\"relay.example\"; spf=pass"));
	ck_assert(auth_msg_authserv_is("relay.example", "relay.example\x01x; spf=pass"));
	ck_assert(!auth_msg_authserv_is("relay.example", "(relay.example) other.example; spf=pass"));
	ck_assert(!auth_msg_authserv_is("relay.example", "(unterminated relay.example; spf=pass"));
}
END_TEST

START_TEST(safe_domain)
{
	char d[64];

	auth_spf_safe_domain(d, sizeof(d), "Example.COM");
	ck_assert_str_eq(d, "Example.COM");
	auth_spf_safe_domain(d, sizeof(d), "a;b.example");
	ck_assert_str_eq(d, "invalid");
	auth_spf_safe_domain(d, sizeof(d), "x.example\r\nX-Evil: 1");
	ck_assert_str_eq(d, "invalid");
	auth_spf_safe_domain(d, sizeof(d), "");
	ck_assert_str_eq(d, "invalid");
	auth_spf_safe_domain(d, 8, "toolong.example");
	ck_assert_str_eq(d, "invalid");
}
END_TEST

/* A response header: id, flags (QR, rcode), qd/an counts. */
static int
response(unsigned char *b, int rcode, int ancount)
{
	memset(b, 0, 12);
	b[2] = 0x81;
	b[3] = (unsigned char)(0x80 | rcode);
	b[7] = (unsigned char)ancount;
	return 12;
}

START_TEST(dns_status)
{
	unsigned char b[64];

	ck_assert_int_eq(auth_dns_status(b, response(b, 3, 0)), HOST_NOT_FOUND);
	ck_assert_int_eq(auth_dns_status(b, response(b, 0, 0)), NO_DATA);
	ck_assert_int_eq(auth_dns_status(b, response(b, 2, 0)), TRY_AGAIN);
	ck_assert_int_eq(auth_dns_status(b, response(b, 5, 0)), NO_RECOVERY);
	ck_assert_int_eq(auth_dns_status(b, -1), TRY_AGAIN);
	ck_assert_int_eq(auth_dns_status(b, 5), NO_RECOVERY); /* shorter than a header */
}
END_TEST

START_TEST(no_server_answers)
{
	/* 127.0.0.1:9 (discard): nothing answers UDP there. */
	struct rg_endpoint ep = {.kind = RG_EP_INET, .port = 9, .literal = 1, .host = "127.0.0.1"};
	struct auth_dns d;
	struct auth_spf_out out;
	char err[128];
	long long t0 = rg_mono_ms();

	ck_assert_int_eq(auth_dns_open(&d, &ep, 1000, 2000, err, sizeof(err)), 0);
	auth_spf_check(&d, "198.51.100.20", "mail.example", "a@example.com", "relay.example", &out);
	ck_assert_str_eq(out.result, "temperror");
	ck_assert_str_eq(out.ptype, "smtp.mailfrom");
	ck_assert_str_eq(out.domain, "example.com");
	ck_assert_int_lt(rg_mono_ms() - t0, 4000);
	auth_dns_close(&d);
	ep.kind = RG_EP_UNIX;
	ck_assert_int_eq(auth_dns_open(&d, &ep, 1000, 2000, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "IPv4"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, authserv_id);
	tcase_add_test(tc, safe_domain);
	tcase_add_test(tc, dns_status);
	tcase_add_test(tc, no_server_answers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
