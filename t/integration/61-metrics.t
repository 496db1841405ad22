#!/bin/bash
# Metrics and health of both daemons, through a real Postfix (policy service
# and milter), a real downstream Postfix (the recipient callout), spamd and
# redis-server: /metrics passes promtool, counters grow by exactly what the
# test sent, /health is 200, turns 503 with the reason while Redis (or, for
# the milter, spamd) is stopped, and 200 again when it is back; only the two
# paths exist; every metric the shipped Grafana dashboard uses is exported.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks redis-server redis-cli spamd spamc promtool curl nc
rg_need_build

start_redis || BAIL_OUT "no redis"
rport=$REDIS_PORT
start_spamd || BAIL_OUT "no spamd"
start_downstream_postfix down alice@example.com bob@example.com || BAIL_OUT "no downstream Postfix"
dport=$(rg_port down)
pport=$(rg_free_port)
mport=$(rg_free_port)
pmet=$(rg_free_port)
mmet=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $conf/policyd.pid
policyd_metrics_listen = inet:127.0.0.1:$pmet
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
milter_metrics_listen = 127.0.0.1:$mmet
run_user = nobody
myhostname = relay.rgtest.invalid
redis_server = 127.0.0.1:$rport
redis_timeout = 500ms
redis_connect_timeout = 500ms
redis_reconnect_max_backoff = 1s
spamd_server = 127.0.0.1:$SPAMD_PORT
spamd_timeout = 20s
domain_table = domains
premium_greylisting = yes
premium_dynamic_ip_blocking = no
premium_recipient_callout = yes
premium_spam_scan = yes
callout_down_backoff = 1s
CONF
cat >"$conf/domains" <<TABLE
example.com  premium  nexthop=[127.0.0.1]:$dport greylisting=no
gl.test      premium  recipient_callout=no spam_scan=no
TABLE
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
wait_port 127.0.0.1 "$pmet" 10 || BAIL_OUT "policyd metrics do not listen"
wait_port 127.0.0.1 "$mmet" 10 || BAIL_OUT "milter metrics do not listen"
policy="check_policy_service { inet:127.0.0.1:$pport, default_action=DUNNO, timeout=10s }"
start_postfix relay "smtpd_recipient_restrictions = reject_unauth_destination, $policy" \
	"smtpd_end_of_data_restrictions = $policy" \
	"smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" "milter_protocol = 6" ||
	BAIL_OUT "no relay Postfix"
postfix_route relay example.com "[127.0.0.1]:$dport"

health() { curl -s --max-time 10 -o "$RG_TMP/health.body" -w '%{http_code}' "http://127.0.0.1:$1/health"; }
health_is() { [ "$(health "$1")" = "$2" ]; }

is "$(health "$pmet")" 200 "policyd /health: 200 with Redis up"
is "$(cat "$RG_TMP/health.body")" "ok" "... body ok"
check "milter /health: 200 with Redis and spamd up" wait_until 10 health_is "$mmet" 200
check "policyd /metrics passes promtool check metrics" sh -c "curl -s http://127.0.0.1:$pmet/metrics | promtool check metrics"
check "milter /metrics passes promtool check metrics" sh -c "curl -s http://127.0.0.1:$mmet/metrics | promtool check metrics"
like "$(curl -s -D - -o /dev/null "http://127.0.0.1:$pmet/metrics" | tr -d '\r' | grep -i '^content-type')" \
	'text/plain; version=0\.0\.4' "... served as the Prometheus text format"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pmet/")" 404 "only /metrics and /health: / is 404"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mmet/metrics/../etc")" 404 "... so is any other path"
isnt "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "http://127.0.0.1:$pmet/metrics")" 200 "... and POST is refused"
big=$(head -c 20000 /dev/zero | tr '\0' a)
isnt "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "http://127.0.0.1:$pmet/metrics")" 200 "... as are oversized headers"

# --- policyd counters: exactly what was sent ----------------------------------
req() { # recipient sender
	printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.7\nclient_name=mx.sender.test\nhelo_name=mx.sender.test\nsender=%s\nrecipient=%s\n\n' "$2" "$1"
}
r0=$(metric "$pmet" 'relayguard_policyd_requests_total{state="rcpt"}')
g0=$(metric "$pmet" 'relayguard_policyd_greylist_total{state="new"}')
d0=$(metric "$pmet" 'relayguard_policyd_decisions_total{check="greylist",action="defer_if_permit",class="premium"}')
N=7
for i in $(seq 1 $N); do req "u$i@gl.test" "s$i@sender.test"; done | timeout 10 nc -q 3 127.0.0.1 "$pport" >"$RG_TMP/replies"
is "$(grep -c '^action=DEFER_IF_PERMIT' "$RG_TMP/replies")" $N "$N new triplets on one connection are greylisted"
is "$(($(metric "$pmet" 'relayguard_policyd_requests_total{state="rcpt"}') - r0))" $N "requests_total{state=rcpt} grew by exactly $N"
is "$(($(metric "$pmet" 'relayguard_policyd_greylist_total{state="new"}') - g0))" $N "greylist_total{state=new} grew by exactly $N"
is "$(($(metric "$pmet" 'relayguard_policyd_decisions_total{check="greylist",action="defer_if_permit",class="premium"}') - d0))" $N \
	"decisions_total{greylist,defer_if_permit,premium} grew by exactly $N"

