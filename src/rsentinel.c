/*
 * rsentinel - see rsentinel.h.
 *
 * The agent's thread sleeps in poll() on its subscription (or on a pipe
 * that rsentinel_request/rsentinel_stop write to when it has none), so a
 * request or a +switch-master message wakes it at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "msg.h"
#include "rcap.h"
#include "rgm.h"
#include "rsentinel.h"
#include "util.h"

#define RSENTINEL_MIN_GAP_MS 100 /* between two discoveries */
#define RSENTINEL_SUB_RETRY_MS 1000

struct rsentinel {
	pthread_mutex_t lock;
	struct rcore_conf conf;
	rsentinel_notify fn;
	void *arg;
	int stop, want;
	unsigned gen; /* of conf, bumped by rsentinel_reconfigure */
	long long next_at; /* no discovery before (mono ms) */
	long long backoff_ms;
	int start; /* the Sentinel to ask first */
	int wake[2]; /* pipe: a byte means "look at want/stop" */
	char last_skip[RCORE_SENTINELS_MAX][160];
};

static struct timeval
tv_ms(long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

	return tv;
}

/* Append "what: why" to a "; "-separated list. */
static void
add_reason(char *all, size_t size, const char *what, const char *why)
{
	size_t o = strlen(all);

	if (o + 4 < size)
		snprintf(all + o, size - o, "%s%s: %s", o ? "; " : "", what, why);
}

/* A connection with the timeouts set, after AUTH password when not empty; NULL with err. */
static redisContext *
sconnect(const struct rcore_conf *c, const struct rg_endpoint *a, const char *password, char *err,
	 size_t errlen)
{
	redisContext *ctx = redisConnectWithTimeout(a->host, a->port, tv_ms(c->connect_ms));
	redisReply *rep;
	char t[160];

	if (ctx == NULL || ctx->err) {
		snprintf(err, errlen, "connect: %s", ctx ? ctx->errstr : "out of memory");
		if (ctx)
			redisFree(ctx);
		return NULL;
	}
	rcap_install(ctx);
	if (redisSetTimeout(ctx, tv_ms(c->timeout_ms)) != REDIS_OK) {
		snprintf(err, errlen, "cannot set the timeout");
		redisFree(ctx);
		return NULL;
	}
	if (*password) {
		rep = rcap_command_argv(ctx, 2, (const char *[]){"AUTH", password}, NULL);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "AUTH: %s",
				 rep ? rg_sanitize(t, sizeof(t), rep->str, rep->len) : ctx->errstr);
			if (rep)
				freeReplyObject(rep);
			redisFree(ctx);
			return NULL;
		}
		freeReplyObject(rep);
	}
	return ctx;
}

/* Ask Sentinel a for the master's address. */
static int
ask_sentinel(const struct rcore_conf *c, const struct rg_endpoint *a, struct rg_endpoint *m, char *err,
	     size_t errlen)
{
	redisContext *ctx = sconnect(c, a, c->sentinel_password, err, errlen);
	redisReply *rep;
	int rc;

	if (ctx == NULL)
		return -1;
	rep = rcap_command_argv(
	    ctx, 3, (const char *[]){"SENTINEL", "get-master-addr-by-name", c->master_name}, NULL);
	rc = rcore_parse_master_addr(rep, m, err, errlen);
	if (rep == NULL)
		snprintf(err, errlen, "%s", ctx->errstr[0] ? rcap_errstr(ctx) : "no reply");
	if (rep)
		freeReplyObject(rep);
	redisFree(ctx);
	return rc;
}

/* Is m really the master? */
static int
confirm_master(const struct rcore_conf *c, const struct rg_endpoint *m, char *err, size_t errlen)
{
	redisContext *ctx = sconnect(c, m, c->password, err, errlen);
	redisReply *rep;
	char role[64];
	int rc = -1;

	if (ctx == NULL)
		return -1;
	rep = rcap_command_argv(ctx, 1, (const char *[]){"ROLE"}, NULL);
	if (rep == NULL)
		snprintf(err, errlen, "ROLE: %s", ctx->errstr[0] ? rcap_errstr(ctx) : "no reply");
	else if (rcore_parse_role(rep, role, sizeof(role)) != 1)
		snprintf(err, errlen, "not the master (ROLE: %s)", role);
	else
		rc = 0;
	if (rep)
		freeReplyObject(rep);
	redisFree(ctx);
	return rc;
}

