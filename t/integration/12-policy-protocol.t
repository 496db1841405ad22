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
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$RG_SRCDIR/debian/changelog")
is "$("$RG_BUILD/relayguard-policyd" -V)" "relayguard-policyd $version" "-V prints the version of debian/changelog"
check "... and the start line names it" grep -qF "starting: version $version," "$log"

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
# policyd writes a loop turn's log lines in one write, and the turn's
# replies only after it: a client holding its answers finds every decision
# in the log at once (no waiting here on purpose: that is the promise).
lm=$(log_mark "$log")
out=$(for i in $(seq 1 20); do req "order$i@example.com"; done | talk_inet)
is "$(grep -c '^action=DEFER_IF_PERMIT' <<<"$out")" 20 "20 pipelined greylisting requests get 20 replies"
is "$(log_count "$lm" 'greylist: .*recipient=<order[0-9]+@example\.com>')" 20 \
	"... and once they are in, all 20 decisions are already in the log"

# bad NAME < bytes: the server must read them and close the connection
# without a reply.  An empty answer alone proves nothing (a dead daemon or a
# missing socket answers nothing too): nc must have connected and seen the
# server close (exit 0, not 1 for no connection or 124 for a hang), and the
# daemon must still run.  Sets lm, a log cursor from before the bytes.
bad() {
	local out rc
	lm=$(log_mark "$log")
	out=$(talk_unix 2>"$RG_TMP/nc.err")
	rc=$?
	is "$out" "" "$1: no reply"
	is "$rc" 0 "... the server took the connection and closed it$([ -s "$RG_TMP/nc.err" ] && printf ' (nc: %s)' "$(head -n 1 "$RG_TMP/nc.err")")"
	check "... and still runs" pid_alive "$(rg_pid policyd)"
}
in=$RG_TMP/in
{ printf 'request=smtpd_access_policy\nsender='; head -c 3000 /dev/zero | tr '\0' a; printf '\n\n'; } >"$in"
bad "an oversized line" <"$in"
check "... logged" log_wait "$lm" 'line too long; disconnecting without a reply' 5
printf 'request=smtpd_access_policy\nthis line has no equals sign\n\n' >"$in"
bad "a malformed line" <"$in"
check "... logged" log_wait "$lm" 'malformed line' 5
printf 'request=smtpd_access_policy\nsender=a\000b@x\n\n' >"$in"
bad "a NUL byte" <"$in"
check "... logged" log_wait "$lm" 'NUL byte in request' 5
{ for i in $(seq 1 50); do printf 'x_attr%d=1\n' "$i"; done; printf '\n'; } >"$in"
bad "too many attributes" <"$in"
check "... logged" log_wait "$lm" 'more than 40 attributes' 5
head -c 2000 /dev/urandom | tr -d '\n' >"$in"
bad "2000 bytes of binary without a newline" <"$in"
is "$(req bob@elsewhere.test | talk_unix)" "action=DUNNO" "after all that the server still answers"

lm=$(log_mark "$log")
sleep 8 | nc -U "$sock" >/dev/null &
idle=$!
check "an idle connection is closed after policyd_idle_timeout (2s)" \
	log_wait "$lm" 'idle timeout, closing' 5
kill $idle 2>/dev/null

# --- reload -------------------------------------------------------------------
coproc HOLD { nc -U "$sock"; }
req a@elsewhere.test >&"${HOLD[1]}"
read -r -t 5 first <&"${HOLD[0]}"
is "$first" "action=DUNNO" "a connection is open before the reload"
printf 'example.com premium\nnew.test premium\n' >"$conf/domains"
lm=$(log_mark "$log")
kill -HUP "$(rg_pid policyd)"
check "SIGHUP reloads the tables" log_wait "$lm" 'reload: configuration' 5
read -r -t 5 _blank <&"${HOLD[0]}"
req c@new.test >&"${HOLD[1]}"
read -r -t 5 second <&"${HOLD[0]}"
like "$second" '^action=DEFER_IF_PERMIT' "... the open connection survives and sees the new domain"
printf 'example.com premium\nbroken.test nosuchclass\n' >"$conf/domains"
lm=$(log_mark "$log")
kill -HUP "$(rg_pid policyd)"
check "a broken table on reload is reported with file:line" \
	log_wait "$lm" 'domains:2: .*nosuchclass' 5
check "... and the old tables are kept" log_wait "$lm" 'keeping the previous configuration' 5
like "$(req d@new.test | talk_unix)" '^action=DEFER_IF_PERMIT' "... new.test still resolves"
kill "${HOLD_PID}" 2>/dev/null

pid=$(rg_pid policyd)
lm=$(log_mark "$log")
kill -TERM "$pid"
check "SIGTERM stops the daemon" wait_until 5 sh -c "! kill -0 $pid 2>/dev/null"
check "... logged" log_wait "$lm" 'terminating on signal 15' 5
check "... and removes its unix socket" test ! -e "$sock"

done_testing
