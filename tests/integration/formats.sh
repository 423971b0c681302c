#!/bin/sh
# Output formats: the Nagios plugin line and its exit codes, formats refused
# by commands that do not have them, and the Prometheus exposition checked
# by the real parser (promtool), with a hostile process name.
. "$TESTLIB"

command -v python3 >/dev/null 2>&1 || skip "needs python3 (to derive the fixture documents)"
BASIC="$FIXTURES/facts/basic.json"
# a full accept queue: a critical finding
mutate "$BASIC" "$T/crit.json" '[l for l in d["sockets"]["listeners"] if l["port"] == 443][0]["queue"] = 4097'
# a process name that tries to break out of a label and add a sample
mutate "$BASIC" "$T/hostile.json" '[l for l in d["sockets"]["listeners"] if l["port"] == 80][0]["processes"][0]["comm"] = "x\"y\\z\n} 1\nnetknobs_evil 1"'

# ---------------------------------------------------------------- nagios
# PERFDATA: space-separated 'label'=value[UOM];[warn];[crit];[min];[max]
perf_ok() {
	printf '%s\n' "$1" | tr ' ' '\n' | grep -v '^$' |
		grep -vEq "^('[^'=]+'|[A-Za-z0-9_]+)=-?[0-9.]+(s|ms|us|%|B|KB|MB|TB|c)?(;[0-9.:~@-]*){0,4}$" && return 1
	return 0
}
nagios_checks() { # DESC EXPECTED-EXIT STATE ARGS...
	d=$1 want=$2 state=$3; shift 3
	check_exit "nagios: $d" "$want" "$NETKNOBS" "$@" --format nagios
	line=$(head -n 1 "$T/out")
	check_match "nagios: $d: status line" "^NETKNOBS $state - " "$line"
	check_eq "nagios: $d: one '|' on the status line" "1" "$(printf '%s' "$line" | tr -cd '|' | wc -c | tr -d ' ')"
	if perf_ok "${line#*|}"; then pass "nagios: $d: perfdata syntax"; else fail "nagios: $d: perfdata: ${line#*|}"; fi
	check_eq "nagios: $d: nothing on stderr" "" "$(cat "$T/err")"
}
nagios_checks "warnings" 1 WARNING audit --from "$BASIC"
check_match "nagios: counts and first titles" \
	"^NETKNOBS WARNING - 0 critical, 4 warnings, 2 notices: Listener short of room below somaxconn; Listener's process close to its open-file limit; Accept queue nearly full; and 2 more \| " "$line"
check_match "nagios: perfdata values" '\| critical=0;;;0 warning=4;;;0 notice=2;;;0 info=0;;;0 listeners=4;;;0 listeners_overflowing=0;;;0 listener_drops=1532c;;;0$' "$line"
check_eq "nagios: long text, one line per finding" "6" "$(tail -n +2 "$T/out" | grep -Ec '^(WARNING|NOTICE) ')"
check_match "nagios: long text names subject, title, rule" '^WARNING 0\.0\.0\.0:80: Accept queue nearly full \[backlog\.queue-high\]$' "$(cat "$T/out")"
nagios_checks "critical" 2 CRITICAL audit --from "$T/crit.json"
check_match "nagios: the critical title first" '^NETKNOBS CRITICAL - 1 critical, 6 warnings, 1 notice: Accept queue full; ' "$line"
check_match "nagios: overflowing listeners" 'listeners_overflowing=1;;;0' "$line"
check_match "nagios: critical first in the long text" '^CRITICAL \[::\]:443: Accept queue full' "$(sed -n 2p "$T/out")"
nagios_checks "below --fail-on" 0 OK audit --from "$BASIC" --fail-on critical
nagios_checks "nothing found" 0 OK audit --from "$BASIC" --rule backlog.syncookies-off
check_match "nagios: OK line" '^NETKNOBS OK - 0 critical, 0 warnings \| ' "$line"
check_eq "nagios: OK has no long text" "1" "$(wc -l <"$T/out" | tr -d ' ')"
check_exit "nagios: unknown when the audit cannot run" 3 "$NETKNOBS" audit --from "$T/nope.json" --format nagios
check_match "nagios: UNKNOWN says why on stdout" '^NETKNOBS UNKNOWN - .*nope\.json' "$(cat "$T/out")"
check_eq "nagios: UNKNOWN is one line" "1" "$(wc -l <"$T/out" | tr -d ' ')"
check_exit "nagios: unknown for a bad rule file" 3 "$NETKNOBS" audit --from "$BASIC" --format nagios --rules "$T/nope.yaml"
check_match "nagios: bad rules UNKNOWN" '^NETKNOBS UNKNOWN - ' "$(cat "$T/out")"
nagios_checks "report" 1 WARNING report --from "$BASIC" --state-dir "$T/st-nagios"
check_match "nagios: report adds new and resolved" '4 warnings, 2 notices, 6 new, 0 resolved: .* new=6;;;0 resolved=0;;;0$' "$line"
nagios_checks "report, second run" 1 WARNING report --from "$BASIC" --state-dir "$T/st-nagios"
check_match "nagios: second run, nothing new" ', 0 new, 0 resolved' "$line"