# --- through Postfix: both daemons -------------------------------------------
pe0=$(metric "$pmet" 'relayguard_policyd_requests_total{state="end_of_message"}')
mi0=$(metric "$mmet" 'relayguard_milter_messages_total{direction="inbound"}')
cv0=$(metric_family "$mmet" relayguard_milter_callout_results_total)
ham0=$(metric "$mmet" 'relayguard_milter_spam_verdicts_total{verdict="ham"}')
spam0=$(metric "$mmet" 'relayguard_milter_spam_verdicts_total{verdict="spam"}')
sc0=$(metric "$mmet" 'relayguard_milter_spamd_duration_seconds_count')
M=3
ok=0
for i in $(seq 1 $M); do
	swaks_send relay --from "m$i@remote.test" --to alice@example.com --xclient-addr 198.51.100.30 \
		--xclient-name mail.remote.test --header "Subject: metrics $i" && ok=$((ok + 1))
done
is "$ok" $M "$M messages through Postfix are accepted"
swaks_send relay --from spam@remote.test --to bob@example.com --xclient-addr 198.51.100.30 \
	--xclient-name mail.remote.test --header "Subject: six" --body "rgtestsixpoints"
is "$SWAKS_CODE" 250 "a 6-point message is accepted (tagged)"
swaks_send relay --from x@remote.test --to nobody@example.com --xclient-addr 198.51.100.30 \
	--xclient-name mail.remote.test
like "$(swaks_reply_to RCPT)" '^550 5\.1\.1' "an unknown recipient is refused by the callout"
is "$(($(metric "$pmet" 'relayguard_policyd_requests_total{state="end_of_message"}') - pe0))" $((M + 1)) \
	"policyd: end_of_message requests grew by exactly $((M + 1))"
is "$(($(metric "$mmet" 'relayguard_milter_messages_total{direction="inbound"}') - mi0))" $((M + 1)) \
	"milter: messages_total{inbound} grew by exactly $((M + 1))"
is "$(($(metric_family "$mmet" relayguard_milter_callout_results_total) - cv0))" $((M + 2)) \
	"milter: callout results grew by exactly $((M + 2)) (one per recipient)"
cmp_ok "$(metric "$mmet" 'relayguard_milter_callout_results_total{result="invalid",cache="miss"}')" '>=' 1 "... the unknown one as invalid, cache miss"
cmp_ok "$(metric "$mmet" 'relayguard_milter_callout_results_total{result="valid",cache="fresh"}')" '>=' $((M - 1)) "... repeated valid ones from the fresh cache"
is "$(($(metric "$mmet" 'relayguard_milter_spam_verdicts_total{verdict="ham"}') - ham0))" $M "milter: $M ham verdicts"
is "$(($(metric "$mmet" 'relayguard_milter_spam_verdicts_total{verdict="spam"}') - spam0))" 1 "... and 1 spam verdict"
is "$(($(metric "$mmet" 'relayguard_milter_spamd_duration_seconds_count') - sc0))" $((M + 1)) "... each spamd exchange in the latency histogram"
cmp_ok "$(metric "$mmet" 'relayguard_milter_callout_duration_seconds_count')" '>=' $((M + 2)) "callout latency histogram counts the checks"

# --- reloads -------------------------------------------------------------------
kill -HUP "$(rg_pid policyd)"
reloaded() { [ "$(metric "$pmet" 'relayguard_config_reloads_total{result="ok"}')" = 1 ]; }
wait_until 5 reloaded
is "$(metric "$pmet" 'relayguard_config_reloads_total{result="ok"}')" 1 "a reload is counted"
is "$(metric "$pmet" relayguard_config_generation)" 2 "... and the configuration generation is 2"

# --- Redis stopped, then back ----------------------------------------------------
stop_redis
check "Redis stopped: policyd /health turns 503" wait_until 10 health_is "$pmet" 503
like "$(cat "$RG_TMP/health.body")" '^redis: ' "... with one line saying why"
is "$(wc -l <"$RG_TMP/health.body")" 1 "... one line"
check "... milter /health turns 503 too" wait_until 10 health_is "$mmet" 503
like "$(cat "$RG_TMP/health.body")" '^redis: ' "... because of Redis"
req u1@gl.test s1@sender.test | timeout 10 nc -q 3 127.0.0.1 "$pport" >/dev/null
cmp_ok "$(metric "$pmet" 'relayguard_policyd_failure_action_total{check="greylist"}')" '>=' 1 "a request during the outage is a failure-action answer"
cmp_ok "$(metric "$pmet" relayguard_redis_outages_total)" '>=' 1 "... and the outage is counted"
is "$(metric "$pmet" relayguard_redis_up)" 0 "... redis_up is 0"
start_redis redis2 "$rport" || BAIL_OUT "redis does not restart"
check "Redis back: policyd /health is 200 again" wait_until 20 health_is "$pmet" 200
check "... milter /health is 200 again" wait_until 20 health_is "$mmet" 200
is "$(metric "$pmet" relayguard_redis_up)" 1 "... redis_up is 1"

# --- spamd stopped (milter only) -----------------------------------------------
stop_spamd
check "spamd stopped: milter /health turns 503" wait_until 10 health_is "$mmet" 503
like "$(cat "$RG_TMP/health.body")" '^spamd ' "... saying spamd"
is "$(health "$pmet")" 200 "... policyd does not need spamd"

# --- the dashboard --------------------------------------------------------------
dash=$RG_SRCDIR/contrib/grafana/relayguard.json
check "contrib/grafana/relayguard.json is JSON" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$dash"
{ metrics_scrape "$pmet"; metrics_scrape "$mmet"; } | awk '$1 == "#" && $2 == "TYPE" { print $3 }' | sort -u >"$RG_TMP/exported"
missing=""
for m in $(grep -oE 'relayguard_[a-z_]+' "$dash" | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
	grep -qx "$m" "$RG_TMP/exported" || missing="$missing $m"
done
is "$missing" "" "every metric the dashboard uses is exported"
cmp_ok "$(grep -oE 'relayguard_[a-z_]+' "$dash" | sort -u | wc -l)" '>=' 20 "... and it uses at least 20 of them"

done_testing
