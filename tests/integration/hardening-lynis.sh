#!/bin/sh
# The hardening rule set agrees with Lynis's default profile wherever both
# name a key: every "config-data=sysctl;KEY;EXPECTED;..." line of
# /etc/lynis/default.prf (Debian package lynis) whose key the hardening
# rules recommend must expect the value netknobs recommends.
. "$TESTLIB"
PRF=${LYNIS_PROFILE:-/etc/lynis/default.prf}
[ -r "$PRF" ] || skip "Lynis profile $PRF not found (apt-get install lynis)"
HARD="$TOP_SRCDIR/rules/hardening.yaml"

# a facts document in which every key the hardening rules read is wrong (7),
# so that every rule fires and recommends its value (with the core facts a
# saved document needs to be judged at all: the queue keys, TCP counters)
keys=$("$NETKNOBS" rules --no-default-rules --rules "$HARD" --json >/dev/null &&
	grep -o 'sysctl("[^"]*")' "$HARD" | sed 's/sysctl("\(.*\)")/\1/' | sort -u)
[ -n "$keys" ] || fail "no keys found in $HARD"
printf '%s\n' $keys | jq -R . | jq -s '{schema_version: 1, host: {kernel_release: "6.1.0"},
	sysctl: ((map({(.): 7}) | add) + {"net.core.somaxconn": 4096, "net.ipv4.tcp_max_syn_backlog": 4096}),
	counters: {TcpExt: {ListenOverflows: 0}, Tcp: {ActiveOpens: 0}},
	sockets: {source: "netlink", listeners: []}}' >"$T/facts.json"
check_exit "every hardening rule fires on wrong values" 0 sh -c \
	"'$NETKNOBS' audit --from '$T/facts.json' --no-default-rules --rules '$HARD' --only hardening --format json >'$T/audit.json'; test \$? -le 2"
check_eq "no hardening rule passes on wrong values" 0 "$(jq .summary.passed "$T/audit.json")"
jq -r '.recommendations[] | "\(.key) \(.value)"' "$T/audit.json" >"$T/recs"

compared=0
grep '^config-data=sysctl;' "$PRF" | cut -d';' -f2,3 | tr ';' ' ' >"$T/lynis"
while read -r key want; do
	ours=$(awk -v k="$key" '$1 == k { print $2 }' "$T/recs")
	[ -n "$ours" ] || continue
	compared=$((compared + 1))
	case "|$want|" in
	*"|$ours|"*) pass "$key: netknobs $ours, Lynis $want" ;;
	*) fail "$key: netknobs recommends $ours, Lynis expects $want" ;;
	esac
done <"$T/lynis"
# keys the rules check but do not recommend (read-only ones such as
# net.ipv4.conf.all.mc_forwarding, which only a multicast routing daemon
# sets): every value Lynis accepts must pass the rule that checks the key
printf '%s\n' $keys >"$T/keylist"
checked=0
while read -r key want; do
	grep -qx "$key" "$T/keylist" || continue
	[ -z "$(awk -v k="$key" '$1 == k' "$T/recs")" ] || continue
	[ "$(jq --arg k "$key" '[.findings[] | select(.subject == $k)] | length' "$T/audit.json")" -gt 0 ] || continue
	for v in $(printf '%s' "$want" | tr '|' ' '); do
		jq --arg k "$key" --argjson v "$v" '.sysctl[$k] = $v' "$T/facts.json" >"$T/one.json"
		"$NETKNOBS" audit --from "$T/one.json" --no-default-rules --rules "$HARD" --only hardening \
			--format json >"$T/one-audit.json" || true
		check_eq "$key: Lynis's $v passes (checked, not recommended)" 0 \
			"$(jq --arg k "$key" '[.findings[] | select(.subject == $k)] | length' "$T/one-audit.json")"
	done
	checked=$((checked + 1))
done <"$T/lynis"
if [ "$checked" -ge 1 ]; then pass "$checked key(s) checked without a recommendation"; else fail "no key checked without a recommendation"; fi

# the comparison must not be vacuous
if [ "$compared" -ge 15 ]; then pass "$compared keys compared"; else fail "only $compared keys compared"; fi
finish
