#!/bin/sh
# Listeners on the real kernel, each scenario in its own network namespace,
# compared with ss and nstat run in the same namespace:
#   1. accept-queue overflow: queue, limit, drops, ListenOverflows
#   2. somaxconn clamps the backlog
#   3. a dual-stack [::] listener: listed once, IPv4 clients attributed to it
#   4. owning process, with a terminal escape in its name
#   5. netlink denied by seccomp: the /proc/net/tcp fallback
. "$TESTLIB"
need_root
command -v ss >/dev/null 2>&1 || skip "needs ss (iproute2)"
for h in listen-hold connect-burst deny-netlink; do
	[ -x "$HELPERS/$h" ] || skip "helper $h not built (make check builds it)"
done

ESC=$(printf '\033')

# wait_count OUT: wait for connect-burst's count line, print it
wait_count() {
	i=0
	while ! grep -q '^[0-9]' "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			echo "connect-burst did not finish: $(cat "$1.err" 2>/dev/null)" >&2
			return 1
		fi
		sleep 0.05
	done
	head -n 1 "$1"
}

# facts NS [WRAPPER...]: the facts document collected in NS
facts() {
	ns=$1
	shift
	"$@" "$NETKNOBS" --netns "$ns" facts --json || true
}

# listener FILE PORT: the listener objects on PORT, one per line
listener() { jq -c --argjson p "$2" '.sockets.listeners[] | select(.port == $p)' "$1"; }

# ss_listen NS PORT: "RECV-Q SEND-Q" of the listener on PORT
ss_listen() { ip netns exec "$1" ss -Hltn "sport = :$2" | awk 'NR == 1 { print $2, $3 }'; }

# ss_drops NS PORT: the d<N> of skmem
ss_drops() {
	ip netns exec "$1" ss -Hltnm "sport = :$2" |
		sed -n 's/.*skmem:(.*[(,]d\([0-9][0-9]*\)).*/\1/p' | head -n 1
}

# ---------------------------------------------------------------- 1
make_ns ns1 ovf
spawn "$T/l1" "$ns1" "$HELPERS/listen-hold" 0 4
p1=$(wait_port "$T/l1") || fail "scenario 1: listener started"
# 30 connects; 5 fit the queue (limit + 1), the others' SYNs are dropped.
# -x closes the clients afterwards, so no retransmitted SYN changes the
# counters between the readings below.
ip netns exec "$ns1" "$HELPERS/connect-burst" -x -w 500 127.0.0.1 "$p1" 30 >"$T/c1"
facts "$ns1" >"$T/f1"
ssq=$(ss_listen "$ns1" "$p1")
ssd=$(ss_drops "$ns1" "$p1")
if command -v nstat >/dev/null 2>&1; then
	nov=$(ip netns exec "$ns1" nstat -asz TcpExtListenOverflows | awk '$1 == "TcpExtListenOverflows" { print $2 }')
else
	nov="(nstat missing)"
fi
l=$(listener "$T/f1" "$p1")
check_eq "1: exactly one listener on the port" 1 "$(printf '%s\n' "$l" | grep -c .)"
check_eq "1: source netlink" netlink "$(jq -r .sockets.source "$T/f1")"
check_eq "1: queue is limit+1 (full)" 5 "$(printf '%s' "$l" | jq .queue)"
check_eq "1: limit is the backlog" 4 "$(printf '%s' "$l" | jq .limit)"
check_eq "1: queue and limit equal ss Recv-Q/Send-Q" "$ssq" \
	"$(printf '%s' "$l" | jq -r '"\(.queue) \(.limit)"')"
drops=$(printf '%s' "$l" | jq .drops)
check_match "1: per-listener drops > 0" '^[1-9][0-9]*$' "$drops"
check_eq "1: drops equal ss -m d" "$ssd" "$drops"
ovf=$(jq '.counters.TcpExt.ListenOverflows' "$T/f1")
check_match "1: TcpExt.ListenOverflows > 0" '^[1-9][0-9]*$' "$ovf"
check_eq "1: ListenOverflows equals nstat" "$nov" "$ovf"
check_eq "1: LISTEN count" 1 "$(jq .sockets.states.LISTEN "$T/f1")"

# ---------------------------------------------------------------- 2
make_ns ns2 smx
ip netns exec "$ns2" sysctl -qw net.core.somaxconn=8
spawn "$T/l2" "$ns2" "$HELPERS/listen-hold" 0 100
p2=$(wait_port "$T/l2") || fail "scenario 2: listener started"
facts "$ns2" >"$T/f2"
l=$(listener "$T/f2" "$p2")
check_eq "2: somaxconn 8 clamps backlog 100" 8 "$(printf '%s' "$l" | jq .limit)"
check_eq "2: limit equals ss Send-Q" "$(ss_listen "$ns2" "$p2" | cut -d' ' -f2)" \
	"$(printf '%s' "$l" | jq .limit)"
