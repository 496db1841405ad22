/*
 * arena - see arena.h. Chunks of CHUNK bytes are chained; a request larger
 * than a quarter chunk gets a chunk of its own so that big blocks do not
 * waste the tail of the current one.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "util.h"

#define CHUNK 8192
#define ALIGN (alignof(max_align_t))

struct chunk {
	struct chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct rg_arena {
	struct chunk *head; /* current chunk first */
};

struct rg_arena *
rg_arena_new(void)
{
	return xcalloc(1, sizeof(struct rg_arena));
}

static struct chunk *
chunk_new(size_t size)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);

	c->next = NULL;
	c->used = 0;
	c->size = size;
	return c;
}

void *
rg_arena_alloc(struct rg_arena *a, size_t n)
{
	struct chunk *c = a->head;
	void *p;

	if (n == 0)
		n = 1;
	n = (n + ALIGN - 1) & ~(ALIGN - 1);
	if (n > CHUNK / 4) {
		/* Own chunk, linked behind the current one so it stays current. */
		struct chunk *big = chunk_new(n);

		big->used = n;
		if (c) {
			big->next = c->next;
			c->next = big;
		} else {
			a->head = big;
		}
		memset(big->data, 0, n);
		return big->data;
	}
	if (c == NULL || c->size - c->used < n) {
		c = chunk_new(CHUNK);
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *
rg_arena_strndup(struct rg_arena *a, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = rg_arena_alloc(a, len + 1);

	memcpy(p, s, len);
	return p;
}

char *
rg_arena_strdup(struct rg_arena *a, const char *s)
{
	return rg_arena_strndup(a, s, SIZE_MAX);
}

void
rg_arena_free(struct rg_arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}
