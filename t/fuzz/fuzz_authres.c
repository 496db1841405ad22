/*
 * fuzz_authres - which Authentication-Results headers a message brought
 * are "ours" (auth_msg_authserv_is, milter/auth_msg.c): those are deleted
 * so that no sender can forge our verdict.
 *
 * Input: a header value as the MTA hands it to the milter (a C string:
 * the input ends at its first NUL).
 *
 * The reference below is written from the grammar, not from auth_msg.c,
 * and is shaped differently: a recursive-descent parser over a cursor
 * that reads the start of the header the way RFC 8601 2.2 writes it,
 *
 *   authres-header = [CFWS] authserv-id [ CFWS authres-version ]
 *                    ( no-result / 1*resinfo ) ...
 *   authserv-id    = value                    ; RFC 2045: token / quoted-string
 *   authres-version = 1*DIGIT [CFWS]
 *
 * with RFC 5322 3.2.2 CFWS (FWS with a line break only when white space
 * follows it, ctext, quoted-pairs incl. obs-qp, comments nested to any
 * depth) and 3.2.4 quoted-string (the line break of a fold is not part of
 * the content, its white space is). A line break is CRLF or a bare LF:
 * the milter sees folded values with LF. Bytes >= 0x80 are ctext/qtext
 * (RFC 6532). It reads up to the ';' that must follow the id (and
 * version), and answers either "malformed" or the unquoted id.
 *
 * Properties, for our id "mx1.example.net", for an id taken from the input
 * (when it looks like a host name, what myhostname is), and for a near miss:
 *  - the reference reads id X and X is ours (ASCII letter case folded):
 *    auth_msg says ours (no forged verdict survives its spelling);
 *  - the reference reads a well-formed header with another id: auth_msg
 *    says not ours (another host's verdict is kept).
 * On a malformed value (an unterminated comment or quoted-string, a bare
 * CR, a control byte after the id, nothing after it...) no conforming
 * reader finds an authserv-id and either answer is acceptable; auth_msg is
 * deliberately lenient there (it deletes rather than keeps).
 */
#include <string.h>

#include "auth_msg.h"
#include "fuzz.h"

#define FR_DEPTH_MAX 400 /* deeper comments: the reference gives up (malformed) */

struct fr {
	const unsigned char *s;
	size_t n, i; /* input, its length, the cursor */
	char *out;
	size_t outsize, outlen; /* the id being read (unquoted) */
	int overflow;
};

static int
fr_peek(const struct fr *p, size_t ahead)
{
	return p->i + ahead < p->n ? p->s[p->i + ahead] : -1;
}

static int
fr_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Length of a line break at the cursor + ahead: CRLF 2, LF 1, else 0. */
static size_t
fr_linebreak(const struct fr *p, size_t ahead)
{
	if (fr_peek(p, ahead) == '\r' && fr_peek(p, ahead + 1) == '\n')
		return 2;
	return fr_peek(p, ahead) == '\n' ? 1 : 0;
}

static void
fr_emit(struct fr *p, int c)
{
	if (p->outlen + 1 >= p->outsize) {
		p->overflow = 1;
		return;
	}
	p->out[p->outlen++] = (char)c;
}

/*
 * FWS = ([*WSP CRLF] 1*WSP) / obs-FWS: white space, where a line break
 * counts only when white space follows it. keep: emit the white space
 * (inside a quoted-string; the line break is never content). Returns the
 * number of bytes taken.
 */
static size_t
fr_fws(struct fr *p, int keep)
{
	size_t start = p->i, lb;

	for (;;) {
		if (fr_is_wsp(fr_peek(p, 0))) {
			if (keep)
				fr_emit(p, fr_peek(p, 0));
			p->i++;
		} else if ((lb = fr_linebreak(p, 0)) > 0 && fr_is_wsp(fr_peek(p, lb))) {
			p->i += lb;
		} else {
			return p->i - start;
		}
	}
}

/* quoted-pair = "\" (VCHAR / WSP) / obs-qp: "\" then any US-ASCII byte. */
static int
fr_quoted_pair(struct fr *p, int keep)
{
	int c = fr_peek(p, 1);

	if (fr_peek(p, 0) != '\\' || c < 0 || c >= 0x80)
		return 0;
	if (keep)
		fr_emit(p, c);
	p->i += 2;
	return 1;
}

/* ctext = %d33-39 / %d42-91 / %d93-126 / obs-NO-WS-CTL / UTF8-non-ascii */
static int
fr_is_ctext(int c)
{
	if (c < 0)
		return 0;
	if (c >= 0x80 || (c >= 33 && c <= 126))
		return c != '(' && c != ')' && c != '\\';
	/* obs-NO-WS-CTL: %d1-8 / %d11 / %d12 / %d14-31 / %d127 */
	return (c >= 1 && c <= 8) || c == 11 || c == 12 || (c >= 14 && c <= 31) || c == 127;
}

