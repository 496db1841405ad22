/*
 * dynip - dynamic-IP detection from the reverse-DNS name; see dynip.h for the
 * rules and the contract.
 *
 * The heuristic works on the "host part" of the name: the name without its
 * registered domain (the last two labels, three under a two-level public
 * suffix such as co.uk), lower-cased, at most 255 bytes. Numbers and words in
 * the registered domain itself say nothing about the one host. Spotting the
 * client's address in it is ipname.c's job; the words are this file's.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "util.h"
#include "dynip.h"
#include "ipname.h"

#define DYNIP_NAME_MAX 255 /* longest DNS name we examine */
#define DYNIP_LINE_MAX 4096 /* longest pattern-file line */

struct dynip_pat {
	regex_t re;
	int negate; /* "!/re/": an exception */
	char *text; /* the regex as written, for reasons */
	char *why; /* reason text from the file, may be "" */
	char *where; /* "file:line" */
};

struct dynip {
	int npat;
	struct dynip_pat *pat;
};

/*
 * Words. Mode 'e': a whole letter run; 'p': a run starting with it; 's': a
 * run ending with it. strong: also counts with only the last octet nearby.
 */
struct dynip_word {
	const char *w;
	char mode;
	char strong;
};

static const struct dynip_word dyn_words[] = {
    {"dyn", 'p', 1},       {"dinamic", 'p', 1},    {"dhcp", 'p', 1},   {"dial", 'p', 1},
    {"ppp", 'p', 1},       {"pool", 'p', 1},       {"dsl", 's', 1},    {"dsl", 'p', 1},
    {"cable", 'e', 0},     {"catv", 'e', 0},       {"client", 'p', 0}, {"cust", 'p', 0},
    {"broadband", 'e', 0}, {"bredband", 'e', 0},   {"bb", 'e', 0},     {"cpe", 'e', 0},
    {"home", 'e', 0},      {"user", 'e', 0},       {"users", 'e', 0},  {"dip", 'e', 0},
    {"res", 'e', 0},       {"resid", 'p', 0},      {"hsd", 'e', 0},    {"cm", 'e', 0},
    {"modem", 'e', 0},     {"ftth", 'e', 0},       {"fttc", 'e', 0},   {"fttp", 'e', 0},
    {"fttb", 'e', 0},      {"fttx", 'e', 0},       {"fiber", 'e', 0},  {"fibre", 'e', 0},
    {"mobile", 'e', 0},    {"wireless", 'e', 0},   {"wifi", 'e', 0},   {"wlan", 'e', 0},
    {"lte", 'e', 0},       {"gprs", 'e', 0},       {"umts", 'e', 0},   {"cgnat", 'e', 0},
    {"nat", 'e', 0},       {"subscriber", 'p', 0}, {"abo", 'e', 0},    {"docsis", 'e', 0},
    {"adsl", 'e', 1},      {NULL, 0, 0},
};

static const struct dynip_word static_words[] = {
    {"static", 'p', 0},   {"fixed", 'e', 0}, {"mail", 'p', 0},    {"smtp", 'p', 0},
    {"mx", 'e', 0},       {"mta", 'e', 0},   {"relay", 'p', 0},   {"outbound", 'e', 0},
    {"server", 'e', 0},   {"srv", 'e', 0},   {"colo", 'e', 0},    {"dedicated", 'e', 0},
    {"business", 'e', 0}, {"biz", 'e', 0},   {"hosting", 'e', 0}, {NULL, 0, 0},
};

/* Second-level labels under which registered domains sit one level lower (co.uk). */
static const char *const sld_words[] = {"co",  "com", "net", "org", "ac", "gov",
					"edu", "ne",  "or",  "ad",  "go", NULL};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static void set_reason(char *reason, size_t reasonlen, const char *fmt, ...) RG_PRINTF(3, 4);

static void
set_reason(char *reason, size_t reasonlen, const char *fmt, ...)
{
	va_list ap;

	if (reason == NULL || reasonlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, reasonlen, fmt, ap);
	va_end(ap);
}

/* Lower-cased name into lc and its host part into h (both >= DYNIP_NAME_MAX+1). */
static void
host_part(const char *name, char *lc, char *h)
{
	size_t len = strlen(name);
	size_t dots[DYNIP_NAME_MAX + 1], nd = 0, cut, drop;

	memcpy(lc, name, len + 1);
	rg_lowercase(lc);
	if (len && lc[len - 1] == '.')
		lc[--len] = 0;
	for (size_t i = 0; i < len; i++)
		if (lc[i] == '.')
			dots[nd++] = i;
	/* nd+1 labels. Keep all but the registered domain; at least the first label. */
	drop = 2;
	if (nd >= 3 && len - dots[nd - 1] - 1 == 2) {
		size_t s = dots[nd - 2] + 1, l = dots[nd - 1] - s;

		for (int i = 0; sld_words[i]; i++)
			if (strlen(sld_words[i]) == l && memcmp(lc + s, sld_words[i], l) == 0)
				drop = 3;
	}
	if (nd >= drop)
		cut = dots[nd - drop];
	else
		cut = nd ? dots[0] : len;
	memcpy(h, lc, cut);
	h[cut] = 0;
}

