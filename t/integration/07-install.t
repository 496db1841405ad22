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
	usr/sbin/relayguard-dnsbl-monitor usr/sbin/relayguard-import usr/sbin/relayguard-import-postgrey \
	usr/sbin/relayguard-compare-postgrey usr/share/man/man8/relayguard-compare-postgrey.8 \
	usr/share/man/man8/relayguard-import-postgrey.8 usr/share/man/man8/relayguard-dnsbl-monitor.8 usr/share/man/man5/relayguard.conf.5 usr/share/man/man8/relayguard-policyd.8 \
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

# --- systemd units: generated with the install paths --------------------------
# units_ok DEST SBINDIR SYSCONFDIR UNITDIR LABEL
units_ok() {
	local dest=$1 sbin=$2 etc=$3 udir=$1$4 label=$5 d u
	for d in policyd milter; do
		u=$udir/relayguard-$d.service
		check "$label: relayguard-$d.service installed" test -s "$u"
		is "$(sed -n 's/^ExecStart=//p' "$u")" "$sbin/relayguard-$d -f -c $etc/relayguard/relayguard.conf" \
			"$label: ... ExecStart runs $sbin/relayguard-$d with $etc/relayguard"
		is "$(sed -n 's/^ExecReload=//p' "$u" | tr '\n' '|')" \
			"$sbin/relayguard-$d -t -c $etc/relayguard/relayguard.conf|/bin/kill -$([ $d = policyd ] && echo HUP || echo USR1) \$MAINPID|" \
			"$label: ... ExecReload checks the configuration (-t) before it signals"
		like "$(sed -n 's/^Before=//p' "$u")" '(^| )postfix@-\.service( |$)' "$label: ... ordered before postfix@-.service"
		like "$(sed -n 's/^Before=//p' "$u")" '(^| )postfix\.service( |$)' "$label: ... and postfix.service"
	done
	unlike "$(cat "$udir"/*.service)" '/usr/local|@[A-Z]+@' "$label: no /usr/local or @VAR@ left in any unit"
	is "$(sed -n 's/^ExecStart=//p' "$udir/relayguard-dnsbl-monitor.service")" \
		"$sbin/relayguard-dnsbl-monitor -c $etc/relayguard/dnsbl-monitor.conf" "$label: the dnsbl monitor unit too"
	if command -v systemd-analyze >/dev/null 2>&1; then
		# verify wants the programs at their paths: point them into DEST.
		rm -rf "$RG_TMP/verify" && mkdir "$RG_TMP/verify"
		for u in "$udir"/*.service "$udir"/*.timer; do
			sed "s#$sbin/#$dest$sbin/#g" "$u" >"$RG_TMP/verify/$(basename "$u")"
		done
		is "$(systemd-analyze verify --man=no "$RG_TMP"/verify/* 2>&1)" "" "$label: systemd-analyze verify accepts the units"
	else
		skip 1 "systemd-analyze is not installed"
	fi
}
units_ok "$dest" /usr/sbin /etc /usr/lib/systemd/system "PREFIX=/usr"

opt=$RG_TMP/opt
make -s -C "$RG_SRCDIR" install DESTDIR="$opt" PREFIX=/opt/rg SYSCONFDIR=/opt/rg/etc B="$(basename "$RG_BUILD")" >/dev/null 2>&1
is $? 0 "make install PREFIX=/opt/rg SYSCONFDIR=/opt/rg/etc succeeds"
units_ok "$opt" /opt/rg/sbin /opt/rg/etc /opt/rg/lib/systemd/system "PREFIX=/opt/rg"

done_testing
