/*
 * spamd - a SPAMC/1.5 protocol client for SpamAssassin's spamd.
 *
 * One call, spamd_check_ep(), connects (to spamd_server as parsed at load
 * by the endpoint grammar, endpoint.h: TCP, port 783 by default, or a unix
 * socket; spamd_check() takes the text and parses it the same way), sends
 * one REPORT request with the message streamed from a list of segments (a
 * memory buffer and/or ranges of an open file, so the milter can send a
 * message that is partly in memory and partly in its temp file without
 * copying it), and reads and parses the reply -- all under ONE deadline.
 *
 * Why REPORT: it is the only single request that yields everything the milter
 * needs. Its "Spam: True ; 13.6 / 5.0" response header is protocol-defined
 * and independent of spamd's templates, so verdict, score and threshold
 * always parse. Its body is the report template; we take only the rows that
 * SpamAssassin's _SUMMARY_ tag prints (after the "---- ------" ruler), whose
 * layout is fixed by code ("%4.1f %-22s description", continuation lines
 * indented by >= 27 spaces), not by the admin's or a language's template
 * text. From those rows come the rule names (sorted, as X-Spam-Status's
 * tests= lists them) and a terse "* pts RULE description" report in the
 * format of SpamAssassin's own X-Spam-Report. SYMBOLS would give names but
 * no report; HEADERS/PROCESS give X-Spam-Status only as the admin's
 * add_header template renders it, no report unless report_safe is 0, and
 * echo the message's headers back (unbounded). The price of REPORT: spamd's
 * replies carry no SpamAssassin version, so result.version holds only the
 * SPAMD protocol version (e.g. "1.1"); callers that want "SpamAssassin
 * 4.0.1" in X-Spam-Checker-Version must learn it elsewhere.
 *
 * Contract: no static state, no signals (MSG_NOSIGNAL), no locale-dependent
 * parsing; safe to call from many threads at once. The caller owns all
 * arguments; the result is a plain struct with bounded arrays (no heap).
 * Name resolution uses getaddrinfo(), which the deadline cannot interrupt:
 * configure a numeric address or a name in /etc/hosts.
 *
 * Use from the milter's eom callback, for a message whose first part is in
 * memory and the rest in its temp file (no copy is made):
 *
 *	struct spamd_seg seg[2] = {
 *		spamd_seg_mem(m->buf, m->buflen),         // headers + body start
 *		spamd_seg_file(m->tmpfd, 0, m->filelen),  // the spilled rest
 *	};
 *	struct spamd_result *r = xmalloc(sizeof(*r)); // ~12 KiB: keep off small stacks
 *	spamd_check_ep(g->spamd_server_ep, (int)g->spamd_timeout, g->spamd_user,
 *		    seg, m->tmpfd >= 0 ? 2 : 1, (size_t)p->spam_max_size, r);
 *	then r->status == SPAMD_OK: spamhdr_build() with r->score,
 *	r->tests_known ? r->tests : NULL,
 *	r->report; SPAMD_ETOOBIG / others: the "not scanned" marking and
 *	spam_failure_action. Lines may end in CRLF or LF; spamd takes both.
 *
 * Trust boundary: everything spamd sends is untrusted. At most
 * SPAMD_REPLY_MAX bytes are read; spamd's Content-length is used only to
 * know when the reply is complete and is never trusted beyond that cap.
 * Strings in the result contain printable ASCII (and '\n' in report) only.
 */
#ifndef RG_SPAMD_H
#define RG_SPAMD_H

#include <stddef.h>
#include <sys/types.h>

#define SPAMD_DEFAULT_PORT 783
#define SPAMD_REPLY_MAX (256 * 1024) /* bytes read from spamd, at most */
#define SPAMD_TESTS_MAX 4096 /* result.tests, incl. NUL */
#define SPAMD_REPORT_MAX 8192 /* result.report, incl. NUL */

