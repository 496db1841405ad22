/*
 * spamhdr - X-Spam-* header values in SpamAssassin's format; see spam_hdr.h
 * for the format, the "not scanned" marking and the folding rules.
 *
 * Trust boundary: tests, report, version and host may come from spamd or
 * from configuration; every byte is filtered to printable ASCII here before
 * it reaches a header value, whatever the caller already did.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spam_hdr.h"
#include "util.h"

#define TAB_COLS 8 /* a continuation line's tab, counted as 8 columns */
#define MAX_WORD 900 /* split longer words: keep lines far below 998 */
#define MAX_TESTS 4096 /* bytes of tests= taken from the caller */
#define MAX_TOKEN 255 /* bytes of version / host taken from the caller */
#define LIMIT 1000000000 /* |scores| are clamped to this */

struct sb {
	char *p;
	size_t len, cap;
};

static void
sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 128;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Tenths, rounded, with NaN/inf and absurd values tamed. */
static long long
tenths(double v)
{
	if (isnan(v))
		return 0;
	if (v > LIMIT)
		v = LIMIT;
	if (v < -LIMIT)
		v = -LIMIT;
	return llround(v * 10);
}

int
spamhdr_is_spam(double score, double required)
{
	return tenths(score) >= tenths(required);
}

char *
spamhdr_score(double score, char *buf, size_t size)
{
	long long t = tenths(score), a = t < 0 ? -t : t;

	snprintf(buf, size, "%s%lld.%lld", t < 0 ? "-" : "", a / 10, a % 10);
	return buf;
}

int
spamhdr_is_xspam(const char *name)
{
	return name != NULL && strncasecmp(name, "X-Spam-", 7) == 0;
}

int
spamhdr_is_ours(const char *name)
{
	return spamhdr_is_xspam(name) || (name != NULL && strcasecmp(name, SPAMHDR_SCAN_MARK) == 0);
}

/*
 * Copy at most max bytes of s into a new string, keeping bytes for which
 * keep() holds and turning every other byte into '?' (or, with breaks,
 * CR/LF into '\n' for the caller to split on). Tabs become blanks.
 */
static char *
filter(const char *s, size_t max, int (*keep)(int), int breaks)
{
	size_t n = s ? strnlen(s, max) : 0, i;
	char *d = xmalloc(n + 1);

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (breaks && (c == '\n' || c == '\r'))
			d[i] = '\n';
		else if (c == '\t')
			d[i] = ' ';
		else
			d[i] = keep(c) ? (char)c : '?';
	}
	d[n] = 0;
	return d;
}

static int
is_print(int c)
{
	return c >= 0x20 && c < 0x7f;
}

/* Rule names and commas; a blank would split "tests=" for header parsers. */
static int
is_test_char(int c)
{
	return is_print(c) && c != ' ' && c != ';' && c != '=';
}

static int
is_token_char(int c)
{
	return is_print(c) && c != ' ' && c != '(' && c != ')' && c != ';';
}

/*
 * Append s[0..n) (printable ASCII, one logical line) to b, folding with
 * "\n\t" after a ',' or in place of a run of blanks whenever the next word
 * would pass SPAMHDR_WIDTH. *col is the current column; *fresh says nothing
 * is on the current line yet, so no fold may come first.
 */
static void
fold_words(struct sb *b, const char *s, size_t n, size_t *col, int *fresh)
{
	size_t i = 0;

	while (i < n) {
		size_t ss = i, sep, cs;

		while (i < n && s[i] == ' ')
			i++;
		sep = i - ss;
		for (cs = i; i < n && s[i] != ' ' && i - cs < MAX_WORD;)
			if (s[i++] == ',')
				break;
		if (i == cs)
			break; /* trailing blanks */
		if (*fresh)
			sep = 0;
		else if (*col + sep + (i - cs) > SPAMHDR_WIDTH) {
			sb_add(b, "\n\t", 2);
			*col = TAB_COLS;
			sep = 0;
		}
		while (sep--) {
			sb_add(b, " ", 1);
			++*col;
		}
		sb_add(b, s + cs, i - cs);
		*col += i - cs;
		*fresh = 0;
	}
}

/* A one-line value, folded; the line starts after "Name: ". */
static char *
fold_value(const char *name, const char *s)
{
	struct sb b = {0};
	size_t col = strlen(name) + 2;
	int fresh = 1;

	sb_add(&b, "", 0);
	fold_words(&b, s, strlen(s), &col, &fresh);
	return b.p;
}

/*
 * The report as a folded value: one continuation line (or more, if long)
 * per report line; blank lines dropped; cut at a line, with a "[...]"
 * marker, at SPAMHDR_REPORT_MAX. NULL if nothing printable remains.
 */
