#!/bin/sh
# netknobs --all-netns on the real kernel: 30 named network namespaces and
# 5 held only by a process (unshare -n).  Some have net.core.somaxconn 128
# and a listener it clamps (nginx, redis-server and memcached, which ask
# for more, and a program in an unnamed one) or a listener whose accept
# queue overflows; the others are healthy, some with real servers at the
# kernel's default somaxconn.  One named and one unnamed namespace go away
# while netknobs runs (its first entry into a namespace is held up by
# strace for 3 seconds, and they are removed then).  Every finding must
# land in the right namespace, under the right name, with advice that names
# where it applies; the healthy ones are quiet; the gone ones are reported
# gone, not as errors; the exit status is the worst.  listeners, facts,
# Prometheus and report --all-netns on the same scenario.  Needs root.
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
command -v unshare >/dev/null 2>&1 || skip "needs unshare (util-linux)"
command -v strace >/dev/null 2>&1 || skip "needs strace (to hold up a run while namespaces go away)"
srv_need nginx redis-server memcached haproxy
for h in listen-hold connect-burst; do
	[ -x "$HELPERS/$h" ] || skip "helper $h not built (make check builds it)"
done
LH="$HELPERS/listen-hold"
NK() { "$NETKNOBS" "$@"; }

# ---- 30 named namespaces (their names in $T/named, in the order made)
: >"$T/named"
i=1
while [ "$i" -le 30 ]; do
	n=$(new_netns "a$i")
	echo "$n" >>"$T/named"
	i=$((i + 1))
done
ns() { sed -n "${1}p" "$T/named"; }
for k in 1 2 3 4 5; do srv_sysctl "$(ns $k)" net.core.somaxconn=128; done

# clamped: servers that ask for more than 128
srv_nginx "$(ns 1)" 127.0.0.1 8080 || finish
nginx_pid=$SRV_PID
srv_redis "$(ns 2)" 127.0.0.1 6379 511 || finish
srv_memcached "$(ns 3)" 127.0.0.1 11211 1024 || finish
# overflowing: a queue of 4 that nobody accepts from, 10 connections
spawn "$T/full" "$(ns 4)" "$LH" -a 127.0.0.1 0 4
full_port=$(wait_port "$T/full")
full_pid=$LAST_PID
ip netns exec "$(ns 4)" "$HELPERS/connect-burst" -x -w 500 127.0.0.1 "$full_port" 10 >"$T/burst"
# (ns 5): somaxconn 128 and no listener: only the setting to say
# healthy, at the kernel's default somaxconn, with real servers and programs
srv_nginx "$(ns 6)" 127.0.0.1 8080 || finish
srv_haproxy "$(ns 7)" 127.0.0.1 8081 511 100 127.0.0.1:8080 || finish
srv_redis "$(ns 8)" 127.0.0.1 6379 511 || finish
for k in 9 10 11; do
	spawn "$T/ok$k" "$(ns $k)" "$LH" -a 127.0.0.1 0 511
	wait_port "$T/ok$k" >/dev/null
done

# ---- 5 unnamed namespaces, held only by a process
own=$(readlink /proc/self/ns/net)
wait_unshared() {
	_i=0
	while [ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "$own" ] || [ ! -e "/proc/$1/ns/net" ]; do
		_i=$((_i + 1))
		[ "$_i" -le 400 ] || { echo "unshare -n did not start" >&2; return 1; }
		sleep 0.01
	done
}
# (servers.sh ends the processes of the named namespaces; these are ended
# here, before it waits for them)
stop_unnamed() { for p in $u1 $(cat "$T/unnamed" 2>/dev/null); do kill "$p" 2>/dev/null || true; done; }
trap 'stop_unnamed; srv_cleanup; nk_cleanup' EXIT
# u1: somaxconn 128, then a program that asks for 4096
unshare -n sh -c 'sysctl -qw net.core.somaxconn=128 && exec "$0" 0 4096' "$LH" >"$T/u1" 2>"$T/u1.err" &
u1=$!
NK_PIDS="$NK_PIDS $u1"
wait_port "$T/u1" >/dev/null
: >"$T/unnamed"
for k in 2 3 4 5; do
	unshare -n sleep 600 &
	p=$!
	NK_PIDS="$NK_PIDS $p"
	wait_unshared "$p"
	echo "$p" >>"$T/unnamed"
