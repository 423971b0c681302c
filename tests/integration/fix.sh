#!/bin/sh
# netknobs fix on fixture roots (--root): the drop-in's content, the
# precedence of the other sysctl.d files (earlier, later, same name in
# another directory, masking), never lowering a value, --check, --write
# (atomic, backup, idempotent, read-only directory), --output, JSON.
. "$TESTLIB"

RULES="$FIXTURES/fix/rules.yaml"
# a fresh root: /proc of the basic fixture (somaxconn 4096,
# tcp_max_syn_backlog 512) and an empty /etc/sysctl.d
newroot() {
	rm -rf "$T/r"
	cp -r "$FIXTURES/roots/basic" "$T/r"
	mkdir -p "$T/r/etc/sysctl.d" "$T/r/usr/lib/sysctl.d" "$T/r/run/sysctl.d"
}
fix() { "$NETKNOBS" --root "$T/r" fix --no-default-rules --rules "$RULES" "$@"; }
D="$T/r/etc/sysctl.d/90-netknobs.conf"
line() { grep -E "^$1 = " "$2" | sed 's/.* = //'; }
# the text of a file on one line (messages are wrapped at 78 columns)
flat() { tr '\n' ' ' <"$1" | tr -s ' '; }

# ---- nothing there yet
newroot
check_exit "fix prints the drop-in" 0 fix
out=$(cat "$T/out")
check_match "shows somaxconn with the rule and why" \
	'# fixtest.somaxconn: Accept queues are capped too low' "$out"
check_match "the line" '^net.core.somaxconn = 8192$' "$out"
check_match "the note of the recommendation" '# note: applications must call listen\(\) again' "$out"
check_match "both rules that asked for one key" \
	'fixtest.syn-backlog: The SYN queue is small' "$out"
check_match "merged: the larger at-least value" '^net.ipv4.tcp_max_syn_backlog = 2048$' "$out"
[ ! -e "$D" ] && pass "printing writes nothing" || fail "printing wrote $D"
check_exit "--check: would change" 1 fix --check
check_eq "--check prints nothing" "" "$(cat "$T/out" "$T/err")"

# ---- --write, then idempotent
check_exit "--write" 0 fix --write
check_match "says what it wrote" "wrote .*90-netknobs.conf" "$(cat "$T/out")"
check_eq "mode 0644" "644" "$(stat -c %a "$D")"
check_eq "written somaxconn" "8192" "$(line net.core.somaxconn "$D")"
[ ! -e "$D.bak" ] && pass "no backup of a file that did not exist" || fail "unexpected $D.bak"
check_exit "--check after --write: up to date" 0 fix --check
check_exit "second --write" 0 fix --write
check_match "second --write changes nothing" "up to date" "$(cat "$T/out")"
[ ! -e "$D.bak" ] && pass "second --write made no backup" || fail "second --write made a backup"
ls "$T/r/etc/sysctl.d" >"$T/ls"
check_eq "no temporary file left" "90-netknobs.conf" "$(cat "$T/ls")"

# the running value now meets it (as after --apply): the line stays
echo 8192 >"$T/r/proc/sys/net/core/somaxconn"
echo 4096 >"$T/r/proc/sys/net/ipv4/tcp_max_syn_backlog"
check_exit "--check once the values run: still up to date" 0 fix --check
check_exit "--write once the values run" 0 fix --write
check_eq "kept somaxconn" "8192" "$(line net.core.somaxconn "$D")"
check_match "kept its comment" '# fixtest.somaxconn: Accept queues' "$(cat "$D")"

# ---- a recommendation that grows: the backup keeps the old file
cp "$D" "$T/before"
cat >"$T/site.yaml" <<'EOF'
variables:
  somaxconn: 16384
