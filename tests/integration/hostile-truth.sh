#!/bin/sh
# Hostile review, "saying OK when it does not know" and what it still
# trusted: one case per defect, each of which failed before its fix.
#    9  core facts unreadable (no descriptors left, an empty /proc): exit 3
#       and UNKNOWN in every format, for audit, report and fix; a network
#       namespace without the host-only keys still audits
#   10  --only with a tag no rule has
#   11  lint fails where audit would
#   12  fix --apply with a read-only /proc/sys (a mount namespace inside a
#       network namespace); the listeners named for a restart
#   13  escape sequences and direction controls in rule texts, file names,
#       echoed keys, parsers' excerpts, state warnings
#   16  out of memory in the JSON loader, '', --version extra, facts --from
#       with --sysctl
# The parts that need root (namespaces) say SKIP without it.
. "$TESTLIB"
NK=$NETKNOBS
ROOTS="$FIXTURES/roots"
ESC=$(printf '\033')
is_root() { [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; }
no_esc() {
	if grep -q "$ESC" "$2"; then fail "$1: an escape character reached the terminal"; else pass "$1"; fi
}

# ------------------------------------------------------------------ 9
# no file descriptors left: nothing of /proc can be read
if command -v prlimit >/dev/null 2>&1; then
	check_exit "9: audit without descriptors" 3 prlimit --nofile=4 "$NK" audit
	check_match "9: text verdict is UNKNOWN" '^netknobs audit: UNKNOWN: could not read the sysctl values, the sockets, the kernel.s counters and the sysctl.d configuration' "$(head -1 "$T/out")"
	check_match "9: text says why" 'net\.core\.somaxconn: Too many open files' "$(cat "$T/out")"
	check_match "9: not 'Nothing to report'" '^[^N]' "$(grep -c 'Nothing to report' "$T/out" | sed 's/^0$/x/')"
	check_exit "9: nagios without descriptors" 3 prlimit --nofile=4 "$NK" audit --format nagios
	check_match "9: NETKNOBS UNKNOWN, with the reason" '^NETKNOBS UNKNOWN - could not read the sysctl values \(net\.core\.somaxconn: Too many open files' "$(cat "$T/out")"
	check_exit "9: json without descriptors" 3 prlimit --nofile=4 "$NK" audit --format json
	check_eq "9: json names the parts" '["counters","persistent","sockets","sysctl"]' "$(jq -c '.core_unavailable | keys' "$T/out")"
	check_match "9: json verdict" '^"UNKNOWN' "$(jq .verdict "$T/out")"
	check_exit "9: prom without descriptors" 3 prlimit --nofile=4 "$NK" audit --format prom
	check_match "9: prom metric" '^netknobs_facts_unavailable\{part="sockets"\} 1$' "$(cat "$T/out")"
	check_exit "9: fix --check without descriptors" 3 prlimit --nofile=4 "$NK" fix --check
	# report: exit 3, and the state of such a run is not kept
	mkdir "$T/state"
	"$NK" report --state-dir "$T/state" >/dev/null 2>&1 || true
	sum=$(cksum <"$T/state/latest.json")
	# report holds two: the state directory (every file in it is opened
	# relative to it) and its lock
	check_exit "9: report without descriptors" 3 prlimit --nofile=6 "$NK" report --state-dir "$T/state" --format nagios
	check_match "9: report's nagios line" '^NETKNOBS UNKNOWN - could not read' "$(cat "$T/out")"
	check_eq "9: the previous state is kept" "$sum" "$(cksum <"$T/state/latest.json")"
else
	echo "SKIP: 9: prlimit not installed"
fi

# an empty /proc below --root
mkdir -p "$T/empty/proc"
check_exit "9: audit of an empty /proc" 3 "$NK" --root "$T/empty" audit --format nagios
check_match "9: empty /proc: UNKNOWN" '^NETKNOBS UNKNOWN - could not read the sysctl values \(net\.core\.somaxconn: no such key' "$(cat "$T/out")"
check_exit "9: facts of an empty /proc" 0 "$NK" --root "$T/empty" facts --json
cp "$T/out" "$T/empty.json"
check_exit "9: the saved document keeps saying so" 3 "$NK" audit --from "$T/empty.json"
check_exit "9: report of an empty /proc" 3 "$NK" --root "$T/empty" report --state-dir "$T/state2" --always
# a sysctl.d file that cannot be read (a FIFO): the persist rules cannot judge
mkdir -p "$T/fifo"
cp -r "$ROOTS/basic/." "$T/fifo/"
mkdir -p "$T/fifo/etc/sysctl.d"
mkfifo "$T/fifo/etc/sysctl.d/50-site.conf"
check_exit "9: audit with an unreadable sysctl.d file" 3 "$NK" --root "$T/fifo" audit --format json
check_eq "9: the sysctl.d configuration named" '"/etc/sysctl.d/50-site.conf: not a regular file"' "$(jq .core_unavailable.persistent "$T/out")"
rm -f "$T/fifo/etc/sysctl.d/50-site.conf"
check_exit "9: the same root without it audits (notices only)" 0 "$NK" --root "$T/fifo" audit --format json
check_eq "9: then nothing is missing" "null" "$(jq -c .core_unavailable "$T/out")"
# a container's /proc (no net.core.netdev_max_backlog): audited as usual
check_exit "9: a namespace's /proc audits normally (notices only)" 0 "$NK" --root "$ROOTS/netns-old" audit --format json
check_eq "9: netns-old: no core part missing" "null" "$(jq -c .core_unavailable "$T/out")"
if is_root; then
	make_ns ns core
	# whatever it finds there (host-wide values may give findings), it audits
	set +e
	ip netns exec "$ns" "$NK" audit --format json >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	case $rc in
	0|1|2) pass "9: audit inside a network namespace (netdev_* absent): exit $rc" ;;
	*) fail "9: audit inside a network namespace: exit $rc; $(head -c 300 "$T/err")" ;;
	esac
	check_eq "9: namespace: no core part missing" "null" "$(jq -c .core_unavailable "$T/out")"
	check_eq "9: namespace: netdev_max_backlog is absent there" '"missing"' \
		"$(ip netns exec "$ns" "$NK" facts --json | jq '.sysctl_unavailable["net.core.netdev_max_backlog"].reason')"
