/*
 * fuzz_smtpreply - the SMTP reply parser (milter/callout_reply.c) fed the same
 * bytes three ways: all at once, one byte at a time, and in random chunks
 * (as a downstream's TCP segments arrive), pipelined replies included.
 *
 * Input: byte 0 seeds the chunk sizes and picks the summary buffer size; the
 * rest is what a downstream SMTP server sends.
 *
 * Properties:
 *   - chunking changes nothing: the same replies (code, enhanced code,
 *     lines, text) end at the same byte, and the same final state;
 *   - each reply is well formed: code 200..599, 1..SMTPREPLY_LINES_MAX
 *     lines, textlen == strlen(text), an enhanced code of the reply's class;
 *   - smtpreply_summary() and smtpreply_oneline() give one printable line
 *     without '%' that fits the buffer, and oneline is idempotent on what
 *     it did not cut.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "callout_reply.h"

#define FS_MAX_REPLIES 1024

struct fs_run {
	int n; /* complete replies */
	size_t end[FS_MAX_REPLIES]; /* byte offset after each */
	struct smtpreply r[8]; /* the first few, compared in full */
	unsigned long long hash[FS_MAX_REPLIES]; /* every one, compared by hash */
	int final; /* MORE or ERROR after the last byte */
	size_t errat; /* offset at which ERROR was returned */
};

static unsigned long long
fs_hash(const struct smtpreply *r)
{
	unsigned long long h =
	    1469598103934665603ULL ^ (unsigned)r->code ^ ((unsigned long long)r->nlines << 20);

	for (size_t i = 0; i < r->textlen; i++)
		h = (h ^ (unsigned char)r->text[i]) * 1099511628211ULL;
	for (const char *e = r->enh; *e; e++)
		h = (h ^ (unsigned char)*e) * 1099511628211ULL;
	return h;
}

static void
fs_check_reply(const struct smtpreply *r)
{
	char sum[SMTPREPLY_ONELINE_MAX + 40];

	FUZZ_ASSERT(r->code >= 200 && r->code <= 599, "code %d", r->code);
	FUZZ_ASSERT(r->nlines >= 1 && r->nlines <= SMTPREPLY_LINES_MAX, "%d lines", r->nlines);
	FUZZ_ASSERT(r->textlen == strlen(r->text) && r->textlen < sizeof(r->text), "textlen %zu, strlen %zu",
		    r->textlen, strlen(r->text));
	if (r->enh[0]) {
		FUZZ_ASSERT(r->enh[0] == '0' + r->code / 100 && r->enh[1] == '.', "enhanced code %s for %d",
			    r->enh, r->code);
		FUZZ_ASSERT(strspn(r->enh, "0123456789.") == strlen(r->enh), "enhanced code \"%s\"", r->enh);
	}
	smtpreply_summary(sum, sizeof(sum), r);
	FUZZ_ASSERT(strlen(sum) < sizeof(sum), "summary overflows");
	FUZZ_ASSERT(!fuzz_has_ctl(sum, strlen(sum)) && strchr(sum, '%') == NULL, "summary \"%s\"", sum);
	FUZZ_ASSERT(atoi(sum) == r->code, "summary \"%s\" for code %d", sum, r->code);
}

