#!/bin/sh
# A SYN queue that fills and drains between two counts of a sampling
# window, on the real kernel: nginx in a server namespace with SYN cookies
# off and tcp_max_syn_backlog 128, a client namespace over veth whose
# SYN-ACKs leave the server at 1 Mbit/s (tbf) and whose connect()s are
# closed at once, so that every SYN-ACK is answered with a reset: the 97
# half-open handshakes the early drop lets in are gone within about 60 ms,
# and the other SYNs of the burst are dropped (ListenDrops, neither
# ListenOverflows nor TCPReqQFullDrop).  Counted every 100 ms only, the
# queue was missed (peak.syn_recv 0 next to the drops); the reading that sees
# the listener's drop counter risen counts the request sockets at once
# (sample.syn_recv_early) and finds it.  The steady cases (the early drop
# at 97, a full SYN queue at limit + 1) are in servers-syn.sh.
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
srv_need nginx tc script
[ -x "$HELPERS/connect-burst" ] || skip "helper connect-burst not built (make check builds it)"

P=80
make_ns ns syn-srv
make_ns cli syn-cli
srv_veth "$ns" "$cli" || skip "cannot join two namespaces with veth"
in_ns "$ns" tc qdisc add dev nks0 root tbf rate 1mbit burst 1600 latency 1s 2>"$T/tc.err" ||
	skip "no tbf qdisc: $(cat "$T/tc.err")"
srv_sysctl "$ns" net.ipv4.tcp_syncookies=0 net.ipv4.tcp_max_syn_backlog=128
srv_nginx "$ns" "$SRV_ADDR" "$P" workers=1 || finish
# the early drop spares peers the kernel has seen complete a handshake
in_ns "$ns" ip tcp_metrics flush all 2>/dev/null || true

srv_window "$T/s.json" --netns "$ns" facts --sample 1500ms --interval 10ms --json ||
	fail "the window did not start"
in_ns "$cli" "$HELPERS/connect-burst" -x -w 0 "$SRV_ADDR" "$P" 300 >/dev/null
wait "$NKW" || fail "the window failed"

delta() { jq -r ".sample.deltas.TcpExt.$1 // 0" "$T/s.json"; }
peak() { jq -r --argjson p "$P" ".sockets.listeners[] | select(.port == \$p) | $1" "$T/s.json"; }
ld=$(delta ListenDrops)
check_match "the burst met the early drop: ListenDrops $ld" '^[1-9][0-9]+$' "$ld"
check_eq "no accept-queue overflow, no full SYN queue (the first handshakes complete)" "0 0 true" \
	"$(delta ListenOverflows) $(delta TCPReqQFullDrop) $(peak '.peak.queue < .limit')"
check_match "request sockets counted early as the drops rose" '^[1-9]' "$(jq '.sample.syn_recv_early' "$T/s.json")"
check_match "the SYN queue seen although it drained within 60 ms" '^[1-9][0-9]$' "$(peak .peak.syn_recv)"
finish
