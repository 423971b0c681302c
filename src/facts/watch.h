/* Watching the listeners live (netknobs top): repeated cheap readings of
 * the current network namespace, kept in plain structs rather than a facts
 * document, since a view redraws them every second.
 *
 * Each refresh costs one NETLINK_SOCK_DIAG dump of the listeners (both
 * families) and two counters files (/proc/net/netstat, softnet_stat).
 * Between refreshes, peeks dump the listeners again for their peak queue.
 * The rest is rationed:
 *   - SYN_RECV (request sockets): asking for them makes the kernel walk
 *     its whole established hash table (a few ms to tens of ms on a large
 *     host, whatever the namespace holds), so they are counted at the first
 *     refresh and then at most once per WATCH_SYN_SHARE times the walk's
 *     own CPU time (0.5 % of a CPU), sooner (WATCH_SYN_BUSY_SHARE, 5 %)
 *     while a listener drops;
 *   - the sysctls (somaxconn, tcp_syncookies, tcp_max_syn_backlog): at the
 *     first refresh and every WATCH_SYSCTL_MS;
 *   - the owning processes: one scan of /proc (every descriptor of every
 *     process on the host) at the first refresh and when a listener
 *     appears that the last scan did not see, at most once per
 *     WATCH_OWNER_SHARE times the scan's CPU time; each refresh only rereads
 *     /proc/PID/stat of the owners found, for their state (and the threads'
 *     of one whose main thread is stopped, traced or in disk sleep).
 *
 * Memory is flat in time: the sockets of the last reading, the owners of
 * the last scan. */
#ifndef NK_WATCH_H
#define NK_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facts/sockets.h"
#include "util/fileio.h"

#define WATCH_SYSCTL_MS 10000
/* each at most 1/SHARE of a CPU, by the CPU time it took last */
#define WATCH_SYN_SHARE 200
#define WATCH_SYN_BUSY_SHARE 20
#define WATCH_OWNER_SHARE 50

/* Namespace-wide counters shown per second. */
enum watch_counter {
	WATCH_LISTEN_OVERFLOWS,         /* TcpExt.ListenOverflows */
	WATCH_LISTEN_DROPS,             /* TcpExt.ListenDrops */
	WATCH_REQQ_FULL_DROP,           /* TcpExt.TCPReqQFullDrop */
	WATCH_SYNCOOKIES_SENT,          /* TcpExt.SyncookiesSent */
	WATCH_SOFTNET_DROPPED,          /* softnet_stat "dropped", all CPUs (host-wide) */
	WATCH_NCOUNTERS,
};

enum watch_sysctl {
	WATCH_SOMAXCONN,                /* net.core.somaxconn */
	WATCH_SYNCOOKIES,               /* net.ipv4.tcp_syncookies */
	WATCH_MAX_SYN_BACKLOG,          /* net.ipv4.tcp_max_syn_backlog */
	WATCH_NSYSCTLS,
};

/* One listening socket as of the last refresh. */
struct watch_sock {
	struct sock_ep ep;
	uint64_t inode;
	uint32_t queue, limit;          /* now; limit when has_limit */
	uint32_t peak;                  /* longest queue since the refresh before */
	uint32_t drops;                 /* SK_MEMINFO_DROPS now (has_drops) */
	uint32_t drops_delta;           /* since the refresh before (mod 2^32) */
	uint64_t syn_recv;              /* at the last count of request sockets */
	uint32_t reuseport_members, reuseport_index;
	int8_t v6only;
	bool has_limit, has_drops;
	bool appeared;                  /* not there at the refresh before */
};

/* A process holding listeners, found by the last owner scan. */
struct watch_proc {
	int pid;
	char *comm;                     /* escaped (escape_untrusted), or NULL */
	char state;                     /* /proc/PID/stat letter at the last refresh; 0 unknown */
	bool gone;                      /* /proc/PID is gone */
};

