#!/bin/sh
# Sampling windows (--sample) on the real kernel, in private network
# namespaces:
#   1. a listener with a small backlog that never accepts overflows only
#      during the window, next to an idle listener: the overflowing one is
#      named as the culprit, its peak queue is limit + 1 as the kernel shows
#      it, it dropped packets in the window, the idle one is not named, and
#      the ListenOverflows delta and rate match nstat's; a listener that
#      opens and overflows mid-window and is gone at its end is reported
#   2. SIGINT and SIGTERM end the window early with a valid report; a second
#      signal ends the program without a report; one after the window,
#      during the last reading, lets the report come
#   3. the progress bar: on a terminal only
# and, with SYN cookies off and a client that never completes a handshake,
# the peak SYN queue of a listener flooded during the window.
# Only loopback addresses and 10.213.1.0/30, inside the namespaces of this
# test, are used.
. "$TESTLIB"
need_root
for h in listen-hold connect-burst; do
	[ -x "$HELPERS/$h" ] || skip "helper $h not built (make check builds it)"
done
command -v nstat >/dev/null 2>&1 || skip "needs nstat (iproute2)"
command -v script >/dev/null 2>&1 || skip "needs script (util-linux)"
NSTAT_HISTORY="$T/nstat.history"
export NSTAT_HISTORY

# burst NS ADDR PORT N: N connects, closed after 300 ms
burst() { ip netns exec "$1" "$HELPERS/connect-burst" -x -w 300 "$2" "$3" "$4" >/dev/null; }

# overflows NS: TcpExtListenOverflows as nstat reads it in NS
overflows() { ip netns exec "$1" nstat -az TcpExtListenOverflows | awk '$1 == "TcpExtListenOverflows" { print $2 }'; }

# window OUT ARGS...: run netknobs ARGS in the background on a terminal
# (script(1)), its standard output in OUT, and return once the window has
# started, which its progress bar tells; its pid (script's, which exits with
# netknobs' status) in NKW
window() {
	_o=$1
	shift
	rm -f "$_o.tty"
	script -qfec "$* >$_o" "$_o.tty" >/dev/null 2>&1 </dev/null &
	NKW=$!
	_i=0
	until grep -q 'sampling \[' "$_o.tty" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 600 ] || ! kill -0 "$NKW" 2>/dev/null; then
			fail "window did not start: $(tr -d '\r' <"$_o.tty" 2>/dev/null | head -c 300)"
			return 1
		fi
		sleep 0.05
	done
}

# wait_caught PID: until the process catches SIGINT and SIGTERM (SigCgt in
# /proc/PID/status), which netknobs does from the start of a window
wait_caught() {
	_i=0
	while :; do
		_m=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null || true)
		if [ -n "$_m" ] && [ $((0x$_m & 0x4002)) -eq $((0x4002)) ]; then
			return 0
		fi
		_i=$((_i + 1))
		if [ "$_i" -gt 600 ] || ! kill -0 "$1" 2>/dev/null; then
			fail "the window of process $1 did not start"
			return 1
		fi
		sleep 0.02
	done
}

# readings OUT: the count of listener readings the progress bar of window()
# shows last
readings() {
	tr '\r' '\n' <"$1.tty" | sed -n 's/.*, \([0-9][0-9]*\) readings,.*/\1/p' | tail -n 1
}

# wait_readings OUT N: until the progress bar shows N readings or more
wait_readings() {
	_i=0
	while [ "$(readings "$1")" -lt "$2" ] 2>/dev/null || [ -z "$(readings "$1")" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 500 ] || ! kill -0 "$NKW" 2>/dev/null; then
			fail "no reading $2 in the window"
			return 1
		fi
		sleep 0.02
	done
}

now_ms() { date +%s%3N; }
# ms since the epoch of an RFC 3339 time with milliseconds
epoch_ms() { date -u -d "$1" +%s%3N; }

status() {
	jq -r --arg r "$2" --arg s "$3" '[.results[] | select(.rule == $r) | .items[]?
		| select(.subject == $s) | .status][0] // "missing"' "$1"
}
msg() { jq -r --arg r "$2" --arg s "$3" '[.findings[] | select(.rule == $r and .subject == $s)][0].message' "$1"; }
peak() { jq -r --argjson p "$2" ".sockets.listeners[] | select(.port == \$p) | .peak.$3" "$1"; }

