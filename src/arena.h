/*
 * arena - a bump allocator for data that lives and dies together (one
 * configuration snapshot, one table): many small allocations, one free.
 *
 * Contract: rg_arena_alloc never returns NULL (aborts via xmalloc on
 * exhaustion); memory is zeroed and aligned for any type; nothing is freed
 * before rg_arena_free. Not thread-safe while being filled; the data in it
 * may be read from any thread once it is no longer modified.
 */
#ifndef RG_ARENA_H
#define RG_ARENA_H

#include <stddef.h>

struct rg_arena;

struct rg_arena *rg_arena_new(void);
/* Zeroed, max-aligned block of n bytes, owned by the arena. */
void *rg_arena_alloc(struct rg_arena *a, size_t n);
/* Copy of s (or of its first n bytes, NUL added) owned by the arena. */
char *rg_arena_strdup(struct rg_arena *a, const char *s);
char *rg_arena_strndup(struct rg_arena *a, const char *s, size_t n);
/* Free the arena and everything allocated from it; NULL is ignored. */
void rg_arena_free(struct rg_arena *a);

#endif
