/*
 * spamhdr - the X-Spam-* headers relayguard-milter adds, in SpamAssassin's
 * own format, so downstream filters written for SpamAssassin work unchanged:
 *
 *   X-Spam-Checker-Version: SpamAssassin 4.0.1 on mx1.example.net
 *   X-Spam-Flag: YES                                  (spam only)
 *   X-Spam-Level: *****                               (one '*' per whole point, <= 50)
 *   X-Spam-Status: Yes, score=5.5 required=4.0 tests=RULE1,RULE2,...
 *   X-Spam-Report: * 2.7 MISSING_DATE Missing Date: header   (spam only)
 *   	*  0.8 ONLINE_PHARMACY BODY: Online Pharmacy
 *
 * "required" is the class's spam_tag_score, not spamd's threshold, and the
 * verdict is spamhdr_is_spam(score, required). Both numbers are compared and
 * shown in tenths, as spamd sends them, so the header never says
 * "No, score=4.0 required=4.0". Parts we do not know are left out
 * (autolearn=, version= unless given; tests= when the rule list is unknown).
 *
 Not scanned (message over spam_max_size, spamd unreachable or failing):
 *
 *   X-Relayguard-Scan: not scanned (too-large)
 *
 * with the reason one of too-large | unavailable | error, and no X-Spam-*
 * header at all: any X-Spam-Status, even "No, scanned=no", is read by
 * SpamAssassin-format consumers as a verdict ("clean"), and a message
 * nobody looked at has none. A class without spam_scan gets no mark.
 *
 * Folding: values may contain "\n\t" -- the way smfi_addheader(3) wants a
 * multi-line header (a line feed, no CR, followed by white space; the MTA
 * adds the CR). Postfix's cleanup splits the value at each '\n' and writes
 * each piece as a header continuation line (prefixing a tab itself if a
 * piece does not start with white space), after "Name:" plus a space. Lines
 * are folded the way SpamAssassin folds: after a ',' or at a blank, so that
 * no line including "Name: " exceeds 78 columns (a tab counts 8) unless one
 * word alone is longer; a word longer than 900 characters is split, so no
 * line nears RFC 5322's 998. Text from spamd is reduced to printable ASCII
 * first, and no line we produce is empty or blank, so nothing in a value
 * can end the header block or start a new header.
 *
 * Contract: pure functions, no static state, thread-safe. spamhdr_build
 * allocates the values (xmalloc: never fails); spamhdr_free releases them.
 */
#ifndef RG_SPAMHDR_H
#define RG_SPAMHDR_H

#include <stddef.h>

#define SPAMHDR_MAX 5 /* headers in one set */
#define SPAMHDR_LEVEL_MAX 50 /* stars in X-Spam-Level, at most */
#define SPAMHDR_REPORT_MAX 8192 /* bytes of X-Spam-Report value, at most */
#define SPAMHDR_WIDTH 78 /* fold at this column */

enum spamhdr_scan {
	SPAMHDR_SCANNED = 0,
	SPAMHDR_SKIP_TOO_LARGE, /* reason=too-large */
	SPAMHDR_SKIP_UNAVAILABLE, /* reason=unavailable: connect failed, timeout */
	SPAMHDR_SKIP_ERROR, /* reason=error: spamd answered garbage or an error */
};

struct spamhdr_in {
	enum spamhdr_scan scan;
	double score; /* spamd's score */
	double required; /* the class's spam_tag_score */
	const char *tests; /* comma-joined rule names; "" = none hit; NULL = unknown */
	const char *report; /* spamd's terse report lines ('\n'-separated); may be NULL */
	const char *version; /* SpamAssassin version, e.g. "4.0.1"; NULL/"" = unknown */
	const char *host; /* this host's name for Checker-Version; NULL/"" = omit */
};

struct spamhdr_field {
	const char *name; /* static string, e.g. "X-Spam-Status" */
	char *value; /* owned; may contain "\n\t" folds */
};

struct spamhdr_set {
	int n;
	struct spamhdr_field f[SPAMHDR_MAX];
};

/* The verdict for tagging: score >= required, compared in tenths. */
int spamhdr_is_spam(double score, double required);

/* Fill out with the headers to add, in order. Free with spamhdr_free. */
void spamhdr_build(const struct spamhdr_in *in, struct spamhdr_set *out);

/* Free the values; out is left empty (n = 0) and may be reused. */
void spamhdr_free(struct spamhdr_set *out);

/* The value of header name in set (case-insensitive), or NULL. */
const char *spamhdr_get(const struct spamhdr_set *set, const char *name);

/* Non-zero if name starts with "X-Spam-" in any case: strip such headers
 * from incoming mail, since only ours may be trusted. */
int spamhdr_is_xspam(const char *name);

#define SPAMHDR_SCAN_MARK "X-Relayguard-Scan" /* the "not scanned" header */

/* Non-zero for a header only relayguard may write: X-Spam-* or the
 * not-scanned mark (any letter case). */
int spamhdr_is_ours(const char *name);

/* Format a score in tenths without locale ("-1.5", "1000.0") into buf. */
char *spamhdr_score(double score, char *buf, size_t size);

#endif
