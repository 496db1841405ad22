/*
 * cmisc - relayguardctl ratelimit, callout, hop and status, on the keys
 * of src/rkeys.h:
 *   ratelimit  the sliding-window hashes of ratelimit.lua (60 sub-buckets
 *              per window); "show" sums the buckets still in the window
 *              by Redis' clock, as the script does; "reset" deletes them.
 *   callout    the milter's cache entries ("<recipient>\n<v|i>|<ms>|<reply>").
 *   hop        the cluster-wide "next hop is down" marks (a milter also
 *              remembers a failure itself; it asks Redis again before
 *              skipping a hop, so "hop up" takes effect at its next
 *              recipient).
 */
#include <stdlib.h>
#include <string.h>

#include "cmisc.h"
#include "rkeys.h"
#include "util.h"

struct keylist {
	char **keys;
	int n, size;
};

static void
collect(struct rctl *c, const char *key, void *arg)
{
	struct keylist *l = arg;

	(void)c;
	if (l->n == l->size) {
		l->size = l->size ? l->size * 2 : 16;
		l->keys = xrealloc(l->keys, (size_t)l->size * sizeof(char *));
	}
	l->keys[l->n++] = xstrdup(key);
}

static void
keylist_free(struct keylist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->keys[i]);
	free(l->keys);
}

/* DEL every key of l; the number deleted. */
static long long
del_all(struct rctl *c, const struct keylist *l)
{
	long long n = 0;

	for (int i = 0; i < l->n; i++) {
		redisReply *r = rctl_cmd(c, 2, (const char *[]){"DEL", l->keys[i]});

		n += r->integer;
		freeReplyObject(r);
	}
	return n;
}

/* ---------------------------------------------------------------- ratelimit */

/* SUBJECT "client:IP" etc. -> kind and subject as the daemons write them. */
static void
rl_subject(const char *arg, const char **kind, char *subj, size_t len)
{
	static const struct {
		const char *word, *kind;
	} map[] = {{"client", "client"}, {"sasl", "sasl"}, {"sender", "sender"}, {"rcptdomain", "domain"}};
	const char *colon = strchr(arg, ':');

	for (size_t i = 0; colon && i < sizeof(map) / sizeof(map[0]); i++)
		if ((size_t)(colon - arg) == strlen(map[i].word) &&
		    strncmp(arg, map[i].word, strlen(map[i].word)) == 0 && colon[1]) {
			*kind = map[i].kind;
			rg_strlcpy(subj, colon + 1, len);
			rg_lowercase(subj);
			return;
		}
	rctl_usage_error("%s: SUBJECT is client:IP, sasl:USER, sender:DOMAIN or rcptdomain:DOMAIN", arg);
}

static int
cmisc_rl_keys(struct rctl *c, const char *arg, struct keylist *l, const char **kind, char *subj, size_t len)
{
	char pat[2 * RKEYS_MAX];

	rl_subject(arg, kind, subj, len);
	if (rkeys_rate_pattern(&c->k, *kind, subj, pat, sizeof(pat)) < 0)
		rctl_usage_error("%s: subject too long", arg);
	rctl_connect(c);
	rctl_scan(c, pat, collect, l);
	return l->n;
}

int
cmisc_ratelimit(struct rctl *c, int argc, char **argv)
{
	struct keylist l = {0};
	const char *kind;
	char subj[600];
	int rc = RCTL_EXIT_OK;

	if (argc != 2 || (strcmp(argv[0], "show") != 0 && strcmp(argv[0], "reset") != 0))
		rctl_usage_error("usage: ratelimit show|reset SUBJECT");
	cmisc_rl_keys(c, argv[1], &l, &kind, subj, sizeof(subj));
	rctl_begin(c);
	if (strcmp(argv[0], "reset") == 0) {
		long long n = del_all(c, &l);

		rctl_item(c);
		rctl_str(c, "kind", kind);
		rctl_str(c, "subject", subj);
		rctl_int(c, "limits_reset", n);
		rctl_end_item(c);
		rc = n ? RCTL_EXIT_OK : RCTL_EXIT_NOTFOUND;
	} else {
		long long now = rctl_now_ms(c);

		for (int i = 0; i < l.n; i++) {
			const char *tail = strrchr(l.keys[i], ':');
			long long count = 0, window = 0, sum = 0, width;
			redisReply *h, *t;

			if (tail == NULL || sscanf(tail + 1, "%lld/%lld", &count, &window) != 2 ||
			    window <= 0)
				continue;
			width = (window + 59) / 60;
			h = rctl_cmd(c, 2, (const char *[]){"HGETALL", l.keys[i]});
			for (size_t k = 0; h->type == REDIS_REPLY_ARRAY && k + 1 < h->elements; k += 2) {
				long long id = atoll(h->element[k]->str);

				/* numbered buckets only: "r:..." fields are reservations (ratelimit.lua) */
				if (h->element[k]->str[0] < '0' || h->element[k]->str[0] > '9')
					continue;
				if ((id + 1) * width > now - window)
					sum += atoll(h->element[k + 1]->str);
			}
			t = rctl_cmd(c, 2, (const char *[]){"PTTL", l.keys[i]});
			rctl_item(c);
			rctl_str(c, "kind", kind);
			rctl_str(c, "subject", subj);
			rctl_int(c, "limit", count);
			rctl_int(c, "window_seconds", window / 1000);
			rctl_int(c, "current", sum);
			rctl_str(c, "over", sum >= count ? "yes" : "no");
			rctl_int(c, "expires_in_seconds", t->integer > 0 ? (t->integer + 999) / 1000 : 0);
			rctl_end_item(c);
			freeReplyObject(h);
			freeReplyObject(t);
		}
		rc = l.n ? RCTL_EXIT_OK : RCTL_EXIT_NOTFOUND;
	}
	rctl_end(c);
	keylist_free(&l);
	return rc;
}

