/*
 * check_callout - the callout SMTP client against a tiny fake SMTP server
 * (a thread on a loopback port, one connection each), the address checks,
 * nexthop parsing, MX answer parsing and the own-name MX filter. No DNS.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"
#include "../../milter/callout.h"

enum fake_mode {
	FAKE_NORMAL,
	FAKE_GREET554, /* greeting 554, then only QUIT */
	FAKE_SILENT, /* never says anything */
	FAKE_CLOSE_AFTER_MAIL, /* accepts MAIL FROM, then hangs up */
	FAKE_EHLO502, /* no ESMTP: EHLO gets 502 */
	FAKE_MAIL451, /* MAIL FROM gets 451 */
	FAKE_421_RCPT2, /* the second RCPT gets 421, then hang-up */
	FAKE_SILENT_RCPT, /* never answers RCPT */
	FAKE_GARBAGE_RCPT, /* answers RCPT with garbage */
};

struct fake {
	int lfd;
	unsigned port;
	enum fake_mode mode;
	pthread_t th;
	int accepted;
	size_t gotlen;
	char got[8192]; /* every byte the client sent */
};

static void
say(int fd, const char *s)
{
	(void)send(fd, s, strlen(s), MSG_NOSIGNAL);
}

/* Answer one command line; 0 to go on, -1 to hang up. */
static int
answer(struct fake *f, int fd, const char *line, int *nrcpt)
{
	char buf[600];

	if (f->mode == FAKE_SILENT)
		return 0;
	if (strncmp(line, "QUIT", 4) == 0)
		return say(fd, "221 2.0.0 Bye\r\n"), -1;
	if (f->mode == FAKE_GREET554)
		return say(fd, "503 5.5.1 go away\r\n"), 0;
	if (strncmp(line, "EHLO ", 5) == 0) {
		say(fd, f->mode == FAKE_EHLO502 ? "502 5.5.2 Error: command not recognized\r\n"
						: "250-fake.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	} else if (strncmp(line, "HELO ", 5) == 0) {
		say(fd, "250 fake.test\r\n");
	} else if (strncmp(line, "MAIL FROM:", 10) == 0) {
		say(fd, f->mode == FAKE_MAIL451 ? "451 4.3.0 not now\r\n" : "250 2.1.0 Ok\r\n");
		if (f->mode == FAKE_CLOSE_AFTER_MAIL)
			return -1;
	} else if (strncmp(line, "RCPT TO:", 8) == 0) {
		++*nrcpt;
		if (f->mode == FAKE_SILENT_RCPT)
			return 0;
		if (f->mode == FAKE_GARBAGE_RCPT)
			return say(fd, "25x what\r\n"), 0;
		if (f->mode == FAKE_421_RCPT2 && *nrcpt == 2)
			return say(fd, "421 4.3.2 shutting down\r\n"), -1;
		if (strstr(line, "unknown")) {
			snprintf(
			    buf, sizeof(buf),
			    "550-5.1.1 %.300s: Recipient address rejected:\r\n550 5.1.1 User unknown\tin "
			    "table\r\n",
			    line + 8);
			say(fd, buf);
		} else if (strstr(line, "later")) {
			say(fd, "450 4.2.0 try later\r\n");
		} else {
			say(fd, "250 2.1.5 Ok\r\n");
		}
	} else if (strncmp(line, "RSET", 4) == 0) {
		say(fd, "250 2.0.0 Ok\r\n");
	} else {
		say(fd, "502 5.5.2 Error: command not recognized\r\n");
	}
	return 0;
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd pfd = {.fd = f->lfd, .events = POLLIN};
	char line[1024];
	size_t ll = 0;
	int fd, nrcpt = 0;

	/* Bounded waits everywhere: a broken test must not hang. */
	if (poll(&pfd, 1, 3000) != 1 || (fd = accept(f->lfd, NULL, NULL)) < 0)
		return NULL;
	f->accepted = 1;
	if (f->mode == FAKE_GREET554)
		say(fd, "554 5.7.1 no service for you\r\n");
	else if (f->mode != FAKE_SILENT)
		say(fd, "220 fake.test ESMTP\r\n");
	for (;;) {
		char c;
		ssize_t n;

		pfd.fd = fd;
		if (poll(&pfd, 1, 3000) != 1 || (n = recv(fd, &c, 1, 0)) <= 0)
			break;
		if (f->gotlen < sizeof(f->got) - 1)
			f->got[f->gotlen++] = c;
		if (ll < sizeof(line) - 1)
			line[ll++] = c;
		if (c != '\n')
			continue;
		while (ll > 0 && (line[ll - 1] == '\n' || line[ll - 1] == '\r'))
			ll--;
		line[ll] = 0;
		ll = 0;
		if (answer(f, fd, line, &nrcpt) < 0)
			break;
	}
	close(fd);
	return NULL;
}

static int
listen_any(unsigned *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static struct fake *
fake_start(enum fake_mode mode)
{
	struct fake *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	f->mode = mode;
	f->lfd = listen_any(&f->port);
	ck_assert_int_eq(pthread_create(&f->th, NULL, fake_main, f), 0);
	return f;
}

/* Join the server thread; returns what it received as a string (owned by f). */
static const char *
fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	f->got[f->gotlen] = 0;
	return f->got;
}

/* A loopback port nobody listens on. */
static unsigned
dead_port(void)
{
	unsigned port;
	int fd = listen_any(&port);

	close(fd);
	return port;
}

static struct callout_target
target(const char *host, unsigned port)
{
	struct callout_target t = {.port = port};

	rg_strlcpy(t.host, host, sizeof(t.host));
	return t;
}

static struct callout_params
params(const char *sender, int cmd_ms)
{
	struct callout_params p = {
	    .helo_name = "relay.test",
	    .sender = sender,
	    .connect_timeout_ms = 1000,
	    .command_timeout_ms = cmd_ms,
	};
	return p;
}

START_TEST(valid_invalid_tempfail_one_session)
{
	struct fake *f = fake_start(FAKE_NORMAL);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("bounce@relay.test", 2000);
	const char *rcpts[] = {"alice@example.com", "unknown@example.com", "later@example.com"};
	struct callout_result res[3];
	char err[256] = "";

	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 3, res, err, sizeof(err)), CALLOUT_DONE);
	ck_assert_int_eq(res[0].verdict, CALLOUT_VALID);
	ck_assert_int_eq(res[0].code, 250);
	ck_assert_str_eq(res[0].reply, "250 2.1.5 Ok");
	ck_assert_int_eq(res[1].verdict, CALLOUT_INVALID);
	ck_assert_int_eq(res[1].code, 550);
	ck_assert_str_eq(
	    res[1].reply,
	    "550 5.1.1 <unknown@example.com>: Recipient address rejected: User unknown in table");
	ck_assert_int_eq(res[2].verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(res[2].code, 450);
	ck_assert_str_eq(res[2].reply, "450 4.2.0 try later");
	/* One session, every recipient in it, no DATA, RSET and QUIT at the end. */
	ck_assert_str_eq(fake_stop(f), "EHLO relay.test\r\n"
				       "MAIL FROM:<bounce@relay.test>\r\n"
				       "RCPT TO:<alice@example.com>\r\n"
				       "RCPT TO:<unknown@example.com>\r\n"
				       "RCPT TO:<later@example.com>\r\n"
				       "RSET\r\n"
				       "QUIT\r\n");
	free(f);
}
END_TEST

