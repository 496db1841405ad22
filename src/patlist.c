/*
 * patlist - see patlist.h. Patterns are tried in file order and the first
 * match wins, so "which" names the line an admin would look at first.
 * Literals are stored lower-cased; subjects are lower-cased into a bounded
 * buffer per call (no shared state, so concurrent matching is safe).
 *
 * Trust boundary: pattern files are admin input; subjects (client names,
 * addresses) come from SMTP clients and are only compared, never echoed.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cidr.h"
#include "confint.h"
#include "msg.h"
#include "patlist.h"
#include "util.h"

#define SHOW(buf, s) rg_sanitize(buf, sizeof(buf), s, strlen(s))
#define SUBJECT_MAX 1024 /* longer subjects never match (RFC 5321 paths are < 256) */
/* Backtracking bound per match: a pathological pattern against a hostile
 * subject fails (no match) instead of spinning. */
#define MATCH_LIMIT 200000

enum pat_type {
	P_REGEX,
	P_PREFIX, /* client address in a CIDR prefix */
	P_HOST, /* client name is lit or below it */
	P_SUBHOST, /* client name is below lit (".example.com") */
	P_ADDRESS, /* whole address equals lit */
	P_LOCAL, /* local part equals lit ("user@") */
	P_DOMAIN, /* domain equals lit ("@domain") */
	P_DOMAIN_BELOW, /* domain is lit or below it ("domain", as postgrey reads it) */
	P_SUBDOMAIN, /* domain is below lit (".domain") */
};

struct pat {
	enum pat_type type;
	char *text; /* as written, for "which" */
	char *lit; /* lower-cased literal */
	pcre2_code *re;
	struct rg_prefix pfx;
};

struct rg_patlist {
	enum rg_pat_kind kind;
	int n, cap;
	struct pat *p;
	pcre2_match_context *mctx; /* MATCH_LIMIT; only read while matching */
};

struct rg_patlist *
rg_patlist_new(enum rg_pat_kind kind)
{
	struct rg_patlist *l = xcalloc(1, sizeof(*l));

	l->kind = kind;
	if ((l->mctx = pcre2_match_context_create(NULL)) == NULL)
		msg_fatal("out of memory (pcre2)");
	pcre2_set_match_limit(l->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(l->mctx, MATCH_LIMIT / 10);
	return l;
}

/* Host or domain name, optional leading '.'; lower-cased copy or NULL. */
static char *
name_literal(const char *s)
{
	size_t n = strlen(s), i;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 254 || (s[0] == '.' && n == 1))
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '-' || c == '_' || c == '.') ||
		    (c == '.' && i > 0 && s[i - 1] == '.'))
			return NULL;
	}
	return rg_lowercase(xstrndup(s, n));
}

/* "192.0.2" -> 192.0.2.0/24: the partial address form of postgrey lists. */
static int
partial_ipv4(const char *s, struct rg_prefix *p)
{
	char buf[32], err[128];
	int dots = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 12 || strspn(s, "0123456789.") != n || s[0] == '.' || s[n - 1] == '.')
		return -1;
	for (i = 0; i < n; i++)
		dots += s[i] == '.';
	if (dots > 2)
		return -1;
	snprintf(buf, sizeof(buf), "%s%s/%d", s,
		 dots == 0   ? ".0.0.0"
		 : dots == 1 ? ".0.0"
			     : ".0",
		 8 * (dots + 1));
	return rg_prefix_parse(buf, p, err, sizeof(err));
}

