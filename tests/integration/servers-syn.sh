#!/bin/sh
# The SYN side, with nginx from its Debian package in a server namespace
# and a client namespace joined by veth, whose nftables drop every SYN-ACK
# (the handshakes stay half-open), SYN cookies off:
#   d.  tcp_max_syn_backlog 128, nginx's backlog 511, 300 connection
#       attempts: the early drop stops the SYN queue at 128 - 128/4 + 1 = 97
#   d2. tcp_max_syn_backlog 4096, nginx backlog=64: the SYN queue fills at
#       65 and the rest are dropped (TcpExt.TCPReqQFullDrop)
# In both the accept queue stays empty: whatever netknobs says must be about
# the SYN side. The checks marked PENDING run with SERVERS_PENDING=1 (see
# tests/servers.sh); SERVERS_CAPTURE=DIR saves the facts and audits.
# The connection attempts come from tests/helpers/connect-burst: ab and wrk
# connect once and wait for that connection before opening the others, so
# behind a client that drops SYN-ACKs they never get past the first.
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
srv_need nginx nft ss nstat
[ -x "$HELPERS/connect-burst" ] || skip "helper connect-burst not built (make check builds it)"

P=80

# syn_scenario NAME MAX_SYN_BACKLOG [NGINX-OPTIONS...]: the namespaces, nginx
# and 300 half-open connection attempts held open (their SYNs retransmitted)
syn_scenario() {
	_name=$1 _msb=$2
	shift 2
	make_ns ns "$_name-srv"
	make_ns cli "$_name-cli"
	srv_veth "$ns" "$cli" || { fail "$_name: veth pair"; return 1; }
	srv_drop_synack "$cli" || { fail "$_name: nftables in the client namespace"; return 1; }
	srv_sysctl "$ns" net.ipv4.tcp_syncookies=0 "net.ipv4.tcp_max_syn_backlog=$_msb"
	srv_nginx "$ns" "$SRV_ADDR" "$P" workers=1 "$@" || return 1
	S="$SRV_ADDR:$P"
}
# burst NAME: the 300 connection attempts, held open (their SYNs are
# retransmitted after 1, 3, 7 ... s)
burst() { spawn "$T/$1.burst" "$cli" "$HELPERS/connect-burst" -w 3600000 "$SRV_ADDR" "$P" 300; }

synrecv_is() { [ "$(srv_synrecv "$ns" "$P")" = "$1" ]; }
# dropped NS N: the namespace's ListenDrops reached N
dropped() { [ "$(srv_nstat "$1" TcpExtListenDrops)" -ge "$2" ]; }

# ---------------------------------------------------------------- d
scen_d() {
	syn_scenario d 128 || return 0
	# the attempts inside a window: 97 half-open handshakes stay (the early
	# drop), the other 203 SYNs are dropped at once, then again when they
	# are retransmitted
	srv_window_start d-sample "$ns" 3s
	burst d
	poll_until 10 synrecv_is 97 || fail "d: the SYN queue stops at 97: $(srv_synrecv "$ns" "$P")"
	poll_until 10 dropped "$ns" 203 || fail "d: 203 SYNs dropped"
	srv_window_end d-sample
	f=$CAP.facts.json
	check_eq "d: window: the accept queue stayed empty, the SYN queue peaked at 97" "0 97" \
		"$(lst "$f" "$P" '"\(.peak.queue) \(.peak.syn_recv)"')"
	check_eq "d: window: only ListenDrops moved, by the 203 refused and more" "0 0 true" \
		"$(jq -r '.sample.deltas.TcpExt | "\(.ListenOverflows) \(.TCPReqQFullDrop) \(.ListenDrops >= 203)"' "$f")"
	check_eq "d: window: the socket counted them" true "$(lst "$f" "$P" '.peak.drops >= 203 and .peak.overflowed')"
	check_eq "d: window: no accept-queue overflows in it" none \
		"$(finding "$CAP.audit.json" backlog.window-overflows TcpExt.ListenOverflows)"
	ovf=$(srv_nstat "$ns" TcpExtListenOverflows)
	qfd=$(srv_nstat "$ns" TcpExtTCPReqQFullDrop)
	check_eq "d: the kernel: no accept-queue overflow, no full SYN queue" "0 0" "$ovf $qfd"
	srv_capture d "$ns"
	ld=$(srv_nstat "$ns" TcpExtListenDrops)
	f=$CAP.facts.json
	check_eq "d: facts: queue 0, limit 511, SYN_RECV 97" "0 511 97" \
		"$(lst "$f" "$P" '"\(.queue) \(.limit) \(.syn_recv)"')"
	check_eq "d: facts: the counters" "0 0" \
		"$(jq -r '.counters.TcpExt | "\(.ListenOverflows) \(.TCPReqQFullDrop)"' "$f")"
	check_eq "d: facts: ListenDrops (early drops) at least the 203 refused" true \
		"$(jq --argjson n "$ld" '.counters.TcpExt.ListenDrops | . >= 203 and . <= $n' "$f")"
	check_eq "d: facts: the socket counted the drops" true \
		"$(lst "$f" "$P" '.drops >= 203')"
	a=$CAP.audit.json
	check_eq "d: syncookies-off" warning "$(finding "$a" backlog.syncookies-off net.ipv4.tcp_syncookies)"
	check_eq "d: syn-backlog-low" warning "$(finding "$a" backlog.syn-backlog-low net.ipv4.tcp_max_syn_backlog)"
	check_match "d: syn-backlog-low: the early drop at about 96, before the limit 511" \
		"holds about 96 half-open connections, before the largest listener limit here \\(511\\)" \
		"$(finding_msg "$a" backlog.syn-backlog-low net.ipv4.tcp_max_syn_backlog)"
	check_eq "d: the advice: SYN cookies on" 1 \
		"$(jq -r '.recommendations[] | select(.key == "net.ipv4.tcp_syncookies") | .value' "$a")"
	check_eq "d: no accept-side finding on the listener" "" \
		"$(jq -r --arg s "$S" '.findings[] | select(.subject == $s) | .rule' "$a" |
			grep -E 'queue-full|queue-high|app-backlog|listener-clamped' || true)"
	check_eq "d: no advice about nginx's backlog" "" \
		"$(all_messages "$a" | grep -F "raise the application's own backlog" || true)"
	check_eq "d: no accept-queue overflows since boot" none "$(finding "$a" backlog.listen-overflows TcpExt.ListenOverflows)"
	pending_d
}
pending_d() {
	for c in d d-sample; do
		check_eq "$c: tcp_max_syn_backlog is not advised together with syncookies=1 (no effect then)" "" \
			"$(jq -r '.recommendations[] | select(.key == "net.ipv4.tcp_max_syn_backlog") | .key' "$T/cap/$c.audit.json")"
	done
	a="$T/cap/d-sample.audit.json"
	m=$(jq -r --arg s "$S" '.findings[] | select(.subject == $s) | .message' "$a")
	check_eq "d-sample: no advice to raise nginx's backlog (the accept queue never filled)" "" \
		"$(printf '%s\n' "$m" | grep -F "raise the application's own backlog" || true)"
	check_match "d-sample: the window's finding on the listener gives the SYN-side advice" \
		"tcp_syncookies|tcp_max_syn_backlog" \
		"$(jq -r --arg s "$S" '.findings[] | select(.subject == $s and (.severity == "warning" or .severity == "critical")) | .message' "$a")"
}

