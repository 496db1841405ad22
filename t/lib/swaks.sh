# swaks.sh - send one SMTP transaction with swaks and read its outcome
# (sourced by harness.sh).

# ------------------------------------------------------------------ swaks

# swaks_send NAME|PORT [SWAKS-ARGS...]: one SMTP transaction with swaks
# against 127.0.0.1.  Use --xclient-addr/--xclient-name to play a remote
# client.  Sets:
#   SWAKS_OUT    the transcript file
#   SWAKS_RC     swaks's exit status
#   SWAKS_CODE   the outcome: the last server reply code that was not the
#                answer to QUIT (e.g. 250 after DATA, 550 at RCPT, 554 at
#                connect); empty if the server never answered
#   SWAKS_REPLY  that reply's last line, e.g. "550 5.1.1 <x@y>: ..."
#   SWAKS_REPLIES file with one "COMMAND<tab>reply" line per server reply
# Returns 0 if the message was accepted (2xx after DATA), 1 otherwise.
swaks_send() {
	local port=$1 n
	shift
	case $port in *[!0-9]*) port=$(rg_port "$port") ;; esac
	n=1
	while [ -e "$RG_TMP/.rg/swaks.$n.out" ]; do n=$((n + 1)); done
	SWAKS_OUT=$RG_TMP/.rg/swaks.$n.out
	SWAKS_REPLIES=$RG_TMP/.rg/swaks.$n.replies
	swaks --server "127.0.0.1:$port" --timeout 30 --helo client.rgtest.invalid \
		"$@" </dev/null >"$SWAKS_OUT" 2>&1
	SWAKS_RC=$?
	# Pair each reply with the command it answers; body lines (" -> "
	# after DATA's 354) are not commands until the closing ".".
	awk '
		/^ (->|~>) / {
			line = substr($0, 5)
			if (indata) { if (line == ".") { cmd = "."; indata = 0 }; next }
			split(line, w, /[ :]/); cmd = toupper(w[1])
			next
		}
		/^(<-|<\*\*|<~|<~\*) / {
			r = $0; sub(/^[^ ]+ +/, "", r)
			if (r ~ /^[0-9][0-9][0-9]-/) next
			printf "%s\t%s\n", (cmd == "" ? "CONNECT" : cmd), r
			if (cmd == "DATA" && r ~ /^354/) indata = 1
		}' "$SWAKS_OUT" >"$SWAKS_REPLIES"
	SWAKS_REPLY=$(awk -F '\t' '$1 != "QUIT" { r = $2 } END { print r }' "$SWAKS_REPLIES")
	SWAKS_CODE=${SWAKS_REPLY:0:3}
	awk -F '\t' '$1 == "." && $2 ~ /^2/ { ok = 1 } END { exit !ok }' "$SWAKS_REPLIES"
}

# swaks_reply_to CMD: the last reply to CMD (MAIL, RCPT, DATA, ".") in the
# last swaks_send.
swaks_reply_to() {
	awk -F '\t' -v c="$1" '$1 == c { r = $2 } END { print r }' "$SWAKS_REPLIES"
}