# ---------------------------------------------------------------- 1
make_ns ns1 window
# an overflow answered with a reset: no SYN-ACK retransmitted after the
# burst, so every overflow falls inside the window
ip netns exec "$ns1" sysctl -qw net.ipv4.tcp_abort_on_overflow=1
spawn "$T/la" "$ns1" "$HELPERS/listen-hold" -a 127.0.0.1 0 4
pa=$(wait_port "$T/la") || fail "1: full listener started"
spawn "$T/lb" "$ns1" "$HELPERS/listen-hold" -n idle-app -a 127.0.0.1 0 128
pb=$(wait_port "$T/lb") || fail "1: idle listener started"
sa="127.0.0.1:$pa" sb="127.0.0.1:$pb"

"$NETKNOBS" --netns "$ns1" listeners --json >"$T/before.json"
check_eq "1: queue empty before the window" 0 \
	"$(jq --argjson p "$pa" '.listeners[] | select(.port == $p) | .queue' "$T/before.json")"
o0=$(overflows "$ns1")
window "$T/a1" "$NETKNOBS" --netns "$ns1" audit --sample 4s --format json --verbose
burst "$ns1" 127.0.0.1 "$pa" 30
set +e
wait "$NKW"
rc=$?
set -e
o1=$(overflows "$ns1")
check_eq "1: audit exit 2 (critical)" 2 "$rc"
check_eq "1: on the terminal only the progress bar" "" \
	"$(tr '\r' '\n' <"$T/a1.tty" | sed -e 's/\x1b\[K//g' | grep -v -e '^sampling \[' -e '^Script ' -e '^$' | head -c 300)"

# a later window: the queue is still full, nothing more is dropped
set +e
"$NETKNOBS" --netns "$ns1" facts --sample 300ms --interval 50ms --json >"$T/f1" 2>"$T/f1.err"
rcf=$?
set -e
check_eq "1: facts --sample exit 0" 0 "$rcf"
check_eq "1: a short window: 300 ms, 50 ms apart, SYN_RECV every 100 ms" "300 50 100 false" \
	"$(jq -r '[.sample.requested_ms, .sample.interval_ms, .sample.syn_recv_interval_ms, .sample.cut_short]
		| map(tostring) | join(" ")' "$T/f1")"
check_eq "1: SYN_RECV counted every other reading" true \
	"$(jq '.sample | .syn_recv_ticks == ((.ticks + 1) / 2 | floor)' "$T/f1")"
# 0, 50 ... 300 ms: 7 readings, unless one was late (a busy machine)
check_eq "1: readings at 0, 50 ... 300 ms" true \
	"$(jq '.sample | if .late then .ticks >= 2 and .ticks + .late <= 7 and .ticks + .late >= 6 else .ticks == 7 end' "$T/f1")"
check_eq "1: the full queue stays full: peak = queue = 5" "5 5" \
	"$(jq -r --argjson p "$pa" '.sockets.listeners[] | select(.port == $p) | "\(.peak.queue) \(.queue)"' "$T/f1")"
check_eq "1: no new drops after the burst: none in a later window" "0 false" \
	"$(jq -r --argjson p "$pa" '.sockets.listeners[] | select(.port == $p) | "\(.peak.drops) \(.peak.overflowed)"' "$T/f1")"

# softnet_stat over the window: the per-CPU differences summed; the
# loopback packets of 50 refused connects (a SYN and a reset each) are
# among them
set +e
"$NETKNOBS" --netns "$ns1" facts --sample 1500ms --interval 100ms --json >"$T/f2" 2>"$T/f2.err" &
p=$!
set -e
wait_caught "$p" || true
ip netns exec "$ns1" "$HELPERS/connect-burst" -x -w 300 127.0.0.1 9 50 >/dev/null || true
set +e
wait "$p"
set -e
check_eq "1: softnet: the window counts the packets it processed" true \
	"$(jq '.sample.deltas.softnet.processed >= 100' "$T/f2")"
check_eq "1: softnet: its rate is the delta over the window" true \
	"$(jq '.sample | ((.rates.softnet.processed - .deltas.softnet.processed * 1000 / .duration_ms) | fabs) < 0.001' "$T/f2")"
check_eq "1: softnet: every field" "dropped flow_limit_count processed received_rps time_squeeze" \
	"$(jq -r '.sample.deltas.softnet | keys | join(" ")' "$T/f2")"

