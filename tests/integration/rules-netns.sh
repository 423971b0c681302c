#!/bin/sh
# The rules of rules/ on the real kernel, each scenario in its own network
# namespace, audited with `netknobs --netns NS audit`:
#   1. accept-queue overflow: a listener that never accepts; the queue holds
#      limit + 1; queue-high, then queue-full, drops and overflows
#   2. somaxconn below an application's backlog: the listener is clamped (a
#      warning even while idle, somaxconn being below 4096); the
#      recommendation states the value and the restart; a listener opened
#      before somaxconn was lowered keeps its larger limit
#   3. SYN cookies off, two namespaces joined by a veth pair, the client side
#      dropping SYN-ACKs: a full SYN queue (TCPReqQFullDrop), the early drop
#      at three quarters of tcp_max_syn_backlog, and the rules about both
#   4. SYN cookies on, same set-up: the full SYN queue answered with cookies
#   5. a healthy namespace: no warning at all; host-only keys not applicable
# Addresses come from 10.213.0.0/24 and exist only inside the namespaces of
# this test.
. "$TESTLIB"
need_root
for h in listen-hold connect-burst; do
	[ -x "$HELPERS/$h" ] || skip "helper $h not built (make check builds it)"
done

# burst NS ADDR PORT N [MS]: N connects, closed after MS milliseconds
# (default 300: loopback handshakes complete at once; 0 for a client whose
# handshakes never complete, closed before it could retransmit a SYN)
burst() { ip netns exec "$1" "$HELPERS/connect-burst" -x -w "${5:-300}" "$2" "$3" "$4" >/dev/null; }

# audit OUT NS [ARGS...]: the JSON audit of namespace NS in OUT; prints the exit code
audit() {
	out=$1 ns=$2
	shift 2
	set +e
	"$NETKNOBS" --netns "$ns" audit --format json --verbose "$@" >"$out" 2>"$out.err"
	echo $?
	set -e
}

# status FILE RULE [SUBJECT]: the rule's status (for one item of a foreach rule)
status() {
	if [ $# -eq 3 ]; then
		jq -r --arg r "$2" --arg s "$3" '[.results[] | select(.rule == $r) | .items[]?
			| select(.subject == $s) | .status][0] // "missing"' "$1"
	else
		jq -r --arg r "$2" '[.results[] | select(.rule == $r)][0].status' "$1"
	fi
}

# msg FILE RULE SUBJECT: the finding's message
msg() { jq -r --arg r "$2" --arg s "$3" '[.findings[] | select(.rule == $r and .subject == $s)][0].message' "$1"; }

# rec FILE KEY: value, mode and satisfied of the merged recommendation
rec() { jq -c --arg k "$2" '[.recommendations[] | select(.key == $k)][0] | [.value, .mode, .satisfied]' "$1"; }

# counter NS NAME: a TcpExt counter read by the kernel's own file
counter() {
	ip netns exec "$1" cat /proc/net/netstat | awk -v n="$2" '
		$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "TcpExt:" && h { print $col[n]; exit }'
}

# syn_recv NS PORT: half-open connections of the listener on PORT
syn_recv() { ip netns exec "$1" ss -Htan state syn-recv "sport = :$2" | grep -c . || true; }

# settle NS CMD...: wait until the output of CMD (run with NS first) has
# not changed for three reads 0.1 s apart (at most 5 s): the SYNs of a
# burst cross the veth pair in softirq, late on a busy machine
settle() {
	_ns=$1 _prev="" _same=0 _i=0
	shift
	while [ "$_i" -lt 50 ]; do
		_cur=$("$@" "$_ns" | tr '\n' ,)
		if [ "$_cur" = "$_prev" ]; then
			_same=$((_same + 1))
			[ "$_same" -ge 3 ] && return 0
		else
			_same=0
		fi
		_prev=$_cur
		_i=$((_i + 1))
		sleep 0.1
	done
}
# the SYN-queue lengths of scenario 3 and the cookie counter of scenario 4
queues3() { syn_recv "$1" "$p3a"; syn_recv "$1" "$p3b"; }
cookies4() { counter "$1" TCPReqQFullDoCookies; }