/* The milter's way: one session, recipients one at a time, closed at the end. */
START_TEST(stepwise_session)
{
	struct fake *f = fake_start(FAKE_NORMAL);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("", 2000);
	struct callout_conn *c = NULL;
	struct callout_result res;
	char err[256] = "";

	ck_assert_int_eq(callout_open(&c, &t, 1, &pa, err, sizeof(err)), CALLOUT_DONE);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(callout_rcpt(c, "alice@example.com", 0, &res), 0);
	ck_assert_int_eq(res.verdict, CALLOUT_VALID);
	/* An unsafe address is answered UNKNOWN without being sent; the session goes on. */
	ck_assert_int_eq(callout_rcpt(c, "evil\r\nDATA@example.com", 0, &res), 0);
	ck_assert_int_eq(res.verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(callout_rcpt(c, "unknown@example.com", rg_mono_ms() + 2000, &res), 0);
	ck_assert_int_eq(res.verdict, CALLOUT_INVALID);
	ck_assert_int_eq(res.code, 550);
	callout_close(c);
	ck_assert_str_eq(fake_stop(f), "EHLO relay.test\r\n"
				       "MAIL FROM:<>\r\n"
				       "RCPT TO:<alice@example.com>\r\n"
				       "RCPT TO:<unknown@example.com>\r\n"
				       "RSET\r\n"
				       "QUIT\r\n");
	free(f);
}
END_TEST

/* A session that breaks at RCPT says so; nothing more is sent on it. */
START_TEST(stepwise_broken)
{
	struct fake *f = fake_start(FAKE_421_RCPT2);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("", 2000);
	struct callout_conn *c = NULL;
	struct callout_result res;

	ck_assert_int_eq(callout_open(&c, &t, 1, &pa, NULL, 0), CALLOUT_DONE);
	ck_assert_int_eq(callout_rcpt(c, "a@example.com", 0, &res), 0);
	ck_assert_int_eq(callout_rcpt(c, "b@example.com", 0, &res), -1);
	ck_assert_int_eq(res.verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(res.code, 421);
	ck_assert_int_eq(callout_rcpt(c, "c@example.com", 0, &res), -1);
	callout_close(c);
	ck_assert_str_eq(
	    fake_stop(f),
	    "EHLO relay.test\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n");
	free(f);
	/* Nobody there: no connection object. */
	t = target("127.0.0.1", dead_port());
	ck_assert_int_eq(callout_open(&c, &t, 1, &pa, NULL, 0), CALLOUT_ECONNECT);
	ck_assert_ptr_null(c);
	callout_close(NULL);
}
END_TEST

START_TEST(null_sender_and_helo_fallback)
{
	struct fake *f = fake_start(FAKE_EHLO502);
	struct callout_target t = target("localhost", f->port);
	struct callout_params pa = params(NULL, 2000);
	const char *rcpts[] = {"bob@example.com"};
	struct callout_result res[1];

	t.host[0] = 0; /* and a bad first target is skipped */
	struct callout_target ts[2] = {t, target("127.0.0.1", f->port)};

	ck_assert_int_eq(callout_run(ts, 2, &pa, rcpts, 1, res, NULL, 0), CALLOUT_DONE);
	ck_assert_int_eq(res[0].verdict, CALLOUT_VALID);
	ck_assert_str_eq(fake_stop(f), "EHLO relay.test\r\nHELO relay.test\r\nMAIL FROM:<>\r\n"
				       "RCPT TO:<bob@example.com>\r\nRSET\r\nQUIT\r\n");
	free(f);
}
END_TEST

START_TEST(greeting_554_is_unknown)
{
	struct fake *f = fake_start(FAKE_GREET554);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("", 2000);
	const char *rcpts[] = {"bob@example.com", "unknown@example.com"};
	struct callout_result res[2];
	char err[256] = "";

	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 2, res, err, sizeof(err)), CALLOUT_ESESSION);
	ck_assert_str_eq(err, "greeting: 554 5.7.1 no service for you");
	ck_assert_int_eq(res[0].verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(res[1].verdict, CALLOUT_UNKNOWN);
	ck_assert_str_eq(res[1].reply, err);
	ck_assert_str_eq(fake_stop(f), "QUIT\r\n");
	free(f);
}
END_TEST

START_TEST(refused_then_next_host)
{
	struct fake *f = fake_start(FAKE_NORMAL);
	struct callout_target ts[2] = {target("127.0.0.1", dead_port()), target("127.0.0.1", f->port)};
	struct callout_params pa = params("", 2000);
	const char *rcpts[] = {"unknown@example.com"};
	struct callout_result res[1];

	ck_assert_int_eq(callout_run(ts, 2, &pa, rcpts, 1, res, NULL, 0), CALLOUT_DONE);
	ck_assert_int_eq(res[0].verdict, CALLOUT_INVALID);
	fake_stop(f);
	free(f);
}
END_TEST

START_TEST(refused_everywhere)
{
	struct callout_target t = target("127.0.0.1", dead_port());
	struct callout_params pa = params("", 2000);
	const char *rcpts[] = {"bob@example.com"};
	struct callout_result res[1];
	char err[256] = "";

	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 1, res, err, sizeof(err)), CALLOUT_ECONNECT);
	ck_assert_ptr_nonnull(strstr(err, "refused"));
	ck_assert_int_eq(res[0].verdict, CALLOUT_UNKNOWN);
}
END_TEST