EOF
check_exit "--check with a larger recommendation: would change" 1 fix --rules "$T/site.yaml" --check
check_exit "-v --check shows the diff" 1 fix --rules "$T/site.yaml" --check -v
check_match "diff: old line" '^-net.core.somaxconn = 8192$' "$(cat "$T/out")"
check_match "diff: new line" '^\+net.core.somaxconn = 16384$' "$(cat "$T/out")"
check_exit "--write the larger value" 0 fix --rules "$T/site.yaml" --write
check_eq "new value" "16384" "$(line net.core.somaxconn "$D")"
if cmp -s "$T/before" "$D.bak"; then pass "backup holds the previous file"; else fail "backup differs"; fi
check_eq "backup mode" "644" "$(stat -c %a "$D.bak")"

# ---- never lower: the drop-in's own higher value, and the running value
check_exit "back to the smaller variable" 0 fix --write
check_eq "the higher value in the drop-in is kept" "16384" "$(line net.core.somaxconn "$D")"

newroot
echo 32768 >"$T/r/proc/sys/net/core/somaxconn"
echo 100 >"$T/r/proc/sys/net/ipv4/tcp_max_syn_backlog"
check_exit "somaxconn met now, its rule passes" 0 fix --write
check_eq "no recommendation, nothing written" "" "$(line net.core.somaxconn "$D")"
# a failing rule asks for a value met now that no file sets: it is
# persisted as it runs (lost at reboot otherwise)
check_exit "a recommendation met now, not persisted" 0 fix --rules "$FIXTURES/fix/satisfied.yaml" --write
check_eq "persisted at its running value" "32768" "$(line net.core.somaxconn "$D")"
check_exit "then up to date" 0 fix --rules "$FIXTURES/fix/satisfied.yaml" --check
# the admin raises it in an earlier file and now: never lowered by ours
printf 'net.core.somaxconn = 65535\n' >"$T/r/etc/sysctl.d/50-admin.conf"
echo 65535 >"$T/r/proc/sys/net/core/somaxconn"
check_exit "an earlier file raised above the drop-in's line" 1 fix --rules "$FIXTURES/fix/satisfied.yaml" --check
check_exit "so --write raises the line" 0 fix --rules "$FIXTURES/fix/satisfied.yaml" --write
check_eq "never lowers what the admin set" "65535" "$(line net.core.somaxconn "$D")"
rm "$T/r/etc/sysctl.d/50-admin.conf"

# ---- precedence: an earlier file with a higher value
newroot
printf 'net.core.somaxconn = 65535\n' >"$T/r/usr/lib/sysctl.d/50-admin.conf"
printf 'net.core.somaxconn = 1000\n' >"$T/r/etc/sysctl.d/10-low.conf"
check_exit "earlier files" 0 fix --write
check_eq "never lowers the value of an earlier file" "65535" "$(line net.core.somaxconn "$D")"
check_exit "earlier files: up to date" 0 fix --check
newroot
printf 'net.core.somaxconn = 10000\n' >"$T/r/etc/sysctl.d/50-admin.conf"
check_exit "an earlier file with a higher value, not running" 0 fix --write
check_eq "the higher value of the earlier file is kept" "10000" "$(line net.core.somaxconn "$D")"
check_match "and said" "the higher value already in use is kept" "$(cat "$D")"

# ---- precedence: a later file wins
newroot
printf '# local\nnet.core.somaxconn = 1024\n' >"$T/r/etc/sysctl.d/99-local.conf"
check_exit "a later file" 0 fix
out=$(cat "$T/out")
check_match "names the file, line and value that win" \
	'99-local.conf:2 sets 1024 and is applied after .*90-netknobs.conf, so 1024 is what boot' "$(flat "$T/out")"
check_exit "JSON with a later file" 0 fix --format json
check_eq "overridden_by" "/etc/sysctl.d/99-local.conf:2" \
	"$(jq -r '.entries[] | select(.key == "net.core.somaxconn") | .overridden_by' "$T/out")"
