/*
 * ratelimit - the C side of the sliding-window rate limits that is not
 * Redis I/O: key naming, the command for src/lua/ratelimit.lua (all limits
 * of one subject in one EVALSHA), reading its reply, and the 450 text.
 *
 * Shared by relayguard-policyd (reserve at RCPT; count at END-OF-MESSAGE
 * when it commits) and relayguard-milter (commit or release at the end of
 * the message), so both send the same script the same keys.
 *
 * Script contract (see src/lua/ratelimit.lua):
 *   KEYS     one hash per limit: <prefix>r:{<kind>:<subject>}:<count>/<window_ms>
 *            (the first also holds the subject's reservations, fields
 *            "r:<transaction id>")
 *   ARGV     mode ("check" | "add" | "reserve" | "commit" | "release"),
 *            now_ms (0 = Redis TIME), increment, then count, window_ms for
 *            each limit; reserve/commit/release add: transaction id, tag,
 *            unit ("message" | "recipient"), lifetime_ms
 *   reply    {0} when under every limit, else {index (1-based), current,
 *            count, window_ms, retry_after_ms (-1: never fits)}
 *
 * Contract: pure functions over caller-owned memory, thread-safe.
 * Trust boundary: the subject (client address, SASL user, sender domain)
 * comes from the SMTP client. In keys it is escaped so it can neither break
 * the {hash tag} nor collide with another subject; in reply text it is
 * sanitised (rg_sanitize) and bounded.
 */
#ifndef RG_RATELIMIT_H
#define RG_RATELIMIT_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#include "ratespec.h"

enum ratelimit_mode {
	RATELIMIT_CHECK,
	RATELIMIT_ADD,
	RATELIMIT_RESERVE,
	RATELIMIT_COMMIT,
	RATELIMIT_RELEASE
};

/* The transaction a reservation belongs to (modes RESERVE, COMMIT, RELEASE). */
struct ratelimit_tx {
	const char *id; /* the SMTP connection, see ratetx.h; not empty */
	const char *tag; /* the message within it ("" when unknown: the milter) */
	int per_rcpt; /* rate_limit_unit = recipient: each RCPT reserves one more */
	long long lifetime_ms; /* rate_limit_reservation_lifetime */
};

#define RATELIMIT_SUBJECT_MAX 512 /* escaped subject bytes in a key */
#define RATELIMIT_KEY_MAX 640 /* one key, NUL included */
#define RATELIMIT_ID_MAX 400 /* transaction id or tag bytes */
#define RATELIMIT_ARGC_MAX (3 + RG_RATE_MAX + 3 + 2 * RG_RATE_MAX + 4)

/* A complete command for redisCommandArgv()/redisAsyncCommandArgv(). */
struct ratelimit_call {
	int argc;
	const char *argv[RATELIMIT_ARGC_MAX];
	size_t argvlen[RATELIMIT_ARGC_MAX];
	int nkeys;
	char buf[(RG_RATE_MAX + 1) * RATELIMIT_KEY_MAX + 2 * RATELIMIT_ID_MAX +
		 512]; /* what argv points into */
};

/* What the script said; index 0: under every limit. */
struct ratelimit_result {
	int index; /* 1-based, into the rates passed to ratelimit_build */
	long long current;
	long long count;
	long long window_ms;
	long long retry_after_ms; /* -1: the increment alone exceeds count */
};

/*
 * Key of one limit: "<prefix>r:{<kind>:<subject>}:<count>/<window_ms>".
 * kind is [a-z0-9_-]+ ("client", "sasl", "sender"); prefix may not contain
 * braces. Subject bytes other than [A-Za-z0-9.@:_+=-] are written %XX.
 * Returns the key length, or -1 with err when something does not fit.
 */
int ratelimit_key(char *buf, size_t size, const char *prefix, const char *kind, const char *subject,
		  const struct rg_rate *rate, char *err, size_t errlen);

/*
 * Fill c with: cmd ("EVALSHA" or "EVAL"), script (its SHA1 or its body),
 * numkeys, one key per rate, mode, now_ms, incr, count/window pairs.
 * cmd and script are pointed to, not copied: keep them alive while c is
 * used. 1 <= nrates <= RG_RATE_MAX. Returns 0, or -1 with err.
 */
int ratelimit_build(struct ratelimit_call *c, const char *cmd, const char *script, const char *prefix,
		    const char *kind, const char *subject, enum ratelimit_mode mode, long long now_ms,
		    long long incr, const struct rg_rate *rates, int nrates, char *err, size_t errlen);

/*
 * The same for a reservation mode: the limits' keys, and after the limits
 * tx's id, tag, unit and lifetime.
 * Returns 0, or -1 with err (also for a mode that is not RESERVE, COMMIT
 * or RELEASE, or an id or tag over RATELIMIT_ID_MAX bytes).
 */
int ratelimit_build_tx(struct ratelimit_call *c, const char *cmd, const char *script, const char *prefix,
		       const char *kind, const char *subject, enum ratelimit_mode mode, long long now_ms,
		       long long incr, const struct rg_rate *rates, int nrates, const struct ratelimit_tx *tx,
		       char *err, size_t errlen);

/*
 * Read the script's reply (nrates as built). Returns 0 under every limit,
 * 1 over one (res filled), -1 with err (sanitised) on an error reply or a
 * malformed one.
 */
int ratelimit_parse_reply(const redisReply *r, int nrates, struct ratelimit_result *res, char *err,
			  size_t errlen);

/*
 * A duration for people: at most two units of d, h, m, s ("1h", "1h30m",
 * "45s"). round_up: never shorter than ms (for "try again in"); else
 * truncated. Returns buf.
 */
char *ratelimit_duration(char *buf, size_t size, long long ms, int round_up);

/*
 * The reply for an exceeded limit, e.g. "450 4.7.1 Rate limit exceeded: 500
 * messages per 1h for client 192.0.2.10, try again in 3m". unit is the
 * singular ("message", "recipient"); what names the subject ("client",
 * "SASL user", "sender domain"). Returns buf (always terminated).
 */
char *ratelimit_reply_text(char *buf, size_t size, const struct ratelimit_result *res, const char *unit,
			   const char *what, const char *subject);

#endif
