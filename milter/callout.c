/*
 * callout - the SMTP client half: address checks and one blocking callout
 * session. See callout.h for the contract. The module is split in two files
 * to keep each readable: the DNS and nexthop half is in callout_dns.c.
 *
 * Every socket is non-blocking and every wait is a poll() bounded by the
 * nearer of the per-step deadline and the whole-session deadline, so a
 * silent or slow server costs at most the configured time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"
#include "util.h"
#include "callout_reply.h"
#include "callout.h"
#include "tsock.h"

/* Safe characters of a domain we send: letters, digits, '.', '-', '_', or an address literal. */
static int
domain_ok(const char *d, size_t len)
{
	size_t i;

	if (len == 0 || len > CALLOUT_HOST_MAX)
		return 0;
	if (d[0] == '[') {
		if (len < 3 || d[len - 1] != ']')
			return 0;
		for (i = 1; i < len - 1; i++)
			if (!(d[i] >= '0' && d[i] <= '9') && !(d[i] >= 'a' && d[i] <= 'z') &&
			    !(d[i] >= 'A' && d[i] <= 'Z') && d[i] != '.' && d[i] != ':' && d[i] != '-')
				return 0;
		return 1;
	}
	for (i = 0; i < len; i++) {
		char c = d[i];

		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    c != '.' && c != '-' && c != '_')
			return 0;
	}
	return 1;
}

int
callout_addr_ok(const char *addr)
{
	const char *at = NULL;
	size_t len, i, local;

	if (addr == NULL)
		return 0;
	len = strnlen(addr, 256);
	if (len == 0 || len > 254)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)addr[i];

		/* No space, control, 8-bit or angle bracket: nothing may end or extend our command. */
		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
			return 0;
		if (c == '@') {
			if (at != NULL)
				return 0;
			at = addr + i;
		}
	}
	if (at == NULL)
		return 0;
	local = (size_t)(at - addr);
	if (local < 1 || local > 64)
		return 0;
	return domain_ok(at + 1, len - local - 1);
}

/* One session's connection state; lives on the caller's stack, parser on the heap. */
struct sess {
	int fd;
	int cmd_ms;
	long long end; /* whole-session deadline (mono ms), 0 = none */
	struct smtpreply_parser *rp;
	char buf[1024];
	size_t off, len;
	int broken; /* the last read failed: the server is not worth a QUIT */
	char why[CALLOUT_REPLY_MAX];
};

static long long
deadline(const struct sess *s, int ms)
{
	long long d = rg_mono_ms() + ms;

	return s->end && s->end < d ? s->end : d;
}

