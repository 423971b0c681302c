#!/bin/sh
# packaging/prometheus/netknobs-alerts.yml and packaging/grafana/
# netknobs-dashboard.json against real netknobs output.  nginx (Debian's)
# in two network namespaces: "web" with a backlog of 16 and its worker
# stopped, flooded until its accept queue overflows between two reports;
# "calm" healthy.  Every Prometheus-writing path runs on them (report
# --prom-dir, report and audit --format prom, each for one namespace and
# for every namespace with --all-netns), and a tree without /proc and a
# broken site rule give the unreadable facts and the rule errors.
# promtool check metrics and check rules; the textfiles become promtool
# input series (tests/promql.py series: node_exporter exposing them, the
# report running daily or not any more) and promtool test rules checks
# that each alert fires with its labels and text and that a quiet fleet
# stays quiet; every expression of both files names only metrics and
# labels netknobs writes; each dashboard expression returns data.
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
command -v promtool >/dev/null 2>&1 || skip "needs promtool (Debian package prometheus)"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
python3 -c 'import yaml' 2>/dev/null || skip "needs python3's yaml module"
srv_need nginx ss
[ -x "$HELPERS/connect-burst" ] || skip "needs tests/helpers/connect-burst (make check builds it)"
ALERTS=$TOP_SRCDIR/packaging/prometheus/netknobs-alerts.yml
DASH=$TOP_SRCDIR/packaging/grafana/netknobs-dashboard.json
PQ="python3 $TOP_SRCDIR/tests/promql.py"
P=8080

# ---------------------------------------------------------------- real output
make_ns WEB web
make_ns CALM calm
srv_nginx "$WEB" 127.0.0.1 "$P" workers=1 backlog=16 || finish
WEB_W=$(srv_children "$SRV_PID")
srv_nginx "$CALM" 127.0.0.1 "$P" workers=1 || finish
# calm has a warning (SYN cookies off), which no alert is about
srv_sysctl "$CALM" net.ipv4.tcp_syncookies=0

# nk NAME EXPECTED-EXIT ARGS...: a netknobs run whose standard output is
# $T/NAME.out (the exit status checked: 0 quiet, 1 warnings, 2 critical)
nk() {
	_n=$1 _w=$2
	shift 2
	check_exit "$_n: netknobs $*" "$_w" "$NETKNOBS" "$@"
	cp "$T/out" "$T/$_n.out"
}
# report NAME ARGS...: netknobs report --prom-dir into $T/prom-NAME, the
# state in $T/st-NAME (the same name: the previous report), the textfile
# copied to $T/NAME.prom; the exit status in $T/NAME.rc
report() {
	_n=$1
	shift
	mkdir -p "$T/prom-$_n"
	set +e
	"$NETKNOBS" "$@" report --state-dir "$T/st-$_n" --prom-dir "$T/prom-$_n" >"$T/$_n.report" 2>"$T/$_n.err"
	echo $? >"$T/$_n.rc"
	set -e
	cp "$T/prom-$_n/netknobs.prom" "$T/$_n.prom" 2>/dev/null || fail "$_n: no textfile: $(head -c 300 "$T/$_n.err")"
}

# the first reports: a baseline, no rates yet
report web --netns "$WEB"
report calm --netns "$CALM"
report all --all-netns
t0=$(date +%s)
check_eq "first report: no rates yet" "" "$(grep '^netknobs_report_increase_per_day' "$T/web.prom" || true)"

# web's worker stopped, 40 connections: 17 wait (the limit + 1), the others
# are refused and counted (ListenOverflows)
srv_stop "$WEB_W"
ip netns exec "$WEB" "$HELPERS/connect-burst" -x -w 500 127.0.0.1 "$P" 40 >"$T/burst"
full() { [ "$(ip netns exec "$WEB" ss -Hltn "sport = :$P" | awk '{ print $2 "/" $3 }')" = 17/16 ]; }
srv_until 10 full || fail "web's queue did not fill: $(ip netns exec "$WEB" ss -Hltn)"
INO=$(ip netns exec "$WEB" ss -Hltne "sport = :$P" | sed -n 's/.* ino:\([0-9]*\) .*/\1/p')
# a rate needs the clock to move on from the first report
clock_past() { [ "$(date +%s)" -gt "$1" ]; }
srv_until 5 clock_past "$t0" || fail "the clock moved on"

