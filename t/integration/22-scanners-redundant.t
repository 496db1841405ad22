#!/bin/bash
# Redundant scanners (a scanning cluster) through a real Postfix: spamd_server
# and clamd_server list two servers each. With both up the first scans; with
# the first spamd stopped (connection refused) and the first clamd hung
# (SIGSTOP: its timeout) the message is scanned by the second ones, within
# their timeouts, and the failure is logged once; the next message passes
# over the failed servers at once (logged as skipped) and is still scanned
# (EICAR refused by the second clamd); with every spamd down the message is
# delivered unscanned (spam_failure_action = accept) and the probe of the
# down server is not logged as a new failure.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink spamd spamc clamd
rg_need_build

# Two spamd, each with a rule of its own: the rule in X-Spam-Status says which one scanned.
start_spamd sa1 "body RG_SA_ONE /rgtestsixpoints/" "score RG_SA_ONE 0.01" || BAIL_OUT "no spamd sa1"
p1=$SPAMD_PORT
start_spamd sa2 "body RG_SA_TWO /rgtestsixpoints/" "score RG_SA_TWO 0.01" || BAIL_OUT "no spamd sa2"
p2=$SPAMD_PORT
start_clamd cl1 || BAIL_OUT "no clamd cl1"
c1=$CLAMD_SOCK
start_clamd cl2 || BAIL_OUT "no clamd cl2"
c2=$CLAMD_PORT
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
mport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
milter_tmpdir = $RG_TMP
run_user = nobody
myhostname = relay.rgtest.invalid
spamd_server = 127.0.0.1:$p1, 127.0.0.1:$p2
spamd_timeout = 20s
clamd_server = unix:$c1 inet:127.0.0.1:$c2
clamd_timeout = 3s
scanner_down_backoff = 60s
domain_table = domains
premium_spam_scan = yes
premium_spam_reject_score = 15
premium_virus_scan = yes
CONF
printf 'example.com premium\n' >"$conf/domains"
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
start_postfix relay "smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
postfix_route relay example.com "[127.0.0.1]:$(rg_port sink)"

send() { # subject [swaks args]
	local s=$1
	shift
	swaks_send relay --from sender@remote.test --to alice@example.com --xclient-addr 198.51.100.20 \
		--xclient-name mail.remote.test --header "Subject: $s" "$@"
}
delivered() { grep -lE "^Subject: $1\$" $(sink_files sink) >/dev/null 2>&1; }
msg_of() { grep -lE "^Subject: $1\$" $(sink_files sink) 2>/dev/null | tail -n 1; }
not_in() { ! grep -q "$1" "$(msg_of "$2")"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# --- both up: the first ones scan ----------------------------------------------
mlog=$(log_mark milter)
send one --body "Hello, rgtestsixpoints here."
is "$SWAKS_CODE" 250 "both servers up: the message is accepted"
check "... delivered" wait_until 30 delivered one
check "... scanned by the first spamd (its rule)" grep -q 'RG_SA_ONE' "$(msg_of one)"
check "... not the second" not_in RG_SA_TWO one
check "... logged with the spamd that answered" log_grep "$mlog" "spam: .* spamd=inet:127\\.0\\.0\\.1:$p1( |\$)"
check "... and the clamd (the first, its unix socket)" log_grep "$mlog" "virus: .* virus=clean clamd=unix:${c1//./\\.}( |\$)"

# --- the first ones fail: the second ones scan -----------------------------------
stop_spamd sa1
kill -STOP "$(rg_pid cl1)"
mlog=$(log_mark milter)
t0=$(date +%s.%N)
send two --body "Hello, rgtestsixpoints here."
t1=$(date +%s.%N)
kill -CONT "$(rg_pid cl1)"
is "$SWAKS_CODE" 250 "first spamd stopped, first clamd hung: the message is accepted"
check "... delivered" wait_until 30 delivered two
check "... scanned by the second spamd (its rule)" grep -q 'RG_SA_TWO' "$(msg_of two)"
cmp_ok "$(elapsed "$t0" "$t1")" '<' 20 "... within the deadline (clamd_timeout 3s + a scan, under spamd_timeout)"
check "... the stopped spamd's failure is logged" \
	log_grep "$mlog" "spamd: server inet:127\\.0\\.0\\.1:$p1 failed: .*; marked down for 60s"
check "... and the hung clamd's" log_grep "$mlog" "clamd: server unix:${c1//./\\.} failed: .*; marked down for 60s"
check "... the message's line names the second spamd" log_grep "$mlog" "spam: .* spamd=inet:127\\.0\\.0\\.1:$p2( |\$)"
check "... and the second clamd" log_grep "$mlog" "virus: .* virus=clean clamd=inet:127\\.0\\.0\\.1:$c2( |\$)"

# --- the next message: the failed ones are passed over ----------------------------
mlog=$(log_mark milter)
t0=$(date +%s.%N)
send three --body "Hello, rgtestsixpoints here."
t1=$(date +%s.%N)
is "$SWAKS_CODE" 250 "the next message is accepted"
check "... scanned by the second spamd" wait_until 30 delivered three
check "... (its rule)" grep -q 'RG_SA_TWO' "$(msg_of three)"
check "... the failed spamd is skipped (logged)" \
	log_grep "$mlog" "spamd=inet:127\\.0\\.0\\.1:$p2 spamd_skipped=inet:127\\.0\\.0\\.1:$p1( |\$)"
check "... and the failed clamd" \
	log_grep "$mlog" "clamd=inet:127\\.0\\.0\\.1:$c2 clamd_skipped=unix:${c1//./\\.}( |\$)"
is "$(log_count "$mlog" 'failed: ')" 0 "... no new failure: nothing was tried on them"
cmp_ok "$(elapsed "$t0" "$t1")" '<' 3 "... so no clamd_timeout is waited for"

send eicar --body "$RG_EICAR"
like "$(swaks_reply_to .)" '^550 5\.7\.1 Message contains a virus \(RG-Test\.EICAR' \
	"the second clamd finds EICAR: 550 5.7.1"

# --- every spamd down: unscanned, accepted (spam_failure_action = accept) --------
stop_spamd sa2
mlog=$(log_mark milter)
send four --body "Hello, rgtestsixpoints here."
is "$SWAKS_CODE" 250 "every spamd down: the message is accepted (spam_failure_action = accept)"
check "... delivered" wait_until 30 delivered four
unlike "$(grep -E '^X-Spam-Status:' "$(msg_of four)")" 'score=' "... without a score"
check "... logged unscanned" log_grep "$mlog" 'spam: .*scanned=no reason="spamd '
check "... the second's failure is logged" log_grep "$mlog" "spamd: server inet:127\\.0\\.0\\.1:$p2 failed"
mlog=$(log_mark milter)
send five --body "Hello, rgtestsixpoints here."
is "$SWAKS_CODE" 250 "both in their back-off: accepted unscanned"
check "... after a probe of the one whose back-off ends first" \
	log_grep "$mlog" "spam: .*scanned=no .*spamd=inet:127\\.0\\.0\\.1:$p1 spamd_skipped=inet:127\\.0\\.0\\.1:$p2( |\$)"
is "$(log_count "$mlog" 'spamd: server .* failed')" 0 "... which is not logged as a new failure"
check "the milter is still the same process" kill -0 "$(rg_pid milter)"

done_testing
