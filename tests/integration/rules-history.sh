#!/bin/sh
# What the state directory remembers, judged by the rules:
#   1. counters since boot across report runs (saved facts, no root): a
#      notice while they do not grow between runs (exit 0), a warning when
#      they do; the history of somaxconn written by report
#   2. an older somaxconn (root, a network namespace, real nginx):
#      somaxconn 64, nginx started (limit 64), report, somaxconn raised by
#      fix --apply: the audit says the older somaxconn cut nginx down and a
#      restart lifts it, not "raise nginx's backlog"; after the restart the
#      limit is nginx's 511 and nothing is said
. "$TESTLIB"
D="$FIXTURES/rules"
S=$T/state

# ---------------------------------------------------------------- 1
# the same boot and namespace on three days; ListenOverflows 12, 12, then 19
day() {
	mutate "$D/counters-old.json" "$T/day$1.json" "
d['collected_at'] = '$2'
d['sysctl']['kernel.random.boot_id'] = 'b0f1c6d4-0000-4000-8000-000000000001'
d['counters']['TcpExt']['ListenOverflows'] = $3
d['counters']['TcpExt']['ListenDrops'] = $3 + 3"
}
day 1 2026-11-25T12:00:00Z 12
day 2 2026-11-26T12:00:00Z 12
day 3 2026-11-27T12:00:00Z 19
report() { "$NETKNOBS" report --state-dir "$S" --format json "$@"; }
check_exit "1: first report: old counters are a notice (exit 0)" 0 report --from "$T/day1.json"
check_eq "1: first report: the counters since boot, a notice" notice \
	"$(jq -r '.new[]? | select(.rule == "backlog.counters-past") | .severity' "$T/out")"
check_exit "1: second report, nothing grew: exit 0" 0 report --from "$T/day2.json"
# the audit of the second day's document with the state directory: the
# previous report is the second day's own, so nothing grew
"$NETKNOBS" audit --from "$T/day2.json" --state-dir "$S" --format json >"$T/a2.json" || true
check_match "1: audit --state-dir: not grown since the previous report" \
	'they did not grow since the previous netknobs report \(2026-11-26T12:00:00Z\)' \
	"$(jq -r '.findings[] | select(.rule == "backlog.counters-past") | .message' "$T/a2.json")"
# before the third report: the previous one is the second day's
"$NETKNOBS" audit --from "$T/day3.json" --state-dir "$S" --format json >"$T/a3.json" || true
check_match "1: the growth since the previous report, in words" \
	'happening now: the counter grew by 7 since the previous netknobs report \(2026-11-26T12:00:00Z\)' \
	"$(jq -r '.findings[] | select(.rule == "backlog.listen-overflows") | .message' "$T/a3.json")"
check_eq "1: the overflows no longer called old" "" \
	"$(jq -r '.findings[] | select(.rule == "backlog.counters-past") | .message' "$T/a3.json" | grep 'full accept queue' || true)"
# the way to the state directory counts too: a parent others may write to
# could have swapped in a history of their own
mkdir -p "$T/pub"
chmod 777 "$T/pub"
cp -a "$S" "$T/pub/state"
"$NETKNOBS" audit --from "$T/day3.json" --state-dir "$T/pub/state" --format json >"$T/a3p.json" 2>"$T/a3p.err" || true
check_eq "1: a state directory below a directory others can write to: its history not used" "" \
	"$(jq -r '.findings[] | .message' "$T/a3p.json" | grep 'since the previous netknobs report' || true)"
check_match "1: and the warning says why" 'state directory .*/pub/state: a directory on its way is writable by other users' \
	"$(cat "$T/a3p.err")"
check_eq "1: a missing state directory is not created by an audit" false \
	"$("$NETKNOBS" audit --from "$T/day3.json" --state-dir "$T/none/state" >/dev/null 2>&1; [ -e "$T/none" ] && echo true || echo false)"
check_exit "1: without the state directory the same document is old news (exit 0)" 0 \
	"$NETKNOBS" audit --from "$T/day3.json" --format json
check_exit "1: third report, ListenOverflows grew by 7: a warning (exit 1)" 1 report --from "$T/day3.json"
check_eq "1: the warning is listen-overflows" warning \
	"$(jq -r '.new[]? | select(.rule == "backlog.listen-overflows") | .severity' "$T/out")"