report web --netns "$WEB"
report calm --netns "$CALM"
report all --all-netns
check_eq "web: the report says critical (exit 2)" 2 "$(cat "$T/web.rc")"
check_eq "calm: the report has nothing critical (exit 0 or 1)" yes "$([ "$(cat "$T/calm.rc")" -le 1 ] && echo yes || echo no)"
# the other paths: report and audit on standard output, one namespace and all
nk web-report-stdout 2 --netns "$WEB" report --state-dir "$T/st-web" --always --format prom
nk web-audit 2 --netns "$WEB" audit --format prom
nk all-audit 2 --all-netns audit --format prom
# core facts unreadable: a tree without /proc
mkdir -p "$T/empty"
report unavailable --root "$T/empty"
check_eq "unavailable: exit 3" 3 "$(cat "$T/unavailable.rc")"
# a site rule that cannot be evaluated
cat >"$T/broken.yaml" <<'EOF'
version: 1
ruleset: site
rules:
  - id: site.broken
    title: Broken on purpose
    severity: warning
    subject: net.core.somaxconn
    check: sysctl("net.core.somaxconn") / 0 > 1
    message: never
    rationale: never
EOF
nk errors 3 --netns "$CALM" audit --format prom --rules "$T/broken.yaml"
cp "$T/errors.out" "$T/errors.prom"
for n in web-report-stdout web-audit all-audit; do cp "$T/$n.out" "$T/$n.prom"; done
PROMS="web calm all web-report-stdout web-audit all-audit unavailable errors"

for n in $PROMS; do
	if promtool check metrics <"$T/$n.prom" >"$T/pc.out" 2>&1; then
		pass "$n: promtool check metrics"
	else
		fail "$n: promtool check metrics: $(head -c 400 "$T/pc.out")"
	fi
