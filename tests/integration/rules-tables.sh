#!/bin/sh
# Lookup tables of rule files (lookup()), endpoint(), and one finding for
# identical findings of several items (reuseport groups), on saved facts.
. "$TESTLIB"
GOOD="$TOP_SRCDIR/tests/rules/tables"
F="$FIXTURES/facts/basic.json"
nk() { "$NETKNOBS" audit --no-default-rules --rules "$GOOD/tables.yaml" "$@"; }

# the owner's entry, by its process name; "its own" for unknown owners
# (basic.json: sshd on 22, nginx on 80 and [::]:443, redis without owner)
mutate "$F" "$T/f.json" '
for l in d["sockets"]["listeners"]:
    if l["port"] == 443: l["processes"] = [{"pid": 7, "comm": "python3.11"}]'
nk --from "$T/f.json" --rule tt.setting --format json >"$T/a.json" || true
msg() { jq -r --arg s "$2" '[.findings[] | select(.subject == $s)][0].message' "$1"; }
check_eq "nginx: its setting and default" '0.0.0.0:80 (nginx): listen ... backlog= (default 511)' "$(msg "$T/a.json" 0.0.0.0:80)"
check_eq "python3.11 matches python3*" '[::]:443 (python3.11): listen(n) (default unknown)' "$(msg "$T/a.json" '[::]:443')"
check_eq "unknown owner: its own setting" '0.0.0.0:22 (sshd): its own backlog setting (default unknown)' "$(msg "$T/a.json" 0.0.0.0:22)"
check_eq "no owner: its own setting" '127.0.0.1:6379 (owner unknown): its own backlog setting (default unknown)' "$(msg "$T/a.json" 127.0.0.1:6379)"

# a site's file adds an entry and replaces one, whatever the order of files
nk --rules "$GOOD/site.yaml" --from "$T/f.json" --rule tt.setting --format json >"$T/b.json" || true
check_eq "site entry replaces the shipped one" '0.0.0.0:80 (nginx): backlog= of the listen directive (default 511)' "$(msg "$T/b.json" 0.0.0.0:80)"
mutate "$F" "$T/g.json" '
for l in d["sockets"]["listeners"]:
    if l["port"] == 22: l["processes"] = [{"pid": 8, "comm": "myapp-worker"}]'
nk --rules "$GOOD/site.yaml" --from "$T/g.json" --rule tt.setting --format json >"$T/c.json" || true
check_eq "site entry added" '0.0.0.0:22 (myapp-worker): --backlog (default unknown)' "$(msg "$T/c.json" 0.0.0.0:22)"
check_exit "the site file alone lints against no table" 3 "$NETKNOBS" lint "$GOOD/site.yaml"
check_match "unknown table named with its place" "site.yaml:3:3: error: 'tables' names unknown table 'servers'" "$(cat "$T/err")"

# identical findings of several items are reported once: four reuseport
# members of 127.0.0.1:8443 with the same limit, one finding that counts them
mutate "$F" "$T/rp.json" '
base = {"family": "ipv4", "address": "127.0.0.1", "port": 8443, "queue": 0, "limit": 511,
        "syn_recv": 0, "drops": 0, "uid": 0}
d["sockets"]["listeners"] = [dict(base, inode=100 + i, reuseport={"members": 4, "index": i + 1},
    processes=[{"pid": 200 + i, "comm": "nginx"}]) for i in range(4)]
d["sockets"]["listeners"][3]["limit"] = 128'
check_exit "reuseport group: audit" 0 nk --from "$T/rp.json" --rule tt.same --format json
cp "$T/out" "$T/rp.out"
check_eq "one finding for the three identical members" '[["127.0.0.1:8443 is limited to 511",3],["127.0.0.1:8443 is limited to 128",null]]' \
	"$(jq -c '[.findings[] | [.message, .merged]] | sort_by(.[1]) | reverse' "$T/rp.out")"
check_eq "the verdict counts findings, not members" 2 "$(jq .summary.notice "$T/rp.out")"
check_eq "every member still has its result" 4 "$(jq '.results[] | select(.rule == "tt.same") | .counts.fail' "$T/rp.out")"
check_exit "merged findings follow the schema" 0 python3 "$TOP_SRCDIR/tests/schema-check.py" "$TOP_SRCDIR/doc/audit-schema.json" "$T/rp.out"
nk --from "$T/rp.json" --rule tt.same >"$T/rp.txt" || true
check_eq "text: the finding once" 1 "$(grep -c 'is limited to 511' "$T/rp.txt")"

# let: names bound per item, each seeing the item and the names before it
nk --from "$T/f.json" --rule tt.let --format json >"$T/let.json" || true
check_eq "let: a value computed once and used in the message" '0.0.0.0:80 (nginx): listen ... backlog=' \
	"$(msg "$T/let.json" 0.0.0.0:80)"
check_eq "let: a default over a lookup" '127.0.0.1:6379 (?): its own backlog setting' "$(msg "$T/let.json" 127.0.0.1:6379)"
check_eq "let: the check reads a let" '0.0.0.0:22' \
	"$(jq -r '[.results[] | select(.rule == "tt.let") | .items[] | select(.status == "pass") | .subject] | join(",")' \
		"$("$NETKNOBS" audit --no-default-rules --rules "$GOOD/tables.yaml" --from "$T/f.json" --rule tt.let --format json --verbose >"$T/letv.json" || true; echo "$T/letv.json")")"
# an error in a let is the rule's error, naming the let
cat >"$T/leterr.yaml" <<'YAML'
ruleset: leterr
version: 1
rules:
  - id: le.div
    title: Division
    severity: warning
    foreach: l in listeners
    let:
      ratio: l.queue / (l.limit - l.limit)
    subject: "{endpoint(l)}"
    check: ratio < 1
    message: m
    rationale: r
YAML
check_exit "let: an evaluation error is a rule error (exit 3)" 3 "$NETKNOBS" audit --no-default-rules --rules "$T/leterr.yaml" --from "$F"
check_match "let: the error names the rule and the let" 'rule le.div .*let ratio: division by zero' "$(cat "$T/err")"

finish
