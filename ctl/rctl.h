/*
 * rctl - what every relayguardctl command shares: the exit codes, one
 * synchronous Redis connection made from relayguard.conf's redis_* settings
 * as the daemons make theirs (src/rcore: redis_server, or the master the
 * Sentinels of redis_sentinels name; AUTH, SELECT; bounded by
 * redis_connect_timeout and redis_timeout), SCAN over a key
 * pattern, and the output of a listing as text or JSON (--json).
 *
 * Contract: single-threaded program code. Every Redis failure ends the
 * program with RCTL_EXIT_REDIS and one line on stderr: a half-done answer
 * is never printed as a whole one. Values read from Redis are untrusted
 * (anyone who can write Redis wrote them): they are escaped in JSON and
 * made printable in text.
 */
#ifndef RG_CTL_RCTL_H
#define RG_CTL_RCTL_H

#include <stdio.h>

#include <hiredis.h>

#include "config.h"
#include "rkeys.h"

#define RCTL_EXIT_OK 0
#define RCTL_EXIT_NOTFOUND 1
#define RCTL_EXIT_USAGE 2 /* also configuration errors */
#define RCTL_EXIT_REDIS 3

struct rctl {
	struct rg_config *cfg;
	const struct rg_params *g; /* &cfg->global */
	struct rkeys k; /* key names, as the daemons build them */
	redisContext *rc;
	char server[300]; /* the server connected to, for messages and status */
	int json;
};

/* Connect (or exit 3); c->server then names the server. */
void rctl_connect(struct rctl *c);

/* One command (argv form); exits 3 on a failure or an error reply. Caller frees the reply. */
redisReply *rctl_cmd(struct rctl *c, int argc, const char **argv);

/* Redis' clock in ms (TIME). */
long long rctl_now_ms(struct rctl *c);

/* Call fn for every key matching pattern (SCAN ... MATCH, COUNT 1000). Returns the number of keys. */
long rctl_scan(struct rctl *c, const char *pattern, void (*fn)(struct rctl *c, const char *key, void *arg),
	       void *arg);

/* s with the glob characters * ? [ ] \ escaped, for a MATCH pattern. Returns buf. */
char *rctl_glob_escape(const char *s, char *buf, size_t len);

/* A TIME value ("95d", "12h", "30m", "45s", bare seconds) in seconds; -1 when bad. */
long long rctl_parse_secs(const char *s);

/*
 * Output of a listing: rctl_begin, then per item rctl_item, fields with
 * rctl_str/rctl_int (name=value in text, one line per item; a JSON object
 * in an array with --json), rctl_end_item; rctl_end closes the list.
 */
void rctl_begin(struct rctl *c);
void rctl_item(struct rctl *c);
void rctl_str(struct rctl *c, const char *name, const char *value);
void rctl_int(struct rctl *c, const char *name, long long value);
/* Unix seconds as ISO 8601 UTC ("-" / null when <= 0). */
void rctl_time(struct rctl *c, const char *name, long long secs);
void rctl_end_item(struct rctl *c);
void rctl_end(struct rctl *c);

/* Fatal usage or configuration error: message, exit 2. */
void rctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