enum spamd_status {
	SPAMD_OK = 0, /* reply parsed; is_spam/score/threshold valid */
	SPAMD_ETIMEOUT, /* the deadline passed (connect, send or receive) */
	SPAMD_ECONNECT, /* address unusable, or no address accepted us */
	SPAMD_EIO, /* send/receive failed mid-way, or a file segment read short */
	SPAMD_EPROTO, /* reply truncated, malformed or garbage */
	SPAMD_ESERVER, /* spamd answered with an EX_ error code (ex_code) */
	SPAMD_ETOOBIG, /* message over max_size, or reply over SPAMD_REPLY_MAX */
	SPAMD_EINVAL, /* bad argument (e.g. a User name spamd would reject) */
};

struct spamd_result {
	enum spamd_status status;
	int is_spam; /* spamd's verdict against its own threshold */
	double score; /* may be negative */
	double threshold; /* spamd's required score (not the class's) */
	int ex_code; /* sysexits code from the status line; 0 = EX_OK */
	int tests_known; /* the reply had a rule table (tests may still be "") */
	char version[16]; /* SPAMD protocol version from the status line */
	/* Rule names, sorted, comma-joined; cut at a whole name if too long. */
	char tests[SPAMD_TESTS_MAX];
	/* "* pts RULE description" lines joined by '\n'; cut at a line. */
	char report[SPAMD_REPORT_MAX];
	char error[256]; /* why, when status != SPAMD_OK (sanitised) */
};

/*
 * One piece of the message. fd < 0: len bytes at mem. fd >= 0: len bytes of
 * the file at offset off, read with pread() (the file position is not used
 * or moved, so the caller may keep appending to it from the same thread).
 */
struct spamd_seg {
	const void *mem;
	int fd;
	off_t off;
	size_t len;
};

/* Fill in a memory / file segment. */
struct spamd_seg spamd_seg_mem(const void *mem, size_t len);
struct spamd_seg spamd_seg_file(int fd, off_t off, size_t len);

/*
 * Scan the message made of segs[0..nsegs) with the spamd at addr (the
 * endpoint grammar, port 783 by default).
 * timeout_ms bounds the whole exchange (connect + send + receive).
 * user: optional User: header (NULL or "" for none; must be 1..64 chars of
 * [A-Za-z0-9._@+-] else SPAMD_EINVAL). max_size: refuse (SPAMD_ETOOBIG,
 * nothing sent) a message larger than this; 0 = no limit.
 * Returns res->status; res is always fully initialised.
 */
enum spamd_status spamd_check(const char *addr, int timeout_ms, const char *user,
			      const struct spamd_seg *segs, size_t nsegs, size_t max_size,
			      struct spamd_result *res);
/* The same with the address parsed at load (g->spamd_server_ep); ep NULL = none. */
struct rg_endpoint;
enum spamd_status spamd_check_ep(const struct rg_endpoint *ep, int timeout_ms, const char *user,
				 const struct spamd_seg *segs, size_t nsegs, size_t max_size,
				 struct spamd_result *res);

/*
 * PING the spamd at ep (the health check): SPAMD_OK when it answers PONG
 * within timeout_ms, else the failure with res->error set.
 */
enum spamd_status spamd_ping(const struct rg_endpoint *ep, int timeout_ms, struct spamd_result *res);

/*
 * Parse a complete spamd reply to REPORT held in buf[0..len). A reply
 * without the rule table (CHECK, or a custom report template) still gives
 * the verdict, with tests_known = 0. An EX_ error line gives SPAMD_ESERVER
 * and ex_code. len > SPAMD_REPLY_MAX gives SPAMD_ETOOBIG. Returns
 * res->status; res is always fully initialised.
 */
enum spamd_status spamd_parse_reply(const char *buf, size_t len, struct spamd_result *res);

/*
 * How much of a reply is in buf[0..len): 1 = complete (spamd's header block
 * ended and Content-length bytes of body followed), 0 = need more (or until
 * EOF, when spamd gave no Content-length). Used to stop reading early.
 */
int spamd_reply_complete(const char *buf, size_t len);

/* Static text for a status, e.g. "timeout". */
const char *spamd_strstatus(enum spamd_status st);

#endif