done
# what the alerts will be checked against is what the kernel showed
lsel="family=\"ipv4\",address=\"127.0.0.1\",port=\"$P\",inode=\"$INO\",process=\"nginx\""
check_match "web: the full queue (17, as ss showed)" "^netknobs_listener_queue\\{$lsel\\} 17\$" "$(cat "$T/web.prom")"
check_match "web: its limit 16" "^netknobs_listener_queue_limit\\{$lsel\\} 16\$" "$(cat "$T/web.prom")"
check_eq "web: the critical rules: backlog.queue-full once" 'backlog.queue-full 1' \
	"$(sed -n 's/^netknobs_rule_findings{rule="\([^"]*\)",severity="critical"} \(.*\)/\1 \2/p' "$T/web.prom")"
check_match "web: ListenOverflows rose, per day" '^netknobs_report_increase_per_day\{counter="TcpExt.ListenOverflows"\} [1-9]' \
	"$(cat "$T/web.prom")"
ns_web="netns=\"$WEB\",netns_kind=\"named\""
check_match "all: the full queue with web's namespace labels" "^netknobs_listener_queue\\{$ns_web,$lsel\\} 17\$" \
	"$(cat "$T/all.prom")"
check_match "all: the namespaces of the run" '^netknobs_network_namespaces\{state="entered"\} [1-9]' "$(cat "$T/all.prom")"
check_match "unavailable: said so" '^netknobs_facts_unavailable\{part="sysctl"\} 1$' "$(cat "$T/unavailable.prom")"
check_match "errors: counted" '^netknobs_rule_results\{status="errors"\} 1$' "$(cat "$T/errors.prom")"

# ---------------------------------------------------------------- promtool check rules
if promtool check rules "$ALERTS" >"$T/check.out" 2>&1; then
	pass "promtool check rules"
else
	fail "promtool check rules: $(cat "$T/check.out")"
fi

# ---------------------------------------------------------------- names
# every metric and label the two files use is one netknobs writes (the
# scrape target's instance and job besides)
MARGS=$(for n in $PROMS; do printf ' --metrics %s' "$T/$n.prom"; done)
if $PQ check $MARGS "$ALERTS" "$DASH" >"$T/names.out" 2>&1; then
	pass "alerts and dashboard name only netknobs' metrics and labels ($(grep -c '^checked' "$T/names.out") expressions and templates)"
else
	fail "names: $(grep -v '^checked' "$T/names.out" | head -n 10)"
fi
check_match "the dashboard's panels were read" 'checked .*netknobs-dashboard.json: Fullest listeners/A: metrics netknobs_listener_queue,netknobs_listener_queue_limit' \
	"$(cat "$T/names.out")"
check_match "the alerts' templates were read" 'NetknobsListenerOverflowing description: .*labels address,family,inode,instance,job,netns,netns_kind,port,process' \
	"$(cat "$T/names.out")"
# the check can fail: a metric netknobs does not write, a label it does not
# set, a label only --all-netns sets when its output is not given
sed 's/netknobs_listener_queue_limit/netknobs_listener_backlog/' "$ALERTS" >"$T/renamed.yml"
check_exit "a renamed metric is caught" 1 $PQ check --metrics "$T/web.prom" "$T/renamed.yml"
check_match "the renamed metric named" 'metric netknobs_listener_backlog is not in' "$(cat "$T/out")"
sed 's/by (instance, job)/by (instance, host)/' "$ALERTS" >"$T/relabeled.yml"
check_exit "an unknown label is caught" 1 $PQ check $MARGS "$T/relabeled.yml"
check_match "the label named" 'label host is not in' "$(cat "$T/out")"
check_exit "netns is known only from --all-netns output" 1 $PQ check --metrics "$T/web.prom" "$DASH"
check_match "netns named" 'label netns is not in' "$(cat "$T/out")"

# ---------------------------------------------------------------- series
STEPS=870          # 72 h 30 min at 5 min a step
DAILY=0,288,576    # the report's runs: every 24 h
# series NAME INSTANCE [promql.py series options]
series() {
	_f=$1 _i=$2
	shift 2
	$PQ series "$T/$_f.prom" --instance "$_i" --steps "$STEPS" "$@"
}
header() {
	cat <<EOF
rule_files:
  - $ALERTS
evaluation_interval: 5m
tests:
EOF
}
# q TEXT: TEXT as a YAML double-quoted scalar
q() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
# expect EVAL-TIME ALERTNAME: the start of an alert_rule_test; then alert
# LABELS SUMMARY DESCRIPTION RUNBOOK for each alert expected (LABELS as
# 'name: "value", ...'), or none
expect() { printf '      - eval_time: %s\n        alertname: %s\n        exp_alerts:\n' "$1" "$2"; }
alert() {
	printf '          - exp_labels: {%s}\n' "$1"
	printf '            exp_annotations:\n'
	printf '              summary: %s\n' "$(q "$2")"
	printf '              description: %s\n' "$(q "$3")"
	printf '              runbook: %s\n' "$(q "$4")"
}
none() { printf '      - eval_time: %s\n        alertname: %s\n        exp_alerts: []\n' "$1" "$2"; }
ALL="NetknobsFactsUnavailable NetknobsCriticalFinding NetknobsListenerOverflowing NetknobsDropsRising NetknobsRuleErrors NetknobsReportStale"
DAY0="1970-01-01 00:00:00 +0000 UTC"

# The drop counters the alert watches, with what the description and the
# runbook say of them
drop_words() {
	case $1 in
	TcpExt.ListenOverflows) echo "connection attempts dropped because a listener's accept queue was full|backlog.listen-overflows" ;;
	TcpExt.ListenDrops) echo "connection attempts dropped by listeners (overflows included)|backlog.listen-drops" ;;
	TcpExt.TCPReqQFullDrop) echo "SYNs dropped because a SYN queue was full and SYN cookies were off|backlog.syn-queue-drops" ;;
	TcpExt.TCPBacklogDrop) echo "packets dropped because a socket's backlog was full|buffers.tcp-rcv-drops" ;;
	TcpExt.TCPRcvQDrop) echo "packets dropped because a socket's receive buffer was full|buffers.tcp-rcv-drops" ;;
	Udp.RcvbufErrors) echo "UDP datagrams dropped for a full receive buffer|buffers.udp-rcvbuf-errors" ;;
	Udp.SndbufErrors) echo "UDP datagrams dropped for a full send buffer|buffers.udp-sndbuf-errors" ;;
	softnet.dropped) echo "packets dropped because a CPU's input queue (netdev_max_backlog) was full|limits.softnet-drops" ;;
	*) return 1 ;;
	esac
}
# where INSTANCE [NETNS]: how the descriptions name the namespace
where() {
	if [ -n "${2:-}" ]; then echo "network namespace $2 (named)"; else echo "the network namespace netknobs audited"; fi
}
# drops FILE INSTANCE NETNS-LABELS NETNS: the DropsRising alerts that the
# rising drop counters of FILE's namespace NETNS (none: the only one) bring
drops() {
	_sel=${3:+$3,}
	sed -n "s/^netknobs_report_increase_per_day{${_sel}counter=\"\\([^\"]*\\)\"} \\(.*\\)/\\1 \\2/p" "$1" |
		while read -r c v; do
			dw=$(drop_words "$c") || continue
			awk -v v="$v" 'BEGIN { exit !(v > 0) }' || continue
			day=$(printf '%.0f' "$v")
			lab="alertname: \"NetknobsDropsRising\", severity: \"warning\", counter: \"$c\", instance: \"$2\", job: \"node\""
			[ -z "$3" ] || lab="$lab, netns: \"$4\", netns_kind: \"named\""
			alert "$lab" "$c rising on $2${4:+ ($4)}: $day a day" \
				"$c rose by $day a day on $2, $(where "$2" "${4:-}"), between the last two netknobs reports: ${dw%|*}. The report's findings say where and why; netknobs audit --sample 30s names who drops now." \
				"netknobs explain ${dw#*|}"
			echo "$c" >>"$T/drops-expected"
		done
}
# firing INSTANCE NETNS: the critical finding and the overflowing listener
# of web, as one host (NETNS empty) or as a namespace of a host
firing() {
	_in=$1 _ns=${2:-}
	_l="instance: \"$_in\", job: \"node\""
	[ -z "$_ns" ] || _l="$_l, netns: \"$_ns\", netns_kind: \"named\""
	expect 1h NetknobsCriticalFinding
	alert "alertname: \"NetknobsCriticalFinding\", severity: \"critical\", rule: \"backlog.queue-full\", $_l" \
		"netknobs: 1 critical finding of backlog.queue-full on $_in${_ns:+ ($_ns)}" \
		"The netknobs audit of $DAY0 on $_in, $(where "$_in" "$_ns"), found 1 critical finding of the rule backlog.queue-full. netknobs audit --rule backlog.queue-full on the host names the subject (the listener, socket or setting) and what to do." \
		"netknobs explain backlog.queue-full"
	expect 1h NetknobsListenerOverflowing
	alert "alertname: \"NetknobsListenerOverflowing\", severity: \"critical\", family: \"ipv4\", address: \"127.0.0.1\", port: \"$P\", inode: \"$INO\", process: \"nginx\", $_l" \
		"Accept queue full on $_in: 127.0.0.1:$P (nginx)${_ns:+ in $_ns}" \
		"The listener 127.0.0.1:$P (nginx, socket inode $INO) on $_in, $(where "$_in" "$_ns"), had 17 connections waiting for accept() and its limit is 16 at the audit of $DAY0: the queue is full, so the kernel drops new connection attempts (clients retry after a second or more)." \
		"netknobs explain backlog.queue-full"
}

