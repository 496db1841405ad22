/*
 * redis_pool - see redis_pool.h.
 *
 * Locking: r->lock guards everything in struct rg_redis_pool; it is never
 * held across network I/O, so a slow Redis delays only the threads that
 * talk to it, each by at most its own timeouts. A connection carries the
 * generation of the settings (and master) it was made for; one from an
 * older generation is closed when it comes back instead of being pooled.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "msg.h"
#include "rcap.h"
#include "redis_pool.h"
#include "rgm.h"
#include "rsentinel.h"
#include "util.h"

#define POOL_CONSEQUENCE                                                                                     \
	"the callout cache, harvest counting, the milter's greylisting and rate-limit commits go without it"

struct pconn {
	redisContext *c;
	unsigned gen;
};

struct rg_redis_pool {
	pthread_mutex_t lock;
	struct rcore_conf conf;
	unsigned gen;
	struct pconn idle[RG_REDIS_POOL_MAX];
	int nidle;
	struct rcore_health h;
	long long retry_at; /* while down, calls fail at once until then */
	struct rcore_scripts scripts;
	struct rsentinel *agent; /* with Sentinels: set once, never freed before the pool */
	int sentinel_start;
};

static void
pool_drop_idle(struct rg_redis_pool *r)
{
	while (r->nidle > 0)
		redisFree(r->idle[--r->nidle].c);
}

/* Sentinel's answer (in the agent's thread). */
static void
pool_notify(void *arg, const struct rg_endpoint *master, const char *err)
{
	struct rg_redis_pool *r = arg;
	char was[300];
	int changed = 0;

	pthread_mutex_lock(&r->lock);
	if (r->conf.nsentinels == 0) {
		/* a reload took the Sentinels away */
	} else if (master && (!r->conf.master_known || !rcore_addr_same(master, &r->conf.addr))) {
		changed = 1 + r->conf.master_known;
		rg_strlcpy(was, r->conf.server, sizeof(was));
		rcore_conf_set_master(&r->conf, master);
		r->gen++;
		r->retry_at = 0;
		r->h.st.switches += changed == 2;
		rg_strlcpy(r->h.st.master, r->conf.server, sizeof(r->h.st.master));
		pool_drop_idle(r);
	} else if (master) {
		r->retry_at = 0; /* the same master: worth trying again now */
	} else if (!r->conf.master_known) {
		rcore_health_fail(&r->h, &r->conf, err);
	}
	r->h.st.discoveries++;
	if (changed == 2) {
		rg_metric_inc(rgm_sentinel_switches);
		msg_info("redis: Sentinel: %s is now the master (was %s)", r->conf.server, was);
	}
	pthread_mutex_unlock(&r->lock);
}

/* With Sentinels: find the master now (bounded by the timeouts), in c. */
static void
pool_discover(struct rg_redis_pool *r, struct rcore_conf *c)
{
	struct rg_endpoint m;
	char err[1024];

	if (c->nsentinels == 0)
		return;
	if (rsentinel_discover(c, &r->sentinel_start, &m, err, sizeof(err)) == 0) {
		rcore_conf_set_master(c, &m);
		if (*err)
			msg_warn("redis: %s; asked the next", err);
	} else {
		pthread_mutex_lock(&r->lock);
		rcore_health_fail(&r->h, c, err);
		pthread_mutex_unlock(&r->lock);
	}
}

struct rg_redis_pool *
rg_redis_pool_new(const struct rg_params *g)
{
	struct rg_redis_pool *r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->lock, NULL);
	rcore_conf_init(&r->conf, g, POOL_CONSEQUENCE);
	rcore_health_init(&r->h, &r->conf);
	pool_discover(r, &r->conf);
	rg_strlcpy(r->h.st.master, r->conf.server, sizeof(r->h.st.master));
	if (r->conf.nsentinels)
		r->agent =
		    rsentinel_start(&r->conf, r->sentinel_start, !r->conf.master_known, pool_notify, r);
	return r;
}

