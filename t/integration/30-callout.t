#!/bin/bash
# The recipient callout through real Postfix relays and a real downstream
# Postfix (the customer's own server, which knows its users and answers
# 550 5.1.1 for others): a known user gets 250 and is delivered; an unknown
# one gets 550 5.1.1 at RCPT with the downstream's text, and no bounce is
# made anywhere; all recipients of a message are checked in one session;
# two relays with their own milters share one Redis and its cache; hostile
# recipient strings are refused locally and never reach the downstream;
# outside domain_table nobody is called; the harvest limit trips (on every
# node); a stale entry answers and is re-checked in the background; with
# the downstream stopped a cached recipient is accepted and queued, then
# delivered when it is back, and an uncached one gets the configured
# action. Prints the callout latency with a cold and a warm cache.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks redis-server redis-cli
rg_need_build

NLAT=20
users="alice@example.com bob@example.com dave@example.com heidi@example.com carol@tf.test grace@refresh.test erin@nodom.test"
for i in $(seq 1 $NLAT); do users="$users lat$i@example.com"; done
start_redis || BAIL_OUT "no redis"
start_downstream_postfix down $users || BAIL_OUT "no downstream Postfix"
dport=$(rg_port down)

conf=$RG_TMP/rg
mkdir -p "$conf"
mk_conf() { # NAME PORT
	cat >"$conf/$1.conf" <<CONF
milter_listen = inet:$2@127.0.0.1
milter_pidfile = $conf/$1.pid
run_user = nobody
myhostname = relay.rgtest.invalid
redis_server = 127.0.0.1:$REDIS_PORT
redis_timeout = 500ms
redis_connect_timeout = 500ms
domain_table = domains
premium_recipient_callout = yes
callout_connect_timeout = 2s
callout_command_timeout = 2s
callout_timeout = 5s
callout_down_backoff = 30s
harvest_limit = 3
harvest_window = 10m
CONF
}
cat >"$conf/domains" <<TABLE
example.com   premium  nexthop=[127.0.0.1]:$dport
tf.test       premium  nexthop=[127.0.0.1]:$dport callout_unknown_action=tempfail
refresh.test  premium  nexthop=[127.0.0.1]:$dport callout_positive_refresh=1s
std.test      standard nexthop=[127.0.0.1]:$dport
TABLE
mport1=$(rg_free_port)
mport2=$(rg_free_port)
mk_conf m1 "$mport1"
mk_conf m2 "$mport2"
start_milter "$conf/m1.conf" milter1 || BAIL_OUT "milter 1 does not start"
start_milter "$conf/m2.conf" milter2 || BAIL_OUT "milter 2 does not start"
for r in 1 2; do
	eval mp=\$mport$r
	start_postfix relay$r "smtpd_milters = inet:127.0.0.1:$mp" "milter_default_action = tempfail" \
		"milter_protocol = 6" || BAIL_OUT "no relay Postfix $r"
	for d in example.com tf.test refresh.test nodom.test; do
		postfix_route relay$r $d "[127.0.0.1]:$dport"
	done
done
log1=$(rg_log milter1)
log2=$(rg_log milter2)
dlog=$(postfix_log down)

# marks: log cursors m1, m2, md (milter1, milter2, downstream) before an
# action, so that a check after it reads only the lines the action wrote.
marks() {
	m1=$(log_mark "$log1")
	m2=$(log_mark "$log2")
	md=$(log_mark "$dlog")
}
send() { # relay client-ip to [swaks args]; sets the marks first
	local relay=$1 ip=$2 to=$3
	shift 3
	marks
	swaks_send "$relay" --from sender@remote.test --to "$to" --xclient-addr "$ip" \
		--xclient-name mail.remote.test --header "Subject: callout test" "$@"
}
rcpt_replies() { grep -E '^RCPT' "$SWAKS_REPLIES" | cut -f2; }

# --- valid and invalid ------------------------------------------------------
send relay1 198.51.100.1 alice@example.com
is "$SWAKS_CODE" 250 "a known recipient is accepted"
check "... and delivered downstream" mailbox_wait down alice@example.com 1 20
check "... after a callout (cache miss, result valid)" log_grep "$m1" \
	'callout: client=mail\.remote\.test\[198\.51\.100\.1\] recipient=<alice@example\.com> class=premium nexthop=\[127\.0\.0\.1\]:'"$dport"' result=valid cache=miss latency_ms=[0-9.]+ action=accept'