# ---------------------------------------------------------------- refused formats
for c in facts listeners rules profiles lint explain; do
	check_exit "$c refuses --format prom" 3 "$NETKNOBS" "$c" --format prom
	check_match "$c: refusal explained" "$c: --format prom is not supported by this command \(text, json\)" "$(cat "$T/err")"
done
check_exit "refused before the command too" 3 "$NETKNOBS" --format nagios listeners --from "$BASIC"
check_match "global --format refused" 'listeners: --format nagios is not supported' "$(cat "$T/err")"
check_exit "unknown format lists all" 3 "$NETKNOBS" audit --format xml
check_match "unknown format: the choices" 'unknown format \(text, json, prom, nagios\)' "$(cat "$T/err")"

# ---------------------------------------------------------------- prometheus
if ! command -v promtool >/dev/null 2>&1; then
	echo "promtool not found (Debian package prometheus): the exposition checks are skipped"
	[ "$fails" -gt 0 ] && finish
	exit 77
fi
promcheck() { # DESC FILE
	if promtool check metrics <"$2" >"$T/promtool.out" 2>&1; then
		pass "$1: promtool check metrics"
	else
		fail "$1: promtool: $(head -c 600 "$T/promtool.out")"
	fi
}
check_exit "audit --format prom" 1 "$NETKNOBS" audit --from "$BASIC" --format prom
cp "$T/out" "$T/audit.prom"
promcheck "audit" "$T/audit.prom"
P=$(cat "$T/audit.prom")
check_match "findings by severity" '^netknobs_findings\{severity="warning"\} 4$' "$P"
check_match "findings by severity: zero too" '^netknobs_findings\{severity="critical"\} 0$' "$P"
check_match "findings by rule" '^netknobs_rule_findings\{rule="backlog.process-fd-limit",severity="warning"\} 2$' "$P"
check_match "listener queue" '^netknobs_listener_queue\{family="ipv4",address="0.0.0.0",port="80",inode="20442",process="nginx"\} 511$' "$P"
check_match "listener limit" '^netknobs_listener_queue_limit\{family="ipv6",address="::",port="443",inode="20443",process="nginx"\} 4096$' "$P"
check_match "listener drops" '^netknobs_listener_drops_total\{family="ipv4",address="0.0.0.0",port="80",inode="20442",process="nginx"\} 1532$' "$P"
check_match "listener without owner" '^netknobs_listener_queue\{family="ipv4",address="127.0.0.1",port="6379",inode="19876",process=""\} 0$' "$P"
check_match "sysctl value" '^netknobs_sysctl\{key="net.core.somaxconn"\} 4096$' "$P"
check_match "sysctl list by index" '^netknobs_sysctl\{key="net.ipv4.tcp_rmem",index="2"\} 6291456$' "$P"
check_match "sysctl key with a slash" '^netknobs_sysctl\{key="net.ipv4.conf.eth0/100.rp_filter"\} 2$' "$P"
check_match "audit duration" '^netknobs_audit_duration_seconds [0-9]+\.[0-9]+$' "$P"
check_match "audit time" '^netknobs_audit_timestamp_seconds [0-9]{10}$' "$P"
check_eq "every metric has HELP and TYPE" "$(grep -c '^# TYPE' "$T/audit.prom")" "$(grep -c '^# HELP' "$T/audit.prom")"
check_eq "every sample is netknobs_*" "0" "$(grep -v '^#' "$T/audit.prom" | grep -vc '^netknobs_' || true)"

