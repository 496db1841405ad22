/*
 * session_proto - see session_proto.h.
 */
#include <libmilter/mfapi.h>

#include "session_proto.h"
#include "table.h"

int
mproto_wants_body(const struct rg_params *p)
{
	/* SPF needs the envelope only */
	return p != NULL && (p->spam_scan || p->virus_scan || p->dkim_check);
}

static int
mproto_table_wants_body(const struct rg_table *t)
{
	int n = t ? rg_table_count(t) : 0;

	for (int i = 0; i < n; i++)
		if (mproto_wants_body(rg_table_at(t, i)->p))
			return 1;
	return 0;
}

int
mproto_cfg_wants_body(const struct rg_config *cfg)
{
	if (cfg == NULL)
		return 1; /* nothing known: keep the body */
	if (mproto_wants_body(&cfg->global))
		return 1;
	for (int i = 0; i < cfg->nclasses; i++)
		if (mproto_wants_body(cfg->class_params[i]))
			return 1;
	return mproto_table_wants_body(cfg->domains) || mproto_table_wants_body(cfg->clients);
}

unsigned long
mproto_steps(unsigned long offered, int want_body, int noreply)
{
	/* no-reply where the answer is always "continue" (see mproto.h for TCP) */
	unsigned long want =
	    noreply ? SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH : 0;

	/* steps not used at all; header values as they are (spamd sees the message unchanged) */
	want |= SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC;
	want |= want_body ? SMFIP_SKIP : SMFIP_NOBODY;
	return offered & want;
}

int
mproto_continue(unsigned long negotiated, unsigned long nr_bit)
{
	return (negotiated & nr_bit) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}