static char *
fold_report(const char *name, const char *report)
{
	char *text = filter(report, SPAMHDR_REPORT_MAX * 4, is_print, 1), *line, *next;
	struct sb b = {0};
	size_t col = strlen(name) + 2;
	int fresh = 1;

	sb_add(&b, "", 0);
	for (line = text; line; line = next) {
		size_t n, before = b.len;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = 0;
		while (*line == ' ')
			line++;
		if ((n = strlen(line)) == 0)
			continue;
		if (b.len) {
			sb_add(&b, "\n\t", 2);
			col = TAB_COLS;
			fresh = 1;
		}
		fold_words(&b, line, n, &col, &fresh);
		if (b.len + 8 > SPAMHDR_REPORT_MAX) {
			b.len = before;
			b.p[b.len] = 0;
			sb_str(&b, before ? "\n\t[...]" : "[...]");
			break;
		}
	}
	free(text);
	if (b.len == 0)
		b.p = xfree(b.p);
	return b.p;
}

static void
add(struct spamhdr_set *out, const char *name, char *value)
{
	if (value == NULL || out->n >= SPAMHDR_MAX) {
		free(value);
		return;
	}
	out->f[out->n].name = name;
	out->f[out->n++].value = value;
}

static const char *const skip_reason[] = {
    [SPAMHDR_SKIP_TOO_LARGE] = "too-large",
    [SPAMHDR_SKIP_UNAVAILABLE] = "unavailable",
    [SPAMHDR_SKIP_ERROR] = "error",
};

void
spamhdr_build(const struct spamhdr_in *in, struct spamhdr_set *out)
{
	struct sb b = {0};
	char sc[32], rq[32], *v, *h;
	int spam;

	memset(out, 0, sizeof(*out));
	if (in->scan != SPAMHDR_SCANNED) {
		const char *why =
		    (unsigned)in->scan < sizeof(skip_reason) / sizeof(skip_reason[0]) && skip_reason[in->scan]
			? skip_reason[in->scan]
			: "error";

		sb_str(&b, "not scanned (");
		sb_str(&b, why);
		sb_str(&b, ")");
		add(out, SPAMHDR_SCAN_MARK, b.p);
		return;
	}
	spam = spamhdr_is_spam(in->score, in->required);
	v = filter(in->version, MAX_TOKEN, is_token_char, 0);
	h = filter(in->host, MAX_TOKEN, is_token_char, 0);

	/* X-Spam-Checker-Version: SpamAssassin [VERSION] [on HOST] */
	sb_str(&b, "SpamAssassin");
	if (*v)
		sb_str(&b, " "), sb_str(&b, v);
	if (*h)
		sb_str(&b, " on "), sb_str(&b, h);
	add(out, "X-Spam-Checker-Version", fold_value("X-Spam-Checker-Version", b.p));
	b.len = 0;

	if (spam)
		add(out, "X-Spam-Flag", xstrdup("YES"));

	/* X-Spam-Level: a star per whole point; empty below 1 (as SpamAssassin). */
	{
		long long t = tenths(in->score), stars = t >= 10 ? t / 10 : 0;
		char lv[SPAMHDR_LEVEL_MAX + 1];

		if (stars > SPAMHDR_LEVEL_MAX)
			stars = SPAMHDR_LEVEL_MAX;
		memset(lv, '*', (size_t)stars);
		lv[stars] = 0;
		add(out, "X-Spam-Level", xstrdup(lv));
	}

	/* X-Spam-Status: Yes, score=5.5 required=4.0 tests=A,B version=4.0.1 */
	sb_str(&b, spam ? "Yes, score=" : "No, score=");
	sb_str(&b, spamhdr_score(in->score, sc, sizeof(sc)));
	sb_str(&b, " required=");
	sb_str(&b, spamhdr_score(in->required, rq, sizeof(rq)));
	if (in->tests) {
		char *t = filter(in->tests, MAX_TESTS, is_test_char, 0);

		sb_str(&b, " tests=");
		sb_str(&b, *t ? t : "none");
		free(t);
	}
	if (*v)
		sb_str(&b, " version="), sb_str(&b, v);
	add(out, "X-Spam-Status", fold_value("X-Spam-Status", b.p));

	if (spam && in->report)
		add(out, "X-Spam-Report", fold_report("X-Spam-Report", in->report));
	free(b.p);
	free(v);
	free(h);
}

void
spamhdr_free(struct spamhdr_set *out)
{
	for (int i = 0; i < out->n; i++)
		out->f[i].value = xfree(out->f[i].value);
	out->n = 0;
}

const char *
spamhdr_get(const struct spamhdr_set *set, const char *name)
{
	for (int i = 0; i < set->n; i++)
		if (strcasecmp(set->f[i].name, name) == 0)
			return set->f[i].value;
	return NULL;
}
