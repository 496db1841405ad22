/*
 * check_spam_spamd - the SPAMC client: the reply parser on real, truncated,
 * garbage and oversized replies; then the whole client against a fake spamd
 * (a thread on a loopback or unix socket) that answers, stays silent, hangs
 * up or talks garbage. Hermetic: loopback only. Set RG_SPAMD_ADDR=host:port
 * of a running spamd to also smoke-test against the real one (otherwise that
 * test passes without doing anything).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../milter/spam_spamd.h"
#include "endpoint.h"
#include "spamd_samples.h"
#include "util.h"

static struct spamd_result res; /* tests run one at a time */

static enum spamd_status
parse(const char *s)
{
	return spamd_parse_reply(s, strlen(s), &res);
}

START_TEST(real_gtube)
{
	ck_assert_int_eq(parse(REPLY_GTUBE), SPAMD_OK);
	ck_assert_int_eq(res.is_spam, 1);
	ck_assert_double_eq_tol(res.score, 1000.0, 1e-9);
	ck_assert_double_eq_tol(res.threshold, 5.0, 1e-9);
	ck_assert_str_eq(res.version, "1.1");
	ck_assert_int_eq(res.tests_known, 1);
	ck_assert_str_eq(res.tests, "GTUBE,NO_RECEIVED,NO_RELAYS");
	ck_assert_str_eq(res.report, "* -0.0 NO_RECEIVED Informational: message has no Received headers\n"
				     "* -0.0 NO_RELAYS Informational: message was not relayed via SMTP\n"
				     "* 1000 GTUBE BODY: Generic Test for Unsolicited Bulk Email");
	ck_assert_int_eq(spamd_reply_complete(REPLY_GTUBE, strlen(REPLY_GTUBE)), 1);
}
END_TEST

START_TEST(real_spam_sorted_like_spamassassin)
{
	ck_assert_int_eq(parse(REPLY_SPAM2), SPAMD_OK);
	ck_assert_double_eq_tol(res.score, 13.6, 1e-9);
	/* the same list, in the same order, as SpamAssassin's own tests= */
	ck_assert_str_eq(res.tests, TESTS_SPAM2);
	ck_assert_ptr_nonnull(strstr(res.report, "\n*  0.2 NORMAL_HTTP_TO_IP URI: URI host has a public "
						 "dotted-decimal IPv4\n*      address\n"));
	ck_assert_ptr_nonnull(strstr(res.report, "\n*  1.0 ADVANCE_FEE_2_NEW_MONEY Advance Fee fraud"));
	ck_assert_ptr_null(strstr(res.report, "Content preview"));
}
END_TEST

START_TEST(real_ham_no_rules)
{
	ck_assert_int_eq(parse(REPLY_HAM), SPAMD_OK);
	ck_assert_int_eq(res.is_spam, 0);
	ck_assert_double_eq_tol(res.score, 0.0, 1e-9);
	ck_assert_int_eq(res.tests_known, 1);
	ck_assert_str_eq(res.tests, "");
	ck_assert_str_eq(res.report, "");
}
END_TEST

START_TEST(negative_scores_and_lf_only)
{
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\n"
			       "Spam: False ; -102.5 / 5.0\n"
			       "\n"
			       "---- ---------------------- ------------\n"
			       "-100 USER_IN_WELCOMELIST   From: user is listed in the welcome-list\n"
			       "-2.5 RCVD_IN_DNSWL_MED     RBL: Sender listed at https://www.dnswl.org/,\n"
			       "                            medium trust\n"
			       "                            [192.0.2.1 listed in list.dnswl.org]\n"),
			 SPAMD_OK);
	ck_assert_int_eq(res.is_spam, 0);
	ck_assert_double_eq_tol(res.score, -102.5, 1e-9);
	ck_assert_str_eq(res.tests, "RCVD_IN_DNSWL_MED,USER_IN_WELCOMELIST");
	ck_assert_str_eq(res.report,
			 "* -100 USER_IN_WELCOMELIST From: user is listed in the welcome-list\n"
			 "* -2.5 RCVD_IN_DNSWL_MED RBL: Sender listed at https://www.dnswl.org/,\n"
			 "*      medium trust\n"
			 "*      [192.0.2.1 listed in list.dnswl.org]");
}
END_TEST

