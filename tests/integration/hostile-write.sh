#!/bin/sh
# Never harm the host: what netknobs writes and where it reads, against
# hostile files and trees.  One section per defect: targets that are no
# regular file (FIFO, device, symbolic link), edits made while fix --write
# runs, CR line ends, the admin's comments, --root trees whose links lead
# out of the root (with openat2 and with openat2 failing as on kernels
# before 5.6 or under a seccomp filter), state directories someone else
# controls, FIFOs where files are read, temporary files left by kill -9,
# and a report whose output could not be delivered.
. "$TESTLIB"

RULES="$FIXTURES/fix/rules.yaml"
BASIC="$FIXTURES/facts/basic.json"
NO2="$HELPERS/no-openat2"
root=false
[ "$(id -u)" = 0 ] && root=true

# run DESC WANT command...: exit status WANT, output in $T/out and $T/err,
# at most 30 s (a hang is a failure, not a stuck test suite)
run() {
	d=$1 want=$2; shift 2
	set +e; timeout 30 "$@" >"$T/out" 2>"$T/err"; rc=$?; set -e
	if [ "$rc" = "$want" ]; then pass "$d (exit $rc)"
	elif [ "$rc" = 124 ]; then fail "$d: hung (killed after 30 s)"
	else fail "$d: exit $rc, expected $want; stderr: $(head -c 400 "$T/err")"; fi
}
# the ways openat2 can be there or not: "" (the kernel's), ENOSYS, EPERM;
# $W is the command prefix for each
set_openat2() { if [ -z "$1" ]; then W=env; else W="$NO2 -e $1"; fi; }
if "$NO2" true 2>/dev/null; then
	MODES="ENOSYS EPERM"
else
	MODES=""
	echo "no-openat2 does not work here: the walk without openat2 is not tested"
fi

# ---------------------------------------------------------------- 1. targets that are no regular file
mkfifo "$T/fifo"
run "facts -o FIFO: refused" 3 "$NETKNOBS" facts --from "$BASIC" -o "$T/fifo"
[ -p "$T/fifo" ] && pass "facts -o FIFO: the FIFO is still there" || fail "facts -o replaced the FIFO"
check_match "facts -o FIFO: says why" 'fifo.*(not a regular file|a FIFO)' "$(cat "$T/err")"

echo "precious" >"$T/victim"
ln -s "$T/victim" "$T/link"
run "facts -o symbolic link: refused" 3 "$NETKNOBS" facts --from "$BASIC" -o "$T/link"
[ -L "$T/link" ] && pass "facts -o link: the link is still there" || fail "facts -o replaced the link"
check_eq "facts -o link: its target untouched" "precious" "$(cat "$T/victim")"
check_match "facts -o link: says why" 'link.*symbolic link' "$(cat "$T/err")"

if $root; then
	mknod "$T/null" c 1 3
	run "facts -o device node: refused" 3 "$NETKNOBS" facts --from "$BASIC" -o "$T/null"
	[ -c "$T/null" ] && pass "facts -o device: still a device" || fail "facts -o replaced the device node"
else
	echo "not root: facts -o on a device node not tested"
fi
run "facts -o DIR/ (a directory that does not exist): refused" 3 "$NETKNOBS" facts --from "$BASIC" -o "$T/nodir/"
[ -e "$T/nodir" ] && fail "facts -o DIR/ wrote the file DIR" || pass "facts -o DIR/: no file DIR"
run "facts -o regular file: written" 0 "$NETKNOBS" facts --from "$BASIC" -o "$T/facts.json"
check_eq "facts -o: the document" "1" "$(jq '.schema_version' "$T/facts.json")"

mkdir "$T/prom"
mkfifo "$T/prom/netknobs.prom"
run "--prom-dir with a FIFO at netknobs.prom: refused" 3 "$NETKNOBS" report --state-dir "$T/s-prom" \
	--from "$BASIC" --prom-dir "$T/prom"
