#!/bin/sh
# The facts fuzz target's findings, replayed through the commands.  Each
# file of tests/fuzz/regress is an input of tests/fuzz/fuzz-facts.c: a facts
# document, optionally a NUL byte and the previous run (another facts
# document, or a state as latest.json holds it).  facts, audit and report
# in every format must run cleanly on each (an audit's exit status, nothing
# on standard error: sanitizer reports land there), and the checks at the
# end pin the values that were once wrong.
. "$TESTLIB"

command -v python3 >/dev/null 2>&1 || skip "needs python3 (to split the inputs)"
R=$TOP_SRCDIR/tests/fuzz/regress

# split FILE: $T/cur.json and $T/prev (empty without a previous run);
# prints "state" when the previous run is a state document
split_input() {
	python3 -c 'import json, sys
d = open(sys.argv[1], "rb").read().split(b"\0", 1)
open(sys.argv[2], "wb").write(d[0])
open(sys.argv[3], "wb").write(d[1] if len(d) > 1 else b"")
try:
    print("state" if "state_version" in json.loads(d[1]) else "facts")
except Exception:
    print("none")' "$1" "$T/cur.json" "$T/prev"
}

# clean DESC WANT-EXITS command...: the exit status is one of WANT-EXITS
# ("0 1 2"), and standard error is empty but for a previous state moved aside
clean() {
	d=$1 want=$2; shift 2
	set +e; "$@" >"$T/out" 2>"$T/err"; rc=$?; set -e
	case " $want " in
	*" $rc "*) pass "$d (exit $rc)" ;;
	*) fail "$d: exit $rc, expected one of $want; stderr: $(head -c 400 "$T/err")" ;;
	esac
	check_eq "$d: nothing unexpected on stderr" "" \
		"$(grep -Ev '^netknobs: warning: .*/latest\.json: .*(moved to|could not move)' "$T/err" |
		   grep -Ev "^netknobs: error: could not read the core facts, so nothing can be judged: .*the document has no" || true)"
}

# judged WANT: the exit statuses of a judgement of cur.json: WANT, but 3
# alone for a document without the core facts (the queues' sysctls, the TCP
# counters), which the commands still judge, then call UNKNOWN
judged() {
	if jq -e '(.sysctl | has("net.core.somaxconn") and has("net.ipv4.tcp_max_syn_backlog")
		    and has("net.ipv4.tcp_syncookies")) and (.counters // {} | has("TcpExt") and has("Tcp"))' \
		"$T/cur.json" >/dev/null 2>&1 || ! jq -e . "$T/cur.json" >/dev/null 2>&1; then
		echo "$1"
	else
		echo 3
	fi
}

# report_after NAME KIND ARGS...: a report on cur.json after the previous run
report_after() {
	S=$T/state-$1
	_kind=$2
	shift 2
	rm -rf "$S" && mkdir -p "$S"
	case $_kind in
	state) cp "$T/prev" "$S/latest.json" ;;
	facts) "$NETKNOBS" report --state-dir "$S" --from "$T/prev" >/dev/null 2>"$T/err.prev" || true ;;
	esac
	"$NETKNOBS" report --state-dir "$S" --from "$T/cur.json" "$@"
}

count=0
for f in "$R"/*; do
	[ -f "$f" ] || continue
	count=$((count + 1))
	name=${f##*/}
	kind=$(split_input "$f")
	clean "$name: facts" "0" "$NETKNOBS" facts --from "$T/cur.json"
	clean "$name: listeners" "0" "$NETKNOBS" listeners --from "$T/cur.json"
	clean "$name: listeners -v, colours" "0" "$NETKNOBS" listeners -v --color always --from "$T/cur.json"
	clean "$name: listeners --json" "0" "$NETKNOBS" listeners --json --from "$T/cur.json"
	for fmt in text json prom nagios; do
		clean "$name: audit --format $fmt" "$(judged "0 1 2")" "$NETKNOBS" audit --from "$T/cur.json" --format "$fmt"
		clean "$name: report --format $fmt" "$(judged "0 1 2")" report_after "$name" "$kind" --format "$fmt" --always
	done
	clean "$name: audit, every rule set" "$(judged "0 1 2")" "$NETKNOBS" audit --from "$T/cur.json" -v \
		--only backlog --only limits --only persist --only hardening
