/*
 * rkeys - see rkeys.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "msg.h"
#include "rkeys.h"
#include "util.h"

#define RKEYS_SUBJECT_MAX 512 /* escaped subject bytes */

int
rkeys_init(struct rkeys *k, const char *prefix, const char *secret, char *err, size_t errlen)
{
	if (strpbrk(prefix, "{}") != NULL || strlen(prefix) > RKEYS_PREFIX_MAX) {
		snprintf(err, errlen, "redis_key_prefix: at most %d bytes, no { or }", RKEYS_PREFIX_MAX);
		return -1;
	}
	rg_strlcpy(k->prefix, prefix, sizeof(k->prefix));
	rg_siphash_key(&k->sip, secret ? secret : "");
	return 0;
}

void
rkeys_from_params(struct rkeys *k, const struct rg_params *g)
{
	char err[128];

	if (rkeys_init(k, g->redis_key_prefix ? g->redis_key_prefix : "rg:", g->redis_key_secret, err,
		       sizeof(err)) < 0)
		(void)rkeys_init(k, "rg:", g->redis_key_secret, err, sizeof(err));
}

/* snprintf's result as a key length, -1 when it did not fit. */
static int
fits(int n, size_t size)
{
	return n >= 0 && (size_t)n < size ? n : -1;
}

int
rkeys_network(const char *client_addr, int v4len, int v6len, char *buf, size_t size)
{
	struct rg_addr a;

	if (rg_addr_parse(client_addr, &a) != 0 || size < 50)
		return -1;
	rg_addr_net_text(&a, v4len, v6len, buf, size);
	return (int)strlen(buf);
}

unsigned long long
rkeys_triplet_hash(const struct rkeys *k, const char *sender, const char *rcpt)
{
	size_t sl = strlen(sender), rl = strlen(rcpt);
	char stack[1100], *buf = sl + 1 + rl <= sizeof(stack) ? stack : xmalloc(sl + 1 + rl);
	unsigned long long h;

	/* Whole texts; NUL separates the two, so "a@b"+"c" never equals "a@"+"bc". */
	memcpy(buf, sender, sl);
	buf[sl] = 0;
	memcpy(buf + sl + 1, rcpt, rl);
	h = rg_siphash(&k->sip, buf, sl + 1 + rl);
	if (buf != stack)
		free(buf);
	return h;
}

/* A hash-tag body must hold no braces; the callers' texts are checked or mapped. */
static int
tag_ok(const char *s)
{
	return *s && strpbrk(s, "{}") == NULL;
}

int
rkeys_greylist(const struct rkeys *k, const char *net, const char *sender, const char *rcpt, char *buf,
	       size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned long long h;
	char hx[16];
	struct rg_sb b;

	if (!tag_ok(net))
		return -1;
	h = rkeys_triplet_hash(k, sender, rcpt);
	for (int i = 15; i >= 0; i--, h >>= 4)
		hx[i] = hex[h & 15];
	rg_sb_init(&b, buf, size);
	rg_sb_str(&b, k->prefix);
	rg_sb_mem(&b, "g:{", 3);
	rg_sb_str(&b, net);
	rg_sb_mem(&b, "}:", 2);
	rg_sb_mem(&b, hx, 16);
	return rg_sb_done(&b);
}

int
rkeys_awl(const struct rkeys *k, const char *net, char *buf, size_t size)
{
	struct rg_sb b;

	if (!tag_ok(net))
		return -1;
	rg_sb_init(&b, buf, size);
	rg_sb_str(&b, k->prefix);
	rg_sb_mem(&b, "a:{", 3);
	rg_sb_str(&b, net);
	rg_sb_mem(&b, "}", 1);
	return rg_sb_done(&b);
}

static int
subject_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr(".@:_+=-", c) != NULL);
}

/* kind ":" escaped subject, into esc; -1 with err. */
static int
rate_tag(const char *kind, const char *subject, char *esc, size_t size, char *err, size_t errlen)
{
	size_t o, base;

	if (*kind == 0 || strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(kind) ||
	    strlen(kind) + 2 + RKEYS_SUBJECT_MAX + 4 > size) {
		snprintf(err, errlen, "bad subject kind");
		return -1;
	}
	o = base = strlen(kind) + 1; /* it fits: checked above */
	memcpy(esc, kind, o - 1);
	esc[o - 1] = ':';
	for (const unsigned char *p = (const unsigned char *)subject; *p; p++) {
		if (o - base + (subject_byte_ok(*p) ? 1 : 3) > RKEYS_SUBJECT_MAX || o + 4 > size) {
			snprintf(err, errlen, "subject longer than %d bytes escaped", RKEYS_SUBJECT_MAX);
			return -1;
		}
		if (subject_byte_ok(*p))
			esc[o++] = (char)*p;
		else {
			esc[o++] = '%';
			esc[o++] = "0123456789ABCDEF"[*p >> 4];
			esc[o++] = "0123456789ABCDEF"[*p & 15];
		}
	}
	esc[o] = 0;
	return (int)o;
}

