#!/bin/bash
# relayguardctl against live daemons, real Postfix relays, a real downstream
# Postfix and redis-server, the support calls it is for: a greylisted
# triplet is listed with its sender and recipient; "greylist pass" lets the
# retry through before the delay; "whitelist add" skips greylisting for the
# network; "ratelimit show" counts the messages sent and "reset" lets the
# client send again; "callout show/flush" and "hop up" change what the
# milter does next; "status" and the exit codes (1 not found, 2 usage or
# configuration, 3 Redis unreachable); --json is JSON.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server redis-cli python3
rg_need_build
[ -x "$RG_BUILD/relayguardctl" ] || skip_all "no relayguardctl in $RG_BUILD"

start_redis || BAIL_OUT "no redis"
rport=$REDIS_PORT
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
start_downstream_postfix down alice@example.com bob@example.com carol@example.com || BAIL_OUT "no downstream Postfix"
dport=$(rg_port down)
pport=$(rg_free_port)
mport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $conf/policyd.pid
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
run_user = nobody
myhostname = relay.rgtest.invalid
redis_server = 127.0.0.1:$rport
redis_timeout = 500ms
redis_connect_timeout = 500ms
redis_key_secret = ctl-test-secret
domain_table = domains
client_table = clients
premium_greylisting = yes
premium_greylist_delay = 1h
premium_dynamic_ip_blocking = no
premium_recipient_callout = yes
callout_connect_timeout = 2s
callout_command_timeout = 2s
callout_timeout = 5s
callout_down_backoff = 10m
callout_unknown_action = tempfail
CONF
cat >"$conf/domains" <<TABLE
gl.test      premium  recipient_callout=no
example.com  premium  nexthop=[127.0.0.1]:$dport greylisting=no
TABLE
printf '192.0.2.10  premium  rate_limits=3/1h\n' >"$conf/clients"
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
policy="check_policy_service { inet:127.0.0.1:$pport, default_action=DUNNO, timeout=10s }"
start_postfix relay "smtpd_relay_restrictions = $policy, reject_unauth_destination" \
	"smtpd_end_of_data_restrictions = $policy" \
	"smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" "milter_protocol = 6" \
	"relayhost = [127.0.0.1]:$(rg_port sink)" || BAIL_OUT "no relay Postfix"
postfix_route relay gl.test "[127.0.0.1]:$(rg_port sink)"
postfix_route relay example.com "[127.0.0.1]:$dport"

