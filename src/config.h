/*
 * config - relayguard.conf in Postfix main.cf syntax, customer classes, and
 * the domain and client tables, loaded together into one immutable,
 * reference-counted snapshot.
 *
 * Syntax: "name = value"; '#' comment lines; a line starting with white
 * space continues the previous one; blank lines ignored. A later setting of
 * the same name wins (as in main.cf). "<class>_name" sets a CLASS parameter
 * for one class (class names come from "classes"). Unknown names, bad values
 * and out-of-bounds values are errors reported as "file:line: message".
 *
 * Ownership: a snapshot owns every string and table it points to. Readers
 * take a reference (rg_config_ref) for as long as they use any pointer from
 * it; rg_config_unref frees the snapshot with the last reference. Reference
 * counting is atomic, so a snapshot may be shared between threads; the
 * snapshot itself is never modified after rg_config_load returns.
 *
 * Trust boundary: the configuration and table files are admin input, parsed
 * with bounds; nothing in them is trusted to be well-formed.
 */
#ifndef RG_CONFIG_H
#define RG_CONFIG_H

#include <stdio.h>

#include "endpoint.h"

struct rg_list {
	int argc;
	char **argv; /* argc words, NULL-terminated */
};

/* A rate limit, "500/1h" (see ratespec.h for the grammar). */
#define RG_RATE_MAX 8 /* limits per list */
struct rg_rate {
	long long count; /* >= 1 */
	long long window_ms; /* >= 1000 */
};

/* A dynamic_ip_dnsbl word: "zone" (any listing answer counts) or
 * "zone=127.0.0.10|127.0.0.11" (only those answers count). The codes are
 * separated by '|' because the list itself splits on commas and spaces. */
#define RG_DNSBL_MAXCODES 16
#define RG_DNSBL_MAXZONES 8
struct rg_dnsbl {
	char zone[254];
	int ncodes; /* 0 = any answer */
	unsigned char codes[RG_DNSBL_MAXCODES][4]; /* IPv4 answers, network order */
};

/* Typed lists, parsed once at load; v points into the snapshot. */
struct rg_rates {
	int n;
	const struct rg_rate *v;
};
struct rg_eplist {
	int n;
	const struct rg_endpoint *v;
};
struct rg_dnsbls {
	int n;
	const struct rg_dnsbl *v;
};
#define RG_EPLIST_MAX 16 /* addresses in one ADDRLIST */

/* ENUM parameters: the constants follow the order of "allowed" in params.def. */
enum rg_policy_failure_action {
	RG_POLICY_FAIL_DUNNO,
	RG_POLICY_FAIL_DEFER_IF_PERMIT,
	RG_POLICY_FAIL_DEFER,
};
enum rg_spam_failure_action { RG_SPAM_FAIL_ACCEPT, RG_SPAM_FAIL_TEMPFAIL };
enum rg_callout_unknown_action { RG_CALLOUT_UNKNOWN_ACCEPT, RG_CALLOUT_UNKNOWN_TEMPFAIL };
enum rg_rate_limit_unit { RG_RATE_UNIT_MESSAGE, RG_RATE_UNIT_RECIPIENT };
enum rg_rate_limit_commit { RG_RATE_COMMIT_MILTER, RG_RATE_COMMIT_POLICYD };
enum rg_virus_failure_action { RG_VIRUS_FAIL_TEMPFAIL, RG_VIRUS_FAIL_ACCEPT };
enum rg_spf_fail_action { RG_SPF_FAIL_TAG, RG_SPF_FAIL_REJECT };

#define RG_CTYPE_BOOL int
#define RG_CTYPE_INT long long
#define RG_CTYPE_TIME long long /* milliseconds */
#define RG_CTYPE_SIZE long long /* bytes */
#define RG_CTYPE_FLOAT double
#define RG_CTYPE_STR const char *
#define RG_CTYPE_LIST struct rg_list

/*
 * The fields of one parameter. The typed kinds keep the text as written
 * under the parameter's own name (for log lines and printing) and add the
 * parsed value next to it:
 *   ADDR      const char *name;  const struct rg_endpoint *name_ep (NULL when empty)
 *   ADDRLIST  struct rg_list name;  struct rg_eplist name_ep
 *   RATES     struct rg_list name;  struct rg_rates name_rates
 *   DNSBL     struct rg_list name;  struct rg_dnsbls name_bl
 *   ENUM      enum rg_<name> name  (no text)
 */
#define RG_FIELD_BOOL(n) RG_CTYPE_BOOL n;
#define RG_FIELD_INT(n) RG_CTYPE_INT n;
#define RG_FIELD_TIME(n) RG_CTYPE_TIME n;
#define RG_FIELD_SIZE(n) RG_CTYPE_SIZE n;
#define RG_FIELD_FLOAT(n) RG_CTYPE_FLOAT n;
#define RG_FIELD_STR(n) RG_CTYPE_STR n;
#define RG_FIELD_LIST(n) RG_CTYPE_LIST n;
#define RG_FIELD_ADDR(n)                                                                                     \
	const char *n;                                                                                       \
	const struct rg_endpoint *n##_ep;
#define RG_FIELD_ADDRLIST(n)                                                                                 \
	struct rg_list n;                                                                                    \
	struct rg_eplist n##_ep;
#define RG_FIELD_RATES(n)                                                                                    \
	struct rg_list n;                                                                                    \
	struct rg_rates n##_rates;
