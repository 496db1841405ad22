/*
 * greyspf - SPF-aware greylisting (greylist_spf = yes): when the sender
 * domain's SPF record authorises the client (result pass), the triplet's
 * client part is the domain's SPF identity "spf:<domain>" instead of the
 * client network. A big sender that retries from another address of its
 * pool then meets the triplet it started, instead of waiting again.
 *
 * Only "pass" counts: fail, softfail, neutral, none, permerror, and every
 * way of not knowing (temperror, no answer within greylist_spf_timeout,
 * a full queue) keep the network triplet, so SPF can only shorten a wait,
 * never block mail. The null sender is not checked (its identity would be
 * the HELO name, which anybody can claim and whose record we do not ask
 * for): bounces keep the network triplet.
 *
 * The identity names both keys of the check, the triplet and the
 * auto-whitelist counter (src/rkeys.h: <p>g:{spf:<domain>}:<h16>,
 * <p>a:{spf:<domain>}): passed triplets of an authorised domain count
 * towards whitelisting that domain's authorised servers, not one network.
 *
 * Contract: loop thread only (spfpool.h). The callback fires exactly once,
 * possibly before greyspf_check returns.
 */
#ifndef RG_POLICYD_GREYSPF_H
#define RG_POLICYD_GREYSPF_H

#include <stddef.h>

#include "auth_spf.h"
#include "config.h"
#include "greylist.h"
#include "request.h"
#include "spfpool.h"

#define GREYSPF_IDENT_MAX 262 /* "spf:" + a 253-byte domain + NUL, rounded */

/*
 * ident: the triplet's client part ("spf:example.com"), or NULL for the
 * network. note: single-token fields for the decision's log line
 * ("spf=pass spf_domain=example.com"), valid during the call.
 */
typedef void (*greyspf_cb)(const char *ident, const char *note, void *arg);

/* Check the request's client and sender with g's dns_server and greylist_spf_timeout. */
void greyspf_check(struct spfpool *sp, const struct rg_params *g, const struct preq *q, greyspf_cb cb,
		   void *arg);

/* "spf:<domain>" (lower-cased) when out authorises the client; else 0 and buf "". */
int greyspf_identity(const struct auth_spf_out *out, char *buf, size_t len);

/*
 * Point t (filled by greylist_keys) at the client part ident: both keys
 * rebuilt with g's prefix and secret, sender and recipient unchanged.
 * 0, or -1 (t unchanged) when ident cannot name a key.
 */
int greyspf_rekey(const struct rg_params *g, const char *ident, struct greylist_triplet *t);

#endif
