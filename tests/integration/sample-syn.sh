#!/bin/sh
# SYN-side drops against accept-side ones, as a sampling window sees them on
# the real kernel: nginx in a server namespace with SYN cookies off, a client
# namespace over veth.  What the facts must let a rule tell apart:
#   1. the early drop: tcp_max_syn_backlog 128, nginx's backlog 511, the
#      client drops every SYN-ACK, 300 connection attempts in the window:
#      the accept queue stays empty (peak.queue 0 of 511), SYN_RECV peaks
#      at the early-drop threshold 128 - 128/4 + 1 = 97 (as ss shows), and
#      the drops are neither ListenOverflows nor TCPReqQFullDrop
#   2. a full SYN queue: backlog=64 on a second port, tcp_max_syn_backlog
#      4096: SYN_RECV peaks at 65 (limit + 1), every drop a TCPReqQFullDrop
#   3. a SYN queue that fills and drains between two counts (a third port,
#      as the first one's request sockets wait a minute): SYN-ACKs leave
#      at 1 Mbit/s (tbf) and the clients reset them, so the queue of the
#      burst is gone within about 60 ms; with --interval 10ms the reading
#      that sees the drops counts the request sockets at once
#      (sample.syn_recv_early) and finds the queue
# Addresses: 10.213.2.0/30 inside this test's namespaces.
. "$TESTLIB"
need_root
command -v nginx >/dev/null 2>&1 || skip "needs nginx (apt-get install nginx-light or nginx)"
command -v nft >/dev/null 2>&1 || skip "needs nft (nftables)"
command -v script >/dev/null 2>&1 || skip "needs script (util-linux)"
[ -x "$HELPERS/connect-burst" ] || skip "helper connect-burst not built (make check builds it)"
. "$TOP_SRCDIR/tests/lib-servers.sh"

make_ns srv syn-srv
make_ns cli syn-cli
ip -n "$srv" link add nk0 type veth peer name nk1 netns "$cli" 2>"$T/pair.err" ||
	skip "cannot join two namespaces with veth: $(cat "$T/pair.err")"
ip -n "$srv" addr add 10.213.2.1/30 dev nk0
ip -n "$cli" addr add 10.213.2.2/30 dev nk1
ip -n "$srv" link set nk0 up
ip -n "$cli" link set nk1 up
in_ns "$cli" nft "add table inet nk; add chain inet nk in { type filter hook input priority 0; };
	add rule inet nk in tcp flags & (syn | ack) == syn | ack drop" 2>"$T/nft.err" ||
	skip "nftables refused the rule: $(cat "$T/nft.err")"
in_ns "$srv" sysctl -qw net.ipv4.tcp_syncookies=0 net.ipv4.tcp_max_syn_backlog=128
nginx_conf "$T/ngx" "10.213.2.1:80; listen 10.213.2.1:81 backlog=64; listen 10.213.2.1:82" 1
start_nginx "$srv" "$T/ngx" 1 || finish

# attempts PORT N OUT: N connects held open (their SYNs retransmitted) in
# a window of 3 s, whose facts go to OUT
attempts() {
	window "$3" "$NETKNOBS" --netns "$srv" facts --sample 3s --json
	spawn "$T/cb" "$cli" "$HELPERS/connect-burst" -w 0 10.213.2.1 "$1" "$2"
	cb=$LAST_PID
	wait "$NKW" || fail "window on port $1 failed"
	# the half-open connections as ss counts them, at the end
	SS_SYN=$(in_ns "$srv" ss -Htan state syn-recv "sport = :$1" | grep -c . || true)
	kill "$cb" 2>/dev/null || true
}
peak() { jq -r --argjson p "$2" ".sockets.listeners[] | select(.port == \$p) | $3" "$1"; }
delta() { jq -r ".sample.deltas.TcpExt.$2 // 0" "$1"; }

# ---------------------------------------------------------------- 1
attempts 80 300 "$T/s1.json"
check_eq "1: the accept queue stayed empty: peak 0 of 511" "0 511" "$(peak "$T/s1.json" 80 '"\(.peak.queue) \(.limit)"')"
check_eq "1: SYN_RECV peaked at the early-drop threshold 128 - 128/4 + 1, as ss shows" "97 97" \
	"$(peak "$T/s1.json" 80 .peak.syn_recv) $SS_SYN"
check_eq "1: no accept-queue overflow, no full SYN queue" "0 0" \
	"$(delta "$T/s1.json" ListenOverflows) $(delta "$T/s1.json" TCPReqQFullDrop)"
ld=$(delta "$T/s1.json" ListenDrops)
check_match "1: the 203 refused SYNs (and their retransmissions) are ListenDrops: $ld" '^(2[0-9][0-9]|[3-9][0-9][0-9]|[1-9][0-9]{3})$' "$ld"
check_eq "1: the listener's drops count them, and more" "true" \
	"$(peak "$T/s1.json" 80 ".peak.drops >= $ld and .peak.overflowed")"

# ---------------------------------------------------------------- 2
in_ns "$srv" sysctl -qw net.ipv4.tcp_max_syn_backlog=4096
attempts 81 300 "$T/s2.json"
check_eq "2: backlog 64: the SYN queue peaked at 65 (limit + 1), the accept queue empty" "65 0 64" \
	"$(peak "$T/s2.json" 81 '"\(.peak.syn_recv) \(.peak.queue) \(.limit)"')"
rq=$(delta "$T/s2.json" TCPReqQFullDrop)
check_match "2: the drops are TCPReqQFullDrop: $rq" '^[1-9][0-9]{2,}$' "$rq"
check_eq "2: every ListenDrop a full SYN queue, no ListenOverflows" "$rq 0" \
	"$(delta "$T/s2.json" ListenDrops) $(delta "$T/s2.json" ListenOverflows)"

# ---------------------------------------------------------------- 3
if in_ns "$srv" tc qdisc add dev nk0 root tbf rate 1mbit burst 1600 latency 1s 2>"$T/tc.err"; then
	in_ns "$cli" nft flush ruleset
	in_ns "$srv" sysctl -qw net.ipv4.tcp_max_syn_backlog=128
	# the early drop spares peers the kernel has seen complete a handshake
	in_ns "$srv" ip tcp_metrics flush all 2>/dev/null || true
	window "$T/s3.json" "$NETKNOBS" --netns "$srv" facts --sample 1500ms --interval 10ms --json
	in_ns "$cli" "$HELPERS/connect-burst" -x -w 0 10.213.2.1 82 300 >/dev/null
	wait "$NKW" || fail "3: window failed"
	ld=$(delta "$T/s3.json" ListenDrops)
	check_match "3: the burst met the early drop: ListenDrops $ld" '^[1-9][0-9]+$' "$ld"
	check_eq "3: ... and no accept-queue overflow (the first handshakes complete)" "0 true" \
		"$(delta "$T/s3.json" ListenOverflows) $(peak "$T/s3.json" 82 '.peak.queue < .limit')"
	check_match "3: request sockets counted early as the drops rose" '^[1-9]' \
		"$(jq '.sample.syn_recv_early' "$T/s3.json")"
	check_match "3: the SYN queue seen although it drained within 60 ms" '^[1-9][0-9]$' \
		"$(peak "$T/s3.json" 82 .peak.syn_recv)"
else
	echo "SKIP: 3: no tbf qdisc: $(cat "$T/tc.err")"
fi

finish
