# reconcile.awk - account for every message of `make soak` (run by t/soak/run).
#
# Inputs, each file preceded by src=NAME on the command line:
#   src=att  the attempts soak-smtp wrote (tab separated: TOKEN KIND RCPT
#            ATTEMPT FINAL STAGE CODE MAXWAIT_MS START REPLY)
#   src=dlv  "TOKEN MARK" per message file in the customer's Maildirs; MARK
#            is scanned, unscanned or none (neither header of the milter)
#   src=que  "QUEUE TOKEN" per message still queued (relay or cust)
#   src=rej  "TOKEN DIGIT" per reject line in the relay's maillog
#   src=fnd  "TOKEN FINDING" per positive finding the milter logged
#            (callout-invalid, spam-reject)
# Writes one "TOKEN CLASS DETAIL" line per message to the file `classes`
# (-v classes=PATH) and the totals to stdout as "name=value" lines.
#
# Every message started is in exactly one class: delivered (in a Maildir),
# queued (in a queue after the final flush), refused (its final attempt got
# a 4xx, or a 5xx with a positive finding), wrong5xx (a 5xx without one:
# not counted as refused), lost (anything else: taken with 2xx but nowhere,
# or no reply at all).  A 5xx is positive only where it is expected: 550
# 5.1.1 at RCPT for a recipient of the unknown kind (n.*) that the
# milter's callout found invalid, 550 5.7.1 at the end of DATA for a GTUBE
# message the milter rejected as spam.
BEGIN {
	FS = "\t"
}
src == "att" {
	tok = $1
	if (!(tok in kind)) {
		order[++n] = tok
	}
	kind[tok] = $2
	rcpt[tok] = $3
	if ($5 == 1) {
		final[tok] = 1
		stage[tok] = $6
		code[tok] = $7
		reply[tok] = $10
		start[tok] = $9
	} else if ($7 ~ /^4/) {
		retried4xx++
	}
	if ($8 + 0 > maxwait) {
		maxwait = $8 + 0
		maxwhere = $1 " " $6 " at " $9
	}
	attempts++
	next
}
src == "dlv" {
	split($0, f, " ")
	ndlv[f[1]]++
	mark[f[1]] = mark[f[1]] " " f[2]
	next
}
src == "que" {
	split($0, f, " ")
	inq[f[2]] = f[1]
	next
}
src == "rej" {
	split($0, f, " ")
	logged[f[1], f[2]] = 1
	next
}
src == "fnd" {
	split($0, f, " ")
	found[f[1], f[2]] = 1
	next
}
END {
	for (i = 1; i <= n; i++) {
		t = order[i]
		c = code[t]
		d = c ~ /^[45]/ ? substr(c, 1, 1) : ""
		what = ""
		if (!(t in final)) {
			cls = "lost"
			what = "no final attempt"
		} else if (ndlv[t] > 0) {
			cls = "delivered"
			if (ndlv[t] > 1)
				dups += ndlv[t] - 1
			if (mark[t] ~ / none/)
				unmarked++
			else if (mark[t] ~ / unscanned/)
				unscanned++
			else if (kind[t] == "gtube")
				spam_passed++
			if (mark[t] ~ / none/ || (kind[t] == "gtube" && mark[t] ~ / scanned/))
				what = "marks:" mark[t]
			if (d != "") {
				refused_but_taken++
				what = what " the client saw " c " " stage[t]
			}
		} else if (t in inq) {
			cls = "queued"
			what = inq[t]
			if (d != "") {
				refused_but_taken++
				what = what " (the client saw " c " " stage[t] ")"
			}
		} else if (d == "4") {
			cls = "refused"
			temp++
			if (!logged[t, "4"])
				unlogged4++
			what = stage[t] " " reply[t]
		} else if (d == "5") {
			pos = ""
			if (stage[t] == "RCPT" && reply[t] ~ /^550 5\.1\.1 / && rcpt[t] ~ /^n\./ &&
			    found[t, "callout-invalid"])
				pos = "unknown-user"
			else if (stage[t] == "DOT" && reply[t] ~ /^550 5\.7\.1 / && kind[t] == "gtube" &&
				 found[t, "spam-reject"])
				pos = "spam"
			if (pos != "" && logged[t, "5"]) {
				cls = "refused"
				perm[pos]++
				what = pos
			} else {
				cls = "wrong5xx"
				what = stage[t] " " reply[t] (logged[t, "5"] ? "" : " (not in the relay's log)")
			}
		} else {
			cls = "lost"
			what = "final " stage[t] " " c " " reply[t]
		}
		total[cls]++
		printf "%s %s %s %s %s %s\n", t, cls, kind[t], rcpt[t], start[t], what >classes
	}
	printf "sent=%d\n", n
	printf "delivered=%d\nqueued=%d\n", total["delivered"], total["queued"]
	printf "refused=%d\nlost=%d\nwrong5xx=%d\n", total["refused"], total["lost"], total["wrong5xx"]
	printf "refused_temp=%d\nrefused_unknown_user=%d\nrefused_spam=%d\n", temp, perm["unknown-user"],
	    perm["spam"]
	printf "unlogged4xx=%d\nretried4xx=%d\nduplicates=%d\nrefused_but_taken=%d\n", unlogged4, retried4xx,
	    dups, refused_but_taken
	printf "unmarked=%d\nunscanned=%d\nspam_passed=%d\n", unmarked, unscanned, spam_passed
	printf "attempts=%d\nmaxwait_ms=%d\nmaxwait_where=%s\n", attempts, maxwait, maxwhere
}
