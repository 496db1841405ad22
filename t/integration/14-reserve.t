#!/bin/bash
# Exact rate limits on a cluster, and greylisting after the recipient
# check: two Postfix relays, each with its own relayguard-policyd and
# relayguard-milter, one Redis, the customer's server a second Postfix that
# knows its users, spamd for the spam verdict.
#   - 20 sessions from one customer IP, spread over both relays, all at RCPT
#     before any sends DATA, limit 10/1h: exactly 10 pass RCPT and are
#     delivered; after they end the 11th gets 450 naming the limit.
#   - a session left hanging after RCPT gives its place back after
#     rate_limit_reservation_lifetime, one that quits gives it back at once.
#   - nothing that is not accepted counts: an unknown recipient (550 from
#     the callout), a greylisted first attempt, a GTUBE message refused by
#     the milter; rate_limit_unit = recipient counts a message to three
#     recipients as three; a per-domain inbound limit through Postfix.
#   - an unknown recipient gets 550 5.1.1 on the first attempt and leaves no
#     greylist key; a known one gets 450, then 250 with X-Greylist.
#   - the 452 split covers greylisting settings.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks redis-server redis-cli spamd
rg_need_build

start_redis || BAIL_OUT "no redis"
start_spamd || BAIL_OUT "no spamd"
users="out@remote.test alice@customer.test bob@customer.test carol@customer.test u1@rcpt.test u2@rcpt.test u3@rcpt.test"
users="$users l1@limited.test g1@gl2.test"
start_downstream_postfix down $users || BAIL_OUT "no downstream Postfix"
dport=$(rg_port down)

conf=$RG_TMP/rg
mkdir -p "$conf"
chmod 755 "$conf"
cat >"$conf/domains" <<TABLE
customer.test premium nexthop=[127.0.0.1]:$dport
rcpt.test     premium nexthop=[127.0.0.1]:$dport greylisting=no spam_scan=no rate_limit_unit=recipient inbound_rate_limits=50/1h
limited.test  premium nexthop=[127.0.0.1]:$dport greylisting=no spam_scan=no recipient_callout=no inbound_rate_limits=3/1h
gl2.test      premium nexthop=[127.0.0.1]:$dport greylisting=no
TABLE
cat >"$conf/clients" <<TABLE
192.0.2.10 premium rate_limits=10/1h spam_scan=no
192.0.2.20 premium rate_limits=1/1h spam_scan=no
TABLE
for n in 1 2; do
	eval pp$n=$(rg_free_port) mp$n=$(rg_free_port)
	eval pp=\$pp$n mp=\$mp$n
	cat >"$conf/node$n.conf" <<CONF
myhostname = node$n.rgtest.invalid
policyd_listen = inet:127.0.0.1:$pp
policyd_pidfile = $conf/p$n.pid
milter_listen = inet:$mp@127.0.0.1
milter_pidfile = $conf/m$n.pid
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
domain_table = domains
client_table = clients
spamd_server = 127.0.0.1:$SPAMD_PORT
dynamic_ip_blocking = no
rate_limit_reservation_lifetime = 8s
premium_greylisting = yes
premium_greylist_delay = 2s
premium_recipient_callout = yes
premium_spam_scan = yes
premium_spam_reject = yes
premium_spam_reject_score = 5
premium_inbound_rate_limits = 100/1h
callout_timeout = 5s
CONF
	start_policyd "$conf/node$n.conf" policyd$n || BAIL_OUT "policyd $n does not start"
	start_milter "$conf/node$n.conf" milter$n || BAIL_OUT "milter $n does not start"
	pol="check_policy_service { inet:127.0.0.1:$pp, default_action=DUNNO, timeout=10s }"
	start_postfix relay$n "smtpd_relay_restrictions = $pol, reject_unauth_destination" \
		"smtpd_end_of_data_restrictions = $pol" "smtpd_milters = inet:127.0.0.1:$mp" \
		"milter_default_action = tempfail" "milter_protocol = 6" || BAIL_OUT "no relay $n"
	for d in remote.test customer.test rcpt.test limited.test gl2.test; do
		postfix_route relay$n $d "[127.0.0.1]:$dport"
	done
done

