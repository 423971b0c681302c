#!/bin/sh
# Owners, their states and SO_REUSEPORT groups on the real kernel, with
# nginx from the distribution, each scenario in its own network namespace:
#   1. nginx with `reuseport` and 4 workers, one worker stopped (SIGSTOP),
#      ab's load: the 4 sockets are one group in the facts (members, index
#      in inode order), each polled by its own worker as the workers' epoll
#      sets say; the stopped worker's socket holds its share of the queue,
#      the others are empty; `listeners` shows one row for the group with
#      the stopped worker first, -v one row per socket with its worker, the
#      JSON one object per socket; `facts` names the stopped owner
#   2. a window over the stopped socket: its queue never shrank
#      (queue_min > 0, shrank false); a window in which the worker is
#      continued: it shrank
#   3. nginx with one worker and a small backlog: the worker stopped, the
#      queue overflows, then nginx is killed during a window: the listener
#      that vanished is named with the nginx processes seen in the window
#   4. a plain listener: its state follows SIGSTOP and SIGCONT, its start
#      time is when it started, and without an epoll set "polls" is absent
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
srv_need nginx ab ss script
for h in listen-hold connect-burst; do
	[ -x "$HELPERS/$h" ] || skip "helper $h not built (make check builds it)"
done

sleeping() { [ "$(srv_state "$1")" = S ]; }

# queue_of NS INODE: the accept queue of a socket as ss shows it
queue_of() { in_ns "$1" ss -Hltne | awk -v i="ino:$2" '$0 ~ i" " { print $2 }'; }

# ---------------------------------------------------------------- 1
make_ns ns1 reuseport
srv_nginx "$ns1" 127.0.0.1 8443 workers=4 reuseport || finish
NGX=$SRV_PID
WORKERS=$(srv_children "$NGX" | tr '\n' ' ')
"$NETKNOBS" --netns "$ns1" facts --json >"$T/f0.json"
jq -c '[.sockets.listeners[] | select(.port == 8443)]' "$T/f0.json" >"$T/g0"
check_eq "1: four sockets, each a member of one group of 4, numbered by inode" \
	"4 [4,4,4,4] [1,2,3,4] true" \
	"$(jq -c '"\(length) \([.[].reuseport.members]) \([.[].reuseport.index]) \([.[].inode] == ([.[].inode] | sort))"' "$T/g0" | tr -d '"')"
check_eq "1: master and every worker hold every socket" "5 5 5 5" \
	"$(jq -r '[.[] | .processes | length] | map(tostring) | join(" ")' "$T/g0")"
# each socket's worker: the one process with polls true
jq -r '.[] | "\(.inode) \([.processes[] | select(.polls == true) | .pid] | map(tostring) | join(","))"' \
	"$T/g0" >"$T/pollers"
truth=$(for w in $WORKERS; do for i in $(srv_polled "$w"); do
	grep -q "^$i " "$T/pollers" && echo "$i $w"; done; done | sort -n)
check_eq "1: each socket is polled by one worker, as its epoll set says" "$truth" "$(sort -n "$T/pollers")"
check_eq "1: four different workers poll them" "4" "$(cut -d' ' -f2 "$T/pollers" | sort -u | grep -c .)"
check_eq "1: the master polls none (no epoll set: polls absent)" "[null,null,null,null]" \
	"$(jq -c --argjson m "$NGX" '[.[] | .processes[] | select(.pid == $m) | .polls]' "$T/g0")"
check_eq "1: every owner sleeps, with a start time" "sleeping" \
	"$(jq -r '[.[] | .processes[] | .state] | unique | join(" ")' "$T/g0")"
now=$(date +%s)
check_eq "1: start times within the last minute" "true" \
	"$(jq --argjson n "$now" '[.[] | .processes[] | .start_time] | all(. <= $n and . > $n - 60)' "$T/g0")"

# stop the worker of the first socket and load the group
stopped_ino=$(sed -n 1p "$T/pollers" | cut -d' ' -f1)
W=$(sed -n 1p "$T/pollers" | cut -d' ' -f2)
srv_stop "$W"
srv_ab "$T/ab" "$ns1" http://127.0.0.1:8443/ 2000 50 3 || true
q=$(queue_of "$ns1" "$stopped_ino")
check_match "1: the stopped worker's socket holds its share (ss: $q)" '^[1-9][0-9]*$' "$q"
"$NETKNOBS" --netns "$ns1" facts --json >"$T/f1.json"
jq -c '[.sockets.listeners[] | select(.port == 8443)]' "$T/f1.json" >"$T/g1"
check_eq "1: the stopped worker's socket holds the queue, the others are empty" \
	"$q 0 0 0" \
	"$(jq -r --argjson i "$stopped_ino" '([.[] | select(.inode == $i) | .queue] + [.[] | select(.inode != $i) | .queue]) | map(tostring) | join(" ")' "$T/g1")"
