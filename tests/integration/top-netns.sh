#!/bin/sh
# netknobs top in batch mode (-b -n COUNT) on the real kernel, in a network
# namespace of the test:
#   a. nginx from its Debian package with its worker stopped, under wrk: its
#      accept queue overflows once the load starts; the frames show its row
#      first (sorted by drops), marked '!', full (limit + 1), dropping,
#      owned by the stopped worker, and the namespace's ListenOverflows/s;
#      the frame before the load shows none of it
#   b. a quiet listener whose process name holds a terminal escape: shown
#      escaped; a SO_REUSEPORT group of two: one row "(2)"
#   c. --sort port and --filter (a port, a process name)
#   d. what top refuses: no terminal without -b, -n without -b,
#      --all-netns with --netns, --root, --format json, a bad interval
#   e. not root: the header says the owners are unknown
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
srv_need nginx wrk ss
for h in listen-hold; do
	[ -x "$HELPERS/$h" ] || skip "helper $h not built (make check builds it)"
done

ESC=$(printf '\033')
P=8080

# frame FILE N: frame N of a batch output
frame() { awk -v n="$2" '/^netknobs top - / { k++ } k == n' "$1"; }
# rows FILE N: the rows of frame N (after the column titles)
rows() { frame "$1" "$2" | awk '/^  ADDRESS/ { c = 1; next } c && NF'; }
# row FILE N PORT: the row of the listener on PORT in frame N
row() { rows "$1" "$2" | grep -E "^. [^ ]*:$3( |\$)" || true; }
# frames_done FILE N: N frames printed, the last complete (a blank line ends it)
frames_done() { [ "$(grep -c '^netknobs top - ' "$1" 2>/dev/null || true)" -ge "$2" ] && [ -z "$(tail -n 1 "$1")" ]; }

make_ns ns a
srv_nginx "$ns" 127.0.0.1 "$P" workers=1 backlog=16 || finish
m=$SRV_PID
w=$(srv_children "$m")
spawn "$T/quiet" "$ns" "$HELPERS/listen-hold" -n 'nk\x1b[31mquiet' 7070 64
wait_port "$T/quiet" >/dev/null
spawn "$T/rp1" "$ns" "$HELPERS/listen-hold" -r 6060 8
wait_port "$T/rp1" >/dev/null
spawn "$T/rp2" "$ns" "$HELPERS/listen-hold" -r 6060 8
wait_port "$T/rp2" >/dev/null
srv_stop "$w"

# ---------------------------------------------------------------- a
# frames every 500 ms; the load starts once the first is out
"$NETKNOBS" --netns "$ns" top -b -n 8 -d 500ms >"$T/a.out" 2>"$T/a.err" &
TOP=$!
NK_PIDS="$NK_PIDS $TOP"
poll_until 20 frames_done "$T/a.out" 1 || fail "a: no first frame: $(cat "$T/a.err")"
ip netns exec "$ns" wrk -t1 -c 200 -d 4s --timeout 2s "http://127.0.0.1:$P/" >"$T/a.wrk" 2>&1 &
NK_PIDS="$NK_PIDS $!"
set +e
wait "$TOP"
rc=$?
set -e
check_eq "a: top -b -n 8 exits 0" 0 "$rc"
check_eq "a: 8 frames" 8 "$(grep -c '^netknobs top - ' "$T/a.out")"
check_eq "a: nothing on standard error" "" "$(cat "$T/a.err")"
check_match "a: the header names the namespace and the interval" "netns $ns  every 500ms  frame 1/8" "$(frame "$T/a.out" 1)"
check_match "a: the header's limits" "somaxconn 4096  tcp_syncookies 1  tcp_max_syn_backlog [0-9]+" "$(frame "$T/a.out" 1)"
r1=$(row "$T/a.out" 1 "$P")
check_match "a: before the load, nginx's row is quiet" "^  127\\.0\\.0\\.1:$P +0/16 +0 +0% " "$r1"
# the frame where nginx's socket dropped the most
best=0 bestn=0
for k in 2 3 4 5 6 7 8; do
	d=$(row "$T/a.out" "$k" "$P" | awk '{ print $7 }' | cut -d. -f1)
	case $d in '' | *[!0-9]*) continue ;; esac
	if [ "$d" -gt "$best" ]; then best=$d bestn=$k; fi
done
if [ "$bestn" = 0 ]; then
	fail "a: no frame shows nginx dropping: $(cat "$T/a.out" | head -c 2000)"
