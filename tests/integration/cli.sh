#!/bin/sh
# Command line: help, version, command lookup, option errors, --from errors.
. "$TESTLIB"

check_exit "--version" 0 "$NETKNOBS" --version
check_match "--version prints name and version" '^netknobs [0-9]+\.[0-9]+' "$(cat "$T/out")"
check_exit "--help" 0 "$NETKNOBS" --help
check_match "--help lists facts" 'facts' "$(cat "$T/out")"
check_match "--help lists listeners" 'listeners' "$(cat "$T/out")"
check_match "--help lists top" '^  top  ' "$(cat "$T/out")"
check_exit "no command is a usage error" 3 "$NETKNOBS"

for c in audit facts listeners lint report rules top; do
	check_exit "$c --help" 0 "$NETKNOBS" "$c" --help
	check_match "$c --help has a usage line" "^Usage: netknobs $c" "$(cat "$T/out")"
	check_match "$c --help shows global options" '--netns' "$(cat "$T/out")"
	check_exit "$c -h" 0 "$NETKNOBS" "$c" -h
done

check_exit "unknown command" 3 "$NETKNOBS" factz
check_match "unknown command suggests" "unknown command 'factz'; did you mean 'facts'\?" "$(cat "$T/err")"
check_exit "unrelated word" 3 "$NETKNOBS" zz
check_match "unrelated word: pointed to --help" "see .netknobs --help." "$(cat "$T/err")"
check_exit "ambiguous prefix" 3 "$NETKNOBS" li
check_match "ambiguous prefix lists candidates" "ambiguous command 'li', could be: listeners lint" "$(cat "$T/err")"
check_exit "unique prefix runs the command" 0 "$NETKNOBS" fa --help
check_match "prefix resolved to facts" '^Usage: netknobs facts' "$(cat "$T/out")"
check_exit "unknown option" 3 "$NETKNOBS" facts --jsn
check_match "unknown option suggests" "did you mean '--json'" "$(cat "$T/err")"
check_exit "missing option argument" 3 "$NETKNOBS" facts --from
check_match "missing argument named" "needs an argument" "$(cat "$T/err")"
check_exit "bad --format" 3 "$NETKNOBS" --format xml facts
check_match "bad --format named" "unknown format" "$(cat "$T/err")"
check_exit "bad --sysctl key" 3 "$NETKNOBS" facts --sysctl 'net/../../etc/shadow'
check_match "bad key explained" "not allowed" "$(cat "$T/err")"
check_exit "stray operand" 3 "$NETKNOBS" listeners extra

# --from: malformed, wrong version, missing file, combined with --root
printf '{"schema_version": 1,\n "host": {,}\n' >"$T/bad.json"
check_exit "--from malformed JSON" 3 "$NETKNOBS" facts --from "$T/bad.json"
check_match "malformed: file:line:col named" "bad.json:2:[0-9]+: error" "$(cat "$T/err")"
printf '{"schema_version": 99, "host": {}, "sysctl": {}, "sockets": {"source": "proc", "listeners": []}}\n' >"$T/v99.json"
check_exit "--from wrong version" 3 "$NETKNOBS" facts --from "$T/v99.json"
check_match "wrong version explained" "schema_version 99 is not supported" "$(cat "$T/err")"
check_exit "--from missing file" 3 "$NETKNOBS" listeners --from "$T/nope.json"
check_match "missing file named" "nope.json" "$(cat "$T/err")"
head -c 4096 /dev/urandom >"$T/garbage.json"
check_exit "--from binary garbage" 3 "$NETKNOBS" facts --from "$T/garbage.json"
check_exit "--from with --root" 3 "$NETKNOBS" --root / facts --from "$T/v99.json"
check_exit "--root missing directory" 3 "$NETKNOBS" --root "$T/none" facts
check_match "missing root named" "none" "$(cat "$T/err")"

# --netns errors
check_exit "--netns unknown name" 3 "$NETKNOBS" --netns nk-no-such-ns facts
check_match "unknown netns explained" "no such network namespace" "$(cat "$T/err")"
check_exit "--netns not a namespace" 3 "$NETKNOBS" --netns /dev/null facts
if [ "$(id -u)" != 0 ]; then
	check_exit "--netns without privilege" 3 "$NETKNOBS" --netns 1 facts
fi

