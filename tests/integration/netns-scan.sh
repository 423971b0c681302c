#!/bin/sh
# Discovery of every network namespace on the real kernel (tests/helpers/
# netns-scan, src/facts/netns-*): 30 named namespaces, 5 held only by a
# process (unshare -n), one held only by a bind mount outside /run/netns;
# one named and one unnamed removed between discovery and entry.  Each is
# found once, named right and entered (its own somaxconn read inside), the
# removed ones are reported gone; the owners of listeners are the same from
# one scan of /proc as from one per namespace; without CAP_SYS_ADMIN each
# namespace says why it was not entered.  Also checks what follows setns()
# (netns-scan.h).  Needs root.
. "$TESTLIB"
need_root
command -v unshare >/dev/null 2>&1 || skip "needs unshare (util-linux)"
H="$HELPERS/netns-scan"
LH="$HELPERS/listen-hold"

check_exit "what follows setns() holds on this kernel" 0 "$H" -K
[ "$rc" = 0 ] || cat "$T/out"

# ---- a tree below --root whose links point out of it: proc/1 -> /proc/self
# must resolve inside the tree (its own proc/self), never to the running
# system's namespace
mkdir -p "$T/tree/proc/self/ns"
ln -s 'net:[4026531840]' "$T/tree/proc/self/ns/net"
ln -s /proc/self "$T/tree/proc/1"
check_exit "a tree with links out of it: scanned" 0 "$H" -r "$T/tree"
check_eq "its links resolve inside it: only the tree's namespace" 'net:[4026531840] true' \
	"$(jq -r '[.scan.namespaces[] | "\(.id) \(.initial)"] | join(",")' "$T/out")"

# ---- 30 named namespaces, each with its own somaxconn (1000 + i)
: >"$T/named"
i=1
while [ "$i" -le 30 ]; do
	n=$(new_netns "s$i")
	ip netns exec "$n" sysctl -qw net.core.somaxconn=$((1000 + i))
	echo "$n $((1000 + i))" >>"$T/named"
	i=$((i + 1))
done
victim=$(sed -n '30s/ .*//p' "$T/named")

# listeners in three of them
for k in 1 2 3; do
	n=$(sed -n "${k}s/ .*//p" "$T/named")
	spawn "$T/lh$k" "$n" "$LH" 0 16
	echo "$LAST_PID" >"$T/lh$k.pid"
	wait_port "$T/lh$k" >/dev/null
done

own=$(readlink /proc/self/ns/net)
# wait until PID has its own network namespace (unshare has run)
wait_unshared() {
	_i=0
	while [ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "$own" ] || [ ! -e "/proc/$1/ns/net" ]; do
		_i=$((_i + 1))
		[ "$_i" -le 400 ] || { echo "unshare -n did not start" >&2; return 1; }
		sleep 0.01
	done
}

# ---- 5 unnamed ones held only by a process, somaxconn 2000 + k
: >"$T/unnamed"
for k in 1 2 3 4 5; do
	unshare -n sleep 600 &
	p=$!
	NK_PIDS="$NK_PIDS $p"
	wait_unshared "$p"
	nsenter --net="/proc/$p/ns/net" sysctl -qw net.core.somaxconn=$((2000 + k))
	echo "$p $((2000 + k))" >>"$T/unnamed"
done
pvictim=$(sed -n '5s/ .*//p' "$T/unnamed")

# ---- one held only by a bind mount (made inside a mount namespace below)
unshare -n sleep 600 &
bpid=$!
NK_PIDS="$NK_PIDS $bpid"
wait_unshared "$bpid"
nsenter --net="/proc/$bpid/ns/net" sysctl -qw net.core.somaxconn=3333
: >"$T/bound"
mkfifo "$T/go"

# In a mount namespace of its own (slave: the removal of a /run/netns name
# outside still reaches it), bind the namespace of $bpid to $T/bound, let
# the process end, then discover, pause, and enter.
cat >"$T/inner.sh" <<EOF
set -e
mount --bind /proc/$bpid/ns/net "$T/bound"
kill $bpid
i=0
while [ -e /proc/$bpid/ns/net ] && readlink /proc/$bpid/ns/net >/dev/null 2>&1; do
	i=\$((i + 1)); [ \$i -le 400 ] || exit 9; sleep 0.01
done
exec "$H" -e -p "$T/go" -o shared -s net.core.somaxconn=4096
EOF
unshare -m --propagation slave sh "$T/inner.sh" >"$T/scan.json" 2>"$T/scan.err" &
hpid=$!
i=0
while ! grep -q '^discovered' "$T/scan.err" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 1000 ] || ! kill -0 "$hpid" 2>/dev/null; then
		fail "discovery did not finish: $(cat "$T/scan.err")"
		finish
	fi
	sleep 0.01
done
# removed between discovery and entry
ip netns del "$victim"
sed -i '$d' "$T/.netns"
kill "$pvictim"
wait "$pvictim" 2>/dev/null || true
wait "$bpid" 2>/dev/null || true
echo go >"$T/go"
set +e
wait "$hpid"
rc=$?
set -e
check_eq "helper exit status" 0 "$rc"
[ "$rc" = 0 ] || { cat "$T/scan.err"; finish; }
J="$T/scan.json"

