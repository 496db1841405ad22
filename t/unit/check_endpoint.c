/*
 * check_endpoint - the one address grammar: every accepted form, what each
 * parameter kind refuses, the canonical and libmilter spellings, and lists.
 */
#include <check.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "endpoint.h"

static struct rg_endpoint ep;
static char err[256];

static int
parse(const char *s, unsigned flags, int defport)
{
	return rg_endpoint_parse(s, flags, defport, &ep, err, sizeof(err));
}

static const char *
str(void)
{
	static char buf[400];

	return rg_endpoint_str(&ep, buf, sizeof(buf));
}

START_TEST(tcp_forms)
{
	ck_assert_int_eq(parse("inet:127.0.0.1:783", 0, 783), 0);
	ck_assert_int_eq(ep.kind, RG_EP_INET);
	ck_assert_str_eq(ep.host, "127.0.0.1");
	ck_assert_int_eq(ep.port, 783);
	ck_assert_int_eq(ep.family, AF_INET);
	ck_assert_int_eq(ep.literal, 1);

	ck_assert_int_eq(parse("127.0.0.1:7830", 0, 783), 0);
	ck_assert_int_eq(ep.port, 7830);
	ck_assert_int_eq(parse("spamd.example.net", 0, 783), 0);
	ck_assert_str_eq(ep.host, "spamd.example.net");
	ck_assert_int_eq(ep.port, 783);
	ck_assert_int_eq(ep.family, AF_UNSPEC);
	ck_assert_int_eq(ep.literal, 0);
	ck_assert_int_eq(parse("localhost:6380", 0, 6379), 0);
	ck_assert_str_eq(str(), "inet:localhost:6380");

	ck_assert_int_eq(parse("[2001:db8::7]:6390", 0, 6379), 0);
	ck_assert_str_eq(ep.host, "2001:db8::7");
	ck_assert_int_eq(ep.family, AF_INET6);
	ck_assert_int_eq(ep.port, 6390);
	ck_assert_str_eq(str(), "inet:[2001:db8::7]:6390");
	ck_assert_int_eq(parse("inet:[::1]:10040", 0, 0), 0);
	ck_assert_str_eq(ep.host, "::1");
	ck_assert_int_eq(parse("[::1]", 0, 6379), 0);
	ck_assert_int_eq(ep.port, 6379);
	ck_assert_int_eq(parse("[ipv6:2001:db8::1]:25", RG_EP_NOUNIX, 25), 0);
	ck_assert_str_eq(ep.host, "2001:db8::1");
	ck_assert_int_eq(parse("inet6:mx.example.com:25", 0, 0), 0);
	ck_assert_int_eq(ep.family, AF_INET6);
	ck_assert_str_eq(str(), "inet6:mx.example.com:25");
	/* A trailing dot is the same host. */
	ck_assert_int_eq(parse("example.com.:587", 0, 25), 0);
	ck_assert_str_eq(ep.host, "example.com");
	ck_assert_int_eq(ep.port, 587);
	/* Found by fuzzing: an address with a trailing dot is that address,
	 * as its canonical text "inet:27.0.0.17:25" reads back. */
	ck_assert_int_eq(parse("27.0.0.17.", 0, 25), 0);
	ck_assert_str_eq(ep.host, "27.0.0.17");
	ck_assert_int_eq(ep.literal, 1);
	ck_assert_int_eq(ep.family, AF_INET);
	ck_assert_int_ne(parse("inet6:192.0.2.1.:25", 0, 0), 0);
	ck_assert_int_eq(parse("192.0.2.1.:53", RG_EP_NUMERIC, 0), 0);
}
END_TEST

START_TEST(brackets_mean_no_mx)
{
	ck_assert_int_eq(parse("[mail.example.com]:25", RG_EP_NOUNIX, 25), 0);
	ck_assert_int_eq(ep.bracketed, 1);
	ck_assert_str_eq(ep.host, "mail.example.com");
	ck_assert_str_eq(str(), "inet:[mail.example.com]:25");
	ck_assert_int_eq(parse("mail.example.com:25", RG_EP_NOUNIX, 25), 0);
	ck_assert_int_eq(ep.bracketed, 0);
}
END_TEST