# ---------------------------------------------------------------- alerts that fire
: >"$T/drops-expected"
{
	header
	# web as one host: critical, overflowing, drops rising; quiet at first
	# (nothing before its first report) and not stale two days on
	echo "  - interval: 5m"
	echo "    input_series:"
	series web web:9100 --runs "$DAILY"
	echo "    alert_rule_test:"
	firing web:9100
	expect 1h NetknobsDropsRising
	drops "$T/web.prom" web:9100 "" ""
	none 49h NetknobsReportStale
	# the same run over every namespace: the namespace's labels, calm quiet
	echo "  - interval: 5m"
	echo "    input_series:"
	series all node1:9100 --runs "$DAILY" --netns "$WEB" --netns "$CALM"
	echo "    alert_rule_test:"
	firing node1:9100 "$WEB"
	expect 1h NetknobsDropsRising
	drops "$T/all.prom" node1:9100 "$ns_web" "$WEB"
	# calm's report ran once, then no more: its textfile stays exposed on
	# calm:9100; on calm2:9100 it is gone after a day (the series end)
	echo "  - interval: 5m"
	echo "    input_series:"
	series calm calm:9100 --runs 0
	series calm calm2:9100 --runs 0 --until 312
	echo "    alert_rule_test:"
	none 47h NetknobsReportStale
	expect 48h20m NetknobsReportStale
	for i in calm calm2; do
		alert "alertname: \"NetknobsReportStale\", severity: \"warning\", instance: \"$i:9100\", job: \"node\"" \
			"No netknobs report from $i:9100 for 2d 0h 20m 0s" \
			"The newest netknobs metrics from $i:9100 are those of an audit 2d 0h 20m 0s ago: the daily report has not run for two days, or its textfile (report --prom-dir) is no longer written or scraped. The other netknobs alerts of this host speak of that old audit." \
			"systemctl status netknobs-report.timer netknobs-report.service and journalctl -u netknobs-report on $i:9100"
	done
	# core facts unreadable, a rule in error
	echo "  - interval: 5m"
	echo "    input_series:"
	series unavailable blind:9100 --runs "$DAILY"
	series errors broken:9100 --runs "$DAILY"
	echo "    alert_rule_test:"
	expect 1h NetknobsFactsUnavailable
	sed -n 's/^netknobs_facts_unavailable{part="\([a-z]*\)"} 1$/\1/p' "$T/unavailable.prom" | while read -r part; do
		case $part in
		sysctl) w="sysctl values" ;; sockets) w="listening sockets" ;; counters) w="kernel's counters" ;;
		persistent) w="sysctl.d configuration" ;; *) w="$part facts" ;;
		esac
		alert "alertname: \"NetknobsFactsUnavailable\", severity: \"critical\", part: \"$part\", instance: \"blind:9100\", job: \"node\"" \
			"netknobs could not read the $w on blind:9100" \
			"The netknobs audit of $DAY0 on blind:9100, the network namespace netknobs audited, could not read its core facts ($part): its findings say nothing about the host, and it exited 3 (UNKNOWN). Common causes: no file descriptors left, /proc not mounted or hidden, a sysctl.d file that is not a regular file." \
			"netknobs audit on blind:9100 names each part it could not read and why; journalctl -u netknobs-report shows the report's own output"
	done
	expect 1h NetknobsRuleErrors
	alert "alertname: \"NetknobsRuleErrors\", severity: \"warning\", status: \"errors\", instance: \"broken:9100\", job: \"node\"" \
		"netknobs could not evaluate 1 rule on broken:9100" \
		"1 rule could not be evaluated by the netknobs audit on broken:9100, the network namespace netknobs audited: what they check is not judged there." \
		"netknobs audit --verbose on broken:9100 names the rules and the errors; netknobs lint /etc/netknobs/rules.d checks the site's overrides"
} >"$T/firing-test.yml"
check_match "web's drops: ListenOverflows among the alerts expected" '^TcpExt.ListenOverflows$' "$(cat "$T/drops-expected")"
check_eq "web's drops: as one host and as a namespace alike" 0 \
	"$(sort "$T/drops-expected" | uniq -c | awk '$1 != 2' | grep -c . || true)"
