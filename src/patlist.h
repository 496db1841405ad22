/*
 * patlist - whitelist and pattern files: one pattern per line, '#' comments.
 *
 * Kinds and what a line may be:
 *   RG_PAT_CLIENT   "/regex/" against the client hostname; an IPv4/IPv6
 *                   address or CIDR prefix against the client address (a
 *                   partial IPv4 address "192.0.2" is the /24, as in
 *                   postgrey's lists); any other word is a hostname that
 *                   matches itself and every name below it ("example.com"
 *                   matches mx1.example.com), ".example.com" only the names
 *                   below it. The client name "unknown" never matches a
 *                   name pattern.
 *   RG_PAT_ADDRESS  "/regex/" against the whole address; "user@domain"
 *                   exact; "user@" that local part in any domain (both also
 *                   match "user+ext"); "domain" every address in the domain
 *                   and its subdomains; "@domain" the domain only;
 *                   ".domain" every address in its subdomains.
 *   RG_PAT_REGEX    only "/regex/" lines (dynamic-IP name patterns).
 * This is the grammar of postgrey's whitelist_clients and
 * whitelist_recipients, which load unchanged. Regexes are Perl-compatible
 * (PCRE2, as postgrey's Perl reads them: \d, (?:...), lazy quantifiers),
 * case-insensitive and unanchored unless written with ^ $; a match that
 * exceeds PCRE2's backtracking limit counts as no match. Literals are
 * compared case-insensitively.
 *
 * Ownership: the list owns its compiled patterns; immutable after load, safe
 * to read from several threads (compiled PCRE2 code and the match context are
 * only read; match data is per call).
 */
#ifndef RG_PATLIST_H
#define RG_PATLIST_H

#include "config.h"

enum rg_pat_kind { RG_PAT_CLIENT, RG_PAT_ADDRESS, RG_PAT_REGEX };

struct rg_patlist;

struct rg_patlist *rg_patlist_new(enum rg_pat_kind kind);
/* Add the patterns of one file; errors go to diag with file:line. Returns 0 or -1. */
int rg_patlist_load(struct rg_patlist *l, const char *path, struct rg_diag *diag);
/* Add one pattern (file/line only label diagnostics). Returns 0 or -1. */
int rg_patlist_add(struct rg_patlist *l, const char *pattern, const char *file, int line,
		   struct rg_diag *diag);

/*
 * Match. For RG_PAT_CLIENT pass name (may be NULL or "unknown") and addr
 * text (may be NULL); for the other kinds pass the subject as name.
 * Returns 1 on a match and, when which is not NULL, points it at the
 * pattern text that matched (owned by the list); else 0.
 */
int rg_patlist_match(const struct rg_patlist *l, const char *name, const char *addr, const char **which);
int rg_patlist_count(const struct rg_patlist *l);
void rg_patlist_free(struct rg_patlist *l);

#endif
