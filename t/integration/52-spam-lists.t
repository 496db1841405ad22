#!/bin/bash
# Spam sender lists per recipient domain and per user (spam_sender_lists),
# through a real Postfix with relayguard-milter and a real spamd: a
# denied sender is refused where the class rejects spam and tagged as spam
# where it does not; an allowed sender's GTUBE is delivered tagged, not
# refused; a user's own spam_reject_score refuses a six-point message that
# the domain's other users get tagged; recipients with different list
# settings are split with 452 4.5.3; a reload re-reads the lists, and a
# broken list keeps the old ones.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink spamd spamc
rg_need_build

start_spamd || BAIL_OUT "no spamd"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
mport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
run_user = nobody
myhostname = relay.rgtest.invalid
spamd_server = 127.0.0.1:$SPAMD_PORT
spamd_timeout = 20s
domain_table = domains
spam_sender_lists = senderlists
premium_spam_scan = yes
premium_spam_tag_score = 4.0
premium_spam_reject_score = 15
CONF
cat >"$conf/domains" <<TABLE
example.com   premium  spam_reject=yes
tagonly.test  premium
TABLE
cat >"$conf/senderlists" <<TABLE
# recipient          what               value
example.com          deny               @bad.test
example.com          allow              @friend.test .friends.test
dave@example.com     spam_reject_score  5
tagonly.test         deny               @bad.test
TABLE
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
start_postfix relay "smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
for d in example.com tagonly.test; do
	postfix_route relay $d "[127.0.0.1]:$(rg_port sink)"
done

send() { # from to subject [swaks args]
	local from=$1 to=$2 subj=$3
	shift 3
	swaks_send relay --from "$from" --to "$to" --xclient-addr 198.51.100.20 \
		--xclient-name mail.remote.test --header "Subject: $subj" "$@"
}
last_with() { # ERE: the newest sink file that matches
	grep -lE "$1" $(sink_files sink) 2>/dev/null | tail -n 1
}
delivered() { test -n "$(last_with "$1")"; }
log_lines() { wc -l <"$(rg_log milter)"; }
logged() { # ERE: a milter log line after line $n
	tail -n +"$((n + 1))" "$(rg_log milter)" | grep -qE "$1"
}

send x@bad.test alice@example.com "denied" --body "Lunch on Friday?"
like "$(swaks_reply_to .)" "^550 5\\.7\\.1 Message rejected as spam \\(sender on the recipient's deny list\\)" \
	"a sender on the domain's deny list is refused (the class rejects spam), however clean"

send x@bad.test eve@tagonly.test "denied tag" --body "Lunch on Friday?"
is "$SWAKS_CODE" 250 "... where the class does not reject spam it is accepted"
check "... delivered" wait_until 30 delivered '^Subject: denied tag'
check "... tagged as spam" grep -q '^X-Spam-Flag: YES' "$(last_with '^Subject: denied tag')"

n=$(log_lines)
send y@friend.test alice@example.com "allowed gtube" --body "$RG_GTUBE"
is "$SWAKS_CODE" 250 "GTUBE from a sender on the allow list is not refused"
check "... delivered" wait_until 30 delivered '^Subject: allowed gtube'
check "... but tagged" grep -q '^X-Spam-Flag: YES' "$(last_with '^Subject: allowed gtube')"
check "... and logged with list=allow" wait_until 5 logged 'list=allow action=tag'

send y@mx.friends.test alice@example.com "allowed sub" --body "$RG_GTUBE"
is "$SWAKS_CODE" 250 "a .domain pattern allows the domain's subdomains"

send x@remote.test alice@example.com "six alice" --body "Hello, rgtestsixpoints here."
is "$SWAKS_CODE" 250 "a six-point message to alice (domain reject score 15) is accepted"
check "... delivered" wait_until 30 delivered '^Subject: six alice'
check "... tagged" grep -q '^X-Spam-Flag: YES' "$(last_with '^Subject: six alice')"
send x@remote.test dave@example.com "six dave" --body "Hello, rgtestsixpoints here."
like "$(swaks_reply_to .)" '^550 5\.7\.1 Message rejected as spam' "... to dave (his spam_reject_score 5) refused"

swaks_send relay --from x@remote.test --to alice@example.com,dave@example.com --xclient-addr 198.51.100.20 \
	--header "Subject: mixed" --body "mixed recipients"
like "$(grep -E '^RCPT' "$SWAKS_REPLIES" | tail -n 1)" $'RCPT\t452 4\\.5\\.3 ' \
	"a recipient whose own lists differ is split off with 452 4.5.3"
is "$SWAKS_CODE" 250 "... the first recipient's mail goes through"

# --- reload -------------------------------------------------------------------
echo "alice@example.com    allow  x@bad.test" >>"$conf/senderlists"
n=$(log_lines)
kill -USR1 "$(rg_pid milter)"
check "a reload re-reads the lists" wait_until 5 logged 'reload: configuration'
send x@bad.test alice@example.com "alice allows" --body "hello"
is "$SWAKS_CODE" 250 "... alice's own allow entry now wins over the domain's deny"
echo "example.com  perhaps  @x.test" >>"$conf/senderlists"
n=$(log_lines)
kill -USR1 "$(rg_pid milter)"
check "a broken list on reload is reported with file:line" wait_until 5 logged 'senderlists:[0-9]+: unknown "perhaps"'
send x@bad.test bob@example.com "still denied" --body "hello"
like "$(swaks_reply_to .)" '^550 5\.7\.1 .*deny list' "... and the old lists stay in force"

out=$("$RG_BUILD/relayguard-milter" -t -c "$conf/relayguard.conf" 2>&1)
isnt "$?" 0 "relayguard-milter -t fails on the broken list"
like "$out" 'senderlists:[0-9]+: unknown "perhaps"' "... naming file:line"

done_testing