START_TEST(unix_forms)
{
	ck_assert_int_eq(parse("unix:/run/relayguard/policyd.sock", RG_EP_LISTEN, 0), 0);
	ck_assert_int_eq(ep.kind, RG_EP_UNIX);
	ck_assert_str_eq(ep.path, "/run/relayguard/policyd.sock");
	ck_assert_int_eq(parse("local:/run/m.sock", 0, 0), 0);
	ck_assert_str_eq(str(), "unix:/run/m.sock");
	ck_assert_int_eq(parse("/var/run/spamd.sock", 0, 783), 0);
	ck_assert_int_eq(ep.kind, RG_EP_UNIX);
	ck_assert_int_eq(parse("unix:relative.sock", 0, 0), -1);
	ck_assert_int_eq(parse("unix:/x", RG_EP_NOUNIX, 25), -1);
	ck_assert_msg(strstr(err, "not allowed") != NULL, "%s", err);
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp));
		memcpy(longp, "unix:/", 6);
		longp[sizeof(longp) - 1] = 0;
		ck_assert_int_eq(parse(longp, 0, 0), -1);
	}
}
END_TEST

START_TEST(milter_forms)
{
	char conn[300];

	ck_assert_int_eq(parse("inet:10041@127.0.0.1", RG_EP_LISTEN, 0), 0);
	ck_assert_str_eq(ep.host, "127.0.0.1");
	ck_assert_int_eq(ep.port, 10041);
	ck_assert_int_eq(rg_endpoint_milter_conn(&ep, conn, sizeof(conn)), 0);
	ck_assert_str_eq(conn, "inet:10041@127.0.0.1");
	/* The policyd form gives the same socket. */
	ck_assert_int_eq(parse("inet:127.0.0.1:10041", RG_EP_LISTEN, 0), 0);
	ck_assert_int_eq(rg_endpoint_milter_conn(&ep, conn, sizeof(conn)), 0);
	ck_assert_str_eq(conn, "inet:10041@127.0.0.1");
	ck_assert_int_eq(parse("inet:8891", RG_EP_LISTEN, 0), 0);
	ck_assert_str_eq(ep.host, "");
	ck_assert_int_eq(rg_endpoint_milter_conn(&ep, conn, sizeof(conn)), 0);
	ck_assert_str_eq(conn, "inet:8891");
	ck_assert_int_eq(parse("inet6:8891@::1", RG_EP_LISTEN, 0), 0);
	ck_assert_int_eq(rg_endpoint_milter_conn(&ep, conn, sizeof(conn)), 0);
	ck_assert_str_eq(conn, "inet6:8891@::1");
	ck_assert_int_eq(parse("inet6:8891@[::1]", RG_EP_LISTEN, 0), 0);
	ck_assert_str_eq(ep.host, "::1");
	ck_assert_int_eq(parse("[::1]:8891", RG_EP_LISTEN, 0), 0);
	ck_assert_int_eq(rg_endpoint_milter_conn(&ep, conn, sizeof(conn)), 0);
	ck_assert_str_eq(conn, "inet6:8891@::1");
	ck_assert_int_eq(parse("unix:/run/m.sock", RG_EP_LISTEN, 0), 0);
	ck_assert_int_eq(rg_endpoint_milter_conn(&ep, conn, sizeof(conn)), 0);
	ck_assert_str_eq(conn, "unix:/run/m.sock");
	ck_assert_int_eq(parse("inet:8891@", RG_EP_LISTEN, 0), -1);
	ck_assert_int_eq(parse("inet6:8891@127.0.0.1", RG_EP_LISTEN, 0), -1);
	ck_assert_int_eq(parse("inet:99999@127.0.0.1", RG_EP_LISTEN, 0), -1);
}
END_TEST

START_TEST(listen_any)
{
	ck_assert_int_eq(parse("inet:*:10040", RG_EP_LISTEN, 0), 0);
	ck_assert_str_eq(ep.host, "");
	ck_assert_str_eq(str(), "inet:*:10040");
	ck_assert_int_eq(parse(":10040", RG_EP_LISTEN, 0), 0);
	ck_assert_int_eq(parse("*:10040", RG_EP_LISTEN, 0), 0);
	/* A client must name its server. */
	ck_assert_int_eq(parse("*:783", 0, 783), -1);
	ck_assert_int_eq(parse(":6379", 0, 6379), -1);
	ck_assert_int_eq(parse("inet:8891", 0, 0), -1);
	ck_assert_int_eq(parse("[]:25", RG_EP_LISTEN, 0), -1);
}
END_TEST