START_TEST(silent_server_deadline)
{
	struct fake *f = fake_start(FAKE_SILENT);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("", 250);
	const char *rcpts[] = {"bob@example.com"};
	struct callout_result res[1];
	char err[256] = "";
	long long t0 = rg_mono_ms(), dt;

	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 1, res, err, sizeof(err)), CALLOUT_ESESSION);
	dt = rg_mono_ms() - t0;
	ck_assert_int_ge(dt, 240);
	ck_assert_int_lt(dt, 450);
	ck_assert_str_eq(err, "greeting: timeout while reading reply");
	ck_assert_int_eq(res[0].verdict, CALLOUT_UNKNOWN);
	ck_assert_str_eq(fake_stop(f), ""); /* no QUIT to a server that does not talk */
	free(f);
}
END_TEST

START_TEST(total_deadline)
{
	struct fake *f = fake_start(FAKE_SILENT);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("", 5000);
	const char *rcpts[] = {"bob@example.com"};
	struct callout_result res[1];
	long long t0 = rg_mono_ms(), dt;

	pa.total_timeout_ms = 200;
	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 1, res, NULL, 0), CALLOUT_ESESSION);
	dt = rg_mono_ms() - t0;
	ck_assert_int_lt(dt, 400);
	fake_stop(f);
	free(f);
}
END_TEST

