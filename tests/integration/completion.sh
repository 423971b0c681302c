#!/bin/bash
# Bash completion (packaging/completion/netknobs): subcommands, options,
# option values (rule ids, profiles, tags, severities, formats), sysctl keys
# from /proc/sys, files; read from the binary under test.
. "$TESTLIB"
SCRIPT=$TOP_SRCDIR/packaging/completion/netknobs

# complete WORD... : the candidates for the last word, sorted, one line
complete_words() {
	COMP_WORDS=("$NETKNOBS" "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_netknobs
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

run_cases() {
	mode=$1
	check_match "$mode: commands" '(^| )audit .*explain .*facts .*lint' "$(complete_words '')"
	check_eq "$mode: unique command prefix" "audit" "$(complete_words au)"
	check_eq "$mode: ambiguous prefix" "lint listeners" "$(complete_words li)"
	check_eq "$mode: command after global options with arguments" "lint listeners" \
		"$(complete_words --netns web1 --root /tmp li)"
	out=$(complete_words audit --)
	for o in --fail-on --profile --rule --only --rules --from --verbose --timing --root --netns --json; do
		check_match "$mode: audit option $o" "(^| )$o( |$)" "$out"
	done
	check_eq "$mode: facts --fa has nothing" "" "$(complete_words facts --fa)"
	for c in audit facts listeners report top; do
		check_eq "$mode: $c --all-netns" "--all-netns" "$(complete_words $c --all)"
	done
	check_eq "$mode: --all-netns before the command" "--all-netns" "$(complete_words --all)"
	check_eq "$mode: not for fix" "" "$(complete_words fix --all)"
	check_eq "$mode: not for explain" "" "$(complete_words explain --all)"
	check_eq "$mode: not with --netns" "" "$(complete_words --netns web1 audit --all)"
	check_eq "$mode: no --netns with --all-netns" "" "$(complete_words audit --all-netns --netn)"
	check_eq "$mode: option prefix" "--fail-on" "$(complete_words audit --fai)"
	check_eq "$mode: fix --undo" "--undo" "$(complete_words fix --un)"
	check_eq "$mode: --fail-on values" "critical info notice warning" "$(complete_words audit --fail-on '')"
	check_match "$mode: --format values" '(^| )json( .*)? text( |$)' "$(complete_words --format '')"
	check_match "$mode: audit --format: its own formats" '(^| )nagios( |$)' "$(complete_words audit --format '')"
	check_eq "$mode: --color values" "always auto never" "$(complete_words facts --color '')"
	check_eq "$mode: top --sort values" "drops fill netns port process syn-recv" "$(complete_words top --sort '')"
	check_eq "$mode: top -s takes them too" "port process" "$(complete_words top -s p)"
	out=$(complete_words top --)
	for o in --delay --batch --frames --sort --filter --netns; do
		check_match "$mode: top option $o" "(^| )$o( |$)" "$out"
	done

	ids=$("$NETKNOBS" rules --json | jq -r '.rules[].id' | sort | tr '\n' ' ' | sed 's/ $//')
	check_eq "$mode: --rule offers every rule id" "$ids" "$(complete_words audit --rule '')"
	check_eq "$mode: --rule prefix" "backlog.queue-full backlog.queue-high" "$(complete_words audit --rule backlog.queue-)"
	check_eq "$mode: explain a rule id" "backlog.queue-full" "$(complete_words explain backlog.queue-f)"
	profiles=$("$NETKNOBS" profiles --json | jq -r '.profiles[].name' | sort | tr '\n' ' ' | sed 's/ $//')
	check_match "$mode: profiles known" 'default .*web-frontend|database' "$profiles"
	check_eq "$mode: --profile offers every profile" "$profiles" "$(complete_words audit --profile '')"
	check_eq "$mode: --profile prefix" "web-frontend" "$(complete_words audit --profile we)"
	check_match "$mode: --only offers tags" '(^| )hardening( |$)' "$(complete_words audit --only '')"
	check_match "$mode: --only offers tags beyond rule sets" '(^| )listeners( |$)' "$(complete_words audit --only '')"

	if [ -r /proc/sys/net/core/somaxconn ]; then
		check_eq "$mode: explain a sysctl key" "net.core.somaxconn" "$(complete_words explain net.core.somax)"
		check_eq "$mode: a sysctl directory goes on" "net.core." "$(complete_words explain net.cor)"
		check_match "$mode: facts --sysctl keys" '(^| )net\.ipv4\.tcp_syncookies( |$)' \
			"$(complete_words facts --sysctl net.ipv4.tcp_syn)"
	fi

	mkdir -p "$T/files/sub"
	: >"$T/files/snap.json"
	check_eq "$mode: --from completes files" "snap.json" "$(cd "$T/files" && complete_words audit --from sn)"
	check_eq "$mode: -o takes a file like --output" "snap.json" "$(cd "$T/files" && complete_words facts -o sn)"
	check_match "$mode: lint completes files" '(^| )snap\.json( |$)' "$(cd "$T/files" && complete_words lint '')"

	if "$NETKNOBS" report --help >/dev/null 2>&1; then
		check_match "$mode: report options from its --help" '(^| )--state-dir( |$)' "$(complete_words report --)"
	fi
}

# alone ...
(
	fails=0
	. "$SCRIPT"
	check_eq "the script registers _netknobs" "complete -F _netknobs netknobs" "$(complete -p netknobs)"
	run_cases plain
	exit $((fails > 0))
) || fails=$((fails + $?))

# ... and with bash-completion loaded (its _filedir)
bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
	(
		fails=0
		set +eu
		. "$bc"
		set -eu
		. "$SCRIPT"
		declare -F _filedir >/dev/null || fail "bash-completion provides _filedir"
		run_cases bash-completion
		exit $((fails > 0))
	) || fails=$((fails + $?))
else
	echo "# bash-completion not installed: only the plain mode was checked"
fi

# ... and in zsh: the generated #compdef file (the script inside) as zsh's
# completion system autoloads it, with compadd replaced by a function that
# prints what zsh would offer for the word (the candidates after "-" or in
# "-a ARRAY" that start with it)
ZSH_COMPLETION=$TOP_BUILDDIR/packaging/completion/_netknobs
if command -v zsh >/dev/null 2>&1; then
	cat >"$T/complete.zsh" <<'ZSH'
emulate zsh
fpath=("$1" $fpath)
shift
autoload -U compinit && compinit -u -D
[[ $_comps[netknobs] == _netknobs ]] || { print -u2 "netknobs is not registered: '$_comps[netknobs]'"; exit 2 }
typeset -ga offered
compadd() {
	local a next= dash=0
	for a in "$@"; do
		if [[ $next == array ]]; then
			offered+=("${(@P)a}")
			next=
		elif (( dash )); then
			offered+=("$a")
		elif [[ $a == -a ]]; then
			next=array
		elif [[ $a == - ]]; then
			dash=1
		fi
	done
	return 0
}
compset() { return 1 }
words=("$@")
CURRENT=$#words
PREFIX=$words[CURRENT] IPREFIX= QIPREFIX= SUFFIX= ISUFFIX=
_netknobs
print -rl -- ${(M)offered:#${PREFIX}*}
ZSH
	complete_words() {
		zsh -f "$T/complete.zsh" "$(dirname "$ZSH_COMPLETION")" "$NETKNOBS" "$@" | sort -u | tr '\n' ' ' | sed 's/ $//'
	}
	check_eq "zsh: the file is a #compdef for netknobs" "#compdef netknobs" "$(head -1 "$ZSH_COMPLETION")"
	check_eq "zsh: it holds the bash script" "" "$(grep -vxFf "$ZSH_COMPLETION" "$SCRIPT" | head -3)"
	run_cases zsh
else
	echo "# zsh not installed: the zsh completion was not checked"
fi
finish