done
uvictim=$(sed -n '4p' "$T/unnamed")

# ---- the run, with two namespaces going away in it: a named one without
# processes (the last by name of those: entered after the first one) and
# an unnamed one
victim=$(sed -n '12,30p' "$T/named" | LC_ALL=C sort | tail -n 1)
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T/strace" -e trace=setns \
	-e inject=setns:delay_enter=3s:when=1 "$NETKNOBS" audit --all-netns --json \
	>"$T/audit.json" 2>"$T/audit.err" &
spid=$!
i=0
while ! grep -q 'setns(' "$T/strace" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 2000 ] || ! kill -0 "$spid" 2>/dev/null; then
		fail "netknobs did not reach its first namespace: $(cat "$T/audit.err")"
		finish
	fi
	sleep 0.01
done
ip netns del "$victim"
kill "$uvictim"
wait "$uvictim" 2>/dev/null || true
set +e
wait "$spid"
rc=$?
set -e
check_eq "audit --all-netns: exit status the worst (a critical finding), gone namespaces no error" 2 "$rc"
J="$T/audit.json"
jq -e . "$J" >/dev/null || { fail "not JSON: $(head -c 300 "$J") $(cat "$T/audit.err")"; finish; }

# by name: [state, kind, rules of the findings, the first recommendation's command]
of() {
	jq -c --arg n "$1" '[.namespaces[] | select(.netns.name == $n) |
		[.netns.state, .netns.kind, ([.audit.findings[]? | select(.status == "fail") | .rule] | sort),
		 (.audit.recommendations[]? | select(.key == "net.core.somaxconn") | .sysctl_w)]]' "$J"
}
cmd() { echo "ip netns exec $1 sysctl -w net.core.somaxconn=$2"; }
check_eq "nginx clamped by somaxconn 128, in its namespace, advice for it" \
	"[[\"entered\",\"named\",[\"backlog.listener-clamped\",\"backlog.somaxconn-low\"],\"$(cmd "$(ns 1)" 4096)\"]]" "$(of "$(ns 1)")"
check_match "the nginx finding names nginx and its port" "127.0.0.1:8080 \\(nginx" \
	"$(jq -r --arg n "$(ns 1)" '.namespaces[] | select(.netns.name == $n) | .audit.findings[] | select(.rule == "backlog.listener-clamped") | .message' "$J")"
check_eq "redis-server clamped, in its namespace" \
	"[[\"entered\",\"named\",[\"backlog.listener-clamped\",\"backlog.somaxconn-low\"],\"$(cmd "$(ns 2)" 4096)\"]]" "$(of "$(ns 2)")"
check_eq "memcached clamped, in its namespace" \
	"[[\"entered\",\"named\",[\"backlog.listener-clamped\",\"backlog.somaxconn-low\"],\"$(cmd "$(ns 3)" 4096)\"]]" "$(of "$(ns 3)")"
check_match "the overflowing queue: critical, in its namespace" '"backlog.queue-full"' "$(of "$(ns 4)")"
check_match "its subject is its listener" "^127.0.0.1:$full_port$" \
	"$(jq -r --arg n "$(ns 4)" '.namespaces[] | select(.netns.name == $n) | .audit.findings[] | select(.rule == "backlog.queue-full") | .subject' "$J")"
check_eq "somaxconn 128 alone: the setting, nothing more" \
	"[[\"entered\",\"named\",[\"backlog.somaxconn-low\"],\"$(cmd "$(ns 5)" 4096)\"]]" "$(of "$(ns 5)")"
u1name="pid $u1 (listen-hold)"
check_eq "the unnamed one: named by its process, advice by nsenter" \
	"[[\"entered\",\"process\",[\"backlog.listener-clamped\",\"backlog.somaxconn-low\"],\"nsenter --net=/proc/$u1/ns/net sysctl -w net.core.somaxconn=4096\"]]" \
	"$(of "$u1name")"
check_match "where it lasts: the program that creates it" "the program that creates this namespace \\(pid $u1, listen-hold\\)" \
	"$(jq -r --arg n "$u1name" '.namespaces[] | select(.netns.name == $n) | .audit.recommendations[0].persist' "$J")"

