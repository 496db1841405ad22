/*
 * spam_strip - the X-Spam-* headers (and the not-scanned mark) a message
 * brought with it: only relayguard writes those, so every instance is
 * counted while the headers go by and deleted at the end of the message,
 * before our own verdict is added. spamd never sees them.
 *
 * More distinct names than SPAM_STRIP_NAMES cannot all be deleted: such a
 * message is tempfailed (451 4.7.1) rather than passed on with a forged
 * verdict (spam_strip_guard).
 *
 * Contract: a struct spam_strip lives in one message context (one thread
 * at a time); zeroed memory is an empty one. No allocation.
 */
#ifndef RG_MILTER_SPAM_STRIP_H
#define RG_MILTER_SPAM_STRIP_H

#include <libmilter/mfapi.h>

#include "spam_scan.h"

#define SPAM_STRIP_NAMES 32 /* distinct header names we track */

struct spam_strip {
	int n; /* distinct names in h */
	int total; /* instances to delete */
	int overflow; /* more names than we can track */
	struct {
		char name[128];
		int count; /* instances of this name (any letter case) */
	} h[SPAM_STRIP_NAMES];
};

/* A header of the message: 1 if it is one of ours (counted; keep it from spamd), else 0. */
int spam_strip_header(struct spam_strip *s, const char *name);

/* Nothing to delete, and nothing we failed to track? */
int spam_strip_empty(const struct spam_strip *s);

/* A message that would be accepted with headers we cannot delete becomes a 451. */
void spam_strip_guard(const struct spam_strip *s, struct scan_out *out);

/* Delete every counted instance, highest index first so none shifts. */
void spam_strip_apply(const struct spam_strip *s, SMFICTX *ctx);

#endif