if promtool test rules "$T/firing-test.yml" >"$T/firing.out" 2>&1; then
	pass "promtool test rules: each alert fires with its labels and text (one host, a namespace of a host, stale, unreadable, in error)"
else
	fail "alerts that fire: $(head -c 6000 "$T/firing.out")"
fi

# ---------------------------------------------------------------- a quiet fleet
# softnet.dropped is the host's, not the namespace's: other programs on
# the machine may raise it between calm's two reports
if grep -q '^netknobs_report_increase_per_day{.*counter="softnet.dropped"} [1-9]' "$T/calm.prom" "$T/all.prom"; then
	echo "# softnet.dropped rose between the reports (the host's, not calm's): left out of the quiet fleet"
	sed -i '/^netknobs_report_increase_per_day{.*counter="softnet.dropped"} [1-9]/d' "$T/calm.prom" "$T/all.prom"
fi
check_match "calm: rates in its report" '^netknobs_report_increase_per_day\{counter="TcpExt.ListenOverflows"\} 0$' "$(cat "$T/calm.prom")"
{
	header
	echo "  - interval: 5m"
	echo "    input_series:"
	series calm calm:9100 --runs "$DAILY"
	series all node1:9100 --runs "$DAILY" --netns "$CALM"
	echo "    alert_rule_test:"
	for a in $ALL; do
		for t in 1h 25h 47h 49h 72h; do none "$t" "$a"; done
	done
} >"$T/quiet-test.yml"
if promtool test rules "$T/quiet-test.yml" >"$T/quiet.out" 2>&1; then
	pass "promtool test rules: a quiet fleet fires nothing (one host and a namespace, reports daily)"
