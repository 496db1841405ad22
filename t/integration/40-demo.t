#!/bin/bash
# scripts/demo, the README's first command: it brings the whole stack up on
# loopback (in a private directory under $RG_TMP, on free ports) and every
# feature it shows works, as its summary says and as the delivered mail
# shows; the stack stays up, and "scripts/demo stop" ends it. Then the queue
# of its relay: with the customer's server stopped, mail stays queued
# (postqueue -p) and, with delay_warning_time lowered, the sender gets the
# "Delayed Mail (still being retried)" warning; with the server back, a flush
# delivers it. Running the demo a second time replaces the first stack.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix postconf postqueue swaks smtp-sink redis-server spamd spamc opendkim opendkim-genkey \
	setsid runuser ss
rg_need_build
[ "$(id -u)" -eq 0 ] || skip_all "scripts/demo needs root"

demo=$RG_SRCDIR/scripts/demo
export RG_DEMO_DIR=$RG_TMP/demo
D=$RG_DEMO_DIR
# A port base whose seven ports are free; below the harness's 20000-32767.
for b in 19000 19100 19200 19300 19400 19500 19600 19700 19800 19900; do
	free=1
	for o in 25 26 27 28 79 83 91; do
		port_listening 127.0.0.1 $((b + o)) && free=0
	done
	[ $free = 1 ] && break
done
[ "$free" = 1 ] || BAIL_OUT "no free port base for the demo"
export RG_DEMO_PORT_BASE=$b
MX=$((b + 25))
SINK=$D/internet/mail
MBOX=$D/customer/mail/example.com
RC=$D/relay/conf
CC=$D/customer/conf
rg_on_exit "$demo" stop
for l in relay/maillog customer/maillog log/policyd.log log/milter.log log/spamd.log log/opendkim.log; do
	rg_add_log "demo-${l//\//-}" "$D/$l"
done

# --- the demo -------------------------------------------------------------
out=$RG_TMP/demo.out
RG_BUILD=$RG_BUILD "$demo" >"$out" 2>&1
rc=$?
is $rc 0 "scripts/demo exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$out" >&2
summary() { grep -E "^\[(ok|FAIL|skip)\] $1:" "$out"; }
is "$(grep -c '^\[FAIL\]' "$out")" 0 "no step failed"
is "$(grep -c '^\[ok\]' "$out")" 11 "eleven steps succeeded"

like "$(summary greylisting)" '^\[ok\] greylisting: first attempt 450 4\.7\.1 .*Greylisted, try again in 5 seconds; retry after 6s 250 .*delivered with X-Greylist: delayed [5-9] seconds by relayguard-(policyd|milter) at relay\.demo\.test' \
	"greylisting: 450 4.7.1, retry after 6s 250, delivered with X-Greylist"