START_TEST(silent_at_rcpt)
{
	struct fake *f = fake_start(FAKE_SILENT_RCPT);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("", 250);
	const char *rcpts[] = {"bob@example.com", "carol@example.com"};
	struct callout_result res[2];

	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 2, res, NULL, 0), CALLOUT_DONE);
	ck_assert_int_eq(res[0].verdict, CALLOUT_UNKNOWN);
	ck_assert_str_eq(res[0].reply, "RCPT TO: timeout while reading reply");
	ck_assert_int_eq(res[1].verdict, CALLOUT_UNKNOWN);
	/* Nothing more is sent once a command timed out. */
	ck_assert_str_eq(fake_stop(f), "EHLO relay.test\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.com>\r\n");
	free(f);
}
END_TEST

START_TEST(close_mid_session)
{
	struct fake *f = fake_start(FAKE_CLOSE_AFTER_MAIL);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("", 2000);
	const char *rcpts[] = {"bob@example.com", "unknown@example.com"};
	struct callout_result res[2];

	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 2, res, NULL, 0), CALLOUT_DONE);
	ck_assert_int_eq(res[0].verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(res[1].verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(res[0].code, 0);
	ck_assert_int_eq(strncmp(res[0].reply, "RCPT TO: ", 9), 0);
	fake_stop(f);
	free(f);
}
END_TEST

START_TEST(mail_451_and_421_and_garbage)
{
	const char *rcpts[] = {"bob@example.com", "unknown@example.com", "carol@example.com"};
	struct callout_params pa = params("", 2000);
	struct callout_result res[3];
	struct callout_target t;
	struct fake *f;
	char err[256];

	f = fake_start(FAKE_MAIL451);
	t = target("127.0.0.1", f->port);
	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 3, res, err, sizeof(err)), CALLOUT_ESESSION);
	ck_assert_str_eq(err, "MAIL FROM: 451 4.3.0 not now");
	ck_assert_int_eq(res[1].verdict, CALLOUT_UNKNOWN);
	ck_assert_str_eq(fake_stop(f), "EHLO relay.test\r\nMAIL FROM:<>\r\nQUIT\r\n");
	free(f);

	f = fake_start(FAKE_421_RCPT2);
	t = target("127.0.0.1", f->port);
	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 3, res, NULL, 0), CALLOUT_DONE);
	ck_assert_int_eq(res[0].verdict, CALLOUT_VALID);
	ck_assert_int_eq(res[1].verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(res[1].code, 421);
	ck_assert_int_eq(res[2].verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(res[2].code, 0);
	fake_stop(f);
	free(f);

	f = fake_start(FAKE_GARBAGE_RCPT);
	t = target("127.0.0.1", f->port);
	ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 3, res, NULL, 0), CALLOUT_DONE);
	ck_assert_int_eq(res[0].verdict, CALLOUT_UNKNOWN);
	ck_assert_int_eq(strncmp(res[0].reply, "RCPT TO: protocol error", 23), 0);
	ck_assert_int_eq(res[2].verdict, CALLOUT_UNKNOWN);
	fake_stop(f);
	free(f);
}
END_TEST