# ---------------------------------------------------------------- 1
make_ns ns1 full
host_abort=$(cat /proc/sys/net/ipv4/tcp_abort_on_overflow)
spawn "$T/l1" "$ns1" "$HELPERS/listen-hold" -a 127.0.0.1 0 4
p1=$(wait_port "$T/l1") || fail "1: listener started"
s1="127.0.0.1:$p1"
burst "$ns1" 127.0.0.1 "$p1" 4
check_eq "1: audit, queue 4 of 4" 1 "$(audit "$T/a1a" "$ns1")"
check_eq "1: queue at its limit is not full yet" pass "$(status "$T/a1a" backlog.queue-full "$s1")"
check_eq "1: queue at its limit is nearly full" fail "$(status "$T/a1a" backlog.queue-high "$s1")"
check_match "1: queue-high message" "^$s1 \\(listen-hold\\) has 4 of 4 accept-queue slots in use \\(100%" \
	"$(msg "$T/a1a" backlog.queue-high "$s1")"
check_eq "1: no overflow yet" pass "$(status "$T/a1a" backlog.listen-overflows)"
# 26 more: one fits (the kernel admits limit + 1), the rest overflow
burst "$ns1" 127.0.0.1 "$p1" 26
check_eq "1: audit, full queue -> exit 2" 2 "$(audit "$T/a1" "$ns1")"
check_eq "1: queue-full fires" fail "$(status "$T/a1" backlog.queue-full "$s1")"
check_match "1: queue-full message names subject and numbers" \
	"^$s1 \\(listen-hold\\) has 5 connections waiting for accept\\(\\) and its limit is 4" \
	"$(msg "$T/a1" backlog.queue-full "$s1")"
check_eq "1: queue-full is critical" critical \
	"$(jq -r '[.findings[] | select(.rule == "backlog.queue-full")][0].severity' "$T/a1")"
# its drops are judged with its full queue (queue-full), not as drops since
# the socket was opened
check_eq "1: listener drops: judged by queue-full" not-applicable "$(status "$T/a1" backlog.listener-drops "$s1")"
check_eq "1: ListenOverflows since the namespace was created" fail "$(status "$T/a1" backlog.listen-overflows)"
check_eq "1: observed ListenOverflows is the kernel's" "$(counter "$ns1" ListenOverflows)" \
	"$(jq '[.findings[] | select(.rule == "backlog.listen-overflows")][0].observed' "$T/a1")"
check_eq "1: the application's backlog (4) is the one to raise" fail "$(status "$T/a1" backlog.app-backlog "$s1")"
check_eq "1: not clamped by somaxconn" not-applicable "$(status "$T/a1" backlog.listener-clamped "$s1")"
check_eq "1: every overflow counted in ListenOverflows" pass "$(status "$T/a1" backlog.listen-drops)"
# tcp_abort_on_overflow belongs to the namespace
ip netns exec "$ns1" sysctl -qw net.ipv4.tcp_abort_on_overflow=1
check_eq "1: abort_on_overflow set in the namespace leaves the host's" "$host_abort" \
	"$(cat /proc/sys/net/ipv4/tcp_abort_on_overflow)"
audit "$T/a1b" "$ns1" --rule backlog.abort-on-overflow >/dev/null
check_eq "1: abort-on-overflow fires in the namespace" fail "$(status "$T/a1b" backlog.abort-on-overflow)"

# ---------------------------------------------------------------- 2
make_ns ns2 clamp
# opened while somaxconn is the default: keeps 511
spawn "$T/l2a" "$ns2" "$HELPERS/listen-hold" -a 127.0.0.1 0 511
p2a=$(wait_port "$T/l2a") || fail "2: first listener started"
ip netns exec "$ns2" sysctl -qw net.core.somaxconn=64
# opened after: asks for 511, gets 64
spawn "$T/l2b" "$ns2" "$HELPERS/listen-hold" -a 127.0.0.1 0 511
p2b=$(wait_port "$T/l2b") || fail "2: second listener started"
s2a="127.0.0.1:$p2a" s2b="127.0.0.1:$p2b"
check_eq "2: idle, clamped at a low somaxconn -> a warning (exit 1)" 1 "$(audit "$T/a2a" "$ns2")"
"$NETKNOBS" --netns "$ns2" listeners --json >"$T/l2.json"
check_eq "2: limits: 511 from before, 64 after somaxconn was lowered" "511 64" \
	"$(jq -r --argjson a "$p2a" --argjson b "$p2b" '[(.listeners[] | select(.port == $a) | .limit),
		(.listeners[] | select(.port == $b) | .limit)] | map(tostring) | join(" ")' "$T/l2.json")"
check_eq "2: somaxconn-low fires" fail "$(status "$T/a2a" backlog.somaxconn-low)"
check_match "2: somaxconn-low counts the clamped listener" '1 of 2 listeners here are at exactly this limit' \
	"$(msg "$T/a2a" backlog.somaxconn-low net.core.somaxconn)"
