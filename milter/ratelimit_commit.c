/*
 * ratelimit_commit - see ratelimit_commit.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lua_scripts.h"
#include "ratelimit_commit.h"
#include "redis_pool.h"
#include "msg.h"
#include "ratelimit.h"
#include "ratetx.h"
#include "util.h"

/* Connect-stage macros: Postfix's defaults plus what names the connection. */
#define MLIMIT_CONNECT_MACROS "j {daemon_name} {daemon_addr} {daemon_port} {client_addr} {client_port} v _"

static struct rg_redis_pool *ml_redis; /* set before smfi_main */

struct mlimit_msg {
	char id[RATETX_ID_MAX];
	char prefix[64];
	long long lifetime_ms;
	int outbound;
	long long nout; /* outbound: recipients accepted */
	int n;
	struct ratetx_subject subj[RATETX_MAX_SUBJECTS];
	long long accepted[RATETX_MAX_SUBJECTS]; /* inbound: per recipient domain */
};

void
mlimit_start(const struct rg_params *g)
{
	ml_redis = rg_redis_pool_new(g);
}

void
mlimit_reload(const struct rg_params *g)
{
	if (ml_redis)
		(void)rg_redis_pool_reconfigure(ml_redis, g);
}

struct rg_redis_pool *
mlimit_redis(void)
{
	return ml_redis;
}

void
mlimit_negotiate(SMFICTX *ctx)
{
	if (smfi_setsymlist(ctx, SMFIM_CONNECT, MLIMIT_CONNECT_MACROS) != MI_SUCCESS)
		msg_warn("milter: cannot ask for the connect macros; set milter_connect_macros = %s",
			 MLIMIT_CONNECT_MACROS);
}

static const char *
ml_sym(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v ? v : "";
}

struct mlimit_msg *
mlimit_msg_new(SMFICTX *ctx, const struct rg_config *cfg, const char *client_addr,
	       const struct rg_params *out, const char *sender)
{
	const struct rg_params *g = &cfg->global;
	struct mlimit_msg *m;
	char id[RATETX_ID_MAX];
	const char *caddr = ml_sym(ctx, "{client_addr}");

	if (ml_redis == NULL || g->rate_limit_commit != RG_RATE_COMMIT_MILTER)
		return NULL;
	if (*caddr == 0)
		caddr = client_addr;
	if (ratetx_id(id, sizeof(id), g->myhostname, ml_sym(ctx, "{daemon_addr}"),
		      ml_sym(ctx, "{daemon_port}"), caddr, ml_sym(ctx, "{client_port}")) != 0) {
		/* Said once per message that has limits, see below. */
		id[0] = 0;
	}
	m = xcalloc(1, sizeof(*m));
	rg_strlcpy(m->id, id, sizeof(m->id));
	rg_strlcpy(m->prefix, g->redis_key_prefix, sizeof(m->prefix));
	m->lifetime_ms = g->rate_limit_reservation_lifetime;
	if (out) {
		m->outbound = 1;
		m->n = ratetx_outbound(out, client_addr, ml_sym(ctx, "{auth_authen}"), sender, m->subj, 0,
				       RATETX_MAX_SUBJECTS);
	}
	return m;
}

void
mlimit_rcpt(struct mlimit_msg *m, const char *dom, const struct rg_params *p, int accepted)
{
	int i;

	if (m == NULL)
		return;
	if (m->outbound) {
		m->nout += accepted != 0;
		return;
	}
	if (dom == NULL || p == NULL)
		return;
	for (i = 0; i < m->n; i++)
		if (strcasecmp(m->subj[i].subject, dom) == 0)
			break;
	if (i == m->n && (m->n = ratetx_inbound(p, dom, m->subj, m->n, RATETX_MAX_SUBJECTS)) == i)
		return; /* no inbound limits for this domain (or no room) */
	m->accepted[i] += accepted != 0;
}

/* One subject: commit incr (0: release). */
static void
ml_end_subject(const struct mlimit_msg *m, const struct ratetx_subject *s, long long incr, const char *qid)
{
	struct ratelimit_tx tx = {
	    .id = m->id, .tag = "", .per_rcpt = s->per_rcpt, .lifetime_ms = m->lifetime_ms};
	struct ratelimit_call *c = xmalloc(sizeof(*c));
	enum ratelimit_mode mode = incr > 0 ? RATELIMIT_COMMIT : RATELIMIT_RELEASE;
	redisReply *rep;
	char err[256], subj[300];

	/* the subject came from the client (SASL user, sender domain) */
	rg_sanitize(subj, sizeof(subj), s->subject, strlen(s->subject));
	if (ratelimit_build_tx(c, "EVALSHA", "-", m->prefix, s->kind, s->subject, mode, 0, incr, s->rates,
			       s->nrates, &tx, err, sizeof(err)) != 0) {
		msg_warn("%s: milter: ratelimit: %s %s: %s", qid, s->kind, subj, err);
	} else if ((rep = rg_redis_pool_eval(ml_redis, rg_lua_ratelimit, c->nkeys, c->argc - 3, c->argv + 3,
					     c->argvlen + 3, err, sizeof(err))) == NULL) {
		/* An outage is logged once, by the pool; an error reply is worth a
		 * warning. Either way the reservation ends by its lifetime. */
		if (rg_redis_pool_up(ml_redis))
			msg_warn("%s: milter: ratelimit: %s %s not %s: %s", qid, s->kind, subj,
				 incr > 0 ? "counted" : "released", err);
	} else {
		msg_debug("%s: milter: ratelimit: %s %s %s %lld", qid, s->kind, subj,
			  incr > 0 ? "counted" : "released", incr);
		freeReplyObject(rep);
	}
	free(c);
}

void
mlimit_msg_end(struct mlimit_msg **mp, int accepted, const char *qid)
{
	struct mlimit_msg *m = *mp;

	if (m == NULL)
		return;
	*mp = NULL;
	if (m->n > 0 && m->id[0] == 0) {
		msg_warn("%s: milter: ratelimit: Postfix sent no {daemon_addr} {daemon_port} {client_port}: "
			 "set milter_connect_macros = %s; reservations end by their lifetime",
			 qid, MLIMIT_CONNECT_MACROS);
		free(m);
		return;
	}
	for (int i = 0; i < m->n; i++) {
		const struct ratetx_subject *s = &m->subj[i];
		long long n = m->outbound ? m->nout : m->accepted[i];

		if (!accepted || n == 0)
			ml_end_subject(m, s, 0, qid);
		else
			ml_end_subject(m, s, s->per_rcpt ? n : 1, qid);
	}
	free(m);
}
