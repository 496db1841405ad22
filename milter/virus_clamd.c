/*
 * virus_clamd - see virus_clamd.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tsock.h"
#include "util.h"
#include "virus_clamd.h"

static const char *const clamd_status_text[] = {
    [CLAMD_CLEAN] = "clean",         [CLAMD_FOUND] = "found",
    [CLAMD_ETIMEOUT] = "timeout",    [CLAMD_ECONNECT] = "connect failed",
    [CLAMD_EIO] = "I/O error",       [CLAMD_EPROTO] = "protocol error",
    [CLAMD_ESERVER] = "clamd error",
};

const char *
clamd_strstatus(enum clamd_status st)
{
	if ((unsigned)st < sizeof(clamd_status_text) / sizeof(clamd_status_text[0]))
		return clamd_status_text[st];
	return "unknown";
}

static enum clamd_status
clamd_fail(struct clamd_result *res, enum clamd_status st, const char *what, int err)
{
	char eb[128];

	res->status = st;
	if (err)
		snprintf(res->error, sizeof(res->error), "%s: %s", what, strerror_r(err, eb, sizeof(eb)));
	else
		snprintf(res->error, sizeof(res->error), "%s", what);
	return st;
}

/* A failed send: timeout, or the I/O error. */
static enum clamd_status
clamd_send_fail(struct clamd_result *res)
{
	if (errno == ETIMEDOUT)
		return clamd_fail(res, CLAMD_ETIMEOUT, "timeout sending to clamd", 0);
	return clamd_fail(res, CLAMD_EIO, "send to clamd", errno);
}

/* One chunk: its 4-byte big-endian length, then the bytes in place. */
static int
clamd_send_chunk(int fd, const void *data, size_t len, long long deadline)
{
	unsigned char hdr[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
				(unsigned char)(len >> 8), (unsigned char)len};

	if (tsock_send_all(fd, hdr, sizeof(hdr), deadline) < 0)
		return -1;
	return len ? tsock_send_all(fd, data, len, deadline) : 0;
}

