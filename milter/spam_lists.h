/*
 * spam_lists - what a recipient's spam sender lists (src/slist.h) do to
 * the spam scan of one message:
 *   allow: never refused as spam (spam_reject off), still scanned and tagged;
 *   deny:  refused as spam (550 5.7.1, spamd not asked) where the class
 *          rejects spam; elsewhere scanned and tagged as spam whatever the
 *          score (the tag threshold becomes -1000, which X-Spam-Status shows
 *          as required=-1000.0);
 *   the recipient's spam_tag_score / spam_reject_score replace the class's.
 *
 * Contract: pure; thread-safe. The message's recipients all share one
 * result (session.c splits the others off with 452), so one applies.
 */
#ifndef RG_MILTER_SPAM_LISTS_H
#define RG_MILTER_SPAM_LISTS_H

#include "config.h"
#include "slist.h"

/* The settings the spam scan uses: p itself, or *eff (a copy of p with the lists applied). */
const struct rg_params *spam_lists_params(const struct rg_params *p, const struct rg_slist_res *sl,
					  struct rg_params *eff);

/* Refused as spam without a scan (deny where the class rejects spam)? */
int spam_lists_refuse(const struct rg_params *p, const struct rg_slist_res *sl);

#endif