check_eq "2: the netns sysctl is in the facts" 8 "$(jq '.sysctl["net.core.somaxconn"]' "$T/f2")"

# ---------------------------------------------------------------- 3
make_ns ns3 dual
spawn "$T/l3" "$ns3" "$HELPERS/listen-hold" -d 0 100
p3=$(wait_port "$T/l3") || fail "scenario 3: listener started"
# queued: three IPv4 clients complete the handshake and wait for accept()
ip netns exec "$ns3" "$HELPERS/connect-burst" -x -w 500 127.0.0.1 "$p3" 3 >"$T/c3"
facts "$ns3" >"$T/f3"
l=$(listener "$T/f3" "$p3")
check_eq "3: dual-stack listener listed once" 1 "$(printf '%s\n' "$l" | grep -c .)"
check_eq "3: family ipv6, address ::, v6only false" "ipv6 :: false" \
	"$(printf '%s' "$l" | jq -r '"\(.family) \(.address) \(.v6only)"')"
check_eq "3: IPv4 clients queued on the [::] listener" 3 "$(printf '%s' "$l" | jq .queue)"
check_eq "3: queue equals ss Recv-Q" "$(ss_listen "$ns3" "$p3" | cut -d' ' -f1)" \
	"$(printf '%s' "$l" | jq .queue)"
# half-open: drop the clients' final ACKs, so the request sockets stay
if command -v nft >/dev/null 2>&1 &&
	ip netns exec "$ns3" nft "add table inet nk; add chain inet nk in { type filter hook input priority 0; }; add rule inet nk in tcp dport $p3 tcp flags & (syn | ack | fin | rst) == ack drop" 2>"$T/nft.err"; then
	spawn "$T/c3b" "$ns3" "$HELPERS/connect-burst" -w 500 127.0.0.1 "$p3" 6
	wait_count "$T/c3b" >/dev/null || fail "3: connect-burst finished"
	facts "$ns3" >"$T/f3b"
	l=$(listener "$T/f3b" "$p3")
	sssyn=$(ip netns exec "$ns3" ss -Htan state syn-recv "sport = :$p3" | grep -c . || true)
	check_eq "3: ss sees 6 SYN_RECV" 6 "$sssyn"
	check_eq "3: IPv4 half-open handshakes attributed to [::]" "$sssyn" \
		"$(printf '%s' "$l" | jq .syn_recv)"
	check_eq "3: not shared" null "$(printf '%s' "$l" | jq .syn_recv_shared)"
	check_eq "3: states.SYN_RECV" "$sssyn" "$(jq .sockets.states.SYN_RECV "$T/f3b")"
else
	echo "SKIP: 3: half-open check needs nft: $(cat "$T/nft.err" 2>/dev/null)"
fi

# ---------------------------------------------------------------- 4
make_ns ns4 own
spawn "$T/l4" "$ns4" "$HELPERS/listen-hold" -n 'nk\x1b[31mred' 0 16
pid4=$LAST_PID
p4=$(wait_port "$T/l4") || fail "scenario 4: listener started"
spawn "$T/l4b" "$ns4" "$HELPERS/listen-hold" -6 -n plainname 0 16
pid4b=$LAST_PID
p4b=$(wait_port "$T/l4b") || fail "scenario 4: second listener started"
facts "$ns4" >"$T/f4"
l=$(listener "$T/f4" "$p4")
check_eq "4: owner pid" "$pid4" "$(printf '%s' "$l" | jq '.processes[0].pid')"
check_eq "4: pid agrees with ss -p" \
	"$(ip netns exec "$ns4" ss -Hltnp "sport = :$p4" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')" \
	"$(printf '%s' "$l" | jq '.processes[0].pid')"
check_eq "4: comm stored escaped" 'nk\x1b[31mred' "$(printf '%s' "$l" | jq -r '.processes[0].comm')"
check_eq "4: one owner" 1 "$(printf '%s' "$l" | jq '.processes | length')"
check_eq "4: fds of the owner" "$(ls "/proc/$pid4/fd" | wc -l)" \
	"$(printf '%s' "$l" | jq '.processes[0].fds')"
check_eq "4: nofile_soft from limits" "$(awk '/^Max open files/ { print $4 }' "/proc/$pid4/limits")" \
	"$(printf '%s' "$l" | jq '.processes[0].nofile_soft')"
