/*
 * scan_health - see scan_health.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics_milter.h"
#include "msg.h"
#include "scan_health.h"
#include "scan_servers.h"
#include "spam_spamd.h"
#include "table.h"
#include "util.h"
#include "virus_clamd.h"

#define SH_ADDR_MAX (RG_EP_PATH_MAX + RG_EP_HOST_MAX + 16)

struct sh_server {
	char kind[8];
	char addr[SH_ADDR_MAX];
	int up;
	long long at; /* rg_mono_ms of the last contact; 0 = free slot */
	char why[160];
};

static pthread_mutex_t sh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sh_server sh_table[SCANHEALTH_MAX];

/* The slot of kind/addr, or NULL; with create, a new (or the oldest) slot. Under sh_lock. */
static struct sh_server *
sh_find(const char *kind, const char *addr, int create)
{
	struct sh_server *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < SCANHEALTH_MAX; i++) {
		struct sh_server *s = &sh_table[i];

		if (s->at == 0) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (strcmp(s->kind, kind) == 0 && strcmp(s->addr, addr) == 0)
			return s;
		if (!oldest || s->at < oldest->at)
			oldest = s;
	}
	if (!create)
		return NULL;
	free_slot = free_slot ? free_slot : oldest;
	memset(free_slot, 0, sizeof(*free_slot));
	rg_strlcpy(free_slot->kind, kind, sizeof(free_slot->kind));
	rg_strlcpy(free_slot->addr, addr, sizeof(free_slot->addr));
	return free_slot;
}

void
scanhealth_note(const char *kind, const char *addr, int up, const char *why)
{
	struct sh_server *s;

	pthread_mutex_lock(&sh_lock);
	s = sh_find(kind, addr, 1);
	s->up = up;
	s->at = rg_mono_ms();
	if (up)
		s->why[0] = 0;
	else
		rg_sanitize(s->why, sizeof(s->why), why ? why : "error", strlen(why ? why : "error"));
	pthread_mutex_unlock(&sh_lock);
	rg_metric_set(mm_scanner_up, up ? 1 : 0, kind, addr);
}

void
scanhealth_reset(void)
{
	pthread_mutex_lock(&sh_lock);
	memset(sh_table, 0, sizeof(sh_table));
	pthread_mutex_unlock(&sh_lock);
}

static int
sh_params_use(const struct rg_params *p, int clamd)
{
	return clamd ? p->virus_scan : p->spam_scan;
}

static int
sh_table_uses(const struct rg_table *t, int clamd)
{
	int n = t ? rg_table_count(t) : 0;

	for (int i = 0; i < n; i++)
		if (sh_params_use(rg_table_at(t, i)->p, clamd))
			return 1;
	return 0;
}

int
scanhealth_in_use(const struct rg_config *cfg, const char *kind)
{
	int clamd = strcmp(kind, "clamd") == 0;

	if (sh_params_use(&cfg->global, clamd))
		return 1;
	for (int i = 0; i < cfg->nclasses; i++)
		if (sh_params_use(cfg->class_params[i], clamd))
			return 1;
	return sh_table_uses(cfg->domains, clamd) || sh_table_uses(cfg->clients, clamd);
}

static const struct rg_eplist *
sh_list(const struct rg_config *cfg, const char *kind)
{
	return strcmp(kind, "clamd") == 0 ? &cfg->global.clamd_server_ep : &cfg->global.spamd_server_ep;
}

/* Append to a one-line reason, cut to fit. */
static void
sh_add(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	size_t o = strlen(buf);

	if (o + 1 < len)
		snprintf(buf + o, len - o, fmt, a, b);
}

/* 1 with why when every server of kind's list is known to be down. */
static int
sh_kind_down(const struct rg_config *cfg, const char *kind, char *why, size_t len)
{
	const struct rg_eplist *l = sh_list(cfg, kind);
	char addr[SH_ADDR_MAX], reasons[600] = "", n[16];
	int down = 0;

	pthread_mutex_lock(&sh_lock);
	for (int i = 0; i < l->n; i++) {
		struct sh_server *s = sh_find(kind, rg_endpoint_str(&l->v[i], addr, sizeof(addr)), 0);

		if (s == NULL || s->up)
			break;
		down++;
		sh_add(reasons, sizeof(reasons), down > 1 ? "; %s: %s" : "%s: %s", addr, s->why);
	}
	pthread_mutex_unlock(&sh_lock);
	if (l->n == 0 || down < l->n)
		return 0;
	snprintf(n, sizeof(n), "%d", l->n);
	why[0] = 0;
	if (l->n == 1)
		sh_add(why, len, "%s %s", kind, reasons);
	else
		snprintf(why, len, "%s all %s servers down: %s", kind, n, reasons);
	return 1;
}

