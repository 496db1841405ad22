#!/bin/bash
# What the milter leaves on a message, through a real Postfix, spamd and a
# customer's Postfix: forged X-Spam-* headers never reach a customer whose
# class is not scanned; a message that was not scanned carries
# "X-Relayguard-Scan: not scanned (...)" and no X-Spam-Status a filter could
# take for a verdict; outbound mail carries the verdict but not our
# X-Spam-Report; dry_run lets spam, too many X-Spam names and a 452 split
# through (logged "dry_run: would ..."); a recipient longer than 255 bytes
# is called out and scanned like any other (never cut into a non-customer
# address), and one over DNS's limits is refused with 501 5.1.3.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink spamd spamc redis-server
rg_need_build

start_spamd || BAIL_OUT "no spamd"
sport=$SPAMD_PORT
start_redis || BAIL_OUT "no redis"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
start_downstream_postfix down alice@cb.test || BAIL_OUT "no downstream Postfix"
dport=$(rg_port down)
mport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
milter_tmpdir = $RG_TMP
run_user = nobody
myhostname = relay.rgtest.invalid
redis_server = 127.0.0.1:$REDIS_PORT
spamd_server = 127.0.0.1:$sport
spamd_timeout = 20s
domain_table = domains
client_table = clients
premium_spam_scan = yes
premium_spam_tag_score = 4.0
premium_spam_reject = yes
premium_spam_reject_score = 15
callout_connect_timeout = 2s
callout_command_timeout = 2s
CONF
cat >"$conf/domains" <<TABLE
scan.test     premium
std.test      standard
stddry.test   standard dry_run=yes
big.test      premium  spam_max_size=2k
dry.test      premium  dry_run=yes
drytf.test    premium  dry_run=yes spam_failure_action=tempfail
cb.test       premium  recipient_callout=yes nexthop=[127.0.0.1]:$dport
TABLE
cat >"$conf/clients" <<TABLE
192.0.2.30    premium  spam_reject=no
TABLE
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
mlog=$(rg_log milter)
start_postfix relay "smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
for d in scan.test std.test stddry.test big.test dry.test drytf.test out.test; do
	postfix_route relay $d "[127.0.0.1]:$(rg_port sink)"
done
postfix_route relay cb.test "[127.0.0.1]:$dport"

send() { # to [swaks args]
	local to=$1
	shift
	swaks_send relay --from sender@remote.test --to "$to" --xclient-addr 198.51.100.20 \
		--xclient-name mail.remote.test "$@"
}
has_subject() { test -n "$(msg_of "$1")"; }
msg_of() { sink_files sink | xargs -r grep -lE "^Subject: $1\$" 2>/dev/null | tail -n 1; }
mark() { wc -c <"$mlog"; }
since() { tail -c +$(($1 + 1)) "$mlog"; }

# --- 13.8: forged headers, class without scanning ------------------------------
send carol@std.test --header "Subject: std forged" --header "X-Spam-Status: No, score=-5.0 required=5.0" \
	--header "X-Spam-Flag: NO" --header "x-spam-score: -5" --header "X-Relayguard-Scan: clean" \
	--body "$RG_GTUBE"
is "$SWAKS_CODE" 250 "a standard (unscanned) customer's mail is accepted"
check "... delivered" wait_until 45 has_subject "std forged"
m=$(msg_of "std forged")
is "$(grep -ci '^X-Spam-' "$m")" 0 "... without the forged X-Spam-* headers"
is "$(grep -ci '^X-Relayguard-Scan:' "$m")" 0 "... and without a forged X-Relayguard-Scan"

# --- 13.9: the not-scanned mark -------------------------------------------------
big=$(head -c 6000 /dev/zero | tr '\0' 'y' | fold -w 70)
send eve@big.test --header "Subject: too big" --header "X-Spam-Status: No, score=0.0" --body "$big"
is "$SWAKS_CODE" 250 "a message over spam_max_size is accepted"
check "... delivered" wait_until 45 has_subject "too big"
m=$(msg_of "too big")
check "... marked X-Relayguard-Scan: not scanned (too-large)" grep -qx 'X-Relayguard-Scan: not scanned (too-large)' "$m"
is "$(grep -ci '^X-Spam-' "$m")" 0 "... with no X-Spam-* header a filter could read as a verdict"

# --- outbound: verdict yes, X-Spam-Report no -----------------------------------
swaks_send relay --from info@customer.test --to someone@out.test --xclient-addr 192.0.2.30 \
	--xclient-name mail.customer.test --header "Subject: outbound spam" --body "$RG_GTUBE"