check_eq "2: recommends 4096" '[4096,"at-least",false]' "$(rec "$T/a2a" net.core.somaxconn)"
check_match "2: the recommendation says restart" 'listen\(\) again.*restart' \
	"$(jq -r '.recommendations[] | select(.key == "net.core.somaxconn") | .notes[]' "$T/a2a")"
check_eq "2: the older listener keeps 511 until its restart" fail \
	"$(status "$T/a2a" backlog.listener-above-somaxconn "$s2a")"
check_match "2: and is told so" "limit of 511, above today's net.core.somaxconn \\(64\\).*cut the limit to 64" \
	"$(msg "$T/a2a" backlog.listener-above-somaxconn "$s2a")"
check_eq "2: idle listener clamped at 64: a warning that names it" fail "$(status "$T/a2a" backlog.listener-clamped "$s2b")"
check_match "2: idle clamped: named, with the restart" \
	"^$s2b \\(listen-hold\\) is limited to 64 connections, exactly net.core.somaxconn.*It is not short of room now, but net.core.somaxconn 64 is below .*at least 4096 and restart listen-hold" \
	"$(msg "$T/a2a" backlog.listener-clamped "$s2b")"
check_eq "2: the listener from before is not clamped" not-applicable "$(status "$T/a2a" backlog.listener-clamped "$s2a")"
# fill the clamped listener
burst "$ns2" 127.0.0.1 "$p2b" 100
check_eq "2: full clamped listener -> exit 2" 2 "$(audit "$T/a2" "$ns2")"
check_eq "2: clamped listener short of room" fail "$(status "$T/a2" backlog.listener-clamped "$s2b")"
check_match "2: clamped message: value and restart" \
	"^$s2b \\(listen-hold\\) is limited to 64 connections, exactly net.core.somaxconn.*at least 4096 and restart" \
	"$(msg "$T/a2" backlog.listener-clamped "$s2b")"
check_eq "2: raising the application's backlog is not the advice" not-applicable "$(status "$T/a2" backlog.app-backlog "$s2b")"
check_eq "2: merged recommendation 4096" '[4096,"at-least",false]' "$(rec "$T/a2" net.core.somaxconn)"
check_eq "2: asked by both rules" '["backlog.listener-clamped","backlog.somaxconn-low"]' \
	"$(jq -c '.recommendations[] | select(.key == "net.core.somaxconn") | .rules | sort' "$T/a2")"

# ---------------------------------------------------------------- 3, 4
# pair SRV CLI SRV-ADDR CLI-ADDR: veth between SRV and CLI (a /30), the
# client dropping every SYN-ACK it receives, so no handshake completes
pair() {
	ip -n "$1" link add nk0 type veth peer name nk1 netns "$2" 2>"$T/pair.err" &&
		ip -n "$1" addr add "$3/30" dev nk0 &&
		ip -n "$2" addr add "$4/30" dev nk1 &&
		ip -n "$1" link set nk0 up &&
		ip -n "$2" link set nk1 up &&
		ip netns exec "$2" nft "add table inet nk; add chain inet nk in { type filter hook input priority 0; }; add rule inet nk in tcp flags & (syn | ack) == syn | ack drop" 2>>"$T/pair.err"
}
if ! command -v nft >/dev/null 2>&1; then
	echo "SKIP: 3, 4: SYN-queue scenarios need nft (nftables)"
else
	make_ns srv3 srv
	make_ns cli3 cli
	make_ns srv4 srv
	make_ns cli4 cli
fi
if [ -n "${srv3:-}" ] && ! { pair "$srv3" "$cli3" 10.213.0.1 10.213.0.2 && pair "$srv4" "$cli4" 10.213.0.5 10.213.0.6; }; then
	echo "SKIP: 3, 4: cannot join two namespaces with veth and nftables: $(cat "$T/pair.err")"
	srv3=""
