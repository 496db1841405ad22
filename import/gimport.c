/*
 * gimport - see gimport.h. The replay is what makes the data right: the
 * triplet's first attempt goes through greylist.lua with now = first seen
 * (the script records it pending, with whatever fields it keeps), the
 * passing retry with now = the time it passed (the script marks it passed
 * and counts it for the auto-whitelist); only the TTL is then set from the
 * history, so an old entry does not live longer than it would have.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "addr.h"
#include "cidr.h"
#include "gimport.h"
#include "greylist.h"
#include "lua_scripts.h"
#include "rcap.h"
#include "util.h"

#define KEY_MAX RKEYS_MAX
#define FIELD_MAX 1024 /* an address longer than this is not one */

/* Sets an auto-whitelist count unless the network already has one as high. */
static const char awl_lua[] = "local n = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
			      "if n >= tonumber(ARGV[1]) then return 0 end\n"
			      "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
			      "return 1\n";

static void
bad(struct gimport *gi, const char *where, long lineno, const char *what, const char *field)
{
	char shown[120];

	rg_sanitize(shown, sizeof(shown), field ? field : "", field ? strlen(field) : 0);
	fprintf(stderr, "relayguard-import: %s:%ld: %s%s%s%s\n", where, lineno, what, field ? " \"" : "",
		field ? shown : "", field ? "\"" : "");
	gi->st.bad++;
}

static int
redis_failed(redisContext *rc, redisReply *r, const char *what, char *err, size_t errlen)
{
	if (r == NULL)
		snprintf(err, errlen, "%s: %s", what, rc->errstr[0] ? rcap_errstr(rc) : "no reply");
	else
		snprintf(err, errlen, "%s: %.*s", what, (int)(r->len < 200 ? r->len : 200),
			 r->str ? r->str : "");
	if (r)
		freeReplyObject(r);
	return -1;
}

int
gimport_init(struct gimport *gi, const struct rg_config *cfg, redisContext *rc, char *err, size_t errlen)
{
	redisReply *r;

	memset(&gi->st, 0, sizeof(gi->st));
	gi->cfg = cfg;
	gi->rc = rc;
	gi->sha[0] = 0;
	if (rc == NULL) {
		gi->now = rg_wall_ms() / 1000;
		return 0;
	}
	r = rcap_command(rc, "SCRIPT LOAD %s", rg_lua_greylist);
	if (r == NULL || r->type != REDIS_REPLY_STRING || r->len != 40)
		return redis_failed(rc, r, "SCRIPT LOAD greylist.lua", err, errlen);
	memcpy(gi->sha, r->str, 41);
	freeReplyObject(r);
	r = rcap_command(rc, "TIME");
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return redis_failed(rc, r, "TIME", err, errlen);
	gi->now = strtoll(r->element[0]->str, NULL, 10);
	freeReplyObject(r);
	return 0;
}