static enum clamd_status
clamd_send_message(int fd, const struct msgbuf *mb, long long deadline, struct clamd_result *res)
{
	const char *mem;
	size_t memlen, filelen, off;
	int mfd;

	msgbuf_parts(mb, &mem, &memlen, &mfd, &filelen);
	for (off = 0; off < memlen; off += CLAMD_CHUNK_MAX) {
		size_t n = memlen - off < CLAMD_CHUNK_MAX ? memlen - off : CLAMD_CHUNK_MAX;

		if (clamd_send_chunk(fd, mem + off, n, deadline) < 0)
			return clamd_send_fail(res);
	}
	if (mfd >= 0 && filelen) {
		char *buf = xmalloc(CLAMD_CHUNK_MAX);
		enum clamd_status st = CLAMD_CLEAN;

		for (off = 0; off < filelen && st == CLAMD_CLEAN;) {
			size_t want = filelen - off < CLAMD_CHUNK_MAX ? filelen - off : CLAMD_CHUNK_MAX;
			ssize_t n = pread(mfd, buf, want, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				st = clamd_fail(res, CLAMD_EIO, "read message file", n < 0 ? errno : EIO);
			else if (clamd_send_chunk(fd, buf, (size_t)n, deadline) < 0)
				st = clamd_send_fail(res);
			else
				off += (size_t)n;
		}
		free(buf);
		if (st != CLAMD_CLEAN)
			return st;
	}
	if (clamd_send_chunk(fd, NULL, 0, deadline) < 0) /* the terminator */
		return clamd_send_fail(res);
	return CLAMD_CLEAN;
}

/* Keep a signature name safe for an SMTP reply and a log line. */
static void
clamd_copy_sig(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++) {
		char c = src[i];

		dst[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				 strchr("._:+/-", c) != NULL
			     ? c
			     : '_';
	}
	dst[len] = 0;
}

enum clamd_status
clamd_parse_reply(const char *reply, struct clamd_result *res)
{
	size_t len = strlen(reply);
	const char *r = reply;
	char shown[200];

	res->status = CLAMD_CLEAN;
	res->signature[0] = res->error[0] = 0;
	/* "stream: " names the scanned object; other prefixes are not ours. */
	if (strncmp(r, "stream: ", 8) == 0)
		r += 8, len -= 8;
	if (len == 2 && strcmp(r, "OK") == 0)
		return CLAMD_CLEAN;
	if (len > 6 && strcmp(r + len - 6, " FOUND") == 0 && r != reply) {
		clamd_copy_sig(res->signature, sizeof(res->signature), r, len - 6);
		return res->status = CLAMD_FOUND;
	}
	rg_sanitize(shown, sizeof(shown), reply, strlen(reply));
	if (len >= 6 && strcmp(r + len - 6, " ERROR") == 0) {
		snprintf(res->error, sizeof(res->error), "clamd: %s", shown);
		return res->status = CLAMD_ESERVER;
	}
	snprintf(res->error, sizeof(res->error), "unexpected clamd reply: %s", shown);
	return res->status = CLAMD_EPROTO;
}

/* Read clamd's NUL-terminated reply and parse it. */
static enum clamd_status
clamd_read_reply(int fd, long long deadline, struct clamd_result *res)
{
	char buf[CLAMD_REPLY_MAX];
	ssize_t n = tsock_read_line(fd, buf, sizeof(buf), '\0', deadline);

	if (n < 0 && errno == EPIPE && buf[0]) /* clamd closed after a reply without NUL */
		n = (ssize_t)strlen(buf);
	if (n < 0) {
		if (errno == ETIMEDOUT)
			return clamd_fail(res, CLAMD_ETIMEOUT, "timeout waiting for clamd's reply", 0);
		if (errno == EPIPE)
			return clamd_fail(res, CLAMD_EPROTO, "clamd closed the connection without a reply",
					  0);
		if (errno == EMSGSIZE)
			return clamd_fail(res, CLAMD_EPROTO, "clamd reply too long", 0);
		return clamd_fail(res, CLAMD_EIO, "receive from clamd", errno);
	}
	/* A reply may end in '\n' when clamd was not asked with 'z'. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	return clamd_parse_reply(buf, res);
}

enum clamd_status
clamd_instream(const char *path, const char *host, int port, int timeout_ms, const struct msgbuf *mb,
	       struct clamd_result *res)
{
	long long deadline = rg_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char err[sizeof(res->error)];
	enum clamd_status st;
	int fd;

	memset(res, 0, sizeof(*res));
	fd = tsock_open(path, host, port, deadline, err, sizeof(err));
	if (fd < 0) {
		st = errno == ETIMEDOUT ? CLAMD_ETIMEOUT : CLAMD_ECONNECT;
		res->status = st;
		rg_sanitize(res->error, sizeof(res->error), err, strlen(err));
		return st;
	}
	if (tsock_send_all(fd, "zINSTREAM", 10, deadline) < 0) /* with its NUL */
		st = clamd_send_fail(res);
	else
		st = clamd_send_message(fd, mb, deadline, res);
	if (st == CLAMD_EIO) {
		/* clamd may have refused the stream ("INSTREAM size limit
		 * exceeded. ERROR") and closed: report that if it is there. */
		struct clamd_result keep = *res;

		if (clamd_read_reply(fd, rg_mono_ms() + 100, res) != CLAMD_ESERVER)
			*res = keep;
		st = res->status;
	} else if (st == CLAMD_CLEAN) {
		st = clamd_read_reply(fd, deadline, res);
	}
	close(fd);
	res->status = st;
	return st;
}

enum clamd_status
clamd_ping(const char *path, const char *host, int port, int timeout_ms, struct clamd_result *res)
{
	long long deadline = rg_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char err[sizeof(res->error)], buf[64], shown[80];
	enum clamd_status st = CLAMD_CLEAN;
	ssize_t n;
	int fd;

	memset(res, 0, sizeof(*res));
	fd = tsock_open(path, host, port, deadline, err, sizeof(err));
	if (fd < 0) {
		res->status = errno == ETIMEDOUT ? CLAMD_ETIMEOUT : CLAMD_ECONNECT;
		rg_sanitize(res->error, sizeof(res->error), err, strlen(err));
		return res->status;
	}
	if (tsock_send_all(fd, "zPING", 6, deadline) < 0) { /* with its NUL */
		st = clamd_send_fail(res);
	} else if ((n = tsock_read_line(fd, buf, sizeof(buf), '\0', deadline)) < 0 &&
		   !(errno == EPIPE && buf[0])) {
		st = errno == ETIMEDOUT
			 ? clamd_fail(res, CLAMD_ETIMEOUT, "timeout waiting for clamd's PONG", 0)
		     : errno == EPIPE
			 ? clamd_fail(res, CLAMD_EPROTO, "clamd closed the connection without a reply", 0)
			 : clamd_fail(res, CLAMD_EIO, "receive from clamd", errno);
	} else if (strncmp(buf, "PONG", 4) != 0 || (buf[4] && buf[4] != '\n')) {
		rg_sanitize(shown, sizeof(shown), buf, strlen(buf));
		snprintf(res->error, sizeof(res->error), "no PONG from clamd: %s", shown);
		st = CLAMD_EPROTO;
	}
	close(fd);
	res->status = st;
	return st;
}
