#!/bin/bash
# make install puts the daemons, tools, man pages, units and the example
# configuration under PREFIX/DESTDIR; the installed daemons accept the
# installed configuration (-t), and a second install keeps an edited file.
. "$(dirname "$0")/../lib/harness.sh"

rg_need make
dest=$RG_TMP/root
make -s -C "$RG_SRCDIR" install DESTDIR="$dest" PREFIX=/usr B="$(basename "$RG_BUILD")" >/dev/null 2>&1
is $? 0 "make install DESTDIR=... PREFIX=/usr succeeds"
for f in usr/sbin/relayguard-policyd usr/sbin/relayguard-milter usr/sbin/relayguard-postmap \
	usr/sbin/dnsbl-monitor usr/share/man/man5/relayguard.conf.5 usr/share/man/man8/relayguard-policyd.8 \
	usr/share/man/man8/relayguard-milter.8 usr/lib/systemd/system/relayguard-policyd.service \
	usr/sbin/relayguardctl usr/share/man/man8/relayguardctl.8 \
	etc/relayguard/relayguard.conf etc/relayguard/domains etc/relayguard/clients \
	etc/relayguard/dynamic_ip_patterns etc/relayguard/greylist_whitelist_clients; do
	check "installed: /$f" test -s "$dest/$f"
done
check "the installed policyd accepts the installed configuration" \
	"$dest/usr/sbin/relayguard-policyd" -t -c "$dest/etc/relayguard/relayguard.conf"
check "... and so does the milter" \
	"$dest/usr/sbin/relayguard-milter" -t -c "$dest/etc/relayguard/relayguard.conf"
check "the installed relayguardctl runs" "$dest/usr/sbin/relayguardctl" --help
echo "# edited by the admin" >>"$dest/etc/relayguard/domains"
make -s -C "$RG_SRCDIR" install DESTDIR="$dest" PREFIX=/usr B="$(basename "$RG_BUILD")" >/dev/null 2>&1
check "a second install keeps the admin's edits" grep -q 'edited by the admin' "$dest/etc/relayguard/domains"

done_testing