static int
word_hit(const struct dynip_word *w, const char *run, size_t len)
{
	size_t wl = strlen(w->w);

	if (len < wl)
		return 0;
	switch (w->mode) {
	case 'e':
		return len == wl && memcmp(run, w->w, wl) == 0;
	case 'p':
		return memcmp(run, w->w, wl) == 0;
	default:
		return memcmp(run + len - wl, w->w, wl) == 0;
	}
}

/*
 * Find a letter run in s (up to end) that is a word of list; copy the run to
 * out (size DYNIP_NAME_MAX+1) and return 1, else 0. Tokens that are mostly an
 * encoded number ("p5b0c1a2f", length >= 8, hex after the first byte) are
 * skipped: their letters are digits, not words. strong_only: only words
 * marked strong count.
 */
static int
find_word(const struct dynip_word *list, const char *s, const char *end, int strong_only, char *out)
{
	while (s < end) {
		const char *t = s, *te, *r;
		int hexish = 1;

		while (t < end && !is_digit(*t) && !is_alpha(*t))
			t++;
		for (te = t; te < end && (is_digit(*te) || is_alpha(*te)); te++)
			if (te > t && !is_hex(*te))
				hexish = 0;
		s = te;
		if (te == t || (hexish && te - t >= 8))
			continue;
		for (r = t; r < te;) {
			const char *re = r;

			while (re < te && is_alpha(*re))
				re++;
			for (int i = 0; re > r && list[i].w; i++)
				if ((!strong_only || list[i].strong) &&
				    word_hit(&list[i], r, (size_t)(re - r))) {
					memcpy(out, r, (size_t)(re - r));
					out[re - r] = 0;
					return 1;
				}
			r = re;
			while (r < te && is_digit(*r))
				r++;
		}
	}
	return 0;
}

static enum dynip_class
heuristic(const char *lc, const char *h, const struct ipname_addr *a, char *reason, size_t reasonlen)
{
	const char *end = h + strlen(h);
	char sname[DYNIP_NAME_MAX + 1], w[DYNIP_NAME_MAX + 1], veto[DYNIP_NAME_MAX + 1];

	rg_sanitize(sname, sizeof(sname), lc, strlen(lc));
	if (!find_word(dyn_words, h, end, 0, w)) {
		set_reason(reason, reasonlen, "name %s has no dynamic-address word", sname);
		return DYNIP_STATIC;
	}
	if (find_word(static_words, h, end, 0, veto)) {
		set_reason(reason, reasonlen, "name %s has the server word \"%s\" (\"%s\" ignored)", sname,
			   veto, w);
		return DYNIP_STATIC;
	}
	if (ipname_embeds(h, a)) {
		set_reason(reason, reasonlen, "name %s embeds the client address and the word \"%s\"", sname,
			   w);
		return DYNIP_DYNAMIC;
	}
	if (find_word(dyn_words, h, h + strcspn(h, "."), 1, w) && ipname_has_last_octet(h, a)) {
		set_reason(reason, reasonlen, "name %s has the word \"%s\" and the client's last octet",
			   sname, w);
		return DYNIP_DYNAMIC;
	}
	set_reason(reason, reasonlen, "name %s does not embed the client address", sname);
	return DYNIP_STATIC;
}

enum dynip_class
dynip_check(const struct dynip *d, const char *client_name, const char *client_addr, char *reason,
	    size_t reasonlen)
{
	char lc[DYNIP_NAME_MAX + 1], h[DYNIP_NAME_MAX + 1], sname[DYNIP_NAME_MAX + 1];
	struct ipname_addr a;
	size_t len;

	if (reason && reasonlen)
		reason[0] = 0;
	if (client_name == NULL || *client_name == 0 || strcasecmp(client_name, "unknown") == 0) {
		set_reason(reason, reasonlen, "no reverse DNS name");
		return DYNIP_NO_RDNS;
	}
	len = strnlen(client_name, DYNIP_NAME_MAX + 1);
	if (len > DYNIP_NAME_MAX) {
		rg_sanitize(sname, 64, client_name, 60);
		set_reason(reason, reasonlen, "name %s... is overlong, not examined", sname);
		return DYNIP_STATIC;
	}
	host_part(client_name, lc, h);
	rg_sanitize(sname, sizeof(sname), lc, strlen(lc));
	for (int pass = 1; d && pass >= 0; pass--)
		for (int i = 0; i < d->npat; i++) {
			const struct dynip_pat *p = &d->pat[i];

			if (p->negate != pass || regexec(&p->re, lc, 0, NULL, 0) != 0)
				continue;
			if (*p->why)
				set_reason(reason, reasonlen, "name %s matches %s: %s", sname, p->where,
					   p->why);
			else
				set_reason(reason, reasonlen, "name %s matches /%s/ at %s", sname, p->text,
					   p->where);
			return pass ? DYNIP_STATIC : DYNIP_DYNAMIC;
		}
	if (client_addr == NULL || ipname_parse_addr(client_addr, &a) != 0) {
		set_reason(reason, reasonlen, "name %s: no usable client address", sname);
		return DYNIP_STATIC;
	}
	return heuristic(lc, h, &a, reason, reasonlen);
}