check_eq "1: the history of somaxconn: one period, all three days" '[4096,1795608000,1795780800]' \
	"$(jq -c '.records[0].periods | [.[0].value, .[0].since, .[-1].until]' "$S/sysctl-history.json")"
check_eq "1: history file mode" 644 "$(stat -c %a "$S/sysctl-history.json")"
# a namespace deleted and created again gets the same inode (net:[N]), so
# its counters meet the previous report of the old one: ListenOverflows 5
# after 19 went backwards, and the 5 all came after that report
day 4 2026-11-28T12:00:00Z 5
"$NETKNOBS" audit --from "$T/day4.json" --state-dir "$S" --format json >"$T/a4.json" || true
check_match "1: counters that went backwards: all of them since the previous report" \
	'happening now: the counter grew by 5 since the previous netknobs report' \
	"$(jq -r '.findings[] | select(.rule == "backlog.listen-overflows") | .message' "$T/a4.json")"
check_eq "1: counters that went backwards: not called old" "" \
	"$(jq -r '.findings[] | select(.rule == "backlog.counters-past") | .message' "$T/a4.json" | grep 'did not grow' || true)"
# the inode number names a namespace only while it lives; its cookie
# (SO_NETNS_COOKIE) is never reused: a namespace created again with the
# same inode and counters that happen to be higher is not the old one
cookie_day() {
	mutate "$D/counters-old.json" "$T/c$1.json" "
d['collected_at'] = '$2'
d['sysctl']['kernel.random.boot_id'] = 'b0f1c6d4-0000-4000-8000-000000000002'
d['host']['netns']['cookie'] = $3
d['counters']['TcpExt']['ListenOverflows'] = $4
d['counters']['TcpExt']['ListenDrops'] = $4 + 3"
}
cookie_day 1 2026-11-25T12:00:00Z 100 30
cookie_day 2 2026-11-26T12:00:00Z 100 41
cookie_day 3 2026-11-26T12:00:00Z 200 41
check_exit "1c: a report of the namespace with cookie 100" 0 "$NETKNOBS" report --state-dir "$T/sc" --format json --from "$T/c1.json"
check_eq "1c: the state keeps the cookie" 100 "$(jq .netns_cookie "$T/sc/latest.json")"
"$NETKNOBS" audit --from "$T/c2.json" --state-dir "$T/sc" --format json >"$T/c2a.json" || true
check_match "1c: the same namespace: grown since the previous report" 'grew by 11 since the previous netknobs report' \
	"$(jq -r '.findings[] | select(.rule == "backlog.listen-overflows") | .message' "$T/c2a.json")"
"$NETKNOBS" audit --from "$T/c3.json" --state-dir "$T/sc" --format json >"$T/c3a.json" || true
check_eq "1c: a new namespace with the old inode: the old one's report not used" "" \
	"$(jq -r '.findings[] | .message' "$T/c3a.json" | grep 'since the previous netknobs report' || true)"
check_exit "1c: its report" 0 "$NETKNOBS" report --state-dir "$T/sc" --format json --from "$T/c3.json"
check_match "1c: the report says the namespace was created again" 'created again' \
	"$(jq -r '.. | strings' "$T/out" | grep 'created again' || true)"
check_eq "1c: the history keeps the two namespaces apart" "100 200" \
	"$(jq -r '[.records[].netns_cookie] | sort | map(tostring) | join(" ")' "$T/sc/sysctl-history.json")"
# the text report says it in words
report --from "$T/day3.json" >/dev/null || true
"$NETKNOBS" report --state-dir "$S" --from "$T/day3.json" --always >"$T/r3.txt" || true
check_match "1: the text report keeps the advice" 'netknobs report:' "$(head -1 "$T/r3.txt")"
# a broken history file is moved aside and started again, nothing lost
printf '{"history_version": 1, "records": [' >"$S/sysctl-history.json"
check_exit "1: a broken history: the report still runs" 0 report --from "$T/day3.json"
check_match "1: the broken file is named" 'sysctl-history.json: .*moved to sysctl-history.json.corrupt-' "$(cat "$T/err")"
check_eq "1: kept aside" 1 "$(find "$S" -name 'sysctl-history.json.corrupt-*' | wc -l | tr -d ' ')"
check_eq "1: a new history written" 1 "$(jq '.history_version' "$S/sysctl-history.json")"
# an audit that only looks does not trust a directory others can write to
mkdir -p "$T/open"
chmod 777 "$T/open"
cp "$S/sysctl-history.json" "$T/open/"

