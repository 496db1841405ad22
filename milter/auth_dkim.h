/*
 * auth_dkim - DKIM verification (RFC 6376) of one message with
 * libopendkim, the key queries answered through auth_dns (libopendkim's
 * query callbacks), so they use dns_server and are bounded.
 *
 * Feed it the message as the MTA hands it over (headers, end of headers,
 * body chunks); auth_dkim_finish then verifies every signature and writes
 * the RFC 8601 result items ("dkim=pass header.d=... header.s=..."; one
 * per signature, at most AUTH_DKIM_MAXSIGS; "dkim=none" without one).
 *
 * Contract: one auth_dkim per message, used by one thread at a time; each
 * has its own DKIM_LIB (its DNS handle is the message's resolver), so
 * threads share nothing. The message data is copied by libopendkim.
 *
 * Trust boundary: the message and the DNS data are untrusted; domain and
 * selector are reduced to [A-Za-z0-9.-_] before they reach a header.
 */
#ifndef RG_MILTER_AUTH_DKIM_H
#define RG_MILTER_AUTH_DKIM_H

#include <stddef.h>

#include "auth_dns.h"

#define AUTH_DKIM_MAXSIGS 4

struct auth_dkim;

/* A new verifier asking keys through dns (which must outlive it; NULL: every key
 * query fails), or NULL (libopendkim failed; err says why). */
struct auth_dkim *auth_dkim_new(const char *qid, struct auth_dns *dns, char *err, size_t errlen);
/* One header, name and value as the MTA gave them (leadspc: the value keeps its leading space). */
void auth_dkim_header(struct auth_dkim *d, const char *name, const char *value, int leadspc);
void auth_dkim_eoh(struct auth_dkim *d);
void auth_dkim_body(struct auth_dkim *d, const unsigned char *buf, size_t len);
/*
 * Verify. ar gets the result items separated by
 * "; " (e.g. "dkim=fail header.d=example.com header.s=sel"), log a short
 * "dkim=fail(body hash mismatch)" form.
 */
void auth_dkim_finish(struct auth_dkim *d, char *ar, size_t arlen, char *log, size_t loglen);
void auth_dkim_free(struct auth_dkim *d);

#endif
