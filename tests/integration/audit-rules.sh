#!/bin/sh
# audit on saved facts with test rule sets: statuses, merging, overrides,
# waivers, filters, exit codes, JSON and text output.
. "$TESTLIB"
FACTS="$FIXTURES/facts/basic.json"
RULES="$TOP_SRCDIR/tests/rules/good"
export NETKNOBS_TODAY=2026-06-01
A="$NETKNOBS audit --from $FACTS --no-default-rules --rules $RULES/engine.yaml"

# an evaluation error (division by zero) makes the audit exit 3 and names the rule
check_exit "rule error -> exit 3" 3 $A
check_match "error names rule and place" 'rule t.div-zero \(.*engine.yaml:[0-9]+:[0-9]+\): division by zero' "$(cat "$T/err")"
check_match "verdict counts the error" '^netknobs audit: 1 critical, 3 warnings, 1 notice, 1 passed, 2 not applicable, 1 rule error$' "$(head -1 "$T/out")"

# without the broken rule: exit code follows the worst severity
check_exit "critical -> exit 2" 2 $A --only test
check_exit "--fail-on critical still 2" 2 $A --only test --fail-on critical
check_exit "only warnings -> exit 1" 1 $A --rule t.listener-limit
check_exit "warnings below --fail-on critical -> 0" 0 $A --rule t.listener-limit --fail-on critical
check_exit "notice below default threshold -> 0" 0 $A --rule t.notice
check_exit "notice at --fail-on notice -> 1" 1 $A --rule t.notice --fail-on notice
check_exit "unknown --rule id" 3 $A --rule t.listener-limt
check_match "unknown --rule suggests" "did you mean 't.listener-limit'" "$(cat "$T/err")"
check_exit "bad --fail-on" 3 $A --fail-on severe

# JSON: statuses, findings order, merged recommendations
check_exit "json audit" 2 $A --only test --format json
J="$T/out"; cp "$J" "$T/a.json"; J="$T/a.json"
check_eq "schema_version" 1 "$(jq .schema_version "$J")"
check_eq "summary" '{"critical":1,"warning":3,"notice":0,"info":0,"passed":1,"not_applicable":2,"waived":0,"disabled":0,"errors":0}' "$(jq -c .summary "$J")"
check_eq "findings sorted by severity" '"critical"' "$(jq '.findings[0].severity' "$J")"
check_eq "finding carries rule, ruleset and source" '"t.somaxconn-var engine-test"' "$(jq '.findings[0] | .rule + " " + .ruleset' "$J")"
check_match "finding source is file:line:col" 'engine.yaml:[0-9]+:[0-9]+"$' "$(jq '.findings[0].source' "$J")"
check_eq "absent fact -> not applicable" '"not-applicable"' "$(jq '[.results[] | select(.rule == "t.absent-key")][0].status' "$J")"
check_eq "applies false -> not applicable" '"not-applicable"' "$(jq '[.results[] | select(.rule == "t.applies-false")][0].status' "$J")"
check_eq "foreach: counts per status" '{"pass":1,"not-applicable":0,"fail":3,"error":0,"waived":0}' "$(jq -c '.results[] | select(.rule == "t.listener-limit") | .counts' "$J")"
check_eq "foreach: failing items listed, passes only counted" 3 "$(jq '.results[] | select(.rule == "t.listener-limit") | .items | length' "$J")"
check_exit "verbose json keeps every item" 2 $A --only test --format json --verbose
check_eq "verbose: all four items" 4 "$(jq '.results[] | select(.rule == "t.listener-limit") | .items | length' "$T/out")"
check_eq "foreach subject" '"0.0.0.0:22"' "$(jq '[.findings[] | select(.rule == "t.listener-limit")][0].subject' "$J")"
check_eq "template interpolation and braces" '"0.0.0.0:22 may hold 128 connections ({braces} kept)"' "$(jq '[.findings[] | select(.rule == "t.listener-limit")][0].message' "$J")"
check_eq "merged: at-least takes the largest" 8192 "$(jq '.recommendations[] | select(.key == "net.core.somaxconn") | .value' "$J")"
check_eq "merged: names every rule that asked" '["t.listener-limit","t.somaxconn-var"]' "$(jq -c '.recommendations[] | select(.key == "net.core.somaxconn") | .rules' "$J")"
check_eq "merged: current value" 4096 "$(jq '.recommendations[] | select(.key == "net.core.somaxconn") | .current' "$J")"
check_eq "sysctl -w line" '"sysctl -w net.core.somaxconn=8192"' "$(jq '.recommendations[] | select(.key == "net.core.somaxconn") | .sysctl_w' "$J")"
check_eq "sysctl.d line" '"net.core.somaxconn = 8192"' "$(jq '.recommendations[] | select(.key == "net.core.somaxconn") | .sysctl_d' "$J")"

