/*
 * fuzz_calcache - the callout cache's stored value (milter/callout_cache.c), as
 * read back from Redis, where anyone with access may have written it.
 *
 * Input: a stored value, "<recipient>\n" then "v|<ms>|" or "i|<ms>|<reply>"
 * (or anything else); the recipient asked for is the value's first line.
 *
 * Properties:
 *   - parse accepts or refuses, never more: an accepted entry has a known
 *     status, a time >= 0 and a printable reply that fits;
 *   - parse -> format -> parse round-trips: the second entry equals the
 *     first, and formatting it again gives the same bytes, which fit in
 *     CALCACHE_VALUE_MAX;
 *   - a verdict stored with the input as its reply text round-trips too;
 *   - a stored value answers only for its own recipient (any letter case):
 *     a key collision cannot plant a verdict for another address;
 *   - calcache_decide only ages an entry: as time goes on (from the skew
 *     limit) FRESH never follows STALE or MISS, STALE never follows MISS.
 */
#include <string.h>
#include <strings.h>

#include "callout_cache.h"
#include "fuzz.h"

static void
fc_entry_ok(const struct calcache_entry *e)
{
	size_t n = strnlen(e->reply, sizeof(e->reply));

	FUZZ_ASSERT(e->status == CALCACHE_VALID || e->status == CALCACHE_INVALID, "status %d",
		    (int)e->status);
	FUZZ_ASSERT(e->checked_ms >= 0, "time %lld", e->checked_ms);
	FUZZ_ASSERT(n < sizeof(e->reply), "reply not terminated");
	FUZZ_ASSERT(!fuzz_has_ctl(e->reply, n), "reply \"%s\" not printable", e->reply);
	FUZZ_ASSERT(e->status == CALCACHE_INVALID || n == 0, "a valid entry with reply \"%s\"", e->reply);
}

/* e must round-trip through its stored form. */
static void
fc_roundtrip(const struct calcache_entry *e)
{
	struct calcache_entry e2;
	char v1[CALCACHE_VALUE_MAX], v2[CALCACHE_VALUE_MAX];
	int n1, n2;

	memset(&e2, 0x5a, sizeof(e2));
	n1 = calcache_format(e, v1, sizeof(v1));
	FUZZ_ASSERT(n1 > 0 && (size_t)n1 < sizeof(v1) && (size_t)n1 == strlen(v1), "format gave %d", n1);
	FUZZ_ASSERT(calcache_parse(v1, (size_t)n1, &e2) == 0, "our own value \"%s\" does not parse", v1);
	fc_entry_ok(&e2);
	FUZZ_ASSERT(e2.status == e->status && e2.checked_ms == e->checked_ms &&
			strcmp(e2.reply, e->reply) == 0,
		    "\"%s\" parses to a different entry (%d %lld \"%s\")", v1, (int)e2.status, e2.checked_ms,
		    e2.reply);
	n2 = calcache_format(&e2, v2, sizeof(v2));
	FUZZ_ASSERT(n2 == n1 && memcmp(v1, v2, (size_t)n1) == 0, "format not stable: \"%s\" / \"%s\"", v1,
		    v2);
	/* A buffer one byte short must be refused, not overrun. */
	FUZZ_ASSERT(calcache_format(e, v2, (size_t)n1) == -1, "format into %d bytes", n1);
}

static int
fc_rank(enum calcache_state s)
{
	return s == CALCACHE_FRESH ? 0 : s == CALCACHE_STALE ? 1 : 2;
}

