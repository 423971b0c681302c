#!/bin/sh
# The paths-below-a-root unit test (tests/unit/test-fileio) again with
# openat2 failing, as on kernels before 5.6 (ENOSYS) or under a seccomp
# filter that refuses it (EPERM): the walk that replaces it must give the
# same answers.
. "$TESTLIB"

"$HELPERS/no-openat2" true 2>/dev/null || skip "no-openat2 does not work here (seccomp)"
for e in ENOSYS EPERM; do
	set +e
	NK_TEST_NO_OPENAT2=1 "$HELPERS/no-openat2" -e "$e" "$TOP_BUILDDIR/tests/unit/test-fileio" >"$T/out" 2>&1
	rc=$?
	set -e
	if [ "$rc" = 0 ] && ! grep -q '^not ok' "$T/out" && grep -q '^ok .*openat2 fails here' "$T/out"; then
		pass "test-fileio with openat2 failing with $e ($(grep -c '^ok' "$T/out") checks)"
	else
		fail "test-fileio with openat2 failing with $e: exit $rc"
		sed 's/^/    /' "$T/out"
	fi
done
finish