# the audit of the window
check_eq "1: the full listener is the culprit" fail "$(status "$T/a1" backlog.window-overflow "$sa")"
check_eq "1: the idle listener is not named" pass "$(status "$T/a1" backlog.window-overflow "$sb")"
check_eq "1: only the full listener fails" "$sa" \
	"$(jq -r '[.findings[] | select(.rule == "backlog.window-overflow") | .subject] | join(",")' "$T/a1")"
check_match "1: the culprit's message names its process and peak" \
	"^$sa \\(listen-hold, PID [0-9]+\\) dropped [1-9][0-9]* packets during the [0-9]+ ms sampling window and its accept queue overflowed: it peaked at 5 with a limit of 4" \
	"$(msg "$T/a1" backlog.window-overflow "$sa")"
check_match "1: the application's backlog is the one to raise" "raise the application's own backlog setting" \
	"$(msg "$T/a1" backlog.window-overflow "$sa")"
check_eq "1: the window's overflows are reported" fail \
	"$(jq -r '[.results[] | select(.rule == "backlog.window-overflows")][0].status' "$T/a1")"

# the audit's numbers are in its findings
wd=$(jq '[.findings[] | select(.rule == "backlog.window-overflows")][0].observed' "$T/a1")
check_eq "1: ListenOverflows in the window = nstat's delta around it" "$((o1 - o0))" "$wd"
check_match "1: overflows happened" '^[1-9][0-9]*$' "$wd"
drops=$(jq --arg s "$sa" '[.findings[] | select(.rule == "backlog.window-overflow" and .subject == $s)][0].observed' "$T/a1")
check_match "1: drops in the window > 0" '^[1-9][0-9]*$' "$drops"

# the rate: facts --sample again, over a new burst on a fresh listener
spawn "$T/ld" "$ns1" "$HELPERS/listen-hold" -a 127.0.0.1 0 2
pd=$(wait_port "$T/ld") || fail "1: second full listener started"
o0=$(overflows "$ns1")
window "$T/f2" "$NETKNOBS" --netns "$ns1" facts --sample 5s --json
b0=$(now_ms)
burst "$ns1" 127.0.0.1 "$pd" 40
# a listener that appears, overflows and is gone before the window ends
spawn "$T/lc2" "$ns1" "$HELPERS/listen-hold" -a 127.0.0.1 0 1
pc2=$(wait_port "$T/lc2") || fail "1: short-lived listener started"
pc2pid=$LAST_PID
burst "$ns1" 127.0.0.1 "$pc2" 10
# the readings of the next 1.2 s (100 ms apart) see it overflow, and look
# up its owner (at most once a second) before it closes
r0=$(readings "$T/f2")
wait_readings "$T/f2" $((${r0:-0} + 12)) || true
kill "$pc2pid"
b1=$(now_ms)
set +e
wait "$NKW"
rc=$?
set -e
o1=$(overflows "$ns1")
check_eq "1: facts --sample 5s exit 0" 0 "$rc"
ws=$(epoch_ms "$(jq -r '.sample.started_at' "$T/f2")")
we=$(epoch_ms "$(jq -r '.sample.ended_at' "$T/f2")")
check_eq "1: the bursts fell inside the window" true "$([ "$ws" -le "$b0" ] && [ "$b1" -le "$we" ] && echo true || echo false)"
dur=$(jq '.sample.duration_ms' "$T/f2")
check_eq "1: window of about 5 s" true "$([ "$dur" -ge 5000 ] && [ "$dur" -lt 6000 ] && echo true || echo false)"
nd=$((o1 - o0))
check_match "1: nstat counted overflows" '^[1-9][0-9]*$' "$nd"
check_eq "1: delta = nstat's delta" "$nd" "$(jq '.sample.deltas.TcpExt.ListenOverflows' "$T/f2")"
# the rate: nstat's delta over the window, to the thousandth, and within
# 10% of nstat's delta over the 5 s asked for
check_eq "1: rate = nstat delta / window" true \
	"$(jq --argjson nd "$nd" '.sample.rates.TcpExt.ListenOverflows as $r
		| ($nd * 1000 / .sample.duration_ms) as $w | (($r - $w) | fabs) <= 0.001' "$T/f2")"
check_eq "1: rate = nstat delta / 5 s within 10%" true \
	"$(jq --argjson nd "$nd" '.sample.rates.TcpExt.ListenOverflows as $r | ($nd / 5) as $w
		| (($r - $w) | fabs) <= $w * 0.1' "$T/f2")"