[ -p "$T/prom/netknobs.prom" ] && pass "--prom-dir: the FIFO is still there" || fail "--prom-dir replaced the FIFO"
check_match "--prom-dir: says why" 'netknobs\.prom.*(not a regular file|a FIFO)' "$(cat "$T/err")"
rm "$T/prom/netknobs.prom"
ln -s "$T/victim" "$T/prom/netknobs.prom"
run "--prom-dir with a link at netknobs.prom: refused" 3 "$NETKNOBS" report --state-dir "$T/s-prom" \
	--from "$BASIC" --prom-dir "$T/prom"
[ -L "$T/prom/netknobs.prom" ] && pass "--prom-dir: the link is still there" || fail "--prom-dir replaced the link"
check_eq "--prom-dir: the link's target untouched" "precious" "$(cat "$T/victim")"
rm "$T/prom/netknobs.prom"
echo "other" >"$T/prom/other.prom"
run "--prom-dir: written" 1 "$NETKNOBS" report --state-dir "$T/s-prom" --from "$BASIC" --prom-dir "$T/prom"
check_eq "--prom-dir: its own file and nothing else" "netknobs.prom other.prom" "$(ls -A "$T/prom" | tr '\n' ' ' | sed 's/ $//')"

mkdir -p "$T/fx"
mkfifo "$T/fx/90.conf"
run "fix --output FIFO: refused" 3 "$NETKNOBS" fix --no-default-rules --rules "$RULES" --from "$BASIC" \
	--output "$T/fx/90.conf" --write
[ -p "$T/fx/90.conf" ] && pass "fix --output FIFO: still there" || fail "fix --write replaced the FIFO"

# ---------------------------------------------------------------- 2. edits while fix --write runs
# The facts come from standard input, a FIFO: fix reads the drop-in, then
# waits for the facts; meanwhile the admin adds a line.
mkdir -p "$T/f2"
D2="$T/f2/90-netknobs.conf"
printf 'net.ipv4.tcp_syncookies = 1\n' >"$D2"
mkfifo "$T/facts-in"
"$NETKNOBS" fix --no-default-rules --rules "$RULES" --from - --output "$D2" --write \
	<"$T/facts-in" >"$T/out2" 2>"$T/err2" &
pid=$!
exec 4>"$T/facts-in"
i=0
until grep -q 'pipe_read' "/proc/$pid/wchan" 2>/dev/null; do
	i=$((i + 1)); [ "$i" -gt 400 ] && break
	sleep 0.05
done
printf '# added while fix ran\nnet.ipv4.tcp_fin_timeout = 30\n' >>"$D2"
cat "$BASIC" >&4
exec 4>&-
set +e; wait "$pid"; rc=$?; set -e
check_eq "fix --write with an edit meanwhile: done" "0" "$rc"
check_match "the line added meanwhile is in the file" '^net\.ipv4\.tcp_fin_timeout = 30$' "$(cat "$D2")"
check_match "its comment too" '^# added while fix ran$' "$(cat "$D2")"
check_match "the recommendation is written" '^net\.core\.somaxconn = 8192$' "$(cat "$D2")"
check_match "the backup is the file as it was when written" '^net\.ipv4\.tcp_fin_timeout = 30$' "$(cat "$D2.bak" 2>/dev/null)"

# ---------------------------------------------------------------- 3. CR line ends
mkdir -p "$T/f3"
D3="$T/f3/90-netknobs.conf"
printf 'net.core.somaxconn = 1024\rnet.ipv4.tcp_fin_timeout = 30\r' >"$D3"
run "fix --write on a CR-only drop-in" 0 "$NETKNOBS" fix --no-default-rules --rules "$RULES" --from "$BASIC" \
	--output "$D3" --write
check_match "CR-only: the second key is kept" '^net\.ipv4\.tcp_fin_timeout = 30$' "$(cat "$D3")"
check_match "CR-only: the recommended key rewritten" '^net\.core\.somaxconn = 8192$' "$(cat "$D3")"
if tr -d '\n' <"$D3" | grep -q "$(printf '\r')"; then fail "CR-only: a CR left in the file"; else pass "CR-only: rewritten with LF"; fi

