#!/bin/sh
# Advice on UDP receive buffers where it is easy to get wrong, on the real
# kernel in network namespaces:
#   a. a container (its own network and PID namespaces, so PID 1 shares its
#      network namespace): the socket cut down by net.core.rmem_max is told
#      to raise it on the host, and nothing recommends writing the key there,
#      where it is read-only
. "$TESTLIB"
need_root
command -v unshare >/dev/null 2>&1 || skip "needs unshare (util-linux)"
H=$HELPERS

# wait_udp OUT: wait for udp-hold's "ready PORT rcvbuf N" in OUT, print PORT
wait_udp() {
	_i=0
	while ! grep -q '^ready [0-9]' "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le 200 ] || { echo "udp-hold did not start: $(cat "$1.err" 2>/dev/null)" >&2; return 1; }
		sleep 0.05
	done
	sed -n 's/^ready \([0-9]*\) .*/\1/p' "$1"
}
# flood NS ADDR PORT RCVBUF: enough 1000-byte datagrams to fill RCVBUF twice
flood() { in_ns "$1" "$H/udp-flood" -s 1000 "$2" "$3" $(($4 * 2 / 1000 + 200)) >/dev/null; }
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
kill %1
EOF
in_ns "$ns" unshare --pid --fork --mount-proc sh "$T/container.sh" || true
port=$(cat "$T/a.port")
check_eq "a: in a container PID 1 shares the namespace, but it is not the host's" "false host-only-sysctl" \
	"$(jq -r '"\(.host.netns.initial) \(.host.netns.method)"' "$T/a-facts.json")"
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
finish
