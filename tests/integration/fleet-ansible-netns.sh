#!/bin/sh
# packaging/contrib/ansible/netknobs-fleet.yml with ansible-core against an
# inventory whose hosts are network namespaces: each a local connection
# whose netknobs is a wrapper running it under `ip netns exec`.  "web":
# nginx (Debian's) with a backlog of 16 and its worker stopped, its queue
# overflowing (critical); "db" and "cache": SYN cookies off (a warning they
# share), "cache" also a somaxconn of 64; "calm": nothing set.  The
# summary names each with its worst severity and its own findings, the
# shared one with both hosts, and the recommendations of each.
. "$TESTLIB"
. "$TOP_SRCDIR/tests/servers.sh"
need_root
command -v ansible-playbook >/dev/null 2>&1 || skip "needs ansible-playbook (ansible-core)"
srv_need nginx ss
[ -x "$HELPERS/connect-burst" ] || skip "needs tests/helpers/connect-burst (make check builds it)"

PLAY=$TOP_SRCDIR/packaging/contrib/ansible/netknobs-fleet.yml
export HOME="$T/home" ANSIBLE_LOCAL_TEMP="$T/ansible-tmp" ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
# no __pycache__ next to the playbook's filters in the source tree
export PYTHONDONTWRITEBYTECODE=1
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 LC_ALL=C.UTF-8
mkdir -p "$HOME"
P=8080

make_ns WEB web
make_ns DB db
make_ns CACHE cache
make_ns CALM calm
srv_nginx "$WEB" 127.0.0.1 "$P" workers=1 backlog=16 || finish
srv_stop "$(srv_children "$SRV_PID")"
ip netns exec "$WEB" "$HELPERS/connect-burst" -x -w 500 127.0.0.1 "$P" 40 >"$T/burst"
full() { [ "$(ip netns exec "$WEB" ss -Hltn "sport = :$P" | awk '{ print $2 "/" $3 }')" = 17/16 ]; }
srv_until 10 full || fail "web's queue did not fill: $(ip netns exec "$WEB" ss -Hltn)"
srv_sysctl "$DB" net.ipv4.tcp_syncookies=0
srv_sysctl "$CACHE" net.ipv4.tcp_syncookies=0 net.core.somaxconn=64

# the inventory: each host's netknobs runs inside its namespace
{
	echo "[fleet]"
	for h in web db cache calm; do
		eval "ns=\$$(echo "$h" | tr a-z A-Z)"
		printf '#!/bin/sh\nexec ip netns exec %s "%s" "$@"\n' "$ns" "$NETKNOBS" >"$T/nk-$h"
		chmod +x "$T/nk-$h"
		echo "$h netknobs_bin=$T/nk-$h"
	done
	echo "[fleet:vars]"
	echo "ansible_connection=local"
} >"$T/inventory"
# the namespaces' own settings (net.*; conntrack's count moves by itself)
sysctls() {
	for n in "$WEB" "$DB" "$CACHE" "$CALM"; do
		ip netns exec "$n" sysctl -a 2>/dev/null | grep '^net\.' | grep -v -e '^net.netfilter' -e 'stable_secret' | sort
	done | md5sum
}
before=$(sysctls)

S=$T/summary
set +e
ansible-playbook -i "$T/inventory" "$PLAY" -e netknobs_become=false -e "netknobs_summary_dir=$S" --check >"$T/play.out" 2>&1
rc=$?
set -e
check_eq "the play succeeds (--check)" 0 "$rc"
J=$S/fleet.json
check_eq "every namespace a host" 4 "$(jq .hosts "$J")"
check_eq "web: critical" '["web"]' "$(jq -c .by_worst.critical "$J")"
check_eq "db and cache: warning" '["cache","db"]' "$(jq -c .by_worst.warning "$J")"
check_match "calm: neither" '^(ok|notice|info)$' "$(jq -r '.per_host[] | select(.host == "calm") | .worst' "$J")"
check_eq "the order" "web cache db calm" "$(jq -r '[.per_host[].host] | join(" ")' "$J")"
# finding HOST RULE: the subjects of RULE's findings on HOST
finding() { jq -r --arg h "$1" --arg r "$2" '[.per_host[] | select(.host == $h) | .findings[] | select(.rule == $r) | .subject] | join(",")' "$J"; }
check_eq "web: its full queue, named" "127.0.0.1:$P" "$(finding web backlog.queue-full)"
check_eq "web: its worker stopped, named" "127.0.0.1:$P" "$(finding web backlog.owner-stopped)"
check_eq "db: SYN cookies off" "net.ipv4.tcp_syncookies" "$(finding db backlog.syncookies-off)"
check_eq "cache: somaxconn low, its own" "net.core.somaxconn" "$(finding cache backlog.somaxconn-low)"
for h in web db calm; do
	check_eq "$h: no somaxconn finding" "" "$(finding "$h" backlog.somaxconn-low)"
done
for h in web calm; do
	check_eq "$h: SYN cookies are on there" "" "$(finding "$h" backlog.syncookies-off)"
done
check_eq "the shared finding: db and cache" '{"severity":"warning","hosts":["cache","db"],"count":2}' \
	"$(jq -c '.shared_findings[] | select(.rule == "backlog.syncookies-off") | {severity, hosts, count}' "$J")"
check_eq "db: to set" "net.ipv4.tcp_syncookies = 1" \
	"$(jq -r '[.per_host[] | select(.host == "db") | .recommendations[].sysctl_d] | join(",")' "$J")"
check_match "cache: somaxconn among its recommendations" 'net.core.somaxconn = ' \
	"$(jq -r '.per_host[] | select(.host == "cache") | .recommendations[].sysctl_d' "$J")"
check_eq "calm: nothing to set" 0 "$(jq '.per_host[] | select(.host == "calm") | .recommendations | length' "$J")"
# the gathered documents are each namespace's own
set +e
ip netns exec "$WEB" "$NETKNOBS" audit --format json >"$T/web.audit.json" 2>/dev/null
set -e
check_eq "web's document: its namespace's audit" "$(jq -c '[.summary, [.findings[] | [.rule, .subject]]]' "$T/web.audit.json")" \
	"$(jq -c '[.summary, [.findings[] | [.rule, .subject]]]' "$S/hosts/web.json")"
TXT=$(cat "$S/fleet.txt")
check_match "text: web first, critical" '^  critical  web +1 critical' "$TXT"
check_match "text: the shared finding" '^  2 of 4  warning   backlog.syncookies-off: SYN cookies disabled$' "$TXT"
check_match "text: web's listener" "^  critical  backlog.queue-full  127.0.0.1:$P: Accept queue full\$" "$TXT"
check_eq "nothing changed in the namespaces" "$before" "$(sysctls)"
[ "$fails" = 0 ] || sed 's/^/# /' "$T/play.out" | tail -n 40
finish
