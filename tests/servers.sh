# Real servers from their Debian packages for the integration tests, each
# inside a network namespace of the test: source "$TOP_SRCDIR/tests/servers.sh"
# after "$TESTLIB".
#
# Servers: srv_nginx, srv_redis, srv_haproxy, srv_memcached, srv_dnsmasq
# start one server in the foreground (its configuration, pid file, logs and temporary
# files under $T), wait until it listens and leave its pid in SRV_PID.
# Every process left in the test's namespaces is stopped when the test ends,
# however it ends (srv_cleanup runs before lib.sh's nk_cleanup).
# Helpers: srv_wait_listen (poll until a port listens), srv_veth (a server
# and a client namespace joined by veth), srv_drop_synack (nftables in the
# client namespace drops SYN-ACKs), srv_ab and srv_wrk (load from inside a
# namespace), srv_stop and srv_cont (SIGSTOP/SIGCONT, waiting for the
# state), srv_children, srv_polled (the listening sockets a process polls),
# srv_capture (what netknobs says, saved for inspection).
#
# Nothing here changes the host: sysctls are set with srv_sysctl inside a
# namespace, servers run only under `ip netns exec`.

# srv_need PROGRAM...: skip the test (exit 77) when one is not installed
srv_need() {
	for _p in "$@"; do
		command -v "$_p" >/dev/null 2>&1 || [ -x "/usr/sbin/$_p" ] ||
			skip "needs $_p (see the README's test dependencies)"
	done
}

# the servers' binaries live in /usr/sbin, which a test's PATH may lack
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin"; export PATH ;; esac

# srv_alive PID: the process exists and is not a zombie (a server this shell
# started stays a zombie until it is waited for)
srv_alive() {
	_st=$(srv_state "$1")
	[ -n "$_st" ] && [ "$_st" != Z ]
}

# srv_cleanup: end every process in the test's namespaces (the servers, their
# workers, load generators): SIGCONT first, so a stopped worker can act on
# SIGTERM at once, then SIGTERM, then SIGKILL for what is left after 3 s
srv_cleanup() {
	[ -f "$T/.netns" ] || return 0
	_pids=""
	# netknobs --all-netns of another test may be visiting the namespace
	# (its main thread enters each in turn): not ours to end
	while read -r _n; do
		for _p in $(ip netns pids "$_n" 2>/dev/null); do
			[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = netknobs ] || _pids="$_pids $_p"
		done
	done <"$T/.netns"
	[ -n "${_pids# }" ] || return 0
	for _p in $_pids; do kill -CONT "$_p" 2>/dev/null || true; done
	for _p in $_pids; do kill -TERM "$_p" 2>/dev/null || true; done
	_i=0
	while [ "$_i" -lt 60 ]; do
		_left=""
		for _p in $_pids; do srv_alive "$_p" && _left="$_left $_p"; done
		[ -n "$_left" ] || break
		_i=$((_i + 1))
		sleep 0.05
	done
	for _p in $_left; do kill -KILL "$_p" 2>/dev/null || true; done
	# reap the ones this shell started (lib.sh's nk_cleanup waits for them too)
	for _p in $NK_PIDS; do wait "$_p" 2>/dev/null || true; done
	NK_PIDS=""
	return 0
}
trap 'srv_cleanup; nk_cleanup' EXIT

# srv_sysctl NS KEY=VALUE...: set sysctls inside the namespace NS only
srv_sysctl() {
	_ns=$1
	shift
	ip netns exec "$_ns" sysctl -qw "$@"
}

# srv_wait_listen NS PORT [COUNT]: poll (every 20 ms, at most 10 s) until COUNT
# (default 1) TCP sockets listen on PORT in NS; 1 when they do not
srv_wait_listen() {
	_want=${3:-1}
	_i=0
	while :; do
		_have=$(ip netns exec "$1" ss -Hltn "sport = :$2" | grep -c . || true)
		[ "$_have" -ge "$_want" ] && return 0
		_i=$((_i + 1))
		if [ "$_i" -gt 500 ]; then
			echo "nothing listens on port $2 in $1 ($_have of $_want sockets)" >&2
			return 1
		fi
		sleep 0.02
	done
}

