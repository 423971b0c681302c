#!/bin/sh
# netknobs report: two runs with counters rising in between (increase per
# day, new and resolved findings), the quiet day, corrupt and newer-version
# state, an unusable state directory, counters going backwards and a new
# boot, history bounds, and concurrent runs serialised by the lock.
. "$TESTLIB"

command -v python3 >/dev/null 2>&1 || skip "needs python3 (to derive the fixture documents)"
BASIC="$FIXTURES/facts/basic.json"

BOOT=11111111-2222-3333-4444-555555555555
mutate "$BASIC" "$T/day1.json" "d['sysctl']['kernel.random.boot_id'] = '$BOOT'"
# two days later: 200 more overflows, 100 more softnet drops; [::]:443 is now
# full (a new critical finding) and its process far from its descriptor limit
# (a resolved warning)
mutate "$T/day1.json" "$T/day3.json" '
d["collected_at"] = "2026-11-27T12:00:00Z"
d["counters"]["TcpExt"]["ListenOverflows"] += 200
d["counters"]["TcpExt"]["ListenDrops"] += 200
d["softnet"]["total"]["dropped"] += 100
l = [x for x in d["sockets"]["listeners"] if x["port"] == 443][0]
l["queue"] = 4097
l["processes"][0]["fds"] = 10'
report() { "$NETKNOBS" report --state-dir "$S" "$@"; }
nhist() { find "$S/history" -name '*.json' | wc -l | tr -d ' '; }

# ---------------------------------------------------------------- two runs
S=$T/state
check_exit "first run" 1 report --from "$T/day1.json"
check_match "first run: findings are new" '^New findings:' "$(cat "$T/out")"
check_match "first run: a warning listed" 'WARNING +0\.0\.0\.0:80: Accept queue nearly full \[backlog\.queue-high\]' "$(cat "$T/out")"
check_match "first run: the counters start now" 'No previous report \(first run\)' "$(cat "$T/out")"
check_eq "first run: nothing on stderr" "" "$(cat "$T/err")"
check_eq "state written" "1" "$(jq '.state_version' "$S/latest.json")"
check_eq "state: boot id" "$BOOT" "$(jq -r '.boot_id' "$S/latest.json")"
check_eq "state: netns" "net:[4026531840]" "$(jq -r '.netns' "$S/latest.json")"
check_eq "state: flat counter" "1532" "$(jq '.counters["TcpExt.ListenOverflows"]' "$S/latest.json")"
check_eq "state: softnet total" "4019" "$(jq '.counters["softnet.dropped"]' "$S/latest.json")"
check_eq "state: gauges left out" "null" "$(jq '.counters["Tcp.CurrEstab"]' "$S/latest.json")"
check_eq "state: findings by rule and subject" "warning" \
	"$(jq -r '.findings[] | select(.rule == "backlog.queue-high" and .subject == "0.0.0.0:80") | .severity' "$S/latest.json")"
check_eq "history: one entry" "1" "$(nhist)"
check_eq "state file mode" "644" "$(stat -c %a "$S/latest.json")"

check_exit "second run, two days later: a critical finding" 2 report --from "$T/day3.json"
out=$(cat "$T/out")
check_match "elapsed time said" 'Since the previous report \(2026-11-25T12:00:00Z, 2\.0 days earlier\)' "$out"
check_match "increase per day" 'TcpExt\.ListenOverflows: \+200 \(100 per day\): connection attempts dropped because a listener.s accept queue was full' "$out"
check_match "softnet increase per day" 'softnet\.dropped: \+100 \(50 per day\)' "$out"
check_match "new finding" 'CRITICAL \[::\]:443: Accept queue full \[backlog\.queue-full\]' "$out"
check_match "resolved finding" 'Resolved:' "$out"
check_match "resolved finding named" "WARNING +\[::\]:443: Listener's process close to its open-file limit \[backlog\.process-fd-limit\]" \
	"$(sed -n '/^Resolved:/,/^$/p' "$T/out")"