int
rsentinel_discover(const struct rcore_conf *c, int *start, struct rg_endpoint *master, char *err,
		   size_t errlen)
{
	char all[1024] = "", what[300], why[200], t[280];

	for (int k = 0; k < c->nsentinels; k++) {
		int i = (*start + k) % c->nsentinels;

		snprintf(what, sizeof(what), "sentinel %s", rcore_addr_text(&c->sentinels[i], t, sizeof(t)));
		if (ask_sentinel(c, &c->sentinels[i], master, why, sizeof(why)) < 0) {
			add_reason(all, sizeof(all), what, why);
			continue;
		}
		if (confirm_master(c, master, why, sizeof(why)) < 0) {
			snprintf(what + strlen(what), sizeof(what) - strlen(what), " -> %s",
				 rcore_addr_text(master, t, sizeof(t)));
			add_reason(all, sizeof(all), what, why);
			continue;
		}
		*start = i;
		snprintf(err, errlen, "%s", all); /* the Sentinels skipped */
		rg_metric_inc(rgm_sentinel_discoveries, "ok");
		return 0;
	}
	snprintf(err, errlen, "no master for %s: %s", c->master_name, all[0] ? all : "no Sentinels");
	rg_metric_inc(rgm_sentinel_discoveries, "failed");
	return -1;
}

static void
wake(struct rsentinel *s)
{
	ssize_t n = write(s->wake[1], "x", 1);

	(void)n; /* a full pipe wakes the thread just as well */
}

void
rsentinel_request(struct rsentinel *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock); /* held while waking: the thread frees s only after taking it */
	s->want = 1;
	wake(s);
	pthread_mutex_unlock(&s->lock);
}

void
rsentinel_reconfigure(struct rsentinel *s, const struct rcore_conf *c)
{
	pthread_mutex_lock(&s->lock);
	s->conf = *c;
	s->gen++;
	s->want = c->nsentinels > 0;
	s->next_at = 0;
	s->start = 0;
	s->backoff_ms = RSENTINEL_MIN_GAP_MS;
	memset(s->last_skip, 0, sizeof(s->last_skip));
	wake(s);
	pthread_mutex_unlock(&s->lock);
}

void
rsentinel_stop(struct rsentinel *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	wake(s);
	pthread_mutex_unlock(&s->lock);
}

/* A subscription to +switch-master on one of c's Sentinels (from start on), or NULL. */
static redisContext *
subscribe(const struct rcore_conf *c, int start)
{
	char err[200];

	for (int k = 0; k < c->nsentinels; k++) {
		int i = (start + k) % c->nsentinels;
		redisContext *ctx = sconnect(c, &c->sentinels[i], c->sentinel_password, err, sizeof(err));
		redisReply *rep;

		struct rg_endpoint m;

		if (ctx == NULL)
			continue;
		/* Only a Sentinel that watches our master announces its switch. */
		rep = rcap_command_argv(
		    ctx, 3, (const char *[]){"SENTINEL", "get-master-addr-by-name", c->master_name}, NULL);
		if (rcore_parse_master_addr(rep, &m, err, sizeof(err)) < 0) {
			if (rep)
				freeReplyObject(rep);
			redisFree(ctx);
			continue;
		}
		freeReplyObject(rep);
		rep = rcap_command_argv(ctx, 2, (const char *[]){"SUBSCRIBE", "+switch-master"}, NULL);
		if (rep && rep->type == REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return ctx;
		}
		if (rep)
			freeReplyObject(rep);
		redisFree(ctx);
	}
	return NULL;
}

/* Read what the subscription has; 1 if a switch of our master was announced, -1 if it failed. */
static int
read_sub(const char *name, redisContext *ctx)
{
	void *rv;
	int hit = 0;

	if (redisBufferRead(ctx) != REDIS_OK || rcap_check(ctx) != 0)
		return -1;
	for (;;) {
		redisReply *rep;
		struct rg_endpoint a;

		if (redisGetReplyFromReader(ctx, &rv) != REDIS_OK)
			return -1;
		if ((rep = rv) == NULL)
			break;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
		    rep->element[2]->type == REDIS_REPLY_STRING &&
		    rcore_parse_switch_master(rep->element[2]->str, rep->element[2]->len, name, &a) == 0)
			hit = 1;
		freeReplyObject(rep);
	}
	return hit;
}

/* Log a Sentinel that was skipped, once per reason. */
static void
log_skips(struct rsentinel *s, const char *err)
{
	char t[280], key[300];

	for (int i = 0; i < s->conf.nsentinels; i++) {
		const char *p;
		size_t n;

		snprintf(key, sizeof(key),
			 "sentinel %s: ", rcore_addr_text(&s->conf.sentinels[i], t, sizeof(t)));
		if ((p = strstr(err, key)) == NULL) {
			s->last_skip[i][0] = 0;
			continue;
		}
		p += strlen(key);
		n = strcspn(p, ";");
		if (n >= sizeof(s->last_skip[i]))
			n = sizeof(s->last_skip[i]) - 1;
		if (strncmp(s->last_skip[i], p, n) == 0 && s->last_skip[i][n] == 0)
			continue;
		memcpy(s->last_skip[i], p, n);
		s->last_skip[i][n] = 0;
		msg_warn("redis: %s%s; asking the next", key, s->last_skip[i]);
	}
}

