#!/bin/bash
# The daemons' life cycle as an admin meets it: a second start (or one with
# another pid file) refuses and leaves the running instance reachable; a
# stale socket left by a crash is replaced; a daemon removes at exit only the
# socket it created and leaves no pid file behind; SIGUSR1 reloads both
# daemons; SIGTERM with 100 requests in flight answers all 100; a crowd of
# clients at a low descriptor limit costs a few log lines, not millions, and
# the service goes on; a client sending one byte at a time is cut off at
# policyd_request_timeout; the milter stops promptly and waits for an open
# session.
. "$(dirname "$0")/../lib/harness.sh"

rg_need redis-server nc prlimit setpriv curl
rg_need_build
burst=$RG_BUILD/t/tools/policy-burst
[ -x "$burst" ] || skip_all "t/tools/policy-burst not built"

start_redis || BAIL_OUT "no redis"
conf=$RG_TMP/rg
piddir=$RG_TMP/piddir # root's, as /run is: run_user cannot unlink in it
mkdir -p "$conf" "$piddir"
chmod 755 "$RG_TMP" "$piddir"
chown nobody "$conf"
sock=$conf/policyd.sock
pidf=$piddir/policyd.pid
write_conf() { # file pidfile [extra lines]
	local f=$1 p=$2
	shift 2
	{
		cat <<CONF
policyd_listen = unix:$sock
policyd_pidfile = $p
policyd_idle_timeout = 30s
policyd_request_timeout = 2s
drain_timeout = 5s
redis_timeout = 1s
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
domain_table = domains
premium_greylisting = yes
premium_dynamic_ip_blocking = no
milter_listen = unix:$conf/milter.sock
milter_pidfile = ${p%.pid}-milter.pid
CONF
		printf '%s\n' "$@"
	} >"$f"
}
printf 'example.com premium\n' >"$conf/domains"
write_conf "$conf/relayguard.conf" "$pidf"
write_conf "$conf/other.conf" "$piddir/other.pid"

