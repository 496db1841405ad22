/*
 * spamd_reply - parse spamd's reply to a REPORT request (part of the spamd
 * module; see spam_spamd.h for the contract). Kept apart from the socket code so
 * it can be tested on byte buffers alone.
 *
 * Reply shape (SPAMD/1.1, answering SPAMC/1.5):
 *
 *	SPAMD/1.1 0 EX_OK\r\n
 *	Content-length: 973\r\n
 *	Spam: True ; 1000.0 / 5.0\r\n
 *	\r\n
 *	...report template text...
 *	 pts rule name              description
 *	---- ---------------------- ------------------------------
 *	-0.0 NO_RECEIVED            Informational: message has no Received headers
 *	 0.2 NORMAL_HTTP_TO_IP      URI: URI host has a public dotted-decimal IPv4
 *	                            address
 *	1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email
 *
 * or, on error, just "SPAMD/1.0 76 Bad header line: ...\r\n" and close.
 *
 * Trust boundary: every byte is untrusted; all scanning is bounded by len,
 * numbers are parsed by hand (no locale, no strtod surprises such as "nan"),
 * and everything copied out is reduced to printable ASCII.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spam_spamd.h"
#include "util.h"

#define MAX_HEADERS 64 /* response header lines we accept */
#define MAX_LINE 1024 /* one status/header line */
#define MAX_RULES 1024 /* rule names collected before sorting */
#define MAX_RULE_LEN 64 /* longer "names" are not rule names */

struct head {
	int code; /* EX_ code from the status line */
	const char *msg; /* status line message, not terminated */
	size_t msglen;
	char version[16];
	int have_clen;
	size_t clen;
	int have_spam;
	int is_spam;
	double score, threshold;
	size_t body_off; /* where the body starts */
};

/* Parse [-+]digits[.digits] from s[0..n); returns bytes used, 0 if none. */
static size_t
parse_decimal(const char *s, size_t n, double *out)
{
	size_t i = 0, digits = 0;
	double v = 0, scale = 1;
	int neg = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 12) {
		v = v * 10 + (s[i++] - '0');
		digits++;
	}
	if (i < n && s[i] >= '0' && s[i] <= '9')
		return 0; /* more than 12 integer digits: not a score */
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (scale < 1e12)
				v += (s[i] - '0') * (scale /= 10);
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return 0;
	*out = neg ? -v : v;
	return i;
}

static size_t
skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* "True ; 15.0 / 5.0" (REPORT_IFSPAM says Yes/No). Returns 0 if malformed. */
static int
parse_spam_value(const char *v, size_t n, struct head *h)
{
	size_t i = skip_blanks(v, n, 0), w = i, used;

	while (i < n && v[i] != ' ' && v[i] != '\t' && v[i] != ';')
		i++;
	if ((i - w == 4 && strncasecmp(v + w, "true", 4) == 0) ||
	    (i - w == 3 && strncasecmp(v + w, "yes", 3) == 0))
		h->is_spam = 1;
	else if ((i - w == 5 && strncasecmp(v + w, "false", 5) == 0) ||
		 (i - w == 2 && strncasecmp(v + w, "no", 2) == 0))
		h->is_spam = 0;
	else
		return 0;
	i = skip_blanks(v, n, i);
	if (i >= n || v[i++] != ';')
		return 0;
	i = skip_blanks(v, n, i);
	if ((used = parse_decimal(v + i, n - i, &h->score)) == 0)
		return 0;
	i = skip_blanks(v, n, i + used);
	if (i >= n || v[i++] != '/')
		return 0;
	i = skip_blanks(v, n, i);
	if ((used = parse_decimal(v + i, n - i, &h->threshold)) == 0)
		return 0;
	return skip_blanks(v, n, i + used) == n;
}

/* Next line of buf[*pos..len): sets start/length without "\r\n"; 0 if none. */
static int
next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *llen)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	*line = buf + *pos;
	nl = memchr(*line, '\n', len - *pos);
	if (nl == NULL)
		return 0;
	*llen = (size_t)(nl - *line);
	*pos += *llen + 1;
	if (*llen && (*line)[*llen - 1] == '\r')
		(*llen)--;
	return 1;
}