send relay1 198.51.100.1 nobody@example.com
like "$(swaks_reply_to RCPT)" '^550 5\.1\.1 <nobody@example\.com>: Recipient address rejected: User unknown' \
	"an unknown recipient gets 550 5.1.1 at RCPT with the downstream's text"
check "... the downstream saw the callout from our callout sender" log_wait "$md" \
	'reject: RCPT from [^ ]+: 550 5\.1\.1 <nobody@example\.com>.* from=<postmaster@relay\.rgtest\.invalid> to=<nobody@example\.com>' 10
send relay1 198.51.100.1 nobody@example.com
like "$(swaks_reply_to RCPT)" '^550 5\.1\.1 <nobody@example\.com>: Recipient address rejected' "... again, from the cache"
check "... logged as cache=fresh" log_grep "$m1" 'recipient=<nobody@example\.com> .*result=invalid cache=fresh .*action=reject'
is "$(grep -c 'to=<nobody@example.com>' "$dlog")" 1 "... without asking the downstream again"

# --- one session per message ------------------------------------------------
marks
swaks_send relay1 --from sender@remote.test --to bob@example.com,nobody2@example.com,dave@example.com \
	--xclient-addr 198.51.100.2 --header "Subject: three" --body "three recipients"
is "$(rcpt_replies | cut -c1-3 | tr '\n' ' ')" "250 550 250 " "a message with three recipients: 250 550 250"
check "... the two known ones get it" mailbox_wait down dave@example.com 1 20
check "... all three were asked in one downstream session" log_wait "$md" \
	'disconnect from [^ ]+ ehlo=1 mail=1 rcpt=2/3 rset=1 quit=1 commands=6/7' 10

# --- two relays, one cache --------------------------------------------------
send relay2 198.51.100.3 bob@example.com
is "$SWAKS_CODE" 250 "the second relay accepts a recipient the first one checked"
check "... from the shared cache (its milter logs cache=fresh)" log_grep "$m2" \
	'recipient=<bob@example\.com> .*result=valid cache=fresh'
send relay2 198.51.100.3 nobody@example.com
like "$(swaks_reply_to RCPT)" '^550 5\.1\.1 <nobody@example\.com>' "... and refuses one the first found unknown"
is "$(grep -c 'to=<nobody@example.com>' "$dlog")" 1 "... without a callout of its own"

# --- hostile recipients -----------------------------------------------------
long=$(printf 'x%.0s' $(seq 1 70))
send relay1 198.51.100.4 "$long@example.com"
m1long=$m1
like "$(swaks_reply_to RCPT)" '^553 5\.1\.3 ' "an over-long local part is refused locally with 553 5.1.3"
send relay1 198.51.100.4 '"evil rcpt"@example.com'
like "$(swaks_reply_to RCPT)" '^501 5\.1\.3 ' "a recipient with a space is refused locally with 501 5.1.3"
check "the milter logged them as refused" log_grep "$m1long" 'result=refused .*action=reject'
is "$(grep -cE "$long|evil rcpt" "$dlog")" 0 "... and neither ever reached the downstream"

# --- only customers' domains ------------------------------------------------
send relay1 198.51.100.5 erin@nodom.test
is "$SWAKS_CODE" 250 "a domain outside domain_table is relayed"
check "... delivered" mailbox_wait down erin@nodom.test 1 20
is "$(grep -c 'recipient=<erin@nodom.test>' "$log1")" 0 "... and never called out"

# --- harvest ----------------------------------------------------------------
swaks_send relay1 --from sender@remote.test --to h1@example.com,h2@example.com,h3@example.com,alice@example.com \
	--xclient-addr 203.0.113.66 --header "Subject: harvest"
is "$(rcpt_replies | cut -c1-9 | tr '\n' ' ')" "550 5.1.1 550 5.1.1 550 5.1.1 450 4.7.1 " \
	"a harvester: three unknown recipients (harvest_limit = 3) get 550, the next 450 4.7.1"
send relay2 203.0.113.66 alice@example.com
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 ' "... on the other relay too"
send relay2 203.0.113.67 alice@example.com
is "$SWAKS_CODE" 250 "... while another client is served"

# --- stale entries ----------------------------------------------------------
send relay1 198.51.100.6 grace@refresh.test
is "$SWAKS_CODE" 250 "a recipient with a 1 s refresh time is accepted"
sleep 1.2
send relay1 198.51.100.6 grace@refresh.test
is "$SWAKS_CODE" 250 "... past its refresh time it still answers at once"
check "... as a stale entry" log_grep "$m1" 'recipient=<grace@refresh\.test> .*result=valid cache=stale .*action=accept'
check "... that is re-checked in the background" log_wait "$m1" \
	'callout refresh: recipient=<grace@refresh\.test> nexthop=\[127\.0\.0\.1\]:[0-9]+ result=valid' 10

