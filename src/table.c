/*
 * table - see table.h. Both kinds keep their entries in file order in one
 * array; the lookup structures hold indices into it. A hash slot keeps the
 * key's hash so growing the table needs no access to the keys.
 *
 * Trust boundary: table files are admin input; every line is checked
 * (domain syntax, CIDR syntax, class, overrides) and echoed only sanitised.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "confint.h"
#include "table.h"
#include "util.h"

#define SHOW(buf, s) rg_sanitize(buf, sizeof(buf), s, strlen(s))

struct slot {
	uint64_t h;
	int idx; /* entry index + 1; 0 = empty */
};

struct htab {
	size_t size, used; /* size: 0 or a power of two */
	struct slot *slot;
};

struct rg_table {
	enum rg_table_kind kind;
	struct rg_arena *arena;
	int n, cap;
	struct rg_entry *e; /* file order */
	char **dkey; /* DOMAIN: normalised key of each entry */
	struct rg_prefix *pfx; /* CLIENT: prefix of each entry */
	struct htab dom; /* DOMAIN: one table */
	struct htab bylen[2][129]; /* CLIENT: [v4][mapped prefix length] */
	int lens[2][129], nlens[2]; /* CLIENT: lengths in use, longest first */
};

static uint64_t
fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static void
htab_insert(struct htab *t, uint64_t h, int idx)
{
	size_t i;

	if ((t->used + 1) * 2 > t->size) {
		struct htab nt = {t->size ? t->size * 2 : 16, 0, NULL};

		nt.slot = xcalloc(nt.size, sizeof(struct slot));
		for (i = 0; i < t->size; i++)
			if (t->slot[i].idx)
				htab_insert(&nt, t->slot[i].h, t->slot[i].idx - 1);
		free(t->slot);
		*t = nt;
	}
	for (i = h & (t->size - 1); t->slot[i].idx; i = (i + 1) & (t->size - 1))
		;
	t->slot[i].h = h;
	t->slot[i].idx = idx + 1;
	t->used++;
}

/* Index of the entry with hash h for which eq() holds, or -1. */
static int
htab_find(const struct htab *t, uint64_t h, int (*eq)(const struct rg_table *, int, const void *),
	  const struct rg_table *tab, const void *key)
{
	size_t i;

	if (t->size == 0)
		return -1;
	for (i = h & (t->size - 1); t->slot[i].idx; i = (i + 1) & (t->size - 1))
		if (t->slot[i].h == h && eq(tab, t->slot[i].idx - 1, key))
			return t->slot[i].idx - 1;
	return -1;
}

static int
dom_eq(const struct rg_table *t, int idx, const void *key)
{
	return strcmp(t->dkey[idx], key) == 0;
}

static int
pfx_eq(const struct rg_table *t, int idx, const void *key)
{
	return memcmp(t->pfx[idx].addr.b, key, 16) == 0;
}

/* Lower-case domain key: optional leading '.', then host name labels. */
static int
domain_key(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s), i, label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--; /* "example.com." is "example.com" */
	if (n == 0 || n >= outlen || n > 254)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 && i != 0)
				return -1;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return -1;
		} else {
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = 0;
	return label ? 0 : -1;
}

static int
class_index(const struct rg_config *cfg, const char *name)
{
	int i;

	for (i = 0; i < cfg->nclasses; i++)
		if (strcmp(cfg->class_names[i], name) == 0)
			return i;
	return -1;
}

/* Apply "name=value" overrides to a copy of the class set. NULL on error. */
static const struct rg_params *
overrides(struct rg_table *t, const struct rg_params *base, char **w, int nw, const char *file, int line,
	  struct rg_diag *diag, int *nerr)
{
	struct rg_params *p = rg_arena_alloc(t->arena, sizeof(*p));
	char err[512], shown[120];
	int i, bad = 0;

