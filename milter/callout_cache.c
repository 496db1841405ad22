/*
 * calcache - see callout_cache.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "callout_cache.h"

/* How far in the future an entry's time may be before it is not believed. */
#define CALCACHE_SKEW_MS 60000LL

enum calcache_state
calcache_decide(const struct calcache_entry *e, long long now_ms, const struct calcache_lifetimes *lt)
{
	long long age, expire, refresh;

	if (e == NULL || (e->status != CALCACHE_VALID && e->status != CALCACHE_INVALID))
		return CALCACHE_MISS;
	age = now_ms - e->checked_ms;
	if (age < -CALCACHE_SKEW_MS)
		return CALCACHE_MISS;
	if (age < 0)
		age = 0;
	expire = e->status == CALCACHE_VALID ? lt->pos_expire : lt->neg_expire;
	refresh = e->status == CALCACHE_VALID ? lt->pos_refresh : lt->neg_refresh;
	if (age >= expire)
		return CALCACHE_MISS;
	return age >= refresh ? CALCACHE_STALE : CALCACHE_FRESH;
}

int
calcache_should_store(enum callout_verdict v)
{
	return v == CALLOUT_VALID || v == CALLOUT_INVALID;
}

/* Stored text: printable ASCII on one line; it is the last field, so a '|' in it is harmless. */
static void
set_reply(struct calcache_entry *e, const char *s, size_t len)
{
	rg_sanitize(e->reply, sizeof(e->reply), s, len);
}

int
calcache_from_verdict(struct calcache_entry *e, enum callout_verdict v, const char *reply, long long now_ms)
{
	if (!calcache_should_store(v))
		return -1;
	e->status = v == CALLOUT_VALID ? CALCACHE_VALID : CALCACHE_INVALID;
	e->checked_ms = now_ms;
	/* A valid answer needs no text; keep the value short. */
	set_reply(e, v == CALLOUT_INVALID && reply ? reply : "",
		  v == CALLOUT_INVALID && reply ? strlen(reply) : 0);
	return 0;
}

int
calcache_format(const struct calcache_entry *e, char *buf, size_t bufsize)
{
	char text[CALCACHE_REPLY_MAX];
	int n;

	if ((e->status != CALCACHE_VALID && e->status != CALCACHE_INVALID) || e->checked_ms < 0)
		return -1;
	if (e->status == CALCACHE_INVALID)
		rg_sanitize(text, sizeof(text), e->reply, sizeof(e->reply));
	else
		text[0] = 0;
	n = snprintf(buf, bufsize, "%c|%lld|%s", e->status == CALCACHE_VALID ? 'v' : 'i', e->checked_ms,
		     text);
	return n < 0 || (size_t)n >= bufsize ? -1 : n;
}

int
calcache_parse(const char *s, size_t len, struct calcache_entry *e)
{
	long long ms = 0;
	size_t i, digits;

	if (s == NULL || len < 4 || (s[0] != 'v' && s[0] != 'i') || s[1] != '|')
		return -1;
	for (i = 2, digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		/* 18 digits cannot overflow a long long; a real time has 13. */
		if (digits >= 18)
			return -1;
		ms = ms * 10 + (s[i] - '0');
	}
	if (digits == 0 || i >= len || s[i] != '|')
		return -1;
	i++;
	e->status = s[0] == 'v' ? CALCACHE_VALID : CALCACHE_INVALID;
	e->checked_ms = ms;
	if (e->status == CALCACHE_VALID)
		e->reply[0] = 0;
	else
		set_reply(e, s + i, len - i);
	return 0;
}

long long
calcache_ttl_ms(const struct calcache_entry *e, const struct calcache_lifetimes *lt)
{
	return e->status == CALCACHE_VALID ? lt->pos_expire : lt->neg_expire;
}

int
calcache_value_format(const struct calcache_entry *e, const char *rcpt, char *buf, size_t bufsize)
{
	size_t alen = strlen(rcpt);
	int n;

	if (alen > CALCACHE_RCPT_MAX || strchr(rcpt, '\n') || alen + 1 >= bufsize)
		return -1;
	for (size_t i = 0; i < alen; i++)
		buf[i] = (char)tolower((unsigned char)rcpt[i]);
	buf[alen] = '\n';
	if ((n = calcache_format(e, buf + alen + 1, bufsize - alen - 1)) < 0)
		return -1;
	return n + (int)alen + 1;
}

int
calcache_value_parse(const char *s, size_t len, const char *rcpt, struct calcache_entry *e)
{
	const char *nl = s ? memchr(s, '\n', len) : NULL;
	size_t alen = nl ? (size_t)(nl - s) : 0;

	if (nl == NULL || alen != strlen(rcpt) || strncasecmp(s, rcpt, alen) != 0)
		return -1;
	return calcache_parse(nl + 1, len - alen - 1, e);
}