# counted KIND SUBJECT: messages (or recipients) counted for a subject in
# the last hour: the buckets (numeric fields) of its one limit's hash.
counted() {
	redis-cli -p "$REDIS_PORT" --scan --pattern "rg:r:*$1:$2*" |
		while read -r k; do redis-cli -p "$REDIS_PORT" hgetall "$k"; done |
		awk 'NR % 2 == 1 { f = $0; next } f !~ /^r:/ { s += $1 } END { print s + 0 }'
}
# held KIND SUBJECT: reservations held for a subject (its "r:..." fields).
held() {
	redis-cli -p "$REDIS_PORT" --scan --pattern "rg:r:*$1:$2*" |
		while read -r k; do redis-cli -p "$REDIS_PORT" hkeys "$k"; done | grep -c '^r:'
}
greykeys() { redis-cli -p "$REDIS_PORT" --scan --pattern 'rg:g:*' | wc -l; }

# --- SMTP sessions by hand, so that 20 can wait at RCPT together ----------
# (called directly, never in $(...): the descriptors live in this shell)
declare -A S_FD
s_read() { # ID: the last line of one reply into S_REPLY
	local line
	S_REPLY=timeout
	while IFS= read -r -t 15 line <&"${S_FD[$1]}"; do
		line=${line%$'\r'}
		case $line in [0-9][0-9][0-9]-*) continue ;; esac
		S_REPLY=$line
		return 0
	done
	return 1
}
s_cmd() { printf '%s\r\n' "$2" >&"${S_FD[$1]}" && s_read "$1"; }
s_close() { eval "exec ${S_FD[$1]}>&-"; }
# s_rcpt ID RELAY CLIENT RCPT: connect, pretend to be CLIENT (XCLIENT), MAIL,
# RCPT; S_REPLY is the RCPT reply.
s_rcpt() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$(rg_port "$2")" || return 1
	S_FD[$1]=$fd
	s_read "$1"
	s_cmd "$1" "EHLO client.rgtest.invalid"
	s_cmd "$1" "XCLIENT ADDR=$3 NAME=mail.customer.test"
	s_cmd "$1" "EHLO client.rgtest.invalid"
	s_cmd "$1" "MAIL FROM:<info@customer.example>"
	s_cmd "$1" "RCPT TO:<$4>"
}
s_data() { # ID: send a small message; S_REPLY is the reply to its end
	s_cmd "$1" DATA
	printf 'Subject: reserve %s\r\n\r\nhello\r\n.\r\n' "$1" >&"${S_FD[$1]}"
	s_read "$1"
}

# --- 20 at once against 10/1h, over two nodes --------------------------------
pass=0
for i in $(seq 1 20); do
	s_rcpt s$i relay$((i % 2 + 1)) 192.0.2.10 out@remote.test
	r=$S_REPLY
	code[$i]=${r%% *}
	[ "${code[$i]}" = 250 ] && pass=$((pass + 1))
	[ "${code[$i]}" = 450 ] && last450=$r
done
is "$pass" 10 "20 sessions at RCPT at once, limit 10/1h: exactly 10 pass"
like "$last450" '^450 4\.7\.1 .*Rate limit exceeded: 10 messages per 1h for client 192\.0\.2\.10, try again in ' \
	"... the others hear 450 naming the limit"
is "$(held client 192.0.2.10)" 10 "... the 10 hold reservations in Redis"
is "$(counted client 192.0.2.10)" 0 "... and nothing is counted before the messages end"
acc=0
for i in $(seq 1 20); do
	if [ "${code[$i]}" = 250 ]; then
		s_data s$i
		[ "${S_REPLY%% *}" = 250 ] && acc=$((acc + 1))
	fi
	s_cmd s$i QUIT
	s_close s$i
done
is "$acc" 10 "... the 10 are accepted at the end of DATA"
check "... and delivered downstream" mailbox_wait down out@remote.test 10 30
is "$(counted client 192.0.2.10)" 10 "... counted 10 (by the milters, after their verdict)"
is "$(held client 192.0.2.10)" 0 "... their reservations became counts"
swaks_send relay1 --from info@customer.example --to out@remote.test --xclient-addr 192.0.2.10 \
	--xclient-name mail.customer.test
is "$SWAKS_CODE" 450 "after they end, the 11th gets 450"

# --- abandoned and ended sessions -----------------------------------------------
s_rcpt hang relay1 192.0.2.20 out@remote.test
like "$S_REPLY" '^250 ' "a session of a 1/1h client passes RCPT and then hangs"
rcpt_code() { # the RCPT reply code of a session that quits after RCPT
	swaks --server "127.0.0.1:$(rg_port relay2)" --from info@customer.example --to out@remote.test \
		--xclient-addr 192.0.2.20 --xclient-name mail.customer.test --quit-after RCPT 2>&1 |
		sed -nE 's/^<[-*]+ *([0-9]{3}) .*(2\.1\.5|4\.7\.1).*/\1/p' | tail -n 1
}
rcpt_passes() { [ "$(rcpt_code)" = 250 ]; }
is "$(rcpt_code)" 450 "... another session of it hears 450 while the first holds the place"
start=$SECONDS
check "the hanging session's place comes back after the reservation lifetime (8s)" \
	wait_until 25 rcpt_passes
