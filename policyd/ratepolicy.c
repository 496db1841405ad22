/*
 * ratepolicy - see ratepolicy.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "ratepolicy.h"
#include "lua_scripts.h"
#include "msg.h"
#include "ratelimit.h"
#include "ratespec.h"
#include "ratetx.h"
#include "util.h"
#include "pmetrics.h"

#define LIM_MAX_DOMAINS 8
#define LIM_BUCKETS 65536
#define LIM_MAX_INSTANCES 100000
#define LIM_INSTANCE_TTL_MS (3600 * 1000LL)

/* Inbound domains of one message, from RCPT to END-OF-MESSAGE. */
struct lim_inst {
	struct lim_inst *hnext; /* hash chain */
	struct lim_inst *older, *newer; /* FIFO by age */
	char *id;
	long long born;
	int ndom;
	char *dom[LIM_MAX_DOMAINS];
	long long nrcpt[LIM_MAX_DOMAINS];
};

struct ratepolicy {
	struct rg_redis *r;
	struct rg_script *s;
	struct lim_inst *bucket[LIM_BUCKETS];
	struct lim_inst *oldest, *newest;
	int ninst;
};

struct lim_job {
	struct ratepolicy *l;
	enum ratelimit_mode mode;
	char prefix[64];
	char id[RATETX_ID_MAX], tag[128];
	long long lifetime_ms;
	int n, next;
	ratepolicy_cb cb;
	void *arg;
	/* Last, and not zeroed: only [0, n) is ever read. */
	struct ratetx_subject subj[RATETX_MAX_SUBJECTS];
	long long incr[RATETX_MAX_SUBJECTS];
};

struct ratepolicy *
ratepolicy_new(struct rg_redis *r)
{
	struct ratepolicy *l = xcalloc(1, sizeof(*l));

	l->r = r;
	l->s = rg_redis_script_new(r, "ratelimit", rg_lua_ratelimit);
	return l;
}

static unsigned
lim_hash(const char *id)
{
	return (unsigned)(rg_hash64(id, strlen(id), RG_HASH64_SEED) % LIM_BUCKETS);
}

static void
lim_inst_drop(struct ratepolicy *l, struct lim_inst *in)
{
	struct lim_inst **pp = &l->bucket[lim_hash(in->id)];

	while (*pp && *pp != in)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = in->hnext;
	if (in->older)
		in->older->newer = in->newer;
	else
		l->oldest = in->newer;
	if (in->newer)
		in->newer->older = in->older;
	else
		l->newest = in->older;
	for (int i = 0; i < in->ndom; i++)
		free(in->dom[i]);
	free(in->id);
	free(in);
	l->ninst--;
}

static struct lim_inst *
lim_inst_find(struct ratepolicy *l, const char *id, int create)
{
	struct lim_inst *in;
	long long now = rg_mono_ms();
	unsigned h = lim_hash(id);

	/* Messages that never reached END-OF-MESSAGE age out here. */
	while (l->oldest && (now - l->oldest->born > LIM_INSTANCE_TTL_MS || l->ninst >= LIM_MAX_INSTANCES))
		lim_inst_drop(l, l->oldest);
	for (in = l->bucket[h]; in; in = in->hnext)
		if (strcmp(in->id, id) == 0)
			return in;
	if (!create)
		return NULL;
	in = xcalloc(1, sizeof(*in));
	in->id = xstrdup(id);
	in->born = now;
	in->hnext = l->bucket[h];
	l->bucket[h] = in;
	in->older = l->newest;
	if (l->newest)
		l->newest->newer = in;
	else
		l->oldest = in;
	l->newest = in;
	l->ninst++;
	return in;
}

void
ratepolicy_free(struct ratepolicy *l)
{
	if (l == NULL)
		return;
	while (l->oldest)
		lim_inst_drop(l, l->oldest);
	free(l);
}

static void lim_run(struct lim_job *j);