check_eq "boot value" "1024" "$(jq -r '.entries[] | select(.key == "net.core.somaxconn") | .boot' "$T/out")"
printf 'net.core.somaxconn = 20000\n' >"$T/r/etc/sysctl.d/99-local.conf"
check_exit "a later file that already meets it" 0 fix -v --write
check_eq "not written" "" "$(line net.core.somaxconn "$D")"
check_match "said with -v" "99-local.conf:1 sets 20000, applied after the drop-in" "$(flat "$T/err")"

# ---- the same name in a directory that takes precedence
newroot
printf 'net.core.somaxconn = 8192\n' >"$T/r/etc/sysctl.d/90-netknobs.conf"
R="$T/r/run/sysctl.d/90-netknobs.conf"
check_exit "--output in /run, same name in /etc" 0 fix --output "$R"
check_match "the /etc file replaces it" \
	'/etc/sysctl.d/90-netknobs.conf replaces /run/sysctl.d/90-netknobs.conf' "$(flat "$T/out")"
rm "$T/r/etc/sysctl.d/90-netknobs.conf"
ln -s /dev/null "$T/r/etc/sysctl.d/90-netknobs.conf"
check_exit "masked by /dev/null" 0 fix --output "$R"
check_match "the mask is named" '/etc/sysctl.d/90-netknobs.conf masks /run/sysctl.d/90-netknobs.conf' \
	"$(flat "$T/out")"

# ---- an existing file: hand-written lines kept, CRLF, no final newline
newroot
printf '# my own\r\nnet.ipv4.tcp_fin_timeout = 30\r\n\r\n; stray comment\r\nnet.core.somaxconn = 9999' >"$D"
check_exit "an existing hand-edited file" 0 fix --write
check_match "hand-written key kept with its comment" '# my own' "$(cat "$D")"
check_eq "hand-written value kept" "30" "$(line net.ipv4.tcp_fin_timeout "$D" | tr -d '\r')"
check_eq "its higher somaxconn kept" "9999" "$(line net.core.somaxconn "$D")"
check_eq "one somaxconn line" "1" "$(grep -c '^net.core.somaxconn' "$D")"
check_exit "hand-edited file: idempotent" 0 fix --check

# an exclusion and a repeated key keep their places (they decide what boot
# does); an exclusion after a recommended key would undo it: the key's line
# takes the place of its last line instead
newroot
printf -- '-net.ipv4.tcp_fin_timeout\nnet.ipv4.tcp_fin_timeout = 30\nnet.core.somaxconn = 9000\n-net.core.somaxconn\n' >"$D"
check_exit "exclusions in the file" 0 fix --write
check_eq "the file's order is kept; a recommended key takes its last line's place, its exclusion goes" \
	"-net.ipv4.tcp_fin_timeout|net.ipv4.tcp_fin_timeout = 30|net.core.somaxconn = 9000|net.ipv4.tcp_max_syn_backlog = 2048" \
	"$(grep -v '^#' "$D" | grep . | tr '\n' '|' | sed 's/|$//')"
check_eq "what boot applies: the recommended key is set" 9000 \
	"$("$NETKNOBS" --root "$T/r" facts --json | jq '.persistent.keys["net.core.somaxconn"].value')"
check_eq "the kept lines keep their effect (the assignment after the exclusion wins)" true \
	"$("$NETKNOBS" --root "$T/r" facts --json | jq '.persistent.keys["net.ipv4.tcp_fin_timeout"].value == 30')"

# ---- a file of the same name in a directory of lower precedence
newroot
printf 'net.ipv4.tcp_syncookies = 1\n' >"$T/r/usr/lib/sysctl.d/90-netknobs.conf"
check_exit "same name in /usr/lib" 0 fix
check_match "says the drop-in hides it" \
	"90-netknobs.conf replaces /usr/lib/sysctl.d/90-netknobs.conf \\(same name, a directory of lower precedence\\)" \
	"$(flat "$T/out")"