	*p = *base;
	for (i = 0; i < nw; i++) {
		char *eq = strchr(w[i], '=');
		const struct rg_pinfo *pi;

		if (eq == NULL || eq == w[i]) {
			rg_conf_err(diag, nerr, file, line, "bad override \"%s\" (expected name=value)",
				    SHOW(shown, w[i]));
			bad = 1;
			continue;
		}
		*eq = 0;
		if ((pi = rg_pinfo_find(w[i])) == NULL) {
			rg_conf_err(diag, nerr, file, line, "unknown parameter \"%s\"", SHOW(shown, w[i]));
			bad = 1;
		} else if (pi->scope == RG_PS_GLOBAL) {
			rg_conf_err(diag, nerr, file, line,
				    "%s is a global parameter and cannot be set per entry", pi->name);
			bad = 1;
		} else if (rg_conf_setval(pi, p, pi->name, eq + 1, t->arena, err, sizeof(err)) < 0) {
			rg_conf_err(diag, nerr, file, line, "%s", err);
			bad = 1;
		}
	}
	return bad ? NULL : p;
}

/* Register the key of entry idx; -1 (reported) if it is a duplicate. */
static int
add_key(struct rg_table *t, int idx, const char *word, char *shown, size_t shownlen, struct rg_diag *diag,
	int *nerr)
{
	const struct rg_entry *e = &t->e[idx];
	char err[256], key[256];
	uint64_t h;
	int dup, v4, len, i;

	if (t->kind == RG_TABLE_DOMAIN) {
		if (domain_key(word, key, sizeof(key)) < 0) {
			rg_conf_err(diag, nerr, e->file, e->line, "bad domain \"%s\"", shown);
			return -1;
		}
		h = fnv1a(key, strlen(key));
		if ((dup = htab_find(&t->dom, h, dom_eq, t, key)) >= 0)
			goto dup;
		t->dkey[idx] = rg_arena_strdup(t->arena, key);
		htab_insert(&t->dom, h, idx);
		return 0;
	}
	if (rg_prefix_parse(word, &t->pfx[idx], err, sizeof(err)) < 0) {
		rg_conf_err(diag, nerr, e->file, e->line, "%s", err);
		return -1;
	}
	v4 = t->pfx[idx].addr.v4;
	len = t->pfx[idx].len;
	h = fnv1a(t->pfx[idx].addr.b, 16);
	if ((dup = htab_find(&t->bylen[v4][len], h, pfx_eq, t, t->pfx[idx].addr.b)) >= 0)
		goto dup;
	if (t->bylen[v4][len].size == 0) {
		/* A new length: keep the list sorted longest first. */
		for (i = t->nlens[v4]; i > 0 && t->lens[v4][i - 1] < len; i--)
			t->lens[v4][i] = t->lens[v4][i - 1];
		t->lens[v4][i] = len;
		t->nlens[v4]++;
	}
	htab_insert(&t->bylen[v4][len], h, idx);
	return 0;
dup:
	(void)shownlen;
	rg_conf_err(diag, nerr, e->file, e->line, "duplicate entry \"%s\" (first at line %d)", shown,
		    t->e[dup].line);
	return -1;
}

static void
grow(struct rg_table *t)
{
	if (t->n < t->cap)
		return;
	t->cap = t->cap ? t->cap * 2 : 64;
	t->e = xrealloc(t->e, (size_t)t->cap * sizeof(*t->e));
	if (t->kind == RG_TABLE_DOMAIN)
		t->dkey = xrealloc(t->dkey, (size_t)t->cap * sizeof(*t->dkey));
	else
		t->pfx = xrealloc(t->pfx, (size_t)t->cap * sizeof(*t->pfx));
}

/* One line: "key class [name=value ...]". Returns 0 or -1 (reported). */
static int
parse_line(struct rg_table *t, const struct rg_config *cfg, char *line, const char *file, int lineno,
	   struct rg_diag *diag, int *nerr)
{
	char *w[64], shown[120], *s = line;
	int nw = 0, c;
	struct rg_entry *e;
	const struct rg_params *p;

