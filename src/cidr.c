/*
 * cidr - see cidr.h. Text is parsed with inet_pton only; nothing here
 * accepts the legacy inet_aton forms ("10.1", "0x7f.1") that make address
 * lists mean something other than what they look like.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "util.h"

/* Longest address text we accept, brackets included. */
#define ADDR_TEXT_MAX 64

static const unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parse an address of exactly n bytes of s (brackets allowed). */
static int
addr_parse_n(const char *s, size_t n, struct rg_addr *a)
{
	char buf[ADDR_TEXT_MAX];
	struct in_addr in4;

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, &in4) == 1) {
		memcpy(a->b, mapped_prefix, 12);
		memcpy(a->b + 12, &in4, 4);
		a->v4 = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a->b) == 1) {
		a->v4 = memcmp(a->b, mapped_prefix, 12) == 0;
		return 0;
	}
	return -1;
}

int
rg_addr_parse(const char *s, struct rg_addr *a)
{
	return addr_parse_n(s, strlen(s), a);
}

void
rg_addr_mask(struct rg_addr *a, int len)
{
	int i;

	if (len < 0)
		len = 0;
	for (i = 0; i < 16; i++) {
		int keep = len - i * 8;

		if (keep >= 8)
			continue;
		a->b[i] &= keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
	}
}

int
rg_prefix_parse(const char *s, struct rg_prefix *p, char *err, size_t errlen)
{
	char shown[80];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct rg_addr masked;
	long len;

	rg_sanitize(shown, sizeof(shown), s, strlen(s));
	if (addr_parse_n(s, alen, &p->addr) < 0) {
		snprintf(err, errlen, "bad address \"%s\"", shown);
		return -1;
	}
	if (slash == NULL) {
		p->len = 128;
		return 0;
	}
	/* Digits only: strtol would take "+24", " 24" or "0x18". */
	if (slash[1] == 0 || strspn(slash + 1, "0123456789") != strlen(slash + 1) || strlen(slash + 1) > 3) {
		snprintf(err, errlen, "bad prefix length in \"%s\"", shown);
		return -1;
	}
	len = strtol(slash + 1, NULL, 10);
	/* IPv4 text counts from 0..32; mapped IPv6 text already counts from 0. */
	if (p->addr.v4 && memchr(s, ':', alen) == NULL) {
		if (len > 32) {
			snprintf(err, errlen, "bad prefix length in \"%s\" (IPv4: 0..32)", shown);
			return -1;
		}
		len += 96;
	} else if (len > 128 || (p->addr.v4 && len < 96)) {
		snprintf(err, errlen, "bad prefix length in \"%s\" (IPv6: 0..128%s)", shown,
			 p->addr.v4 ? ", at least 96 for a mapped address" : "");
		return -1;
	}
	p->len = (int)len;
	masked = p->addr;
	rg_addr_mask(&masked, p->len);
	if (memcmp(masked.b, p->addr.b, 16) != 0) {
		char t[ADDR_TEXT_MAX];

		snprintf(err, errlen, "host bits set in \"%s\" (network is %s)", shown,
			 rg_addr_net_text(&p->addr, p->len - 96, p->len, t, sizeof(t)));
		return -1;
	}
	return 0;
}

int
rg_prefix_match(const struct rg_prefix *p, const struct rg_addr *a)
{
	int full = p->len / 8, rest = p->len % 8;

	/* Families never match across: ::/0 is not meant to cover IPv4. */
	if (p->addr.v4 != a->v4)
		return 0;
	if (memcmp(p->addr.b, a->b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((p->addr.b[full] ^ a->b[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

char *
rg_addr_text(const struct rg_addr *a, char *buf, size_t buflen)
{
	if (buflen == 0)
		return buf;
	if (inet_ntop(a->v4 ? AF_INET : AF_INET6, a->v4 ? a->b + 12 : a->b, buf, (socklen_t)buflen) == NULL)
		buf[0] = 0;
	return buf;
}

char *
rg_addr_net_text(const struct rg_addr *a, int v4len, int v6len, char *buf, size_t buflen)
{
	struct rg_addr net = *a;
	char t[INET6_ADDRSTRLEN];
	int len;

	if (a->v4)
		len = v4len < 0 ? 0 : v4len > 32 ? 32 : v4len;
	else
		len = v6len < 0 ? 0 : v6len > 128 ? 128 : v6len;
	rg_addr_mask(&net, a->v4 ? len + 96 : len);
	snprintf(buf, buflen, "%s/%d", rg_addr_text(&net, t, sizeof(t)), len);
	return buf;
}

struct rg_cidrlist {
	int n, cap;
	struct rg_prefix *p;
};

struct rg_cidrlist *
rg_cidrlist_new(void)
{
	return xcalloc(1, sizeof(struct rg_cidrlist));
}

int
rg_cidrlist_add(struct rg_cidrlist *l, const char *text, char *err, size_t errlen)
{
	struct rg_prefix p;

	if (rg_prefix_parse(text, &p, err, errlen) < 0)
		return -1;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->p = xrealloc(l->p, (size_t)l->cap * sizeof(*l->p));
	}
	l->p[l->n++] = p;
	return 0;
}

int
rg_cidrlist_match(const struct rg_cidrlist *l, const struct rg_addr *a)
{
	int i;

	if (l == NULL)
		return 0;
	for (i = 0; i < l->n; i++)
		if (rg_prefix_match(&l->p[i], a))
			return 1;
	return 0;
}

void
rg_cidrlist_free(struct rg_cidrlist *l)
{
	if (l == NULL)
		return;
	free(l->p);
	free(l);
}
