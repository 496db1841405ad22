/*
 * confread - the line reader for relayguard.conf, the customer tables and
 * pattern files, in the manner of Postfix's readlline(): comment and blank
 * lines are skipped (also between continuation lines), a line starting with
 * white space continues the previous logical line.
 *
 * Trust boundary: files are admin input. Every physical line is read with a
 * hard bound (RG_LINE_MAX); lines with control characters (a binary file, a
 * stray NUL) are reported and dropped, never passed on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confint.h"
#include "util.h"

void
rg_conf_err(struct rg_diag *d, int *nerr, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(*nerr)++;
	rg_diag_add(d, file, line, "%s", msg);
}

int
rg_lreader_open(struct rg_lreader *r, const char *path, int cont, struct rg_diag *diag, int *nerr)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->cont = cont;
	r->diag = diag;
	r->nerr = nerr;
	if ((r->fp = fopen(path, "r")) == NULL) {
		rg_conf_err(diag, nerr, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	r->next = xmalloc(RG_LINE_MAX + 1);
	return 0;
}

/*
 * Read one physical line into r->next. Returns 1, or 0 at end of file.
 * A line that is too long or holds control characters is reported and
 * *bad is set; the caller drops it.
 */
static int
read_phys(struct rg_lreader *r, int *bad)
{
	size_t n = 0, i;
	int c, toolong = 0;

	*bad = 0;
	while ((c = getc(r->fp)) != EOF && c != '\n') {
		if (n < RG_LINE_MAX)
			r->next[n++] = (char)c;
		else
			toolong = 1;
	}
	if (c == EOF && n == 0 && !toolong)
		return 0;
	r->lineno++;
	if (n > 0 && r->next[n - 1] == '\r')
		n--; /* CRLF files */
	r->next[n] = 0;
	if (toolong) {
		rg_conf_err(r->diag, r->nerr, r->path, r->lineno, "line too long (more than %d bytes)",
			    RG_LINE_MAX);
		*bad = 1;
		return 1;
	}
	for (i = 0; i < n; i++) {
		unsigned char u = (unsigned char)r->next[i];

		if ((u < 0x20 && u != '\t') || u == 0x7f) {
			rg_conf_err(r->diag, r->nerr, r->path, r->lineno,
				    "invalid character 0x%02x in line (not a text file?)", u);
			*bad = 1;
			return 1;
		}
	}
	return 1;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Blank or comment line: skipped wherever it appears. */
static int
is_skip(const char *s)
{
	while (is_ws(*s))
		s++;
	return *s == 0 || *s == '#';
}

static void
buf_append(struct rg_lreader *r, size_t *len, const char *s, size_t n)
{
	if (*len + n + 1 > r->bufcap) {
		r->bufcap = (*len + n + 1) * 2;
		r->buf = xrealloc(r->buf, r->bufcap);
	}
	memcpy(r->buf + *len, s, n);
	*len += n;
	r->buf[*len] = 0;
}

char *
rg_lreader_next(struct rg_lreader *r, int *lineno)
{
	size_t len = 0;
	int bad, cur, have = 0;

	for (;;) {
		if (r->pending) {
			r->pending = 0;
			bad = 0;
			cur = r->pending_line;
		} else if (read_phys(r, &bad)) {
			cur = r->lineno;
		} else {
			return have ? r->buf : NULL;
		}
		if (bad || is_skip(r->next))
			continue;
		if (r->cont && is_ws(r->next[0])) {
			char *s = rg_trim(r->next);

			if (!have) {
				rg_conf_err(
				    r->diag, r->nerr, r->path, cur,
				    "continuation line (starts with white space) without a preceding line");
				continue;
			}
			if (len + 1 + strlen(s) > RG_LINE_MAX) {
				rg_conf_err(r->diag, r->nerr, r->path, cur,
					    "logical line too long (more than %d bytes)", RG_LINE_MAX);
				continue;
			}
			buf_append(r, &len, " ", 1);
			buf_append(r, &len, s, strlen(s));
			continue;
		}
		if (have) {
			/* First line of the next logical line: keep it for the next call. */
			r->pending = 1;
			r->pending_line = cur;
			return r->buf;
		}
		have = 1;
		*lineno = cur;
		buf_append(r, &len, r->next, strlen(r->next));
		if (!r->cont)
			return r->buf;
	}
}

void
rg_lreader_close(struct rg_lreader *r)
{
	if (r->fp)
		fclose(r->fp);
	free(r->next);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
