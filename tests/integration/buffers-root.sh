#!/bin/sh
# Buffers on a fake root (--root, no privileges needed):
#   - tuned's throughput-performance values for tcp_rmem on a 6.18 host with
#     16 GB, set by a sysctl.d file: a warning naming FILE:LINE; the file
#     saying otherwise than the value now, or no file at all, said so
#   - UDP sockets from /proc/net/udp and udp6 (below --root, the only
#     source): queue, drops and owner, no buffer size; the drops a notice
#   - a FIFO or (as root) a device in place of /proc/net/udp or tcp: refused
#     with a note, never read as an empty table or without end
. "$TESTLIB"
R=$T/root
cp -a "$FIXTURES/roots/basic" "$R"
echo 6.18.0-1-amd64 >"$R/proc/sys/kernel/osrelease"
printf '4096\t87380\t16777216\n' >"$R/proc/sys/net/ipv4/tcp_rmem"
mkdir -p "$R/etc/sysctl.d"
printf '# tuned throughput-performance, copied by hand\nnet.ipv4.tcp_rmem = 4096 87380 16777216\n' \
	>"$R/etc/sysctl.d/99-throughput.conf"

nk() { "$NETKNOBS" --root "$R" audit --only buffers --format json; }
msg() { jq -r '[.findings[] | select(.rule == "buffers.tcp-rmem-lowered") | .message][0] // ""' "$T/out"; }

check_exit "tcp_rmem lowered by a sysctl.d file: a warning" 1 nk
check_match "the file and line named" 'It is set by /etc/sysctl.d/99-throughput.conf:2\.' "$(msg)"
check_match "the default and the maximum, against this kernel and memory" \
	'start with a receive buffer of 87380 bytes instead of 131072, and autotuning grows it to at most 16777216 bytes instead of 33554432' \
	"$(msg)"
check_eq "the kernel's values recommended" "4096 131072 33554432" \
	"$(jq -r '.recommendations[] | select(.key == "net.ipv4.tcp_rmem") | .value | map(tostring) | join(" ")' "$T/out")"

# the same values on a 6.1 kernel: its default maximum is 6 MiB, only the
# start value is lowered
echo 6.1.0-13-amd64 >"$R/proc/sys/kernel/osrelease"
check_exit "on 6.1: still a warning" 1 nk
check_match "on 6.1: only the start value" 'start with a receive buffer of 87380 bytes instead of 131072\. It is set by' "$(msg)"
echo 6.18.0-1-amd64 >"$R/proc/sys/kernel/osrelease"

# the file says otherwise than the value now
printf 'net.ipv4.tcp_rmem = 4096 131072 33554432\n' >"$R/etc/sysctl.d/99-throughput.conf"
check_exit "the file sets the kernel's values, the value now is lower" 1 nk
check_match "set at runtime, the file named with its value" \
	'/etc/sysctl.d/99-throughput.conf:1 sets 4096 131072 33554432, but the value now differs: it was set at runtime' "$(msg)"
rm "$R/etc/sysctl.d/99-throughput.conf"
check_exit "no file sets it" 1 nk
check_match "no file: set at runtime, by sysctl -w or a tuning service" 'No sysctl.d file sets it: it was set at runtime' "$(msg)"
printf '4096\t131072\t33554432\n' >"$R/proc/sys/net/ipv4/tcp_rmem"
check_exit "the kernel's values: quiet" 0 nk
check_eq "the kernel's values: no tcp_rmem finding" "" "$(msg)"

# UDP from /proc/net/udp: a full socket held by process 1234
printf '%s\n' \
	'   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops' \
	' 2005: 00000000:0035 00000000:0000 07 00000000:00034000 00:00000000 00000000     0        0 1501 2 0000000000000000 1744' \
	' 2046: 0100007F:D3B2 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 1502 2 0000000000000000 0' \
	>"$R/proc/net/udp"
printf '%s\n' \
	'  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops' \
	'  515: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1503 2 0000000000000000 0' \
	>"$R/proc/net/udp6"
