/*
 * check_greylist - the greylist triplet keys: whole addresses, never cut.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "greylist.h"

static struct rg_params p, g;

static void
key(const char *sender, const char *rcpt, char *tkey)
{
	struct greylist_triplet t;

	p.greylist_ipv4_prefix = 24;
	p.greylist_ipv6_prefix = 64;
	g.redis_key_prefix = "rg:";
	g.redis_key_secret = "test";
	g.recipient_delimiter = "+";
	ck_assert_int_eq(greylist_keys(&p, &g, "198.51.100.7", sender, rcpt, &t), 0);
	strcpy(tkey, t.tkey);
	greylist_triplet_free(&t);
}

START_TEST(long_addresses_are_distinct)
{
	char a[1200], b[1200], ka[256], kb[256];

	/* Two recipients alike in their first 1000 bytes: two triplets. */
	memset(a, 'l', 1000);
	strcpy(a + 1000, "x@example.com");
	memcpy(b, a, sizeof(a));
	b[1000] = 'y';
	key("s@remote.test", a, ka);
	key("s@remote.test", b, kb);
	ck_assert_str_ne(ka, kb);
	/* The same for senders. */
	key(a, "r@example.com", ka);
	key(b, "r@example.com", kb);
	ck_assert_str_ne(ka, kb);
	/* And the case of the recipient still does not matter. */
	key("s@remote.test", "Bob@Example.COM", ka);
	key("s@remote.test", "bob@example.com", kb);
	ck_assert_str_eq(ka, kb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("greylist");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, long_addresses_are_distinct);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