static void
lim_reply(const redisReply *reply, const char *err, void *arg)
{
	struct lim_job *j = arg;
	struct ratetx_subject *s = &j->subj[j->next];
	struct ratelimit_result res;
	char perr[160], text[512];
	int rc;

	if (err) {
		j->cb(0, NULL, err, j->arg);
		free(j);
		return;
	}
	rc = ratelimit_parse_reply(reply, s->nrates, &res, perr, sizeof(perr));
	if (rc < 0) {
		j->cb(0, NULL, perr, j->arg);
		free(j);
		return;
	}
	if (rc == 1 && j->mode == RATELIMIT_RESERVE) {
		rg_metric_inc(pm_ratelimit, s->kind);
		ratelimit_reply_text(text, sizeof(text), &res, s->per_rcpt ? "recipient" : "message", s->what,
				     s->subject);
		j->cb(1, text, NULL, j->arg);
		free(j);
		return;
	}
	j->next++;
	lim_run(j);
}

static void
lim_run(struct lim_job *j)
{
	struct ratelimit_call call, *c = &call; /* used before rg_redis_eval returns */
	struct ratetx_subject *s;
	struct ratelimit_tx tx = {.id = j->id, .tag = j->tag, .lifetime_ms = j->lifetime_ms};
	char err[160];

	if (j->next >= j->n) {
		j->cb(0, NULL, NULL, j->arg);
		free(j);
		return;
	}
	s = &j->subj[j->next];
	tx.per_rcpt = s->per_rcpt;
	if (ratelimit_build_tx(c, "EVALSHA", "-", j->prefix, s->kind, s->subject, j->mode, 0,
			       j->incr[j->next], s->rates, s->nrates, &tx, err, sizeof(err)) != 0) {
		char safe[300];

		msg_warn("ratelimit: %s %s: %s", s->kind,
			 rg_sanitize(safe, sizeof(safe), s->subject, strlen(s->subject)), err);
		j->next++;
		lim_run(j);
		return;
	}
	rg_redis_eval(j->l->r, j->l->s, c->nkeys, c->argc - 3, c->argv + 3, c->argvlen + 3, lim_reply, j);
}

/*
 * The message's transaction (ratetx.h): the SMTP connection as Postfix
 * describes it, tagged with the instance. Without client_port (an older
 * Postfix, a test client) the instance alone names it: policyd's own
 * commit still works, a milter's cannot find it (the lifetime ends it).
 */
static struct lim_job *
lim_job_new(struct ratepolicy *l, enum ratelimit_mode mode, const struct rg_params *g, const struct preq *q,
	    ratepolicy_cb cb, void *arg)
{
	struct lim_job *j = xmalloc(sizeof(*j));
	const char *inst = preq_get(q, PREQ_INSTANCE);

	memset(j, 0, offsetof(struct lim_job, subj));
	j->l = l;
	j->mode = mode;
	rg_strlcpy(j->prefix, g->redis_key_prefix, sizeof(j->prefix));
	j->lifetime_ms = g->rate_limit_reservation_lifetime;
	if (strspn(inst, "0123456789abcdefABCDEF.") == strlen(inst))
		rg_strlcpy(j->tag, inst, sizeof(j->tag));
	if (ratetx_id(j->id, sizeof(j->id), g->myhostname, preq_get(q, PREQ_SERVER_ADDRESS),
		      preq_get(q, PREQ_SERVER_PORT), preq_get(q, PREQ_CLIENT_ADDRESS),
		      preq_get(q, PREQ_CLIENT_PORT)) != 0) {
		static int warned; /* single-threaded: once per process is enough */

		snprintf(j->id, sizeof(j->id), "%s|instance:%s", g->myhostname, *j->tag ? j->tag : "-");
		if (!warned && g->rate_limit_commit == RG_RATE_COMMIT_MILTER) {
			warned = 1;
			msg_warn(
			    "ratelimit: policy requests carry no client_port/server_address/server_port: "
			    "the milter cannot end these reservations (they end by their lifetime)");
		}
	}
	j->cb = cb;
	j->arg = arg;
	return j;
}

