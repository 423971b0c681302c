#!/bin/sh
# facts and listeners on fake /proc trees (--root): every collector against
# known kernel layouts, and the absent-not-zero rule.
. "$TESTLIB"
R="$FIXTURES/roots"

check_exit "facts --root basic" 0 "$NETKNOBS" --root "$R/basic" facts --json
cp "$T/out" "$T/basic.json"; J="$T/basic.json"
check_eq "kernel release" '"6.1.0-13-amd64"' "$(jq .host.kernel_release "$J")"
check_eq "cpus from /proc/stat" 4 "$(jq .host.cpus_online "$J")"
check_eq "memory" 16384000 "$(jq .host.mem_total_kib "$J")"
check_eq "initial netns (netdev_max_backlog present)" true "$(jq .host.netns.initial "$J")"
check_eq "typed integer" 4096 "$(jq '.sysctl["net.core.somaxconn"]' "$J")"
check_eq "typed list" '[4096,131072,6291456]' "$(jq -c '.sysctl["net.ipv4.tcp_rmem"]' "$J")"
check_eq "missing key is absent, not 0" null "$(jq '.sysctl["net.core.netdev_budget"]' "$J")"
check_eq "missing key has a reason" '"missing"' "$(jq '.sysctl_unavailable["net.core.netdev_budget"].reason' "$J")"
check_eq "counter by name" 1523 "$(jq .counters.TcpExt.ListenOverflows "$J")"
check_eq "softnet layout" 13 "$(jq .softnet.columns "$J")"
check_eq "sockstat" true "$(jq '.sockstat.TCP.inuse >= 0' "$J")"
check_eq "sockets from proc under --root" '"proc"' "$(jq .sockets.source "$J")"
check_eq "fallback reason given" true "$(jq '.sockets.fallback_reason | length > 0' "$J")"
check_eq "three listeners" 3 "$(jq '.sockets.listeners | length' "$J")"
check_eq "listener queue from rx_queue" 3 "$(jq '.sockets.listeners[] | select(.port == 80) | .queue' "$J")"
check_eq "no limit from /proc/net/tcp" null "$(jq '.sockets.listeners[] | select(.port == 80) | .limit' "$J")"
check_eq "SYN_RECV counted for its listener" 1 "$(jq '.sockets.listeners[] | select(.port == 80) | .syn_recv' "$J")"
check_eq "owner found through proc/PID/fd" 'nginx 1234 1024' "$(jq -r '.sockets.listeners[] | select(.port == 80) | .processes[0] | "\(.comm) \(.pid) \(.nofile_soft)"' "$J")"
check_eq "state counts" '3 1' "$(jq -r '"\(.sockets.states.ESTABLISHED) \(.sockets.states.TIME_WAIT)"' "$J")"

check_exit "facts --root netns-old" 0 "$NETKNOBS" --root "$R/netns-old" facts --json
cp "$T/out" "$T/old.json"; J="$T/old.json"
check_eq "old kernel: not the initial netns" false "$(jq .host.netns.initial "$J")"
check_eq "old kernel: netdev_max_backlog missing in a netns" '"missing"' "$(jq '.sysctl_unavailable["net.core.netdev_max_backlog"].reason' "$J")"
check_eq "old kernel: softnet 11 columns" 11 "$(jq .softnet.columns "$J")"
check_eq "old kernel: no snmp6 -> noted" true "$(jq '[.notes[] | select(test("snmp6"))] | length > 0' "$J")"
check_eq "old kernel: no Ip6 counters" null "$(jq .counters.Ip6 "$J")"

check_exit "facts --root broken" 0 "$NETKNOBS" --root "$R/broken" facts --json
cp "$T/out" "$T/broken.json"; J="$T/broken.json"
check_eq "broken files are noted" true "$(jq '.notes | length > 0' "$J")"

