/*
 * spam_lists - see spam_lists.h.
 */
#include "spam_lists.h"

const struct rg_params *
spam_lists_params(const struct rg_params *p, const struct rg_slist_res *sl, struct rg_params *eff)
{
	if (sl->verdict == RG_SLIST_NONE && !sl->has_tag && !sl->has_reject)
		return p;
	*eff = *p; /* shallow: the strings stay the snapshot's */
	if (sl->has_tag)
		eff->spam_tag_score = sl->tag;
	if (sl->has_reject)
		eff->spam_reject_score = sl->reject;
	if (sl->verdict == RG_SLIST_ALLOW)
		eff->spam_reject = 0;
	else if (sl->verdict == RG_SLIST_DENY)
		eff->spam_tag_score = -1000;
	return eff;
}

int
spam_lists_refuse(const struct rg_params *p, const struct rg_slist_res *sl)
{
	return sl->verdict == RG_SLIST_DENY && p->spam_reject;
}
