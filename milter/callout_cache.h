/*
 * calcache - the callout cache's state machine and storage format, without
 * any I/O: the milter keeps the entries in Redis and asks this module what
 * an entry means now, what to write and under which key.
 *
 * An entry is the downstream's last definite answer about one recipient:
 * valid, or invalid with its reply text, and when it was given. It answers
 * FRESH until its refresh age, then STALE (answer from it, and re-check in
 * the background) until its expire age, then it is a MISS. UNKNOWN results
 * are never stored, so an unreachable downstream leaves the stale answer
 * serving until it expires.
 *
 * Contract: no state, no allocation; all functions are thread-safe and write
 * only into caller storage.
 *
 * Trust boundary: a stored value is read back from Redis, which anyone with
 * access to it may have written: calcache_parse() accepts only the exact
 * format, bounds and sanitises the text, and reports anything else as
 * garbage (the caller treats it as a MISS).
 */
#ifndef RG_CALCACHE_H
#define RG_CALCACHE_H

#include <stddef.h>

#include "callout.h"

#define CALCACHE_REPLY_MAX 256 /* stored reply text, NUL included (= CALLOUT_REPLY_MAX) */
#define CALCACHE_VALUE_MAX (2 + 20 + 1 + CALCACHE_REPLY_MAX) /* "i|<ms>|<text>" plus NUL */
#define CALCACHE_KEY_MAX 320 /* room for any key with a prefix of up to 40 bytes */

enum calcache_status {
	CALCACHE_VALID = 1,
	CALCACHE_INVALID = 2,
};

struct calcache_entry {
	enum calcache_status status;
	long long checked_ms; /* wall clock ms when the downstream answered */
	char reply[CALCACHE_REPLY_MAX]; /* INVALID: the downstream's reply, one printable line; may be "" */
};

/* The four lifetimes, in ms (callout_{positive,negative}_{expire,refresh}). */
struct calcache_lifetimes {
	long long pos_expire, pos_refresh;
	long long neg_expire, neg_refresh;
};

enum calcache_state {
	CALCACHE_MISS = 0, /* no usable entry: call out now */
	CALCACHE_FRESH, /* answer from the entry */
	CALCACHE_STALE, /* answer from the entry, and re-check */
};

/*
 * What entry e (NULL: none) means at now_ms. An entry dated more than a
 * minute in the future is not trusted (MISS); a smaller skew counts as age 0.
 */
enum calcache_state calcache_decide(const struct calcache_entry *e, long long now_ms,
				    const struct calcache_lifetimes *lt);

/* Non-zero for the verdicts worth storing: VALID and INVALID, never UNKNOWN. */
int calcache_should_store(enum callout_verdict v);

/*
 * Fill e from a callout verdict given at now_ms (reply: the result's text,
 * sanitised again here). Returns 0, or -1 (e untouched) for a verdict
 * calcache_should_store() refuses.
 */
int calcache_from_verdict(struct calcache_entry *e, enum callout_verdict v, const char *reply,
			  long long now_ms);

/*
 * The entry part of a stored value: "v|<ms>|" or "i|<ms>|<reply>". Returns
 * its length, or -1 if bufsize is too small (CALCACHE_VALUE_MAX suffices).
 */
int calcache_format(const struct calcache_entry *e, char *buf, size_t bufsize);

/* Parse len bytes of an entry part into e. Returns 0, or -1 for garbage (a MISS). */
int calcache_parse(const char *s, size_t len, struct calcache_entry *e);

/*
 * The value stored under rkeys_callout(rcpt) (src/rkeys.h): "<rcpt, lower case>\n" and the
 * entry part. The value names its recipient because the key is a 64-bit
 * hash, which can be collided on purpose: a colliding address must not be
 * able to plant "invalid" for someone else's mailbox. Returns the length,
 * or -1 (rcpt longer than CALCACHE_RCPT_MAX or holding a newline, or
 * bufsize too small: CALCACHE_STORED_MAX always suffices).
 */
#define CALCACHE_RCPT_MAX 300
#define CALCACHE_STORED_MAX (CALCACHE_RCPT_MAX + 1 + CALCACHE_VALUE_MAX)
int calcache_value_format(const struct calcache_entry *e, const char *rcpt, char *buf, size_t bufsize);

/* Parse a stored value read back for rcpt: 0, or -1 for garbage or another recipient's (a MISS). */
int calcache_value_parse(const char *s, size_t len, const char *rcpt, struct calcache_entry *e);

/* Key lifetime in ms to store e with (PX): its expire lifetime. */
long long calcache_ttl_ms(const struct calcache_entry *e, const struct calcache_lifetimes *lt);

/* The entry's key is src/rkeys.h's rkeys_callout. */

#endif