else
	echo "SKIP: 9: network namespace (needs root)"
fi

# ------------------------------------------------------------------ 10
check_exit "10: --only with a typo" 3 "$NK" audit --only hardenin
check_match "10: suggests the tag" "--only hardenin: no loaded rule has this tag; did you mean 'hardening'\\?" "$(cat "$T/err")"
check_exit "10: fix --check --only nope" 3 "$NK" fix --check --only nope
check_match "10: lists the tags when none is close" "--only nope: no loaded rule has this tag \\(tags: .*backlog" "$(cat "$T/err")"
check_exit "10: a real tag still works" 0 "$NK" audit --only hardening --from "$FIXTURES/rules/hardening-good.json" --fail-on critical

# ------------------------------------------------------------------ 11
L="$T/lint"
mkdir -p "$L"
# a rule of the built-in backlog set, its rule set renamed: the rule id
# is defined twice (audit --rules would fail the same way)
awk '/^ruleset:/ { print "ruleset: mine"; next } { print }' "$TOP_SRCDIR/rules/backlog.yaml" |
	awk '/^keys:/ { skip = 1; next } /^[a-z]/ { skip = 0 } !skip' >"$L/dup-id.yaml"
check_exit "11: lint, a rule id a built-in set has" 3 "$NK" lint "$L/dup-id.yaml"
check_match "11: duplicate rule id named" "dup-id.yaml:[0-9]+:[0-9]+: error: duplicate rule id 'backlog\\.[a-z-]+' \\(first defined at <built-in>/backlog.yaml" "$(cat "$T/err")"
check_exit "11: audit agrees" 3 "$NK" audit --rules "$L/dup-id.yaml"
printf 'ruleset: limits\nversion: 1\nrules: []\n' >"$L/dup-set.yaml"
check_exit "11: lint, a rule set name a built-in set has" 3 "$NK" lint "$L/dup-set.yaml"
check_match "11: rule set named" "dup-set.yaml:1:10: error: rule set 'limits' is already loaded" "$(cat "$T/err")"
printf 'profiles:\n  - name: database\n    rulesets: [backlog]\n' >"$L/dup-profile.yaml"
check_exit "11: lint, a profile a built-in set has" 3 "$NK" lint "$L/dup-profile.yaml"
check_match "11: profile named" "dup-profile.yaml:2:11: error: profile 'database' is already defined" "$(cat "$T/err")"
printf 'ruleset: mykeys\nversion: 1\nkeys:\n  net.core.somaxconn:\n    summary: mine\nrules: []\n' >"$L/dup-key.yaml"
check_exit "11: lint, a key a built-in set documents" 3 "$NK" lint "$L/dup-key.yaml"
check_match "11: key named" "dup-key.yaml:4:3: error: key 'net.core.somaxconn' is already documented" "$(cat "$T/err")"
printf 'variables:\n  somaxconn_default: ~\n' >"$L/null.yaml"
check_exit "11: lint, a variable set to ~" 3 "$NK" lint "$L/null.yaml"
check_match "11: null named" "null.yaml:2:22: error: '~' is YAML null" "$(cat "$T/err")"
check_exit "11: audit agrees on ~" 3 "$NK" audit --rules "$L/null.yaml" --from "$FIXTURES/rules/healthy.json"
printf 'variables:\n  somaxconn_default: .inf\n' >"$L/inf.yaml"
check_exit "11: lint, a variable set to .inf" 3 "$NK" lint "$L/inf.yaml"
check_match "11: .inf named" "inf.yaml:2:22: error: '.inf' is a YAML infinity or NaN" "$(cat "$T/err")"
printf 'variables:\n  somaxconn_default: "4096"\n' >"$L/string.yaml"
check_exit "11: lint, a string where the rule set has an integer" 3 "$NK" lint "$L/string.yaml"
check_match "11: type named" "string.yaml:2:3: error: variable 'somaxconn_default' must be an integer" "$(cat "$T/err")"
printf 'waive:\n  - rule: backlog.queue-full\n    reason: test\n    expires: 2027-02-31\n' >"$L/date.yaml"
check_exit "11: lint, an expiry date that does not exist" 3 "$NK" lint "$L/date.yaml"
check_match "11: date named" "date.yaml:4:14: error: 'expires' must be a date YYYY-MM-DD that exists" "$(cat "$T/err")"
printf 'waive:\n  - rule: backlog.queue-full\n    reason: test\n    expires: 2028-02-29\n' >"$L/leap.yaml"
check_exit "11: a leap day is a date" 0 "$NK" lint "$L/leap.yaml"
# rules.d: *.yml is loaded as *.yaml is, by lint and by audit
R="$T/ymlroot"
mkdir -p "$R/proc"
cp -r "$ROOTS/basic/proc/." "$R/proc/" 2>/dev/null || true
rd="$R$("$NK" audit --help | sed -n 's|.*; \(/[^ ]*\)/netknobs/rules.d/\*\.yaml;|\1|p')/netknobs/rules.d"
mkdir -p "$rd"
printf 'override:\n  - rule: backlog.somaxconn-low\n    enabled: false\n' >"$rd/10-site.yml"
check_exit "11: rules.d/*.yml: lint" 0 "$NK" --root "$R" lint "$rd/10-site.yml"
check_exit "11: rules.d/*.yml: rules" 0 "$NK" --root "$R" rules
check_match "11: rules.d/*.yml is loaded" '^backlog\.somaxconn-low +[a-z]+ +disabled' "$(cat "$T/out")"
printf 'override:\n  - rule: backlog.no-such-rule\n    enabled: false\n' >"$rd/20-bad.yml"
check_exit "11: a bad rules.d/*.yml fails lint" 3 "$NK" --root "$R" lint "$rd"
check_exit "11: ... and audit alike" 3 "$NK" --root "$R" audit

