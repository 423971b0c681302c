#!/bin/sh
# Every command under valgrind memcheck: no invalid access, no use of
# uninitialised memory, no definite leak.  Skips on sanitizer builds (they
# replace the allocator) and where valgrind is not installed.
. "$TESTLIB"
command -v valgrind >/dev/null 2>&1 || skip "valgrind not installed"
if nm "$NETKNOBS" 2>/dev/null | grep -q __asan_init; then
	skip "sanitizer build (valgrind needs a build without --enable-sanitizers)"
fi
V="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
R="$FIXTURES/roots"
FACTS="$FIXTURES/facts/basic.json"
RULES="$TOP_SRCDIR/tests/rules"

vg() { # EXPECTED-EXIT ARGS...
	want=$1
	shift
	set +e
	$V "$NETKNOBS" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	if [ "$rc" = "$want" ]; then pass "valgrind: $*"; else fail "valgrind: $* (exit $rc): $(grep '==' "$T/err" | head -20)"; fi
}

vg 0 --version
vg 0 facts --json
vg 0 facts
vg 0 listeners
vg 0 facts --sample 300ms --interval 50ms --json
vg 0 listeners --sample 250ms
vg 0 audit --fail-on critical
vg 0 --root "$R/basic" facts --json
vg 0 --root "$R/broken" facts --json
vg 1 --root "$R/netns-old" audit
vg 0 --root "$R/basic" listeners
vg 3 audit --from "$FACTS" --no-default-rules --rules "$RULES/good" --format json -v
vg 2 audit --from "$FACTS" --no-default-rules --rules "$RULES/good" --only test
vg 0 rules --rules "$RULES/good" --no-default-rules
vg 0 profiles
vg 0 explain net.core.somaxconn
vg 0 audit --only hardening --fail-on critical
vg 0 audit --profile web-frontend --fail-on critical
vg 0 explain backlog.queue-full
vg 3 lint "$RULES/bad"
vg 0 lint "$RULES/good"
vg 3 facts --from "$RULES/bad/empty.yaml"
vg 3 factz
finish