m=$(grep -lE '^Subject: demo greylisting' "$MBOX"/alice/new/* 2>/dev/null | head -n 1)
check "... the delivered mail has the X-Greylist header" grep -qE '^X-Greylist: delayed [5-9] seconds by relayguard-(policyd|milter)' "$m"

like "$(summary 'recipient callout')" '^\[ok\] recipient callout: nobody@example\.com .* 550 5\.1\.1 <nobody@example\.com>: Recipient address rejected: User unknown' \
	"callout: the unknown recipient gets the customer server's 550 5.1.1 at RCPT"
check "... the customer's server was asked by the relay's milter" grep -qE \
	'reject: RCPT from [^ ]+: 550 5\.1\.1 <nobody@example\.com>.* from=<postmaster@relay\.demo\.test>' "$D/customer/maillog"
is "$(grep -cE 'status=bounced|sender non-delivery' "$D/relay/maillog")" 0 "... and the relay bounced nothing"

like "$(summary 'spam reject')" '^\[ok\] spam reject: GTUBE refused at end of DATA with 550 5\.7\.1 Message rejected as spam' \
	"GTUBE is refused with 550 5.7.1"
is "$(grep -lE '^Subject: demo spam' "$MBOX"/alice/new/* 2>/dev/null | wc -l)" 0 "... and never delivered"

like "$(summary 'spam tagging')" '^\[ok\] spam tagging: ham accepted \(250 .*delivered with X-Spam-Status: No, score=' \
	"ham is delivered tagged X-Spam-Status: No"
m=$(grep -lE '^Subject: demo ham' "$MBOX"/alice/new/* 2>/dev/null | head -n 1)
check "... as the delivered mail shows" grep -qE '^X-Spam-Status: No, score=-?[0-9.]+ required=4\.0' "$m"

like "$(summary 'dynamic IP')" '^\[ok\] dynamic IP: 203\.0\.113\.5 .*550 5\.7\.1 .*dynamic address' \
	"a client on a dynamic address is refused with 550 5.7.1"
like "$(summary 'relay permission')" '^\[ok\] relay permission: 203\.0\.113\.50 .*554 5\.7\.1' \
	"a stranger cannot relay through the outbound listener"
like "$(summary 'rate limit')" '^\[ok\] rate limit: 192\.0\.2\.20 .*\(250 250 250\), the 4th got 450 4\.7\.1 .*Rate limit exceeded: 3 messages per 1h' \
	"an outbound client over its lowered limit gets 450 4.7.1"

like "$(summary DKIM)" '^\[ok\] DKIM: outbound mail from info@example\.com .*DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example\.com; s=rg2024;' \
	"outbound mail is DKIM-signed"
m=$(grep -lE '^Subject: demo dkim' "$SINK"/* 2>/dev/null | head -n 1)
check "... the message at the sink carries the signature" grep -qE '^DKIM-Signature: v=1; a=rsa-sha256;' "$m"
check "... made with the demo key" grep -qE '^[[:space:]]+s=rg2024;' "$m"

like "$(summary 'spam routing')" '^\[ok\] spam routing: .*X-Spam-Flag: YES.*smtp-bad \(HELO out2\.relay\.example\.net\)' \
	"outbound spam leaves through smtp-bad"

like "$(cat "$out")" 'scripts/demo stop' "the demo says how to stop it"
like "$(cat "$out")" "postqueue -c $RC -p" "... and how to look at the queue"
demo_status() { "$demo" status >/dev/null; }
check "the stack stays up after the demo" demo_status
check "... the relay's inbound listener answers" port_listening 127.0.0.1 "$MX"
check "the relay's main.cf holds the shipped snippets" grep -q '^# ==== postfix-conf/main.cf.outbound (as shipped) ====' "$RC/main.cf"
check "... and postfix check is silent about it" test -z "$(postfix -c "$RC" check 2>&1)"
is "$(grep -ciE 'warning|fatal|panic' "$D/relay/maillog")" 0 "the relay logged no warning"
like "$(postqueue -c "$RC" -p)" 'Mail queue is empty' "the relay's queue is empty"

# --- the queue: the customer's server goes away -------------------------------
# The warning time is written into each message when it arrives: lower it
# first. Postfix accepts seconds here; the backoff times are lowered so that
# the retries below are not held back.
postconf -c "$RC" -e "delay_warning_time = 1s" "minimal_backoff_time = 1s" "maximal_backoff_time = 2s" \
	"queue_run_delay = 1s"
postfix -c "$RC" reload >/dev/null 2>&1
postfix -c "$CC" stop >/dev/null 2>&1
check "the customer's server is stopped" wait_until 15 sh -c "! ss -Htln 'sport = :$((b + 27))' | grep -q ."
sleep 1 # the reloaded smtpd/cleanup processes
# The sender and client of the greylisting step: a triplet that passed.
swaks_send "$MX" --from news@sender.example --to alice@example.com --xclient-addr 198.51.100.20 \
	--xclient-name mail.sender.example --header "Subject: demo queued" --body "Waiting for the customer."
is "$SWAKS_CODE" 250 "with the customer's server down, mail is still accepted"
check "... it stays in the relay's queue (postqueue -p)" \
	wait_until 15 sh -c "postqueue -c '$RC' -p | grep -q 'alice@example.com'"
check "... deferred because the server refuses connections" \
	wait_until 15 grep -qE 'to=<alice@example\.com>.*status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+: Connection refused' "$D/relay/maillog"
sleep 2
postqueue -c "$RC" -f
warned() { grep -lE '^Subject: Delayed Mail \(still being retried\)' "$SINK"/* 2>/dev/null | head -n 1; }
was_warned() { [ -n "$(warned)" ]; } # a function: wait_until re-runs it
check "after delay_warning_time a retry sends the sender a delay warning" wait_until 30 was_warned
w=$(warned)
check "... to the sender's address" grep -qE '^X-Rcpt-Args: <news@sender\.example>' "$w"
check "... naming the recipient still being retried" grep -qE '<alice@example\.com>.*(Connection refused|delayed)' "$w"
is "$(postqueue -c "$RC" -j | grep -c 'alice@example.com')" 1 "... while the mail stays queued"

n0=$(ls "$MBOX"/alice/new | wc -l)
postfix -c "$CC" start >/dev/null 2>&1
check "the customer's server is back" wait_port 127.0.0.1 $((b + 27)) 15
# One flush can meet the queue manager still writing the last deferral:
# flush again every 2 s until the mail is there.
flushed=0
flush_delivered() {
	((flushed++ % 20)) || postqueue -c "$RC" -f
	grep -lq '^Subject: demo queued' "$MBOX"/alice/new/* 2>/dev/null
}
check "postqueue -f delivers the queued mail" wait_until 30 flush_delivered
is "$(ls "$MBOX"/alice/new | wc -l)" $((n0 + 1)) "... once"
check "... the queue is empty again" wait_until 15 sh -c "postqueue -c '$RC' -p | grep -q 'Mail queue is empty'"

# --- twice, then stop ---------------------------------------------------------
out2=$RG_TMP/demo2.out
RG_BUILD=$RG_BUILD "$demo" >"$out2" 2>&1
is $? 0 "a second scripts/demo (the stack running) succeeds"
like "$(cat "$out2")" 'already running .* stopping it first' "... after stopping the first stack"
is "$(grep -c '^\[ok\]' "$out2")" 11 "... and all eleven steps succeed again"
pids=$(awk '{ print $3 }' "$D/pids")
"$demo" stop >/dev/null 2>&1
is $? 0 "scripts/demo stop succeeds"
left=""
for p in $pids; do pid_alive "$p" && left="$left $p"; done
is "$left" "" "... and every process of the stack is gone"
check "... no listener is left" sh -c "! ss -Htln | grep -qE ':($MX|$((b + 26))|$((b + 27))|$((b + 28))|$((b + 79))|$((b + 83))|$((b + 91))) '"
like "$("$demo" stop 2>&1)" 'no demo stack runs' "a second stop says there is nothing to stop"

done_testing