# the sysctl.d reader ends lines as systemd does: "\n\r" is one line end
IMG3="$T/img3"
mkdir -p "$IMG3/etc/sysctl.d"
cp -r "$FIXTURES/roots/basic/proc" "$IMG3/"
printf 'net.core.somaxconn = 1\n\rnet.ipv4.tcp_fin_timeout = 2\r\nnet.ipv4.tcp_syncookies = 1\rnet.core.netdev_max_backlog = 7\0net.ipv4.tcp_max_syn_backlog = 9\n' \
	>"$IMG3/etc/sysctl.d/10-ends.conf"
run "facts on line ends of every kind" 0 "$NETKNOBS" --root "$IMG3" facts --json
for kl in net.core.somaxconn:1 net.ipv4.tcp_fin_timeout:2 net.ipv4.tcp_syncookies:3 \
	  net.core.netdev_max_backlog:4 net.ipv4.tcp_max_syn_backlog:5; do
	check_eq "line ends as systemd's: ${kl%%:*} on line ${kl#*:}" "/etc/sysctl.d/10-ends.conf:${kl#*:}" \
		"$(jq -r --arg k "${kl%%:*}" '.persistent.keys[$k].origin' "$T/out")"
done

# ---------------------------------------------------------------- 4. the admin's comments
mkdir -p "$T/f4"
D4="$T/f4/90-netknobs.conf"
"$NETKNOBS" fix --no-default-rules --rules "$RULES" --from "$BASIC" --output "$D4" --write >/dev/null
{
	sed -n '1,4p' "$D4"
	echo "# Site note right after the header: reviewed by ops"
	sed -n '5,$p' "$D4" | sed 's/^net\.core\.somaxconn = 8192$/# somaxconn: raised for the load balancer (ticket 42)\nnet.core.somaxconn = 8192/'
} >"$T/d4" && cp "$T/d4" "$D4"
cat >"$T/site4.yaml" <<'EOF'
variables:
  somaxconn: 16384
EOF
run "fix --write over the admin's comments" 0 "$NETKNOBS" fix --no-default-rules --rules "$RULES" \
	--rules "$T/site4.yaml" --from "$BASIC" --output "$D4" --write
check_match "the comment after the header survives" '^# Site note right after the header: reviewed by ops$' "$(cat "$D4")"
check_match "the comment above a recommended key survives" '^# somaxconn: raised for the load balancer \(ticket 42\)$' "$(cat "$D4")"
check_match "the new value" '^net\.core\.somaxconn = 16384$' "$(cat "$D4")"
check_eq "our own comment lines are not doubled" "1" "$(grep -c '^# recommended: at least 16384' "$D4")"
check_eq "one header" "1" "$(grep -c '^# Written by `netknobs fix' "$D4")"
cp "$D4" "$T/d4-again"
run "a second run changes nothing" 0 "$NETKNOBS" fix --no-default-rules --rules "$RULES" \
	--rules "$T/site4.yaml" --from "$BASIC" --output "$D4" --check

# the file replaced keeps its mode (and, as root, its owner); the backup
# too: a drop-in of mode 0600 must not come back readable by all
mkdir -p "$T/f4m"
printf '# private\nnet.ipv4.tcp_fin_timeout = 30\n' >"$T/f4m/90.conf"
chmod 600 "$T/f4m/90.conf"
$root && chown nobody "$T/f4m/90.conf"
run "fix --write over a file of mode 0600" 0 "$NETKNOBS" fix --no-default-rules --rules "$RULES" --from "$BASIC" \
	--output "$T/f4m/90.conf" --write
check_eq "the drop-in keeps mode 0600" "600" "$(stat -c %a "$T/f4m/90.conf")"
check_eq "the backup has mode 0600" "600" "$(stat -c %a "$T/f4m/90.conf.bak")"
if $root; then
	check_eq "the drop-in keeps its owner" "nobody" "$(stat -c %U "$T/f4m/90.conf")"
	check_eq "the backup has its owner" "nobody" "$(stat -c %U "$T/f4m/90.conf.bak")"
