#!/bin/sh
# The short audit: a summary read in ten seconds.  Its length on a plain
# host (saved facts, a --root tree) and on a host that fails 10 hardening
# keys (a network namespace); one line per finding in the findings' order,
# a rule's findings together with why and risk once, the recommendations
# as sysctl.d lines and one sysctl -w command that really sets them (run
# inside the namespace, after which nothing is left to report); --verbose
# the full text; every observed value with its unit; hundreds of findings
# of one rule still a summary.
. "$TESTLIB"
NK=$NETKNOBS
FACTS="$FIXTURES/facts/basic.json"

# lines of the full text as audit printed it before (the findings and the
# recommendations, without the results list that -v adds)
full_lines() { "$NK" audit -v "$@" | sed '/^Results:$/,$d' | wc -l; }

# ---- a plain host: saved facts (6 findings, one rule with two)
"$NK" audit --from "$FACTS" >"$T/basic.txt" || true
n=$(wc -l <"$T/basic.txt")
before=$(full_lines --from "$FACTS" || true)
echo "plain host (--from basic.json): $n lines, the full text $before"
check_match "plain host: at most 25 lines ($n)" '^(1?[0-9]|2[0-5])$' "$n"
check_match "plain host: the full text is longer than 25 ($before)" '^([3-9][0-9]|[1-9][0-9][0-9]+)$' "$before"
check_match "verdict first" '^netknobs audit: 0 critical, 4 warnings, 2 notices' "$(head -n 1 "$T/basic.txt")"
"$NK" audit --from "$FACTS" --format json >"$T/basic.json" || true
# every finding once, most severe first: the severities of the lines in the
# order of the findings in the JSON
want=$(jq -r '.findings[] | .severity | ascii_upcase' "$T/basic.json" | uniq | tr '\n' ' ')
got=$(grep -oE '^(CRITICAL|WARNING|NOTICE|INFO) ' "$T/basic.txt" | tr -d ' ' | uniq | tr '\n' ' ')
check_eq "findings in their order, most severe first" "$want" "$got"
check_eq "a rule's two findings together under its title, with the count" 1 \
	"$(grep -c "^WARNING  Listener's process close to its open-file limit  \[backlog.process-fd-limit, 2\]$" "$T/basic.txt")"
check_match "each subject of the rule on a line under it" '^  \[::\]:443 +Processes serving \[::\]:443 \(nginx\) are close to their open-file limit$' \
	"$(cat "$T/basic.txt")"
check_eq "why once for the rule" 1 "$(grep -c '^  why: A process out of file descriptors cannot accept connections' "$T/basic.txt")"
check_eq "risk once for the rule" 1 "$(grep -c '^  risk: Higher limits let a leaking process' "$T/basic.txt")"
check_match "a finding alone: severity, subject, what is wrong with the numbers" \
	'^WARNING  0\.0\.0\.0:80 +\(nginx\) is limited to 511 connections, below net\.core\.somaxconn' "$(cat "$T/basic.txt")"
check_match "a long message cut short keeps its number (observed)" \
	'^NOTICE   TcpExt\.ListenDrops +Since boot .*\.\.\. observed: 1532 \(count\)$' "$(cat "$T/basic.txt")"
check_eq "no line wider than 100 columns" 0 "$(awk 'length > 100' "$T/basic.txt" | wc -l)"
check_match "where the rest is" '^Each finding in full, with its rule, why and at what risk: netknobs audit -v\.$' \
	"$(tail -n 1 "$T/basic.txt")"

# ---- hundreds of findings of one rule (a host with 300 more listeners like
# nginx's on :80): the first 10 under the rule's title, the others counted;
# -v lists each
command -v python3 >/dev/null 2>&1 || skip "needs python3"
python3 - "$FACTS" "$T/many.json" <<'EOF'
import copy, json, sys
d = json.load(open(sys.argv[1]))
nginx = [l for l in d["sockets"]["listeners"] if l["port"] == 80][0]
for i in range(300):
    l = copy.deepcopy(nginx)
    l["port"], l["inode"] = 10000 + i, 900000 + i
    d["sockets"]["listeners"].append(l)
json.dump(d, open(sys.argv[2], "w"))
EOF
"$NK" audit --from "$T/many.json" >"$T/many.txt" || true
n=$(wc -l <"$T/many.txt")
echo "301 listeners failing the same rules: $n lines"
check_match "hundreds of findings: a summary still ($n lines)" '^[1-5]?[0-9]$' "$n"
check_eq "the first 10 subjects of the rule" 10 \
	"$(sed -n '/\[backlog\.app-backlog, 301\]$/,/^  and /p' "$T/many.txt" | grep -c '^  0\.0\.0\.0:')"
check_match "the others counted" '^  and 291 more \(netknobs audit -v lists each\)$' "$(cat "$T/many.txt")"
check_eq "-v lists each" 301 \
	"$("$NK" audit --from "$T/many.json" -v | grep -cE '^WARNING  0\.0\.0\.0:[0-9]+  \[backlog\.app-backlog\]$' || true)"

