/*
 * check_rcap - the caps on Redis reply sizes (src/rcap.c): hiredis's reader
 * with and without them, then both daemons' clients (the milter's pool and
 * policyd's asynchronous client) against a fake server on 127.0.0.1 that
 * answers a huge bulk-string or array header and streams data after it:
 * the call fails with an error that names the limit, the client stops
 * reading long before the server stops sending (bounded memory), the
 * outage is logged once, and the client recovers by itself once the same
 * address leads to a real redis-server (the fake then relays to one).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "msg.h"
#include "rcap.h"
#include "redis.h"
#include "redis_pool.h"
#include "rgtest_redis.h"

#define FAKE_SEND_MAX (256UL * 1024 * 1024) /* what the fake would send at most */

enum fake_mode { FAKE_BULK, FAKE_ARRAY, FAKE_TOTAL };

static struct rgtest_redis srv;
static pid_t fake_pid;
static int fake_port, fake_report = -1; /* pipe: bytes sent on the hostile connection */
static char logpath[128];

/* Write all of buf, or -1 (the client went away, or 5s without progress). */
static int
fake_write(int fd, const char *buf, size_t len, unsigned long *sent)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		*sent += (unsigned long)n;
	}
	return 0;
}

/* The hostile answer to whatever the client sent first. */
static unsigned long
fake_hostile(int fd, enum fake_mode mode)
{
	static char chunk[64 * 1024];
	unsigned long sent = 0;
	char req[4096];

	if (read(fd, req, sizeof(req)) <= 0)
		return 0;
	if (mode == FAKE_BULK) {
		memset(chunk, 'x', sizeof(chunk));
		if (fake_write(fd, "$2000000000\r\n", 13, &sent) < 0)
			return sent;
	} else if (mode == FAKE_ARRAY) {
		for (size_t i = 0; i + 4 <= sizeof(chunk); i += 4)
			memcpy(chunk + i, ":1\r\n", 4);
		if (fake_write(fd, "*2000000000\r\n", 13, &sent) < 0)
			return sent;
	} else {
		/* 2000 strings of 64KB - 10: each "$65526\r\n...\r\n" is one chunk, 128MB in all */
		memcpy(chunk, "$65526\r\n", 8);
		memset(chunk + 8, 'y', sizeof(chunk) - 10);
		memcpy(chunk + sizeof(chunk) - 2, "\r\n", 2);
		if (fake_write(fd, "*2000\r\n", 7, &sent) < 0)
			return sent;
		for (int i = 0; i < 2000; i++)
			if (fake_write(fd, chunk, sizeof(chunk), &sent) < 0)
				return sent;
		return sent;
	}
	while (sent < FAKE_SEND_MAX && fake_write(fd, chunk, sizeof(chunk), &sent) == 0)
		;
	return sent;
}

/* Relay one client connection to the real redis-server until either side closes. */
static void
fake_relay(int fd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int rfd = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[16384];

	if (strlen(srv.sock) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, srv.sock, strlen(srv.sock) + 1);
	if (rfd < 0 || connect(rfd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (rfd >= 0)
			close(rfd);
		return;
	}
	for (;;) {
		struct pollfd pf[2] = {{fd, POLLIN, 0}, {rfd, POLLIN, 0}};
		unsigned long dummy = 0;

		if (poll(pf, 2, 10000) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if ((n = read(pf[i].fd, buf, sizeof(buf))) <= 0 ||
			    fake_write(i ? fd : rfd, buf, (size_t)n, &dummy) < 0) {
				close(rfd);
				return;
			}
		}
	}
	close(rfd);
}

/* A child on 127.0.0.1:fake_port: the first connection is answered in mode, the next ones are relayed. */
static void
fake_start(enum fake_mode mode)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sin);
	int ls = socket(AF_INET, SOCK_STREAM, 0), p[2];

	ck_assert(ls >= 0 && pipe(p) == 0);
	ck_assert(bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(ls, 8) == 0);
	ck_assert(getsockname(ls, (struct sockaddr *)&sin, &sl) == 0);
	fake_port = ntohs(sin.sin_port);
	fflush(NULL);
	ck_assert((fake_pid = fork()) >= 0);
	if (fake_pid == 0) {
		struct timeval tv = {5, 0};

		signal(SIGPIPE, SIG_IGN);
		signal(SIGTERM, SIG_DFL); /* not Check's handler, which signals the whole group */
		close(p[0]);
		for (int n = 0; n < 20; n++) {
			int fd = accept(ls, NULL, NULL);
			unsigned long sent;

			if (fd < 0)
				_exit(1);
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			if (n == 0) {
				sent = fake_hostile(fd, mode);
				if (write(p[1], &sent, sizeof(sent)) != sizeof(sent))
					_exit(1);
				/* Until the client hangs up: it must, having refused the reply. */
				while (read(fd, &sent, sizeof(sent)) > 0)
					;
			} else {
				fake_relay(fd);
			}
			close(fd);
		}
		_exit(0);
	}
	close(ls);
	close(p[1]);
	fake_report = p[0];
}

