#!/bin/sh
# netknobs fix --apply on the real kernel, in a private network namespace
# (net.core.somaxconn and net.ipv4.tcp_max_syn_backlog are per namespace):
#   1. the values are set, read back, the drop-in written, and only the
#      listener capped by the old somaxconn named for a restart
#   2. a value the kernel refuses: every value already set is restored and
#      the drop-in is not written
#   3. a second run changes nothing and names no listener
. "$TESTLIB"
need_root
[ -x "$HELPERS/listen-hold" ] || skip "helper listen-hold not built (make check builds it)"

RULES="$FIXTURES/fix/rules.yaml"
make_ns ns fix
sc() { ip netns exec "$ns" cat "/proc/sys/$1"; }
host_somaxconn=$(cat /proc/sys/net/core/somaxconn)
ip netns exec "$ns" sh -c 'echo 4096 >/proc/sys/net/core/somaxconn; echo 256 >/proc/sys/net/ipv4/tcp_max_syn_backlog'

spawn "$T/l" "$ns" "$HELPERS/listen-hold" -a 127.0.0.1 0 100000
port=$(wait_port "$T/l")
lpid=$LAST_PID
spawn "$T/s" "$ns" "$HELPERS/listen-hold" -a 127.0.0.1 0 16
sport=$(wait_port "$T/s")
fix() { "$NETKNOBS" --netns "$ns" fix --no-default-rules --rules "$RULES" "$@"; }

# ---- 2. first the failure: tcp_syncookies 300 does not fit its byte
check_exit "--apply with a value the kernel refuses" 3 \
	fix --rules "$FIXTURES/fix/bad-value.yaml" --apply --output "$T/bad.conf"
err=$(tr '\n' ' ' <"$T/err")
check_match "names the key that failed" "net.ipv4.tcp_syncookies = 300: write: Invalid argument" "$err"
check_match "says the others were restored" "rolled back net.core.somaxconn to 4096" "$err"
check_eq "somaxconn restored" "4096" "$(sc net/core/somaxconn)"
check_eq "tcp_max_syn_backlog restored" "256" "$(sc net/ipv4/tcp_max_syn_backlog)"
[ ! -e "$T/bad.conf" ] && pass "no drop-in written after a failure" || fail "drop-in written after a failure"
check_eq "nothing left in the directory" "" "$(ls "$T" | grep '^bad' || true)"

# the drop-in cannot be written after the values were set: they go back
check_exit "--apply when the drop-in cannot be written" 3 fix --apply --output "$T/nodir/90-netknobs.conf"
check_match "says the values were restored" "rolled back net.core.somaxconn to 4096" "$(tr '\n' ' ' <"$T/err")"
check_eq "somaxconn restored after the failed write" "4096" "$(sc net/core/somaxconn)"
check_eq "tcp_max_syn_backlog restored after the failed write" "256" "$(sc net/ipv4/tcp_max_syn_backlog)"

check_exit "--netns with --apply needs --output" 3 fix --apply
check_match "says why" "not to $ns, so there is nothing to write; .*give --output" "$(tr '\n' ' ' <"$T/err" | tr -s ' ')"
check_eq "nothing set without --output" "4096" "$(sc net/core/somaxconn)"
check_exit "--netns with --check needs --output: no file of the host's to check" 3 fix --check
check_match "says why" "not to $ns, so there is nothing to check" "$(tr '\n' ' ' <"$T/err" | tr -s ' ')"

# ---- 0. where the advice applies: not the host's sysctl.d, not a bare
# sysctl -w pasted on the host, but the namespace
check_exit "fix in a namespace without --output" 0 fix
out=$(tr '\n' ' ' <"$T/out" | tr -s ' ')
check_match "says the host's sysctl.d does not apply" \
	"$ns is a network namespace of its own \\(named, net:\\[[0-9]+\\]\\): at boot the sysctl.d files.* are applied to the host's initial namespace only" "$out"
check_match "the command that sets a value there now" "now: ip netns exec $ns sysctl -w net.core.somaxconn=8192 " "$out"
check_match "what keeps it" "lasting: whatever runs .ip netns add $ns., after it" "$out"
case $out in
*"net.core.somaxconn = 8192 # "* | *"90-netknobs.conf (netknobs fix --write"*) fail "a drop-in for the host is offered" ;;
*) pass "no drop-in for the host's sysctl.d is offered" ;;
esac
check_exit "fix --json in a namespace" 0 fix --json
check_eq "JSON: sysctl.d does not apply, the namespace, the commands" \
	"[false,\"named\",\"$ns\",\"ip netns exec $ns sysctl -w net.core.somaxconn=8192\",false]" \
	"$(jq -c '[.sysctl_d_applies, .netns.kind, .netns.name, (.settings[] | select(.key == "net.core.somaxconn") | .now), .written]' "$T/out")"