/* Split s at runs of blanks into at most max fields; returns the count (max+1: too many). */
static int
split(char *s, char **f, int max)
{
	int n = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			*s++ = 0;
		if (*s == 0)
			break;
		if (n == max)
			return max + 1;
		f[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	return n;
}

static int
printable_field(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= FIELD_MAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
seconds(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == 0 && *v > 0;
}

/* The keys and the normalised sender/recipient, as the policy server makes them. */
static int
keys(const struct rg_params *p, const struct rg_params *g, const char *addr, const char *sender,
     const char *rcpt, char *tkey, char *nkey, char *nsender, size_t nslen, char *nrcpt, size_t nrlen)
{
	struct greylist_triplet t;

	if (greylist_keys(p, g, addr, sender, rcpt, &t) != 0)
		return -1;
	rg_strlcpy(tkey, t.tkey, KEY_MAX);
	rg_strlcpy(nkey, t.nkey, KEY_MAX);
	rg_strlcpy(nsender, t.sender, nslen);
	rg_strlcpy(nrcpt, t.rcpt, nrlen);
	greylist_triplet_free(&t);
	return 0;
}

/*
 * One greylist.lua call at time now; state in st. The arguments are the
 * policy server's own (greylist_argv), with its "now" (0: Redis' clock)
 * replaced by the time of the event replayed.
 */
static int
replay(struct gimport *gi, const struct rg_params *p, const char *tkey, const char *nkey, long long now,
       const char *sender, const char *rcpt, char *st, size_t stlen, char *err, size_t errlen)
{
	struct greylist_triplet t;
	struct greylist_args a;
	const char *argv[12];
	char nowbuf[24];
	redisReply *r;
	int i;

	rg_strlcpy(t.tkey, tkey, sizeof(t.tkey));
	rg_strlcpy(t.nkey, nkey, sizeof(t.nkey));
	t.sender = (char *)sender;
	t.rcpt = (char *)rcpt;
	greylist_argv(&a, p, &t);
	snprintf(nowbuf, sizeof(nowbuf), "%lld", now);
	a.argv[2] = nowbuf;
	argv[0] = "EVALSHA";
	argv[1] = gi->sha;
	argv[2] = "2";
	for (i = 0; i < 9; i++)
		argv[3 + i] = a.argv[i];
	r = rcap_command_argv(gi->rc, 12, argv, NULL);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return redis_failed(gi->rc, r, "EVALSHA greylist.lua", err, errlen);
	rg_strlcpy(st, r->element[0]->str, stlen);
	freeReplyObject(r);
	return 0;
}

static int
expire(struct gimport *gi, const char *key, long long secs, char *err, size_t errlen)
{
	redisReply *r = rcap_command(gi->rc, "EXPIRE %s %lld", key, secs);

	if (r == NULL || r->type != REDIS_REPLY_INTEGER)
		return redis_failed(gi->rc, r, "EXPIRE", err, errlen);
	freeReplyObject(r);
	return 0;
}

static int
triplet(struct gimport *gi, char **f, const char *where, long lineno, char *err, size_t errlen)
{
	const struct rg_params *g = &gi->cfg->global, *p;
	const struct rg_entry *e;
	struct rg_addr a;
	char net[FIELD_MAX], *slash, *end, st[16];
	char tkey[KEY_MAX], nkey[KEY_MAX], nsender[FIELD_MAX + 3], nrcpt[FIELD_MAX];
	const char *sender = f[1], *rcpt = f[2], *at;
	long long first, last, left, at_pass;
	long len;
	int passed;

	rg_strlcpy(net, f[0], sizeof(net));
	if ((slash = strchr(net, '/')) == NULL)
		return bad(gi, where, lineno, "expected <network>/<length>:", f[0]), 1;
	*slash++ = 0;
	len = strtol(slash, &end, 10);
	if (rg_addr_parse(net, &a) != 0 || end == slash || *end || len < 0 || len > (a.v4 ? 32 : 128))
		return bad(gi, where, lineno, "bad client network", f[0]), 1;
	if (strcmp(sender, "<>") == 0)
		sender = "";
	else if (!printable_field(sender))
		return bad(gi, where, lineno, "bad sender", sender), 1;
	if (!printable_field(rcpt) || (at = strrchr(rcpt, '@')) == NULL || at[1] == 0)
		return bad(gi, where, lineno, "bad recipient", rcpt), 1;
	if (!seconds(f[3], &first) || !seconds(f[4], &last) || last < first)
		return bad(gi, where, lineno, "bad first/last seen times", f[3]), 1;
	if (strcmp(f[5], "passed") == 0)
		passed = 1;
	else if (strcmp(f[5], "pending") == 0)
		passed = 0;
	else
		return bad(gi, where, lineno, "expected passed or pending:", f[5]), 1;

	if ((e = rg_config_domain(gi->cfg, at + 1)) == NULL) {
		gi->st.foreign++;
		return 0;
	}
	p = e->p;
	if (len < (a.v4 ? p->greylist_ipv4_prefix : p->greylist_ipv6_prefix)) {
		gi->st.wide++;
		return 0;
	}
	left = passed ? p->greylist_whitelist_lifetime / 1000 - (gi->now - last)
		      : p->greylist_retry_window / 1000 - (gi->now - first);
	if (left <= 0) {
		gi->st.expired++;
		return 0;
	}
	if (keys(p, g, net, sender, rcpt, tkey, nkey, nsender, sizeof(nsender), nrcpt, sizeof(nrcpt)) != 0)
		return bad(gi, where, lineno, "bad client network", f[0]), 1;
	if (gi->rc == NULL) {
		passed ? gi->st.passed++ : gi->st.pending++;
		return 0;
	}
	if (replay(gi, p, tkey, nkey, first, nsender, nrcpt, st, sizeof(st), err, errlen) < 0)
		return -1;
	if (strcmp(st, "known") == 0 || strcmp(st, "awl") == 0 || (!passed && strcmp(st, "new") != 0)) {
		gi->st.known++; /* relayguard's own state stands */
		return 0;
	}
	if (strcmp(st, "early") == 0) {
		/* relayguard saw it first later (pending): postgrey's pass wins */
		redisReply *r = rcap_command(gi->rc, "DEL %s", tkey);

		if (r == NULL || r->type != REDIS_REPLY_INTEGER)
			return redis_failed(gi->rc, r, "DEL", err, errlen);
		freeReplyObject(r);
		if (replay(gi, p, tkey, nkey, first, nsender, nrcpt, st, sizeof(st), err, errlen) < 0)
			return -1;
	}
	if (passed && strcmp(st, "pass") != 0) {
		at_pass = last > first + p->greylist_delay / 1000 ? last : first + p->greylist_delay / 1000;
		if (replay(gi, p, tkey, nkey, at_pass, nsender, nrcpt, st, sizeof(st), err, errlen) < 0)
			return -1;
		if (strcmp(st, "pass") != 0 && strcmp(st, "known") != 0) {
			snprintf(err, errlen, "%s:%ld: greylist.lua answered \"%s\" to the passing retry",
				 where, lineno, st);
			return -1;
		}
	}
	if (expire(gi, tkey, left, err, errlen) < 0)
		return -1;
	passed ? gi->st.passed++ : gi->st.pending++;
	if (gi->verbose)
		printf("%s %s %s%s%s <%s> %s, %llds left\n", passed ? "passed" : "pending", f[0],
		       *sender ? "<" : "", nsender, *sender ? ">" : "", nrcpt, tkey, left);
	return 0;
}

/* The auto-whitelist threshold that whitelists for every class (0: none uses one). */
static long long
awl_threshold(const struct rg_config *cfg)
{
	long long t = cfg->global.greylist_auto_whitelist;

	for (int i = 0; i < cfg->nclasses; i++)
		if (cfg->class_params[i]->greylist_auto_whitelist > t)
			t = cfg->class_params[i]->greylist_auto_whitelist;
	return t;
}

static int
awl(struct gimport *gi, char **f, const char *where, long lineno, char *err, size_t errlen)
{
	const struct rg_params *g = &gi->cfg->global;
	struct rg_addr a;
	char tkey[KEY_MAX], nkey[KEY_MAX], ns[8], nr[8];
	long long last, left, thr = awl_threshold(gi->cfg);
	redisReply *r;

	if (rg_addr_parse(f[0], &a) != 0)
		return bad(gi, where, lineno, "bad client address", f[0]), 1;
	if (!seconds(f[1], &last))
		return bad(gi, where, lineno, "bad last seen time", f[1]), 1;
	if (thr <= 0) {
		gi->st.foreign++; /* auto-whitelisting is off in relayguard */
		return 0;
	}
	if ((left = g->greylist_whitelist_lifetime / 1000 - (gi->now - last)) <= 0) {
		gi->st.expired++;
		return 0;
	}
	if (keys(g, g, f[0], "", "x@x", tkey, nkey, ns, sizeof(ns), nr, sizeof(nr)) != 0)
		return bad(gi, where, lineno, "bad client address", f[0]), 1;
	if (gi->rc == NULL) {
		gi->st.awl++;
		return 0;
	}
	r = rcap_command(gi->rc, "EVAL %s 1 %s %lld %lld", awl_lua, nkey, thr, left);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER)
		return redis_failed(gi->rc, r, "EVAL (auto-whitelist)", err, errlen);
	r->integer ? gi->st.awl++ : gi->st.known++;
	freeReplyObject(r);
	if (gi->verbose)
		printf("auto-whitelisted %s %s, %llds left\n", f[0], nkey, left);
	return 0;
}

int
gimport_line(struct gimport *gi, char *line, const char *where, long lineno, char *err, size_t errlen)
{
	char *f[8];
	int n;

	while (isspace((unsigned char)*line))
		line++;
	if (*line == 0 || *line == '#')
		return 0;
	n = split(line, f, 7);
	if (strcmp(f[0], "T") == 0 && n == 7)
		return triplet(gi, f + 1, where, lineno, err, errlen);
	if (strcmp(f[0], "A") == 0 && n == 3)
		return awl(gi, f + 1, where, lineno, err, errlen);
	bad(gi, where, lineno,
	    "expected \"T net/len sender recipient first last passed|pending\" or \"A address last\"", NULL);
	return 1;
}
