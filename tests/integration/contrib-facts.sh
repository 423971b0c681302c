#!/bin/sh
# packaging/contrib/netknobs_facts.py as each tool runs it: an Ansible local
# fact (ansible localhost -m setup), a Facter external fact (facter
# --external-dir) and a Salt grain module (its grain function, called as
# Salt's loader does).  Values from a fixture root, so they are exact.
. "$TESTLIB"
FACT=$TOP_SRCDIR/packaging/contrib/netknobs_facts.py
command -v python3 >/dev/null 2>&1 || skip "needs python3"
# a copy of the basic root with SYN cookies off: a warning now
cp -r "$FIXTURES/roots/basic" "$T/root"
echo 0 >"$T/root/proc/sys/net/ipv4/tcp_syncookies"
NETKNOBS_OPTIONS="--root $T/root"
export NETKNOBS NETKNOBS_OPTIONS
export HOME="$T/home"
mkdir -p "$HOME"

# what the facts must say: the audit of the same root
set +e
"$NETKNOBS" --root "$T/root" audit --format json >"$T/audit.json"
want_rc=$?
set -e
check_eq "fixture audit: a warning (exit 1)" 1 "$want_rc"
want_rules=$(jq -c '[.findings[].rule]' "$T/audit.json")
want_verdict=$(jq -r .verdict "$T/audit.json")
# fix_pending: what 'netknobs fix --check' says (null while fix is missing)
set +e
"$NETKNOBS" --root "$T/root" fix --check >/dev/null 2>&1
case $? in 0) want_pending=false ;; 1) want_pending=true ;; *) want_pending=null ;; esac
set -e

# check_facts WHO JSON-OBJECT
check_facts() {
	printf '%s\n' "$2" >"$T/facts.json"
	check_eq "$1: status" warning "$(jq -r .status "$T/facts.json")"
	check_eq "$1: exit_status" "$want_rc" "$(jq -r .exit_status "$T/facts.json")"
	check_eq "$1: verdict" "$want_verdict" "$(jq -r .verdict "$T/facts.json")"
	check_eq "$1: findings" "$want_rules" "$(jq -c '[.findings[].rule]' "$T/facts.json")"
	check_eq "$1: summary" "$(jq -cS .summary "$T/audit.json")" "$(jq -cS .summary "$T/facts.json")"
	check_eq "$1: recommendations" \
		"$(jq -c '[.recommendations[] | select(.satisfied | not) | {(.key): .value}] | add // {}' "$T/audit.json")" \
		"$(jq -c '.recommendations' "$T/facts.json")"
	check_eq "$1: fix_pending" "$want_pending" "$(jq -r .fix_pending "$T/facts.json")"
	check_eq "$1: version" "$("$NETKNOBS" --version | awk '{ print $2 }')" "$(jq -r .version "$T/facts.json")"
}

# run as a program: bare under a .fact name, wrapped otherwise
mkdir -p "$T/facts.d"
cp "$FACT" "$T/facts.d/netknobs.fact"
chmod +x "$T/facts.d/netknobs.fact"
check_facts "as netknobs.fact" "$("$T/facts.d/netknobs.fact")"
check_facts "under another name: wrapped" "$(python3 "$FACT" | jq .netknobs)"
check_facts "--bare" "$(python3 "$FACT" --bare)"

# failures still print JSON and exit 0
check_exit "binary missing: exit 0" 0 env NETKNOBS="$T/nope" "$T/facts.d/netknobs.fact"
check_eq "binary missing: status error" error "$(jq -r .status "$T/out")"
check_exit "bad options: exit 0" 0 env NETKNOBS_OPTIONS="--rules $T/none.yaml" "$T/facts.d/netknobs.fact"
check_eq "bad options: status error" error "$(jq -r .status "$T/out")"
check_match "bad options: the error is named" 'none.yaml' "$(jq -r .error "$T/out")"

# Ansible: ansible localhost -m setup reads facts.d
if command -v ansible >/dev/null 2>&1; then
	export ANSIBLE_LOCAL_TEMP="$T/ansible-tmp" ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
	export ANSIBLE_NOCOLOR=1 ANSIBLE_LOAD_CALLBACK_PLUGINS=0
	if LC_ALL=C.UTF-8 ansible localhost -i localhost, -c local -m setup \
		-a "fact_path=$T/facts.d filter=ansible_local" >"$T/ansible.out" 2>"$T/ansible.err"; then
		pass "ansible localhost -m setup"
		sed -n '/^localhost | SUCCESS => {/,$p' "$T/ansible.out" | sed '1s/.*/{/' >"$T/ansible.json"
		check_facts "ansible_local.netknobs" "$(jq '.ansible_facts.ansible_local.netknobs' "$T/ansible.json")"
	else
		fail "ansible -m setup: $(tail -n 5 "$T/ansible.out"; tail -n 5 "$T/ansible.err")"
	fi
else
	echo "# ansible not installed: Ansible fact not run through ansible"
fi

# Facter: an executable external fact
if command -v facter >/dev/null 2>&1; then
	mkdir -p "$T/facter.d"
	cp "$FACT" "$T/facter.d/netknobs.py"
	chmod +x "$T/facter.d/netknobs.py"
	if facter --no-custom-facts --external-dir "$T/facter.d" --json netknobs >"$T/facter.out" 2>"$T/facter.err"; then
		pass "facter --external-dir"
		check_facts "facter netknobs" "$(jq '.netknobs' "$T/facter.out")"
	else
		fail "facter: $(tail -n 5 "$T/facter.out"; tail -n 5 "$T/facter.err")"
	fi
else
	echo "# facter not installed: Facter fact not run through facter"
fi

# Salt: the loader imports _grains/netknobs.py and merges what each public
# function returns (Salt itself is not in Debian)
mkdir -p "$T/_grains"
cp "$FACT" "$T/_grains/netknobs.py"
cat >"$T/loader.py" <<'EOS'
import importlib.util, json, sys, types
spec = importlib.util.spec_from_file_location("netknobs", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
grains = {}
for name in dir(mod):
    fn = getattr(mod, name)
    if name.startswith("_") or not isinstance(fn, types.FunctionType) or fn.__module__ != mod.__name__:
        continue
    grains.update(fn())
print(json.dumps(grains))
EOS
python3 "$T/loader.py" "$T/_grains/netknobs.py" >"$T/grains.json"
check_eq "salt: one grain, netknobs" '["netknobs"]' "$(jq -c keys "$T/grains.json")"
check_facts "grains['netknobs']" "$(jq .netknobs "$T/grains.json")"
finish
