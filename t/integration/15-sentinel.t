#!/bin/bash
# Redis high availability: a master, a replica and three Sentinels on
# loopback; both daemons are given the Sentinels only (plus one that is down
# and one that does not know the master's name: the next is asked). Under a
# steady policy load on several connections and with mail going through a
# real Postfix and the milter's callout cache, the master is killed with
# SIGKILL: every request is answered within redis_timeout and none with
# 5xx; greylisting, rate limits and the callout cache work against the
# promoted replica within the failover time + 2 s, without a restart; the
# old master comes back as a replica and nothing breaks; both daemons'
# /metrics count the master switch (relayguard_redis_sentinel_switches_total)
# and the discoveries. A reload changes
# the Sentinel list without dropping connections. With no Sentinel able to
# answer, requests get the failure action and the outage is logged once.
# Prints the failover time (kill -> first request served by the new master).
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks redis-server redis-cli curl
rg_need_build
[ -x "$RG_BUILD/t/tools/policy-load" ] || skip_all "no policy-load tool"

NAME=rgm
TIMEOUT_MS=500

# start_sentinel NAME MASTER-NAME MASTER-PORT DOWN-AFTER-MS
start_sentinel() {
	local d port
	rg__newdir "$1" || return 1
	d=$RG_TMP/$1
	port=$(rg_free_port) || return 1
	echo "$port" >"$d/port"
	cat >"$d/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
dir $d
sentinel monitor $2 127.0.0.1 $3 2
sentinel down-after-milliseconds $2 $4
sentinel failover-timeout $2 4000
sentinel parallel-syncs $2 1
CONF
	rg__spawn redis "$1" "$d/log" redis-server "$d/sentinel.conf" --sentinel
	rg__started "$1" "$RG_LASTPID" 127.0.0.1 "$port" 10
}

start_redis master || BAIL_OUT "no master"
mport=$(rg_port master)
start_redis replica || BAIL_OUT "no replica"
rport=$(rg_port replica)
redis_cli @replica REPLICAOF 127.0.0.1 "$mport" >/dev/null
for s in s1 s2 s3; do
	start_sentinel $s $NAME "$mport" 1000 || BAIL_OUT "no Sentinel $s"
done
# A Sentinel for another set only (whose master is nowhere): asked first, it
# does not know $NAME.
dead=$(rg_free_port)
start_sentinel s0 othermaster "$dead" 600000 || BAIL_OUT "no Sentinel s0"

sentinels_ready() {
	local s
	for s in s1 s2 s3; do
		[ "$(redis_cli @$s SENTINEL replicas $NAME 2>/dev/null | grep -c "^$rport\$")" -ge 1 ] || return 1
		[ "$(redis_cli @$s SENTINEL sentinels $NAME 2>/dev/null | grep -c '^runid$')" -ge 2 ] || return 1
	done
}
wait_until 30 sentinels_ready || BAIL_OUT "the Sentinels do not see the replica and each other"
pass "three Sentinels watch a master and its replica"

sentinel_list="127.0.0.1:$dead, 127.0.0.1:$(rg_port s0), 127.0.0.1:$(rg_port s1), 127.0.0.1:$(rg_port s2), 127.0.0.1:$(rg_port s3)"
users="alice@example.com bob@example.com carol@example.com"
start_downstream_postfix down $users || BAIL_OUT "no downstream Postfix"
dport=$(rg_port down)
pport=$(rg_free_port)
milport=$(rg_free_port)
pmet=$(rg_free_port)
mmet=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
common() {
	cat <<CONF
run_user = nobody
myhostname = relay.rgtest.invalid
redis_sentinels = $1
redis_sentinel_master = $NAME
redis_timeout = ${TIMEOUT_MS}ms
redis_connect_timeout = ${TIMEOUT_MS}ms
redis_reconnect_max_backoff = 1s
domain_table = domains
client_table = clients
CONF
}
mkconf() {
	common "$1" >"$conf/relayguard.conf"
	cat >>"$conf/relayguard.conf" <<CONF
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $conf/policyd.pid
milter_listen = inet:$milport@127.0.0.1
milter_pidfile = $conf/milter.pid
policyd_metrics_listen = inet:127.0.0.1:$pmet
milter_metrics_listen = inet:127.0.0.1:$mmet
premium_greylisting = yes
premium_greylist_delay = 2s
premium_dynamic_ip_blocking = no
premium_recipient_callout = yes
# The policy requests below stand in for Postfix without a milter: policyd
# counts at END-OF-MESSAGE.
rate_limit_commit = policyd
callout_connect_timeout = 2s
callout_command_timeout = 2s
callout_timeout = 5s
CONF
}
mkconf "$sentinel_list"
cat >"$conf/domains" <<TABLE
example.com  premium  nexthop=[127.0.0.1]:$dport greylisting=no
customer.example  premium  recipient_callout=no
TABLE
cat >"$conf/clients" <<TABLE
192.0.2.10   premium  rate_limits=3/1h
192.0.2.11   premium  rate_limits=3/1h
TABLE