# a live run always works and its JSON round-trips through --from
check_exit "facts --json on the live system" 0 "$NETKNOBS" facts --json
cp "$T/out" "$T/live.json"
check_eq "live document has schema_version 1" 1 "$(jq .schema_version "$T/live.json")"
check_exit "facts --from the saved document" 0 "$NETKNOBS" facts --from "$T/live.json" --json
check_eq "round trip is lossless" "$(jq -S . "$T/live.json")" "$(jq -S . "$T/out")"
check_exit "facts -o writes a file" 0 "$NETKNOBS" facts -o "$T/saved.json"
check_eq "written file is the document" 1 "$(jq .schema_version "$T/saved.json")"
check_eq "no temporary file left" "" "$(ls "$T" | grep 'saved.json.' || true)"
mkdir "$T/dash"
check_exit "facts -o - prints the document" 0 sh -c 'cd "$1" && exec "$2" facts --from "$3" -o -' sh "$T/dash" "$NETKNOBS" "$T/live.json"
check_eq "facts -o -: the JSON document on standard output" "$(jq -S . "$T/live.json")" "$(jq -S . "$T/out")"
check_eq "facts -o -: no file named '-'" "" "$(ls "$T/dash")"
check_exit "facts -o into a missing directory" 3 "$NETKNOBS" facts -o "$T/nodir/x.json"
check_eq "nothing left behind" "" "$(ls "$T/nodir" 2>/dev/null || true)"

# JSON output: written whole through netknobs's own buffer (a document far
# larger than the buffer as well as a small one), and a failed write is an
# error, not a truncated success
{
	printf '{"schema_version": 1, "host": {"kernel_release": "6.1.0"}, "sysctl": {"net.core.somaxconn": 4096},\n'
	printf '"sockets": {"source": "netlink", "listeners": [\n'
	i=0
	while [ $i -lt 600 ]; do
		[ $i -gt 0 ] && printf ',\n'
		printf '{"family": "ipv4", "address": "10.0.%d.%d", "port": %d, "queue": 0, "limit": 4096}' \
			$((i / 250)) $((i % 250)) $((1024 + i))
		i=$((i + 1))
	done
	printf ']}}\n'
} >"$T/big.json"
check_exit "facts --json of a 600-listener document" 0 "$NETKNOBS" facts --from "$T/big.json" --json
check_eq "the whole document is written" "$(jq -S . "$T/big.json")" "$(jq -S . "$T/out")"
check_eq "one final newline" 1 "$(tail -c 1 "$T/out" | wc -l | tr -d ' ')"
if [ -w /dev/full ]; then
	for doc in "$FIXTURES/facts/basic.json" "$T/big.json"; do
		set +e
		"$NETKNOBS" facts --from "$doc" --json >/dev/full 2>"$T/err"
		rc=$?
		set -e
		check_eq "writing to a full device: exit 3 ($(basename "$doc"))" 3 "$rc"
		check_match "writing to a full device: said" 'writing output failed' "$(cat "$T/err")"
	done
	for what in net.core.somaxconn backlog.queue-full; do
		set +e
		"$NETKNOBS" explain --from "$FIXTURES/facts/basic.json" "$what" --json >/dev/full 2>"$T/err"
		rc=$?
		set -e
		check_eq "explain $what --json to a full device: exit 3" 3 "$rc"
	done
fi

# operands: the commands that take none refuse one, naming it; explain
# takes exactly one, lint at least one (struct cmd's operands_min/max)
for c in audit facts listeners report fix top rules profiles; do
	check_exit "$c with an operand" 3 "$NETKNOBS" "$c" stray-word
	check_eq "$c with an operand: named" "netknobs: error: $c: unexpected argument 'stray-word'" "$(cat "$T/err")"
done
check_exit "explain without an operand" 3 "$NETKNOBS" explain
check_match "explain without an operand: says what to give" "explain: name one sysctl key or rule id" "$(cat "$T/err")"
check_exit "explain with two operands" 3 "$NETKNOBS" explain net.core.somaxconn net.core.rmem_max
check_match "explain with two: says what to give" "explain: name one sysctl key or rule id" "$(cat "$T/err")"
check_exit "lint without an operand" 3 "$NETKNOBS" lint
check_match "lint without an operand: says what to give" "lint: name at least one rule file or directory" "$(cat "$T/err")"
check_exit "an operand before the options is refused all the same" 3 "$NETKNOBS" audit stray-word --json

# a long option that takes no argument, given one
check_exit "--json=x" 3 "$NETKNOBS" rules --json=x
check_eq "--json=x: says it takes none" "netknobs: error: rules: option '--json' takes no argument" "$(head -1 "$T/err")"
check_exit "--batch=1" 3 "$NETKNOBS" top --batch=1
check_eq "--batch=1: says it takes none" "netknobs: error: top: option '--batch' takes no argument" "$(head -1 "$T/err")"

finish
