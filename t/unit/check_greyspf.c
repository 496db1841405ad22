/*
 * check_greyspf - SPF-aware greylisting without a DNS server (16-greylist-spf.t
 * drives it against dnsmasq through Postfix): which SPF results give the
 * triplet an SPF identity, the keys of an SPF triplet (one slot, the same
 * sender/recipient hash, never the network's), and spfpool's promise that
 * every check is answered exactly once and within its timeout - by a DNS
 * server that never answers, and when the pool is freed with checks still
 * queued and running.
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "endpoint.h"
#include "greyspf.h"
#include "spfgrey.h"
#include "rkeys.h"
#include "spfpool.h"
#include "util.h"

static struct auth_spf_out
out(const char *result, const char *ptype, const char *domain)
{
	struct auth_spf_out o;

	memset(&o, 0, sizeof(o));
	rg_strlcpy(o.result, result, sizeof(o.result));
	rg_strlcpy(o.ptype, ptype, sizeof(o.ptype));
	rg_strlcpy(o.domain, domain, sizeof(o.domain));
	return o;
}

START_TEST(identity_only_for_pass)
{
	const char *no[] = {"fail", "softfail", "neutral", "none", "temperror", "permerror"};
	struct auth_spf_out o = out("pass", "smtp.mailfrom", "Pool.Example");
	char id[GREYSPF_IDENT_MAX];

	ck_assert_int_eq(greyspf_identity(&o, id, sizeof(id)), 1);
	ck_assert_str_eq(id, "spf:pool.example");
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		o = out(no[i], "smtp.mailfrom", "pool.example");
		ck_assert_int_eq(greyspf_identity(&o, id, sizeof(id)), 0);
		ck_assert_str_eq(id, "");
	}
	/* The HELO identity (null sender) and a domain unfit for a key do not count. */
	o = out("pass", "smtp.helo", "mx.pool.example");
	ck_assert_int_eq(greyspf_identity(&o, id, sizeof(id)), 0);
	o = out("pass", "smtp.mailfrom", "invalid");
	ck_assert_int_eq(greyspf_identity(&o, id, sizeof(id)), 0);
	o = out("pass", "smtp.mailfrom", "");
	ck_assert_int_eq(greyspf_identity(&o, id, sizeof(id)), 0);
	o = out("pass", "smtp.mailfrom", "pool.example");
	ck_assert_int_eq(greyspf_identity(&o, id, 10), 0);
}
END_TEST

START_TEST(rekey)
{
	struct rg_params g, p;
	struct greylist_triplet t, t2;
	char h1[20], h2[20];

	memset(&g, 0, sizeof(g));
	g.redis_key_prefix = "rg:";
	g.redis_key_secret = "cluster secret";
	g.recipient_delimiter = "+";
	p = g;
	p.greylist_ipv4_prefix = 24;
	p.greylist_ipv6_prefix = 64;
	ck_assert_int_eq(greylist_keys(&p, &g, "198.51.100.7", "bob@pool.example", "alice@example.com", &t),
			 0);
	ck_assert_int_eq(greylist_keys(&p, &g, "203.0.113.5", "bob@pool.example", "alice@example.com", &t2),
			 0);
	ck_assert_str_ne(t.tkey, t2.tkey);
	rg_strlcpy(h1, strrchr(t.tkey, ':') + 1, sizeof(h1));
	ck_assert_int_eq(greyspf_rekey(&g, "spf:pool.example", &t), 0);
	ck_assert_int_eq(greyspf_rekey(&g, "spf:pool.example", &t2), 0);
	/* Two networks of one pool: one triplet, one auto-whitelist counter. */
	ck_assert_str_eq(t.tkey, t2.tkey);
	ck_assert_int_eq(strncmp(t.tkey, "rg:g:{spf:pool.example}:", 24), 0);
	rg_strlcpy(h2, strrchr(t.tkey, ':') + 1, sizeof(h2));
	ck_assert_str_eq(h1, h2); /* the same (sender, recipient) hash */
	ck_assert_str_eq(t.nkey, "rg:a:{spf:pool.example}");
	ck_assert_uint_eq(rkeys_slot(t.tkey, strlen(t.tkey)), rkeys_slot(t.nkey, strlen(t.nkey)));
	ck_assert_str_eq(t.sender, "bob@pool.example");
	/* An identity that cannot be a hash tag leaves the triplet as it was. */
	ck_assert_int_eq(greyspf_rekey(&g, "spf:{x}", &t), -1);
	ck_assert_str_eq(t.nkey, "rg:a:{spf:pool.example}");
	greylist_triplet_free(&t);
	greylist_triplet_free(&t2);
}
END_TEST