START_TEST(refused)
{
	static const char *bad[] = {
	    "",       "localhost:783x", "10.0.0.5:63790x", "host:0",       "host:65536",
	    "host:",  "::1:6379",       "inet:::1:10040",  "2001:db8::1",  "[mail.example.com:25",
	    "[::1]x", "[::1]:",         "tcp:host:25",     "bad_host!:25", "a..b:25",
	    "-:25",   "host name:25",   "host\n:25",       "[fe80::zz]:1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], 0, 783) == -1, "accepted: \"%s\"", bad[i]);
		ck_assert_msg(err[0] != 0, "no message for \"%s\"", bad[i]);
		ck_assert_msg(strchr(err, '\n') == NULL, "raw newline echoed for \"%s\"", bad[i]);
	}
	/* No default port: the port is required. */
	ck_assert_int_eq(parse("inet:127.0.0.1", RG_EP_LISTEN, 0), -1);
	ck_assert_msg(strstr(err, "missing port") != NULL, "%s", err);
	/* dns_server: addresses only. */
	ck_assert_int_eq(parse("ns.example.net", RG_EP_NOUNIX | RG_EP_NUMERIC, 53), -1);
	ck_assert_int_eq(parse("127.0.0.1:5353", RG_EP_NOUNIX | RG_EP_NUMERIC, 53), 0);
	ck_assert_int_eq(parse("[::1]:5353", RG_EP_NOUNIX | RG_EP_NUMERIC, 53), 0);
	ck_assert_int_eq(parse("127.0.0.1", RG_EP_NOUNIX | RG_EP_NUMERIC, 53), 0);
	ck_assert_int_eq(ep.port, 53);
	/* The bad text is shown in the message. */
	ck_assert_int_eq(parse("localhost:783x", 0, 783), -1);
	ck_assert_msg(strstr(err, "localhost:783x") && strstr(err, "port"), "%s", err);
}
END_TEST

START_TEST(lists)
{
	struct rg_endpoint v[4];
	char hp[300];

	ck_assert_int_eq(rg_endpoint_parse_list("", 0, 26379, v, 4, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    rg_endpoint_parse_list("10.0.0.1:26379, 10.0.0.2 [::1]:26380", 0, 26379, v, 4, err, sizeof(err)),
	    3);
	ck_assert_str_eq(v[1].host, "10.0.0.2");
	ck_assert_int_eq(v[1].port, 26379);
	ck_assert_str_eq(rg_endpoint_hostport(&v[2], hp, sizeof(hp)), "[::1]:26380");
	ck_assert_int_eq(rg_endpoint_parse_list("a:1,b:2,c:3,d:4,e:5", 0, 1, v, 4, err, sizeof(err)), -1);
	ck_assert_int_eq(rg_endpoint_parse_list("a:1, b:2x", 0, 1, v, 4, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "b:2x") != NULL, "%s", err);
}
END_TEST

START_TEST(resolve)
{
	struct addrinfo *ai;

	ck_assert_int_eq(parse("inet:127.0.0.1:783", 0, 783), 0);
	ck_assert_int_eq(rg_endpoint_getaddrinfo(&ep, 0, &ai, err, sizeof(err)), 0);
	ck_assert_int_eq(ai->ai_family, AF_INET);
	freeaddrinfo(ai);
	ck_assert_int_eq(parse("inet:*:10040", RG_EP_LISTEN, 0), 0);
	ck_assert_int_eq(rg_endpoint_getaddrinfo(&ep, 1, &ai, err, sizeof(err)), 0);
	freeaddrinfo(ai);
	ck_assert_int_eq(parse("unix:/x", 0, 0), 0);
	ck_assert_int_eq(rg_endpoint_getaddrinfo(&ep, 0, &ai, err, sizeof(err)), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("endpoint");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, tcp_forms);
	tcase_add_test(tc, brackets_mean_no_mx);
	tcase_add_test(tc, unix_forms);
	tcase_add_test(tc, milter_forms);
	tcase_add_test(tc, listen_any);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, lists);
	tcase_add_test(tc, resolve);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
