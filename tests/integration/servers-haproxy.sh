#!/bin/sh
# Healthy servers from their Debian packages under real load, in a network
# namespace: no false alarm.
#   f. nginx (2 workers) behind HAProxy (a frontend with backlog 1024 and
#      maxconn 2000, a backend of that nginx) and memcached -b 1024; wrk
#      through HAProxy and ab straight at nginx while netknobs samples a
#      window, then a snapshot after the load: exit 0 and no warning. The
#      limits are the servers' own settings (HAProxy's backlog, memcached's
#      -b, nginx's 511), as the kernel shows them.
#   j. HAProxy at its frontend's maxconn (below)
# SERVERS_CAPTURE=DIR saves the facts and audits (tests/servers.sh).
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
srv_need nginx haproxy memcached wrk ab ss script

scen_f() {
	make_ns ns f
	srv_nginx "$ns" 127.0.0.1 8080 workers=2 || return 0
	srv_haproxy "$ns" 127.0.0.1 8081 1024 2000 127.0.0.1:8080 || return 0
	srv_memcached "$ns" 127.0.0.1 11211 1024 || return 0
	check_eq "f: the kernel: the servers' own backlogs" "511 1024 1024" \
		"$(for p in 8080 8081 11211; do srv_ss "$ns" "$p" | awk '{ printf "%s ", $2 }'; done | sed 's/ $//')"
	srv_window_start f-sample "$ns" 2s
	srv_ab_bg "$T/f.ab" "$ns" http://127.0.0.1:8080/ 3000 20 5
	srv_wrk "$T/f.wrk" "$ns" http://127.0.0.1:8081/ 50 2s || fail "f: wrk through HAProxy: $(tail -n 3 "$T/f.wrk")"
	set +e
	wait "$LOAD_PID"
	abrc=$?
	set -e
	srv_window_end f-sample
	[ -z "${SERVERS_CAPTURE:-}" ] || cp "$T/f.ab" "$T/f.wrk" "$SERVERS_CAPTURE/"
	check_eq "f: ab: every request answered" "0 3000 0" \
		"$abrc $(srv_reqs "$T/f.ab") $(sed -n 's/^Failed requests: *//p' "$T/f.ab")"
	check_match "f: wrk through HAProxy to nginx: answers" '^[1-9][0-9]{3,}$' "$(srv_reqs "$T/f.wrk")"
	check_eq "f: wrk: no errors" "" "$(grep -E 'Socket errors|Non-2xx' "$T/f.wrk" || true)"
	f=$CAP.facts.json
	check_eq "f: the window read the listeners under load" true \
		"$(jq '.sample.ticks >= 2 and .sample.listeners_sampled' "$f")"
	check_eq "f: window: nothing dropped" "0 0 0" \
		"$(jq -r '.sample.deltas.TcpExt | "\(.ListenOverflows) \(.ListenDrops) \(.TCPReqQFullDrop)"' "$f")"
	check_eq "f: window: no listener dropped" 0 "$(jq '[.sockets.listeners[].peak.drops] | add' "$f")"
	check_eq "f: window: owners" "nginx haproxy memcached" \
		"$(jq -r '[.sockets.listeners | sort_by(.port)[] | .processes[0].comm] | join(" ")' "$f")"
	check_eq "f: audit of the window: exit 0" 0 "$(cat "$T/cap/f-sample.audit.rc")"
	check_eq "f: audit of the window: no warning, nothing critical" "0 0" \
		"$(jq -r '"\(.summary.warning) \(.summary.critical)"' "$T/cap/f-sample.audit.json")"
	srv_capture f "$ns"
	check_eq "f: snapshot after the load: exit 0" 0 "$(cat "$CAP.audit.rc")"
	check_eq "f: snapshot: no warning, nothing critical" "0 0" \
		"$(jq -r '"\(.summary.warning) \(.summary.critical)"' "$CAP.audit.json")"
	check_eq "f: snapshot: no finding on the servers' listeners" "" \
		"$(jq -r '.findings[] | select(.subject | test(":(8080|8081|11211)$")) | .rule' "$CAP.audit.json")"
	check_eq "f: snapshot: the limits" "511 1024 1024" \
		"$(jq -r '[.sockets.listeners | sort_by(.port)[] | .limit] | map(tostring) | join(" ")' "$CAP.facts.json")"
}

# ---------------------------------------------------------------- j
# j. HAProxy at its frontend's maxconn: a frontend with maxconn 50 and
#    backlog 64 before nginx; wrk keeps 300 connections open (keep-alive).
#    HAProxy holds 50 and stops accepting, the kernel queues 65 and drops the
#    rest: the advice names maxconn, not only a longer backlog.
full_8081() { [ "$(srv_ss "$ns" 8081 | awk '{ print $1 }')" = 65 ]; }
scen_j() {
	make_ns ns j
	srv_nginx "$ns" 127.0.0.1 8080 workers=1 || return 0
	srv_haproxy "$ns" 127.0.0.1 8081 64 50 127.0.0.1:8080 || return 0
	ip netns exec "$ns" wrk -t1 -c 300 -d 4s --timeout 4s http://127.0.0.1:8081/ >"$T/j.wrk" 2>&1 &
	jw=$!
	NK_PIDS="$NK_PIDS $jw"
	poll_until 10 full_8081 || fail "j: HAProxy's queue filled: $(srv_ss "$ns" 8081)"
	srv_capture j "$ns"
	a=$CAP.audit.json
	check_eq "j: the queue is full" critical "$(finding "$a" backlog.queue-full 127.0.0.1:8081)"
	check_match "j: a finding on the frontend says HAProxy stopped accepting at its maxconn" \
		'stops accepting .*maxconn' \
		"$(jq -r '.findings[] | select(.subject == "127.0.0.1:8081" and .severity != "notice") | .message' "$a")"
	kill "$jw" 2>/dev/null || true
	wait "$jw" 2>/dev/null || true
}

for s in ${SERVERS_ONLY:-f j}; do
	case $s in
	f | j) "scen_$s" ;;
	*) ;;
	esac
	srv_cleanup
done
finish
