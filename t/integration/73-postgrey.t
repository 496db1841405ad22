#!/bin/bash
# The way over from postgrey, against postgrey itself:
#   - postgrey's stock whitelist_clients and whitelist_recipients
#     (/etc/postgrey, Debian's package) load unchanged as relayguard's
#     greylist_whitelist_clients/_recipients, and relayguard-policyd
#     whitelists exactly the requests postgrey whitelists (the same policy
#     requests asked of both: Perl regexes with \d, (?:...), lazy
#     quantifiers; names, addresses, partial addresses, IPv4/IPv6 CIDR;
#     user@ and user+ext@ recipients);
#   - the real postgrey on a loopback port with a private --dbdir records a
#     triplet that passed, one still waiting, a VERP sender and an
#     auto-whitelisted client; it is stopped, relayguard-import-postgrey
#     reads its database and relayguard-policyd, asked through a real
#     Postfix, then accepts the passed triplet and the whitelisted client's
#     mail without delay, the waiting triplet as its retry, and still
#     greylists a triplet postgrey never saw; a second import changes
#     nothing.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server postgrey perl nc
rg_need_build
[ -x "$RG_BUILD/relayguard-import" ] || skip_all "no relayguard-import in $RG_BUILD"
perl -MBerkeleyDB -e 1 2>/dev/null || skip_all "perl BerkeleyDB (libberkeleydb-perl) missing"
[ -r /etc/postgrey/whitelist_clients ] && [ -r /etc/postgrey/whitelist_recipients ] ||
	skip_all "postgrey's stock whitelists are not installed"

# start_postgrey NAME DBDIR OPTIONS...: the real postgrey in the foreground.
start_postgrey() {
	local name=$1 db=$2 port
	shift 2
	rg__newdir "$name" || return 1
	port=$(rg_free_port) || return 1
	echo "$port" >"$RG_TMP/$name/port"
	mkdir -p "$db"
	chown postgrey "$db"
	rg__spawn postgrey "$name" "$RG_TMP/$name/log" postgrey "--inet=127.0.0.1:$port" "--dbdir=$db" \
		--whitelist-clients=/etc/postgrey/whitelist_clients \
		--whitelist-recipients=/etc/postgrey/whitelist_recipients "$@"
	rg__started "$name" "$RG_LASTPID" 127.0.0.1 "$port" 30
}
# ask PORT < "client_name client_address sender recipient" lines: one
# policy request each on one connection; prints the action of each.
ask() {
	local port=$1 n
	n=$(awk 'NF == 4 {
		printf "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
		printf "client_name=%s\nreverse_client_name=%s\nclient_address=%s\nhelo_name=%s\n", $1, $1, $2, $1
		printf "sender=%s\nrecipient=%s\ninstance=%d\n\n", $3, $4, NR }' >"$RG_TMP/ask.req"
		grep -c '^request=' "$RG_TMP/ask.req")
	timeout 20 perl -MIO::Socket::INET -e '
		my ($port, $n, $file) = @ARGV;
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die "connect: $!";
		open(my $f, "<", $file) or die; local $/; my $req = <$f>;
		print $s $req; $/ = "\n\n";
		for (1 .. $n) { my $a = <$s>; last unless defined $a; $a =~ s/^action=//; $a =~ s/\n+$//; print "$a\n" }
	' "$port" "$n" "$RG_TMP/ask.req"
}
verdicts() { sed -E 's/^(DEFER_IF_PERMIT|DEFER|450).*/grey/; s/^(DUNNO|PREPEND|OK).*/pass/'; }

# --- relayguard: Redis, policyd, a relay Postfix --------------------------
start_redis || BAIL_OUT "no redis"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
pport=$(rg_free_port)
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $conf/policyd.pid
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
myhostname = relay.rgtest.invalid
domain_table = domains
premium_greylisting = yes
premium_greylist_delay = 2s
premium_greylist_auto_whitelist = 3
dynamic_ip_blocking = no
# postgrey's own files, unchanged
greylist_whitelist_clients = /etc/postgrey/whitelist_clients
greylist_whitelist_recipients = /etc/postgrey/whitelist_recipients
CONF
printf 'example.com premium\n' >"$conf/domains"
out=$("$RG_BUILD/relayguard-policyd" -t -c "$conf/relayguard.conf" 2>&1)
is "$?" 0 "relayguard-policyd -t accepts postgrey's stock whitelist files${out:+: $out}"
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
start_postfix relay \
	"smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service { inet:127.0.0.1:$pport, default_action=DUNNO, timeout=10s }" ||
	BAIL_OUT "no relay Postfix"
postfix_route relay example.com "[127.0.0.1]:$(rg_port sink)"
send() { # client-address client-name sender
	swaks_send relay --from "$3" --to alice@example.com --xclient-addr "$1" --xclient-name "$2" \
		--header "Subject: from $3"
}

