#!/bin/sh
# dnsmasq from its Debian package (dnsmasq-base), a UDP server, in a network
# namespace: quiet while it keeps up; flooded while stopped, its socket is
# named full and dropping, with the process and no buffer advice (nobody
# reads it); running again, it drains, and the drops since the socket was
# opened are a notice that names its cause (dnsmasq never sets a buffer: it
# keeps net.core.rmem_default, and has no setting of its own).
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
srv_need dnsmasq ss

make_ns ns dns
srv_dnsmasq "$ns" 127.0.0.1 53 || finish
DNS=$SRV_PID
rdef=$(ip netns exec "$ns" cat /proc/sys/net/core/rmem_default)

# facts FILE: the namespace's facts into FILE; sock JQ on its 127.0.0.1:53
facts() { "$NETKNOBS" --netns "$ns" facts --json >"$1"; F=$1; }
sock() { jq -r "[.sockets.udp[] | select(.address == \"127.0.0.1\" and .port == 53)][0] | $1" "$F"; }
audit() {
	set +e
	"$NETKNOBS" --netns "$ns" audit --only buffers --format json >"$1"
	echo $? >"$1.rc"
	set -e
}
drained() { facts "$T/drain.json"; [ "$(sock .queue)" = 0 ]; }

facts "$T/f1.json"
check_eq "dnsmasq's socket listed with its process" "dnsmasq $DNS" "$(sock '"\(.processes[0].comm) \(.processes[0].pid)"')"
check_eq "dnsmasq sets no receive buffer: rmem_default" "$rdef" "$(sock .rcvbuf)"
audit "$T/a1.json"
check_eq "a quiet dnsmasq: no finding about its socket" "" \
	"$(jq -r '.findings[] | select(.subject == "127.0.0.1:53") | .rule' "$T/a1.json")"

# flooded while it runs: whatever it drops, once it has caught up nothing
# is full
ip netns exec "$ns" "$HELPERS/udp-flood" 127.0.0.1 53 20000 >/dev/null
poll_until 20 drained || fail "dnsmasq did not drain its queue"
audit "$T/a2.json"
check_eq "flooded while running, caught up: nothing critical" "" \
	"$(jq -r '.findings[] | select(.severity == "critical") | .rule' "$T/a2.json")"

# stopped, then flooded: full, dropping, and nobody reads
srv_stop "$DNS"
ip netns exec "$ns" "$HELPERS/udp-flood" 127.0.0.1 53 5000 >/dev/null
facts "$T/f3.json"
check_eq "stopped and flooded: full and dropping" true "$(sock '.drops > 0 and .queue * 100 >= .rcvbuf * 90')"
audit "$T/a3.json"
check_eq "stopped and flooded: critical, exit 2" "critical 2" \
	"$(jq -r '[.findings[] | select(.rule == "buffers.udp-full" and .subject == "127.0.0.1:53") | .severity][0]' "$T/a3.json") $(cat "$T/a3.json.rc")"
check_match "stopped: named with its PID, nobody reads it" \
	"127\\.0\\.0\\.1:53 \\(dnsmasq, PID $DNS\\).*Nobody reads it.*kill -CONT $DNS" \
	"$(jq -r '[.findings[] | select(.rule == "buffers.udp-full") | .message][0]' "$T/a3.json")"
check_eq "stopped: no buffer to raise" "" \
	"$(jq -r '.recommendations[] | select(.key | startswith("net.core.rmem")) | .key' "$T/a3.json")"
"$NETKNOBS" --netns "$ns" listeners --udp >"$T/l3.txt"
check_match "listeners --udp: dnsmasq stopped, its socket full" '^127\.0\.0\.1:53 +[0-9]+K/[0-9]+K +(9[0-9]|100)% .*dnsmasq\[[0-9]+\] stopped' \
	"$(grep '^127.0.0.1:53 ' "$T/l3.txt")"

# running again: it drains; the drops since opened are a notice
srv_cont "$DNS"
poll_until 20 drained || fail "dnsmasq did not drain its queue"
audit "$T/a4.json"
# (a new namespace copies the host's tcp_rmem: only UDP and counters judged)
check_eq "running again: about UDP, notices only" "" \
	"$(jq -r '.findings[] | select(.severity != "notice" and (.rule | test("udp|counters"))) | .rule' "$T/a4.json")"
check_match "the drops since opened: a notice naming the cause" \
	"has dropped [0-9]+ datagrams since the socket was opened, but nothing shows that it drops now.*net.core.rmem_default \\($rdef\\): dnsmasq never set one; if the drops grow, raise net.core.rmem_default \\(it has no setting of its own\\)" \
	"$(jq -r '[.findings[] | select(.rule == "buffers.udp-drops" and .subject == "127.0.0.1:53") | .message][0]' "$T/a4.json")"
finish
