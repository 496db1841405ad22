/*
 * greyspf - SPF-aware greylisting (greylist_spf = yes), the part both
 * daemons share: when the sender domain's SPF record authorises the client
 * (result pass), the triplet's client part is the domain's SPF identity
 * "spf:<domain>" instead of the client network. A big sender that retries
 * from another address of its pool then meets the triplet it started,
 * instead of waiting again. relayguard-policyd runs the check on worker
 * threads (policyd/spfpool, policyd/spfgrey); relayguard-milter, which
 * greylists after the callout for domains with recipient_callout, runs
 * it in the session's thread (milter/mgrey) with greyspf_eval.
 *
 * Only "pass" counts: fail, softfail, neutral, none, permerror, and every
 * way of not knowing (temperror, no answer within greylist_spf_timeout,
 * a full queue) keep the network triplet, so SPF can only shorten a wait,
 * never block mail. The null sender is not checked (its identity would be
 * the HELO name): bounces keep the network triplet.
 *
 * The identity names both keys of the check, the triplet and the
 * auto-whitelist counter (src/rkeys.h: <p>g:{spf:<domain>}:<h16>,
 * <p>a:{spf:<domain>}): passed triplets of an authorised domain count
 * towards whitelisting that domain's authorised servers, not one network.
 *
 * Contract: pure functions on caller storage, thread-safe; greyspf_eval
 * blocks its thread for at most about timeout_ms (auth_dns's deadline).
 */
#ifndef RG_GREYSPF_H
#define RG_GREYSPF_H

#include <stddef.h>

#include "auth_spf.h"
#include "config.h"
#include "endpoint.h"
#include "greylist.h"

#define GREYSPF_IDENT_MAX 262 /* "spf:" + a 253-byte domain + NUL, rounded */
#define GREYSPF_NOTE_MAX 400

/*
 * SPF for client_addr and sender (as auth_spf_check), asking dns (NULL:
 * /etc/resolv.conf's servers), within timeout_ms; an unusable dns gives
 * temperror (the reason in err, when err is not NULL).
 */
void greyspf_eval(const struct rg_endpoint *dns, long long timeout_ms, const char *client_addr,
		  const char *helo, const char *sender, const char *myhostname, struct auth_spf_out *out,
		  char *err, size_t errlen);

/* "spf:<domain>" (lower-cased) when out authorises the client; else 0 and buf "". */
int greyspf_identity(const struct auth_spf_out *out, char *buf, size_t len);

/*
 * Single-token fields for the decision's log line: "spf=pass
 * spf_domain=example.com"; with failure != NULL (no result: "timeout",
 * "busy", ...) "spf=temperror spf_domain=... spf_error=<failure> spf_ms=N".
 */
void greyspf_note(const struct auth_spf_out *out, const char *failure, long long ms, char *buf, size_t len);

/*
 * Point t (filled by greylist_keys) at the client part ident: both keys
 * rebuilt with g's prefix and secret, sender and recipient unchanged.
 * 0, or -1 (t unchanged) when ident cannot name a key.
 */
int greyspf_rekey(const struct rg_params *g, const char *ident, struct greylist_triplet *t);

#endif
