# Shared setup for integration tests: source "$TESTLIB".
set -eu
export LC_ALL=C
unset NO_COLOR || true

: "${NETKNOBS:?run through make check (NETKNOBS unset)}"
: "${TOP_SRCDIR:?run through make check (TOP_SRCDIR unset)}"
T=$(mktemp -d "${TMPDIR:-/tmp}/netknobs-test.XXXXXX")
# report and fix --apply keep their state (and audit reads it) here, never in
# the host's /var/lib/netknobs
export NETKNOBS_STATE_DIR="$T/state-default"
NK_PIDS=""
nk_cleanup() {
	for p in $NK_PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $NK_PIDS; do wait "$p" 2>/dev/null || true; done
	if [ -f "$T/.netns" ]; then
		while read -r n; do ip netns del "$n" 2>/dev/null || true; done <"$T/.netns"
	fi
	rm -rf "$T"
}
trap nk_cleanup EXIT
trap 'exit 1' INT TERM

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: $*"; exit 77; }
finish() { if [ "$fails" -gt 0 ]; then echo "$fails check(s) failed"; exit 1; fi; exit 0; }

# check DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
# check_match DESCRIPTION REGEX TEXT
check_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then pass "$1"; else fail "$1: /$2/ not in: $3"; fi
}
# check_exit DESCRIPTION EXPECTED-CODE command...
check_exit() {
	d=$1 want=$2; shift 2
	set +e; "$@" >"$T/out" 2>"$T/err"; rc=$?; set -e
	if [ "$rc" = "$want" ]; then pass "$d (exit $rc)"; else fail "$d: exit $rc, expected $want; stderr: $(head -c 400 "$T/err")"; fi
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v ip >/dev/null 2>&1 || skip "needs ip (iproute2)"
}

# new_netns SUFFIX: create a private network namespace with loopback up and
# print its name; it is deleted when the test ends (recorded in a file, as
# the function usually runs in a command substitution's subshell)
new_netns() {
	n="nk-$$-$(date +%s%N | tail -c 6)-$1"
	ip netns add "$n" || skip "cannot create a network namespace"
	echo "$n" >>"$T/.netns"
	ip -n "$n" link set lo up
	echo "$n"
}

# make_ns VAR SUFFIX: a new namespace (deleted at the end), its name in VAR
make_ns() {
	_n=$(new_netns "$2")
	eval "$1=\$_n"
}

# spawn OUT NS CMD...: run CMD in namespace NS in the background (killed at
# the end), its output in OUT and OUT.err; its pid in LAST_PID
spawn() {
	_out=$1 _ns=$2
	shift 2
	ip netns exec "$_ns" "$@" >"$_out" 2>"$_out.err" &
	NK_PIDS="$NK_PIDS $!"
	LAST_PID=$!
}

# wait_port OUT: wait for listen-hold's "ready PORT" line in OUT, print PORT
wait_port() {
	_i=0
	while ! grep -q '^ready [0-9]' "$1" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 200 ]; then
			echo "listen-hold did not start: $(cat "$1.err" 2>/dev/null)" >&2
			return 1
		fi
		sleep 0.05
	done
	sed -n 's/^ready //p' "$1"
}

# poll_until SECONDS CMD...: run CMD every 20 ms until it succeeds; 1 when
# it has not after SECONDS
poll_until() {
	_lim=$(($1 * 50))
	shift
	_i=0
	until "$@"; do
		_i=$((_i + 1))
		[ "$_i" -le "$_lim" ] || return 1
		sleep 0.02
	done
}

# wait_grep PATTERN FILE PID: poll until FILE has a line matching PATTERN
# (grep -E); 1 when PID ended first or after 20 s
wait_grep() {
	_i=0
	while ! grep -Eq "$1" "$2" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 2000 ] || ! kill -0 "$3" 2>/dev/null; then
			return 1
		fi
		sleep 0.01
	done
}

# wait_unshared PID: wait until PID has a network namespace of its own
# (unshare -n has run)
wait_unshared() {
	_own=$(readlink /proc/self/ns/net)
	_i=0
	while [ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "$_own" ] || [ ! -e "/proc/$1/ns/net" ]; do
		_i=$((_i + 1))
		[ "$_i" -le 400 ] || { echo "unshare -n did not start" >&2; return 1; }
		sleep 0.01
	done
}

# mutate IN OUT PYTHON: a JSON document changed by the PYTHON code (on d);
# python keeps the 64-bit integers that jq 1.6 would round (needs python3)
mutate() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"), indent=1)' "$@"
}

# in_ns NS command... : run in the namespace
in_ns() { n=$1; shift; ip netns exec "$n" "$@"; }

# wait_udp OUT: wait for udp-hold's "ready PORT rcvbuf N" in OUT, print PORT
wait_udp() {
	_i=0
	while ! grep -q '^ready [0-9]' "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le 200 ] || { echo "udp-hold did not start: $(cat "$1.err" 2>/dev/null)" >&2; return 1; }
		sleep 0.05
	done
	sed -n 's/^ready \([0-9]*\) .*/\1/p' "$1"
}
# flood NS ADDR PORT RCVBUF: enough 1000-byte datagrams (udp-flood) to fill
# RCVBUF twice
flood() { in_ns "$1" "$HELPERS/udp-flood" -s 1000 "$2" "$3" $(($4 * 2 / 1000 + 200)) >/dev/null; }
# state PID: the state letter of /proc/PID/stat
state() { sed -n 's/^.*) \(.\) .*$/\1/p' "/proc/$1/stat" 2>/dev/null; }

# JSON output is inspected with jq (a test dependency, see README).
command -v jq >/dev/null 2>&1 || { echo "FAIL: jq is needed by the tests (apt-get install jq)"; exit 99; }
