#!/bin/bash
# 09-config-check.t - -t says what the daemons will do. An address -t
# accepts is one the daemons use (spamd_server = inet:127.0.0.1:PORT scans
# through a real Postfix + spamd; milter_listen in the policyd spelling
# inet:127.0.0.1:PORT and a unix: socket in a directory the milter creates;
# policyd's pid file in a missing run directory); what -t refuses the
# daemons would have died on or misread (a bad port, a table-entry nexthop
# without its ']', a missing user, a pid directory two levels deep,
# milter_tmpdir); relayguard-milter -t refuses the same; -n NAME, -d and the
# masked password.
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink spamd
rg_need_build

P=$RG_BUILD/relayguard-policyd
M=$RG_BUILD/relayguard-milter
c=$RG_TMP/conf
mkdir -p "$c"

# tcheck NAME FILE ERE: both daemons' -t exit 1 and print ERE on stderr.
tcheck() {
	local name=$1 file=$2 ere=$3 d out rc
	for d in "$P" "$M"; do
		out=$("$d" -t -c "$file" 2>&1)
		rc=$?
		is "$rc" 1 "$(basename "$d") -t refuses $name"
		like "$out" "$ere" "... and says where and why"
	done
}

# ---------------------------------------------------------------- -t refuses

cat >"$c/port.conf" <<CONF
myhostname = relay.rgtest.invalid
spamd_server = localhost:783x
CONF
tcheck "spamd_server = localhost:783x" "$c/port.conf" \
	'port\.conf:2: bad spamd_server: "localhost:783x": bad port "783x"'

# A scanning cluster's list: the bad word is named.
cat >"$c/list.conf" <<CONF
myhostname = relay.rgtest.invalid
spamd_server = 127.0.0.1:783, localhost:78x
CONF
tcheck "a bad second spamd_server address" "$c/list.conf" \
	'list\.conf:2: bad spamd_server: "localhost:78x": bad port "78x"'

# greylist_spf asks DNS through the SPF resolver, which takes IPv4 servers only.
cat >"$c/spf.conf" <<CONF
myhostname = relay.rgtest.invalid
dns_server = [::1]:53
premium_greylist_spf = yes
CONF
tcheck "greylist_spf with an IPv6 dns_server" "$c/spf.conf" \
	'spf\.conf:2: dns_server: ::1: SPF and DKIM checks need an IPv4 name server'

