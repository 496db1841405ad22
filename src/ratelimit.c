/*
 * ratelimit - keys, commands and reply text for src/lua/ratelimit.lua; see
 * ratelimit.h for the contract and the script's KEYS/ARGV/reply.
 *
 * Keys are escaped rather than hashed: the subjects are short (addresses,
 * user names, domains), escaping is injective, and a key an admin can read
 * in redis-cli is worth the few extra bytes. Over-long subjects are refused.
 */
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "rkeys.h"
#include "util.h"

int
ratelimit_key(char *buf, size_t size, const char *prefix, const char *kind, const char *subject,
	      const struct rg_rate *rate, char *err, size_t errlen)
{
	struct rkeys k;

	/* The key's name is src/rkeys.c's, shared with relayguardctl. */
	if (rkeys_init(&k, prefix, "", err, errlen) < 0)
		return -1;
	return rkeys_rate(&k, kind, subject, rate->count, rate->window_ms, buf, size, err, errlen);
}

/* Append s (len bytes, copied into c->buf when copy) as the next argument. */
static int
add_arg(struct ratelimit_call *c, size_t *used, const char *s, size_t len, int copy)
{
	if (c->argc >= RATELIMIT_ARGC_MAX || (copy && *used + len + 1 > sizeof(c->buf)))
		return -1;
	if (copy) {
		memcpy(c->buf + *used, s, len);
		c->buf[*used + len] = 0;
		s = c->buf + *used;
		*used += len + 1;
	}
	c->argv[c->argc] = s;
	c->argvlen[c->argc] = len;
	c->argc++;
	return 0;
}

static int
add_num(struct ratelimit_call *c, size_t *used, long long v)
{
	char num[24];
	struct rg_sb b;

	rg_sb_init(&b, num, sizeof(num));
	rg_sb_num(&b, v);
	return add_arg(c, used, num, b.len, 1);
}

static const char *
mode_name(enum ratelimit_mode mode)
{
	switch (mode) {
	case RATELIMIT_CHECK:
		return "check";
	case RATELIMIT_ADD:
		return "add";
	case RATELIMIT_RESERVE:
		return "reserve";
	case RATELIMIT_COMMIT:
		return "commit";
	case RATELIMIT_RELEASE:
		return "release";
	}
	return "check";
}

static int
build(struct ratelimit_call *c, const char *cmd, const char *script, const char *prefix, const char *kind,
      const char *subject, enum ratelimit_mode mode, long long now_ms, long long incr,
      const struct rg_rate *rates, int nrates, const struct ratelimit_tx *tx, char *err, size_t errlen)
{
	size_t used = 0;
	int rc = 0;
	char key[RATELIMIT_KEY_MAX];
	int n;

	c->argc = 0;
	c->nkeys = nrates;
	if (nrates < 1 || nrates > RG_RATE_MAX || now_ms < 0 || incr < 0) {
		snprintf(err, errlen, "bad rate-limit request (%d limits)", nrates);
		return -1;
	}
	rc |= add_arg(c, &used, cmd, strlen(cmd), 0);
	rc |= add_arg(c, &used, script, strlen(script), 0);
	rc |= add_num(c, &used, c->nkeys);
	for (int i = 0; i < nrates && rc == 0; i++) {
		if (rates[i].count < 1 || rates[i].window_ms < 1) {
			snprintf(err, errlen, "limit %d: count and window must be >= 1", i + 1);
			return -1;
		}
		if ((n = ratelimit_key(key, sizeof(key), prefix, kind, subject, &rates[i], err, errlen)) < 0)
			return -1;
		rc |= add_arg(c, &used, key, (size_t)n, 1);
	}
	rc |= add_arg(c, &used, mode_name(mode), strlen(mode_name(mode)), 0);
	rc |= add_num(c, &used, now_ms);
	rc |= add_num(c, &used, incr);
	for (int i = 0; i < nrates && rc == 0; i++) {
		rc |= add_num(c, &used, rates[i].count);
		rc |= add_num(c, &used, rates[i].window_ms);
	}
	if (tx) {
		const char *unit = tx->per_rcpt ? "recipient" : "message";

		rc |= add_arg(c, &used, tx->id, strlen(tx->id), 1);
		rc |= add_arg(c, &used, tx->tag, strlen(tx->tag), 1);
		rc |= add_arg(c, &used, unit, strlen(unit), 0);
		rc |= add_num(c, &used, tx->lifetime_ms);
	}
	if (rc != 0) {
		snprintf(err, errlen, "rate-limit command does not fit");
		c->argc = 0;
		return -1;
	}
	return 0;
}

