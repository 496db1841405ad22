/*
 * mredis - see mredis.h.
 *
 * Locking: r->lock guards the idle stack, the outage state and the script
 * SHA table; it is never held across network I/O, so a slow Redis delays
 * only the threads that talk to it, each by at most its own timeouts.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "msg.h"
#include "util.h"
#include "mredis.h"
#include "rgm.h"
#include "redisaddr.h"

#define MREDIS_SCRIPTS_MAX 8
#define MREDIS_BACKOFF_MIN 100

struct mredis {
	pthread_mutex_t lock;
	char *server, *host, *path, *password;
	int port, db;
	long long connect_ms, timeout_ms, max_backoff_ms;
	redisContext *idle[MREDIS_POOL_MAX];
	int nidle;
	/* Outage: while down, calls fail at once until retry_at. */
	int down;
	long long down_since, retry_at, backoff_ms;
	unsigned long failed;
	struct {
		const char *body;
		char sha[41];
	} scripts[MREDIS_SCRIPTS_MAX];
};

/* Split redis_server (redisaddr.h); the configuration check has vetted it. */
static void
parse_server(struct mredis *r, const char *spec)
{
	rg_redis_addr_split(spec, &r->host, &r->path, &r->port);
}

struct mredis *
mredis_new(const struct rg_params *g)
{
	struct mredis *r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->lock, NULL);
	r->server = xstrdup(g->redis_server);
	parse_server(r, g->redis_server);
	r->password = *g->redis_password ? xstrdup(g->redis_password) : NULL;
	r->db = (int)g->redis_database;
	r->connect_ms = g->redis_connect_timeout;
	r->timeout_ms = g->redis_timeout;
	r->max_backoff_ms = g->redis_reconnect_max_backoff;
	r->backoff_ms = MREDIS_BACKOFF_MIN;
	return r;
}

void
mredis_free(struct mredis *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->nidle; i++)
		redisFree(r->idle[i]);
	pthread_mutex_destroy(&r->lock);
	free(r->server);
	free(r->host);
	free(r->path);
	free(r->password);
	free(r);
}

const char *
mredis_server(const struct mredis *r)
{
	return r->server;
}

int
mredis_up(struct mredis *r)
{
	int up;

	pthread_mutex_lock(&r->lock);
	up = !r->down;
	pthread_mutex_unlock(&r->lock);
	return up;
}

static struct timeval
tv_ms(long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

	return tv;
}

/* A setup command on a fresh connection; 0, or -1 with err. */
static int
setup_cmd(redisContext *c, int argc, const char **argv, char *err, size_t errlen)
{
	redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
	int rc = 0;

	if (rep == NULL) {
		snprintf(err, errlen, "%s: %s", argv[0], c->errstr[0] ? c->errstr : "no reply");
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		char t[128];

		snprintf(err, errlen, "%s: %s", argv[0], rg_sanitize(t, sizeof(t), rep->str, rep->len));
		rc = -1;
	}
	freeReplyObject(rep);
	return rc;
}

