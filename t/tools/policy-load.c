/*
 * policy-load - a load generator for Postfix policy servers, speaking the
 * SMTPD policy delegation protocol the way Postfix does: many connections,
 * one request at a time on each, realistic attribute sets.
 *
 * Bounded: stops after -n requests or -T seconds, whichever comes first.
 * Prints requests/s and latency percentiles (and a one-line summary with
 * -q for scripts). Used by the benchmarks and for quick loopback checks.
 *
 * Workloads (-w):
 *   greylist  inbound RCPT requests; -k percent use one of -K known triplets
 *             (warm them first with -W), the rest a new sender each time
 *   rate      outbound RCPT + END-OF-MESSAGE pairs from -K client IPs
 *   dunno     like greylist, for servers that answer without state
 *
 * -S SEED varies the random stream (new triplets, recipients) so that runs
 * against one server do not replay each other's "new" triplets; one seed
 * gives every server the same request stream.
 *
 * -R RATE paces the load: RATE requests/s in all, spread over the
 * connections (a steady load instead of as fast as the server answers).
 * -q's summary also counts answers that reject (5xx, REJECT) and gives the
 * slowest answer (max_ms).
 *
 * -H SECONDS (idle mode): each connection sends one request, then stays
 * open and silent; once every connection has its answer the tool prints
 * "holding N" and keeps them open for SECONDS (to measure a server's memory
 * per idle connection). Connections are opened at most 64 at a time so a
 * listen backlog is never overrun.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

struct load {
	struct event_base *base;
	const char *server;
	const char *workload;
	long nreq, sent, done, errors, deferred, rejected;
	double interval, max_lat; /* -R: seconds between two requests on one connection */
	int conns, known_pct, nknown, warm;
	double deadline;
	double *lat;
	unsigned long long rnd;
	long counter;
	/* idle mode (-H) */
	double hold;
	int total, opened, finished;
	struct lconn *cs;
};

struct lconn {
	struct load *L;
	struct bufferevent *bev;
	double t0;
	int id;
	int eom_next; /* rate workload: END-OF-MESSAGE follows RCPT */
	struct event *pace;
	char inst[32];
	char client[32];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned
rnd(struct load *L)
{
	L->rnd ^= L->rnd << 13;
	L->rnd ^= L->rnd >> 7;
	L->rnd ^= L->rnd << 17;
	return (unsigned)(L->rnd >> 11);
}

static void lconn_send(struct lconn *c);
static int lconn_open(struct load *L, struct lconn *c);
static void idle_next(struct load *L);

static void
emit(struct evbuffer *out, struct load *L, const char *state, const char *client, const char *sender,
     const char *rcpt, const char *inst, int conn)
{
	evbuffer_add_printf(
	    out,
	    "request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\n"
	    "helo_name=mail.sender-%u.example\nqueue_id=\nsender=%s\nrecipient=%s\n"
	    "recipient_count=0\nclient_address=%s\nclient_port=%d\nclient_name=mail.sender.example\n"
	    "reverse_client_name=mail.sender.example\ninstance=%s\nsasl_method=\nsasl_username=\n"
	    "sasl_sender=\nsize=%u\nccert_subject=\nccert_issuer=\nccert_fingerprint=\n"
	    "ccert_pubkey_fingerprint=\nencryption_protocol=TLSv1.3\nencryption_cipher=TLS_AES_256_GCM_"
	    "SHA384\n"
	    "encryption_keysize=256\netrn_domain=\nstress=\nserver_address=127.0.0.1\nserver_port=25\n"
	    "policy_context=\ncompatibility_level=3.6\nmail_version=3.7.11\n\n",
	    state, rnd(L) % 1000, sender, rcpt, client, 10000 + conn, inst, 1000 + rnd(L) % 50000);
}

static void
lconn_send(struct lconn *c)
{
	struct load *L = c->L;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char sender[128], rcpt[128], client[64];

	if (now_s() > L->deadline || (!c->eom_next && L->sent >= L->nreq)) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		if (--L->conns == 0)
			event_base_loopexit(L->base, NULL);
		return;
	}
	c->t0 = now_s();
	if (strcmp(L->workload, "rate") == 0) {
		if (c->eom_next) {
			emit(out, L, "END-OF-MESSAGE", c->client, "sender@customer.example", "", c->inst,
			     c->id);
			c->eom_next = 0;
			return;
		}
		snprintf(c->client, sizeof(c->client), "192.0.2.%u",
			 1 + (unsigned)(L->sent % L->nknown) % 250);
		snprintf(c->inst, sizeof(c->inst), "%x.%lx", c->id, L->counter++);
		snprintf(rcpt, sizeof(rcpt), "user%u@remote%u.example", rnd(L) % 1000, rnd(L) % 100);
		emit(out, L, "RCPT", c->client, "sender@customer.example", rcpt, c->inst, c->id);
		c->eom_next = 1;
		L->sent++;
		return;
	}
	if (L->warm || (int)(rnd(L) % 100) < L->known_pct) {
		unsigned k = L->warm ? (unsigned)(L->sent % L->nknown) : rnd(L) % (unsigned)L->nknown;

		snprintf(sender, sizeof(sender), "known%u@sender%u.example", k, k % 97);
		snprintf(rcpt, sizeof(rcpt), "user%u@customer.example", k % 500);
		snprintf(client, sizeof(client), "198.51.%u.%u", (k / 250) % 250, 1 + k % 250);
	} else {
		snprintf(sender, sizeof(sender), "new%ld.%u@sender%u.example", L->counter++, rnd(L),
			 rnd(L) % 997);
		snprintf(rcpt, sizeof(rcpt), "user%u@customer.example", rnd(L) % 500);
		snprintf(client, sizeof(client), "203.0.%u.%u", rnd(L) % 250, 1 + rnd(L) % 250);
	}
	snprintf(c->inst, sizeof(c->inst), "%x.%lx", c->id, L->counter++);
	emit(out, L, "RCPT", client, sender, rcpt, c->inst, c->id);
	L->sent++;
}