ctl() { "$RG_BUILD/relayguardctl" -c "$conf/relayguard.conf" "$@"; }
send() { # client-ip from to
	swaks_send relay --from "$2" --to "$3" --xclient-addr "$1" --xclient-name mail.remote.test \
		--header "Subject: ctl test"
}
json() { # python expression over j (the parsed JSON on stdin)
	python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

# --- "why was mail from this sender greylisted, release it" ------------------
send 203.0.113.5 Bob+news@Sender.test carol@gl.test
is "$SWAKS_CODE" 450 "a first attempt is greylisted"
out=$(ctl greylist list 203.0.113.5)
is $? 0 "greylist list CLIENT finds the client's network"
like "$out" '^network=203\.0\.113\.0/24 sender=bob@sender\.test recipient=carol@gl\.test state=pending first_seen=[0-9T:Z-]+ ' \
	"... listed with its sender (normalised as the daemon does) and recipient, pending"
is "$(ctl --json greylist list 203.0.113.0/24 | json 'j[0]["sender"], j[0]["recipient"], j[0]["state"]')" \
	"bob@sender.test carol@gl.test pending" "... --json, by network"
ctl greylist list 198.51.100.1 >/dev/null
is $? 1 "greylist list of a network without triplets: exit 1"
send 203.0.113.5 bob@sender.test carol@gl.test
is "$SWAKS_CODE" 450 "a retry before the delay (1h) is still greylisted"
like "$(ctl greylist pass 203.0.113.77 bob+other@sender.test carol@gl.test)" 'result=passed' \
	"greylist pass CLIENT SENDER RECIPIENT (any client of the /24, any +ext)"
send 203.0.113.5 bob@sender.test carol@gl.test
is "$SWAKS_CODE" 250 "... the retry is accepted before the delay"
like "$(ctl greylist list 203.0.113.5)" 'state=passed .*passes=1 ' "... the triplet is passed, with one pass"
ctl greylist delete 203.0.113.5 bob@sender.test carol@gl.test >/dev/null
is $? 0 "greylist delete"
send 203.0.113.5 bob@sender.test carol@gl.test
is "$SWAKS_CODE" 450 "... the next attempt is greylisted again"
ctl greylist delete 203.0.113.5 nobody@sender.test carol@gl.test >/dev/null
is $? 1 "deleting a triplet that does not exist: exit 1"

# --- whitelist -------------------------------------------------------------------
like "$(ctl whitelist add 198.51.100.0/24 2d)" 'network=198\.51\.100\.0/24 result=whitelisted lifetime=172800' "whitelist add NETWORK LIFETIME"
send 198.51.100.7 dave@sender.test carol@gl.test
is "$SWAKS_CODE" 250 "... a new triplet from the network is not greylisted"
like "$(ctl whitelist list)" 'network=198\.51\.100\.0/24 whitelisted=manual ' "whitelist list shows it"
is "$(ctl --json whitelist list | json 'j[0]["network"], j[0]["whitelisted"]')" "198.51.100.0/24 manual" "... --json"
ctl whitelist delete 198.51.100.99 >/dev/null
is $? 0 "whitelist delete (an address stands for its network)"
send 198.51.100.7 erin@sender.test carol@gl.test
is "$SWAKS_CODE" 450 "... the network is greylisted again"
ctl whitelist delete 198.51.100.0/24 >/dev/null
is $? 1 "... deleting it twice: exit 1"

# --- "reset this customer's counter" --------------------------------------------
codes=""
for i in 1 2 3; do
	swaks_send relay --from info@customer.test --to someone@far.test --xclient-addr 192.0.2.10 \
		--xclient-name mail.customer.test
	codes="$codes $SWAKS_CODE"
done
is "$codes" " 250 250 250" "a customer sends 3 messages (limit 3/1h)"
out=$(ctl ratelimit show client:192.0.2.10)
like "$out" 'kind=client subject=192\.0\.2\.10 limit=3 window_seconds=3600 current=3 over=yes' "ratelimit show counts the 3 messages"
is "$(ctl --json ratelimit show client:192.0.2.10 | json 'j[0]["current"]')" 3 "... --json"
swaks_send relay --from info@customer.test --to someone@far.test --xclient-addr 192.0.2.10 --xclient-name mail.customer.test
is "$SWAKS_CODE" 450 "the 4th gets 450"
like "$(ctl ratelimit reset client:192.0.2.10)" 'limits_reset=1' "ratelimit reset"
swaks_send relay --from info@customer.test --to someone@far.test --xclient-addr 192.0.2.10 --xclient-name mail.customer.test
is "$SWAKS_CODE" 250 "... and the client can send again"
like "$(ctl ratelimit show client:192.0.2.10)" 'current=1 ' "... counted afresh"
ctl ratelimit show client:192.0.2.99 >/dev/null
is $? 1 "a subject without counters: exit 1"
ctl ratelimit show bogus:x >/dev/null 2>&1
is $? 2 "a bad SUBJECT: exit 2"

# --- callout cache ------------------------------------------------------------------
mlog=$(rg_log milter)
send 198.51.100.30 x@remote.test alice@example.com
is "$SWAKS_CODE" 250 "a valid recipient is accepted (called out)"
like "$(ctl callout show alice@example.com)" '^recipient=alice@example\.com result=valid checked=' "callout show ADDRESS"
send 198.51.100.30 x@remote.test nobody@example.com
like "$(swaks_reply_to RCPT)" '^550 5\.1\.1' "an unknown recipient is refused"
# The example line of relayguard-milter(8) is this line, with the test's
# client, next hop and latency replaced by the page's.
man_lines() {
	awk '/^\.SH LOGGING/ { s = 1 } s && /^\.RS/ { b = 1; next } b && /^\.RE/ { exit }
		b { if ($0 ~ /^  /) { sub(/^  /, " "); l = l $0 } else { if (l != "") print l; l = $0 } }
		END { if (l != "") print l }' "$RG_SRCDIR/man/$1" | sed 's/\\-/-/g'
}
got=$(grep -E 'callout: .*recipient=<nobody@example\.com>' "$mlog" | tail -n 1 |
	sed -E -e 's/^<[0-7]>/relayguard-milter[321]: /' -e 's/client=[^ ]+/client=host[192.0.2.1]/' \
		-e "s/nexthop=\\[127\\.0\\.0\\.1\\]:$dport/nexthop=[mail.example.com]:25/" -e 's/latency_ms=[0-9.]+/latency_ms=12.345/')
is "$got" "$(man_lines relayguard-milter.8)" "the example line in relayguard-milter(8) is the real output"
out=$(ctl callout show example.com)
like "$out" 'recipient=nobody@example\.com result=invalid .*reply="550 5\.1\.1' "callout show DOMAIN lists the invalid one with the reply"
is "$(ctl --json callout show example.com | json 'len(j)')" 2 "... both entries, --json"
m=$(log_mark milter)
send 198.51.100.30 x@remote.test alice@example.com
check "a repeat is answered from the cache" log_wait "$m" 'recipient=<alice@example\.com> .*cache=fresh' 5
like "$(ctl callout flush alice@example.com)" 'entries_flushed=1' "callout flush ADDRESS"
m=$(log_mark milter)
send 198.51.100.30 x@remote.test alice@example.com
check "... the next message calls out again (cache miss)" log_wait "$m" 'recipient=<alice@example\.com> .*result=valid cache=miss' 5
ctl callout show carol@example.com >/dev/null
is $? 1 "callout show of an uncached address: exit 1"

# --- a next hop marked down -----------------------------------------------------------
stop_postfix down
send 198.51.100.30 x@remote.test bob@example.com
is "$SWAKS_CODE" 450 "the customer's server is down: an uncached recipient gets 4xx"
like "$(ctl hop list)" "^hop=\\[127\\.0\\.0\\.1\\]:$dport down_for_seconds=[0-9]+" "hop list shows the hop marked down"
start_postfix_again down || BAIL_OUT "downstream does not restart"
m=$(log_mark milter)
send 198.51.100.30 x@remote.test bob@example.com
is "$SWAKS_CODE" 450 "server back, but the hop is still marked down (10m backoff)"
check "... the milter did not call it" log_grep "$m" 'recipient=<bob@example\.com> .*nexthop down'
ctl hop up "[127.0.0.1]:$dport" >/dev/null
is $? 0 "hop up HOP"
m=$(log_mark milter)
send 198.51.100.30 x@remote.test bob@example.com
is "$SWAKS_CODE" 250 "... the next recipient is called out and accepted"
check "... by a real callout" log_grep "$m" 'recipient=<bob@example\.com> .*result=valid cache=miss'
ctl hop up "[127.0.0.1]:$dport" >/dev/null
is $? 1 "hop up for a hop not marked down: exit 1"

# --- status, usage, configuration, Redis down ------------------------------------------
out=$(ctl status)
like "$out" "^redis=127\\.0\\.0\\.1:$rport reachable=yes role=master version=[0-9.]+ memory=[0-9.]+[KMG]? keys_greylist=[1-9]" "status: Redis, role, memory, keys per kind"
like "$out" 'keys_ratelimit=[1-9][0-9]* keys_callout=[1-9]' "... rate-limit and callout keys counted"
is "$(ctl status --json | json 'j[0]["reachable"], j[0]["role"]')" "yes master" "... --json (after the command words too)"
ctl >/dev/null 2>&1
is $? 2 "no command: exit 2"
ctl greylist pass 1.2.3.4 >/dev/null 2>&1
is $? 2 "missing arguments: exit 2"
ctl greylist list not-an-ip >/dev/null 2>&1
is $? 2 "a bad CLIENT: exit 2"
printf 'nosuchparam = 1\n' >"$RG_TMP/bad.conf"
err=$("$RG_BUILD/relayguardctl" -c "$RG_TMP/bad.conf" status 2>&1 >/dev/null)
is $? 2 "a broken configuration: exit 2"
like "$err" 'bad\.conf:1: ' "... with file:line"
stop_redis
ctl status >/dev/null 2>&1
is $? 3 "Redis stopped: exit 3"
ctl greylist list >/dev/null 2>&1
is $? 3 "... for every command"

done_testing