/* Every subject gets the same increment. */
static void
lim_set_incr(struct lim_job *j, int from, long long incr)
{
	for (int i = from; i < j->n; i++)
		j->incr[i] = incr;
}

void
ratepolicy_check(struct ratepolicy *l, const struct preq *q, const struct rg_params *p, int outbound,
		 const struct rg_params *g, ratepolicy_cb cb, void *arg)
{
	struct lim_job *j = lim_job_new(l, RATELIMIT_RESERVE, g, q, cb, arg);
	const char *dom;

	if (outbound)
		j->n = ratetx_outbound(p, preq_get(q, PREQ_CLIENT_ADDRESS), preq_get(q, PREQ_SASL_USERNAME),
				       preq_get(q, PREQ_SENDER), j->subj, 0, RATETX_MAX_SUBJECTS);
	else if ((dom = rg_addr_domain(preq_get(q, PREQ_RECIPIENT))) != NULL)
		j->n = ratetx_inbound(p, dom, j->subj, 0, RATETX_MAX_SUBJECTS);
	lim_set_incr(j, 0, 1);
	lim_run(j);
}

void
ratepolicy_remember(struct ratepolicy *l, const struct preq *q)
{
	const char *dom = rg_addr_domain(preq_get(q, PREQ_RECIPIENT));
	struct lim_inst *in;
	int i;

	if (dom == NULL || *preq_get(q, PREQ_INSTANCE) == 0)
		return;
	in = lim_inst_find(l, preq_get(q, PREQ_INSTANCE), 1);
	for (i = 0; i < in->ndom; i++)
		if (strcasecmp(in->dom[i], dom) == 0)
			break;
	if (i == in->ndom && in->ndom < LIM_MAX_DOMAINS)
		in->dom[in->ndom++] = xstrdup(dom);
	if (i < in->ndom)
		in->nrcpt[i]++;
}

int
ratepolicy_instance_domains(struct ratepolicy *l, const char *instance, const char **doms, int max)
{
	struct lim_inst *in = lim_inst_find(l, instance, 0);
	int n = 0;

	for (int i = 0; in && i < in->ndom && n < max; i++)
		doms[n++] = in->dom[i];
	return n;
}

void
ratepolicy_count(struct ratepolicy *l, const struct rg_config *cfg, const struct preq *q, ratepolicy_cb cb,
		 void *arg)
{
	const struct rg_params *g = &cfg->global;
	int commit = g->rate_limit_commit == RG_RATE_COMMIT_POLICYD;
	struct lim_job *j = lim_job_new(l, RATELIMIT_COMMIT, g, q, cb, arg);
	const struct rg_entry *e;
	struct lim_inst *in;
	long long nrcpt = atoll(preq_get(q, PREQ_RECIPIENT_COUNT));

	if ((e = rg_config_client(cfg, preq_get(q, PREQ_CLIENT_ADDRESS))) != NULL) {
		if (commit) {
			j->n = ratetx_outbound(e->p, preq_get(q, PREQ_CLIENT_ADDRESS),
					       preq_get(q, PREQ_SASL_USERNAME), preq_get(q, PREQ_SENDER),
					       j->subj, 0, RATETX_MAX_SUBJECTS);
			lim_set_incr(j, 0, ratetx_per_rcpt(e->p) && nrcpt > 0 ? nrcpt : 1);
		}
	} else if (*preq_get(q, PREQ_INSTANCE) &&
		   (in = lim_inst_find(l, preq_get(q, PREQ_INSTANCE), 0)) != NULL) {
		for (int i = 0; commit && i < in->ndom; i++) {
			int before = j->n;

			if ((e = rg_config_domain(cfg, in->dom[i])) == NULL)
				continue;
			j->n = ratetx_inbound(e->p, in->dom[i], j->subj, j->n, RATETX_MAX_SUBJECTS);
			lim_set_incr(j, before, ratetx_per_rcpt(e->p) ? in->nrcpt[i] : 1);
		}
		lim_inst_drop(l, in);
	}
	/* rate_limit_commit = milter: the milter counts after its verdict. */
	lim_run(j);
}