static void
fc_decide(const struct calcache_entry *e, unsigned long long h)
{
	struct calcache_lifetimes lt;
	int last = -1;

	/* Lifetimes up to about 12 days, refresh before or after expire. */
	lt.pos_expire = (long long)(h & 0x3ffffffff) / 8;
	lt.pos_refresh = (long long)((h >> 7) & 0x3ffffffff) / 8;
	lt.neg_expire = (long long)((h >> 13) & 0x3ffffffff) / 8;
	lt.neg_refresh = (long long)((h >> 21) & 0x3ffffffff) / 8;
	FUZZ_ASSERT(calcache_decide(NULL, e->checked_ms, &lt) == CALCACHE_MISS, "no entry is not a MISS");
	for (long long age = -60000; age < 2200000000LL; age = age < 1000 ? age + 997 : age * 3) {
		int r = fc_rank(calcache_decide(e, e->checked_ms + age, &lt));

		FUZZ_ASSERT(r >= last, "at age %lld the entry is younger (%d after %d)", age, r, last);
		last = r;
	}
	FUZZ_ASSERT(calcache_decide(e, e->checked_ms - 60001, &lt) == CALCACHE_MISS,
		    "a future entry is trusted");
}

/* The recipient part: a value written for rcpt reads back for it only. */
static void
fc_value(const char *s, size_t size, const struct calcache_entry *e0)
{
	const char *nl = memchr(s, '\n', size);
	char rcpt[CALCACHE_RCPT_MAX + 2], v[CALCACHE_STORED_MAX];
	struct calcache_entry e, e2;
	size_t alen = nl ? (size_t)(nl - s) : 0;
	int n;

	if (nl == NULL || alen > CALCACHE_RCPT_MAX || memchr(s, 0, alen))
		return;
	memcpy(rcpt, s, alen);
	rcpt[alen] = 0;
	if (calcache_value_parse(s, size, rcpt, &e) == 0) {
		fc_entry_ok(&e);
		n = calcache_value_format(&e, rcpt, v, sizeof(v));
		FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(v), "value_format gave %d", n);
		FUZZ_ASSERT(calcache_value_parse(v, (size_t)n, rcpt, &e2) == 0 && e2.status == e.status &&
				e2.checked_ms == e.checked_ms && strcmp(e2.reply, e.reply) == 0,
			    "stored value does not round-trip for %s", rcpt);
	}
	/* The same entry under another recipient never answers for rcpt. */
	n = calcache_value_format(e0, "other@example.org", v, sizeof(v));
	if (n > 0 && strcasecmp(rcpt, "other@example.org") != 0)
		FUZZ_ASSERT(calcache_value_parse(v, (size_t)n, rcpt, &e2) != 0,
			    "other's value answers for %s", rcpt);
	rcpt[alen] = 'x', rcpt[alen + 1] = 0;
	FUZZ_ASSERT(calcache_value_parse(s, size, rcpt, &e2) != 0, "a value for a prefix of %s answers",
		    rcpt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(data, '\n', size);
	const char *ent = nl ? nl + 1 : s;
	size_t elen = nl ? size - (size_t)(nl + 1 - s) : size;
	struct calcache_entry e;
	char text[1024];
	unsigned long long h = 1469598103934665603ULL;

	if (size > 4096)
		return 0;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	memset(&e, 0x5a, sizeof(e));
	if (calcache_parse(ent, elen, &e) == 0) {
		fc_entry_ok(&e);
		fc_roundtrip(&e);
		if (e.checked_ms < 4000000000000000000LL)
			fc_decide(&e, h);
		fc_value(s, size, &e);
	}
	/* The input as a downstream's reply text, stored now. */
	memcpy(text, s, size < sizeof(text) ? size : sizeof(text) - 1);
	text[size < sizeof(text) ? size : sizeof(text) - 1] = 0;
	FUZZ_ASSERT(calcache_from_verdict(&e, CALLOUT_UNKNOWN, text, 1700000000000LL) == -1,
		    "UNKNOWN stored");
	for (int v = CALLOUT_VALID; v <= CALLOUT_INVALID; v++) {
		FUZZ_ASSERT(calcache_from_verdict(&e, (enum callout_verdict)v, text, (long long)(h >> 24)) ==
				0,
			    "verdict %d not stored", v);
		fc_entry_ok(&e);
		fc_roundtrip(&e);
	}
	return 0;
}