fi
if [ -n "${srv3:-}" ]; then
	ip netns exec "$srv3" sysctl -qw net.ipv4.tcp_syncookies=0 net.ipv4.tcp_max_syn_backlog=256
	# A: backlog 8, flooded: its SYN queue fills (8 + 1) and drops
	spawn "$T/l3a" "$srv3" "$HELPERS/listen-hold" -a 10.213.0.1 0 8
	p3a=$(wait_port "$T/l3a") || fail "3: listener A started"
	# B: backlog 300 above three quarters of tcp_max_syn_backlog (192)
	spawn "$T/l3b" "$srv3" "$HELPERS/listen-hold" -a 10.213.0.1 0 300
	p3b=$(wait_port "$T/l3b") || fail "3: listener B started"
	burst "$cli3" 10.213.0.1 "$p3a" 20 0
	burst "$cli3" 10.213.0.1 "$p3b" 250 0
	settle "$srv3" queues3
	check_eq "3: A: SYN queue holds limit + 1" 9 "$(syn_recv "$srv3" "$p3a")"
	check_eq "3: B: SYNs of new clients refused at 256 - 256 / 4 + 1" 193 "$(syn_recv "$srv3" "$p3b")"
	check_eq "3: TCPReqQFullDrop counts A's 11 drops" 11 "$(counter "$srv3" TCPReqQFullDrop)"
	check_eq "3: ListenDrops also counts B's 57 early drops" 68 "$(counter "$srv3" ListenDrops)"
	check_eq "3: no accept-queue overflow" 0 "$(counter "$srv3" ListenOverflows)"
	check_eq "3: audit -> warnings (exit 1)" 1 "$(audit "$T/a3" "$srv3")"
	check_eq "3: syncookies-off fires" fail "$(status "$T/a3" backlog.syncookies-off)"
	check_eq "3: syn-queue-drops fires" fail "$(status "$T/a3" backlog.syn-queue-drops)"
	check_eq "3: syn-queue-drops observed" 11 \
		"$(jq '[.findings[] | select(.rule == "backlog.syn-queue-drops")][0].observed' "$T/a3")"
	check_eq "3: syn-backlog-low fires" fail "$(status "$T/a3" backlog.syn-backlog-low)"
	check_match "3: syn-backlog-low message" \
		'tcp_max_syn_backlog is 256: a listener refuses SYNs from new clients once its SYN queue holds about 192 half-open connections, before the largest listener limit here \(300\)' \
		"$(msg "$T/a3" backlog.syn-backlog-low net.ipv4.tcp_max_syn_backlog)"
	# not next to syncookies=1, after which it has no effect; the message
	# gives it for a host that keeps cookies off
	check_eq "3: tcp_max_syn_backlog not recommended with cookies" '[null,null,null]' \
		"$(rec "$T/a3" net.ipv4.tcp_max_syn_backlog)"
	check_match "3: tcp_max_syn_backlog if cookies stay off: power of two above 4/3 of 300" 'at least 512' \
		"$(msg "$T/a3" backlog.syn-backlog-low net.ipv4.tcp_max_syn_backlog)"
	check_eq "3: syncookies back on" '[1,"exact",false]' "$(rec "$T/a3" net.ipv4.tcp_syncookies)"
	check_eq "3: the early drops are named" fail "$(status "$T/a3" backlog.listen-drops)"
	check_match "3: listen-drops message" '68 connection attempts .* 57 of them for a reason other than' \
		"$(msg "$T/a3" backlog.listen-drops TcpExt.ListenDrops)"
	check_eq "3: listener A drops: a notice" fail "$(status "$T/a3" backlog.listener-drops "10.213.0.1:$p3a")"
	check_eq "3: SYN-queue drops: now (A's SYN queue is full)" fail "$(status "$T/a3" backlog.syn-queue-drops)"
	check_eq "3: no advice to raise a backlog" "" \
		"$(jq -r '.findings[] | select(.rule == "backlog.app-backlog" or .rule == "backlog.listener-clamped") | .subject' "$T/a3")"
	check_eq "3: no accept queue is full" pass "$(status "$T/a3" backlog.queue-full)"
	# with enough tcp_max_syn_backlog the rule is satisfied: 400 - 100 >= 300
	ip netns exec "$srv3" sysctl -qw net.ipv4.tcp_max_syn_backlog=400
	audit "$T/a3b" "$srv3" --rule backlog.syn-backlog-low >/dev/null
	check_eq "3: tcp_max_syn_backlog 400 is enough for 300" pass "$(status "$T/a3b" backlog.syn-backlog-low)"
	# and the kernel agrees: B's SYN queue now fills to its own limit + 1,
	# and the SYNs beyond it count as a full SYN queue.  The kernel prunes
	# old request sockets of a queue more than half full after a few
	# seconds, so count what is left of the first burst just before
	left=$(syn_recv "$srv3" "$p3b")
	drops0=$(counter "$srv3" TCPReqQFullDrop)
	burst "$cli3" 10.213.0.1 "$p3b" 350 0
	# the most it held while the SYNs arrived (on a loaded machine the
	# kernel may already prune it by the time it has settled)
	peak3=0 _i=0
	while [ "$_i" -lt 30 ]; do
		_n=$(syn_recv "$srv3" "$p3b")
		[ "$_n" -gt "$peak3" ] && peak3=$_n
		_i=$((_i + 1))
		sleep 0.05
	done
	settle "$srv3" queues3
	check_eq "3: B: with 400 the SYN queue reaches 300 + 1" 301 "$peak3"
	check_eq "3: TCPReqQFullDrop: the SYNs beyond 301 ($left left + 350 sent)" $((left + 350 - 301)) \
		$(($(counter "$srv3" TCPReqQFullDrop) - drops0))

	spawn "$T/l4" "$srv4" "$HELPERS/listen-hold" -a 10.213.0.5 0 8
	p4=$(wait_port "$T/l4") || fail "4: listener started"
	burst "$cli4" 10.213.0.5 "$p4" 20 0
	settle "$srv4" cookies4
	check_eq "4: cookies: nothing dropped" 0 "$(counter "$srv4" TCPReqQFullDrop)"
	check_eq "4: cookies sent for the overflow" 11 "$(counter "$srv4" TCPReqQFullDoCookies)"
	check_eq "4: audit -> notices only (exit 0)" 0 "$(audit "$T/a4" "$srv4")"
	check_eq "4: syn-queue-cookies fires" fail "$(status "$T/a4" backlog.syn-queue-cookies)"
	check_eq "4: syn-queue-drops passes" pass "$(status "$T/a4" backlog.syn-queue-drops)"
	check_eq "4: syn-backlog-low does not apply with cookies on" not-applicable \
		"$(status "$T/a4" backlog.syn-backlog-low)"
	check_eq "4: no listener drop counted" pass "$(status "$T/a4" backlog.listener-drops)"