START_TEST(truncated_never_ok)
{
	const char *all[] = {REPLY_GTUBE, REPLY_SPAM2, REPLY_HAM};

	for (size_t k = 0; k < 3; k++)
		for (size_t n = 0; n < strlen(all[k]); n++) {
			ck_assert_int_eq(spamd_reply_complete(all[k], n), 0);
			ck_assert_int_eq(spamd_parse_reply(all[k], n, &res), SPAMD_EPROTO);
			ck_assert_str_ne(res.error, "");
		}
}
END_TEST

START_TEST(garbage)
{
	static const char *const bad[] = {
	    "",
	    "\r\n",
	    "HTTP/1.1 200 OK\r\nContent-length: 0\r\n\r\n",
	    "SPAMD/ 0 EX_OK\r\nSpam: True ; 1 / 5\r\n\r\n",
	    "SPAMD/1.1 x EX_OK\r\nSpam: True ; 1 / 5\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nSpam: True ; nan / 5\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 5.0\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 / 5.0 trailing\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1e400 / 5.0\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1234567890123456 / 5.0\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nContent-length: 12x\r\nSpam: True ; 1 / 5\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nno colon here\r\n\r\n",
	    "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\n\r\nhello", /* no Spam: header */
	    "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\n", /* no end of headers */
	    "\x00\x01\x02\xff\xfe garbage \x00\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 15 ? 16 : strlen(bad[i]);

		ck_assert_msg(spamd_parse_reply(bad[i], len, &res) == SPAMD_EPROTO, "case %zu: %s", i,
			      spamd_strstatus(res.status));
		ck_assert_msg(res.error[0] != 0, "case %zu has no error text", i);
	}
	/* a second verdict never overrides the first: the reply is refused */
	ck_assert_int_eq(
	    parse("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 99.0 / 5.0\r\nSpam: False ; 0.0 / 5.0\r\n\r\n"),
	    SPAMD_EPROTO);
	ck_assert_str_eq(res.error, "reply has two Spam: headers");
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; 99.0 / 5.0\r\n"
			       "Content-length: 0\r\n\r\n"),
			 SPAMD_EPROTO);
	/* a NUL in the status line does not read past len */
	ck_assert_int_eq(spamd_parse_reply("SPAMD/1.1\0 0 EX_OK\r\n\r\n", 21, &res), SPAMD_EPROTO);
}
END_TEST

START_TEST(ex_errors)
{
	ck_assert_int_eq(parse(REPLY_EX_BADHDR), SPAMD_ESERVER);
	ck_assert_int_eq(res.ex_code, 76);
	ck_assert_str_eq(res.version, "1.0");
	ck_assert_str_eq(res.error, "spamd error 76: Bad header line: (header not in 'Name: value' format)");
	ck_assert_int_eq(spamd_reply_complete(REPLY_EX_BADHDR, strlen(REPLY_EX_BADHDR)), 1);
	ck_assert_int_eq(spamd_reply_complete(REPLY_EX_BADHDR, strlen(REPLY_EX_BADHDR) - 1), 0);
	ck_assert_int_eq(parse(REPLY_EX_BADCMD), SPAMD_ESERVER);
	ck_assert_int_eq(parse(REPLY_EX_CLEN), SPAMD_ESERVER);
	ck_assert_int_eq(parse("SPAMD/1.1 69 Service Unavailable\x1b[2J\r\n"), SPAMD_ESERVER);
	ck_assert_int_eq(res.ex_code, 69);
	ck_assert_ptr_null(strchr(res.error, '\x1b'));
}
END_TEST

