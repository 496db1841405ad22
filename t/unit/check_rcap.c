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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "msg.h"
#include "rcap.h"
#include "redis.h"
#include "redis_pool.h"
#include "rgtest_fakeredis.h"
#include "rgtest_redis.h"

static struct rgtest_redis srv;
static struct rgtest_fake fake = {.report = -1};
static char logpath[128];

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
	rgtest_fake_stop(&fake);
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
	snprintf(server, len, "127.0.0.1:%d", fake.port);
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
pool_case(enum rgtest_fake_mode mode, const char *want)
{
	struct rg_params g;
	char server[64], err[256];
	struct rg_redis_pool *pool;
	redisReply *rep = NULL;
	long sent;

	ck_assert(rgtest_fake_start(&fake, mode, srv.sock) == 0);
	params(&g, server, sizeof(server));
	pool = rg_redis_pool_new(&g);
	ck_assert(pool != NULL);
	rep = rg_redis_pool_command(pool, 1, (const char *[]){"PING"}, NULL, err, sizeof(err));
	ck_assert_msg(rep == NULL, "a hostile reply was taken");
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\", not \"%s\"", err, want);
	ck_assert(!rg_redis_pool_up(pool));
	sent = rgtest_fake_sent(&fake);
	if (mode == RGTEST_FAKE_BULK || mode == RGTEST_FAKE_ARRAY)
		/* It stopped reading at its limit (plus what sockets hold), not at the fake's end. */
		ck_assert_msg(sent >= 0 && sent < 3 * (long)RCAP_STRING_MAX, "the client read %ld bytes",
			      sent);
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
	pool_case(RGTEST_FAKE_BULK, "a bulk string over");
}
END_TEST

START_TEST(pool_array)
{
	pool_case(RGTEST_FAKE_ARRAY, "size limits");
}
END_TEST

START_TEST(pool_total)
{
	pool_case(RGTEST_FAKE_TOTAL, "size limits");
}
END_TEST

/* rcap_command (the tools' formatted commands): refused as well, fine on a real server. */
START_TEST(formatted)
{
	redisContext *c;
	redisReply *rep;

	ck_assert(rgtest_fake_start(&fake, RGTEST_FAKE_BULK, srv.sock) == 0);
	c = redisConnect("127.0.0.1", fake.port);
	ck_assert(c != NULL && !c->err);
	rcap_install(c);
	ck_assert(rcap_command(c, "PING") == NULL);
	ck_assert_msg(strstr(rcap_errstr(c), "a bulk string over") != NULL, "%s", rcap_errstr(c));
	ck_assert_int_lt(rgtest_fake_sent(&fake), 3 * (long)RCAP_STRING_MAX);
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
async_case(enum rgtest_fake_mode mode, const char *want)
{
	static const char body[] = "return 7";
	struct async_wait w = {0};
	struct rg_params g;
	char server[64];
	struct rg_redis *r;
	struct rg_script *s;
	long sent;

	ck_assert(rgtest_fake_start(&fake, mode, srv.sock) == 0);
	params(&g, server, sizeof(server));
	w.base = event_base_new();
	r = rg_redis_new(w.base, &g);
	ck_assert(r != NULL && (s = rg_redis_script_new(r, "seven", body)) != NULL);
	async_call(r, s, &w);
	ck_assert_msg(w.integer == -1, "a hostile reply was taken");
	sent = rgtest_fake_sent(&fake);
	if (mode != RGTEST_FAKE_TOTAL)
		ck_assert_msg(sent >= 0 && sent < 3 * (long)RCAP_STRING_MAX, "the client read %ld bytes",
			      sent);
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
	async_case(RGTEST_FAKE_BULK, "a bulk string over");
}
END_TEST

START_TEST(async_array)
{
	async_case(RGTEST_FAKE_ARRAY, "size limits");
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
