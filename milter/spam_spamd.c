/*
 * spamd - the SPAMC/1.5 client: address parsing, non-blocking connect, and
 * poll()-driven send/receive under one deadline. See spam_spamd.h for the
 * contract; the reply parser lives in spam_spamd_reply.c.
 *
 * Trust boundary: the reply is read into a buffer that never grows past
 * SPAMD_REPLY_MAX + 1 bytes and is handed to spamd_parse_reply().
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "endpoint.h"
#include "spam_spamd.h"
#include "tsock.h"
#include "util.h"

#define CHUNK 16384 /* file segments are read and sent this much at a time */

struct conn {
	int fd;
	long long deadline; /* rg_mono_ms() */
	struct spamd_result *res;
};

static const char *const status_text[] = {
    [SPAMD_OK] = "ok",
    [SPAMD_ETIMEOUT] = "timeout",
    [SPAMD_ECONNECT] = "connect failed",
    [SPAMD_EIO] = "I/O error",
    [SPAMD_EPROTO] = "protocol error",
    [SPAMD_ESERVER] = "spamd error",
    [SPAMD_ETOOBIG] = "too large",
    [SPAMD_EINVAL] = "invalid argument",
};

const char *
spamd_strstatus(enum spamd_status st)
{
	if ((unsigned)st < sizeof(status_text) / sizeof(status_text[0]) && status_text[st])
		return status_text[st];
	return "unknown";
}

struct spamd_seg
spamd_seg_mem(const void *mem, size_t len)
{
	struct spamd_seg s = {.mem = mem, .fd = -1, .off = 0, .len = len};

	return s;
}

struct spamd_seg
spamd_seg_file(int fd, off_t off, size_t len)
{
	struct spamd_seg s = {.mem = NULL, .fd = fd, .off = off, .len = len};

	return s;
}

static enum spamd_status
fail(struct spamd_result *res, enum spamd_status st, const char *what, int err)
{
	char eb[128];

	res->status = st;
	if (err) /* strerror_r, GNU flavour: strerror() may use a shared buffer */
		snprintf(res->error, sizeof(res->error), "%s: %s", what, strerror_r(err, eb, sizeof(eb)));
	else
		snprintf(res->error, sizeof(res->error), "%s", what);
	return st;
}

/* Connect fd (non-blocking) to sa; SPAMD_OK, or an error with res->error set. */
static enum spamd_status
connect_one(int fd, const struct sockaddr *sa, socklen_t salen, long long deadline, struct spamd_result *res)
{
	if (tsock_connect(fd, sa, salen, deadline) == 0)
		return SPAMD_OK;
	if (errno == ETIMEDOUT)
		return fail(res, SPAMD_ETIMEOUT, "timeout connecting to spamd", 0);
	return fail(res, SPAMD_ECONNECT, "connect", errno);
}

/* Connect to ep (parsed by the endpoint grammar, endpoint.h). */
static enum spamd_status
open_conn(struct conn *c, const struct rg_endpoint *ep)
{
	struct spamd_result *res = c->res;
	char gerr[200];

	if (ep->kind == RG_EP_UNIX) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		memcpy(sun.sun_path, ep->path, strlen(ep->path) + 1);
		if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			return fail(res, SPAMD_ECONNECT, "socket", errno);
		return connect_one(c->fd, (struct sockaddr *)&sun, sizeof(sun), c->deadline, res);
	}

	struct addrinfo *ai, *p;
	enum spamd_status st = SPAMD_ECONNECT;

	if (rg_endpoint_getaddrinfo(ep, 0, &ai, gerr, sizeof(gerr)) != 0) {
		snprintf(res->error, sizeof(res->error), "resolve spamd host %.200s", gerr);
		return res->status = SPAMD_ECONNECT;
	}
	for (p = ai; p; p = p->ai_next) {
		c->fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol);
		if (c->fd < 0) {
			st = fail(res, SPAMD_ECONNECT, "socket", errno);
			continue;
		}
		if ((st = connect_one(c->fd, p->ai_addr, p->ai_addrlen, c->deadline, res)) == SPAMD_OK ||
		    st == SPAMD_ETIMEOUT)
			break;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(ai);
	return st;
}