l=$(listener "$T/f4" "$p4b")
check_eq "4: second owner: pid and comm" "$pid4b plainname" \
	"$(printf '%s' "$l" | jq -r '.processes[0] | "\(.pid) \(.comm)"')"
"$NETKNOBS" --netns "$ns4" --color never listeners >"$T/t4" 2>&1 || true
check_eq "4: no raw ESC byte in the text output" 0 "$(grep -c "$ESC" "$T/t4" || true)"
check_match "4: the name shown escaped" 'nk\\x1b\[31mred\['"$pid4"'\]' "$(cat "$T/t4")"
# a name that ends in a newline: the kernel's own newline after it goes,
# the name's is kept and shown as \n
spawn "$T/l4c" "$ns4" "$HELPERS/listen-hold" -n 'nl-name\n' 0 16
pid4c=$LAST_PID
p4c=$(wait_port "$T/l4c") || fail "scenario 4: third listener started"
facts "$ns4" >"$T/f4c"
check_eq "4: trailing newline of a name kept, escaped" 'nl-name\n' \
	"$(listener "$T/f4c" "$p4c" | jq -r '.processes[0].comm')"
"$NETKNOBS" --netns "$ns4" --color never listeners >"$T/t4c" 2>&1 || true
check_match "4: the trailing newline shown escaped in the text" 'nl-name\\n\['"$pid4c"'\]' "$(cat "$T/t4c")"

# ---------------------------------------------------------------- 5
# netlink refused (seccomp): /proc/net/tcp of the same namespace as scenario 1
facts "$ns1" "$HELPERS/deny-netlink" >"$T/f5" 2>"$T/f5.err"
check_eq "5: source proc" proc "$(jq -r .sockets.source "$T/f5")"
check_match "5: fallback_reason says why" 'netlink refused: Permission denied' \
	"$(jq -r .sockets.fallback_reason "$T/f5")"
check_match "5: a note tells" 'netlink refused' "$(jq -r '.notes[]' "$T/f5")"
l=$(listener "$T/f5" "$p1")
check_eq "5: queue still right" "$(ss_listen "$ns1" "$p1" | cut -d' ' -f1)" \
	"$(printf '%s' "$l" | jq .queue)"
check_eq "5: limit and drops absent" "null null" "$(printf '%s' "$l" | jq -r '"\(.limit) \(.drops)"')"
check_eq "5: same inode as over netlink" "$(listener "$T/f1" "$p1" | jq .inode)" \
	"$(printf '%s' "$l" | jq .inode)"
# out of descriptors during the owner scan: a listener left without its
# process says why (a few limits, one of which runs out there)
reached=0
for n in 4 5 6 7 8 9; do
	prlimit --nofile=$n "$NETKNOBS" --netns "$ns1" facts --json >"$T/f6" 2>/dev/null || continue
	lone=$(jq --argjson p "$p1" '[.sockets.listeners[] | select(.port == $p and (.processes | length) == 0)] | length' "$T/f6" 2>/dev/null || echo 0)
	[ "$lone" = 1 ] || continue
	reached=$((reached + 1))
	check_match "6: nofile $n: the listener without its process says why" \
		'listener\(s\) without owning process: the descriptors of [0-9]+ process\(es\) could not be read \(Too many open files\)' \
		"$(jq -r '.notes[]' "$T/f6")"
done
check_eq "6: a limit that runs out during the owner scan was among them" true "$([ "$reached" -gt 0 ] && echo true || echo false)"
"$NETKNOBS" audit --from "$T/f5" --format json >"$T/a5.json" 2>/dev/null || true
check_eq "5: the audit says the listeners were read without netlink" fail \
	"$(jq -r '.results[] | select(.rule == "backlog.sockets-without-netlink") | .status' "$T/a5.json")"
check_eq "5: and does not judge listeners by limits it does not have" not-applicable \
	"$(jq -r '.results[] | select(.rule == "backlog.queue-full") | .status' "$T/a5.json")"
"$NETKNOBS" audit --from "$T/f1" --format json >"$T/a1.json" 2>/dev/null || true
check_eq "5: over netlink, no such notice" pass \
	"$(jq -r '.results[] | select(.rule == "backlog.sockets-without-netlink") | .status' "$T/a1.json")"
"$HELPERS/deny-netlink" "$NETKNOBS" --netns "$ns4" --color never listeners >"$T/t5" 2>&1 || true
check_match "5: listeners text names the fallback" 'netlink refused' "$(cat "$T/t5")"
check_match "5: owner still found" "plainname\[$pid4b\]" "$(cat "$T/t5")"

finish