/* comment = "(" *([FWS] ccontent) [FWS] ")"; ccontent = ctext / quoted-pair / comment */
static int
fr_comment(struct fr *p, int depth)
{
	if (fr_peek(p, 0) != '(' || depth > FR_DEPTH_MAX)
		return 0;
	p->i++;
	for (;;) {
		int c;

		(void)fr_fws(p, 0);
		c = fr_peek(p, 0);
		if (c == ')') {
			p->i++;
			return 1;
		}
		if (c == '(') {
			if (!fr_comment(p, depth + 1))
				return 0;
		} else if (c == '\\') {
			if (!fr_quoted_pair(p, 0))
				return 0;
		} else if (fr_is_ctext(c)) {
			p->i++;
		} else {
			return 0; /* the end, or a CR/LF that is no fold */
		}
	}
}

/* CFWS = (1*([FWS] comment) [FWS]) / FWS, or nothing. Returns -1 when a
 * comment is malformed, else the bytes taken. */
static long
fr_cfws(struct fr *p)
{
	size_t start = p->i;

	for (;;) {
		(void)fr_fws(p, 0);
		if (fr_peek(p, 0) != '(')
			return (long)(p->i - start);
		if (!fr_comment(p, 0))
			return -1;
	}
}

/* token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials> (RFC 2045 5.1) */
static int
fr_is_token_char(int c)
{
	static const char tspecials[] = "()<>@,;:\\\"/[]?=";

	return c > 32 && c < 127 && memchr(tspecials, c, sizeof(tspecials) - 1) == NULL;
}

/* qtext = %d33 / %d35-91 / %d93-126 / obs-NO-WS-CTL / UTF8-non-ascii */
static int
fr_is_qtext(int c)
{
	return c >= 0 && c != '"' && c != '\\' && (fr_is_ctext(c) || c == '(' || c == ')');
}

/* quoted-string = DQUOTE *([FWS] qcontent) [FWS] DQUOTE (CFWS around: the caller's) */
static int
fr_quoted_string(struct fr *p)
{
	if (fr_peek(p, 0) != '"')
		return 0;
	p->i++;
	for (;;) {
		int c;

		(void)fr_fws(p, 1);
		c = fr_peek(p, 0);
		if (c == '"') {
			p->i++;
			return 1;
		}
		if (c == '\\') {
			if (!fr_quoted_pair(p, 1))
				return 0;
		} else if (fr_is_qtext(c)) {
			fr_emit(p, c);
			p->i++;
		} else {
			return 0;
		}
	}
}

/*
 * The authserv-id of the header value s[0..n) into out (unquoted, NUL
 * ended). Returns its length, or -1 when the value is malformed up to the
 * ';' that must follow the id and optional version.
 */
static long
fr_authserv_id(const unsigned char *s, size_t n, char *out, size_t outsize)
{
	struct fr p = {.s = s, .n = n, .out = out, .outsize = outsize};
	long sp;

	if (fr_cfws(&p) < 0)
		return -1;
	if (fr_peek(&p, 0) == '"') {
		if (!fr_quoted_string(&p))
			return -1;
	} else {
		while (fr_is_token_char(fr_peek(&p, 0)))
			fr_emit(&p, p.s[p.i++]);
		if (p.outlen == 0)
			return -1;
	}
	if (p.overflow)
		return -1;
	out[p.outlen] = 0;
	if ((sp = fr_cfws(&p)) < 0)
		return -1;
	if (sp > 0 && fr_peek(&p, 0) >= '0' && fr_peek(&p, 0) <= '9') {
		while (fr_peek(&p, 0) >= '0' && fr_peek(&p, 0) <= '9')
			p.i++;
		if (fr_cfws(&p) < 0)
			return -1;
	}
	return fr_peek(&p, 0) == ';' ? (long)p.outlen : -1;
}

/* ASCII letter case folded equality (a host name compares that way). */
static int
fr_same(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
		if (x == 0)
			return 1;
	}
}

/* What myhostname can be: letters, digits, '-', '_', '.', 1..253 bytes. */
static int
fr_hostlike(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= 253 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

static void
fr_check(const char *ours, const char *id, const char *v)
{
	int is = auth_msg_authserv_is(ours, v);

	if (fr_same(id, ours))
		FUZZ_ASSERT(is, "a header RFC 8601 reads as %s's is not deleted: \"%.300s\"", ours, v);
	else
		FUZZ_ASSERT(!is, "%s's header (RFC 8601 reads id \"%.100s\") is deleted: \"%.300s\"", ours,
			    id, v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char v[2048], id[512], near[300];
	long n;

	if (size >= sizeof(v))
		return 0;
	memcpy(v, data, size);
	v[size] = 0;
	if ((n = fr_authserv_id((const unsigned char *)v, strlen(v), id, sizeof(id))) < 0) {
		(void)auth_msg_authserv_is("mx1.example.net", v); /* either answer; must not crash */
		return 0;
	}
	fr_check("mx1.example.net", id, v);
	if (fr_hostlike(id)) {
		fr_check(id, id, v);
		/* A near miss: one byte longer, or the last byte changed. */
		snprintf(near, sizeof(near), "%sx", id);
		fr_check(near, id, v);
		snprintf(near, sizeof(near), "%s", id);
		near[n - 1] = near[n - 1] == '0' ? '1' : '0';
		fr_check(near, id, v);
	}
	return 0;
}