int
scanhealth_check(const struct rg_config *cfg, char *why, size_t len)
{
	static const char *const kinds[] = {"spamd", "clamd"};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (scanhealth_in_use(cfg, kinds[k]) && sh_kind_down(cfg, kinds[k], why, len))
			return 1;
	return 0;
}

/* ---- probes ---------------------------------------------------------- */

struct sh_prober {
	const char *kind;
	struct rg_config *(*config)(void);
};

/* 1 when addr had a contact less than SCANHEALTH_PROBE_MS ago that reached it. */
static int
sh_fresh(const char *kind, const char *addr)
{
	struct sh_server *s;
	int fresh;

	pthread_mutex_lock(&sh_lock);
	s = sh_find(kind, addr, 0);
	fresh = s && s->up && rg_mono_ms() - s->at < SCANHEALTH_PROBE_MS;
	pthread_mutex_unlock(&sh_lock);
	return fresh;
}

static void
sh_probe(const char *kind, const struct rg_endpoint *ep, const struct rg_params *g)
{
	char addr[SH_ADDR_MAX];

	rg_endpoint_str(ep, addr, sizeof(addr));
	if (sh_fresh(kind, addr))
		return;
	if (strcmp(kind, "clamd") == 0) {
		struct clamd_result *r = xmalloc(sizeof(*r));

		clamd_ping(ep->kind == RG_EP_UNIX ? ep->path : NULL, ep->host, ep->port,
			   (int)g->clamd_timeout, r);
		scanhealth_note(kind, addr, r->status == CLAMD_CLEAN, r->error);
		if (r->status == CLAMD_CLEAN)
			scansrv_mark_up(kind, addr);
		free(r);
	} else {
		struct spamd_result *r = xmalloc(sizeof(*r));

		spamd_ping(ep, (int)g->spamd_timeout, r);
		scanhealth_note(kind, addr, r->status == SPAMD_OK, r->error);
		if (r->status == SPAMD_OK)
			scansrv_mark_up(kind, addr);
		free(r);
	}
}

/* Is addr one of l's servers? */
static int
sh_listed(const struct rg_eplist *l, const char *addr)
{
	char a[SH_ADDR_MAX];

	for (int i = 0; l && i < l->n; i++)
		if (strcmp(rg_endpoint_str(&l->v[i], a, sizeof(a)), addr) == 0)
			return 1;
	return 0;
}

/* Forget kind's servers that l (NULL: the scanner is not in use) does not
 * list any more, and take them off /metrics. */
static void
sh_forget_unlisted(const char *kind, const struct rg_eplist *l)
{
	char gone[SCANHEALTH_MAX][SH_ADDR_MAX];
	int n = 0;

	pthread_mutex_lock(&sh_lock);
	for (int i = 0; i < SCANHEALTH_MAX; i++) {
		struct sh_server *s = &sh_table[i];

		if (s->at == 0 || strcmp(s->kind, kind) != 0 || sh_listed(l, s->addr))
			continue;
		rg_strlcpy(gone[n++], s->addr, sizeof(gone[0]));
		memset(s, 0, sizeof(*s));
	}
	pthread_mutex_unlock(&sh_lock);
	for (int i = 0; i < n; i++)
		rg_metric_hide(mm_scanner_up, kind, gone[i]);
}

static void *
sh_prober_main(void *arg)
{
	struct sh_prober *p = arg;

	for (;;) {
		struct rg_config *cfg = p->config();
		struct timespec ts = {SCANHEALTH_PROBE_MS / 1000, (SCANHEALTH_PROBE_MS % 1000) * 1000000L};

		if (cfg) {
			int used = scanhealth_in_use(cfg, p->kind);
			const struct rg_eplist *l = sh_list(cfg, p->kind);

			/* A reload may have removed servers, or the scanner. */
			sh_forget_unlisted(p->kind, used ? l : NULL);
			for (int i = 0; used && i < l->n; i++)
				sh_probe(p->kind, &l->v[i], &cfg->global);
		}
		if (cfg)
			rg_config_unref(cfg);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	return NULL;
}

int
scanhealth_start(struct rg_config *(*config)(void), char *err, size_t errlen)
{
	static struct sh_prober probers[] = {{"spamd", NULL}, {"clamd", NULL}};

	for (size_t i = 0; i < sizeof(probers) / sizeof(probers[0]); i++) {
		pthread_t tid;

		probers[i].config = config;
		if ((errno = pthread_create(&tid, NULL, sh_prober_main, &probers[i])) != 0) {
			snprintf(err, errlen, "scanner probes: pthread_create: %s", strerror(errno));
			return -1;
		}
		pthread_detach(tid);
	}
	return 0;
}
