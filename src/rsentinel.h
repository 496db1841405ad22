/*
 * rsentinel - finding the Redis master through Sentinel, once for both
 * daemons.
 *
 * rsentinel_discover asks the Sentinels of redis_sentinels in turn
 * (SENTINEL get-master-addr-by-name redis_sentinel_master, AUTH
 * redis_sentinel_password first when set), connects to the address the
 * first one that knows gives, and confirms with ROLE that it is a master;
 * a Sentinel that is down, does not know the name, or names a server that
 * is not (or no longer) the master is skipped for the next. Every step is
 * bounded by redis_connect_timeout / redis_timeout.
 *
 * struct rsentinel is the agent a client keeps: one thread that runs a
 * discovery when asked (rsentinel_request: the client lost its connection
 * or got -READONLY, -MASTERDOWN or -LOADING), retries with backoff while
 * no master can be found, and holds one subscription to a Sentinel's
 * +switch-master channel (a failover announced there starts a discovery
 * at once). Results go to the client's notify function, in the agent's
 * thread; a client on an event loop hands them over (src/redis.c uses a
 * pipe).
 *
 * Contract: rsentinel_discover is thread-safe and keeps no state but *start
 * (it counts itself in relayguard_redis_sentinel_discoveries_total, rgm.h,
 * an atomic update).
 * rsentinel_request may be called from any thread; notify is never called
 * after rsentinel_stop returns (and never while the agent's lock is free
 * for a stop: the client must not call rsentinel_stop from inside notify).
 * The agent copies the settings; its thread frees the agent. A client
 * keeps one agent for its whole life (rsentinel_reconfigure on reload),
 * so the pointer it calls rsentinel_request on never dangles.
 */
#ifndef RG_RSENTINEL_H
#define RG_RSENTINEL_H

#include <stddef.h>

#include "rcore.h"

/*
 * Find the master (into *master). Sentinels are tried from index *start
 * on, round; *start is set to the one that answered. Returns 0, or -1 with
 * err naming every Sentinel's failure.
 */
int rsentinel_discover(const struct rcore_conf *c, int *start, struct rg_endpoint *master, char *err,
		       size_t errlen);

/* master is NULL when no master could be found (err says why). */
typedef void (*rsentinel_notify)(void *arg, const struct rg_endpoint *master, const char *err);

struct rsentinel;

/*
 * Start the agent for c's Sentinels, asking Sentinel number start first
 * (the one that answered the client's own discovery); want_now: run a
 * discovery at once.
 */
struct rsentinel *rsentinel_start(const struct rcore_conf *c, int start, int want_now, rsentinel_notify fn,
				  void *arg);

/* New settings (a reload): a discovery under them at once; none at all when c has no Sentinels. */
void rsentinel_reconfigure(struct rsentinel *s, const struct rcore_conf *c);

/* Ask for a discovery soon (at most one runs at a time; requests in a burst fold into one). */
void rsentinel_request(struct rsentinel *s);

/* Stop: no notify after this returns; the thread ends on its own (within its current step's timeouts). */
void rsentinel_stop(struct rsentinel *s);

#endif
