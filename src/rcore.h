/*
 * rcore - what every Redis client of relayguard shares, whatever its I/O:
 * the connection settings (redis_* parameters, read once into struct
 * rcore_conf), the commands a fresh connection sends first (AUTH, SELECT,
 * and ROLE when the master comes from Sentinel), the script registry (a
 * Lua body's SHA1 computed here, EVALSHA with EVAL on NOSCRIPT), the error
 * replies that mean "this is not the master any more", reconnect backoff,
 * and the outage bookkeeping (logged once when it starts, once when it
 * ends with its length and the number of requests it affected) with the
 * counters a metrics exporter reads (struct rg_redis_stats); the Redis
 * metrics of /metrics (src/rgm.h: outages, up, latency, errors) are
 * updated here too, for both clients.
 *
 * Users: src/redis.c (the policy server's asynchronous client) and
 * src/redis_pool.c (the milter's thread-safe pool of synchronous
 * connections); Sentinel discovery is src/rsentinel.c.
 *
 * Contract: no I/O and no locking here (the metrics are thread-safe on
 * their own); every function works on caller storage. A caller that shares a struct between threads (the pool) holds
 * its own lock around these calls. Replies passed in are only read.
 */
#ifndef RG_RCORE_H
#define RG_RCORE_H

#include <stddef.h>

#include <hiredis.h>

#include "config.h"
#include "endpoint.h"

#define RCORE_SENTINELS_MAX 8
#define RCORE_SCRIPTS_MAX 16
#define RCORE_NAME_MAX 128

/* Where and how to connect; built from the redis_* parameters. */
struct rcore_conf {
	char server[300]; /* redis_server, or "sentinel master NAME", for log lines */
	struct rg_endpoint addr; /* redis_server, or the master Sentinel named */
	int master_known; /* addr is usable (always, without Sentinels) */
	int nsentinels; /* 0: plain redis_server */
	struct rg_endpoint sentinels[RCORE_SENTINELS_MAX];
	char master_name[RCORE_NAME_MAX];
	char password[256], sentinel_password[256];
	int db;
	long long connect_ms, timeout_ms, max_backoff_ms;
	const char *consequence; /* what an outage means, for the log line (static) */
};

/*
 * Fill c from g's redis_* parameters. consequence (static storage) ends
 * the outage log line ("answering with the failure action"). A value the
 * configuration check refuses falls back to its default with a warning.
 */
void rcore_conf_init(struct rcore_conf *c, const struct rg_params *g, const char *consequence);

/* Sentinel: addr = master; server (the log label) = "master NAME at host:port". */
void rcore_conf_set_master(struct rcore_conf *c, const struct rg_endpoint *master);

/* 1 when a and b connect to the same place the same way (a reload may keep the client). */
int rcore_conf_same(const struct rcore_conf *a, const struct rcore_conf *b);

/* 1 when a and b are the same address. */
int rcore_addr_same(const struct rg_endpoint *a, const struct rg_endpoint *b);

/* "host:port", "[v6]:port" or "unix:/path" into buf. Returns buf. */
char *rcore_addr_text(const struct rg_endpoint *a, char *buf, size_t len);

/*
 * The commands a new connection to the data server sends before any
 * other: AUTH (when redis_password is set), SELECT (database != 0), and
 * ROLE when the master came from Sentinel (rcore_setup_check then refuses
 * a server that is not a master). Pointers refer to c and s; both must
 * outlive the use of s.
 */
struct rcore_setup {
	int n;
	struct {
		int argc;
		const char *argv[2];
	} cmd[3];
	char db[16];
};
void rcore_setup_build(const struct rcore_conf *c, int confirm_master, struct rcore_setup *s);

/* 0 if the reply to s->cmd[i] is what it should be, else -1 with err (sanitised). */
int rcore_setup_check(const struct rcore_setup *s, int i, const redisReply *rep, char *err, size_t errlen);

/*
 * Scripts. A registry is per client; entries never move, so a pointer
 * to one stays valid for the registry's life. rcore_script_get returns
 * the entry for body (static storage, its address names it), adding it
 * with its SHA1 on first sight; NULL when the table is full.
 */
struct rcore_script {
	const char *name;
	const char *body;
	char sha[41];
};
struct rcore_scripts {
	int n;
	struct rcore_script s[RCORE_SCRIPTS_MAX];
};
const struct rcore_script *rcore_script_get(struct rcore_scripts *reg, const char *name, const char *body);

/*
 * The argument vector of EVALSHA sha nkeys args... (or EVAL body ... when
 * use_eval) into av/avl, which have room for argc + 3. nk is storage for
 * the key count text. argvlen may be NULL (C strings). Returns argc + 3.
 */
