#!/bin/sh
# packaging/contrib/ansible/netknobs-fleet.yml run for real with ansible-core
# against an inventory of local "hosts", each a --root tree of its own: one
# with a full conntrack table and SYN cookies off (critical), two with SYN
# cookies off (warning, one also a low somaxconn), one quiet, one with
# nothing readable (could not audit), and one unreachable over ssh.  The
# summary (fleet.json, fleet.txt) names each host with its worst severity,
# the finding three hosts share, each host's findings and recommendations;
# the documents gathered are those netknobs prints; --check writes the
# summary and changes nothing on the hosts.
. "$TESTLIB"
command -v ansible-playbook >/dev/null 2>&1 || skip "needs ansible-playbook (ansible-core)"

PLAY=$TOP_SRCDIR/packaging/contrib/ansible/netknobs-fleet.yml
export HOME="$T/home" ANSIBLE_LOCAL_TEMP="$T/ansible-tmp" ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
# no __pycache__ next to the playbook's filters in the source tree
export PYTHONDONTWRITEBYTECODE=1
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_HOST_KEY_CHECKING=0 LC_ALL=C.UTF-8
mkdir -p "$HOME"

# the hosts: copies of the basic fixture root
B=$FIXTURES/roots/basic
for h in crit warn1 warn2 calm; do cp -r "$B" "$T/$h"; done
mkdir -p "$T/crit/proc/sys/net/netfilter" "$T/blind"
echo 1000 >"$T/crit/proc/sys/net/netfilter/nf_conntrack_max"
echo 1000 >"$T/crit/proc/sys/net/netfilter/nf_conntrack_count"
for h in crit warn1 warn2; do echo 0 >"$T/$h/proc/sys/net/ipv4/tcp_syncookies"; done
echo 64 >"$T/warn2/proc/sys/net/core/somaxconn"
{
	echo "[fleet]"
	for h in crit warn1 warn2 calm blind; do echo "$h netknobs_options=\"--root $T/$h\""; done
	echo "[fleet:vars]"
	echo "ansible_connection=local"
	echo "[away]"
	echo "gone ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh ansible_timeout=3"
} >"$T/inventory"
command -v ssh >/dev/null 2>&1 && HOSTS="fleet:away" || HOSTS=fleet
tree_sum() { (cd "$T" && find crit warn1 warn2 calm blind -type f -exec md5sum {} + | sort | md5sum); }
before=$(tree_sum)

# play DIR [ansible-playbook options]: the summary into DIR
play() {
	_d=$1
	shift
	set +e
	ansible-playbook -i "$T/inventory" "$PLAY" -e "netknobs_hosts=$HOSTS" -e netknobs_become=false \
		-e "netknobs_bin=$NETKNOBS" -e "netknobs_summary_dir=$_d" "$@" >"$T/play.out" 2>&1
	play_rc=$?
	set -e
}
S=$T/summary
play "$S"
[ "$HOSTS" = fleet ] || play_rc_ok=4      # an unreachable host: ansible-playbook exits 4
check_eq "the play ends as expected (exit ${play_rc_ok:-0})" "${play_rc_ok:-0}" "$play_rc"
check_eq "no task failed" "" "$(grep -E '^[a-z0-9]+ +:.*failed=[1-9]' "$T/play.out" || true)"
J=$S/fleet.json
check_eq "fleet.json: valid JSON, version 1" 1 "$(jq .fleet_summary_version "$J")"
n=5
[ "$HOSTS" = fleet ] || n=6
check_eq "fleet.json: every host" "$n" "$(jq .hosts "$J")"
check_eq "worst critical: crit" '["crit"]' "$(jq -c .by_worst.critical "$J")"
check_eq "worst warning: warn1, warn2" '["warn1","warn2"]' "$(jq -c .by_worst.warning "$J")"
check_eq "calm: notices only" '["calm"]' "$(jq -c .by_worst.notice "$J")"
if [ "$HOSTS" = fleet ]; then u='["blind"]'; else u='["blind","gone"]'; fi
check_eq "could not be audited: blind (and the unreachable one)" "$u" "$(jq -c .by_worst.unknown "$J")"
order="crit blind warn1 warn2 calm"
[ "$HOSTS" = fleet ] || order="crit blind gone warn1 warn2 calm"
check_eq "hosts in order of worst severity, then name" "$order" "$(jq -r '[.per_host[].host] | join(" ")' "$J")"
check_eq "the order: critical, could not audit, warning, notice" "critical unknown warning warning notice" \
	"$(jq -r '[.per_host[] | select(.host != "gone") | .worst] | join(" ")' "$J")"
