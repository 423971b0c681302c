#!/bin/sh
# The owners of a namespace's listeners (--netns) are looked for among the
# processes of that namespace: a process elsewhere is skipped after one
# stat of its /proc/PID/ns/net, its descriptors are not read (a host
# process with 200,000 of them made every run take seconds).  A listener
# left without an owner there is looked for in the others too: one held
# only by a process that moved to another namespace is still named.
# The state of an owner is that of any of its threads that can take
# connections: a threaded server whose main thread is in uninterruptible
# sleep while another waits is not "stuck" (HAProxy's main thread taking a
# page fault from disk was once reported so); one whose only thread is
# stays so over the readings again.
. "$TESTLIB"
need_root
command -v strace >/dev/null 2>&1 || skip "needs strace"
for h in listen-hold connect-burst; do
	[ -x "$HELPERS/$h" ] || skip "helper $h not built (make check builds it)"
done
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

# c. main thread in D (vfork), a second thread waiting; its queue full
make_ns c thr
spawn "$T/c" "$c" "$LH" -t -D -a 127.0.0.1 0 4
cpid=$LAST_PID
cport=$(wait_port "$T/c")
in_d() { [ "$(state "$1")" = D ]; }
poll_until 5 in_d "$cpid" || fail "c: the main thread did not enter D: $(state "$cpid")"
ip netns exec "$c" "$HELPERS/connect-burst" -x -w 500 127.0.0.1 "$cport" 10 >/dev/null
in_ns "$c" "$NETKNOBS" facts --json >"$T/c.json"
check_eq "c: a thread that waits makes the process sleeping, not stuck" "sleeping" \
	"$(jq -r '.sockets.listeners[].processes[0].state' "$T/c.json")"
in_ns "$c" "$NETKNOBS" audit --json >"$T/c-audit.json" || true
check_eq "c: the full queue is reported" "critical" \
	"$(jq -r --arg s "127.0.0.1:$cport" '.findings[] | select(.rule == "backlog.queue-full" and .subject == $s) | .severity' "$T/c-audit.json")"
check_eq "c: nobody is said to be stopped or stuck" "" \
	"$(jq -r '.findings[] | select(.rule == "backlog.owner-stopped" and .severity != "ok") | .rule' "$T/c-audit.json"; \
	   jq -r '.findings[].message' "$T/c-audit.json" | grep -o 'stopped or stuck' || true)"

# d. the same with one thread: stuck, and still so after the readings again
make_ns d one
spawn "$T/d" "$d" "$LH" -D -a 127.0.0.1 0 4
dpid=$LAST_PID
dport=$(wait_port "$T/d")
poll_until 5 in_d "$dpid" || fail "d: the process did not enter D: $(state "$dpid")"
ip netns exec "$d" "$HELPERS/connect-burst" -x -w 500 127.0.0.1 "$dport" 10 >/dev/null
in_ns "$d" "$NETKNOBS" audit --json >"$T/d-audit.json" || true
check_eq "d: one thread in D: the process is stuck" "warning" \
	"$(jq -r --arg s "127.0.0.1:$dport" '.findings[] | select(.rule == "backlog.owner-stopped" and .subject == $s) | .severity' "$T/d-audit.json")"
check_match "d: and the full queue says nobody accepts" "Every process that could accept them is stopped or stuck" \
	"$(jq -r --arg s "127.0.0.1:$dport" '.findings[] | select(.rule == "backlog.queue-full" and .subject == $s) | .message' "$T/d-audit.json")"

# e. more threads than are read (4096), all in D but the last one, which
# waits: what the threads not read do is unknown, so the process is not
# said to be stuck (it was called disk-sleep, and its queue's drops
# blamed on it)
make_ns e many
spawn "$T/e" "$e" "$LH" -T 4100 -t -D -a 127.0.0.1 0 4
epid=$LAST_PID
eport=$(wait_port "$T/e")
many_d() { [ "$(state "$1")" = D ] && [ "$(grep -l ' S ' /proc/$1/task/*/stat 2>/dev/null | wc -l)" -ge 1 ] && \
	[ "$(ls /proc/$1/task | wc -l)" -ge 4102 ]; }
poll_until 20 many_d "$epid" || fail "e: the threads did not start: $(ls /proc/$epid/task | wc -l) threads"
ip netns exec "$e" "$HELPERS/connect-burst" -x -w 500 127.0.0.1 "$eport" 10 >/dev/null
in_ns "$e" "$NETKNOBS" audit --json >"$T/e-audit.json" || true
in_ns "$e" "$NETKNOBS" facts --json >"$T/e.json"
check_eq "e: 4102 threads, the one read that waits not among them: no state said" "null" \
	"$(jq -r '.sockets.listeners[].processes[0].state // "null"' "$T/e.json")"
check_eq "e: nobody is said to be stopped or stuck" "" \
	"$(jq -r '.findings[] | select(.rule == "backlog.owner-stopped" and .severity != "ok") | .rule' "$T/e-audit.json"; \
	   jq -r '.findings[].message' "$T/e-audit.json" | grep -o 'stopped or stuck' || true)"

# f. the main thread ended (pthread_exit), a second thread holds on: its
# PID/fd is empty and its state a zombie's, but the process serves (it
# was left without an owner, "owner unknown")
make_ns f zomb
spawn "$T/f" "$f" "$LH" -t -Z -a 127.0.0.1 0 4
fpid=$LAST_PID
fport=$(wait_port "$T/f")
in_z() { [ "$(state "$1")" = Z ]; }
poll_until 5 in_z "$fpid" || fail "f: the main thread did not end: $(state "$fpid")"
in_ns "$f" "$NETKNOBS" facts --json >"$T/f.json"
check_eq "f: the owner found through its other thread" "[$fpid]" "$(jq -c '[.sockets.listeners[].processes[].pid]' "$T/f.json")"
check_eq "f: in the state of the thread that runs on" "sleeping" "$(jq -r '.sockets.listeners[].processes[0].state' "$T/f.json")"
finish