done
if [ "$count" -gt 0 ]; then pass "$count inputs replayed"; else fail "no input in $R"; fi

# ---------------------------------------------------------------- the findings
# The Nagios perfdata's listener_drops summed two drops near 2^63 into a
# signed overflow; the sum stops at 2^63-1.
split_input "$R/nagios-drops-sum" >/dev/null
clean "drops near 2^63: nagios" "$(judged 1)" "$NETKNOBS" audit --from "$T/cur.json" --format nagios
check_match "drops near 2^63: the sum stops at 2^63-1" ' listener_drops=9223372036854775807c;;;0$' \
	"$(head -n 1 "$T/out")"

# report took the increase of a counter from -1 to 2^63-1: a signed
# overflow.  A negative counter is no kernel counter: not kept in the state,
# so not compared.
split_input "$R/report-counter-from-negative" >/dev/null
clean "counter from -1 to 2^63-1" "1" report_after neg facts --format json
check_eq "counter from -1: no increase computed" "0" \
	"$(jq '[.counters[] | select(.name == "TcpExt.ListenOverflows")] | length' "$T/out")"
check_eq "counter from -1: the other counters compared" "TcpExt.ListenDrops" \
	"$(jq -r '.counters[] | select(.name == "TcpExt.ListenDrops") | .name' "$T/out")"
check_eq "counter from -1: no baseline reset" "false" "$(jq '.baseline.reset' "$T/out")"
check_eq "the largest counter kept in the new state" "9223372036854775807" \
	"$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counters"]["TcpExt.ListenOverflows"])' \
		"$T/state-neg/latest.json")"
"$NETKNOBS" report --state-dir "$T/state-neg2" --from "$T/prev" >/dev/null 2>&1 || true
check_eq "a negative counter is not kept in the state" "null" \
	"$(jq '.counters["TcpExt.ListenOverflows"]' "$T/state-neg2/latest.json")"

# the same with a previous state holding -2^63: that state is refused (moved
# aside, a new baseline), not compared
split_input "$R/report-state-negative-counter" >/dev/null
clean "state with -2^63" "1" report_after negstate state --format json
check_match "state with -2^63: refused, said why" \
	'latest\.json: counter TcpExt\.ListenOverflows is not a non-negative integer; moved to' "$(cat "$T/err")"
check_eq "state with -2^63: a new baseline" "true" "$(jq '.baseline.reset' "$T/out")"
check_eq "state with -2^63: no counter compared" "0" "$(jq '.counters | length' "$T/out")"

# listeners multiplied a queue of 10^16 and a peak fill of 10^18 by 1000
# and 10: signed overflows.  The fill and a group's summed drops stop at
# 2^63-1.
split_input "$R/listeners-huge-values" >/dev/null
clean "listeners, values near 2^63" "0" "$NETKNOBS" listeners --from "$T/cur.json"
check_match "values near 2^63: the fill stops at 2^63-1" \
	'^0\.0\.0\.0:22 +10000000000000000/1 +10000000000000000 +922337203685477580% ' "$(cat "$T/out")"
check_match "values near 2^63: a group's drops stop at 2^63-1" \
	'^0\.0\.0\.0:80 \(2 sockets\) .* 9223372036854775807 +nginx' "$(cat "$T/out")"
clean "listeners --json, values near 2^63" "0" "$NETKNOBS" listeners --json --from "$T/cur.json"
check_eq "values near 2^63: fill_percent" "922337203685477580" \
	"$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["listeners"][0]["fill_percent"])' "$T/out")"

# a fallback_reason with terminal escapes, from a document: escaped
split_input "$R/listeners-hostile-fallback" >/dev/null
clean "listeners, hostile fallback_reason" "0" "$NETKNOBS" listeners --from "$T/cur.json"
check_eq "fallback_reason: no escape or bell byte reaches the terminal" "0" \
	"$(tr -cd '\033\007' <"$T/out" | wc -c | tr -d ' ')"
check_match "fallback_reason: shown escaped" '^note: socket details from /proc/net/tcp \(netlink refused\\x1b\]0;owned\\x07' \
	"$(cat "$T/out")"

finish
