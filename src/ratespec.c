/*
 * ratespec - see ratespec.h. "500/1h": a positive count, a slash, and a
 * window in rg_parse_time units; "500/h" is read as "500/1h".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratespec.h"
#include "util.h"

static int
parse_one(const char *w, struct rg_rate *r, char *err, size_t errlen)
{
	const char *slash = strchr(w, '/');
	char shown[80], win[40], e[128];
	char *end;

	rg_sanitize(shown, sizeof(shown), w, strlen(w));
	if (slash == NULL || !isdigit((unsigned char)*w) || slash[1] == 0) {
		snprintf(err, errlen, "bad rate limit \"%s\" (use count/window, e.g. 500/1h)", shown);
		return -1;
	}
	errno = 0;
	r->count = strtoll(w, &end, 10);
	if (end != slash || errno == ERANGE || r->count < 1) {
		snprintf(err, errlen, "bad count in rate limit \"%s\"", shown);
		return -1;
	}
	/* "500/h": the window's number may be left out. */
	snprintf(win, sizeof(win), "%s%s", isdigit((unsigned char)slash[1]) ? "" : "1", slash + 1);
	if (strlen(slash + 1) >= sizeof(win) - 1 || rg_parse_time(win, &r->window_ms, e, sizeof(e)) < 0) {
		snprintf(err, errlen, "bad window in rate limit \"%s\"", shown);
		return -1;
	}
	if (r->window_ms < 1000) {
		snprintf(err, errlen, "window shorter than 1s in rate limit \"%s\"", shown);
		return -1;
	}
	return 0;
}

int
rg_ratespec_parse(const struct rg_list *l, struct rg_rate *out, char *err, size_t errlen)
{
	int i;

	if (l->argc > RG_RATE_MAX) {
		snprintf(err, errlen, "more than %d rate limits in one list", RG_RATE_MAX);
		return -1;
	}
	for (i = 0; i < l->argc; i++)
		if (parse_one(l->argv[i], &out[i], err, errlen) < 0)
			return -1;
	return l->argc;
}