fi
: >"$T/f4m/facts.json" && chmod 600 "$T/f4m/facts.json"
run "facts -o over a file of mode 0600" 0 "$NETKNOBS" facts --from "$BASIC" -o "$T/f4m/facts.json"
check_eq "facts -o keeps mode 0600" "600" "$(stat -c %a "$T/f4m/facts.json")"
run "fix --write of a new drop-in" 0 "$NETKNOBS" fix --no-default-rules --rules "$RULES" --from "$BASIC" \
	--output "$T/f4m/new.conf" --write
check_eq "a new drop-in has mode 0644" "644" "$(stat -c %a "$T/f4m/new.conf")"

# ---------------------------------------------------------------- 5. writes under --root stay inside
mkdir -p "$T/outside"
for how in abs rel; do
	rm -rf "$T/img5"
	cp -r "$FIXTURES/roots/basic" "$T/img5"
	mkdir -p "$T/img5/etc"
	case $how in
	abs) ln -s "$T/outside" "$T/img5/etc/sysctl.d" ;;
	rel) ln -s "../../../../../../../../../../..$T/outside" "$T/img5/etc/sysctl.d" ;;
	esac
	for m in "" $MODES; do
		set_openat2 "$m"
		rm -rf "$T/outside" && mkdir "$T/outside"
		run "fix --write under --root, $how link out of the root, openat2 ${m:-available}" 3 \
			$W "$NETKNOBS" --root "$T/img5" fix --no-default-rules --rules "$RULES" --write
		check_eq "nothing written outside the root ($how, ${m:-openat2})" "" "$(ls -A "$T/outside")"
	done
done
# '..' in --output stops at the root: refused rather than written below
# the root and reported as written above it
rm -rf "$T/img5" && cp -r "$FIXTURES/roots/basic" "$T/img5" && mkdir -p "$T/img5/etc"
run "fix --write --root IMG --output IMG/../x.conf: refused" 3 "$NETKNOBS" --root "$T/img5" fix --no-default-rules \
	--rules "$RULES" --write --output "$T/img5/../x.conf"
check_match "says why" "without '\.' or '\.\.'" "$(cat "$T/err")"
[ -e "$T/img5/x.conf" ] || [ -e "$T/x.conf" ] && fail "written somewhere for IMG/../x.conf" || pass "nothing written for IMG/../x.conf"
# a link that stays inside the root is followed
rm -rf "$T/img5" && cp -r "$FIXTURES/roots/basic" "$T/img5"
mkdir -p "$T/img5/etc/real.d"
ln -s /etc/real.d "$T/img5/etc/sysctl.d"
for m in "" $MODES; do
	set_openat2 "$m"
	rm -f "$T/img5/etc/real.d/"*
	run "fix --write under --root through a link inside it, openat2 ${m:-available}" 0 \
		$W "$NETKNOBS" --root "$T/img5" fix --no-default-rules --rules "$RULES" --write
	[ -f "$T/img5/etc/real.d/90-netknobs.conf" ] && pass "written to the link's target inside the root" \
		|| fail "not written inside the root"
done

# ---------------------------------------------------------------- 6. reads under --root stay inside
echo "SECRET-4711" >"$T/secret"
printf 'net.core.somaxconn = 31337\n' >"$T/secret.conf"
mkdir -p "$T/hostnet"
cp "$FIXTURES/roots/basic/proc/net/"* "$T/hostnet/"
rm -rf "$T/img6" && cp -r "$FIXTURES/roots/basic" "$T/img6"
ln -sf "$T/secret" "$T/img6/proc/sys/kernel/osrelease"
mkdir -p "$T/img6/etc/sysctl.d"
ln -s "$T/secret.conf" "$T/img6/etc/sysctl.d/10-out.conf"
rm -rf "$T/img6/proc/net"
ln -s "$T/hostnet" "$T/img6/proc/net"
for m in "" $MODES; do
	set_openat2 "$m"
	run "facts under --root with links out of it, openat2 ${m:-available}" 0 \
		$W "$NETKNOBS" --root "$T/img6" facts --json
	if grep -q SECRET-4711 "$T/out"; then fail "osrelease read through a link out of the root (${m:-openat2})"
	else pass "osrelease not read out of the root (${m:-openat2})"; fi
	check_eq "sysctl.d file not read out of the root (${m:-openat2})" "null" \
		"$(jq '.persistent.keys["net.core.somaxconn"]' "$T/out")"
	check_eq "proc/net not read out of the root (${m:-openat2})" "null" "$(jq '.counters.TcpExt' "$T/out")"
	check_eq "no listener from out of the root (${m:-openat2})" "0" "$(jq '.sockets.listeners | length' "$T/out")"