# every finding of the scenario is where it belongs: the healthy ones are quiet
bad=""
for k in $(seq 6 30); do
	n=$(ns "$k")
	[ "$n" = "$victim" ] && continue
	got=$(of "$n")
	[ "$got" = '[["entered","named",[]]]' ] || bad="$bad $n: $got"
done
for p in $(cat "$T/unnamed"); do
	[ "$p" = "$uvictim" ] && continue
	got=$(of "pid $p (sleep)")
	[ "$got" = '[["entered","process",[]]]' ] || bad="$bad pid $p: $got"
done
check_eq "the 28 healthy namespaces left: entered and quiet (nginx, haproxy, redis-server among them)" "" "$bad"
check_eq "the 29 named namespaces left entered, each once" 29 \
	"$(jq --arg p "nk-$$-" '[.namespaces[] | select((.netns.netns_name // "" | startswith($p)) and .netns.state == "entered")] | length' "$J")"
check_eq "no namespace listed twice" true "$(jq '[.namespaces[].netns.inode] | length == (unique | length)' "$J")"
check_eq "the named one deleted during the run: gone, no audit" '[["gone",false]]' \
	"$(jq -c --arg n "$victim" '[.namespaces[] | select(.netns.netns_name == $n) | [.netns.state, has("audit")]]' "$J")"
check_eq "the unnamed one whose process ended: gone" '["gone"]' \
	"$(jq -c --argjson p "$uvictim" '[.namespaces[] | select(.netns.processes.oldest.pid == $p) | .netns.state]' "$J")"
check_eq "the summary counts them" true "$(jq '.summary.gone >= 2 and .summary.with_findings >= 6 and .summary.worst == "critical"' "$J")"
check_eq "the host first, then the worst" "host critical" \
	"$(jq -r '[.namespaces[0].netns.kind, (.namespaces[1].audit.summary | if .critical > 0 then "critical" else "not critical" end)] | join(" ")' "$J")"
check_eq "one scan of /proc for the owners of all" 1 "$(jq '.discovery.owners.scans' "$J")"
# ---- text: the worst first, the quiet ones on a line, nothing of the
# healthy ones, the commands of each namespace
check_exit "audit --all-netns (text)" 2 NK audit --all-netns
TXT="$T/out"
# other tests may run namespaces of their own at the same time: the order
# among this test's namespaces is what is checked
first=$(grep -n "^== " "$TXT" | grep -v "== host " | grep -F -f "$T/named" | head -n 1)
check_match "the critical namespace comes first" "== $(ns 4) \\(named" "$first"
check_match "its advice applies there" "^  ip netns exec $(ns 1) sysctl -w (.* )?net.core.somaxconn=4096( |$)" \
	"$(sed -e ':a' -e '/\\$/{N;s/ *\\\n */ /;ta' -e '}' "$TXT")"
check_match "one line for the quiet ones" "^Quiet: [0-9]+ network namespaces without findings \\(.*named" "$(cat "$TXT")"
check_eq "no section for a healthy one" "" "$(grep -E "^== ($(ns 6)|$(ns 7)|$(ns 8)) " "$TXT" || true)"
check_eq "no bare sysctl -w for a namespace" "" "$(grep -E '^ *sysctl -w [a-z0-9_.]+=' "$TXT" | grep -v 'net.core.somaxconn' || true)"

# ---- listeners: a NAMESPACE column
check_exit "listeners --all-netns" 0 NK listeners --all-netns
check_match "header with NAMESPACE" "^NAMESPACE +LISTEN +QUEUE/LIMIT" "$(head -n 1 "$T/out")"
check_match "nginx's row in its namespace, limit 128" "^$(ns 1) +127.0.0.1:8080 +0/128 .*nginx\\[$nginx_pid\\]" "$(cat "$T/out")"
check_match "the overflowing one: 5/4" "^$(ns 4) +127.0.0.1:$full_port +5/4 " "$(cat "$T/out")"
check_match "the unnamed one by its process" "^pid $u1 \\(listen-hold\\) +0.0.0.0:[0-9]+ +0/128 " "$(cat "$T/out")"
check_exit "listeners --all-netns --json" 0 NK listeners --all-netns --json
check_eq "JSON: one list per namespace" "[8080]" \
	"$(jq -c --arg n "$(ns 1)" '[.namespaces[] | select(.netns.name == $n) | .listeners.listeners[].port]' "$T/out")"
