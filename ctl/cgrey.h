/*
 * cgrey - relayguardctl's greylist and whitelist commands (see cgrey.c).
 * Each returns the program's exit status.
 */
#ifndef RG_CTL_CGREY_H
#define RG_CTL_CGREY_H

#include "rctl.h"

int cgrey_greylist(struct rctl *c, int argc, char **argv);
int cgrey_whitelist(struct rctl *c, int argc, char **argv);

#endif
