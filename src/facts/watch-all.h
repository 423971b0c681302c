/* Watching the listeners of every network namespace of the host live
 * (netknobs top --all-netns): one watcher (watch.h) per namespace, each
 * refreshed inside its namespace in turn.
 *
 * The namespaces are those `--all-netns` finds (netns_scan(): the ip netns
 * names, the namespaces of processes, nsfs bind mounts) and they are
 * entered the same way, by netns_visit(): from the main thread, by a file
 * naming the namespace opened just before setns() and closed right after
 * (no descriptor keeps a namespace alive between readings), back to the own
 * namespace after each, and a stop when that fails.
 *
 * Each refresh visits every namespace of the last scan: its listeners, its
 * counters and, when due, its sysctls and request sockets.  A namespace
 * found gone at a visit loses its watcher (and its rows) at once.  The scan
 * is made again every WATCH_ALL_SCAN_MS, and sooner, at the next refresh,
 * when ROOT/run/netns changed (ip netns add, ip netns del: one stat(2) per
 * refresh tells), both no more often than 1/WATCH_ALL_SCAN_SHARE of a CPU by
 * the scan's own CPU time (a host where namespaces come and go all the time
 * is not scanned at every refresh).  Between scans, a namespace that
 * appeared is not seen.
 *
 * Shared work: the owners of every namespace's listeners come from one
 * scan of /proc (owners_collect_many()), rationed by its cost as one
 * watcher's is; softnet_stat counts for the host and is read in the own
 * namespace only; the SYN-RECV counts are rationed as if the namespaces
 * shared one budget (watch_share.peers), and a round of refreshes spends at
 * most 1/WATCH_SYN_SHARE of a CPU on them (1/WATCH_SYN_BUSY_SHARE while a
 * namespace has not been counted yet; watch_share.syn_budget_us: one count
 * at least), so that the namespaces are not all counted at once, at the
 * start or later. */
#ifndef NK_WATCH_ALL_H
#define NK_WATCH_ALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facts/netns-scan.h"
#include "facts/watch.h"
#include "util/fileio.h"

#define WATCH_ALL_SCAN_MS 5000
#define WATCH_ALL_SCAN_SHARE 100

struct watch_all_stats {
	unsigned long scans;            /* netns_scan() runs */
	unsigned long appeared;         /* namespaces found by a scan after the first */
	unsigned long gone;             /* watched namespaces that went away */
	uint64_t round_us;              /* CPU time of the last round of dumps (all namespaces) */
	uint64_t scan_us;               /* CPU time of the last scan */
};

struct watch_all;

/* A watcher of every namespace below root (which must be live); NULL when
 * out of memory.  Nothing is read before the first refresh. */
struct watch_all *watch_all_new(const struct nk_root *root);
void watch_all_free(struct watch_all *a);

/* A refresh of every namespace (the scan first when due), then the owner
 * scan when one wants it.  Returns 0; -ENOMEM; or -errno when the first
 * scan cannot read /proc, or when the process could not go back to its own
 * namespace (logged: the caller must stop).  A namespace whose listeners
 * could not be read keeps its last frame and says so (watch_all_error()). */
int watch_all_refresh(struct watch_all *a);

/* A peek of every namespace watched (watch_peek()).  0, -ENOMEM, or -errno
 * as above. */
int watch_all_peek(struct watch_all *a);

/* The namespaces of the last scan, 0 .. count - 1, in its order (the own
 * and the initial first). */
size_t watch_all_count(const struct watch_all *a);
const struct netns_entry *watch_all_entry(const struct watch_all *a, size_t i);
/* Its frame as of the last refresh; NULL when it was not read then (gone,
 * not entered: the entry's state says which). */
const struct watch_frame *watch_all_frame(const struct watch_all *a, size_t i);
/* The last refresh's -errno of its listeners (netlink refused ...), or 0. */
int watch_all_error(const struct watch_all *a, size_t i);

const struct watch_all_stats *watch_all_stats(const struct watch_all *a);

#endif