START_TEST(missing_parts)
{
	/* CHECK-style: no Content-length, no body: fine, but no rule table */
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 6.1 / 5.0\r\n\r\n"), SPAMD_OK);
	ck_assert_int_eq(res.is_spam, 1);
	ck_assert_int_eq(res.tests_known, 0);
	/* unknown headers ignored, names case-insensitive, "Yes"/"No" accepted */
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\r\nX-Future: 1\r\nspam: no ; 1.5 / 5.0\r\n"
			       "CONTENT-LENGTH: 3\r\n\r\nabc"),
			 SPAMD_OK);
	ck_assert_int_eq(res.is_spam, 0);
	ck_assert_double_eq_tol(res.score, 1.5, 1e-9);
	/* a custom template without the table: verdict kept, rules unknown */
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\r\nContent-length: 10\r\nSpam: True ; 9.0 / 5.0\r\n\r\n"
			       "1.0 FAKE x"),
			 SPAMD_OK);
	ck_assert_int_eq(res.tests_known, 0);
	ck_assert_str_eq(res.tests, "");
	/* bytes past Content-length are not parsed */
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; 9.0 / 5.0\r\n\r\n"
			       "---- -------------\n 1.0 EXTRA x\n"),
			 SPAMD_OK);
	ck_assert_str_eq(res.tests, "");
}
END_TEST

START_TEST(hostile_table_sanitised)
{
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9.0 / 5.0\r\n\r\n"
			       "---- ---------------------- ----\n"
			       " 1.0 RULE_A                 bad \x1b[31m \xc3\xa9 \r\n"
			       " 1.0 RULE-B bad name\n"
			       "                            \x01\x7f continuation\n"),
			 SPAMD_OK);
	ck_assert_str_eq(res.tests, "RULE_A");
	for (const char *p = res.report; *p; p++)
		ck_assert_msg(*p == '\n' || (*p >= 0x20 && *p < 0x7f), "byte %02x in report",
			      (unsigned char)*p);
}
END_TEST

START_TEST(huge_replies)
{
	size_t n = SPAMD_REPLY_MAX + 1, o;
	char *big = xmalloc(n + 64);

	memset(big, 'x', n);
	ck_assert_int_eq(spamd_parse_reply(big, n, &res), SPAMD_ETOOBIG);
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\r\nContent-length: 99999999999999999999\r\n"
			       "Spam: True ; 1 / 5\r\n\r\n"),
			 SPAMD_ETOOBIG);
	ck_assert_int_eq(parse("SPAMD/1.1 0 EX_OK\r\nContent-length: 262145\r\nSpam: True ; 1 / 5\r\n\r\n"),
			 SPAMD_ETOOBIG);

	/* a reply just under the cap with thousands of rules: bounded output */
	o = (size_t)sprintf(big, "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 99.0 / 5.0\r\n\r\n---- ----------\n");
	for (int i = 0; o + 80 < SPAMD_REPLY_MAX; i++)
		o += (size_t)sprintf(big + o, " 0.1 R%05d_%s description text\n", i, "PADDING_PADDING");
	ck_assert_int_eq(spamd_parse_reply(big, o, &res), SPAMD_OK);
	ck_assert_uint_lt(strlen(res.tests), sizeof(res.tests));
	ck_assert_uint_gt(strlen(res.tests), sizeof(res.tests) - 40);
	ck_assert_int_eq(res.tests[strlen(res.tests) - 1], 'G'); /* cut at a whole name */
	ck_assert_ptr_nonnull(strstr(res.report, "\n* [report truncated]"));
	ck_assert_uint_lt(strlen(res.report), sizeof(res.report));
	free(big);
}
END_TEST

/* ---- the client against a fake spamd ---- */

enum mode { ANSWER, SILENT, HANGUP, GARBAGE, FLOOD, REFUSE, PONG };

