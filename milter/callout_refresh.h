/*
 * refresh - a small bounded queue of background jobs with its own worker
 * threads, for re-checking callout cache entries that are past their
 * refresh time: the SMTP client gets the cached answer at once, and the
 * customer's server is asked again out of its way.
 *
 * Jobs are per recipient; a worker takes the oldest job together with up
 * to batch_max - 1 others for the same next hop and sender, so that they
 * are all checked in one SMTP session. A recipient already queued or being
 * checked is not queued twice. When the queue is full new jobs are
 * dropped: the entry stays stale and is queued again at its next use.
 *
 * Contract: thread-safe. A job holds a reference to its configuration
 * snapshot (taken by refresh_add, released after the job ran or was
 * dropped). fn runs in a worker thread, never two calls on the same job.
 * refresh_free drops what is queued and waits for running jobs, whose own
 * deadlines bound the wait.
 */
#ifndef RG_MILTER_REFRESH_H
#define RG_MILTER_REFRESH_H

#include <stddef.h>

#include "config.h"
#include "callout_hopstate.h"

#define REFRESH_RCPT_MAX 256

struct refresh_job {
	struct rg_config *cfg; /* referenced */
	const struct rg_params *p; /* the recipient's settings, inside cfg */
	char hop[HOPSTATE_NAME_MAX];
	char rcpt[REFRESH_RCPT_MAX];
};

/* Run n (>= 1) jobs for one hop and sender; the jobs belong to the queue. */
typedef void (*refresh_fn)(void *arg, struct refresh_job *const *jobs, int n);

struct refresh;

/* nworkers threads (>= 1), at most qmax jobs queued or running, batches of up to batch_max. */
struct refresh *refresh_new(int nworkers, size_t qmax, int batch_max, refresh_fn fn, void *arg);

/* Queue a re-check: 1 queued, 0 already queued or running, -1 queue full or stopping. */
int refresh_add(struct refresh *q, struct rg_config *cfg, const struct rg_params *p, const char *hop,
		const char *rcpt);

/* Jobs queued or running now. */
size_t refresh_pending(struct refresh *q);

/* Stop the workers (running jobs finish), drop queued jobs, free. NULL is a no-op. */
void refresh_free(struct refresh *q);

#endif
