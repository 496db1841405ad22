#!/bin/bash
# The monitoring port under a storm, against a real relayguard-policyd (its
# /metrics shares the event loop with the Postfix policy service) and
# redis-server: 40 idle connections to the metrics port are more than its cap
# of 32; the daemon holds no more than 32 of them, still answers policy
# requests, and /metrics answers a new connection once the idle ones are
# dropped (idle timeout), the cap counted in
# relayguard_metrics_http_limits_total{limit="connections"}. A client that
# trickles a request one byte a second (slowloris) is dropped after the
# request deadline although it is never idle. The milter's listener (its own
# thread) has the same limits.
. "$(dirname "$0")/../lib/harness.sh"

rg_need redis-server curl nc python3
rg_need_build

CAP=32
IDLE=40
start_redis || BAIL_OUT "no redis"
pport=$(rg_free_port)
pmet=$(rg_free_port)
mport=$(rg_free_port)
mmet=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $conf/policyd.pid
policyd_metrics_listen = inet:127.0.0.1:$pmet
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
milter_metrics_listen = inet:127.0.0.1:$mmet
run_user = nobody
myhostname = relay.rgtest.invalid
redis_server = 127.0.0.1:$REDIS_PORT
domain_table = domains
premium_greylisting = yes
premium_dynamic_ip_blocking = no
CONF
echo "gl.test  premium" >"$conf/domains"
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
wait_port 127.0.0.1 "$pmet" 10 || BAIL_OUT "policyd metrics do not listen"
wait_port 127.0.0.1 "$mmet" 10 || BAIL_OUT "milter metrics do not listen"
ppid=$(rg_pid policyd)

# sockets PID: the sockets the process holds.
sockets() { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
n_req=0
policy() { # prints the action for a new triplet
	n_req=$((n_req + 1))
	printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.7\nclient_name=mx.sender.test\nhelo_name=mx.sender.test\nsender=s%d@sender.test\nrecipient=u%d@gl.test\n\n' \
		"$n_req" "$n_req" | timeout 10 nc -q 3 127.0.0.1 "$pport" | sed -n 's/^action=//p'
}

like "$(metrics_scrape "$pmet")" 'relayguard_metrics_http_connections [1-9]' "/metrics counts open connections, its own included"
like "$(policy)" '^DEFER_IF_PERMIT' "a policy request is greylisted (Redis in use)"
base=$(sockets "$ppid")
cmp_ok "$base" '>' 0 "policyd holds $base sockets before the storm"

# --- more idle connections than the cap -------------------------------------
fds=()
for ((i = 0; i < IDLE; i++)); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$pmet" || break
	fds+=("$fd")
done
is "${#fds[@]}" $IDLE "$IDLE idle connections to the metrics port are open (the kernel queues what is not accepted)"
held() { echo $(($(sockets "$ppid") - base)); }
held_cap() { [ "$(held)" -ge $CAP ]; }
check "policyd accepts $CAP of them" wait_until 10 held_cap
sleep 1 # the remaining ones would have been accepted by now without the cap
is "$(held)" $CAP "... and holds no more than $CAP (the rest wait in the listen queue)"
like "$(policy)" '^DEFER_IF_PERMIT' "policy requests are still answered while the metrics port is full"
# A new scraper waits in the queue until idle connections are dropped; each
# try gives up after 15 s, so the wait re-evaluates.
scraped() { metrics_scrape "$pmet" 15 | grep -q '^relayguard_metrics_http_limits_total{limit="connections"} [1-9]'; }
check "/metrics answers a new connection once idle ones are dropped, the cap counted" wait_until 60 scraped
# The kernel queued IDLE - CAP more; they too are dropped when idle.
drained() { [ "$(held)" -le 1 ]; }
check "every idle connection is dropped by the idle timeout" wait_until 60 drained
for fd in "${fds[@]}"; do exec {fd}>&-; done
like "$(policy)" '^DEFER_IF_PERMIT' "policy requests answered after the storm"

# --- a slow client: never idle, never done --------------------------------------
slow() { # PORT: trickle one header byte a second; print when the server closed
	python3 - "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
for i in range(40):
    time.sleep(1)
    try:
        s.sendall(b"a")
        s.settimeout(0.05)
        if s.recv(100) == b"":
            break
    except socket.timeout:
        pass
    except OSError:
        break
    finally:
        s.settimeout(5)
else:
    print("still open after 40 s")
    sys.exit(1)
print("dropped after %d bytes" % (i + 1))
PY
}
out=$(slow "$pmet")
like "$out" '^dropped after' "policyd drops a client that trickles its request byte by byte ($out)"
cmp_ok "$(metric "$pmet" 'relayguard_metrics_http_limits_total{limit="request_time"}')" '>=' 1 "... counted as limit=request_time"
is "$(metrics_scrape "$pmet" | grep -c '^relayguard_policyd_requests_total')" 9 "/metrics answers as before"

# --- the milter's listener -----------------------------------------------------
mpid=$(rg_pid milter)
mbase=$(sockets "$mpid")
fds=()
for ((i = 0; i < IDLE; i++)); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$mmet" || break
	fds+=("$fd")
done
mheld() { echo $(($(sockets "$mpid") - mbase)); }
mheld_cap() { [ "$(mheld)" -ge $CAP ]; }
check "the milter accepts $CAP of $IDLE idle connections" wait_until 10 mheld_cap
sleep 1
is "$(mheld)" $CAP "... and holds no more than $CAP"
mscraped() { metrics_scrape "$mmet" 15 | grep -q '^relayguard_metrics_http_limits_total{limit="connections"} [1-9]'; }
check "... and answers /metrics once idle ones are dropped" wait_until 60 mscraped
for fd in "${fds[@]}"; do exec {fd}>&-; done
out=$(slow "$mmet")
like "$out" '^dropped after' "the milter drops a slow client too ($out)"

done_testing