struct fake {
	int lfd;
	enum mode mode;
	char addr[128];
	char req[65536]; /* what the client sent */
	size_t reqlen;
	pthread_t th;
	int joined;
	int wake[2]; /* fake_stop writes here to end a SILENT fake */
};

/* Read the request: headers, then Content-length bytes (or to EOF). */
static void
read_request(struct fake *f, int fd)
{
	char *end, *cl;
	ssize_t n;

	f->reqlen = 0;
	while (f->reqlen < sizeof(f->req) - 1 &&
	       (n = recv(fd, f->req + f->reqlen, sizeof(f->req) - 1 - f->reqlen, 0)) > 0) {
		f->reqlen += (size_t)n;
		f->req[f->reqlen] = 0;
		if ((end = strstr(f->req, "\r\n\r\n")) && (cl = strstr(f->req, "Content-length: ")) &&
		    f->reqlen >= (size_t)(end + 4 - f->req) + strtoul(cl + 16, NULL, 10))
			break;
	}
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	char buf[4096];

	if (fd < 0)
		return NULL;
	if (f->mode != HANGUP && f->mode != REFUSE && f->mode != PONG)
		read_request(f, fd);
	switch (f->mode) {
	case ANSWER:
		send(fd, REPLY_GTUBE, strlen(REPLY_GTUBE), MSG_NOSIGNAL);
		break;
	case SILENT: { /* hold the connection open, say nothing, until told */
		struct pollfd pfd = {.fd = f->wake[0], .events = POLLIN};

		poll(&pfd, 1, 10000);
		break;
	}
	case HANGUP:
		recv(fd, buf, 10, 0);
		break;
	case GARBAGE:
		send(fd, "220 mail.example ESMTP\r\n", 24, MSG_NOSIGNAL);
		break;
	case FLOOD:
		memset(buf, 'A', sizeof(buf));
		for (int i = 0; i < 100; i++)
			if (send(fd, buf, sizeof(buf), MSG_NOSIGNAL) < 0)
				break;
		break;
	case PONG: /* a PING has no body: answer its first bytes */
		recv(fd, buf, sizeof(buf), 0);
		send(fd, "SPAMD/1.5 0 PONG\r\n", 18, MSG_NOSIGNAL);
		break;
	case REFUSE: /* answer first, then drain what the client still sends */
		send(fd, REPLY_EX_BADHDR, strlen(REPLY_EX_BADHDR), MSG_NOSIGNAL);
		shutdown(fd, SHUT_WR);
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
		break;
	}
	close(fd);
	return NULL;
}

static struct fake *
fake_start(enum mode mode, int unix_sock)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->mode = mode;
	ck_assert_int_eq(pipe(f->wake), 0);
	if (unix_sock) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/check_spam_spamd.%d.%p.sock",
			 (int)getpid(), (void *)f);
		unlink(sun.sun_path);
		f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		snprintf(f->addr, sizeof(f->addr), "unix:%s", sun.sun_path);
	} else {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sin);

		f->lfd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		getsockname(f->lfd, (struct sockaddr *)&sin, &sl);
		snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	}
	ck_assert_int_eq(listen(f->lfd, 4), 0);
	pthread_create(&f->th, NULL, fake_main, f);
	return f;
}

/* Wait for the fake to finish its one connection (then f->req is final). */
static void
fake_join(struct fake *f)
{
	if (!f->joined && write(f->wake[1], "x", 1) != 1)
		ck_abort_msg("cannot wake the fake spamd");
	if (!f->joined)
		pthread_join(f->th, NULL);
	f->joined = 1;
}

static void
fake_stop(struct fake *f)
{
	fake_join(f);
	close(f->lfd);
	close(f->wake[0]);
	close(f->wake[1]);
	if (strncmp(f->addr, "unix:", 5) == 0)
		unlink(f->addr + 5);
	free(f);
}