/* vsnprintf: a cut reason is fine, and it spares -Wformat-truncation noise. */
static void RG_PRINTF(2, 3) setwhy(struct sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* Put "what: " in front of the current reason. */
static void
why_prefix(struct sess *s, const char *what)
{
	char tmp[sizeof(s->why)];

	rg_strlcpy(tmp, s->why, sizeof(tmp));
	setwhy(s, "%s: %s", what, tmp);
}

static void
why_errno(struct sess *s, const char *what, int e)
{
	char eb[128];

	setwhy(s, "%s: %s", what, strerror_r(e, eb, sizeof(eb)));
}

/* Send the whole of line; 0, or -1 with s->why. */
static int
send_all(struct sess *s, const char *line, long long dl)
{
	if (tsock_send_all(s->fd, line, strlen(line), dl) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		setwhy(s, "timeout while sending");
	else
		why_errno(s, "write", errno);
	return -1;
}

/* Read one whole reply by dl into *r (valid until the next read); 0, or -1 with s->why. */
static int
read_reply(struct sess *s, long long dl, const struct smtpreply **r)
{
	s->broken = 1;
	for (;;) {
		if (s->off < s->len) {
			size_t used;
			int st = smtpreply_feed(s->rp, s->buf + s->off, s->len - s->off, &used);

			s->off += used;
			if (st == SMTPREPLY_DONE) {
				*r = smtpreply_get(s->rp);
				s->broken = 0;
				return 0;
			}
			if (st == SMTPREPLY_ERROR) {
				setwhy(s, "protocol error: %s", smtpreply_error(s->rp));
				return -1;
			}
		}
		s->off = s->len = 0;
		switch (tsock_wait(s->fd, POLLIN, dl)) {
		case 0:
			setwhy(s, "timeout while reading reply");
			return -1;
		case -1:
			why_errno(s, "poll", errno);
			return -1;
		}
		ssize_t n = recv(s->fd, s->buf, sizeof(s->buf), 0);

		if (n == 0) {
			setwhy(s, "connection closed by server");
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			why_errno(s, "read", errno);
			return -1;
		}
		s->len = (size_t)n;
	}
}

/* Send a command and read its reply within ms; 0, or -1 with s->why (prefixed by the verb). */
static int
command(struct sess *s, const char *verb, const char *line, int ms, const struct smtpreply **r)
{
	long long dl = deadline(s, ms);

	if (send_all(s, line, dl) < 0)
		s->broken = 1;
	else if (read_reply(s, dl, r) == 0)
		return 0;
	why_prefix(s, verb);
	return -1;
}

/* Record an unwanted reply as why: "MAIL FROM: 451 4.3.0 text". */
static void
why_reply(struct sess *s, const char *verb, const struct smtpreply *r)
{
	char sum[CALLOUT_REPLY_MAX];

	smtpreply_summary(sum, sizeof(sum), r);
	setwhy(s, "%s: %s", verb, sum);
}

static void
sess_close(struct sess *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->off = s->len = 0;
}

/*
 * Polite goodbye after a step the server refused: a short wait, answer
 * ignored. A server that timed out, closed or talked garbage gets no QUIT:
 * waiting on it again would only spend the client's time.
 */
static void
sess_quit(struct sess *s)
{
	const struct smtpreply *r;

	if (s->fd >= 0 && !s->broken) {
		char keep[sizeof(s->why)];

		rg_strlcpy(keep, s->why, sizeof(keep));
		(void)command(s, "QUIT", "QUIT\r\n", s->cmd_ms < 1000 ? s->cmd_ms : 1000, &r);
		rg_strlcpy(s->why, keep, sizeof(s->why));
	}
	sess_close(s);
}

/* Non-blocking connect to one address by dl; 1 connected (s->fd set), 0 failed (s->why). */
static int
connect_addr(struct sess *s, const struct callout_target *t, const struct addrinfo *ai, long long dl)
{
	char addr[NI_MAXHOST] = "?", what[CALLOUT_REPLY_MAX];
	int fd;

	(void)getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
	snprintf(what, sizeof(what), "connect to %.100s[%.64s]:%u", t->host, addr, t->port);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		why_errno(s, what, errno);
		return 0;
	}
	if (tsock_connect(fd, ai->ai_addr, ai->ai_addrlen, dl) < 0) {
		if (errno == ETIMEDOUT)
			setwhy(s, "%s: timeout", what);
		else
			why_errno(s, what, errno);
		close(fd);
		return 0;
	}
	s->fd = fd;
	s->off = s->len = 0;
	s->broken = 0;
	smtpreply_reset(s->rp);
	return 1;
}

/* Greeting, EHLO/HELO and MAIL FROM on a fresh connection; 0 ready for RCPT, -1 (s->why). */
static int
sess_start(struct sess *s, const struct callout_params *pa, const char *mailfrom)
{
	const struct smtpreply *r;
	char line[CALLOUT_HOST_MAX + 16];

	if (read_reply(s, deadline(s, s->cmd_ms), &r) < 0) {
		why_prefix(s, "greeting");
		return -1;
	}
	if (r->code != 220)
		return why_reply(s, "greeting", r), -1;
	snprintf(line, sizeof(line), "EHLO %s\r\n", pa->helo_name);
	if (command(s, "EHLO", line, s->cmd_ms, &r) < 0)
		return -1;
	if (r->code / 100 == 5) {
		/* A pre-ESMTP server: we need no extension, HELO will do. */
		snprintf(line, sizeof(line), "HELO %s\r\n", pa->helo_name);
		if (command(s, "HELO", line, s->cmd_ms, &r) < 0)
			return -1;
		if (r->code / 100 != 2)
			return why_reply(s, "HELO", r), -1;
	} else if (r->code / 100 != 2) {
		return why_reply(s, "EHLO", r), -1;
	}
	if (command(s, "MAIL FROM", mailfrom, s->cmd_ms, &r) < 0)
		return -1;
	if (r->code / 100 != 2)
		return why_reply(s, "MAIL FROM", r), -1;
	return 0;
}

/* A target we may hand to getaddrinfo: an IP address or a plain host name, and a port. */
static int
target_ok(const struct callout_target *t)
{
	unsigned char bin[sizeof(struct in6_addr)];
	size_t len = strnlen(t->host, sizeof(t->host));

	if (t->port == 0 || t->port > 65535 || len == sizeof(t->host))
		return 0;
	if (inet_pton(AF_INET, t->host, bin) == 1 || inet_pton(AF_INET6, t->host, bin) == 1)
		return 1;
	return t->host[0] != '[' && domain_ok(t->host, len);
}

/* Try every address of every target until one gets through MAIL FROM; 0 or a CALLOUT_E* code. */
static int
sess_open(struct sess *s, const struct callout_target *targets, size_t ntargets,
	  const struct callout_params *pa, const char *mailfrom)
{
	int connected = 0;

	setwhy(s, "no hosts to try");
	for (size_t i = 0; i < ntargets; i++) {
		const struct callout_target *t = &targets[i];
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *res = NULL,
				*ai;
		char port[8];
		int e;

		if (s->end && rg_mono_ms() >= s->end) {
			setwhy(s, "session time limit reached");
			break;
		}
		if (!target_ok(t)) {
			setwhy(s, "bad target host or port");
			continue;
		}
		snprintf(port, sizeof(port), "%u", t->port);
		hints.ai_flags = AI_NUMERICSERV;
		if ((e = getaddrinfo(t->host, port, &hints, &res)) != 0) {
			setwhy(s, "%.100s: %s", t->host, gai_strerror(e));
			continue;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (!connect_addr(s, t, ai, deadline(s, pa->connect_timeout_ms)))
				continue;
			connected = 1;
			if (sess_start(s, pa, mailfrom) == 0) {
				freeaddrinfo(res);
				return 0;
			}
			sess_quit(s);
		}
		freeaddrinfo(res);
	}
	return connected ? CALLOUT_ESESSION : CALLOUT_ECONNECT;
}

/*
 * Only an answer about the mailbox itself makes a recipient invalid: 550,
 * 551 or 553 with no enhanced code or a 5.1.x one ("user unknown", "no
 * such mailbox", "bad destination address"). Any other 5xx - the customer's
 * server refusing this relay ("554 5.7.1 Client host blocked"), its callout
 * sender ("550 5.7.1 Sender address rejected"), a full mailbox (552 5.2.2) -
 * says nothing about the address and is "unknown": it must neither bounce a
 * customer's mail nor sit in the cache for days.
 */
enum callout_verdict
callout_rcpt_verdict(int code, const char *enh)
{
	if (code / 100 == 2)
		return CALLOUT_VALID;
	if ((code == 550 || code == 551 || code == 553) &&
	    (enh == NULL || *enh == 0 || strncmp(enh, "5.1.", 4) == 0))
		return CALLOUT_INVALID;
	return CALLOUT_UNKNOWN;
}

static void
set_result(struct callout_result *res, enum callout_verdict v, int code, const char *text)
{
	res->verdict = v;
	res->code = code;
	rg_strlcpy(res->reply, text, sizeof(res->reply));
}

/* Refuse before any connection: 1 (with err) if an argument is unusable or unsafe to send. */
static int
args_bad(const struct callout_params *pa, const char *sender, size_t ntargets, char *err, size_t errlen)
{
	char why[64] = "";

	if (pa == NULL || pa->helo_name == NULL || pa->connect_timeout_ms <= 0 ||
	    pa->command_timeout_ms <= 0 || pa->total_timeout_ms < 0)
		snprintf(why, sizeof(why), "bad callout parameters");
	else if (!domain_ok(pa->helo_name, strnlen(pa->helo_name, CALLOUT_HOST_MAX + 1)))
		snprintf(why, sizeof(why), "unsafe EHLO name");
	else if (sender[0] && !callout_addr_ok(sender))
		snprintf(why, sizeof(why), "unsafe sender address");
	else if (ntargets == 0)
		snprintf(why, sizeof(why), "no host to ask");
	if (why[0] && err && errlen)
		rg_strlcpy(err, why, errlen);
	return why[0] != 0;
}

/* An open session: struct sess plus what it owns. */
struct callout_conn {
	struct sess s;
};

int
callout_open(struct callout_conn **cp, const struct callout_target *targets, size_t ntargets,
	     const struct callout_params *pa, char *err, size_t errlen)
{
	struct callout_conn *c;
	char mailfrom[300];
	const char *sender = pa && pa->sender ? pa->sender : "";
	int rc;

	*cp = NULL;
	if (args_bad(pa, sender, ntargets, err, errlen))
		return CALLOUT_EREFUSED;
	c = xcalloc(1, sizeof(*c));
	c->s.fd = -1;
	c->s.cmd_ms = pa->command_timeout_ms;
	c->s.end = pa->total_timeout_ms ? rg_mono_ms() + pa->total_timeout_ms : 0;
	c->s.rp = xmalloc(sizeof(*c->s.rp));
	smtpreply_reset(c->s.rp);
	snprintf(mailfrom, sizeof(mailfrom), "MAIL FROM:<%s>\r\n", sender);
	if ((rc = sess_open(&c->s, targets, ntargets, pa, mailfrom)) != 0) {
		if (err && errlen)
			rg_strlcpy(err, c->s.why, errlen);
		callout_close(c);
		return rc;
	}
	*cp = c;
	return CALLOUT_DONE;
}

int
callout_rcpt(struct callout_conn *c, const char *rcpt, long long deadline_ms, struct callout_result *res)
{
	struct sess *s = &c->s;
	const struct smtpreply *r;
	char line[300], sum[CALLOUT_REPLY_MAX];

	if (!callout_addr_ok(rcpt)) {
		set_result(res, CALLOUT_UNKNOWN, 0, "unsafe recipient address: not sent");
		return 0;
	}
	if (s->fd < 0) {
		set_result(res, CALLOUT_UNKNOWN, 0, "session is closed");
		return -1;
	}
	s->end = deadline_ms;
	snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpt);
	if (command(s, "RCPT TO", line, s->cmd_ms, &r) < 0) {
		set_result(res, CALLOUT_UNKNOWN, 0, s->why);
		sess_close(s);
		return -1;
	}
	smtpreply_summary(sum, sizeof(sum), r);
	set_result(res, callout_rcpt_verdict(r->code, r->enh), r->code, sum);
	if (r->code == 421) {
		setwhy(s, "RCPT TO: server is closing the session (421)");
		sess_close(s);
		return -1;
	}
	return 0;
}