/*
 * Parse the status line and header block. Returns SPAMD_OK with h filled,
 * SPAMD_EPROTO with a reason in err (also for "not complete yet"), or
 * SPAMD_ESERVER / SPAMD_ETOOBIG.
 */
static enum spamd_status
scan_head(const char *buf, size_t len, struct head *h, char *err, size_t errlen)
{
	const char *line;
	size_t llen, pos = 0, i, v;
	int nhdr;

	memset(h, 0, sizeof(*h));
	if (!next_line(buf, len, &pos, &line, &llen) || llen > MAX_LINE) {
		snprintf(err, errlen, len ? "no complete status line" : "empty reply");
		return SPAMD_EPROTO;
	}
	if (llen < 6 || memcmp(line, "SPAMD/", 6) != 0) {
		snprintf(err, errlen, "reply does not start with SPAMD/");
		return SPAMD_EPROTO;
	}
	for (i = 6; i < llen && (line[i] == '.' || (line[i] >= '0' && line[i] <= '9')); i++)
		;
	if (i == 6 || i - 6 >= sizeof(h->version) || i >= llen || line[i] != ' ') {
		snprintf(err, errlen, "bad protocol version in status line");
		return SPAMD_EPROTO;
	}
	memcpy(h->version, line + 6, i - 6);
	i = skip_blanks(line, llen, i);
	for (v = i; i < llen && i - v < 4 && line[i] >= '0' && line[i] <= '9'; i++)
		h->code = h->code * 10 + (line[i] - '0');
	if (i == v || (i < llen && line[i] != ' ')) {
		snprintf(err, errlen, "bad code in status line");
		return SPAMD_EPROTO;
	}
	i = skip_blanks(line, llen, i);
	h->msg = line + i;
	h->msglen = llen - i;
	if (h->code != 0)
		return SPAMD_ESERVER;

	for (nhdr = 0;; nhdr++) {
		const char *colon;

		if (!next_line(buf, len, &pos, &line, &llen)) {
			snprintf(err, errlen, "reply ends inside its header block");
			return SPAMD_EPROTO;
		}
		if (llen == 0)
			break;
		if (nhdr >= MAX_HEADERS || llen > MAX_LINE) {
			snprintf(err, errlen, "reply header block too long");
			return SPAMD_EPROTO;
		}
		if ((colon = memchr(line, ':', llen)) == NULL || colon == line) {
			snprintf(err, errlen, "reply header line without a name");
			return SPAMD_EPROTO;
		}
		i = (size_t)(colon - line);
		v = skip_blanks(line, llen, i + 1);
		if (i == 14 && strncasecmp(line, "Content-length", 14) == 0) {
			size_t n = 0, d;

			/* Two would leave the body's end to whichever we read last. */
			if (h->have_clen) {
				snprintf(err, errlen, "reply has two Content-length headers");
				return SPAMD_EPROTO;
			}

			for (d = v; d < llen && line[d] >= '0' && line[d] <= '9' && n <= SPAMD_REPLY_MAX; d++)
				n = n * 10 + (size_t)(line[d] - '0');
			if (n > SPAMD_REPLY_MAX) {
				snprintf(err, errlen, "reply Content-length over %d bytes", SPAMD_REPLY_MAX);
				return SPAMD_ETOOBIG;
			}
			if (d == v || skip_blanks(line, llen, d) != llen) {
				snprintf(err, errlen, "bad Content-length in reply");
				return SPAMD_EPROTO;
			}
			h->have_clen = 1;
			h->clen = n;
		} else if (i == 4 && strncasecmp(line, "Spam", 4) == 0) {
			/* Two verdicts in one reply: which is spamd's? Neither. */
			if (h->have_spam) {
				snprintf(err, errlen, "reply has two Spam: headers");
				return SPAMD_EPROTO;
			}
			if (!parse_spam_value(line + v, llen - v, h)) {
				snprintf(err, errlen, "bad Spam: header in reply");
				return SPAMD_EPROTO;
			}
			h->have_spam = 1;
		}
		/* Other headers are as-yet-undefined: ignore them (PROTOCOL). */
	}
	h->body_off = pos;
	return SPAMD_OK;
}

