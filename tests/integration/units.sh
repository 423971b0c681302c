#!/bin/sh
# The daily report's systemd units and cron script: systemd-analyze verify
# and its exposure score, the capabilities the unit keeps are the ones
# reading another user's listener owners needs, and the cron script runs
# the report only where systemd is not the init system.
. "$TESTLIB"
: "${TOP_BUILDDIR:?run through make check}"
svc_in=$TOP_BUILDDIR/packaging/systemd/netknobs-report.service
timer=$TOP_SRCDIR/packaging/systemd/netknobs-report.timer
cron_in=$TOP_BUILDDIR/packaging/cron/netknobs
[ -f "$svc_in" ] && [ -f "$cron_in" ] || { fail "generated unit or cron script missing (make all)"; finish; }

# the units as installed, running the binary under test
mkdir -p "$T/units" "$T/man/man8" "$T/man/man5"
sed "s|^ExecStart=[^ ]*|ExecStart=$NETKNOBS|" "$svc_in" >"$T/units/netknobs-report.service"
cp "$timer" "$T/units/"
cp "$TOP_SRCDIR/doc/netknobs.8" "$T/man/man8/"
svc=$T/units/netknobs-report.service

check_match "service is a oneshot" '^Type=oneshot$' "$(cat "$svc")"
check_match "service runs netknobs report" '^ExecStart=[^ ]*netknobs report( |$)' "$(cat "$svc")"
check_match "findings (1, 2) are not a failed run" '^SuccessExitStatus=1 2$' "$(cat "$svc")"
check_match "low CPU priority" '^Nice=19$' "$(cat "$svc")"
check_match "idle I/O" '^IOSchedulingClass=idle$' "$(cat "$svc")"
check_match "read-only system" '^ProtectSystem=strict$' "$(cat "$svc")"
check_match "private /tmp" '^PrivateTmp=yes$' "$(cat "$svc")"
check_match "state directory writable" '^ReadWritePaths=/' "$(cat "$svc")"
check_match "timer: daily" '^OnCalendar=daily$' "$(cat "$timer")"
check_match "timer: randomized delay" '^RandomizedDelaySec=[1-9]' "$(cat "$timer")"
check_match "timer: catches up after downtime" '^Persistent=true$' "$(cat "$timer")"
check_match "timer: enabled by timers.target" '^WantedBy=timers.target$' "$(cat "$timer")"

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify checks the Documentation= man page too
	if MANPATH=$T/man systemd-analyze verify "$svc" "$T/units/netknobs-report.timer" >"$T/verify" 2>&1; then
		check_eq "systemd-analyze verify: no complaint" "" "$(cat "$T/verify")"
	else
		fail "systemd-analyze verify: $(cat "$T/verify")"
	fi
	if systemd-analyze security --offline=true "$svc" >"$T/sec" 2>&1; then
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec")
		check_match "exposure score found" '^[0-9]+\.[0-9]+$' "$score"
		check_eq "exposure at most 2.0 (got $score)" yes "$(awk -v s="$score" 'BEGIN { print (s != "" && s <= 2.0) ? "yes" : "no" }')"
	else
		echo "# systemd-analyze security --offline not supported here"
	fi
else
	echo "# systemd-analyze not installed: units not verified"
fi

# CapabilityBoundingSet: with it, root still sees the owner of a listener
# of another user; with nothing, it does not (so each capability is needed)
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$svc")
check_eq "capabilities kept" "CAP_SYS_PTRACE CAP_DAC_READ_SEARCH" "$caps"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 &&
	id nobody >/dev/null 2>&1; then
	make_ns ns caps
	spawn "$T/l" "$ns" setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups \
		"$HELPERS/listen-hold" -n nk-owner 0 4
	port=$(wait_port "$T/l")
	set=-all
	for c in $caps; do set="$set,+$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')"; done
	owners() {
		in_ns "$ns" setpriv --bounding-set="$1" --inh-caps=-all "$NETKNOBS" listeners --json |
			jq -r --argjson p "$port" '[.listeners[] | select(.port == $p) | .processes[].comm] | join(",")'
	}
	check_eq "the unit's capabilities see another user's listener owner" "nk-owner" "$(owners "$set")"
	check_eq "without capabilities the owner is hidden" "" "$(owners -all)"
	check_eq "CAP_SYS_PTRACE alone is not enough" "" "$(owners -all,+sys_ptrace)"
else
	echo "# not root or no setpriv: capability set not exercised"
fi

# cron: a stand-in binary records how it was called
mkdir -p "$T/bin" "$T/systemd"
cat >"$T/bin/netknobs" <<EOS
#!/bin/sh
echo "\$*" >>"$T/calls"
echo "report output"
exit \${STUB_RC:-0}
EOS
chmod +x "$T/bin/netknobs"
sed "s|^NETKNOBS=.*|NETKNOBS=$T/bin/netknobs|" "$cron_in" >"$T/cron"
chmod +x "$T/cron"
: >"$T/calls"
check_exit "cron: systemd running: exit 0" 0 env NETKNOBS_SYSTEMD_DIR="$T/systemd" "$T/cron"
check_eq "cron: systemd running: prints nothing" "" "$(cat "$T/out" "$T/err")"
check_eq "cron: systemd running: the timer's job, not run" "" "$(cat "$T/calls")"
check_exit "cron: no systemd: exit 0" 0 env NETKNOBS_SYSTEMD_DIR="$T/none" "$T/cron"
check_match "cron: no systemd: runs the report with the state directory" '^report --state-dir /[^ ]*/lib/netknobs$' "$(cat "$T/calls")"
check_eq "cron: the report's output reaches cron (mail)" "report output" "$(cat "$T/out")"
check_exit "cron: findings (exit 2) are not an error" 0 env STUB_RC=2 NETKNOBS_SYSTEMD_DIR="$T/none" "$T/cron"
check_exit "cron: exit 3 is passed on" 3 env STUB_RC=3 NETKNOBS_SYSTEMD_DIR="$T/none" "$T/cron"
sed -i "s|^NETKNOBS=.*|NETKNOBS=$T/bin/absent|" "$T/cron"
check_exit "cron: package removed, not purged: silent exit 0" 0 env NETKNOBS_SYSTEMD_DIR="$T/none" "$T/cron"
check_eq "cron: removed: prints nothing" "" "$(cat "$T/out" "$T/err")"
finish
