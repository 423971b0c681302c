#!/bin/sh
# --all-netns on the fake roots of a Docker host and a Kubernetes node
# (tests/fixtures/roots/README): the commands name each namespace as the
# discovery does (the container, the pod), read the tree's own namespace
# and list the others as not entered, with the reason.  A saved document of
# every namespace (facts --all-netns --json) is audited again with --from:
# the advice of a container's namespace names docker run --sysctl, a pod's
# its securityContext.sysctls, each with the command that applies it now.
# No root needed.
. "$TESTLIB"
R="$FIXTURES/roots"
NK() { "$NETKNOBS" "$@"; }

# ---- discovery at the command level
check_exit "facts --all-netns below a Docker host's tree" 0 NK --root "$R/docker-host" facts --all-netns --json
D="$T/out"
cp "$D" "$T/docker.json"
check_eq "the namespaces, named as a person would" \
	'["host","blue","green","docker fedcba987654","docker web (0123456789ab)","pid 1200 (evil\\x1b[2J)","pid 1600 (?)","/srv/ns dir/x","/tmp/held-ns"]' \
	"$(jq -c '[.namespaces[].netns.name]' "$D")"
check_eq "the tree's own namespace read, the others listed with the reason" \
	'[["host","entered",true],["docker web (0123456789ab)","found","below --root only the tree'"'"'s own namespace is read"]]' \
	"$(jq -c '[.namespaces[] | select(.netns.name == "host" or .netns.kind == "docker" and .netns.container.name == "web") |
		[.netns.name, .netns.state, (if .facts then true else .netns.reason end)]]' "$D")"
check_eq "summary" '{"namespaces":9,"entered":1,"gone":0,"denied":0,"not_entered":8}' "$(jq -c .summary "$D")"

check_exit "listeners --all-netns below a Kubernetes node's tree" 0 NK --root "$R/kube-node" listeners --all-netns
check_match "a pod by its namespace and name, not entered, and why" \
	"^Not entered: pod default/web-0 \\(kubernetes-pod, net:\\[4026532701\\]\\): below --root only the tree's own namespace is read.$" \
	"$(cat "$T/out")"
check_match "a pod whose log directory says nothing, by its UID" \
	"^Not entered: pod deadbeef-0000-4000-8000-000000000003 \\(kubernetes-pod" "$(cat "$T/out")"
check_match "a process name is escaped" 'pid 1200 \(evil\\x1b\[2J\)' \
	"$("$NETKNOBS" --root "$R/docker-host" listeners --all-netns)"
check_exit "--all-netns and --netns exclude each other" 3 NK --netns x audit --all-netns
check_match "says so" "cannot be combined" "$(cat "$T/err")"
check_exit "--all-netns is refused by a command that does not take it" 3 NK fix --all-netns
check_match "names the ones that do" "audit, facts, listeners, report, top" "$(cat "$T/err")"
check_exit "--sample with --all-netns is refused, with what to do instead" 3 NK audit --all-netns --sample 1s
check_match "says what to do" "--netns NAME --sample DURATION" "$(cat "$T/err")"

# ---- a saved document of every namespace, audited again: a container's
# and a pod's namespace hold the facts of an old container (somaxconn 128)
NK --root "$R/netns-old" facts --json >"$T/old.json"
NK --root "$R/basic" facts --json >"$T/basic.json"
# (python: jq 1.6 would round the 64-bit integers of the facts)
enter() { # IN OUT NAME: namespace NAME entered, with old.json's facts; the host with basic.json's
	mutate "$1" "$2" '
old = json.load(open(sys.argv[4])); basic = json.load(open(sys.argv[5]))
for x in d["namespaces"]:
    if x["netns"]["name"] == sys.argv[6]:
        x["netns"]["state"] = "entered"; x["netns"].pop("reason", None); x["facts"] = old
    elif x["netns"]["kind"] == "host":
        x["facts"] = basic' "$T/old.json" "$T/basic.json" "$3"
}
enter "$T/docker.json" "$T/dw.json" "docker web (0123456789ab)"
check_exit "audit --all-netns --from a saved document (notices only: exit 0)" 0 NK audit --all-netns --from "$T/dw.json" --json
if python3 -c 'import jsonschema' 2>/dev/null; then
	cp "$T/out" "$T/dw-audit.json"
	check_exit "the document of every namespace follows doc/audit-schema.json's all_netns" 0 \
		python3 "$TOP_SRCDIR/tests/schema-check.py" "$TOP_SRCDIR/doc/audit-schema.json" "$T/dw-audit.json" all_netns
	jq '.namespaces[] | select(.netns.kind == "docker" and .audit) | .audit' "$T/dw-audit.json" >"$T/dw-one.json"
	check_exit "a container's audit in it follows the audit schema, netns and persist included" 0 \
		python3 "$TOP_SRCDIR/tests/schema-check.py" "$TOP_SRCDIR/doc/audit-schema.json" "$T/dw-one.json"
	jq '.namespaces[1].netns.kind = "lxc"' "$T/dw-audit.json" >"$T/dw-bad.json"
	check_exit "a kind the schema does not know is refused by it" 1 \
		python3 "$TOP_SRCDIR/tests/schema-check.py" "$TOP_SRCDIR/doc/audit-schema.json" "$T/dw-bad.json" all_netns
	cp "$T/dw-audit.json" "$T/out"
