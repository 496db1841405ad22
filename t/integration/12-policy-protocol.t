#!/bin/bash
# relayguard-policyd as a policy server: replies on unix and TCP sockets,
# several requests per connection, and for trouble (an oversized line, a
# malformed or binary request, too many attributes) a log line and a closed
# connection without a reply, as SMTPD_POLICY_README asks. Idle connections
# time out. SIGHUP re-reads the tables without dropping connections, a broken
# file keeps the old ones; SIGTERM stops cleanly.
. "$(dirname "$0")/../lib/harness.sh"

rg_need redis-server nc
rg_need_build

start_redis || BAIL_OUT "no redis"
conf=$RG_TMP/rg
mkdir -p "$conf"
chmod 755 "$RG_TMP"
chown nobody "$conf" # as /run/relayguard belongs to the daemon's user
port=$(rg_free_port)
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = unix:$conf/policyd.sock, inet:127.0.0.1:$port
policyd_socket_mode = 0660
policyd_pidfile = $conf/policyd.pid
policyd_idle_timeout = 2s
policyd_max_line_length = 1k
policyd_max_attributes = 40
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
domain_table = domains
premium_greylisting = yes
premium_dynamic_ip_blocking = no
CONF
printf 'example.com premium\n' >"$conf/domains"
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
log=$(rg_log policyd)
sock=$conf/policyd.sock

req() { # recipient [client]
	printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=mx.sender.test\nreverse_client_name=mx.sender.test\nhelo_name=mx.sender.test\nsender=a@sender.test\nrecipient=%s\ninstance=1.2.3\nsize=0\n\n' \
		"${2:-192.0.2.99}" "$1"
}
talk_unix() { timeout 5 nc -U -q 1 "$sock"; }
talk_inet() { timeout 5 nc -q 1 127.0.0.1 "$port"; }

is "$(stat -c "%a %U" "$sock")" "660 nobody" "the unix socket has the configured mode and belongs to run_user"
is "$(req bob@elsewhere.test | talk_unix)" "action=DUNNO" "unix socket: a request for a foreign domain gets DUNNO"
like "$(req bob@example.com | talk_inet)" '^action=DEFER_IF_PERMIT 4\.7\.1 Greylisted' "TCP socket: a customer's recipient is greylisted"
out=$({ req x@elsewhere.test; req y@elsewhere.test; req z@example.com; } | talk_inet)
is "$(grep -c '^action=' <<<"$out")" 3 "three requests on one connection get three replies"

bad() { # name < bytes: the server must answer nothing
	is "$(talk_unix)" "" "$1: no reply"
}
in=$RG_TMP/in
{ printf 'request=smtpd_access_policy\nsender='; head -c 3000 /dev/zero | tr '\0' a; printf '\n\n'; } >"$in"
bad "an oversized line" <"$in"
check "... logged" grep -q 'line too long; disconnecting without a reply' "$log"
printf 'request=smtpd_access_policy\nthis line has no equals sign\n\n' >"$in"
bad "a malformed line" <"$in"
check "... logged" grep -q 'malformed line' "$log"
printf 'request=smtpd_access_policy\nsender=a\000b@x\n\n' >"$in"
bad "a NUL byte" <"$in"
check "... logged" grep -q 'NUL byte in request' "$log"
{ for i in $(seq 1 50); do printf 'x_attr%d=1\n' "$i"; done; printf '\n'; } >"$in"
bad "too many attributes" <"$in"
check "... logged" grep -q 'more than 40 attributes' "$log"
head -c 2000 /dev/urandom | tr -d '\n' >"$in"
bad "2000 bytes of binary without a newline" <"$in"
is "$(req bob@elsewhere.test | talk_unix)" "action=DUNNO" "after all that the server still answers"

sleep 8 | nc -U "$sock" >/dev/null &
idle=$!
check "an idle connection is closed after policyd_idle_timeout (2s)" \
	wait_until 5 grep -q 'idle timeout, closing' "$log"
kill $idle 2>/dev/null

# --- reload -------------------------------------------------------------------
coproc HOLD { nc -U "$sock"; }
req a@elsewhere.test >&"${HOLD[1]}"
read -r -t 5 first <&"${HOLD[0]}"
is "$first" "action=DUNNO" "a connection is open before the reload"
printf 'example.com premium\nnew.test premium\n' >"$conf/domains"
kill -HUP "$(rg_pid policyd)"
check "SIGHUP reloads the tables" wait_until 5 grep -q 'reload: configuration' "$log"
read -r -t 5 _blank <&"${HOLD[0]}"
req c@new.test >&"${HOLD[1]}"
read -r -t 5 second <&"${HOLD[0]}"
like "$second" '^action=DEFER_IF_PERMIT' "... the open connection survives and sees the new domain"
printf 'example.com premium\nbroken.test nosuchclass\n' >"$conf/domains"
kill -HUP "$(rg_pid policyd)"
check "a broken table on reload is reported with file:line" \
	wait_until 5 grep -qE 'domains:2: .*nosuchclass' "$log"
check "... and the old tables are kept" grep -q 'keeping the previous configuration' "$log"
like "$(req d@new.test | talk_unix)" '^action=DEFER_IF_PERMIT' "... new.test still resolves"
kill "${HOLD_PID}" 2>/dev/null

pid=$(rg_pid policyd)
kill -TERM "$pid"
check "SIGTERM stops the daemon" wait_until 5 sh -c "! kill -0 $pid 2>/dev/null"
check "... logged" grep -q 'terminating on signal 15' "$log"
check "... and removes its unix socket" test ! -e "$sock"

done_testing