if printf '%s\n' "$out" | grep -q 'TcpExt.TCPReqQFullDrop'; then fail "unchanged counter listed"; else pass "unchanged counters not listed"; fi
check_eq "history: two entries" "2" "$(nhist)"

# the same in JSON, from the same two documents in another directory
S=$T/state-json
report --from "$T/day1.json" --format json >/dev/null || true
check_exit "JSON report" 2 report --from "$T/day3.json" --format json
J=$T/out
check_eq "JSON: per_day" "100" "$(jq '.counters[] | select(.name == "TcpExt.ListenOverflows") | .per_day' "$J")"
check_eq "JSON: increase" "200" "$(jq '.counters[] | select(.name == "TcpExt.ListenOverflows") | .increase' "$J")"
check_eq "JSON: elapsed" "172800" "$(jq '.elapsed_seconds' "$J")"
check_eq "JSON: new" "backlog.queue-full [::]:443 critical" "$(jq -r '.new[] | select(.severity == "critical") | "\(.rule) \(.subject) \(.severity)"' "$J")"
# the overflows and softnet drops counted since boot were notices while
# nothing showed they happen now; on day 3 a full queue and the softnet
# drops grown since day 1 make them warnings
check_eq "JSON: resolved" "backlog.counters-past TcpExt.ListenDrops,backlog.process-fd-limit [::]:443,limits.counters-past counters since boot" \
	"$(jq -r '[.resolved[] | "\(.rule) \(.subject)"] | sort | join(",")' "$J")"
check_eq "JSON: not quiet" "false" "$(jq '.quiet' "$J")"
check_eq "JSON: no reset" "false" "$(jq '.baseline.reset' "$J")"
check_eq "JSON: version" "1" "$(jq '.report_version' "$J")"
check_exit "JSON printed on a quiet day too" 2 report --from "$T/day3.json" --format json
check_eq "JSON quiet day: still critical" "backlog.queue-full" "$(jq -r '.still_critical[].rule' "$T/out")"
# the same day 3 again: the softnet drops did not grow since the report
# before, so they are old news again (a notice), nothing else is new
check_eq "JSON quiet day: only the softnet drops, now old, are new" "limits.counters-past notice" \
	"$(jq -r '.new[] | "\(.rule) \(.severity)"' "$T/out")"

# ---------------------------------------------------------------- quiet day
S=$T/state-quiet
report --from "$T/day1.json" >/dev/null || true
check_exit "quiet day (warnings standing, --fail-on critical)" 0 report --from "$T/day1.json" --fail-on critical
check_eq "quiet day prints nothing" "" "$(cat "$T/out")"
check_eq "quiet day: nothing on stderr" "" "$(cat "$T/err")"
check_exit "quiet day: exit status by findings" 1 report --from "$T/day1.json"
check_eq "quiet day prints nothing (default --fail-on)" "" "$(cat "$T/out")"
check_exit "--always on a quiet day" 1 report --from "$T/day1.json" --always
check_match "--always: the verdict" '^netknobs report: 0 critical, 4 warnings, 2 notices' "$(cat "$T/out")"
check_match "--always: no new findings" '^New findings: none' "$(cat "$T/out")"
check_match "--always: counters" '^Counters: no increase' "$(cat "$T/out")"
check_match "--always: current findings" 'All current findings' "$(cat "$T/out")"
# still critical is never quiet
report --from "$T/day3.json" >/dev/null || true
check_exit "still critical" 2 report --from "$T/day3.json"
check_match "still critical printed" '^Still critical:' "$(cat "$T/out")"
check_match "still critical named" 'CRITICAL \[::\]:443: Accept queue full' "$(sed -n '/^Still critical:/,/^$/p' "$T/out")"

