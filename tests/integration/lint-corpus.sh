#!/bin/sh
# The bad-input corpus: every file under tests/rules/bad must be refused by
# `netknobs lint` with exit 3 and the messages listed in its .err file (one
# expected substring per line), without a crash or a sanitizer report.
. "$TESTLIB"
BAD="$TOP_SRCDIR/tests/rules/bad"
GOOD="$TOP_SRCDIR/tests/rules/good"

sanitizer_clean() {
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation' "$T/err"; then
		fail "$1: sanitizer report: $(head -c 600 "$T/err")"
	fi
}

n=0
for f in "$BAD"/*.yaml; do
	name=$(basename "$f" .yaml)
	n=$((n + 1))
	[ -f "$BAD/$name.err" ] || { fail "$name: no $name.err"; continue; }
	check_exit "lint refuses $name" 3 "$NETKNOBS" lint "$f"
	sanitizer_clean "$name"
	while IFS= read -r want; do
		[ -n "$want" ] || continue
		if grep -Fq -- "$want" "$T/err"; then pass "$name: $want"; else fail "$name: expected '$want' in: $(cat "$T/err")"; fi
	done <"$BAD/$name.err"
done
[ "$n" -ge 25 ] || fail "corpus has only $n files"

# generated cases
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$T/huge.yaml"
check_exit "10 MB file refused" 3 "$NETKNOBS" lint "$T/huge.yaml"
check_match "10 MB: too large" 'huge.yaml: error: file too large' "$(cat "$T/err")"
head -c 65536 /dev/urandom >"$T/garbage.yaml"
check_exit "binary garbage refused" 3 "$NETKNOBS" lint "$T/garbage.yaml"
sanitizer_clean garbage
printf 'ruleset: t\nversion: 1\000\n' >"$T/nul.yaml"
check_exit "NUL byte refused" 3 "$NETKNOBS" lint "$T/nul.yaml"
check_match "NUL: not a text file" 'not a text file' "$(cat "$T/err")"
printf '\377\376r\000u\000' >"$T/utf16.yaml"
check_exit "invalid encoding refused" 3 "$NETKNOBS" lint "$T/utf16.yaml"
ln -s loop.yaml "$T/loop.yaml"
check_exit "symlink loop refused" 3 "$NETKNOBS" lint "$T/loop.yaml"
check_match "symlink loop: reason named" 'loop.yaml: error: cannot read' "$(cat "$T/err")"
check_exit "missing file refused" 3 "$NETKNOBS" lint "$T/none.yaml"
check_match "missing file: named" 'none.yaml: error: cannot read: No such file' "$(cat "$T/err")"
# a mapping with 100,000 keys must not take quadratic time (duplicate check)
awk 'BEGIN { print "variables:"; for (i = 0; i < 100000; i++) printf "  v%d: %d\n", i, i }' >"$T/wide.yaml"
check_exit "100,000 variables load" 0 "$NETKNOBS" lint "$T/wide.yaml"
awk 'BEGIN { print "variables:"; for (i = 0; i < 50000; i++) printf "  v%d: %d\n", i, i; print "  v7: 1" }' >"$T/wide-dup.yaml"
check_exit "duplicate among 50,000 keys found" 3 "$NETKNOBS" lint "$T/wide-dup.yaml"
check_match "duplicate named with both places" "wide-dup.yaml:50002:3: error: duplicate key 'v7' \(first at line 9" "$(cat "$T/err")"

# a directory: every error of every file in one run
mkdir "$T/dir"
cp "$BAD/unknown-field.yaml" "$BAD/wrong-type.yaml" "$BAD/hostile-key.yaml" "$T/dir/"
check_exit "directory with three bad files" 3 "$NETKNOBS" lint "$T/dir"
check_match "all errors reported: count" "^9 errors$" "$(cat "$T/err")"
check_match "all errors reported: first file" "hostile-key.yaml:11:7: error" "$(cat "$T/err")"
check_match "all errors reported: second file" "unknown-field.yaml:6:5: error" "$(cat "$T/err")"
check_match "all errors reported: third file" "wrong-type.yaml:12:12: error" "$(cat "$T/err")"
check_match "same rule set name in two files" "unknown-field.yaml:1:10: error: rule set 't' is already loaded from" "$(cat "$T/err")"

# the shipped rule sets and the good examples pass, in place of the
# built-in ones (beside them, each would be defined twice)
check_exit "lint accepts the shipped rule sets" 0 "$NETKNOBS" lint --no-default-rules "$TOP_SRCDIR/rules"
check_match "shipped rule sets: summary" '^ok: 6 files, 5 rule sets, [0-9]+ rules, 0 waivers$' "$(cat "$T/out")"
check_exit "lint accepts the good examples together" 0 "$NETKNOBS" lint --no-default-rules "$GOOD"
check_match "lint summary" '^ok: 3 files, 2 rule sets, 7 rules, 2 waivers$' "$(cat "$T/out")"
check_exit "profiles that break audit --profile" 3 "$NETKNOBS" lint --no-default-rules "$GOOD" "$BAD/../profiles-broken.yaml"
check_match "profile: rule set not loaded" "profiles-broken.yaml:4:11: error: profile 'broken-profile' names rule set 'no-such-set', which is not loaded" "$(cat "$T/err")"
check_match "profile: variable not defined" "profiles-broken.yaml:6:11: error: profile 'typo-profile' sets variable 'want_somaxcon', which no loaded rule set defines" "$(cat "$T/err")"
# an override file alone names rules it cannot see
check_exit "override without its rule set" 3 "$NETKNOBS" lint --no-default-rules "$GOOD/site-override.yaml"
check_match "unknown rule named" "site-override.yaml:5:11: error: override names unknown rule 't.notice'" "$(cat "$T/err")"
check_exit "lint without arguments" 3 "$NETKNOBS" lint
finish
