/*
 * cgrey - relayguardctl greylist and whitelist: the triplets of
 * greylist.lua and the client networks it whitelists, with the keys of
 * src/rkeys.h. The network length, delay and lifetimes are those of the
 * recipient's domain_table class when it has one, else the globals.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stdio.h>

#include "addr.h"
#include "cgrey.h"
#include "greylist.h"
#include "rkeys.h"
#include "util.h"

/* greylist.lua: a network key at or above this is whitelisted by hand. */
#define CGREY_AWL_MANUAL 1000000000000000LL

/*
 * The <net> of a client address, of a network written with the
 * configured length ("192.0.2.0/24"), or an SPF identity "spf:<domain>"
 * (greylist_spf, src/greyspf.h). 0, or -1.
 */
static int
cgrey_net(struct rctl *c, const char *s, char *net, size_t len)
{
	int v4 = (int)c->g->greylist_ipv4_prefix, v6 = (int)c->g->greylist_ipv6_prefix;
	const char *slash = strchr(s, '/');
	char host[80];
	char *end;
	long bits;

	if (strncasecmp(s, "spf:", 4) == 0) {
		size_t n = strlen(s + 4);

		if (n == 0 || n > 253 || n + 5 > len ||
		    strspn(s + 4, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n)
			return -1;
		snprintf(net, len, "spf:%s", s + 4);
		rg_lowercase(net);
		return 0;
	}
	if (slash == NULL)
		return rkeys_network(s, v4, v6, net, len) < 0 ? -1 : 0;
	if ((size_t)(slash - s) >= sizeof(host) || slash[1] == 0)
		return -1;
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = 0;
	bits = strtol(slash + 1, &end, 10);
	/* The daemons key a network by its configured length only. */
	if (*end || bits != (strchr(host, ':') ? v6 : v4))
		return -1;
	return rkeys_network(host, v4, v6, net, len) < 0 ? -1 : 0;
}

/* The settings of rcpt's class (its domain_table entry), or the globals. */
static const struct rg_params *
cgrey_params(struct rctl *c, const char *rcpt)
{
	const char *dom = rcpt ? rg_addr_domain(rcpt) : NULL;
	const struct rg_entry *e = dom ? rg_config_domain(c->cfg, dom) : NULL;

	return e ? e->p : c->g;
}

/* "{net}" of a key. */
static void
key_tag(const char *key, char *buf, size_t len)
{
	const char *a = strchr(key, '{'), *b = a ? strchr(a, '}') : NULL;
	size_t n = a && b ? (size_t)(b - a - 1) : 0;

	if (n >= len)
		n = len - 1;
	memcpy(buf, a ? a + 1 : "", n);
	buf[n] = 0;
}

static long long
reply_ll(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return atoll(r->str);
	return 0;
}

static const char *
reply_str(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING ? r->str : "";
}

static void
gl_one(struct rctl *c, const char *key, void *arg)
{
	redisReply *h = rctl_cmd(c, 7, (const char *[]){"HMGET", key, "f", "p", "n", "s", "r"});
	redisReply *t = rctl_cmd(c, 2, (const char *[]){"TTL", key});
	long long *now = arg, passed;
	char net[80];

	if (h->type == REDIS_REPLY_ARRAY && h->elements == 5 && h->element[0]->type != REDIS_REPLY_NIL) {
		key_tag(key, net, sizeof(net));
		passed = reply_ll(h->element[1]);
		rctl_item(c);
		rctl_str(c, "network", net);
		rctl_str(c, "sender", reply_str(h->element[3]));
		rctl_str(c, "recipient", reply_str(h->element[4]));
		rctl_str(c, "state", passed ? "passed" : "pending");
		rctl_time(c, "first_seen", reply_ll(h->element[0]));
		rctl_time(c, "passed", passed);
		rctl_int(c, "passes", reply_ll(h->element[2]));
		rctl_time(c, "expires", t->integer > 0 ? *now / 1000 + t->integer : 0);
		rctl_str(c, "key", key);
		rctl_end_item(c);
	}
	freeReplyObject(h);
	freeReplyObject(t);
}

static int
gl_list(struct rctl *c, int argc, char **argv)
{
	char net[80], pat[2 * RKEYS_MAX];
	long long now;
	long n;

	if (argc > 1)
		rctl_usage_error("usage: greylist list [CLIENT-OR-NETWORK]");
	if (argc == 1 && cgrey_net(c, argv[0], net, sizeof(net)) != 0)
		rctl_usage_error(
		    "%s: not an IP address, a /%lld (IPv4) or /%lld (IPv6) network, or spf:DOMAIN", argv[0],
		    c->g->greylist_ipv4_prefix, c->g->greylist_ipv6_prefix);
	if ((argc ? rkeys_greylist_pattern(&c->k, net, pat, sizeof(pat))
		  : rkeys_kind_pattern(&c->k, "g", pat, sizeof(pat))) < 0)
		rctl_usage_error("greylist list: no key pattern");
	rctl_connect(c);
	now = rctl_now_ms(c);
	rctl_begin(c);
	n = rctl_scan(c, pat, gl_one, &now);
	rctl_end(c);
	return n == 0 && argc ? RCTL_EXIT_NOTFOUND : RCTL_EXIT_OK;
}

/* greylist pass|delete CLIENT SENDER RECIPIENT */
static int
gl_triplet(struct rctl *c, int argc, char **argv, int pass)
{
	const struct rg_params *p;
	struct greylist_triplet t;
	char net[80], now[24], life[24];
	redisReply *r;
	long long ms;
	int rc = RCTL_EXIT_OK;

	if (argc != 3)
		rctl_usage_error("usage: greylist %s CLIENT SENDER RECIPIENT", pass ? "pass" : "delete");
	p = cgrey_params(c, argv[2]);
	/* The daemons' own function (src/greylist.c): network, normalised
	 * sender, lower-cased recipient, keys with redis_key_secret. */
	if (rkeys_network(argv[0], (int)p->greylist_ipv4_prefix, (int)p->greylist_ipv6_prefix, net,
			  sizeof(net)) < 0 ||
	    greylist_keys(p, c->g, argv[0], argv[1], argv[2], &t) != 0)
		rctl_usage_error("%s: not an IP address", argv[0]);
	rctl_connect(c);
	if (pass) {
		ms = rctl_now_ms(c);
		snprintf(now, sizeof(now), "%lld", ms / 1000);
		snprintf(life, sizeof(life), "%lld", p->greylist_whitelist_lifetime / 1000);
		freeReplyObject(rctl_cmd(c, 4, (const char *[]){"HSETNX", t.tkey, "f", now}));
		freeReplyObject(rctl_cmd(c, 4, (const char *[]){"HSETNX", t.tkey, "n", "0"}));
		freeReplyObject(
		    rctl_cmd(c, 8, (const char *[]){"HSET", t.tkey, "p", now, "s", t.sender, "r", t.rcpt}));
		freeReplyObject(rctl_cmd(c, 3, (const char *[]){"EXPIRE", t.tkey, life}));
	} else {
		r = rctl_cmd(c, 2, (const char *[]){"DEL", t.tkey});
		if (r->integer == 0)
			rc = RCTL_EXIT_NOTFOUND;
		freeReplyObject(r);
	}
	rctl_begin(c);
	rctl_item(c);
	rctl_str(c, "network", net);
	rctl_str(c, "sender", t.sender);
	rctl_str(c, "recipient", t.rcpt);
	rctl_str(c, "result", pass ? "passed" : rc == RCTL_EXIT_OK ? "deleted" : "not found");
	rctl_end_item(c);
	rctl_end(c);
	greylist_triplet_free(&t);
	return rc;
}

int
cgrey_greylist(struct rctl *c, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return gl_list(c, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "pass") == 0)
		return gl_triplet(c, argc - 1, argv + 1, 1);
	if (argc >= 1 && strcmp(argv[0], "delete") == 0)
		return gl_triplet(c, argc - 1, argv + 1, 0);
	rctl_usage_error("usage: greylist list [CLIENT-OR-NETWORK] | pass|delete CLIENT SENDER RECIPIENT");
}