/* What the fake sent on the hostile connection (waits for it to finish there). */
static unsigned long
fake_sent(void)
{
	unsigned long sent = 0;

	ck_assert(read(fake_report, &sent, sizeof(sent)) == sizeof(sent));
	return sent;
}

static void
setup(void)
{
	ck_assert_msg(rgtest_redis_start(&srv) == 0, "cannot start redis-server");
	snprintf(logpath, sizeof(logpath), "%.64s/log", srv.dir);
	ck_assert(freopen(logpath, "w", stderr) != NULL);
	setvbuf(stderr, NULL, _IONBF, 0);
	msg_init("check_rcap", 1, "mail");
}

static void
teardown(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
		fake_pid = 0;
	}
	if (fake_report >= 0)
		close(fake_report);
	fake_report = -1;
	unlink(logpath);
	rgtest_redis_stop(&srv);
}

/* Lines of the log that contain s. */
static int
log_count(const char *s)
{
	FILE *f = fopen(logpath, "r");
	char line[2048];
	int n = 0;

	ck_assert(f != NULL);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}

static void
params(struct rg_params *g, char *server, size_t len)
{
	memset(g, 0, sizeof(*g));
	snprintf(server, len, "127.0.0.1:%d", fake_port);
	g->redis_server = server;
	g->redis_password = "";
	g->redis_connect_timeout = 2000;
	g->redis_timeout = 3000;
	g->redis_reconnect_max_backoff = 200;
}

/* A reader over input: its error (or "" with the reply in *rep). */
static const char *
reader_parse(int capped, const char *input, size_t len, redisReply **rep)
{
	static char err[200];
	redisReader *r = redisReaderCreate();
	void *out = NULL;

	ck_assert(r != NULL);
	if (capped)
		rcap_install_reader(r);
	err[0] = 0;
	*rep = NULL;
	/* fed in pieces, the way reads come */
	for (size_t off = 0; off < len; off += 16384) {
		size_t n = len - off < 16384 ? len - off : 16384;

		ck_assert(redisReaderFeed(r, input + off, n) == REDIS_OK);
	}
	if (redisReaderGetReply(r, &out) != REDIS_OK)
		snprintf(err, sizeof(err), "%s", r->errstr);
	*rep = out;
	redisReaderFree(r);
	return err;
}

START_TEST(reader_limits)
{
	redisReply *rep;
	static const char small[] = "*4\r\n:1\r\n$3\r\nabc\r\n$-1\r\n*1\r\n+OK\r\n";
	size_t big = RCAP_STRING_MAX + 1, n;
	char *in = malloc(big + 32);

	/* Small replies of every type pass, nested and all. */
	ck_assert_str_eq(reader_parse(1, small, strlen(small), &rep), "");
	ck_assert(rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 4);
	ck_assert_str_eq(rep->element[1]->str, "abc");
	ck_assert_str_eq(rep->element[3]->element[0]->str, "OK");
	freeReplyObject(rep);
	/* An array header over the limit is refused before anything is allocated for it. */
	ck_assert_str_ne(reader_parse(1, "*2000000000\r\n", 13, &rep), "");
	ck_assert(rep == NULL);
	ck_assert_str_ne(reader_parse(1, "*1048577\r\n", 10, &rep), "");
	ck_assert_str_eq(reader_parse(1, "*1048576\r\n", 10, &rep), ""); /* the limit itself: incomplete */
	ck_assert(rep == NULL);
	/* A bulk string one byte over the limit: hiredis alone takes it, rcap does not. */
	ck_assert(in != NULL);
	n = (size_t)snprintf(in, 32, "$%zu\r\n", big);
	memset(in + n, 'z', big);
	memcpy(in + n + big, "\r\n", 2);
	ck_assert_str_eq(reader_parse(0, in, n + big + 2, &rep), "");
	ck_assert(rep != NULL && rep->len == big);
	freeReplyObject(rep);
	ck_assert_str_ne(reader_parse(1, in, n + big + 2, &rep), "");
	ck_assert(rep == NULL);
	free(in);
}
END_TEST