# ---------------------------------------------------------------- d2
scen_d2() {
	syn_scenario d2 4096 backlog=64 || return 0
	srv_window_start d2-sample "$ns" 3s
	burst d2
	poll_until 10 synrecv_is 65 || fail "d2: the SYN queue fills at 65: $(srv_synrecv "$ns" "$P")"
	poll_until 10 dropped "$ns" 235 || fail "d2: 235 SYNs dropped"
	srv_window_end d2-sample
	f=$CAP.facts.json
	check_eq "d2: window: accept queue 0, SYN queue 65" "0 65" \
		"$(lst "$f" "$P" '"\(.peak.queue) \(.peak.syn_recv)"')"
	check_eq "d2: window: TCPReqQFullDrop (= ListenDrops) moved by the 235 refused and more, ListenOverflows did not" "0 true true" \
		"$(jq -r '.sample.deltas.TcpExt | "\(.ListenOverflows) \(.TCPReqQFullDrop >= 235) \(.ListenDrops == .TCPReqQFullDrop)"' "$f")"
	srv_capture d2 "$ns"
	f=$CAP.facts.json
	check_eq "d2: facts: queue 0, limit 64, SYN_RECV 65 (limit + 1)" "0 64 65" \
		"$(lst "$f" "$P" '"\(.queue) \(.limit) \(.syn_recv)"')"
	check_eq "d2: facts: full SYN queue drops, no accept-queue overflow" "0 true true" \
		"$(jq -r '.counters.TcpExt | "\(.ListenOverflows) \(.TCPReqQFullDrop >= 235) \(.ListenDrops == .TCPReqQFullDrop)"' "$f")"
	a=$CAP.audit.json
	check_eq "d2: syn-queue-drops" warning "$(finding "$a" backlog.syn-queue-drops TcpExt.TCPReqQFullDrop)"
	check_eq "d2: syncookies-off" warning "$(finding "$a" backlog.syncookies-off net.ipv4.tcp_syncookies)"
	check_eq "d2: no syn-backlog-low (4096 is enough)" none "$(finding "$a" backlog.syn-backlog-low net.ipv4.tcp_max_syn_backlog)"
	pending_d2
}
pending_d2() {
	a="$T/cap/d2-sample.audit.json"
	m=$(jq -r --arg s "$S" '.findings[] | select(.subject == $s) | .message' "$a")
	check_eq "d2-sample: the listener's finding does not call it an accept-queue overflow" "" \
		"$(printf '%s\n' "$m" | grep -F "raise the application's own backlog setting and restart it; raising somaxconn alone will not help" || true)"
	check_match "d2-sample: the listener's finding gives the SYN-side advice (SYN cookies)" \
		"tcp_syncookies" \
		"$(jq -r --arg s "$S" '.findings[] | select(.subject == $s and (.severity == "warning" or .severity == "critical")) | .message' "$a")"
}

for s in ${SERVERS_ONLY:-d d2}; do
	case $s in
	d | d2) "scen_$s" ;;
	*) ;;
	esac
	srv_cleanup
done
finish
