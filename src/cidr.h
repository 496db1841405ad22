/*
 * cidr - IPv4/IPv6 addresses and prefixes: parsing, masking, matching.
 *
 * Addresses are kept as 16 bytes; IPv4 is stored as IPv4-mapped IPv6
 * (::ffff:a.b.c.d) with prefix lengths offset by 96, so one comparison
 * serves both families. Contract: pure functions, thread-safe.
 * Trust boundary: text comes from policy requests and admin files.
 */
#ifndef RG_CIDR_H
#define RG_CIDR_H

#include <stddef.h>

struct rg_addr {
	unsigned char b[16];
	int v4; /* 1 when the address is IPv4 (stored mapped) */
};

struct rg_prefix {
	struct rg_addr addr; /* masked to len */
	int len; /* 0..128 in the mapped space (IPv4 /24 -> 120) */
};

/* Parse "192.0.2.1", "2001:db8::1", "[2001:db8::1]", "::ffff:1.2.3.4"
 * (mapped text becomes v4). Returns 0, or -1 if not an address. */
int rg_addr_parse(const char *s, struct rg_addr *a);

/* Parse "192.0.2.0/24", "2001:db8::/32", "[2001:db8::]/32", or a bare
 * address (full length). Host bits that are set are an error (-1, with a
 * message in err) as in Postfix cidr tables. */
int rg_prefix_parse(const char *s, struct rg_prefix *p, char *err, size_t errlen);

/* Keep the first len bits (mapped space) of a, zero the rest. */
void rg_addr_mask(struct rg_addr *a, int len);

/* Does p contain a? */
int rg_prefix_match(const struct rg_prefix *p, const struct rg_addr *a);

/* Text of the network of a for a greylist key: "192.0.2.0/24" with the
 * given family prefix (v4len 0..32, v6len 0..128). Returns buf. */
char *rg_addr_net_text(const struct rg_addr *a, int v4len, int v6len, char *buf, size_t buflen);

/* Plain text of an address ("192.0.2.1", "2001:db8::1"). Returns buf. */
char *rg_addr_text(const struct rg_addr *a, char *buf, size_t buflen);

/* A list of prefixes (trusted_networks, whitelists). */
struct rg_cidrlist;
struct rg_cidrlist *rg_cidrlist_new(void);
/* Add one prefix text; returns 0 or -1 with err filled. */
int rg_cidrlist_add(struct rg_cidrlist *l, const char *text, char *err, size_t errlen);
int rg_cidrlist_match(const struct rg_cidrlist *l, const struct rg_addr *a);
void rg_cidrlist_free(struct rg_cidrlist *l);

#endif
