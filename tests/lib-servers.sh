# Real servers in test namespaces, and sampling windows: source after
# "$TESTLIB".

# Stopped workers must be continued and nginx ended before the namespaces
# go: a master waits for its workers, and a stopped one never exits.
NGX_MASTERS=""
ngx_cleanup() {
	for m in $NGX_MASTERS; do
		for w in $(pgrep -P "$m" 2>/dev/null); do kill -CONT "$w" 2>/dev/null || true; done
		kill -CONT "$m" 2>/dev/null || true
	done
}
trap 'ngx_cleanup; nk_cleanup' EXIT

# nginx_conf DIR LISTEN WORKERS: a configuration in DIR for one server on
# LISTEN (the listen directive's arguments)
nginx_conf() {
	mkdir -p "$1"
	cat >"$1/nginx.conf" <<EOF
worker_processes $3;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $1/body;
	proxy_temp_path $1/proxy;
	fastcgi_temp_path $1/fastcgi;
	uwsgi_temp_path $1/uwsgi;
	scgi_temp_path $1/scgi;
	server { listen $2; location / { return 200 "ok\n"; } }
}
EOF
}

# start_nginx NS DIR WORKERS: nginx in the foreground of its namespace;
# returns once every worker listens; master's pid in NGX, workers in WORKERS
start_nginx() {
	spawn "$2/out" "$1" nginx -p "$2" -c "$2/nginx.conf" -g 'daemon off;'
	NGX=$LAST_PID
	NGX_MASTERS="$NGX_MASTERS $NGX"
	_i=0
	until [ "$(pgrep -P "$NGX" | wc -l)" -eq "$3" ] &&
		[ "$(in_ns "$1" ss -Hltn | wc -l)" -ge 1 ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 200 ] || ! kill -0 "$NGX" 2>/dev/null; then
			fail "nginx did not start: $(cat "$2/out.err" "$2/error.log" 2>/dev/null | head -c 400)"
			return 1
		fi
		sleep 0.05
	done
	WORKERS=$(pgrep -P "$NGX" | sort -n | tr '\n' ' ')
}

# window OUT ARGS...: netknobs ARGS on a terminal (script(1)) in the
# background, its output in OUT; returns once the window has started (the
# progress bar says so); the pid (script's, which exits with netknobs'
# status) in NKW
window() {
	_o=$1
	shift
	rm -f "$_o.tty"
	script -qfec "$* >$_o" "$_o.tty" >/dev/null 2>&1 </dev/null &
	NKW=$!
	_i=0
	until grep -q 'sampling \[' "$_o.tty" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 600 ] || ! kill -0 "$NKW" 2>/dev/null; then
			fail "window did not start: $(tr -d '\r' <"$_o.tty" 2>/dev/null | head -c 300)"
			return 1
		fi
		sleep 0.05
	done
}

# wait_state PID LETTER: poll until the kernel shows PID in that state (a
# signal is delivered when the process next runs)
wait_state() {
	_i=0
	until [ "$(ps -o stat= -p "$1" | cut -c1)" = "$2" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt 200 ] && { fail "pid $1 not in state $2"; return 1; }
		sleep 0.02
	done
}