#define RG_FIELD_DNSBL(n)                                                                                    \
	struct rg_list n;                                                                                    \
	struct rg_dnsbls n##_bl;
#define RG_FIELD_ENUM(n) enum rg_##n n;

/* Every parameter's resolved value; one instance per scope. */
struct rg_params {
#define RG_PARAM(name, type, def, min, max, scope, allowed) RG_FIELD_##type(name)
#include "params.def"
#undef RG_PARAM
};

/* One line of domain_table or client_table. */
struct rg_entry {
	const char *key; /* as written: "example.com", ".example.com", "192.0.2.0/24" */
	const char *class_name; /* one of "classes" */
	const struct rg_params *p; /* resolved settings for this entry */
	const char *file;
	int line;
};

struct rg_table; /* opaque, see table.h */
struct rg_slist; /* opaque, see slist.h */

struct rg_config {
	const char *path;
	struct rg_params global; /* globals with defaults applied */
	int nclasses;
	const char **class_names; /* nclasses names */
	const struct rg_params **class_params; /* nclasses resolved parameter sets */
	struct rg_table *domains; /* NULL when domain_table is empty */
	struct rg_table *clients; /* NULL when client_table is empty */
	struct rg_slist *sender_lists; /* NULL when spam_sender_lists is empty (slist.h) */
	void *priv; /* owned storage; do not touch */
};

/* Collected "file:line: message" diagnostics. */
struct rg_diag {
	int count;
	char **msgs;
};
void rg_diag_add(struct rg_diag *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void rg_diag_free(struct rg_diag *d);

/*
 * Load path and the tables it names (a relative domain_table/client_table is
 * taken from path's directory). Returns a snapshot with one reference, or
 * NULL with every problem found appended to diag (not only the first; the
 * file's own messages in line order; at most about 100 are kept). diag may
 * be NULL. An empty myhostname is resolved with gethostname().
 */
struct rg_config *rg_config_load(const char *path, struct rg_diag *diag);
struct rg_config *rg_config_ref(struct rg_config *cfg);
void rg_config_unref(struct rg_config *cfg);

/* The line of cfg->path that set the global parameter name, 0 if it has its default. */
int rg_config_line(const struct rg_config *cfg, const char *name);

/* Parameter set of a class by name, NULL if no such class. */
const struct rg_params *rg_config_class(const struct rg_config *cfg, const char *name);

/*
 * Inbound: the entry for a recipient domain (case-insensitive; an exact entry
 * wins over ".parent" entries, the nearest parent over farther ones).
 * NULL when the domain is not a customer's.
 */
const struct rg_entry *rg_config_domain(const struct rg_config *cfg, const char *domain);

/* Outbound: longest-prefix entry for a textual IPv4/IPv6 address, or NULL. */
const struct rg_entry *rg_config_client(const struct rg_config *cfg, const char *addr);

/* Is addr in trusted_networks? */
int rg_config_trusted(const struct rg_config *cfg, const char *addr);

/*
 * Printing, in "name = value" form as postconf does.
 * rg_config_print: nondefault != 0 prints only what the file set (postconf -n),
 * otherwise every global parameter and every class setting that differs.
 * Values are printed resolved and in their natural unit ("3m", "95d", "50M",
 * "0660", "4.0"); the output re-parses to the same values, except that a
 * secret that is set (redis_password, any *_password) prints as "********".
 * rg_params_print: every CLASS-scope parameter of p (for -q).
 */
void rg_config_print(const struct rg_config *cfg, FILE *fp, int nondefault);
void rg_params_print(const struct rg_params *p, FILE *fp);

/*
 * Parameter metadata, for code that validates values of its own kinds
 * (e.g. "500/1h" rate limits) and for the man page check.
 */
enum rg_ptype {
	RG_PT_BOOL,
	RG_PT_INT,
	RG_PT_TIME,
	RG_PT_SIZE,
	RG_PT_FLOAT,
	RG_PT_STR,
	RG_PT_LIST,
	RG_PT_ADDR, /* min = default port (0: required), max = RG_EP_* flags */
	RG_PT_ADDRLIST,
	RG_PT_RATES,
	RG_PT_DNSBL,
	RG_PT_ENUM,
};
enum rg_pscope { RG_PS_GLOBAL, RG_PS_CLASS };
struct rg_pinfo {
	const char *name;
	enum rg_ptype type;
	const char *def;
	double min, max;
	enum rg_pscope scope;
	const char *allowed;
};
/* NULL-terminated by a zero entry; in params.def order. */
extern const struct rg_pinfo rg_pinfo[];
const struct rg_pinfo *rg_pinfo_find(const char *name);

/*
 * Value parsers, exported for unit tests and for code that takes such values
 * from elsewhere. Return 0 on success, -1 with a message in err.
 */
int rg_parse_time(const char *s, long long *ms, char *err, size_t errlen);
int rg_parse_size(const char *s, long long *bytes, char *err, size_t errlen);
int rg_parse_bool(const char *s, int *val, char *err, size_t errlen);

/* One dynamic_ip_dnsbl word (see struct rg_dnsbl). Returns 0, or -1 with err. */
int rg_dnsbl_parse(const char *s, struct rg_dnsbl *out, char *err, size_t errlen);

/* The word of an ENUM value ("tempfail") in buf, "" when out of range. Returns buf. */
const char *rg_enum_name(const struct rg_pinfo *pi, int v, char *buf, size_t buflen);

#endif