int rcore_script_argv(const struct rcore_script *s, int use_eval, int nkeys, int argc, const char **argv,
		      const size_t *argvlen, const char **av, size_t *avl, char nk[16]);

/*
 * One command in Redis' wire format (RESP: "*argc", then "$len" and the
 * bytes of each argument), as redisFormatCommandArgv makes it but without
 * its allocations: written into buf when it fits (size bytes), returning
 * the length it needs either way.
 */
size_t rcore_resp_format(char *buf, size_t size, int argc, const char **av, const size_t *avl);
/* Decimal digits of v into buf (room for 21 bytes); returns their count. */
size_t rcore_u64_text(char *buf, unsigned long long v);

/* Error replies that matter to a client. */
enum rcore_error {
	RCORE_ERR_OTHER,
	RCORE_ERR_NOSCRIPT, /* script cache lost: send EVAL */
	RCORE_ERR_READONLY, /* a replica now: find the master */
	RCORE_ERR_MASTERDOWN, /* a replica whose master is gone: find the master */
	RCORE_ERR_LOADING /* loading its data set (restart, fresh replica): find the master */
};
enum rcore_error rcore_error_class(const redisReply *rep);

/* 1 for an error that says the master has to be found again (Sentinel). */
int rcore_error_rediscover(enum rcore_error e);

/* Counters for metrics (relayguardctl, /metrics): monotonic except down/down_ms/master. */
struct rg_redis_stats {
	unsigned long long outages; /* outages begun */
	unsigned long long outage_ms; /* total length of the outages that ended */
	unsigned long long affected; /* requests answered without Redis (failure action) */
	unsigned long long switches; /* master changes seen (Sentinel, reload) */
	unsigned long long discoveries; /* Sentinel discoveries run */
	unsigned long long replies; /* commands Redis answered (error replies included) */
	unsigned long long error_replies; /* of which error replies */
	unsigned long long latency_us; /* sum of their round-trip times: /replies = the mean */
	unsigned long long latency_max_us; /* the slowest */
	int down; /* 1 during an outage */
	long long down_ms; /* length of the current outage */
	char master[300]; /* the server in use, "" when none is known */
};

/* Outage state, backoff, and the counters. */
struct rcore_health {
	int down;
	long long down_since; /* mono ms */
	unsigned long failed; /* requests affected by the current outage */
	long long backoff_ms, max_backoff_ms;
	struct rg_redis_stats st;
};

void rcore_health_init(struct rcore_health *h, const struct rcore_conf *c);

/* A failure: starts an outage (logged, returns 1) unless one is on. Does not count a request. */
int rcore_health_fail(struct rcore_health *h, const struct rcore_conf *c, const char *why);

/* A request answered without Redis. */
void rcore_health_affected(struct rcore_health *h);

/* CLOCK_MONOTONIC in microseconds, for rcore_health_reply. */
long long rcore_now_us(void);

/*
 * A reply after us microseconds, for the counters and the metrics
 * (src/rgm.h: relayguard_redis_duration_seconds, and
 * relayguard_redis_errors_total{kind="reply"} for an error reply other
 * than NOSCRIPT).
 */
void rcore_health_reply(struct rcore_health *h, long long us, const redisReply *rep);

/*
 * A command that got no reply, for the metrics: it timed out (timeout != 0)
 * or had no usable connection; us since it was sent, -1 if it never was.
 */
void rcore_health_noreply(long long us, int timeout);

/* An answer from the server: ends an outage (logged with its length and count). */
void rcore_health_ok(struct rcore_health *h, const struct rcore_conf *c);

/* The wait before the next connection attempt; doubles up to redis_reconnect_max_backoff. */
long long rcore_backoff_next(struct rcore_health *h);
void rcore_backoff_reset(struct rcore_health *h);

/* A copy of the counters with down_ms filled in. */
void rcore_health_stats(const struct rcore_health *h, struct rg_redis_stats *st);

/*
 * Sentinel replies (untrusted text, bounded):
 * rcore_parse_master_addr: SENTINEL get-master-addr-by-name -> 0 and *a;
 *   -1 with err for a nil (unknown master name), an error or a malformed reply.
 * rcore_parse_role: ROLE -> 1 for a master, 0 for anything else (role in err).
 * rcore_parse_switch_master: a +switch-master message "<name> <old-ip>
 *   <old-port> <new-ip> <new-port>" -> 0 and *a (the new master) when it
 *   is about name, -1 otherwise.
 */
int rcore_parse_master_addr(const redisReply *rep, struct rg_endpoint *a, char *err, size_t errlen);
int rcore_parse_role(const redisReply *rep, char *err, size_t errlen);
int rcore_parse_switch_master(const char *msg, size_t len, const char *name, struct rg_endpoint *a);

#endif