static void
lconn_read(struct bufferevent *bev, void *arg)
{
	struct lconn *c = arg;
	struct load *L = c->L;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr p = evbuffer_search(in, "\n\n", 2, NULL);
	char line[512];
	size_t n;

	if (p.pos < 0)
		return;
	n = (size_t)p.pos + 2 < sizeof(line) ? (size_t)p.pos + 2 : sizeof(line) - 1;
	evbuffer_remove(in, line, n);
	line[n] = 0;
	evbuffer_drain(in, evbuffer_get_length(in));
	if (strncmp(line, "action=", 7) != 0)
		L->errors++;
	else if (strncasecmp(line + 7, "DEFER", 5) == 0 || line[7] == '4')
		L->deferred++;
	else if (strncasecmp(line + 7, "REJECT", 6) == 0 || line[7] == '5')
		L->rejected++;
	if (now_s() - c->t0 > L->max_lat)
		L->max_lat = now_s() - c->t0;
	if (L->done < L->nreq * 2)
		L->lat[L->done] = now_s() - c->t0;
	L->done++;
	if (L->hold > 0) {
		idle_next(L);
		return;
	}
	if (L->interval > 0) {
		double wait = c->t0 + L->interval - now_s();
		struct timeval tv = {0, 0};

		if (wait > 0) {
			tv.tv_sec = (long)wait;
			tv.tv_usec = (long)((wait - (double)tv.tv_sec) * 1e6);
		}
		evtimer_add(c->pace, &tv);
		return;
	}
	lconn_send(c);
}

static void
lconn_pace(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (((struct lconn *)arg)->bev)
		lconn_send(arg);
}

static void
lconn_event(struct bufferevent *bev, short what, void *arg)
{
	struct lconn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		lconn_send(c);
		return;
	}
	if (c->L->errors++ < 5)
		fprintf(stderr, "policy-load: connection %d: %s\n", c->id,
			(what & BEV_EVENT_EOF) ? "closed by server" : strerror(EVUTIL_SOCKET_ERROR()));
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->L->hold > 0) {
		idle_next(c->L);
		return;
	}
	if (--c->L->conns == 0)
		event_base_loopexit(c->L->base, NULL);
}

/*
 * Idle mode: one connection has its answer (or failed). Open the next one;
 * when all are done, say so and hold them open for L->hold seconds.
 */
