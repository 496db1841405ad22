/*
 * greylist - the greylisting check of one (client network, sender,
 * recipient) triplet against Redis, with one EVALSHA of greylist.lua: one
 * implementation and one key schema for both daemons. relayguard-policyd
 * greylists at RCPT (greylist_check, asynchronous); relayguard-milter
 * greylists right after the recipient callout for domains with
 * recipient_callout = yes (greylist_argv + greylist_parse with its own
 * synchronous client), so an unknown recipient hears the callout's 550 and
 * leaves no greylist state.
 *
 * Contract: greylist_check is single-threaded (event loop), its callback
 * fires exactly once, from the event loop. The other functions are pure
 * and thread-safe. The strings passed in are copied as needed.
 */
#ifndef RG_GREYLIST_H
#define RG_GREYLIST_H

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

/* One triplet as the script sees it (src/rkeys.h names the keys). */
struct greylist_triplet {
	char tkey[RKEYS_MAX]; /* <prefix>g:{<net>}:<keyed hash of sender, rcpt> */
	char nkey[RKEYS_MAX]; /* <prefix>a:{<net>} */
	char *sender; /* normalised (addr.h), whole: kept in the triplet's hash */
	char *rcpt; /* lower-cased, whole */
};

/*
 * Fill t for a request: net from the client address and p's
 * greylist_ipv4_prefix/greylist_ipv6_prefix, the sender normalised with
 * g's recipient_delimiter, keys with g's redis_key_prefix and
 * redis_key_secret. Returns 0 (t's strings allocated: greylist_check or
 * greylist_triplet_free releases them), or -1 when client_addr is not an
 * address (nothing to release).
 */
int greylist_keys(const struct rg_params *p, const struct rg_params *g, const char *client_addr,
		  const char *sender, const char *rcpt, struct greylist_triplet *t);

/* Run the check; t's strings are released (the command has its own copy). */
void greylist_check(struct rg_redis *r, struct rg_script *s, const struct rg_params *p,
		    struct greylist_triplet *t, greylist_cb cb, void *arg);

/* Release t's strings (when greylist_keys succeeded but no check follows). */
void greylist_triplet_free(struct greylist_triplet *t);

/* The script's 9 arguments (KEYS tkey, nkey; ARGV now, delay, retry window,
 * lifetime, auto-whitelist, sender, rcpt) into argv, pointing into t and
 * into nums; keep both alive while argv is used. */
struct greylist_args {
	const char *argv[9];
	char nums[5][24];
};
void greylist_argv(struct greylist_args *a, const struct rg_params *p, const struct greylist_triplet *t);

/* The script's reply: the state (GREYLIST_ERROR with *err when malformed)
 * and its seconds. */
enum greylist_state greylist_parse(const redisReply *reply, long long *secs, const char **err);

/*
 * The defer text: "DEFER_IF_PERMIT 4.7.1 " (when with_action) then
 * greylist_defer_text with $delay (or ${delay}) replaced by secs.
 */
void greylist_defer_text(const struct rg_params *p, long long secs, int with_action, char *buf, size_t len);

/* The X-Greylist header value: "delayed N seconds by <who> at <host>; <date>". */
void greylist_header_value(long long secs, const char *who, const char *host, char *buf, size_t len);

/* "state" name for log lines. */
const char *greylist_state_name(enum greylist_state st);

#endif
