/*
 * addr - e-mail address helpers: domain part, and the normalised sender used
 * in greylist triplets.
 *
 * Contract: pure functions into caller buffers, thread-safe.
 * Trust boundary: addresses come from SMTP clients through Postfix; nothing
 * is assumed about their form except that they are NUL-terminated.
 */
#ifndef RG_ADDR_H
#define RG_ADDR_H

#include <stddef.h>

/* Pointer to the domain part (after the last '@') or NULL when there is none. */
const char *rg_addr_domain(const char *addr);

/*
 * Is domain over DNS's own bounds (more than 253 bytes without a final
 * dot, or a label over 63)? Such a name can never be looked up, so a
 * check that skips it would let it through: callers refuse it instead.
 */
int rg_addr_domain_overlong(const char *domain);

/*
 * Normalise an envelope sender for greylisting, so that one sender with
 * changing tags still forms one triplet:
 *   - lower case; the null sender "" becomes "<>" (kept distinct);
 *   - BATV tags removed: "prvs=TAG=user@d", "msprvs1=TAG=user@d",
 *     "btv1==TAG==user@d" -> "user@d";
 *   - SRS undone: "SRS0=HH=TT=orig.dom=user@fwd" and
 *     "SRS1=HH=fwd1==HH=TT=orig.dom=user@fwd2" -> "user@orig.dom";
 *   - an address extension removed: the local part is cut at the first
 *     character of delims ("+" for user+ext@d); NULL or "" = keep.
 * Result is cut to outlen-1 bytes. Returns out.
 */
char *rg_addr_greynorm(const char *sender, const char *delims, char *out, size_t outlen);

#endif
