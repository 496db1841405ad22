/*
 * redis - see redis.h.
 *
 * Lifetimes: a command (struct rg_cmd) is referenced by our deadline timer
 * and, while sent, by hiredis' reply queue; it is freed when both are done
 * with it. A hiredis context is freed by hiredis after its disconnect
 * callback, or by us (redis_drop) - r->ac is cleared before that so stray
 * callbacks for an old context are recognised and ignored; a context we
 * let go of (reload, a new master) has its data pointer cleared too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <async.h>

#include "msg.h"
#include "rcap.h"
#include "redis.h"
#include "redis_ev.h"
#include "redisint.h"
#include "rsentinel.h"
#include "util.h"

#define REDIS_CONSEQUENCE "answering with the failure action"

void
rg_redis__outage(struct rg_redis *r, const char *why)
{
	rcore_health_fail(&r->h, &r->conf, why);
}

/* Sentinel: ask where the master is now. */
static void
redis_rediscover(struct rg_redis *r)
{
	if (r->agent && r->conf.nsentinels)
		rsentinel_request(r->agent);
}

static void
cmd_maybe_free(struct rg_cmd *c)
{
	if (!c->done || c->in_redis || c->pinned)
		return;
	event_free(c->timer);
	free(c); /* its arguments live in the same block */
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
	c->cb(reply, err, c->arg);
}

static void
redis_schedule_retry(struct rg_redis *r)
{
	long long ms;
	struct timeval tv;

	if (r->freeing)
		return;
	ms = rcore_backoff_next(&r->h);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(r->retry_ev, &tv);
}

/* Forget the current connection: r stops using it (no connect timer, not
 * connected); the caller frees it or leaves that to hiredis. Returns it, or
 * NULL when there was none. */
static redisAsyncContext *
redis_detach(struct rg_redis *r)
{
	redisAsyncContext *ac = r->ac;

	if (ac == NULL)
		return NULL;
	r->ac = NULL;
	r->connected = 0;
	event_del(r->conn_ev);
	return ac;
}

/* Drop the current connection and plan a reconnect. */
static void
redis_drop(struct rg_redis *r, const char *why)
{
	redisAsyncContext *ac = redis_detach(r);

	if (ac == NULL)
		return;
	rg_redis__outage(r, why);
	redisAsyncFree(ac); /* pending replies fire with NULL */
	redis_schedule_retry(r);
	redis_rediscover(r);
}

static int cmd_send(struct rg_cmd *c, int use_eval);