fi

# ---------------------------------------------------------------- 5
make_ns ns5 ok
spawn "$T/l5" "$ns5" "$HELPERS/listen-hold" -a 127.0.0.1 0 511
p5=$(wait_port "$T/l5") || fail "5: listener started"
burst "$ns5" 127.0.0.1 "$p5" 3
check_eq "5: healthy namespace: audit exit 0" 0 "$(audit "$T/a5" "$ns5")"
check_eq "5: no warning or critical finding" "" \
	"$(jq -r '.findings[] | select(.severity == "warning" or .severity == "critical") | "\(.rule) \(.subject)"' "$T/a5")"
check_eq "5: no rule error" 0 "$(jq .summary.errors "$T/a5")"
notices=$(jq -r '.findings[] | "\(.severity) \(.rule)"' "$T/a5" | tr '\n' ' ')
[ -z "$notices" ] || echo "note: 5: lower findings from host-wide facts: $notices"
check_eq "5: the listener is judged" pass "$(status "$T/a5" backlog.queue-high "127.0.0.1:$p5")"
for r in limits.softnet-drops limits.softnet-squeeze limits.tcp-mem-exhausted limits.tcp-mem-pressure; do
	check_eq "5: $r: host-only key, not applicable here" not-applicable "$(status "$T/a5" "$r")"
done
"$NETKNOBS" --netns "$ns5" facts -o "$T/f5" >/dev/null 2>&1 || true
check_eq "5: the namespace has no netdev_max_backlog" missing \
	"$(jq -r '.sysctl_unavailable["net.core.netdev_max_backlog"].reason' "$T/f5")"
# ---------------------------------------------------------------- 6
# listen(fd, 0): a limit of 0, and the kernel still queues one connection
make_ns ns6 zero
spawn "$T/l6" "$ns6" "$HELPERS/listen-hold" -a 127.0.0.1 0 0
p6=$(wait_port "$T/l6") || fail "6: listener started"
s6="127.0.0.1:$p6"
burst "$ns6" 127.0.0.1 "$p6" 3
check_eq "6: the kernel queues one connection at a limit of 0" "1 0" \
	"$(ip netns exec "$ns6" ss -Hltn "sport = :$p6" | awk '{ print $2, $3 }')"
audit "$T/a6" "$ns6" >/dev/null
check_eq "6: backlog 0: the queue is full" fail "$(status "$T/a6" backlog.queue-full "$s6")"
check_eq "6: and the setting to raise is named" fail "$(status "$T/a6" backlog.app-backlog "$s6")"
check_match "6: a backlog of 0 said as such, with an example" \
	"limited to 0 connections \\(a backlog of 0: the kernel queues one connection, no more\\).*for example to 128" \
	"$(msg "$T/a6" backlog.app-backlog "$s6")"
finish
