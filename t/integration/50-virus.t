#!/bin/bash
# Virus scanning through a real Postfix with relayguard-milter and a real
# clamd (signature database written by the harness: one EICAR signature):
# EICAR in the body and EICAR in a base64 attachment are refused at the end
# of DATA with 550 5.7.1 naming the signature, inbound and outbound, and
# logged once with the queue id; a clean message is delivered; with spam
# scanning on as well, a clean message is delivered scanned for both and
# EICAR is still refused; a message over virus_max_size is delivered
# unscanned and logged so; clamd over TCP works as over its unix socket;
# clamd stopped -> virus_failure_action (tempfail 451 / accept); clamd hung
# (SIGSTOP) -> the answer comes within clamd_timeout.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink clamd spamd spamc
rg_need_build

start_clamd || BAIL_OUT "no clamd"
start_spamd || BAIL_OUT "no spamd"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
mport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf" "$RG_TMP/spool" && chmod 1777 "$RG_TMP/spool"
write_conf() { # clamd_server
	cat >"$conf/relayguard.conf" <<CONF
milter_listen = inet:$mport@127.0.0.1
milter_pidfile = $conf/milter.pid
milter_tmpdir = $RG_TMP/spool
milter_memory_buffer = 16k
run_user = nobody
myhostname = relay.rgtest.invalid
spamd_server = 127.0.0.1:$SPAMD_PORT
spamd_timeout = 20s
clamd_server = $1
clamd_timeout = 3s
domain_table = domains
client_table = clients
premium_virus_scan = yes
CONF
}
write_conf "unix:$CLAMD_SOCK"
cat >"$conf/domains" <<TABLE
virus.test    premium
both.test     premium  spam_scan=yes
open.test     premium  virus_failure_action=accept
big.test      premium  virus_max_size=2k
TABLE
cat >"$conf/clients" <<TABLE
192.0.2.10/32 premium
TABLE
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"
start_postfix relay "smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
for d in virus.test both.test open.test big.test customer.test; do
	postfix_route relay $d "[127.0.0.1]:$(rg_port sink)"
done

send() { # to [swaks args]
	local to=$1
	shift
	swaks_send relay --from sender@remote.test --to "$to" --xclient-addr 198.51.100.20 \
		--xclient-name mail.remote.test "$@"
}
last_with() { # ERE: the newest sink file that matches
	grep -lE "$1" $(sink_files sink) 2>/dev/null | tail -n 1
}
delivered() { test -n "$(last_with "$1")"; }
log_lines() { wc -l <"$(rg_log milter)"; }
log_after() { # N: the milter's log lines after line N
	tail -n +"$(($1 + 1))" "$(rg_log milter)"
}
logged() { # ERE: a milter log line after line $n matches
	log_after "$n" | grep -qE "$1"
}

# --- inbound ----------------------------------------------------------------
n=$(log_lines)
send alice@virus.test --header "Subject: eicar" --body "$RG_EICAR"
like "$(swaks_reply_to .)" '^550 5\.7\.1 Message contains a virus \(RG-Test\.EICAR\.UNOFFICIAL\)' \
	"EICAR in the body is refused with 550 5.7.1 naming the signature"
wait_until 5 logged 'virus=found'
is "$(log_after "$n" | grep -c 'milter: virus:')" 1 "... logged in one line"
like "$(log_after "$n" | grep 'milter: virus:')" \
	'^.*[0-9A-F]{6,}: milter: virus: .*recipient=<alice@virus\.test> .*virus=found signature=RG-Test\.EICAR\.UNOFFICIAL clamd=unix:[^ ]+ action=reject' \
	"... with the queue id, recipient and signature"

n=$(log_lines)
send alice@virus.test --header "Subject: clean one" --body "Nothing but words."
is "$SWAKS_CODE" 250 "a clean message is accepted"
check "... and delivered" wait_until 30 delivered '^Subject: clean one'
check "... logged as clean" wait_until 5 logged 'virus=clean clamd=unix:[^ ]+ action=accept'

printf '%s\n' "$RG_EICAR" >"$RG_TMP/eicar.com"
send alice@virus.test --header "Subject: attached" --body "see the attachment" \
	--attach-type application/octet-stream --attach "@$RG_TMP/eicar.com"