void
rg_redis_pool_free(struct rg_redis_pool *r)
{
	if (r == NULL)
		return;
	rsentinel_stop(r->agent);
	pool_drop_idle(r);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int
rg_redis_pool_reconfigure(struct rg_redis_pool *r, const struct rg_params *g)
{
	struct rcore_conf c;
	int changed;

	rcore_conf_init(&c, g, POOL_CONSEQUENCE);
	pthread_mutex_lock(&r->lock);
	changed = !rcore_conf_same(&c, &r->conf);
	pthread_mutex_unlock(&r->lock);
	if (!changed)
		return 0;
	pool_discover(r, &c); /* the milter's reload thread may wait; mail threads do not */
	pthread_mutex_lock(&r->lock);
	r->conf = c;
	r->gen++;
	r->h.max_backoff_ms = c.max_backoff_ms;
	r->h.st.switches++;
	rg_strlcpy(r->h.st.master, c.server, sizeof(r->h.st.master));
	r->retry_at = 0;
	pool_drop_idle(r);
	pthread_mutex_unlock(&r->lock);
	/* Only the reload thread writes r->agent. */
	if (r->agent)
		rsentinel_reconfigure(r->agent, &c);
	else if (c.nsentinels)
		r->agent = rsentinel_start(&c, r->sentinel_start, !c.master_known, pool_notify, r);
	msg_info("reload: redis: new messages use %s", c.server);
	return 1;
}

int
rg_redis_pool_up(struct rg_redis_pool *r)
{
	int up;

	pthread_mutex_lock(&r->lock);
	up = !r->h.down;
	pthread_mutex_unlock(&r->lock);
	return up;
}

void
rg_redis_pool_stats(struct rg_redis_pool *r, struct rg_redis_stats *st)
{
	pthread_mutex_lock(&r->lock);
	rcore_health_stats(&r->h, st);
	pthread_mutex_unlock(&r->lock);
}

static struct timeval
tv_ms(long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

	return tv;
}

/* A new connection to a with c's setup commands done, or NULL with err. */
static redisContext *
pool_connect(const struct rcore_conf *cf, const struct rg_endpoint *a, int confirm, char *err, size_t errlen)
{
	redisContext *c = a->kind == RG_EP_UNIX
			      ? redisConnectUnixWithTimeout(a->path, tv_ms(cf->connect_ms))
			      : redisConnectWithTimeout(a->host, a->port, tv_ms(cf->connect_ms));
	struct rcore_setup s;

	if (c == NULL) {
		snprintf(err, errlen, "cannot allocate a connection");
		return NULL;
	}
	if (c->err) {
		snprintf(err, errlen, "connect: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, tv_ms(cf->timeout_ms)) != REDIS_OK) {
		snprintf(err, errlen, "cannot set the timeout");
		redisFree(c);
		return NULL;
	}
	rcap_install(c);
	rcore_setup_build(cf, confirm, &s);
	for (int i = 0; i < s.n; i++) {
		redisReply *rep = rcap_command_argv(c, s.cmd[i].argc, s.cmd[i].argv, NULL);
		int bad = rcore_setup_check(&s, i, rep, err, errlen);

		if (rep == NULL && c->errstr[0])
			snprintf(err, errlen, "%s: %s", s.cmd[i].argv[0], rcap_errstr(c));
		if (rep)
			freeReplyObject(rep);
		if (bad) {
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

/* An idle connection or a new one; .c NULL with err while down (*fast = 1) or on failure. */
static struct pconn
conn_get(struct rg_redis_pool *r, int *fast, char *err, size_t errlen)
{
	struct pconn pc = {NULL, 0};
	struct rcore_conf cf;
	long long now = rg_mono_ms();

	*fast = 0;
	pthread_mutex_lock(&r->lock);
	if (r->nidle > 0) {
		pc = r->idle[--r->nidle];
		pthread_mutex_unlock(&r->lock);
		return pc;
	}
	if (!r->conf.master_known || (r->h.down && now < r->retry_at)) {
		rcore_health_affected(&r->h);
		pthread_mutex_unlock(&r->lock);
		*fast = 1;
		snprintf(err, errlen, "server %s unavailable", r->conf.server);
		return pc;
	}
	if (r->h.down) /* this thread tries; the others keep failing fast meanwhile */
		r->retry_at = now + rcore_backoff_next(&r->h);
	cf = r->conf;
	pc.gen = r->gen;
	pthread_mutex_unlock(&r->lock);
	pc.c = pool_connect(&cf, &cf.addr, cf.nsentinels > 0, err, errlen);
	return pc;
}

/* Sentinel: look for the master again (never under r->lock: see rsentinel.h). */
static void
pool_rediscover(struct rg_redis_pool *r)
{
	struct rsentinel *a;

	pthread_mutex_lock(&r->lock);
	a = r->conf.nsentinels ? r->agent : NULL;
	pthread_mutex_unlock(&r->lock);
	rsentinel_request(a);
}

/* Record a failure of a connection of generation gen (already freed). */
static void
conn_failed(struct rg_redis_pool *r, unsigned gen, const char *why)
{
	pool_rediscover(r);
	pthread_mutex_lock(&r->lock);
	if (gen == r->gen) {
		if (rcore_health_fail(&r->h, &r->conf, why)) {
			rcore_backoff_reset(&r->h);
			r->retry_at = rg_mono_ms() + rcore_backoff_next(&r->h);
		}
		/* Drop idle connections too: they are most likely as dead as this one. */
		pool_drop_idle(r);
	}
	rcore_health_affected(&r->h);
	pthread_mutex_unlock(&r->lock);
}

static void
conn_put(struct rg_redis_pool *r, struct pconn pc)
{
	pthread_mutex_lock(&r->lock);
	if (pc.gen == r->gen) {
		rcore_health_ok(&r->h, &r->conf);
		if (r->nidle < RG_REDIS_POOL_MAX) {
			r->idle[r->nidle++] = pc;
			pc.c = NULL;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (pc.c)
		redisFree(pc.c);
}

/* One round trip on a pooled connection; a NULL reply means the connection failed. */
static redisReply *
round_trip(struct rg_redis_pool *r, int argc, const char **argv, const size_t *argvlen, char *err,
	   size_t errlen)
{
	int fast;
	struct pconn pc = conn_get(r, &fast, err, errlen);
	redisReply *rep;
	long long t0;

	if (pc.c == NULL) {
		rcore_health_noreply(-1, 0);
		if (!fast)
			conn_failed(r, pc.gen, err);
		return NULL;
	}
	t0 = rcore_now_us();
	if ((rep = rcap_command_argv(pc.c, argc, argv, argvlen)) == NULL) {
		/* hiredis 0.14 reports its socket timeout as EAGAIN's text */
		rcore_health_noreply(rcore_now_us() - t0,
				     strstr(pc.c->errstr, "temporarily unavailable") != NULL);
		snprintf(err, errlen, "%s", pc.c->errstr[0] ? rcap_errstr(pc.c) : "no reply");
		redisFree(pc.c);
		conn_failed(r, pc.gen, err);
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	rcore_health_reply(&r->h, rcore_now_us() - t0, rep);
	pthread_mutex_unlock(&r->lock);
	if (rcore_error_rediscover(rcore_error_class(rep))) {
		/* A replica now, or one without its master: not a server to keep using. */
		rg_sanitize(err, errlen, rep->str, rep->len);
		freeReplyObject(rep);
		redisFree(pc.c);
		conn_failed(r, pc.gen, err);
		return NULL;
	}
	conn_put(r, pc);
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
rg_redis_pool_command(struct rg_redis_pool *r, int argc, const char **argv, const size_t *argvlen, char *err,
		      size_t errlen)
{
	return no_error(round_trip(r, argc, argv, argvlen, err, errlen), err, errlen);
}

redisReply *
rg_redis_pool_eval(struct rg_redis_pool *r, const char *body, int nkeys, int argc, const char **argv,
		   const size_t *argvlen, char *err, size_t errlen)
{
	const char *av[64];
	size_t al[64];
	char nk[16];
	const struct rcore_script *s;
	redisReply *rep;
	int n;

	if (argc < 0 || argc > 60 || nkeys < 0 || nkeys > argc) {
		snprintf(err, errlen, "bad script arguments");
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	s = rcore_script_get(&r->scripts, "", body);
	pthread_mutex_unlock(&r->lock);
	if (s == NULL) {
		snprintf(err, errlen, "too many scripts");
		return NULL;
	}
	n = rcore_script_argv(s, 0, nkeys, argc, argv, argvlen, av, al, nk);
	rep = round_trip(r, n, av, al, err, errlen);
	if (rcore_error_class(rep) == RCORE_ERR_NOSCRIPT) {
		/* Redis lost its script cache; EVAL also puts the script back into it. */
		freeReplyObject(rep);
		n = rcore_script_argv(s, 1, nkeys, argc, argv, argvlen, av, al, nk);
		rep = round_trip(r, n, av, al, err, errlen);
	}
	return no_error(rep, err, errlen);
}
