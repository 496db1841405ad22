/*
 * greylist - see greylist.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "greylist.h"
#include "lua_scripts.h"
#include "util.h"

struct gl_call {
	greylist_cb cb;
	void *arg;
};

struct rg_script *
greylist_script(struct rg_redis *r)
{
	return rg_redis_script_new(r, "greylist", rg_lua_greylist);
}

int
greylist_keys(const struct rg_params *p, const struct rg_params *g, const char *client_addr,
	      const char *sender, const char *rcpt, struct greylist_triplet *t)
{
	struct rkeys k;
	char net[80];
	size_t sndlen = strlen(sender) + 3; /* "" becomes "<>" */

	t->sender = t->rcpt = NULL;

	if (rkeys_network(client_addr, (int)p->greylist_ipv4_prefix, (int)p->greylist_ipv6_prefix, net,
			  sizeof(net)) < 0)
		return -1;
	rkeys_from_params(&k, g);
	/* Whole addresses, never cut: two long addresses that share a prefix
	 * are two triplets. */
	t->sender = xmalloc(sndlen);
	rg_addr_greynorm(sender, g->recipient_delimiter, t->sender, sndlen);
	t->rcpt = rg_lowercase(xstrdup(rcpt));
	if (rkeys_greylist(&k, net, t->sender, t->rcpt, t->tkey, sizeof(t->tkey)) < 0 ||
	    rkeys_awl(&k, net, t->nkey, sizeof(t->nkey)) < 0) {
		greylist_triplet_free(t);
		return -1;
	}
	return 0;
}

void
greylist_triplet_free(struct greylist_triplet *t)
{
	t->sender = xfree(t->sender);
	t->rcpt = xfree(t->rcpt);
}

enum greylist_state
greylist_parse(const redisReply *reply, long long *secs, const char **err)
{
	enum greylist_state st = GREYLIST_ERROR;

	*secs = 0;
	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING && reply->element[1]->type == REDIS_REPLY_INTEGER) {
		const char *s = reply->element[0]->str;

		*secs = reply->element[1]->integer;
		if (strcmp(s, "new") == 0)
			st = GREYLIST_NEW;
		else if (strcmp(s, "early") == 0)
			st = GREYLIST_EARLY;
		else if (strcmp(s, "pass") == 0)
			st = GREYLIST_PASS;
		else if (strcmp(s, "known") == 0)
			st = GREYLIST_KNOWN;
		else if (strcmp(s, "awl") == 0)
			st = GREYLIST_AWL;
	}
	if (st == GREYLIST_ERROR)
		*err = "unexpected reply from greylist script";
	return st;
}

static void
gl_reply(const redisReply *reply, const char *err, void *arg)
{
	struct gl_call *call = arg;
	enum greylist_state st = GREYLIST_ERROR;
	long long secs = 0;

	if (err == NULL)
		st = greylist_parse(reply, &secs, &err);
	call->cb(st, secs, err, call->arg);
	free(call);
}

void
greylist_argv(struct greylist_args *a, const struct rg_params *p, const struct greylist_triplet *t)
{
	snprintf(a->nums[0], sizeof(a->nums[0]), "0"); /* Redis' clock, the same for every node */
	snprintf(a->nums[1], sizeof(a->nums[1]), "%lld", p->greylist_delay / 1000);
	snprintf(a->nums[2], sizeof(a->nums[2]), "%lld", p->greylist_retry_window / 1000);
	snprintf(a->nums[3], sizeof(a->nums[3]), "%lld", p->greylist_whitelist_lifetime / 1000);
	snprintf(a->nums[4], sizeof(a->nums[4]), "%lld", p->greylist_auto_whitelist);
	a->argv[0] = t->tkey;
	a->argv[1] = t->nkey;
	for (int i = 0; i < 5; i++)
		a->argv[2 + i] = a->nums[i];
	a->argv[7] = t->sender;
	a->argv[8] = t->rcpt;
}

void
greylist_check(struct rg_redis *r, struct rg_script *s, const struct rg_params *p, struct greylist_triplet *t,
	       greylist_cb cb, void *arg)
{
	struct gl_call *call = xmalloc(sizeof(*call));
	struct greylist_args a;

	call->cb = cb;
	call->arg = arg;
	greylist_argv(&a, p, t);
	rg_redis_eval(r, s, 2, 9, a.argv, NULL, gl_reply, call); /* copies argv */
	greylist_triplet_free(t);
}

void
greylist_defer_text(const struct rg_params *p, long long secs, int with_action, char *buf, size_t len)
{
	const char *t = p->greylist_defer_text, *v;
	char num[24];
	size_t o = 0;

	snprintf(num, sizeof(num), "%lld", secs);
	if (with_action)
		o = (size_t)snprintf(buf, len, "DEFER_IF_PERMIT 4.7.1 ");
	while (*t && o + 1 < len) {
		if (strncmp(t, "$delay", 6) == 0 || strncmp(t, "${delay}", 8) == 0) {
			for (v = num; *v && o + 1 < len; v++)
				buf[o++] = *v;
			t += t[1] == '{' ? 8 : 6;
		} else {
			buf[o++] = *t++;
		}
	}
	buf[o] = 0;
}

void
greylist_header_value(long long secs, const char *who, const char *host, char *buf, size_t len)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	snprintf(buf, len, "delayed %lld seconds by %s at %s; %s", secs, who, host, date);
}

const char *
greylist_state_name(enum greylist_state st)
{
	static const char *const names[] = {"error", "new", "early", "pass", "known", "awl"};

	return names[st];
}
