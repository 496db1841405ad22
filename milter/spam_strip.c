/*
 * spam_strip - see spam_strip.h.
 */
#include <string.h>
#include <strings.h>

#include "spam_strip.h"
#include "spam_hdr.h"
#include "util.h"

int
spam_strip_header(struct spam_strip *s, const char *name)
{
	int i;

	if (!spamhdr_is_ours(name))
		return 0;
	for (i = 0; i < s->n; i++)
		if (strcasecmp(s->h[i].name, name) == 0)
			break;
	if (i == s->n && (s->n == SPAM_STRIP_NAMES || strlen(name) >= sizeof(s->h[0].name))) {
		s->overflow = 1;
		return 1;
	}
	if (i == s->n) {
		rg_strlcpy(s->h[i].name, name, sizeof(s->h[0].name));
		s->n++;
	}
	s->h[i].count++;
	s->total++;
	return 1;
}

int
spam_strip_empty(const struct spam_strip *s)
{
	return s->n == 0 && !s->overflow;
}

void
spam_strip_guard(const struct spam_strip *s, struct scan_out *out)
{
	if (!s->overflow || out->action != SCAN_ACCEPT)
		return;
	out->action = SCAN_TEMPFAIL;
	rg_strlcpy(out->rcode, "451", sizeof(out->rcode));
	rg_strlcpy(out->xcode, "4.7.1", sizeof(out->xcode));
	rg_strlcpy(out->text, "Too many X-Spam headers in the message", sizeof(out->text));
}

void
spam_strip_apply(const struct spam_strip *s, SMFICTX *ctx)
{
	for (int i = 0; i < s->n; i++)
		for (int k = s->h[i].count; k >= 1; k--)
			smfi_chgheader(ctx, (char *)s->h[i].name, k, NULL);
}
