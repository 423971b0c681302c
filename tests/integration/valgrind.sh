#!/bin/sh
# Every command under valgrind memcheck: no invalid access, no use of
# uninitialised memory, no definite leak.  Skips on sanitizer builds (they
# replace the allocator) and where valgrind is not installed.
. "$TESTLIB"
command -v valgrind >/dev/null 2>&1 || skip "valgrind not installed"
if nm "$NETKNOBS" 2>/dev/null | grep -q __asan_init; then
	skip "sanitizer build (valgrind needs a build without --enable-sanitizers)"
fi
V="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
R="$FIXTURES/roots"
FACTS="$FIXTURES/facts/basic.json"
RULES="$TOP_SRCDIR/tests/rules"

vg() { # EXPECTED-EXIT ARGS...
	want=$1
	shift
	set +e
	$V "$NETKNOBS" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	if [ "$rc" = "$want" ]; then pass "valgrind: $*"; else fail "valgrind: $* (exit $rc): $(grep '==' "$T/err" | head -20)"; fi
}

vg 0 --version
vg 0 facts --json
vg 0 facts
vg 0 listeners
vg 0 facts --sample 300ms --interval 50ms --json
vg 0 listeners --sample 250ms
vg 0 listeners --from "$FIXTURES/rules/sampled-vanished.json"
vg 2 audit --from "$FIXTURES/rules/sampled-vanished.json" --rule backlog.window-overflow-gone
# lets, lookup tables, the history of somaxconn, reuseport groups merged
vg 1 audit --from "$FIXTURES/rules/stale-clamp.json"
vg 1 audit --from "$FIXTURES/rules/reuseport-clamped.json" --format json
vg 2 audit --from "$FIXTURES/rules/sampled-stalled.json"
vg 0 audit --fail-on critical
# UDP sockets: the listed ones with their owners, the view, the buffers rules
vg 0 listeners --udp
vg 0 listeners --udp --json --from "$FIXTURES/rules/udp-dropping.json"
vg 0 listeners --udp -v --from "$FIXTURES/rules/udp-counters-sampled.json"
vg 2 audit --from "$FIXTURES/rules/udp-dropping.json" --only buffers
vg 1 audit --from "$FIXTURES/rules/tcp-lfn-lowered.json" --profile long-fat-network
vg 0 --root "$R/basic" facts --json
vg 0 --root "$R/broken" facts --json
# counters since boot with nothing showing they happen now: notices only (exit 0)
vg 0 --root "$R/netns-old" audit
vg 0 --root "$R/basic" listeners
vg 3 audit --from "$FACTS" --no-default-rules --rules "$RULES/good" --format json -v
vg 2 audit --from "$FACTS" --no-default-rules --rules "$RULES/good" --only test
vg 0 rules --rules "$RULES/good" --no-default-rules
vg 0 profiles
vg 0 explain net.core.somaxconn
vg 0 audit --only hardening --fail-on critical
vg 0 audit --profile web-frontend --fail-on critical
vg 0 explain backlog.queue-full
vg 3 lint "$RULES/bad"
vg 0 lint --no-default-rules "$RULES/good"
vg 3 facts --from "$RULES/bad/empty.yaml"
# fix: print, write twice (the second finds it up to date, with a backup
# and a diff on the way), apply with a refused value (rolled back)
mkdir -p "$T/root"
cp -r "$R/basic/proc" "$T/root/"
mkdir -p "$T/root/etc/sysctl.d"
printf '# mine\nnet.core.somaxconn = 100\nnet.ipv4.tcp_fin_timeout = 30\n' >"$T/root/etc/sysctl.d/90-netknobs.conf"
printf 'net.ipv4.tcp_max_syn_backlog = 100\n' >"$T/root/etc/sysctl.d/99-local.conf"
FIXR="$FIXTURES/fix/rules.yaml"
vg 0 --root "$T/root" fix --no-default-rules --rules "$FIXR" -v
vg 1 --root "$T/root" fix --no-default-rules --rules "$FIXR" --check -v
vg 0 --root "$T/root" fix --no-default-rules --rules "$FIXR" --write
vg 0 --root "$T/root" fix --no-default-rules --rules "$FIXR" --write --format json
vg 0 fix --output -
printf '%s\n' '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops' \
	' 1: 00000000:0035 00000000:0000 07 00000000:00034000 00:00000000 00000000 0 0 1501 2 0000000000000000 1744' \
	' 2: 0100007F:D3B2 0100007F:0035 01 00000000:00000000 00:00000000 00000000 0 0 1502 2 0000000000000000 0' \
	>"$T/root/proc/net/udp"
vg 0 --root "$T/root" listeners --udp
vg 0 --root "$T/root" facts --json
if [ "$(id -u)" = 0 ] && ip netns add "nk-vg-$$" 2>/dev/null; then
	echo "nk-vg-$$" >>"$T/.netns"
	vg 3 --netns "nk-vg-$$" fix --no-default-rules --rules "$FIXR" --rules "$FIXTURES/fix/bad-value.yaml" \
		--apply --output "$T/x.conf"
	# top: one namespace, then all of them (a watcher each, the shared owner scan)
	vg 0 --netns "nk-vg-$$" top -b -n 3 -d 200ms
	vg 0 top --all-netns -b -n 3 -d 200ms -f "nk-vg-$$"
fi
vg 3 factz
vg 1 audit --from "$FACTS" --format prom
vg 1 audit --from "$FACTS" --format nagios
vg 1 report --from "$FACTS" --state-dir "$T/state" --prom-dir "$T"
vg 1 report --from "$FACTS" --state-dir "$T/state" --format json --always
printf '{"state_version": 1, "time": ' >"$T/state/latest.json"
vg 1 report --from "$FACTS" --state-dir "$T/state" --keep 1
finish
