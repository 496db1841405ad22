/*
 * check_rkeys - the Redis key names (src/rkeys) and what they rest on:
 * SipHash-2-4 against the reference vectors of Aumasson & Bernstein, the
 * Redis Cluster slot (CRC16) against slots a real cluster-mode redis-server
 * reported, the readable and injective key forms, SCAN patterns, and the
 * rule that every script call touches keys of one slot only - with the
 * keys built by the same functions the daemons use (greylist_keys,
 * ratelimit_build, rkeys_*).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "greylist.h"
#include "ratelimit.h"
#include "rkeys.h"
#include "siphash.h"

/* The paper's vectors: key 00 01 .. 0f, message 00 01 .. (n-1). */
static const struct {
	size_t n;
	unsigned long long h;
} sipvec[] = {
    {0, 0x726fdb47dd0e0e31ULL},  {1, 0x74f839c593dc67fdULL},  {2, 0x0d6c8009d9a94f5aULL},
    {3, 0x85676696d7fb7e2dULL},  {7, 0xab0200f58b01d137ULL},  {8, 0x93f5f5799a932462ULL},
    {15, 0xa129ca6149be45e5ULL}, {63, 0x958a324ceb064572ULL},
};

START_TEST(siphash_reference)
{
	struct rg_sipkey k;
	unsigned char key[16], msg[64];

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	memcpy(&k.k0, key, 8); /* little-endian host (x86, arm64) */
	memcpy(&k.k1, key + 8, 8);
	for (size_t i = 0; i < sizeof(sipvec) / sizeof(sipvec[0]); i++)
		ck_assert_msg(rg_siphash(&k, msg, sipvec[i].n) == sipvec[i].h, "vector %zu", sipvec[i].n);
	/* A 16-byte secret is the key itself. */
	rg_siphash_key(&k, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10");
	ck_assert(k.k0 == 0x0807060504030201ULL);
}
END_TEST

START_TEST(slots_as_redis)
{
	/* From CLUSTER KEYSLOT of redis-server 7 in cluster mode. */
	ck_assert_uint_eq(rkeys_slot("somekey", 7), 11058);
	ck_assert_uint_eq(rkeys_slot("foo{hash_tag}", 13), 2515);
	ck_assert_uint_eq(rkeys_slot("123456789", 9), 12739);
	ck_assert_uint_eq(rkeys_slot("rg:g:{198.51.100.0/24}:0123456789abcdef", 39), 15312);
	ck_assert_uint_eq(rkeys_slot("foo{{bar}}zap", 13), 4015);
	ck_assert_uint_eq(rkeys_slot("foo{}{bar}", 10), 8363);
}
END_TEST

static struct rg_params g, p;

static void
params(void)
{
	memset(&g, 0, sizeof(g));
	g.redis_key_prefix = "rg:";
	g.redis_key_secret = "cluster secret";
	g.recipient_delimiter = "+";
	p = g;
	p.greylist_ipv4_prefix = 24;
	p.greylist_ipv6_prefix = 64;
	p.greylist_delay = 180000;
	p.greylist_retry_window = 86400000;
	p.greylist_whitelist_lifetime = 95LL * 86400000;
}

START_TEST(greylist_readable_and_keyed)
{
	struct greylist_triplet t, t2;
	struct rkeys k;
	char pat[RKEYS_MAX];

	params();
	ck_assert_int_eq(
	    greylist_keys(&p, &g, "198.51.100.7", "Bob+news@Sender.TEST", "Alice@Example.com", &t), 0);
	ck_assert_int_eq(strncmp(t.tkey, "rg:g:{198.51.100.0/24}:", 23), 0);
	ck_assert_uint_eq(strlen(t.tkey), 23 + 16);
	ck_assert_str_eq(t.nkey, "rg:a:{198.51.100.0/24}");
	ck_assert_str_eq(t.sender, "bob@sender.test");
	ck_assert_str_eq(t.rcpt, "alice@example.com");
	greylist_triplet_free(&t);
	/* The secret changes every hash: nobody without it can aim at a key. */
	g.redis_key_secret = "another secret";
	ck_assert_int_eq(greylist_keys(&p, &g, "198.51.100.7", "bob@sender.test", "alice@example.com", &t2),
			 0);
	ck_assert_str_ne(t.tkey, t2.tkey);
	greylist_triplet_free(&t2);
	/* The NUL between the parts: a@b + c is not a@ + bc. */
	rkeys_from_params(&k, &g);
	ck_assert(rkeys_triplet_hash(&k, "a@b", "c") != rkeys_triplet_hash(&k, "a@", "bc"));
	ck_assert_int_eq(greylist_keys(&p, &g, "2001:db8:1:2::99", "", "x@example.com", &t), 0);
	ck_assert_int_eq(strncmp(t.tkey, "rg:g:{2001:db8:1:2::/64}:", 25), 0);
	greylist_triplet_free(&t);
	ck_assert_int_eq(greylist_keys(&p, &g, "not an address", "", "x@example.com", &t), -1);
	ck_assert_int_gt(rkeys_greylist_pattern(&k, "198.51.100.0/24", pat, sizeof(pat)), 0);
	ck_assert_str_eq(pat, "rg:g:{198.51.100.0/24}:*");
	ck_assert_int_gt(rkeys_network("198.51.100.200", 24, 64, pat, sizeof(pat)), 0);
	ck_assert_str_eq(pat, "198.51.100.0/24");
}
END_TEST

START_TEST(other_kinds)
{
	struct rkeys k;
	char a[RKEYS_MAX], b[RKEYS_MAX], err[128];

	ck_assert_int_eq(rkeys_init(&k, "rg:", "s", err, sizeof(err)), 0);
	ck_assert_int_eq(rkeys_init(&k, "r{g", "s", err, sizeof(err)), -1);
	ck_assert_int_eq(rkeys_init(&k, "rg:", "s", err, sizeof(err)), 0);
	ck_assert_int_gt(rkeys_rate(&k, "sasl", "alice smith", 500, 3600000, a, sizeof(a), err, sizeof(err)),
			 0);
	ck_assert_str_eq(a, "rg:r:{sasl:alice%20smith}:500/3600000");
	ck_assert_int_gt(rkeys_rate(&k, "sender", "a}b{c", 1, 1, a, sizeof(a), err, sizeof(err)), 0);
	ck_assert_str_eq(a, "rg:r:{sender:a%7Db%7Bc}:1/1");
	ck_assert_int_eq(rkeys_rate(&k, "Bad Kind", "x", 1, 1, a, sizeof(a), err, sizeof(err)), -1);
	ck_assert_int_gt(rkeys_rate_pattern(&k, "client", "192.0.2.10", a, sizeof(a)), 0);
	ck_assert_str_eq(a, "rg:r:{client:192.0.2.10}:*");
	ck_assert_int_gt(rkeys_rate_pattern(&k, "sasl", "x*y", a, sizeof(a)), 0);
	ck_assert_str_eq(a, "rg:r:{sasl:x%2Ay}:*"); /* escaped, so no glob character is left */
	ck_assert_int_gt(rkeys_callout(&k, "Bob@Example.COM", a, sizeof(a)), 0);
	ck_assert_int_gt(rkeys_callout(&k, "bob@example.com", b, sizeof(b)), 0);
	ck_assert_str_eq(a, b); /* case does not split the cache */
	ck_assert_int_eq(strncmp(a, "rg:c:{example.com}:", 19), 0);
	ck_assert_uint_eq(strlen(a), 19 + 16);
	ck_assert_int_gt(rkeys_callout(&k, "a@ev}il{.com", a, sizeof(a)), 0);
	ck_assert_int_eq(strncmp(a, "rg:c:{ev_il_.com}:", 18), 0);
	ck_assert_int_eq(rkeys_callout(&k, "bob@example.com", a, 20), -1);
	ck_assert_int_gt(rkeys_hopdown(&k, "[mx.{x}.test]:25", a, sizeof(a)), 0);
	ck_assert_str_eq(a, "rg:cd:{[mx._x_.test]:25}");
	ck_assert_int_gt(rkeys_harvest(&k, "203.0.113.5", 600000, a, sizeof(a)), 0);
	ck_assert_str_eq(a, "rg:h:{203.0.113.5}:600000");
	ck_assert_int_eq(rkeys_harvest(&k, "1.2.3.4}{x", 600000, a, sizeof(a)), -1);
}
END_TEST

/* relayguardctl's SCAN patterns: every key of a kind, a domain's cache entries. */
START_TEST(ctl_patterns)
{
	struct rkeys k, k2;
	char buf[2 * RKEYS_MAX], key[RKEYS_MAX], err[128];

	ck_assert_int_eq(rkeys_init(&k, "rg:", "s", err, sizeof(err)), 0);
	ck_assert_int_gt(rkeys_kind_pattern(&k, "a", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:a:{*");
	ck_assert_int_eq(rkeys_kind_pattern(&k, "a*", buf, sizeof(buf)), -1);
	ck_assert_int_eq(rkeys_kind_pattern(&k, "", buf, sizeof(buf)), -1);
	ck_assert_int_gt(rkeys_callout_pattern(&k, "Ex?mple.com", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "rg:c:{ex_mple.com}:*");
	/* the pattern matches the keys rkeys_callout names for that domain */
	ck_assert_int_gt(rkeys_callout(&k, "Bob@Example.COM", key, sizeof(key)), 0);
	ck_assert_int_gt(rkeys_callout_pattern(&k, "example.com", buf, sizeof(buf)), 0);
	ck_assert_int_eq(strncmp(key, buf, strlen(buf) - 1), 0);
	ck_assert_int_eq(rkeys_init(&k2, "r*[x]:", "s", err, sizeof(err)), 0);
	ck_assert_int_gt(rkeys_kind_pattern(&k2, "cd", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "r\\*\\[x\\]:cd:{*");
}
END_TEST

/* Every key of one call in one slot. */
static void
assert_one_slot(const char *const *keys, const size_t *lens, int n, const char *what)
{
	unsigned s0 = rkeys_slot(keys[0], lens[0]);

	for (int i = 1; i < n; i++)
		ck_assert_msg(rkeys_slot(keys[i], lens[i]) == s0, "%s: %s and %s in different slots", what,
			      keys[0], keys[i]);
}

START_TEST(one_slot_per_script_call)
{
	static const char *const clients[] = {"198.51.100.7", "203.0.113.250", "2001:db8::1", "10.1.2.3"};
	static const char *const senders[] = {"", "bob@sender.test", "x{y}@z.test", "\xc3\xa9@b.test"};
	static const char *const subjects[] = {"192.0.2.10", "alice", "{evil}", "sender.test", "a b%c"};
	static const char *const kinds[] = {"client", "sasl", "sender", "sender-domain", "rcpt-domain"};
	struct rg_rate rates[RG_RATE_MAX];
	struct ratelimit_call c;
	struct greylist_triplet t;
	struct rkeys k;
	char err[128], h[RKEYS_MAX];

	params();
	rkeys_from_params(&k, &g);
	/* greylist.lua: KEYS = triplet, network counter. */
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++) {
			const char *keys[2];
			size_t lens[2];

			ck_assert_int_eq(
			    greylist_keys(&p, &g, clients[i], senders[j], "alice@example.com", &t), 0);
			keys[0] = t.tkey;
			keys[1] = t.nkey;
			lens[0] = strlen(t.tkey);
			lens[1] = strlen(t.nkey);
			assert_one_slot(keys, lens, 2, "greylist.lua");
			greylist_triplet_free(&t);
		}
	/* ratelimit.lua: KEYS = every limit of one subject, as the policy server sends them. */
	for (int i = 0; i < RG_RATE_MAX; i++)
		rates[i] = (struct rg_rate){10 + i, 60000LL * (i + 1)};
	for (size_t i = 0; i < 5; i++)
		for (size_t j = 0; j < 5; j++) {
			ck_assert_int_eq(ratelimit_build(&c, "EVALSHA", "sha", "rg:", kinds[i], subjects[j],
							 RATELIMIT_ADD, 0, 1, rates, RG_RATE_MAX, err,
							 sizeof(err)),
					 0);
			assert_one_slot(c.argv + 3, c.argvlen + 3, c.nkeys, "ratelimit.lua");
		}
	/* ratelimit.lua for the milter's harvest counter: one key. */
	ck_assert_int_gt(rkeys_harvest(&k, "203.0.113.5", 600000, h, sizeof(h)), 0);
	ck_assert_uint_lt(rkeys_slot(h, strlen(h)), 16384);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rkeys");
	TCase *tc = tcase_create("keys");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, siphash_reference);
	tcase_add_test(tc, slots_as_redis);
	tcase_add_test(tc, greylist_readable_and_keyed);
	tcase_add_test(tc, other_kinds);
	tcase_add_test(tc, one_slot_per_script_call);
	tcase_add_test(tc, ctl_patterns);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