/* "socket inode is held by procs[proc]" */
struct watch_link {
	uint64_t inode;
	uint32_t proc;
	bool polls;                     /* in one of its epoll sets */
};

struct watch_frame {
	struct watch_sock *s;           /* sorted by endpoint, then inode (socktab_finish) */
	size_t n;
	struct watch_proc *procs;
	size_t nprocs;
	struct watch_link *links;       /* sorted by inode */
	size_t nlinks;
	double rate[WATCH_NCOUNTERS];   /* per second since the refresh before */
	bool has_rate[WATCH_NCOUNTERS];
	long long sysctl[WATCH_NSYSCTLS];       /* -1 when unreadable */
	uint64_t interval_ms;           /* since the refresh before; 0 at the first */
	uint64_t syn_age_ms;            /* since request sockets were counted */
	uint64_t syn_every_ms;          /* how often they are counted when quiet */
	bool syn_counted;               /* at this refresh */
	bool syn_unknown;               /* never counted (the dump failed, or waiting) */
	bool syn_waiting;               /* never counted: waiting for the shared budget */
	bool owners_unknown;            /* the owner scan failed, or left listeners without an
					 * owner: descriptors it could not read */
	uint64_t dump_us;               /* CPU time of the last dump of the listeners */
	unsigned long refreshes, peeks, owner_scans, syn_counts;
};

struct watch;

/* A watcher of the current network namespace below root (live); NULL when
 * out of memory. */
struct watch *watch_new(const struct nk_root *root);
void watch_free(struct watch *w);

/* How a watcher shares the work with others, one per network namespace
 * (watch-all.c): each rations its SYN-RECV counts as one of peers, so that
 * all of them together keep to WATCH_SYN_SHARE; owners_outside leaves the
 * owner scan to watch_owners_scan() over all of them (one scan of /proc
 * instead of one per namespace); softnet reads softnet_stat, which counts
 * for the whole host (one watcher is enough). */
struct watch_share {
	unsigned peers;
	bool owners_outside;
	bool softnet;
	/* CPU time (us) the watchers may still spend on SYN-RECV counts in
	 * this round of refreshes, shared by them and set by their owner before
	 * each round (NULL: no such limit).  While it is 0 a count that is due
	 * waits for a later round, so that many namespaces are not all counted
	 * at once (each count walks the host's whole established hash). */
	uint64_t *syn_budget_us;
};
/* Default: { 1, false, true, NULL }. */
void watch_set_share(struct watch *w, const struct watch_share *s);

/* A refresh: the listeners (and request sockets when due), the counters'
 * rates since the refresh before, the sysctls and the owners when due.
 * Returns 0, -ENOMEM, or -errno when the listeners cannot be read (netlink
 * refused or failing); then the frame keeps the previous reading. */
int watch_refresh(struct watch *w);

/* A peek between refreshes: the listeners' queues, for their peaks.  0,
 * -ENOMEM; a failed dump is skipped. */
int watch_peek(struct watch *w);

/* With owners_outside: whether the last refresh wants an owner scan (the
 * first refresh, a listener that no scan has looked for, an owner gone);
 * it stays wanted until watch_owners_scan() does it. */
bool watch_owners_wanted(const struct watch *w);

/* One scan of /proc for the owners of the listeners of every watcher of
 * ws[0..n) that wants it, each as of its last refresh (socket inodes are
 * unique on the host, so any namespace may do it).  0 or -ENOMEM; a scan
 * that fails marks their frames owners_unknown. */
int watch_owners_scan(const struct nk_root *root, struct watch *const *ws, size_t n);

/* The last refresh. */
const struct watch_frame *watch_frame(const struct watch *w);

/* The owners of socket inode in f: the first link and their count. */
const struct watch_link *watch_owners(const struct watch_frame *f, uint64_t inode, size_t *n);

/* The word for a process state letter ("sleeping", "stopped" ...), "gone"
 * for a process that exited, "?" unknown. */
const char *watch_proc_state(const struct watch_proc *p);

#endif