START_TEST(reader_total)
{
	/* 2000 strings of 40000 bytes: each allowed, 80MB in all is not. */
	size_t one = 40000, n = 2000, len = 0;
	char *in = malloc(16 + n * (one + 16));
	redisReply *rep;

	ck_assert(in != NULL);
	len += (size_t)sprintf(in, "*%zu\r\n", n);
	for (size_t i = 0; i < n; i++) {
		len += (size_t)sprintf(in + len, "$%zu\r\n", one);
		memset(in + len, 'w', one);
		len += one;
		memcpy(in + len, "\r\n", 2);
		len += 2;
	}
	ck_assert_str_eq(reader_parse(0, in, len, &rep), "");
	ck_assert(rep != NULL && rep->elements == n);
	freeReplyObject(rep);
	ck_assert_str_ne(reader_parse(1, in, len, &rep), "");
	ck_assert(rep == NULL);
	/* Half of it passes, and the root carries its tally. */
	len = (size_t)sprintf(in, "*%zu\r\n", n / 2);
	for (size_t i = 0; i < n / 2; i++) {
		len += (size_t)sprintf(in + len, "$%zu\r\n", one);
		memset(in + len, 'w', one);
		len += one;
		memcpy(in + len, "\r\n", 2);
		len += 2;
	}
	ck_assert_str_eq(reader_parse(1, in, len, &rep), "");
	ck_assert(rep != NULL && rep->elements == n / 2);
	ck_assert_uint_ge((unsigned long long)rep->integer, (unsigned long long)(one * n / 2));
	freeReplyObject(rep);
	free(in);
}
END_TEST

/* The milter's pool: one hostile reply, then the same address relays to redis-server. */
static void
pool_case(enum fake_mode mode, const char *want)
{
	struct rg_params g;
	char server[64], err[256];
	struct rg_redis_pool *pool;
	redisReply *rep = NULL;
	unsigned long sent;

	fake_start(mode);
	params(&g, server, sizeof(server));
	pool = rg_redis_pool_new(&g);
	ck_assert(pool != NULL);
	rep = rg_redis_pool_command(pool, 1, (const char *[]){"PING"}, NULL, err, sizeof(err));
	ck_assert_msg(rep == NULL, "a hostile reply was taken");
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\", not \"%s\"", err, want);
	ck_assert(!rg_redis_pool_up(pool));
	sent = fake_sent();
	if (mode == FAKE_BULK || mode == FAKE_ARRAY)
		/* It stopped reading at its limit (plus what sockets hold), not at the fake's end. */
		ck_assert_msg(sent < 3 * RCAP_STRING_MAX, "the client read %lu bytes", sent);
	ck_assert_int_eq(log_count("unavailable"), 1);
	ck_assert_int_eq(log_count(want), 1);
	/* It comes back by itself: the next connection reaches redis-server. */
	for (int i = 0; i < 100 && rep == NULL; i++) {
		rgtest_redis_sleep_ms(50);
		rep = rg_redis_pool_command(pool, 1, (const char *[]){"PING"}, NULL, err, sizeof(err));
	}
	ck_assert_msg(rep != NULL, "no recovery: %s", err);
	ck_assert(rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0);
	freeReplyObject(rep);
	ck_assert(rg_redis_pool_up(pool));
	ck_assert_int_eq(log_count("is back after"), 1);
	ck_assert_int_eq(log_count("unavailable"), 1);
	rg_redis_pool_free(pool);
}

START_TEST(pool_bulk)
{
	pool_case(FAKE_BULK, "a bulk string over");
}
END_TEST

START_TEST(pool_array)
{
	pool_case(FAKE_ARRAY, "size limits");
}
END_TEST

START_TEST(pool_total)
{
	pool_case(FAKE_TOTAL, "size limits");
}
END_TEST

