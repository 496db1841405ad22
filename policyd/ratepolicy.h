/*
 * ratepolicy - rate limits as the policy pipeline applies them: checked and
 * reserved at RCPT in one step (so a client over its limit hears 450 before
 * DATA, and messages in flight on any node hold their places), counted at
 * END-OF-MESSAGE only with rate_limit_commit = policyd (else the milter
 * counts after its verdict; see ratetx.h for the transaction both name).
 *
 * Subjects: see ratetx.h. At END-OF-MESSAGE Postfix sends no recipient, so
 * the inbound domains seen at RCPT are remembered per message "instance"
 * (bounded table, entries expire after an hour; see ratepolicy_remember).
 *
 * Each subject is one EVALSHA of ratelimit.lua carrying all its limits.
 * Contract: single-threaded (event loop); the callback fires exactly once.
 */
#ifndef RG_POLICYD_RATEPOLICY_H
#define RG_POLICYD_RATEPOLICY_H

#include "config.h"
#include "redis.h"
#include "request.h"

struct ratepolicy;

/* Outcome: over == 1 with the 450 reply text, or an error (Redis). */
typedef void (*ratepolicy_cb)(int over, const char *reply, const char *err, void *arg);

struct ratepolicy *ratepolicy_new(struct rg_redis *r);
void ratepolicy_free(struct ratepolicy *l);

/*
 * RCPT stage: check and reserve every subject that applies (one EVALSHA
 * each). outbound: p is the client's settings; inbound: p is the recipient
 * domain's. g: the global settings (key prefix, myhostname, lifetime).
 * Call it last in the pipeline: nothing after it may refuse the recipient
 * but Postfix and the milter (which gives the reservation back).
 */
void ratepolicy_check(struct ratepolicy *l, const struct preq *q, const struct rg_params *p, int outbound,
		      const struct rg_params *g, ratepolicy_cb cb, void *arg);

/*
 * Remember an accepted inbound recipient's domain for its message instance
 * (END-OF-MESSAGE carries no recipient). Called only for accepted
 * recipients: a deferred or rejected one never reaches END-OF-MESSAGE, and
 * greylisting defers most first attempts, so they would only fill the table.
 */
void ratepolicy_remember(struct ratepolicy *l, const struct preq *q);

/* Inbound domains seen at RCPT for a message instance (pointers valid until
 * ratepolicy_count). Returns how many were written to doms (at most max). */
int ratepolicy_instance_domains(struct ratepolicy *l, const char *instance, const char **doms, int max);

/* END-OF-MESSAGE: with rate_limit_commit = policyd, count the message against
 * every subject that applies (and end its reservations); forget its instance. */
void ratepolicy_count(struct ratepolicy *l, const struct rg_config *cfg, const struct preq *q,
		      ratepolicy_cb cb, void *arg);

#endif
