/*
 * msgbuf - see msgbuf.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msgbuf.h"
#include "util.h"

struct msgbuf {
	char *mem;
	size_t memlen, memcap, mem_limit;
	int fd;
	size_t filelen;
	char *tmpdir;
};

struct msgbuf *
msgbuf_new(size_t mem_limit, const char *tmpdir)
{
	struct msgbuf *mb = xcalloc(1, sizeof(*mb));

	mb->mem_limit = mem_limit;
	mb->fd = -1;
	mb->tmpdir = xstrdup(tmpdir && *tmpdir ? tmpdir : "/var/tmp");
	return mb;
}

static int
msgbuf_spill_open(struct msgbuf *mb, char *err, size_t errlen)
{
	char path[1100];

	snprintf(path, sizeof(path), "%s/relayguard-milter.XXXXXX", mb->tmpdir);
	/* mkostemp creates the file 0600; no umask games in a threaded milter. */
	mb->fd = mkostemp(path, O_CLOEXEC);
	if (mb->fd < 0) {
		char eb[128];

		/* strerror_r, GNU flavour: this runs in a milter thread */
		snprintf(err, errlen, "temporary file in %s: %s", mb->tmpdir,
			 strerror_r(errno, eb, sizeof(eb)));
		return -1;
	}
	/* Unlinked at once: nothing is left behind on any path. */
	(void)unlink(path);
	(void)fchmod(mb->fd, 0600);
	return 0;
}

static int
msgbuf_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ENOSPC; /* a write of nothing: say why, not a stale errno */
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
msgbuf_append(struct msgbuf *mb, const void *data, size_t len, char *err, size_t errlen)
{
	const char *p = data;
	size_t room;

	if (mb->fd < 0) {
		room = mb->mem_limit - mb->memlen;
		if (len <= room) {
			if (mb->memlen + len > mb->memcap) {
				size_t cap = mb->memcap ? mb->memcap : 16384;

				while (cap < mb->memlen + len)
					cap *= 2;
				if (cap > mb->mem_limit)
					cap = mb->mem_limit;
				mb->mem = xrealloc(mb->mem, cap);
				mb->memcap = cap;
			}
			memcpy(mb->mem + mb->memlen, p, len);
			mb->memlen += len;
			return 0;
		}
		if (msgbuf_spill_open(mb, err, errlen) != 0)
			return -1;
	}
	if (msgbuf_write_all(mb->fd, p, len) != 0) {
		char eb[128];

		snprintf(err, errlen, "write temporary file: %s", strerror_r(errno, eb, sizeof(eb)));
		return -1;
	}
	mb->filelen += len;
	return 0;
}

size_t
msgbuf_size(const struct msgbuf *mb)
{
	return mb->memlen + mb->filelen;
}

void
msgbuf_parts(const struct msgbuf *mb, const char **mem, size_t *memlen, int *fd, size_t *filelen)
{
	*mem = mb->mem;
	*memlen = mb->memlen;
	*fd = mb->fd;
	*filelen = mb->filelen;
}

ssize_t
msgbuf_read(const struct msgbuf *mb, size_t offset, void *buf, size_t len)
{
	size_t done = 0;

	if (offset < mb->memlen) {
		done = mb->memlen - offset < len ? mb->memlen - offset : len;
		memcpy(buf, mb->mem + offset, done);
	}
	while (done < len && mb->fd >= 0 && offset + done < mb->memlen + mb->filelen) {
		ssize_t n =
		    pread(mb->fd, (char *)buf + done, len - done, (off_t)(offset + done - mb->memlen));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void
msgbuf_reset(struct msgbuf *mb)
{
	mb->memlen = 0;
	if (mb->fd >= 0)
		close(mb->fd);
	mb->fd = -1;
	mb->filelen = 0;
	/* Don't keep a large buffer alive in an idle connection. */
	if (mb->memcap > 65536) {
		mb->mem = xfree(mb->mem);
		mb->memcap = 0;
	}
}

void
msgbuf_free(struct msgbuf *mb)
{
	if (mb == NULL)
		return;
	msgbuf_reset(mb);
	free(mb->mem);
	free(mb->tmpdir);
	free(mb);
}