cat >"$c/domains" <<TABLE
example.com   premium  nexthop=[mail.example.com:25
TABLE
cat >"$c/table.conf" <<CONF
myhostname = relay.rgtest.invalid
domain_table = domains
CONF
tcheck "a table entry's nexthop=[mail.example.com:25" "$c/table.conf" \
	"domains:1: bad nexthop: \"\\[mail\\.example\\.com:25\": missing '\\]'"

cat >"$c/user.conf" <<CONF
myhostname = relay.rgtest.invalid
run_user = no-such-user-rgtest
CONF
tcheck "a run_user that does not exist" "$c/user.conf" \
	'user\.conf:2: run_user: no such user "no-such-user-rgtest"'

cat >"$c/dirs.conf" <<CONF
myhostname = relay.rgtest.invalid
policyd_pidfile = $RG_TMP/gone/run/policyd.pid
milter_tmpdir = $RG_TMP/no-tmp
CONF
tcheck "a pid file two missing levels deep" "$c/dirs.conf" \
	"dirs\\.conf:2: policyd_pidfile: directory $RG_TMP/gone/run does not exist"
tcheck "a missing milter_tmpdir" "$c/dirs.conf" \
	"dirs\\.conf:3: milter_tmpdir: directory $RG_TMP/no-tmp does not exist"

cat >"$c/host.conf" <<CONF
myhostname = relay_1.rgtest!
CONF
tcheck "a myhostname that is not a host name" "$c/host.conf" \
	'host\.conf:1: myhostname: "relay_1\.rgtest!" is not a host name'

# ------------------------------------------------------ -n NAME, -d, secrets

cat >"$c/print.conf" <<CONF
myhostname = relay.rgtest.invalid
redis_password = hunter2-secret
premium_greylisting = yes
CONF
out=$("$P" -n -c "$c/print.conf" redis_server premium_greylisting redis_password)
is "$out" "redis_server = 127.0.0.1:6379
premium_greylisting = yes
redis_password = ********" "-n NAME... prints those values in force, the password masked"
out=$("$M" -n -c "$c/print.conf")
unlike "$out" 'hunter2' "-n never prints the password"
like "$out" 'redis_password = \*{8}' "... but shows that one is set"
"$P" -n -c "$c/print.conf" no_such_parameter >/dev/null 2>&1
is "$?" 1 "-n with an unknown name exits 1"
is "$("$M" -d spamd_server milter_metrics_listen)" "spamd_server = 127.0.0.1:783
milter_metrics_listen =" "-d NAME... prints the built-in defaults"
out=$("$P" -d -c "$c/print.conf" | grep -c .)
cmp_ok "$out" '>=' 60 "-d alone prints every parameter ($out)"

# ------------------------------------------- what -t accepts, the daemons do

start_spamd || BAIL_OUT "no spamd"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
mport=$(rg_free_port)
cat >"$c/milter.conf" <<CONF
# the policyd spelling of a TCP socket, and spamd with inet:
milter_listen = inet:127.0.0.1:$mport
milter_pidfile = $RG_TMP/milter-run/milter.pid
milter_tmpdir = $RG_TMP
run_user = nobody
myhostname = relay.rgtest.invalid
spamd_server = inet:127.0.0.1:$SPAMD_PORT
spamd_timeout = 20s
domain_table = mdomains
premium_spam_scan = yes
premium_spam_reject = yes
CONF
cat >"$c/mdomains" <<TABLE
example.com   premium
TABLE
out=$("$M" -t -c "$c/milter.conf" 2>&1)
is "$?" 0 "-t accepts milter_listen = inet:127.0.0.1:PORT, spamd_server = inet:..., a pid dir it can make${out:+ ($out)}"
start_milter "$c/milter.conf" || BAIL_OUT "the milter does not start on inet:127.0.0.1:$mport"
pass "the milter listens on inet:127.0.0.1:$mport"
check "... and created its pid file's directory" test -s "$RG_TMP/milter-run/milter.pid"
start_postfix relay "smtpd_milters = inet:127.0.0.1:$mport" "milter_default_action = tempfail" \
	"milter_protocol = 6" || BAIL_OUT "no relay Postfix"
postfix_route relay example.com "[127.0.0.1]:$(rg_port sink)"
swaks_send relay --from sender@remote.test --to alice@example.com --xclient-addr 198.51.100.20 \
	--xclient-name mail.remote.test --header "Subject: gtube" --body "$RG_GTUBE"
like "$(swaks_reply_to .)" '^550 5\.7\.1 ' "GTUBE is refused: spamd_server = inet:127.0.0.1:PORT is used at run time"
unlike "$(cat "$(rg_log milter)")" 'resolve spamd host' "... and the milter never failed to read it"

# milter_listen = unix: in a directory that is not there yet.
cat >"$c/unix.conf" <<CONF
milter_listen = unix:$RG_TMP/msock/milter.sock
milter_pidfile =
milter_tmpdir = $RG_TMP
run_user = nobody
myhostname = relay.rgtest.invalid
CONF
out=$("$M" -t -c "$c/unix.conf" 2>&1)
is "$?" 0 "-t accepts a unix: milter socket whose directory the milter creates${out:+ ($out)}"
start_milter "$c/unix.conf" milter2 || fail "the milter does not start on unix:$RG_TMP/msock/milter.sock"
check "... it serves unix:$RG_TMP/msock/milter.sock" test -S "$RG_TMP/msock/milter.sock"

# policyd: a pid file in a missing run directory, an inet: listener.
pport=$(rg_free_port)
cat >"$c/policyd.conf" <<CONF
policyd_listen = inet:127.0.0.1:$pport
policyd_pidfile = $RG_TMP/policyd-run/policyd.pid
run_user = nobody
myhostname = relay.rgtest.invalid
CONF
out=$("$P" -t -c "$c/policyd.conf" 2>&1)
is "$?" 0 "policyd -t accepts a pid file whose run directory is missing${out:+ ($out)}"
start_policyd "$c/policyd.conf" || fail "policyd does not start with its run directory missing"
check "... it starts, creates the directory and writes its pid file" wait_until 10 test -s "$RG_TMP/policyd-run/policyd.pid"

done_testing
