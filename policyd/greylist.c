/*
 * greylist - see greylist.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void
gl_reply(const redisReply *reply, const char *err, void *arg)
{
	struct gl_call *call = arg;
	enum greylist_state st = GREYLIST_ERROR;
	long long secs = 0;

	if (err == NULL) {
		if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
		    reply->element[0]->type == REDIS_REPLY_STRING &&
		    reply->element[1]->type == REDIS_REPLY_INTEGER) {
			const char *s = reply->element[0]->str;

			secs = reply->element[1]->integer;
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
			err = "unexpected reply from greylist script";
	}
	call->cb(st, secs, err, call->arg);
	free(call);
}

void
greylist_check(struct rg_redis *r, struct rg_script *s, const struct rg_params *p, struct greylist_triplet *t,
	       greylist_cb cb, void *arg)
{
	struct gl_call *call = xmalloc(sizeof(*call));
	char now[4], delay[24], retry[24], life[24], awl[24];
	const char *argv[9];

	call->cb = cb;
	call->arg = arg;
	snprintf(now, sizeof(now), "0");
	snprintf(delay, sizeof(delay), "%lld", p->greylist_delay / 1000);
	snprintf(retry, sizeof(retry), "%lld", p->greylist_retry_window / 1000);
	snprintf(life, sizeof(life), "%lld", p->greylist_whitelist_lifetime / 1000);
	snprintf(awl, sizeof(awl), "%lld", p->greylist_auto_whitelist);
	argv[0] = t->tkey;
	argv[1] = t->nkey;
	argv[2] = now;
	argv[3] = delay;
	argv[4] = retry;
	argv[5] = life;
	argv[6] = awl;
	argv[7] = t->sender;
	argv[8] = t->rcpt;
	rg_redis_eval(r, s, 2, 9, argv, NULL, gl_reply, call); /* copies argv */
	greylist_triplet_free(t);
}

const char *
greylist_state_name(enum greylist_state st)
{
	static const char *const names[] = {"error", "new", "early", "pass", "known", "awl"};

	return names[st];
}
