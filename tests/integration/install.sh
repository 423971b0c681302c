#!/bin/sh
# make install DESTDIR=... with the packages' directories puts exactly the
# files of packaging/files.txt there; the generated unit and cron script
# name the installed binary; make uninstall removes the files again.
. "$TESTLIB"
: "${TOP_BUILDDIR:?run through make check}"
command -v make >/dev/null 2>&1 || skip "needs make"

D=$T/dest
unitdir=/usr/lib/systemd/system
zshdir=/usr/share/zsh/site-functions
set -- prefix=/usr exec_prefix=/usr sysconfdir=/etc localstatedir=/var \
	systemdsystemunitdir=$unitdir bashcompletiondir=/usr/share/bash-completion/completions \
	zshcompletiondir=$zshdir crondailydir=/etc/cron.daily
if make -s -C "$TOP_BUILDDIR" install DESTDIR="$D" "$@" >"$T/install.log" 2>&1; then
	pass "make install DESTDIR=..."
else
	fail "make install: $(tail -5 "$T/install.log")"
	finish
fi

# the expected list: files, and directories marked with a trailing /
grep -v '^#' "$TOP_SRCDIR/packaging/files.txt" | sed -e "s|@unitdir@|$unitdir|" -e "s|@zshdir@|$zshdir|" | sort >"$T/expected"
(cd "$D" && find . \( -type f -o -type l \) | sed 's|^\.||') >"$T/files"
(cd "$D" && find . -type d -empty | sed 's|^\.||; s|$|/|') >>"$T/files"
sort -o "$T/files" "$T/files"
# directories holding files are implied by them
grep -v '/$' "$T/expected" >"$T/expected-files"
grep '/$' "$T/expected" >"$T/expected-dirs"
check_eq "installed files are those of packaging/files.txt" "" \
	"$(grep -v '/$' "$T/files" | diff "$T/expected-files" - | grep '^[<>]' | tr '\n' ' ')"
while read -r d; do
	if [ -d "$D$d" ]; then pass "directory $d"; else fail "directory $d missing"; fi
done <"$T/expected-dirs"

[ -x "$D/usr/sbin/netknobs" ] && pass "binary is executable" || fail "binary not executable"
[ -x "$D/etc/cron.daily/netknobs" ] && pass "cron script is executable" || fail "cron script not executable"
for f in $unitdir/netknobs-report.service /etc/cron.daily/netknobs; do
	check_eq "$f: every @variable@ substituted" "" "$(grep -o '@[a-zA-Z_]*@' "$D$f" || true)"
done
svc=$D$unitdir/netknobs-report.service
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$svc")
check_match "service runs the installed binary's report" '/sbin/netknobs$' "$exe"
check_match "service names the state directory" 'report --state-dir [^ ]*/var/lib/netknobs' "$(grep '^ExecStart=' "$svc")"
check_match "cron script runs the same binary" "^NETKNOBS=$exe\$" "$(grep '^NETKNOBS=' "$D/etc/cron.daily/netknobs")"
check_match "timer is daily with a random delay" 'RandomizedDelaySec=' "$(cat "$D$unitdir/netknobs-report.timer")"
check_exit "installed example override file lints" 0 "$NETKNOBS" lint "$D/etc/netknobs/rules.d/50-site.yaml.example"
# the installed rule sets are the built-in ones
check_exit "installed rule sets load" 0 "$NETKNOBS" rules --no-default-rules --rules "$D/usr/share/netknobs/rules"
check_eq "installed rule sets: as many rules as built in" \
	"$("$NETKNOBS" rules --json | jq '.rules | length')" \
	"$("$NETKNOBS" rules --json --no-default-rules --rules "$D/usr/share/netknobs/rules" | jq '.rules | length')"

if make -s -C "$TOP_BUILDDIR" uninstall DESTDIR="$D" "$@" >"$T/uninstall.log" 2>&1; then
	pass "make uninstall"
else
	fail "make uninstall: $(tail -5 "$T/uninstall.log")"
fi
check_eq "make uninstall leaves no file" "" "$(cd "$D" && find . -type f | tr '\n' ' ')"
finish