check_eq "1: its worker is stopped, with polls" "stopped true" \
	"$(jq -r --argjson i "$stopped_ino" --argjson w "$W" '.[] | select(.inode == $i) | .processes[] | select(.pid == $w) | "\(.state) \(.polls)"' "$T/g1")"
check_eq "1: the other workers sleep" "sleeping" \
	"$(jq -r --argjson w "$W" --argjson m "$NGX" '[.[] | .processes[] | select(.pid != $w and .pid != $m) | .state] | unique | join(" ")' "$T/g1")"

"$NETKNOBS" --netns "$ns1" listeners >"$T/l1"
check_eq "1: listeners: one row for the group" "1" "$(grep -c '^127\.0\.0\.1:8443' "$T/l1")"
check_match "1: the row: member count, the fullest socket's queue, the stopped worker first" \
	"^127\\.0\\.0\\.1:8443 \\(4 sockets\\) +$q/511 .* nginx\\[$W\\] stopped fds [0-9]+/[0-9]+, nginx\\[[0-9]+\\] sleeping" "$(cat "$T/l1")"
check_match "1: the group is explained" '^\(N sockets\): a SO_REUSEPORT group' "$(cat "$T/l1")"
"$NETKNOBS" --netns "$ns1" listeners -v >"$T/l1v"
check_eq "1: -v: the group expanded, a row per socket" "4 0" \
	"$(grep -c '^127\.0\.0\.1:8443 #[1-4]/4 ' "$T/l1v") $(grep -c '(4 sockets)' "$T/l1v")"
check_match "1: -v: the stopped socket (#1, the lowest inode) with its worker only" \
	"^127\\.0\\.0\\.1:8443 #1/4 +$q/511 .* nginx\\[$W\\] stopped fds [0-9/]+\$" "$(cat "$T/l1v")"
for k in 2 3 4; do
	line=$(grep "^127\.0\.0\.1:8443 #$k/4 " "$T/l1v")
	check_match "1: -v: socket $k empty, with one sleeping worker" \
		'^127\.0\.0\.1:8443 #[234]/4 +0/511 .*  nginx\[[0-9]+\] sleeping fds [0-9/]+$' "$line"
done
check_match "1: -v: the rows are explained" '^#I/N: socket I of a SO_REUSEPORT group of N' "$(cat "$T/l1v")"
"$NETKNOBS" --netns "$ns1" listeners --json >"$T/l1.json"
check_eq "1: JSON: one object per socket, members side by side" "4 [1,2,3,4]" \
	"$(jq -c '[.listeners[] | select(.port == 8443)] | "\(length) \([.[].reuseport.index])"' "$T/l1.json" | tr -d '"')"
"$NETKNOBS" --netns "$ns1" facts >"$T/f1.txt"
check_match "1: facts: the group" '^  reuseport +4 listeners in 1 SO_REUSEPORT group$' "$(cat "$T/f1.txt")"
check_match "1: facts: the stopped owner" "^    nginx\\[$W\\] stopped, holding 127\\.0\\.0\\.1 port 8443 and 3 more listeners\$" \
	"$(cat "$T/f1.txt")"

# ---------------------------------------------------------------- 2
"$NETKNOBS" --netns "$ns1" facts --sample 1s --interval 50ms --json >"$T/s1.json"
check_eq "2: a stopped consumer: the queue never shrank" "$q $q false" \
	"$(jq -r --argjson i "$stopped_ino" '.sockets.listeners[] | select(.inode == $i) | .peak | "\(.queue) \(.queue_min) \(.shrank)"' "$T/s1.json")"
check_eq "2: the empty sockets: 0 0 false" "0 0 false" \
	"$(jq -r --argjson i "$stopped_ino" '[.sockets.listeners[] | select(.port == 8443 and .inode != $i) | .peak | "\(.queue) \(.queue_min) \(.shrank)"] | unique | join(",")' "$T/s1.json")"
