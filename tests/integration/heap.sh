#!/bin/sh
# The heap of audit (and report) is madvised for transparent huge pages (a
# part of it carries the "hg" flag in /proc/PID/smaps, and no other mapping
# does); that of facts is not, and NETKNOBS_HUGEPAGES=0 leaves it alone.  Skips on sanitizer builds (their
# allocator is not the brk heap), where the C library gives no way to do it
# (no madvise in the binary) and where the kernel has no transparent huge
# pages.
. "$TESTLIB"
if nm "$NETKNOBS" 2>/dev/null | grep -q __asan_init; then
	skip "sanitizer build (its allocator replaces the heap)"
fi
nm "$NETKNOBS" 2>/dev/null | grep -q ' U madvise' || skip "built without the huge-page heap (no madvise)"
thp=/sys/kernel/mm/transparent_hugepage/enabled
[ -r "$thp" ] || skip "no transparent huge pages in this kernel"
grep -q '\[never\]' "$thp" && skip "transparent huge pages are off ($thp)"

# heap_flags ENV-SETTING COMMAND: start a sampling window of COMMAND (audit
# or facts); once its signal handlers are installed (the window has begun,
# the heap is set up), write the VmFlags of its mappings to $T/flags as
# "NAME FLAGS..." lines, then end it with SIGINT
heap_flags() {
	env "$1" "$NETKNOBS" "$2" --sample 20s --interval 1s --json >"$T/sample.json" 2>"$T/sample.err" &
	pid=$!
	NK_PIDS="$NK_PIDS $pid"
	i=0
	# SigCgt bit 1 (SIGINT, signal 2): the sampler's handler is in place
	while [ $i -lt 100 ]; do
		cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null || true)
		[ -n "$cgt" ] && [ $((0x$cgt & 2)) -ne 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	awk '/^[0-9a-f]+-[0-9a-f]+ / { name = NF >= 6 ? $6 : "[anon]" }
	     /^VmFlags:/ { sub(/^VmFlags:/, ""); print name, $0 }' "/proc/$pid/smaps" >"$T/flags" || true
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || true
}

heap_flags NETKNOBS_HUGEPAGES= audit
check_match "the heap exists" '^\[heap\] ' "$(cat "$T/flags")"
check_match "the audit's heap is madvised for huge pages" '^\[heap\] .* hg( |$)' "$(cat "$T/flags")"
check_eq "no other mapping is madvised" "" "$(grep -E ' hg( |$)' "$T/flags" | grep -v '^\[heap\] ' || true)"
check_match "sampling still reports after SIGINT" '"cut_short": true' "$(cat "$T/sample.json")"

# facts and listeners build no rule tables: their heap, at most a few MiB
# on a large host, stays in small pages (bench/scale --prefork 8)
heap_flags NETKNOBS_HUGEPAGES= facts
check_match "the heap exists (facts)" '^\[heap\] ' "$(cat "$T/flags")"
check_eq "facts leaves every mapping alone" "" "$(grep -E ' hg( |$)' "$T/flags" || true)"

heap_flags NETKNOBS_HUGEPAGES=0 audit
check_match "the heap exists (NETKNOBS_HUGEPAGES=0)" '^\[heap\] ' "$(cat "$T/flags")"
check_eq "NETKNOBS_HUGEPAGES=0 leaves every mapping alone" "" "$(grep -E ' hg( |$)' "$T/flags" || true)"
finish
