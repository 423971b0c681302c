#!/bin/sh
# packaging/contrib/ansible/netknobs.yml run for real with ansible-core on
# localhost, against a copy of a fixture root (the drop-in in its /etc):
# --check reports the change and writes nothing; the first run writes the
# drop-in; the second changes nothing; a netknobs error fails the play.
. "$TESTLIB"
command -v ansible-playbook >/dev/null 2>&1 || skip "needs ansible-playbook (ansible-core)"

PLAY=$TOP_SRCDIR/packaging/contrib/ansible/netknobs.yml
export HOME="$T/home" ANSIBLE_LOCAL_TEMP="$T/ansible-tmp" ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 LC_ALL=C.UTF-8
mkdir -p "$HOME"
# a copy of the basic fixture root, with /etc/sysctl.d for the drop-in
cp -r "$FIXTURES/roots/basic" "$T/root"
# SYN cookies off: something to recommend and persist
echo 0 >"$T/root/proc/sys/net/ipv4/tcp_syncookies"
mkdir -p "$T/root/etc/sysctl.d"
dropin=$T/root/etc/sysctl.d/90-netknobs.conf
opts="--root $T/root"

# play [ansible-playbook options]: run the playbook, the recap line in $T/recap
play() {
	o=$1
	shift
	set +e
	ansible-playbook -i localhost, -c local "$PLAY" \
		-e netknobs_hosts=localhost -e netknobs_become=false \
		-e "netknobs_bin=$NETKNOBS" -e "netknobs_fact_dir=$T/facts.d" \
		-e "netknobs_options='$o'" "$@" >"$T/play.out" 2>&1
	play_rc=$?
	set -e
	grep '^localhost' "$T/play.out" | tail -n 1 >"$T/recap"
}
recap() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$T/recap"; }

play "$opts" --check
check_eq "--check: the play succeeds" 0 "$play_rc"
check_eq "--check: reports a change" 1 "$(recap changed | awk '{ print ($1 > 0) }')"
check_eq "--check: writes no drop-in" no "$([ -e "$dropin" ] && echo yes || echo no)"

play "$opts"
check_eq "first run: succeeds" 0 "$play_rc"
check_eq "first run: changed something" 1 "$(recap changed | awk '{ print ($1 > 0) }')"
check_eq "first run: no failure" 0 "$(recap failed)"
check_eq "first run: the drop-in is written" yes "$([ -s "$dropin" ] && echo yes || echo no)"
check_exit "the drop-in is now up to date" 0 "$NETKNOBS" fix --check $opts
check_eq "the fact is installed" yes "$([ -x "$T/facts.d/netknobs.fact" ] && echo yes || echo no)"

play "$opts"
check_eq "second run: succeeds" 0 "$play_rc"
check_eq "second run: idempotent (changed=0)" 0 "$(recap changed)"
check_eq "second run: no failure" 0 "$(recap failed)"

play "$opts --rules $T/no-such-rules.yaml"
check_eq "netknobs error (exit 3): the play fails" 1 "$([ "$play_rc" != 0 ] && echo 1 || echo 0)"
check_eq "netknobs error: one failed task" 1 "$(recap failed)"
[ "$fails" = 0 ] || sed 's/^/# /' "$T/play.out" | tail -n 40
finish