# the JSON follows doc/audit-schema.json (and a broken document does not)
SCHEMA="$TOP_SRCDIR/doc/audit-schema.json"
CHECK="$TOP_SRCDIR/tests/schema-check.py"
check_exit "audit JSON valid against the schema" 0 python3 "$CHECK" "$SCHEMA" "$J"
jq 'del(.verdict)' "$J" >"$T/broken.json"
check_exit "schema check catches a missing key" 1 python3 "$CHECK" "$SCHEMA" "$T/broken.json"

check_exit "at-most recommendation" 0 $A --rule t.notice --format json
check_eq "at-most mode kept" '"at-most"' "$(jq '.recommendations[0].mode' "$T/out")"

# overrides: variables, severity, disable, waivers (active and expired)
O="$A --rules $RULES/site-override.yaml --only test --format json"
check_exit "audit with site overrides" 2 $O
cp "$T/out" "$T/o.json"; J="$T/o.json"
check_eq "site variable wins over the rule set's" 16384 "$(jq '.recommendations[] | select(.key == "net.core.somaxconn") | .value' "$J")"
check_eq "disabled rule reported as disabled" '"disabled"' "$(jq '[.results[] | select(.rule == "t.applies-false")][0].status' "$J")"
check_eq "foreach counts waived items apart" '{"pass":1,"not-applicable":0,"fail":2,"error":0,"waived":1}' "$(jq -c '.results[] | select(.rule == "t.listener-limit") | .counts' "$J")"
check_eq "active waiver: finding waived" '"waived"' "$(jq '[.findings[] | select(.subject == "0.0.0.0:22")][0].status' "$J")"
check_eq "active waiver: reason shown" '"sshd keeps its own backlog"' "$(jq '[.findings[] | select(.subject == "0.0.0.0:22")][0].waiver.reason' "$J")"
check_eq "expired waiver: finding returns" '"fail"' "$(jq '[.findings[] | select(.subject == "127.0.0.1:6379")][0].status' "$J")"
check_eq "expired waiver: marked expired" true "$(jq '[.findings[] | select(.subject == "127.0.0.1:6379")][0].waiver.expired' "$J")"
check_exit "audit JSON with waivers valid against the schema" 0 python3 "$CHECK" "$SCHEMA" "$J"
check_eq "waived finding not counted" '2 1' "$(jq -r '"\(.summary.warning) \(.summary.waived)"' "$J")"
check_exit "severity override" 1 $A --rules "$RULES/site-override.yaml" --rule t.notice
check_match "notice raised to warning" '^WARNING +net.ipv4.tcp_fin_timeout' "$(cat "$T/out")"
NETKNOBS_TODAY=2100-01-01 check_exit "after its expiry the waiver lapses" 2 $O
check_eq "both waivers expired" 0 "$(jq .summary.waived "$T/out")"

# rules: states
check_exit "rules lists states" 0 "$NETKNOBS" rules --no-default-rules --rules "$RULES/engine.yaml" --rules "$RULES/site-override.yaml"
check_match "rules: disabled" '^t.applies-false +critical +disabled \(' "$(cat "$T/out")"
check_match "rules: source file and line" 'engine.yaml:38\)$' "$(cat "$T/out")"
check_match "rules: waived and expired waivers" 't.listener-limit +warning +waived for 0.0.0.0:22 until 2099-12-31; waiver for 127.0.0.1:6379 expired 2020-01-01' "$(cat "$T/out")"
# a rule id longer than the column: every row's SEVERITY still starts in one column
cat >"$T/long-id.yaml" <<'EOF2'
ruleset: longid
version: 1
rules:
  - id: t.a-rule-id-much-longer-than-thirty-six-characters
    title: Long id
    severity: warning
    check: "true"
    message: m
    rationale: r