# --- 1. the whitelists decide as postgrey's do -------------------------
start_postgrey pgw "$RG_TMP/pgw-db" --delay=300 --auto-whitelist-clients=0 || BAIL_OUT "postgrey does not start"
cat >"$RG_TMP/wl.req" <<'EOF'
smtpout3-g21.free.fr 192.0.2.1 w1@s.test alice@example.com
mail12.telekom.de 192.0.2.2 w2@s.test alice@example.com
mx1.server.arvato-systems.de 192.0.2.3 w3@s.test alice@example.com
mx7.ebay.com 192.0.2.4 w4@s.test alice@example.com
ebay.com.evil.test 192.0.2.5 w5@s.test alice@example.com
unknown 66.216.126.174 w6@s.test alice@example.com
unknown 195.235.39.77 w7@s.test alice@example.com
unknown 51.4.72.9 w8@s.test alice@example.com
unknown 2a01:4180:4051:800::25 w9@s.test alice@example.com
mx.dgfip.finances.gouv.fr 192.0.2.6 w10@s.test alice@example.com
mx.random.test 203.0.113.99 w11@s.test postmaster@example.com
mx.random.test 203.0.113.99 w12@s.test postmaster+lists@example.com
mx.random.test 203.0.113.99 w13@s.test abuse@example.com
mx.random.test 203.0.113.98 w14@s.test alice@example.com
mail5.telekom.de.example.net 192.0.2.7 w15@s.test alice@example.com
EOF
m=$(log_mark policyd)
pg=$(ask "$(rg_port pgw)" <"$RG_TMP/wl.req" | verdicts)
rg=$(ask "$pport" <"$RG_TMP/wl.req" | verdicts)
is "$(printf '%s\n' "$pg" | grep -c .)" 15 "postgrey answered all 15 requests"
is "$(printf '%s\n' "$pg" | tr '\n' ' ')" \
	"pass pass pass pass grey pass pass pass pass pass pass pass pass grey grey " \
	"... whitelisting what its stock files list"
is "$(printf '%s\n' "$rg" | tr '\n' ' ')" "$(printf '%s\n' "$pg" | tr '\n' ' ')" \
	"relayguard-policyd with the same files decides every request as postgrey does"
stop_service pgw
# The rollout check of docs/migrating-from-postgrey.md, on the two logs.
log_since "$m" >"$RG_TMP/rg.log"
out=$(sh "$RG_SRCDIR/scripts/relayguard-compare-postgrey" "$(rg_log pgw)" "$RG_TMP/rg.log")
is "$?:$out" "0:compared 15 triplets: 15 decided alike, 0 greylisted by postgrey only, 0 by relayguard only
not compared: 0 seen by postgrey only, 0 by relayguard only" "relayguard-compare-postgrey: the logs agree on all 15"
printf 'postgrey[9]: action=greylist, reason=new, client_name=a.test, client_address=192.0.2.99, sender=s@x.test, recipient=alice@example.com\n' >"$RG_TMP/pgx.log"
out=$(sh "$RG_SRCDIR/scripts/relayguard-compare-postgrey" "$(rg_log pgw)" "$RG_TMP/rg.log" "$RG_TMP/pgx.log" \
	<(printf 'relayguard-policyd[8]: greylist: client=a.test[192.0.2.99] sender=<s@x.test> recipient=<alice@example.com> class=premium action=DUNNO reason=awl\n'))
is "$?" 1 "... and exit 1 when a decision differs"
like "$out" 'postgrey greylisted, relayguard passed: 192\.0\.2\.99 <s@x\.test> <alice@example\.com>' "... naming the triplet"

# --- 2. a database postgrey wrote ----------------------------------------
db=$RG_TMP/pg-db
start_postgrey pg1 "$db" --delay=2 --auto-whitelist-clients=0 || BAIL_OUT "postgrey does not start"
printf 'mx.y.test 203.0.113.5 bob@sender.test alice@example.com\n' >"$RG_TMP/a.req"
is "$(ask "$(rg_port pg1)" <"$RG_TMP/a.req" | verdicts)" grey "postgrey greylists bob -> alice from 203.0.113.5"
printf 'mx.y.test 203.0.113.5 dave@sender.test alice@example.com
mx.y.test 203.0.113.5 bounce-4711@lists.test alice@example.com\n' >"$RG_TMP/p.req"
is "$(ask "$(rg_port pg1)" <"$RG_TMP/p.req" | verdicts | tr '\n' ' ')" "grey grey " \
	"... and dave -> alice (left waiting), a VERP sender"