# ------------------------------------------------------------------ 12
if is_root && command -v unshare >/dev/null 2>&1 && [ -x "$HELPERS/listen-hold" ]; then
	make_ns ns ro
	ip netns exec "$ns" sh -c 'echo 128 >/proc/sys/net/core/somaxconn'
	# /proc/sys read-only, as in a container, in a mount namespace of its own
	ro() { ip netns exec "$ns" unshare -m sh -c 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"' sh "$@"; }
	check_exit "12: fix --apply, /proc/sys read-only" 3 ro "$NK" fix --apply --output "$T/ro.conf"
	check_match "12: names the refusal" "net.core.somaxconn = [0-9]+: write: Read-only file system" "$(cat "$T/err")"
	check_match "12: says nothing changed" "no value was changed \\(read back\\)" "$(cat "$T/err")"
	case $(cat "$T/err") in
	*mixed*|*"could not restore"*) fail "12: claims a failed restore although nothing changed" ;;
	*) pass "12: no false 'could not restore ... mixed'" ;;
	esac
	check_exit "12: --format json, read-only" 3 ro "$NK" fix --apply --output "$T/ro.conf" --format json
	check_eq "12: json result on failure" 'false failed false' \
		"$(jq -r '"\(.ok) \(.applied[0].status) \(.running_values_changed)"' "$T/out")"
	check_eq "12: the value is untouched" 128 "$(ip netns exec "$ns" cat /proc/sys/net/core/somaxconn)"
	[ ! -e "$T/ro.conf" ] && pass "12: no drop-in written" || fail "12: drop-in written"
	check_exit "12: --format json, bad option" 3 "$NK" fix --apply --check --format json
	check_eq "12: json result for a usage error" false "$(jq .ok "$T/out")"

	# issue 12 item 9: only the listeners whose limit the applied keys change
	spawn "$T/l1" "$ns" "$HELPERS/listen-hold" -a 127.0.0.1 0 100000
	p1=$(wait_port "$T/l1")
	spawn "$T/l2" "$ns" "$HELPERS/listen-hold" -a 127.0.0.1 0 16
	p2=$(wait_port "$T/l2")
	fx() { "$NK" --netns "$ns" fix --no-default-rules --rules "$FIXTURES/fix/rules.yaml" --output "$T/rw.conf" "$@"; }
	check_exit "12: fix --apply raising somaxconn" 0 fx --apply --format json
	check_eq "12: only the listener capped by the old somaxconn" "$p1" "$(jq -r '[.restart[].port] | join(" ")' "$T/out")"
	check_eq "12: the JSON states what is known (the limit is the old value), not the cause" "true null" \
		"$(jq -r '.restart[0] | "\(.limit_equals_old_somaxconn) \(.capped_by_old_somaxconn)"' "$T/out")"
	check_exit "12: fix --apply when somaxconn does not change" 0 fx --apply --format json
	check_eq "12: then no listener is named" "[]" "$(jq -c .restart "$T/out")"
	check_exit "12: text, somaxconn unchanged" 0 fx --apply
	case $(cat "$T/out") in
	*Listeners*) fail "12: listeners named although somaxconn did not change" ;;
	*) pass "12: text names no listener when somaxconn did not change" ;;
	esac
