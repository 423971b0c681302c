#!/bin/sh
# netknobs fix --undo on the real kernel, in a private network namespace,
# with /etc/sysctl.d a directory of the test's in a private mount
# namespace (unshare -m): --apply records what it replaced, --undo puts the
# values back (read back) and the drop-in as it was, or removes it when
# there was none; nothing to undo, an edit of the drop-in or a value
# changed since --apply are refused and change nothing; when the drop-in
# cannot be restored, the values go back to what --apply set; a drop-in
# that is not UTF-8 put back byte for byte; an --undo and an --apply at
# the same time do not wait for each other; a relative --output is the
# same file from another directory.
. "$TESTLIB"
need_root
command -v unshare >/dev/null 2>&1 || skip "needs unshare (util-linux)"
command -v nsenter >/dev/null 2>&1 || skip "needs nsenter (util-linux)"

RULES="$FIXTURES/fix/rules.yaml"
D="$T/sysctl.d"
F="$D/90-netknobs.conf"
mkdir -p "$D"
make_ns ns undo
host_somaxconn=$(cat /proc/sys/net/core/somaxconn)
host_dropin=$(cat /etc/sysctl.d/90-netknobs.conf 2>/dev/null || echo none)

# a mount namespace in which /etc/sysctl.d is $D, held by a process
unshare -m sh -c 'mount --make-rprivate / && mount --bind "$0" /etc/sysctl.d && echo ready && exec sleep 600' \
	"$D" >"$T/mnt" 2>"$T/mnt.err" &
mpid=$!
NK_PIDS="$NK_PIDS $mpid"
i=0
until grep -q ready "$T/mnt" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -le 200 ] || skip "cannot make a mount namespace: $(cat "$T/mnt.err")"
	sleep 0.05
done
inside() { nsenter --mount="/proc/$mpid/ns/mnt" --net="/run/netns/$ns" "$@"; }
fix() { inside "$NETKNOBS" fix --no-default-rules --rules "$RULES" "$@"; }
sc() { ip netns exec "$ns" cat "/proc/sys/$1"; }
set_values() { ip netns exec "$ns" sh -c "echo $1 >/proc/sys/net/core/somaxconn; echo $2 >/proc/sys/net/ipv4/tcp_max_syn_backlog"; }
set_values 4096 256

# ---- nothing recorded yet
check_exit "--undo before any --apply" 3 fix --undo
check_match "says there is nothing to undo" "nothing to undo: no fix --apply is recorded in $NETKNOBS_STATE_DIR" "$(cat "$T/err")"
[ ! -e "$NETKNOBS_STATE_DIR" ] && pass "and makes no state directory" || fail "--undo made the state directory $NETKNOBS_STATE_DIR"
check_exit "--undo with --apply" 3 fix --undo --apply
check_match "says they do not go together" "cannot be combined with --write, --check or --apply" "$(cat "$T/err")"
check_exit "--undo with --from" 3 fix --undo --from "$FIXTURES/facts/basic.json"

# ---- apply over an admin's drop-in, then undo
printf '# kept by the admin\nnet.ipv4.tcp_fin_timeout = 30\n' >"$F"
cp "$F" "$T/admin.conf"
check_exit "--apply" 0 fix --apply
check_eq "somaxconn set" 8192 "$(sc net/core/somaxconn)"
check_eq "tcp_max_syn_backlog set" 2048 "$(sc net/ipv4/tcp_max_syn_backlog)"
check_eq "the drop-in written in the namespace's /etc/sysctl.d" "net.core.somaxconn = 8192" "$(grep '^net.core.somaxconn' "$F")"
check_match "--apply says how to undo it" '^`netknobs fix --undo` puts back what this replaced\.$' "$(cat "$T/out")"
check_eq "recorded: the values before" '[["net.core.somaxconn","4096","8192"],["net.ipv4.tcp_max_syn_backlog","256","2048"]]' \
	"$(jq -c '[.values[] | [.key, .before, .after]]' "$NETKNOBS_STATE_DIR/fix-undo.json")"
check_eq "recorded: the drop-in before" "$(cat "$T/admin.conf")" \
	"$(jq -r '.dropin.before' "$NETKNOBS_STATE_DIR/fix-undo.json")"
check_exit "--undo" 0 fix --undo
out=$(cat "$T/out")
check_eq "--undo says nothing on stderr" "" "$(cat "$T/err")"
check_eq "the history has somaxconn back at 4096" 4096 \
	"$(jq '[.records[] | select(.key == "net.core.somaxconn")][0].periods[-1].value' "$NETKNOBS_STATE_DIR/sysctl-history.json")"
