#!/bin/sh
# UDP receive buffers on the real kernel, in network namespaces:
#   a. four receivers that do not read (or too slowly), flooded over
#      loopback: one cut down by net.core.rmem_max (it asks for 100 MB), one
#      with the default buffer, one with its own small buffer reading one
#      datagram every 20 ms, one stopped; each named with its process and
#      drops, with the advice of its cause; an IPv6 one too
#   b. a sampling window while a flood goes on: the drops per second
#   c. the receivers gone: the counters since boot are a notice; with netlink
#      refused, the sockets from /proc/net/udp
#   d. a healthy namespace with UDP servers: quiet
#   e. tcp_rmem lowered in a namespace: a warning, naming no file
#   f. --all-netns: listeners --udp lists the UDP sockets of every
#      namespace with a NAMESPACE column and their processes, and the audit
#      of every namespace names the process of a full buffer
. "$TESTLIB"
need_root
H=$HELPERS


HOST_RMEM=$(cat /proc/sys/net/ipv4/tcp_rmem)
make_ns ns a
rmax=$(in_ns "$ns" cat /proc/sys/net/core/rmem_max)
rdef=$(in_ns "$ns" cat /proc/sys/net/core/rmem_default)

# ---------------------------------------------------------------- a
spawn "$T/capped" "$ns" "$H/udp-hold" -n capped -b 100000000 0
P_CAP=$LAST_PID
spawn "$T/nobuf" "$ns" "$H/udp-hold" -n nobuf 0
P_DEF=$LAST_PID
spawn "$T/slow" "$ns" "$H/udp-hold" -n slowpoke -b 65536 -r 5000 0
P_SLOW=$LAST_PID
spawn "$T/stopped" "$ns" "$H/udp-hold" -n sleepy -b 65536 0
P_STOP=$LAST_PID
spawn "$T/six" "$ns" "$H/udp-hold" -6 -n nobuf6 0
P_SIX=$LAST_PID
cap=$(wait_udp "$T/capped") def=$(wait_udp "$T/nobuf") slow=$(wait_udp "$T/slow")
stop=$(wait_udp "$T/stopped") six=$(wait_udp "$T/six")
kill -STOP "$P_STOP"
i=0
until [ "$(state "$P_STOP")" = T ]; do i=$((i + 1)); [ "$i" -le 500 ] || break; sleep 0.01; done

flood "$ns" 127.0.0.1 "$cap" $((rmax * 2))
flood "$ns" 127.0.0.1 "$def" "$rdef"
flood "$ns" 127.0.0.1 "$slow" 131072
flood "$ns" 127.0.0.1 "$stop" 131072
flood "$ns" ::1 "$six" "$rdef"