int
ratelimit_build(struct ratelimit_call *c, const char *cmd, const char *script, const char *prefix,
		const char *kind, const char *subject, enum ratelimit_mode mode, long long now_ms,
		long long incr, const struct rg_rate *rates, int nrates, char *err, size_t errlen)
{
	if (mode != RATELIMIT_CHECK && mode != RATELIMIT_ADD) {
		snprintf(err, errlen, "reservation modes need a transaction");
		c->argc = 0;
		return -1;
	}
	return build(c, cmd, script, prefix, kind, subject, mode, now_ms, incr, rates, nrates, NULL, err,
		     errlen);
}

int
ratelimit_build_tx(struct ratelimit_call *c, const char *cmd, const char *script, const char *prefix,
		   const char *kind, const char *subject, enum ratelimit_mode mode, long long now_ms,
		   long long incr, const struct rg_rate *rates, int nrates, const struct ratelimit_tx *tx,
		   char *err, size_t errlen)
{
	c->argc = 0;
	if (mode != RATELIMIT_RESERVE && mode != RATELIMIT_COMMIT && mode != RATELIMIT_RELEASE) {
		snprintf(err, errlen, "not a reservation mode");
		return -1;
	}
	if (tx == NULL || tx->id == NULL || *tx->id == 0 || strlen(tx->id) > RATELIMIT_ID_MAX ||
	    tx->tag == NULL || strlen(tx->tag) > RATELIMIT_ID_MAX || tx->lifetime_ms < 1) {
		snprintf(err, errlen, "bad transaction for a reservation");
		return -1;
	}
	return build(c, cmd, script, prefix, kind, subject, mode, now_ms, incr, rates, nrates, tx, err,
		     errlen);
}

int
ratelimit_parse_reply(const redisReply *r, int nrates, struct ratelimit_result *res, char *err, size_t errlen)
{
	long long v[5];

	memset(res, 0, sizeof(*res));
	if (r == NULL) {
		snprintf(err, errlen, "no reply");
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		char text[200];

		rg_sanitize(text, sizeof(text), r->str ? r->str : "", r->len);
		snprintf(err, errlen, "redis: %s", text);
		return -1;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		goto bad;
	for (size_t i = 0; i < r->elements && i < 5; i++) {
		if (r->element[i]->type != REDIS_REPLY_INTEGER)
			goto bad;
		v[i] = r->element[i]->integer;
	}
	if (v[0] == 0 && r->elements == 1)
		return 0;
	if (r->elements != 5 || v[0] < 1 || v[0] > nrates || v[2] < 1 || v[3] < 1 || v[4] < -1)
		goto bad;
	res->index = (int)v[0];
	res->current = v[1];
	res->count = v[2];
	res->window_ms = v[3];
	res->retry_after_ms = v[4];
	return 1;
bad:
	snprintf(err, errlen, "malformed rate-limit reply");
	return -1;
}

char *
ratelimit_duration(char *buf, size_t size, long long ms, int round_up)
{
	static const struct {
		long long secs;
		char unit;
	} u[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	long long s = ms < 0 ? 0 : round_up ? (ms + 999) / 1000 : ms / 1000;
	int i = 0;

	while (i < 3 && s < u[i].secs)
		i++;
	if (i < 3) {
		/*
		 * Two units at most: round to the smaller one. Rounding up can
		 * only reach the next big unit exactly (1d, not 24h), so pick
		 * the unit again.
		 */
		long long v = u[i + 1].secs;

		s = round_up ? (s + v - 1) / v * v : s / v * v;
		for (i = 0; i < 3 && s < u[i].secs; i++)
			;
	}
	if (i == 3 || s % u[i].secs == 0)
		snprintf(buf, size, "%lld%c", s / u[i].secs, u[i].unit);
	else
		snprintf(buf, size, "%lld%c%lld%c", s / u[i].secs, u[i].unit, s % u[i].secs / u[i + 1].secs,
			 u[i + 1].unit);
	return buf;
}

char *
ratelimit_reply_text(char *buf, size_t size, const struct ratelimit_result *res, const char *unit,
		     const char *what, const char *subject)
{
	char subj[200], win[32], retry[32];
	const char *plural = res->count == 1 ? "" : "s";

	rg_sanitize(subj, sizeof(subj), subject, strlen(subject));
	ratelimit_duration(win, sizeof(win), res->window_ms, 0);
	if (res->retry_after_ms < 0) {
		/* The request alone is over the limit: waiting will not help. */
		snprintf(buf, size,
			 "450 4.7.1 Rate limit exceeded: %lld %s%s per %s for %s %s, too many %ss at once",
			 res->count, unit, plural, win, what, subj, unit);
		return buf;
	}
	ratelimit_duration(retry, sizeof(retry), res->retry_after_ms > 0 ? res->retry_after_ms : 1, 1);
	snprintf(buf, size, "450 4.7.1 Rate limit exceeded: %lld %s%s per %s for %s %s, try again in %s",
		 res->count, unit, plural, win, what, subj, retry);
	return buf;
}
