/*
 * util - see util.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu*%zu bytes", n, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		msg_fatal("out of memory allocating %zu bytes", n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = 0;
	return p;
}

void *
xfree(void *p)
{
	free(p);
	return NULL;
}

char *
rg_sanitize(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	size_t i, o = 0;

	if (dstsize == 0)
		return dst;
	for (i = 0; i < srclen && src[i] != 0; i++) {
		unsigned char c = (unsigned char)src[i];

		if (o + 1 >= dstsize) {
			/* Cut: mark it, so a reader knows text is missing. */
			if (dstsize > 4)
				memcpy(dst + dstsize - 4, "...", 3), o = dstsize - 1;
			break;
		}
		dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[o] = 0;
	return dst;
}

char *
printable(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			*p = '?';
	return s;
}

size_t
rg_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = 0;
	}
	return len;
}

char *
rg_lowercase(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

char *
rg_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

long long
rg_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
rg_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned long long
rg_hash64(const void *data, size_t n, unsigned long long seed)
{
	const unsigned char *p = data;
	unsigned long long h = seed;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void
rg_sb_init(struct rg_sb *b, char *buf, size_t size)
{
	b->buf = buf;
	b->size = size;
	b->len = 0;
	b->over = size == 0;
	if (size)
		buf[0] = 0;
}

void
rg_sb_mem(struct rg_sb *b, const char *s, size_t n)
{
	if (b->over || n >= b->size - b->len) {
		b->over = 1;
		return;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = 0;
}

void
rg_sb_str(struct rg_sb *b, const char *s)
{
	rg_sb_mem(b, s, strlen(s));
}

void
rg_sb_num(struct rg_sb *b, long long v)
{
	char tmp[24];
	size_t n = sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		tmp[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--n] = '-';
	rg_sb_mem(b, tmp + n, sizeof(tmp) - n);
}

int
rg_sb_done(const struct rg_sb *b)
{
	return b->over ? -1 : (int)b->len;
}
