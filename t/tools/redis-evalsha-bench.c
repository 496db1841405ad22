/*
 * redis-evalsha-bench - the Redis ceiling for relayguard-policyd: how many
 * EVALSHAs of relayguard's own Lua scripts (the text embedded in the
 * binaries, src/lua/NAME.lua) one Redis server executes per second, with keys
 * and arguments shaped as the daemon builds them and the same key mix as
 * t/tools/policy-load's workloads.
 *
 *   greylist  KEYS rg:g:{net}:<hash>, rg:a:{net}; -k percent of the calls
 *             use one of -K known triplets (warm them with -W, twice), the
 *             rest a new triplet from a random /24
 *   rate      KEYS rg:r:{client:192.0.2.N}:100000000/3600000, in pairs
 *             on one subject: "check" (RCPT), then "add" (END-OF-MESSAGE);
 *             subjects from 250 clients
 *   reserve   the same keys in pairs as relayguard counts a message now:
 *             "reserve" (RCPT) with the connection's transaction id, then
 *             "commit" (after the milter's verdict): the cost of exact
 *             limits (issue 10) is the rate of this against "rate"
 *
 * Load: -c connections, each with -d commands in flight (hiredis async on
 * libevent, as the daemon). Bounded by -n calls and -T seconds. Prints
 * "calls=N seconds=S rps=R errors=E" with -q.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "lua_scripts.h"
#include "util.h"

struct bench {
	struct event_base *base;
	char sha[48];
	int rate, reserve, known_pct, nknown, warm, live;
	long max, sent, done, errors;
	double deadline;
	unsigned long long rnd;
	long counter;
};

struct bconn {
	struct bench *B;
	redisAsyncContext *ac;
	int inflight, closing;
	long n;
	int id; /* connection number: the transaction ids' client port */
	unsigned subj; /* the subject of the pair in progress */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned
rnd(struct bench *B)
{
	B->rnd ^= B->rnd << 13;
	B->rnd ^= B->rnd >> 7;
	B->rnd ^= B->rnd << 17;
	return (unsigned)(B->rnd >> 11);
}

static void on_reply(redisAsyncContext *ac, void *r, void *arg);

/* Queue one EVALSHA on c, shaped as the daemon shapes it. */
static void
bconn_send(struct bconn *c)
{
	struct bench *B = c->B;
	char k1[160], k2[96], snd[128], rc[64], net[32];
	const char *argv[13];
	int argc;

	if (B->rate) {
		char txid[96], tag[24]; /* hiredis copies the arguments at once */
		int half = (int)(c->n & 1);

		if (half == 0)
			c->subj = 1 + (unsigned)(B->sent % B->nknown) % 250;
		snprintf(k1, sizeof(k1), "rg:r:{client:192.0.2.%u}:100000000/3600000", c->subj);
		argv[0] = "EVALSHA";
		argv[1] = B->sha;
		argv[2] = "1";
		argv[3] = k1;
		argv[4] = B->reserve ? (half ? "commit" : "reserve") : (half ? "add" : "check");
		argv[5] = "0";
		argv[6] = "1";
		argv[7] = "100000000";
		argv[8] = "3600000";
		argc = 9;
		if (B->reserve) {
			/* one message per pair, on connection c: its id and tag */
			snprintf(txid, sizeof(txid), "bench.invalid|127.0.0.1:25|192.0.2.%u:%d", c->subj,
				 1024 + c->id);
			snprintf(tag, sizeof(tag), "%lx", c->n / 2);
			argv[9] = txid;
			argv[10] = tag;
			argv[11] = "message";
			argv[12] = "600000";
			argc = 13;
		}
		c->n++;
	} else {
		unsigned long long h;

		if (B->warm || (int)(rnd(B) % 100) < B->known_pct) {
			unsigned k = B->warm ? (unsigned)(B->sent % B->nknown) : rnd(B) % (unsigned)B->nknown;

			snprintf(snd, sizeof(snd), "known%u@sender%u.example", k, k % 97);
			snprintf(rc, sizeof(rc), "user%u@customer.example", k % 500);
			snprintf(net, sizeof(net), "198.51.%u.0/24", (k / 250) % 250);
		} else {
			snprintf(snd, sizeof(snd), "new%ld.%u@sender%u.example", B->counter++, rnd(B),
				 rnd(B) % 997);
			snprintf(rc, sizeof(rc), "user%u@customer.example", rnd(B) % 500);
			snprintf(net, sizeof(net), "203.0.%u.0/24", rnd(B) % 250);
		}
		h = rg_hash64(snd, strlen(snd) + 1, RG_HASH64_SEED);
		h = rg_hash64(rc, strlen(rc), h);
		snprintf(k1, sizeof(k1), "rg:g:{%s}:%016llx", net, h);
		snprintf(k2, sizeof(k2), "rg:a:{%s}", net);
		argv[0] = "EVALSHA";
		argv[1] = B->sha;
		argv[2] = "2";
		argv[3] = k1;
		argv[4] = k2;
		argv[5] = "0";
		argv[6] = "0";
		argv[7] = "86400";
		argv[8] = "8208000";
		argv[9] = "5";
		argc = 10;
	}
	if (redisAsyncCommandArgv(c->ac, on_reply, c, argc, argv, NULL) == REDIS_OK) {
		c->inflight++;
		B->sent++;
	} else {
		B->errors++;
	}
}

