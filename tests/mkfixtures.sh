#!/bin/sh
# Copy the test fixtures to DEST and create the symbolic links listed in
# links.txt (PATH<TAB>TARGET).  The links stand for the kernel's magic links
# (/proc/PID/fd/N -> socket:[INODE], /proc/self/ns/net -> net:[...]) and are
# dangling on purpose, which source tarballs cannot carry.
# Usage: mkfixtures.sh SRC DEST
set -eu
src=$1
dest=$2
rm -rf "$dest"
mkdir -p "$dest"
cp -R "$src"/. "$dest"/
chmod -R u+w "$dest"
tab=$(printf '\t')
while IFS="$tab" read -r path target; do
	[ -n "$path" ] || continue
	mkdir -p "$dest/$(dirname "$path")"
	rm -f "$dest/$path"
	ln -s "$target" "$dest/$path"
done <"$src/links.txt"
