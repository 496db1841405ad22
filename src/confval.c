/*
 * confval - typed parameter values: the parameter table generated from
 * params.def, parsing of BOOL/INT/TIME/SIZE/FLOAT/STR/LIST text with bounds
 * and enum checks, and printing values back the way an admin writes them
 * ("3m", "95d", "50M"), so that printed output re-parses to the same values.
 *
 * Contract: pure functions apart from the arena passed in; thread-safe.
 * Trust boundary: text comes from admin files; every value echoed in a
 * message passes rg_sanitize first.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "confint.h"
#include "util.h"

const struct rg_pinfo rg_pinfo[] = {
#define RG_PARAM(name, type, def, min, max, scope, allowed)                                                  \
	{#name, RG_PT_##type, def, (double)(min), (double)(max), RG_PS_##scope, allowed},
#include "params.def"
#undef RG_PARAM
    {NULL, 0, NULL, 0, 0, 0, NULL}};

const size_t rg_poffset[] = {
#define RG_PARAM(name, type, def, min, max, scope, allowed) offsetof(struct rg_params, name),
#include "params.def"
#undef RG_PARAM
    0};

#define RG_TOFF_BOOL(n) 0
#define RG_TOFF_INT(n) 0
#define RG_TOFF_TIME(n) 0
#define RG_TOFF_SIZE(n) 0
#define RG_TOFF_FLOAT(n) 0
#define RG_TOFF_STR(n) 0
#define RG_TOFF_LIST(n) 0
#define RG_TOFF_ENUM(n) 0
#define RG_TOFF_ADDR(n) offsetof(struct rg_params, n##_ep)
#define RG_TOFF_ADDRLIST(n) offsetof(struct rg_params, n##_ep)
#define RG_TOFF_RATES(n) offsetof(struct rg_params, n##_rates)
#define RG_TOFF_DNSBL(n) offsetof(struct rg_params, n##_bl)
const size_t rg_ptoffset[] = {
#define RG_PARAM(name, type, def, min, max, scope, allowed) RG_TOFF_##type(name),
#include "params.def"
#undef RG_PARAM
    0};

const struct rg_pinfo *
rg_pinfo_find(const char *name)
{
	const struct rg_pinfo *pi;

	for (pi = rg_pinfo; pi->name; pi++)
		if (strcmp(pi->name, name) == 0)
			return pi;
	return NULL;
}

/* Shown form of untrusted text in a message: printable, bounded. */
#define SHOW(buf, s) rg_sanitize(buf, sizeof(buf), s, strlen(s))

/* Leading unsigned decimal number; -1 when absent or too large. */
static int
parse_count(const char *s, long long *v, const char **end)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoll(s, &e, 10);
	if (errno == ERANGE)
		return -1;
	*end = e;
	return 0;
}

static int
scale(long long v, long long mult, long long *out)
{
	if (v > LLONG_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int
rg_parse_time(const char *s, long long *ms, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		long long mult;
	} units[] = {{"", 1000},     {"ms", 1},       {"s", 1000},       {"m", 60000},
		     {"h", 3600000}, {"d", 86400000}, {"w", 604800000LL}};
	const char *u;
	long long v;
	size_t i;
	char shown[80];

	if (parse_count(s, &v, &u) == 0)
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(u, units[i].unit) == 0 && scale(v, units[i].mult, ms) == 0)
				return 0;
	snprintf(err, errlen, "bad time value \"%s\"", SHOW(shown, s));
	return -1;
}

int
rg_parse_size(const char *s, long long *bytes, char *err, size_t errlen)
{
	const char *u;
	long long v, mult = -1;
	char shown[80];

	if (parse_count(s, &v, &u) == 0) {
		if (*u == 0)
			mult = 1;
		else if (u[1] == 0 && (*u == 'k' || *u == 'K'))
			mult = 1LL << 10;
		else if (u[1] == 0 && (*u == 'm' || *u == 'M'))
			mult = 1LL << 20;
		else if (u[1] == 0 && (*u == 'g' || *u == 'G'))
			mult = 1LL << 30;
		if (mult > 0 && scale(v, mult, bytes) == 0)
			return 0;
	}
	snprintf(err, errlen, "bad size value \"%s\"", SHOW(shown, s));
	return -1;
}