check_eq "1: full listener: peak queue = limit + 1" 3 "$(peak "$T/f2" "$pd" queue)"
check_eq "1: the kernel shows the same queue (ss Recv-Q)" 3 \
	"$(ip netns exec "$ns1" ss -Hltn "sport = :$pd" | awk '{ print $2 }')"
check_eq "1: full listener: fill 150%" 150 "$(peak "$T/f2" "$pd" fill)"
check_eq "1: full listener overflowed" true "$(peak "$T/f2" "$pd" overflowed)"
check_match "1: full listener: drops in the window" '^[1-9][0-9]*$' "$(peak "$T/f2" "$pd" drops)"
check_eq "1: the first full listener dropped nothing in this window" "0 false" \
	"$(jq -r --argjson p "$pa" '.sockets.listeners[] | select(.port == $p) | "\(.peak.drops) \(.peak.overflowed)"' "$T/f2")"
check_eq "1: idle listener: nothing" "0 0 false" \
	"$(jq -r --argjson p "$pb" '.sockets.listeners[] | select(.port == $p) | "\(.peak.queue) \(.peak.drops) \(.peak.overflowed)"' "$T/f2")"
check_eq "1: owners found once, at the end" "idle-app" \
	"$(jq -r --argjson p "$pb" '.sockets.listeners[] | select(.port == $p) | .processes[0].comm' "$T/f2")"
check_eq "1: the vanished listener is reported with its peak" "$pc2 2 true true" \
	"$(jq -r '.sample.vanished[] | "\(.port) \(.peak.queue) \(.peak.overflowed) \(.peak.appeared)"' "$T/f2")"
"$NETKNOBS" audit --from "$T/f2" --rule backlog.window-overflow-gone --format json >"$T/a2g.json" || true
check_eq "1: the audit names the listener that overflowed and closed" "fail :$pc2" \
	"$(jq -r '.results[0] | "\(.status) \([.items[] | select(.status == "fail") | .subject | sub("^.*(?=:[0-9]+$)"; "")] | join(","))"' "$T/a2g.json")"
check_eq "1: no listener of the window is missing" 0 \
	"$(jq '[.sockets.listeners[] | select(.peak == null)] | length' "$T/f2")"
check_eq "1: the vanished listener keeps the owner seen during the window" "$pc2pid listen-hold" \
	"$(jq -r '.sample.vanished[] | .processes[] | "\(.pid) \(.comm)"' "$T/f2")"
check_match "1: listeners --sample text lists the listener closed during the window, with its owner" \
	":$pc2 +-/[0-9]+ +2 .*\\(closed\\) listen-hold\\[$pc2pid\\] sleeping fds [0-9/]+$" "$("$NETKNOBS" listeners --from "$T/f2")"
"$NETKNOBS" listeners --from "$T/f2" --json >"$T/l2.json"
check_eq "1: listeners --json: the window without the rates" "$dur null" \
	"$(jq -r '"\(.sample.duration_ms) \(.sample.rates)"' "$T/l2.json")"
check_eq "1: listeners --json: the peaks" 3 \
	"$(jq --argjson p "$pd" '.listeners[] | select(.port == $p) | .peak.queue' "$T/l2.json")"
"$NETKNOBS" listeners --from "$T/f2" >"$T/l2.txt"
check_match "1: listeners shows the window" '^Window of 5' "$(head -1 "$T/l2.txt")"
check_match "1: listeners: PEAK column" "^127\\.0\\.0\\.1:$pd +3/2 +3 +150%" "$(grep "127.0.0.1:$pd " "$T/l2.txt")"
"$NETKNOBS" facts --from "$T/f2" >"$T/f2.txt"
check_match "1: facts text: the rate" 'TcpExt\.ListenOverflows +[0-9.]+/s +\(\+[1-9]' "$(cat "$T/f2.txt")"
check_match "1: facts text: the listener that dropped" "127\\.0\\.0\\.1 port $pd: [1-9][0-9]* dropped, accept queue peaked at 3 \\(limit 2\\)" \
	"$(cat "$T/f2.txt")"

