/*
 * slist - the spam sender lists (spam_sender_lists): per recipient domain
 * or recipient address, senders whose mail is never refused as spam
 * (allow), senders whose mail is spam (deny), and the recipient's own
 * spam_tag_score / spam_reject_score.
 *
 * File: one entry a line, '#' comments, blank lines ignored:
 *   <recipient>  allow              <pattern> [<pattern>...]
 *   <recipient>  deny               <pattern> [<pattern>...]
 *   <recipient>  spam_tag_score     <score>
 *   <recipient>  spam_reject_score  <score>
 * <recipient> is "domain" or "user@domain"; several lines for one
 * recipient add up. A <pattern> is "user@domain" (that sender), "@domain"
 * (any sender at that domain) or ".domain" (any sender at a subdomain of
 * it). Case-insensitive throughout. Errors are "file:line: message".
 *
 * Lookup: the recipient's address entry first, its domain's second. The
 * verdict comes from the first of them with a matching pattern; within one
 * entry the most specific pattern wins (address over @domain over .domain),
 * and deny over allow when equally specific. Each score comes from the
 * address entry if it sets it, else the domain entry.
 *
 * Ownership: immutable once loaded; thread-safe to read. Loaded with the
 * configuration snapshot (config.h), so a reload re-reads it and a broken
 * file keeps the old snapshot.
 *
 * Trust boundary: admin input; lines over 4 KiB and patterns over 254
 * bytes are errors, never cut silently.
 */
#ifndef RG_SLIST_H
#define RG_SLIST_H

#include "config.h"

enum rg_slist_verdict { RG_SLIST_NONE, RG_SLIST_ALLOW, RG_SLIST_DENY };

struct rg_slist_res {
	enum rg_slist_verdict verdict;
	int has_tag, has_reject;
	double tag, reject; /* valid when has_* */
};

struct rg_slist;

/* Load path; NULL with diagnostics in diag on any error. */
struct rg_slist *rg_slist_load(const char *path, struct rg_diag *diag);
void rg_slist_free(struct rg_slist *l);

/* The recipient's settings for mail from sender (l may be NULL: nothing listed). */
void rg_slist_lookup(const struct rg_slist *l, const char *rcpt, const char *sender,
		     struct rg_slist_res *res);

/* Do two results treat a message the same way? */
int rg_slist_same(const struct rg_slist_res *a, const struct rg_slist_res *b);

/* "allow", "deny" or "none". */
const char *rg_slist_verdict_name(enum rg_slist_verdict v);

#endif