static const char MSG[] =
    "Subject: test\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n";

static enum spamd_status
check_msg(const char *addr, int timeout_ms)
{
	struct spamd_seg seg = spamd_seg_mem(MSG, strlen(MSG));

	return spamd_check(addr, timeout_ms, NULL, &seg, 1, 0, &res);
}

START_TEST(client_answer)
{
	struct fake *f = fake_start(ANSWER, 0);

	ck_assert_int_eq(check_msg(f->addr, 2000), SPAMD_OK);
	ck_assert_str_eq(res.tests, "GTUBE,NO_RECEIVED,NO_RELAYS");
	fake_stop(f);
}
END_TEST

START_TEST(client_streams_memory_and_file)
{
	struct fake *f = fake_start(ANSWER, 1);
	char path[] = "/tmp/check_spam_spamd.XXXXXX", expect[65536];
	int fd = mkstemp(path);
	size_t n = 0, body;
	struct spamd_seg segs[3];
	static const char junk[] = "JUNK-BEFORE-OFFSET";
	const char *hdr = "Received: from x\r\nSubject: stream\r\n\r\n";

	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, junk, strlen(junk)), (ssize_t)strlen(junk));
	for (int i = 0; i < 2000; i++) /* 40 KB, more than one CHUNK */
		n += (size_t)snprintf(expect + n, sizeof(expect) - n, "body line %08d\r\n", i);
	ck_assert_int_eq(write(fd, expect, n), (ssize_t)n);
	segs[0] = spamd_seg_mem(hdr, strlen(hdr));
	segs[1] = spamd_seg_file(fd, (off_t)strlen(junk), n);
	segs[2] = spamd_seg_mem("tail\r\n", 6);
	body = strlen(hdr) + n + 6;
	ck_assert_int_eq(spamd_check(f->addr, 2000, "bob", segs, 3, 0, &res), SPAMD_OK);
	fake_join(f);

	char want[256];
	const char *p;

	snprintf(want, sizeof(want), "REPORT SPAMC/1.5\r\nContent-length: %zu\r\nUser: bob\r\n\r\n", body);
	ck_assert_int_eq(strncmp(f->req, want, strlen(want)), 0);
	p = f->req + strlen(want);
	ck_assert_uint_eq(f->reqlen, strlen(want) + body);
	ck_assert_int_eq(memcmp(p, hdr, strlen(hdr)), 0);
	ck_assert_int_eq(memcmp(p + strlen(hdr), expect, n), 0);
	ck_assert_int_eq(memcmp(p + strlen(hdr) + n, "tail\r\n", 6), 0);

	/* a file that is shorter than announced fails cleanly */
	segs[1] = spamd_seg_file(fd, (off_t)strlen(junk), n + 100);
	fake_stop(f);
	f = fake_start(SILENT, 0);
	ck_assert_int_eq(spamd_check(f->addr, 2000, NULL, segs, 3, 0, &res), SPAMD_EIO);
	fake_stop(f);
	close(fd);
}
END_TEST

START_TEST(client_deadline)
{
	struct fake *f = fake_start(SILENT, 0);
	long long t0 = rg_mono_ms(), took;

	ck_assert_int_eq(check_msg(f->addr, 300), SPAMD_ETIMEOUT);
	took = rg_mono_ms() - t0;
	ck_assert_int_ge(took, 290);
	ck_assert_int_lt(took, 600);
	fake_stop(f);
}
END_TEST

/* A listener whose accept queue is full drops our SYN: connect hangs. */
START_TEST(client_connect_deadline)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0), filler = socket(AF_INET, SOCK_STREAM, 0);
	char addr[64];
	long long t0, took;

	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(l, (struct sockaddr *)&sin, &sl);
	ck_assert_int_eq(listen(l, 0), 0);
	ck_assert_int_eq(connect(filler, (struct sockaddr *)&sin, sizeof(sin)), 0); /* fills the queue */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	t0 = rg_mono_ms();
	ck_assert_int_eq(check_msg(addr, 300), SPAMD_ETIMEOUT);
	took = rg_mono_ms() - t0;
	ck_assert_int_ge(took, 290);
	ck_assert_int_lt(took, 600);
	ck_assert_ptr_nonnull(strstr(res.error, "connect"));
	close(filler);
	close(l);
}
END_TEST

