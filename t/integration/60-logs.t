#!/bin/bash
# Logs an admin can follow: a policyd line carries Postfix's queue id (the
# one Postfix logged for the same message) or NOQUEUE, its fields are single
# tokens, every stderr line carries its syslog level as "<N>" for journald,
# and the example lines in relayguard-policyd(8) are the daemon's real output.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server redis-cli nc
rg_need_build

start_redis || BAIL_OUT "no redis"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
pport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $conf/policyd.pid
policyd_max_line_length = 1k
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
myhostname = relay.rgtest.invalid
domain_table = domains
premium_greylisting = yes
premium_greylist_delay = 180s
premium_dynamic_ip_blocking = no
CONF
printf 'example.com premium\nexample.net premium greylisting=no\n' >"$conf/domains"
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
log=$(rg_log policyd)

# talk: send stdin as one request, print the reply up to its empty line (or
# until the server closes). Reads the answer itself rather than timing nc's
# -q wait, which lost answers on a loaded machine.
talk() {
	local line
	exec 5<>"/dev/tcp/127.0.0.1/$pport" || return 1
	cat >&5
	while IFS= read -r -t 8 line <&5; do
		[ -z "$line" ] && break
		printf '%s\n' "$line"
	done
	exec 5<&-
}
req() { # state recipient queue_id instance
	printf 'request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\nclient_address=192.0.2.1\nclient_name=host\nreverse_client_name=host\nhelo_name=host\nsender=a@example.org\nrecipient=%s\nqueue_id=%s\ninstance=%s\nsize=1234\nrecipient_count=1\n\n' \
		"$1" "$2" "$3" "$4"
}
# The man page's example block as log lines: continuation lines joined,
# roff escapes undone.
man_lines() {
	awk '/^\.SH LOGGING/ { s = 1 } s && /^\.RS/ { b = 1; next } b && /^\.RE/ { exit }
		b { if ($0 ~ /^  /) { sub(/^  /, " "); l = l $0 } else { if (l != "") print l; l = $0 } }
		END { if (l != "") print l }' "$RG_SRCDIR/man/$1" | sed 's/\\-/-/g'
}
# A log line as it reaches mail.log: without "<N>", with the name and pid
# journald/syslog add (pid as in the man page).
as_maillog() { sed -E "s/^<[0-7]>/$1[123]: /"; }

warm() { req RCPT "warm$1@example.com" '' 0.0 | talk | grep -q '^action=DEFER_IF_PERMIT'; }
check "policyd answers from Redis" wait_until 10 warm 1
n0=$(wc -l <"$log")
like "$(req RCPT c@example.com '' 1.a | talk)" '^action=DEFER_IF_PERMIT 4\.7\.1 Greylisted' "a first RCPT is greylisted"
is "$(req RCPT c@example.net '' 2.b | talk)" "action=DUNNO" "a RCPT for a domain without greylisting gets DUNNO"
is "$(req END-OF-MESSAGE '' 4XyZ1abc 2.b | talk)" "action=DUNNO" "END-OF-MESSAGE gets DUNNO"
logged_message() { tail -n +$((n0 + 1)) "$log" | grep -q ': message: '; }
wait_until 5 logged_message
got=$(tail -n +$((n0 + 1)) "$log" | grep -E ': (greylist|message): ' | as_maillog relayguard-policyd)
want=$(man_lines relayguard-policyd.8)
is "$got" "$want" "the example lines in relayguard-policyd(8) are the real output"
like "$(tail -n +$((n0 + 1)) "$log" | grep ': greylist: ')" '^<6>NOQUEUE: greylist: ' "a decision without a queue id starts with NOQUEUE, at level info (<6>)"
like "$(tail -n +$((n0 + 1)) "$log" | grep ': message: ')" '^<6>4XyZ1abc: message: ' "... with one, it starts with the queue id"
is "$(req RCPT c@example.com 'X: fake: action=ok' 3.c | talk | head -c 22)" "action=DEFER_IF_PERMIT" "a queue id with odd characters is answered ..."
check "... and only its letters and digits reach the line" grep -q '^<6>Xfakeactionok: greylist: ' "$log"

n0=$(wc -l <"$log")
printf 'request=%s\n\n' "$(head -c 2000 /dev/zero | tr '\0' x)" | talk >/dev/null
wait_until 5 grep -q 'line too long' "$log"
like "$(tail -n +$((n0 + 1)) "$log" | grep 'line too long')" '^<4>warning: ' "a warning is logged at level warning (<4>)"

# A fatal start-up error is never at level info.
bad=$RG_TMP/bad.conf
printf 'policyd_listen = inet:127.0.0.1:%s\npolicyd_pidfile = %s/p2.pid\nnosuchparam = 1\n' "$pport" "$conf" >"$bad"
out=$("$RG_BUILD/relayguard-policyd" -t -c "$bad" 2>&1)
like "$out" '^<3>relayguard-policyd: error: .*bad\.conf:3' "a configuration error is logged at level err (<3>) with file:line"
sed "s|policyd_pidfile = .*|policyd_pidfile = $conf/p3.pid|" "$conf/relayguard.conf" >"$conf/busy.conf"
out=$(timeout 10 "$RG_BUILD/relayguard-policyd" -f -c "$conf/busy.conf" 2>&1)
like "$out" '^<2>fatal: ' "a fatal error (address in use) is logged at level crit (<2>), not info"

# Real Postfix: the END-OF-MESSAGE line carries the queue id Postfix logged.
start_postfix relay \
	"smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service { inet:127.0.0.1:$pport, default_action=DUNNO, timeout=10s }" \
	"smtpd_end_of_data_restrictions = check_policy_service { inet:127.0.0.1:$pport, default_action=DUNNO, timeout=10s }" ||
	BAIL_OUT "no relay Postfix"
postfix_route relay example.net "[127.0.0.1]:$(rg_port sink)"
swaks_send relay --from bob@sender.test --to carol@example.net --xclient-addr 203.0.113.9 \
	--xclient-name mail.sender.test
is "$SWAKS_CODE" 250 "a message through Postfix is accepted"
qid=$(sed -nE 's/.*queued as ([0-9A-Za-z]+).*/\1/p' <<<"$SWAKS_REPLY")
isnt "$qid" "" "... Postfix gave it queue id $qid"
check "... Postfix logged that queue id" postfix_log_wait relay "$qid: client=" 10
check "... and policyd's END-OF-MESSAGE line carries it" wait_until 5 \
	grep -qE "^<6>$qid: message: client=mail\\.sender\\.test\\[203\\.0\\.113\\.9\\] sender=<bob@sender\\.test> .*class=premium action=dunno size=[0-9]+ nrcpt=1" "$log"

done_testing