else
	echo "SKIP: 12: read-only /proc/sys (needs root, unshare and listen-hold)"
fi

# ------------------------------------------------------------------ 13
E="$T/esc"
mkdir -p "$E"
cat >"$E/title.yaml" <<'EOF'
ruleset: esc
version: 1
rules:
  - id: esc.title
    title: "Accept queue \e]0;owned\a\e[2J full"
    severity: warning
    check: "false"
    message: "m"
    rationale: "r"
EOF
# a control character in a sysctl.d file name: escaped once, where the
# facts escape it, not again in the finding that names the file
cp -a "$FIXTURES/roots/basic" "$T/escroot"
mkdir -p "$T/escroot/etc/sysctl.d"
printf 'net.core.somaxconn = 1024\n' >"$T/escroot/etc/sysctl.d/9$(printf '\033')x.conf"
"$NK" --root "$T/escroot" audit >"$T/esc.txt" 2>&1 || true
no_esc "13: a file name with ESC: no raw escape in the audit" "$T/esc.txt"
check_match "13: the file named escaped once" '/etc/sysctl.d/9\\x1bx\.conf:1 sets 1024' "$(cat "$T/esc.txt")"
check_eq "13: not escaped twice" "" "$(grep -F '\\x1b' "$T/esc.txt" || true)"
check_exit "13: a title with an escape sequence" 3 "$NK" lint "$E/title.yaml"
check_match "13: refused after YAML's unescaping" "title.yaml:5:12: error: 'title' holds a control character \\(\\\\x1b" "$(cat "$T/err")"
check_exit "13: audit refuses it too" 3 "$NK" audit --format nagios --no-default-rules --rules "$E/title.yaml" --from "$FIXTURES/rules/healthy.json"
no_esc "13: nagios output has no escape" "$T/out"
printf 'ruleset: bidi\nversion: 1\nrules:\n  - id: bidi.a\n    title: "harmless \342\200\256 gnp.exe"\n    severity: warning\n    check: "false"\n    message: m\n    rationale: r\n' >"$E/bidi.yaml"
check_exit "13: a title with U+202E" 3 "$NK" lint "$E/bidi.yaml"
check_match "13: U+202E named" "'title' holds a character that changes the text's direction or lines \\(\\\\u202e" "$(cat "$T/err")"
# a newline in a file name must not forge a FILE:LINE line
f="$E/x
forged.yaml:1:1: error: all is well.yaml"
printf 'x: [\n' >"$f"
check_exit "13: a file name with a newline" 3 "$NK" lint "$f"
check_eq "13: no forged line" "" "$(grep '^forged.yaml' "$T/err" || true)"
check_match "13: the newline shown as \\n" 'x\\nforged\.yaml:1:1: error: all is well\.yaml:' "$(cat "$T/err")"
# keys echoed by the facts validation, jansson's excerpt, --rule
printf '{"schema_version": 1, "host": {}, "sockets": {"source": "proc", "listeners": []}, "sysctl": {"net.\\u001b[31mx": 1}}' >"$E/key.json"
check_exit "13: a facts key with an escape" 3 "$NK" audit --from "$E/key.json"
no_esc "13: validation message escaped" "$T/err"
check_match "13: ... and shown" 'invalid key "net\.\\x1b\[31mx"' "$(cat "$T/err")"
printf '{"schema_version": 1, \033[2J}' >"$E/near.json"
check_exit "13: jansson's excerpt with an escape" 3 "$NK" audit --from "$E/near.json"
no_esc "13: parser excerpt escaped" "$T/err"
check_exit "13: nagios UNKNOWN line" 3 "$NK" audit --from "$E/near.json" --format nagios
no_esc "13: nagios UNKNOWN line escaped" "$T/out"
check_exit "13: --rule with an escape" 3 "$NK" audit --rule "$(printf 'x\033[31m')"
no_esc "13: --rule echoed escaped" "$T/err"
# report's warning about a corrupt state file
mkdir -p "$T/state3"
printf '{"a": \033]0;owned\007}' >"$T/state3/latest.json"
"$NK" report --state-dir "$T/state3" --from "$FIXTURES/rules/healthy.json" >"$T/out" 2>"$T/err" || true
check_match "13: report warned about the state" 'latest\.json: .*new baseline' "$(cat "$T/err")"
no_esc "13: report's state warning escaped" "$T/err"