ln -s 'socket:[1501]' "$R/proc/1234/fd/7"
check_exit "facts with /proc/net/udp" 0 "$NETKNOBS" --root "$R" facts --json
cp "$T/out" "$T/udp.json"
check_eq "UDP source: proc" proc "$(jq -r .sockets.udp_stats.source "$T/udp.json")"
check_eq "three UDP sockets, one connected" "3 1" "$(jq -r '.sockets.udp_stats | "\(.sockets) \(.connected)"' "$T/udp.json")"
check_eq "the full one: queue, drops, owner, no buffer size" "212992 1744 nginx null" \
	"$(jq -r '.sockets.udp[] | select(.port == 53 and .family == "ipv4" and (.connected | not)) | "\(.queue) \(.drops) \(.processes[0].comm) \(.rcvbuf)"' "$T/udp.json")"
check_eq "the connected one's peer" "127.0.0.1:53" "$(jq -r '.sockets.udp[] | select(.connected) | .peer' "$T/udp.json")"
"$NETKNOBS" --root "$R" audit --only udp --format json >"$T/out" || true
check_eq "without a buffer size: the drops a notice, nothing critical" "buffers.udp-drops notice" \
	"$(jq -r '.findings[] | select(.subject == "0.0.0.0:53") | "\(.rule) \(.severity)"' "$T/out")"
check_match "the notice says the buffer size is unknown" 'receive buffer size is unknown \(the facts come from /proc/net/udp\)' \
	"$(jq -r '.findings[] | select(.subject == "0.0.0.0:53") | .message' "$T/out")"
# a UDP-Lite socket from /proc/net/udplite: listed as such
printf '%s\n' \
	'   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops' \
	' 7001: 0100007F:1B58 00000000:0000 07 00000000:00000900 00:00000000 00000000     0        0 1601 2 0000000000000000 49' \
	>"$R/proc/net/udplite"
check_exit "facts with /proc/net/udplite" 0 "$NETKNOBS" --root "$R" facts --json
check_eq "the UDP-Lite socket from /proc/net/udplite, with its drops" "udplite 7000 49" \
	"$(jq -r '.sockets.udp[] | select(.inode == 1601) | "\(.protocol) \(.port) \(.drops)"' "$T/out")"
rm "$R/proc/net/udplite"
check_exit "listeners --udp from /proc/net/udp" 0 "$NETKNOBS" --root "$R" listeners --udp
check_match "listeners --udp says the buffer sizes are unknown" 'no receive buffer sizes' "$(cat "$T/out")"
# not a regular file in place of a /proc/net table: a FIFO reads as empty
# (no writer), a device such as /dev/zero never ends: refused, said so
for f in udp tcp; do
	mv "$R/proc/net/$f" "$T/$f.saved"
	mkfifo "$R/proc/net/$f"
	check_exit "a FIFO as /proc/net/$f: facts end" 0 timeout 30 "$NETKNOBS" --root "$R" facts --json
	check_match "a FIFO as /proc/net/$f: refused, said so" "/proc/net/$f: not a regular file" \
		"$(jq -r '.notes[]' "$T/out")"
	if [ "$f" = udp ]; then
		check_eq "a FIFO as /proc/net/udp: no UDP sockets claimed" null "$(jq -c '.sockets.udp' "$T/out")"
		check_exit "a FIFO as /proc/net/udp: listeners --udp cannot list, exit 3" 3 \
			"$NETKNOBS" --root "$R" listeners --udp
		check_match "a FIFO as /proc/net/udp: listeners --udp says so" 'no UDP sockets in these facts: they could not be read' \
			"$(cat "$T/err")"
	else
		check_exit "a FIFO as /proc/net/tcp: listeners cannot list, exit 3" 3 "$NETKNOBS" --root "$R" listeners
		check_match "a FIFO as /proc/net/tcp: listeners says why, not 'no listening TCP sockets'" \
			'the listening sockets could not be read: .*/proc/net/tcp: not a regular file' "$(cat "$T/err") $(cat "$T/out")"
	fi
	rm "$R/proc/net/$f"
	if [ "$(id -u)" = 0 ]; then
		mknod "$R/proc/net/$f" c 1 5
		check_exit "/dev/zero as /proc/net/$f: facts end" 0 timeout 30 "$NETKNOBS" --root "$R" facts --json
		check_match "/dev/zero as /proc/net/$f: refused, said so" "/proc/net/$f: not a regular file" \
			"$(jq -r '.notes[]' "$T/out")"
		rm "$R/proc/net/$f"
	fi
	mv "$T/$f.saved" "$R/proc/net/$f"
done
finish
