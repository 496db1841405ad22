/*
 * dynip - is a client on a dynamically assigned (end-user) address, judged
 * by its reverse-DNS name?
 *
 * Two sources of evidence, in this order:
 *   1. an admin pattern file (dynamic_ip_patterns): one "/regex/ [reason]"
 *      per line, POSIX extended, case-insensitive, matched against the whole
 *      name; "!/regex/ [reason]" lines are exceptions (a name that matches
 *      one is never called dynamic). Exceptions are tried first.
 *   2. a built-in heuristic: the name embeds the CLIENT's own address
 *      (IPv4: >= 3 octets, or 2 adjacent octets that include the last one,
 *      forward or reversed, decimal or zero-padded, separated by - . _; the
 *      whole address as one hex, decimal or 12-digit zero-padded number;
 *      IPv6: the first 64 bits as hex, >= 4 groups separated by - . _ or the
 *      whole address in "::"-compressed dash form, >= 16 nibbles) AND a word
 *      end users' lines are named with (dyn, dsl, dhcp, pool, ppp, cable,
 *      cust, cpe, broadband, ...) in the host part; or a strong word (dyn*,
 *      dhcp, dial*, ppp*, pool, *dsl) plus the client's last octet in the
 *      first label. A server word in the host part (static, fixed, mail*,
 *      smtp*, mx, mta, relay, server, ...) vetoes the heuristic: blocking a
 *      real mail server is worse than missing a dynamic address.
 *
 * Ownership: a struct dynip owns its compiled patterns. It is immutable after
 * loading, so dynip_check() may run from several threads at once (glibc
 * regexec on a shared regex_t is thread-safe). No static mutable state.
 *
 * Trust boundary: client_name and client_addr come from the SMTP client's DNS
 * and are untrusted; they are read with explicit bounds (names longer than
 * 255 bytes are not examined) and sanitised (rg_sanitize) before any of
 * their text is copied into a reason.
 */
#ifndef RG_DYNIP_H
#define RG_DYNIP_H

#include <stddef.h>

enum dynip_class {
	DYNIP_STATIC = 0, /* nothing suggests a dynamic address */
	DYNIP_DYNAMIC = 1, /* the name looks like an end-user line */
	DYNIP_NO_RDNS = 2 /* name "unknown" or empty: caller decides (dynamic_ip_block_unknown) */
};

struct dynip;

/* An empty checker: the built-in heuristic only. Never NULL. */
struct dynip *dynip_new(void);

/*
 * Add the patterns of one file. All or nothing: on any error nothing from
 * the file is added, -1 is returned and err holds "file:line: problem" for
 * the first problem. Returns the number of patterns added otherwise.
 */
int dynip_load_patterns(struct dynip *d, const char *path, char *err, size_t errlen);

/*
 * Add one pattern line ("/regex/ reason" or "!/regex/ reason"); file and
 * line only label messages. Returns 0, or -1 with "file:line: problem".
 */
int dynip_add_pattern(struct dynip *d, const char *text, const char *file, int line, char *err,
		      size_t errlen);

int dynip_pattern_count(const struct dynip *d);

/*
 * Classify a client. d may be NULL (heuristic only). client_addr is the
 * textual address Postfix passes (IPv4, IPv6, IPv4-mapped IPv6); when it
 * does not parse, only the pattern file applies. reason (may be NULL) gets a
 * sanitised, NUL-terminated explanation for the log or the reply.
 */
enum dynip_class dynip_check(const struct dynip *d, const char *client_name, const char *client_addr,
			     char *reason, size_t reasonlen);

/* dynip_check() without a pattern file. */
enum dynip_class dynip_classify(const char *client_name, const char *client_addr, char *reason,
				size_t reasonlen);

/* "static", "dynamic", "no-rdns". */
const char *dynip_class_name(enum dynip_class c);

/* Free d and its patterns; NULL is fine. Returns NULL for "d = dynip_free(d)". */
struct dynip *dynip_free(struct dynip *d);

#endif
