#!/bin/sh
# Advice on UDP receive buffers where it is easy to get wrong, on the real
# kernel in network namespaces:
#   a. a container (its own network and PID namespaces, so PID 1 shares its
#      network namespace): the socket cut down by net.core.rmem_max is told
#      to raise it on the host, and nothing recommends writing the key there,
#      where it is read-only; --all-netns does not call it the host
#   b. a receiver that asks for exactly net.core.rmem_max: its buffer is
#      twice rmem_max without being cut down, which the socket cannot tell
#      apart from a larger request: not stated as a cut
#   c. a receiver in uninterruptible sleep (D, a vfork() parent): no
#      "kill -CONT", which does not wake it, and the advice of its buffer
#   d. a connected (client) socket of a program named like a server: the
#      server's setting for its listening sockets is not named for it
#   e. more sockets dropping than the facts list (1024): the namespace's
#      finding does not give the listed ones as all that are full, and says
#      how many more dropped
#   f. tcp_rmem lowered in a namespace to the value a sysctl.d file sets:
#      the file is not said to set it there (sysctl.d applies to the host's
#      namespace at boot), it is named as the host's
#   g. a UDP-Lite receiver full and dropping (next to a UDP socket on the
#      same port): listed, judged and named as UDP-Lite, not "no UDP socket
#      is full now"
#   h. a sampling window: a reader that keeps up between bursts but drops
#      during them (not full at the window's end) dropped during the window:
#      a warning; one that dropped only before the window: the notice, with
#      none dropped during it
#   i. a small buffer (8 KiB) holding three 1000-byte datagrams, 84% full:
#      no fourth fits, so it is full and dropping now, not "nothing shows
#      that it drops now"
#   j. forked workers sharing one socket, the one that reads it stopped,
#      the parent sleeping: not all stopped, but the stopped one is named
. "$TESTLIB"
need_root
command -v unshare >/dev/null 2>&1 || skip "needs unshare (util-linux)"
H=$HELPERS

# finding FILE RULE SUBJECT FIELD
finding() {
	jq -r --arg r "$2" --arg s "$3" \
		"[.findings[] | select(.rule == \$r and .subject == \$s) | .$4][0] // \"\"" "$1"
}

# ---------------------------------------------------------------- a
make_ns ns a
rmax=$(in_ns "$ns" cat /proc/sys/net/core/rmem_max)
# the container: its own PID namespace (and /proc), the receiver and
# netknobs inside it
cat >"$T/container.sh" <<EOF
"$H/udp-hold" -n capped -b 100000000 0 >"$T/capped" 2>"$T/capped.err" &
i=0
until grep -q '^ready' "$T/capped" 2>/dev/null; do
	i=\$((i + 1)); [ \$i -le 200 ] || exit 1; sleep 0.05
done
port=\$(sed -n 's/^ready \([0-9]*\) .*/\1/p' "$T/capped")
"$H/udp-flood" -s 1000 127.0.0.1 "\$port" $((rmax * 4 / 1000 + 200)) >/dev/null
echo "\$port" >"$T/a.port"
"$NETKNOBS" facts --json >"$T/a-facts.json"
"$NETKNOBS" audit --only udp --format json >"$T/a.json"
"$NETKNOBS" facts --all-netns --json >"$T/a-all.json"
kill %1
EOF
in_ns "$ns" unshare --pid --fork --mount-proc sh "$T/container.sh" || true
port=$(cat "$T/a.port")
check_eq "a: in a container PID 1 shares the namespace, but it is not the host's" "false host-only-sysctl" \
	"$(jq -r '"\(.host.netns.initial) \(.host.netns.method)"' "$T/a-facts.json")"
check_eq "a: --all-netns in the container: its namespace is not the host's" "false named" \
	"$(jq -r '.namespaces[] | .netns | select(.self) | "\(.initial) \(.kind)"' "$T/a-all.json")"