static int
classify(struct rg_patlist *l, struct pat *p, const char *s, char *err, size_t errlen)
{
	const char *at;
	char shown[120];

	SHOW(shown, s);
	if (l->kind == RG_PAT_REGEX) {
		snprintf(err, errlen, "not a /regex/ pattern: \"%s\"", shown);
		return -1;
	}
	if (l->kind == RG_PAT_CLIENT) {
		if (rg_prefix_parse(s, &p->pfx, err, errlen) == 0 || partial_ipv4(s, &p->pfx) == 0) {
			p->type = P_PREFIX;
			return 0;
		}
		if (strpbrk(s, ":/") || strspn(s, "0123456789.") == strlen(s))
			return -1; /* meant as an address: rg_prefix_parse said why */
		p->type = s[0] == '.' ? P_SUBHOST : P_HOST;
		if ((p->lit = name_literal(s)) == NULL) {
			snprintf(err, errlen, "bad host name \"%s\"", shown);
			return -1;
		}
		return 0;
	}
	if ((at = strrchr(s, '@')) != NULL) {
		if (at == s) {
			p->type = P_DOMAIN;
			p->lit = name_literal(s + 1);
		} else if (at[1] == 0) {
			p->type = P_LOCAL;
			p->lit = rg_lowercase(xstrndup(s, (size_t)(at - s)));
		} else {
			p->type = P_ADDRESS;
			p->lit = rg_lowercase(xstrdup(s));
		}
	} else {
		p->type = s[0] == '.' ? P_SUBDOMAIN : P_DOMAIN_BELOW;
		p->lit = name_literal(s);
	}
	if (p->lit && p->type == P_ADDRESS) {
		char *dom = name_literal(at + 1);

		if (dom == NULL)
			p->lit = xfree(p->lit);
		free(dom);
	}
	if (p->lit == NULL) {
		snprintf(err, errlen, "bad address pattern \"%s\"", shown);
		return -1;
	}
	return 0;
}

int
rg_patlist_add(struct rg_patlist *l, const char *pattern, const char *file, int line, struct rg_diag *diag)
{
	struct pat p;
	char err[512], shown[120], *s, *copy = xstrdup(pattern);
	size_t n;
	int rc;

	memset(&p, 0, sizeof(p));
	s = rg_trim(copy);
	n = strlen(s);
	SHOW(shown, s);
	if (n == 0) {
		rg_diag_add(diag, file, line, "empty pattern");
		goto fail;
	}
	if (s[0] == '/') {
		if (n < 3 || s[n - 1] != '/') {
			rg_diag_add(diag, file, line, "unterminated regex \"%s\" (write /regex/)", shown);
			goto fail;
		}
		PCRE2_SIZE off;

		p.re = pcre2_compile((PCRE2_SPTR)(s + 1), n - 2, PCRE2_CASELESS, &rc, &off, NULL);
		if (p.re == NULL) {
			pcre2_get_error_message(rc, (PCRE2_UCHAR *)err, sizeof(err));
			rg_diag_add(diag, file, line, "bad regex \"%s\": %s at offset %zu", shown, err,
				    (size_t)off);
			goto fail;
		}
		p.type = P_REGEX;
	} else if (classify(l, &p, s, err, sizeof(err)) < 0) {
		rg_diag_add(diag, file, line, "%s", err);
		free(p.lit);
		goto fail;
	}
	p.text = xstrdup(s);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->p = xrealloc(l->p, (size_t)l->cap * sizeof(*l->p));
	}
	l->p[l->n++] = p;
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

int
rg_patlist_load(struct rg_patlist *l, const char *path, struct rg_diag *diag)
{
	struct rg_lreader r;
	char *line;
	int lineno, nerr = 0;

	if (rg_lreader_open(&r, path, 0, diag, &nerr) < 0)
		return -1;
	while ((line = rg_lreader_next(&r, &lineno)) != NULL)
		if (rg_patlist_add(l, line, path, lineno, diag) < 0)
			nerr++;
	rg_lreader_close(&r);
	return nerr ? -1 : 0;
}

/* Is name equal to suffix's tail with a '.' boundary (or equal, if allowed)? */
static int
below(const char *name, const char *lit, int equal_ok)
{
	size_t n = strlen(name), m = strlen(lit);

	if (lit[0] == '.')
		return n > m && strcmp(name + n - m, lit) == 0;
	if (n == m)
		return equal_ok && strcmp(name, lit) == 0;
	return n > m && name[n - m - 1] == '.' && strcmp(name + n - m, lit) == 0;
}

/* Lower-cased, bounded copy of a subject; NULL when absent or too long. */
static char *
lower_copy(const char *s, char *buf, size_t buflen, int strip_dot)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) >= buflen)
		return NULL;
	memcpy(buf, s, n + 1);
	if (strip_dot && n > 0 && buf[n - 1] == '.')
		buf[n - 1] = 0;
	return rg_lowercase(buf);
}