check_exit "hostile process name" 1 "$NETKNOBS" audit --from "$T/hostile.json" --format prom
cp "$T/out" "$T/hostile.prom"
promcheck "hostile process name" "$T/hostile.prom"
check_eq "hostile: no injected sample" "0" "$(grep -c '^netknobs_evil' "$T/hostile.prom" || true)"
check_eq "hostile: no extra lines" "$(wc -l <"$T/audit.prom")" "$(wc -l <"$T/hostile.prom")"
if grep -qF 'process="x\"y\\z\\n} 1\\nnetknobs_evil 1"} 511' "$T/hostile.prom"; then
	pass "hostile: quote, backslash and newline escaped in the label"
else
	fail "hostile: label not escaped as expected: $(grep 'port="80"' "$T/hostile.prom" | head -n 1)"
fi

check_exit "critical prom" 2 "$NETKNOBS" audit --from "$T/crit.json" --format prom
promcheck "critical" "$T/out"

# report: stdout and the textfile
check_exit "report --format prom" 1 "$NETKNOBS" report --from "$BASIC" --state-dir "$T/st-prom" --format prom
cp "$T/out" "$T/report.prom"
promcheck "report" "$T/report.prom"
check_match "report: new findings" '^netknobs_report_new_findings 6$' "$(cat "$T/report.prom")"
check_match "report: first run is a baseline" '^netknobs_report_baseline_reset 1$' "$(cat "$T/report.prom")"
mkdir "$T/textfile"
mutate "$BASIC" "$T/day2.json" 'd["collected_at"] = "2026-11-26T00:00:00Z"; d["counters"]["TcpExt"]["ListenOverflows"] += 25'
check_exit "report --prom-dir (text format)" 1 "$NETKNOBS" report --from "$T/day2.json" --state-dir "$T/st-prom" --prom-dir "$T/textfile"
check_match "--prom-dir: the text report on stdout" 'ListenOverflows: \+25 \(50 per day\)' "$(cat "$T/out")"
check_eq "--prom-dir: only netknobs.prom, no temporary file" "netknobs.prom" "$(ls -A "$T/textfile")"
check_eq "--prom-dir: mode 0644" "644" "$(stat -c %a "$T/textfile/netknobs.prom")"
promcheck "textfile" "$T/textfile/netknobs.prom"
check_match "textfile: report metrics" '^netknobs_report_baseline_reset 0$' "$(cat "$T/textfile/netknobs.prom")"
check_match "textfile: counter rates" '^netknobs_report_increase_per_day\{counter="TcpExt.ListenOverflows"\} 50$' \
	"$(cat "$T/textfile/netknobs.prom")"
check_exit "report --prom-dir, quiet day" 1 "$NETKNOBS" report --from "$T/day2.json" --state-dir "$T/st-prom" --prom-dir "$T/textfile"
check_eq "--prom-dir: quiet day prints nothing" "" "$(cat "$T/out")"
check_eq "--prom-dir: rewritten" "0" "$(sed -n 's/^netknobs_report_new_findings //p' "$T/textfile/netknobs.prom")"
promcheck "textfile rewritten" "$T/textfile/netknobs.prom"
check_exit "--prom-dir missing: exit 3" 3 "$NETKNOBS" report --from "$BASIC" --state-dir "$T/st-prom" --prom-dir "$T/nodir"
check_match "--prom-dir missing: named" "$T/nodir/netknobs.prom" "$(cat "$T/err")"

finish