check_exit "a: facts" 0 in_ns "$ns" "$NETKNOBS" facts --json
cp "$T/out" "$T/a.json"
sock() { jq -r --argjson p "$1" "[.sockets.udp[] | select(.port == \$p)][0] | $2" "$T/a.json"; }
check_eq "a: source netlink" netlink "$(jq -r .sockets.udp_stats.source "$T/a.json")"
check_eq "a: the kernel doubled and capped 100 MB at twice rmem_max" $((rmax * 2)) "$(sock "$cap" .rcvbuf)"
check_eq "a: no SO_RCVBUF: rmem_default" "$rdef" "$(sock "$def" .rcvbuf)"
check_eq "a: SO_RCVBUF 65536 doubled" 131072 "$(sock "$slow" .rcvbuf)"
check_eq "a: IPv6 socket, default buffer" "ipv6 $rdef" "$(sock "$six" '"\(.family) \(.rcvbuf)"')"
for p in "$cap:capped:$P_CAP" "$def:nobuf:$P_DEF" "$slow:slowpoke:$P_SLOW" "$stop:sleepy:$P_STOP" "$six:nobuf6:$P_SIX"; do
	port=${p%%:*} rest=${p#*:}
	check_eq "a: port $port named with its process" "${rest%%:*} ${rest#*:}" \
		"$(sock "$port" '"\(.processes[0].comm) \(.processes[0].pid)"')"
	check_eq "a: port $port dropped datagrams and is nearly full" true \
		"$(sock "$port" '.drops > 0 and .queue * 100 >= .rcvbuf * 90')"
done
check_eq "a: the stopped one's state" stopped "$(sock "$stop" '.processes[0].state')"

set +e
in_ns "$ns" "$NETKNOBS" audit --only udp --format json >"$T/a-audit.json"
rc=$?
set -e
check_eq "a: critical -> exit 2" 2 "$rc"
msg() { jq -r --arg s "$1" '[.findings[] | select(.rule == "buffers.udp-full" and .subject == $s) | .message][0] // ""' "$T/a-audit.json"; }
check_eq "a: every receiver full and dropping" \
	"$(printf '0.0.0.0:%s\n' "$cap" "$def" "$slow" "$stop" | sort | tr '\n' ' ')[::]:$six " \
	"$(jq -r '[.findings[] | select(.rule == "buffers.udp-full") | .subject] | sort | join(" ")' "$T/a-audit.json") "
if [ "$rmax" -lt 67108864 ]; then
	check_match "a: cut down by rmem_max: raise it and restart" \
		"\\(capped, PID $P_CAP\\).*exactly twice net.core.rmem_max \\($rmax\\).*capped asked for at least $rmax bytes.*restart capped" \
		"$(msg "0.0.0.0:$cap")"
else
	pass "a: rmem_max is already $rmax: the capped receiver is judged too slow"
fi
check_match "a: the default buffer: it never set one" \
	"\\(nobuf, PID $P_DEF\\).*net.core.rmem_default \\($rdef\\): nobuf never set one" "$(msg "0.0.0.0:$def")"
check_match "a: its own buffer: too slow" "slowpoke's own choice.*does not read fast enough" "$(msg "0.0.0.0:$slow")"
check_match "a: stopped: nobody reads, let it run" "Nobody reads it.*kill -CONT $P_STOP" "$(msg "0.0.0.0:$stop")"
check_match "a: IPv6" "\\[::\\]:$six \\(nobuf6, PID $P_SIX\\)" "$(msg "[::]:$six")"
check_eq "a: no buffer to raise for the stopped one" "" "$(msg "0.0.0.0:$stop" | grep -o 'Raise [a-z.]*' || true)"
in_ns "$ns" "$NETKNOBS" audit --only buffers --format json >"$T/a-all.json" || true
check_match "a: the namespace's counter: happening now" 'happening now: a socket.s buffer is full now' \
	"$(jq -r '[.findings[] | select(.rule == "buffers.udp-rcvbuf-errors") | .message][0]' "$T/a-all.json")"
check_exit "a: listeners --udp" 0 in_ns "$ns" "$NETKNOBS" listeners --udp
check_match "a: listeners --udp names the stopped receiver" "0\\.0\\.0\\.0:$stop .* sleepy\\[$P_STOP\\] stopped" "$(cat "$T/out")"
for c in capped nobuf slowpoke nobuf6; do
	check_match "a: listeners --udp names $c" " $c\\[[0-9]+\\] " "$(cat "$T/out")"
done
check_exit "a: listeners --udp --json" 0 in_ns "$ns" "$NETKNOBS" listeners --udp --json
check_eq "a: JSON sorted by fill" true "$(jq '[.udp[].fill_percent] | . == (sort | reverse)' "$T/out")"

# ---------------------------------------------------------------- b
# the default receiver stays full while a flood goes on: the window counts
( while :; do in_ns "$ns" "$H/udp-flood" 127.0.0.1 "$def" 200 >/dev/null 2>&1 || exit 0; done ) &
FLOOD=$!
NK_PIDS="$NK_PIDS $FLOOD"
set +e
in_ns "$ns" "$NETKNOBS" audit --only buffers --sample 1s --format json >"$T/b.json"
set -e
kill "$FLOOD" 2>/dev/null || true
wait "$FLOOD" 2>/dev/null || true
check_match "b: the drops during the window, per second" \
	'and it is happening now: [0-9]+ during the [0-9]+ ms sampling window \(about [0-9]+ a second\)' \
	"$(jq -r '[.findings[] | select(.rule == "buffers.udp-rcvbuf-errors") | .message][0]' "$T/b.json")"

# ---------------------------------------------------------------- c
# the stopped receiver runs again and is gone, the others are gone: only the
# counters since boot remain, as a notice
kill -CONT "$P_STOP"
for p in $P_CAP $P_DEF $P_SLOW $P_STOP $P_SIX; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
spawn "$T/fresh" "$ns" "$H/udp-hold" -n fresh 0
fresh=$(wait_udp "$T/fresh")
set +e
in_ns "$ns" "$NETKNOBS" audit --only buffers --format json >"$T/c.json"
rc=$?
set -e
check_eq "c: drops since boot only: exit 0" 0 "$rc"
check_eq "c: buffers.counters-past, a notice" notice \
	"$(jq -r '[.findings[] | select(.rule == "buffers.counters-past") | .severity][0]' "$T/c.json")"
check_eq "c: the new socket is quiet" "" \
	"$(jq -r --arg s "0.0.0.0:$fresh" '.findings[] | select(.subject == $s) | .rule' "$T/c.json")"

# netlink refused (a sandbox): the UDP sockets from /proc/net/udp, said so
set +e
in_ns "$ns" "$H/deny-netlink" "$NETKNOBS" facts --json >"$T/c-proc.json" 2>"$T/c-proc.err"
rc=$?
set -e
if [ "$rc" = 77 ]; then
	pass "c: netlink refused: seccomp filter unknown on this architecture"
else
	check_eq "c: netlink refused: UDP from /proc/net/udp" proc "$(jq -r .sockets.udp_stats.source "$T/c-proc.json")"
	check_eq "c: netlink refused: the fresh socket with its owner and drops, no buffer size" "fresh 0 null" \
		"$(jq -r --argjson p "$fresh" '.sockets.udp[] | select(.port == $p) | "\(.processes[0].comm) \(.drops) \(.rcvbuf)"' "$T/c-proc.json")"
	check_match "c: netlink refused: noted" 'UDP netlink dump refused' "$(jq -r '.notes[]' "$T/c-proc.json")"
fi

# ---------------------------------------------------------------- d
make_ns ok d
spawn "$T/quiet" "$ok" "$H/udp-hold" -n quietd 0
q=$(wait_udp "$T/quiet")
in_ns "$ok" "$H/udp-flood" 127.0.0.1 "$q" 20 >/dev/null
# a new namespace copies the host's tcp_rmem and tcp_wmem: give it the
# kernel's values if the host lowered them, so that only what this test
# built is judged
in_ns "$ok" "$NETKNOBS" audit --only buffers --format json >"$T/d0.json" || true
for k in net.ipv4.tcp_rmem net.ipv4.tcp_wmem; do
	v=$(jq -r --arg k "$k" '.recommendations[] | select(.key == $k) | .value | map(tostring) | join(" ")' "$T/d0.json")
	[ -z "$v" ] || in_ns "$ok" sysctl -qw "$k=$v"
done
# rmem_max and friends are the host's (read-only here): lowered there, they
# are the host's finding
host_low=$(for k in rmem_max rmem_default wmem_max wmem_default; do
	[ "$(cat /proc/sys/net/core/$k)" -ge 212992 ] || echo "$k"; done)
in_ns "$ok" "$NETKNOBS" audit --only buffers --format json >"$T/d.json" || true
in_ns "$ok" "$NETKNOBS" facts --json >"$T/d-facts.json"
check_eq "d: a healthy namespace: the UDP socket listed, no drops" "quietd 0" \
	"$(jq -r --argjson p "$q" '.sockets.udp[]? | select(.port == $p) | "\(.processes[0].comm) \(.drops)"' "$T/d-facts.json")"
if [ -z "$host_low" ]; then
	check_eq "d: a healthy namespace: no buffers finding" "" "$(jq -r '.findings[] | .rule' "$T/d.json" | tr '\n' ' ')"
else
	check_eq "d: a healthy namespace: only the host's lowered core buffers" "" \
		"$(jq -r '.findings[] | .rule' "$T/d.json" | grep -v -e buffers.rmem-lowered -e buffers.wmem-lowered | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- e
make_ns low e
in_ns "$low" sysctl -qw "net.ipv4.tcp_rmem=4096 87380 16777216"
set +e
in_ns "$low" "$NETKNOBS" audit --only buffers --format json >"$T/e.json"
rc=$?
set -e
check_eq "e: tcp_rmem lowered: a warning, exit 1" "warning 1" \
	"$(jq -r '[.findings[] | select(.rule == "buffers.tcp-rmem-lowered") | .severity][0]' "$T/e.json") $rc"
check_match "e: below the kernel's start value, in this namespace" \
	'start with a receive buffer of 87380 bytes instead of 131072.*This network namespace.s value' \
	"$(jq -r '[.findings[] | select(.rule == "buffers.tcp-rmem-lowered") | .message][0]' "$T/e.json")"
check_eq "e: the host's tcp_rmem untouched" "$HOST_RMEM" "$(cat /proc/sys/net/ipv4/tcp_rmem)"

# ---------------------------------------------------------------- f
make_ns fa fa
make_ns fb fb
spawn "$T/fa" "$fa" "$H/udp-hold" -n floodf -a 127.0.0.1 0
P_FA=$LAST_PID
pa=$(wait_udp "$T/fa")
spawn "$T/fb" "$fb" "$H/udp-hold" -n quietf -a 127.0.0.1 0
P_FB=$LAST_PID
pb=$(wait_udp "$T/fb")
flood "$fa" 127.0.0.1 "$pa" "$(in_ns "$fa" cat /proc/sys/net/core/rmem_default)"
"$NETKNOBS" listeners --udp --all-netns >"$T/f.txt"
check_match "f: the text has a NAMESPACE column" '^NAMESPACE +UDP +QUEUE/RCVBUF' "$(head -1 "$T/f.txt")"
check_match "f: the flooded socket on its namespace's row, with its process" \
	"^$fa +127\\.0\\.0\\.1:$pa .* floodf\\[$P_FA\\]" "$(cat "$T/f.txt")"
check_match "f: the other namespace's socket, with its process" \
	"^$fb +127\\.0\\.0\\.1:$pb .* quietf\\[$P_FB\\]" "$(cat "$T/f.txt")"
"$NETKNOBS" listeners --udp --all-netns --json >"$T/f.json"
check_eq "f: JSON: each namespace's UDP sockets with their owners" "$P_FA $P_FB" \
	"$(jq -r --arg a "$fa" --arg b "$fb" --argjson pa "$pa" --argjson pb "$pb" '
		[(.namespaces[] | select(.netns.name == $a) | .udp.udp[] | select(.port == $pa) | .processes[0].pid),
		 (.namespaces[] | select(.netns.name == $b) | .udp.udp[] | select(.port == $pb) | .processes[0].pid)]
		| map(tostring) | join(" ")' "$T/f.json")"
check_eq "f: without --udp, no UDP socket is listed" "" \
	"$("$NETKNOBS" listeners --all-netns | grep -E "127\\.0\\.0\\.1:($pa|$pb) " || true)"
"$NETKNOBS" audit --all-netns --only buffers --json >"$T/f-audit.json" || true
check_match "f: the audit of every namespace names the full buffer's process" "\\(floodf, PID $P_FA\\)" \
	"$(jq -r --arg a "$fa" --arg s "127.0.0.1:$pa" '.namespaces[] | select(.netns.name == $a) | .audit.findings[]
		| select(.rule == "buffers.udp-full" and .subject == $s) | .message' "$T/f-audit.json")"
finish
