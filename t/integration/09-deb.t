#!/bin/bash
# The Debian package: "dpkg-buildpackage -us -uc -b" builds relayguard_*.deb
# from a clean copy of the tree; it holds the daemons, the tools, the man
# pages, the systemd units (with /usr/sbin paths), a sysusers.d entry for
# user relayguard, and /etc/relayguard as conffiles; its version is
# debian/changelog's, and so is what the daemons print for -V; lintian
# reports no error.
. "$(dirname "$0")/../lib/harness.sh"

rg_need dpkg-buildpackage dpkg-deb dpkg-parsechangelog fakeroot dh
version=$(dpkg-parsechangelog -l "$RG_SRCDIR/debian/changelog" -S Version)
like "$version" '^[0-9][0-9A-Za-z.+~-]*$' "debian/changelog has a version ($version)"

# A clean copy: what git tracks plus the working tree's changes to it, or
# everything but the build dirs when there is no git.
src=$RG_TMP/src/relayguard-$version
mkdir -p "$src"
if git -C "$RG_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$RG_SRCDIR" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		xargs -0 cp --parents -t "$src")
else
	(cd "$RG_SRCDIR" && tar --exclude='./build*' --exclude=./.git -cf - .) | (cd "$src" && tar xf -)
fi
rm -rf "$src"/build "$src"/build-*
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$RG_TMP/build.log" 2>&1
ok $? "dpkg-buildpackage -us -uc -b succeeds" || tail -n 30 "$RG_TMP/build.log" | sed 's/^/# /' >&2
deb=$RG_TMP/src/relayguard_${version}_$(dpkg --print-architecture).deb
check "... and makes $(basename "$deb")" test -s "$deb"
[ -s "$deb" ] || BAIL_OUT "no package"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's#^\./#/#' >"$RG_TMP/contents"
for f in /usr/sbin/relayguard-policyd /usr/sbin/relayguard-milter /usr/sbin/relayguard-postmap \
	/usr/sbin/relayguard-dnsbl-monitor /usr/share/man/man5/relayguard.conf.5.gz \
	/usr/share/man/man8/relayguard-policyd.8.gz /usr/share/man/man8/relayguard-milter.8.gz \
	/usr/share/man/man8/relayguard-postmap.8.gz /usr/share/man/man8/relayguard-dnsbl-monitor.8.gz \
	/lib/systemd/system/relayguard-policyd.service /lib/systemd/system/relayguard-milter.service \
	/lib/systemd/system/relayguard-dnsbl-monitor.service /lib/systemd/system/relayguard-dnsbl-monitor.timer \
	/usr/sbin/relayguardctl /usr/share/man/man8/relayguardctl.8.gz \
	/usr/lib/sysusers.d/relayguard.conf /etc/relayguard/relayguard.conf /etc/relayguard/domains \
	/etc/relayguard/clients /usr/share/doc/relayguard/copyright; do
	check "the package holds $f" grep -qx -- "$f" "$RG_TMP/contents"
done
unlike "$(cat "$RG_TMP/contents")" '/usr/local' "... nothing under /usr/local"

x=$RG_TMP/x
dpkg-deb -x "$deb" "$x" && dpkg-deb -e "$deb" "$x/DEBIAN"
is "$(dpkg-deb -f "$deb" Version)" "$version" "the package's version is debian/changelog's"
is "$("$x/usr/sbin/relayguard-policyd" -V)" "relayguard-policyd $version" "relayguard-policyd -V prints it"
is "$("$x/usr/sbin/relayguard-milter" -V)" "relayguard-milter $version" "relayguard-milter -V prints it"
is "$("$x/usr/sbin/relayguardctl" -V)" "relayguardctl $version" "relayguardctl -V prints it"
is "$(grep -c '^/etc/relayguard/' "$x/DEBIAN/conffiles")" "$(grep -c '^/etc/relayguard/.' "$RG_TMP/contents")" \
	"every file under /etc/relayguard is a conffile"
like "$(grep -v '^#' "$x/usr/lib/sysusers.d/relayguard.conf")" '^u relayguard ' "sysusers.d creates the system user relayguard"
check "... and postinst runs systemd-sysusers" grep -q 'systemd-sysusers.*relayguard' "$x/DEBIAN/postinst"
is "$(sed -n 's/^ExecStart=//p' "$x/lib/systemd/system/relayguard-policyd.service")" \
	"/usr/sbin/relayguard-policyd -f -c /etc/relayguard/relayguard.conf" "the packaged policyd unit runs /usr/sbin/relayguard-policyd"
if command -v lintian >/dev/null 2>&1; then
	lintian "$RG_TMP/src/relayguard_${version}_$(dpkg --print-architecture).changes" >"$RG_TMP/lintian.out" 2>&1
	is "$(grep -c '^E:' "$RG_TMP/lintian.out")" 0 "lintian reports no error" || sed 's/^/# /' "$RG_TMP/lintian.out" >&2
	diag "lintian: $(grep -c '^W:' "$RG_TMP/lintian.out") warning(s)"
else
	skip 1 "lintian is not installed"
fi

done_testing
