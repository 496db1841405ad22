/*
 * config - see config.h. Loading happens in passes over the settings read
 * from the file: the last valid "classes" decides which "<class>_name"
 * prefixes exist; then every setting is checked in file order (so the
 * diagnostics come out in line order); then each class starts as a copy of
 * the final globals and its own settings are applied on top. Tables are
 * loaded last because their entries start from the class sets.
 *
 * The snapshot, its strings and lists live in one arena; the tables own
 * their own arenas. The reference count is the only thing that changes
 * after rg_config_load returns.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "confcheck.h"
#include "confint.h"
#include "msg.h"
#include "slist.h"
#include "table.h"
#include "util.h"

#define NPARAMS RG_NPARAMS

struct snap {
	struct rg_config pub;
	atomic_int refs;
	struct rg_arena *arena;
	struct rg_cidrlist *trusted;
	unsigned char *gset; /* [param]: the file set it globally (for -n) */
	int *gline; /* [param]: the line that set it last, 0 = default */
	unsigned char *cset; /* [class * NPARAMS + param]: set for that class */
};

/* One "name = value" line of the file. */
struct setting {
	char *name, *value;
	int line;
	int cls; /* class index for "<class>_name", else -1 */
	const struct rg_pinfo *pi; /* NULL when the line was in error */
};

void
rg_diag_add(struct rg_diag *d, const char *file, int line, const char *fmt, ...)
{
	char msg[1024], *out;
	va_list ap;
	int rc;

	if (d == NULL || d->count > RG_DIAG_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->count == RG_DIAG_MAX)
		rc = asprintf(&out, "too many errors; the rest are not shown");
	else if (file && line > 0)
		rc = asprintf(&out, "%s:%d: %s", file, line, msg);
	else if (file)
		rc = asprintf(&out, "%s: %s", file, msg);
	else
		rc = asprintf(&out, "%s", msg);
	if (rc < 0)
		msg_fatal("out of memory");
	d->msgs = xrealloc(d->msgs, (size_t)(d->count + 1) * sizeof(char *));
	d->msgs[d->count++] = out;
}

void
rg_diag_free(struct rg_diag *d)
{
	int i;

	for (i = 0; i < d->count; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->count = 0;
}

/* Read every setting of path into *out; returns the count, -1 if unreadable. */
static int
read_settings(const char *path, struct setting **out, struct rg_arena *tmp, struct rg_diag *diag, int *nerr)
{
	struct rg_lreader r;
	struct setting *s = NULL;
	char *line, shown[120];
	int n = 0, lineno;

	if (rg_lreader_open(&r, path, 1, diag, nerr) < 0)
		return -1;
	while ((line = rg_lreader_next(&r, &lineno)) != NULL) {
		char *eq = strchr(line, '='), *name;

		if (eq == NULL) {
			rg_conf_err(diag, nerr, path, lineno,
				    "missing \"=\" in \"%s\" (expected name = value)",
				    rg_sanitize(shown, sizeof(shown), line, strlen(line)));
			continue;
		}
		*eq = 0;
		name = rg_trim(line);
		if (*name == 0) {
			rg_conf_err(diag, nerr, path, lineno, "missing parameter name before \"=\"");
			continue;
		}
		if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name)) {
			rg_conf_err(diag, nerr, path, lineno, "bad parameter name \"%s\"",
				    rg_sanitize(shown, sizeof(shown), name, strlen(name)));
			continue;
		}
		s = xrealloc(s, (size_t)(n + 1) * sizeof(*s));
		s[n].name = rg_arena_strdup(tmp, name);
		s[n].value = rg_arena_strdup(tmp, rg_trim(eq + 1));
		s[n].line = lineno;
		s[n].cls = -1;
		s[n].pi = NULL;
		n++;
	}
	rg_lreader_close(&r);
	*out = s;
	return n;
}

static int
class_index(const struct rg_config *cfg, const char *name, size_t len)
{
	int i;

	for (i = 0; i < cfg->nclasses; i++)
		if (strlen(cfg->class_names[i]) == len && strncmp(cfg->class_names[i], name, len) == 0)
			return i;
	return -1;
}

