#!/bin/sh
# The rule sets of rules/ on saved facts documents (tests/fixtures/rules):
#   - every row of tests/fixtures/rules/table: the rule's status on that
#     document and, for foreach rules, which items fail
#   - every rule has a row that fires and a row that passes
#   - a document that knows nothing leaves every rule not applicable
#   - a healthy host gives no finding at all
#   - recommendations: values, the restart note, never lowering a value
. "$TESTLIB"
D="$FIXTURES/rules"
RULES="$TOP_SRCDIR/rules"
TABLE="$D/table"

# nk_audit ARGS...: audit with the rule sets of the source tree only
nk_audit() { "$NETKNOBS" audit --no-default-rules --rules "$RULES" "$@"; }

# the rule ids of rules/*.yaml
"$NETKNOBS" rules --no-default-rules --rules "$RULES" --json >"$T/rules.json" ||
	{ fail "rules of $RULES load"; finish; }
jq -r '.rules[].id' "$T/rules.json" | sort >"$T/ids"
check_match "rule sets loaded" '^backlog\.' "$(cat "$T/ids")"
check_match "limits rule set loaded" '^limits\.' "$(cat "$T/ids")"
check_match "hardening rule set loaded" '^hardening\.' "$(cat "$T/ids")"

# the table without comments and blank lines
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TABLE" >"$T/rows"
check_eq "table is not empty" true "$([ -s "$T/rows" ] && echo true || echo false)"

# malformed rows, unknown rules and missing fixtures
bad=$(awk '(NF != 3 && NF != 4) || ($3 != "pass" && $3 != "fail" && $3 != "not-applicable") { print NR": "$0 }' "$T/rows")
check_eq "table rows well formed" "" "$bad"
unknown=$(awk '{ print $1 }' "$T/rows" | sort -u | comm -23 - "$T/ids" | tr '\n' ' ')
check_eq "table names only existing rules" "" "$unknown"
missing=""
for f in $(awk '{ print $2 }' "$T/rows" | sort -u); do
	[ -f "$D/$f.json" ] || missing="$missing $f"
done
check_eq "table names only existing fixtures" "" "$missing"

# every rule fires somewhere and passes somewhere
nofail="" nopass=""
while read -r id; do
	awk -v id="$id" '$1 == id && $3 == "fail" { f = 1 } END { exit !f }' "$T/rows" || nofail="$nofail $id"
	awk -v id="$id" '$1 == id && $3 == "pass" { f = 1 } END { exit !f }' "$T/rows" || nopass="$nopass $id"
done <"$T/ids"
check_eq "every rule has a firing row" "" "$nofail"
check_eq "every rule has a passing row" "" "$nopass"