EOF2
check_exit "rules with a long id" 0 "$NETKNOBS" rules --no-default-rules --rules "$RULES/engine.yaml" --rules "$T/long-id.yaml"
check_eq "rules: SEVERITY aligned on every row" 1 \
	"$(sed '/^$/,$d' "$T/out" | awk '{ match($0, /^[^ ]+ +/); print RLENGTH }' | sort -u | wc -l)"
check_match "rules: the long id and its severity apart" '^t.a-rule-id-much-longer-than-thirty-six-characters warning ' "$(cat "$T/out")"
check_exit "rules --json" 0 "$NETKNOBS" rules --json
check_match "built-in rules listed" 'backlog.queue-full' "$(cat "$T/out")"

# text: verdict first, colors only when asked
check_exit "text audit" 2 $A --only test
check_match "text: verdict first" '^netknobs audit: 1 critical, 3 warnings' "$(head -1 "$T/out")"
check_match "text: recommendation block" 'sysctl -w net.core.somaxconn=8192' "$(cat "$T/out")"
check_eq "no escape codes when not a terminal" 0 "$(grep -c "$(printf '\033')" "$T/out" || true)"
check_exit "--color always" 2 $A --only test --color always
check_match "--color always colors" "$(printf '\033')\\[1;31mCRITICAL" "$(cat "$T/out")"
check_exit "verbose lists passes" 2 $A --only test --verbose
check_match "verbose: rule summary" '^  fail +t.listener-limit +\(1 passed, 0 not applicable, 3 failed\)' "$(cat "$T/out")"
check_match "verbose: passing item listed" '^    pass +t.listener-limit +:::443 +observed 4096' "$(cat "$T/out")"

# opt-in rule sets, profiles, notes, explain
B="$NETKNOBS audit --from $FACTS --no-default-rules --rules $RULES/engine.yaml --rules $RULES/optin.yaml"
check_exit "opt-in rule set not in the default audit" 2 $B --format json --rule t.somaxconn-var
check_eq "opt-in rule not evaluated" 0 "$(jq '[.results[] | select(.rule == "t.optin")] | length' "$T/out")"
check_exit "default audit skips the opt-in set" 3 $B --format json
check_eq "default audit: no t.optin result" 0 "$(jq '[.results[] | select(.rule == "t.optin")] | length' "$T/out")"
check_exit "--only selects opt-in rules" 0 $B --only optin --format json
check_eq "--only: t.optin evaluated (with the other rule set's variable)" '"pass"' "$(jq '[.results[] | select(.rule == "t.optin")][0].status' "$T/out")"
check_exit "--profile runs its rule sets with its variables" 1 $B --profile test-profile --format json
check_eq "--profile: only the profile's rule set" '["t.optin"]' "$(jq -c '[.results[].rule]' "$T/out")"
check_eq "--profile: variable applied" '"want_somaxconn is 2"' "$(jq '.findings[0].message' "$T/out")"
check_exit "--profile naming a missing rule set" 3 $B --rules "$RULES/../profiles-broken.yaml" --profile broken-profile
check_match "missing rule set named" "profile 'broken-profile' names rule set 'no-such-set', which is not loaded" "$(cat "$T/err")"
check_exit "profile setting an unknown variable" 3 $B --rules "$RULES/../profiles-broken.yaml" --profile typo-profile
check_match "unknown variable named" "profile 'typo-profile' sets variable 'want_somaxcon', which no loaded rule set defines" "$(cat "$T/err")"
check_exit "unknown profile" 3 $B --profile test-profil
check_match "unknown profile suggests" "no profile named 'test-profil'; did you mean 'test-profile'\?" "$(cat "$T/err")"
check_exit "recommendation note" 0 $A --rule t.notice --format json
check_eq "note on the finding's recommendation" '"Orphaned connections then give up sooner."' "$(jq '.findings[0].recommend[0].note' "$T/out")"
check_eq "notes on the merged recommendation" '["Orphaned connections then give up sooner."]' "$(jq -c '.recommendations[0].notes' "$T/out")"
check_exit "recommendation note in text" 0 $A --rule t.notice
check_match "text: note printed" 'note: Orphaned connections then give up sooner.' "$(cat "$T/out")"