static void
cmd_reply(redisAsyncContext *ac, void *rv, void *priv)
{
	struct rg_cmd *c = priv;
	struct rg_redis *r = c->r;
	redisReply *reply = rv;
	char buf[256];

	(void)ac;
	c->in_redis = 0;
	if (c->done) {
		cmd_maybe_free(c);
		return;
	}
	if (reply)
		rcore_health_reply(&r->h, rcore_now_us() - c->sent_us, reply);
	if (reply == NULL) {
		rcore_health_noreply(rcore_now_us() - c->sent_us, 0);
		rcore_health_affected(&r->h);
		cmd_finish(c, NULL, "connection lost");
	} else if (reply->type == REDIS_REPLY_ERROR) {
		if (!c->retried && c->s && rcore_error_class(reply) == RCORE_ERR_NOSCRIPT && r->ac) {
			/* Script cache lost (restart, failover): EVAL re-caches it. */
			c->retried = 1;
			if (cmd_send(c, 1) == 0)
				return;
		}
		rg_sanitize(buf, sizeof(buf), reply->str, reply->len);
		if (rcore_error_rediscover(rcore_error_class(reply))) {
			/* A replica now (failover), or one without its master. */
			rcore_health_affected(&r->h);
			cmd_finish(c, NULL, buf);
			if (c->ac == r->ac)
				redis_drop(r, buf);
			cmd_maybe_free(c);
			return;
		}
		if (rg_mono_ms() - r->last_err_log > 10000) {
			r->last_err_log = rg_mono_ms();
			msg_warn("redis: server %s: error reply: %s", r->conf.server, buf);
		}
		cmd_finish(c, NULL, buf);
	} else {
		rcore_health_ok(&r->h, &r->conf);
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
	char nk[16], stack[4096], *buf = stack;
	size_t len;
	int rc;

	if (r->ac == NULL)
		return -1;
	n = rcore_script_argv(c->s->cs, use_eval, c->nkeys, c->argc, (const char **)c->argv, c->argvlen, av,
			      avl, nk);
	/* formatted here in one pass (hiredis' own formatting allocates per argument) */
	if ((len = rcore_resp_format(buf, sizeof(stack), n, av, avl)) > sizeof(stack)) {
		buf = xmalloc(len);
		rcore_resp_format(buf, len, n, av, avl);
	}
	rc = redisAsyncFormattedCommand(r->ac, cmd_reply, c, buf, len);
	if (buf != stack)
		free(buf);
	if (rc != REDIS_OK)
		return -1;
	c->in_redis = 1;
	c->ac = r->ac;
	c->sent_us = rcore_now_us();
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
	rcore_health_affected(&r->h);
	rcore_health_noreply(c->fail ? -1 : rcore_now_us() - c->sent_us, c->fail == NULL);
	if (c->fail) {
		cmd_finish(c, NULL, c->fail);
	} else {
		snprintf(why, sizeof(why), "no answer within %lldms", r->conf.timeout_ms);
		cmd_finish(c, NULL, why);
		/* A server that does not answer in time is treated as gone
		 * (unless c went out on a connection already let go of). */
		if (c->ac == r->ac)
			redis_drop(r, why);
	}
	c->pinned = 0;
	cmd_maybe_free(c);
}

void
rg_redis_eval(struct rg_redis *r, struct rg_script *s, int nkeys, int argc, const char **argv,
	      const size_t *argvlen, rg_redis_cb cb, void *arg)
{
	struct timeval tv = {r->conf.timeout_ms / 1000, (r->conf.timeout_ms % 1000) * 1000};
	size_t bytes = 0;
	struct rg_cmd *c;
	char *p;

	/* one block: the command, its argument vector, then the arguments */
	for (int i = 0; i < argc; i++)
		bytes += (argvlen ? argvlen[i] : strlen(argv[i])) + 1;
	c = xmalloc(sizeof(*c) + (size_t)argc * (sizeof(char *) + sizeof(size_t)) + bytes);
	memset(c, 0, sizeof(*c));
	c->argv = (char **)(c + 1);
	c->argvlen = (size_t *)(c->argv + argc);
	p = (char *)(c->argvlen + argc);
	c->r = r;
	c->s = s;
	c->cb = cb;
	c->arg = arg;
	c->nkeys = nkeys;
	c->argc = argc;
	for (int i = 0; i < argc; i++) {
		size_t len = argvlen ? argvlen[i] : strlen(argv[i]);

		c->argv[i] = p;
		memcpy(p, argv[i], len);
		p[len] = 0;
		c->argvlen[i] = len;
		p += len + 1;
	}
	c->timer = evtimer_new(r->base, cmd_timer, c);
	c->next = r->cmds;
	if (r->cmds)
		r->cmds->prev = c;
	r->cmds = c;
	if (s == NULL) {
		c->fail = "no such script";
		event_active(c->timer, EV_TIMEOUT, 0);
	} else if (r->ac == NULL) {
		c->fail = "not connected";
		event_active(c->timer, EV_TIMEOUT, 0);
	} else if (cmd_send(c, 0) != 0) {
		c->fail = "cannot send command";
		event_active(c->timer, EV_TIMEOUT, 0);
	} else {
		evtimer_add(c->timer, &tv);
	}
}

/* The reply to setup command number (intptr_t)priv. */
static void
setup_reply(redisAsyncContext *ac, void *rv, void *priv)
{
	struct rg_redis *r = ac->data;
	char err[256];
	int i = (int)(intptr_t)priv;

	if (r == NULL || r->ac != ac || rv == NULL)
		return;
	if (rcore_setup_check(&r->setup, i, rv, err, sizeof(err)) != 0) {
		msg_warn("redis: server %s: %s", r->conf.server, err);
		redis_drop(r, err);
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
		rg_redis__outage(r, why);
		redis_schedule_retry(r);
		redis_rediscover(r);
		return;
	}
	r->connected = 1;
	event_del(r->conn_ev);
	/* Not "back" yet: a hung server accepts connections too. The first
	 * answer (rcore_health_ok in cmd_reply) ends the outage. */
	msg_debug("redis: connected to %s", r->conf.server);
}

static void
redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rg_redis *r = ac->data;
	char why[200];

	(void)status;
	if (r == NULL || r->ac != ac)
		return;
	(void)redis_detach(r); /* hiredis frees ac after this callback */
	snprintf(why, sizeof(why), "connection lost: %s",
		 ac->errstr[0] ? rcap_errstr(&ac->c) : "closed by server");
	rg_redis__outage(r, why);
	redis_schedule_retry(r);
	redis_rediscover(r);
}

static void
redis_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct rg_redis *r = arg;
	char why[64];

	(void)fd;
	(void)what;
	if (r->ac && !r->connected) {
		snprintf(why, sizeof(why), "connect: no answer within %lldms", r->conf.connect_ms);
		redis_drop(r, why);
	}
}

static void
redis_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rg_redis__connect(arg);
}