START_TEST(hostile_addresses_never_sent)
{
	static const char *hostile[] = {
	    "bob@example.com>\r\nDATA",
	    "bob@example.com\nRSET",
	    "bob@example.com> SIZE=1",
	    "bob @example.com",
	    "<bob@example.com>",
	    "bob@exa\x01mple.com",
	    "b\xc3\xb6"
	    "b@example.com",
	    "",
	    "bob",
	};
	struct callout_params pa = params("", 2000);
	struct callout_result res[2];
	unsigned port;
	int lfd = listen_any(&port), fd;
	struct callout_target t = target("127.0.0.1", port);
	char err[256];

	fcntl(lfd, F_SETFL, O_NONBLOCK);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		const char *rcpts[] = {"good@example.com", hostile[i]};

		ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 2, res, err, sizeof(err)), CALLOUT_EREFUSED);
		ck_assert_int_eq(res[0].verdict, CALLOUT_UNKNOWN);
		ck_assert_int_eq(res[1].verdict, CALLOUT_UNKNOWN);
		/* The sender is checked the same way. */
		pa.sender = hostile[i][0] ? hostile[i] : "x@y>";
		ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 1, res, NULL, 0), CALLOUT_EREFUSED);
		pa.sender = "";
	}
	pa.helo_name = "relay.test\r\nMAIL FROM:<>";
	{
		const char *rcpts[] = {"good@example.com"};

		ck_assert_int_eq(callout_run(&t, 1, &pa, rcpts, 1, res, NULL, 0), CALLOUT_EREFUSED);
	}
	/* Not even a connection was made. */
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_eq(fd, -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	close(lfd);
}
END_TEST

START_TEST(hostile_mixed_batch_bytes)
{
	/* A server that did get a connection sees only the safe commands. */
	struct fake *f = fake_start(FAKE_NORMAL);
	struct callout_target t = target("127.0.0.1", f->port);
	struct callout_params pa = params("", 2000);
	const char *bad[] = {"good@example.com", "evil@example.com>\r\nDATA\r\n"};
	const char *good[] = {"good@example.com"};
	struct callout_result res[2];
	const char *got;

	ck_assert_int_eq(callout_run(&t, 1, &pa, bad, 2, res, NULL, 0), CALLOUT_EREFUSED);
	ck_assert_int_eq(callout_run(&t, 1, &pa, good, 1, res, NULL, 0), CALLOUT_DONE);
	got = fake_stop(f);
	ck_assert_str_eq(got,
			 "EHLO relay.test\r\nMAIL FROM:<>\r\nRCPT TO:<good@example.com>\r\nRSET\r\nQUIT\r\n");
	ck_assert_ptr_null(strstr(got, "evil"));
	ck_assert_ptr_null(strstr(got, "DATA"));
	free(f);
}
END_TEST

START_TEST(addr_ok)
{
	char local64[80], long254[300];

	ck_assert(callout_addr_ok("a@b.c"));
	ck_assert(callout_addr_ok("first.last+tag@sub.example.com"));
	ck_assert(callout_addr_ok("x@[192.0.2.1]"));
	ck_assert(callout_addr_ok("x@[IPv6:2001:db8::1]"));
	memset(local64, 'l', 64);
	strcpy(local64 + 64, "@example.com");
	ck_assert(callout_addr_ok(local64));
	memset(local64, 'l', 65);
	strcpy(local64 + 65, "@example.com");
	ck_assert(!callout_addr_ok(local64));
	/* 254 in all is fine, 255 is not. */
	memset(long254, 'd', sizeof(long254));
	memcpy(long254, "a@", 2);
	for (int i = 10; i < 254; i += 10)
		long254[i] = '.';
	long254[254] = 0;
	ck_assert(callout_addr_ok(long254));
	long254[254] = 'd';
	long254[255] = 0;
	ck_assert(!callout_addr_ok(long254));
	ck_assert(!callout_addr_ok(NULL));
	ck_assert(!callout_addr_ok(""));
	ck_assert(!callout_addr_ok("postmaster"));
	ck_assert(!callout_addr_ok("@example.com"));
	ck_assert(!callout_addr_ok("bob@"));
	ck_assert(!callout_addr_ok("a@b@c"));
	ck_assert(!callout_addr_ok("a\"@\"b@c"));
	ck_assert(!callout_addr_ok("a@b c"));
	ck_assert(!callout_addr_ok("a@b\r"));
	ck_assert(!callout_addr_ok("a@b\t"));
	ck_assert(!callout_addr_ok("a@exa{mple}.com"));
	ck_assert(!callout_addr_ok("a@[192.0.2.1"));
	ck_assert(!callout_addr_ok("a\x7f@b"));
}
END_TEST