/* ------------------------------------------------------------------ callout */

/* Print the entry at key; 1 when there was one. */
static int
co_show(struct rctl *c, const char *key)
{
	redisReply *v = rctl_cmd(c, 2, (const char *[]){"GET", key});
	redisReply *t = rctl_cmd(c, 2, (const char *[]){"PTTL", key});
	const char *nl = v->type == REDIS_REPLY_STRING ? memchr(v->str, '\n', v->len) : NULL;
	char rcpt[400], reply[400];
	long long ms = 0;
	int found = 0;

	if (nl && (size_t)(nl - v->str) < sizeof(rcpt) && v->len - (size_t)(nl - v->str) > 3) {
		const char *val = nl + 1, *bar;

		memcpy(rcpt, v->str, (size_t)(nl - v->str));
		rcpt[nl - v->str] = 0;
		ms = atoll(val + 2);
		bar = strchr(val + 2, '|');
		rg_strlcpy(reply, bar ? bar + 1 : "", sizeof(reply));
		rctl_item(c);
		rctl_str(c, "recipient", rcpt);
		rctl_str(c, "result", val[0] == 'v' ? "valid" : val[0] == 'i' ? "invalid" : "unknown");
		rctl_time(c, "checked", ms / 1000);
		rctl_str(c, "reply", reply);
		rctl_int(c, "expires_in_seconds", t->integer > 0 ? (t->integer + 999) / 1000 : 0);
		rctl_end_item(c);
		found = 1;
	}
	freeReplyObject(v);
	freeReplyObject(t);
	return found;
}

int
cmisc_callout(struct rctl *c, int argc, char **argv)
{
	struct keylist l = {0};
	char key[RKEYS_MAX], pat[2 * RKEYS_MAX];
	int rc;

	if (argc != 2 || (strcmp(argv[0], "show") != 0 && strcmp(argv[0], "flush") != 0))
		rctl_usage_error("usage: callout show|flush ADDRESS|DOMAIN");
	if (strchr(argv[1], '@')) {
		if (rkeys_callout(&c->k, argv[1], key, sizeof(key)) < 0)
			rctl_usage_error("%s: address too long", argv[1]);
		rctl_connect(c);
		collect(c, key, &l);
	} else {
		if (rkeys_callout_pattern(&c->k, argv[1], pat, sizeof(pat)) < 0)
			rctl_usage_error("%s: not a domain", argv[1]);
		rctl_connect(c);
		rctl_scan(c, pat, collect, &l);
	}
	rctl_begin(c);
	if (strcmp(argv[0], "flush") == 0) {
		long long n = del_all(c, &l);

		rctl_item(c);
		rctl_str(c, "what", argv[1]);
		rctl_int(c, "entries_flushed", n);
		rctl_end_item(c);
		rc = n ? RCTL_EXIT_OK : RCTL_EXIT_NOTFOUND;
	} else {
		int shown = 0;

		for (int i = 0; i < l.n; i++)
			shown += co_show(c, l.keys[i]);
		rc = shown ? RCTL_EXIT_OK : RCTL_EXIT_NOTFOUND;
	}
	rctl_end(c);
	keylist_free(&l);
	return rc;
}

/* ---------------------------------------------------------------------- hop */