# ---- --verbose: the full text, each finding with why and risk, the
# results; observed values with their units
"$NK" audit --from "$FACTS" -v >"$T/basic-v.txt" || true
check_eq "-v: every finding with its why" "$(jq '.findings | length' "$T/basic.json")" \
	"$(grep -c '^  why: ' "$T/basic-v.txt")"
check_match "-v: the results" '^Results:$' "$(cat "$T/basic-v.txt")"
check_match "-v: observed in percent" '^  observed: 97%$' "$(cat "$T/basic-v.txt")"
check_match "-v: observed in connections" '^  observed: 511 connections$' "$(cat "$T/basic-v.txt")"
check_match "-v: a counter observed as a count" '^  observed: 1532 \(count\)$' "$(cat "$T/basic-v.txt")"
check_match "-v: a result's observed value with its unit" ' observed 4096 \(setting\)' "$(cat "$T/basic-v.txt")"
check_eq "JSON: the unit next to each observed value" \
	"$(jq '[.findings[] | select(has("observed"))] | length' "$T/basic.json")" \
	"$(jq '[.findings[] | select(has("observed_unit"))] | length' "$T/basic.json")"
check_eq "JSON: units of the rules" '["connections","count","percent"]' \
	"$(jq -c '[.findings[] | select(has("observed")) | .observed_unit] | unique' "$T/basic.json")"

# ---- a plain host: a --root tree
"$NK" --root "$FIXTURES/roots/basic" audit >"$T/root.txt" || true
n=$(wc -l <"$T/root.txt")
before=$("$NK" --root "$FIXTURES/roots/basic" audit -v | sed '/^Results:$/,$d' | wc -l || true)
echo "plain host (--root roots/basic): $n lines, the full text $before"
check_match "--root tree: at most 25 lines ($n)" '^(1?[0-9]|2[0-5])$' "$n"

# ---- a host that fails 10 hardening keys: a fresh network namespace
# fails 15; 5 of them set as the baseline wants
need_root
make_ns ns hard
in_ns "$ns" sysctl -qw net.ipv4.conf.all.log_martians=1 net.ipv4.conf.default.log_martians=1 \
	net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 net.ipv6.conf.all.accept_ra=0 ||
	skip "cannot set the namespace's keys"
in_ns "$ns" "$NK" audit --only hardening --format json >"$T/h.json" || true
check_eq "the namespace fails 10 hardening keys" 10 "$(jq '[.recommendations[] | select(.satisfied | not)] | length' "$T/h.json")"
in_ns "$ns" "$NK" audit --only hardening >"$T/h.txt" || true
n=$(wc -l <"$T/h.txt")
before=$(in_ns "$ns" "$NK" audit --only hardening -v | sed '/^Results:$/,$d' | wc -l || true)
echo "--only hardening, 10 keys failing: $n lines, the full text $before"
check_match "--only hardening, 10 keys: at most 30 lines ($n)" '^(1?[0-9]|2[0-9]|30)$' "$n"
check_eq "one line per finding" "$(jq '.findings | length' "$T/h.json")" \
	"$(grep -cE '^(WARNING|NOTICE)  +net\.ipv[46]\.' "$T/h.txt")"
check_match "a finding's line" '^WARNING  net\.ipv4\.conf\.all\.accept_redirects +is 1; the hardening baseline expects 0$' \
	"$(cat "$T/h.txt")"
check_match "a sysctl.d line with the value now" '^  net\.ipv4\.conf\.all\.accept_redirects = 0 +\(now 1\)$' "$(cat "$T/h.txt")"
# the sysctl -w command (continued with backslashes) sets every value
sed -n '/^  sysctl -w /,/[^\\]$/p' "$T/h.txt" >"$T/cmd.sh"
check_eq "one sysctl -w command for the 10 keys" 10 "$(grep -o '[a-z0-9_.]*=[0-9]*' "$T/cmd.sh" | wc -l)"
check_exit "the command runs in the namespace" 0 in_ns "$ns" sh "$T/cmd.sh"
check_exit "after it, nothing to report" 0 in_ns "$ns" "$NK" audit --only hardening
check_match "nothing to report" '^Nothing to report\.' "$(cat "$T/out")"

# ---- the same namespace seen from outside (--netns): the forms that reach it
make_ns ns2 hard2
"$NK" --netns "$ns2" audit --only hardening >"$T/n.txt" || true
check_match "--netns: the heading names the namespace" "^Recommended settings for $ns2 \\(named" "$(cat "$T/n.txt")"
check_match "--netns: one command through ip netns exec" "^  ip netns exec $ns2 sysctl -w net\\." "$(cat "$T/n.txt")"
check_eq "--netns: no bare sysctl -w" 0 "$(grep -cE '^ *sysctl -w [a-z0-9_.]+=' "$T/n.txt" || true)"
check_match "--netns: what keeps them, once" "^  lasting: whatever runs \`ip netns add $ns2\`" "$(cat "$T/n.txt")"
sed -n '/^  ip netns exec /,/[^\\]$/p' "$T/n.txt" >"$T/cmd2.sh"
check_exit "the command for the namespace runs from outside" 0 sh "$T/cmd2.sh"
check_exit "after it, nothing to report there" 0 "$NK" --netns "$ns2" audit --only hardening

finish