check_eq "owners from the one scan, in their own namespaces: nginx's master, the program that overflows" \
	"true [$full_pid]" \
	"$(jq -c --arg n "$(ns 1)" --argjson p "$nginx_pid" '[.namespaces[] | select(.netns.name == $n) | .listeners.listeners[].processes[].pid] | index($p) != null' "$T/out") $(jq -c --arg n "$(ns 4)" '[.namespaces[] | select(.netns.name == $n) | .listeners.listeners[].processes[].pid]' "$T/out")"

# ---- facts: a document per namespace, each with its own values
check_exit "facts --all-netns --json" 0 NK facts --all-netns --json
somax() { jq -r --arg n "$1" '.namespaces[] | select(.netns.name == $n) | .facts.sysctl."net.core.somaxconn"' "$T/out"; }
check_eq "each namespace's own somaxconn" "128 4096 128" "$(somax "$(ns 1)") $(somax "$(ns 6)") $(somax "$u1name")"
jq --arg a "$(ns 1)" '.namespaces[] | select(.netns.name == $a) | .facts' "$T/out" >"$T/one.json"
check_exit "one namespace's facts of it still audit with --from" 1 NK audit --from "$T/one.json"

# ---- Prometheus: the namespace on every series
check_exit "audit --all-netns --format prom" 2 NK audit --all-netns --format prom
check_match "a listener's series carries its namespace" \
	"^netknobs_listener_queue\\{netns=\"$(ns 4)\",netns_kind=\"named\",family=\"ipv4\",address=\"127.0.0.1\",port=\"$full_port\"" "$(cat "$T/out")"
check_eq "no series without a namespace but the run's own" "" \
	"$(grep -v '^#' "$T/out" | grep -v 'netns=' | grep -Ev '^netknobs_(audit_duration_seconds|audit_timestamp_seconds|network_namespaces)' || true)"
if command -v promtool >/dev/null 2>&1; then
	check_exit "promtool accepts it" 0 promtool check metrics <"$T/out"
fi

# ---- report: the state of each namespace; one appears, one goes away
SD="$T/state"
check_exit "report --all-netns, first run" 2 NK report --all-netns --state-dir "$SD"
gone_next=$(ns 12)
[ "$gone_next" != "$victim" ] || gone_next=$(ns 13)
ip netns del "$gone_next"
new=$(new_netns new)
check_exit "report --all-netns, second run" 2 NK report --all-netns --state-dir "$SD" --json
check_eq "what appeared and what went away" "[[\"$new\"],[\"$gone_next\"]]" \
	"$(jq -c --arg p "nk-$$-" '[[.summary.appeared[].name | select(startswith($p))], [.summary.went_away[].name | select(startswith($p))]]' "$T/out")"
check_eq "a namespace compared with its own previous state: still critical" '["backlog.queue-full"]' \
	"$(jq -c --arg n "$(ns 4)" '[.namespaces[] | select(.netns.name == $n) | .report.still_critical[].rule]' "$T/out")"
check_exit "report --all-netns, a third run" 2 NK report --all-netns --state-dir "$SD"
case $(cat "$T/out") in
*"$new"*) fail "a namespace seen before is reported again as appeared" ;;
*) pass "a namespace seen before is not news" ;;
esac

# ---- without CAP_SYS_ADMIN: listed with the reason, exit 3
if command -v setpriv >/dev/null 2>&1; then
	set +e
	ASAN_OPTIONS=detect_leaks=0 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$NETKNOBS" audit --all-netns --json >"$T/nobody.json" 2>"$T/nobody.err"
	rc=$?
	set -e
	check_eq "unprivileged: exit 3" 3 "$rc"
	check_match "unprivileged: says why" "needs CAP_SYS_ADMIN" "$(cat "$T/nobody.err")"
	check_match "unprivileged: a named namespace listed as denied, with the reason" \
		'^"denied","entering it needs CAP_SYS_ADMIN' \
		"$(jq -r --arg n "$(ns 2)" '.namespaces[] | select(.netns.name == $n) | [.netns.state, .netns.reason] | @csv' "$T/nobody.json")"
fi
finish