else
	f=$(frame "$T/a.out" "$bestn")
	r=$(row "$T/a.out" "$bestn" "$P")
	check_match "a: the dropping row is marked '!' and full (17/16, 106%)" "^! 127\\.0\\.0\\.1:$P +17/16 +17 +106% " "$r"
	check_match "a: owned by the stopped worker" "nginx\\[$w\\] stopped" "$r"
	check_match "a: the master is listed too" "nginx\\[$m\\] sleeping" "$r"
	check_eq "a: sorted by drops: nginx first" "$P" "$(rows "$T/a.out" "$bestn" | head -n 1 | sed 's/^. [^ ]*:\([0-9]*\) .*/\1/')"
	check_match "a: the namespace's ListenOverflows/s" "ListenOverflows/s [1-9][0-9]*\\.[0-9]" "$f"
	check_match "a: the namespace's ListenDrops/s" "ListenDrops/s [1-9][0-9]*\\.[0-9]" "$f"
fi
check_match "a: the kernel agrees: the queue is full" "^17 16 " "$(srv_ss "$ns" "$P")"

# ---------------------------------------------------------------- b
"$NETKNOBS" --netns "$ns" top -b -n 1 -d 200ms >"$T/b.out" 2>&1
check_eq "b: no raw ESC byte in the frames" 0 "$(grep -c "$ESC" "$T/b.out" || true)"
check_match "b: the process name shown escaped" 'nk\\x1b\[31mquiet\[[0-9]+\] sleeping' "$(row "$T/b.out" 1 7070)"
check_match "b: the SO_REUSEPORT group is one row of 2 sockets" "^  0\\.0\\.0\\.0:6060 \\(2\\) +0/8 " "$(row "$T/b.out" 1 6060)"
check_eq "b: and only one" 1 "$(rows "$T/b.out" 1 | grep -c ':6060' || true)"
check_match "b: 4 listeners, 3 rows" "listeners 4, rows 3 of 3" "$(frame "$T/b.out" 1)"

# ---------------------------------------------------------------- c
"$NETKNOBS" --netns "$ns" top -b -n 1 -d 200ms --sort port >"$T/c1.out" 2>&1
check_eq "c: --sort port" "6060 7070 $P" "$(rows "$T/c1.out" 1 | sed 's/^. [^ ]*:\([0-9]*\) .*/\1/' | tr '\n' ' ' | sed 's/ $//')"
check_match "c: the header says the sort" "sort port" "$(frame "$T/c1.out" 1)"
"$NETKNOBS" --netns "$ns" top -b -n 1 -d 200ms -f 7070 >"$T/c2.out" 2>&1
check_eq "c: --filter by port" "7070" "$(rows "$T/c2.out" 1 | sed 's/^. [^ ]*:\([0-9]*\) .*/\1/')"
"$NETKNOBS" --netns "$ns" top -b -n 1 -d 200ms --filter NGINX >"$T/c3.out" 2>&1
check_eq "c: --filter by process name, any case" "$P" "$(rows "$T/c3.out" 1 | sed 's/^. [^ ]*:\([0-9]*\) .*/\1/')"
check_match "c: the header says the filter" "rows 1 of 3  sort drops  filter NGINX" "$(frame "$T/c3.out" 1)"
"$NETKNOBS" --netns "$ns" top -b -n 1 -d 200ms -f 1 >"$T/c4.out" 2>&1
check_match "c: nothing matches" "^\\(no listener matches the filter\\)" "$(rows "$T/c4.out" 1)"

# ---------------------------------------------------------------- d
check_exit "d: no terminal and no -b" 3 "$NETKNOBS" --netns "$ns" top
check_match "d: it says so" "not a terminal; use -b" "$(cat "$T/err")"
check_exit "d: -n needs -b" 3 "$NETKNOBS" --netns "$ns" top -n 2
check_exit "d: --all-netns with --netns refused" 3 "$NETKNOBS" --netns "$ns" top --all-netns -b -n 1
check_match "d: with the reason" "all-netns and --netns cannot be combined" "$(cat "$T/err")"
check_exit "d: --root refused" 3 "$NETKNOBS" --root "$T" top -b -n 1
check_exit "d: --format json refused" 3 "$NETKNOBS" top --json -b -n 1
check_exit "d: a bad interval" 3 "$NETKNOBS" top -b -d 0.5
check_exit "d: an interval too short" 3 "$NETKNOBS" top -b -d 10ms
check_exit "d: an unknown sort" 3 "$NETKNOBS" top -b -s size
check_exit "d: --help" 0 "$NETKNOBS" top --help
check_match "d: --help names the keys" "Keys: q quit, s next sort, p pause, / filter" "$(cat "$T/out")"

# e. not root: the owners of root's listeners cannot be seen, which the
# header says rather than show them as listeners without a process
check_exit "e: top as nobody" 0 in_ns "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$NETKNOBS" top -b -n 1
check_match "e: the header says the owners are unknown" "^netknobs top - .*  owners unknown$" "$(head -n 1 "$T/out")"

srv_cont "$w"
finish
