#!/bin/sh
# The owner lookup on a copied /proc tree (--root) that a hostile image
# could hold: a FIFO where /proc has a process's stat or an epoll
# descriptor's fdinfo, and an fdinfo directory that is a link out of the
# tree.  netknobs must neither block nor read outside the tree: the owner
# is still found, without the facts it could not read safely.
. "$TESTLIB"
R=$T/root
cp -r "$FIXTURES/proc-tcp/root" "$R"
# the copy as it is: process 100's state and its epoll set are read
"$NETKNOBS" --root "$R" facts --json >"$T/f0"
check_eq "the tree as it is: state and polls of process 100" "sleeping true" \
	"$(jq -r '.sockets.listeners[] | select(.port == 80) | .processes[] | select(.pid == 100) | "\(.state) \(.polls)"' "$T/f0")"

# FIFOs at proc/100/stat and proc/100/fdinfo/5
rm "$R/proc/100/stat" "$R/proc/100/fdinfo/5"
mkfifo "$R/proc/100/stat" "$R/proc/100/fdinfo/5"
check_exit "FIFOs at stat and fdinfo: no hang" 0 timeout 20 "$NETKNOBS" --root "$R" facts --json
check_eq "FIFOs: the owner still found, without state or polls" "100 null null" \
	"$(jq -r '.sockets.listeners[] | select(.port == 80) | .processes[] | select(.pid == 100) | "\(.pid) \(.state) \(.polls)"' "$T/out")"

# proc/100/fdinfo a link to a directory outside the tree, whose "5" says
# the process polls the listener
rm -r "$R/proc/100/fdinfo"
mkdir "$T/outside"
cp "$FIXTURES/proc-tcp/root/proc/100/fdinfo/5" "$T/outside/5"
ln -s "$T/outside" "$R/proc/100/fdinfo"
check_exit "fdinfo a link out of the tree" 0 "$NETKNOBS" --root "$R" facts --json
check_eq "nothing read through it: polls absent" "100 null" \
	"$(jq -r '.sockets.listeners[] | select(.port == 80) | .processes[] | select(.pid == 100) | "\(.pid) \(.polls)"' "$T/out")"
finish
