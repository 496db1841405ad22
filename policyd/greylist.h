/*
 * greylist - the greylisting check of one (client network, sender,
 * recipient) triplet against Redis, with one EVALSHA of greylist.lua.
 *
 * Contract: single-threaded (event loop). The callback fires exactly once,
 * from the event loop. The strings passed in are copied as needed.
 */
#ifndef RG_POLICYD_GREYLIST_H
#define RG_POLICYD_GREYLIST_H

#include <stddef.h>

#include "config.h"
#include "redis.h"
#include "rkeys.h"

enum greylist_state {
	GREYLIST_ERROR, /* Redis failed: apply policy_failure_action */
	GREYLIST_NEW, /* defer, seconds = delay */
	GREYLIST_EARLY, /* defer, seconds = remaining */
	GREYLIST_PASS, /* accept, seconds = how long it was delayed */
	GREYLIST_KNOWN, /* accept, whitelisted triplet */
	GREYLIST_AWL /* accept, auto-whitelisted network */
};

typedef void (*greylist_cb)(enum greylist_state st, long long seconds, const char *err, void *arg);

/* Register the script with the Redis client (once per client). */
struct rg_script *greylist_script(struct rg_redis *r);

/*
 * The triplet of (client network, sender, recipient) and its keys
 * (src/rkeys.h): the network from greylist_ipv4_prefix/greylist_ipv6_prefix,
 * the sender normalised (addr.h), the recipient lower-cased. Returns 0, or
 * -1 when client_addr is not an address.
 */
int greylist_keys(const struct rg_params *p, const char *prefix, const char *delims, const char *client_addr,
		  const char *sender, const char *rcpt, struct rg_gl_triplet *t);

/* Run the check; the triplet's sender and recipient are stored with it (relayguardctl lists them). */
void greylist_check(struct rg_redis *r, struct rg_script *s, const struct rg_params *p,
		    const struct rg_gl_triplet *t, greylist_cb cb, void *arg);

/* "state" name for log lines. */
const char *greylist_state_name(enum greylist_state st);

#endif