	for (s += strspn(s, " \t"); *s; s += strspn(s, " \t")) {
		if (nw == (int)(sizeof(w) / sizeof(w[0]))) {
			rg_conf_err(diag, nerr, file, lineno, "too many words (at most %d)", nw);
			return -1;
		}
		w[nw++] = s;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = 0;
	}
	if (nw == 0)
		return 0;
	SHOW(shown, w[0]);
	if (nw < 2) {
		rg_conf_err(diag, nerr, file, lineno, "missing class after \"%s\"", shown);
		return -1;
	}
	if ((c = class_index(cfg, w[1])) < 0) {
		char cls[80];

		rg_conf_err(diag, nerr, file, lineno, "unknown class \"%s\" for \"%s\"", SHOW(cls, w[1]),
			    shown);
		return -1;
	}
	grow(t);
	e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->file = file;
	e->line = lineno;
	if (add_key(t, t->n, w[0], shown, sizeof(shown), diag, nerr) < 0)
		return -1;
	e->key = rg_arena_strdup(t->arena, w[0]);
	e->class_name = rg_arena_strdup(t->arena, cfg->class_names[c]);
	/* Entries without overrides share the class's set. A bad entry stays
	 * (its key registered, so a later duplicate is still reported); the
	 * load fails anyway. */
	e->p = cfg->class_params[c];
	t->n++;
	if (nw == 2)
		return 0;
	p = overrides(t, cfg->class_params[c], w + 2, nw - 2, file, lineno, diag, nerr);
	if (p == NULL)
		return -1;
	e->p = p;
	return 0;
}

struct rg_table *
rg_table_load(enum rg_table_kind kind, const char *path, const struct rg_config *cfg, struct rg_diag *diag)
{
	struct rg_table *t = xcalloc(1, sizeof(*t));
	struct rg_lreader r;
	const char *file;
	char *line;
	int lineno, nerr = 0;

	t->kind = kind;
	t->arena = rg_arena_new();
	file = rg_arena_strdup(t->arena, path);
	if (rg_lreader_open(&r, file, 1, diag, &nerr) < 0) {
		rg_table_free(t);
		return NULL;
	}
	while ((line = rg_lreader_next(&r, &lineno)) != NULL)
		(void)parse_line(t, cfg, line, file, lineno, diag, &nerr);
	rg_lreader_close(&r);
	if (nerr) {
		rg_table_free(t);
		return NULL;
	}
	return t;
}

void
rg_table_free(struct rg_table *t)
{
	int v4, len;

	if (t == NULL)
		return;
	free(t->dom.slot);
	for (v4 = 0; v4 < 2; v4++)
		for (len = 0; len <= 128; len++)
			free(t->bylen[v4][len].slot);
	free(t->e);
	free(t->dkey);
	free(t->pfx);
	rg_arena_free(t->arena);
	free(t);
}

const struct rg_entry *
rg_table_domain(const struct rg_table *t, const char *domain)
{
	char key[256];
	const char *dot;
	int idx;

	if (t == NULL || t->kind != RG_TABLE_DOMAIN || domain == NULL ||
	    domain_key(domain, key, sizeof(key)) < 0 || key[0] == '.')
		return NULL;
	/* Exact first, then ".parent" entries from the nearest parent up. */
	for (dot = key; dot; dot = strchr(dot + 1, '.'))
		if ((idx = htab_find(&t->dom, fnv1a(dot, strlen(dot)), dom_eq, t, dot)) >= 0)
			return &t->e[idx];
	return NULL;
}

const struct rg_entry *
rg_table_client(const struct rg_table *t, const char *addr)
{
	struct rg_addr a, m;
	int i, idx, v4;

	if (t == NULL || t->kind != RG_TABLE_CLIENT || addr == NULL || rg_addr_parse(addr, &a) < 0)
		return NULL;
	v4 = a.v4;
	for (i = 0; i < t->nlens[v4]; i++) {
		m = a;
		rg_addr_mask(&m, t->lens[v4][i]);
		idx = htab_find(&t->bylen[v4][t->lens[v4][i]], fnv1a(m.b, 16), pfx_eq, t, m.b);
		if (idx >= 0)
			return &t->e[idx];
	}
	return NULL;
}

int
rg_table_count(const struct rg_table *t)
{
	return t ? t->n : 0;
}

const struct rg_entry *
rg_table_at(const struct rg_table *t, int i)
{
	return t && i >= 0 && i < t->n ? &t->e[i] : NULL;
}