cmp_ok $((SECONDS - start)) '>=' 4 "... not before it"
s_close hang
s_rcpt quitter relay1 192.0.2.20 out@remote.test
like "$S_REPLY" '^250 ' "a session passes RCPT"
s_cmd quitter QUIT
s_close quitter
check "... and quits: its place is back at once, well within the lifetime" wait_until 3 rcpt_passes
is "$(counted client 192.0.2.20)" 0 "... none of these sessions was counted"

# --- greylisting after the callout, and what never counts ---------------------
send() { # relay client to [swaks args]
	local relay=$1 ip=$2 to=$3
	shift 3
	swaks_send "$relay" --from sender@remote.example --to "$to" --xclient-addr "$ip" \
		--xclient-name mail.remote.example "$@"
}
plog1=$(log_mark "$(rg_log policyd1)")
send relay1 198.51.100.7 nobody@customer.test
like "$(swaks_reply_to RCPT)" '^550 5\.1\.1 ' "an unknown recipient gets the callout's 550 5.1.1 on the first attempt"
is "$(greykeys)" 0 "... and leaves no greylist key"
like "$(log_since "$plog1")" 'recipient=<nobody@customer\.test> .*greylist=milter' \
	"... policyd left greylisting of this callout domain to the milter"
is "$(counted domain customer.test)" 0 "... nothing counted"
send relay2 198.51.100.7 bob@customer.test
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 Greylisted' "a known recipient is greylisted: 450 4.7.1"
is "$(greykeys)" 1 "... one greylist triplet"
is "$(counted domain customer.test)" 0 "... the greylisted first attempt is not counted"
is "$(held domain customer.test)" 0 "... and holds no reservation after the session"
sleep 2.5
send relay1 198.51.100.7 bob@customer.test --header "Subject: greylisted once"
is "$SWAKS_CODE" 250 "... the retry after the delay is accepted (the other node, same triplet)"
check "... delivered" mailbox_wait down bob@customer.test 1 30
check "... with X-Greylist from the milter" mailbox_grep down bob@customer.test \
	'^X-Greylist: delayed [0-9]+ seconds by relayguard-milter at node1\.rgtest\.invalid'
is "$(counted domain customer.test)" 1 "... and counted once"
send relay2 198.51.100.7 bob@customer.test --body "$RG_GTUBE"
like "$(swaks_reply_to .)" '^550 5\.7\.1 ' "a GTUBE message is refused by the milter"
is "$(counted domain customer.test)" 1 "... and not counted"
is "$(held domain customer.test)" 0 "... its reservation given back"

# the 452 split: a greylisted and a non-greylisted domain never share a message
swaks_send relay1 --from sender@remote.example --to bob@customer.test,g1@gl2.test \
	--xclient-addr 198.51.100.7 --xclient-name mail.remote.example
is "$(grep -E '^RCPT' "$SWAKS_REPLIES" | cut -f2 | cut -c1-9 | tr '\n' ' ')" "250 2.1.5 452 4.5.3 " \
	"recipients with different greylisting settings are split with 452 4.5.3"

# --- rate_limit_unit = recipient, and a per-domain inbound limit --------------
swaks_send relay2 --from sender@remote.example --to u1@rcpt.test,u2@rcpt.test,u3@rcpt.test \
	--xclient-addr 198.51.100.8 --xclient-name mail.remote.example
is "$SWAKS_CODE" 250 "a message to three recipients of a per-recipient domain is accepted"
is "$(counted domain rcpt.test)" 3 "... and counts 3"
codes=
for i in 1 2 3 4; do
	send relay$((i % 2 + 1)) 198.51.100.9 l1@limited.test
	codes="$codes $SWAKS_CODE"
done
is "$codes" " 250 250 250 450" "a domain's inbound limit (3/1h) holds across both nodes"
like "$(swaks_reply_to RCPT)" 'Rate limit exceeded: 3 messages per 1h for recipient domain limited\.test' \
	"... naming the recipient domain"
"$RG_BUILD/relayguard-policyd" -t -c "$(dirname "$0")/../../conf/relayguard.conf" >/dev/null 2>&1
is $? 0 "the shipped relayguard.conf (with its inbound limits) is accepted"
like "$(grep -E '^premium_inbound_rate_limits' "$(dirname "$0")/../../conf/relayguard.conf")" '= [0-9]+/1h' \
	"... and ships a per-domain inbound limit"

done_testing
