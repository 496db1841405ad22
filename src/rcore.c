/*
 * rcore - see rcore.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "rcore.h"
#include "rgm.h"
#include "sha1.h"
#include "util.h"

#define RCORE_BACKOFF_MIN 100

/* One address: the configuration's parsed one, else (a caller that filled only the text) parse it. */
static void
conf_addr(struct rg_endpoint *a, const struct rg_endpoint *parsed, const char *spec, unsigned flags,
	  int defport, const char *param)
{
	char err[160];

	if (parsed) {
		*a = *parsed;
		return;
	}
	if (rg_endpoint_parse(spec, flags, defport, a, err, sizeof(err)) != 0) {
		msg_warn("%s: %s; using 127.0.0.1:%d", param, err, defport);
		(void)rg_endpoint_parse("127.0.0.1", flags, defport, a, err, sizeof(err));
	}
}

void
rcore_conf_init(struct rcore_conf *c, const struct rg_params *g, const char *consequence)
{
	memset(c, 0, sizeof(*c));
	rg_strlcpy(c->server, g->redis_server ? g->redis_server : "127.0.0.1:6379", sizeof(c->server));
	conf_addr(&c->addr, g->redis_server_ep, c->server, 0, 6379, "redis_server");
	rg_strlcpy(c->password, g->redis_password ? g->redis_password : "", sizeof(c->password));
	if (g->redis_sentinels_ep.n > 0) {
		for (int i = 0; i < g->redis_sentinels_ep.n && c->nsentinels < RCORE_SENTINELS_MAX; i++)
			c->sentinels[c->nsentinels++] = g->redis_sentinels_ep.v[i];
	} else {
		for (int i = 0; i < g->redis_sentinels.argc && c->nsentinels < RCORE_SENTINELS_MAX; i++)
			conf_addr(&c->sentinels[c->nsentinels++], NULL, g->redis_sentinels.argv[i],
				  RG_EP_NOUNIX, 26379, "redis_sentinels");
	}
	if (c->nsentinels) {
		rg_strlcpy(c->master_name, g->redis_sentinel_master ? g->redis_sentinel_master : "",
			   sizeof(c->master_name));
		rg_strlcpy(c->sentinel_password, g->redis_sentinel_password ? g->redis_sentinel_password : "",
			   sizeof(c->sentinel_password));
		snprintf(c->server, sizeof(c->server), "sentinel master %s", c->master_name);
	}
	c->master_known = c->nsentinels == 0;
	c->db = (int)g->redis_database;
	c->connect_ms = g->redis_connect_timeout;
	c->timeout_ms = g->redis_timeout;
	c->max_backoff_ms = g->redis_reconnect_max_backoff;
	c->consequence = consequence;
}

void
rcore_conf_set_master(struct rcore_conf *c, const struct rg_endpoint *master)
{
	char t[280];
	int n;

	c->addr = *master;
	c->master_known = 1;
	n = snprintf(c->server, sizeof(c->server), "master %.*s at ", 100, c->master_name);
	if (n > 0 && (size_t)n < sizeof(c->server))
		rg_strlcpy(c->server + n, rcore_addr_text(master, t, sizeof(t)),
			   sizeof(c->server) - (size_t)n);
}

int
rcore_addr_same(const struct rg_endpoint *a, const struct rg_endpoint *b)
{
	return a->kind == b->kind && strcmp(a->path, b->path) == 0 && strcmp(a->host, b->host) == 0 &&
	       a->port == b->port;
}

int
rcore_conf_same(const struct rcore_conf *a, const struct rcore_conf *b)
{
	if (a->nsentinels != b->nsentinels || strcmp(a->password, b->password) != 0 || a->db != b->db ||
	    a->connect_ms != b->connect_ms || a->timeout_ms != b->timeout_ms ||
	    a->max_backoff_ms != b->max_backoff_ms)
		return 0;
	if (a->nsentinels == 0)
		return rcore_addr_same(&a->addr, &b->addr);
	if (strcmp(a->master_name, b->master_name) != 0 ||
	    strcmp(a->sentinel_password, b->sentinel_password) != 0)
		return 0;
	for (int i = 0; i < a->nsentinels; i++)
		if (!rcore_addr_same(&a->sentinels[i], &b->sentinels[i]))
			return 0;
	return 1;
}

char *
rcore_addr_text(const struct rg_endpoint *a, char *buf, size_t len)
{
	rg_endpoint_hostport(a, buf, len);
	return buf;
}

void
rcore_setup_build(const struct rcore_conf *c, int confirm_master, struct rcore_setup *s)
{
	memset(s, 0, sizeof(*s));
	if (*c->password) {
		s->cmd[s->n].argc = 2;
		s->cmd[s->n].argv[0] = "AUTH";
		s->cmd[s->n++].argv[1] = c->password;
	}
	if (c->db) {
		snprintf(s->db, sizeof(s->db), "%d", c->db);
		s->cmd[s->n].argc = 2;
		s->cmd[s->n].argv[0] = "SELECT";
		s->cmd[s->n++].argv[1] = s->db;
	}
	if (confirm_master) {
		s->cmd[s->n].argc = 1;
		s->cmd[s->n++].argv[0] = "ROLE";
	}
}

