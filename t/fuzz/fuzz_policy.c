/*
 * fuzz_policy - the policy request parser behind the server's own framing.
 *
 * The input is written, in chunks, into a real UNIX-domain connection to a
 * psrv listener (policyd/server.c), so lines are framed exactly as in the
 * daemon: evbuffer, "\n" or "\r\n", line and request limits, requests
 * dispatched at the empty line. The handler answers at once or later (after
 * more bytes arrived, or after the client's EOF), as Redis-backed decisions
 * do.
 *
 * Input: byte 0 chooses the chunk sizes and when answers are given; the rest
 * is what Postfix would send.
 *
 * Properties, checked against an independent model of the protocol
 * (SMTPD_POLICY_README plus the documented limits):
 *   - the handler sees exactly the requests the model completes, in order,
 *     with the same attribute values, none with a line break or NUL;
 *   - the client reads exactly one "action=<printable>\n\n" per request,
 *     in order, and then EOF: no reply can carry a second line, and a
 *     malformed request gets no reply (the connection is closed);
 *   - every connection is freed once the client is gone and answers are in
 *     (no connection is left open forever), and no log line carries a
 *     control character (fuzz_msg.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "endpoint.h"
#include "fuzz.h"
#include "request.h"
#include "server.h"
#include "util.h"

/* The limits the fuzz listener runs with (small, so the fuzzer reaches them). */
#define FP_MAX_LINE 256
#define FP_MAX_REQ 1024
#define FP_MAX_ATTR 16
#define FP_MAX_INPUT 4096 /* bytes of one input, at most */
#define FP_MAX_REQS (FP_MAX_INPUT / 4 + 1) /* "a=\n\n" is the shortest request */
#define FP_MAX_DEFER 64

_Static_assert(PREQ_NATTR == 19, "a new attribute: add its name to fp_names");
static const char *const fp_names[PREQ_NATTR] = {
    "request",
    "protocol_state",
    "protocol_name",
    "helo_name",
    "queue_id",
    "sender",
    "recipient",
    "recipient_count",
    "client_address",
    "client_name",
    "reverse_client_name",
    "instance",
    "sasl_method",
    "sasl_username",
    "size",
    "encryption_protocol",
    "client_port",
    "server_address",
    "server_port",
};

/* One request as the model expects the handler to see it. */
struct fp_req {
	const char *val[PREQ_NATTR]; /* into the input copy; NULL = absent */
	size_t len[PREQ_NATTR];
};

static struct event_base *fp_base;
static struct psrv *fp_srv;
static char fp_dir[64], fp_path[128];

/* State of one input. */
static struct fp_req fp_expect[FP_MAX_REQS];
static int fp_nexpect, fp_seen;
static unsigned fp_mode;
static struct pconn *fp_defer[FP_MAX_DEFER];
static int fp_defer_k[FP_MAX_DEFER]; /* which request each deferred answer is for */
static int fp_ndefer;
static char fp_actions[FP_MAX_REQS][320]; /* the action each reply must carry (sanitised) */