int
rkeys_rate(const struct rkeys *k, const char *kind, const char *subject, long long count, long long window_ms,
	   char *buf, size_t size, char *err, size_t errlen)
{
	char tag[RKEYS_SUBJECT_MAX + 40];
	struct rg_sb b;
	int n;

	if ((n = rate_tag(kind, subject, tag, sizeof(tag), err, errlen)) < 0)
		return -1;
	rg_sb_init(&b, buf, size);
	rg_sb_str(&b, k->prefix);
	rg_sb_mem(&b, "r:{", 3);
	rg_sb_mem(&b, tag, (size_t)n);
	rg_sb_mem(&b, "}:", 2);
	rg_sb_num(&b, count);
	rg_sb_mem(&b, "/", 1);
	rg_sb_num(&b, window_ms);
	if ((n = rg_sb_done(&b)) < 0)
		snprintf(err, errlen, "key longer than %zu bytes", size ? size - 1 : 0);
	return n;
}

/* The callout key's domain: lower case, anything but [a-z0-9._-] as '_'. */
static void
callout_domain(const char *dom, char *d, size_t size)
{
	size_t dl = strnlen(dom, size - 1);

	for (size_t i = 0; i < dl; i++) {
		char c = dom[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		d[i] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
			   ? c
			   : '_';
	}
	d[dl] = 0;
}

int
rkeys_callout(const struct rkeys *k, const char *rcpt, char *buf, size_t size)
{
	const char *at = strrchr(rcpt, '@');
	char d[256], *low;
	size_t rl = strlen(rcpt);
	unsigned long long h;

	if (rl == 0)
		return -1;
	low = rg_lowercase(xstrdup(rcpt)); /* the whole address, however long */
	h = rg_siphash(&k->sip, low, rl);
	free(low);
	callout_domain(at ? at + 1 : "", d, sizeof(d));
	return fits(snprintf(buf, size, "%sc:{%s}:%016llx", k->prefix, d, h), size);
}

int
rkeys_hopdown(const struct rkeys *k, const char *hop, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%scd:{", k->prefix);
	size_t o;

	if (fits(n, size) < 0)
		return -1;
	o = (size_t)n;
	for (const char *s = hop; *s; s++) {
		if (o + 2 >= size)
			return -1;
		buf[o++] = (*s == '{' || *s == '}') ? '_' : *s;
	}
	buf[o++] = '}';
	buf[o] = 0;
	return (int)o;
}

int
rkeys_harvest(const struct rkeys *k, const char *addr, long long window_ms, char *buf, size_t size)
{
	size_t len = strlen(addr);

	if (len == 0 || len > 45 || strspn(addr, "0123456789abcdefABCDEF:.") != len)
		return -1;
	return fits(snprintf(buf, size, "%sh:{%s}:%lld", k->prefix, addr, window_ms), size);
}

/* Copy s into buf at *o with the glob characters of SCAN MATCH escaped. */
static int
glob_escape(char *buf, size_t size, size_t *o, const char *s)
{
	for (; *s; s++) {
		if (strchr("*?[]\\^", *s) && *o + 1 < size)
			buf[(*o)++] = '\\';
		if (*o + 1 >= size)
			return -1;
		buf[(*o)++] = *s;
	}
	buf[*o] = 0;
	return 0;
}

/* head, escaped, then "*". */
static int
pattern(const char *head, char *buf, size_t size)
{
	size_t o = 0;

	if (glob_escape(buf, size, &o, head) < 0 || o + 2 > size)
		return -1;
	buf[o++] = '*';
	buf[o] = 0;
	return (int)o;
}

int
rkeys_greylist_pattern(const struct rkeys *k, const char *net, char *buf, size_t size)
{
	char head[RKEYS_MAX];

	if (!tag_ok(net) || fits(snprintf(head, sizeof(head), "%sg:{%s}:", k->prefix, net), sizeof(head)) < 0)
		return -1;
	return pattern(head, buf, size);
}

int
rkeys_rate_pattern(const struct rkeys *k, const char *kind, const char *subject, char *buf, size_t size)
{
	char tag[RKEYS_SUBJECT_MAX + 40], head[RKEYS_MAX], err[80];

	if (rate_tag(kind, subject, tag, sizeof(tag), err, sizeof(err)) < 0 ||
	    fits(snprintf(head, sizeof(head), "%sr:{%s}:", k->prefix, tag), sizeof(head)) < 0)
		return -1;
	return pattern(head, buf, size);
}

int
rkeys_kind_pattern(const struct rkeys *k, const char *kind, char *buf, size_t size)
{
	char head[RKEYS_MAX];

	if (*kind == 0 || strspn(kind, "abcdefghijklmnopqrstuvwxyz") != strlen(kind) ||
	    fits(snprintf(head, sizeof(head), "%s%s:{", k->prefix, kind), sizeof(head)) < 0)
		return -1;
	return pattern(head, buf, size);
}

int
rkeys_callout_pattern(const struct rkeys *k, const char *domain, char *buf, size_t size)
{
	char d[256], head[RKEYS_MAX];

	callout_domain(domain, d, sizeof(d));
	if (!tag_ok(d) || fits(snprintf(head, sizeof(head), "%sc:{%s}:", k->prefix, d), sizeof(head)) < 0)
		return -1;
	return pattern(head, buf, size);
}

static unsigned
crc16(const char *p, size_t len)
{
	unsigned crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (unsigned)(unsigned char)p[i] << 8;
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
	}
	return crc;
}

unsigned
rkeys_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;

	/* Redis Cluster: the first {...} with something inside is the tag. */
	if (open && (close = memchr(open + 1, '}', len - (size_t)(open + 1 - key))) != NULL &&
	    close > open + 1)
		return crc16(open + 1, (size_t)(close - open - 1)) & 16383;
	return crc16(key, len) & 16383;
}