/* A UDP "name server" that never answers. */
static int
deaf_server(struct rg_endpoint *ep)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	memset(ep, 0, sizeof(*ep));
	ep->kind = RG_EP_INET;
	ep->family = AF_INET;
	ep->port = ntohs(sin.sin_port);
	ep->literal = 1;
	rg_strlcpy(ep->host, "127.0.0.1", sizeof(ep->host));
	return fd;
}

struct tally {
	int calls[SPFPOOL_ABORTED + 1];
	int total;
	long long max_ms;
	struct event_base *base;
	int stop_after;
};

static void
counted(const struct spfpool_result *r, void *arg)
{
	struct tally *t = arg;

	t->calls[r->status]++;
	t->total++;
	if (r->ms > t->max_ms)
		t->max_ms = r->ms;
	ck_assert_str_eq(r->out.result, "temperror");
	if (t->base && t->total == t->stop_after)
		event_base_loopbreak(t->base);
}

START_TEST(deaf_dns_answered_within_timeout)
{
	struct event_base *base = event_base_new();
	struct spfpool *sp = spfpool_new(base);
	struct rg_endpoint ep;
	struct tally t = {.base = base, .stop_after = 3};
	int fd = deaf_server(&ep);
	long long t0 = rg_mono_ms();

	for (int i = 0; i < 3; i++)
		spfpool_check(sp, &ep, 300, "192.0.2.1", "helo.example", "bob@pool.example", "relay.example",
			      counted, &t);
	ck_assert_int_eq(t.total, 0); /* never on the caller's stack for a real check */
	event_base_dispatch(base);
	ck_assert_int_eq(t.total, 3);
	ck_assert_int_eq(t.calls[SPFPOOL_TIMEOUT], 3);
	ck_assert_int_lt(rg_mono_ms() - t0, 900); /* the loop's timer, not the resolver's 1 s try */
	ck_assert_int_ge(t.max_ms, 290);
	/* The workers are still waiting on DNS: their late results are dropped. */
	spfpool_free(sp);
	ck_assert_int_eq(t.total, 3);
	event_base_free(base);
	close(fd);
}
END_TEST

START_TEST(free_answers_every_pending_check_once)
{
	struct event_base *base = event_base_new();
	struct spfpool *sp = spfpool_new(base);
	struct rg_endpoint ep;
	struct tally t = {0};
	int fd = deaf_server(&ep), n = SPFPOOL_WORKERS + 6;

	for (int i = 0; i < n; i++)
		spfpool_check(sp, &ep, 1000, "192.0.2.1", "", "bob@pool.example", "", counted, &t);
	usleep(100000); /* the workers take the first ones */
	spfpool_free(sp);
	ck_assert_int_eq(t.total, n);
	/* Running ones end with their resolver's temperror, the rest abort. */
	ck_assert_int_eq(t.calls[SPFPOOL_DONE] + t.calls[SPFPOOL_ABORTED], n);
	ck_assert_int_ge(t.calls[SPFPOOL_ABORTED], n - SPFPOOL_WORKERS);
	event_base_free(base);
	close(fd);
}
END_TEST

START_TEST(full_queue_answers_at_once)
{
	struct event_base *base = event_base_new();
	struct spfpool *sp = spfpool_new(base);
	struct rg_endpoint ep;
	struct tally t = {0};
	int fd = deaf_server(&ep), n = SPFPOOL_WORKERS + SPFPOOL_QUEUE_MAX + 20;

	for (int i = 0; i < n; i++)
		spfpool_check(sp, &ep, 1000, "192.0.2.1", "", "bob@pool.example", "", counted, &t);
	/* Up to SPFPOOL_WORKERS may have left the queue already. */
	ck_assert_int_ge(t.calls[SPFPOOL_BUSY], 20);
	ck_assert_int_le(t.calls[SPFPOOL_BUSY], 20 + SPFPOOL_WORKERS);
	spfpool_free(sp);
	ck_assert_int_eq(t.total, n);
	event_base_free(base);
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("greyspf");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, identity_only_for_pass);
	tcase_add_test(tc, rekey);
	tcase_add_test(tc, deaf_dns_answered_within_timeout);
	tcase_add_test(tc, free_answers_every_pending_check_once);
	tcase_add_test(tc, full_queue_answers_at_once);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
