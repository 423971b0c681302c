#!/bin/sh
# netknobs top on a terminal (tmux) when a reading fails for a while: the
# bottom line says the listeners could not be read and the last reading is
# shown; once readings work again, the message goes and the view is live.
# The failure is made by lowering the running top's limit of open files
# (prlimit) so that its netlink socket cannot be opened, then raising it.
# (The message once stayed until a key was pressed.)
. "$TESTLIB"
need_root
command -v tmux >/dev/null 2>&1 || skip "needs tmux"
command -v prlimit >/dev/null 2>&1 || skip "needs prlimit (util-linux)"
[ -x "$HELPERS/listen-hold" ] || skip "helper listen-hold not built (make check builds it)"

TM="tmux -L nk-topr-$$"
tm_cleanup() { $TM kill-server 2>/dev/null || true; }
trap 'tm_cleanup; nk_cleanup' EXIT

make_ns ns r
spawn "$T/l" "$ns" "$HELPERS/listen-hold" 7070 64
wait_port "$T/l" >/dev/null

$TM new-session -d -s v -x 120 -y 30 "TERM=xterm-256color \"$NETKNOBS\" --netns \"$ns\" top -d 300ms; sleep 600"
screen() { $TM capture-pane -p -t v; }
shows() { screen | grep -Eq -- "$1"; }
hides() { ! shows "$1"; }
await() {
	if poll_until 10 shows "$2"; then pass "$1"; else fail "$1: /$2/ not on the screen:
$(screen)"; fi
}
await "the view appears" "^  0\\.0\\.0\\.0:7070 +0/64 "
pid=""
for p in $(pgrep -f -- "--netns $ns top -d 300ms" || true); do
	[ "$(cat /proc/"$p"/comm 2>/dev/null)" = netknobs ] && pid=$p
done
[ -n "$pid" ] || { fail "top's process not found"; finish; }

MSG="the listeners could not be read \\(Too many open files\\); showing the last reading"
prlimit --pid "$pid" --nofile=4: || skip "cannot lower the limit of a running process"
await "a failed reading is said" "$MSG"
prlimit --pid "$pid" --nofile=1024:
if poll_until 10 hides "$MSG"; then
	pass "once readings work again, the message goes"
else
	fail "once readings work again, the message goes: $(screen | tail -n 1)"
fi
await "the keys' line is back" "^q quit  s sort  p pause  / filter  h help"
finish