"$RG_BUILD/relayguard-policyd" -t -c "$conf/relayguard.conf"
is $? 0 "-t accepts a Sentinel configuration"
common "127.0.0.1:$dead, unix:/tmp/x.sock" >"$conf/bad.conf"
out=$("$RG_BUILD/relayguard-policyd" -t -c "$conf/bad.conf" 2>&1)
like "$out" 'bad.conf:[0-9]+: bad redis_sentinels' "-t refuses a Sentinel that is not host:port, with file:line"
grep -v '^redis_sentinel_master' "$conf/relayguard.conf" >"$conf/nomaster.conf"
out=$("$RG_BUILD/relayguard-policyd" -t -c "$conf/nomaster.conf" 2>&1)
like "$out" 'redis_sentinel_master is not' "-t wants redis_sentinel_master with redis_sentinels"

start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
plog=$(rg_log policyd)
mlog=$(rg_log milter)
start_postfix relay "smtpd_milters = inet:127.0.0.1:$milport" "milter_default_action = tempfail" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
postfix_route relay example.com "[127.0.0.1]:$dport"

# pq CLIENT SENDER RECIPIENT [STATE [INSTANCE]]: one policy request, prints the action.
n_pq=0
pq() {
	local line
	n_pq=$((n_pq + 1))
	exec 3<>"/dev/tcp/127.0.0.1/$pport" || return 1
	printf 'request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=mail.sender.test\nreverse_client_name=mail.sender.test\nhelo_name=mail.sender.test\nsender=%s\nrecipient=%s\ninstance=%s\nsize=1000\n\n' \
		"${4:-RCPT}" "$1" "$2" "$3" "${5:-t$$.$n_pq}" >&3
	read -r -t 5 line <&3
	exec 3<&-
	printf '%s\n' "${line#action=}"
}

like "$(pq 203.0.113.5 first@sender.test alice@customer.example)" '^(DEFER|450)' \
	"greylisting through the master Sentinel names (a dead Sentinel and one that does not know $NAME are skipped)"
like "$(grep -c 'sentinel 127.0.0.1:'"$dead"': connect' "$plog")" '^1$' "... the dead Sentinel is logged once"
like "$(grep 'sentinel 127.0.0.1:'"$(rg_port s0)" "$plog")" 'unknown master name' "... the one that does not know it is named"
swaks_send relay --from sender@remote.test --to bob@example.com --xclient-addr 203.0.113.9 \
	--xclient-name mail.remote.test --header "Subject: before"
is "$SWAKS_CODE" 250 "mail to a known recipient is accepted (callout)"
cache_keys() { redis_cli @"$1" --scan --pattern 'rg:c:*' | wc -l; }
cmp_ok "$(cache_keys master)" '>=' 1 "... and cached on the master"
ctl() { "$RG_BUILD/relayguardctl" -c "$conf/relayguard.conf" "$@"; }
like "$(ctl status)" "^redis=127\\.0\\.0\\.1:$mport reachable=yes role=master .*keys_callout=[1-9]" \
	"relayguardctl finds the master through the Sentinels (the dead one and the one that does not know it skipped)"

wait_port 127.0.0.1 "$pmet" 10 || BAIL_OUT "policyd metrics do not listen"
wait_port 127.0.0.1 "$mmet" 10 || BAIL_OUT "milter metrics do not listen"
SW=relayguard_redis_sentinel_switches_total
DOK='relayguard_redis_sentinel_discoveries_total{result="ok"}'
sw_p0=$(metric "$pmet" $SW)
sw_m0=$(metric "$mmet" $SW)
is "$sw_p0 $sw_m0" "0 0" "no Sentinel master switch counted before the failover (both daemons)"
cmp_ok "$(metric "$pmet" "$DOK")" '>=' 1 "... policyd counts its discovery of the master"
cmp_ok "$(metric "$mmet" "$DOK")" '>=' 1 "... and so does the milter"