# ---------------------------------------------------------------- history bound
S=$T/state-keep
for i in 1 2 3 4; do report --from "$T/day1.json" --keep 2 >/dev/null || true; done
check_eq "--keep 2 keeps two history files" "2" "$(nhist)"
# files of the same time stamp: "-N" ones are the newer, "-10" newer than "-9"
rm -f "$S"/history/*.json
for f in 20200101T000000.000000Z.json 20200101T000000.000000Z-9.json 20200101T000000.000000Z-10.json \
	20200101T000000.000000Z-1.json 20191231T235959.999999Z-3.json; do
	cp "$S/latest.json" "$S/history/$f"
done
report --from "$T/day1.json" --keep 3 >/dev/null || true
check_eq "--keep 3 prunes the oldest of one second first" \
	"20200101T000000.000000Z-10.json 20200101T000000.000000Z-9.json" \
	"$(ls "$S/history" | grep '^2020' | tr '\n' ' ' | sed 's/ $//')"
check_eq "--keep 3: the new file kept" "1" "$(ls "$S/history" | grep -Evc '^(2019|2020)')"
# names netknobs does not give are neither counted nor removed
for f in 20200101T000000.000000Z--5.json 20200101T000000.000000Z-0.json 20200101T000000Z.json notes.json; do
	cp "$S/latest.json" "$S/history/$f"
done
report --from "$T/day1.json" --keep 3 >/dev/null || true
check_eq "--keep 3: foreign names left alone" \
	"20200101T000000.000000Z--5.json 20200101T000000.000000Z-0.json 20200101T000000Z.json notes.json" \
	"$(cd "$S/history" && ls 20200101T000000.000000Z--5.json 20200101T000000.000000Z-0.json 20200101T000000Z.json notes.json 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
check_eq "--keep 3: three of ours" 3 "$(ls "$S/history" | grep -Ec '^[0-9]{8}T[0-9]{6}\.[0-9]{6}Z(-[1-9][0-9]*)?\.json$')"
check_exit "--keep not a number" 3 report --from "$T/day1.json" --keep x
check_exit "--wait negative" 3 report --from "$T/day1.json" --wait -1

# ---------------------------------------------------------------- corrupt state
S=$T/state-corrupt
report --from "$T/day1.json" >/dev/null || true
printf '{"state_version": 1, "time": ' >"$S/latest.json"
check_exit "corrupt latest.json: not fatal, status by findings" 1 report --from "$T/day1.json"
check_match "corrupt: warning names the file" "warning: $S/latest.json: 1:[0-9]+: .*moved to $S/latest.json.corrupt-" "$(cat "$T/err")"
check_match "corrupt: this run's report printed" '^New findings:' "$(cat "$T/out")"
check_match "corrupt: new baseline said" 'No previous report \(.*latest.json' "$(cat "$T/out")"
check_eq "corrupt: moved aside, content kept" '{"state_version": 1, "time": ' "$(cat "$S"/latest.json.corrupt-*)"
check_eq "corrupt: replaced by a valid state" "1" "$(jq '.state_version' "$S/latest.json")"
check_exit "after recovery: quiet again" 1 report --from "$T/day1.json"
check_eq "after recovery: no output" "" "$(cat "$T/out")$(cat "$T/err")"

jq '.state_version = 99' "$S/latest.json" >"$T/v99" && mv "$T/v99" "$S/latest.json"
check_exit "newer state_version: not fatal" 1 report --from "$T/day1.json"
check_match "newer state_version explained" 'state_version 99 is not supported .*newer netknobs.*moved to' "$(cat "$T/err")"
check_eq "newer state: two files moved aside" "2" "$(ls "$S" | grep -c '^latest.json.corrupt-')"
check_eq "newer state: replaced" "1" "$(jq '.state_version' "$S/latest.json")"

jq '.counters = "many"' "$S/latest.json" >"$T/bad" && mv "$T/bad" "$S/latest.json"
check_exit "state of the wrong shape" 1 report --from "$T/day1.json"
check_match "wrong shape explained" 'counters is not an object' "$(cat "$T/err")"
jq '.findings = [{"rule": 1}]' "$S/latest.json" >"$T/bad" && mv "$T/bad" "$S/latest.json"
check_exit "finding of the wrong shape" 1 report --from "$T/day1.json"
check_match "finding shape explained" 'finding 0 lacks' "$(cat "$T/err")"
rm "$S/latest.json" && mkdir "$S/latest.json"
check_exit "latest.json is a directory" 1 report --from "$T/day1.json"
check_match "directory: warned and moved" 'latest.json: .*moved to' "$(cat "$T/err")"
check_eq "directory: replaced" "1" "$(jq '.state_version' "$S/latest.json")"
head -c 3000 /dev/urandom >"$S/latest.json"
check_exit "binary garbage" 1 report --from "$T/day1.json"
check_match "garbage: warned" 'latest.json: .*moved to' "$(cat "$T/err")"
rm -f "$S/latest.json" && mkfifo "$S/latest.json"
check_exit "latest.json is a FIFO: not read (it would block under the lock)" 1 \
	timeout 20 "$NETKNOBS" report --state-dir "$S" --from "$T/day1.json"
check_match "FIFO: warned and moved" 'latest.json: not a regular file; moved to' "$(cat "$T/err")"
printf 'secret-word other\n' >"$T/secret"
rm -f "$S/latest.json" && ln -s "$T/secret" "$S/latest.json"
check_exit "latest.json is a symbolic link" 1 report --from "$T/day1.json"
check_match "link: not followed" 'latest.json: a symbolic link, not a state file; moved to' "$(cat "$T/err")"
if grep -q secret-word "$T/err"; then fail "link: the target's content leaked"; else pass "link: nothing of its target printed"; fi
check_eq "link: the target untouched" "secret-word other" "$(cat "$T/secret")"
check_eq "link: replaced by a state file" "1" "$(jq '.state_version' "$S/latest.json")"
# a history that cannot be written: latest.json moves on all the same, exit 3
rm -rf "$S/history" && : >"$S/history"
before=$(jq -r '.time' "$S/latest.json")
sleep 1
check_exit "history is a file: exit 3" 3 report --from "$T/day3.json" --format nagios
check_match "nagios says UNKNOWN with the final status" '^NETKNOBS UNKNOWN' "$(head -1 "$T/out")"
check_eq "latest.json still moved on" "true" "$(jq -r --arg b "$before" '.time != $b' "$S/latest.json")"
rm -f "$S/history"

# the state directory cannot be used: the report is still printed, exit 3
: >"$T/not-a-dir"
S=$T/not-a-dir
check_exit "state directory is a file" 3 report --from "$T/day1.json"
check_match "unusable state dir named" "state directory $T/not-a-dir" "$(cat "$T/err")"
check_match "unusable state dir: report still printed" '^New findings:' "$(cat "$T/out")"
S=$T/not-a-dir/sub
check_exit "state directory below a file" 3 report --from "$T/day1.json"
check_match "cannot create explained" 'cannot create it' "$(cat "$T/err")"
if [ "$(id -u)" != 0 ] && [ -w "$T" ]; then
	mkdir "$T/ro" && chmod 0555 "$T/ro"
	S=$T/ro
	check_exit "read-only state directory" 3 report --from "$T/day1.json"
fi

# ---------------------------------------------------------------- new baselines
S=$T/state-base
report --from "$T/day3.json" >/dev/null || true
# later, lower counters, same boot id: a new network namespace
mutate "$T/day1.json" "$T/day5.json" 'd["collected_at"] = "2026-11-29T12:00:00Z"; d["counters"]["TcpExt"]["ListenOverflows"] = 5'
check_exit "counters went backwards" 1 report --from "$T/day5.json" --format json
check_eq "backwards: new baseline" "true" "$(jq '.baseline.reset' "$T/out")"
check_match "backwards: reason" 'ListenOverflows went backwards \(5, was 1732\)' "$(jq -r '.baseline.reason' "$T/out")"
check_eq "backwards: no negative increase" "0" "$(jq '[.counters[] | select(.increase != null and .increase < 0)] | length' "$T/out")"
check_eq "backwards: no counters compared" "0" "$(jq '.counters | length' "$T/out")"
mutate "$T/day5.json" "$T/day6.json" 'd["collected_at"] = "2026-11-30T12:00:00Z"; d["counters"]["TcpExt"]["ListenOverflows"] = 25'
check_exit "after the new baseline" 1 report --from "$T/day6.json"
check_match "increase counted from the new baseline" 'TcpExt\.ListenOverflows: \+20 \(20 per day\)' "$(cat "$T/out")"
mutate "$T/day6.json" "$T/boot.json" 'd["collected_at"] = "2026-12-01T12:00:00Z"; d["sysctl"]["kernel.random.boot_id"] = "99999999-2222-3333-4444-555555555555"; d["counters"]["TcpExt"]["ListenOverflows"] = 900'
check_exit "rebooted" 1 report --from "$T/boot.json"
check_match "reboot said" 'New baseline for the counters: the host rebooted' "$(cat "$T/out")"
if grep -q 'ListenOverflows: +' "$T/out"; then fail "increase across a reboot"; else pass "no increase across a reboot"; fi
mutate "$T/boot.json" "$T/wrap.json" 'd["collected_at"] = "2026-12-02T12:00:00Z"; d["softnet"]["total"]["dropped"] = 3; d["counters"]["TcpExt"]["ListenOverflows"] = 910'
check_exit "softnet sum wrapped" 1 report --from "$T/wrap.json" --format json
check_eq "wrap: no global reset" "false" "$(jq '.baseline.reset' "$T/out")"
check_eq "wrap: that counter reset" "true" "$(jq '.counters[] | select(.name == "softnet.dropped") | .reset' "$T/out")"
check_eq "wrap: others still counted" "10" "$(jq '.counters[] | select(.name == "TcpExt.ListenOverflows") | .increase' "$T/out")"

# ---------------------------------------------------------------- the lock
command -v flock >/dev/null 2>&1 || skip "needs flock (util-linux) for the lock tests"
S=$T/state-lock
report --from "$T/day1.json" >/dev/null || true
flock "$S/lock" sleep 3 &
NK_PIDS="$NK_PIDS $!"
# until flock holds it
i=0
while flock -n "$S/lock" true; do
	i=$((i + 1))
	[ "$i" -lt 200 ] || { fail "lock: flock did not take the lock"; break; }
	sleep 0.02
done
start=$(date +%s)
check_exit "lock held elsewhere: bounded wait, then exit 3" 3 report --from "$T/day1.json" --wait 0.5
check_match "lock: clear message" 'another netknobs report is running \(waited 0.5 s\)' "$(cat "$T/err")"
check_eq "lock: no report printed" "" "$(cat "$T/out")"
check_eq "lock: state untouched" "1" "$(nhist)"
check_exit "lock: nagios says UNKNOWN" 3 report --from "$T/day1.json" --wait 0 --format nagios
check_match "lock: nagios line" '^NETKNOBS UNKNOWN - .*another netknobs report is running' "$(cat "$T/out")"
check_exit "lock released in time: the run waits and completes" 1 report --from "$T/day1.json" --wait 10
end=$(date +%s)
if [ $((end - start)) -ge 2 ]; then pass "waited for the lock ($((end - start)) s)"; else fail "did not wait for the lock"; fi
check_eq "lock: history after the wait" "2" "$(nhist)"

# two runs at once: both complete, one after the other
S=$T/state-race
( rc=0; report --from "$T/day1.json" >"$T/r1" 2>&1 || rc=$?; echo $rc >"$T/r1.rc" ) &
p1=$!
( rc=0; report --from "$T/day1.json" >"$T/r2" 2>&1 || rc=$?; echo $rc >"$T/r2.rc" ) &
p2=$!
wait $p1 $p2
check_eq "concurrent runs: both complete" "1 1" "$(cat "$T/r1.rc") $(cat "$T/r2.rc")"
check_eq "concurrent runs: two history entries" "2" "$(nhist)"
# serialised: exactly one saw no previous state (the other found it)
n_first=$(cat "$T/r1" "$T/r2" | grep -c 'No previous report' || true)
check_eq "concurrent runs: one first run, one quiet" "1" "$n_first"
check_eq "concurrent runs: no warning" "" "$(grep -h '^netknobs: ' "$T/r1" "$T/r2" || true)"
check_eq "concurrent runs: no temporary files left" "" "$(find "$S" -name '*.json.*' -o -name '*.prom.*')"

finish