# srv_wait_children PID COUNT: poll until PID has COUNT children (workers)
srv_wait_children() {
	_i=0
	while [ "$(srv_children "$1" | grep -c . || true)" -lt "$2" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 500 ]; then
			echo "process $1 did not start $2 workers" >&2
			return 1
		fi
		sleep 0.02
	done
}

# srv_children PID: the pids of PID's children, one a line, oldest first
srv_children() {
	for _c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do echo "$_c"; done | sort -n
}

# srv_state PID: the process's state letter from /proc/PID/stat (R, S, T, ...)
srv_state() {
	sed -n 's/^.*) \(.\) .*$/\1/p' "/proc/$1/stat" 2>/dev/null
}

# srv_stop PID / srv_cont PID: SIGSTOP / SIGCONT, and wait until the kernel
# shows the process stopped / no longer stopped
srv_stop() {
	kill -STOP "$1"
	_i=0
	until [ "$(srv_state "$1")" = T ]; do
		_i=$((_i + 1))
		[ "$_i" -le 500 ] || { echo "process $1 did not stop" >&2; return 1; }
		sleep 0.01
	done
}
srv_cont() {
	kill -CONT "$1"
	_i=0
	while [ "$(srv_state "$1")" = T ]; do
		_i=$((_i + 1))
		[ "$_i" -le 500 ] || { echo "process $1 did not continue" >&2; return 1; }
		sleep 0.01
	done
}

# srv_polled PID: the inodes of the sockets PID watches with epoll (from
# /proc/PID/fdinfo of its epoll descriptors: "tfd: ... ino:HEX"), one a line.
# For nginx with reuseport this tells which worker serves which listening
# socket: every worker holds all of them open, each polls only its own.
srv_polled() {
	for _fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$_fd" 2>/dev/null)" = "anon_inode:[eventpoll]" ] || continue
		sed -n 's/^tfd:.* ino:\([0-9a-f]*\) .*$/\1/p' "/proc/$1/fdinfo/${_fd##*/}" 2>/dev/null
	done | while read -r _h; do printf '%d\n' "0x$_h"; done | sort -n
}


# srv_window OUT NETKNOBS-ARGS...: run netknobs with a --sample window in the
# background on a terminal (script(1)), its standard output in OUT, and
# return once the window has started, which its progress bar on the terminal
# tells; its pid (script's, which exits with netknobs' status) in NKW
srv_window() {
	_o=$1 _tty="$T/${1##*/}.tty"
	shift
	rm -f "$_tty"
	script -qfec "\"$NETKNOBS\" $* >$_o" "$_tty" >/dev/null 2>&1 </dev/null &
	NKW=$!
	NK_PIDS="$NK_PIDS $NKW"
	poll_until 30 grep -q 'sampling \[' "$_tty" 2>/dev/null
}

# srv_dir NAME: a fresh directory under $T for one server, printed
srv_dir() {
	_d="$T/$1"
	_k=1
	while [ -e "$_d" ]; do _k=$((_k + 1)); _d="$T/$1.$_k"; done
	mkdir -p "$_d"
	echo "$_d"
}

# srv_started NAME NS PORT COUNT: after spawn, wait until the server listens;
# on failure say why (its standard error and log) and fail the test
srv_started() {
	if ! srv_wait_listen "$2" "$3" "$4" || ! kill -0 "$SRV_PID" 2>/dev/null; then
		fail "$1 did not start in $2: $(cat "$SRV_DIR"/*.err "$SRV_DIR"/*.log 2>/dev/null | tail -n 5)"
		return 1
	fi
}

# srv_nginx NS ADDR PORT [workers=N] [backlog=N] [reuseport]: nginx with its
# own configuration under $T (pid file, error log, temporary paths), in the
# foreground (daemon off); the master's pid in SRV_PID, its directory in
# SRV_DIR. Without backlog= nginx passes its default, 511. Every location
# answers 200 "ok". Returns once every socket listens and every worker runs.
srv_nginx() {
	_ns=$1 _addr=$2 _port=$3
	shift 3
	_workers=1 _listen_opts="" _nsock=1
	for _o in "$@"; do
		case $_o in
		workers=*) _workers=${_o#workers=} ;;
		backlog=*) _listen_opts="$_listen_opts $_o" ;;
		reuseport) _listen_opts="$_listen_opts reuseport" ;;
		*) fail "srv_nginx: unknown option $_o"; return 1 ;;
		esac
	done
	case " $_listen_opts " in *" reuseport "*) _nsock=$_workers ;; esac
	SRV_DIR=$(srv_dir nginx)
	cat >"$SRV_DIR/nginx.conf" <<EOF
