#!/bin/sh
# The owners of a namespace's listeners (--netns) are looked for among the
# processes of that namespace: a process elsewhere is skipped after one
# stat of its /proc/PID/ns/net, its descriptors are not read (a host
# process with 200,000 of them made every run take seconds).  A listener
# left without an owner there is looked for in the others too: one held
# only by a process that moved to another namespace is still named.
. "$TESTLIB"
need_root
command -v strace >/dev/null 2>&1 || skip "needs strace"
[ -x "$HELPERS/listen-hold" ] || skip "helper listen-hold not built (make check builds it)"
LH="$HELPERS/listen-hold"

make_ns a own
spawn "$T/a" "$a" "$LH" -a 127.0.0.1 0 16
apid=$LAST_PID
wait_port "$T/a" >/dev/null
# a process of the test in this (the host's) namespace: its descriptors
# must not be read for another namespace's listeners
sleep 600 &
hpid=$!
NK_PIDS="$NK_PIDS $hpid"

trace() {
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat -o "$T/trace" "$NETKNOBS" "$@" >"$T/out" 2>"$T/err"
}
trace --netns "$a" listeners --json
check_eq "the listener's owner is found in its namespace" "[$apid]" \
	"$(jq -c '[.listeners[].processes[].pid]' "$T/out")"
check_eq "the descriptors of a process in another namespace are not read" "" \
	"$(grep -E "\"/proc/$hpid/fd\"|\"$hpid/fd\"" "$T/trace" || true)"
check_match "the namespace's own process is read" "\"($apid/fd|/proc/$apid/fd)\"" "$(cat "$T/trace")"

# a listener of namespace b held only by a process now in the host's
# namespace (it listened in b, then moved): found by the second pass
make_ns b moved
spawn "$T/b" "$b" "$LH" -N "/proc/$$/ns/net" -a 127.0.0.1 0 16
bpid=$LAST_PID
wait_port "$T/b" >/dev/null
check_eq "the holder has left the namespace" "$(readlink /proc/$$/ns/net)" "$(readlink /proc/$bpid/ns/net)"
trace --netns "$b" listeners --json
check_eq "a listener held from another namespace is still named" "[$bpid]" \
	"$(jq -c '[.listeners[].processes[].pid]' "$T/out")"
check_match "then the other processes are read too" "\"($hpid/fd|/proc/$hpid/fd)\"" "$(cat "$T/trace")"
finish
