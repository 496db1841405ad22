#!/bin/bash
# 05-docs.t - the manual pages say what the code does: every parameter of
# src/params.def is documented in relayguard.conf(5) with its default and
# scope, nothing documented there is missing from params.def, and groff and
# man render every page without a warning. Needs no daemon. TAP output.
set -u
cd "$(dirname "$0")/../.." || exit 1

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); fail=1
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
}

defs=src/params.def
page=man/relayguard.conf.5

# "name US default US scope" (US = \x1f, which no value contains; a tab would
# make read(1) merge an empty default with its neighbour) from params.def.
US=$'\x1f'
params=$(perl -ne '
	next unless /^RG_PARAM\(\s*(\w+)\s*,\s*\w+\s*,\s*"((?:[^"\\]|\\.)*)"\s*,[^,]*,[^,]*,\s*(GLOBAL|CLASS)\s*,/;
	print "$1\x1f$2\x1f", lc $3, "\n";
' "$defs")
# The same from the page: lines "\fBname\fR (default: \fBvalue\fR; scope: s)"
# or "(default: empty; ...)"; roff escapes undone, empty default = "".
documented=$(perl -ne '
	next unless /^\\fB(\w+)\\fR \(default: (.*); scope: (global|class)\)$/;
	my ($n, $d, $s) = ($1, $2, $3);
	if ($d eq "empty") { $d = "" }
	elsif ($d =~ /^\\fB(.*)\\fR$/) { $d = $1 }
	else { $d = "?unparsed:$d" }
	$d =~ s/\\-/-/g; $d =~ s/\\&//g; $d =~ s/\\e/\\/g;
	print "$n\x1f$d\x1f$s\n";
' "$page")

total=$(printf '%s\n' "$params" | grep -c .)
if [ "$total" -ge 50 ]; then
	ok "params.def parsed: $total parameters"
else
	notok "params.def parsed: only $total parameters"
fi

missing="" wrong=""
while IFS=$US read -r name def scope; do
	line=$(printf '%s\n' "$documented" | awk -F"$US" -v n="$name" '$1 == n' | head -1)
	if [ -z "$line" ]; then
		missing="$missing $name"
		continue
	fi
	ddef=$(printf '%s' "$line" | cut -d"$US" -f2)
	dscope=$(printf '%s' "$line" | cut -d"$US" -f3)
	if [ "$ddef" != "$def" ] || [ "$dscope" != "$scope" ]; then
		wrong="$wrong
$name: params.def says default \"$def\" scope $scope; the page says \"$ddef\" scope $dscope"
	fi
done <<<"$params"

if [ -z "$missing" ]; then
	ok "every parameter of params.def is documented in $page"
else
	notok "parameters missing from $page:$missing"
fi
if [ -z "$wrong" ]; then
	ok "documented defaults and scopes match params.def"
else
	notok "documented defaults or scopes differ" "${wrong#?}"
fi

stale=""
while IFS=$US read -r name _ _; do
	[ -z "$name" ] && continue
	printf '%s\n' "$params" | cut -d"$US" -f1 | grep -qx "$name" || stale="$stale $name"
done <<<"$documented"
if [ -z "$stale" ]; then
	ok "$page documents no parameter that params.def lacks"
else
	notok "documented but not in params.def:$stale"
fi

dups=$(printf '%s\n' "$documented" | cut -d"$US" -f1 | sort | uniq -d | tr '\n' ' ')
if [ -z "$dups" ]; then
	ok "each parameter is documented once"
else
	notok "documented more than once: $dups"
fi

for f in man/*.[1-8]; do
	out=$(groff -ww -man -z "$f" 2>&1)
	if [ -z "$out" ]; then
		ok "groff -ww: no warnings for $f"
	else
		notok "groff -ww warns about $f" "$out"
	fi
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
	if [ -z "$out" ]; then
		ok "man --warnings: no warnings for $f"
	else
		notok "man --warnings warns about $f" "$out"
	fi
done

echo "1..$n"
exit $fail