check_eq "a: the receiver is found in the container" capped \
	"$(jq -r --argjson p "$port" '.sockets.udp[] | select(.port == $p) | .processes[0].comm' "$T/a-facts.json")"
if [ "$rmax" -lt 67108864 ]; then
	check_match "a: cut down by rmem_max: raise it on the host" \
		'Raise net.core.rmem_max to at least [0-9]+ on the host \(it is read-only in this network namespace\)' \
		"$(finding "$T/a.json" buffers.udp-full "0.0.0.0:$port" message)"
else
	pass "a: rmem_max is already $rmax: nothing to raise"
fi
check_eq "a: no recommendation to write the host's key in the container" "" \
	"$(jq -r '.recommendations[]? | select(.key | startswith("net.core.")) | .key' "$T/a.json")"
# ---------------------------------------------------------------- b
make_ns nb b
spawn "$T/exact" "$nb" "$H/udp-hold" -n exact -b "$rmax" 0
P_EX=$LAST_PID
ex=$(wait_udp "$T/exact")
flood "$nb" 127.0.0.1 "$ex" $((rmax * 2))
in_ns "$nb" "$NETKNOBS" audit --only udp --format json >"$T/b.json" || true
m=$(finding "$T/b.json" buffers.udp-full "0.0.0.0:$ex" message)
check_match "b: asked for exactly rmem_max: twice rmem_max, named with its process" \
	"\\(exact, PID $P_EX\\).*exactly twice net.core.rmem_max \\($rmax\\)" "$m"
check_match "b: either asked for more or for exactly that" \
	"exact asked for at least $rmax bytes, and either asked for more and the kernel cut it down, or asked for exactly that" "$m"
check_eq "b: no cut stated as a fact" "" "$(printf '%s' "$m" | grep -o 'asked for more and the kernel cut it down\.' || true)"
if [ "$rmax" -lt 67108864 ]; then
	check_match "b: a restart tells them apart" "If its buffer is the same afterwards, exact asks for exactly this much" "$m"
else
	pass "b: rmem_max is already $rmax: nothing to raise"
fi

# ---------------------------------------------------------------- c
make_ns nc c
rdef=$(in_ns "$nc" cat /proc/sys/net/core/rmem_default)
spawn "$T/stuck" "$nc" "$H/udp-hold" -n stuckd -D 0
P_D=$LAST_PID
d=$(wait_udp "$T/stuck")
i=0
until [ "$(state "$P_D")" = D ]; do i=$((i + 1)); [ "$i" -le 500 ] || break; sleep 0.01; done
flood "$nc" 127.0.0.1 "$d" "$rdef"
in_ns "$nc" "$NETKNOBS" facts --json >"$T/c-facts.json"
check_eq "c: the receiver in uninterruptible sleep" "stuckd disk-sleep" \
	"$(jq -r --argjson p "$d" '.sockets.udp[] | select(.port == $p) | "\(.processes[0].comm) \(.processes[0].state)"' "$T/c-facts.json")"
in_ns "$nc" "$NETKNOBS" audit --only udp --format json >"$T/c.json" || true
m=$(finding "$T/c.json" buffers.udp-full "0.0.0.0:$d" message)
check_match "c: full, named" "\\(stuckd, PID $P_D\\).*its buffer is full" "$m"
check_eq "c: not called stopped, no kill -CONT to wake it" "" \
	"$(printf '%s' "$m" | grep -o -e 'Nobody reads it' -e 'kill -CONT [0-9]' || true)"
check_match "c: uninterruptible sleep said, with how to look again" \
	"stuckd was in uninterruptible sleep \\(D\\) when looked at.*ps -o stat,wchan -p $P_D.*kill -CONT does not wake it" "$m"
check_match "c: the advice of its buffer" "net.core.rmem_default \\($rdef\\): stuckd never set one" "$m"