# ---------------------------------------------------------------- SYN queue
# a server and a client namespace joined by veth, the client dropping every
# SYN-ACK, SYN cookies off: a burst during the window fills the listener's
# SYN queue (limit + 1 request sockets) and the rest are dropped
if command -v nft >/dev/null 2>&1; then
	make_ns srv syn-srv
	make_ns cli syn-cli
	if ip -n "$srv" link add nk0 type veth peer name nk1 netns "$cli" 2>"$T/pair.err" &&
		ip -n "$srv" addr add 10.213.1.1/30 dev nk0 && ip -n "$cli" addr add 10.213.1.2/30 dev nk1 &&
		ip -n "$srv" link set nk0 up && ip -n "$cli" link set nk1 up &&
		ip netns exec "$cli" nft "add table inet nk; add chain inet nk in { type filter hook input priority 0; }; add rule inet nk in tcp flags & (syn | ack) == syn | ack drop" 2>>"$T/pair.err"; then
		ip netns exec "$srv" sysctl -qw net.ipv4.tcp_syncookies=0
		spawn "$T/ls" "$srv" "$HELPERS/listen-hold" -a 10.213.1.1 0 8
		ps_=$(wait_port "$T/ls") || fail "syn: listener started"
		window "$T/f3" "$NETKNOBS" --netns "$srv" facts --sample 2s --json
		ip netns exec "$cli" "$HELPERS/connect-burst" -x -w 0 10.213.1.1 "$ps_" 20 >/dev/null
		set +e
		wait "$NKW"
		rc=$?
		set -e
		check_eq "syn: facts --sample exit 0" 0 "$rc"
		check_eq "syn: peak SYN_RECV = limit + 1, as the kernel shows" \
			"9 $(ip netns exec "$srv" ss -Htan state syn-recv "sport = :$ps_" | grep -c .)" \
			"$(jq -r --argjson p "$ps_" '.sockets.listeners[] | select(.port == $p) | "\(.peak.syn_recv) \(.syn_recv)"' "$T/f3")"
		check_eq "syn: the SYN-queue drops are drops of the window" "11 true 0" \
			"$(jq -r --argjson p "$ps_" '.sockets.listeners[] | select(.port == $p) | "\(.peak.drops) \(.peak.overflowed) \(.peak.queue)"' "$T/f3")"
		check_eq "syn: TCPReqQFullDrop in the window" 11 "$(jq '.sample.deltas.TcpExt.TCPReqQFullDrop' "$T/f3")"
	else
		echo "SKIP: syn: cannot join two namespaces with veth and nftables: $(cat "$T/pair.err")"
	fi
else
	echo "SKIP: syn: needs nft (nftables)"
fi

# ---------------------------------------------------------------- 2
# signal NAME: facts --sample 30s ended by SIGNAME after about 1.5 s
signal_test() {
	set +e
	"$NETKNOBS" --netns "$ns1" facts --sample 30s --interval 50ms --json >"$T/s.json" 2>"$T/s.err" &
	p=$!
	set -e
	wait_caught "$p" || true
	# a window of about 1.5 s: what the checks below measure
	sleep 1.5
	t0=$(now_ms)
	kill -"$1" "$p"
	set +e
	wait "$p"
	rc=$?
	set -e
	t1=$(now_ms)
	check_eq "2: SIG$1 ends the window: exit 0" 0 "$rc"
	check_eq "2: SIG$1: report at once" true "$([ $((t1 - t0)) -lt 2000 ] && echo true || echo false)"
	check_eq "2: SIG$1: valid document, cut short" "true SIG$1" \
		"$(jq -r '"\(.sample.cut_short) \(.sample.stopped_by)"' "$T/s.json")"
	"$NETKNOBS" facts --from "$T/s.json" --json >/dev/null 2>&1 &&
		pass "2: SIG$1: the document loads again" || fail "2: SIG$1: the document loads again"
	check_eq "2: SIG$1: a window of what was seen" true \
		"$(jq '.sample.duration_ms >= 1000 and .sample.duration_ms < 30000 and .sample.ticks >= 2
			and .sample.requested_ms == 30000' "$T/s.json")"
	check_eq "2: SIG$1: listeners have their peaks" 3 \
		"$(jq --argjson p "$pd" '.sockets.listeners[] | select(.port == $p) | .peak.queue' "$T/s.json")"
	check_match "2: SIG$1: said on stderr" "sampling ended early by SIG$1 after [0-9]+\\.[0-9]+s" "$(cat "$T/s.err")"
}
signal_test INT
signal_test TERM