START_TEST(nexthop)
{
	struct callout_nexthop nh;
	char err[128];

	ck_assert_int_eq(callout_nexthop_parse("[mail.example.com]:25", 25, &nh, err, sizeof(err)), 0);
	ck_assert_str_eq(nh.host, "mail.example.com");
	ck_assert_uint_eq(nh.port, 25);
	ck_assert_int_eq(nh.mx, 0);
	ck_assert_int_eq(nh.literal, 0);
	ck_assert_int_eq(callout_nexthop_parse("mail.example.com", 25, &nh, err, sizeof(err)), 0);
	ck_assert_str_eq(nh.host, "mail.example.com");
	ck_assert_int_eq(nh.mx, 1);
	ck_assert_int_eq(callout_nexthop_parse("example.com.:587", 25, &nh, err, sizeof(err)), 0);
	ck_assert_str_eq(nh.host, "example.com");
	ck_assert_uint_eq(nh.port, 587);
	ck_assert_int_eq(nh.mx, 1);
	ck_assert_int_eq(callout_nexthop_parse("[192.0.2.1]:2525", 25, &nh, err, sizeof(err)), 0);
	ck_assert_str_eq(nh.host, "192.0.2.1");
	ck_assert_uint_eq(nh.port, 2525);
	ck_assert_int_eq(nh.mx, 0);
	ck_assert_int_eq(nh.literal, 1);
	ck_assert_int_eq(callout_nexthop_parse("[2001:db8::1]:25", 2525, &nh, err, sizeof(err)), 0);
	ck_assert_str_eq(nh.host, "2001:db8::1");
	ck_assert_uint_eq(nh.port, 25);
	ck_assert_int_eq(nh.literal, 1);
	ck_assert_int_eq(callout_nexthop_parse("[ipv6:2001:db8::1]", 26, &nh, err, sizeof(err)), 0);
	ck_assert_str_eq(nh.host, "2001:db8::1");
	ck_assert_uint_eq(nh.port, 26);
	ck_assert_int_eq(callout_nexthop_parse("192.0.2.7", 25, &nh, err, sizeof(err)), 0);
	ck_assert_int_eq(nh.mx, 0);
	ck_assert_int_eq(nh.literal, 1);

	static const char *bad[] = {
	    "",
	    "[",
	    "[]",
	    "[mail.example.com",
	    "[mail.example.com]x",
	    "[mail.example.com]:",
	    "mail:0",
	    "mail:65536",
	    "mail:25x",
	    "2001:db8::1",
	    "mail example.com",
	    "[mail>.com]",
	    "mail.com:123456",
	    ".example.com",
	    "[::1]:-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ck_assert_msg(callout_nexthop_parse(bad[i], 25, &nh, err, sizeof(err)) == -1, "accepted: %s",
			      bad[i]);
		ck_assert_str_ne(err, "");
	}
}
END_TEST

static size_t
mx_list(struct callout_target *t, const char *spec)
{
	/* "name:pref name:pref ..." */
	char buf[512], *save = NULL, *w;
	size_t n = 0;

	rg_strlcpy(buf, spec, sizeof(buf));
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *c = strrchr(w, ':');

		*c = 0;
		t[n] = target(w, 25);
		t[n++].pref = atoi(c + 1);
	}
	return n;
}