static void
idle_next(struct load *L)
{
	L->finished++;
	while (L->opened < L->total && L->opened - L->finished < 64) {
		struct lconn *c = &L->cs[L->opened++];

		if (lconn_open(L, c) != 0) {
			L->errors++;
			L->finished++;
		}
	}
	if (L->finished == L->total) {
		struct timeval tv;

		tv.tv_sec = (long)L->hold;
		tv.tv_usec = (long)((L->hold - (double)tv.tv_sec) * 1e6);
		printf("holding %d connections (%ld failed)\n", L->total - (int)L->errors, L->errors);
		fflush(stdout);
		event_base_loopexit(L->base, &tv);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
lconn_open(struct load *L, struct lconn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (c->pace == NULL)
		c->pace = evtimer_new(L->base, lconn_pace, c);
	c->bev = bufferevent_socket_new(L->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, lconn_read, NULL, lconn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (strncmp(L->server, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", L->server + 5);
		len = sizeof(*sun);
	} else if (evutil_parse_sockaddr_port(L->server + (strncmp(L->server, "inet:", 5) == 0 ? 5 : 0),
					      (struct sockaddr *)&ss, &len) != 0) {
		fprintf(stderr, "policy-load: bad server %s\n", L->server);
		return -1;
	}
	return bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, len);
}

int
main(int argc, char **argv)
{
	struct load L = {0};
	struct lconn *cs;
	int ch, quiet = 0, nconn = 1, ncs;
	double secs = 30, t0, el, rate = 0;

	L.workload = "greylist";
	L.nreq = 10000;
	L.known_pct = 80;
	L.nknown = 1000;
	L.rnd = 0x9e3779b97f4a7c15ULL;
	while ((ch = getopt(argc, argv, "s:c:n:T:w:k:K:WS:H:qR:")) != -1) {
		switch (ch) {
		case 's':
			L.server = optarg;
			break;
		case 'c':
			nconn = atoi(optarg);
			break;
		case 'n':
			L.nreq = atol(optarg);
			break;
		case 'T':
			secs = atof(optarg);
			break;
		case 'w':
			L.workload = optarg;
			break;
		case 'k':
			L.known_pct = atoi(optarg);
			break;
		case 'K':
			L.nknown = atoi(optarg);
			break;
		case 'W':
			L.warm = 1;
			break;
		case 'S':
			L.rnd ^= strtoull(optarg, NULL, 0) * 0xbf58476d1ce4e5b9ULL;
			L.counter = (long)(strtoul(optarg, NULL, 0) % 1000) * 100000000L;
			break;
		case 'H':
			L.hold = atof(optarg);
			break;
		case 'R':
			rate = atof(optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			fprintf(stderr,
				"usage: policy-load -s unix:PATH|inet:HOST:PORT [-c conns] [-n requests] "
				"[-T seconds] [-w greylist|rate|dunno] [-k known%%] [-K nknown] [-W] "
				"[-S seed] [-H hold-seconds] [-q]\n");
			return 2;
		}
	}
	if (L.server == NULL || nconn < 1 || L.nreq < 1 || L.nknown < 1 || L.rnd == 0)
		return 2;
	if (L.hold > 0)
		L.nreq = nconn; /* one request per connection */
	L.base = event_base_new();
	L.lat = calloc((size_t)L.nreq * 2 + 1, sizeof(double));
	cs = calloc((size_t)nconn, sizeof(*cs));
	ncs = nconn;
	L.conns = nconn;
	L.deadline = now_s() + secs;
	if (rate > 0)
		L.interval = nconn / rate;
	t0 = now_s();
	for (int i = 0; i < nconn; i++) {
		cs[i].L = &L;
		cs[i].id = i;
	}
	if (L.hold > 0) {
		struct timeval bound = {(long)(secs + L.hold) + 1, 0};

		L.cs = cs;
		L.total = nconn;
		L.finished = -1; /* idle_next counts a call as one finished */
		event_base_loopexit(L.base, &bound); /* whatever happens */
		idle_next(&L);
		nconn = 0;
	}
	for (int i = 0; i < nconn; i++) {
		if (lconn_open(&L, &cs[i]) != 0) {
			fprintf(stderr, "policy-load: connect failed\n");
			return 1;
		}
	}
	event_base_dispatch(L.base);
	el = now_s() - t0;
	{
		long n = L.done < L.nreq * 2 ? L.done : L.nreq * 2;
		double p50, p99, p999;

		qsort(L.lat, (size_t)n, sizeof(double), cmp_double);
		p50 = n ? L.lat[n / 2] : 0;
		p99 = n ? L.lat[(long)(n * 0.99)] : 0;
		p999 = n ? L.lat[(long)(n * 0.999)] : 0;
		if (quiet)
			printf("requests=%ld seconds=%.3f rps=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
			       "errors=%ld "
			       "deferred=%ld rejected=%ld max_ms=%.3f\n",
			       L.done, el, L.done / el, p50 * 1e3, p99 * 1e3, p999 * 1e3, L.errors,
			       L.deferred, L.rejected, L.max_lat * 1e3);
		else
			printf("%ld requests on %d connections in %.3f s: %.0f requests/s\n"
			       "latency: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms; deferred %ld; errors %ld\n",
			       L.done, nconn, el, L.done / el, p50 * 1e3, p99 * 1e3, p999 * 1e3, L.deferred,
			       L.errors);
	}
	free(L.lat);
	for (int i = 0; i < ncs; i++)
		if (cs[i].pace)
			event_free(cs[i].pace);
	free(cs);
	event_base_free(L.base);
	return L.errors ? 1 : 0;
}