"$NETKNOBS" facts --from "$T/s1.json" >"$T/s1f.txt"
check_match "2: facts: the listener whose queue never shrank" \
	"^    127\\.0\\.0\\.1 port 8443: at least $q waiting in all [0-9]+ readings\$" "$(cat "$T/s1f.txt")"
"$NETKNOBS" --netns "$ns1" listeners --sample 500ms >"$T/s1.txt"
check_match "2: listeners --sample: the group's peak" "^127\\.0\\.0\\.1:8443 \\(4 sockets\\) +$q/511 +$q " "$(cat "$T/s1.txt")"
srv_window "$T/s2.json" --netns "$ns1" facts --sample 2s --interval 20ms --json ||
	fail "2: the window did not start"
srv_cont "$W"
wait "$NKW" || fail "2: the window with the worker continued failed"
check_eq "2: the worker continued in the window: the queue shrank to 0" "$q 0 true" \
	"$(jq -r --argjson i "$stopped_ino" '.sockets.listeners[] | select(.inode == $i) | .peak | "\(.queue) \(.queue_min) \(.shrank)"' "$T/s2.json")"

# ---------------------------------------------------------------- 3
make_ns ns3 vanish
srv_nginx "$ns3" 127.0.0.1 8080 workers=1 backlog=8 || finish
NGX=$SRV_PID
W3=$(srv_children "$NGX")
srv_stop "$W3"
in_ns "$ns3" "$HELPERS/connect-burst" -x -w 300 127.0.0.1 8080 30 >/dev/null
srv_window "$T/v.json" --netns "$ns3" facts --sample 2s --interval 20ms --json || fail "3: the window did not start"
# the listener overflowed; its owners were looked up at the first reading:
# now nginx goes, its listener with it
kill -KILL "$NGX" "$W3"
i=0
while in_ns "$ns3" ss -Hltn | grep -q ':8080 '; do
	i=$((i + 1))
	[ "$i" -gt 200 ] && break
	sleep 0.02
done
wait "$NKW" || fail "3: the window failed"
check_eq "3: the listener is gone at the end" "0" \
	"$(jq '[.sockets.listeners[] | select(.port == 8080)] | length' "$T/v.json")"
check_eq "3: it vanished, with its queue (limit + 1)" "8 9" \
	"$(jq -r '.sample.vanished[] | select(.port == 8080) | "\(.limit) \(.peak.queue)"' "$T/v.json")"
check_eq "3: named with the nginx processes seen in the window" "$NGX nginx sleeping,$W3 nginx stopped" \
	"$(jq -r '[.sample.vanished[] | select(.port == 8080) | .processes[] | "\(.pid) \(.comm) \(.state)"] | join(",")' "$T/v.json")"
check_match "3: one look-up of owners in the window" '^[1-9]' "$(jq '.sample.owner_lookups' "$T/v.json")"
"$NETKNOBS" listeners --from "$T/v.json" >"$T/v.txt"
check_match "3: listeners: the closed listener with its owners" \
	"^127\\.0\\.0\\.1:8080 +-/8 +9 .*\\(closed\\) nginx\\[$W3\\] stopped" "$(cat "$T/v.txt")"

# ---------------------------------------------------------------- 4
make_ns ns4 state
before=$(date +%s)
spawn "$T/lh" "$ns4" "$HELPERS/listen-hold" -a 127.0.0.1 0 16
p4=$(wait_port "$T/lh") || fail "4: listener started"
after=$(date +%s)
LH=$LAST_PID
st() { "$NETKNOBS" --netns "$ns4" facts --json | jq -r --argjson p "$p4" ".sockets.listeners[] | select(.port == \$p) | .processes[0] | $1"; }
check_eq "4: a listener that waits: sleeping, no epoll set, no polls" "sleeping null" "$(st '"\(.state) \(.polls)"')"
srv_stop "$LH"
check_eq "4: SIGSTOP: stopped" "stopped" "$(st .state)"
srv_cont "$LH"
poll_until 5 sleeping "$LH" || true
check_eq "4: SIGCONT: sleeping again" "sleeping" "$(st .state)"
s=$(st .start_time)
if [ "$s" -ge $((before - 1)) ] && [ "$s" -le $((after + 1)) ]; then
	pass "4: start time $s within $before..$after"
else
	fail "4: start time $s not within $before..$after"
fi
check_eq "4: start time as ps computes it" "$(date -d "$(ps -o lstart= -p "$LH")" +%s)" "$s"

finish