# ---------------------------------------------------------------- d
# a new namespace has every port free: the client's socket is connected to
# a peer's fixed port, and the peer sends from it (python: udp-flood sends
# from a port of its own)
command -v python3 >/dev/null 2>&1 || skip "needs python3"
make_ns nd d
rdef=$(in_ns "$nd" cat /proc/sys/net/core/rmem_default)
spawn "$T/client" "$nd" "$H/udp-hold" -n nginx -c 5300 5301
P_C=$LAST_PID
wait_udp "$T/client" >/dev/null
in_ns "$nd" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5300))
for _ in range(int(sys.argv[1])):
    s.sendto(b"x" * 1000, ("127.0.0.1", 5301))' $((rdef * 2 / 1000 + 200))
in_ns "$nd" "$NETKNOBS" audit --only udp --format json >"$T/d.json" || true
m=$(finding "$T/d.json" buffers.udp-full "127.0.0.1:5301" message)
check_match "d: the connected socket, full, named with its peer" \
	"\\(nginx, PID $P_C, connected to 127\\.0\\.0\\.1:5300\\).*net.core.rmem_default \\($rdef\\): nginx never set one" "$m"
check_eq "d: nginx's listen directive is not named for its client socket" "" \
	"$(printf '%s' "$m" | grep -o 'listen directive' || true)"
# ---------------------------------------------------------------- e
make_ns ne e
cat >"$T/many.py" <<'PY'
import resource, socket, sys, time
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, max(n + 64, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)     # the least buffer
    s.bind(("127.0.0.1", 0))
    socks.append(s)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for s in socks:
    for _ in range(6):
        tx.sendto(b"x" * 1000, s.getsockname())
print("ready", flush=True)
time.sleep(3600)
PY
spawn "$T/many" "$ne" python3 "$T/many.py" 1100
i=0
until grep -q ready "$T/many" 2>/dev/null; do i=$((i + 1)); [ "$i" -le 600 ] || break; sleep 0.05; done
in_ns "$ne" "$NETKNOBS" facts --json >"$T/e-facts.json"
check_eq "e: 1100 dropping, 1024 listed, 76 unlisted" "1100 1024 76" \
	"$(jq -r '.sockets.udp_stats | "\(.dropping) \(.listed) \(.unlisted_dropping)"' "$T/e-facts.json")"
in_ns "$ne" "$NETKNOBS" audit --from "$T/e-facts.json" --only buffers --format json >"$T/e.json" || true
m=$(finding "$T/e.json" buffers.udp-rcvbuf-errors Udp.RcvbufErrors message)
check_match "e: the listed ones are not all that are full" \
	'1024 listed socket\(s\) are full and dropping now: see buffers.udp-full for which and why\. 76 more sockets that dropped datagrams are not listed \(the facts keep the 1024 that need looking at most, of 1101\)' "$m"
# ---------------------------------------------------------------- f
make_ns nf f
in_ns "$nf" sysctl -qw "net.ipv4.tcp_rmem=4096 87380 16777216"
mkdir "$T/sysctl.d"
printf '# tuned throughput-performance, copied by hand\nnet.ipv4.tcp_rmem = 4096 87380 16777216\n' \
	>"$T/sysctl.d/99-throughput.conf"
in_ns "$nf" unshare -m sh -c 'mount --bind "$1" /etc/sysctl.d && "$2" audit --only buffers --format json' sh \
	"$T/sysctl.d" "$NETKNOBS" >"$T/f.json" || true
m=$(finding "$T/f.json" buffers.tcp-rmem-lowered net.ipv4.tcp_rmem message)
check_match "f: tcp_rmem lowered in a namespace: this namespace's value" "This network namespace's value" "$m"
check_match "f: the file named as the host's" \
	'/etc/sysctl.d/99-throughput.conf:2 sets 4096 87380 16777216 on the host: sysctl.d files apply to the host.s namespace at boot, not to this one' "$m"
