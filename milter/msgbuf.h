/*
 * msgbuf - one message as the MTA hands it to the milter (headers, the
 * blank line, the body), kept in memory up to a bound and beyond that in a
 * private temporary file.
 *
 * The temporary file is created with mode 0600 in milter_tmpdir and
 * unlinked at once, so it disappears on every path - abort, crash, kill -
 * as soon as its descriptor is closed.
 *
 * Contract: one msgbuf belongs to one message context (one thread at a
 * time). Data is stored as given; nothing here interprets it.
 */
#ifndef RG_MILTER_MSGBUF_H
#define RG_MILTER_MSGBUF_H

#include <stddef.h>
#include <sys/types.h>

struct msgbuf;

/* mem_limit: bytes kept in memory before spilling to a file in tmpdir. */
struct msgbuf *msgbuf_new(size_t mem_limit, const char *tmpdir);
/* Append; returns 0 or -1 with err (temp file could not be made/written). */
int msgbuf_append(struct msgbuf *mb, const void *data, size_t len, char *err, size_t errlen);
/* Total bytes appended. */
size_t msgbuf_size(const struct msgbuf *mb);
/* The parts: the first *memlen bytes in memory, then *filelen bytes in fd
 * (fd -1 when nothing spilled). Pointers valid until the next append. */
void msgbuf_parts(const struct msgbuf *mb, const char **mem, size_t *memlen, int *fd, size_t *filelen);
/* Copy up to len bytes from offset into buf; returns bytes copied or -1. */
ssize_t msgbuf_read(const struct msgbuf *mb, size_t offset, void *buf, size_t len);
/* Discard everything (for a new message); keeps the object. */
void msgbuf_reset(struct msgbuf *mb);
void msgbuf_free(struct msgbuf *mb);

#endif
