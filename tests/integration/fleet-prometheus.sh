#!/bin/sh
# packaging/prometheus/netknobs-alerts.yml and packaging/grafana/
# netknobs-dashboard.json against real netknobs output: the textfiles that
# netknobs report --prom-dir writes for fixture hosts (a full accept queue,
# drops rising, core facts unreadable, a broken rule, quiet ones) become
# promtool input series (tests/promql.py series), as node_exporter exposes
# them day after day, with and without the netns labels of --all-netns.
# promtool check rules; promtool test rules: each alert fires with its
# labels and text, a report two days old fires, a quiet fleet stays quiet;
# every expression of both files names only metrics and labels netknobs
# writes; the dashboard's expressions parse and return data on that fleet.
. "$TESTLIB"
command -v promtool >/dev/null 2>&1 || skip "needs promtool (Debian package prometheus)"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
python3 -c 'import yaml' 2>/dev/null || skip "needs python3's yaml module"
ALERTS=$TOP_SRCDIR/packaging/prometheus/netknobs-alerts.yml
DASH=$TOP_SRCDIR/packaging/grafana/netknobs-dashboard.json
PQ="python3 $TOP_SRCDIR/tests/promql.py"
BASIC=$FIXTURES/facts/basic.json

# ---------------------------------------------------------------- real output
# report ARGS...: one report run into its textfile directory (the last
# argument names it), the exit status checked by the caller
textfile() { # NAME EXPECTED-EXIT ARGS...
	n=$1 want=$2
	shift 2
	mkdir -p "$T/prom-$n"
	check_exit "textfile $n: netknobs report --prom-dir" "$want" \
		"$NETKNOBS" report --state-dir "$T/st-$n" --prom-dir "$T/prom-$n" "$@"
	cp "$T/prom-$n/netknobs.prom" "$T/$n.prom"
}
# a day later, the same host: every counter as it was (a quiet day)
mutate "$BASIC" "$T/day2.json" 'd["collected_at"] = "2026-11-26T12:00:00Z"'
# a day later, 25 more accept-queue overflows (ListenDrops counts them too)
mutate "$BASIC" "$T/drops.json" '
d["collected_at"] = "2026-11-26T00:00:00Z"
d["counters"]["TcpExt"]["ListenOverflows"] += 25
d["counters"]["TcpExt"]["ListenDrops"] += 25'
# [::]:443 (nginx) full: 4097 waiting, its limit 4096
mutate "$BASIC" "$T/crit.json" '[l for l in d["sockets"]["listeners"] if l["port"] == 443][0]["queue"] = 4097'
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
mkdir -p "$T/empty/proc"

"$NETKNOBS" report --from "$BASIC" --state-dir "$T/st-quiet" >/dev/null || true
textfile quiet 1 --from "$T/day2.json"
"$NETKNOBS" report --from "$BASIC" --state-dir "$T/st-drops" >/dev/null || true
textfile drops 1 --from "$T/drops.json"
textfile crit 2 --from "$T/crit.json"
textfile unavailable 3 --root "$T/empty"
textfile errors 3 --from "$BASIC" --rules "$T/broken.yaml"
for n in quiet drops crit unavailable errors; do
	if promtool check metrics <"$T/$n.prom" >"$T/pc.out" 2>&1; then
		pass "textfile $n: promtool check metrics"
	else
		fail "textfile $n: $(head -c 400 "$T/pc.out")"
	fi
done
check_match "quiet: the counters did not rise" '^netknobs_report_increase_per_day\{counter="TcpExt.ListenOverflows"\} 0$' "$(cat "$T/quiet.prom")"
check_match "drops: 50 a day" '^netknobs_report_increase_per_day\{counter="TcpExt.ListenOverflows"\} 50$' "$(cat "$T/drops.prom")"
check_match "crit: the full queue" '^netknobs_listener_queue\{family="ipv6",address="::",port="443",inode="20443",process="nginx"\} 4097$' "$(cat "$T/crit.prom")"
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
# target's instance and job, and --all-netns's netns and netns_kind, too)
if $PQ check --labels netns,netns_kind $(for n in quiet drops crit unavailable errors; do echo "--metrics $T/$n.prom"; done) \
	"$ALERTS" "$DASH" >"$T/names.out" 2>&1; then
	pass "alerts and dashboard name only netknobs' metrics and labels ($(grep -c '^checked' "$T/names.out") expressions and templates)"
else
	fail "names: $(grep -v '^checked' "$T/names.out" | head -n 10)"
fi
# the check can fail: a metric netknobs does not write, a label it does not set
sed 's/netknobs_listener_queue_limit/netknobs_listener_backlog/' "$ALERTS" >"$T/renamed.yml"
check_exit "a renamed metric is caught" 1 $PQ check --metrics "$T/crit.prom" "$T/renamed.yml"
check_match "the renamed metric named" 'metric netknobs_listener_backlog is not in' "$(cat "$T/out")"
sed 's/by (instance, job)/by (instance, host)/' "$ALERTS" >"$T/relabeled.yml"
check_exit "an unknown label is caught" 1 $PQ check --metrics "$T/crit.prom" "$T/relabeled.yml"
check_match "the label named" 'label host is not in' "$(cat "$T/out")"

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
no_alerts() { # ALERTNAME EVAL-TIME...
	_a=$1
	shift
	for _t in "$@"; do
		printf '      - eval_time: %s\n        alertname: %s\n        exp_alerts: []\n' "$_t" "$_a"
	done
}
ALL="NetknobsFactsUnavailable NetknobsCriticalFinding NetknobsListenerOverflowing NetknobsDropsRising NetknobsRuleErrors NetknobsReportStale"
NS_HOST='netns="host",netns_kind="host"'

# ---------------------------------------------------------------- a quiet fleet
{
	header
	echo "  - interval: 5m"
	echo "    input_series:"
	series quiet q1:9100 --runs "$DAILY"
	# a host reporting every namespace: the labels on every series
	series quiet q2:9100 --runs "$DAILY" --labels "$NS_HOST"
	series quiet q2:9100 --runs "$DAILY" --labels 'netns="docker web",netns_kind="docker"'
	# and with the run's own series without them
	series quiet q3:9100 --runs "$DAILY" --labels "$NS_HOST" --bare-global
	series quiet q3:9100 --runs "$DAILY" --labels 'netns="blue",netns_kind="named"' --no-global
	echo "    alert_rule_test:"
	for a in $ALL; do no_alerts "$a" 1h 25h 47h 49h 72h; done
} >"$T/quiet-test.yml"
if promtool test rules "$T/quiet-test.yml" >"$T/quiet.out" 2>&1; then
	pass "promtool test rules: a quiet fleet fires nothing (warnings, drops flat, reports daily)"
else
	fail "quiet fleet: $(head -c 3000 "$T/quiet.out")"
fi

finish