/* rcap_command (the tools' formatted commands): refused as well, fine on a real server. */
START_TEST(formatted)
{
	redisContext *c;
	redisReply *rep;

	fake_start(FAKE_BULK);
	c = redisConnect("127.0.0.1", fake_port);
	ck_assert(c != NULL && !c->err);
	rcap_install(c);
	ck_assert(rcap_command(c, "PING") == NULL);
	ck_assert_msg(strstr(rcap_errstr(c), "a bulk string over") != NULL, "%s", rcap_errstr(c));
	ck_assert_uint_lt(fake_sent(), 3 * RCAP_STRING_MAX);
	redisFree(c);
	c = rgtest_redis_connect(&srv);
	ck_assert(c != NULL);
	rcap_install(c);
	rep = rcap_command(c, "SET %s %b", "k", "v\0w", (size_t)3);
	ck_assert(rep != NULL && rep->type == REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	rep = rcap_command(c, "GET %s", "k");
	ck_assert(rep != NULL && rep->type == REDIS_REPLY_STRING && rep->len == 3 &&
		  memcmp(rep->str, "v\0w", 3) == 0);
	freeReplyObject(rep);
	redisFree(c);
}
END_TEST

struct async_wait {
	struct event_base *base;
	int done;
	long long integer;
	char err[256];
};

static void
async_cb(const redisReply *reply, const char *err, void *arg)
{
	struct async_wait *w = arg;

	w->done = 1;
	w->integer = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
	snprintf(w->err, sizeof(w->err), "%s", reply ? "" : err ? err : "?");
	event_base_loopbreak(w->base);
}

/* Run one script call to its callback (at most 10s). */
static void
async_call(struct rg_redis *r, struct rg_script *s, struct async_wait *w)
{
	struct timeval tv = {10, 0};

	w->done = 0;
	rg_redis_eval(r, s, 0, 0, NULL, NULL, async_cb, w);
	event_base_loopexit(w->base, &tv);
	while (!w->done && event_base_dispatch(w->base) == 0 && !event_base_got_exit(w->base))
		;
	ck_assert_msg(w->done, "no callback within 10s");
}

/* policyd's asynchronous client: the same, on libevent. */
static void
async_case(enum fake_mode mode, const char *want)
{
	static const char body[] = "return 7";
	struct async_wait w = {0};
	struct rg_params g;
	char server[64];
	struct rg_redis *r;
	struct rg_script *s;
	unsigned long sent;

	fake_start(mode);
	params(&g, server, sizeof(server));
	w.base = event_base_new();
	r = rg_redis_new(w.base, &g);
	ck_assert(r != NULL && (s = rg_redis_script_new(r, "seven", body)) != NULL);
	async_call(r, s, &w);
	ck_assert_msg(w.integer == -1, "a hostile reply was taken");
	sent = fake_sent();
	if (mode != FAKE_TOTAL)
		ck_assert_msg(sent < 3 * RCAP_STRING_MAX, "the client read %lu bytes", sent);
	ck_assert_int_eq(log_count("unavailable"), 1);
	ck_assert_msg(log_count(want) == 1, "no \"%s\" in the outage line", want);
	for (int i = 0; i < 50 && w.integer != 7; i++) {
		struct timeval tv = {0, 100000};

		event_base_loopexit(w.base, &tv);
		event_base_dispatch(w.base);
		async_call(r, s, &w);
	}
	ck_assert_msg(w.integer == 7, "no recovery: %s", w.err);
	ck_assert(rg_redis_up(r));
	ck_assert_int_eq(log_count("is back after"), 1);
	ck_assert_int_eq(log_count("unavailable"), 1);
	rg_redis_free(r);
	event_base_free(w.base);
}

START_TEST(async_bulk)
{
	async_case(FAKE_BULK, "a bulk string over");
}
END_TEST

START_TEST(async_array)
{
	async_case(FAKE_ARRAY, "size limits");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rcap");
	TCase *tc = tcase_create("reader");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reader_limits);
	tcase_add_test(tc, reader_total);
	suite_add_tcase(s, tc);
	tc = tcase_create("clients");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pool_bulk);
	tcase_add_test(tc, pool_array);
	tcase_add_test(tc, pool_total);
	tcase_add_test(tc, formatted);
	tcase_add_test(tc, async_bulk);
	tcase_add_test(tc, async_array);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