sleep 2.5
is "$(ask "$(rg_port pg1)" <"$RG_TMP/a.req" | verdicts)" pass "... bob's retry after postgrey's delay passes"
pending_since=$(date +%s)
stop_service pg1
# Auto-whitelisting on: one passed triplet whitelists the client.
start_postgrey pg2 "$db" --delay=2 --auto-whitelist-clients=1 || BAIL_OUT "postgrey does not start again"
printf 'mx.x.test 198.51.100.7 erin@other.test alice@example.com\n' >"$RG_TMP/b.req"
ask "$(rg_port pg2)" <"$RG_TMP/b.req" >/dev/null
sleep 2.5
is "$(ask "$(rg_port pg2)" <"$RG_TMP/b.req" | verdicts)" pass "postgrey passes erin's retry from 198.51.100.7"
printf 'mx.x.test 198.51.100.7 zed@new.test alice@example.com\n' >"$RG_TMP/x.req"
is "$(ask "$(rg_port pg2)" <"$RG_TMP/x.req")" DUNNO "... and then whitelists that client (a new sender passes)"
out=$(perl "$RG_SRCDIR/scripts/relayguard-import-postgrey" --dbdir "$db" -c "$conf/relayguard.conf" \
	--importer "$RG_BUILD/relayguard-import" 2>&1)
is "$?:$out" "2:relayguard-import-postgrey: $db: postgrey is running; stop it first" \
	"relayguard-import-postgrey refuses to read the database while postgrey runs"
stop_service pg2
check "postgrey wrote its databases" test -s "$db/postgrey.db" -a -s "$db/postgrey_clients.db"

# relayguard greylists bob before the import: its own pending triplet, which
# the import must turn into postgrey's passed one.
send 203.0.113.5 mx.y.test bob@sender.test
is "$SWAKS_CODE" 450 "before the import relayguard greylists bob -> alice"

imp() {
	perl "$RG_SRCDIR/scripts/relayguard-import-postgrey" --dbdir "$db" --delay 2 \
		--auto-whitelist-clients 1 -c "$conf/relayguard.conf" --importer "$RG_BUILD/relayguard-import"
}
out=$(imp 2>&1)
rc=$?
is "$rc" 0 "relayguard-import-postgrey: exit 0"
like "$out" 'pg-db: 2 passed triplets, 1 pending, 1 auto-whitelisted clients; not imported: 0 older than --max-age, 1 numbered \(VERP\) senders' \
	"... read 2 passed triplets, 1 waiting, 1 whitelisted client, skipped the VERP sender"
like "$out" 'relayguard-import: 2 passed triplets, 1 pending, 1 auto-whitelisted networks; left alone 0' \
	"... and wrote them to Redis"
is "$(find "$db" -mindepth 1 ! -user postgrey)" "" "... leaving every file of postgrey's dbdir to postgrey"

if [ -x "$RG_BUILD/relayguardctl" ]; then
	like "$("$RG_BUILD/relayguardctl" -c "$conf/relayguard.conf" greylist list 203.0.113.5 2>&1)" \
		'sender=bob@sender\.test recipient=alice@example\.com state=passed' \
		"relayguardctl lists the imported triplet as passed"
else
	skip 1 "no relayguardctl in $RG_BUILD"
fi
send 203.0.113.5 mx.y.test bob@sender.test
is "$SWAKS_CODE" 250 "after the import bob -> alice from postgrey's passed triplet is accepted at once"
send 198.51.100.9 mx9.x.test yves@new.test
is "$SWAKS_CODE" 250 "mail from postgrey's auto-whitelisted client's network is accepted at once"
send 203.0.113.5 mx.y.test carol@sender.test
is "$SWAKS_CODE" 450 "a triplet postgrey never saw is greylisted"
while [ "$(date +%s)" -lt $((pending_since + 3)) ]; do sleep 0.2; done
send 203.0.113.5 mx.y.test dave@sender.test
is "$SWAKS_CODE" 250 "dave's triplet that waited in postgrey passes as its retry"
check "the accepted messages were delivered" sink_wait sink 3 30

out=$(imp 2>&1)
like "$out" 'relayguard-import: 0 passed triplets, 0 pending, 0 auto-whitelisted networks; left alone 4' \
	"a second import changes nothing"

out=$(printf 'T 203.0.113.0/24 a@b.test alice@example.com 1 2 passed\nT 10.0.0.0/8 a@b.test alice@example.com %s %s passed\nT 192.0.2.0/24 a@b.test nobody@elsewhere.test %s %s passed\nT 192.0.2.0/24 a\001b alice@example.com 5 6 passed\nX\n' \
	"$(date +%s)" "$(date +%s)" "$(date +%s)" "$(date +%s)" | "$RG_BUILD/relayguard-import" -c "$conf/relayguard.conf" 2>&1)
rc=$?
is "$rc" 1 "relayguard-import: bad lines exit 1"
like "$out" '-:4: bad sender "a\?b"' "... name the line, sanitised"
like "$out" 'skipped 1 expired, 1 not greylisted by relayguard, 1 too wide a network; 2 bad lines' \
	"... expired, foreign-domain and too-wide entries are skipped, not written"

done_testing