# ---- what --root may and may not touch
newroot
mkdir "$T/host"
printf 'secret\n' >"$T/host/secret"
ln -s "$T/host/secret" "$D"
check_exit "the target is a symbolic link" 3 fix --write
check_match "refused, named" "90-netknobs.conf is a symbolic link" "$(cat "$T/err")"
check_eq "the link's target is untouched" "secret" "$(cat "$T/host/secret")"
check_eq "nothing written beside" "" "$(ls "$T/host" | grep -v '^secret$' || true)"
rm "$D"
ln -s /dev/null "$D"
check_exit "a masked drop-in" 3 fix --write
check_match "the mask is named" "symbolic link to /dev/null: the drop-in is masked" "$(flat "$T/err")"
rm "$D"
rmdir "$T/r/etc/sysctl.d"
ln -s "$T/host" "$T/r/etc/sysctl.d"
check_exit "the directory is an absolute link out of the root" 3 fix --write
check_eq "nothing written outside the root" "secret" "$(ls "$T/host")"
rm "$T/r/etc/sysctl.d"
mkdir "$T/r/etc/sysctl.d"
check_exit "--output outside --root" 3 fix --output "$T/host/x.conf" --write
check_match "says so" "must be a path below it" "$(cat "$T/err")"
mkfifo "$D"
check_exit "a FIFO at the target does not block" 3 timeout 20 "$NETKNOBS" --root "$T/r" fix --no-default-rules --rules "$RULES"
check_match "not a regular file" "not a regular file" "$(cat "$T/err")"
rm "$D"

# ---- text from the file is escaped on the terminal
printf '# \033]0;evil\007 title\nvm.swappiness = 10\n' >"$D"
check_exit "a control sequence in the file" 0 fix
if grep -q "$(printf '\033')" "$T/out"; then fail "ESC reached the output"; else pass "ESC escaped in the preview and diff"; fi

# ---- conflicts and left-out recommendations
newroot
check_exit "conflicting rules" 0 "$NETKNOBS" --root "$T/r" fix --no-default-rules --rules "$FIXTURES/fix/conflict.yaml" -v --output -
check_eq "nothing written for a conflict" "" "$(grep -v '^#' "$T/out" | grep . || true)"
check_match "the conflict is explained" "net.ipv4.tcp_syncookies: the rules ask for values that cannot be merged" \
	"$(flat "$T/err")"

# ---- list values of one key from several rules
"$NETKNOBS" audit --no-default-rules --rules "$FIXTURES/fix/lists.yaml" --format json \
	--from "$FIXTURES/rules/tcp-lfn-lowered.json" >"$T/lists.json" 2>/dev/null || true
check_eq "two lists at least: merged element by element, no conflict" '[[4096,262144,33554432],null]' \
	"$(jq -c '[.recommendations[] | select(.key == "net.ipv4.tcp_rmem")][0] | [.value, .conflict]' "$T/lists.json")"
check_eq "both rules named" "fixlists.a fixlists.b" \
	"$(jq -r '[.recommendations[] | select(.key == "net.ipv4.tcp_rmem")][0].rules | join(" ")' "$T/lists.json")"
check_eq "lists of other lengths: the rules disagree" true \
	"$(jq -c '[.recommendations[] | select(.key == "net.ipv4.tcp_wmem")][0].conflict' "$T/lists.json")"

