/*
 * spfpool - SPF checks (src/greyspf, src/auth_spf, libspf2) for the event loop of
 * relayguard-policyd, which must never wait on DNS: libspf2 asks its
 * questions synchronously, so the checks run on a few worker threads and
 * their results come back to the loop through a pipe.
 *
 * Every check is bounded twice: auth_dns gives up asking after the
 * check's timeout, and a timer on the loop answers the caller at that
 * deadline whether or not the worker has finished (its late result is
 * then dropped). A full queue answers at once. So the caller hears from
 * spfpool within timeout_ms plus a loop turn, whatever DNS does.
 *
 * Definite results (not temperror) are kept for SPFPOOL_CACHE_MS per
 * (client address, sender): Postfix asks once per recipient, and the
 * recipients of one message need one SPF check, not one each.
 *
 * Contract: spfpool_new / spfpool_check / spfpool_free on the loop's
 * thread only. The callback fires exactly once per spfpool_check, on the
 * loop's thread, possibly before spfpool_check returns (cache hit, full
 * queue); spfpool_free fires the pending ones (status SPFPOOL_ABORTED)
 * after the workers have stopped. Strings passed in are copied.
 */
#ifndef RG_POLICYD_SPFPOOL_H
#define RG_POLICYD_SPFPOOL_H

#include <event2/event.h>

#include "auth_spf.h"
#include "endpoint.h"

#define SPFPOOL_WORKERS 4 /* threads, started at the first check */
#define SPFPOOL_QUEUE_MAX 256 /* checks waiting for a thread */
#define SPFPOOL_CACHE_SLOTS 1024
#define SPFPOOL_CACHE_MS 60000

enum spfpool_status {
	SPFPOOL_DONE, /* out holds the SPF result (which may be temperror) */
	SPFPOOL_CACHED, /* the same, from the cache */
	SPFPOOL_TIMEOUT, /* no result within the timeout */
	SPFPOOL_BUSY, /* queue full: not checked */
	SPFPOOL_ABORTED /* the pool is being freed */
};

struct spfpool_result {
	enum spfpool_status status;
	struct auth_spf_out out; /* SPFPOOL_DONE/CACHED only; else result "temperror" */
	long long ms; /* time from spfpool_check to the callback */
};

typedef void (*spfpool_cb)(const struct spfpool_result *r, void *arg);

struct spfpool;

struct spfpool *spfpool_new(struct event_base *base);

/*
 * Check client_addr against the SPF record of sender's domain (as
 * auth_spf_check), asking dns (NULL: /etc/resolv.conf's servers), within
 * timeout_ms. myhostname is the receiving host for libspf2's explanations.
 */
void spfpool_check(struct spfpool *sp, const struct rg_endpoint *dns, long long timeout_ms,
		   const char *client_addr, const char *helo, const char *sender, const char *myhostname,
		   spfpool_cb cb, void *arg);

/* "done", "cached", "timeout", "busy", "aborted" for log lines. */
const char *spfpool_status_name(enum spfpool_status st);

/* Stop the workers (each ends within its check's timeout), fire what is pending, free. NULL is fine. */
void spfpool_free(struct spfpool *sp);

#endif