check_eq "blind: why" "could not audit: core facts unreadable: counters, sockets, sysctl" \
	"$(jq -r '.per_host[] | select(.host == "blind") | .error' "$J")"
check_eq "blind: netknobs' exit status" 3 "$(jq -r '.per_host[] | select(.host == "blind") | .exit_status' "$J")"
if [ "$HOSTS" != fleet ]; then
	check_match "gone: unreachable, said so" 'unreachable' "$(jq -r '.per_host[] | select(.host == "gone") | .error' "$J")"
fi
check_eq "shared: SYN cookies off on crit, warn1, warn2" '{"severity":"warning","hosts":["crit","warn1","warn2"],"count":3}' \
	"$(jq -c '.shared_findings[] | select(.rule == "backlog.syncookies-off") | {severity, hosts, count}' "$J")"
check_eq "shared: most hosts first" "$(jq '[.shared_findings[].count] | sort | reverse' "$J")" "$(jq '[.shared_findings[].count]' "$J")"
check_eq "crit: the conntrack table, critical" "critical net.netfilter.nf_conntrack_max" \
	"$(jq -r '.per_host[] | select(.host == "crit") | .findings[] | select(.rule == "limits.conntrack-full") | "\(.severity) \(.subject)"' "$J")"
check_eq "crit: recommendations" "net.ipv4.tcp_syncookies = 1,net.netfilter.nf_conntrack_max = 131072" \
	"$(jq -r '[.per_host[] | select(.host == "crit") | .recommendations[].sysctl_d] | sort | join(",")' "$J")"
check_eq "warn2: its own finding (somaxconn low)" "net.core.somaxconn" \
	"$(jq -r '.per_host[] | select(.host == "warn2") | .findings[] | select(.rule == "backlog.somaxconn-low") | .subject' "$J")"
check_eq "warn1: not that one" "" \
	"$(jq -r '.per_host[] | select(.host == "warn1") | .findings[] | select(.rule == "backlog.somaxconn-low") | .subject' "$J")"
check_eq "calm: nothing to recommend" 0 "$(jq '.per_host[] | select(.host == "calm") | .recommendations | length' "$J")"
# each host as netknobs itself sees it
for h in crit warn1 warn2 calm; do
	set +e
	"$NETKNOBS" --root "$T/$h" audit --format json >"$T/$h.audit.json" 2>/dev/null
	set -e
	check_eq "$h: the gathered document is netknobs' audit" "$(jq -c '[.summary, [.findings[] | [.rule, .subject]]]' "$T/$h.audit.json")" \
		"$(jq -c '[.summary, [.findings[] | [.rule, .subject]]]' "$S/hosts/$h.json")"
	check_eq "$h: its summary in the fleet's" "$(jq -Sc .summary "$T/$h.audit.json")" \
		"$(jq -Sc --arg h "$h" '.per_host[] | select(.host == $h) | .summary' "$J")"
done
TXT=$(cat "$S/fleet.txt")
check_match "text: the headline" "^netknobs fleet summary: $n hosts \\(1 critical, [12] could not be audited, 2 warning, 1 notice\\)$" "$TXT"
check_match "text: crit first, critical" '^  critical  crit +1 critical, 2 warnings' "$TXT"
check_match "text: blind, and why" '^  unknown   blind +could not audit: core facts unreadable' "$TXT"
check_match "text: the shared finding" '^  3 of [56]  warning   backlog.syncookies-off: SYN cookies disabled$' "$TXT"
check_match "text: on which hosts" '^ +on crit, warn1, warn2$' "$TXT"
check_match "text: crit's sysctl.d lines" '^    net.netfilter.nf_conntrack_max = 131072$' "$TXT"
check_match "the play shows the text" 'netknobs fleet summary: ' "$(cat "$T/play.out")"

# --check: the same summary, nothing changed on the hosts
play "$T/checked" --check
check_eq "--check: the play ends as before" "${play_rc_ok:-0}" "$play_rc"
check_eq "--check: the summary is written" "$(jq -c .by_worst "$J")" "$(jq -c .by_worst "$T/checked/fleet.json" 2>&1)"
check_eq "the hosts' trees are unchanged" "$before" "$(tree_sum)"
[ "$fails" = 0 ] || sed 's/^/# /' "$T/play.out" | tail -n 40
finish