worker_processes $_workers;
pid $SRV_DIR/nginx.pid;
error_log $SRV_DIR/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $SRV_DIR/client_body;
	proxy_temp_path $SRV_DIR/proxy;
	fastcgi_temp_path $SRV_DIR/fastcgi;
	uwsgi_temp_path $SRV_DIR/uwsgi;
	scgi_temp_path $SRV_DIR/scgi;
	server {
		listen $_addr:$_port$_listen_opts;
		location / { return 200 "ok\n"; }
	}
}
EOF
	spawn "$SRV_DIR/nginx.out" "$_ns" nginx -p "$SRV_DIR" -e "$SRV_DIR/error.log" \
		-c "$SRV_DIR/nginx.conf" -g 'daemon off;'
	SRV_PID=$LAST_PID
	srv_started nginx "$_ns" "$_port" "$_nsock" || return 1
	srv_wait_children "$SRV_PID" "$_workers" || { fail "nginx workers did not start"; return 1; }
}

# srv_redis NS ADDR PORT BACKLOG: redis-server with tcp-backlog BACKLOG, no
# persistence, its working directory and log under $T; pid in SRV_PID
srv_redis() {
	SRV_DIR=$(srv_dir redis)
	spawn "$SRV_DIR/redis.out" "$1" redis-server --bind "$2" --port "$3" --tcp-backlog "$4" \
		--save "" --appendonly no --dir "$SRV_DIR" --logfile "$SRV_DIR/redis.log" \
		--daemonize no --protected-mode no --pidfile "$SRV_DIR/redis.pid"
	SRV_PID=$LAST_PID
	srv_started redis-server "$1" "$3" 1
}

# srv_haproxy NS ADDR PORT BACKLOG MAXCONN BACKEND: HAProxy in the foreground
# (-db), a frontend on ADDR:PORT with `backlog BACKLOG` and `maxconn MAXCONN`,
# and a backend of one server, BACKEND (ADDR:PORT); pid in SRV_PID
srv_haproxy() {
	SRV_DIR=$(srv_dir haproxy)
	cat >"$SRV_DIR/haproxy.cfg" <<EOF
global
	maxconn 4096
	pidfile $SRV_DIR/haproxy.pid
defaults
	mode http
	timeout connect 2s
	timeout client 10s
	timeout server 10s
frontend fe
	bind $2:$3
	backlog $4
	maxconn $5
	default_backend be
backend be
	server s1 $6
EOF
	spawn "$SRV_DIR/haproxy.out" "$1" haproxy -db -f "$SRV_DIR/haproxy.cfg"
	SRV_PID=$LAST_PID
	srv_started haproxy "$1" "$3" 1
}

# srv_memcached NS ADDR PORT BACKLOG: memcached -b BACKLOG as user nobody,
# TCP only, 16 MB; pid in SRV_PID
srv_memcached() {
	SRV_DIR=$(srv_dir memcached)
	spawn "$SRV_DIR/memcached.out" "$1" memcached -u nobody -l "$2" -p "$3" -U 0 -b "$4" -m 16 -t 1
	SRV_PID=$LAST_PID
	srv_started memcached "$1" "$3" 1
}

# srv_dnsmasq NS ADDR PORT: dnsmasq as a DNS server only (no DHCP, no
# upstream servers, no /etc/hosts), in the foreground, its pid file and log
# under $T; its pid in SRV_PID. Returns once it receives on ADDR:PORT (UDP).
srv_dnsmasq() {
	SRV_DIR=$(srv_dir dnsmasq)
	spawn "$SRV_DIR/dnsmasq.out" "$1" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
		--no-hosts --bind-interfaces --listen-address="$2" --port="$3" --user=root --group=root \
		--pid-file="$SRV_DIR/dnsmasq.pid" --log-facility="$SRV_DIR/dnsmasq.log"
	SRV_PID=$LAST_PID
	if ! poll_until 10 srv_udp_bound "$1" "$3" || ! kill -0 "$SRV_PID" 2>/dev/null; then
		fail "dnsmasq did not start in $1: $(cat "$SRV_DIR"/*.err "$SRV_DIR"/*.log 2>/dev/null | tail -n 5)"
		return 1
	fi
}
# srv_udp_bound NS PORT: a UDP socket is bound to PORT in NS
srv_udp_bound() { [ -n "$(ip netns exec "$1" ss -Hlun "sport = :$2")" ]; }

