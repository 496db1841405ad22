/*
 * confint - internals shared by the configuration layer only (config.c,
 * confval.c, confread.c, table.c, patlist.c). Nothing outside that layer
 * includes this header.
 */
#ifndef RG_CONFINT_H
#define RG_CONFINT_H

#include <stdio.h>

#include "arena.h"
#include "config.h"

/* Cap on "file:line" messages kept in one rg_diag (a binary file would
 * otherwise produce one per line). */
#define RG_DIAG_MAX 100

/* Longest logical line (continuations joined) in any configuration file. */
#define RG_LINE_MAX 65536

/* RG_PI_<name>: index of each parameter in rg_pinfo; RG_NPARAMS: how many. */
enum {
#define RG_PARAM(name, type, def, min, max, scope, allowed) RG_PI_##name,
#include "params.def"
#undef RG_PARAM
	RG_NPARAMS
};

/* Byte offset of each parameter in struct rg_params, in rg_pinfo order;
 * rg_ptoffset: of its parsed companion field (ADDR, ADDRLIST, RATES,
 * DNSBL; 0 for the other kinds). */
extern const size_t rg_poffset[];
extern const size_t rg_ptoffset[];
#define RG_PIDX(pi) ((size_t)((pi)-rg_pinfo))
#define RG_PVAL(p, pi) ((void *)((char *)(p) + rg_poffset[RG_PIDX(pi)]))
#define RG_PCVAL(p, pi) ((const void *)((const char *)(p) + rg_poffset[RG_PIDX(pi)]))
#define RG_PTVAL(p, pi) ((void *)((char *)(p) + rg_ptoffset[RG_PIDX(pi)]))

/*
 * Parse text as the value of parameter pi and store it in p; strings and
 * lists are allocated in a. label is the name as written (for messages:
 * "premium_greylist_delay"). Range, enum and syntax checks are applied
 * and the typed kinds are parsed into their companion fields. Returns 0, or
 * -1 with the complete message in err and p unchanged.
 */
int rg_conf_setval(const struct rg_pinfo *pi, struct rg_params *p, const char *label, const char *text,
		   struct rg_arena *a, char *err, size_t errlen);

/* Syntax checks of plain LIST parameters beyond their type (CIDRs, class
 * names); v points at the parsed value. Returns 0, or -1 with the complete
 * message in err. */
int rg_conf_check_special(const struct rg_pinfo *pi, const char *label, const void *v, char *err,
			  size_t errlen);

/* rg_conf_setval for the typed kinds (ADDR, ADDRLIST, RATES, DNSBL):
 * sets the text field and its parsed companion. Same returns. */
int rg_conf_settyped(const struct rg_pinfo *pi, struct rg_params *p, const char *label, const char *text,
		     struct rg_arena *a, char *err, size_t errlen);

/* Print the value of pi in p the way an admin would write it ("3m", "50M"). */
void rg_conf_printval(const struct rg_pinfo *pi, const struct rg_params *p, FILE *fp);

/* One "[prefix_]name = value" line, secrets masked (see rg_config_print). */
void rg_conf_print_one(const char *prefix, const struct rg_pinfo *pi, const struct rg_params *p, FILE *fp);

/* Do two parameter sets hold the same value of pi? */
int rg_conf_valeq(const struct rg_pinfo *pi, const struct rg_params *a, const struct rg_params *b);

/* Split text on commas and white space into l, words allocated in a. */
void rg_conf_split(const char *text, struct rg_list *l, struct rg_arena *a);

/*
 * Line reader: '#' comment lines and blank lines skipped; with cont != 0 a
 * line starting with white space continues the previous one (joined with
 * one space). Lines with control characters or longer than RG_LINE_MAX are
 * reported to diag and skipped.
 */
struct rg_lreader {
	FILE *fp;
	const char *path;
	int cont;
	int lineno; /* last physical line read */
	int pending; /* a physical line is held in next */
	int pending_line; /* its number */
	char *next; /* look-ahead line */
	char *buf; /* the logical line handed out */
	size_t bufcap;
	int *nerr; /* incremented for each problem reported */
	struct rg_diag *diag;
};

/* Open path; on failure reports "path: cannot open: reason" and returns -1. */
int rg_lreader_open(struct rg_lreader *r, const char *path, int cont, struct rg_diag *diag, int *nerr);
/* Next logical line (owned by r, valid until the next call) and its first
 * physical line number; NULL at end of file. */
char *rg_lreader_next(struct rg_lreader *r, int *lineno);
void rg_lreader_close(struct rg_lreader *r);

/* rg_diag_add that also counts, so callers know whether they failed even
 * when the diag is full. */
void rg_conf_err(struct rg_diag *d, int *nerr, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