done
rm "$T/img6/proc/net"
ln -s /proc/self/net "$T/img6/proc/net"
for m in "" $MODES; do
	set_openat2 "$m"
	run "facts under --root with proc/net -> /proc/self/net, openat2 ${m:-available}" 0 \
		$W "$NETKNOBS" --root "$T/img6" facts --json
	check_eq "the host's counters not read (${m:-openat2})" "null" "$(jq '.counters.TcpExt' "$T/out")"
done
# the rule files of the image (rules.d, the installed rule sets) are read
# inside it too: a link out of the root must not feed this host's files to
# the YAML parser, whose errors echo what they read
printf 'SECRET-4711: x\n' >"$T/secret.yaml"
mkdir -p "$T/secret.d" && cp "$T/secret.yaml" "$T/secret.d/s.yaml"
rdir=$("$NETKNOBS" audit --help | sed -n 's|.*; \(/[^ ]*\)/netknobs/rules.d/\*\.yaml;|\1|p')/netknobs/rules.d
ddir=$("$NETKNOBS" audit --help | sed -n 's|.*(\(/[^ ]*\)/netknobs/rules).*|\1|p')/netknobs/rules
for how in file dir data; do
	rm -rf "$T/img6r" && cp -r "$FIXTURES/roots/basic" "$T/img6r"
	case $how in
	file) mkdir -p "$T/img6r$rdir" && ln -s "$T/secret.yaml" "$T/img6r$rdir/10-x.yaml" ;;
	dir) mkdir -p "$(dirname "$T/img6r$rdir")" && ln -s "$T/secret.d" "$T/img6r$rdir" ;;
	data) mkdir -p "$(dirname "$T/img6r$ddir")" && ln -s "$T/secret.d" "$T/img6r$ddir" ;;
	esac
	for m in "" $MODES; do
		set_openat2 "$m"
		set +e; $W "$NETKNOBS" --root "$T/img6r" audit >"$T/out" 2>"$T/err"; set -e
		if grep -q SECRET-4711 "$T/out" "$T/err"; then fail "rules ($how link) read out of the root (${m:-openat2})"
		else pass "rules ($how link) not read out of the root (${m:-openat2})"; fi
	done
done
# a link inside the root is followed
rm -rf "$T/img6r" && cp -r "$FIXTURES/roots/basic" "$T/img6r"
mkdir -p "$T/img6r/site" "$(dirname "$T/img6r$rdir")"
printf 'override:\n  - rule: backlog.somaxconn-low\n    enabled: false\n' >"$T/img6r/site/10-off.yaml"
ln -s /site "$T/img6r$rdir"
for m in "" $MODES; do
	set_openat2 "$m"
	run "rules.d through a link inside the root, openat2 ${m:-available}" 0 $W "$NETKNOBS" --root "$T/img6r" rules
	check_match "rules.d inside the root is loaded (${m:-openat2})" '^backlog\.somaxconn-low +[a-z]+ +disabled' "$(cat "$T/out")"
done
# links inside the root are followed (sysctl.conf through 99-sysctl.conf, lib -> usr/lib)
for m in "" $MODES; do
	set_openat2 "$m"
	run "facts on the merged sysctl.d fixture, openat2 ${m:-available}" 0 \
		$W "$NETKNOBS" --root "$FIXTURES/sysctld/merged" facts --json
	check_eq "/etc/sysctl.conf applied through its link (${m:-openat2})" "applied" \
		"$(jq -r '.persistent.files[] | select(.path == "/etc/sysctl.conf") | .status' "$T/out")"