# ------------------------------------------------------------------ 16
printf '{"schema_version": 1, "host": {}, "sysctl": {}, "sockets": {"source": "proc", "listeners": []}, "notes": ["' >"$T/big.json"
head -c 20000000 /dev/zero | tr '\0' 'x' >>"$T/big.json"
printf '"]}\n' >>"$T/big.json"
if nm "$NK" 2>/dev/null | grep -q __asan_init; then
	check_exit "16: out of memory in the JSON loader" 3 env ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=8 "$NK" audit --from "$T/big.json"
elif sh -c 'ulimit -v 40000 && exec "$@"' sh "$NK" --version >/dev/null 2>&1; then
	# 40 MB of address space: enough to start, not for a 20 MB string
	check_exit "16: out of memory in the JSON loader" 3 sh -c 'ulimit -v 40000; exec "$@"' sh "$NK" audit --from "$T/big.json"
else
	echo "SKIP: 16: cannot limit the address space to 40 MB here"
	: >"$T/err"
	echo "error: out of memory" >"$T/err"
fi
check_match "16: says out of memory" "error: out of memory" "$(cat "$T/err")"
case $(cat "$T/err") in
*"invalid token"*) fail "16: out of memory reported as invalid token" ;;
*) pass "16: not 'invalid token'" ;;
esac
check_exit "16: an empty command name" 3 "$NK" ''
check_match "16: says it is empty" "empty command name" "$(cat "$T/err")"
check_exit "16: --version extra" 3 "$NK" --version extra
check_exit "16: --version alone" 0 "$NK" --version
check_exit "16: facts --from with --sysctl" 3 "$NK" facts --from "$FIXTURES/facts/basic.json" --sysctl net.core.somaxconn
check_match "16: says why" "cannot be combined with --from" "$(cat "$T/err")"

# ------------------------------------------------------------------ rules that would run commands
# A rule recommending a key through which the kernel runs a program
# (kernel.core_pattern "|/path", kernel.modprobe, fs.binfmt_misc.register)
# would make fix --write/--apply run commands as root: refused where the
# rule is loaded.
for key in kernel.core_pattern kernel.modprobe fs.binfmt_misc.register kernel/hotplug; do
	printf 'ruleset: run\nversion: 1\nrules:\n  - id: run.x\n    title: x\n    severity: warning\n    check: sysctl("net.core.somaxconn") > 999999\n    message: x\n    recommend:\n      %s:\n        value: %s\n        mode: exact\n    rationale: x\n' \
		"$key" "'\"|/tmp/evil %p\"'" >"$T/run.yaml"
	check_exit "rules: lint refuses recommending $key" 3 "$NK" lint "$T/run.yaml"
	check_match "rules: $key named at FILE:LINE:COL" "run\.yaml:10:7: error: invalid sysctl key .* in recommend: .*programs?" "$(cat "$T/err")"
	check_exit "rules: fix refuses the rule file ($key)" 3 "$NK" fix --rules "$T/run.yaml" --from "$FIXTURES/facts/basic.json" --output -
	if grep -q evil "$T/out"; then fail "rules: $key written to the drop-in"; else pass "rules: $key not in the drop-in"; fi
done
finish
