/*
 * ipname - spotting a client's own address inside a DNS name; see ipname.h.
 *
 * Everything works on tokens of the lower-cased name: IPv4 looks at runs of
 * digits (so "host5-113" gives 5 and 113), IPv6 at runs of letters and
 * digits between separators. "Joined" means exactly one separator between
 * two tokens, so "dsl-203-0-113-5" is one chain and "mail-ej1-f41" is not.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ipname.h"

#define IPNAME_TOK_MAX (IPNAME_MAX + 1) /* tokens in a name */

static int
is_sep(char c)
{
	return c == '-' || c == '.' || c == '_';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

int
ipname_parse_addr(const char *s, struct ipname_addr *a)
{
	char buf[64];
	size_t n = strcspn(s, "%"); /* drop an IPv6 zone */

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, a->b) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a->b) != 1)
		return -1;
	a->family = AF_INET6;
	if (memcmp(a->b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(a->b, a->b + 12, 4);
		a->family = AF_INET;
	}
	return 0;
}

/* s contains pat with no digit right before or after it. */
static int
has_number(const char *s, const char *pat)
{
	size_t pl = strlen(pat);

	for (const char *p = strstr(s, pat); p; p = strstr(p + 1, pat))
		if ((p == s || !is_digit(p[-1])) && !is_digit(p[pl]))
			return 1;
	return 0;
}

/*
 * IPv4 in h: chains of digit runs joined by exactly one separator, compared
 * with the octets forward and reversed; then the concatenated forms.
 */
static int
v4_embedded(const char *h, const unsigned char *o)
{
	struct {
		int val; /* -1: not an octet */
		int linked;
	} n[IPNAME_TOK_MAX];
	int cnt = 0, prev_end = -2;
	char f[32];
	unsigned ip = (unsigned)o[0] << 24 | (unsigned)o[1] << 16 | (unsigned)o[2] << 8 | o[3];

	for (int i = 0; h[i] && cnt < IPNAME_TOK_MAX;) {
		int j = i, v = 0;

		if (!is_digit(h[i])) {
			i++;
			continue;
		}
		while (is_digit(h[j])) {
			if (j - i < 3)
				v = v * 10 + (h[j] - '0');
			j++;
		}
		n[cnt].val = (j - i <= 3 && v <= 255) ? v : -1;
		n[cnt].linked = prev_end + 1 == i && is_sep(h[prev_end]);
		cnt++;
		prev_end = j;
		i = j;
	}
	for (int k = 0; k < cnt; k++)
		for (int j = 0; j < 4; j++)
			for (int dir = -1; dir <= 1; dir += 2) {
				int m = 0, last = 0;

				while (k + m < cnt && j + dir * m >= 0 && j + dir * m < 4 &&
				       (m == 0 || n[k + m].linked) && n[k + m].val == o[j + dir * m]) {
					last |= j + dir * m == 3;
					m++;
				}
				if (m >= 3 || (m == 2 && last))
					return 1;
			}
	snprintf(f, sizeof(f), "%02x%02x%02x%02x", o[0], o[1], o[2], o[3]);
	if (strstr(h, f))
		return 1;
	snprintf(f, sizeof(f), "%02x%02x%02x%02x", o[3], o[2], o[1], o[0]);
	if (strstr(h, f))
		return 1;
	snprintf(f, sizeof(f), "%03u%03u%03u%03u", o[0], o[1], o[2], o[3]);
	if (has_number(h, f))
		return 1;
	snprintf(f, sizeof(f), "%03u%03u%03u%03u", o[3], o[2], o[1], o[0]);
	if (has_number(h, f))
		return 1;
	snprintf(f, sizeof(f), "%u", ip);
	return ip >= 16777216 && has_number(h, f);
}

int
ipname_has_last_octet(const char *h, const struct ipname_addr *a)
{
	char lab[IPNAME_MAX + 1], f[8];
	size_t l = strcspn(h, ".");
	const unsigned char *o = a->b;

	if (a->family != AF_INET || l > IPNAME_MAX)
		return 0;

	memcpy(lab, h, l);
	lab[l] = 0;
	snprintf(f, sizeof(f), "%u", o[3]);
	if (has_number(lab, f))
		return 1;
	snprintf(f, sizeof(f), "%03u", o[3]);
	return has_number(lab, f);
}