check_eq "f: the file not said to set it here" "" "$(printf '%s' "$m" | grep -o 'It is set by' || true)"
# ---------------------------------------------------------------- h
make_ns nh h
spawn "$T/burst" "$nh" "$H/udp-hold" -n bursty -b 4096 -r 1 0
bp=$(wait_udp "$T/burst")
spawn "$T/past" "$nh" "$H/udp-hold" -n pastdrops -b 4096 -r 1 0
pp=$(wait_udp "$T/past")
in_ns "$nh" "$H/udp-flood" -s 1000 127.0.0.1 "$pp" 50 >/dev/null
# it reads one datagram a millisecond: empty again before the window
i=0
until [ "$(in_ns "$nh" ss -Huan "sport = :$pp" | awk '{ print $2 }')" = 0 ]; do
	i=$((i + 1)); [ "$i" -le 200 ] || break; sleep 0.01
done
# bursts of 300 datagrams every 50 ms for 2 s, from the start of a 4 s
# window: over before its end, when the reader has emptied its buffer
( for _ in $(seq 40); do in_ns "$nh" "$H/udp-flood" -s 1000 127.0.0.1 "$bp" 300 >/dev/null || exit 0; sleep 0.05; done ) &
NK_PIDS="$NK_PIDS $!"
in_ns "$nh" "$NETKNOBS" facts --sample 4s --json >"$T/h-facts.json"
check_eq "h: the bursty reader dropped during the window, its buffer not full at the end" true \
	"$(jq --argjson p "$bp" '.sockets.udp[] | select(.port == $p) | .window_drops > 0 and .queue * 100 < .rcvbuf * 90' "$T/h-facts.json")"
check_eq "h: the socket that dropped before the window: none during it" "true 0" \
	"$(jq -r --argjson p "$pp" '.sockets.udp[] | select(.port == $p) | "\(.drops > 0) \(.window_drops)"' "$T/h-facts.json")"
in_ns "$nh" "$NETKNOBS" audit --from "$T/h-facts.json" --only udp --format json >"$T/h.json" || true
check_eq "h: dropping during the window: a warning" warning \
	"$(finding "$T/h.json" buffers.udp-drops-window "0.0.0.0:$bp" severity)"
check_match "h: the window's drops named" "\\(bursty\\) dropped [0-9]+ datagrams during the [0-9]+ ms sampling window.*it drops now, in bursts" \
	"$(finding "$T/h.json" buffers.udp-drops-window "0.0.0.0:$bp" message)"
check_eq "h: dropped before the window only: the notice" notice "$(finding "$T/h.json" buffers.udp-drops "0.0.0.0:$pp" severity)"
check_match "h: and it says none were dropped during the window" "and it dropped none during the [0-9]+ ms sampling window" \
	"$(finding "$T/h.json" buffers.udp-drops "0.0.0.0:$pp" message)"

# ---------------------------------------------------------------- i
make_ns ni i
spawn "$T/small" "$ni" "$H/udp-hold" -n smallbuf -b 4096 0
sp=$(wait_udp "$T/small")
in_ns "$ni" "$H/udp-flood" -s 1000 127.0.0.1 "$sp" 20 >/dev/null
in_ns "$ni" "$NETKNOBS" facts --json >"$T/i-facts.json"
check_eq "i: 8 KiB holding three datagrams, less than 4 KiB free, below 90%" true \
	"$(jq --argjson p "$sp" '.sockets.udp[] | select(.port == $p) | .drops > 0 and .rcvbuf - .queue < 4096 and .queue * 100 < .rcvbuf * 90' "$T/i-facts.json")"
in_ns "$ni" "$NETKNOBS" audit --from "$T/i-facts.json" --only udp --format json >"$T/i.json" || true
check_eq "i: full and dropping now: critical" critical "$(finding "$T/i.json" buffers.udp-full "0.0.0.0:$sp" severity)"
check_match "i: the room left said" "its buffer is full \\([0-9]+ bytes free" \
	"$(finding "$T/i.json" buffers.udp-full "0.0.0.0:$sp" message)"
check_eq "i: not the notice of drops long ago" "" "$(finding "$T/i.json" buffers.udp-drops "0.0.0.0:$sp" rule)"