int
rg_parse_bool(const char *s, int *val, char *err, size_t errlen)
{
	char shown[80];

	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0) {
		*val = 1;
		return 0;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0) {
		*val = 0;
		return 0;
	}
	snprintf(err, errlen, "bad boolean value \"%s\" (use yes or no)", SHOW(shown, s));
	return -1;
}

static int
parse_int(const char *s, long long *v)
{
	char *e;

	if (!isdigit((unsigned char)*s) && !(*s == '-' && isdigit((unsigned char)s[1])))
		return -1;
	errno = 0;
	*v = strtoll(s, &e, 0);
	return errno == ERANGE || *e != 0 ? -1 : 0;
}

static int
parse_float(const char *s, double *v)
{
	char *e;

	if (*s == 0 || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtod(s, &e);
	return errno == ERANGE || *e != 0 || !isfinite(*v) ? -1 : 0;
}

void
rg_conf_split(const char *text, struct rg_list *l, struct rg_arena *a)
{
	static const char sep[] = ", \t";
	const char *s;
	int n = 0, i = 0;

	for (s = text + strspn(text, sep); *s; s += strspn(s, sep)) {
		n++;
		s += strcspn(s, sep);
	}
	l->argc = n;
	l->argv = rg_arena_alloc(a, (size_t)(n + 1) * sizeof(char *));
	for (s = text + strspn(text, sep); *s; s += strspn(s, sep)) {
		size_t len = strcspn(s, sep);

		l->argv[i++] = rg_arena_strndup(a, s, len);
		s += len;
	}
	l->argv[n] = NULL;
}

/* Print a TIME (ms) or SIZE (bytes) in its largest exact unit. */
static void
print_time(long long ms, FILE *fp)
{
	static const struct {
		long long mult;
		const char *unit;
	} u[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
	size_t i;

	if (ms == 0) {
		fputs("0", fp);
		return;
	}
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (ms % u[i].mult == 0)
			break;
	fprintf(fp, "%lld%s", ms / u[i].mult, u[i].unit);
}

static void
print_size(long long b, FILE *fp)
{
	if (b != 0 && b % (1LL << 30) == 0)
		fprintf(fp, "%lldG", b >> 30);
	else if (b != 0 && b % (1LL << 20) == 0)
		fprintf(fp, "%lldM", b >> 20);
	else if (b != 0 && b % (1LL << 10) == 0)
		fprintf(fp, "%lldk", b >> 10);
	else
		fprintf(fp, "%lld", b);
}

/*
 * Shortest text that reads back as d, in plain decimal where that is exact
 * ("4.0", "7.25", "-1000.0" as an admin writes them), else in %g form.
 */
static void
print_float(double d, FILE *fp)
{
	char buf[64];
	int prec;

	if (fabs(d) < 1e15)
		for (prec = 1; prec <= 6; prec++) {
			snprintf(buf, sizeof(buf), "%.*f", prec, d);
			if (strtod(buf, NULL) == d) {
				fputs(buf, fp);
				return;
			}
		}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fputs(buf, fp);
}

/* An INT, TIME or SIZE value; file modes in octal as chmod takes them. */
static void
print_num(const struct rg_pinfo *pi, long long v, FILE *fp)
{
	if (pi->type == RG_PT_TIME)
		print_time(v, fp);
	else if (pi->type == RG_PT_SIZE)
		print_size(v, fp);
	else if (strstr(pi->name, "_mode") && v > 0)
		fprintf(fp, "%#llo", v);
	else
		fprintf(fp, "%lld", v);
}

void
rg_conf_printval(const struct rg_pinfo *pi, const struct rg_params *p, FILE *fp)
{
	const void *v = RG_PCVAL(p, pi);
	const struct rg_list *l;
	char word[128];
	int i;

	switch (pi->type) {
	case RG_PT_BOOL:
		fputs(*(const int *)v ? "yes" : "no", fp);
		break;
	case RG_PT_INT:
	case RG_PT_TIME:
	case RG_PT_SIZE:
		print_num(pi, *(const long long *)v, fp);
		break;
	case RG_PT_FLOAT:
		print_float(*(const double *)v, fp);
		break;
	case RG_PT_STR:
	case RG_PT_ADDR:
		fputs(*(const char *const *)v ? *(const char *const *)v : "", fp);
		break;
	case RG_PT_ENUM:
		fputs(rg_enum_name(pi, *(const int *)v, word, sizeof(word)), fp);
		break;
	case RG_PT_LIST:
	case RG_PT_ADDRLIST:
	case RG_PT_RATES:
	case RG_PT_DNSBL:
		l = v;
		for (i = 0; i < l->argc; i++)
			fprintf(fp, "%s%s", i ? ", " : "", l->argv[i]);
		break;
	}
}

int
rg_conf_valeq(const struct rg_pinfo *pi, const struct rg_params *a, const struct rg_params *b)
{
	const void *va = RG_PCVAL(a, pi), *vb = RG_PCVAL(b, pi);
	const struct rg_list *la = va, *lb = vb;
	const char *sa, *sb;
	int i;

	switch (pi->type) {
	case RG_PT_BOOL:
		return *(const int *)va == *(const int *)vb;
	case RG_PT_INT:
	case RG_PT_TIME:
	case RG_PT_SIZE:
		return *(const long long *)va == *(const long long *)vb;
	case RG_PT_FLOAT:
		return *(const double *)va == *(const double *)vb;
	case RG_PT_ENUM:
		return *(const int *)va == *(const int *)vb;
	case RG_PT_STR:
	case RG_PT_ADDR:
		sa = *(const char *const *)va;
		sb = *(const char *const *)vb;
		return strcmp(sa ? sa : "", sb ? sb : "") == 0;
	case RG_PT_LIST:
	case RG_PT_ADDRLIST:
	case RG_PT_RATES:
	case RG_PT_DNSBL:
		if (la->argc != lb->argc)
			return 0;
		for (i = 0; i < la->argc; i++)
			if (strcmp(la->argv[i], lb->argv[i]) != 0)
				return 0;
		return 1;
	}
	return 0;
}

/* Bounds check for numeric types; 0,0 means unbounded. */
static int
check_range(const struct rg_pinfo *pi, const char *label, const char *text, double v, char *err,
	    size_t errlen)
{
	char shown[80], *lo = NULL, *hi = NULL;
	size_t lolen, hilen;
	FILE *fp;

	if ((pi->min == 0 && pi->max == 0) || (v >= pi->min && v <= pi->max))
		return 0;
	/* Bounds in the parameter's own units: "(10ms..1m)", "(1k..1G)". */
	if ((fp = open_memstream(&lo, &lolen)) != NULL) {
		if (pi->type == RG_PT_FLOAT)
			print_float(pi->min, fp);
		else
			print_num(pi, (long long)pi->min, fp);
		fclose(fp);
	}
	if ((fp = open_memstream(&hi, &hilen)) != NULL) {
		if (pi->type == RG_PT_FLOAT)
			print_float(pi->max, fp);
		else
			print_num(pi, (long long)pi->max, fp);
		fclose(fp);
	}
	snprintf(err, errlen, "value \"%s\" out of range for %s (%s..%s)", SHOW(shown, text), label,
		 lo ? lo : "?", hi ? hi : "?");
	free(lo);
	free(hi);
	return -1;
}

/* An "a|b|c" list: accept any case; the index of the word, or -1. */
static int
enum_index(const struct rg_pinfo *pi, const char *text)
{
	const char *s = pi->allowed;
	size_t n = strlen(text);
	int i;

	for (i = 0; s && *s; i++) {
		size_t len = strcspn(s, "|");

		if (len == n && strncasecmp(s, text, n) == 0)
			return i;
		s += len + (s[len] == '|');
	}
	return -1;
}

/* STR with an "a|b|c" list: the canonical spelling, or NULL. */
static const char *
check_enum(const struct rg_pinfo *pi, const char *text, struct rg_arena *a)
{
	int i = enum_index(pi, text);
	char w[128];

	return i < 0 ? NULL : rg_arena_strdup(a, rg_enum_name(pi, i, w, sizeof(w)));
}

int
rg_conf_setval(const struct rg_pinfo *pi, struct rg_params *p, const char *label, const char *text,
	       struct rg_arena *a, char *err, size_t errlen)
{
	char e[256], shown[80];
	union {
		int b;
		long long n;
		double f;
		const char *s;
		struct rg_list l;
	} v;

	switch (pi->type) {
	case RG_PT_BOOL:
		if (rg_parse_bool(text, &v.b, e, sizeof(e)) < 0)
			goto bad;
		*(int *)RG_PVAL(p, pi) = v.b;
		return 0;
	case RG_PT_INT:
		if (parse_int(text, &v.n) < 0) {
			snprintf(e, sizeof(e), "bad integer value \"%s\"", SHOW(shown, text));
			goto bad;
		}
		if (check_range(pi, label, text, (double)v.n, err, errlen) < 0)
			return -1;
		*(long long *)RG_PVAL(p, pi) = v.n;
		return 0;
	case RG_PT_TIME:
	case RG_PT_SIZE:
		if ((pi->type == RG_PT_TIME ? rg_parse_time : rg_parse_size)(text, &v.n, e, sizeof(e)) < 0)
			goto bad;
		if (check_range(pi, label, text, (double)v.n, err, errlen) < 0)
			return -1;
		*(long long *)RG_PVAL(p, pi) = v.n;
		return 0;
	case RG_PT_FLOAT:
		if (parse_float(text, &v.f) < 0) {
			snprintf(e, sizeof(e), "bad number value \"%s\"", SHOW(shown, text));
			goto bad;
		}
		if (check_range(pi, label, text, v.f, err, errlen) < 0)
			return -1;
		*(double *)RG_PVAL(p, pi) = v.f;
		return 0;
	case RG_PT_STR:
		if (pi->allowed) {
			if ((v.s = check_enum(pi, text, a)) == NULL) {
				snprintf(err, errlen, "bad value \"%s\" for %s (allowed: %s)",
					 SHOW(shown, text), label, pi->allowed);
				return -1;
			}
		} else {
			v.s = rg_arena_strdup(a, text);
		}
		if (rg_conf_check_special(pi, label, &v.s, err, errlen) < 0)
			return -1;
		*(const char **)RG_PVAL(p, pi) = v.s;
		return 0;
	case RG_PT_LIST:
		rg_conf_split(text, &v.l, a);
		if (rg_conf_check_special(pi, label, &v.l, err, errlen) < 0)
			return -1;
		*(struct rg_list *)RG_PVAL(p, pi) = v.l;
		return 0;
	case RG_PT_ENUM:
		if ((v.b = enum_index(pi, text)) < 0) {
			snprintf(err, errlen, "bad value \"%s\" for %s (allowed: %s)", SHOW(shown, text),
				 label, pi->allowed);
			return -1;
		}
		*(int *)RG_PVAL(p, pi) = v.b;
		return 0;
	case RG_PT_ADDR:
	case RG_PT_ADDRLIST:
	case RG_PT_RATES:
	case RG_PT_DNSBL:
		return rg_conf_settyped(pi, p, label, text, a, err, errlen);
	}
	snprintf(err, errlen, "internal error: %s has no type", pi->name);
	return -1;
bad:
	snprintf(err, errlen, "%s for %s", e, label);
	return -1;
}
