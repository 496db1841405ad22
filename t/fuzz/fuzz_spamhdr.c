/*
 * fuzz_spamhdr - spamd's reply parser (spamd_parse_reply, milter/spam_spamd_reply.c)
 * and the X-Spam-* header builder (milter/spam_hdr.c) behind it, as the
 * milter's scan step uses them (milter/spam_scan.c).
 *
 * Input: byte 0 picks the mode and the class's required score.
 *   mode "reply" (bit 0 clear): the rest is spamd's whole reply to REPORT;
 *     a parsed reply goes through spamhdr_build as scan.c passes it.
 *   mode "raw" (bit 0 set): 8 bytes of score (any double, NaN included),
 *     then tests and report separated by a NUL, straight into spamhdr_build
 *     (its contract reduces any text to printable ASCII itself).
 *
 * Properties:
 *   - a parsed result holds printable text only (report: plus '\n'),
 *     NUL-terminated within its arrays; an error has a printable reason;
 *   - no header value can start a new header or end the header block:
 *     no CR, no NUL, every LF followed by a space or tab and then by
 *     something that is not white space;
 *   - no line exceeds 998 bytes ("Name: " included on the first line);
 *   - the verdict headers agree: X-Spam-Flag exactly when spamhdr_is_spam(),
 *     X-Spam-Status starts with "Yes," or "No," to match, at most 50 stars;
 *   - a message not scanned gets only the X-Relayguard-Scan mark.
 */
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "spam_spamd.h"
#include "spam_hdr.h"

static void
fh_printable(const char *what, const char *s, size_t cap, int nl_ok)
{
	size_t n = strnlen(s, cap);

	FUZZ_ASSERT(n < cap, "%s not NUL-terminated within %zu bytes", what, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		FUZZ_ASSERT((c >= 0x20 && c < 0x7f) || (nl_ok && c == '\n'), "%s: byte 0x%02x at %zu", what,
			    c, i);
	}
}

/* One header: the lines Postfix's cleanup would write for it. */
static void
fh_header(const struct spamhdr_field *f)
{
	const char *v = f->value, *line = v;
	size_t col = strlen(f->name) + 2;

	FUZZ_ASSERT(spamhdr_is_ours(f->name), "header %s is not one of ours", f->name);
	FUZZ_ASSERT(v != NULL, "%s without a value", f->name);
	for (const char *p = v;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == 0 || c == '\n') {
			size_t len = col + (size_t)(p - line);

			FUZZ_ASSERT(len <= 998, "%s: a line of %zu bytes", f->name, len);
			if (c == 0)
				break;
			FUZZ_ASSERT(p[1] == ' ' || p[1] == '\t',
				    "%s: a line feed not followed by white space (a new header)", f->name);
			FUZZ_ASSERT(strspn(p + 1, " \t") < strcspn(p + 1, "\n"),
				    "%s: a blank continuation line (ends the header block)", f->name);
			line = p + 1;
			col = 0;
			continue;
		}
		FUZZ_ASSERT(c != '\r', "%s: a carriage return in the value", f->name);
		FUZZ_ASSERT((c >= 0x20 && c < 0x7f) || c == '\t', "%s: byte 0x%02x in the value", f->name, c);
	}
}