done

# ---------------------------------------------------------------- 7. state directories
S7=$T/s7
mkdir -p "$S7" "$T/victimdir"
: >"$T/victimdir/20200101T000000.000000Z.json"
ln -s "$T/victimdir" "$S7/history"
run "report with history -> another directory: refused" 3 "$NETKNOBS" report --state-dir "$S7" --from "$BASIC" --keep 1
run "and again" 3 "$NETKNOBS" report --state-dir "$S7" --from "$BASIC" --keep 1
check_eq "nothing created or removed there" "20200101T000000.000000Z.json" "$(ls -A "$T/victimdir")"
check_match "says why" 'history.*symbolic link' "$(cat "$T/err")"

S7=$T/s7b
mkdir -p "$S7" && chmod 777 "$S7"
run "report with a state directory others can write: refused" 3 "$NETKNOBS" report --state-dir "$S7" --from "$BASIC"
check_match "says why" 's7b.*writable by (others|other users)' "$(cat "$T/err")"
check_eq "nothing written there" "" "$(ls -A "$S7")"
chmod 755 "$S7"
mkdir -p "$S7/history" && chmod 777 "$S7/history"
run "report with a history/ others can write: refused" 3 "$NETKNOBS" report --state-dir "$S7" --from "$BASIC"
check_match "says why" 'history.*writable by (others|other users)' "$(cat "$T/err")"
if $root; then
	S7=$T/s7c
	mkdir -p "$S7" && chown nobody "$S7"
	run "report with a state directory of another user: refused" 3 "$NETKNOBS" report --state-dir "$S7" --from "$BASIC"
	check_match "says why" 's7c.*owned by' "$(cat "$T/err")"
	check_eq "nothing written there" "" "$(ls -A "$S7")"
	# the way to it: a user who owns a parent directory replaces the state
	# directory (root's own) with a link to a directory of root's
	mkdir -p "$T/home7/alice/nk" "$T/victim7" && chown nobody "$T/home7/alice"
	run "report with a state directory below another user's directory: refused" 3 \
		"$NETKNOBS" report --state-dir "$T/home7/alice/nk" --from "$BASIC"
	check_match "says why" 'home7/alice/nk.*owned by another user' "$(cat "$T/err")"
	rmdir "$T/home7/alice/nk" && ln -s "$T/victim7" "$T/home7/alice/nk" && chown -h nobody "$T/home7/alice/nk"
	run "report with the state directory replaced by that user's link: refused" 3 \
		"$NETKNOBS" report --state-dir "$T/home7/alice/nk" --from "$BASIC"
	check_eq "nothing written where the link points" "" "$(ls -A "$T/victim7")"
	# a link of another user in a sticky directory others write to
	mkdir -p "$T/sticky7" && chmod 1777 "$T/sticky7"
	ln -s "$T/victim7" "$T/sticky7/nk" && chown -h nobody "$T/sticky7/nk"
	run "report through another user's link in a sticky directory: refused" 3 \
		"$NETKNOBS" report --state-dir "$T/sticky7/nk" --from "$BASIC"
	check_eq "nothing written where that link points" "" "$(ls -A "$T/victim7")"
	# links and directories of root's own are followed and created
	ln -s "$T/s7ok" "$T/sticky7/mine"
	run "report through root's own link, creating the directory" 1 \
		"$NETKNOBS" report --state-dir "$T/sticky7/mine/a/../b" --from "$BASIC"
	[ -f "$T/s7ok/b/latest.json" ] && pass "the state is where root's link points" || fail "no state at $T/s7ok/b"
fi