/* Send all of buf; never raises SIGPIPE. */
static enum spamd_status
send_all(struct conn *c, const char *buf, size_t len)
{
	if (tsock_send_all(c->fd, buf, len, c->deadline) == 0)
		return SPAMD_OK;
	if (errno == ETIMEDOUT)
		return fail(c->res, SPAMD_ETIMEOUT, "timeout sending to spamd", 0);
	return fail(c->res, SPAMD_EIO, "send to spamd", errno);
}

static enum spamd_status
send_seg(struct conn *c, const struct spamd_seg *s)
{
	char buf[CHUNK];
	size_t done = 0;
	enum spamd_status st;

	if (s->fd < 0)
		return send_all(c, s->mem, s->len);
	while (done < s->len) {
		size_t want = s->len - done < sizeof(buf) ? s->len - done : sizeof(buf);
		ssize_t n = pread(s->fd, buf, want, s->off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(c->res, SPAMD_EIO, "read message file", errno);
		if (n == 0)
			return fail(c->res, SPAMD_EIO, "message file shorter than announced", 0);
		if ((st = send_all(c, buf, (size_t)n)) != SPAMD_OK)
			return st;
		done += (size_t)n;
	}
	return SPAMD_OK;
}

/*
 * Read the reply until spamd closes, the reply is complete, or the cap or
 * deadline is reached; then parse it. quick: spamd already broke the
 * connection while we sent, so take only what is there (an EX_ error line).
 */
static enum spamd_status
recv_reply(struct conn *c, int quick)
{
	size_t cap = 8192, len = 0;
	char *buf = xmalloc(cap);
	enum spamd_status st = SPAMD_OK;

	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > SPAMD_REPLY_MAX) {
				st = fail(c->res, SPAMD_ETOOBIG, "spamd reply over the size cap", 0);
				break;
			}
			cap = cap * 2 > SPAMD_REPLY_MAX + 1 ? SPAMD_REPLY_MAX + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		n = recv(c->fd, buf + len, cap - len, 0);
		if (n > 0) {
			len += (size_t)n;
			if (spamd_reply_complete(buf, len))
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			st = fail(c->res, SPAMD_EIO, "receive from spamd", errno);
			break;
		}
		if (quick)
			break;
		int w = tsock_wait(c->fd, POLLIN, c->deadline);

		if (w == 0) {
			st = fail(c->res, SPAMD_ETIMEOUT, "timeout waiting for spamd's reply", 0);
			break;
		}
		if (w < 0) {
			st = fail(c->res, SPAMD_EIO, "poll", errno);
			break;
		}
	}
	if (st == SPAMD_OK || (quick && len > 0))
		st = spamd_parse_reply(buf, len, c->res);
	free(buf);
	return st;
}

static int
valid_user(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > 64)
		return 0;
	return strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+-") == n;
}

enum spamd_status
spamd_check(const char *addr, int timeout_ms, const char *user, const struct spamd_seg *segs, size_t nsegs,
	    size_t max_size, struct spamd_result *res)
{
	struct rg_endpoint ep;
	char err[200];

	if (addr == NULL || *addr == 0) {
		memset(res, 0, sizeof(*res));
		return fail(res, SPAMD_ECONNECT, "no spamd address", 0);
	}
	if (rg_endpoint_parse(addr, 0, SPAMD_DEFAULT_PORT, &ep, err, sizeof(err)) != 0) {
		memset(res, 0, sizeof(*res));
		snprintf(res->error, sizeof(res->error), "bad spamd address %.200s", err);
		return res->status = SPAMD_ECONNECT;
	}
	return spamd_check_ep(&ep, timeout_ms, user, segs, nsegs, max_size, res);
}