E="$NETKNOBS explain --from $FACTS --no-default-rules --rules $RULES/engine.yaml --rules $RULES/optin.yaml"
check_exit "explain a documented key" 0 $E net.ipv4.tcp_fin_timeout
check_match "explain: summary" 'How long an orphaned connection may stay in FIN_WAIT2' "$(cat "$T/out")"
check_match "explain: default" 'default: +60 seconds' "$(cat "$T/out")"
check_match "explain: scope" 'per network namespace' "$(cat "$T/out")"
check_match "explain: value here" 'here: +60$' "$(cat "$T/out")"
check_match "explain: counter value" 'TcpExt.ListenOverflows = 1532' "$(cat "$T/out")"
check_match "explain: absent counter" 'TcpExt.NoSuchCounter = n/a' "$(cat "$T/out")"
check_match "explain: rules using it" 't.notice \(notice\)' "$(cat "$T/out")"
check_exit "explain --json" 0 $E net.ipv4.tcp_fin_timeout --json
check_eq "explain json: value" 60 "$(jq .value "$T/out")"
check_eq "explain json: rules" '["t.notice"]' "$(jq -c '[.rules[].id]' "$T/out")"
check_exit "explain a rule" 0 $E t.optin
check_match "explain rule: opt-in said" 'opt-in: runs with --only, --rule or a profile' "$(cat "$T/out")"
check_match "explain rule: check" 'check: +var.want_somaxconn != 2' "$(cat "$T/out")"
check_exit "explain an undocumented key" 0 $E net.core.wmem_max
check_match "explain: no documentation said" 'no documentation for this key' "$(cat "$T/out")"
check_exit "explain nonsense" 3 $E 'no/such/../thing'
check_exit "explain a bare key name" 3 $E tcp_fin_timeout
check_match "explain suggests the full key" "did you mean 'net.ipv4.tcp_fin_timeout'" "$(cat "$T/err")"
# a mistyped key on the live kernel: not documented, read by no rule and
# absent here: the closest key is suggested, exit 3 (never "no such key", 0)
check_exit "explain a mistyped key" 3 "$NETKNOBS" explain net.core.somaxcon
check_match "explain: the closest key suggested" "'net.core.somaxcon' is not a sysctl key.*did you mean 'net.core.somaxconn'\?" "$(cat "$T/err")"
check_eq "explain: nothing on standard output for a typo" "" "$(cat "$T/out")"
check_exit "explain a mistyped rule id" 3 "$NETKNOBS" explain backlog.queue-ful
check_match "explain: the closest rule suggested" "did you mean 'backlog.queue-full'\?" "$(cat "$T/err")"
check_exit "explain --json of a mistyped key" 3 "$NETKNOBS" explain net.core.somaxcon --json
check_exit "explain a real key no rule documents" 0 "$NETKNOBS" explain net.ipv4.tcp_keepalive_time
check_match "explain: its value here" '^  here: +[0-9]+$' "$(cat "$T/out")"
check_exit "profiles" 0 "$NETKNOBS" profiles --no-default-rules --rules "$RULES/optin.yaml"
check_eq "profiles: name, description, rule sets, variables" 'test-profile
  Only the opt-in test rules.
  rule sets: optin-test
  want_somaxconn = 2' "$(head -4 "$T/out")"
check_exit "profiles lists" 0 sh -c "'$NETKNOBS' --root '$T' profiles --json >/dev/null"

# a rule file with errors stops the audit before collecting
check_exit "broken rules -> 3" 3 "$NETKNOBS" audit --from "$FACTS" --rules "$TOP_SRCDIR/tests/rules/bad/unknown-field.yaml"
check_match "broken rules named" "unknown-field.yaml:6:5: error" "$(cat "$T/err")"

# the built-in rules audit the live system
check_exit "live audit runs" 0 sh -c "'$NETKNOBS' audit --fail-on critical >/dev/null"
finish