# a second signal: no report
set +e
"$NETKNOBS" --netns "$ns1" facts --sample 30s --json >"$T/s2.json" 2>"$T/s2.err" &
p=$!
set -e
wait_caught "$p" || true
# both signals sent while it is stopped, so that both are pending when it
# runs again (sent one after the other, a loaded machine could let it
# report between them): the kernel delivers the lower number (SIGINT)
# first, and then SIGTERM is the second
kill -STOP "$p"
kill -TERM "$p"
kill -INT "$p"
kill -CONT "$p"
set +e
wait "$p"
rc=$?
set -e
case $rc in
130|143) pass "2: a second signal aborts (killed by the second: exit $rc)" ;;
*) fail "2: a second signal aborts: exit $rc, expected 130 or 143" ;;
esac
check_eq "2: a second signal: no document" 0 "$(wc -c <"$T/s2.json")"

# a signal after the window, during the last reading (held up by strace
# at its first directory read): the window was complete, the report comes;
# a second signal there still ends netknobs at once
# held_up OUT SIGNAL...: a 300 ms window whose last reading strace holds up
# for 3 s; once held (in tracing stop twice 0.2 s apart), send the signals
held_up() {
	_out=$1
	shift
	set +e
	# LeakSanitizer cannot work under ptrace
	ASAN_OPTIONS=detect_leaks=0 strace -f --seccomp-bpf -o /dev/null -e trace=getdents64 \
		-e inject=getdents64:delay_enter=3000000:when=1 \
		sh -c 'echo $$ >"$1"; exec "$2" --netns "$3" facts --sample 300ms --interval 100ms --json' \
		sh "$_out.pid" "$NETKNOBS" "$ns1" >"$_out" 2>"$_out.err" &
	_p=$!
	set -e
	_i=0 _seen=0
	while [ $_i -lt 100 ] && [ $_seen -lt 2 ]; do
		sleep 0.2
		_i=$((_i + 1))
		_pid=$(cat "$_out.pid" 2>/dev/null || true)
		if [ -n "$_pid" ] && grep -q '^State:.*tracing stop' "/proc/$_pid/status" 2>/dev/null; then
			_seen=$((_seen + 1))
		else
			_seen=0
		fi
	done
	for _s in "$@"; do
		kill -"$_s" "$_pid"
	done
	set +e
	wait "$_p"
	rc=$?
	set -e
}
if command -v strace >/dev/null 2>&1; then
	held_up "$T/s3.json" TERM
	check_eq "2: a signal after the window: exit 0" 0 "$rc"
	check_match "2: a signal after the window: said" 'SIGTERM after the window, during the last reading: the window was complete' "$(cat "$T/s3.json.err")"
	check_eq "2: a signal after the window: the whole window reported" "false 300" \
		"$(jq -r '"\(.sample.cut_short) \(.sample.requested_ms)"' "$T/s3.json")"
	held_up "$T/s4.json" TERM INT
	check_eq "2: a second signal during the last reading aborts (killed by SIGINT)" 130 "$rc"
	check_eq "2: a second signal during the last reading: no document" 0 "$(wc -c <"$T/s4.json")"
else
	echo "SKIP: a signal after the window: needs strace"
fi

# ---------------------------------------------------------------- 3
if command -v script >/dev/null 2>&1; then
	script -qec "\"$NETKNOBS\" --netns $ns1 facts --sample 700ms --json >$T/p.json" "$T/p.tty" >/dev/null 2>&1 </dev/null || true
	check_match "3: a progress bar on a terminal" 'sampling \[#+\.*\] .* / 700ms' "$(tr '\r' '\n' <"$T/p.tty")"
	check_eq "3: the JSON is untouched by it" 700 "$(jq '.sample.requested_ms' "$T/p.json")"
fi
"$NETKNOBS" --netns "$ns1" facts --sample 300ms --json >/dev/null 2>"$T/p.err"
check_eq "3: no progress bar when stderr is not a terminal" 0 "$(wc -c <"$T/p.err")"

# errors
check_exit "bad duration" 3 "$NETKNOBS" facts --sample 0s
check_match "bad duration: the reason" '--sample: invalid duration: a duration must be longer than zero' "$(cat "$T/err")"
check_exit "interval longer than the window" 3 "$NETKNOBS" listeners --sample 1s --interval 2s
check_match "interval longer: the reason" '--interval 2s is longer than the --sample window \(1s\)' "$(cat "$T/err")"
check_exit "--interval without --sample" 3 "$NETKNOBS" facts --interval 1s
check_exit "--sample with --root" 3 "$NETKNOBS" --root "$FIXTURES/roots" facts --sample 1s
finish