/* Feed d[0..n) in chunks of the sizes next() gives (0 = everything left). */
static void
fs_run(struct smtpreply_parser *p, const char *d, size_t n, unsigned seed, int mode, struct fs_run *out)
{
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	smtpreply_reset(p);
	out->final = SMTPREPLY_MORE;
	while (pos < n) {
		size_t len = n - pos, used = 0;
		int st;

		if (mode == 1)
			len = 1;
		else if (mode == 2) {
			seed = seed * 1103515245u + 12345u;
			len = 1 + (seed >> 8) % 97;
			if (len > n - pos)
				len = n - pos;
		}
		st = smtpreply_feed(p, d + pos, len, &used);
		FUZZ_ASSERT(used <= len, "used %zu of %zu", used, len);
		if (st == SMTPREPLY_ERROR) {
			FUZZ_ASSERT(smtpreply_get(p) == NULL && *smtpreply_error(p),
				    "ERROR without a reason");
			FUZZ_ASSERT(!fuzz_has_ctl(smtpreply_error(p), strlen(smtpreply_error(p))), "reason");
			out->final = SMTPREPLY_ERROR;
			out->errat = pos + used;
			return;
		}
		if (st == SMTPREPLY_DONE) {
			const struct smtpreply *r = smtpreply_get(p);

			FUZZ_ASSERT(r != NULL && used >= 1, "DONE without a reply");
			if (out->n < FS_MAX_REPLIES) {
				if (out->n < 8)
					out->r[out->n] = *r;
				out->hash[out->n] = fs_hash(r);
				out->end[out->n] = pos + used;
			}
			out->n++;
			if (mode == 0)
				fs_check_reply(r);
		} else {
			FUZZ_ASSERT(used == len, "MORE with %zu of %zu bytes used", used, len);
			FUZZ_ASSERT(smtpreply_get(p) == NULL, "a reply after MORE");
		}
		pos += used;
	}
}

static void
fs_same(const struct fs_run *a, const struct fs_run *b, const char *how)
{
	FUZZ_ASSERT(a->n == b->n, "%s: %d replies, all at once %d", how, b->n, a->n);
	FUZZ_ASSERT(a->final == b->final, "%s: final state %d, all at once %d", how, b->final, a->final);
	for (int i = 0; i < a->n && i < FS_MAX_REPLIES; i++) {
		FUZZ_ASSERT(a->end[i] == b->end[i], "%s: reply %d ends at %zu, all at once at %zu", how, i,
			    b->end[i], a->end[i]);
		FUZZ_ASSERT(a->hash[i] == b->hash[i], "%s: reply %d differs", how, i);
		if (i < 8)
			FUZZ_ASSERT(a->r[i].code == b->r[i].code && strcmp(a->r[i].enh, b->r[i].enh) == 0 &&
					a->r[i].nlines == b->r[i].nlines &&
					strcmp(a->r[i].text, b->r[i].text) == 0,
				    "%s: reply %d differs", how, i);
	}
	/* An error may be noticed at a different byte only if it is the same error. */
}

static void
fs_oneline(const char *d, size_t n, size_t size)
{
	char a[600], b[600];

	smtpreply_oneline(a, size, d, n);
	FUZZ_ASSERT(strlen(a) < size, "oneline wrote %zu bytes into %zu", strlen(a), size);
	FUZZ_ASSERT(!fuzz_has_ctl(a, strlen(a)) && strchr(a, '%') == NULL, "oneline \"%s\"", a);
	FUZZ_ASSERT(a[0] != ' ' && (strlen(a) == 0 || a[strlen(a) - 1] != ' '), "oneline \"%s\" not trimmed",
		    a);
	if (strlen(a) + 1 < size - 3) {
		smtpreply_oneline(b, size, a, strlen(a));
		FUZZ_ASSERT(strcmp(a, b) == 0, "oneline not idempotent: \"%s\" -> \"%s\"", a, b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtpreply_parser p;
	static struct fs_run whole, bytes, chunks;
	const char *d = (const char *)data + 1;
	size_t n;

	if (size < 1 || size > 3 * SMTPREPLY_TOTAL_MAX)
		return 0;
	n = size - 1;
	fs_run(&p, d, n, data[0], 0, &whole);
	fs_run(&p, d, n, data[0], 1, &bytes);
	fs_run(&p, d, n, data[0] * 2654435761u, 2, &chunks);
	fs_same(&whole, &bytes, "byte by byte");
	fs_same(&whole, &chunks, "in chunks");
	fs_oneline(d, n, 5 + data[0] % 250);
	fs_oneline(d, n, SMTPREPLY_ONELINE_MAX);
	return 0;
}
