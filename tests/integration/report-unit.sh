#!/bin/sh
# The report service's command (ExecStart of netknobs-report.service) and
# the cron script, run for real with a private state directory: exit 0-2,
# state kept.
. "$TESTLIB"
: "${TOP_BUILDDIR:?run through make check}"

svc=$TOP_BUILDDIR/packaging/systemd/netknobs-report.service
cmd=$(sed -n 's/^ExecStart=//p' "$svc")
check_match "ExecStart found" 'netknobs report' "$cmd"
# the same arguments, with the binary under test and a private state directory
args=$(printf '%s\n' "$cmd" | sed 's/^[^ ]* //; s/--state-dir [^ ]*//')
mkdir -p "$T/state"
set +e
# shellcheck disable=SC2086 # the unit's words
"$NETKNOBS" $args --state-dir "$T/state" >"$T/run1" 2>&1
rc1=$?
"$NETKNOBS" $args --state-dir "$T/state" >"$T/run2" 2>&1
rc2=$?
set -e
check_match "first run: exit 0-2 (the unit's success statuses)" '^[012]$' "$rc1"
check_match "second run: exit 0-2" '^[012]$' "$rc2"
check_eq "state kept in the state directory" yes "$([ -n "$(ls -A "$T/state")" ] && echo yes || echo no)"

# cron, as on a host without systemd, with the binary under test
sed -e "s|^NETKNOBS=.*|NETKNOBS=$NETKNOBS|" -e "s|--state-dir [^ ]*|--state-dir $T/cronstate|" \
	"$TOP_BUILDDIR/packaging/cron/netknobs" >"$T/cron"
chmod +x "$T/cron"
mkdir -p "$T/cronstate"
check_exit "cron script runs the report" 0 env NETKNOBS_SYSTEMD_DIR="$T/none" "$T/cron"
check_exit "cron script again" 0 env NETKNOBS_SYSTEMD_DIR="$T/none" "$T/cron"
check_eq "cron script kept state" yes "$([ -n "$(ls -A "$T/cronstate")" ] && echo yes || echo no)"
finish