int
spamd_reply_complete(const char *buf, size_t len)
{
	struct head h;
	char err[8];

	switch (scan_head(buf, len, &h, err, sizeof(err))) {
	case SPAMD_OK:
		return h.have_clen && len - h.body_off >= h.clen;
	case SPAMD_ESERVER:
		return 1; /* an EX_ error is one line; nothing follows it */
	default:
		return 0; /* other errors surface when the caller parses at EOF */
	}
}

struct rule {
	const char *name;
	size_t len;
};

static int
rule_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The ruler under " pts rule name  description": dashes and blanks only. */
static int
is_ruler(const char *s, size_t n)
{
	size_t i = skip_blanks(s, n, 0), run = 0, best = 0;

	if (n - i < 4 || memcmp(s + i, "----", 4) != 0)
		return 0;
	for (; i < n; i++) {
		if (s[i] == '-')
			best = ++run > best ? run : best;
		else if (s[i] == ' ')
			run = 0;
		else
			return 0;
	}
	/* SpamAssassin's preview deletes any run of 10+ dashes, so a message
	 * cannot forge this line ahead of the real table. */
	return best >= 10;
}

/* Append s[0..n) to dst (size cap, used *o) as printable ASCII; 0 if no room. */
static int
append_clean(char *dst, size_t cap, size_t *o, const char *s, size_t n)
{
	if (*o + n + 1 > cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[(*o)++] = (c >= 0x20 && c < 0x7f) ? (char)c : (c == '\t' ? ' ' : '?');
	}
	dst[*o] = 0;
	return 1;
}

/*
 * Append one terse report line made of n pieces joined by single blanks,
 * the format of SpamAssassin's _REPORT_ tag ("*  0.2 RULE desc" and
 * "*      more"). Stops for good, with a marker, when the next line would
 * not fit.
 */
static void
report_add(struct spamd_result *res, size_t *o, int *full, int n, const char *const *p, const size_t *l)
{
	static const char cut[] = "* [report truncated]";
	size_t need = (*o > 0), cap = sizeof(res->report);
	int i;

	if (*full)
		return;
	for (i = 0; i < n; i++)
		need += l[i] + (i > 0);
	if (*o + need + 1 + sizeof(cut) > cap) {
		*full = 1;
		if (*o)
			res->report[(*o)++] = '\n';
		append_clean(res->report, cap, o, cut, sizeof(cut) - 1);
		return;
	}
	if (*o)
		res->report[(*o)++] = '\n';
	for (i = 0; i < n; i++) {
		if (i)
			res->report[(*o)++] = ' ';
		append_clean(res->report, cap, o, p[i], l[i]);
	}
}