static int
fp_name_ok(const char *l, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = l[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/*
 * The model: how many requests a conforming server completes on d[0..n)
 * followed by EOF, and what each holds. Written from the protocol text,
 * not from request.c.
 */
static int
fp_model(const char *d, size_t n)
{
	struct fp_req cur;
	size_t pos = 0, bytes = 0;
	int nattr = 0, nreq = 0;

	memset(&cur, 0, sizeof(cur));
	while (pos < n) {
		const char *nl = memchr(d + pos, '\n', n - pos);
		const char *l = d + pos, *eq;
		size_t len;

		if (nl == NULL)
			return nreq; /* an unfinished line, then EOF: no reply for it */
		len = (size_t)(nl - l);
		pos += len + 1;
		if (len > FP_MAX_LINE)
			return nreq;
		if (len == 0 || (len == 1 && l[0] == '\r')) {
			if (nattr == 0)
				return nreq; /* an empty request is trouble */
			if (nreq == FP_MAX_REQS)
				return nreq;
			fp_expect[nreq++] = cur;
			memset(&cur, 0, sizeof(cur));
			nattr = 0, bytes = 0;
			continue;
		}
		bytes += len + 1;
		if (bytes > FP_MAX_REQ || ++nattr > FP_MAX_ATTR)
			return nreq;
		if (l[len - 1] == '\r')
			len--;
		if (memchr(l, 0, len))
			return nreq;
		if ((eq = memchr(l, '=', len)) == NULL || !fp_name_ok(l, (size_t)(eq - l)))
			return nreq;
		for (int i = 0; i < PREQ_NATTR; i++)
			if (strlen(fp_names[i]) == (size_t)(eq - l) &&
			    memcmp(fp_names[i], l, (size_t)(eq - l)) == 0) {
				cur.val[i] = eq + 1;
				cur.len[i] = len - (size_t)(eq + 1 - l);
			}
	}
	return nreq;
}

/* What the handler answers for request k: usually DUNNO; sometimes text
 * taken from the request, to prove psrv_reply() keeps it on one line. */
static void
fp_action(int k, const struct preq *req, char *buf, size_t size)
{
	const char *inst = preq_get(req, PREQ_INSTANCE);

	if ((fp_mode & 0x10) && *inst)
		snprintf(buf, size, "REJECT %s", inst);
	else
		snprintf(buf, size, "%s", k % 2 ? "DUNNO" : "OK");
}

static void
fp_handler(struct pconn *c, const struct preq *req, void *arg)
{
	int k = fp_seen++;
	char action[320];

	(void)arg;
	FUZZ_ASSERT(k < fp_nexpect, "request %d dispatched; the model completes only %d", k + 1, fp_nexpect);
	for (int i = 0; i < PREQ_NATTR; i++) {
		const char *v = preq_get(req, (enum preq_attr)i);
		const struct fp_req *e = &fp_expect[k];

		FUZZ_ASSERT(strchr(v, '\n') == NULL, "line feed in %s", fp_names[i]);
		if (e->val[i] == NULL)
			FUZZ_ASSERT(*v == 0, "request %d: %s is \"%.80s\", the model has none", k,
				    fp_names[i], v);
		else
			FUZZ_ASSERT(strlen(v) == e->len[i] && memcmp(v, e->val[i], e->len[i]) == 0,
				    "request %d: %s differs from the model (%zu vs %zu bytes)", k,
				    fp_names[i], strlen(v), e->len[i]);
	}
	fp_action(k, req, action, sizeof(action));
	rg_sanitize(fp_actions[k], sizeof(fp_actions[k]), action, strlen(action));
	/* Mode bits 0-1: answer now (0), later (1), alternate (2), or now for
	 * even requests only when bit 2 is set (3). */
	switch (fp_mode & 3) {
	case 0:
		psrv_reply(c, action);
		return;
	case 2:
		if (k % 2 == 0) {
			psrv_reply(c, action);
			return;
		}
		break;
	case 3:
		if ((fp_mode & 4) && k % 3 == 0) {
			psrv_reply(c, action);
			return;
		}
		break;
	}
	FUZZ_ASSERT(fp_ndefer < FP_MAX_DEFER, "too many deferred answers");
	fp_defer_k[fp_ndefer] = k;
	fp_defer[fp_ndefer++] = c;
}

/* Give the deferred answers, in order. */
static void
fp_answer(void)
{
	struct pconn *c[FP_MAX_DEFER];
	int k[FP_MAX_DEFER], n = fp_ndefer;

	/* An answer may dispatch the next request, which may defer again. */
	memcpy(c, fp_defer, sizeof(c[0]) * (size_t)n);
	memcpy(k, fp_defer_k, sizeof(k[0]) * (size_t)n);
	fp_ndefer = 0;
	for (int i = 0; i < n; i++)
		psrv_reply(c[i], fp_actions[k[i]]);
}

/* Read what the server sent so far into out; returns 1 at EOF. */
static int
fp_read(int fd, char *out, size_t cap, size_t *outlen)
{
	for (;;) {
		char buf[4096];
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r == 0)
			return 1;
		if (r < 0)
			return errno == ECONNRESET;
		FUZZ_ASSERT(*outlen + (size_t)r <= cap, "more reply bytes than replies can need");
		memcpy(out + *outlen, buf, (size_t)r);
		*outlen += (size_t)r;
	}
}

static void
fp_cleanup(void)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/policy", fp_dir);
	unlink(path);
	rmdir(fp_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rg_params g;
	struct rg_endpoint ep;
	char err[256];

	(void)argc, (void)argv;
	snprintf(fp_dir, sizeof(fp_dir), "/tmp/rg-fuzz-policy.XXXXXX");
	if (mkdtemp(fp_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(fp_path, sizeof(fp_path), "unix:%s/policy", fp_dir);
	fp_base = event_base_new();
	fp_srv = psrv_new(fp_base, fp_handler, NULL);
	memset(&g, 0, sizeof(g));
	g.policyd_max_connections = 100;
	g.policyd_max_attributes = FP_MAX_ATTR;
	g.policyd_max_line_length = FP_MAX_LINE;
	g.policyd_max_request_size = FP_MAX_REQ;
	g.policyd_idle_timeout = 600000;
	g.policyd_request_timeout = 600000; /* the deadline is time, not input: out of scope here */
	psrv_set_limits(fp_srv, &g);
	if (rg_endpoint_parse(fp_path, 0, 0, &ep, err, sizeof(err)) != 0 ||
	    psrv_listen(fp_srv, &ep, 0600, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_policy: %s\n", err);
		exit(1);
	}
	atexit(fp_cleanup);
	return 0;
}

static void
fp_loop(int times)
{
	for (int i = 0; i < times; i++)
		event_base_loop(fp_base, EVLOOP_NONBLOCK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[FP_MAX_REQS * 330];
	struct sockaddr_un sun;
	const char *d;
	size_t n, pos = 0, outlen = 0, o = 0;
	unsigned rnd;
	int fd, eof = 0;

	if (size < 1 || size > FP_MAX_INPUT)
		return 0;
	fp_mode = data[0];
	d = (const char *)data + 1;
	n = size - 1;
	fp_nexpect = fp_model(d, n);
	fp_seen = 0;
	fp_ndefer = 0;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	FUZZ_ASSERT(fd >= 0, "socket: %s", strerror(errno));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/policy", fp_dir);
	FUZZ_ASSERT(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "connect: %s", strerror(errno));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	fp_loop(2); /* accept */

	/* Chunks of 1..(mode>>5)*16+1 bytes, from a generator seeded by the mode and size. */
	rnd = (fp_mode * 2654435761u) ^ (unsigned)n;
	while (pos < n) {
		size_t max = ((fp_mode >> 5) * 37u) + 1, len;
		ssize_t w;

		rnd = rnd * 1103515245u + 12345u;
		len = 1 + (rnd >> 8) % max;
		if (len > n - pos)
			len = n - pos;
		w = send(fd, d + pos, len, MSG_NOSIGNAL);
		if (w < 0)
			break; /* the server closed on us: a malformed request */
		pos += (size_t)w;
		fp_loop(1);
		if ((fp_mode & 8) && fp_ndefer)
			fp_answer(); /* decisions that arrive while more bytes come in */
		fp_loop(1);
		eof = fp_read(fd, out, sizeof(out), &outlen);
	}
	shutdown(fd, SHUT_WR);
	for (size_t i = 0; i < 4 * n + 50 && !eof; i++) {
		fp_loop(1);
		fp_answer();
		fp_loop(1);
		eof = fp_read(fd, out, sizeof(out), &outlen);
	}
	fp_answer();
	fp_loop(2);
	if (!eof)
		eof = fp_read(fd, out, sizeof(out), &outlen);
	close(fd);
	fp_loop(2);

	FUZZ_ASSERT(eof, "the server never closed the connection (%d requests, %d answered)", fp_seen,
		    fp_nexpect);
	FUZZ_ASSERT(psrv_nconn(fp_srv) == 0, "%d connections left open", psrv_nconn(fp_srv));
	FUZZ_ASSERT(fp_seen == fp_nexpect, "%d requests dispatched, the model completes %d", fp_seen,
		    fp_nexpect);
	/* Exactly one "action=...\n\n" per request, in order, and nothing else. */
	for (int k = 0; k < fp_seen; k++) {
		size_t alen = strlen(fp_actions[k]);

		FUZZ_ASSERT(outlen - o >= 7 + alen + 2 && memcmp(out + o, "action=", 7) == 0 &&
				memcmp(out + o + 7, fp_actions[k], alen) == 0 &&
				memcmp(out + o + 7 + alen, "\n\n", 2) == 0,
			    "reply %d is not \"action=%.100s\\n\\n\" (%zu bytes left: \"%.*s\")", k,
			    fp_actions[k], outlen - o, (int)(outlen - o < 100 ? outlen - o : 100), out + o);
		FUZZ_ASSERT(!fuzz_has_ctl(fp_actions[k], alen), "control character in reply %d", k);
		o += 7 + alen + 2;
	}
	FUZZ_ASSERT(o == outlen, "%zu bytes after the last reply", outlen - o);
	return 0;
}