/* A new connection with AUTH and SELECT done, or NULL with err. */
static redisContext *
mredis_connect(struct mredis *r, char *err, size_t errlen)
{
	redisContext *c = r->path ? redisConnectUnixWithTimeout(r->path, tv_ms(r->connect_ms))
				  : redisConnectWithTimeout(r->host, r->port, tv_ms(r->connect_ms));
	char db[16];

	if (c == NULL) {
		snprintf(err, errlen, "cannot allocate a connection");
		return NULL;
	}
	if (c->err) {
		snprintf(err, errlen, "connect: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, tv_ms(r->timeout_ms)) != REDIS_OK) {
		snprintf(err, errlen, "cannot set the timeout");
		redisFree(c);
		return NULL;
	}
	snprintf(db, sizeof(db), "%d", r->db);
	if ((r->password && setup_cmd(c, 2, (const char *[]){"AUTH", r->password}, err, errlen) < 0) ||
	    (r->db && setup_cmd(c, 2, (const char *[]){"SELECT", db}, err, errlen) < 0)) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* An idle connection or a new one; NULL with err while down (*fast = 1) or on failure. */
static redisContext *
conn_get(struct mredis *r, int *fast, char *err, size_t errlen)
{
	redisContext *c = NULL;
	long long now = rg_mono_ms();

	*fast = 0;
	pthread_mutex_lock(&r->lock);
	if (r->nidle > 0) {
		c = r->idle[--r->nidle];
	} else if (r->down && now < r->retry_at) {
		r->failed++;
		pthread_mutex_unlock(&r->lock);
		*fast = 1;
		snprintf(err, errlen, "server %s unavailable", r->server);
		return NULL;
	} else if (r->down) {
		/* This thread tries; the others keep failing fast meanwhile. */
		r->retry_at = now + r->backoff_ms;
		r->backoff_ms = r->backoff_ms * 2 > r->max_backoff_ms ? r->max_backoff_ms : r->backoff_ms * 2;
	}
	pthread_mutex_unlock(&r->lock);
	return c ? c : mredis_connect(r, err, errlen);
}

/* Record a failure (the connection, if any, is already freed). */
static void
conn_failed(struct mredis *r, const char *why)
{
	int first;

	pthread_mutex_lock(&r->lock);
	first = !r->down;
	if (first) {
		r->down = 1;
		r->down_since = rg_mono_ms();
		r->failed = 0;
		r->backoff_ms = MREDIS_BACKOFF_MIN;
		r->retry_at = r->down_since + r->backoff_ms;
	}
	r->failed++;
	/* Drop idle connections too: they are most likely as dead as this one. */
	while (r->nidle > 0)
		redisFree(r->idle[--r->nidle]);
	pthread_mutex_unlock(&r->lock);
	if (first) {
		rg_metric_inc(rgm_redis_outages);
		rg_metric_set(rgm_redis_up, 0);
	}
	if (first)
		msg_warn("redis: server %s unavailable: %s; the callout cache and harvest counting are off "
			 "until it is back",
			 r->server, why);
}

static void
conn_put(struct mredis *r, redisContext *c)
{
	long long since = 0;
	unsigned long failed = 0;
	int was_down;

	pthread_mutex_lock(&r->lock);
	was_down = r->down;
	if (was_down) {
		since = r->down_since;
		failed = r->failed;
		r->down = 0;
		r->backoff_ms = MREDIS_BACKOFF_MIN;
	}
	if (r->nidle < MREDIS_POOL_MAX) {
		r->idle[r->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	rg_metric_set(rgm_redis_up, 1);
	if (c)
		redisFree(c);
	if (was_down)
		msg_info("redis: server %s is back after %llds; %lu requests went without it", r->server,
			 (rg_mono_ms() - since) / 1000, failed);
}

/* One round trip on a pooled connection; a NULL reply means the connection failed. */
static redisReply *
round_trip(struct mredis *r, int argc, const char **argv, const size_t *argvlen, char *err, size_t errlen)
{
	int fast;
	double t0 = rg_metric_now();
	redisContext *c = conn_get(r, &fast, err, errlen);
	redisReply *rep;

	if (c == NULL) {
		rg_metric_inc(rgm_redis_errors, "connection");
		if (!fast)
			conn_failed(r, err);
		return NULL;
	}
	if ((rep = redisCommandArgv(c, argc, argv, argvlen)) == NULL) {
		rg_metric_inc(rgm_redis_errors,
			      strstr(c->errstr, "temporarily unavailable") ? "timeout" : "connection");
		snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "no reply");
		redisFree(c);
		conn_failed(r, err);
		return NULL;
	}
	rg_metric_observe(rgm_redis_latency, rg_metric_now() - t0);
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) != 0)
		rg_metric_inc(rgm_redis_errors, "reply");
	conn_put(r, c);
	return rep;
}

/* An error reply becomes NULL with err; anything else passes. */
static redisReply *
no_error(redisReply *rep, char *err, size_t errlen)
{
	if (rep && rep->type == REDIS_REPLY_ERROR) {
		rg_sanitize(err, errlen, rep->str, rep->len);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

redisReply *
mredis_command(struct mredis *r, int argc, const char **argv, const size_t *argvlen, char *err, size_t errlen)
{
	return no_error(round_trip(r, argc, argv, argvlen, err, errlen), err, errlen);
}

/* The SHA1 Redis gave body, "" if unknown yet (copied into sha, 41 bytes). */
static void
script_sha(struct mredis *r, const char *body, char *sha)
{
	sha[0] = 0;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < MREDIS_SCRIPTS_MAX; i++)
		if (r->scripts[i].body == body)
			memcpy(sha, r->scripts[i].sha, 41);
	pthread_mutex_unlock(&r->lock);
}

static void
script_remember(struct mredis *r, const char *body, const char *sha, size_t len)
{
	if (len != 40)
		return;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < MREDIS_SCRIPTS_MAX; i++) {
		if (r->scripts[i].body == NULL || r->scripts[i].body == body) {
			r->scripts[i].body = body;
			memcpy(r->scripts[i].sha, sha, 40);
			r->scripts[i].sha[40] = 0;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

redisReply *
mredis_eval(struct mredis *r, const char *body, int nkeys, int argc, const char **argv, const size_t *argvlen,
	    char *err, size_t errlen)
{
	const char *av[64];
	size_t al[64];
	char sha[41], nk[16];
	redisReply *rep;

	if (argc < 0 || argc > 60 || nkeys < 0 || nkeys > argc) {
		snprintf(err, errlen, "bad script arguments");
		return NULL;
	}
	script_sha(r, body, sha);
	if (sha[0] == 0) {
		rep = round_trip(r, 3, (const char *[]){"SCRIPT", "LOAD", body}, NULL, err, errlen);
		if (rep == NULL)
			return NULL;
		if (rep->type == REDIS_REPLY_STRING)
			script_remember(r, body, rep->str, rep->len);
		freeReplyObject(rep);
		script_sha(r, body, sha);
	}
	snprintf(nk, sizeof(nk), "%d", nkeys);
	av[0] = sha[0] ? "EVALSHA" : "EVAL";
	av[1] = sha[0] ? sha : body;
	av[2] = nk;
	for (int i = 0; i < 3; i++)
		al[i] = strlen(av[i]);
	for (int i = 0; i < argc; i++) {
		av[3 + i] = argv[i];
		al[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
	}
	rep = round_trip(r, argc + 3, av, al, err, errlen);
	if (rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* Redis lost its script cache; EVAL also puts the script back into it. */
		freeReplyObject(rep);
		av[0] = "EVAL";
		av[1] = body;
		al[0] = 4;
		al[1] = strlen(body);
		rep = round_trip(r, argc + 3, av, al, err, errlen);
	}
	return no_error(rep, err, errlen);
}