/* Decide what each setting is, check its value, and apply the globals. */
static void
check_settings(struct snap *sn, struct setting *s, int n, struct rg_diag *diag, int *nerr)
{
	struct rg_config *cfg = &sn->pub;
	struct rg_params scratch;
	char err[512];
	int i;

	for (i = 0; i < n; i++) {
		const struct rg_pinfo *pi = rg_pinfo_find(s[i].name);
		const char *us;

		if (pi) {
			/* An exact name always wins over "<class>_rest". */
			if (rg_conf_setval(pi, &cfg->global, s[i].name, s[i].value, sn->arena, err,
					   sizeof(err)) < 0) {
				rg_conf_err(diag, nerr, cfg->path, s[i].line, "%s", err);
				continue;
			}
			sn->gset[RG_PIDX(pi)] = 1;
			sn->gline[RG_PIDX(pi)] = s[i].line;
			s[i].pi = pi;
			continue;
		}
		us = strchr(s[i].name, '_');
		pi = us ? rg_pinfo_find(us + 1) : NULL;
		if (pi == NULL) {
			rg_conf_err(diag, nerr, cfg->path, s[i].line, "unknown parameter \"%s\"", s[i].name);
			continue;
		}
		s[i].cls = class_index(cfg, s[i].name, (size_t)(us - s[i].name));
		if (s[i].cls < 0) {
			rg_conf_err(diag, nerr, cfg->path, s[i].line,
				    "unknown parameter \"%s\" (no class \"%.*s\" in classes)", s[i].name,
				    (int)(us - s[i].name), s[i].name);
			continue;
		}
		if (pi->scope == RG_PS_GLOBAL) {
			rg_conf_err(diag, nerr, cfg->path, s[i].line,
				    "\"%s\": %s is a global parameter and cannot be set per class", s[i].name,
				    pi->name);
			continue;
		}
		/* Checked now for line order; applied once the globals are final. */
		scratch = cfg->global;
		if (rg_conf_setval(pi, &scratch, s[i].name, s[i].value, sn->arena, err, sizeof(err)) < 0) {
			rg_conf_err(diag, nerr, cfg->path, s[i].line, "%s", err);
			continue;
		}
		s[i].pi = pi;
	}
}

/* The classes in force: the last valid "classes" setting, else the default. */
static void
setup_classes(struct snap *sn, const struct setting *s, int n)
{
	struct rg_config *cfg = &sn->pub;
	struct rg_params scratch = cfg->global;
	const struct rg_pinfo *pi = rg_pinfo_find("classes");
	char err[512];
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s[i].name, "classes") == 0)
			(void)rg_conf_setval(pi, &scratch, s[i].name, s[i].value, sn->arena, err,
					     sizeof(err));
	cfg->nclasses = scratch.classes.argc;
	cfg->class_names = (const char **)scratch.classes.argv;
	cfg->class_params = rg_arena_alloc(sn->arena, (size_t)(cfg->nclasses + 1) * sizeof(void *));
	sn->cset = rg_arena_alloc(sn->arena, (size_t)(cfg->nclasses + 1) * NPARAMS);
}

static void
build_classes(struct snap *sn, const struct setting *s, int n)
{
	struct rg_config *cfg = &sn->pub;
	char err[512];
	int c, i;

	for (c = 0; c < cfg->nclasses; c++) {
		struct rg_params *p = rg_arena_alloc(sn->arena, sizeof(*p));

		*p = cfg->global;
		for (i = 0; i < n; i++) {
			if (s[i].cls != c || s[i].pi == NULL)
				continue;
			if (rg_conf_setval(s[i].pi, p, s[i].name, s[i].value, sn->arena, err, sizeof(err)) <
			    0)
				msg_panic("%s: value checked before fails now: %s", __func__, err);
			sn->cset[c * NPARAMS + (int)RG_PIDX(s[i].pi)] = 1;
		}
		cfg->class_params[c] = p;
	}
}

/* Line number of a "path:line: ..." message; INT_MAX for other messages. */
static int
msg_line(const char *msg, const char *path, size_t plen)
{
	return strncmp(msg, path, plen) == 0 && msg[plen] == ':' ? atoi(msg + plen + 1) : INT_MAX;
}

/*
 * The reader and the value checks are separate passes (a "<class>_" prefix
 * means nothing until "classes" is known, and it may come last), yet an
 * admin reads errors top to bottom: sort the messages of path by line,
 * stably (insertion sort: there are at most RG_DIAG_MAX).
 */
