/*
 * redis - see redis.h.
 *
 * Lifetimes: a command (struct rg_cmd) is referenced by our deadline timer
 * and, while sent, by hiredis' reply queue; it is freed when both are done
 * with it. A hiredis context is freed by hiredis after its disconnect
 * callback, or by us (rg_redis_drop) - r->ac is cleared before that so
 * stray callbacks for an old context are recognised and ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <async.h>
#include <adapters/libevent.h>

#include "msg.h"
#include "redis.h"
#include "redisaddr.h"
#include "rgm.h"
#include "util.h"

struct rg_script {
	struct rg_script *next;
	const char *name;
	const char *body;
	char sha[41]; /* empty until SCRIPT LOAD answered */
};

struct rg_cmd {
	struct rg_redis *r;
	struct rg_cmd *prev, *next; /* r->cmds, while not done */
	struct rg_script *s;
	rg_redis_cb cb;
	void *arg;
	struct event *timer;
	const char *fail; /* preset failure reported by the timer */
	int done; /* callback fired */
	int in_redis; /* hiredis holds a reference */
	int retried; /* NOSCRIPT fallback used */
	int pinned; /* inside our own timer callback: not freed under it */
	int nkeys, argc;
	char **argv;
	size_t *argvlen;
	double t0; /* sent at (rg_metric_now), for the latency histogram */
};

struct rg_redis {
	struct event_base *base;
	redisAsyncContext *ac; /* NULL while disconnected */
	int connected;
	char *server; /* for log lines */
	char *host, *path;
	int port;
	char *password;
	int db;
	long long connect_ms, timeout_ms, max_backoff_ms, backoff_ms;
	struct event *retry_ev, *conn_ev;
	struct rg_cmd *cmds;
	struct rg_script *scripts;
	int down;
	long long down_since;
	unsigned long failed;
	long long last_err_log;
	int freeing;
};

static void redis_connect(struct rg_redis *r);

static void
redis_outage(struct rg_redis *r, const char *why)
{
	r->failed++;
	if (r->down)
		return;
	r->down = 1;
	r->down_since = rg_mono_ms();
	rg_metric_inc(rgm_redis_outages);
	rg_metric_set(rgm_redis_up, 0);
	msg_warn("redis: server %s unavailable: %s; answering with the failure action until it is back",
		 r->server, why);
}

static void
redis_back(struct rg_redis *r)
{
	rg_metric_set(rgm_redis_up, 1);
	if (!r->down)
		return;
	msg_info("redis: server %s is back after %llds; %lu requests got the failure action", r->server,
		 (rg_mono_ms() - r->down_since) / 1000, r->failed);
	r->down = 0;
	r->failed = 0;
}

static void
cmd_maybe_free(struct rg_cmd *c)
{
	if (!c->done || c->in_redis || c->pinned)
		return;
	event_free(c->timer);
	for (int i = 0; i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->argvlen);
	free(c);
}

/* Fire the callback once and unlink; the struct may live on for hiredis. */
static void
cmd_finish(struct rg_cmd *c, const redisReply *reply, const char *err)
{
	struct rg_redis *r = c->r;

	if (c->done)
		return;
	c->done = 1;
	event_del(c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		r->cmds = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->fail == NULL)
		rg_metric_observe(rgm_redis_latency, rg_metric_now() - c->t0);
	if (err && strcmp(err, "shutting down") != 0)
		rg_metric_inc(rgm_redis_errors, strncmp(err, "no answer", 9) == 0 ? "timeout"
						: c->fail || strcmp(err, "connection lost") == 0
						    ? "connection"
						    : "reply");
	c->cb(reply, err, c->arg);
}

/* Drop the current connection and plan a reconnect. */
static void
redis_drop(struct rg_redis *r, const char *why)
{
	redisAsyncContext *ac = r->ac;

	if (ac == NULL)
		return;
	r->ac = NULL;
	r->connected = 0;
	event_del(r->conn_ev);
	redis_outage(r, why);
	redisAsyncFree(ac); /* pending replies fire with NULL */
	if (!r->freeing) {
		struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};

		evtimer_add(r->retry_ev, &tv);
		r->backoff_ms = r->backoff_ms * 2 > r->max_backoff_ms ? r->max_backoff_ms : r->backoff_ms * 2;
	}
}

static void
redis_schedule_retry(struct rg_redis *r)
{
	struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};

	if (r->freeing)
		return;
	evtimer_add(r->retry_ev, &tv);
	r->backoff_ms = r->backoff_ms * 2 > r->max_backoff_ms ? r->max_backoff_ms : r->backoff_ms * 2;
}

static int cmd_send(struct rg_cmd *c, int use_eval);