START_TEST(mx_filter)
{
	struct callout_target t[8];
	const char *own[] = {"relay2.provider.net", "RELAY1.Provider.NET."};
	size_t n;

	/* A fallback MX calls only better hosts: never itself, never an equal or worse one. */
	n = mx_list(t, "mx1.example.com:10 mx2.example.com:20 relay1.provider.net.:20 backup.example.com:30");
	n = callout_mx_filter(t, n, own, 2);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(t[0].host, "mx1.example.com");
	/* The best own preference counts. */
	n = mx_list(t, "mx1.example.com:5 relay2.provider.net:30 mx2.example.com:8 relay1.provider.net:10");
	n = callout_mx_filter(t, n, own, 2);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(t[0].host, "mx1.example.com");
	ck_assert_str_eq(t[1].host, "mx2.example.com");
	/* We are not in the list: all stay. */
	n = mx_list(t, "mx1.example.com:10 mx2.example.com:20");
	ck_assert_uint_eq(callout_mx_filter(t, n, own, 2), 2);
	ck_assert_uint_eq(callout_mx_filter(t, n, NULL, 0), 2);
	/* We are the primary: nobody to ask. */
	n = mx_list(t, "relay1.provider.net:0 mx1.example.com:10");
	ck_assert_uint_eq(callout_mx_filter(t, n, own, 2), 0);
	/* A name that merely contains ours is not ours. */
	n = mx_list(t, "xrelay1.provider.net:10 relay1.provider.net.evil:10");
	ck_assert_uint_eq(callout_mx_filter(t, n, own, 2), 2);
}
END_TEST

/* Build a DNS answer: question example.com MX, then rrs (type, name or NULL = root, pref). */
struct rr {
	int type;
	const char *name;
	int pref;
};