req() {
	printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.99\nclient_name=mx.sender.test\nreverse_client_name=mx.sender.test\nhelo_name=mx.sender.test\nsender=a@sender.test\nrecipient=%s\ninstance=1.2.3\nsize=0\n\n' "$1"
}
answer() { req bob@elsewhere.test | timeout 5 nc -U -q 1 "${1:-$sock}"; }
lines() { wc -l <"$1"; }
since() { tail -n +"$(($2 + 1))" "$1"; } # file line-count-before
# log lines other than the decisions themselves (one per answered request)
noise() { since "$1" "$2" | grep -vc ' client=' || true; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
gone() { ! pid_alive "$1"; }

# --- -t shows the fail-open choices ---------------------------------------------
cat >"$conf/failopen.conf" <<CONF
premium_greylisting = yes
premium_spam_scan = yes
standard_spam_scan = yes
standard_spam_failure_action = tempfail
CONF
for d in policyd milter; do
	out=$("$RG_BUILD/relayguard-$d" -t -c "$conf/failopen.conf" 2>&1)
	rc=$?
	is "$rc" 0 "$d -t: fail-open choices are warnings, not errors"
	like "$out" "relayguard-$d: warning: class premium: greylisting = yes, but policy_failure_action = dunno" \
		"$d -t: greylisting on a class while Redis failures let mail through"
	like "$out" "class premium: spam_scan = yes, but spam_failure_action = accept" \
		"$d -t: spam scanning on a class while spamd failures deliver unscanned"
	is "$(grep -c 'warning:' <<<"$out")" 2 "$d -t: one line each, none for the class that fails closed"
done
printf 'policy_failure_action = defer\npremium_greylisting = yes\n' >"$conf/failclosed.conf"
is "$("$RG_BUILD/relayguard-policyd" -t -c "$conf/failclosed.conf" 2>&1)" "" "-t: nothing to warn about when the class fails closed"

# --- double start -------------------------------------------------------------
start_policyd "$conf/relayguard.conf" policyd1 || BAIL_OUT "policyd does not start"
p1=$(rg_pid policyd1)
log1=$(rg_log policyd1)
is "$(answer)" "action=DUNNO" "the first instance answers"
is "$(cat "$pidf")" "$p1" "its pid file names it"

out=$RG_TMP/second.out
timeout 5 "$RG_BUILD/relayguard-policyd" -f -c "$conf/relayguard.conf" >"$out" 2>&1
rc=$?
isnt "$rc" 0 "a second start with the same configuration fails"
isnt "$rc" 124 "... at once (it does not run)"
like "$(cat "$out")" "already running as pid $p1" "... and names the running pid"
timeout 5 "$RG_BUILD/relayguard-policyd" -f -c "$conf/other.conf" >"$out" 2>&1
rc=$?
isnt "$rc" 0 "a start with another pid file but the same socket fails"
like "$(cat "$out")" "$sock is in use" "... saying the socket is in use"
is "$(answer)" "action=DUNNO" "the first instance is still reachable on its socket"
is "$(cat "$pidf")" "$p1" "... and its pid file still names it"

# --- SIGUSR1 --------------------------------------------------------------------
n=$(lines "$log1")
kill -USR1 "$p1"
reloaded() { since "$1" "$2" | grep -q 'reload: configuration'; }
check "SIGUSR1 reloads relayguard-policyd" wait_until 5 reloaded "$log1" "$n"
sleep 0.2
check "... and it is still running" pid_alive "$p1"
is "$(answer)" "action=DUNNO" "... and answering"

# --- slow client ----------------------------------------------------------------
n=$(lines "$log1")
slow() { for _ in $(seq 1 16); do printf 'r'; sleep 0.5; done; }
slow 2>/dev/null | timeout 12 nc -U "$sock" >/dev/null 2>&1 &
slowpid=$!
slow_cut() { since "$log1" "$n" | grep -q 'request not complete within policyd_request_timeout'; }
check "a client sending a byte every 0.5 s is cut off at policyd_request_timeout (2s)" \
	wait_until 6 slow_cut
kill "$slowpid" 2>/dev/null
wait "$slowpid" 2>/dev/null
is "$(since "$log1" "$n" | grep -c 'request not complete')" 1 "... logged once"

# --- only our own socket is removed at exit -----------------------------------
mv "$sock" "$sock.moved"
start_policyd "$conf/other.conf" policyd2 || BAIL_OUT "second policyd does not start"
p2=$(rg_pid policyd2)
kill -TERM "$p1"
check "the first instance stops on SIGTERM" wait_until 10 gone "$p1"
check "... leaving the socket another instance now serves at its path" test -S "$sock"
is "$(answer)" "action=DUNNO" "... which still answers"
is "$(cat "$pidf" 2>/dev/null)" "" "... and no pid file with its pid (run dir not run_user's)"
stop_policyd policyd2
check "the second instance removed its socket at exit" test ! -e "$sock"
rm -f "$sock.moved"

# --- a stale socket after a crash ------------------------------------------------
start_policyd "$conf/relayguard.conf" policyd3 || BAIL_OUT "policyd does not start again"
p3=$(rg_pid policyd3)
kill -KILL "$p3"
wait_until 5 gone "$p3"
check "a killed policyd leaves its socket behind" test -S "$sock"
pmet=$(rg_free_port)
write_conf "$conf/metrics.conf" "$pidf" "policyd_metrics_listen = inet:127.0.0.1:$pmet"
start_policyd "$conf/metrics.conf" policyd4
p4=$(rg_pid policyd4)
log4=$(rg_log policyd4)
check "a new start replaces the stale socket" wait_until 5 grep -q 'starting:' "$log4"
is "$(answer)" "action=DUNNO" "... and answers on it"

# --- SIGTERM with 100 requests in flight ---------------------------------------
n=$(lines "$log4")
bout=$RG_TMP/burst.out
redis_pid=$(rg_pid redis)
wait_port 127.0.0.1 "$pmet" 10 || BAIL_OUT "policyd metrics do not listen"
r0=$(metric "$pmet" 'relayguard_policyd_requests_total{state="rcpt"}')
kill -STOP "$redis_pid"
"$burst" -s "unix:$sock" -n 100 -T 20 >"$bout" 2>&1 &
bpid=$!
sent() { grep -q '^sent 100' "$bout"; }
check "100 greylisting requests sent while Redis is stopped" wait_until 10 sent
# In flight: policyd has read all 100 (requests_total counts a request as
# it is parsed, before Redis is asked).
all_read() { [ "$(metric "$pmet" 'relayguard_policyd_requests_total{state="rcpt"}')" -ge $((r0 + 100)) ]; }
check "... and policyd has read all 100" wait_until 10 all_read
kill -TERM "$p4"
sleep 0.3
kill -CONT "$redis_pid"
wait "$bpid"
is "$(tail -n 1 "$bout")" "answered 100 closed 0 failed 0" "SIGTERM: all 100 requests in flight are answered"
check "policyd exits after the drain" wait_until 10 gone "$p4"
stopped=$(since "$log4" "$n" | sed -n 's/.*stopped after \([0-9]*\) ms.*/\1/p')
note "policyd stopped ${stopped:-?} ms after SIGTERM with 100 requests in flight"
check "... removing its socket" test ! -e "$sock"
is "$(cat "$pidf" 2>/dev/null)" "" "... and leaving no pid behind"

# --- descriptor limit 64, 100 clients --------------------------------------------
rg__newdir policyd5
log5=$RG_TMP/policyd5/log
rg__spawn policyd policyd5 "$log5" prlimit --nofile=64:64 -- \
	"$RG_BUILD/relayguard-policyd" -f -c "$conf/relayguard.conf"
p5=$RG_LASTPID
check "policyd starts with 64 descriptors" wait_until 10 test -S "$sock"
like "$(cat "$log5")" 'policyd_max_connections = 10000 is more than the descriptor limit allows .*serving at most 32' \
	"the connection limit is capped to the descriptor limit, and the log says so"
n=$(lines "$log5")
c0=$(cpu_ticks "$p5")
"$burst" -s "unix:$sock" -n 100 -H 3 -T 6 >"$bout" 2>&1
c1=$(cpu_ticks "$p5")
nl=$(noise "$log5" "$n")
note "ulimit 64, 100 clients for 3 s: $nl log lines besides decisions, $((c1 - c0)) CPU ticks; $(tr '\n' ' ' <"$bout")"
cmp_ok "$nl" "<" 20 "... 100 clients cost a few log lines"
cmp_ok "$((c1 - c0))" "<" 50 "... and little CPU (under 0.5 s in 3 s; the old busy loop used 1 s)"
is "$(answer)" "action=DUNNO" "... and after they leave the service answers"
stop_service policyd5

# --- descriptors exhausted under a running daemon -----------------------------
start_policyd "$conf/relayguard.conf" policyd6 || BAIL_OUT "policyd does not start"
p6=$(rg_pid policyd6)
log6=$(rg_log policyd6)
# policyd runs as nobody now: lower its limit as nobody (prlimit(2) rules)
setpriv --reuid=nobody --regid=nogroup --clear-groups prlimit --pid "$p6" --nofile=40:40 ||
	diag "prlimit failed"
n=$(lines "$log6")
c0=$(cpu_ticks "$p6")
"$burst" -s "unix:$sock" -n 100 -H 3 -T 6 >"$bout" 2>&1
c1=$(cpu_ticks "$p6")
sleep 0.5
nl=$(noise "$log6" "$n")
note "descriptors exhausted, 100 clients for 3 s: $nl log lines besides decisions, $((c1 - c0)) CPU ticks; $(tail -n 1 "$bout")"
is "$(since "$log6" "$n" | grep -c 'pausing new connections')" 1 "accept() out of descriptors: one log line for the episode"
cmp_ok "$nl" "<" 20 "... a few log lines in all"
cmp_ok "$((c1 - c0))" "<" 50 "... and little CPU (under 0.5 s in 3 s; the old busy loop used 1 s)"
is "$(answer)" "action=DUNNO" "... and after the clients leave the service answers"
check "... and says it accepts again" grep -q 'accepting connections again' "$log6"
stop_policyd policyd6

# --- the milter -------------------------------------------------------------------
msock=$conf/milter.sock
mpidf=$piddir/policyd-milter.pid
start_milter "$conf/relayguard.conf" milter1 || BAIL_OUT "milter does not start"
m1=$(rg_pid milter1)
mlog=$(rg_log milter1)
timeout 5 "$RG_BUILD/relayguard-milter" -f -c "$conf/relayguard.conf" >"$out" 2>&1
rc=$?
isnt "$rc" 0 "milter: a second start fails"
like "$(cat "$out")" "already running as pid $m1" "... naming the running pid"
timeout 5 "$RG_BUILD/relayguard-milter" -f -c "$conf/other.conf" >"$out" 2>&1
rc=$?
isnt "$rc" 0 "milter: a start with another pid file but the same socket fails"
like "$(cat "$out")" "$msock is in use" "... saying the socket is in use"
check "milter: the first instance's socket still accepts" nc -U -z "$msock"

n=$(lines "$mlog")
kill -USR1 "$m1"
check "milter: SIGUSR1 reloads" wait_until 5 reloaded "$mlog" "$n"
check "... and it keeps running" pid_alive "$m1"

# A session open at SIGTERM: the milter waits for it (within drain_timeout).
optneg='\x00\x00\x00\x0dO\x00\x00\x00\x06\x00\x00\x01\xff\x00\x1f\xff\xff'
oreply=$RG_TMP/optneg.reply
(printf "$optneg"; sleep 1.5) | nc -N -U "$msock" >"$oreply" 2>/dev/null &
check "milter: a session negotiates" wait_until 10 test -s "$oreply"
n=$(lines "$mlog")
t0=$(date +%s%N)
kill -TERM "$m1"
check "milter: stops on SIGTERM with a session open" wait_until 10 gone "$m1"
t1=$(date +%s%N)
like "$(since "$mlog" "$n")" 'stopping: 1 session\(s\) open' "... it counted the open session"
unlike "$(since "$mlog" "$n")" 'still open after drain_timeout' "... and waited for it to end"
note "milter stop with one session open for ~1.5 s more: $(((t1 - t0) / 1000000)) ms"
check "... removing its socket" test ! -e "$msock"
is "$(cat "$mpidf" 2>/dev/null)" "" "... and leaving no pid behind"

start_milter "$conf/relayguard.conf" milter2 || BAIL_OUT "milter does not start again"
m2=$(rg_pid milter2)
t0=$(date +%s%N)
kill -TERM "$m2"
check "milter: an idle milter stops on SIGTERM" wait_until 10 gone "$m2"
t1=$(date +%s%N)
note "idle milter stop: $(((t1 - t0) / 1000000)) ms (was 0-5 s: libmilter's accept poll)"

# A socket directory run_user cannot write (root's): the socket cannot be
# moved aside at stop, so the wake-up must go to its path (it went to the
# vanished temporary name, and the stop waited out libmilter's 5 s poll).
write_conf "$conf/rootdir.conf" "$piddir/m5.pid" "milter_listen = unix:$piddir/milter.sock"
start_milter "$conf/rootdir.conf" milter5 || BAIL_OUT "milter does not start with its socket in root's directory"
m5=$(rg_pid milter5)
m5log=$(rg_log milter5)
kill -TERM "$m5"
check "milter: stops with its socket in a directory run_user cannot write" wait_until 10 gone "$m5"
ms5=$(sed -n 's/.*stopped after \([0-9]*\) ms.*/\1/p' "$m5log")
note "milter stop, socket in root's directory: ${ms5:-?} ms"
cmp_ok "${ms5:-99999}" '<' 2500 "... without waiting out libmilter's 5 s accept poll"
rm -f "$piddir/milter.sock"

start_milter "$conf/relayguard.conf" milter4 || BAIL_OUT "milter does not start again"
m4=$(rg_pid milter4)
mv "$msock" "$msock.moved"
start_milter "$conf/other.conf" milter3 || BAIL_OUT "second milter does not start"
kill -TERM "$m4"
check "milter: the first milter stops" wait_until 10 gone "$m4"
check "... leaving the socket another milter serves at its path" nc -U -z "$msock"
stop_milter milter3
check "the other milter removed its own socket" test ! -e "$msock"
rm -f "$msock.moved"

# --- detached (no -f), as a start by hand or an init script has them ------------
# The unit files run both with -f; without it they fork after binding, and
# policyd's event loop must be set up again in the child.
dsock=$conf/detached-policyd.sock
dmsock=$conf/detached-milter.sock
dpidf=$piddir/detached.pid
dmpidf=$piddir/detached-milter.pid
write_conf "$conf/detached.conf" "$dpidf" "policyd_listen = unix:$dsock" "milter_listen = unix:$dmsock"
"$RG_BUILD/relayguard-policyd" -c "$conf/detached.conf" </dev/null >/dev/null 2>&1
is $? 0 "policyd without -f: the starting process exits 0"
"$RG_BUILD/relayguard-milter" -c "$conf/detached.conf" </dev/null >/dev/null 2>&1
is $? 0 "milter without -f: the same"
check "... both write their pid files" wait_until 5 test -s "$dpidf" -a -s "$dmpidf"
dp=$(cat "$dpidf" 2>/dev/null)
dm=$(cat "$dmpidf" 2>/dev/null)
[ -n "$dp" ] && rg__register policyd detached-policyd "$dp" # stopped at exit if a check fails
[ -n "$dm" ] && rg__register milter detached-milter "$dm"
check "... naming daemons that run" pid_alive "${dp:-0}"
check "... both of them" pid_alive "${dm:-0}"
is "$(ps -o user= -p "${dp:-0}") $(ps -o user= -p "${dm:-0}")" "nobody nobody" "... as run_user"
is "$(answer "$dsock")" "action=DUNNO" "the detached policyd answers (its event loop survived the fork)"
dreply=$RG_TMP/detached-optneg.reply
(printf "$optneg"; sleep 0.5) | nc -N -U "$dmsock" >"$dreply" 2>/dev/null
check "the detached milter negotiates" test -s "$dreply"
kill -TERM "${dp:-0}" "${dm:-0}"
check "both stop on SIGTERM" wait_until 10 gone "${dp:-0}"
check "... the milter too" wait_until 10 gone "${dm:-0}"
check "... removing their sockets" test ! -e "$dsock" -a ! -e "$dmsock"
rg__unregister detached-policyd
rg__unregister detached-milter

done_testing
