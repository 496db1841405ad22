/*
 * confsyn - the typed parameter kinds (ADDR, ADDRLIST, RATES, DNSBL),
 * parsed once at load into struct rg_params and kept in the snapshot's
 * arena, the DNSBL word grammar, and the per-parameter checks of plain
 * lists (CIDRs, class names).
 * Pure functions, thread-safe. Trust boundary: admin text, bounded and
 * sanitised before it is echoed in a message.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "confint.h"
#include "ratespec.h"
#include "endpoint.h"
#include "util.h"

#define SHOW(buf, s) rg_sanitize(buf, sizeof(buf), s, strlen(s))

const char *
rg_enum_name(const struct rg_pinfo *pi, int v, char *buf, size_t buflen)
{
	const char *s = pi->allowed;

	if (buflen)
		buf[0] = 0;
	for (; s && *s && v >= 0; v--) {
		size_t len = strcspn(s, "|");

		if (v == 0) {
			if (len < buflen) {
				memcpy(buf, s, len);
				buf[len] = 0;
			}
			break;
		}
		s += len + (s[len] == '|');
	}
	return buf;
}

int
rg_dnsbl_parse(const char *s, struct rg_dnsbl *out, char *err, size_t errlen)
{
	const char *eq = strchr(s, '='), *c;
	size_t zlen = eq ? (size_t)(eq - s) : strlen(s);
	char shown[80];

	memset(out, 0, sizeof(*out));
	if (eq == NULL && inet_pton(AF_INET, s, out->codes[0]) == 1) {
		memset(out, 0, sizeof(*out));
		snprintf(err, errlen,
			 "\"%s\" is an address, not a DNSBL zone (answer codes follow their zone, "
			 "separated by '|': zone=127.0.0.10|127.0.0.11)",
			 SHOW(shown, s));
		return -1;
	}
	if (!rg_endpoint_hostname_ok(s, zlen) || zlen >= sizeof(out->zone)) {
		snprintf(err, errlen, "bad DNSBL zone in \"%s\"", SHOW(shown, s));
		return -1;
	}
	memcpy(out->zone, s, zlen);
	if (eq == NULL)
		return 0;
	for (c = eq + 1;; c++) {
		size_t n = strcspn(c, "|");
		char buf[16], shown2[32];

		if (out->ncodes == RG_DNSBL_MAXCODES) {
			snprintf(err, errlen, "more than %d codes in \"%s\"", RG_DNSBL_MAXCODES,
				 SHOW(shown, s));
			return -1;
		}
		if (n == 0 || n >= sizeof(buf)) {
			snprintf(err, errlen, "bad DNSBL answer code in \"%s\" (zone=127.0.0.2|127.0.0.10)",
				 SHOW(shown, s));
			return -1;
		}
		memcpy(buf, c, n);
		buf[n] = 0;
		if (inet_pton(AF_INET, buf, out->codes[out->ncodes]) != 1) {
			snprintf(err, errlen, "bad DNSBL answer code \"%s\" in \"%s\"", SHOW(shown2, buf),
				 SHOW(shown, s));
			return -1;
		}
		out->ncodes++;
		c += n;
		if (*c == 0)
			break;
	}
	return 0;
}

/* Syntax checks of plain lists beyond their type (CIDRs, class names). */
int
rg_conf_check_special(const struct rg_pinfo *pi, const char *label, const void *v, char *err, size_t errlen)
{
	const struct rg_list *l = v;
	char e[256], shown[80];
	int i, j;

	if (pi->type != RG_PT_LIST)
		return 0;
	for (i = 0; i < l->argc; i++) {
		const char *w = l->argv[i];
		int bad = 0;

		if (strcmp(pi->name, "trusted_networks") == 0) {
			struct rg_prefix p;

			bad = rg_prefix_parse(w, &p, e, sizeof(e));
		} else if (strcmp(pi->name, "classes") == 0) {
			if (strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(w)) {
				snprintf(e, sizeof(e), "bad class name \"%s\" (only a-z and 0-9)",
					 SHOW(shown, w));
				bad = -1;
			}
			for (j = 0; j < i && !bad; j++)
				if (strcmp(l->argv[j], w) == 0) {
					snprintf(e, sizeof(e), "class \"%s\" named twice", SHOW(shown, w));
					bad = -1;
				}
		}
		if (bad) {
			snprintf(err, errlen, "bad %s: %s", label, e);
			return -1;
		}
	}
	return 0;
}

/* ADDR: one address; empty only where the default is empty (off). */
static int
set_addr(const struct rg_pinfo *pi, struct rg_params *p, const char *label, const char *text,
	 struct rg_arena *a, char *err, size_t errlen)
{
	struct rg_endpoint ep, *copy = NULL;
	char e[400];