static void
redis_connect_to(struct rg_redis *r, const struct rg_endpoint *a, int confirm_master)
{
	redisAsyncContext *ac;
	struct timeval tv = {r->conf.connect_ms / 1000, (r->conf.connect_ms % 1000) * 1000};

	ac = a->kind == RG_EP_UNIX ? redisAsyncConnectUnix(a->path) : redisAsyncConnect(a->host, a->port);
	if (ac == NULL || ac->err) {
		char why[200];

		snprintf(why, sizeof(why), "connect: %s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		rg_redis__outage(r, why);
		redis_schedule_retry(r);
		return;
	}
	ac->data = r;
	if (rg_redis_ev_attach(ac, r->base) != REDIS_OK) {
		ac->data = NULL;
		redisAsyncFree(ac);
		rg_redis__outage(r, "connect: out of memory");
		redis_schedule_retry(r);
		return;
	}
	rcap_install(&ac->c); /* reply size limits; redis_ev checks the buffer after each read */
	redisAsyncSetConnectCallback(ac, redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
	r->ac = ac;
	r->connected = 0;
	evtimer_add(r->conn_ev, &tv);
	rcore_setup_build(&r->conf, confirm_master, &r->setup);
	for (int i = 0; i < r->setup.n; i++)
		redisAsyncCommandArgv(ac, setup_reply, (void *)(intptr_t)i, r->setup.cmd[i].argc,
				      r->setup.cmd[i].argv, NULL);
}

/* Connect to redis_server, or to the master Sentinel named (none yet: wait for the agent). */
void
rg_redis__connect(struct rg_redis *r)
{
	if (!r->conf.master_known)
		return;
	redis_connect_to(r, &r->conf.addr, r->conf.nsentinels > 0);
}

/* Let go of the current connection: what is on the wire still gets its answer. */
void
rg_redis__let_go(struct rg_redis *r)
{
	redisAsyncContext *ac = redis_detach(r);

	if (ac == NULL)
		return;
	ac->data = NULL;
	if (ac->c.flags & REDIS_CONNECTED)
		redisAsyncDisconnect(ac);
	else
		redisAsyncFree(ac);
}

struct rg_redis *
rg_redis_new(struct event_base *base, const struct rg_params *g)
{
	struct rg_redis *r = xcalloc(1, sizeof(*r));

	r->base = base;
	rcore_conf_init(&r->conf, g, REDIS_CONSEQUENCE);
	rcore_health_init(&r->h, &r->conf);
	r->retry_ev = evtimer_new(base, redis_retry, r);
	r->conn_ev = evtimer_new(base, redis_conn_deadline, r);
	if (r->conf.nsentinels)
		rg_redis__sentinel_first(r);
	rg_strlcpy(r->h.st.master, r->conf.server, sizeof(r->h.st.master));
	rg_redis__connect(r);
	return r;
}

int
rg_redis_reconfigure(struct rg_redis *r, const struct rg_params *g)
{
	struct rcore_conf c;

	rcore_conf_init(&c, g, REDIS_CONSEQUENCE);
	if (rcore_conf_same(&c, &r->conf))
		return 0;
	/* With Sentinels the current connection serves on until the agent
	 * names the master under the new settings (redis_note_read). */
	if (c.nsentinels == 0 || r->ac == NULL)
		rg_redis__let_go(r);
	event_del(r->retry_ev);
	r->conf = c;
	r->h.max_backoff_ms = c.max_backoff_ms;
	rcore_backoff_reset(&r->h);
	r->h.st.switches++;
	rg_strlcpy(r->h.st.master, c.server, sizeof(r->h.st.master));
	msg_info("reload: redis: new requests use %s", c.server);
	if (c.nsentinels || r->agent)
		rg_redis__sentinel_start(r); /* the agent answers on the loop; until then: not connected */
	rg_redis__connect(r);
	return 1;
}

struct rg_script *
rg_redis_script_new(struct rg_redis *r, const char *name, const char *body)
{
	const struct rcore_script *cs = rcore_script_get(&r->reg, name, body);
	struct rg_script *s;

	if (cs == NULL)
		return NULL;
	s = &r->scripts[cs - r->reg.s];
	s->cs = cs;
	return s;
}

int
rg_redis_up(const struct rg_redis *r)
{
	return r->ac != NULL && r->connected && !r->h.down;
}

void
rg_redis_stats(const struct rg_redis *r, struct rg_redis_stats *st)
{
	rcore_health_stats(&r->h, st);
}

void
rg_redis_free(struct rg_redis *r)
{
	if (r == NULL)
		return;
	r->freeing = 1;
	rsentinel_stop(r->agent); /* no more answers from the agent after this */
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
	rg_redis__sentinel_free(r);
	free(r);
}
