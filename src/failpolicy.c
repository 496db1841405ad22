/*
 * failpolicy - see failpolicy.h.
 */
#include <stdio.h>

#include "failpolicy.h"

/* The fail-open values of the failure actions. */
static int
fp_policy_open(const struct rg_params *g)
{
	return g->policy_failure_action == RG_POLICY_FAIL_DUNNO;
}

/* One class's (or the global) settings. */
static int
fp_class(const struct rg_config *cfg, const char *who, const struct rg_params *p, const char *prog, FILE *fp)
{
	const struct rg_params *g = &cfg->global;
	int n = 0;

	if (p->greylisting && fp_policy_open(g)) {
		fprintf(fp,
			"%s: warning: %s: greylisting = yes, but policy_failure_action = dunno: while Redis "
			"is unreachable its mail is not greylisted (fail-open)\n",
			prog, who);
		n++;
	}
	if ((p->rate_limits.argc || p->inbound_rate_limits.argc || p->sasl_rate_limits.argc ||
	     p->sender_domain_rate_limits.argc) &&
	    fp_policy_open(g)) {
		fprintf(fp,
			"%s: warning: %s: rate limits are set, but policy_failure_action = dunno: while "
			"Redis is unreachable they are not enforced (fail-open)\n",
			prog, who);
		n++;
	}
	if (p->spam_scan && p->spam_failure_action == RG_SPAM_FAIL_ACCEPT) {
		fprintf(fp,
			"%s: warning: %s: spam_scan = yes, but spam_failure_action = accept: while spamd "
			"fails its mail is delivered unscanned (fail-open)\n",
			prog, who);
		n++;
	}
	if (p->virus_scan && p->virus_failure_action == RG_VIRUS_FAIL_ACCEPT) {
		fprintf(fp,
			"%s: warning: %s: virus_scan = yes, but virus_failure_action = accept: while clamd "
			"fails its mail is delivered without a virus scan (fail-open)\n",
			prog, who);
		n++;
	}
	if (p->recipient_callout && p->callout_unknown_action == RG_CALLOUT_UNKNOWN_ACCEPT) {
		fprintf(fp,
			"%s: warning: %s: recipient_callout = yes, but callout_unknown_action = accept: "
			"while the customer's server cannot be asked, uncached recipients are accepted "
			"(for callout_down_backoff = %llds after a failure; backscatter risk, fail-open)\n",
			prog, who, (long long)(g->callout_down_backoff / 1000));
		n++;
	}
	return n;
}

int
rg_failpolicy_warn(const struct rg_config *cfg, const char *prog, FILE *fp)
{
	char who[128];
	int n = 0;

	/* Classes only: every customer has one, and the global settings reach
	 * customers through them (one line each, not two). */
	for (int i = 0; i < cfg->nclasses; i++) {
		snprintf(who, sizeof(who), "class %s", cfg->class_names[i]);
		n += fp_class(cfg, who, cfg->class_params[i], prog, fp);
	}
	return n;
}
