#!/bin/bash
# The harness itself works: a private relay Postfix relays to smtp-sink and to
# a downstream customer Postfix that knows its users; Redis, spamd and the
# test DNS server answer; the relayguard start functions wait for the socket
# their configuration names; everything is stopped at the end.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix postconf postqueue swaks smtp-sink redis-server redis-cli dnsmasq dig

# --- a relay and its next hop ---------------------------------------------

check "smtp-sink starts" start_smtp_sink sink || BAIL_OUT "no smtp-sink"
start_downstream_postfix down alice@customer.test bob@customer.test
ok $? "downstream Postfix starts" || BAIL_OUT "no downstream Postfix"
start_postfix relay "message_size_limit = 20480000"
ok $? "relay Postfix starts" || BAIL_OUT "no relay Postfix"
postfix_route relay example.com "[127.0.0.1]:$(rg_port sink)"
postfix_route relay customer.test "[127.0.0.1]:$(rg_port down)"
is "$(postconf -c "$(rg_dir relay)/conf" -h message_size_limit)" 20480000 \
	"extra main.cf lines reach the private config"

swaks_send relay --from alice@sender.test --to bob@example.com \
	--xclient-addr 198.51.100.7 --xclient-name mail.sender.test \
	--header "Subject: rg harness relay test"
ok $? "a remote client's mail to example.com is accepted"
is "$SWAKS_CODE" 250 "... with 250"
like "$(swaks_reply_to RCPT)" '^250 2\.1\.5' "... RCPT got 250 2.1.5"
check "... and reaches the sink" sink_wait sink 1 20
msg=$(sink_last sink)
check "the sink kept the Subject header" grep -q '^Subject: rg harness relay test' "$msg"
check "the relay's Received line shows the XCLIENT client" \
	grep -qE 'mail\.sender\.test \[198\.51\.100\.7\]' "$msg"
check "the sink saw the envelope recipient" grep -q '^X-Rcpt-Args: <bob@example.com>' "$msg"
check "sink_grep finds the relay as the sink's client" sink_grep sink '^X-Client-Addr: 127\.0\.0\.1$'
check "the relay logged the delivery" \
	postfix_log_wait relay 'to=<bob@example.com>.*status=sent' 5

swaks_send relay --from alice@sender.test --to carol@elsewhere.test \
	--xclient-addr 198.51.100.7 --xclient-name mail.sender.test
ok $((!$?)) "relaying for a foreign domain is refused"
like "$SWAKS_REPLY" '^454 4\.7\.1 .*Relay access denied' "... with 454 4.7.1 at RCPT (Postfix's defer_unauth_destination)"
like "$(swaks_reply_to RCPT)" '^454' "... the 454 was the answer to RCPT"

swaks_send relay --from alice@sender.test --to bob@customer.test \
	--xclient-addr 198.51.100.7 --header "Subject: via relay to downstream"
ok $? "mail for a customer user is accepted by the relay"
check "... and delivered by the downstream server" \
	mailbox_wait down bob@customer.test 1 20
check "... with its headers" mailbox_grep down bob@customer.test \
	'^Subject: via relay to downstream'

# --- the downstream server knows its users --------------------------------

swaks_send down --from x@sender.test --to alice@customer.test \
	--header "Subject: straight to alice"
is "$SWAKS_CODE" 250 "downstream accepts a known user"
check "... and the Maildir holds the message" mailbox_wait down alice@customer.test 1 20
check "... with its Subject" mailbox_grep down alice@customer.test '^Subject: straight to alice'

swaks_send down --from x@sender.test --to nobody@customer.test
is "$SWAKS_CODE" 550 "downstream rejects an unknown user"
like "$SWAKS_REPLY" '^550 5\.1\.1 ' "... with 550 5.1.1"
is "$(mailbox_count down nobody@customer.test)" 0 "... and delivers nothing"

# --- queue control --------------------------------------------------------

