#!/bin/sh
# netknobs top on a terminal, driven through tmux (a private tmux server of
# the test, a 120x40 window): in a network namespace of the test with two
# listeners that never accept,
#   1. the view appears, with both rows and no overflow
#   2. it updates when one starts to overflow: its row marked '!', first
#   3. s sorts (the header says by what), / filters (by port), p pauses,
#      the view follows a resize
#   4. q quits with status 0 and the terminal's modes are as before (stty -a)
#   5. SIGTERM ends it the same way, terminal restored; h shows the help
#   6. --all-netns: every namespace; / with the test namespace's name shows
#      its two rows under the NETNS column, s reaches the netns sort, q quits
#      and the terminal is as before
. "$TESTLIB"
need_root
command -v tmux >/dev/null 2>&1 || skip "needs tmux"
for h in listen-hold connect-burst; do
	[ -x "$HELPERS/$h" ] || skip "helper $h not built (make check builds it)"
done

TM="tmux -L nk-top-$$"
tm_cleanup() { $TM kill-server 2>/dev/null || true; }
trap 'tm_cleanup; nk_cleanup' EXIT

make_ns ns t
spawn "$T/quiet" "$ns" "$HELPERS/listen-hold" 7070 64
wait_port "$T/quiet" >/dev/null
spawn "$T/busy" "$ns" "$HELPERS/listen-hold" 8080 4
wait_port "$T/busy" >/dev/null

# start NAME [OPTIONS]: netknobs top in a new tmux session NAME (by default
# --netns of the test); the shell around it saves stty -a before and after,
# and its exit status
start() {
	_opts=${2:---netns $ns}
	cat >"$T/$1.sh" <<EOF
stty -a >"$T/$1.before"
"$NETKNOBS" $_opts top -d 300ms
echo \$? >"$T/$1.rc.tmp" && mv "$T/$1.rc.tmp" "$T/$1.rc"
stty -a >"$T/$1.after"
sleep 600
EOF
	$TM new-session -d -s "$1" -x 120 -y 40 "TERM=xterm-256color sh $T/$1.sh"
}
screen() { $TM capture-pane -p -t "$1"; }
# shows NAME REGEX: the screen of NAME matches
shows() { screen "$1" | grep -Eq -- "$2"; }
# await DESCRIPTION NAME REGEX: poll (10 s at most) until it does
await() {
	if poll_until 10 shows "$2" "$3"; then
		pass "$1"
	else
		fail "$1: /$3/ not on the screen:
$(screen "$2")"
	fi
}
rc_written() { [ -s "$T/$1.rc" ]; }
# quit_check N WINDOW: q in WINDOW ends top with status 0 and leaves the
# terminal's modes as they were (stty -a before and after)
quit_check() {
	$TM send-keys -t "$2" q
	if poll_until 10 rc_written "$2"; then
		check_eq "$1: q quits with status 0" 0 "$(cat "$T/$2.rc")"
		poll_until 5 test -s "$T/$2.after" || true
		if cmp -s "$T/$2.before" "$T/$2.after"; then
			pass "$1: stty -a unchanged"
		else
			fail "$1: stty -a changed: $(diff "$T/$2.before" "$T/$2.after" | head -n 6)"
		fi
	else
		fail "$1: q did not end it: $(screen "$2")"
	fi
}
first_row() { screen "$1" | awk '/^  ADDRESS/ { getline; print; exit }'; }

start v
await "1: the view appears" v "^netknobs top - .*netns $ns  every 300ms"
await "1: the header's rates" v "^ListenOverflows/s [0-9.]+  ListenDrops/s"
await "1: the quiet listener's row" v "^  0\\.0\\.0\\.0:7070 +0/64 "
await "1: the other one, not overflowing" v "^  0\\.0\\.0\\.0:8080 +0/4 "

# 2: 20 connections at a queue of 4: it fills, the kernel drops the rest
spawn "$T/burst" "$ns" "$HELPERS/connect-burst" -w 200 127.0.0.1 8080 20
await "2: the row shows the overflow, marked" v "^! 0\\.0\\.0\\.0:8080 +5/4 +5 +125% "
await "2: the namespace's overflows per second" v "^ListenOverflows/s [1-9]"
case $(first_row v) in
"! 0.0.0.0:8080"*) pass "2: the dropping row comes first" ;;
*) fail "2: the dropping row comes first: $(first_row v)" ;;
esac

# 3: s, then / 7070 Enter
$TM send-keys -t v s
await "3: s sorts by fill" v "sort fill"
await "3: and says so" v "sorted by fill"
$TM send-keys -t v / 7 0 7 0 Enter
await "3: / filters by port" v "rows 1 of 2  sort fill  filter 7070"
if shows v ":8080 "; then fail "3: the filtered-out row is gone"; else pass "3: the filtered-out row is gone"; fi
$TM send-keys -t v p
await "3: p pauses" v "^netknobs top - [0-9:]+  PAUSED  netns"
$TM send-keys -t v p
await "3: p again goes on" v "^netknobs top - [0-9:]+  netns"
$TM resize-window -t v -x 80 -y 20
await "3: the view follows a resize (lines cut at 80 columns)" v "^  ADDRESS +QUEUE/LIMIT   PEAK  FILL SYN-RECV  DROPS/S  PRO$"
$TM resize-window -t v -x 120 -y 40
await "3: and back" v "^  ADDRESS +QUEUE/LIMIT   PEAK  FILL SYN-RECV  DROPS/S  PROCESS$"
$TM send-keys -t v h
await "5: h shows the help" v "^  q +quit"
$TM send-keys -t v x
await "5: a key goes back" v "^  ADDRESS"

# 4: q
quit_check 4 v

# 5: SIGTERM
start s
await "5: a second view appears" s "^netknobs top - "
pid=""
for p in $(pgrep -f -- "--netns $ns top -d 300ms" || true); do
	[ "$(cat /proc/"$p"/comm 2>/dev/null)" = netknobs ] && pid=$p
done
if [ -z "$pid" ]; then
	fail "5: the second view's process not found"
else
	kill -TERM "$pid"
	if poll_until 10 rc_written s; then
		check_eq "5: SIGTERM ends it with status 0" 0 "$(cat "$T/s.rc")"
		poll_until 5 test -s "$T/s.after" || true
		if cmp -s "$T/s.before" "$T/s.after"; then
			pass "5: stty -a unchanged after SIGTERM"
		else
			fail "5: stty -a changed after SIGTERM: $(diff "$T/s.before" "$T/s.after" | head -n 6)"
		fi
	else
		fail "5: SIGTERM did not end it"
	fi
fi

# 6: --all-netns
start a --all-netns
await "6: the view of every namespace appears" a "^netknobs top - .*netns all \\([0-9]+ of [0-9]+ read"
await "6: a NETNS column" a "^  NETNS +ADDRESS +QUEUE/LIMIT"
$TM send-keys -t a /
$TM send-keys -t a -l "$ns"
$TM send-keys -t a Enter
await "6: / filters by the namespace's name (the header is cut at 120 columns)" a "rows 2 of [0-9]+  sort drops  filter "
await "6: its rows under its name" a "^  $ns +0\\.0\\.0\\.0:7070 +0/64 "
await "6: both" a "^. $ns +0\\.0\\.0\\.0:8080 +5/4 "
$TM send-keys -t a s s s s s
await "6: s reaches the netns sort" a "sort netns"
quit_check 6 a
finish
