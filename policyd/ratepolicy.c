/*
 * ratepolicy - see limits.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "ratepolicy.h"
#include "lua_scripts.h"
#include "msg.h"
#include "ratelimit.h"
#include "util.h"
#include "pmetrics.h"

#define LIM_MAX_SUBJECTS 4
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

struct lim_subject {
	const char *kind, *what;
	char subject[256];
	struct rg_rate rates[RG_RATE_MAX];
	int nrates;
	long long incr;
	const char *unit;
};

struct lim_job {
	struct ratepolicy *l;
	enum ratelimit_mode mode;
	char prefix[64];
	int n, next;
	struct lim_subject subj[LIM_MAX_SUBJECTS + LIM_MAX_DOMAINS];
	ratepolicy_cb cb;
	void *arg;
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

/* Add a subject when its list has limits. Returns 1 if added. */
static int
lim_add(struct lim_job *j, const struct rg_rates *spec, const char *kind, const char *what,
	const char *subject, long long incr, const char *unit)
{
	struct lim_subject *s = &j->subj[j->n];

	if (spec->n <= 0 || *subject == 0 || j->n >= (int)(sizeof(j->subj) / sizeof(j->subj[0])))
		return 0;
	/* Parsed once at load (struct rg_rates, config.h). */
	memcpy(s->rates, spec->v, (size_t)spec->n * sizeof(s->rates[0]));
	s->nrates = spec->n;
	s->kind = kind;
	s->what = what;
	s->incr = incr;
	s->unit = unit;
	if (strlen(subject) < sizeof(s->subject)) {
		rg_strlcpy(s->subject, subject, sizeof(s->subject));
		rg_lowercase(s->subject);
	} else {
		/* Never cut: two long subjects sharing a prefix are two counters. */
		char *t = rg_lowercase(xstrdup(subject));

		snprintf(s->subject, sizeof(s->subject), "%.200s...#%016llx", t,
			 rg_hash64(t, strlen(t), RG_HASH64_SEED));
		free(t);
	}
	j->n++;
	return 1;
}

static void lim_run(struct lim_job *j);

static void
lim_reply(const redisReply *reply, const char *err, void *arg)
{
	struct lim_job *j = arg;
	struct lim_subject *s = &j->subj[j->next];
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
	if (rc == 1 && j->mode == RATELIMIT_CHECK) {
		rg_metric_inc(pm_ratelimit, s->kind);
		ratelimit_reply_text(text, sizeof(text), &res, s->unit, s->what, s->subject);
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
	struct ratelimit_call *c;
	struct lim_subject *s;
	char err[160];

	if (j->next >= j->n) {
		j->cb(0, NULL, NULL, j->arg);
		free(j);
		return;
	}
	s = &j->subj[j->next];
	c = xmalloc(sizeof(*c));
	if (ratelimit_build(c, "EVALSHA", "-", j->prefix, s->kind, s->subject, j->mode, 0, s->incr, s->rates,
			    s->nrates, err, sizeof(err)) != 0) {
		free(c);
		char safe[300];

		msg_warn("ratelimit: %s %s: %s", s->kind,
			 rg_sanitize(safe, sizeof(safe), s->subject, strlen(s->subject)), err);
		j->next++;
		lim_run(j);
		return;
	}
	rg_redis_eval(j->l->r, j->l->s, c->nkeys, c->argc - 3, c->argv + 3, c->argvlen + 3, lim_reply, j);
	free(c);
}

static struct lim_job *
lim_job_new(struct ratepolicy *l, enum ratelimit_mode mode, const char *prefix, ratepolicy_cb cb, void *arg)
{
	struct lim_job *j = xcalloc(1, sizeof(*j));

	j->l = l;
	j->mode = mode;
	rg_strlcpy(j->prefix, prefix, sizeof(j->prefix));
	j->cb = cb;
	j->arg = arg;
	return j;
}

static void
lim_outbound(struct lim_job *j, const struct preq *q, const struct rg_params *p, long long incr)
{
	const char *unit = p->rate_limit_unit == RG_RATE_UNIT_RECIPIENT ? "recipient" : "message";
	const char *sdom = rg_addr_domain(preq_get(q, PREQ_SENDER));

	lim_add(j, &p->rate_limits_rates, "client", "client", preq_get(q, PREQ_CLIENT_ADDRESS), incr, unit);
	lim_add(j, &p->sasl_rate_limits_rates, "sasl", "SASL user", preq_get(q, PREQ_SASL_USERNAME), incr,
		unit);
	if (sdom)
		lim_add(j, &p->sender_domain_rate_limits_rates, "sender", "sender domain", sdom, incr, unit);
}

void
ratepolicy_check(struct ratepolicy *l, const struct preq *q, const struct rg_params *p, int outbound,
		 const char *prefix, ratepolicy_cb cb, void *arg)
{
	struct lim_job *j = lim_job_new(l, RATELIMIT_CHECK, prefix, cb, arg);
	const char *dom;
	const char *unit = p->rate_limit_unit == RG_RATE_UNIT_RECIPIENT ? "recipient" : "message";

	if (outbound) {
		lim_outbound(j, q, p, 1);
	} else if ((dom = rg_addr_domain(preq_get(q, PREQ_RECIPIENT))) != NULL) {
		lim_add(j, &p->inbound_rate_limits_rates, "domain", "recipient domain", dom, 1, unit);
	}
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
ratepolicy_count(struct ratepolicy *l, const struct rg_config *cfg, const struct preq *q, const char *prefix,
		 ratepolicy_cb cb, void *arg)
{
	struct lim_job *j = lim_job_new(l, RATELIMIT_ADD, prefix, cb, arg);
	const struct rg_entry *e;
	struct lim_inst *in;
	long long nrcpt = atoll(preq_get(q, PREQ_RECIPIENT_COUNT));

	if ((e = rg_config_client(cfg, preq_get(q, PREQ_CLIENT_ADDRESS))) != NULL) {
		int per_rcpt = e->p->rate_limit_unit == RG_RATE_UNIT_RECIPIENT;

		lim_outbound(j, q, e->p, per_rcpt && nrcpt > 0 ? nrcpt : 1);
	} else if (*preq_get(q, PREQ_INSTANCE) &&
		   (in = lim_inst_find(l, preq_get(q, PREQ_INSTANCE), 0)) != NULL) {
		for (int i = 0; i < in->ndom; i++) {
			if ((e = rg_config_domain(cfg, in->dom[i])) == NULL)
				continue;
			int per_rcpt = e->p->rate_limit_unit == RG_RATE_UNIT_RECIPIENT;

			lim_add(j, &e->p->inbound_rate_limits_rates, "domain", "recipient domain", in->dom[i],
				per_rcpt ? in->nrcpt[i] : 1, per_rcpt ? "recipient" : "message");
		}
		lim_inst_drop(l, in);
	}
	lim_run(j);
}