# A steady load on 8 connections while the master dies.
"$RG_BUILD/t/tools/policy-load" -s "inet:127.0.0.1:$pport" -c 8 -R 300 -n 20000 -T 30 -w greylist -k 80 -K 200 \
	-S 7 -q >"$RG_TMP/load.out" 2>"$RG_TMP/load.err" &
loadpid=$!
sleep 3
plines=$(wc -l <"$plog")
mlines=$(wc -l <"$mlog")
t_kill=$(date +%s.%N)
kill -KILL "$(rg_pid master)"
wait "$(rg_pid master)" 2>/dev/null
rg__unregister master

promoted() { [ "$(redis_cli @s1 SENTINEL get-master-addr-by-name $NAME | tail -n 1)" = "$rport" ]; }
t_promoted=
t_served=
n=0
for ((i = 0; i < 300; i++)); do
	now=$(date +%s.%N)
	[ -z "$t_promoted" ] && promoted && t_promoted=$now
	n=$((n + 1))
	a=$(pq 203.0.113.77 "probe$n@sender.test" alice@customer.example)
	if [[ $a =~ ^(DEFER|450) ]]; then
		t_served=$(date +%s.%N)
		break
	fi
	sleep 0.1
done
ok "$([ -n "$t_served" ] && [ -n "$t_promoted" ]; echo $?)" "a Sentinel promotes the replica, and greylisting is served again"
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
failover=$(secs "${t_served:-0}" "$t_kill")
promote=$(secs "${t_promoted:-0}" "$t_kill")
after=$(secs "${t_served:-0}" "${t_promoted:-0}")
note "failover: master killed -> replica promoted ${promote}s -> first request served by it ${failover}s (${after}s after the promotion)"
cmp_ok "$after" '<=' 2 "the first request served by the new master comes within 2 s of the promotion"
cmp_ok "$(redis_cli @replica --scan --pattern 'rg:g:*' | wc -l)" '>=' 1 "... and the triplet is on the promoted replica"

wait $loadpid
load=$(cat "$RG_TMP/load.out")
note "load: $load"
like "$load" 'errors=0 ' "every request of the load was answered"
cmp_ok "$(sed -nE 's/.*deferred=([0-9]+).*/\1/p' <<<"$load")" '>' 0 "... greylisting new triplets (Redis in use)"
like "$load" 'rejected=0 ' "... none with 5xx"
max=$(sed -nE 's/.*max_ms=([0-9.]+).*/\1/p' <<<"$load")
cmp_ok "${max:-99999}" '<' $((TIMEOUT_MS * 2)) "... each within redis_timeout (slowest ${max} ms)"
cmp_ok "$(sed -nE 's/.*requests=([0-9]+).*/\1/p' <<<"$load")" '>=' 3000 "... a steady load of a few hundred requests/s"

since=$(tail -n +"$((plines + 1))" "$plog")
is "$(grep -c 'unavailable' <<<"$since")" 1 "policyd logs the outage once"
like "$(grep 'is back after' <<<"$since")" 'is back after [0-9.]+s; [0-9]+ requests were affected' "... and its end with its length and the requests affected"
like "$since" "master $NAME at 127.0.0.1:$rport is now the master" "... and the new master"

# Greylisting, limits and the callout cache on the new master, no restart.
like "$(pq 203.0.113.20 after@sender.test alice@customer.example)" '^(DEFER|450)' "a new triplet is greylisted on the new master"
sleep 2.2
like "$(pq 203.0.113.20 after@sender.test alice@customer.example)" '^(DUNNO|PREPEND|OK)' "... and passes after the delay"
acts=""
for i in 1 2 3 4; do
	acts="$acts $(pq 192.0.2.11 sender@customer.test "r$i@remote.test" RCPT "lim$i" | cut -c1-3)"
	pq 192.0.2.11 sender@customer.test "" END-OF-MESSAGE "lim$i" >/dev/null
done
like "$acts" '^ OK OK OK (450|DEF)' "a client over its limit is deferred, counted on the new master"
milter_switched() { tail -n +"$((mlines + 1))" "$mlog" | grep -q "master $NAME at 127.0.0.1:$rport is now the master"; }
wait_until 5 milter_switched
ok $? "the milter follows the new master before its next message (+switch-master)"
# switched PORT BEFORE: the switch counter grew by at least one.
switched() { [ "$(metric "$1" $SW)" -ge $(($2 + 1)) ]; }
check "policyd: $SW grew by at least one after the failover" wait_until 5 switched "$pmet" "$sw_p0"
check "milter: $SW grew by at least one after the failover" wait_until 5 switched "$mmet" "$sw_m0"
swaks_send relay --from sender@remote.test --to carol@example.com --xclient-addr 203.0.113.9 \
	--xclient-name mail.remote.test --header "Subject: after"
