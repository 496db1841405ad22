/*
 * confsyn - syntax of the values that are more than words: listen
 * addresses for policyd and the milter, DNSBL zones with answer codes, and
 * the per-parameter checks applied at load time (rate limits, CIDRs,
 * class names).
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
#include "metricsrv.h"
#include "redisaddr.h"
#include "util.h"

#define SHOW(buf, s) rg_sanitize(buf, sizeof(buf), s, strlen(s))

/* A DNS host name: labels of letters, digits, '-' or '_', 1..63 bytes each. */
static int
valid_hostname(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

/* Decimal port 1..65535 of exactly n bytes. */
static int
valid_port(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static int
valid_ip(int af, const char *s, size_t n)
{
	char buf[64];
	unsigned char out[16];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	return inet_pton(af, buf, out) == 1;
}

static int
unix_path(const char *s, const char *what, char *err, size_t errlen)
{
	char shown[80];

	if (s[0] != '/' || strlen(s) >= 108) {
		snprintf(err, errlen, "bad %s socket path \"%s\" (absolute, at most 107 bytes)", what,
			 SHOW(shown, s));
		return -1;
	}
	return 0;
}

int
rg_listen_parse(const char *s, struct rg_listen *out, char *err, size_t errlen)
{
	const char *host, *port, *colon;
	size_t hlen;
	char shown[80];

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "unix:", 5) == 0) {
		if (unix_path(s + 5, "unix", err, errlen) < 0)
			return -1;
		out->is_unix = 1;
		rg_strlcpy(out->path, s + 5, sizeof(out->path));
		return 0;
	}
	if (strncmp(s, "inet:", 5) != 0) {
		snprintf(err, errlen, "bad listen address \"%s\" (use unix:/path or inet:host:port)",
			 SHOW(shown, s));
		return -1;
	}
	host = s + 5;
	if (*host == '[') {
		const char *close = strchr(host, ']');

		if (close == NULL) {
			snprintf(err, errlen, "unterminated '[' in \"%s\"", SHOW(shown, s));
			return -1;
		}
		hlen = (size_t)(close - host - 1);
		if (!valid_ip(AF_INET6, host + 1, hlen)) {
			snprintf(err, errlen, "bad IPv6 address in \"%s\"", SHOW(shown, s));
			return -1;
		}
		memcpy(out->host, host + 1, hlen);
		colon = close + 1;
		if (*colon != ':')
			colon = NULL;
	} else {
		colon = strrchr(host, ':');
		hlen = colon ? (size_t)(colon - host) : 0;
		if (colon && memchr(host, ':', hlen)) {
			snprintf(err, errlen,
				 "IPv6 address without brackets in \"%s\" (write inet:[addr]:port)",
				 SHOW(shown, s));
			return -1;
		}
		if (colon && !(hlen == 0 || (hlen == 1 && *host == '*') || valid_hostname(host, hlen))) {
			snprintf(err, errlen, "bad host in \"%s\"", SHOW(shown, s));
			return -1;
		}
		if (colon && !(hlen == 1 && *host == '*'))
			memcpy(out->host, host, hlen);
	}
	port = colon ? colon + 1 : NULL;
	if (port == NULL || !valid_port(port, strlen(port))) {
		snprintf(err, errlen, "bad or missing port in \"%s\" (inet:host:port, port 1..65535)",
			 SHOW(shown, s));
		return -1;
	}
	rg_strlcpy(out->port, port, sizeof(out->port));
	return 0;
}

int
rg_milter_conn_check(const char *s, char *err, size_t errlen)
{
	const char *p, *at;
	char shown[80];
	int v6;

	if (strncmp(s, "unix:", 5) == 0)
		return unix_path(s + 5, "unix", err, errlen);
	if (strncmp(s, "local:", 6) == 0)
		return unix_path(s + 6, "local", err, errlen);
	v6 = strncmp(s, "inet6:", 6) == 0;
	if (!v6 && strncmp(s, "inet:", 5) != 0) {
		snprintf(err, errlen, "\"%s\" is not unix:/path, inet:port@host or inet6:port@host",
			 SHOW(shown, s));
		return -1;
	}
	p = s + (v6 ? 6 : 5);
	at = strchr(p, '@');
	if (!valid_port(p, at ? (size_t)(at - p) : strlen(p))) {
		snprintf(err, errlen, "bad port in \"%s\" (%s:port@host, port 1..65535)", SHOW(shown, s),
			 v6 ? "inet6" : "inet");
		return -1;
	}
	if (at) {
		const char *h = at + 1;
		size_t n = strlen(h);

		if (v6 && n >= 2 && h[0] == '[' && h[n - 1] == ']')
			h++, n -= 2;
		if (!(valid_hostname(h, n) || valid_ip(v6 ? AF_INET6 : AF_INET, h, n))) {
			snprintf(err, errlen, "bad host in \"%s\"", SHOW(shown, s));
			return -1;
		}
	}
	return 0;
}

int
rg_dnsbl_parse(const char *s, struct rg_dnsbl *out, char *err, size_t errlen)
{
	const char *eq = strchr(s, '='), *c;
	size_t zlen = eq ? (size_t)(eq - s) : strlen(s);
	char shown[80];

	memset(out, 0, sizeof(*out));
	if (!valid_hostname(s, zlen) || zlen >= sizeof(out->zone)) {
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

/* Syntax checks of particular parameters beyond their type. */
int
rg_conf_check_special(const struct rg_pinfo *pi, const char *label, const void *v, char *err, size_t errlen)
{
	const struct rg_list *l = v;
	char e[256], shown[80];
	int i, j;

	if (strcmp(pi->name, "milter_listen") == 0) {
		const char *s = *(const char *const *)v;

		if (rg_milter_conn_check(s, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "bad %s: %s", label, e);
			return -1;
		}
		return 0;
	}
	if (strcmp(pi->name, "policyd_metrics_listen") == 0 ||
	    strcmp(pi->name, "milter_metrics_listen") == 0) {
		const char *s = *(const char *const *)v;
		char host[256];
		unsigned short port;

		if (*s && rg_metricsrv_addr(s, host, sizeof(host), &port, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "bad %s: %s", label, e);
			return -1;
		}
		return 0;
	}
	if (strcmp(pi->name, "redis_server") == 0) {
		struct rg_redis_addr a;

		if (rg_redis_addr_parse(*(const char *const *)v, &a, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "bad %s: %s", label, e);
			return -1;
		}
		return 0;
	}
	if (pi->type != RG_PT_LIST)
		return 0;
	if (strstr(pi->name, "rate_limits")) {
		struct rg_rate r[RG_RATE_MAX];

		if (rg_ratespec_parse(l, r, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "bad %s: %s", label, e);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < l->argc; i++) {
		const char *w = l->argv[i];
		int bad = 0;

		if (strcmp(pi->name, "trusted_networks") == 0) {
			struct rg_prefix p;

			bad = rg_prefix_parse(w, &p, e, sizeof(e));
		} else if (strcmp(pi->name, "policyd_listen") == 0) {
			struct rg_listen ls;

			bad = rg_listen_parse(w, &ls, e, sizeof(e));
		} else if (strcmp(pi->name, "dynamic_ip_dnsbl") == 0) {
			struct rg_dnsbl d;

			bad = rg_dnsbl_parse(w, &d, e, sizeof(e));
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