static void *
agent_main(void *arg)
{
	struct rsentinel *s = arg;
	redisContext *sub = NULL;
	long long sub_retry = 0;
	unsigned sub_gen = 0;
	char buf[64];

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		long long now = rg_mono_ms(), wait_ms = 1000;
		struct pollfd pf[2];
		int np = 0;
		char name[RCORE_NAME_MAX];

		if (s->want && now >= s->next_at) {
			struct rg_endpoint m;
			struct rcore_conf c = s->conf;
			char err[1024];
			int start = s->start, rc;
			unsigned gen = s->gen;

			s->want = 0;
			pthread_mutex_unlock(&s->lock);
			rc = rsentinel_discover(&c, &start, &m, err, sizeof(err));
			pthread_mutex_lock(&s->lock);
			if (s->stop)
				break;
			if (gen != s->gen) /* asked under settings replaced meanwhile */
				continue;
			s->start = start;
			now = rg_mono_ms();
			if (rc == 0) {
				s->backoff_ms = RSENTINEL_MIN_GAP_MS;
				s->next_at = now + RSENTINEL_MIN_GAP_MS;
				log_skips(s, err);
			} else {
				/* Nobody may ask again: keep trying with backoff. */
				s->want = 1;
				s->next_at = now + s->backoff_ms;
				s->backoff_ms = s->backoff_ms * 2 > s->conf.max_backoff_ms
						    ? s->conf.max_backoff_ms
						    : s->backoff_ms * 2;
			}
			s->fn(s->arg, rc == 0 ? &m : NULL, rc == 0 ? NULL : err); /* under s->lock, see .h */
			continue;
		}
		if (s->want)
			wait_ms = s->next_at - now;
		rg_strlcpy(name, s->conf.master_name, sizeof(name));
		if (sub && sub_gen != s->gen) {
			redisFree(sub);
			sub = NULL;
			sub_retry = 0;
		}
		if (sub == NULL && now >= sub_retry && s->conf.nsentinels > 0) {
			struct rcore_conf c = s->conf;
			int start = s->start;

			sub_gen = s->gen;
			pthread_mutex_unlock(&s->lock);
			if ((sub = subscribe(&c, start)) == NULL)
				sub_retry = now + RSENTINEL_SUB_RETRY_MS;
		} else {
			pthread_mutex_unlock(&s->lock);
		}
		if (sub == NULL && sub_retry < now + 1)
			sub_retry = now + RSENTINEL_SUB_RETRY_MS;
		pf[np].fd = s->wake[0];
		pf[np++].events = POLLIN;
		if (sub) {
			pf[np].fd = sub->fd;
			pf[np++].events = POLLIN;
		} else if (wait_ms > sub_retry - now) {
			wait_ms = sub_retry - now;
		}
		if (wait_ms < 1)
			wait_ms = 1;
		if (poll(pf, (nfds_t)np, (int)wait_ms) > 0) {
			if (pf[0].revents)
				while (read(s->wake[0], buf, sizeof(buf)) > 0)
					;
			if (np > 1 && pf[1].revents) {
				int hit = read_sub(name, sub);

				if (hit < 0) {
					redisFree(sub);
					sub = NULL;
					sub_retry = rg_mono_ms() + RSENTINEL_SUB_RETRY_MS / 2;
				}
				if (hit != 0) { /* a switch, or a Sentinel gone: look again */
					pthread_mutex_lock(&s->lock);
					s->want = 1;
					s->next_at = 0;
					pthread_mutex_unlock(&s->lock);
				}
			}
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	if (sub)
		redisFree(sub);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

struct rsentinel *
rsentinel_start(const struct rcore_conf *c, int start, int want_now, rsentinel_notify fn, void *arg)
{
	struct rsentinel *s = xcalloc(1, sizeof(*s));
	pthread_t t;
	pthread_attr_t at;

	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		msg_fatal("rsentinel: pipe: %s", strerror(errno));
	pthread_mutex_init(&s->lock, NULL);
	s->conf = *c;
	s->fn = fn;
	s->arg = arg;
	s->want = want_now;
	s->start = c->nsentinels ? start % c->nsentinels : 0;
	s->backoff_ms = RSENTINEL_MIN_GAP_MS;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, agent_main, s) != 0)
		msg_fatal("rsentinel: cannot start a thread");
	pthread_attr_destroy(&at);
	return s;
}
