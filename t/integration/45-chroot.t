#!/bin/bash
# Debian's stock master.cf runs smtpd chrooted into the queue directory.
# relayguard's default sockets live inside it (/var/spool/postfix/relayguard)
# and the shipped main.cf snippets name them relative to it
# (unix:relayguard/...), so a chrooted smtpd reaches both daemons: here a
# private Postfix with chroot = y, the snippets' relayguard_policy and
# relayguard_milter values as shipped, the daemons' sockets at
# <queue>/relayguard/: greylisting answers (policy service), forged
# X-Spam-* headers are stripped (milter).
. "$(dirname "$0")/../lib/harness.sh"

rg_need postfix swaks smtp-sink redis-server
rg_need_build

src=$(cd "$(dirname "$0")/../.." && pwd)
pdef=$(sed -nE 's/^RG_PARAM\(policyd_listen, [A-Z]+, "([^"]*)".*/\1/p' "$src/src/params.def")
mdef=$(sed -nE 's/^RG_PARAM\(milter_listen, [A-Z]+, "([^"]*)".*/\1/p' "$src/src/params.def")
like "$pdef" '^unix:/var/spool/postfix/relayguard/[^/]+$' "policyd_listen's default is inside Postfix's queue directory"
like "$mdef" '^unix:/var/spool/postfix/relayguard/[^/]+$' "milter_listen's default is inside Postfix's queue directory"
policy=$(sed -nE 's/^relayguard_policy = //p' "$src/postfix-conf/main.cf.common")
milter=$(sed -nE 's/^relayguard_milter = //p' "$src/postfix-conf/main.cf.common")
like "$policy" "unix:${pdef#unix:/var/spool/postfix/}[ ,]" "the snippet names the policy socket relative to the queue directory"
is "$milter" "unix:${mdef#unix:/var/spool/postfix/}" "... and the milter socket too"

start_redis || BAIL_OUT "no redis"
start_smtp_sink sink || BAIL_OUT "no smtp-sink"
start_postfix relay "relayguard_policy = $policy" \
	"smtpd_relay_restrictions = \$relayguard_policy, reject_unauth_destination" \
	"smtpd_milters = $milter" "milter_default_action = tempfail" "milter_protocol = 6" ||
	BAIL_OUT "no relay Postfix"
postfix_chroot relay || BAIL_OUT "cannot set chroot = y"
postfix_reload relay
queue=$(rg_dir relay)/queue
is "$(postconf -c "$(rg_dir relay)/conf" -F "127.0.0.1:$(rg_port relay)/inet/chroot")" \
	"127.0.0.1:$(rg_port relay)/inet/chroot = y" "the relay's smtpd runs with chroot = y"
postfix_route relay example.com "[127.0.0.1]:$(rg_port sink)"
postfix_route relay std.test "[127.0.0.1]:$(rg_port sink)"

# The sockets where the defaults put them, relative to this instance's queue.
mkdir -p "$queue/relayguard"
chown nobody "$queue/relayguard"
chmod 755 "$RG_TMP" "$(rg_dir relay)"
conf=$RG_TMP/rg
mkdir -p "$conf"
cat >"$conf/relayguard.conf" <<CONF
policyd_listen = unix:$queue/${pdef#unix:/var/spool/postfix/}
policyd_socket_mode = 0666
policyd_pidfile = $conf/policyd.pid
milter_listen = unix:$queue/${mdef#unix:/var/spool/postfix/}
milter_socket_mode = 0666
milter_pidfile = $conf/milter.pid
run_user = nobody
redis_server = 127.0.0.1:$REDIS_PORT
domain_table = domains
premium_greylisting = yes
premium_dynamic_ip_blocking = no
standard_dynamic_ip_blocking = no
CONF
printf 'example.com premium\nstd.test standard\n' >"$conf/domains"
chown nobody "$conf"
start_policyd "$conf/relayguard.conf" || BAIL_OUT "policyd does not start"
start_milter "$conf/relayguard.conf" || BAIL_OUT "milter does not start"

swaks_send relay --from a@remote.test --to bob@example.com --xclient-addr 198.51.100.40 \
	--xclient-name mx.remote.test
like "$(swaks_reply_to RCPT)" '^450 4\.7\.1 .*Greylisted' "a chrooted smtpd asks relayguard-policyd (greylisted)"
smtpd=$(pgrep -P "$(rg_pid relay)" -x smtpd | head -n 1)
if [ -n "$smtpd" ]; then
	is "$(readlink "/proc/$smtpd/root")" "$(readlink -f "$queue")" "... and that smtpd really is in the jail"
else
	fail "... and that smtpd really is in the jail (no smtpd process found)"
fi
swaks_send relay --from a@remote.test --to carol@std.test --xclient-addr 198.51.100.40 \
	--xclient-name mx.remote.test --header "Subject: chroot" --header "X-Spam-Flag: NO" \
	--header "X-Spam-Status: No, score=-9.0"
is "$SWAKS_CODE" 250 "a chrooted smtpd hands the message to relayguard-milter"
check "... delivered" sink_wait sink 1 30
is "$(grep -ci '^X-Spam-' "$(sink_last sink)")" 0 "... and the milter stripped the forged X-Spam-* headers"
unlike "$(cat "$(postfix_log relay)")" 'milter.*(No such file|Connection refused)|connect to .*relayguard.*: No such' \
	"Postfix never failed to reach a relayguard socket"

done_testing