# ---------------------------------------------------------------- 2
[ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 || { echo "SKIP: 2: needs root and ip"; finish; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "SKIP: 2: nginx is not installed"; finish; }
make_ns ns2 hist
check_exit "2: a live audit does not use a history others can write to" 0 \
	"$NETKNOBS" --netns "$ns2" audit --state-dir "$T/open" --rule backlog.stale-clamp
check_match "2: and says why" "state directory $T/open: .*writable by others" "$(cat "$T/err")"
ip netns exec "$ns2" sysctl -qw net.core.somaxconn=64
mkdir -p "$T/ngx"
cat >"$T/ngx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/ngx; proxy_temp_path $T/ngx; fastcgi_temp_path $T/ngx;
	uwsgi_temp_path $T/ngx; scgi_temp_path $T/ngx;
	server { listen 127.0.0.1:8080; location / { return 200 "ok\n"; } }
}
CONF
# ngx_start: nginx in the foreground in ns2, polled until it listens
ngx_start() {
	spawn "$T/ngx.out" "$ns2" "$NGINX" -p "$T/ngx" -c "$T/ngx/nginx.conf"
	NGX=$LAST_PID
	_i=0
	until ip netns exec "$ns2" ss -Hltn 'sport = :8080' | grep -q .; do
		_i=$((_i + 1))
		[ "$_i" -lt 500 ] || { fail "2: nginx did not start: $(cat "$T/ngx.out.err")"; finish; }
		sleep 0.02
	done
}
ngx_start
limit() { "$NETKNOBS" --netns "$ns2" listeners --json | jq '[.listeners[] | select(.port == 8080) | .limit][0]'; }
check_eq "2: nginx asks for 511 and gets somaxconn 64" 64 "$(limit)"
S2=$T/state2
export NETKNOBS_STATE_DIR="$S2"
"$NETKNOBS" --netns "$ns2" report >/dev/null 2>&1 || true
check_eq "2: report recorded somaxconn 64" 64 "$(jq '.records[0].periods[-1].value' "$S2/sysctl-history.json")"
start=$("$NETKNOBS" --netns "$ns2" listeners --json | jq '[.listeners[] | select(.port == 8080) | .processes[].start_time] | min')
if [ "$start" = null ]; then
	echo "SKIP: 2: the facts have no start time of processes (processes[].start_time)"
	finish
fi
# the clock past nginx's start, with the slack the rule allows for
until [ "$(date +%s)" -gt $((start + 1)) ]; do sleep 0.1; done
check_exit "2: fix --apply raises somaxconn in the namespace" 0 \
	"$NETKNOBS" --netns "$ns2" fix --apply --output "$T/ns2.conf" --rule backlog.somaxconn-low
check_eq "2: somaxconn is 4096 now" 4096 "$(ip netns exec "$ns2" cat /proc/sys/net/core/somaxconn)"
check_eq "2: fix recorded the change" '[64,4096,"fix"]' \
	"$(jq -c '.records[0].periods | [.[-2].value, .[-1].value, .[-1].by]' "$S2/sysctl-history.json")"
check_eq "2: nginx keeps 64 until it listens again" 64 "$(limit)"
check_exit "2: audit: a warning (exit 1)" 1 "$NETKNOBS" --netns "$ns2" audit --format json
cp "$T/out" "$T/a2s.json"
msg() { jq -r --arg r "$2" --arg s "$3" '[.findings[] | select(.rule == $r and .subject == $s)][0].message' "$1"; }
check_match "2: the older somaxconn is named, and the restart" \
	'^127\.0\.0\.1:8080 \(nginx\) is limited to 64 connections: net.core.somaxconn was 64 while it was already running .*restart it \(nginx asks for 511 unless configured otherwise\)' \
	"$(msg "$T/a2s.json" backlog.stale-clamp 127.0.0.1:8080)"
check_eq "2: not blamed on nginx's backlog" "" \
	"$(jq -r '.findings[] | select(.rule == "backlog.app-backlog") | .subject' "$T/a2s.json")"
kill "$NGX"
wait "$NGX" 2>/dev/null || true
ngx_start
check_eq "2: after a restart nginx has its own 511" 511 "$(limit)"
"$NETKNOBS" --netns "$ns2" audit --format json >"$T/a2r.json" 2>/dev/null || true
check_eq "2: after the restart nothing is said of it" "" \
	"$(jq -r '.findings[] | select(.subject == "127.0.0.1:8080") | .rule' "$T/a2r.json")"
finish