static void
sort_diag(struct rg_diag *d, int from, const char *path)
{
	size_t plen = strlen(path);
	int i, j;

	for (i = from + 1; i < d->count; i++) {
		char *m = d->msgs[i];
		int line = msg_line(m, path, plen);

		for (j = i; j > from && msg_line(d->msgs[j - 1], path, plen) > line; j--)
			d->msgs[j] = d->msgs[j - 1];
		d->msgs[j] = m;
	}
}

/* path of a table named in the config: relative names are next to the file. */
static char *
table_path(struct rg_arena *a, const char *cfgpath, const char *name)
{
	const char *slash = strrchr(cfgpath, '/');
	size_t dlen = slash ? (size_t)(slash - cfgpath) + 1 : 0;
	char *p;

	if (name[0] == '/' || dlen == 0)
		return rg_arena_strdup(a, name);
	p = rg_arena_alloc(a, dlen + strlen(name) + 1);
	memcpy(p, cfgpath, dlen);
	strcpy(p + dlen, name);
	return p;
}

static void
snap_free(struct snap *sn)
{
	rg_table_free(sn->pub.domains);
	rg_table_free(sn->pub.clients);
	rg_slist_free(sn->pub.sender_lists);
	rg_cidrlist_free(sn->trusted);
	rg_arena_free(sn->arena);
	free(sn);
}

/* Apply the built-in defaults; a default that does not parse is a bug. */
static void
apply_defaults(struct snap *sn)
{
	const struct rg_pinfo *pi;
	char err[512];

	for (pi = rg_pinfo; pi->name; pi++)
		if (rg_conf_setval(pi, &sn->pub.global, pi->name, pi->def, sn->arena, err, sizeof(err)) < 0)
			msg_panic("params.def: default of %s: %s", pi->name, err);
}

struct rg_config *
rg_config_load(const char *path, struct rg_diag *diag_arg)
{
	struct rg_diag own = {0}, *diag = diag_arg ? diag_arg : &own;
	struct snap *sn = xcalloc(1, sizeof(*sn));
	struct rg_config *cfg = &sn->pub;
	struct rg_arena *tmp = rg_arena_new();
	struct setting *s = NULL;
	char err[512];
	int i, n, nerr = 0, before = diag->count;

	atomic_init(&sn->refs, 1);
	sn->arena = rg_arena_new();
	cfg->priv = sn;
	cfg->path = rg_arena_strdup(sn->arena, path);
	sn->gset = rg_arena_alloc(sn->arena, (size_t)NPARAMS);
	sn->gline = rg_arena_alloc(sn->arena, (size_t)NPARAMS * sizeof(int));
	memset(sn->gline, 0, (size_t)NPARAMS * sizeof(int));
	apply_defaults(sn);
	if ((n = read_settings(cfg->path, &s, tmp, diag, &nerr)) < 0)
		goto fail;
	setup_classes(sn, s, n);
	check_settings(sn, s, n, diag, &nerr);
	if (cfg->global.redis_sentinels.argc > 0 && cfg->global.redis_sentinel_master[0] == 0) {
		rg_diag_add(diag, cfg->path, 0, "redis_sentinels is set but redis_sentinel_master is not");
		nerr++;
	}
	sort_diag(diag, before, cfg->path);
	if (cfg->global.myhostname[0] == 0) {
		char host[256] = "localhost";

		if (gethostname(host, sizeof(host)) < 0 || host[0] == 0)
			rg_strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = 0;
		cfg->global.myhostname = rg_arena_strdup(sn->arena, host);
	}
	build_classes(sn, s, n);
	sn->trusted = rg_cidrlist_new();
	for (i = 0; i < cfg->global.trusted_networks.argc; i++)
		(void)rg_cidrlist_add(sn->trusted, cfg->global.trusted_networks.argv[i], err, sizeof(err));
	if (cfg->global.domain_table[0]) {
		cfg->domains = rg_table_load(
		    RG_TABLE_DOMAIN, table_path(sn->arena, path, cfg->global.domain_table), cfg, diag);
		nerr += cfg->domains == NULL;
	}
	if (cfg->global.client_table[0]) {
		cfg->clients = rg_table_load(
		    RG_TABLE_CLIENT, table_path(sn->arena, path, cfg->global.client_table), cfg, diag);
		nerr += cfg->clients == NULL;
	}
	if (cfg->global.spam_sender_lists[0]) {
		cfg->sender_lists =
		    rg_slist_load(table_path(sn->arena, path, cfg->global.spam_sender_lists), diag);
		nerr += cfg->sender_lists == NULL;
	}
	if (nerr)
		goto fail;
	free(s);
	rg_arena_free(tmp);
	rg_diag_free(&own);
	return cfg;
fail:
	free(s);
	rg_arena_free(tmp);
	rg_diag_free(&own);
	snap_free(sn);
	return NULL;
}

