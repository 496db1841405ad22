/*
 * smtpreply - incremental parser for SMTP server replies (RFC 5321 4.2,
 * enhanced status codes of RFC 3463), and the sanitiser that turns a
 * downstream's reply into one short printable line we may echo or store.
 *
 * Contract: a parser is a plain struct owned by the caller (about 9 KiB, so
 * better on the heap than on a milter thread's stack); no hidden state, so
 * each thread may use its own parser. The parsed reply lives inside the
 * parser and is valid until the next smtpreply_feed()/smtpreply_reset().
 *
 * Trust boundary: every byte fed in comes from a remote SMTP server. Memory
 * is fixed: a line over SMTPREPLY_LINE_MAX bytes (terminator included), a
 * reply of more than SMTPREPLY_LINES_MAX lines or SMTPREPLY_TOTAL_MAX bytes,
 * a NUL byte, a malformed code, a code that changes between lines, or a
 * missing space/hyphen after the code is a protocol error, never growth.
 * Reply text is kept raw (less its codes); pass it through
 * smtpreply_oneline()/smtpreply_summary() before it goes anywhere.
 */
#ifndef RG_SMTPREPLY_H
#define RG_SMTPREPLY_H

#include <stddef.h>

#define SMTPREPLY_LINE_MAX 512 /* bytes per line, CRLF included (RFC 5321 4.5.3.1.5) */
#define SMTPREPLY_LINES_MAX 100 /* lines per reply */
#define SMTPREPLY_TOTAL_MAX 8192 /* raw bytes per reply */
#define SMTPREPLY_ONELINE_MAX 200 /* suggested bound for echoed text */

/* One complete reply. */
struct smtpreply {
	int code; /* 200..599 (first digit 2-5) */
	char enh[16]; /* enhanced status "5.1.1" from the first line, or "" */
	int nlines; /* lines in the reply, >= 1 */
	size_t textlen; /* strlen(text) */
	char text[SMTPREPLY_TOTAL_MAX]; /* lines' text, codes removed, joined by '\n' */
};

/* Parser state; treat the members as private. */
struct smtpreply_parser {
	int state; /* SMTPREPLY_MORE/DONE/ERROR after the last feed */
	size_t linelen; /* bytes of the current line so far */
	size_t total; /* raw bytes of the current reply so far */
	char line[SMTPREPLY_LINE_MAX];
	char err[128];
	struct smtpreply reply;
};

#define SMTPREPLY_MORE 0 /* need more bytes */
#define SMTPREPLY_DONE 1 /* a reply is complete: see smtpreply_get() */
#define SMTPREPLY_ERROR 2 /* protocol error: see smtpreply_error(); sticky until reset */

/* Start (or restart) with no bytes seen. */
void smtpreply_reset(struct smtpreply_parser *p);

/*
 * Feed up to len bytes. Stops right after the last byte of a complete reply
 * and returns SMTPREPLY_DONE; *used (may be NULL only if the caller never
 * pipelines) tells how many bytes were consumed, the rest belongs to the
 * next reply. The next feed after DONE starts a new reply. Returns MORE
 * when all len bytes were consumed without completing a reply, ERROR on a
 * protocol error (stays ERROR until smtpreply_reset()).
 */
int smtpreply_feed(struct smtpreply_parser *p, const char *buf, size_t len, size_t *used);

/* The reply completed by the last feed that returned DONE, else NULL. */
const struct smtpreply *smtpreply_get(const struct smtpreply_parser *p);

/* Why the parser is in the ERROR state ("" otherwise). */
const char *smtpreply_error(const struct smtpreply_parser *p);

/*
 * One printable line from untrusted reply text (len bytes, or up to a NUL):
 * leading reply codes and enhanced codes ("550 5.1.1 ", "550-") removed, so
 * that it can follow our own "550 5.1.1 " without repeating one; line
 * breaks and runs of white space become one space; bytes outside printable
 * ASCII and '%' (a format character to libmilter's smfi_setreply) become '?';
 * cut to dstsize-1 bytes, ending in "..." if cut. Returns dst.
 */
char *smtpreply_oneline(char *dst, size_t dstsize, const char *text, size_t len);

/*
 * The whole reply as one printable line: "550 5.1.1 <text as oneline>"
 * (no enhanced part when the reply had none), bounded like oneline.
 * Returns dst.
 */
char *smtpreply_summary(char *dst, size_t dstsize, const struct smtpreply *r);

#endif