# srv_veth SRV CLI: join namespaces SRV and CLI with a veth pair; SRV gets
# 10.213.2.1/30 (in SRV_ADDR), CLI 10.213.2.2/30 (in CLI_ADDR). The pair is
# created inside SRV, so no interface appears on the host.
srv_veth() {
	SRV_ADDR=10.213.2.1 CLI_ADDR=10.213.2.2
	ip -n "$1" link add nks0 type veth peer name nkc0 netns "$2" &&
		ip -n "$1" addr add "$SRV_ADDR/30" dev nks0 &&
		ip -n "$2" addr add "$CLI_ADDR/30" dev nkc0 &&
		ip -n "$1" link set nks0 up && ip -n "$2" link set nkc0 up
}

# srv_drop_synack CLI [PORT]: nftables in the client namespace drops every
# SYN-ACK it receives (from PORT only, when given): the server's handshakes
# stay half-open and its SYN queue fills
srv_drop_synack() {
	_match=""
	[ -z "${2:-}" ] || _match="tcp sport $2 "
	ip netns exec "$1" nft "add table inet nkt; add chain inet nkt in { type filter hook input priority 0; };
		add rule inet nkt in ${_match}tcp flags & (syn | ack) == syn | ack counter drop"
}

# srv_ab OUT NS URL REQUESTS CONCURRENCY TIMEOUT: ab in NS, its output in OUT;
# returns ab's exit status (ab exits non-zero when a request times out)
srv_ab() {
	set +e
	ip netns exec "$2" ab -r -n "$4" -c "$5" -s "$6" "$3" >"$1" 2>&1
	_rc=$?
	set -e
	return $_rc
}

# srv_ab_bg OUT NS URL REQUESTS CONCURRENCY TIMEOUT: the same in the
# background; its pid in LOAD_PID (killed at the end if still running)
srv_ab_bg() {
	ip netns exec "$2" ab -r -n "$4" -c "$5" -s "$6" "$3" >"$1" 2>&1 &
	LOAD_PID=$!
	NK_PIDS="$NK_PIDS $LOAD_PID"
}

# srv_wrk OUT NS URL CONNECTIONS DURATION [WRK-OPTIONS...]: wrk (one thread)
# in NS for DURATION (2s ...), its output in OUT; returns wrk's exit status.
# wrk keeps its connections open (keep-alive) unless told otherwise
# (-H "Connection: close": a new connection for each request).
srv_wrk() {
	_o=$1 _ns=$2 _u=$3 _c=$4 _d=$5
	shift 5
	set +e
	ip netns exec "$_ns" wrk -t1 -c "$_c" -d "$_d" --timeout 2s "$@" "$_u" >"$_o" 2>&1
	_rc=$?
	set -e
	return $_rc
}

# srv_reqs OUT: the number of requests ab or wrk completed (from its output)
srv_reqs() {
	sed -n -e 's/^Complete requests: *\([0-9]*\)/\1/p' \
		-e 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$1" | head -n 1
}

# srv_nstat NS NAME: a TcpExt/Tcp counter as nstat reads it in NS
srv_nstat() {
	ip netns exec "$1" nstat -az "$2" | awk -v k="$2" '$1 == k { print $2 }'
}

# srv_ss NS PORT: "RECV-Q SEND-Q INODE DROPS" of each listener on PORT, as ss
# shows them (Recv-Q the queue, Send-Q the limit, d of skmem the drops),
# lowest inode first
srv_ss() {
	ip netns exec "$1" ss -HOltnem "sport = :$2" 2>/dev/null |
		sed -n 's/^LISTEN *\([0-9]*\) *\([0-9]*\) .* ino:\([0-9]*\) .*skmem:(.*[(,]d\([0-9]*\)).*$/\1 \2 \3 \4/p' |
		sort -k3,3n
}

# srv_synrecv NS PORT: the half-open handshakes (SYN_RECV) on PORT, as ss counts
srv_synrecv() {
	ip netns exec "$1" ss -Htn state syn-recv "sport = :$2" 2>/dev/null | grep -c . || true
}

