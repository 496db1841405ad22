/*
 * fuzz_clamd - clamd's reply to INSTREAM (clamd_parse_reply, the milter's
 * virus_clamd module): "stream: OK", "stream: <signature> FOUND",
 * "<text> ERROR", or anything clamd (or whoever answers) sends.
 *
 * Input: the reply as read, up to its NUL (z-commands end with one).
 *
 * Properties:
 *   - a virus is reported only for a reply that says FOUND (a 5xx follows,
 *     and 5xx only on a positive finding), clean only for one that says OK;
 *   - the signature, echoed in an SMTP reply and a log, is non-empty, cut
 *     to CLAMD_SIG_MAX and made of [A-Za-z0-9._:+/-] only;
 *   - every other outcome is an error with a printable reason.
 */
#include <string.h>

#include "fuzz.h"
#include "virus_clamd.h"

/* Does text (white space trimmed at the end) end with word? */
static int
fz_ends(const char *t, const char *word)
{
	size_t n = strlen(t), w = strlen(word);

	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r' || t[n - 1] == '\n'))
		n--;
	return n >= w && memcmp(t + n - w, word, w) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char reply[CLAMD_REPLY_MAX + 1];
	struct clamd_result r;
	enum clamd_status st;
	size_t n = size < CLAMD_REPLY_MAX ? size : CLAMD_REPLY_MAX;

	memcpy(reply, data, n);
	reply[n] = 0;
	memset(&r, 0x5a, sizeof(r));
	st = clamd_parse_reply(reply, &r);
	FUZZ_ASSERT(st == r.status, "returned %d, stored %d", (int)st, (int)r.status);
	FUZZ_ASSERT(strnlen(r.error, sizeof(r.error)) < sizeof(r.error), "error not terminated");
	FUZZ_ASSERT(!fuzz_has_ctl(r.error, strlen(r.error)), "error \"%s\"", r.error);
	switch (st) {
	case CLAMD_FOUND: {
		size_t sl = strnlen(r.signature, sizeof(r.signature));

		FUZZ_ASSERT(fz_ends(reply, "FOUND"), "a virus in a reply that does not say FOUND: \"%.100s\"",
			    reply);
		FUZZ_ASSERT(sl > 0 && sl < CLAMD_SIG_MAX, "signature of %zu bytes", sl);
		FUZZ_ASSERT(strspn(r.signature,
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:+/-") ==
				sl,
			    "signature \"%s\"", r.signature);
		break;
	}
	case CLAMD_CLEAN:
		FUZZ_ASSERT(fz_ends(reply, "OK"), "clean for a reply that does not say OK: \"%.100s\"",
			    reply);
		break;
	case CLAMD_EPROTO:
	case CLAMD_ESERVER:
		FUZZ_ASSERT(r.error[0], "status %s without a reason", clamd_strstatus(st));
		break;
	default:
		FUZZ_ASSERT(0, "status %d from a parser that does no I/O", (int)st);
	}
	return 0;
}