static size_t
put_name(unsigned char *p, const char *name)
{
	size_t o = 0;

	while (name && *name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[o++] = (unsigned char)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

static int
dns_answer(unsigned char *p, const struct rr *rrs, int n)
{
	size_t o = 12, rdl;
	unsigned char hdr[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, (unsigned char)n, 0, 0, 0, 0};

	memcpy(p, hdr, 12);
	o += put_name(p + o, "example.com");
	memcpy(p + o, "\0\x0f\0\x01", 4);
	o += 4;
	for (int i = 0; i < n; i++) {
		p[o++] = 0xc0, p[o++] = 12; /* owner: the question's name */
		p[o++] = 0, p[o++] = (unsigned char)rrs[i].type;
		p[o++] = 0, p[o++] = 1;
		memcpy(p + o, "\0\0\x0e\x10", 4);
		o += 4;
		if (rrs[i].type == 15) {
			rdl = 2 + put_name(p + o + 4, rrs[i].name);
			p[o + 2] = (unsigned char)(rrs[i].pref >> 8);
			p[o + 3] = (unsigned char)rrs[i].pref;
		} else {
			rdl = put_name(p + o + 2, rrs[i].name);
		}
		p[o] = 0, p[o + 1] = (unsigned char)rdl;
		o += 2 + rdl;
	}
	return (int)o;
}

START_TEST(mx_parse)
{
	unsigned char pkt[1024];
	struct callout_target t[4];
	int len, nullmx;
	const struct rr rrs[] = {
	    {5, "alias.example.com", 0}, /* a CNAME: skipped */
	    {15, "mx2.example.com", 20}, {15, "mx1.example.com", 10},
	    {15, "mx3.example.com", 20}, {15, "bad name.example.com", 1}, /* not a host name: skipped */
	    {15, "mx0.example.com", 30},
	};
	const struct rr null[] = {{15, NULL, 0}};

	len = dns_answer(pkt, rrs, 6);
	ck_assert_int_eq(callout_mx_parse(pkt, len, 2525, t, 4, &nullmx), 4);
	ck_assert_int_eq(nullmx, 0);
	ck_assert_str_eq(t[0].host, "mx1.example.com");
	ck_assert_int_eq(t[0].pref, 10);
	ck_assert_uint_eq(t[0].port, 2525);
	ck_assert_str_eq(t[1].host, "mx2.example.com"); /* equal preferences keep answer order */
	ck_assert_str_eq(t[2].host, "mx3.example.com");
	ck_assert_str_eq(t[3].host, "mx0.example.com");
	/* Room for two: the two best. */
	ck_assert_int_eq(callout_mx_parse(pkt, len, 25, t, 2, &nullmx), 2);
	ck_assert_str_eq(t[0].host, "mx1.example.com");
	ck_assert_str_eq(t[1].host, "mx2.example.com");
	/* Null MX. */
	len = dns_answer(pkt, null, 1);
	ck_assert_int_eq(callout_mx_parse(pkt, len, 25, t, 4, &nullmx), 0);
	ck_assert_int_eq(nullmx, 1);
	/* Truncated or garbage answers never crash. */
	len = dns_answer(pkt, rrs, 6);
	for (int cut = 0; cut < len; cut++)
		ck_assert_int_le(callout_mx_parse(pkt, cut, 25, t, 4, &nullmx), 4);
	ck_assert_int_eq(callout_mx_parse(pkt, 30, 25, t, 4, &nullmx), -1);
	ck_assert_int_eq(callout_mx_parse(NULL, 0, 25, t, 4, &nullmx), -1);
}
END_TEST

START_TEST(resolve_bracketed)
{
	struct callout_nexthop nh;
	struct callout_target t[2];
	char err[128];

	/* Brackets: no DNS at all. */
	ck_assert_int_eq(callout_nexthop_parse("[192.0.2.1]:2525", 25, &nh, err, sizeof(err)), 0);
	ck_assert_int_eq(callout_resolve(&nh, NULL, 0, t, 2, err, sizeof(err)), 1);
	ck_assert_str_eq(t[0].host, "192.0.2.1");
	ck_assert_uint_eq(t[0].port, 2525);
}
END_TEST

/* Only mailbox answers make a recipient invalid; other 5xx are unknown. */
START_TEST(test_rcpt_verdict)
{
	ck_assert_int_eq(callout_rcpt_verdict(250, "2.1.5"), CALLOUT_VALID);
	ck_assert_int_eq(callout_rcpt_verdict(251, ""), CALLOUT_VALID);
	ck_assert_int_eq(callout_rcpt_verdict(550, "5.1.1"), CALLOUT_INVALID);
	ck_assert_int_eq(callout_rcpt_verdict(550, ""), CALLOUT_INVALID);
	ck_assert_int_eq(callout_rcpt_verdict(553, "5.1.3"), CALLOUT_INVALID);
	ck_assert_int_eq(callout_rcpt_verdict(551, "5.1.6"), CALLOUT_INVALID);
	ck_assert_int_eq(callout_rcpt_verdict(554, "5.7.1"), CALLOUT_UNKNOWN); /* relay blocked */
	ck_assert_int_eq(callout_rcpt_verdict(550, "5.7.1"), CALLOUT_UNKNOWN); /* sender rejected */
	ck_assert_int_eq(callout_rcpt_verdict(552, "5.2.2"), CALLOUT_UNKNOWN); /* mailbox full */
	ck_assert_int_eq(callout_rcpt_verdict(554, ""), CALLOUT_UNKNOWN);
	ck_assert_int_eq(callout_rcpt_verdict(450, "4.1.1"), CALLOUT_UNKNOWN);
	ck_assert_int_eq(callout_rcpt_verdict(421, ""), CALLOUT_UNKNOWN);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("callout");
	TCase *tc = tcase_create("session");
	TCase *tp = tcase_create("pure");

	tcase_add_test(tp, test_rcpt_verdict);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, valid_invalid_tempfail_one_session);
	tcase_add_test(tc, stepwise_session);
	tcase_add_test(tc, stepwise_broken);
	tcase_add_test(tc, null_sender_and_helo_fallback);
	tcase_add_test(tc, greeting_554_is_unknown);
	tcase_add_test(tc, refused_then_next_host);
	tcase_add_test(tc, refused_everywhere);
	tcase_add_test(tc, silent_server_deadline);
	tcase_add_test(tc, total_deadline);
	tcase_add_test(tc, silent_at_rcpt);
	tcase_add_test(tc, close_mid_session);
	tcase_add_test(tc, mail_451_and_421_and_garbage);
	tcase_add_test(tc, hostile_addresses_never_sent);
	tcase_add_test(tc, hostile_mixed_batch_bytes);
	suite_add_tcase(s, tc);
	tcase_add_test(tp, addr_ok);
	tcase_add_test(tp, nexthop);
	tcase_add_test(tp, mx_filter);
	tcase_add_test(tp, mx_parse);
	tcase_add_test(tp, resolve_bracketed);
	suite_add_tcase(s, tp);
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