# --- latency: a cold and a warm cache ---------------------------------------
lat=""
for i in $(seq 1 $NLAT); do lat="$lat${lat:+,}lat$i@example.com"; done
marks
swaks_send relay1 --from sender@remote.test --to "$lat" --xclient-addr 198.51.100.7 --header "Subject: cold"
mdcold=$md
is "$(rcpt_replies | grep -c '^250')" $NLAT "cold cache: $NLAT known recipients accepted"
swaks_send relay1 --from sender@remote.test --to "$lat" --xclient-addr 198.51.100.7 --header "Subject: warm"
is "$(rcpt_replies | grep -c '^250')" $NLAT "warm cache: the same $NLAT accepted"
latency() { # cache-state: "first mean max" over the lat* recipients
	grep -E "recipient=<lat[0-9]+@example\.com> .*cache=$1 " "$log1" |
		sed -E 's/.*latency_ms=([0-9.]+).*/\1/' |
		awk '{ s += $1; if (NR == 1) f = $1; if ($1 > m) m = $1 } END { printf "%.3f %.3f %.3f", f, s / NR, m }'
}
read -r cf cm cx <<<"$(latency miss)"
read -r wf wm wx <<<"$(latency fresh)"
diag "callout latency, cold cache ($NLAT recipients, one session): first ${cf} ms (connect+EHLO+MAIL+RCPT), mean ${cm} ms, max ${cx} ms"
diag "callout latency, warm cache ($NLAT recipients): first ${wf} ms, mean ${wm} ms, max ${wx} ms"
# Latency is reported (diag above), never asserted: timing depends on the load.
is "$(grep -cE "recipient=<lat[0-9]+@example\\.com> .*cache=fresh " "$log1")" $NLAT \
	"the warm message's $NLAT recipients were all answered from the cache"
check "the cold message's recipients were asked in one session" log_wait "$mdcold" \
	"disconnect from [^ ]+ ehlo=1 mail=1 rcpt=$NLAT rset=1 quit=1" 10

# --- the downstream goes away -----------------------------------------------
stop_postfix down
send relay1 198.51.100.8 alice@example.com
is "$SWAKS_CODE" 250 "downstream stopped: a recipient cached valid is accepted"
check "... from the cache" log_grep "$m1" 'client=[^ ]+\[198\.51\.100\.8\] recipient=<alice@example\.com> .*result=valid cache=fresh'
send relay1 198.51.100.8 grace@refresh.test
is "$SWAKS_CODE" 250 "... so is one whose entry is stale (it keeps serving)"
send relay1 198.51.100.8 carol@tf.test
like "$(swaks_reply_to RCPT)" '^450 4\.1\.1 ' "not cached, callout_unknown_action = tempfail: 450 4.1.1"
check "... logged as unknown (refused, or already known down)" log_grep "$m1" \
	'recipient=<carol@tf\.test> .*result=unknown cache=miss .*action=defer reason="(connect to |nexthop down)'
check "the failing nexthop is logged once" test "$(grep -c 'nexthop=\[127.0.0.1\]:'"$dport"' failed: connect to' "$log1")" -eq 1
send relay1 198.51.100.8 heidi@example.com
is "$SWAKS_CODE" 250 "not cached, callout_unknown_action = accept: accepted"
check "... without knocking again (callout_down_backoff)" log_grep "$m1" \
	'recipient=<heidi@example\.com> .*result=unknown cache=miss .*action=accept reason="nexthop down for another'
queued() { [ "$(postfix_queue_count relay1)" -ge "$1" ]; }
check "mail waits in the relay's queue" wait_until 10 queued 3
like "$(postqueue -c "$(rg_dir relay1)/conf" -p)" 'heidi@example\.com' "... postqueue -p lists it"
start_postfix_again down || BAIL_OUT "downstream does not come back"
check "downstream back, queue flushed: the cached recipient's mail is delivered" \
	postfix_flush_until relay1 30 mailbox_has down alice@example.com 2
check "... and the one accepted uncached" mailbox_wait down heidi@example.com 1 30
queue_empty() { [ "$(postfix_queue_count relay1)" -eq 0 ]; }
check "... the queue is empty" wait_until 30 queue_empty

# --- no bounce anywhere -----------------------------------------------------
for n in relay1 relay2 down; do
	is "$(grep -cE 'status=bounced|sender non-delivery notification' "$(postfix_log $n)")" 0 "no bounce in $n's log"
done

done_testing