enum spamd_status
spamd_check_ep(const struct rg_endpoint *ep, int timeout_ms, const char *user, const struct spamd_seg *segs,
	       size_t nsegs, size_t max_size, struct spamd_result *res)
{
	struct conn c = {.fd = -1, .deadline = rg_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0), .res = res};
	char head[160];
	size_t total = 0, i;
	int hl;
	enum spamd_status st;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < nsegs; i++) {
		if (total + segs[i].len < total)
			return fail(res, SPAMD_ETOOBIG, "message size overflows", 0);
		total += segs[i].len;
	}
	if (max_size && total > max_size) {
		snprintf(res->error, sizeof(res->error), "message of %zu bytes over the %zu byte limit",
			 total, max_size);
		return res->status = SPAMD_ETOOBIG;
	}
	if (user && *user && !valid_user(user))
		return fail(res, SPAMD_EINVAL, "spamd user name has characters spamd refuses", 0);
	if (ep == NULL)
		return fail(res, SPAMD_ECONNECT, "no spamd address", 0);

	if ((st = open_conn(&c, ep)) != SPAMD_OK)
		goto out;
	hl = snprintf(head, sizeof(head), "REPORT SPAMC/1.5\r\nContent-length: %zu\r\n%s%s%s\r\n", total,
		      user && *user ? "User: " : "", user && *user ? user : "", user && *user ? "\r\n" : "");
	st = send_all(&c, head, (size_t)hl);
	for (i = 0; st == SPAMD_OK && i < nsegs; i++)
		st = send_seg(&c, &segs[i]);
	if (st == SPAMD_EIO) {
		/* spamd may have refused us with an EX_ line and closed: report
		 * that if it is there, else the send error. */
		struct spamd_result *save = xmalloc(sizeof(*save));

		*save = *res;
		if ((st = recv_reply(&c, 1)) != SPAMD_ESERVER)
			*res = *save, st = save->status;
		free(save);
		goto out;
	}
	if (st != SPAMD_OK)
		goto out;
	shutdown(c.fd, SHUT_WR); /* PROTOCOL: each side shuts down its write side */
	st = recv_reply(&c, 0);
out:
	if (c.fd >= 0)
		close(c.fd);
	res->status = st;
	return st;
}

enum spamd_status
spamd_ping(const struct rg_endpoint *ep, int timeout_ms, struct spamd_result *res)
{
	struct conn c = {.fd = -1, .deadline = rg_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0), .res = res};
	static const char ping[] = "PING SPAMC/1.5\r\n\r\n";
	char buf[128];
	enum spamd_status st;

	memset(res, 0, sizeof(*res));
	if (ep == NULL)
		return fail(res, SPAMD_ECONNECT, "no spamd address", 0);
	if ((st = open_conn(&c, ep)) != SPAMD_OK || (st = send_all(&c, ping, sizeof(ping) - 1)) != SPAMD_OK)
		goto out;
	/* "SPAMD/1.5 0 PONG\r\n", then spamd closes; a close or a full buffer
	 * before the newline leaves what came in buf for the test below. */
	if (tsock_read_line(c.fd, buf, sizeof(buf), '\n', c.deadline) < 0 && errno != EPIPE &&
	    errno != EMSGSIZE) {
		st = errno == ETIMEDOUT ? fail(res, SPAMD_ETIMEOUT, "timeout waiting for spamd's PONG", 0)
					: fail(res, SPAMD_EIO, "receive from spamd", errno);
		goto out;
	}
	st = strncmp(buf, "SPAMD/", 6) == 0 && strstr(buf, " 0 PONG")
		 ? SPAMD_OK
		 : fail(res, SPAMD_EPROTO, "no PONG from spamd", 0);
out:
	if (c.fd >= 0)
		close(c.fd);
	res->status = st;
	return st;
}