int
rcore_setup_check(const struct rcore_setup *s, int i, const redisReply *rep, char *err, size_t errlen)
{
	char t[160];

	if (rep == NULL) {
		snprintf(err, errlen, "%s: no reply", s->cmd[i].argv[0]);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s: %s", s->cmd[i].argv[0],
			 rg_sanitize(t, sizeof(t), rep->str, rep->len));
		return -1;
	}
	if (strcmp(s->cmd[i].argv[0], "ROLE") == 0 && rcore_parse_role(rep, t, sizeof(t)) != 1) {
		snprintf(err, errlen, "not the master (ROLE: %s)", t);
		return -1;
	}
	return 0;
}

const struct rcore_script *
rcore_script_get(struct rcore_scripts *reg, const char *name, const char *body)
{
	struct rcore_script *s;

	for (int i = 0; i < reg->n; i++)
		if (reg->s[i].body == body)
			return &reg->s[i];
	if (reg->n >= RCORE_SCRIPTS_MAX)
		return NULL;
	s = &reg->s[reg->n];
	s->name = name;
	s->body = body;
	rg_sha1_hex(body, strlen(body), s->sha);
	reg->n++;
	return s;
}

int
rcore_script_argv(const struct rcore_script *s, int use_eval, int nkeys, int argc, const char **argv,
		  const size_t *argvlen, const char **av, size_t *avl, char nk[16])
{
	rcore_u64_text(nk, nkeys > 0 ? (unsigned long long)nkeys : 0);
	av[0] = use_eval ? "EVAL" : "EVALSHA";
	av[1] = use_eval ? s->body : s->sha;
	av[2] = nk;
	for (int i = 0; i < 3; i++)
		avl[i] = strlen(av[i]);
	for (int i = 0; i < argc; i++) {
		av[3 + i] = argv[i];
		avl[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
	}
	return argc + 3;
}

size_t
rcore_u64_text(char *buf, unsigned long long v)
{
	char tmp[21];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = 0;
	return n;
}

/* "<mark><n>\r\n" at buf + o when it fits; returns the new offset either way. */
static size_t
resp_head(char *buf, size_t size, size_t o, char mark, unsigned long long n)
{
	char num[21];
	size_t k = rcore_u64_text(num, n);

	if (o + 1 + k + 2 <= size) {
		buf[o] = mark;
		memcpy(buf + o + 1, num, k);
		memcpy(buf + o + 1 + k, "\r\n", 2);
	}
	return o + 1 + k + 2;
}

size_t
rcore_resp_format(char *buf, size_t size, int argc, const char **av, const size_t *avl)
{
	size_t o = resp_head(buf, size, 0, '*', (unsigned long long)argc);

	for (int i = 0; i < argc; i++) {
		o = resp_head(buf, size, o, '$', avl[i]);
		if (o + avl[i] + 2 <= size) {
			memcpy(buf + o, av[i], avl[i]);
			memcpy(buf + o + avl[i], "\r\n", 2);
		}
		o += avl[i] + 2;
	}
	return o;
}

enum rcore_error
rcore_error_class(const redisReply *rep)
{
	static const struct {
		const char *word;
		enum rcore_error e;
	} words[] = {{"NOSCRIPT", RCORE_ERR_NOSCRIPT},
		     {"READONLY", RCORE_ERR_READONLY},
		     {"MASTERDOWN", RCORE_ERR_MASTERDOWN},
		     {"LOADING", RCORE_ERR_LOADING}};

	if (rep == NULL || rep->type != REDIS_REPLY_ERROR)
		return RCORE_ERR_OTHER;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);

		if (rep->len >= n && strncmp(rep->str, words[i].word, n) == 0 &&
		    (rep->len == n || rep->str[n] == ' '))
			return words[i].e;
	}
	return RCORE_ERR_OTHER;
}

int
rcore_error_rediscover(enum rcore_error e)
{
	return e == RCORE_ERR_READONLY || e == RCORE_ERR_MASTERDOWN || e == RCORE_ERR_LOADING;
}

void
rcore_health_init(struct rcore_health *h, const struct rcore_conf *c)
{
	memset(h, 0, sizeof(*h));
	h->backoff_ms = RCORE_BACKOFF_MIN;
	h->max_backoff_ms = c->max_backoff_ms;
}

int
rcore_health_fail(struct rcore_health *h, const struct rcore_conf *c, const char *why)
{
	if (h->down)
		return 0;
	h->down = 1;
	h->down_since = rg_mono_ms();
	h->failed = 0;
	h->st.outages++;
	rg_metric_inc(rgm_redis_outages);
	rg_metric_set(rgm_redis_up, 0);
	msg_warn("redis: server %s unavailable: %s; %s until it is back", c->server, why,
		 c->consequence ? c->consequence : "working without it");
	return 1;
}

void
rcore_health_affected(struct rcore_health *h)
{
	h->failed++;
	h->st.affected++;
}

