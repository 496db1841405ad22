/*
 * spfgrey - policyd's asynchronous step of SPF-aware greylisting
 * (src/greyspf.h): the request's SPF check on spfpool's workers, the
 * answer turned into the triplet's client part.
 *
 * Contract: loop thread only (spfpool.h). The callback fires exactly once,
 * possibly before spfgrey_check returns.
 */
#ifndef RG_POLICYD_SPFGREY_H
#define RG_POLICYD_SPFGREY_H

#include "config.h"
#include "greyspf.h"
#include "request.h"
#include "spfpool.h"

/*
 * ident: the triplet's client part ("spf:example.com"), or NULL for the
 * network. note: single-token fields for the decision's log line
 * (greyspf_note), valid during the call.
 */
typedef void (*spfgrey_cb)(const char *ident, const char *note, void *arg);

/* Check the request's client and sender with g's dns_server and greylist_spf_timeout. */
void spfgrey_check(struct spfpool *sp, const struct rg_params *g, const struct preq *q, spfgrey_cb cb,
		   void *arg);

#endif
