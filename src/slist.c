/*
 * slist - see slist.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "slist.h"
#include "util.h"

#define SLIST_LINE_MAX 4096
#define SLIST_PAT_MAX 254

struct slist_pat {
	char *text; /* lower case */
	int deny;
	int spec; /* 3 address, 2 @domain, 1 .domain */
};

struct slist_ent {
	char *key; /* lower case recipient: "example.com" or "user@example.com" */
	int npat, cap;
	struct slist_pat *pat;
	int has_tag, has_reject;
	double tag, reject;
};

struct rg_slist {
	int n, cap;
	struct slist_ent *e; /* sorted by key once loaded */
};

static struct slist_ent *
slist_find(const struct rg_slist *l, const char *key)
{
	int lo = 0, hi = l->n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(key, l->e[mid].key);

		if (c == 0)
			return &l->e[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The entry for key while loading (unsorted: linear; a file is read once). */
static struct slist_ent *
slist_get(struct rg_slist *l, const char *key)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->e[i].key, key) == 0)
			return &l->e[i];
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->e = xrealloc(l->e, (size_t)l->cap * sizeof(*l->e));
	}
	memset(&l->e[l->n], 0, sizeof(l->e[0]));
	l->e[l->n].key = xstrdup(key);
	return &l->e[l->n++];
}

/* A domain as we accept it in a key or pattern: labels of [a-z0-9-_]. */
static int
slist_domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.' || strstr(d, ".."))
		return 0;
	return strspn(d, "abcdefghijklmnopqrstuvwxyz0123456789.-_") == n;
}

static int
slist_addr_ok(const char *a)
{
	const char *at = strrchr(a, '@');

	if (at == NULL || at == a || (size_t)(at - a) > 64)
		return slist_domain_ok(a) ? 2 : 0; /* a domain */
	for (const char *p = a; p < at; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '<' || *p == '>')
			return 0;
	return slist_domain_ok(at + 1) ? 1 : 0;
}

static int
slist_pattern(const char *w, struct slist_pat *p)
{
	if (strlen(w) > SLIST_PAT_MAX)
		return -1;
	if (w[0] == '@')
		p->spec = 2;
	else if (w[0] == '.')
		p->spec = 1;
	else
		p->spec = 3;
	if ((p->spec != 3 && !slist_domain_ok(w + 1)) || (p->spec == 3 && slist_addr_ok(w) != 1))
		return -1;
	p->text = xstrdup(w);
	return 0;
}

static int
slist_score(const char *w, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(w, &end);
	return errno || end == w || *end || *v < -1000 || *v > 1000 ? -1 : 0;
}

static int
slist_cmp(const void *a, const void *b)
{
	return strcmp(((const struct slist_ent *)a)->key, ((const struct slist_ent *)b)->key);
}

/* One line's words; returns -1 with a diagnostic. */
static int
slist_line(struct rg_slist *l, char **w, int nw, const char *path, int ln, struct rg_diag *diag)
{
	struct slist_ent *e;
	int i, deny;

	if (nw < 3) {
		rg_diag_add(diag, path, ln,
			    "expected \"recipient allow|deny|spam_tag_score|spam_reject_score value...\"");
		return -1;
	}
	if (!slist_addr_ok(w[0])) {
		rg_diag_add(diag, path, ln, "bad recipient \"%.100s\" (a domain or user@domain)", w[0]);
		return -1;
	}
	deny = strcmp(w[1], "deny") == 0;
	if (deny || strcmp(w[1], "allow") == 0) {
		e = slist_get(l, w[0]);
		for (i = 2; i < nw; i++) {
			struct slist_pat p = {.deny = deny};

			if (slist_pattern(w[i], &p) < 0) {
				rg_diag_add(diag, path, ln,
					    "bad sender pattern \"%.100s\" (user@domain, @domain or .domain)",
					    w[i]);
				return -1;
			}
			if (e->npat == e->cap) {
				e->cap = e->cap ? e->cap * 2 : 4;
				e->pat = xrealloc(e->pat, (size_t)e->cap * sizeof(*e->pat));
			}
			e->pat[e->npat++] = p;
		}
		return 0;
	}
	if (strcmp(w[1], "spam_tag_score") == 0 || strcmp(w[1], "spam_reject_score") == 0) {
		int tag = w[1][5] == 't';
		double v;

		if (nw != 3 || slist_score(w[2], &v) < 0) {
			rg_diag_add(diag, path, ln, "%s needs one score between -1000 and 1000", w[1]);
			return -1;
		}
		e = slist_get(l, w[0]);
		if (tag ? e->has_tag : e->has_reject) {
			rg_diag_add(diag, path, ln, "%s for %.100s set twice", w[1], w[0]);
			return -1;
		}
		if (tag)
			e->has_tag = 1, e->tag = v;
		else
			e->has_reject = 1, e->reject = v;
		return 0;
	}
	rg_diag_add(diag, path, ln, "unknown \"%.64s\" (allow, deny, spam_tag_score or spam_reject_score)",
		    w[1]);
	return -1;
}