static void
cmd_reply(redisAsyncContext *ac, void *rv, void *priv)
{
	struct rg_cmd *c = priv;
	redisReply *reply = rv;
	char buf[256];

	(void)ac;
	c->in_redis = 0;
	if (c->done) {
		cmd_maybe_free(c);
		return;
	}
	if (reply == NULL) {
		cmd_finish(c, NULL, "connection lost");
	} else if (reply->type == REDIS_REPLY_ERROR) {
		if (!c->retried && c->s && strncmp(reply->str, "NOSCRIPT", 8) == 0 && c->r->ac) {
			/* Script cache lost (restart, failover): EVAL re-caches it. */
			c->retried = 1;
			if (cmd_send(c, 1) == 0)
				return;
		}
		rg_sanitize(buf, sizeof(buf), reply->str, reply->len);
		if (rg_mono_ms() - c->r->last_err_log > 10000) {
			c->r->last_err_log = rg_mono_ms();
			msg_warn("redis: server %s: error reply: %s", c->r->server, buf);
		}
		cmd_finish(c, NULL, buf);
	} else {
		redis_back(c->r);
		cmd_finish(c, reply, NULL);
	}
	cmd_maybe_free(c);
}

static int
cmd_send(struct rg_cmd *c, int use_eval)
{
	struct rg_redis *r = c->r;
	int n = c->argc + 3;
	const char *av[n];
	size_t avl[n];
	char nk[16];

	if (r->ac == NULL)
		return -1;
	use_eval = use_eval || c->s->sha[0] == 0;
	av[0] = use_eval ? "EVAL" : "EVALSHA";
	av[1] = use_eval ? c->s->body : c->s->sha;
	snprintf(nk, sizeof(nk), "%d", c->nkeys);
	av[2] = nk;
	for (int i = 0; i < c->argc; i++) {
		av[i + 3] = c->argv[i];
		avl[i + 3] = c->argvlen[i];
	}
	for (int i = 0; i < 3; i++)
		avl[i] = strlen(av[i]);
	if (redisAsyncCommandArgv(r->ac, cmd_reply, c, n, av, avl) != REDIS_OK)
		return -1;
	c->in_redis = 1;
	return 0;
}

static void
cmd_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rg_cmd *c = arg;
	struct rg_redis *r = c->r;
	char why[64];

	(void)fd;
	(void)what;
	/* redis_drop fires hiredis' pending callbacks, ours among them:
	 * keep c alive until this function is done with it. */
	c->pinned = 1;
	if (c->fail) {
		cmd_finish(c, NULL, c->fail);
	} else {
		snprintf(why, sizeof(why), "no answer within %lldms", r->timeout_ms);
		cmd_finish(c, NULL, why);
		/* A server that does not answer in time is treated as gone. */
		redis_drop(r, why);
	}
	c->pinned = 0;
	cmd_maybe_free(c);
}

void
rg_redis_eval(struct rg_redis *r, struct rg_script *s, int nkeys, int argc, const char **argv,
	      const size_t *argvlen, rg_redis_cb cb, void *arg)
{
	struct rg_cmd *c = xcalloc(1, sizeof(*c));
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};

	c->r = r;
	c->s = s;
	c->cb = cb;
	c->arg = arg;
	c->nkeys = nkeys;
	c->argc = argc;
	c->argv = xcalloc((size_t)argc, sizeof(char *));
	c->argvlen = xcalloc((size_t)argc, sizeof(size_t));
	for (int i = 0; i < argc; i++) {
		size_t len = argvlen ? argvlen[i] : strlen(argv[i]);

		c->argv[i] = xmalloc(len + 1);
		memcpy(c->argv[i], argv[i], len);
		c->argv[i][len] = 0;
		c->argvlen[i] = len;
	}
	c->timer = evtimer_new(r->base, cmd_timer, c);
	c->t0 = rg_metric_now();
	c->next = r->cmds;
	if (r->cmds)
		r->cmds->prev = c;
	r->cmds = c;
	if (r->ac == NULL) {
		c->fail = "not connected";
		r->failed++;
		event_active(c->timer, EV_TIMEOUT, 0);
	} else if (cmd_send(c, 0) != 0) {
		c->fail = "cannot send command";
		event_active(c->timer, EV_TIMEOUT, 0);
	} else {
		evtimer_add(c->timer, &tv);
	}
}

static void
script_loaded(redisAsyncContext *ac, void *rv, void *priv)
{
	struct rg_script *s = priv;
	redisReply *reply = rv;

	(void)ac;
	if (reply && reply->type == REDIS_REPLY_STRING && reply->len == 40)
		memcpy(s->sha, reply->str, 41);
}

static void
setup_reply(redisAsyncContext *ac, void *rv, void *priv)
{
	struct rg_redis *r = ac->data;
	redisReply *reply = rv;
	char buf[200];

	if (reply && reply->type == REDIS_REPLY_ERROR && r->ac == ac) {
		rg_sanitize(buf, sizeof(buf), reply->str, reply->len);
		msg_warn("redis: server %s: %s failed: %s", r->server, (const char *)priv, buf);
	}
}