# srv_capture NAME NS [ARGS...]: what netknobs says about NS now: the facts
# document (NAME.facts.json) and what srv_judge makes of it, all in $T/cap.
# ARGS go to `facts` (--sample 2s ...). With SERVERS_CAPTURE=DIR in the
# environment the files are copied to DIR too (to inspect them or to
# refresh the fixtures). The path without the suffix in CAP.
srv_capture() {
	_name=$1 _ns=$2
	shift 2
	mkdir -p "$T/cap"
	set +e
	"$NETKNOBS" --netns "$_ns" facts --json "$@" >"$T/cap/$_name.facts.json" 2>"$T/cap/$_name.facts.err"
	set -e
	srv_judge "$_name"
}

# srv_window_start NAME NS DURATION: a sampling window (facts --sample
# DURATION) on NS, started in the background; returns once it runs, so that
# what the caller does next happens inside it. srv_window_end NAME waits for
# its end and judges the document as srv_capture does.
srv_window_start() {
	mkdir -p "$T/cap"
	srv_window "$T/cap/$1.facts.json" --netns "$2" facts --sample "$3" --json ||
		fail "$1: the sampling window did not start"
}
srv_window_end() {
	set +e
	wait "$NKW"
	set -e
	srv_judge "$1"
}

# srv_judge NAME: the audit of $T/cap/NAME.facts.json as text and JSON
# (NAME.audit.txt, NAME.audit.json, its exit status in NAME.audit.rc) and its
# listeners (NAME.listeners.txt, NAME.listeners-v.txt with --verbose)
srv_judge() {
	_c="$T/cap/$1"
	set +e
	"$NETKNOBS" audit --from "$_c.facts.json" >"$_c.audit.txt" 2>&1
	echo $? >"$_c.audit.rc"
	"$NETKNOBS" audit --from "$_c.facts.json" --format json >"$_c.audit.json" 2>/dev/null
	"$NETKNOBS" listeners --from "$_c.facts.json" >"$_c.listeners.txt" 2>&1
	"$NETKNOBS" listeners --from "$_c.facts.json" --verbose >"$_c.listeners-v.txt" 2>&1
	set -e
	if [ -n "${SERVERS_CAPTURE:-}" ]; then
		mkdir -p "$SERVERS_CAPTURE"
		cp "$_c".* "$SERVERS_CAPTURE/"
	fi
	CAP=$_c
}

# ---------------------------------------------------------------- queries
# on an audit JSON document (doc/audit-schema.json)

# finding FILE RULE SUBJECT: "severity" of the finding, or "none"
finding() {
	jq -r --arg r "$2" --arg s "$3" \
		'[.findings[] | select(.rule == $r and .subject == $s) | .severity][0] // "none"' "$1"
}
# finding_msg FILE RULE SUBJECT: its message
finding_msg() {
	jq -r --arg r "$2" --arg s "$3" \
		'[.findings[] | select(.rule == $r and .subject == $s) | .message][0] // ""' "$1"
}
# findings FILE: "rule subject" of every finding, one a line, sorted
findings() { jq -r '.findings[] | "\(.rule) \(.subject)"' "$1" | sort; }
# findings_about FILE SUBJECT: the rules with a finding on SUBJECT
findings_about() { jq -r --arg s "$2" '[.findings[] | select(.subject == $s) | .rule] | join(" ")' "$1"; }
# all_messages FILE: every finding's message, one a line
all_messages() { jq -r '.findings[].message' "$1"; }

# on a facts document: the listeners on PORT, lowest inode first
# lst FILE PORT JQ: JQ applied to each listener on PORT, one a line
lst() {
	jq -r --argjson p "$2" "[.sockets.listeners[] | select(.port == \$p)] | sort_by(.inode) | .[] | $3" "$1"
}

# pending NAME: a check that today's build fails and the fix must make pass;
# run only with SERVERS_PENDING=1 (the rules and facts changes switch them
# on by moving the call out of the SERVERS_PENDING block)
pending() {
	if [ "${SERVERS_PENDING:-0}" = 1 ]; then
		"$@"
	else
		echo "PENDING: $1 (not run; SERVERS_PENDING=1 runs it)"
	fi
}