# every fixture is a valid facts document
for f in "$D"/*.json; do
	check_exit "$(basename "$f"): valid facts document" 0 "$NETKNOBS" facts --from "$f" --json
done

# the rows: one audit per fixture with --rule for each of its rules
for f in $(awk '{ print $2 }' "$T/rows" | sort -u); do
	set --
	for id in $(awk -v f="$f" '$2 == f { print $1 }' "$T/rows" | sort -u); do
		set -- "$@" --rule "$id"
	done
	# FIXTURE.vars.yaml: the site variables of that fixture's audit
	[ -f "$D/$f.vars.yaml" ] && set -- "$@" --rules "$D/$f.vars.yaml"
	set +e
	nk_audit --from "$D/$f.json" --format json "$@" >"$T/$f.out" 2>"$T/$f.err"
	rc=$?
	set -e
	# the sparse documents lack the core facts: judged, but UNKNOWN (exit 3)
	case $f in
	sparse*) want_rc=3 ;;
	*) want_rc=$rc; [ "$rc" -gt 2 ] && want_rc=2 ;;
	esac
	if [ "$rc" -ne "$want_rc" ]; then
		fail "$f: audit exit $rc: $(head -c 400 "$T/$f.err")"
		continue
	fi
	awk -v f="$f" '$2 == f' "$T/rows" >"$T/$f.rows"
	while read -r id fx want subjects; do
		got=$(jq -r --arg id "$id" '[.results[] | select(.rule == $id)][0].status' "$T/$f.out")
		check_eq "$id on $fx" "$want" "$got"
		if [ -n "$subjects" ]; then
			[ "$subjects" = "-" ] && subjects=""
			gots=$(jq -r --arg id "$id" '[.results[] | select(.rule == $id) | .items[]?
				| select(.status == "fail") | .subject] | sort | join(",")' "$T/$f.out")
			check_eq "$id on $fx: failing items" "$subjects" "$gots"
		fi
	done <"$T/$f.rows"
done

# SYN cookies since boot: with a window, how many of them fell in it
cookie_msg() { nk_audit --from "$D/$1.json" --rule backlog.syn-queue-cookies --format json 2>/dev/null |
	jq -r '[.findings[] | select(.rule == "backlog.syn-queue-cookies")][0].message'; }
check_match "syn-queue-cookies: the window's share said" \
	'^362 times since boot .* instead, 169 of them during the [0-9]+ ms sampling window' \
	"$(cookie_msg srv-nginx-overloaded-sampled)"
check_match "syn-queue-cookies: none in the window said" \
	'^19 times since boot .* instead, none of them during the [0-9]+ ms sampling window' \
	"$(cookie_msg srv-nginx-nofile-sampled)"
check_match "syn-queue-cookies: without a window, since boot only" \
	'^1500 times since boot .* SYN cookie instead \(' "$(cookie_msg cookies-used)"

# nothing known: no rule judges, none fails on evaluation, and a document
# without the core facts is not "OK": UNKNOWN, exit 3, what is missing named
check_exit "sparse document: no core facts, exit 3" 3 nk_audit --from "$D/sparse.json" --format json
cp "$T/out" "$T/sparse.json"
check_eq "sparse document: the missing core facts named" "counters sysctl" \
	"$(jq -r '.core_unavailable | keys | join(" ")' "$T/sparse.json")"
check_match "sparse document: the verdict says UNKNOWN" '^UNKNOWN: could not read the sysctl values and the kernel.s counters' \
	"$(jq -r .verdict "$T/sparse.json")"
check_match "sparse document: the error names the missing key" 'the document has no net.core.somaxconn' "$(cat "$T/err")"
check_eq "sparse document: every rule not applicable (the socket source known)" "backlog.sockets-without-netlink=pass " \
	"$(jq -r '.results[] | select(.status != "not-applicable") | "\(.rule)=\(.status)"' "$T/sparse.json" | tr '\n' ' ')"
check_eq "sparse document: all default rules evaluated" "$(grep -vc '^hardening\.' "$T/ids")" \
	"$(jq '[.results[] | select(.rule | startswith("hardening.") | not)] | length' "$T/sparse.json")"
check_exit "sparse document: opt-in hardening set not applicable either" 3 nk_audit --from "$D/sparse.json" --only hardening --format json
check_eq "sparse document: hardening all not applicable" "" \
	"$(jq -r '.results[] | select(.status != "not-applicable") | "\(.rule)=\(.status)"' "$T/out" | tr '\n' ' ')"
check_exit "sparse document, text: exit 3" 3 nk_audit --from "$D/sparse.json"
check_match "sparse document, text: UNKNOWN first" '^netknobs audit: UNKNOWN' "$(head -n 1 "$T/out")"
jq '.core_unavailable = {"sysctl": "kept: its own reason"}' "$D/sparse.json" >"$T/sparse-own.json"
nk_audit --from "$T/sparse-own.json" --format json >/dev/null 2>&1 || true
check_eq "a document's own reason is kept, the rest added" "counters=the document has no TcpExt counters sysctl=kept: its own reason" \
	"$(nk_audit --from "$T/sparse-own.json" --format json 2>/dev/null | jq -r '.core_unavailable | to_entries | sort_by(.key) | map("\(.key)=\(.value)") | join(" ")')"
check_exit "listeners without details: no core facts, exit 3" 3 nk_audit --from "$D/sparse-listeners.json" --format json
check_eq "listeners without details: only the notice that they were read from /proc" "backlog.sockets-without-netlink" \
	"$(jq -r '[.findings[].rule] | join(" ")' "$T/out")"

# a healthy host: nothing to say, even at --fail-on info
check_exit "healthy: exit 0 at --fail-on info" 0 nk_audit --from "$D/healthy.json" --fail-on info --format json
check_eq "healthy: no finding" 0 "$(jq '.findings | length' "$T/out")"
check_eq "healthy: no recommendation" 0 "$(jq '.recommendations | length' "$T/out")"
check_exit "healthy UDP servers: exit 0 at --fail-on info" 0 nk_audit --from "$D/udp-healthy.json" --fail-on info --format json
check_eq "healthy UDP servers: no finding" 0 "$(jq '.findings | length' "$T/out")"

# the whole audit of a loaded host follows the schema
check_exit "overloaded: critical -> exit 2" 2 nk_audit --from "$D/overloaded.json" --format json
cp "$T/out" "$T/over.json"
check_exit "overloaded: audit JSON valid against the schema" 0 \
	python3 "$TOP_SRCDIR/tests/schema-check.py" "$TOP_SRCDIR/doc/audit-schema.json" "$T/over.json"

# messages name the subject and the numbers
msg() { jq -r --arg r "$2" --arg s "$3" '[.findings[] | select(.rule == $r and .subject == $s)][0].message' "$1"; }
check_match "queue-full message" '^\[::\]:8080 \(goapp\) has 4097 connections waiting for accept\(\) and its limit is 4096' \
	"$(msg "$T/over.json" backlog.queue-full '[::]:8080')"
check_match "app-backlog message: raise the application's setting" \
	'limited to 511 .* below net.core.somaxconn \(4096\).*raising somaxconn will not help.*for example to 1024.*restart' \
	"$(msg "$T/over.json" backlog.app-backlog 0.0.0.0:80)"
check_match "app-backlog message: 511 is nginx's default, its setting named" \
	"It is the default of nginx.*Raise the backlog= parameter of its listen directive" \
	"$(msg "$T/over.json" backlog.app-backlog 0.0.0.0:80)"
check_match "clamped message: value and restart" 'exactly net.core.somaxconn.*at least 8192 and restart' \
	"$(msg "$T/over.json" backlog.listener-clamped '[::]:8080')"
# a known server whose default is its limit and somaxconn (Redis 511 under
# somaxconn 511): not "asked for more", both settings named
nk_audit --from "$D/srv-redis-overflow-at-somaxconn-sampled.json" --format json >"$T/redis511.json" || true
check_match "clamped at the server's default: somaxconn and its own setting" \
	'asks for 511 unless configured otherwise, the same number.*at least 4096 and tcp-backlog in redis.conf to match' \
	"$(msg "$T/redis511.json" backlog.listener-clamped 127.0.0.1:6379)"
check_match "window-overflow at the server's default: both settings" \
	'also what redis-server asks for unless configured otherwise: raise somaxconn .* and tcp-backlog in redis.conf to match' \
	"$(msg "$T/redis511.json" backlog.window-overflow 127.0.0.1:6379)"
check_match "fd message names the fullest process" 'PID 1203, has 1010 descriptors open and a limit of 1024' \
	"$(msg "$T/over.json" backlog.process-fd-limit 0.0.0.0:443)"

# recommendations
rec() { jq -c --arg k "$2" '[.recommendations[] | select(.key == $k)][0] | [.value, .mode, .satisfied]' "$1"; }
check_eq "clamped: somaxconn 8192 at least" '[8192,"at-least",false]' "$(rec "$T/over.json" net.core.somaxconn)"
check_match "somaxconn recommendation carries the restart note" 'listen\(\) again.*restart' \
	"$(jq -r '.recommendations[] | select(.key == "net.core.somaxconn") | .notes[]' "$T/over.json")"
nk_audit --from "$D/somaxconn-low.json" --format json >"$T/low.json" || true
check_eq "somaxconn-low: 4096 at least" '[4096,"at-least",false]' "$(rec "$T/low.json" net.core.somaxconn)"
check_match "somaxconn-low: restart note" 'listen\(\) again' \
	"$(jq -r '.recommendations[] | select(.key == "net.core.somaxconn") | .notes[]' "$T/low.json")"
check_match "somaxconn-low: clamped listeners counted" '2 of 3 listeners here are at exactly this limit' \
	"$(msg "$T/low.json" backlog.somaxconn-low net.core.somaxconn)"
nk_audit --from "$D/syncookies-off.json" --format json >"$T/sc.json" || true
# no tcp_max_syn_backlog next to syncookies=1, where it has no effect; the
# message gives the value for a host that keeps cookies off
check_eq "syn backlog: not recommended with SYN cookies" '[null,null,null]' \
	"$(rec "$T/sc.json" net.ipv4.tcp_max_syn_backlog)"
check_match "syn backlog: the value if cookies stay off" 'If they must stay off, raise net.ipv4.tcp_max_syn_backlog to at least 8192' \
	"$(msg "$T/sc.json" backlog.syn-backlog-low net.ipv4.tcp_max_syn_backlog)"
check_eq "syncookies back to 1" '[1,"exact",false]' "$(rec "$T/sc.json" net.ipv4.tcp_syncookies)"
nk_audit --from "$D/stressed-growing.json" --format json >"$T/st.json" || true
check_eq "port range only widened" '[[32768,60999],"exact",false]' "$(rec "$T/st.json" net.ipv4.ip_local_port_range)"
check_eq "netdev_max_backlog doubled" '[2048,"at-least",false]' "$(rec "$T/st.json" net.core.netdev_max_backlog)"
check_eq "tw buckets doubled" '[131072,"at-least",false]' "$(rec "$T/st.json" net.ipv4.tcp_max_tw_buckets)"

# never lower: a clamped listener under pressure at somaxconn 65535 (the most
# the rule recommends) keeps 65535, and the message says so
sed -e 's/"net.core.somaxconn": 4096/"net.core.somaxconn": 65535/' \
	-e 's/"queue": 4097, "limit": 4096/"queue": 65536, "limit": 65535/' "$D/overloaded.json" >"$T/max.json"
check_exit "somaxconn at 65535: audit" 2 nk_audit --from "$T/max.json" --rule backlog.listener-clamped --rule backlog.queue-full --format json
cp "$T/out" "$T/max.out"
check_eq "somaxconn at 65535: rule still fires" fail \
	"$(jq -r '.results[] | select(.rule == "backlog.listener-clamped") | .status' "$T/max.out")"
check_eq "somaxconn at 65535: recommendation satisfied, not lowered" '[65535,"at-least",true]' \
	"$(rec "$T/max.out" net.core.somaxconn)"
check_match "somaxconn at 65535: the application must accept faster" 'must accept faster' \
	"$(msg "$T/max.out" backlog.listener-clamped '[::]:8080')"

# sampling windows: the culprit is named with its process, the advice
# depends on what limits it, the rates are those of the window
nk_audit --from "$D/sampled-overflow.json" --format json >"$T/smp.json" || true
check_match "window: the culprit and its process named" \
	'^0\.0\.0\.0:80 \(nginx, PID 990\) dropped 70 packets during the 10000 ms sampling window and its accept queue overflowed: it peaked at 512 with a limit of 511' \
	"$(msg "$T/smp.json" backlog.window-overflow 0.0.0.0:80)"
check_match "window: an application's backlog is raised in the application" \
	"raising somaxconn alone will not help: raise the backlog= parameter of its listen directive .* and restart it" \
	"$(msg "$T/smp.json" backlog.window-overflow 0.0.0.0:80)"
check_match "window: a clamped listener needs somaxconn" 'Its limit is net.core.somaxconn.*raise somaxconn' \
	"$(msg "$T/smp.json" backlog.window-overflow '[::]:8080')"
check_eq "window: the clamped listener asks for somaxconn" '["[::]:8080"]' \
	"$(jq -c '[.findings[] | select(.rule == "backlog.window-overflow" and (.recommend | length) > 0) | .subject]' "$T/smp.json")"
check_eq "window: somaxconn 8192 at least" '[8192,"at-least",false]' "$(rec "$T/smp.json" net.core.somaxconn)"
check_eq "window: the nginx finding recommends no sysctl" 0 \
	"$(jq '[.findings[] | select(.rule == "backlog.window-overflow" and .subject == "0.0.0.0:80") | .recommend[]] | length' "$T/smp.json")"
check_match "window: overflow count and rates" \
	'counted 150 accept-queue overflows during the 10000 ms sampling window \(about 15 a second, 900 a minute\); 2 listener\(s\) were seen with a full accept queue' \
	"$(msg "$T/smp.json" backlog.window-overflows TcpExt.ListenOverflows)"
# rates are reals printed short, as they were written
check_match "window: rates print as short reals" '"ListenOverflows": 9\.333,' \
	"$("$NETKNOBS" facts --from "$FIXTURES/facts/sampled.json" --json)"
"$NETKNOBS" facts --from "$FIXTURES/facts/sampled.json" >"$T/smp.txt"
check_match "window: facts text shows the window" '^Sample \(window of 3s, 31 listener readings\)' "$(cat "$T/smp.txt")"
check_match "window: facts text: a rate" 'TcpExt\.ListenOverflows +9\.333/s +\(\+28\)' "$(cat "$T/smp.txt")"
check_match "window: facts text: the listener that dropped" '127\.0\.0\.1 port 8080: 31 dropped, accept queue peaked at 5 \(limit 4\)' \
	"$(cat "$T/smp.txt")"
# the audit says over which window, in JSON and first thing in text
check_eq "window: in the audit JSON" '{"duration_ms":3000,"requested_ms":3000,"interval_ms":100,"ticks":31,"cut_short":false}' \
	"$("$NETKNOBS" audit --from "$FIXTURES/facts/sampled.json" --format json | jq -c '.window | del(.started_at, .ended_at)')"
"$NETKNOBS" audit --from "$FIXTURES/facts/sampled.json" >"$T/smpa.txt" || true
check_eq "window: the audit text's second line" 'Sampled over 3s from 2026-11-24T08:30:00.000Z: 31 listener readings, every 100ms.' \
	"$(sed -n 2p "$T/smpa.txt")"
sed -e 's/"requested_ms": 3000/"requested_ms": 10000/' -e 's/"cut_short": false/"cut_short": true, "stopped_by": "SIGINT"/' \
	"$FIXTURES/facts/sampled.json" >"$T/cut.json"
"$NETKNOBS" audit --from "$T/cut.json" >"$T/cut.txt" || true
check_eq "window: cut short, in the audit text" 'Sampled over 3s of the 10s asked (cut short by SIGINT) from 2026-11-24T08:30:00.000Z: 31 listener readings, every 100ms.' \
	"$(sed -n 2p "$T/cut.txt")"
check_eq "no window: the verdict, then a blank line" '' "$(nk_audit --from "$D/healthy.json" | sed -n 2p)"
check_exit "--from with --sample is refused" 3 nk_audit --from "$D/healthy.json" --sample 1s
check_match "--from with --sample: the reason" 'cannot be combined with --from' "$(cat "$T/err")"

# the limits' counters since boot: a notice without evidence of now, exit 0
check_exit "stressed, nothing shows now: the counters since boot are a notice (other findings: exit 2)" 2 nk_audit --from "$D/stressed.json" --format json
check_eq "stressed, nothing shows now: no softnet or TIME_WAIT warning" "" \
	"$(jq -r '.findings[] | select(.rule == "limits.softnet-drops" or .rule == "limits.tw-buckets-overflow") | .rule' "$T/out")"
check_match "stressed, nothing shows now: the notice names both" \
	'counted 4019 packets dropped at full per-CPU input queues .* and 87 connections closed without TIME_WAIT .*nothing shows that this happens now' \
	"$(msg "$T/out" limits.counters-past 'counters since boot')"
check_match "stressed, grown since the previous report: the softnet drops say how many" \
	'4019 packets were dropped since boot .*119 of them since the previous netknobs report' \
	"$(msg "$T/st.json" limits.softnet-drops net.core.netdev_max_backlog)"

# ---- the distinctions: the right advice, and never the wrong one --------
# all_msgs FILE RULE: every message of a rule's findings, one per line
all_msgs() { jq -r --arg r "$2" '.findings[] | select(.rule == $r) | .message' "$1"; }
# absent DESCRIPTION REGEX TEXT: the text must not match
absent() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then fail "$1: /$2/ in: $3"; else pass "$1"; fi
}

# SYN side, not the accept side: cookies off, tcp_max_syn_backlog 128, nginx
# asking 511; its SYN queue stops at 97 (the early drop) while its accept
# queue stays empty
nk_audit --from "$D/sampled-syn-side.json" --format json >"$T/syn.json" || true
check_match "SYN side: the early drop named with its numbers" \
	'^0\.0\.0\.0:80 \(nginx, PID 990\) dropped 220 packets .* on the SYN side: its SYN queue held up to 97 half-open handshakes, past the point where the kernel refuses new clients with SYN cookies off: 96' \
	"$(msg "$T/syn.json" backlog.window-syn-drops 0.0.0.0:80)"
check_match "SYN side: the full SYN queue named" 'held up to 65 half-open handshakes, more than its limit of 64, so the SYN queue was full' \
	"$(msg "$T/syn.json" backlog.window-syn-drops 0.0.0.0:8080)"
check_match "SYN side: the accept queue is not the cause" 'accept queue peaked at 0 of 511, so its backlog is not what refused them' \
	"$(msg "$T/syn.json" backlog.window-syn-drops 0.0.0.0:80)"
check_eq "SYN side: no accept-queue overflow named" "" "$(all_msgs "$T/syn.json" backlog.window-overflow)"
absent "SYN side: never 'raise the application's backlog'" "raise the application|peaked at 0 .*raise" "$(jq -r '.findings[].message' "$T/syn.json")"
check_eq "SYN side: SYN cookies recommended" '[1,"exact",false]' "$(rec "$T/syn.json" net.ipv4.tcp_syncookies)"
check_eq "SYN side: no somaxconn" '[null,null,null]' "$(rec "$T/syn.json" net.core.somaxconn)"
check_eq "SYN side: no tcp_max_syn_backlog next to cookies" '[null,null,null]' "$(rec "$T/syn.json" net.ipv4.tcp_max_syn_backlog)"
# accept side: a listener that only retransmitted SYNs while another one
# overflowed is not named (its own queues were never full)
check_eq "accept side: the listener with retransmitted SYNs not named" pass \
	"$(jq -r '[.results[] | select(.rule == "backlog.window-overflow") | .items[] | select(.subject == "0.0.0.0:8081")][0].status // "pass"' "$T/smp.json")"
absent "accept side: no SYN-side advice with cookies on" "SYN side" "$(jq -r '.findings[].message' "$T/smp.json")"

# one listener's drops do not give advice on another (item 3): 0.0.0.0:443 of
# overloaded has only drops since it was opened, while [::]:8080 overflows
absent "drops elsewhere: no capacity advice on 0.0.0.0:443" '.' \
	"$(jq -r '.findings[] | select(.subject == "0.0.0.0:443" and (.rule == "backlog.app-backlog" or .rule == "backlog.listener-clamped")) | .rule' "$T/over.json")"
check_match "drops since opened: a notice that says how to find out" 'Nothing shows that it drops now.*netknobs audit --sample 30s' \
	"$(msg "$T/over.json" backlog.listener-drops 0.0.0.0:443)"
check_eq "drops since opened: a notice" notice \
	"$(jq -r '[.findings[] | select(.rule == "backlog.listener-drops")][0].severity' "$T/over.json")"

# counters since boot: old ones are a notice (exit 0), current ones keep
# their severity
check_exit "old counters: exit 0" 0 nk_audit --from "$D/counters-old.json" --format json
cp "$T/out" "$T/old.json"
check_eq "old counters: no warning" 0 "$(jq .summary.warning "$T/old.json")"
check_match "old counters: the notice says how to find out" \
	'nothing showing that it happens now: 12 with a full accept queue .*netknobs audit --sample 30s.*netknobs report' \
	"$(msg "$T/old.json" backlog.counters-past TcpExt.ListenDrops)"
check_exit "old counters, unchanged since the previous report: exit 0" 0 nk_audit --from "$D/counters-old-report.json" --format json
check_match "old counters: the previous report named" 'did not grow since the previous netknobs report \(2026-11-24T12:00:00Z\)' \
	"$(msg "$T/out" backlog.counters-past TcpExt.ListenDrops)"
check_exit "counters grown since the previous report: exit 1" 1 nk_audit --from "$D/counters-growing.json" --format json
check_match "grown since the previous report: warning with the increase" 'happening now: the counter grew by 7 since the previous netknobs report' \
	"$(msg "$T/out" backlog.listen-overflows TcpExt.ListenOverflows)"
absent "grown: the accept-queue overflows are not called old" 'with a full accept queue' \
	"$(msg "$T/out" backlog.counters-past TcpExt.ListenDrops)"

# stalled owners: the stopped reuseport worker is named with its PID; a
# server whose only process is stopped gets no capacity advice
nk_audit --from "$D/stalled.json" --format json >"$T/st2.json" || true
check_match "stalled: the stopped worker named, the one that polls the socket" \
	'^127\.0\.0\.1:8443 \(nginx, reuseport socket 3 of 4\) has 50 connections waiting .*no process that could accept them runs: of the 1 processes waiting for connections on it .* stopped by a signal or a debugger: 1 \(PID 1203\).*Nobody accepts' \
	"$(msg "$T/st2.json" backlog.owner-stopped 127.0.0.1:8443)"
check_eq "stalled: the running workers' sockets are not named" 1 \
	"$(jq '[.findings[] | select(.rule == "backlog.owner-stopped" and .subject == "127.0.0.1:8443")] | length' "$T/st2.json")"
check_match "stalled: all stopped, nobody accepts" 'no process that could accept them runs.*Nobody accepts.*A longer queue would not help' \
	"$(msg "$T/st2.json" backlog.owner-stopped 127.0.0.1:9000)"
check_match "stalled: without epoll, a stopped process next to a running one is a possibility" \
	'a process that may accept them is stopped: of the 2 processes holding it, .*: 1 \(PID 1301\).*If a stopped process is the one accepting' \
	"$(msg "$T/st2.json" backlog.owner-stopped 127.0.0.1:8090)"
check_match "stalled: disk-sleep counts as stuck" 'in uninterruptible sleep .*: 1 \(PID 1700\)' \
	"$(msg "$T/st2.json" backlog.owner-stopped 127.0.0.1:9100)"
check_match "stalled: the full queue says why" 'Every process that could accept them is stopped or stuck' \
	"$(msg "$T/st2.json" backlog.queue-full 127.0.0.1:9000)"
# advice_on FILE SUBJECT: the messages of the rules that give capacity advice
advice_on() {
	jq -r --arg s "$2" '.findings[] | select(.subject == $s and (.rule == "backlog.queue-full" or .rule == "backlog.app-backlog"
		or .rule == "backlog.listener-clamped" or .rule == "backlog.stale-clamp" or .rule == "backlog.window-overflow")) | .message' "$1"
}
absent "stalled: no backlog advice for a stopped server" 'raise|Raise' "$(advice_on "$T/st2.json" 127.0.0.1:9000)"
check_match "stalled nginx worker: its PID named, the master not counted" 'of the 1 processes waiting for connections on it .*stopped by a signal or a debugger: 1 \(PID 1101\)' \
	"$(msg "$T/st2.json" backlog.owner-stopped 127.0.0.1:8080)"
check_match "stalled nginx worker: the full queue points at it" 'Every process that could accept them is stopped or stuck, so nobody does \(see backlog.owner-stopped\)' \
	"$(msg "$T/st2.json" backlog.queue-full 127.0.0.1:8080)"
absent "stalled nginx worker: no 'raise the backlog'" 'raise|Raise' "$(advice_on "$T/st2.json" 127.0.0.1:8080)"
nk_audit --from "$D/sampled-stalled.json" --format json >"$T/st3.json" || true
check_match "stalled in a window: the queue never drained" \
	'127\.0\.0\.1:8443 \(nginx, PID 1203, reuseport socket 3 of 4\) had connections waiting .*\(at least 48, at most 50, limit 511\).* never got shorter' \
	"$(msg "$T/st3.json" backlog.window-stalled 127.0.0.1:8443)"
check_match "stalled in a window: overflow of a server that accepts nothing" 'It accepted nothing during the window' \
	"$(msg "$T/st3.json" backlog.window-overflow 127.0.0.1:9000)"
check_eq "stalled in a window: no somaxconn for it" '[null,null,null]' "$(rec "$T/st3.json" net.core.somaxconn)"

# a reuseport group: one finding for four identical members, with its count
nk_audit --from "$D/reuseport-clamped.json" --format json >"$T/rp.json" || true
check_eq "reuseport: one finding, four members" '1 4' \
	"$(jq -r '[.findings[] | select(.rule == "backlog.listener-clamped" and .subject == "127.0.0.1:8443")] | "\(length) \(.[0].merged)"' "$T/rp.json")"
check_match "reuseport: the group and its server named" '^127\.0\.0\.1:8443 \(nginx; 4 sockets share the port\) is limited to 64 .*nginx asks for 511' \
	"$(msg "$T/rp.json" backlog.listener-clamped 127.0.0.1:8443)"
nk_audit --from "$D/reuseport-clamped.json" -v >"$T/rp.txt" || true
check_eq "reuseport: printed once" 1 "$(grep -c '^WARNING  127\.0\.0\.1:8443  \[backlog.listener-clamped\]' "$T/rp.txt")"

# a clamp by an older somaxconn: with the history it is said, and a restart
# advised; without it, both possibilities and the test; with a history that
# shows the server started later, it is the server's own setting
nk_audit --from "$D/stale-clamp.json" --format json >"$T/sc1.json" || true
check_match "older somaxconn: the restart, and nginx's default" \
	'0\.0\.0\.0:80 \(nginx\) is limited to 64 connections: net.core.somaxconn was 64 while it was already running .* restart it \(nginx asks for 511 unless configured otherwise\)' \
	"$(msg "$T/sc1.json" backlog.stale-clamp 0.0.0.0:80)"
absent "older somaxconn: not blamed on nginx" '.' "$(all_msgs "$T/sc1.json" backlog.app-backlog)"
nk_audit --from "$D/stale-clamp-nohist.json" --format json >"$T/sc2.json" || true
check_match "no history: both possibilities" \
	'Either its application asked for exactly that, or it asked for more while net.core.somaxconn was that low .* nginx asks for 511 unless configured otherwise, so the second is likely\. A restart tells them apart: if the limit is still the same afterwards, raise the backlog= parameter' \
	"$(msg "$T/sc2.json" backlog.app-backlog 127.0.0.1:8080)"
absent "no history: no guess stated as a fact" 'It is the default of|The limit is its application' "$(msg "$T/sc2.json" backlog.app-backlog 127.0.0.1:8080)"
check_match "no history, idle: a notice with both possibilities and the restart" \
	'^0\.0\.0\.0:80 \(nginx\) is limited to 64 connections, although nginx asks for 511 .*Either it is configured so .*or it started while net.core.somaxconn was 64 .*A restart tells them apart' \
	"$(msg "$T/sc2.json" backlog.limit-below-default 0.0.0.0:80)"
check_eq "no history, short of room: the possibilities said once, by app-backlog" "backlog.app-backlog" \
	"$(jq -r '[.findings[] | select(.subject == "127.0.0.1:8080" and (.message | test("Either"))) | .rule] | join(" ")' "$T/sc2.json")"
check_eq "no history, idle: only a notice" notice \
	"$(jq -r '[.findings[] | select(.subject == "0.0.0.0:80") | .severity] | unique | join(",")' "$T/sc2.json")"
nk_audit --from "$D/app-backlog-known.json" --format json >"$T/sc3.json" || true
check_match "history: started while somaxconn was 4096, so its own" \
	'The limit is most likely its application.s own backlog: netknobs saw net.core.somaxconn at 4096 both before it started and after.*Raise the backlog= parameter .* and restart it\.' \
	"$(msg "$T/sc3.json" backlog.app-backlog 127.0.0.1:8080)"
absent "history: no 'either' once it is known" 'Either|second is likely' "$(msg "$T/sc3.json" backlog.app-backlog 127.0.0.1:8080)"

# a worker held by a debugger does not run again on SIGCONT
nk_audit --from "$D/srv-nginx-traced.json" --format json >"$T/traced.json" || true
check_match "owner-stopped: a debugger's tracee is named with what resumes it" \
	'PID [0-9]+ is stopped by a debugger, which kill -CONT does not undo: let the debugger, gdb or strace, continue or detach' \
	"$(msg "$T/traced.json" backlog.owner-stopped 127.0.0.1:8080)"
absent "owner-stopped: no kill -CONT for a debugger's tracee" 'kill -CONT PID' \
	"$(msg "$T/traced.json" backlog.owner-stopped 127.0.0.1:8080)"

# a worker out of descriptors (nginx worker_rlimit_nofile 16): far from 90 %
# of its limit, but with fewer left than connections waiting
nk_audit --from "$D/srv-nginx-nofile-sampled.json" --format json >"$T/nofile.json" || true
check_match "process-fd-limit: fewer descriptors left than connections waiting" \
	'17 connections wait for accept\(\) on 127\.0\.0\.1:8080, more than PID [0-9]+ \(nginx\) has descriptors left \(10 open of a limit of 16\)' \
	"$(msg "$T/nofile.json" backlog.process-fd-limit 127.0.0.1:8080)"
check_match "window-overflow: the open-file limit before a longer queue" \
	'PID [0-9]+ has 10 descriptors open of a limit of 16, fewer left than the 17 connections waiting: .*raise its open-file limit first' \
	"$(msg "$T/nofile.json" backlog.window-overflow 127.0.0.1:8080)"

# a reuseport group of 16, the socket of a stopped worker full: the clamp is
# said once for the group, and says nothing of one socket's room
nk_audit --from "$D/srv-reuseport16-stopped.json" --format json >"$T/rp16.json" || true
check_eq "reuseport 16: one listener-clamped finding" 1 \
	"$(jq '[.findings[] | select(.rule == "backlog.listener-clamped")] | length' "$T/rp16.json")"
absent "reuseport 16: no 'not short of room' next to a full socket" 'not short of room' \
	"$(msg "$T/rp16.json" backlog.listener-clamped 127.0.0.1:8080)"
check_eq "reuseport 16: no finding printed twice" 0 \
	"$(jq -r '.findings[] | "\(.rule) \(.subject) \(.message)"' "$T/rp16.json" | sort | uniq -d | grep -c . || true)"

# an idle clamp at a low somaxconn: Redis tcp-backlog 511 under 128 is a
# warning that names redis and its port
check_exit "Redis under somaxconn 128: exit 1" 1 nk_audit --from "$D/redis-clamp.json" --format json
check_match "Redis under somaxconn 128: named" \
	'^127\.0\.0\.1:6379 \(redis-server\) is limited to 128 connections, exactly net.core.somaxconn: redis-server asks for 511.*at least 4096 and restart redis-server' \
	"$(msg "$T/out" backlog.listener-clamped 127.0.0.1:6379)"
check_eq "Redis under somaxconn 128: a warning" warning \
	"$(jq -r '[.findings[] | select(.rule == "backlog.listener-clamped")][0].severity' "$T/out")"

# the application's own setting, by process name; unknown owners get "its own"
check_match "vanished listener: its owner kept" '^0\.0\.0\.0:9090 \(gunicorn, PID 2201\) dropped 12 packets' \
	"$(nk_audit --from "$D/sampled-vanished.json" --format json | jq -r '[.findings[] | select(.rule == "backlog.window-overflow-gone")][0].message')"

# the same distinctions on facts taken from real servers (srv-*.json)
nk_audit --from "$D/srv-syn-early-drop-sampled.json" --format json >"$T/srv-d.json" || true
check_match "real nginx, SYN side: the early drop at 97 of tcp_max_syn_backlog 128" \
	'^10\.213\.2\.1:80 \(nginx, 2 processes\) dropped [0-9]+ packets .* on the SYN side: its SYN queue held up to 97 half-open handshakes, past the point where the kernel refuses new clients with SYN cookies off: 96' \
	"$(msg "$T/srv-d.json" backlog.window-syn-drops 10.213.2.1:80)"
absent "real nginx, SYN side: never the accept-queue advice" "raise the application's own backlog|It is the listener that overflowed" \
	"$(jq -r '.findings[].message' "$T/srv-d.json")"
check_eq "real nginx, SYN side: only syncookies recommended" 'net.ipv4.tcp_syncookies' \
	"$(jq -r '[.recommendations[].key] | join(",")' "$T/srv-d.json")"
check_exit "real nginx, an old overflow: exit 0" 0 nk_audit --from "$D/srv-old-overflow.json" --format json
check_exit "real nginx, an old overflow, quiet window: exit 0" 0 nk_audit --from "$D/srv-old-overflow-sampled.json" --format json
check_match "real nginx, quiet window: the notice says the window saw nothing" 'did not grow during the [0-9]+ ms sampling window' \
	"$(msg "$T/out" backlog.counters-past TcpExt.ListenDrops)"
nk_audit --from "$D/srv-drops-next-to-harmless.json" --format json >"$T/srv-g.json" || true
check_eq "real Redis next to an overflowing nginx: nothing above a notice" "" \
	"$(jq -r '.findings[] | select(.subject == "10.213.2.1:6379" and .severity != "notice") | .rule' "$T/srv-g.json")"
nk_audit --from "$D/srv-clamp-somaxconn-128.json" --format json >"$T/srv-b.json" || true
check_match "real Redis under somaxconn 128: a warning naming it" \
	'^127\.0\.0\.1:6379 \(redis-server\) is limited to 128 connections, exactly net.core.somaxconn: redis-server asks for 511' \
	"$(msg "$T/srv-b.json" backlog.listener-clamped 127.0.0.1:6379)"
check_match "real memcached under somaxconn 128: its default named" 'memcached asks for 1024' \
	"$(msg "$T/srv-b.json" backlog.listener-clamped 127.0.0.1:11211)"
check_exit "real servers under load: exit 0 at --fail-on notice" 0 \
	nk_audit --from "$D/srv-healthy-under-load-sampled.json" --fail-on notice --format json

# messages are one paragraph: no line break kept by a folded YAML scalar
for f in "$D"/*.json; do
	nk_audit --from "$f" --format json 2>/dev/null | jq -r '.findings[] | select(.message | test("\\\\n|\n")) | .rule' >>"$T/nl" || true
done
check_eq "no message holds a line break" "" "$(sort -u "$T/nl" | tr '\n' ' ')"

# the built-in copy holds both rule sets
"$NETKNOBS" rules --json >"$T/builtin.json"
for id in backlog.queue-full limits.softnet-drops limits.synack-retries; do
	check_eq "built in: $id" 1 "$(jq --arg id "$id" '[.rules[] | select(.id == $id)] | length' "$T/builtin.json")"
done
# every sysctl key the shipped rules name is documented for `netknobs explain`
undoc=""
for k in $(grep -oh 'sysctl("[^"*]*")' "$RULES"/*.yaml | sed 's/sysctl("\(.*\)")/\1/' | sort -u); do
	s=$("$NETKNOBS" explain --no-default-rules --rules "$RULES" --from "$D/healthy.json" "$k" --json 2>/dev/null |
		jq -r '.summary // empty')
	[ -n "$s" ] || undoc="$undoc $k"
done
check_eq "every key the rules read is documented" "" "$undoc"

# UDP sockets: the cause of each full buffer decides the advice
nk_audit --from "$D/udp-dropping.json" --format json >"$T/udp.json" || true
check_match "UDP cut down by rmem_max: raise it, restart" \
	'exactly twice net.core.rmem_max \(212992\).*rsyslogd asked for at least 212992 bytes, and either asked for more and the kernel cut it down, or asked for exactly that.*Raise net.core.rmem_max to at least 8388608, then restart rsyslogd.*If its buffer is the same afterwards, rsyslogd asks for exactly this much: raise the rcvbufSize parameter of its imudp input instead' \
	"$(msg "$T/udp.json" buffers.udp-full 0.0.0.0:514)"
check_match "UDP connected socket: a server's listening setting is not named for it, the kernel's default is" \
	'connected to 10.0.0.53:53.*myagent never set one. Raise its own receive buffer setting \(SO_RCVBUF\) if it has one' \
	"$(msg "$T/udp.json" buffers.udp-full 10.0.0.5:40312)"
# rmem_default set to twice rmem_max: a buffer of that size may be either
mutate "$D/udp-dropping.json" "$T/udp-rdef2.json" 'd["sysctl"]["net.core.rmem_default"] = 425984'
nk_audit --from "$T/udp-rdef2.json" --format json >"$T/udpd2.json" || true
check_match "UDP at twice rmem_max that is also rmem_default: both said" \
	'exactly twice net.core.rmem_max \(212992\).*It is also net.core.rmem_default: rsyslogd may never have set one' \
	"$(msg "$T/udpd2.json" buffers.udp-full 0.0.0.0:514)"
nk_audit --from "$D/udp-rmem-large.json" --format json >"$T/udpl.json" || true
check_match "UDP at twice an rmem_max of 128 MiB: not called the application's own size, no larger cap" \
	'exactly twice net.core.rmem_max \(134217728\), the most SO_RCVBUF gives, but rmem_max is already at least the 67108864 bytes these rules would ask for: a larger cap is no answer, rsyslogd does not read fast enough' \
	"$(msg "$T/udpl.json" buffers.udp-full 0.0.0.0:514)"
check_eq "UDP at twice an rmem_max of 128 MiB: rmem_max not recommended" "net.core.rmem_default=1048576" \
	"$(jq -r '[.recommendations[] | "\(.key)=\(.value)"] | sort | join(" ")' "$T/udpl.json")"
check_match "UDP with the default buffer and no setting of its own: rmem_default" \
	'net.core.rmem_default \(212992\): dnsmasq never set one\. It has no setting of its own: raise net.core.rmem_default to at least 1048576' \
	"$(msg "$T/udp.json" buffers.udp-full 0.0.0.0:53)"
check_match "UDP with the default buffer: the server's own setting named" \
	'unbound never set one\. Raise so-rcvbuf in the server section of unbound.conf' \
	"$(msg "$T/udp.json" buffers.udp-full '[::]:853')"
check_match "UDP with its own buffer, running: too slow" "statsd_exporter's own choice.*does not read fast enough.*it is running" \
	"$(msg "$T/udp.json" buffers.udp-full 127.0.0.1:8125)"
check_match "UDP whose reader is stopped: no buffer helps" 'Nobody reads it.*kill -CONT 930' \
	"$(msg "$T/udp.json" buffers.udp-full 0.0.0.0:5353)"
check_eq "UDP: rmem_max for the cut-down socket, rmem_default for the one without a setting" \
	"net.core.rmem_default=1048576 net.core.rmem_max=8388608" \
	"$(jq -r '[.recommendations[] | "\(.key)=\(.value)"] | sort | join(" ")' "$T/udp.json")"
nk_audit --from "$D/udp-container-old.json" --format json >"$T/udpc.json" || true
check_match "UDP in an older kernel's container: the cause cannot be told here" \
	'net.core.rmem_max and rmem_default cannot be read in this network namespace' \
	"$(msg "$T/udpc.json" buffers.udp-full 0.0.0.0:514)"
check_eq "UDP in an older kernel's container: nothing recommended" 0 "$(jq '.recommendations | length' "$T/udpc.json")"
check_match "UDP drops without evidence of now: a notice that says how to find out" \
	'has dropped 12 datagrams since the socket was opened, but nothing shows that it drops now' \
	"$(msg "$T/udp.json" buffers.udp-drops 0.0.0.0:123)"
check_exit "UDP drops only since boot: notices only, exit 0" 0 nk_audit --from "$D/udp-counters-old.json" --format json
nk_audit --from "$D/udp-counters-sampled.json" --format json >"$T/udps.json" || true
check_match "UDP drops during the window: the rate" 'and it is happening now: 1500 during the 30000 ms sampling window \(about 50 a second\)' \
	"$(msg "$T/udps.json" buffers.udp-rcvbuf-errors Udp.RcvbufErrors)"
check_match "TCP drops under memory pressure: the memory's" 'TCP memory is under pressure' \
	"$(msg "$T/udps.json" buffers.tcp-rcv-drops TcpExt.TCPRcvQDrop)"
check_match "UDP drops during the window, not full at its end: happening now, in bursts" \
	'0.0.0.0:123 \(chronyd\) dropped 1500 datagrams during the 30000 ms sampling window \(5210 since it was opened\): it drops now, in bursts' \
	"$(msg "$T/udps.json" buffers.udp-drops-window 0.0.0.0:123)"
check_match "UDP drops during the window: the namespace's finding points to the socket" \
	'see buffers.udp-drops-window for the sockets that dropped during the window' \
	"$(msg "$T/udps.json" buffers.udp-rcvbuf-errors Udp.RcvbufErrors)"
nk_audit --from "$D/udp-window-quiet.json" --format json >"$T/udpq.json" || true
check_match "UDP drops since opened, none during the window: the notice says so" \
	'has dropped 5210 datagrams since the socket was opened, but nothing shows that it drops now: 0 of its 212992 bytes are in use \(0%\), and it dropped none during the 30000 ms sampling window\.' \
	"$(msg "$T/udpq.json" buffers.udp-drops 0.0.0.0:123)"
nk_audit --from "$D/udp-counters-report.json" --format json >"$T/udpr.json" || true
check_match "TCP drops without memory pressure: the applications'" 'not under pressure, so the drops come from connections whose receive buffer was full' \
	"$(msg "$T/udpr.json" buffers.tcp-rcv-drops TcpExt.TCPRcvQDrop)"

# buffers lowered: the origin named, the kernel's values restored
nk_audit --from "$D/tcp-buffers-lowered.json" --format json >"$T/low.json" || true
check_match "tcp_rmem lowered: the sysctl.d file named" \
	'start with a receive buffer of 87380 bytes instead of 131072.*at most 16777216 bytes instead of 33554432.*It is set by /etc/sysctl.d/99-throughput.conf:3' \
	"$(msg "$T/low.json" buffers.tcp-rmem-lowered net.ipv4.tcp_rmem)"
check_match "tcp_wmem lowered at runtime: its file and the difference" \
	'/etc/sysctl.d/99-throughput.conf:4 sets 4096 16384 16777216, but the value now differs' \
	"$(msg "$T/low.json" buffers.tcp-wmem-lowered net.ipv4.tcp_wmem)"
check_exit "lowered buffers: audit JSON valid against the schema (a list observed)" 0 \
	python3 "$TOP_SRCDIR/tests/schema-check.py" "$TOP_SRCDIR/doc/audit-schema.json" "$T/low.json"
check_eq "tcp_rmem lowered: the kernel's values recommended" "4096 131072 33554432" \
	"$(jq -r '.recommendations[] | select(.key == "net.ipv4.tcp_rmem") | .value | map(tostring) | join(" ")' "$T/low.json")"
# lowered on a long fat network: one recommendation per key, no conflict
nk_audit --from "$D/tcp-lfn-lowered.json" --rules "$D/tcp-lfn-lowered.vars.yaml" --format json >"$T/lfn.json" || true
check_eq "long fat network and lowered buffers: one tcp_rmem recommendation, no conflict" \
	"buffers.tcp-rmem-lowered false" \
	"$(jq -r '.recommendations[] | select(.key == "net.ipv4.tcp_rmem") | "\(.rules | join(",")) \(.conflict // false)"' "$T/lfn.json")"
check_eq "long fat network: tcp_wmem at least twice the BDP" "4096 16384 25000000" \
	"$(jq -r '.recommendations[] | select(.key == "net.ipv4.tcp_wmem") | .value | map(tostring) | join(" ")' "$T/lfn.json")"
check_exit "the long-fat-network profile asks for 2 x BDP" 1 nk_audit --profile long-fat-network --from "$D/tcp-lfn.json" --format json
check_eq "long-fat-network profile: 1 Gbit/s at 100 ms gives tcp_rmem's maximum 25000000" "25000000" \
	"$(jq -r '.recommendations[] | select(.key == "net.ipv4.tcp_rmem") | .value[2]' "$T/out")"
check_exit "without a bandwidth-delay product no rule raises TCP buffers" 0 nk_audit --from "$D/tcp-lfn.json" --format json

# each shipped profile runs
for p in default web-frontend database container-host long-fat-network hardening; do
	set +e
	nk_audit --profile "$p" --from "$D/healthy.json" --format json >"$T/p.json" 2>"$T/p.err"
	rc=$?
	set -e
	if [ "$rc" -le 2 ]; then pass "profile $p runs (exit $rc)"; else fail "profile $p: exit $rc: $(cat "$T/p.err")"; fi
done
check_eq "profile hardening runs only the hardening rules" 0 \
	"$(jq '[.results[] | select(.rule | startswith("hardening.") | not)] | length' "$T/p.json")"

finish