check_eq "somaxconn put back" 4096 "$(sc net/core/somaxconn)"
check_eq "tcp_max_syn_backlog put back" 256 "$(sc net/ipv4/tcp_max_syn_backlog)"
check_match "says each value, read back" "^set net.core.somaxconn = 4096 \\(was 8192\\)$" "$out"
check_match "says the drop-in is restored" "^restored /etc/sysctl.d/90-netknobs.conf as it was before \\(the version undone is in /etc/sysctl.d/90-netknobs.conf.bak\\)$" "$out"
check_eq "the admin's drop-in back, byte for byte" "$(cat "$T/admin.conf")" "$(cat "$F")"
check_match "the version undone kept as .bak" '^net.core.somaxconn = 8192$' "$(cat "$F.bak")"
check_eq "the host's somaxconn untouched" "$host_somaxconn" "$(cat /proc/sys/net/core/somaxconn)"
check_eq "the host's /etc/sysctl.d untouched" "$host_dropin" "$(cat /etc/sysctl.d/90-netknobs.conf 2>/dev/null || echo none)"
check_exit "--undo again" 3 fix --undo
check_match "says it was undone" "nothing to undo: the last fix --apply \\([0-9TZ:-]+\\) was undone at [0-9TZ:-]+" "$(cat "$T/err")"

# ---- no drop-in before: --undo removes it
rm -f "$F" "$F.bak"
check_exit "--apply without a drop-in" 0 fix --apply
[ -f "$F" ] && pass "drop-in created" || fail "drop-in not created"
check_exit "--undo --json" 0 fix --undo --json
check_eq "JSON: removed, the values back" 'true|removed|set set' \
	"$(jq -r '"\(.ok)|\(.dropin)|\([.applied[].status] | join(" "))"' "$T/out")"
[ ! -e "$F" ] && pass "the drop-in removed: there was none before" || fail "the drop-in is still there"
check_eq "somaxconn put back" 4096 "$(sc net/core/somaxconn)"

# ---- an edit of the drop-in since --apply: refused, nothing changed
check_exit "--apply" 0 fix --apply
echo "net.ipv4.tcp_fin_timeout = 20" >>"$F"
cp "$F" "$T/edited.conf"
check_exit "--undo after the drop-in was edited" 3 fix --undo
check_match "says why" "90-netknobs.conf changed since fix --apply wrote it .*nothing was undone, so that no edit is lost" "$(tr '\n' ' ' <"$T/err")"
check_eq "the values left as they are" "8192 2048" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"
check_eq "the edit kept" "$(cat "$T/edited.conf")" "$(cat "$F")"

# ---- a value changed since --apply: refused, nothing changed
rm -f "$F"
set_values 4096 256
check_exit "--apply" 0 fix --apply
set_values 1000 2048
cp "$F" "$T/applied.conf"
check_exit "--undo after a value changed" 3 fix --undo
check_match "names the value" "net.core.somaxconn is 1000 now, not the 8192 fix --apply set: it changed since" "$(cat "$T/err")"
check_eq "the values left as they are" "1000 2048" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"
check_eq "the drop-in left as it is" "$(cat "$T/applied.conf")" "$(cat "$F")"

# ---- the drop-in cannot be restored: the values go back to what --apply set
set_values 8192 2048
inside mount -o remount,bind,ro /etc/sysctl.d || fail "remount read-only"
check_exit "--undo when the drop-in cannot be restored" 3 fix --undo
check_match "says the values were rolled back" "rolled back net.core.somaxconn to 8192" "$(tr '\n' ' ' <"$T/err")"
check_eq "the values are what --apply set" "8192 2048" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"
inside mount -o remount,bind,rw /etc/sysctl.d || fail "remount read-write"
check_exit "--undo once it can" 0 fix --undo
check_eq "then put back" "4096 256" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"
[ ! -e "$F" ] && pass "and the drop-in removed" || fail "the drop-in is still there"

# ---- a drop-in that is not UTF-8 (a Latin-1 comment of the admin's): recorded
# and put back byte for byte
set_values 4096 256
printf '# R\351glages de la machine\nnet.ipv4.tcp_fin_timeout = 30\n' >"$F"
cp "$F" "$T/latin1.conf"
check_exit "--apply over a drop-in that is not UTF-8" 0 fix --apply
check_eq "what it replaced is recorded" "" "$(grep 'not recorded' "$T/err" || true)"
check_exit "--undo" 0 fix --undo
if cmp -s "$T/latin1.conf" "$F"; then pass "the Latin-1 drop-in back, byte for byte"; else fail "the drop-in is not the admin's: $(od -c "$F" | head -n 3)"; fi
check_eq "the values put back" "4096 256" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"
rm -f "$F" "$F.bak"

