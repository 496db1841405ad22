/*
 * scan_servers - see scan_servers.h.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "callout_hopstate.h"
#include "msg.h"
#include "scan_health.h"
#include "scan_servers.h"
#include "util.h"

#define SCANSRV_TABLE_MAX 64 /* servers remembered (two lists of RG_EPLIST_MAX, and reloads) */

static pthread_once_t scansrv_once = PTHREAD_ONCE_INIT;
static struct hopstate *scansrv_table;

static void
scansrv_init(void)
{
	scansrv_table = hopstate_new(SCANSRV_TABLE_MAX);
}

static struct hopstate *
scansrv_hops(void)
{
	pthread_once(&scansrv_once, scansrv_init);
	return scansrv_table;
}

void
scansrv_reset(void)
{
	(void)scansrv_hops();
	hopstate_free(scansrv_table);
	scansrv_table = hopstate_new(SCANSRV_TABLE_MAX);
}

void
scansrv_mark_up(const char *kind, const char *addr)
{
	char key[RG_EP_PATH_MAX + RG_EP_HOST_MAX + 24];

	snprintf(key, sizeof(key), "%s %s", kind, addr);
	hopstate_result(scansrv_hops(), key, 0, 0);
}

static void
append(char *buf, size_t len, const char *sep, const char *s)
{
	size_t o = strlen(buf);

	if (o < len)
		snprintf(buf + o, len - o, "%s%s", o ? sep : "", s);
}

void
scansrv_log_add(char *log, size_t len, const char *note)
{
	size_t o = strlen(log);

	if (*note && o + 2 < len) {
		log[o++] = ' ';
		rg_strlcpy(log + o, note, len - o);
	}
}

int
scansrv_run(const char *kind, const struct rg_eplist *list, long long backoff_ms, scansrv_try fn,
	    const char *(*why)(void *arg), void *arg, char *note, size_t notelen)
{
	struct hopstate *h = scansrv_hops();
	char addr[RG_EP_PATH_MAX + RG_EP_HOST_MAX + 16], key[sizeof(addr) + 8], last[sizeof(addr)] = "";
	char skipped[600] = "";
	int down[RG_EPLIST_MAX] = {0}, n = list->n < RG_EPLIST_MAX ? list->n : RG_EPLIST_MAX;
	int tried = 0, probe = -1, probed = -1, answered = -1;
	long long best = LLONG_MAX;

	note[0] = 0;
	for (int pass = 0; pass < 2 && answered < 0; pass++) {
		for (int i = 0; i < n; i++) {
			const struct rg_endpoint *ep = &list->v[i];
			long long left;

			rg_endpoint_str(ep, addr, sizeof(addr));
			snprintf(key, sizeof(key), "%s %s", kind, addr);
			if (pass == 0 && (left = hopstate_down_left(h, key)) > 0) {
				down[i] = 1;
				if (left < best)
					best = left, probe = i;
				continue;
			}
			if (pass == 1 && i != probe)
				continue;
			tried++;
			if (pass == 1)
				probed = i;
			rg_strlcpy(last, addr, sizeof(last));
			if (fn(ep, arg) == SCANSRV_ANSWERED) {
				scanhealth_note(kind, addr, 1, NULL);
				hopstate_result(h, key, 0, 0);
				answered = i;
				break;
			}
			/* A probe of a server already down is not news. */
			if (pass == 0 && backoff_ms > 0)
				msg_warn("%s: server %s failed: %s; marked down for %lld%s", kind, addr,
					 why ? why(arg) : "error",
					 backoff_ms % 1000 ? backoff_ms : backoff_ms / 1000,
					 backoff_ms % 1000 ? "ms" : "s");
			scanhealth_note(kind, addr, 0, why ? why(arg) : "error");
			hopstate_result(h, key, 1, backoff_ms);
		}
		/* Probe only when every server was in its back-off. */
		if (tried > 0 || probe < 0)
			break;
	}
	for (int i = 0; i < n; i++)
		if (down[i] && i != probed)
			append(skipped, sizeof(skipped), ",",
			       rg_endpoint_str(&list->v[i], addr, sizeof(addr)));
	snprintf(note, notelen, "%s=%s%s%s%s", kind, *last ? last : "none", *skipped ? " " : "",
		 *skipped ? kind : "", *skipped ? "_skipped=" : "");
	if (*skipped)
		append(note, notelen, "", skipped);
	return answered;
}