struct rg_config *
rg_config_ref(struct rg_config *cfg)
{
	struct snap *sn = cfg->priv;

	atomic_fetch_add_explicit(&sn->refs, 1, memory_order_relaxed);
	return cfg;
}

void
rg_config_unref(struct rg_config *cfg)
{
	struct snap *sn;

	if (cfg == NULL)
		return;
	sn = cfg->priv;
	/* acq_rel: the freeing thread sees every other reader's last access. */
	if (atomic_fetch_sub_explicit(&sn->refs, 1, memory_order_acq_rel) == 1)
		snap_free(sn);
}

int
rg_config_line(const struct rg_config *cfg, const char *name)
{
	const struct snap *sn = cfg->priv;
	const struct rg_pinfo *pi = rg_pinfo_find(name);

	return pi ? sn->gline[RG_PIDX(pi)] : 0;
}

const struct rg_params *
rg_config_class(const struct rg_config *cfg, const char *name)
{
	int i = class_index(cfg, name, strlen(name));

	return i < 0 ? NULL : cfg->class_params[i];
}

const struct rg_entry *
rg_config_domain(const struct rg_config *cfg, const char *domain)
{
	return cfg->domains ? rg_table_domain(cfg->domains, domain) : NULL;
}

const struct rg_entry *
rg_config_client(const struct rg_config *cfg, const char *addr)
{
	return cfg->clients ? rg_table_client(cfg->clients, addr) : NULL;
}

int
rg_config_trusted(const struct rg_config *cfg, const char *addr)
{
	const struct snap *sn = cfg->priv;
	struct rg_addr a;

	if (addr == NULL || rg_addr_parse(addr, &a) < 0)
		return 0;
	return rg_cidrlist_match(sn->trusted, &a);
}

/* "name = value", or "name =" for an empty value (as postconf prints it);
 * a secret (any *_password) that is set prints as "********". */
void
rg_conf_print_one(const char *prefix, const struct rg_pinfo *pi, const struct rg_params *p, FILE *fp)
{
	char *val = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&val, &len);

	if (mem == NULL)
		msg_fatal("open_memstream: out of memory");
	rg_conf_printval(pi, p, mem);
	fclose(mem);
	fprintf(fp, "%s%s%s =%s%s\n", prefix ? prefix : "", prefix ? "_" : "", pi->name, len ? " " : "",
		len && rg_confcheck_secret(pi->name) ? "********" : val);
	free(val);
}

void
rg_config_print(const struct rg_config *cfg, FILE *fp, int nondefault)
{
	const struct snap *sn = cfg->priv;
	const struct rg_pinfo *pi;
	int c;

	for (pi = rg_pinfo; pi->name; pi++)
		if (!nondefault || sn->gset[RG_PIDX(pi)])
			rg_conf_print_one(NULL, pi, &cfg->global, fp);
	for (c = 0; c < cfg->nclasses; c++)
		for (pi = rg_pinfo; pi->name; pi++) {
			if (pi->scope != RG_PS_CLASS)
				continue;
			if (nondefault ? sn->cset[c * NPARAMS + (int)RG_PIDX(pi)]
				       : !rg_conf_valeq(pi, cfg->class_params[c], &cfg->global))
				rg_conf_print_one(cfg->class_names[c], pi, cfg->class_params[c], fp);
		}
}

void
rg_params_print(const struct rg_params *p, FILE *fp)
{
	const struct rg_pinfo *pi;

	for (pi = rg_pinfo; pi->name; pi++)
		if (pi->scope == RG_PS_CLASS)
			rg_conf_print_one(NULL, pi, p, fp);
}