fi
check_eq "a Docker container: nsenter by its process now, docker run --sysctl to keep it" \
	'["nsenter --net=/proc/1002/ns/net sysctl -w net.core.somaxconn=4096",true]' \
	"$(jq -c '.namespaces[] | select(.netns.container.name == "web") | .audit.recommendations[] | select(.key == "net.core.somaxconn") |
		[.sysctl_w, (.persist | test("docker run --sysctl net.core.somaxconn=4096.*sysctls:"))]' "$T/out")"
check_eq "the host's own advice stays the plain command and sysctl.d" '[]' \
	"$(jq -c '[.namespaces[] | select(.netns.kind == "host") | .audit.recommendations[]? | select(.sysctl_w | startswith("sysctl -w") | not)]' "$T/out")"
check_exit "the same in text" 0 NK audit --all-netns --from "$T/dw.json"
check_match "lasting: the container's options" \
	"lasting: the container's options: .docker run --sysctl net.core.somaxconn=4096. \\(compose: .sysctls:. .net.core.somaxconn: 4096.\\)" \
	"$(tr '\n' ' ' <"$T/out" | tr -s ' ')"

NK --root "$R/kube-node" facts --all-netns --json >"$T/kube.json"
enter "$T/kube.json" "$T/kw.json" "pod default/web-0"
check_exit "a Kubernetes node's saved document" 0 NK audit --all-netns --from "$T/kw.json" --json
check_eq "a pod: the CNI name now, the pod's securityContext to keep it, the kubelet's allow-list" \
	'[true,true,true]' \
	"$(jq -c '.namespaces[] | select(.netns.name == "pod default/web-0") | .audit.recommendations[] | select(.key == "net.core.somaxconn") |
		[(.sysctl_w | test("^ip netns exec cni-[0-9a-f-]+ sysctl -w net.core.somaxconn=4096$")),
		 (.persist | test("securityContext.sysctls: \\[\\{name: net.core.somaxconn, value: \"4096\"\\}\\]")),
		 (.persist | test("--allowed-unsafe-sysctls"))]' "$T/out")"
check_exit "listeners --all-netns --from the same" 0 NK listeners --all-netns --from "$T/kw.json"
check_match "the pod's listener under its name" "^pod default/web-0 +0.0.0.0:6379 " "$(cat "$T/out")"

# ---- what --from refuses
check_exit "a document of one namespace with --all-netns" 3 NK audit --all-netns --from "$T/old.json"
check_match "says what it is not" "not a document of every network namespace" "$(cat "$T/err")"
check_exit "a document of every namespace without --all-netns" 3 NK audit --from "$T/kw.json"
check_match "says what to do" "read it with --all-netns, or take one" "$(cat "$T/err")"
NK audit --all-netns --from "$T/kw.json" --json >"$T/audits.json" || true
check_exit "an audit of every namespace is not facts" 3 NK audit --all-netns --from "$T/audits.json"
check_match "says so" "not the facts" "$(cat "$T/err")"
mutate "$T/kw.json" "$T/twice.json" 'd["namespaces"][1]["netns"]["inode"] = d["namespaces"][0]["netns"]["inode"]'
check_exit "a namespace listed twice" 3 NK audit --all-netns --from "$T/twice.json"
check_match "names it" "namespaces\\[1\\].netns: net:\\[[0-9]+\\] is listed twice" "$(cat "$T/err")"
finish