START_TEST(client_hangup_garbage_flood_refuse)
{
	struct fake *f = fake_start(HANGUP, 0);

	ck_assert_int_ne(check_msg(f->addr, 2000), SPAMD_OK);
	ck_assert(res.status == SPAMD_EPROTO || res.status == SPAMD_EIO);
	fake_stop(f);

	f = fake_start(GARBAGE, 0);
	ck_assert_int_eq(check_msg(f->addr, 2000), SPAMD_EPROTO);
	fake_stop(f);

	f = fake_start(FLOOD, 0);
	ck_assert_int_eq(check_msg(f->addr, 2000), SPAMD_ETOOBIG);
	fake_stop(f);

	f = fake_start(REFUSE, 1);
	ck_assert_int_eq(check_msg(f->addr, 2000), SPAMD_ESERVER);
	ck_assert_int_eq(res.ex_code, 76);
	fake_stop(f);
}
END_TEST

/* Many threads at once, each with its own spamd and result: no shared state. */
static void *
thread_check(void *arg)
{
	struct fake *f = arg;
	struct spamd_result *r = xmalloc(sizeof(*r));
	struct spamd_seg seg = spamd_seg_mem(MSG, strlen(MSG));
	long ok;

	ok = spamd_check(f->addr, 5000, "u1", &seg, 1, 0, r) == SPAMD_OK && r->is_spam &&
	     strcmp(r->tests, "GTUBE,NO_RECEIVED,NO_RELAYS") == 0;
	free(r);
	return (void *)ok;
}

START_TEST(client_threads)
{
	struct fake *f[8];
	pthread_t th[8];
	void *ok;

	for (int i = 0; i < 8; i++)
		f[i] = fake_start(ANSWER, i % 2);
	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, thread_check, f[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], &ok);
		ck_assert_msg(ok != NULL, "thread %d failed", i);
		fake_stop(f[i]);
	}
}
END_TEST

START_TEST(client_bad_arguments)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char addr[64];
	struct spamd_seg seg = spamd_seg_mem(MSG, strlen(MSG));

	/* a port nobody listens on: refused at once */
	bind(s, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(s, (struct sockaddr *)&sin, &sl);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	close(s);
	ck_assert_int_eq(check_msg(addr, 2000), SPAMD_ECONNECT);
	ck_assert_int_eq(check_msg("/nonexistent/spamd.sock", 2000), SPAMD_ECONNECT);
	ck_assert_int_eq(check_msg("127.0.0.1:0", 2000), SPAMD_ECONNECT);
	ck_assert_int_eq(check_msg("127.0.0.1:99999", 2000), SPAMD_ECONNECT);
	ck_assert_int_eq(check_msg("127.0.0.1:78x", 2000), SPAMD_ECONNECT);
	ck_assert_int_eq(check_msg("[::1", 2000), SPAMD_ECONNECT);
	ck_assert_int_eq(check_msg("", 2000), SPAMD_ECONNECT);
	ck_assert_int_eq(spamd_check("127.0.0.1:1", 2000, "bad user\r\n", &seg, 1, 0, &res), SPAMD_EINVAL);
	ck_assert_int_eq(spamd_check("127.0.0.1:1", 2000, NULL, &seg, 1, 10, &res), SPAMD_ETOOBIG);
	ck_assert_str_eq(spamd_strstatus(SPAMD_ETIMEOUT), "timeout");
}
END_TEST

