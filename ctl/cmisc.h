/*
 * cmisc - relayguardctl's ratelimit, callout, hop and status commands (see
 * cmisc.c). Each returns the program's exit status.
 */
#ifndef RG_CTL_CMISC_H
#define RG_CTL_CMISC_H

#include "rctl.h"

int cmisc_ratelimit(struct rctl *c, int argc, char **argv);
int cmisc_callout(struct rctl *c, int argc, char **argv);
int cmisc_hop(struct rctl *c, int argc, char **argv);
int cmisc_status(struct rctl *c, int argc, char **argv);

#endif