check "... (the attachment went as base64)" grep -q 'Content-Transfer-Encoding: BASE64' "$SWAKS_OUT"
like "$(swaks_reply_to .)" '^550 5\.7\.1 Message contains a virus \(RG-Test\.EICAR\.UNOFFICIAL\)' \
	"EICAR inside a base64 attachment is refused"

big=$(head -c 60000 /dev/zero | tr '\0' 'y' | fold -w 70)
send alice@virus.test --header "Subject: spilled" --body "$big
$RG_EICAR"
like "$(swaks_reply_to .)" '^550 5\.7\.1 .*RG-Test\.EICAR' \
	"EICAR after 60 kB (in the milter's temp file, not its memory) is refused"

n=$(log_lines)
big=$(head -c 6000 /dev/zero | tr '\0' 'z' | fold -w 70)
send dave@big.test --header "Subject: over the limit" --body "$big
$RG_EICAR"
is "$SWAKS_CODE" 250 "a message over virus_max_size is not scanned: accepted (as documented)"
check "... delivered" wait_until 30 delivered '^Subject: over the limit'
check "... and logged as unscanned, too large" wait_until 5 logged 'virus=unscanned reason=too-large limit=2048 action=accept'

# --- with spam scanning in the same message -------------------------------
send bob@both.test --header "Subject: clean both" --body "Lunch on Friday? See you."
is "$SWAKS_CODE" 250 "spam and virus scanning: a clean message is accepted"
check "... delivered" wait_until 30 delivered '^Subject: clean both'
check "... with spamd's verdict" grep -qE '^X-Spam-Status: No, score=' "$(last_with '^Subject: clean both')"
send bob@both.test --header "Subject: eicar both" --body "$RG_EICAR"
like "$(swaks_reply_to .)" '^550 5\.7\.1 Message contains a virus' "... EICAR is refused as a virus"

# --- outbound ---------------------------------------------------------------
swaks_send relay --from user@customer.test --to someone@customer.test --xclient-addr 192.0.2.10 \
	--header "Subject: outbound eicar" --body "$RG_EICAR"
like "$(swaks_reply_to .)" '^550 5\.7\.1 Message contains a virus \(RG-Test\.EICAR\.UNOFFICIAL\)' \
	"outbound: a customer's virus is refused at DATA (its own server bounces, not the relay)"

# --- clamd over TCP -------------------------------------------------------
write_conf "127.0.0.1:$CLAMD_PORT"
n=$(log_lines)
kill -USR1 "$(rg_pid milter)"
reloaded() { log_after "$n" | grep -q 'reload: configuration'; }
check "the milter reloads with clamd_server over TCP" wait_until 5 reloaded
send alice@virus.test --header "Subject: eicar tcp" --body "$RG_EICAR"
like "$(swaks_reply_to .)" '^550 5\.7\.1 .*RG-Test\.EICAR' "... EICAR refused through TCP"

# --- clamd hung ---------------------------------------------------------------
kill -STOP "$(rg_pid clamd)"
n=$(log_lines)
t0=$(date +%s%N)
send alice@virus.test --header "Subject: hung" --body "clamd sleeps"
t1=$(date +%s%N)
like "$(swaks_reply_to .)" '^451 4\.7\.1 ' "clamd hung: 451 (virus_failure_action = tempfail)"
cmp_ok "$(((t1 - t0) / 1000000))" '<' 10000 "... answered in under 10 s (clamd_timeout 3s), not at Postfix's milter timeout"
check "... logged as a timeout" wait_until 5 logged 'virus=unscanned reason="clamd timeout'
kill -CONT "$(rg_pid clamd)"

# --- clamd stopped ------------------------------------------------------------
stop_clamd
send alice@virus.test --header "Subject: down" --body "nobody scans"
like "$(swaks_reply_to .)" '^451 4\.7\.1 Virus scanner unavailable' \
	"clamd stopped: 451 4.7.1 (virus_failure_action = tempfail)"
n=$(log_lines)
send carol@open.test --header "Subject: down accept" --body "nobody scans"
is "$SWAKS_CODE" 250 "clamd stopped, virus_failure_action = accept: accepted"
check "... delivered" wait_until 30 delivered '^Subject: down accept'
check "... and logged as unscanned" wait_until 5 logged 'virus=unscanned reason="clamd connect failed.*failure_action=accept clamd=[^ ]+ action=accept'

done_testing