START_TEST(client_ipv6)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t sl = sizeof(sin6);
	struct fake *f = calloc(1, sizeof(*f));

	f->lfd = socket(AF_INET6, SOCK_STREAM, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		fprintf(stderr, "client_ipv6: no IPv6 loopback here, skipped\n");
		if (f->lfd >= 0)
			close(f->lfd);
		free(f);
		return;
	}
	getsockname(f->lfd, (struct sockaddr *)&sin6, &sl);
	snprintf(f->addr, sizeof(f->addr), "[::1]:%d", ntohs(sin6.sin6_port));
	listen(f->lfd, 4);
	f->mode = ANSWER;
	ck_assert_int_eq(pipe(f->wake), 0);
	pthread_create(&f->th, NULL, fake_main, f);
	ck_assert_int_eq(check_msg(f->addr, 2000), SPAMD_OK);
	ck_assert_int_eq(res.is_spam, 1);
	fake_stop(f);
}
END_TEST

/* /health's probe: PONG is up; silence is a timeout; a hang-up is down. */
START_TEST(client_ping)
{
	struct rg_endpoint ep;
	char err[256];
	enum spamd_status st;
	struct fake *f = fake_start(PONG, 0);

	ck_assert_int_eq(rg_endpoint_parse(f->addr, 0, 0, &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(spamd_ping(&ep, 2000, &res), SPAMD_OK);
	fake_stop(f);
	f = fake_start(SILENT, 0);
	ck_assert_int_eq(rg_endpoint_parse(f->addr, 0, 0, &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(spamd_ping(&ep, 300, &res), SPAMD_ETIMEOUT);
	fake_stop(f);
	f = fake_start(HANGUP, 0);
	ck_assert_int_eq(rg_endpoint_parse(f->addr, 0, 0, &ep, err, sizeof(err)), 0);
	st = spamd_ping(&ep, 2000, &res); /* a reset (unread PING) or EOF */
	ck_assert(st == SPAMD_EIO || st == SPAMD_EPROTO);
	fake_stop(f);
}
END_TEST

START_TEST(real_spamd_smoke)
{
	const char *addr = getenv("RG_SPAMD_ADDR");

	if (addr == NULL || *addr == 0)
		return; /* no spamd given: nothing to smoke-test */
	ck_assert_int_eq(check_msg(addr, 30000), SPAMD_OK);
	ck_assert_int_eq(res.is_spam, 1);
	ck_assert_ptr_nonnull(strstr(res.tests, "GTUBE"));
	ck_assert_ptr_nonnull(strstr(res.report, " GTUBE "));
}
END_TEST

static Suite *
spamd_suite(void)
{
	Suite *s = suite_create("spamd");
	TCase *p = tcase_create("parse"), *c = tcase_create("client");

	tcase_add_test(p, real_gtube);
	tcase_add_test(p, real_spam_sorted_like_spamassassin);
	tcase_add_test(p, real_ham_no_rules);
	tcase_add_test(p, negative_scores_and_lf_only);
	tcase_add_test(p, truncated_never_ok);
	tcase_add_test(p, garbage);
	tcase_add_test(p, ex_errors);
	tcase_add_test(p, missing_parts);
	tcase_add_test(p, hostile_table_sanitised);
	tcase_add_test(p, huge_replies);
	tcase_add_test(c, client_answer);
	tcase_add_test(c, client_streams_memory_and_file);
	tcase_add_test(c, client_deadline);
	tcase_add_test(c, client_connect_deadline);
	tcase_add_test(c, client_hangup_garbage_flood_refuse);
	tcase_add_test(c, client_threads);
	tcase_add_test(c, client_bad_arguments);
	tcase_add_test(c, client_ipv6);
	tcase_add_test(c, client_ping);
	tcase_add_test(c, real_spamd_smoke);
	tcase_set_timeout(c, 40);
	suite_add_tcase(s, p);
	suite_add_tcase(s, c);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spamd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
