#!/bin/sh
# audit with the rules shared among threads: the same output, byte for
# byte, as one thread (JSON, text, verbose, prom, nagios; errors on standard
# error in the same order), over a generated rule book large enough to be
# worth threads: foreach rules over listeners, sysctl and counter rules,
# recommendations that merge and conflict, waivers, evaluation errors.
. "$TESTLIB"
export NETKNOBS_TODAY=2026-06-01
NL=300
NR=400

# facts: NL listeners
{
	printf '{"schema_version": 1, "host": {"kernel_release": "6.1.0-13-amd64", "cpus_online": 4, "mem_total_kib": 8192000, "netns": {"initial": true}},\n'
	printf '"sysctl": {"net.core.somaxconn": 4096, "net.ipv4.tcp_max_syn_backlog": 1024, "net.ipv4.tcp_syncookies": 1, "net.ipv4.tcp_fin_timeout": 60, "net.ipv4.tcp_rmem": [4096, 131072, 6291456], "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.eth0.rp_filter": 1, "net.ipv4.conf.lo.rp_filter": 2},\n'
	printf '"counters": {"TcpExt": {"ListenOverflows": 12, "ListenDrops": 12}},\n'
	printf '"sockets": {"source": "netlink", "states": {"LISTEN": %d}, "listeners": [\n' $NL
	i=0
	while [ $i -lt $NL ]; do
		sep=,; [ $i -eq $((NL - 1)) ] && sep=
		printf '{"family": "ipv4", "address": "10.0.%d.%d", "port": %d, "queue": %d, "limit": %d, "drops": %d, "processes": [{"pid": %d, "comm": "srv%d"}]}%s\n' \
			$((i / 200)) $((i % 200)) $((1024 + i)) $((i % 7)) $((i % 5 == 0 ? 128 : 4096)) $((i % 50 == 0 ? 5 : 0)) $((2000 + i)) $i "$sep"
		i=$((i + 1))
	done
	printf ']}}\n'
} >"$T/facts.json"

# rules: NR of them in eight shapes
{
	printf 'ruleset: threads\nversion: 1\nvariables:\n  pct: 80\n  zero: 0\nrules:\n'
	i=0
	while [ $i -lt $NR ]; do
		case $((i % 8)) in
		0) printf '  - id: p.l%d\n    title: t\n    severity: warning\n    foreach: l in listeners\n    subject: "{l.address}:{l.port}"\n    applies: exists(l.limit) && l.limit > 0\n    check: l.queue * 100 < l.limit * var.pct && l.drops == 0\n    observed: l.queue\n    message: "{l.address}:{l.port} queue {l.queue} of {l.limit}"\n    recommend:\n      net.core.somaxconn: pow2ceil(l.limit * %d)\n    rationale: r\n' $i $((i % 5 + 1)) ;;
		1) printf '  - id: p.s%d\n    title: t\n    severity: notice\n    check: sysctl("net.core.somaxconn") >= %d\n    message: "somaxconn {sysctl(\\"net.core.somaxconn\\")}"\n    recommend:\n      net.core.somaxconn: max(4096, pow2ceil(%d))\n    rationale: r\n' $i $((i * 20)) $((i * 20)) ;;
		2) printf '  - id: p.c%d\n    title: t\n    severity: critical\n    check: counter("TcpExt", "ListenOverflows") < %d\n    message: m\n    recommend:\n      net.ipv4.tcp_fin_timeout:\n        value: %d\n        mode: at-most\n        note: note %d\n    rationale: r\n' $i $((i / 4)) $((30 + i % 3)) $((i % 2)) ;;
		3) printf '  - id: p.e%d\n    title: t\n    severity: warning\n    foreach: l in listeners\n    subject: "{l.port}"\n    check: l.port / (l.port %% %d) > 0\n    message: "{l.port / var.zero}"\n    rationale: r\n' $i $((i % 5 + 2)) ;;
		4) printf '  - id: p.a%d\n    title: t\n    severity: info\n    check: \047max(l in listeners : l.limit) <= sysctl("net.core.somaxconn") * %d\047\n    message: m\n    recommend:\n      net.ipv4.tcp_max_syn_backlog:\n        value: %d\n        mode: exact\n    rationale: r\n' $i $((i % 2)) $((1024 * (i % 3 + 1))) ;;
		5) printf '  - id: p.m%d\n    title: t\n    severity: warning\n    foreach: c in sysctl_match("net.ipv4.conf.*.rp_filter")\n    subject: "{c.key}"\n    check: c.value == 1\n    observed: c.value\n    message: "{c.name} rp_filter {c.value}"\n    recommend:\n      net.ipv4.tcp_rmem: "[4096, 131072, %d]"\n    rationale: r\n' $i $((6291456 + i)) ;;
		6) printf '  - id: p.x%d\n    title: t\n    severity: notice\n    foreach: l in listeners\n    subject: "{l.address}:{l.port}"\n    check: l.processes[0].comm != "srv%d"\n    observed: l.processes\n    message: "{l.processes[0].comm} {1 / var.zero}"\n    recommend:\n      net.core.somaxconn: 100 / var.zero\n    rationale: r\n' $i $((i % NL)) ;;
		7) printf '  - id: p.d%d\n    title: t\n    severity: warning\n    foreach: l in host.nothing\n    subject: "{l}"\n    check: "true"\n    message: m\n    rationale: r\n' $i ;;
		esac
		i=$((i + 1))
	done
} >"$T/rules.yaml"
cat >"$T/waive.yaml" <<'EOF'
waive:
  - rule: p.l0
    subject: "10.0.0.0:1024"
    reason: kept small
    expires: 2099-12-31
  - rule: p.l8
    reason: expired
    expires: 2020-01-01
  - rule: p.c2
    reason: all of them
  - rule: p.x6
    subject: "10.0.0.6:1030"
    reason: one item
  - rule: p.s1
    subject: nothing
    reason: never used
