/*
 * check_mproto - what the milter asks of the protocol: no-reply steps only
 * on a unix socket, the body only when a check wants it (spam, virus,
 * DKIM; not SPF), for any class or table entry of the snapshot.
 */
#include <libmilter/mfapi.h>

#include "cfgtest.h"
#include "session_proto.h"

#define ALL_NR (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH)

START_TEST(test_steps)
{
	unsigned long all = 0x001fffffUL; /* everything an MTA of protocol 6 offers */
	unsigned long unix_nobody = mproto_steps(all, 0, 1), tcp_body = mproto_steps(all, 1, 0);

	ck_assert_uint_eq(unix_nobody & ALL_NR, ALL_NR);
	ck_assert(unix_nobody & SMFIP_NOBODY);
	ck_assert(!(unix_nobody & SMFIP_SKIP));
	/* MAIL, RCPT, body and end of message may refuse: they keep their replies */
	ck_assert(!(unix_nobody & (SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_BODY)));
	ck_assert(!(unix_nobody & (SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NODATA | SMFIP_NORCPT | SMFIP_NOMAIL)));
	/* over TCP: every step answered (Nagle + delayed ACK), body skippable */
	ck_assert_uint_eq(tcp_body & (ALL_NR | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_BODY), 0);
	ck_assert(tcp_body & SMFIP_SKIP);
	ck_assert(!(tcp_body & SMFIP_NOBODY));
	/* never more than offered */
	ck_assert_uint_eq(mproto_steps(SMFIP_NR_HDR, 0, 1), SMFIP_NR_HDR);
	ck_assert_uint_eq(mproto_steps(0, 1, 1), 0);
	ck_assert_int_eq(mproto_continue(SMFIP_NR_HDR, SMFIP_NR_HDR), SMFIS_NOREPLY);
	ck_assert_int_eq(mproto_continue(SMFIP_NR_EOH, SMFIP_NR_HDR), SMFIS_CONTINUE);
}
END_TEST

static int
wants(const char *text)
{
	struct rg_diag d = {0};
	struct rg_config *cfg;
	int w;

	t_setup();
	t_write("domains", "a.example premium\nb.example standard dkim_check=yes\n");
	cfg = t_load(text, &d);
	ck_assert_msg(cfg != NULL, "config: %s", d.count ? d.msgs[0] : "?");
	w = mproto_cfg_wants_body(cfg);
	rg_config_unref(cfg);
	rg_diag_free(&d);
	t_teardown();
	return w;
}

START_TEST(test_wants_body)
{
	struct rg_params p = {0};

	ck_assert(!mproto_wants_body(NULL));
	ck_assert(!mproto_wants_body(&p));
	p.spf_check = 1;
	ck_assert(!mproto_wants_body(&p)); /* SPF: the envelope only */
	p.spam_scan = 1;
	ck_assert(mproto_wants_body(&p));
	p.spam_scan = 0;
	p.virus_scan = 1;
	ck_assert(mproto_wants_body(&p));
	p.virus_scan = 0;
	p.dkim_check = 1;
	ck_assert(mproto_wants_body(&p));
	ck_assert(mproto_cfg_wants_body(NULL)); /* nothing known: keep it */

	ck_assert(!wants("classes = premium standard\n"));
	ck_assert(wants("classes = premium standard\npremium_spam_scan = yes\n"));
	/* one table entry's override is enough */
	ck_assert(wants("classes = premium standard\ndomain_table = domains\n"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("mproto");
	TCase *tc = tcase_create("mproto");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_steps);
	tcase_add_test(tc, test_wants_body);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
