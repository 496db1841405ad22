#!/bin/bash
# Spam scanning through a real Postfix with relayguard-milter and a real
# spamd: GTUBE is refused with 550 5.7.1 at the end of DATA; a 6-point
# message is delivered tagged (X-Spam-Flag: YES, required=4.0); ham is
# delivered with X-Spam-Status: No; forged X-Spam-* headers are replaced by
# ours; a standard-class domain is not scanned; recipients with different
# settings are split with 452 4.5.3; spamd stopped -> delivered unscanned
# (accept) or 451 (tempfail); scanning resumes when spamd is back.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink spamd spamc
rg_need_build

start_spamd || BAIL_OUT "no spamd"
sport=$SPAMD_PORT
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
mport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
milter_tmpdir = $RG_TMP
milter_memory_buffer = 16k
run_user = nobody
myhostname = relay.rgtest.invalid
spamd_server = 127.0.0.1:$sport
spamd_timeout = 20s
domain_table = domains
premium_spam_scan = yes
premium_spam_tag_score = 4.0
premium_spam_reject_score = 15
CONF
cat >"$conf/domains" <<TABLE
example.com   premium  spam_reject=yes
other.test    premium
tf.test       premium  spam_failure_action=tempfail
big.test      premium  spam_max_size=2k
std.test      standard
TABLE
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$RG_SRCDIR/debian/changelog")
is "$("$RG_BUILD/relayguard-milter" -V)" "relayguard-milter $version" "-V prints the version of debian/changelog"
check "... and the start line names it" grep -qF "starting: version $version," "$(rg_log milter)"
start_postfix relay "smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
for d in example.com other.test tf.test big.test std.test; do
	postfix_route relay $d "[127.0.0.1]:$(rg_port sink)"
done

send() { # to [swaks args]
	local to=$1
	shift
	swaks_send relay --from sender@remote.test --to "$to" --xclient-addr 198.51.100.20 \
		--xclient-name mail.remote.test "$@"
}
last_with() { # ERE: the newest sink file that matches
	grep -lE "$1" $(sink_files sink) 2>/dev/null | tail -n 1
}
# Functions, not "$(...)" arguments: wait_until re-runs them on every try.
delivered() { # ERE: a sink file matches
	[ -n "$(last_with "$1")" ]
}
delivered_with() { # ERE ERE2: the newest sink file matching ERE also matches ERE2
	local f
	f=$(last_with "$1") && [ -n "$f" ] && grep -qE -- "$2" "$f"
}

send alice@example.com --header "Subject: gtube" --body "$RG_GTUBE"
like "$(swaks_reply_to .)" '^550 5\.7\.1 Message rejected as spam \(score [0-9.]+\)' "... with 550 5.7.1 and the score"

send alice@example.com --header "Subject: six" --body "Hello, rgtestsixpoints here. Regards"
is "$SWAKS_CODE" 250 "a 6-point message is accepted (tag 4 <= 6 < reject 15)"
check "... and delivered" wait_until 45 delivered '^Subject: six'
m=$(last_with '^Subject: six')
check "... with X-Spam-Flag: YES" grep -q '^X-Spam-Flag: YES' "$m"
check "... and required=4.0 (the class's tag score)" grep -qE '^X-Spam-Status: Yes, score=([6-9]|1[0-4])\.[0-9] required=4\.0' "$m"
check "... and X-Spam-Level with at least six stars" grep -qE '^X-Spam-Level: \*{6,}$' "$m"
check "... and its rule in tests=" grep -qE 'RG_TEST_SIX' "$m"
check "... and the checker version" grep -qE '^X-Spam-Checker-Version: SpamAssassin.* on relay\.rgtest\.invalid' "$m"

send bob@other.test --header "Subject: ham" --body "Lunch on Friday? See you."
is "$SWAKS_CODE" 250 "ham is accepted"
check "... and delivered" wait_until 45 delivered '^Subject: ham'
m=$(last_with '^Subject: ham')
check "... with X-Spam-Status: No" grep -qE '^X-Spam-Status: No, score=-?[0-9.]+ required=4\.0' "$m"
unlike "$(grep -i '^X-Spam-Flag' "$m")" 'YES' "... and no X-Spam-Flag"

send bob@other.test --header "Subject: forged" --header "X-Spam-Flag: YES" \
	--header "x-spam-status: Yes, score=99.0 required=1.0" --header "X-SPAM-Level: ****" \
	--body "Nothing to see here."
is "$SWAKS_CODE" 250 "a message with forged X-Spam headers is accepted"
check "... delivered" wait_until 45 delivered '^Subject: forged'
m=$(last_with '^Subject: forged')
is "$(grep -ci '^X-Spam-Flag:' "$m")" 0 "... without the forged X-Spam-Flag"
is "$(grep -ci '^X-Spam-Status:' "$m")" 1 "... with exactly one X-Spam-Status"
check "... which is ours" grep -qE '^X-Spam-Status: No, score=-?[0-9.]+ required=4\.0' "$m"
is "$(grep -ci '^X-Spam-Level:' "$m")" 1 "... and exactly one X-Spam-Level"

