#!/bin/bash
# README.md's main.cf block and postfix-conf/ say the same thing: the
# snippets are the one truth, the README shows their relayguard part.
#   - every parameter the README block sets is set to the same value
#     (white space aside) in postfix-conf/main.cf.common, or in a role
#     snippet when common does not set it;
#   - every parameter of main.cf.common that queries the policy server
#     ($relayguard_policy, check_policy_service) or names a milter
#     (smtpd_milters, $relayguard_milter, milter_*) is in the README block,
#     so the README can neither add a restriction list the snippets do not
#     query from nor leave one out.
# Socket paths and attributes are compared as the snippets have them, never
# hard-coded here.
. "$(dirname "$0")/../lib/harness.sh"

readme=$RG_SRCDIR/README.md
pc=$RG_SRCDIR/postfix-conf

# params FILE...: "name<TAB>value" per main.cf parameter (continuation lines
# joined, comments dropped, runs of white space made one space).
params() {
	awk '
	function flush() { if (name != "") { gsub(/[ \t]+/, " ", val); sub(/^ /, "", val); sub(/ $/, "", val); print name "\t" val }; name = "" }
	/^[ \t]*#/ || /^[ \t]*$/ { next }
	/^[ \t]/ { if (name != "") val = val " " $0; next }
	/^[A-Za-z0-9_]+[ \t]*=/ { flush(); name = $0; sub(/[ \t]*=.*/, "", name); val = $0; sub(/^[^=]*=/, "", val); next }
	END { flush() }' "$@"
}

# The fenced block of the "How it plugs into Postfix" section.
block=$RG_TMP/readme.cf
awk '/^## How it plugs into Postfix/ { s = 1; next } /^## / { s = 0 }
	s && /^```/ { if (f) exit; f = 1; next } s && f' "$readme" >"$block"
check "README.md has a main.cf block under 'How it plugs into Postfix'" test -s "$block"
params "$block" >"$RG_TMP/readme.p"
params "$pc/main.cf.common" >"$RG_TMP/common.p"
params "$pc"/main.cf.inbound-primary "$pc"/main.cf.inbound-fallback "$pc"/main.cf.outbound >"$RG_TMP/roles.p"
cmp_ok "$(wc -l <"$RG_TMP/readme.p")" '>=' 5 "... setting parameters ($(wc -l <"$RG_TMP/readme.p"))"

while IFS=$'\t' read -r name val; do
	want=$(awk -F'\t' -v n="$name" '$1 == n { v = $2 } END { print v }' "$RG_TMP/common.p")
	where=main.cf.common
	if [ -z "$want" ]; then
		want=$(awk -F'\t' -v n="$name" '$1 == n { v = $2 } END { print v }' "$RG_TMP/roles.p")
		where="a role snippet"
	fi
	if [ -z "$want" ]; then
		fail "README sets $name, which no postfix-conf snippet sets"
	else
		is "$val" "$want" "README's $name is $where's"
	fi
done <"$RG_TMP/readme.p"

while IFS=$'\t' read -r name val; do
	case "$name $val" in
	*relayguard_policy* | *check_policy_service* | smtpd_milters* | *relayguard_milter* | milter_default_action* | milter_protocol*)
		[ "$name" = relayguard_milter ] || [ "$name" = relayguard_policy ] || [[ $name == *_milters ]] ||
			[[ $name == *_restrictions ]] || [[ $name == milter_default_action ]] || [[ $name == milter_protocol ]] ||
			continue
		check "main.cf.common's $name is in README's block" grep -q "^$name"$'\t' "$RG_TMP/readme.p"
		;;
	esac
done <"$RG_TMP/common.p"

# The policy lists the README queries are exactly those of the snippets.
lists() { awk -F'\t' '$2 ~ /relayguard_policy|check_policy_service/ && $1 ~ /_restrictions$/ { print $1 }' "$@" | sort -u; }
is "$(lists "$RG_TMP/readme.p" | tr '\n' ' ')" "$(lists "$RG_TMP/common.p" | tr '\n' ' ')" \
	"the restriction lists that query the policy are the same in README and main.cf.common"
unlike "$(cat "$block")" 'default_action=DUNNO' "README does not show default_action=DUNNO (the snippets defer)"

done_testing
