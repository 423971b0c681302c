#!/bin/sh
# The heap is madvised for transparent huge pages (its first piece carries
# the "hg" flag in /proc/PID/smaps), and NETKNOBS_HUGEPAGES=0 leaves it
# alone.  Skips on sanitizer builds (their allocator is not the brk heap)
# and where the kernel has no transparent huge pages.
. "$TESTLIB"
if nm "$NETKNOBS" 2>/dev/null | grep -q __asan_init; then
	skip "sanitizer build (its allocator replaces the heap)"
fi
thp=/sys/kernel/mm/transparent_hugepage/enabled
[ -r "$thp" ] || skip "no transparent huge pages in this kernel"
grep -q '\[never\]' "$thp" && skip "transparent huge pages are off ($thp)"

# heap_flags ENV-SETTING: start a sampling window, print the VmFlags of the
# process's [heap] mappings, one line each
heap_flags() {
	env "$1" "$NETKNOBS" facts --sample 20s --interval 1s --json >"$T/sample.json" 2>"$T/sample.err" &
	pid=$!
	NK_PIDS="$NK_PIDS $pid"
	i=0
	# the window has begun once the first reading is taken; give it a moment
	while [ $i -lt 50 ] && ! grep -q '\[heap\]' "/proc/$pid/maps" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.3
	awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 } /^VmFlags:/ && name == "[heap]" { print }' "/proc/$pid/smaps" >"$T/flags" || true
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || true
	cat "$T/flags"
}

flags=$(heap_flags NETKNOBS_HUGEPAGES=)
check_match "the heap exists" 'VmFlags:' "$flags"
check_match "the heap is madvised for huge pages" ' hg( |$)' "$flags"
check_match "sampling still reports after SIGINT" '"cut_short": true' "$(cat "$T/sample.json")"

flags=$(heap_flags NETKNOBS_HUGEPAGES=0)
check_match "the heap exists (NETKNOBS_HUGEPAGES=0)" 'VmFlags:' "$flags"
if printf '%s\n' "$flags" | grep -Eq ' hg( |$)'; then
	fail "NETKNOBS_HUGEPAGES=0: the heap is madvised anyway: $flags"
else
	pass "NETKNOBS_HUGEPAGES=0 leaves the heap alone"
fi
finish
