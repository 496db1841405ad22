/*
 * greylist_rcpt (prefix mgrey_) - greylisting after the recipient check. Postfix evaluates its
 * restrictions (and so relayguard-policyd) before a milter's RCPT step, so
 * a policy server that greylists cannot know yet that the recipient does
 * not exist: an unknown recipient would hear 450 first and 550 only on the
 * retry, and leave a triplet for a mailbox nobody has. For domains with
 * recipient_callout = yes, policyd therefore leaves greylisting to the
 * milter, which runs it right after the callout accepted the recipient:
 * the same script, keys and settings as policyd (src/greylist.h), the same
 * exemptions (SASL-authenticated clients, trusted_networks, the
 * greylist_whitelist_* files), the same X-Greylist header, and the same
 * SPF-aware triplets (greylist_spf, src/greyspf.h: the check runs in the
 * session's thread, bounded by greylist_spf_timeout).
 *
 * Contract: thread-safe. The whitelist files are read once per
 * configuration snapshot (a reload brings a new one). A Redis failure
 * accepts the recipient (policy_failure_action dunno) or tempfails it
 * (defer, defer_if_permit), as policyd would.
 */
#ifndef RG_MILTER_MGREY_H
#define RG_MILTER_MGREY_H

#include "config.h"
#include "redis_pool.h"

enum mgrey_action { MGREY_ACCEPT, MGREY_DEFER };

struct mgrey_req {
	struct rg_config *cfg; /* the message's snapshot */
	const struct rg_params *p; /* the recipient domain's settings */
	const char *client_addr, *client_name, *sasl_user, *sender, *rcpt; /* "" if unknown */
	const char *helo; /* for greylist_spf's SPF check; NULL or "" if unknown */
};

struct mgrey_out {
	enum mgrey_action action;
	char text[300]; /* reply text for 450 4.7.1 when deferred */
	long long delayed; /* >= 0: the triplet just passed after this many seconds */
	char log[800]; /* "action=... state=... ..." (and greylist_spf's "spf=... triplet=...") */
};

/* Do two settings greylist a message the same way? (the 452 split) */
int mgrey_same_settings(const struct rg_params *a, const struct rg_params *b);

/* Greylist one recipient the callout accepted (r: the milter's Redis client). */
void mgrey_rcpt(struct rg_redis_pool *r, const struct mgrey_req *req, struct mgrey_out *out);

#endif