is "$SWAKS_CODE" 250 "the milter's callout works after the failover"
swaks_send relay --from sender@remote.test --to nobody@example.com --xclient-addr 203.0.113.9 \
	--xclient-name mail.remote.test --header "Subject: after"
like "$(swaks_reply_to RCPT)" '^550' "... an unknown recipient is refused"
cmp_ok "$(cache_keys replica)" '>=' 2 "... and the callout cache is written on the new master"
like "$(ctl status)" "^redis=127\\.0\\.0\\.1:$rport reachable=yes role=master " "relayguardctl follows the failover to the new master"
like "$(ctl callout show nobody@example.com)" '^recipient=nobody@example\.com result=invalid' "... and reads the callout cache there"

# The old master returns: the Sentinels make it a replica; nothing breaks.
start_redis master2 "$mport" || BAIL_OUT "the old master does not restart"
returned() { redis_cli -p "$mport" ROLE 2>/dev/null | head -n 1 | grep -q slave; }
wait_until 20 returned
ok $? "the old master comes back as a replica"
"$RG_BUILD/t/tools/policy-load" -s "inet:127.0.0.1:$pport" -c 4 -R 200 -n 600 -T 10 -w greylist -S 8 -q >"$RG_TMP/load2.out" 2>&1
like "$(cat "$RG_TMP/load2.out")" 'errors=0 .*rejected=0 ' "requests are answered as before"
like "$(pq 203.0.113.21 again@sender.test alice@customer.example)" '^(DEFER|450)' "... greylisting still served by the new master"

# A reload with another Sentinel list: connections stay, requests go on.
exec 4<>"/dev/tcp/127.0.0.1/$pport"
mkconf "127.0.0.1:$(rg_port s2), 127.0.0.1:$(rg_port s3)"
plines=$(wc -l <"$plog")
kill -HUP "$(rg_pid policyd)"
reloaded() { tail -n +"$((plines + 1))" "$plog" | grep -q 'new requests use'; }
wait_until 10 reloaded
ok $? "policyd applies a new Sentinel list on reload"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=203.0.113.22\nclient_name=x.test\nreverse_client_name=x.test\nsender=held@sender.test\nrecipient=alice@customer.example\ninstance=held1\n\n' >&4
read -r -t 5 line <&4
like "$line" '^action=(DEFER|450)' "... a connection opened before the reload is still served, by Redis"
exec 4<&-

# The milter too: a reload with the new list, the next message uses it.
mlines=$(wc -l <"$mlog")
kill -USR1 "$(rg_pid milter)"
milter_reloaded() { tail -n +"$((mlines + 1))" "$mlog" | grep -q 'new messages use'; }
wait_until 10 milter_reloaded
ok $? "the milter applies a new Sentinel list on reload"
before=$(cache_keys replica)
swaks_send relay --from sender@remote.test --to alice@example.com --xclient-addr 203.0.113.9 \
	--xclient-name mail.remote.test --header "Subject: after reload"
is "$SWAKS_CODE" 250 "... and the next message's callout is cached through it"
cmp_ok "$(cache_keys replica)" '>' "$before" "... on the master"

# No Sentinel can answer: failure action, logged once.
common "127.0.0.1:$dead, 127.0.0.1:$(rg_port s0)" >"$conf/none.conf"
cat >>"$conf/none.conf" <<CONF
policyd_listen = inet:127.0.0.1:$(rg_free_port)
policyd_pidfile = $conf/none.pid
premium_greylisting = yes
CONF
start_policyd "$conf/none.conf" pnone || BAIL_OUT "policyd without a master does not start"
pport_save=$pport
pport=$(rg__listen_of "$conf/none.conf" policyd_listen | sed 's/.*://')
acts=""
t0=$(date +%s%N)
for i in 1 2 3 4 5; do acts="$acts $(pq 203.0.113.30 "x$i@sender.test" alice@example.com)"; done
t1=$(date +%s%N)
like "$acts" '^( DUNNO){5}$' "with no Sentinel knowing the master, requests get the failure action"
cmp_ok $(((t1 - t0) / 5000000)) '<' "$TIMEOUT_MS" "... at once, each well within redis_timeout"
is "$(grep -c 'unavailable' "$(rg_log pnone)")" 1 "... and the outage is logged once"
pport=$pport_save

done_testing
