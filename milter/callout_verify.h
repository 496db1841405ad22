/*
 * verify - the recipient check at RCPT time ("callout"): is this recipient
 * one the customer's own server would accept? One call per recipient
 * decides accept / reject (550 5.1.1 with the downstream's text) /
 * tempfail, from, in order:
 *
 *   1. the address itself: one that could not be sent safely (control
 *      characters, space, angle brackets, over-long parts) is refused
 *      locally (501 5.1.3 / 553 5.1.3) and never reaches a downstream;
 *   2. harvest protection: a client with harvest_limit rejected recipients
 *      within harvest_window (counted in Redis, all relay nodes together)
 *      gets 450 4.7.1 for every further recipient;
 *   3. the cache in Redis (see callout_cache.h): a fresh entry answers; a stale
 *      one answers and is re-checked in the background (callout_refresh.h);
 *   4. otherwise the next hop (nexthop=, else the domain's MX hosts less
 *      this relay's own names), asked in the message's callout session,
 *      which stays open across the message's RCPT callbacks
 *      (verify_tx_end closes it); at most callout_concurrency sessions per
 *      hop in this process, none to a hop that failed within
 *      callout_down_backoff (in this process or, through Redis, on any
 *      node). Valid and invalid answers are cached; unknown ones never.
 *      Unknown (4xx, timeout, refused, hop down, Redis and cache both
 *      silent) -> callout_unknown_action.
 *
 * Only recipients the caller found in domain_table may be passed in: the
 * relay calls out for its customers' domains and nobody else's.
 *
 * Contract: verify_new/verify_free from the main thread; verify_rcpt and
 * verify_tx_end from any thread, a transaction (struct verify_tx) from one
 * thread at a time. Redis failures never turn into a rejection: they make
 * a cache miss and an uncounted harvest. Every wait is bounded: one
 * verify_rcpt takes at most about callout_timeout plus two Redis timeouts.
 *
 * Trust boundary: the recipient comes from the SMTP client, replies from
 * the customer's server, values from Redis: all are bounded and sanitised
 * before they reach a log line, an SMTP reply or a command.
 */
#ifndef RG_MILTER_VERIFY_H
#define RG_MILTER_VERIFY_H

#include "config.h"

struct verify;
struct verify_tx;

/* The process-wide state: Redis client (g's redis_* settings), hop table, refresh workers. */
struct verify *verify_new(const struct rg_params *g);
/* Stop the refresh workers (their running checks end within their deadlines) and free. */
void verify_free(struct verify *v);
/* Say so when a reloaded configuration changes what only a restart applies. */
void verify_reload(struct verify *v, const struct rg_params *g);
/* The Redis pool (for the health check of mmetrics); lives as long as v. */
struct rg_redis_pool *verify_redis(struct verify *v);

struct verify_req {
	struct rg_config *cfg; /* the message's snapshot (a background re-check takes its own reference) */
	const struct rg_params *p; /* the recipient's settings, from cfg's domain_table entry */
	const char *rcpt; /* as the client sent it, without angle brackets; untrusted */
	const char *client_addr; /* client IP text, "" if unknown (no harvest counting then) */
};

enum verify_action { VERIFY_ACCEPT, VERIFY_REJECT, VERIFY_TEMPFAIL };

struct verify_out {
	enum verify_action action;
	char rcode[4], xcode[8]; /* for smfi_setreply when not ACCEPT */
	char text[256]; /* reply text: one printable line without '%' */
	char log[700]; /* "nexthop=... result=... cache=... latency_ms=... action=..." */
};

/*
 * Check one recipient of the transaction *tx (NULL at first: created on
 * demand). out says what to answer and what to log.
 */
void verify_rcpt(struct verify *v, struct verify_tx **tx, const struct verify_req *req,
		 struct verify_out *out);

/* End of the transaction's recipients: close its callout session, free it, set *tx NULL. */
void verify_tx_end(struct verify *v, struct verify_tx **tx);

#endif