	if (*text == 0 && *pi->def != 0) {
		snprintf(err, errlen, "%s cannot be empty (default: %s)", label, pi->def);
		return -1;
	}
	if (*text) {
		if (rg_endpoint_parse(text, (unsigned)pi->max, (int)pi->min, &ep, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "bad %s: %s", label, e);
			return -1;
		}
		copy = rg_arena_alloc(a, sizeof(*copy));
		*copy = ep;
	}
	*(const char **)RG_PVAL(p, pi) = rg_arena_strdup(a, text);
	*(const struct rg_endpoint **)RG_PTVAL(p, pi) = copy;
	return 0;
}

/* ADDRLIST: a list of addresses, at most RG_EPLIST_MAX. */
static int
set_addrlist(const struct rg_pinfo *pi, struct rg_params *p, const char *label, const char *text,
	     struct rg_arena *a, char *err, size_t errlen)
{
	struct rg_endpoint *v = rg_arena_alloc(a, RG_EPLIST_MAX * sizeof(*v));
	struct rg_list l;
	char e[400];
	int n;

	if ((n = rg_endpoint_parse_list(text, (unsigned)pi->max, (int)pi->min, v, RG_EPLIST_MAX, e,
					sizeof(e))) < 0) {
		snprintf(err, errlen, "bad %s: %s", label, e);
		return -1;
	}
	if (n == 0 && *pi->def != 0) {
		snprintf(err, errlen, "%s cannot be empty (default: %s)", label, pi->def);
		return -1;
	}
	rg_conf_split(text, &l, a);
	*(struct rg_list *)RG_PVAL(p, pi) = l;
	((struct rg_eplist *)RG_PTVAL(p, pi))->n = n;
	((struct rg_eplist *)RG_PTVAL(p, pi))->v = v;
	return 0;
}

/* RATES: "500/1h, 5000/1d". */
static int
set_rates(const struct rg_pinfo *pi, struct rg_params *p, const char *label, const char *text,
	  struct rg_arena *a, char *err, size_t errlen)
{
	struct rg_rate *v = rg_arena_alloc(a, RG_RATE_MAX * sizeof(*v));
	struct rg_list l;
	char e[256];
	int n;

	rg_conf_split(text, &l, a);
	if ((n = rg_ratespec_parse(&l, v, e, sizeof(e))) < 0) {
		snprintf(err, errlen, "bad %s: %s", label, e);
		return -1;
	}
	*(struct rg_list *)RG_PVAL(p, pi) = l;
	((struct rg_rates *)RG_PTVAL(p, pi))->n = n;
	((struct rg_rates *)RG_PTVAL(p, pi))->v = v;
	return 0;
}

/* DNSBL: "zone" or "zone=code|code" words, at most RG_DNSBL_MAXZONES. */
static int
set_dnsbl(const struct rg_pinfo *pi, struct rg_params *p, const char *label, const char *text,
	  struct rg_arena *a, char *err, size_t errlen)
{
	struct rg_dnsbl *v;
	struct rg_list l;
	char e[400];
	int i;

	rg_conf_split(text, &l, a);
	if (l.argc > RG_DNSBL_MAXZONES) {
		snprintf(err, errlen, "bad %s: more than %d zones", label, RG_DNSBL_MAXZONES);
		return -1;
	}
	v = rg_arena_alloc(a, (size_t)(l.argc + 1) * sizeof(*v));
	for (i = 0; i < l.argc; i++)
		if (rg_dnsbl_parse(l.argv[i], &v[i], e, sizeof(e)) < 0) {
			snprintf(err, errlen, "bad %s: %s", label, e);
			return -1;
		}
	*(struct rg_list *)RG_PVAL(p, pi) = l;
	((struct rg_dnsbls *)RG_PTVAL(p, pi))->n = l.argc;
	((struct rg_dnsbls *)RG_PTVAL(p, pi))->v = v;
	return 0;
}

int
rg_conf_settyped(const struct rg_pinfo *pi, struct rg_params *p, const char *label, const char *text,
		 struct rg_arena *a, char *err, size_t errlen)
{
	switch (pi->type) {
	case RG_PT_ADDR:
		return set_addr(pi, p, label, text, a, err, errlen);
	case RG_PT_ADDRLIST:
		return set_addrlist(pi, p, label, text, a, err, errlen);
	case RG_PT_RATES:
		return set_rates(pi, p, label, text, a, err, errlen);
	case RG_PT_DNSBL:
		return set_dnsbl(pi, p, label, text, a, err, errlen);
	default:
		break;
	}
	snprintf(err, errlen, "internal error: %s is not a typed kind", pi->name);
	return -1;
}