/* An IPv6 name token: text between single separators; "--" yields an empty one. */
struct ipname_tok {
	int val; /* 1-4 hex digits: their value; -1: other text; -2: empty (from "--") */
	int len;
	int linked; /* joined to the previous token by exactly one separator */
};

static int
v6_tokens(const char *h, struct ipname_tok *t)
{
	int cnt = 0, linked = 0;

	for (int i = 0; h[i] && cnt < IPNAME_TOK_MAX;) {
		int j = i, v = 0, hex = 1;

		while (is_digit(h[j]) || is_alpha(h[j])) {
			hex &= is_hex(h[j]);
			if (hex && j - i < 4)
				v = v * 16 + (is_digit(h[j]) ? h[j] - '0' : h[j] - 'a' + 10);
			j++;
		}
		if (j == i) {
			if (is_sep(h[i]) && linked)
				t[cnt++] = (struct ipname_tok){-2, 0, 1};
			else
				linked = 0;
			i++;
			continue;
		}
		t[cnt++] = (struct ipname_tok){hex && j - i <= 4 ? v : -1, j - i, linked};
		linked = is_sep(h[j]);
		i = linked ? j + 1 : j;
	}
	return cnt;
}

/* The whole address written with "--" for "::", starting at token k. */
static int
v6_compressed(const struct ipname_tok *t, int cnt, int k, const int *g)
{
	int p = 0, q = 0, e;

	while (k + p < cnt && p < 7 && (p == 0 || t[k + p].linked) && t[k + p].val == g[p])
		p++;
	e = k + p;
	if (p == 0 || e >= cnt || t[e].val != -2)
		return 0;
	while (e + 1 + q < cnt && t[e + 1 + q].linked && t[e + 1 + q].val >= 0)
		q++;
	for (; q >= 1; q--) {
		int ok = p + q < 8;

		for (int z = p; ok && z < 8 - q; z++)
			ok = g[z] == 0;
		for (int z = 0; ok && z < q; z++)
			ok = t[e + 1 + z].val == g[8 - q + z];
		if (ok)
			return 1;
	}
	return 0;
}

/*
 * IPv6 in h: the /64 as a hex string; tokens matched as groups (>= 4 in a
 * row, or the whole "::"-compressed address); single nibbles (>= 16 in a
 * row, forward or reversed as in ip6.arpa).
 */
static int
v6_embedded(const char *h, const unsigned char *b)
{
	static const char hx[] = "0123456789abcdef";
	struct ipname_tok t[IPNAME_TOK_MAX];
	char pfx[17];
	int g[8], nib[32], cnt;

	for (int i = 0; i < 16; i++) {
		nib[2 * i] = b[i] >> 4;
		nib[2 * i + 1] = b[i] & 15;
	}
	for (int i = 0; i < 16; i++)
		pfx[i] = hx[nib[i]];
	pfx[16] = 0;
	if (strstr(h, pfx))
		return 1;
	for (int i = 0; i < 8; i++)
		g[i] = b[2 * i] << 8 | b[2 * i + 1];
	cnt = v6_tokens(h, t);
	for (int k = 0; k < cnt; k++) {
		for (int j = 0; j < 8; j++) {
			int m = 0;

			while (k + m < cnt && j + m < 8 && (m == 0 || t[k + m].linked) &&
			       t[k + m].val == g[j + m])
				m++;
			if (m >= 4)
				return 1;
		}
		if (v6_compressed(t, cnt, k, g))
			return 1;
		for (int j = 0; j < 32; j++)
			for (int dir = -1; dir <= 1; dir += 2) {
				int m = 0;

				while (k + m < cnt && j + dir * m >= 0 && j + dir * m < 32 &&
				       (m == 0 || t[k + m].linked) && t[k + m].len == 1 &&
				       t[k + m].val == nib[j + dir * m])
					m++;
				if (m >= 16)
					return 1;
			}
	}
	return 0;
}

int
ipname_embeds(const char *host, const struct ipname_addr *a)
{
	char h[IPNAME_MAX + 1];

	/* The scanners index tokens into fixed arrays: never give them more. */
	if (strnlen(host, IPNAME_MAX + 1) > IPNAME_MAX)
		return 0;
	memcpy(h, host, strlen(host) + 1);
	return a->family == AF_INET ? v4_embedded(h, a->b) : v6_embedded(h, a->b);
}