is "$SWAKS_CODE" 250 "outbound spam (class without reject for this client) is accepted"
check "... delivered" wait_until 45 has_subject "outbound spam"
m=$(msg_of "outbound spam")
check "... tagged X-Spam-Flag: YES" grep -q '^X-Spam-Flag: YES' "$m"
is "$(grep -ci '^X-Spam-Report:' "$m")" 0 "... without our X-Spam-Report (outbound_spam_report = no)"
send bob@scan.test --header "Subject: inbound tagged" --body "Hello, rgtestsixpoints here. Regards"
check "inbound spam is delivered" wait_until 45 has_subject "inbound tagged"
check "... with the X-Spam-Report" grep -q '^X-Spam-Report:' "$(msg_of "inbound tagged")"

# --- 13.7: dry_run in the milter -----------------------------------------------
b=$(mark)
send dan@dry.test --header "Subject: dry gtube" --body "$RG_GTUBE"
is "$SWAKS_CODE" 250 "dry_run: GTUBE (over spam_reject_score) is accepted"
check "... delivered" wait_until 45 has_subject "dry gtube"
check "... tagged as spam" grep -q '^X-Spam-Flag: YES' "$(msg_of "dry gtube")"
check "... and the log says it would have been rejected" \
	grep -qE 'dry_run: would reject message with "550 5\.7\.1 ' <(since "$b")
many=()
for i in $(seq 1 40); do many+=(--add-header "X-Spam-Forged$i: Yes"); done
b=$(mark)
send dan@dry.test --header "Subject: dry forty" "${many[@]}" --body "Nothing to see here."
is "$SWAKS_CODE" 250 "dry_run: more X-Spam names than tracked is not answered 451"
check "... logged as would defer 451" grep -qE 'dry_run: would defer message with "451 4\.7\.1 ' <(since "$b")
b=$(mark)
swaks_send relay --from sender@remote.test --to bob@scan.test,carol@stddry.test \
	--xclient-addr 198.51.100.20 --header "Subject: dry split" --body "mixed recipients"
is "$(grep -E '^RCPT' "$SWAKS_REPLIES" | cut -f2 | cut -c1-3 | tr '\n' ' ')" "250 250 " \
	"dry_run: a recipient with other filtering settings is not split off with 452"
check "... logged as would defer 452" grep -qE 'dry_run: would defer recipient with "452 4\.5\.3 ' <(since "$b")

# --- 15.1: long recipients ------------------------------------------------------
long="unknown$(printf 'l%.0s' {1..600})@cb.test"
b=$(mark)
send "$long" --header "Subject: long unknown"
isnt "$(swaks_reply_to RCPT | cut -c1)" 2 "a 600-byte unknown recipient of a callout domain is not accepted at RCPT"
like "$(swaks_reply_to RCPT)" '^5[0-9][0-9] 5\.1\.3 ' "... but refused with 5.1.3"
check "... by the callout" grep -qE 'milter: callout: .*result=refused' <(since "$b")
is "$(postfix_queue_count relay)" 0 "... and nothing is queued for it"
long2="$(printf 'l%.0s' {1..300})@scan.test"
send "$long2" --header "Subject: long scanned" --body "$RG_GTUBE"
like "$(swaks_reply_to .)" '^550 5\.7\.1 ' "a 300-byte recipient of a scanned domain is scanned (GTUBE refused)"
label=$(printf 'a%.0s' {1..70})
send "x@$label.scan.test" --header "Subject: long label"
like "$(swaks_reply_to RCPT)" '^501 5\.1\.3 ' "a recipient domain with a 70-byte label gets 501 5.1.3 (Postfix checks this too)"

# --- spamd stops: dry_run covers the tempfail -----------------------------------
stop_spamd
b=$(mark)
send fay@drytf.test --header "Subject: dry tempfail" --body "scanner away"
is "$SWAKS_CODE" 250 "spamd stopped, dry_run with spam_failure_action = tempfail: accepted"
check "... delivered" wait_until 45 has_subject "dry tempfail"
check "... marked not scanned (unavailable)" grep -qx 'X-Relayguard-Scan: not scanned (unavailable)' \
	"$(msg_of "dry tempfail")"
check "... logged as would defer" grep -qE 'dry_run: would defer message with "451 4\.7\.1 ' <(since "$b")

done_testing