check_eq "inodes are unique" true "$(jq '[.scan.namespaces[].inode] | length == (unique | length)' "$J")"
check_eq "one host namespace, own and initial" 1 \
	"$(jq '[.scan.namespaces[] | select(.kind == "host" and .self and .initial)] | length' "$J")"
check_eq "the host's listed first" host "$(jq -r '.scan.namespaces[0].kind' "$J")"

# named
bad=""
while read -r n val; do
	got=$(jq -c --arg n "$n" '[.scan.namespaces[] | select(.netns_name == $n) |
		[.kind, .name, .state, .visit.somaxconn, (.visit.inode == .inode), .remedy.now]]' "$J")
	if [ "$n" = "$victim" ]; then
		want="[[\"named\",\"$n\",\"gone\",null,false,\"ip netns exec $n sysctl -w net.core.somaxconn=4096\"]]"
	else
		want="[[\"named\",\"$n\",\"entered\",$val,true,\"ip netns exec $n sysctl -w net.core.somaxconn=4096\"]]"
	fi
	[ "$got" = "$want" ] || bad="$bad
  $got (expected $want)"
done <"$T/named"
check_eq "30 named namespaces found once each, entered (their own somaxconn read inside), the removed one gone" "" "$bad"
check_eq "no other namespace carries their names" 30 \
	"$(jq --arg p "nk-$$-" '[.scan.namespaces[] | select(.netns_name // "" | startswith($p))] | length' "$J")"

# held by a process only
bad=""
while read -r p val; do
	got=$(jq -c --argjson p "$p" '[.scan.namespaces[] | select(.processes.oldest.pid == $p) |
		[.kind, .name, .state, .visit.somaxconn, .processes.count, .remedy.now]]' "$J")
	if [ "$p" = "$pvictim" ]; then
		want="[[\"process\",\"pid $p (sleep)\",\"gone\",null,1,\"nsenter --net=/proc/$p/ns/net sysctl -w net.core.somaxconn=4096\"]]"
	else
		want="[[\"process\",\"pid $p (sleep)\",\"entered\",$val,1,\"nsenter --net=/proc/$p/ns/net sysctl -w net.core.somaxconn=4096\"]]"
	fi
	[ "$got" = "$want" ] || bad="$bad
  $got (expected $want)"
done <"$T/unnamed"
check_eq "5 namespaces held by a process found once each, named by it, the one whose process ended gone" "" "$bad"

check_eq "the one held by a bind mount only: found once, entered" \
	"[[\"mount\",\"$T/bound\",\"entered\",3333,0,\"nsenter --net=$T/bound sysctl -w net.core.somaxconn=4096\"]]" \
	"$(jq -c --arg m "$T/bound" '[.scan.namespaces[] | select(.mount == $m) |
		[.kind, .name, .state, .visit.somaxconn, .processes.count, .remedy.now]]' "$J")"
# (namespaces of tests running beside this one may go too)
check_eq "none denied, at least the two removed ones gone" '{"denied":0,"gone":true}' \
	"$(jq -c '.visit | {denied, gone: (.gone >= 2)}' "$J")"

# listeners and their owners, from the one shared scan
bad=""
for k in 1 2 3; do
	n=$(sed -n "${k}s/ .*//p" "$T/named")
	got=$(jq -c --arg n "$n" '[.scan.namespaces[] | select(.netns_name == $n) | .visit | [.listeners, .owner_pids]]' "$J")
	want="[[1,[$(cat "$T/lh$k.pid")]]]"
	[ "$got" = "$want" ] || bad="$bad $n: $got (expected $want)"
done
check_eq "listeners found in their namespaces, owners from one scan of /proc" "" "$bad"
check_eq "one scan for all namespaces" 1 "$(jq '.owners.scans' "$J")"

# the same owners with one scan per namespace (outside the mount namespace);
# only this test's namespaces: tests running beside it come and go
"$H" -e -o each >"$T/each.json"
own_of() {
	jq -c --arg p "nk-$$-" '[.scan.namespaces[] | select(.state == "entered" and (.netns_name // "" | startswith($p))) |
		{inode, o: .visit.owner_pids}] | sort_by(.inode)' "$1"
}
check_eq "owners from one scan equal owners from a scan per namespace" "$(own_of "$T/each.json")" "$(own_of "$J")"

# without CAP_SYS_ADMIN: listed, with the reason
if command -v setpriv >/dev/null 2>&1; then
	set +e
	ASAN_OPTIONS=detect_leaks=0 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$H" -e >"$T/nobody.json" 2>"$T/nobody.err"
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		n=$(sed -n '1s/ .*//p' "$T/named")
		check_match "unprivileged: a named namespace is listed as denied, with the reason" \
			'^"denied","entering it needs CAP_SYS_ADMIN' \
			"$(jq -r --arg n "$n" '.scan.namespaces[] | select(.netns_name == $n) | [.state, .reason] | @csv' "$T/nobody.json")"
		check_eq "unprivileged: other users' processes counted as unreadable" true \
			"$(jq '.scan.processes_denied > 0' "$T/nobody.json")"
		check_eq "unprivileged: the own namespace still visited" entered \
			"$(jq -r '.scan.namespaces[] | select(.self) | .state' "$T/nobody.json")"
	else
		fail "unprivileged run: exit $rc: $(head -c 400 "$T/nobody.err")"
	fi
fi
finish
