#!/bin/sh
# redis-server, nginx and memcached from their Debian packages, each
# scenario in its own network namespace:
#   b. a clamp by somaxconn: somaxconn 128, Redis tcp-backlog 511, nginx's
#      default backlog 511, memcached -b 1024: every limit is 128, and Redis
#      itself warns at its start; then fix --apply in the namespace raises
#      somaxconn and names the three to restart, a second run changes
#      nothing, a third turns SYN cookies back on
#   g. one listener's drops next to a harmless one (server and client
#      namespaces joined by veth): nginx with a stopped worker overflows under
#      wrk; Redis only sees the retransmitted SYNs of handshakes whose
#      SYN-ACKs the client drops, which its socket counts as drops too
# The checks marked PENDING run with SERVERS_PENDING=1 (see
# tests/servers.sh); SERVERS_CAPTURE=DIR saves the facts and audits.
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
srv_need redis-server nginx memcached wrk nft ss nstat

# ---------------------------------------------------------------- b
scen_b() {
	make_ns ns b
	srv_sysctl "$ns" net.core.somaxconn=128
	srv_redis "$ns" 127.0.0.1 6379 511 || return 0
	B_REDIS=$SRV_PID
	B_RLOG="$SRV_DIR/redis.log"
	srv_nginx "$ns" 127.0.0.1 8080 workers=1 || return 0
	srv_memcached "$ns" 127.0.0.1 11211 1024 || return 0
	check_match "b: Redis warns at its start, naming 511 and 128" \
		"TCP backlog setting of 511 cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of 128" \
		"$(cat "$B_RLOG")"
	for p in 6379 8080 11211; do
		check_eq "b: the kernel: port $p limited to 128" "0 128" "$(srv_ss "$ns" "$p" | awk '{ print $1, $2 }')"
	done
	srv_capture b "$ns"
	f=$CAP.facts.json
	check_eq "b: facts: the three limits and somaxconn" "128 128 128 128" \
		"$(jq -r '[(.sockets.listeners | sort_by(.port)[] | .limit), .sysctl["net.core.somaxconn"]] | map(tostring) | join(" ")' "$f")"
	check_eq "b: facts: the owners" "redis-server nginx memcached" \
		"$(jq -r '[.sockets.listeners | sort_by(.port)[] | .processes[0].comm] | join(" ")' "$f")"
	a=$CAP.audit.json
	check_eq "b: somaxconn-low" notice "$(finding "$a" backlog.somaxconn-low net.core.somaxconn)"
	check_eq "b: the advice: somaxconn at least 4096" "4096 at-least" \
		"$(jq -r '.recommendations[] | select(.key == "net.core.somaxconn") | "\(.value) \(.mode)"' "$a")"
	check_eq "b: no advice to raise an application's backlog" "" \
		"$(all_messages "$a" | grep -F "raise the application's own backlog" || true)"
	pending_b
	# fix --apply in the namespace (the drop-in in the test's directory):
	# somaxconn 128 -> 4096 names the three listeners to restart
	fixit() {
		set +e
		"$NETKNOBS" --netns "$ns" fix --apply --output "$T/90-netknobs.conf" >"$T/fix$1.out" 2>"$T/fix$1.err"
		echo $? >"$T/fix$1.rc"
		set -e
		[ -z "${SERVERS_CAPTURE:-}" ] || cp "$T/fix$1.out" "$SERVERS_CAPTURE/b-fix$1.txt"
	}
	# and a reuseport group of two sockets, also at 128
	srv_nginx "$ns" 127.0.0.1 8443 workers=2 reuseport || return 0
	fixit 1
	check_eq "b: fix --apply: exit 0" 0 "$(cat "$T/fix1.rc")"
	check_match "b: fix --apply: somaxconn set" '^set net.core.somaxconn = 4096 \(was 128\)$' "$(cat "$T/fix1.out")"
	check_eq "b: fix --apply: set in the namespace" 4096 "$(ip netns exec "$ns" cat /proc/sys/net/core/somaxconn)"
	for sp in "127.0.0.1:6379 redis-server" "127.0.0.1:8080 nginx" "127.0.0.1:11211 memcached"; do
		check_match "b: fix --apply names ${sp#* } to restart" \
			"^  ${sp% *} +limit 128 +${sp#* } \\(pid [0-9]+\\).*\\[at the old somaxconn\\]" "$(cat "$T/fix1.out")"
	done
	check_eq "b: fix --apply names the reuseport group once, with its sockets" \
		"  127.0.0.1:8443 (2 sockets)  limit 128" "$(grep -E '^  127\.0\.0\.1:8443' "$T/fix1.out" | sed 's/  nginx.*//')"
	# an application that asked for exactly 128 looks the same: not said
	# to be capped as a fact
	check_eq "b: fix --apply: the old somaxconn is not stated as the cause" "" \
		"$(grep -F 'capped by the old somaxconn' "$T/fix1.out" || true)"
	check_match "b: fix --apply: says that one asking for exactly 128 keeps it" \
		"one that asks for exactly 128 keeps it" "$(cat "$T/fix1.out")"
	check_eq "b: the kernel: the listeners keep 128 until they listen again" "128 128 128" \
		"$(for p in 6379 8080 11211; do srv_ss "$ns" "$p" | awk '{ printf "%s ", $2 }'; done | sed 's/ $//')"
	# again: nothing changes
	fixit 2
	check_match "b: fix --apply again: nothing to set" 'is up to date' "$(cat "$T/fix2.out")"
	# SYN cookies off and a small tcp_max_syn_backlog: fix --apply turns
	# the cookies on; somaxconn does not change
	srv_sysctl "$ns" net.ipv4.tcp_syncookies=0 net.ipv4.tcp_max_syn_backlog=128
	fixit 3
	check_match "b: fix --apply: SYN cookies on" '^set net.ipv4.tcp_syncookies = 1 \(was 0\)$' "$(cat "$T/fix3.out")"
	check_eq "b: fix --apply: somaxconn not set again" "" "$(grep '^set net.core.somaxconn' "$T/fix3.out" || true)"
	pending_b_fix
}
pending_b_fix() {
	for n in 2 3; do
		check_eq "b: fix --apply $n: somaxconn did not change, no listener named" "" \
			"$(grep -E '^  127\.0\.0\.1:' "$T/fix$n.out" || true)"
	done
	check_eq "b: fix --apply 3: no tcp_max_syn_backlog next to syncookies=1 (no effect then)" "" \
		"$(grep '^set net.ipv4.tcp_max_syn_backlog' "$T/fix3.out" || true)"
}
pending_b() {
	a="$T/cap/b.audit.json"
	for sp in "127.0.0.1:6379 redis-server" "127.0.0.1:8080 nginx" "127.0.0.1:11211 memcached"; do
		s=${sp% *} o=${sp#* }
		check_eq "b: $s held at somaxconn 128 is a warning" warning \
			"$(jq -r --arg s "$s" '[.findings[] | select(.subject == $s) | .severity][0] // "none"' "$a")"
		check_match "b: the warning on $s names $o and 128" "$o.*128|128.*$o" \
			"$(jq -r --arg s "$s" '.findings[] | select(.subject == $s) | .message' "$a")"
	done
	check_eq "b: audit exit 1" 1 "$(cat "$T/cap/b.audit.rc")"
}

# ---------------------------------------------------------------- g
harmless_drops() { [ "$(srv_ss "$ns" 6379 | awk '{ print $4 }')" -ge "$1" ]; }
scen_g() {
	make_ns ns g-srv
	make_ns cli g-cli
	srv_veth "$ns" "$cli" || { fail "g: veth pair"; return 0; }
	srv_redis "$ns" "$SRV_ADDR" 6379 511 || return 0
	srv_nginx "$ns" "$SRV_ADDR" 8080 workers=1 backlog=32 || return 0
	w=$(srv_children "$SRV_PID")
	A="$SRV_ADDR:6379" B="$SRV_ADDR:8080"
	# A: five handshakes whose SYN-ACKs the client drops; their SYNs come
	# again after a second and A's socket counts each as a drop
	srv_drop_synack "$cli" 6379 || { fail "g: nftables in the client namespace"; return 0; }
	spawn "$T/g.burst" "$cli" "$HELPERS/connect-burst" -w 3600000 "$SRV_ADDR" 6379 5
	# B: a stopped worker, wrk's connections overflow its queue of 32
	srv_stop "$w"
	srv_wrk "$T/g.wrk" "$cli" "http://$B/" 100 1s || true
	poll_until 10 harmless_drops 5 || fail "g: Redis's socket counted the retransmitted SYNs"
	srv_capture g "$ns"
	f=$CAP.facts.json
	check_eq "g: facts: A (Redis) has 5 half-open handshakes, an empty queue and drops" "0 511 5 true" \
		"$(lst "$f" 6379 '"\(.queue) \(.limit) \(.syn_recv) \(.drops >= 5)"')"
	check_eq "g: facts: B (nginx) overflowed: queue 33 of 32" "33 32 true" \
		"$(lst "$f" 8080 '"\(.queue) \(.limit) \(.drops > 0)"')"
	check_eq "g: facts: the namespace counts B's overflows, no SYN-queue drops" "true 0" \
		"$(jq -r '.counters.TcpExt | "\(.ListenOverflows > 0 and .ListenDrops == .ListenOverflows) \(.TCPReqQFullDrop)"' "$f")"
	a=$CAP.audit.json
	check_eq "g: B's queue is full" critical "$(finding "$a" backlog.queue-full "$B")"
	check_match "g: queue-full names nginx" "^$B \\(nginx\\) has 33 connections waiting" "$(finding_msg "$a" backlog.queue-full "$B")"
	check_eq "g: no queue-full on A" none "$(finding "$a" backlog.queue-full "$A")"
	# B's drops are said with its full queue (queue-full, and listen-overflows:
	# evidence of now), not again as drops since its socket was opened
	check_eq "g: B's drops: the full queue says them, no second finding" none "$(finding "$a" backlog.listener-drops "$B")"
	check_eq "g: the overflows are happening now: a warning" warning "$(finding "$a" backlog.listen-overflows TcpExt.ListenOverflows)"
	G_A=$A G_B=$B
	pending_g
}
pending_g() {
	a="$T/cap/g.audit.json"
	check_eq "g: A (Redis), judged on its own evidence, has no warning" "" \
		"$(jq -r --arg s "$G_A" '.findings[] | select(.subject == $s and (.severity == "warning" or .severity == "critical")) | .rule' "$a")"
	check_eq "g: no advice to raise Redis's backlog" "" \
		"$(jq -r --arg s "$G_A" '.findings[] | select(.subject == $s) | .message' "$a" | grep -F "raise the application's own backlog" || true)"
}

for s in ${SERVERS_ONLY:-b g}; do
	case $s in
	b | g) "scen_$s" ;;
	*) ;;
	esac
	srv_cleanup
done
finish