else
	fail "quiet fleet: $(head -c 3000 "$T/quiet.out")"
fi

# ---------------------------------------------------------------- the dashboard
if python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["panels"] and d["uid"]' "$DASH" 2>"$T/json.err"; then
	pass "dashboard: valid JSON with panels"
else
	fail "dashboard: $(cat "$T/json.err")"
fi
# each expression (Grafana's variables as "All") returns something on a
# fleet with every case: web, calm stale, a host that cannot be audited
$PQ exprs "$DASH" >"$T/exprs"
check_eq "dashboard: every panel has its expression" \
	"$(python3 -c 'import json, sys; print(sum(1 for p in json.load(open(sys.argv[1]))["panels"] for t in p["targets"]))' "$DASH")" \
	"$(grep -vc '^variable' "$T/exprs")"
{
	header
	echo "  - interval: 5m"
	echo "    input_series:"
	series web web:9100 --runs "$DAILY"
	series all node1:9100 --runs "$DAILY" --netns "$WEB" --netns "$CALM"
	series calm calm:9100 --runs 0
	series unavailable blind:9100 --runs "$DAILY"
	echo "    promql_expr_test:"
	while IFS="$(printf '\t')" read -r where expr; do
		printf '      - expr: %s\n        eval_time: 50h\n        exp_samples:\n          - labels: "{}"\n            value: 1\n' \
			"$(q "count($expr) > bool 0")"
	done <"$T/exprs"
} >"$T/dash-test.yml"
if promtool test rules "$T/dash-test.yml" >"$T/dash.out" 2>&1; then
	pass "dashboard: each of its $(grep -c . "$T/exprs") expressions parses and returns data"
else
	fail "dashboard expressions: $(head -c 3000 "$T/dash.out")"
fi

finish