void
callout_close(struct callout_conn *c)
{
	struct sess *s;
	const struct smtpreply *r;

	if (c == NULL)
		return;
	s = &c->s;
	/* A short, polite goodbye: nobody waits on a server that is slow to say it. */
	s->end = 0;
	if (s->fd >= 0 && !s->broken &&
	    command(s, "RSET", "RSET\r\n", s->cmd_ms < 2000 ? s->cmd_ms : 2000, &r) == 0)
		(void)command(s, "QUIT", "QUIT\r\n", s->cmd_ms < 2000 ? s->cmd_ms : 2000, &r);
	sess_close(s);
	xfree(s->rp);
	free(c);
}

int
callout_run(const struct callout_target *targets, size_t ntargets, const struct callout_params *pa,
	    const char *const *rcpts, size_t nrcpts, struct callout_result *results, char *err, size_t errlen)
{
	struct callout_conn *c;
	char why[CALLOUT_REPLY_MAX];
	size_t i;
	int rc;

	for (i = 0; i < nrcpts; i++)
		set_result(&results[i], CALLOUT_UNKNOWN, 0, "not checked");
	if (nrcpts == 0) {
		if (err && errlen)
			rg_strlcpy(err, "no recipient", errlen);
		return CALLOUT_EREFUSED;
	}
	for (i = 0; i < nrcpts; i++) {
		if (!callout_addr_ok(rcpts[i])) {
			if (err && errlen)
				snprintf(err, errlen, "unsafe recipient address #%zu", i);
			return CALLOUT_EREFUSED;
		}
	}
	if ((rc = callout_open(&c, targets, ntargets, pa, why, sizeof(why))) != CALLOUT_DONE) {
		for (i = 0; i < nrcpts; i++)
			set_result(&results[i], CALLOUT_UNKNOWN, 0, why);
		if (err && errlen)
			rg_strlcpy(err, why, errlen);
		return rc;
	}
	/* The session deadline set at open covers every recipient. */
	for (i = 0; i < nrcpts; i++) {
		if (callout_rcpt(c, rcpts[i], c->s.end, &results[i]) < 0) {
			for (size_t j = i + 1; j < nrcpts; j++)
				set_result(&results[j], CALLOUT_UNKNOWN, 0, c->s.why);
			break;
		}
	}
	callout_close(c);
	return CALLOUT_DONE;
}