# ---------------------------------------------------------------- 8. FIFOs where netknobs reads
mkdir -p "$T/rules.d"
mkfifo "$T/rules.d/x.yaml"
run "lint on a rules directory holding a FIFO" 3 "$NETKNOBS" lint "$T/rules.d"
check_match "lint says why" 'x\.yaml.*not a regular file' "$(cat "$T/err")"
run "audit --rules DIR holding a FIFO" 3 "$NETKNOBS" audit --from "$BASIC" --rules "$T/rules.d"
run "report --rules DIR holding a FIFO" 3 "$NETKNOBS" report --state-dir "$T/s8" --from "$BASIC" --rules "$T/rules.d"
run "report afterwards: the lock is free" 1 "$NETKNOBS" report --state-dir "$T/s8" --from "$BASIC" --wait 0
run "lint on a FIFO named on the command line" 3 "$NETKNOBS" lint "$T/rules.d/x.yaml"

rm -rf "$T/img8" && cp -r "$FIXTURES/roots/basic" "$T/img8"
rm "$T/img8/proc/sys/net/core/somaxconn" "$T/img8/proc/net/netstat"
mkfifo "$T/img8/proc/sys/net/core/somaxconn" "$T/img8/proc/net/netstat"
for m in "" $MODES; do
	set_openat2 "$m"
	run "facts under --root with FIFOs in proc, openat2 ${m:-available}" 0 \
		$W "$NETKNOBS" --root "$T/img8" facts --json
	check_eq "a FIFO at a sysctl: unreadable, said why (${m:-openat2})" "not a regular file" \
		"$(jq -r '.sysctl_unavailable["net.core.somaxconn"].error' "$T/out")"
done
if $root; then
	run "--netns FIFO: refused, not a hang" 3 "$NETKNOBS" --netns "$T/rules.d/x.yaml" facts
	check_match "says why" 'not a network namespace' "$(cat "$T/err")"
fi
mkfifo "$T/s8/lock.new" && rm "$T/s8/lock" && mv "$T/s8/lock.new" "$T/s8/lock"
run "report with a FIFO as its lock file: refused" 3 "$NETKNOBS" report --state-dir "$T/s8" --from "$BASIC"
check_match "says why" 'lock.*not a regular file' "$(cat "$T/err")"

# ---------------------------------------------------------------- 15. temporary files left by kill -9
S15=$T/s15
run "a first report" 1 "$NETKNOBS" report --state-dir "$S15" --from "$BASIC" --prom-dir "$T/prom"
: >"$S15/latest.json.Ab12Cd"
: >"$S15/.latest.json.netknobs-Ab12Cd"
: >"$S15/history/20260101T000000.000000Z.json.Xy34Zw"
: >"$T/prom/netknobs.prom.Qw56Er"
: >"$T/prom/.netknobs.prom.netknobs-Qw56Er"
: >"$T/prom/unrelated.prom.Qw56Er"
# one that a running writer holds (locked) is not stale
: >"$S15/.latest.json.netknobs-Live00"
exec 5<"$S15/.latest.json.netknobs-Live00"
flock -s 5 2>/dev/null || true
run "the next report" 1 "$NETKNOBS" report --state-dir "$S15" --from "$BASIC" --prom-dir "$T/prom"
for f in "$S15/latest.json.Ab12Cd" "$S15/.latest.json.netknobs-Ab12Cd" "$S15/history/20260101T000000.000000Z.json.Xy34Zw" \
	 "$T/prom/netknobs.prom.Qw56Er" "$T/prom/.netknobs.prom.netknobs-Qw56Er"; do
	[ -e "$f" ] && fail "left over: ${f#"$T"/}" || pass "removed: ${f#"$T"/}"
done
[ -e "$T/prom/unrelated.prom.Qw56Er" ] && pass "another program's file is left alone" || fail "removed another program's file"
[ -e "$S15/.latest.json.netknobs-Live00" ] && pass "a temporary file in use is left alone" || fail "removed a temporary file in use"
exec 5<&-
if command -v strace >/dev/null 2>&1; then
	# a real kill -9 between writing the temporary file and renaming it
	set +e
	strace -f -o /dev/null -e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL \
		"$NETKNOBS" report --state-dir "$S15" --from "$BASIC" >/dev/null 2>&1
	set -e
	n=$(find "$S15" -name '*netknobs-*' -o -name '*.json.??????' | grep -cv Live00 || true)
	[ "$n" -gt 0 ] && pass "kill -9 before the rename leaves a temporary file ($n)" || fail "no temporary file after kill -9"
	run "the report after kill -9" 1 "$NETKNOBS" report --state-dir "$S15" --from "$BASIC"
	check_eq "no temporary file left after the next run" "" \
		"$(find "$S15" -name '*netknobs-*' -o -name '*.json.??????' | grep -v Live00 || true)"