enum dynip_class
dynip_classify(const char *client_name, const char *client_addr, char *reason, size_t reasonlen)
{
	return dynip_check(NULL, client_name, client_addr, reason, reasonlen);
}

const char *
dynip_class_name(enum dynip_class c)
{
	switch (c) {
	case DYNIP_DYNAMIC:
		return "dynamic";
	case DYNIP_NO_RDNS:
		return "no-rdns";
	default:
		return "static";
	}
}

struct dynip *
dynip_new(void)
{
	return xcalloc(1, sizeof(struct dynip));
}

static void
pat_free(struct dynip_pat *p)
{
	regfree(&p->re);
	free(p->text);
	free(p->why);
	free(p->where);
}

/* Parse and compile one "[!]/regex/ [reason]" into p. */
static int
pat_parse(struct dynip_pat *p, const char *s, const char *file, int line, char *err, size_t errlen)
{
	char *re, *why;
	size_t o = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((p->negate = *s == '!'))
		s++;
	if (*s != '/') {
		snprintf(err, errlen, "%s:%d: expected /regex/ or !/regex/", file, line);
		return -1;
	}
	re = xmalloc(strlen(s) + 1);
	for (s++; *s && *s != '/'; s++) {
		if (*s == '\\' && s[1] == '/')
			s++; /* "\/" is a slash inside the regex */
		else if (*s == '\\' && s[1])
			re[o++] = *s++;
		re[o++] = *s;
	}
	re[o] = 0;
	for (size_t i = 0; i < o; i++)
		if ((unsigned char)re[i] < 0x20 || (unsigned char)re[i] >= 0x7f) {
			snprintf(err, errlen, "%s:%d: control or non-ASCII byte in regex", file, line);
			free(re);
			return -1;
		}
	if (*s != '/' || o == 0 || (s[1] && s[1] != ' ' && s[1] != '\t')) {
		snprintf(err, errlen, "%s:%d: %s", file, line,
			 *s != '/' ? "missing closing /"
			 : o == 0  ? "empty regex"
				   : "text right after the closing /");
		free(re);
		return -1;
	}
	if ((rc = regcomp(&p->re, re, REG_EXTENDED | REG_ICASE | REG_NOSUB)) != 0) {
		char msg[128];

		regerror(rc, &p->re, msg, sizeof(msg));
		snprintf(err, errlen, "%s:%d: bad regex /%s/: %s", file, line, re, msg);
		free(re);
		return -1;
	}
	why = xstrdup(s + 1);
	p->why = xstrdup(printable(rg_trim(why)));
	free(why);
	p->text = re;
	p->where = xmalloc(strlen(file) + 16);
	sprintf(p->where, "%s:%d", file, line);
	printable(p->where);
	return 0;
}

int
dynip_add_pattern(struct dynip *d, const char *text, const char *file, int line, char *err, size_t errlen)
{
	struct dynip_pat p;

	if (pat_parse(&p, text, file, line, err, errlen) < 0)
		return -1;
	d->pat = xrealloc(d->pat, (size_t)(d->npat + 1) * sizeof(*d->pat));
	d->pat[d->npat++] = p;
	return 0;
}

int
dynip_load_patterns(struct dynip *d, const char *path, char *err, size_t errlen)
{
	FILE *fp;
	char *line = xmalloc(DYNIP_LINE_MAX + 2);
	struct dynip tmp = {0, NULL};
	int lineno = 0, rc = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(line);
		return -1;
	}
	while (rc == 0 && fgets(line, DYNIP_LINE_MAX + 2, fp)) {
		size_t len = strlen(line);
		char *s;

		lineno++;
		if (len > DYNIP_LINE_MAX && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
				 DYNIP_LINE_MAX);
			rc = -1;
			break;
		}
		s = rg_trim(line);
		if (*s == 0 || *s == '#')
			continue;
		rc = dynip_add_pattern(&tmp, s, path, lineno, err, errlen);
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(fp);
	free(line);
	if (rc < 0) {
		for (int i = 0; i < tmp.npat; i++)
			pat_free(&tmp.pat[i]);
		free(tmp.pat);
		return -1;
	}
	d->pat = xrealloc(d->pat, (size_t)(d->npat + tmp.npat) * sizeof(*d->pat));
	memcpy(d->pat + d->npat, tmp.pat, (size_t)tmp.npat * sizeof(*d->pat));
	d->npat += tmp.npat;
	free(tmp.pat);
	return tmp.npat;
}

int
dynip_pattern_count(const struct dynip *d)
{
	return d ? d->npat : 0;
}

struct dynip *
dynip_free(struct dynip *d)
{
	if (d == NULL)
		return NULL;
	for (int i = 0; i < d->npat; i++)
		pat_free(&d->pat[i]);
	free(d->pat);
	free(d);
	return NULL;
}