# ---- --output -, errors
newroot
check_exit "--output -" 0 fix --output -
check_match "prints the drop-in only" '^# Written by `netknobs fix --write`' "$(head -1 "$T/out")"
check_exit "--check with --write" 3 fix --check --write
check_match "says why" "cannot be combined" "$(cat "$T/err")"
check_exit "--apply with --root" 3 fix --apply
check_match "says why" "--apply sets the values of the running kernel" "$(cat "$T/err")"
check_exit "--check with --output -" 3 fix --check --output -
check_exit "an operand" 3 fix foo
check_exit "--apply with --from" 3 "$NETKNOBS" fix --apply --from "$FIXTURES/facts/basic.json"
mkdir "$D"
check_exit "target is a directory" 3 fix
check_match "names it" "90-netknobs.conf: cannot read" "$(cat "$T/err")"
rmdir "$D"
printf 'a\0b' >"$D"
check_exit "target holds a NUL byte" 3 fix --check
rm "$D"
check_exit "the directory is missing" 3 fix --output "$T/r/nonexistent/x.conf" --write
check_match "names the file" "nonexistent/x.conf" "$(cat "$T/err")"

# ---- a directory that cannot be written: the old file stays, nothing partial
newroot
printf 'net.core.somaxconn = 5000\n' >"$D"
cp "$D" "$T/orig"
if [ "$(id -u)" = 0 ]; then
	# root ignores permissions: make the directory a read-only mount
	if unshare -m true 2>/dev/null; then
		check_exit "--write in a read-only directory" 3 unshare -m sh -c \
			'mount --bind -o ro "$1" "$1" && shift && exec "$@"' sh "$T/r/etc/sysctl.d" \
			"$NETKNOBS" --root "$T/r" fix --no-default-rules --rules "$RULES" --write
	else
		echo "# no mount namespace here: read-only case not run"
	fi
else
	chmod 555 "$T/r/etc/sysctl.d"
	check_exit "--write in a read-only directory" 3 fix --write
	chmod 755 "$T/r/etc/sysctl.d"
fi
check_match "the error names the file" "90-netknobs.conf" "$(cat "$T/err")"
if cmp -s "$T/orig" "$D"; then pass "the old file is untouched"; else fail "the old file changed"; fi
check_eq "nothing else in the directory" "90-netknobs.conf" "$(ls "$T/r/etc/sysctl.d")"

# ---- JSON
newroot
check_exit "JSON" 0 fix --format json
check_eq "JSON keys" '["changed","content","entries","exists","notes","ok","path","stdout","target","warnings"]' \
	"$(jq -c 'keys' "$T/out")"
check_eq "JSON entry" '{"key":"net.core.somaxconn","value":8192,"kept":false,"rules":["fixtest.somaxconn"],"runtime":4096}' \
	"$(jq -c '.entries[0] | {key, value, kept, rules, runtime}' "$T/out")"
check_eq "JSON target" "/etc/sysctl.d/90-netknobs.conf" "$(jq -r .target "$T/out")"
check_eq "JSON path: the file below --root, not printed to stdout, no previous text" \
	"[\"$T/r/etc/sysctl.d/90-netknobs.conf\",false,null]" "$(jq -c '[.path, .stdout, .previous]' "$T/out")"
printf '# the admin\nnet.core.somaxconn = 100\n' >"$D"
check_exit "JSON over a file there" 0 fix --format json
check_eq "JSON previous: the file's text, for the diff" "$(cat "$D")" "$(jq -r .previous "$T/out")"
check_exit "JSON with --output -" 0 fix --format json --output -
check_eq "JSON --output -: stdout, no path" "[true,null]" "$(jq -c '[.stdout, .path]' "$T/out")"
# a file that is not UTF-8: the text escapes it, JSON cannot carry it
printf '# caf\351\nnet.ipv4.tcp_fin_timeout = 30\n' >"$D"
check_exit "text over a file that is not UTF-8" 0 fix
check_match "its line escaped" '^# caf\\xe9$' "$(cat "$T/out")"
check_exit "JSON over a file that is not UTF-8" 3 fix --format json
check_eq "says why, as JSON" "false" "$(jq -r .ok "$T/out")"
check_match "the error names the file and UTF-8" "90-netknobs.conf holds text that is not UTF-8" "$(jq -r .error "$T/out")"
check_exit "fix --help" 0 "$NETKNOBS" fix --help
check_match "help names --apply" "--apply" "$(cat "$T/out")"
finish