static void
hop_one(struct rctl *c, const char *key, void *arg)
{
	redisReply *t = rctl_cmd(c, 2, (const char *[]){"PTTL", key});
	const char *a = strchr(key + strlen(c->k.prefix), '{');
	char hop[300];
	size_t n = a ? strlen(a + 1) : 0;

	(void)arg;
	if (n > 0 && n < sizeof(hop)) {
		memcpy(hop, a + 1, n - 1); /* without the closing brace */
		hop[n - 1] = 0;
		rctl_item(c);
		rctl_str(c, "hop", hop);
		rctl_int(c, "down_for_seconds", t->integer > 0 ? (t->integer + 999) / 1000 : 0);
		rctl_end_item(c);
	}
	freeReplyObject(t);
}

int
cmisc_hop(struct rctl *c, int argc, char **argv)
{
	char key[RKEYS_MAX], pat[2 * RKEYS_MAX];
	redisReply *r;
	int rc;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if (rkeys_kind_pattern(&c->k, "cd", pat, sizeof(pat)) < 0)
			rctl_usage_error("hop list: no key pattern");
		rctl_connect(c);
		rctl_begin(c);
		rctl_scan(c, pat, hop_one, NULL);
		rctl_end(c);
		return RCTL_EXIT_OK;
	}
	if (argc != 2 || strcmp(argv[0], "up") != 0)
		rctl_usage_error(
		    "usage: hop list | up HOP   (HOP as hop list shows it: [host]:port or domain:25)");
	if (rkeys_hopdown(&c->k, argv[1], key, sizeof(key)) < 0)
		rctl_usage_error("%s: hop too long", argv[1]);
	rctl_connect(c);
	r = rctl_cmd(c, 2, (const char *[]){"DEL", key});
	rc = r->integer ? RCTL_EXIT_OK : RCTL_EXIT_NOTFOUND;
	freeReplyObject(r);
	rctl_begin(c);
	rctl_item(c);
	rctl_str(c, "hop", argv[1]);
	rctl_str(c, "result", rc ? "not marked down" : "up");
	rctl_end_item(c);
	rctl_end(c);
	return rc;
}

/* ------------------------------------------------------------------- status */

/* "field:value" of an INFO section. */
static void
info_field(const char *info, const char *field, char *buf, size_t len)
{
	size_t fl = strlen(field);

	buf[0] = 0;
	for (const char *p = info; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, field, fl) == 0 && p[fl] == ':') {
			size_t n = strcspn(p + fl + 1, "\r\n");

			if (n >= len)
				n = len - 1;
			memcpy(buf, p + fl + 1, n);
			buf[n] = 0;
			return;
		}
	}
}

struct kinds {
	long long n[7];
};

static const char *const kind_name[] = {"greylist", "awl",     "ratelimit", "callout",
					"harvest",  "hopdown", "other"};
static const char *const kind_tag[] = {"g:", "a:", "r:", "c:", "h:", "cd:", NULL};

static void
count_kind(struct rctl *c, const char *key, void *arg)
{
	struct kinds *k = arg;
	const char *rest = key + strlen(c->k.prefix);
	int i;

	for (i = 0; kind_tag[i]; i++)
		if (strncmp(rest, kind_tag[i], strlen(kind_tag[i])) == 0)
			break;
	k->n[i]++;
}

int
cmisc_status(struct rctl *c, int argc, char **argv)
{
	struct kinds k = {{0}};
	char pat[2 * RKEYS_MAX], role[64], mem[64], ver[64];
	redisReply *r;

	(void)argv;
	if (argc != 0)
		rctl_usage_error("usage: status");
	rctl_connect(c);
	freeReplyObject(rctl_cmd(c, 1, (const char *[]){"PING"}));
	r = rctl_cmd(c, 1, (const char *[]){"INFO"});
	info_field(r->str, "role", role, sizeof(role));
	info_field(r->str, "used_memory_human", mem, sizeof(mem));
	info_field(r->str, "redis_version", ver, sizeof(ver));
	freeReplyObject(r);
	rctl_glob_escape(c->k.prefix, pat, sizeof(pat) - 1);
	strcat(pat, "*");
	rctl_scan(c, pat, count_kind, &k);
	rctl_begin(c);
	rctl_item(c);
	rctl_str(c, "redis", c->server);
	rctl_str(c, "reachable", "yes");
	rctl_str(c, "role", role);
	rctl_str(c, "version", ver);
	rctl_str(c, "memory", mem);
	for (int i = 0; i < 7; i++) {
		char name[32];

		snprintf(name, sizeof(name), "keys_%s", kind_name[i]);
		rctl_int(c, name, k.n[i]);
	}
	rctl_end_item(c);
	rctl_end(c);
	return RCTL_EXIT_OK;
}