else
	echo "no strace: kill -9 during a real write not tested"
fi

# ---------------------------------------------------------------- 16. news kept until delivered
S16=$T/s16
run "a report whose output cannot be written" 3 sh -c '"$1" report --state-dir "$2" --from "$3" >/dev/full' sh \
	"$NETKNOBS" "$S16" "$BASIC"
run "the next report" 1 "$NETKNOBS" report --state-dir "$S16" --from "$BASIC"
check_match "the next report still has the news" '^New findings:' "$(cat "$T/out")"
run "json: output cannot be written" 3 sh -c '"$1" report --state-dir "$2" --from "$3" --format json >/dev/full' sh \
	"$NETKNOBS" "$T/s16j" "$BASIC"
[ -e "$T/s16j/latest.json" ] && fail "json: the state was saved although the report was not delivered" \
	|| pass "json: the state not saved"

# the previous state that could not be read for a reason of the moment
# (the system's file table full): not moved aside as corrupt, no "new"
# findings claimed with a normal status, exit 3, and the next run compares
if command -v strace >/dev/null 2>&1; then
	S17=$T/s17
	run "a first report" 1 "$NETKNOBS" report --state-dir "$S17" --from "$BASIC"
	export ASAN_OPTIONS=detect_leaks=0
	strace -f -o "$T/trace17" -e trace=openat "$NETKNOBS" report --state-dir "$S17" --from "$BASIC" >/dev/null 2>&1 || true
	p=$(grep '"latest.json"' "$T/trace17" | head -1 | awk '{ print $1 }')
	n=$(awk -v p="$p" '$1 == p' "$T/trace17" | grep -E 'openat\(' | grep -n '"latest.json"' | head -1 | cut -d: -f1)
	run "latest.json unreadable (ENFILE): exit 3" 3 strace -f -o /dev/null -e trace=openat \
		-e inject=openat:error=ENFILE:when="$n" "$NETKNOBS" report --state-dir "$S17" --from "$BASIC" --format nagios
	check_match "says UNKNOWN" '^NETKNOBS UNKNOWN' "$(head -1 "$T/out")"
	check_match "says why" 'latest\.json: cannot read: Too many open files in system; left as it is' "$(cat "$T/err")"
	check_eq "latest.json not moved aside" "$(ls "$S17")" "$(ls "$S17" | grep -v corrupt)"
	# the same for the history of somaxconn kept beside it
	n=$(awk -v p="$p" '$1 == p' "$T/trace17" | grep -E 'openat\(' | grep -n '"sysctl-history.json"' | head -1 | cut -d: -f1)
	if [ -n "$n" ]; then
		before=$(cksum <"$S17/latest.json")
		run "the history unreadable (ENFILE): exit 3" 3 strace -f -o /dev/null -e trace=openat \
			-e inject=openat:error=ENFILE:when="$n" "$NETKNOBS" report --state-dir "$S17" --from "$BASIC"
		check_match "says why" 'sysctl-history\.json: cannot read: Too many open files in system; left as it is' "$(cat "$T/err")"
		check_eq "the history not moved aside" "" "$(ls "$S17" | grep corrupt || true)"
		check_eq "this run's state not kept" "$before" "$(cksum <"$S17/latest.json")"
	fi
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
	run "the next report compares with it" 1 "$NETKNOBS" report --state-dir "$S17" --from "$BASIC" --always
	check_match "nothing new" '^New findings: none$' "$(cat "$T/out")"
else
	echo "no strace: an unreadable previous state not tested"
fi

finish