check_eq "nothing set by fix without --apply" "4096" "$(sc net/core/somaxconn)"
# the audit says the same: text and JSON
"$NETKNOBS" --netns "$ns" audit --no-default-rules --rules "$RULES" >"$T/audit.txt" || true
check_match "audit: the recommendation applies in the namespace" \
	"^  ip netns exec $ns sysctl -w (.* )?net.ipv4.tcp_max_syn_backlog=2048( |\$)" \
	"$(sed -e ':a' -e '/\\$/{N;s/ *\\\n */ /;ta' -e '}' "$T/audit.txt")"
check_eq "audit: no bare sysctl -w line" 0 "$(grep -cE '^ *sysctl -w [a-z0-9_.]+=' "$T/audit.txt" || true)"
"$NETKNOBS" --netns "$ns" audit -v --no-default-rules --rules "$RULES" >"$T/audit-v.txt" || true
check_match "audit -v: the recommendation applies in the namespace" \
	"^    ip netns exec $ns sysctl -w net.ipv4.tcp_max_syn_backlog=2048\$" "$(cat "$T/audit-v.txt")"
check_match "audit: heading names the namespace and why" \
	"Recommended settings for $ns \\(named, net:\\[[0-9]+\\]\\), a network namespace of its own: the host's sysctl.d does not apply to it" \
	"$(tr '\n' ' ' <"$T/audit.txt" | tr -s ' ')"
"$NETKNOBS" --netns "$ns" audit --no-default-rules --rules "$RULES" --json >"$T/audit.json" || true
check_eq "audit JSON: sysctl_w and persist of the namespace, the finding's own recommendation too" \
	"[\"ip netns exec $ns sysctl -w net.core.somaxconn=8192\",true,\"ip netns exec $ns sysctl -w net.core.somaxconn=8192\",\"$ns\"]" \
	"$(jq -c '[(.recommendations[] | select(.key == "net.core.somaxconn") | .sysctl_w, (.persist | test("ip netns add"))),
		(.findings[] | select(.rule == "fixtest.somaxconn") | .recommend[0].sysctl_w), .netns.name]' "$T/audit.json")"

# ---- 1. apply; lines of the admin in the file (a glob, a '-' line for a
# key that does not exist) are kept and left to `sysctl --system`
printf 'net.ipv4.conf.*.rp_filter = 2\n-net.nonexistent.key = 2\n' >"$T/90-netknobs.conf"
check_exit "--apply" 0 fix --apply --output "$T/90-netknobs.conf"
out=$(cat "$T/out")
check_eq "somaxconn set" "8192" "$(sc net/core/somaxconn)"
check_eq "tcp_max_syn_backlog set" "2048" "$(sc net/ipv4/tcp_max_syn_backlog)"
check_eq "the host's somaxconn is untouched" "$host_somaxconn" "$(cat /proc/sys/net/core/somaxconn)"
check_match "reports each value" "^set net.core.somaxconn = 8192 \\(was 4096\\)$" "$out"
check_match "drop-in written" "^wrote $T/90-netknobs.conf" "$out"
check_match "warns that boot does not apply it to a namespace" "boot does not apply sysctl.d files to it" \
	"$(tr '\n' ' ' <"$T/err" | tr -s ' ')"
check_eq "drop-in line" "net.core.somaxconn = 8192" "$(grep '^net.core.somaxconn' "$T/90-netknobs.conf")"
check_eq "the admin's lines kept" "2" "$(grep -c '= 2$' "$T/90-netknobs.conf")"
check_match "backup of the admin's file" "rp_filter" "$(cat "$T/90-netknobs.conf.bak")"
check_match "the capped listener is named for a restart, with its process" \
	"127.0.0.1:$port +limit 4096 +listen-hold \\(pid $lpid\\) +\\[at the old somaxconn\\]" "$out"
case $out in
*":$sport "*) fail "the listener that asked for 16 is named, although somaxconn does not limit it" ;;
*) pass "the listener that asked for 16 is not named (its limit does not change)" ;;
esac

# ---- 3. idempotent
check_exit "--check after --apply" 0 fix --check --output "$T/90-netknobs.conf"
check_exit "--apply again" 0 fix --apply --output "$T/90-netknobs.conf" --format json
check_eq "nothing set the second time" "[]" \
	"$(jq -c '[.applied[] | select(.status != "unchanged")]' "$T/out")"
check_eq "not written the second time" "false" "$(jq -r .written "$T/out")"
check_eq "somaxconn did not change: no listener named for a restart" "[]" "$(jq -c '.restart' "$T/out")"
finish