static void
redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct rg_redis *r = ac->data;

	if (r == NULL || r->ac != ac)
		return;
	if (status != REDIS_OK) {
		char why[200];

		snprintf(why, sizeof(why), "connect: %s", ac->errstr[0] ? ac->errstr : "failed");
		r->ac = NULL; /* hiredis frees it after this callback */
		event_del(r->conn_ev);
		redis_outage(r, why);
		redis_schedule_retry(r);
		return;
	}
	r->connected = 1;
	event_del(r->conn_ev);
	r->backoff_ms = 100;
	/* Not "back" yet: a hung server accepts connections too. The first
	 * answer (redis_back in cmd_reply) ends the outage. */
	msg_debug("redis: connected to %s", r->server);
}

static void
redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rg_redis *r = ac->data;
	char why[200];

	(void)status;
	if (r == NULL || r->ac != ac)
		return;
	r->ac = NULL;
	r->connected = 0;
	event_del(r->conn_ev);
	snprintf(why, sizeof(why), "connection lost: %s", ac->errstr[0] ? ac->errstr : "closed by server");
	redis_outage(r, why);
	redis_schedule_retry(r);
}

static void
redis_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct rg_redis *r = arg;
	char why[64];

	(void)fd;
	(void)what;
	if (r->ac && !r->connected) {
		snprintf(why, sizeof(why), "connect: no answer within %lldms", r->connect_ms);
		redis_drop(r, why);
	}
}

static void
redis_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	redis_connect(arg);
}

static void
redis_connect(struct rg_redis *r)
{
	redisAsyncContext *ac;
	struct timeval tv = {r->connect_ms / 1000, (r->connect_ms % 1000) * 1000};
	char nbuf[16];

	ac = r->path ? redisAsyncConnectUnix(r->path) : redisAsyncConnect(r->host, r->port);
	if (ac == NULL || ac->err) {
		char why[200];

		snprintf(why, sizeof(why), "connect: %s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		redis_outage(r, why);
		redis_schedule_retry(r);
		return;
	}
	ac->data = r;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
	r->ac = ac;
	r->connected = 0;
	evtimer_add(r->conn_ev, &tv);
	if (r->password && *r->password)
		redisAsyncCommand(ac, setup_reply, "AUTH", "AUTH %s", r->password);
	if (r->db) {
		snprintf(nbuf, sizeof(nbuf), "%d", r->db);
		redisAsyncCommand(ac, setup_reply, "SELECT", "SELECT %s", nbuf);
	}
	for (struct rg_script *s = r->scripts; s; s = s->next)
		redisAsyncCommand(ac, script_loaded, s, "SCRIPT LOAD %s", s->body);
}

/* Split redis_server (redisaddr.h); the configuration check has vetted it. */
static void
redis_parse_server(struct rg_redis *r, const char *spec)
{
	rg_redis_addr_split(spec, &r->host, &r->path, &r->port);
}

struct rg_redis *
rg_redis_new(struct event_base *base, const struct rg_params *g)
{
	struct rg_redis *r = xcalloc(1, sizeof(*r));

	r->base = base;
	r->server = xstrdup(g->redis_server);
	redis_parse_server(r, g->redis_server);
	r->password = g->redis_password && *g->redis_password ? xstrdup(g->redis_password) : NULL;
	r->db = (int)g->redis_database;
	r->connect_ms = g->redis_connect_timeout;
	r->timeout_ms = g->redis_timeout;
	r->max_backoff_ms = g->redis_reconnect_max_backoff;
	r->backoff_ms = 100;
	r->retry_ev = evtimer_new(base, redis_retry, r);
	r->conn_ev = evtimer_new(base, redis_conn_deadline, r);
	redis_connect(r);
	return r;
}

struct rg_script *
rg_redis_script_new(struct rg_redis *r, const char *name, const char *body)
{
	struct rg_script *s = xcalloc(1, sizeof(*s));

	s->name = name;
	s->body = body;
	s->next = r->scripts;
	r->scripts = s;
	if (r->ac)
		redisAsyncCommand(r->ac, script_loaded, s, "SCRIPT LOAD %s", s->body);
	return s;
}

int
rg_redis_up(const struct rg_redis *r)
{
	return r->ac != NULL && r->connected && !r->down;
}

void
rg_redis_free(struct rg_redis *r)
{
	struct rg_script *s;

	if (r == NULL)
		return;
	r->freeing = 1;
	while (r->cmds) {
		struct rg_cmd *c = r->cmds;

		cmd_finish(c, NULL, "shutting down");
		cmd_maybe_free(c);
	}
	if (r->ac) {
		redisAsyncContext *ac = r->ac;

		r->ac = NULL;
		redisAsyncFree(ac);
	}
	event_free(r->retry_ev);
	event_free(r->conn_ev);
	while ((s = r->scripts) != NULL) {
		r->scripts = s->next;
		free(s);
	}
	free(r->server);
	free(r->host);
	free(r->path);
	free(r->password);
	free(r);
}
