/*
 * virus_clamd - a client for clamd's INSTREAM command (ClamAV).
 *
 * One call, clamd_instream(), connects to clamd (a unix socket or TCP),
 * sends "zINSTREAM\0", then the message as chunks of at most
 * CLAMD_CHUNK_MAX bytes, each preceded by its length as a 4-byte
 * big-endian number, then a zero length; and reads clamd's one reply
 * ("stream: OK", "stream: <signature> FOUND" or "... ERROR"), terminated by
 * NUL as for every z-command -- all under ONE deadline. The message comes
 * from the milter's msgbuf (memory part sent in place, the spilled part
 * read with pread), so nothing is copied beyond one chunk buffer.
 *
 * Contract: no static state, no signals (MSG_NOSIGNAL); thread-safe. The
 * result is a plain struct in caller storage, always fully initialised.
 *
 * Trust boundary: clamd's reply is read up to CLAMD_REPLY_MAX bytes; the
 * signature name is reduced to [A-Za-z0-9._:+/-] (others become '_') and
 * cut at CLAMD_SIG_MAX, because it is echoed in an SMTP reply and a log.
 */
#ifndef RG_MILTER_VIRUS_CLAMD_H
#define RG_MILTER_VIRUS_CLAMD_H

#include "msgbuf.h"

#define CLAMD_DEFAULT_PORT 3310
#define CLAMD_CHUNK_MAX 65536 /* bytes per INSTREAM chunk */
#define CLAMD_REPLY_MAX 1024 /* bytes of reply read, at most */
#define CLAMD_SIG_MAX 100 /* signature name kept, incl. NUL */

enum clamd_status {
	CLAMD_CLEAN = 0, /* "stream: OK" */
	CLAMD_FOUND, /* a virus: signature is set */
	CLAMD_ETIMEOUT, /* the deadline passed (connect, send or reply) */
	CLAMD_ECONNECT, /* no connection to clamd */
	CLAMD_EIO, /* send/receive failed, or the message file read short */
	CLAMD_EPROTO, /* a reply we cannot read */
	CLAMD_ESERVER, /* clamd answered "... ERROR" (e.g. StreamMaxLength) */
};

struct clamd_result {
	enum clamd_status status;
	char signature[CLAMD_SIG_MAX]; /* CLAMD_FOUND: sanitised name */
	char error[256]; /* why, for the errors (sanitised) */
};

/*
 * Scan the message in mb with the clamd at the unix socket path (when path
 * is non-empty) or at host:port. timeout_ms bounds the whole exchange.
 * Returns res->status.
 */
enum clamd_status clamd_instream(const char *path, const char *host, int port, int timeout_ms,
				 const struct msgbuf *mb, struct clamd_result *res);

/*
 * PING the clamd at path or host:port (the health probe, scan_health.h):
 * "zPING\0", answer "PONG". CLAMD_CLEAN when it answers PONG within
 * timeout_ms, else the failure with res->error set.
 */
enum clamd_status clamd_ping(const char *path, const char *host, int port, int timeout_ms,
			     struct clamd_result *res);

/* Read one reply (without its NUL) into res; exported for the unit test. */
enum clamd_status clamd_parse_reply(const char *reply, struct clamd_result *res);

/* Static text for a status, e.g. "timeout". */
const char *clamd_strstatus(enum clamd_status st);

#endif
