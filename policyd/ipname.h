/*
 * ipname - does a DNS name embed a given IP address? The address-spotting
 * half of dynip: generic reverse-DNS names such as dsl-203-0-113-5...,
 * p5B0C1A2F... (hex), 5.113.0.203..., 2001-db8--5..., or ip6.arpa-style
 * nibbles carry the client's own address; other numbers do not count.
 *
 * Contract: pure functions over caller-owned buffers, no state,
 * thread-safe. Trust boundary: the name is untrusted DNS data; it is read
 * only up to its NUL and every scan is bounded by IPNAME_MAX.
 */
#ifndef RG_IPNAME_H
#define RG_IPNAME_H

#define IPNAME_MAX 255 /* longest name examined */

struct ipname_addr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char b[16];
};

/*
 * Parse a textual client address (an IPv6 zone is ignored). IPv4-mapped
 * IPv6 (::ffff:a.b.c.d) becomes IPv4. Returns 0, or -1 if it is no address.
 */
int ipname_parse_addr(const char *text, struct ipname_addr *a);

/*
 * Does host (lower-case, at most IPNAME_MAX bytes) embed a? IPv4: >= 3
 * octets in a row, or 2 that include the last octet, forward or reversed,
 * decimal or zero-padded, joined by exactly one of - . _; or the whole
 * address as 8 hex digits, a 12-digit zero-padded or a plain 32-bit decimal
 * number. IPv6: the first 64 bits as 16 hex digits; >= 4 groups in a row
 * joined by one separator; the whole address with "--" for "::"; >= 16
 * single nibbles in a row, forward or reversed. Returns 1 or 0.
 */
int ipname_embeds(const char *host, const struct ipname_addr *a);

/*
 * IPv4 only: the last octet (plain or zero-padded) as a whole number in the
 * first label of host (lower-case). Returns 1 or 0.
 */
int ipname_has_last_octet(const char *host, const struct ipname_addr *a);

#endif