long long
rcore_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
rcore_health_reply(struct rcore_health *h, long long us, const redisReply *rep)
{
	int error = rep->type == REDIS_REPLY_ERROR;

	if (us < 0)
		us = 0;
	rg_metric_observe(rgm_redis_latency, (double)us / 1e6);
	/* NOSCRIPT is answered by sending the script (EVAL): not a failure. */
	if (error && rcore_error_class(rep) != RCORE_ERR_NOSCRIPT)
		rg_metric_inc(rgm_redis_errors, "reply");
	h->st.replies++;
	h->st.error_replies += error;
	h->st.latency_us += (unsigned long long)us;
	if ((unsigned long long)us > h->st.latency_max_us)
		h->st.latency_max_us = (unsigned long long)us;
}

void
rcore_health_noreply(long long us, int timeout)
{
	if (us >= 0)
		rg_metric_observe(rgm_redis_latency, (double)us / 1e6);
	rg_metric_inc(rgm_redis_errors, timeout ? "timeout" : "connection");
}

void
rcore_health_ok(struct rcore_health *h, const struct rcore_conf *c)
{
	long long len;

	rg_metric_set(rgm_redis_up, 1);
	if (!h->down)
		return;
	len = rg_mono_ms() - h->down_since;
	h->st.outage_ms += (unsigned long long)len;
	msg_info("redis: server %s is back after %lld.%03llds; %lu requests were affected", c->server,
		 len / 1000, len % 1000, h->failed);
	h->down = 0;
	h->failed = 0;
	rcore_backoff_reset(h);
}

long long
rcore_backoff_next(struct rcore_health *h)
{
	long long ms = h->backoff_ms;

	h->backoff_ms = h->backoff_ms * 2 > h->max_backoff_ms ? h->max_backoff_ms : h->backoff_ms * 2;
	return ms;
}

void
rcore_backoff_reset(struct rcore_health *h)
{
	h->backoff_ms = RCORE_BACKOFF_MIN;
}

void
rcore_health_stats(const struct rcore_health *h, struct rg_redis_stats *st)
{
	*st = h->st;
	st->down = h->down;
	st->down_ms = h->down ? rg_mono_ms() - h->down_since : 0;
}

/* A bulk/status string reply's text, bounded; NULL for anything else. */
static const char *
reply_str(const redisReply *r, char *buf, size_t size)
{
	/* A NUL inside would cut the text: "master\0..." is not "master". */
	if (r == NULL || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) || r->len >= size ||
	    memchr(r->str, 0, r->len) != NULL)
		return NULL;
	memcpy(buf, r->str, r->len);
	buf[r->len] = 0;
	return buf;
}

static int
addr_from(struct rg_endpoint *a, const char *host, const char *port)
{
	char text[RG_EP_HOST_MAX + 16], err[160];

	/* Through the one address grammar, so that family and literal are what
	 * the same text in redis_server gives: "::1" an IPv6 literal (written
	 * "inet:[::1]:N", not "inet:::1:N"), "cafe" a host name to resolve. */
	memset(a, 0, sizeof(*a));
	if (*host == 0 || strlen(host) > RG_EP_HOST_MAX || *port == 0 || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port))
		return -1;
	snprintf(text, sizeof(text), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	return rg_endpoint_parse(text, RG_EP_NOUNIX, 0, a, err, sizeof(err)) == 0 ? 0 : -1;
}

int
rcore_parse_master_addr(const redisReply *rep, struct rg_endpoint *a, char *err, size_t errlen)
{
	char host[256], port[16], t[160];

	if (rep == NULL) {
		snprintf(err, errlen, "no reply");
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		rg_sanitize(t, sizeof(t), rep->str, rep->len);
		snprintf(err, errlen, "%s", *t ? t : "an empty error reply"); /* never an empty reason */
		return -1;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		snprintf(err, errlen, "unknown master name");
		return -1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    reply_str(rep->element[0], host, sizeof(host)) == NULL ||
	    reply_str(rep->element[1], port, sizeof(port)) == NULL || addr_from(a, host, port) < 0) {
		snprintf(err, errlen, "malformed reply to SENTINEL get-master-addr-by-name");
		return -1;
	}
	return 0;
}

int
rcore_parse_role(const redisReply *rep, char *err, size_t errlen)
{
	char role[32];

	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    reply_str(rep->element[0], role, sizeof(role)) == NULL) {
		snprintf(err, errlen, "malformed reply");
		return 0;
	}
	snprintf(err, errlen, "%s", printable(role));
	return strcmp(role, "master") == 0;
}

int
rcore_parse_switch_master(const char *msg, size_t len, const char *name, struct rg_endpoint *a)
{
	char buf[600], *w[5], *p = buf;
	int n = 0;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, msg, len);
	buf[len] = 0;
	while (n < 5) {
		while (*p == ' ')
			p++;
		if (*p == 0)
			break;
		w[n++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
	}
	while (*p == ' ')
		p++;
	if (n != 5 || *p != 0 || strcmp(w[0], name) != 0)
		return -1;
	return addr_from(a, w[3], w[4]);
}