many=()
for i in $(seq 1 40); do many+=(--add-header "X-Spam-Status: Yes, score=99.$i required=1.0"); done
send bob@other.test --header "Subject: forty forged" "${many[@]}" --body "Nothing to see here."
is "$SWAKS_CODE" 250 "a message with 40 forged X-Spam-Status headers is accepted ..."
check "... delivered" wait_until 45 delivered '^Subject: forty forged'
is "$(grep -ci '^X-Spam-Status:' "$(last_with '^Subject: forty forged')")" 1 "... with only our X-Spam-Status"
many=()
for i in $(seq 1 40); do many+=(--add-header "X-Spam-Forged$i: Yes"); done
send bob@other.test --header "Subject: forty names" "${many[@]}" --body "Nothing to see here."
like "$(swaks_reply_to .)" '^451 4\.7\.1 ' "more X-Spam-* names than the milter tracks: 451, never a forged verdict passed on"

send carol@std.test --header "Subject: standard" --body "$RG_GTUBE"
is "$SWAKS_CODE" 250 "a standard-class domain's mail is not scanned (even GTUBE)"
check "... delivered" wait_until 45 delivered '^Subject: standard'
is "$(grep -ci '^X-Spam-' "$(last_with '^Subject: standard')")" 0 "... without X-Spam headers"

swaks_send relay --from sender@remote.test --to alice@example.com,carol@std.test \
	--xclient-addr 198.51.100.20 --header "Subject: mixed" --body "mixed recipients"
like "$(grep -E '^RCPT' "$SWAKS_REPLIES" | tail -n 1)" $'RCPT\t452 4\\.5\\.3 ' \
	"a recipient with other filtering settings is tempfailed with 452 4.5.3"
is "$SWAKS_CODE" 250 "... the first recipient's mail goes through"

mlog=$(log_mark milter)
big=$(head -c 6000 /dev/zero | tr '\0' 'y' | fold -w 70)
send eve@big.test --header "Subject: too big to scan" --body "$big"
is "$SWAKS_CODE" 250 "a message over spam_max_size is accepted ..."
check "... delivered" wait_until 45 delivered '^Subject: too big to scan'
check "... marked as not scanned (too large)" grep -qx 'X-Relayguard-Scan: not scanned (too-large)' \
	"$(last_with '^Subject: too big to scan')"
check "... and logged" log_wait "$mlog" 'scanned=no reason=too-large' 10

# --- reload: std.test becomes premium ---------------------------------------
sed -i 's/^std.test .*/std.test      premium/' "$conf/domains"
mlog=$(log_mark milter)
kill -HUP "$(rg_pid milter)"
check "SIGHUP reloads the milter's tables" log_wait "$mlog" 'reload: configuration' 5
send carol@std.test --header "Subject: after reload" --body "$RG_GTUBE"
check "... std.test is scanned now" wait_until 45 delivered '^Subject: after reload'
check "... and tagged" grep -q '^X-Spam-Flag: YES' "$(last_with '^Subject: after reload')"
printf 'broken.test nosuchclass\n' >>"$conf/domains"
mlog=$(log_mark milter)
kill -HUP "$(rg_pid milter)"
check "a broken table on reload is reported with file:line" \
	log_wait "$mlog" 'domains:[0-9]+: .*nosuchclass' 5
check "... the milter keeps running" kill -0 "$(rg_pid milter)"
send bob@other.test --header "Subject: still scanning" --body "hello"
check "... and scanning with the old tables" \
	wait_until 20 delivered_with '^Subject: still scanning' '^X-Spam-Status: No, score='
sed -i '$d' "$conf/domains"

# --- spamd fails ------------------------------------------------------------
stop_spamd
send bob@other.test --header "Subject: unscanned" --body "scanner away"
is "$SWAKS_CODE" 250 "spamd stopped: mail is accepted (spam_failure_action = accept)"
check "... delivered" wait_until 45 delivered '^Subject: unscanned'
check "... marked as not scanned" grep -qx 'X-Relayguard-Scan: not scanned (unavailable)' \
	"$(last_with '^Subject: unscanned')"
mlog=$(log_mark milter)
send dan@tf.test --header "Subject: tempfail" --body "scanner away"
like "$(swaks_reply_to .)" '^451 4\.7\.1 ' "spamd stopped, tempfail mode: 451 4.7.1"
check "the milter logged why" log_wait "$mlog" 'scanned=no reason="spamd ' 5

RG_SPAMD_PORT=$sport start_spamd spamd2 || BAIL_OUT "spamd does not restart"
send alice@example.com --header "Subject: gtube again" --body "$RG_GTUBE"
like "$(swaks_reply_to .)" '^550 5\.7\.1 ' "spamd back: scanning resumes (GTUBE refused again)"

done_testing
