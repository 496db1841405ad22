/*
 * rkeys - see rkeys.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"
#include "rkeys.h"
#include "util.h"

int
rg_key_net(const char *s, int v4len, int v6len, char *net, size_t netlen)
{
	struct rg_addr a;
	char host[80];
	const char *slash = strchr(s, '/');

	if (slash) {
		size_t n = (size_t)(slash - s);
		char *end;
		long bits = strtol(slash + 1, &end, 10);

		if (n == 0 || n >= sizeof(host) || *end || slash[1] == 0)
			return -1;
		memcpy(host, s, n);
		host[n] = 0;
		if (rg_addr_parse(host, &a) != 0)
			return -1;
		/* The daemons key a network by its configured length only. */
		if (bits != (strchr(host, ':') ? v6len : v4len))
			return -1;
	} else if (rg_addr_parse(s, &a) != 0) {
		return -1;
	}
	rg_addr_net_text(&a, v4len, v6len, net, netlen);
	return 0;
}

int
rg_key_greylist(struct rg_gl_triplet *t, const char *prefix, const char *delims, int v4len, int v6len,
		const char *client_addr, const char *sender, const char *rcpt)
{
	struct rg_addr a;
	unsigned long long h;
	size_t sndlen = strlen(sender) + 3; /* "" becomes "<>" */
	char *snd, *rc;

	if (rg_addr_parse(client_addr, &a) != 0)
		return -1;
	rg_addr_net_text(&a, v4len, v6len, t->net, sizeof(t->net));
	/* Whole addresses, never cut: two long addresses that share a prefix
	 * are two triplets (t->sender/t->rcpt are only their first bytes, for
	 * listing). */
	snd = xmalloc(sndlen);
	rg_addr_greynorm(sender, delims, snd, sndlen);
	rc = rg_lowercase(xstrdup(rcpt));
	/* NUL separates the two parts, so "a@b"+"c" never equals "a@"+"bc". */
	h = rg_hash64(snd, strlen(snd) + 1, RG_HASH64_SEED);
	h = rg_hash64(rc, strlen(rc), h);
	rg_strlcpy(t->sender, snd, sizeof(t->sender));
	rg_strlcpy(t->rcpt, rc, sizeof(t->rcpt));
	free(snd);
	free(rc);
	snprintf(t->key, sizeof(t->key), "%sg:{%s}:%016llx", prefix, t->net, h);
	rg_key_awl(t->netkey, sizeof(t->netkey), prefix, t->net);
	return 0;
}

char *
rg_key_awl(char *buf, size_t len, const char *prefix, const char *net)
{
	snprintf(buf, len, "%sa:{%s}", prefix, net);
	return buf;
}

/* Append s with glob specials escaped. */
static size_t
glob_escape(char *buf, size_t len, size_t o, const char *s)
{
	for (; *s && o + 3 < len; s++) {
		if (strchr("*?[]\\", *s))
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o] = 0;
	return o;
}

char *
rg_key_pattern(char *buf, size_t len, const char *prefix, const char *kind, const char *tag)
{
	size_t o = 0;

	if (len < 8) {
		if (len)
			buf[0] = 0;
		return buf;
	}
	o = glob_escape(buf, len, o, prefix);
	o = glob_escape(buf, len, o, kind);
	if (tag) {
		o = glob_escape(buf, len, o, ":{");
		o = glob_escape(buf, len, o, tag);
		o = glob_escape(buf, len, o, "}");
		if (strcmp(kind, "a") != 0 && strcmp(kind, "cd") != 0 && o + 3 < len)
			buf[o++] = ':', buf[o++] = '*', buf[o] = 0;
	} else if (o + 4 < len) {
		memcpy(buf + o, ":{*", 4);
	}
	return buf;
}

static int
subject_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr(".@:_+=-", c) != NULL);
}

int
rg_key_ratelimit(char *buf, size_t size, const char *prefix, const char *kind, const char *subject,
		 const struct rg_rate *rate, char *err, size_t errlen)
{
	char esc[RG_KEY_SUBJECT_MAX + 1];
	size_t o = 0;
	int n;

	if (strpbrk(prefix, "{}") != NULL) {
		snprintf(err, errlen, "key prefix may not contain { or }");
		return -1;
	}
	if (*kind == 0 || strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(kind)) {
		snprintf(err, errlen, "bad subject kind");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)subject; *p; p++) {
		if (o + (subject_byte_ok(*p) ? 1 : 3) > RG_KEY_SUBJECT_MAX) {
			snprintf(err, errlen, "subject longer than %d bytes escaped", RG_KEY_SUBJECT_MAX);
			return -1;
		}
		if (subject_byte_ok(*p))
			esc[o++] = (char)*p;
		else
			o += (size_t)snprintf(esc + o, 4, "%%%02X", *p);
	}
	esc[o] = 0;
	if (rate)
		n = snprintf(buf, size, "%sr:{%s:%s}:%lld/%lld", prefix, kind, esc, rate->count,
			     rate->window_ms);
	else
		n = snprintf(buf, size, "%sr:{%s:%s}:", prefix, kind, esc);
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, errlen, "key longer than %zu bytes", size ? size - 1 : 0);
		return -1;
	}
	return n;
}

unsigned long long
rg_key_hash_nocase(const char *s, size_t len)
{
	unsigned long long h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= 1099511628211ULL;
	}
	return h;
}

char *
rg_key_callout_tag(char *buf, size_t len, const char *domain)
{
	size_t dlen = strnlen(domain, 255), o = 0;

	if (len < dlen + 1)
		return NULL;
	for (size_t i = 0; i < dlen; i++) {
		char c = domain[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf[o++] =
		    ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
			? c
			: '_';
	}
	buf[o] = 0;
	return buf;
}

char *
rg_key_callout(char *buf, size_t bufsize, const char *prefix, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	char tag[256];
	int n;

	if (rg_key_callout_tag(tag, sizeof(tag), at ? at + 1 : "") == NULL)
		return NULL;
	n = snprintf(buf, bufsize, "%sc:{%s}:%016llx", prefix, tag, rg_key_hash_nocase(rcpt, strlen(rcpt)));
	return n > 0 && (size_t)n < bufsize ? buf : NULL;
}

int
rg_key_harvest(char *buf, size_t size, const char *prefix, const char *addr, long long window)
{
	size_t len = strlen(addr);
	int n;

	if (len == 0 || len > 45 || strspn(addr, "0123456789abcdefABCDEF:.") != len || strpbrk(prefix, "{}"))
		return -1;
	n = snprintf(buf, size, "%sh:{%s}:%lld", prefix, addr, window);
	return n > 0 && (size_t)n < size ? n : -1;
}

char *
rg_key_hopdown(char *buf, size_t size, const char *prefix, const char *hop)
{
	int n = snprintf(buf, size, "%scd:{", prefix);
	size_t o = n > 0 && (size_t)n < size ? (size_t)n : 0;

	for (const char *s = hop; *s && o + 2 < size; s++)
		buf[o++] = (*s == '{' || *s == '}') ? '_' : *s;
	buf[o++] = '}';
	buf[o] = 0;
	return buf;
}
