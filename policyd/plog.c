/*
 * plog - see plog.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plog.h"

const char *
plog_qid(const struct preq *q, char *buf, size_t len)
{
	const char *id = preq_get(q, PREQ_QUEUE_ID);
	size_t o = 0;

	for (; *id && o + 1 < len && o < 32; id++)
		if (isalnum((unsigned char)*id))
			buf[o++] = *id;
	buf[o] = 0;
	if (o == 0)
		snprintf(buf, len, "NOQUEUE");
	return buf;
}

char *
plog_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (len < 3) {
		if (len)
			buf[0] = 0;
		return buf;
	}
	buf[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int esc = c == '"' || c == '\\';

		if (o + (size_t)esc + 2 >= len)
			break;
		if (esc)
			buf[o++] = '\\';
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	buf[o++] = '"';
	buf[o] = 0;
	return buf;
}

/* "4.7.1 " at s: its length without the space, else 0. */
static size_t
plog_dsn_len(const char *s)
{
	size_t n = strspn(s, "0123456789.");

	if (n >= 5 && (s[0] == '2' || s[0] == '4' || s[0] == '5') && s[1] == '.' && s[n] == ' ')
		return n;
	return 0;
}

/* code=... dsn=... text="..." from "[dsn ]text" (code given). */
static void
plog_reply(const char *name, const char *code, const char *rest, char *buf, size_t len)
{
	char dsn[16] = "", text[600];
	size_t n;

	while (*rest == ' ')
		rest++;
	if ((n = plog_dsn_len(rest)) > 0 && n < sizeof(dsn)) {
		memcpy(dsn, rest, n);
		dsn[n] = 0;
		rest += n + 1;
	}
	plog_quote(rest, text, sizeof(text));
	snprintf(buf, len, "action=%s code=%s%s%s text=%s", name, code, *dsn ? " dsn=" : "", dsn, text);
}

static int
plog_word(const char *action, const char *w)
{
	size_t n = strlen(w);

	return strncasecmp(action, w, n) == 0 && (action[n] == 0 || action[n] == ' ');
}

const char *
plog_action_name(const char *action)
{
	if (plog_word(action, "DUNNO"))
		return "dunno";
	if (plog_word(action, "OK"))
		return "ok";
	if (plog_word(action, "DEFER_IF_PERMIT"))
		return "defer_if_permit";
	if (plog_word(action, "DEFER") || action[0] == '4')
		return "defer";
	if (plog_word(action, "REJECT") || action[0] == '5')
		return "reject";
	if (plog_word(action, "PREPEND"))
		return "prepend";
	return "other";
}

char *
plog_action(const char *action, char *buf, size_t len)
{
	char q[600], code[4];

	if (plog_word(action, "DUNNO") || plog_word(action, "OK")) {
		snprintf(buf, len, "action=%s", plog_action_name(action));
	} else if (plog_word(action, "DEFER_IF_PERMIT")) {
		plog_reply("defer_if_permit", "450", action + 15, buf, len);
	} else if (plog_word(action, "DEFER")) {
		plog_reply("defer", "450", action + 5, buf, len);
	} else if (plog_word(action, "REJECT")) {
		plog_reply("reject", "554", action + 6, buf, len);
	} else if (plog_word(action, "PREPEND")) {
		const char *h = action + 7;

		while (*h == ' ')
			h++;
		snprintf(buf, len, "action=prepend header=%s", plog_quote(h, q, sizeof(q)));
	} else if ((action[0] == '4' || action[0] == '5') && isdigit((unsigned char)action[1]) &&
		   isdigit((unsigned char)action[2]) && (action[3] == ' ' || action[3] == 0)) {
		memcpy(code, action, 3);
		code[3] = 0;
		plog_reply(action[0] == '4' ? "defer" : "reject", code, action + 3, buf, len);
	} else {
		snprintf(buf, len, "action=other text=%s", plog_quote(action, q, sizeof(q)));
	}
	return buf;
}