/* Is lit "local_noext@domain"? (user@domain also matches user+ext@domain) */
static int
addr_noext(const char *lit, const char *local_noext, const char *domain)
{
	size_t n = strlen(local_noext);

	return strncmp(lit, local_noext, n) == 0 && lit[n] == '@' && strcmp(lit + n + 1, domain) == 0;
}

/* 1 if re matches subject; an error (the match limit) is no match. */
static int
re_match(const struct rg_patlist *l, const pcre2_code *re, const char *subject)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	int rc;

	if (md == NULL)
		msg_fatal("out of memory (pcre2)");
	rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, l->mctx);
	pcre2_match_data_free(md);
	return rc >= 0;
}

static int
match_one(const struct rg_patlist *l, const struct pat *p, const char *subject, const char *lname,
	  const struct rg_addr *addr, const char *local, const char *local_noext, const char *domain)
{
	switch (p->type) {
	case P_REGEX:
		return subject && re_match(l, p->re, subject);
	case P_PREFIX:
		return addr && rg_prefix_match(&p->pfx, addr);
	case P_HOST:
	case P_SUBHOST:
		return lname && below(lname, p->lit, 1);
	case P_ADDRESS:
		return lname && (strcmp(lname, p->lit) == 0 ||
				 (local_noext && domain && addr_noext(p->lit, local_noext, domain)));
	case P_LOCAL:
		return local &&
		       (strcmp(local, p->lit) == 0 || (local_noext && strcmp(local_noext, p->lit) == 0));
	case P_DOMAIN:
		return domain && strcmp(domain, p->lit) == 0;
	case P_DOMAIN_BELOW:
		return domain && below(domain, p->lit, 1);
	case P_SUBDOMAIN:
		return domain && below(domain, p->lit, 0);
	}
	return 0;
}

int
rg_patlist_match(const struct rg_patlist *l, const char *name, const char *addr, const char **which)
{
	char lbuf[SUBJECT_MAX], local[SUBJECT_MAX], noext[SUBJECT_MAX];
	const char *lname, *subject = name, *domain = NULL, *lp = NULL, *lpx = NULL;
	struct rg_addr a, *ap = NULL;
	int i;

	if (l->kind == RG_PAT_CLIENT) {
		if (name && strcmp(name, "unknown") == 0)
			subject = NULL; /* Postfix's name for "no verified name" */
		if (addr && rg_addr_parse(addr, &a) == 0)
			ap = &a;
	}
	if (subject && strlen(subject) >= SUBJECT_MAX)
		subject = NULL;
	lname = lower_copy(subject, lbuf, sizeof(lbuf), l->kind == RG_PAT_CLIENT);
	if (l->kind == RG_PAT_ADDRESS && lname) {
		const char *at = strrchr(lname, '@');

		if (at) {
			memcpy(local, lname, (size_t)(at - lname));
			local[at - lname] = 0;
			lp = local;
			domain = at + 1;
		} else {
			lp = lname;
		}
		/* postgrey's rule: "user@" and "user@domain" cover user+ext too */
		if (lp && lp[0] != '+' && strchr(lp, '+')) {
			size_t k = strcspn(lp, "+");

			memcpy(noext, lp, k);
			noext[k] = 0;
			lpx = noext;
		}
	}
	for (i = 0; i < l->n; i++)
		if (match_one(l, &l->p[i], subject, lname, ap, lp, lpx, domain)) {
			if (which)
				*which = l->p[i].text;
			return 1;
		}
	return 0;
}

int
rg_patlist_count(const struct rg_patlist *l)
{
	return l ? l->n : 0;
}

void
rg_patlist_free(struct rg_patlist *l)
{
	int i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		if (l->p[i].type == P_REGEX)
			pcre2_code_free(l->p[i].re);
		free(l->p[i].text);
		free(l->p[i].lit);
	}
	free(l->p);
	pcre2_match_context_free(l->mctx);
	free(l);
}
