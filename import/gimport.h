/*
 * gimport - greylisting history from another greylister (postgrey) into
 * relayguard's Redis data, with the keys and the script the policy server
 * uses: triplet keys from greylist_keys (src/greylist.h), states written by
 * replaying the history through greylist.lua itself (first attempt at the
 * time it was first seen, the passing retry at the time it passed), so the
 * data is exactly what relayguard-policyd would have written had it seen
 * the same mail.
 *
 * Input, one record a line ('#' comments and empty lines ignored):
 *   T <client-net>/<len> <sender> <recipient> <first> <last> passed|pending
 *   A <client-address> <last>
 * T is a triplet: first and last seen (Unix seconds), "passed" when the
 * other greylister accepted a retry; <sender> "<>" is the null sender; <len>
 * is the network length the other greylister keyed by (a network wider
 * than relayguard's greylist_ipv4_prefix/_ipv6_prefix cannot be split and
 * is skipped). A is an auto-whitelisted client: its relayguard network
 * gets the auto-whitelist count (greylist_auto_whitelist) and lives
 * greylist_whitelist_lifetime from <last>.
 * A triplet whose recipient domain is not in domain_table is skipped (the
 * policy server never greylists it); one whose lifetime (passed:
 * greylist_whitelist_lifetime from <last>; pending:
 * greylist_retry_window from <first>) is over, too. Settings are those of
 * the recipient domain's class.
 *
 * Contract: single-threaded, synchronous hiredis; the caller owns cfg and
 * the Redis context. Trust boundary: the input is another program's data:
 * every field is bounded and checked, bad lines are counted and reported
 * (sanitised) with their line number, never imported.
 */
#ifndef RG_GIMPORT_H
#define RG_GIMPORT_H

#include <stdio.h>

#include <hiredis/hiredis.h>

#include "config.h"

struct gimport_stats {
	long passed, pending, awl; /* written */
	long known; /* already passed or whitelisted in relayguard: left alone */
	long expired, foreign, wide; /* skipped: lifetime over, not a customer's domain, net too wide */
	long bad; /* malformed lines */
};

struct gimport {
	const struct rg_config *cfg;
	redisContext *rc; /* NULL: check the input only (dry run) */
	char sha[41]; /* greylist.lua's SHA1 once loaded */
	long long now; /* Redis TIME (or the wall clock in a dry run) */
	int verbose;
	struct gimport_stats st;
};

/* Prepare: load the script, read Redis' clock. 0, or -1 with err. */
int gimport_init(struct gimport *gi, const struct rg_config *cfg, redisContext *rc, char *err, size_t errlen);

/*
 * One input line (without its newline). Returns 0 (imported or skipped,
 * counted), 1 (a bad line, reported on stderr as where:lineno), or -1 on a
 * Redis failure (err says why; stop).
 */
int gimport_line(struct gimport *gi, char *line, const char *where, long lineno, char *err, size_t errlen);

#endif