static void
fh_build(const struct spamhdr_in *in)
{
	struct spamhdr_set set;
	const char *st, *lv, *rp;
	int spam = spamhdr_is_spam(in->score, in->required);

	spamhdr_build(in, &set);
	FUZZ_ASSERT(set.n >= 1 && set.n <= SPAMHDR_MAX, "%d headers", set.n);
	for (int i = 0; i < set.n; i++)
		fh_header(&set.f[i]);
	if (in->scan != SPAMHDR_SCANNED) {
		FUZZ_ASSERT(set.n == 1 && strcasecmp(set.f[0].name, SPAMHDR_SCAN_MARK) == 0,
			    "not scanned, yet %d headers (%s)", set.n, set.f[0].name);
		spamhdr_free(&set);
		return;
	}
	st = spamhdr_get(&set, "X-Spam-Status");
	lv = spamhdr_get(&set, "X-Spam-Level");
	rp = spamhdr_get(&set, "X-Spam-Report");
	FUZZ_ASSERT(st && strncmp(st, spam ? "Yes," : "No,", spam ? 4 : 3) == 0,
		    "X-Spam-Status \"%.40s\" for spam=%d", st ? st : "(none)", spam);
	FUZZ_ASSERT((spamhdr_get(&set, "X-Spam-Flag") != NULL) == spam, "X-Spam-Flag disagrees with spam=%d",
		    spam);
	FUZZ_ASSERT(lv && strlen(lv) <= SPAMHDR_LEVEL_MAX && strspn(lv, "*") == strlen(lv),
		    "X-Spam-Level \"%s\"", lv ? lv : "(none)");
	FUZZ_ASSERT(rp == NULL || strlen(rp) <= SPAMHDR_REPORT_MAX, "X-Spam-Report of %zu bytes", strlen(rp));
	spamhdr_free(&set);
	FUZZ_ASSERT(set.n == 0, "spamhdr_free left %d headers", set.n);
}

static void
fh_reply(const char *d, size_t n, double required)
{
	static struct spamd_result r;
	struct spamhdr_in in;
	enum spamd_status st = spamd_parse_reply(d, n, &r);

	FUZZ_ASSERT(st == r.status && (unsigned)st <= SPAMD_EINVAL, "status %d", (int)st);
	fh_printable("error", r.error, sizeof(r.error), 0);
	fh_printable("version", r.version, sizeof(r.version), 0);
	fh_printable("tests", r.tests, sizeof(r.tests), 0);
	fh_printable("report", r.report, sizeof(r.report), 1);
	FUZZ_ASSERT(st == SPAMD_OK || r.error[0], "status %s without a reason", spamd_strstatus(st));
	/* Completion on every prefix must not read past it. */
	for (size_t k = 0; k <= n; k += 1 + n / 16)
		(void)spamd_reply_complete(d, k);
	FUZZ_ASSERT(spamd_reply_complete(d, n) >= 0, "completion");
	memset(&in, 0, sizeof(in));
	in.required = required;
	in.host = "mx1.example.net";
	if (st != SPAMD_OK) {
		in.scan = st == SPAMD_ETOOBIG ? SPAMHDR_SKIP_TOO_LARGE : SPAMHDR_SKIP_ERROR;
		fh_build(&in);
		return;
	}
	in.scan = SPAMHDR_SCANNED;
	in.score = r.score;
	in.tests = r.tests_known ? r.tests : NULL;
	in.report = r.report;
	fh_build(&in);
	in.version = "4.0.1";
	in.host = NULL;
	fh_build(&in);
}

static void
fh_raw(const char *d, size_t n, double required)
{
	static char buf[70000];
	struct spamhdr_in in;
	char *nul;

	if (n < 8 || n - 8 >= sizeof(buf))
		return;
	memset(&in, 0, sizeof(in));
	memcpy(&in.score, d, 8);
	memcpy(buf, d + 8, n - 8);
	buf[n - 8] = 0;
	in.scan = SPAMHDR_SCANNED;
	in.required = required;
	in.tests = buf;
	in.report = NULL;
	if ((nul = memchr(buf, 0, n - 8)) != NULL && nul < buf + n - 8)
		in.report = nul + 1;
	in.version = "4.0.1";
	in.host = "mx1.example.net";
	fh_build(&in);
	in.tests = NULL; /* rule list unknown */
	fh_build(&in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double required;

	if (size < 1 || size > SPAMD_REPLY_MAX + 2)
		return 0;
	/* spam_tag_score's range in tenths: -6.4 .. 6.3 here, 4.0 at 0x50. */
	required = ((int)(data[0] >> 1) - 40) / 10.0 + 4.0;
	if (data[0] & 1)
		fh_raw((const char *)data + 1, size - 1, required);
	else
		fh_reply((const char *)data + 1, size - 1, required);
	return 0;
}