dead=$(rg_free_port)
postfix_route relay later.test "[127.0.0.1]:$dead"
swaks_send relay --from a@sender.test --to x@later.test --xclient-addr 198.51.100.7
ok $? "mail for an unreachable next hop is accepted"
check "... and deferred" postfix_log_wait relay 'to=<x@later.test>.*status=deferred' 20
is "$(postfix_queue_count relay)" 1 "... so one message is queued"
postfix_route relay later.test "[127.0.0.1]:$(rg_port sink)"
check "after re-routing, a flush delivers it" postfix_flush_until relay 20 sink_has sink 2
relay_queue_empty() { [ "$(postfix_queue_count relay)" -eq 0 ]; }
check "... the queue empties" wait_until 10 relay_queue_empty

postfix_conf relay 'smtpd_banner = $myhostname ESMTP rg-reloaded'
postfix_reload relay
banner() {
	swaks_send relay --quit-after CONNECT
	[[ $SWAKS_REPLY =~ rg-reloaded ]]
}
check "postfix_conf + postfix_reload change a running instance" wait_until 10 banner

# --- waiting and log cursors ----------------------------------------------

# wait_until re-runs a function on every try; a "$(...)" argument is
# expanded once, so a test over it is refused instead of silently not
# waiting.
echo 0 >"$RG_TMP/tries"
third_try() {
	local n
	n=$(($(cat "$RG_TMP/tries") + 1))
	echo "$n" >"$RG_TMP/tries"
	[ "$n" -ge 3 ]
}
check "wait_until re-runs a function until it succeeds" wait_until 5 third_try
is "$(cat "$RG_TMP/tries")" 3 "... on the third try"
echo 0 >"$RG_TMP/tries"
wait_until 5 test \
	"$(third_try && echo yes)" = yes 2>/dev/null # check-waits: deliberate
is $? 2 "wait_until refuses test over a \$(...) expanded once (status 2, not a silent wait)"
is "$(cat "$RG_TMP/tries")" 1 "... which the shell ran only once"
wait_until 1 test -n "" 2>/dev/null
is $? 2 "... and any test of fixed strings"
check "... but a file test may change, so it is polled" wait_until 1 test -e "$RG_TMP/tries"

check "scripts/check-waits finds no such wait in the tests" "$RG_SRCDIR/scripts/check-waits"
printf '%s \\\n\t"%s(f)"\n' 'wait_until 9 grep -q x' '$' >"$RG_TMP/pitfall.t"
"$RG_SRCDIR/scripts/check-waits" "$RG_TMP/pitfall.t" >"$RG_TMP/lint.out"
is $? 1 "... and fails on one split over two lines"
like "$(cat "$RG_TMP/lint.out")" 'pitfall\.t:1: wait_until' "... naming file:line"

lg=$RG_TMP/cursor.log
echo "first: reason=old" >"$lg"
mk=$(log_mark "$lg")
log_grep "$mk" 'reason=old'
is $? 1 "log_grep after a mark ignores lines from before it"
echo "second: reason=new" >>"$lg"
check "... and sees the lines written after it" log_grep "$mk" 'reason=new'
is "$(log_since "$mk")" "second: reason=new" "log_since prints only the new lines"
( sleep 0.5; echo "third: late" >>"$lg" ) &
check "log_wait waits for a line written later" log_wait "$mk" '^third: late$' 5
is "$(log_count "$mk" .)" 2 "log_count counts the new lines"
: >"$lg"
echo "after rotation" >>"$lg"
check "a log that shrank since the mark is read from its start" log_grep "$mk" 'after rotation'
mk=$(log_mark relay)
like "$mk" "^$(rg_dir relay)/maillog:[0-9]+\$" "log_mark NAME marks the service's log"

# --- Redis ----------------------------------------------------------------

check "redis starts" start_redis
is "$(redis_cli PING)" PONG "redis answers PING"
redis_cli SET rg:test v EX 60 >/dev/null
is "$(redis_cli @redis GET rg:test)" v "redis_cli @NAME reaches the same instance"
rpid=$(rg_pid redis)
stop_redis
check "stop_redis stops it" wait_until 5 eval '! pid_alive '"$rpid"