static int
is_rule_char(char c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * Is this a table row? Rows are "%4.1f %-22s desc" (or "%4.0f" for |pts| >=
 * 10): at most 3 blanks, a number, a blank, a rule name. Continuation lines
 * are indented by >= 27 blanks, so they never match.
 */
static int
parse_row(const char *line, size_t llen, size_t *ptsend, size_t *rs, size_t *re)
{
	size_t lead = skip_blanks(line, llen, 0), used, e;
	double pts;

	if (lead > 3 || (used = parse_decimal(line + lead, llen - lead, &pts)) == 0)
		return 0;
	*ptsend = lead + used;
	if (*ptsend >= llen || line[*ptsend] != ' ')
		return 0;
	*rs = skip_blanks(line, llen, *ptsend);
	for (e = *rs; e < llen && is_rule_char(line[e]); e++)
		;
	*re = e;
	return e > *rs && e - *rs <= MAX_RULE_LEN && (e == llen || line[e] == ' ');
}

static void
parse_table(const char *body, size_t len, struct spamd_result *res)
{
	struct rule rules[MAX_RULES];
	size_t nrules = 0, pos = 0, llen, ro = 0, to = 0, pe, rs, re, ds;
	const char *line, *p[4];
	size_t l[4];
	int in_table = 0, full = 0;

	while (pos < len) {
		if (!next_line(body, len, &pos, &line, &llen)) {
			line = body + pos; /* last line without '\n' */
			llen = len - pos;
			pos = len;
		}
		if (!in_table) {
			in_table = is_ruler(line, llen);
			continue;
		}
		ds = skip_blanks(line, llen, 0);
		if (ds == llen)
			break; /* the blank line that ends the table */
		if (parse_row(line, llen, &pe, &rs, &re) && pe - ds <= 16) {
			char pts[24];

			if (nrules < MAX_RULES) {
				rules[nrules].name = line + rs;
				rules[nrules++].len = re - rs;
			}
			/* "* " + score right-aligned in 4 + rule + description */
			snprintf(pts, sizeof(pts), "%4.*s", (int)(pe - ds), line + ds);
			p[0] = "*", l[0] = 1;
			p[1] = pts, l[1] = strlen(pts);
			p[2] = line + rs, l[2] = re - rs;
			ds = skip_blanks(line, llen, re);
			p[3] = line + ds, l[3] = llen - ds;
			report_add(res, &ro, &full, ds < llen ? 4 : 3, p, l);
			continue;
		}
		/* A wrapped description or a "[...]" detail line. */
		p[0] = "*     ", l[0] = 6; /* SpamAssassin's "*      " */
		p[1] = line + ds, l[1] = llen - ds;
		report_add(res, &ro, &full, 2, p, l);
	}
	res->tests_known = in_table;

	qsort(rules, nrules, sizeof(rules[0]), rule_cmp);
	for (size_t i = 0; i < nrules; i++) {
		if (i && rule_cmp(&rules[i], &rules[i - 1]) == 0)
			continue;
		if (to + (to > 0) + rules[i].len + 1 > sizeof(res->tests))
			break; /* cut at a whole name */
		if (to)
			res->tests[to++] = ',';
		memcpy(res->tests + to, rules[i].name, rules[i].len);
		to += rules[i].len;
		res->tests[to] = 0;
	}
}

enum spamd_status
spamd_parse_reply(const char *buf, size_t len, struct spamd_result *res)
{
	struct head h;
	char why[160];
	enum spamd_status st;

	memset(res, 0, sizeof(*res));
	res->status = SPAMD_EPROTO;
	if (len > SPAMD_REPLY_MAX) {
		snprintf(res->error, sizeof(res->error), "reply over %d bytes", SPAMD_REPLY_MAX);
		return res->status = SPAMD_ETOOBIG;
	}
	st = scan_head(buf, len, &h, why, sizeof(why));
	rg_strlcpy(res->version, h.version, sizeof(res->version));
	if (st == SPAMD_ESERVER) {
		char msg[160];

		res->ex_code = h.code;
		rg_sanitize(msg, sizeof(msg), h.msg, h.msglen);
		snprintf(res->error, sizeof(res->error), "spamd error %d: %s", h.code, msg);
		return res->status = st;
	}
	if (st != SPAMD_OK) {
		rg_strlcpy(res->error, why, sizeof(res->error));
		return res->status = st;
	}
	if (!h.have_spam) {
		snprintf(res->error, sizeof(res->error), "reply has no Spam: header");
		return res->status = SPAMD_EPROTO;
	}
	if (h.have_clen && len - h.body_off < h.clen) {
		snprintf(res->error, sizeof(res->error), "reply truncated: %zu of %zu body bytes",
			 len - h.body_off, h.clen);
		return res->status = SPAMD_EPROTO;
	}
	res->is_spam = h.is_spam;
	res->score = h.score;
	res->threshold = h.threshold;
	parse_table(buf + h.body_off, h.have_clen ? h.clen : len - h.body_off, res);
	return res->status = SPAMD_OK;
}