# ---------------------------------------------------------------- j
make_ns nj j
cat >"$T/fork.py" <<'PY'
import ctypes, os, signal, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("ready %d" % s.getsockname()[1], flush=True)
if os.fork() == 0:
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG: ends with its parent
    os.kill(os.getpid(), signal.SIGSTOP)    # the worker that would read
    os._exit(0)
time.sleep(3600)
PY
spawn "$T/fork" "$nj" python3 "$T/fork.py"
i=0
until grep -q '^ready' "$T/fork" 2>/dev/null; do i=$((i + 1)); [ "$i" -le 200 ] || break; sleep 0.05; done
fp=$(sed -n 's/^ready //p' "$T/fork")
# the worker has stopped itself
i=0
until [ "$(in_ns "$nj" "$NETKNOBS" facts --json |
	jq --argjson p "$fp" '[.sockets.udp[] | select(.port == $p) | .processes[] | select(.state == "stopped")] | length')" = 1 ]; do
	i=$((i + 1)); [ "$i" -le 100 ] || break; sleep 0.05
done
rdef=$(in_ns "$nj" cat /proc/sys/net/core/rmem_default)
flood "$nj" 127.0.0.1 "$fp" "$rdef"
in_ns "$nj" "$NETKNOBS" audit --only udp --format json >"$T/j.json" || true
m=$(finding "$T/j.json" buffers.udp-full "127.0.0.1:$fp" message)
check_match "j: full, the buffer's advice" "net.core.rmem_default \\($rdef\\): python3 never set one" "$m"
check_match "j: the stopped worker named" "1 of the 2 processes that hold it is stopped \\(PID [0-9]+\\): if it is the one that reads the socket, nobody does, and kill -CONT is the fix" "$m"

# ---------------------------------------------------------------- g
[ -e /proc/net/udplite ] || { pass "g: no UDP-Lite in this kernel"; finish; }
make_ns ng g
cat >"$T/lite.py" <<'PY'
import socket, time
lite = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)      # IPPROTO_UDPLITE
lite.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)           # the least buffer
lite.bind(("127.0.0.1", 7000))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 7000))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)
for _ in range(50):
    tx.sendto(b"x" * 1000, ("127.0.0.1", 7000))
print("ready", flush=True)
time.sleep(3600)
PY
spawn "$T/lite" "$ng" python3 "$T/lite.py"
i=0
until grep -q ready "$T/lite" 2>/dev/null; do i=$((i + 1)); [ "$i" -le 200 ] || break; sleep 0.05; done
in_ns "$ng" "$NETKNOBS" facts --json >"$T/g-facts.json"
check_eq "g: the UDP-Lite socket listed with its drops, the UDP one apart" "udplite:true udp:false" \
	"$(jq -r '[.sockets.udp[] | select(.port == 7000) | "\(.protocol // "udp"):\(.drops > 0)"] | sort | reverse | join(" ")' "$T/g-facts.json")"
in_ns "$ng" "$NETKNOBS" audit --from "$T/g-facts.json" --only buffers --format json >"$T/g.json" || true
check_eq "g: the UDP-Lite socket full and dropping, critical" critical \
	"$(finding "$T/g.json" buffers.udp-full "127.0.0.1:7000 (UDP-Lite)" severity)"
check_eq "g: not 'no UDP socket is full now'" "" \
	"$(jq -r '.findings[] | select(.rule == "buffers.counters-past") | .rule' "$T/g.json")"
check_match "g: the namespace's UDP-Lite counter named" 'UdpLite.RcvbufErrors [0-9]+ \(UDP-Lite\)' \
	"$(finding "$T/g.json" buffers.udp-rcvbuf-errors Udp.RcvbufErrors message)"
check_exit "g: listeners --udp" 0 "$NETKNOBS" listeners --udp --from "$T/g-facts.json"
check_match "g: listeners --udp marks it" '^127\.0\.0\.1:7000 \(UDP-Lite\) +[0-9]+/' "$(cat "$T/out")"
finish
