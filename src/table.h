/*
 * table - the two customer tables, loaded from files into lookup structures.
 *
 * domain_table: "domain class [name=value ...]" per line; "example.com"
 *   matches that domain only, ".example.com" its subdomains (Postfix's
 *   parent-domain style). Lookup is case-insensitive, exact first, then the
 *   nearest parent. Hash table: O(labels) per lookup.
 * client_table: "address[/len] class [name=value ...]" per line, IPv4 or
 *   IPv6; the longest matching prefix wins. One hash per prefix length in
 *   use: O(lengths in use) per lookup.
 * Both: '#' comments, blank lines; an unknown class, a GLOBAL or unknown
 * parameter in an override, a bad value or a duplicate key is an error
 * "file:line: ...". The class parameter sets come from the config being
 * loaded (rg_config_load calls rg_table_load).
 *
 * Ownership: the table owns its entries and their resolved parameter sets;
 * entries without overrides share the class's set. Immutable once loaded;
 * thread-safe to read.
 */
#ifndef RG_TABLE_H
#define RG_TABLE_H

#include "config.h"

enum rg_table_kind { RG_TABLE_DOMAIN, RG_TABLE_CLIENT };

/*
 * Load a table. cfg supplies class names and class parameter sets (it is
 * still being built: only nclasses/class_names/class_params are read).
 * Returns NULL with diagnostics in diag on any error.
 */
struct rg_table *rg_table_load(enum rg_table_kind kind, const char *path, const struct rg_config *cfg,
			       struct rg_diag *diag);
void rg_table_free(struct rg_table *t);

const struct rg_entry *rg_table_domain(const struct rg_table *t, const char *domain);
const struct rg_entry *rg_table_client(const struct rg_table *t, const char *addr);

/* Number of entries; iteration in file order (for -n/-q and postmap export). */
int rg_table_count(const struct rg_table *t);
const struct rg_entry *rg_table_at(const struct rg_table *t, int i);

#endif