# the persistent configuration (sysctl.d with systemd's precedence) in the facts
check_exit "facts --root sysctld/prec" 0 "$NETKNOBS" --root "$FIXTURES/sysctld/prec" facts --json
cp "$T/out" "$T/prec.json"; J="$T/prec.json"
check_eq "persistent: /etc wins over /run and /usr/lib for one basename" 'applied shadowed shadowed' \
	"$(jq -r '[.persistent.files[] | select(.path | endswith("/10-base.conf")) | .status] | join(" ")' "$J")"
check_eq "persistent: a /dev/null link masks" masked \
	"$(jq -r '.persistent.files[] | select(.path == "/etc/sysctl.d/50-masked.conf") | .status' "$J")"
check_eq "persistent: origin of a key" '"/etc/sysctl.d/10-base.conf:1"' "$(jq '.persistent.keys["net.core.somaxconn"].origin' "$J")"
check_eq "persistent: a later file shadows an earlier assignment" 1 "$(jq '.persistent.keys["fs.file-max"].shadowed | length' "$J")"
printf '{"schema_version": 1, "host": {}, "sysctl": {}, "sockets": {"source": "proc", "listeners": []}, "persistent": []}\n' >"$T/badp.json"
check_exit "a document whose persistent section is not an object is refused" 3 "$NETKNOBS" facts --from "$T/badp.json"

# the text views of the same trees
check_exit "facts text --root basic" 0 "$NETKNOBS" --root "$R/basic" facts
check_match "text: kernel" 'kernel +6.1.0-13-amd64' "$(cat "$T/out")"
check_match "text: ListenOverflows" 'TcpExt.ListenOverflows +1523' "$(cat "$T/out")"
check_exit "listeners --root basic" 0 "$NETKNOBS" --root "$R/basic" listeners
check_match "listeners: proc fallback said" '^note: socket details from /proc/net/tcp' "$(cat "$T/out")"
check_match "listeners: fullest first, limit unknown" '^0\.0\.0\.0:80 +3/\? +- +1 +- +nginx\[1234\] fds 1/1024' "$(sed -n 3p "$T/out")"
check_exit "listeners --json --root basic" 0 "$NETKNOBS" --root "$R/basic" listeners --json
check_eq "listeners json: 3" 3 "$(jq '.listeners | length' "$T/out")"

# a saved document audits the same as the tree it came from
"$NETKNOBS" --root "$R/netns-old" facts --json >"$T/old2.json"
# (limits are unknown from /proc/net/tcp: the full-queue rule is not
# applicable; the overflows since boot, with nothing showing they happen
# now, and the low somaxconn are notices)
check_exit "audit --root netns-old" 0 "$NETKNOBS" --root "$R/netns-old" audit --format json
jq -S 'del(.collected_at, .origin)' "$T/out" >"$T/a1"
check_exit "audit --from the saved document" 0 "$NETKNOBS" audit --from "$T/old2.json" --format json
jq -S 'del(.collected_at, .origin)' "$T/out" >"$T/a2"
check_eq "same audit from the tree and from the snapshot" "" "$(diff "$T/a1" "$T/a2")"
check_match "somaxconn 128 flagged" 'backlog.somaxconn-low' "$(cat "$T/a2")"

# hostile text in a saved document never reaches the terminal raw
# (sed, not jq: jq would turn the 64-bit integers of the document into floats)
sed -e 's/"comm": "nginx"/"comm": "\\u001b[31mevil\\u0007"/' -e 's/"address": "0.0.0.0"/"address": "1.2.3.4\\u001b]0;x"/' "$T/basic.json" >"$T/hostile.json"
check_eq "hostile document made" 1 "$(grep -c 'evil' "$T/hostile.json")"
check_exit "listeners from a hostile document" 0 "$NETKNOBS" listeners --from "$T/hostile.json"
check_eq "no ESC or BEL in the output" 0 "$(tr -cd '\033\007' <"$T/out" | wc -c)"
check_match "escaped instead" '\\x1b\[31mevil\\x07' "$(cat "$T/out")"
finish
