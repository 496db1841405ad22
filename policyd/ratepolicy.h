/*
 * ratepolicy - rate limits as the policy pipeline applies them: checked at RCPT
 * (so a client over its limit hears 450 before DATA), counted once per
 * message at END-OF-MESSAGE.
 *
 * Subjects: outbound client IP (rate_limits), SASL user (sasl_rate_limits),
 * sender domain (sender_domain_rate_limits); inbound recipient domain
 * (inbound_rate_limits). At END-OF-MESSAGE Postfix sends no recipient, so
 * the inbound domains seen at RCPT are remembered per message "instance"
 * (bounded table, entries expire after an hour).
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
 * RCPT stage: check every subject that applies. outbound: p is the client's
 * settings; inbound: p is the recipient domain's. Remembers inbound domains
 * for the message's instance.
 */
void ratepolicy_check(struct ratepolicy *l, const struct preq *q, const struct rg_params *p, int outbound,
		      const char *prefix, ratepolicy_cb cb, void *arg);

/* Inbound domains seen at RCPT for a message instance (pointers valid until
 * ratepolicy_count). Returns how many were written to doms (at most max). */
int ratepolicy_instance_domains(struct ratepolicy *l, const char *instance, const char **doms, int max);

/* END-OF-MESSAGE: count the message against every subject that applies. */
void ratepolicy_count(struct ratepolicy *l, const struct rg_config *cfg, const struct preq *q,
		      const char *prefix, ratepolicy_cb cb, void *arg);

#endif