static void
on_reply(redisAsyncContext *ac, void *r, void *arg)
{
	struct bconn *c = arg;
	struct bench *B = c->B;
	redisReply *reply = r;

	c->inflight--;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		if (B->errors++ == 0 && reply)
			fprintf(stderr, "redis-evalsha-bench: %s\n", reply->str);
	}
	B->done++;
	if (reply && !c->closing && B->sent < B->max && now_s() < B->deadline) {
		bconn_send(c);
		return;
	}
	if (c->inflight == 0 && !c->closing) {
		c->closing = 1;
		redisAsyncDisconnect(ac);
	}
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct bconn *c = ac->data;

	if (status != REDIS_OK)
		fprintf(stderr, "redis-evalsha-bench: %s\n", ac->errstr);
	c->ac = NULL;
	if (--c->B->live == 0)
		event_base_loopbreak(c->B->base);
}

/* SCRIPT LOAD the embedded text over a plain connection: its SHA1. */
static int
load_script(const char *host, int port, const char *text, char *sha, size_t len)
{
	struct timeval tv = {5, 0};
	redisContext *rc = redisConnectWithTimeout(host, port, tv);
	redisReply *r;
	int ok = 0;

	if (rc == NULL || rc->err) {
		fprintf(stderr, "redis-evalsha-bench: connect %s:%d: %s\n", host, port,
			rc ? rc->errstr : "out of memory");
		if (rc)
			redisFree(rc);
		return -1;
	}
	r = redisCommand(rc, "SCRIPT LOAD %s", text);
	if (r && r->type == REDIS_REPLY_STRING && r->len < len) {
		memcpy(sha, r->str, r->len + 1);
		ok = 1;
	}
	if (r)
		freeReplyObject(r);
	redisFree(rc);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct bench B = {0};
	struct bconn *cs;
	const char *host = "127.0.0.1";
	int port = 6379, ch, conns = 4, depth = 16, quiet = 0;
	double secs = 10, t0, el;

	B.max = 100000;
	B.known_pct = 80;
	B.nknown = 1000;
	B.rnd = 0x9e3779b97f4a7c15ULL;
	while ((ch = getopt(argc, argv, "h:p:c:d:n:T:w:k:K:WS:q")) != -1) {
		switch (ch) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'd':
			depth = atoi(optarg);
			break;
		case 'n':
			B.max = atol(optarg);
			break;
		case 'T':
			secs = atof(optarg);
			break;
		case 'w':
			B.reserve = strcmp(optarg, "reserve") == 0;
			B.rate = B.reserve || strcmp(optarg, "rate") == 0;
			break;
		case 'k':
			B.known_pct = atoi(optarg);
			break;
		case 'K':
			B.nknown = atoi(optarg);
			break;
		case 'W':
			B.warm = 1;
			break;
		case 'S':
			B.rnd ^= strtoull(optarg, NULL, 0) * 0xbf58476d1ce4e5b9ULL;
			B.counter = (long)(strtoul(optarg, NULL, 0) % 1000) * 100000000L;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			fprintf(stderr,
				"usage: redis-evalsha-bench [-h host] [-p port] [-c conns] [-d depth] "
				"[-n calls] [-T seconds] [-w greylist|rate|reserve] [-k known%%] [-K nknown] "
				"[-W] [-S seed] [-q]\n");
			return 2;
		}
	}
	if (conns < 1 || depth < 1 || B.max < 1 || B.nknown < 1 || B.rnd == 0)
		return 2;
	if (load_script(host, port, B.rate ? rg_lua_ratelimit : rg_lua_greylist, B.sha, sizeof(B.sha)) != 0)
		return 1;
	B.base = event_base_new();
	cs = calloc((size_t)conns, sizeof(*cs));
	B.deadline = now_s() + secs;
	t0 = now_s();
	for (int i = 0; i < conns; i++) {
		cs[i].B = &B;
		cs[i].id = i;
		cs[i].ac = redisAsyncConnect(host, port);
		if (cs[i].ac == NULL || cs[i].ac->err) {
			fprintf(stderr, "redis-evalsha-bench: connect failed\n");
			return 1;
		}
		cs[i].ac->data = &cs[i];
		redisLibeventAttach(cs[i].ac, B.base);
		redisAsyncSetDisconnectCallback(cs[i].ac, on_disconnect);
		B.live++;
		for (int d = 0; d < depth && B.sent < B.max; d++)
			bconn_send(&cs[i]);
		if (cs[i].inflight == 0) { /* nothing left to send: never wait on it */
			cs[i].closing = 1;
			redisAsyncDisconnect(cs[i].ac);
		}
	}
	event_base_dispatch(B.base);
	el = now_s() - t0;
	if (quiet)
		printf("calls=%ld seconds=%.3f rps=%.0f errors=%ld\n", B.done, el, B.done / el, B.errors);
	else
		printf("%ld EVALSHA calls on %d connections x %d in flight in %.3f s: %.0f/s, %ld errors\n",
		       B.done, conns, depth, el, B.done / el, B.errors);
	free(cs);
	event_base_free(B.base);
	return B.errors ? 1 : 0;
}