static void
wl_one(struct rctl *c, const char *key, void *arg)
{
	redisReply *v = rctl_cmd(c, 2, (const char *[]){"GET", key});
	redisReply *t = rctl_cmd(c, 2, (const char *[]){"TTL", key});
	long long *now = arg, n = reply_ll(v), awl = c->g->greylist_auto_whitelist;
	char net[80];

	key_tag(key, net, sizeof(net));
	rctl_item(c);
	rctl_str(c, "network", net);
	if (n >= CGREY_AWL_MANUAL) {
		rctl_str(c, "whitelisted", "manual");
		rctl_int(c, "passed_triplets", 0);
	} else {
		rctl_str(c, "whitelisted", awl > 0 && n >= awl ? "auto" : "no");
		rctl_int(c, "passed_triplets", n);
	}
	rctl_time(c, "expires", t->integer > 0 ? *now / 1000 + t->integer : 0);
	rctl_end_item(c);
	freeReplyObject(v);
	freeReplyObject(t);
}

int
cgrey_whitelist(struct rctl *c, int argc, char **argv)
{
	char net[80], key[RKEYS_MAX], pat[2 * RKEYS_MAX], manual[24], life[24];
	long long now, secs;
	redisReply *r;
	int rc = RCTL_EXIT_OK;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if (rkeys_kind_pattern(&c->k, "a", pat, sizeof(pat)) < 0)
			rctl_usage_error("whitelist list: no key pattern");
		rctl_connect(c);
		now = rctl_now_ms(c);
		rctl_begin(c);
		rctl_scan(c, pat, wl_one, &now);
		rctl_end(c);
		return RCTL_EXIT_OK;
	}
	if (!((argc == 2 || argc == 3) && strcmp(argv[0], "add") == 0) &&
	    !(argc == 2 && strcmp(argv[0], "delete") == 0))
		rctl_usage_error("usage: whitelist list | add NETWORK [LIFETIME] | delete NETWORK");
	if (cgrey_net(c, argv[1], net, sizeof(net)) != 0)
		rctl_usage_error("%s: not an IP address or a /%lld (IPv4) or /%lld (IPv6) network", argv[1],
				 c->g->greylist_ipv4_prefix, c->g->greylist_ipv6_prefix);
	if (rkeys_awl(&c->k, net, key, sizeof(key)) < 0)
		rctl_usage_error("%s: no key for this network", argv[1]);
	secs = c->g->greylist_whitelist_lifetime / 1000;
	if (argc == 3 && (secs = rctl_parse_secs(argv[2])) < 0)
		rctl_usage_error("%s: not a lifetime (e.g. 30d, 12h, 3600)", argv[2]);
	rctl_connect(c);
	if (strcmp(argv[0], "add") == 0) {
		snprintf(manual, sizeof(manual), "%lld", CGREY_AWL_MANUAL);
		snprintf(life, sizeof(life), "%lld", secs);
		freeReplyObject(rctl_cmd(c, 5, (const char *[]){"SET", key, manual, "EX", life}));
	} else {
		r = rctl_cmd(c, 2, (const char *[]){"DEL", key});
		rc = r->integer ? RCTL_EXIT_OK : RCTL_EXIT_NOTFOUND;
		freeReplyObject(r);
	}
	rctl_begin(c);
	rctl_item(c);
	rctl_str(c, "network", net);
	rctl_str(c, "result", strcmp(argv[0], "add") == 0 ? "whitelisted" : rc ? "not found" : "deleted");
	if (strcmp(argv[0], "add") == 0)
		rctl_int(c, "lifetime", secs);
	rctl_end_item(c);
	rctl_end(c);
	return rc;
}
