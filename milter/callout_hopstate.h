/*
 * hopstate - what this milter process knows about each callout next hop
 * ("[192.0.2.1]:25", "example.com:25"): how many callout sessions are open
 * to it, so that a customer's server never sees more than
 * callout_concurrency of ours at once, and whether it failed recently, so
 * that a server that is down is left alone for callout_down_backoff
 * instead of being knocked on at every recipient.
 *
 * Contract: thread-safe (one mutex, one condition variable); memory is
 * bounded: at most max hops are remembered; when the table is full, the
 * least recently used hop without an open session is forgotten, and if
 * every hop has one open, a new hop gets HOPSTATE_BUSY. Times are
 * rg_mono_ms() milliseconds. Hop names are bounded copies (HOPSTATE_NAME_MAX).
 */
#ifndef RG_MILTER_HOPSTATE_H
#define RG_MILTER_HOPSTATE_H

#include <stddef.h>

#define HOPSTATE_NAME_MAX 272 /* "[host]:port" of a CALLOUT_HOST_MAX host, NUL included */

struct hopstate;

enum hopstate_rc {
	HOPSTATE_OK = 0, /* a session slot is ours: hopstate_release it */
	HOPSTATE_BUSY, /* limit sessions already open and none freed within wait_ms */
	HOPSTATE_DOWN, /* failed recently; not to be called yet */
};

/* A table for up to max hops (at least 1). */
struct hopstate *hopstate_new(size_t max);
void hopstate_free(struct hopstate *h);

/*
 * Take one of hop's limit session slots, waiting up to wait_ms for one to
 * be released. Never waits when the hop is down.
 */
enum hopstate_rc hopstate_acquire(struct hopstate *h, const char *hop, int limit, long long wait_ms);

/* Give back a slot hopstate_acquire returned HOPSTATE_OK for. */
void hopstate_release(struct hopstate *h, const char *hop);

/*
 * Record the outcome of a call: failed != 0 marks hop down for backoff_ms
 * from now (a longer down time already set stays); failed == 0 marks it up.
 */
void hopstate_result(struct hopstate *h, const char *hop, int failed, long long backoff_ms);

/* Milliseconds hop stays down, 0 when it may be called. */
long long hopstate_down_left(struct hopstate *h, const char *hop);

/* Sessions open to hop now (for tests and logs). */
int hopstate_active(struct hopstate *h, const char *hop);

#endif