# ---- --undo and an --apply at the same time: --undo waits for the drop-in's
# directory before it takes the state directory, as --apply takes them, so
# neither waits for the other.  Made certain: the undo is held at the
# directory's lock and stopped there, an --apply runs up to its record, then
# the undo goes on: it undoes that --apply at once.
rm -f "$F" "$F.bak"
set_values 4096 256
check_exit "--apply" 0 fix --apply
sed 's/somaxconn: 8192/somaxconn: 16384/' "$RULES" >"$T/rules2.yaml"
flock -o "$D" sleep 600 &
holder=$!
NK_PIDS="$NK_PIDS $holder"
locked() { ! flock -n "$D" true; }
poll_until 10 locked || fail "the directory's lock not taken"
nsenter --mount="/proc/$mpid/ns/mnt" --net="/run/netns/$ns" "$NETKNOBS" fix --undo >"$T/u.out" 2>"$T/u.err" &
undo=$!
# waiting for a lock: it naps between tries
napping() { grep -q nanosleep "/proc/$undo/wchan" 2>/dev/null; }
poll_until 10 napping || fail "--undo does not wait for a lock"
kill -STOP "$undo"
kill "$holder"
wait "$holder" 2>/dev/null || true
inside "$NETKNOBS" fix --no-default-rules --rules "$T/rules2.yaml" --apply >"$T/a.out" 2>"$T/a.err" &
apply=$!
applied() { grep -q '^net.core.somaxconn = 16384$' "$F"; }
poll_until 10 applied || fail "the second --apply did not write the drop-in"
kill -CONT "$undo"
set +e; wait "$apply"; arc=$?; wait "$undo"; urc=$?; set -e
check_eq "the --apply succeeds" 0 "$arc"
check_eq "and records what it replaced" "" "$(grep 'not recorded' "$T/a.err" || true)"
check_eq "the --undo succeeds" "0 $(head -c 300 "$T/u.err")" "$urc $(head -c 300 "$T/u.err")"
check_eq "and undid that --apply" "8192 2048" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"
rm -f "$F" "$F.bak"

# ---- --output a relative path: recorded with its directory's real path, so
# that --undo from elsewhere finds the same file, and ./FILE is that file
mkdir -p "$T/rel/d"
real=$(realpath "$T") here=$PWD
# fix in the current directory (nsenter --mount would start it in /)
fix_here() { nsenter --mount="/proc/$mpid/ns/mnt" --net="/run/netns/$ns" --wd="$PWD" "$NETKNOBS" fix --no-default-rules --rules "$RULES" "$@"; }
set_values 4096 256
cd "$T/rel"
check_exit "--apply --output d/x.conf" 0 fix_here --apply --output d/x.conf
check_eq "recorded with its full path" "$real/rel/d/x.conf" "$(jq -r .target "$NETKNOBS_STATE_DIR/fix-undo.json")"
cd /
check_exit "--undo --output d/x.conf elsewhere" 3 fix_here --undo --output d/x.conf
check_match "names the file by its full path" "the last fix --apply wrote $real/rel/d/x.conf, not d/x.conf: give --output $real/rel/d/x.conf" "$(cat "$T/err")"
cd "$T/rel"
check_exit "--undo --output ./d/x.conf" 0 fix_here --undo --output ./d/x.conf
cd "$here"
[ ! -e "$T/rel/d/x.conf" ] && pass "the drop-in removed" || fail "the drop-in is still there"
check_eq "the values put back" "4096 256" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"

# ---- another namespace than the one --apply set values in
set_values 4096 256
check_exit "--apply" 0 fix --apply
make_ns other undo2
check_exit "--undo in another namespace" 3 nsenter --mount="/proc/$mpid/ns/mnt" --net="/run/netns/$other" \
	"$NETKNOBS" fix --undo
check_match "says where the values were set" "set values in the network namespace net:\\[[0-9]+\\], this is net:\\[[0-9]+\\]" "$(cat "$T/err")"
check_eq "nothing changed" "8192 2048" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"

# ---- the record cannot be written (a full file system): the record of the
# --apply before is moved aside, so that --undo does not put back that one's
# values, and --apply does not promise an undo
mkdir -p "$T/small"
inside mount -t tmpfs -o size=64k,mode=0700 nk-small "$T/small" || fail "mount a small tmpfs"
S2=$T/small/state
fix_small() { inside env NETKNOBS_STATE_DIR="$S2" "$NETKNOBS" fix --no-default-rules --rules "$RULES" "$@"; }
rm -f "$F" "$F.bak"
set_values 4096 256
check_exit "--apply, recorded" 0 fix_small --apply
rm -f "$F" "$F.bak"
set_values 1024 256
inside sh -c 'dd if=/dev/zero of="$1/fill" bs=1k count=200 2>/dev/null; true' sh "$T/small"
check_exit "--apply on a full state directory: the values are set" 0 fix_small --apply
check_match "warns that nothing is recorded, and the older record moved aside" \
	"not recorded in $S2: fix --undo cannot put it back; the record of the --apply before is moved aside \\($S2/fix-undo.json.corrupt-" \
	"$(tr '\n' ' ' <"$T/err")"
check_eq "no promise of an undo" "" "$(grep 'fix --undo. puts back' "$T/out" || true)"
check_exit "--undo then: nothing to undo" 3 fix_small --undo
check_match "says so" "nothing to undo: no fix --apply is recorded" "$(cat "$T/err")"
check_eq "the values of the last --apply stay" "8192 2048" "$(sc net/core/somaxconn) $(sc net/ipv4/tcp_max_syn_backlog)"
inside umount "$T/small" || true

finish