# --- spamd ----------------------------------------------------------------

if ! command -v spamd >/dev/null || ! command -v spamc >/dev/null; then
	skip 3 "spamd/spamc not installed"
elif ! start_spamd; then
	diag "spamd could not be started (see above); skipping its checks"
	skip 3 "spamd does not run here"
else
	pass "spamd starts and answers PING"
	gtube=$(printf 'Subject: gtube\n\n%s\n' "$RG_GTUBE" | spamc_score)
	cmp_ok "$gtube" '>=' 1000 "GTUBE scores >= 1000 ($gtube)"
	six=$(printf 'From: Alice <alice@sender.test>\nTo: Bob <bob@customer.test>\nSubject: quarterly report\nDate: %s\nMessage-ID: <rg6.%s@sender.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nHello Bob,\n\nthe figures: rgtestsixpoints\n\nAlice\n' \
		"$(date -R)" "$$" | spamc_score)
	cmp_ok "$six" '>=' 5 "the RG_TEST_SIX message scores >= 5 ($six)"
	cmp_ok "$six" '<' 8 "... and < 8"
fi

# --- DNS ------------------------------------------------------------------

start_dnsmasq $(dnsbl_record pbl.test 203.0.113.5 127.0.0.11) \
	--local=/pbl.test/ --mx-host=customer.test,mx.customer.test,10 \
	--host-record=mx.customer.test,127.0.0.1 \
	--ptr-record=5.113.0.203.in-addr.arpa,dsl-203-0-113-5.dyn.example.net
ok $? "dnsmasq starts"
is "$(dns_query 5.113.0.203.pbl.test)" 127.0.0.11 "a listed IP is in the test DNSBL"
is "$(dns_query 6.113.0.203.pbl.test)" "" "an unlisted IP is not"
like "$(dig @127.0.0.1 -p "$DNS_PORT" +time=2 +tries=1 6.113.0.203.pbl.test A)" \
	'status: NXDOMAIN' "... it gets NXDOMAIN"
is "$(dns_query customer.test MX)" "10 mx.customer.test." "MX records are served"
is "$(dns_query -x 203.0.113.5 2>/dev/null || dig @127.0.0.1 -p "$DNS_PORT" +short -x 203.0.113.5)" \
	"dsl-203-0-113-5.dyn.example.net." "PTR records are served"

# --- relayguard daemons (stand-ins until the real ones are built) ---------

fake=$RG_TMP/fakebuild
mkdir "$fake"
for d in policyd milter; do
	cat >"$fake/relayguard-$d" <<EOF
#!/bin/sh
# stand-in for relayguard-$d: serves the ${d}_listen address of -c CONF
[ "\$1" = -f ] && [ "\$2" = -c ] || exit 2
spec=\$(sed -n 's/^${d}_listen *= *//p' "\$3")
case \$spec in
unix:*) exec nc -lkU "\${spec#unix:}" ;;
inet:*) spec=\${spec#inet:}; exec nc -lk "\${spec%:*}" "\${spec##*:}" ;;
esac
exit 3
EOF
	chmod 755 "$fake/relayguard-$d"
done
saved_build=$RG_BUILD
RG_BUILD=$fake
pport=$(rg_free_port)
printf 'policyd_listen = inet:127.0.0.1:%s\n' "$pport" >"$RG_TMP/policyd.conf"
printf 'milter_listen = unix:%s/milter.sock\n' "$RG_TMP" >"$RG_TMP/milter.conf"
check "start_policyd waits for an inet listener" start_policyd "$RG_TMP/policyd.conf"
check "start_milter waits for a unix socket" start_milter "$RG_TMP/milter.conf"
RG_BUILD=$saved_build
mpid=$(rg_pid milter)
stop_milter
check "stop_milter stops it" wait_until 5 eval '! pid_alive '"$mpid"

done_testing
