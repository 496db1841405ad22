/*
 * util - allocation that never returns NULL, bounded string helpers, and the
 * sanitiser every piece of untrusted text passes before it is logged, echoed
 * into a header or written into an SMTP/policy reply.
 *
 * Contract: no hidden state; every function is thread-safe.
 */
#ifndef RG_UTIL_H
#define RG_UTIL_H

#include <stddef.h>

/* Allocators: abort the process with msg_fatal() on exhaustion, never NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Free and return NULL, for "p = xfree(p)". */
void *xfree(void *p);

/*
 * Copy at most srclen bytes of src into dst (size dstsize, always
 * NUL-terminated), replacing every byte outside printable ASCII (0x20-0x7e)
 * with '?'. Output longer than dstsize-1 is cut and ends in "...".
 * Returns dst.
 */
char *rg_sanitize(char *dst, size_t dstsize, const char *src, size_t srclen);

/* In-place: replace non-printable ASCII by '?'. Returns s. */
char *printable(char *s);

/* strlcpy semantics: returns strlen(src); dst always terminated when size>0. */
size_t rg_strlcpy(char *dst, const char *src, size_t size);

/* In-place ASCII lower-casing. Returns s. */
char *rg_lowercase(char *s);

/* Trim leading and trailing white space in place; returns the new start. */
char *rg_trim(char *s);

/* Milliseconds of CLOCK_MONOTONIC, and of the wall clock. */
long long rg_mono_ms(void);
long long rg_wall_ms(void);

/* FNV-1a 64-bit hash of n bytes, for short Redis key names (not security). */
/*
 * A bounded string builder for hot paths, where snprintf's format parsing
 * costs more than the text (issue 16 profile): appends into buf (size
 * bytes, always NUL-terminated); once something does not fit, over is set
 * and the text stops growing. rg_sb_done: the length, or -1 when over.
 */
struct rg_sb {
	char *buf;
	size_t size, len;
	int over;
};
void rg_sb_init(struct rg_sb *b, char *buf, size_t size);
void rg_sb_mem(struct rg_sb *b, const char *s, size_t n);
void rg_sb_str(struct rg_sb *b, const char *s);
void rg_sb_num(struct rg_sb *b, long long v);
int rg_sb_done(const struct rg_sb *b);

unsigned long long rg_hash64(const void *data, size_t n, unsigned long long seed);
#define RG_HASH64_SEED 0xcbf29ce484222325ULL
#endif