EOF
check_exit "generated rules lint" 0 "$NETKNOBS" lint "$T/rules.yaml"

A="$NETKNOBS audit --from $T/facts.json --no-default-rules --rules $T/rules.yaml --rules $T/waive.yaml"
same() { # DESCRIPTION ARGS...: one thread and four give the same output
	d=$1; shift
	set +e
	NETKNOBS_THREADS=1 $A "$@" >"$T/o1" 2>"$T/e1"; r1=$?
	NETKNOBS_THREADS=4 $A "$@" --timing >"$T/o4" 2>"$T/e4"; r4=$?
	set -e
	sed -i '/^netknobs_audit_\(duration\|timestamp\)_seconds /d' "$T/o1" "$T/o4"
	check_match "$d: four threads evaluated" 'evaluate [0-9.]+ ms \(4 threads\)' "$(grep '^timing:' "$T/e4")"
	sed -i '/^timing:/d' "$T/e4"
	check_eq "$d: exit status" "$r1" "$r4"
	if cmp -s "$T/o1" "$T/o4"; then pass "$d: same output"; else fail "$d: output differs: $(diff "$T/o1" "$T/o4" | head -5)"; fi
	if cmp -s "$T/e1" "$T/e4"; then pass "$d: same errors, same order"; else fail "$d: errors differ: $(diff "$T/e1" "$T/e4" | head -5)"; fi
}
same "json" --format json
same "json verbose" --format json -v
same "text" --format text
same "text verbose" -v
same "prom" --format prom
same "nagios" --format nagios

# the single-thread output itself is what the rules say
NETKNOBS_THREADS=1 $A --format json >"$T/a.json" 2>"$T/a.err" || true
check_eq "every rule has a result" $NR "$(jq '.results | length' "$T/a.json")"
check_eq "results in rule order" '"p.l0" "p.s1" "p.d399"' "$(jq -c '.results[0].rule, .results[1].rule, .results[-1].rule' "$T/a.json" | tr '\n' ' ' | sed 's/ $//')"
check_eq "waivers used" '[true,true,true,true,false]' "$(jq -c '[.waivers[].used]' "$T/a.json")"
check_eq "exact recommendations conflict" true "$(jq '.recommendations[] | select(.key == "net.ipv4.tcp_max_syn_backlog") | .conflict' "$T/a.json")"
check_eq "at-most takes the smallest" 30 "$(jq '.recommendations[] | select(.key == "net.ipv4.tcp_fin_timeout") | .value' "$T/a.json")"
check_eq "rules asking, in rule order" '"p.l0" "p.l8" "p.l16"' "$(jq -c '.recommendations[] | select(.key == "net.core.somaxconn") | .rules[0,1,2]' "$T/a.json" | tr '\n' ' ' | sed 's/ $//')"
check_match "errors reported in rule order" '^netknobs: error: rule p\.e3 \(' "$(head -1 "$T/a.err")"
check_match "template errors reported" '^netknobs: error: rule p\.x6: in \{1 / var\.zero\}: division by zero$' "$(cat "$T/a.err")"
check_match "recommendation errors reported" '^netknobs: error: rule p\.x6: recommend net\.core\.somaxconn: division by zero$' "$(cat "$T/a.err")"

# automatic: the built-in rules over a few listeners stay on one thread
check_exit "small audit" 0 sh -c "NETKNOBS_THREADS= '$NETKNOBS' audit --from '$FIXTURES/facts/basic.json' --timing --fail-on critical >/dev/null"
check_match "small audit: one thread" 'evaluate [0-9.]+ ms \(1 thread\)' "$(cat "$T/err")"
cpus=$(getconf _NPROCESSORS_ONLN)
if [ "$cpus" -gt 1 ]; then
	want=$cpus; [ "$want" -gt 8 ] && want=8
	set +e; NETKNOBS_THREADS= $A --format json --timing >/dev/null 2>"$T/e"; set -e
	check_match "large audit: a thread per CPU" "evaluate [0-9.]+ ms \\($want threads\\)" "$(grep '^timing:' "$T/e")"
fi
check_exit "NETKNOBS_THREADS not a number" 0 sh -c "NETKNOBS_THREADS=lots '$NETKNOBS' audit --from '$FIXTURES/facts/basic.json' --fail-on critical >/dev/null"
check_match "NETKNOBS_THREADS not a number: warned" 'warning: NETKNOBS_THREADS=lots: not a number from 1 to 64, ignored' "$(cat "$T/err")"
finish
