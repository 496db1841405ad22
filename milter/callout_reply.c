/*
 * smtpreply - see callout_reply.h. The parser copies each line into a fixed
 * buffer, so memory per parser is constant whatever the server sends.
 */
#include <stdio.h>
#include <string.h>

#include "callout_reply.h"

static int
seterr(struct smtpreply_parser *p, const char *why)
{
	snprintf(p->err, sizeof(p->err), "%s", why);
	p->state = SMTPREPLY_ERROR;
	return SMTPREPLY_ERROR;
}

void
smtpreply_reset(struct smtpreply_parser *p)
{
	p->state = SMTPREPLY_MORE;
	p->linelen = 0;
	p->total = 0;
	p->err[0] = 0;
	p->reply.code = 0;
	p->reply.enh[0] = 0;
	p->reply.nlines = 0;
	p->reply.textlen = 0;
	p->reply.text[0] = 0;
}

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Length of an RFC 3463 status "c.sss.ddd" at s (class c when cls is not 0,
 * else any of 2/4/5) plus the white space after it; 0 if there is none. The
 * token must end at white space or at the end of the text, so "5.1.1x" is text.
 */
static size_t
enh_len(const char *s, size_t len, char cls)
{
	size_t i = 0, n;

	if (len < 5 || (cls ? s[0] != cls : (s[0] != '2' && s[0] != '4' && s[0] != '5')) || s[1] != '.')
		return 0;
	i = 2;
	for (n = 0; i < len && isdig(s[i]) && n < 3; i++, n++)
		;
	if (n == 0 || i >= len || s[i] != '.')
		return 0;
	i++;
	for (n = 0; i < len && isdig(s[i]) && n < 3; i++, n++)
		;
	/* Any white space ends it: oneline() reads "5.1.1\n" as a code too. */
	if (n == 0 || (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n'))
		return 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* One complete line of n bytes (terminator removed): 1 = last line, 0 = more follow, -1 = error. */
static int
parse_line(struct smtpreply_parser *p, size_t n)
{
	struct smtpreply *r = &p->reply;
	const char *l = p->line, *text;
	size_t tlen, e;
	int code, last;

	if (n < 3)
		return seterr(p, "short reply line"), -1;
	if (l[0] < '2' || l[0] > '5' || !isdig(l[1]) || !isdig(l[2]))
		return seterr(p, "malformed reply code"), -1;
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (r->nlines > 0 && code != r->code)
		return seterr(p, "reply code changed within a multi-line reply"), -1;
	if (r->nlines >= SMTPREPLY_LINES_MAX)
		return seterr(p, "too many lines in reply"), -1;
	if (n == 3) {
		last = 1;
	} else if (l[3] == ' ' || l[3] == '-') {
		last = l[3] == ' ';
	} else {
		return seterr(p, "no space or hyphen after reply code"), -1;
	}
	text = n > 4 ? l + 4 : "";
	tlen = n > 4 ? n - 4 : 0;
	e = enh_len(text, tlen, l[0]);
	if (e > 0 && r->nlines == 0) {
		size_t k = 0;

		while (k < e && k + 1 < sizeof(r->enh) && text[k] != ' ' && text[k] != '\t') {
			r->enh[k] = text[k];
			k++;
		}
		r->enh[k] = 0;
	}
	/* RFC 2034 repeats the status on every line; text only wants it once. */
	if (e > 0 && r->enh[0]) {
		text += e;
		tlen -= e;
	}
	r->code = code;
	if (r->nlines > 0 && r->textlen + 1 < sizeof(r->text))
		r->text[r->textlen++] = '\n';
	if (tlen > sizeof(r->text) - 1 - r->textlen)
		tlen = sizeof(r->text) - 1 - r->textlen; /* cannot happen: text < raw total */
	memcpy(r->text + r->textlen, text, tlen);
	r->textlen += tlen;
	r->text[r->textlen] = 0;
	r->nlines++;
	return last;
}

int
smtpreply_feed(struct smtpreply_parser *p, const char *buf, size_t len, size_t *used)
{
	size_t i;

	if (used)
		*used = 0;
	if (p->state == SMTPREPLY_ERROR)
		return SMTPREPLY_ERROR;
	if (p->state == SMTPREPLY_DONE)
		smtpreply_reset(p);
	for (i = 0; i < len; i++) {
		char c = buf[i];
		size_t n;
		int r;

		if (c == 0)
			return seterr(p, "NUL byte in reply");
		if (++p->total > SMTPREPLY_TOTAL_MAX)
			return seterr(p, "reply longer than 8192 bytes");
		if (c != '\n') {
			/* Keep room for the LF: a line is at most LINE_MAX bytes with it. */
			if (p->linelen >= SMTPREPLY_LINE_MAX - 1)
				return seterr(p, "reply line longer than 512 bytes");
			p->line[p->linelen++] = c;
			continue;
		}
		n = p->linelen;
		if (n > 0 && p->line[n - 1] == '\r')
			n--;
		p->linelen = 0;
		r = parse_line(p, n);
		if (r < 0)
			return SMTPREPLY_ERROR;
		if (r == 1) {
			if (used)
				*used = i + 1;
			p->state = SMTPREPLY_DONE;
			return SMTPREPLY_DONE;
		}
	}
	if (used)
		*used = len;
	return SMTPREPLY_MORE;
}

const struct smtpreply *
smtpreply_get(const struct smtpreply_parser *p)
{
	return p->state == SMTPREPLY_DONE ? &p->reply : NULL;
}

const char *
smtpreply_error(const struct smtpreply_parser *p)
{
	return p->state == SMTPREPLY_ERROR ? p->err : "";
}

static int
isws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of a reply code "550", "550 " or "550-" at s, else 0. */
static size_t
code_len(const char *s, size_t len)
{
	if (len < 3 || s[0] < '2' || s[0] > '5' || !isdig(s[1]) || !isdig(s[2]))
		return 0;
	if (len == 3)
		return 3;
	if (s[3] == ' ' || s[3] == '-')
		return 4;
	return isws(s[3]) ? 3 : 0;
}

char *
smtpreply_oneline(char *dst, size_t dstsize, const char *text, size_t len)
{
	size_t i = 0, o = 0, k;
	int space = 0;

	if (dstsize == 0)
		return dst;
	len = strnlen(text, len);
	/* Drop leading codes a server (or a cached summary) put in the text. */
	for (;;) {
		while (i < len && isws(text[i]))
			i++;
		if ((k = code_len(text + i, len - i)) == 0 && (k = enh_len(text + i, len - i, 0)) == 0)
			break;
		i += k;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (isws((char)c)) {
			space = 1;
			continue;
		}
		if (o + space + 1 > dstsize - 1) {
			/* Cut: say so, so a reader knows text is missing. */
			if (dstsize > 4) {
				o = o + 3 > dstsize - 1 ? dstsize - 4 : o;
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (space && o > 0)
			dst[o++] = ' ';
		space = 0;
		dst[o++] = (c >= 0x20 && c < 0x7f && c != '%') ? (char)c : '?';
	}
	dst[o] = 0;
	return dst;
}

char *
smtpreply_summary(char *dst, size_t dstsize, const struct smtpreply *r)
{
	int n;

	if (dstsize == 0)
		return dst;
	n = snprintf(dst, dstsize, "%d%s%s", r->code, r->enh[0] ? " " : "", r->enh);
	if (n < 0 || (size_t)n + 2 >= dstsize || r->textlen == 0)
		return dst;
	dst[n] = ' ';
	smtpreply_oneline(dst + n + 1, dstsize - (size_t)n - 1, r->text, r->textlen);
	if (dst[n + 1] == 0)
		dst[n] = 0; /* text was only codes/space */
	return dst;
}