struct rg_slist *
rg_slist_load(const char *path, struct rg_diag *diag)
{
	struct rg_slist *l = xcalloc(1, sizeof(*l));
	char line[SLIST_LINE_MAX + 2];
	FILE *fp = fopen(path, "r");
	int ln = 0, nerr = 0;

	if (fp == NULL) {
		char eb[128];

		rg_diag_add(diag, path, 0, "cannot open: %s", strerror_r(errno, eb, sizeof(eb)));
		free(l);
		return NULL;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *w[256], *s, *save = NULL;
		int nw = 0;
		size_t len = strlen(line);

		ln++;
		if (len > SLIST_LINE_MAX) {
			rg_diag_add(diag, path, ln, "line longer than %d bytes", SLIST_LINE_MAX);
			nerr++;
			while (len && line[len - 1] != '\n' && fgets(line, sizeof(line), fp))
				len = strlen(line);
			continue;
		}
		rg_lowercase(line);
		for (s = strtok_r(line, " \t\r\n,", &save); s && nw < 256;
		     s = strtok_r(NULL, " \t\r\n,", &save))
			w[nw++] = s;
		if (nw == 0 || w[0][0] == '#')
			continue;
		if (nw == 256) {
			rg_diag_add(diag, path, ln, "too many words");
			nerr++;
			continue;
		}
		nerr += slist_line(l, w, nw, path, ln, diag) < 0;
	}
	fclose(fp);
	if (nerr) {
		rg_slist_free(l);
		return NULL;
	}
	if (l->n)
		qsort(l->e, (size_t)l->n, sizeof(*l->e), slist_cmp);
	return l;
}

void
rg_slist_free(struct rg_slist *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < l->n; i++) {
		for (int k = 0; k < l->e[i].npat; k++)
			free(l->e[i].pat[k].text);
		free(l->e[i].pat);
		free(l->e[i].key);
	}
	free(l->e);
	free(l);
}

/* Does sender (lower case; sdom its domain) match p? */
static int
slist_match(const struct slist_pat *p, const char *sender, const char *sdom)
{
	size_t dl, pl;

	switch (p->spec) {
	case 3:
		return strcmp(p->text, sender) == 0;
	case 2:
		return sdom && strcmp(p->text + 1, sdom) == 0;
	default:
		if (sdom == NULL)
			return 0;
		dl = strlen(sdom), pl = strlen(p->text);
		return dl > pl && strcmp(sdom + dl - pl, p->text) == 0;
	}
}

/* The verdict of one entry for sender, RG_SLIST_NONE when no pattern matches. */
static enum rg_slist_verdict
slist_verdict(const struct slist_ent *e, const char *sender, const char *sdom)
{
	int best = 0, deny = 0;

	for (int i = 0; e && i < e->npat; i++) {
		const struct slist_pat *p = &e->pat[i];

		if (!slist_match(p, sender, sdom))
			continue;
		if (p->spec > best || (p->spec == best && p->deny))
			best = p->spec, deny = p->deny;
	}
	return best == 0 ? RG_SLIST_NONE : deny ? RG_SLIST_DENY : RG_SLIST_ALLOW;
}

void
rg_slist_lookup(const struct rg_slist *l, const char *rcpt, const char *sender, struct rg_slist_res *res)
{
	char r[320], s[320];
	const struct slist_ent *ea, *ed;
	const char *at, *sdom;

	memset(res, 0, sizeof(*res));
	if (l == NULL || l->n == 0 || strlen(rcpt) >= sizeof(r) || strlen(sender) >= sizeof(s))
		return;
	rg_lowercase(strcpy(r, rcpt));
	rg_lowercase(strcpy(s, sender));
	at = strrchr(r, '@');
	sdom = strrchr(s, '@') ? strrchr(s, '@') + 1 : NULL;
	ea = at ? slist_find(l, r) : NULL;
	ed = slist_find(l, at ? at + 1 : r);
	if (*s && (res->verdict = slist_verdict(ea, s, sdom)) == RG_SLIST_NONE)
		res->verdict = slist_verdict(ed, s, sdom);
	if (ea && ea->has_tag)
		res->has_tag = 1, res->tag = ea->tag;
	else if (ed && ed->has_tag)
		res->has_tag = 1, res->tag = ed->tag;
	if (ea && ea->has_reject)
		res->has_reject = 1, res->reject = ea->reject;
	else if (ed && ed->has_reject)
		res->has_reject = 1, res->reject = ed->reject;
}

int
rg_slist_same(const struct rg_slist_res *a, const struct rg_slist_res *b)
{
	return a->verdict == b->verdict && a->has_tag == b->has_tag && a->has_reject == b->has_reject &&
	       (!a->has_tag || a->tag == b->tag) && (!a->has_reject || a->reject == b->reject);
}

const char *
rg_slist_verdict_name(enum rg_slist_verdict v)
{
	return v == RG_SLIST_ALLOW ? "allow" : v == RG_SLIST_DENY ? "deny" : "none";
}
