/* Listening sockets and per-state socket counts: the internal interfaces
 * between the socket collector's parts.
 *
 *   sockdiag.c  fills a socktab from NETLINK_SOCK_DIAG (the live system)
 *   proc-tcp.c  fills a socktab from /proc/net/tcp and tcp6 (fallback)
 *   owners.c    finds the processes holding each listener (/proc/PID/fd)
 *   sockets.c   the socktab itself, dispatch, and the "sockets" JSON object
 *
 * Memory never grows with the number of connections: connections are only
 * counted per state, and request sockets (SYN_RECV) are aggregated per local
 * endpoint, whose number is bounded by the addresses and ports in use.
 *
 * The JSON rule of facts.h applies: socktab_to_json() returns a new
 * reference. */
#ifndef NK_SOCKETS_H
#define NK_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/fileio.h"

/* Kernel TCP states (include/net/tcp_states.h); 12 is TCP_NEW_SYN_RECV, a
 * request socket, counted as SYN_RECV. */
#define SOCK_STATE_MAX 12

/* A local endpoint: family, address, port, bound interface. */
struct sock_ep {
	uint8_t family;         /* AF_INET or AF_INET6 */
	uint8_t addr[16];       /* network byte order; IPv4 in addr[0..3], rest 0 */
	uint16_t port;          /* host byte order */
	uint32_t ifindex;       /* 0: not bound to a device */
};

struct listener {
	struct sock_ep ep;
	uint32_t queue;         /* accept-queue length */
	uint32_t limit;         /* accept-queue limit (has_limit) */
	uint32_t drops;         /* SK_MEMINFO_DROPS (has_drops) */
	bool has_limit, has_drops;
	int8_t v6only;          /* -1 unknown, 0 dual-stack, 1 IPv6 only */
	bool syn_recv_shared;   /* set by socktab_finish() */
	/* SO_REUSEPORT group (socktab_finish()): members sharing the
	 * endpoint and interface, and this one's place among them by inode,
	 * from 1; both 0 when the socket is alone */
	uint32_t reuseport_members, reuseport_index;
	uint32_t uid;
	uint64_t inode;
	uint64_t syn_recv;      /* set by socktab_finish() */
};

/* A process holding one or more listeners. */
struct sock_proc {
	int pid;
	char *comm;             /* escaped (escape_untrusted), NULL if unreadable */
	long long nofile_soft;  /* -1 when unlimited or unreadable */
	long long nofile_hard;
	long long fds;          /* entries of /proc/PID/fd */
	long long start_time;   /* Unix time the process started, -1 unknown */
	char state;             /* state letter of /proc/PID/stat, 0 unknown */
	bool has_epoll;         /* at least one of its epoll sets was read */
};

/* "listener i is held by process p" */
struct sock_owner_link {
	uint32_t listener;
	uint32_t proc;
	bool polls;             /* the listener is in one of p's epoll sets */
};

struct sock_reqep {
	struct sock_ep ep;
	uint64_t count;
};

struct socktab {
	struct listener *l;
	size_t n, cap;
	uint64_t states[SOCK_STATE_MAX + 1];   /* by state number; [12] unused */
	/* request sockets aggregated by local endpoint */
	struct sock_reqep *req;
	size_t nreq, capreq;
	uint32_t *reqhash;      /* open addressing: index + 1, 0 empty */
	size_t reqhash_cap;
	/* owners (owners_collect()) */
	struct sock_proc *procs;
	size_t nprocs, capprocs;
	struct sock_owner_link *links;
	size_t nlinks, caplinks;
	bool syn_recv_only;     /* only LISTEN and SYN_RECV were counted */
	bool finished;
	/* more sockets whose owners owners_collect() looks for in the same
	 * scan (UDP sockets): their links have index n + k for more_inodes[k] */
	const uint64_t *more_inodes;
	size_t nmore;
};

void socktab_init(struct socktab *t);
void socktab_free(struct socktab *t);
/* Forget listeners, counts and owners (restart of a dump, fallback). */
void socktab_reset(struct socktab *t);
/* Forget the per-state counts and request sockets only. */
void socktab_reset_counts(struct socktab *t);

/* Append a listener (copied).  Returns 0 or -ENOMEM. */
int socktab_add_listener(struct socktab *t, const struct listener *l);
/* Count a socket that is not listening; state 1..12.  A request socket
 * (SYN_RECV with inode 0) also passes its local endpoint in ep, else ep is
 * NULL.  Returns 0, -EINVAL (unknown state, not counted) or -ENOMEM. */
int socktab_count(struct socktab *t, unsigned state, const struct sock_ep *ep);

/* Sort the listeners (port, family, address, interface, inode), set the
 * LISTEN count, and attribute the request sockets to listeners: exact
 * address before wildcard, bound interface before unbound, an IPv4 request
 * to a dual-stack IPv6 listener when no IPv4 listener takes it; listeners
 * with the same endpoint (SO_REUSEPORT) share the group's total and are
 * numbered in inode order.  Returns 0 or -ENOMEM. */
int socktab_finish(struct socktab *t);

/* A process of a listener's "processes" (doc/facts.md); polls: the listener
 * is in one of its epoll sets.  A new reference, NULL when out of memory. */
json_t *sock_proc_json(const struct sock_proc *p, bool polls);

/* The JSON objects of the processes of t, made once per process (and
 * value of "polls") and shared by every socket that lists it. */
struct sock_procs_json {
	json_t **obj;           /* [proc * 3 + variant], NULL until needed */
	size_t link;            /* the next link of t to look at */
};
int sock_procs_json_init(struct sock_procs_json *po, const struct socktab *t);
void sock_procs_json_free(struct sock_procs_json *po, const struct socktab *t);
/* The "processes" array of the socket whose links have index idx (a
 * listener's index, or t->n + k for more_inodes[k]); sockets are asked for
 * in increasing idx.  A new reference, NULL when out of memory. */
json_t *sock_procs_json_array(struct sock_procs_json *po, const struct socktab *t, size_t idx);

/* The "sockets" object of doc/facts.md.  source: "netlink" or "proc";
 * fallback_reason may be NULL; processes are listed when po is given. */
json_t *socktab_to_json(const struct socktab *t, const char *source,
			const char *fallback_reason, struct sock_procs_json *po);

/* sockets_collect() with options: SOCKETS_OWNERS finds the owning
 * processes; SOCKETS_LISTENERS_ONLY skips the per-state counts other than
 * LISTEN and SYN_RECV, which cost one netlink message per connection ("states"
 * then holds only those two). */
#define SOCKETS_OWNERS          0x1u
#define SOCKETS_LISTENERS_ONLY  0x2u
int sockets_collect_flags(json_t *doc, const struct nk_root *root, unsigned flags);

struct sockdiag_ahead;
/* sockets_collect_flags() with the TCP dumps in pre (taken over and reset)
 * instead of its own; pre NULL: its own. */
int sockets_collect_ahead(json_t *doc, const struct nk_root *root, unsigned flags,
			  struct sockdiag_ahead *pre);

/* ---- NETLINK_SOCK_DIAG (sockdiag.c) ---- */

struct sockdiag_result {
	bool ipv6_skipped;      /* the AF_INET6 dumps were refused */
	int ipv6_error;         /* their -errno */
	unsigned restarts;      /* dumps restarted after NLM_F_DUMP_INTR */
	unsigned long bad_msgs; /* messages too short to use, skipped */
};

/* The TCP dumps of sockets_collect_flags(), done ahead by another thread
 * inside the same namespace (netns_ahead_start()): sockdiag_collect()'s
 * table, result and return value. */
struct sockdiag_ahead {
	struct socktab t;
	struct sockdiag_result res;
	int r;
};

/* Dump the TCP sockets of the current network namespace into t (both
 * families; listeners with queue, limit, drops, v6only; request sockets;
 * every state, or when !all_states only LISTEN and SYN_RECV).  A dump interrupted by concurrent changes (NLM_F_DUMP_INTR) is
 * restarted, at most SOCKDIAG_RETRIES times.  Returns 0, or -errno when
 * netlink cannot be used (socket refused, the IPv4 dump failed, or -EINTR:
 * still interrupted after the retries); t must then be reset. */
#define SOCKDIAG_RETRIES 5
int sockdiag_collect(struct socktab *t, bool all_states, struct sockdiag_result *res);

/* The listeners only, and with with_requests the request sockets (SYN_RECV)
 * too, as sockdiag_collect(t, false, res) does.  Asking for request sockets
 * makes the kernel walk its whole established hash table (once for both
 * families, or once for each where the kernel refuses the older request):
 * the sampling window does it less often than it reads the listeners. */
int sockdiag_collect_listeners(struct socktab *t, bool with_requests, struct sockdiag_result *res);

/* The request sockets (SYN_RECV) only, counted afresh into t (whose
 * listeners stay): the second half of sockdiag_collect_listeners(t, true),
 * for a caller that decides after reading the listeners. */
int sockdiag_collect_requests(struct socktab *t, struct sockdiag_result *res);

/* The finaliser of MurmurHash3 (fmix64): spreads the bits of h over all
 * 64, for the hash tables of sockets keyed by inode and endpoint. */
static inline uint64_t sock_hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* mnl_attr_parse() callback of the TCP and UDP dumps: keeps the
 * INET_DIAG_SKMEMINFO and INET_DIAG_SKV6ONLY attributes in data, a
 * const struct nlattr *[INET_DIAG_MAX + 1]. */
struct nlattr;
int sockdiag_attr_cb(const struct nlattr *attr, void *data);

/* Parse one batch of SOCK_DIAG_BY_FAMILY answers (as received) into t:
 * listeners (dump 1) or the other sockets.  Messages too short to use are
 * skipped and counted in *bad.  Returns 1 (the dump goes on), 0 (NLMSG_DONE
 * or an ACK) or -errno (NLMSG_ERROR, an error in NLMSG_DONE, -EINTR for
 * NLM_F_DUMP_INTR, -ENOMEM). */
int sockdiag_parse(struct socktab *t, bool listeners, const void *buf, size_t len,
		   unsigned long *bad);

/* True for the errors that mean "netlink is not available to us". */
bool sockdiag_refused(int err);

/* True for the errors of an AF_INET6 dump that mean "no IPv6 here". */
bool sockdiag_ipv6_unavailable(int err);

/* The generic dump underneath (the UDP collector uses it too).  cb gets
 * each SOCK_DIAG_BY_FAMILY answer with data and returns MNL_CB_OK, or
 * MNL_CB_ERROR after storing -errno in *cb_err. */
struct nlmsghdr;
typedef int (*sockdiag_cb)(const struct nlmsghdr *nlh, void *data);

/* the kernel sends at most 32 KiB per message batch; twice that avoids
 * MSG_TRUNC whatever it decides */
#define SOCKDIAG_BUF_SIZE (64 * 1024)

/* One dump of the sockets of family and protocol (IPPROTO_TCP,
 * IPPROTO_UDP) in the kernel-side state filter states, with the extensions
 * ext (bits 1 << (INET_DIAG_x - 1)), on a fresh netlink socket; buf holds
 * SOCKDIAG_BUF_SIZE bytes.  Returns 0 or -errno (-EINTR: interrupted by
 * concurrent changes, NLM_F_DUMP_INTR: restart it). */
int sockdiag_dump(int family, int protocol, uint32_t states, uint8_t ext, void *buf,
		  sockdiag_cb cb, void *data, const int *cb_err);

/* Run cb over one batch of answers as received (for tests): returns 1
 * (more to come), 0 (NLMSG_DONE or an ACK) or -errno as sockdiag_parse(). */
int sockdiag_parse_msgs(const void *buf, size_t len, sockdiag_cb cb, void *data,
			const int *cb_err);

/* ---- UDP sockets (udp.c) ---- */

/* A UDP socket: unconnected (a server's, usually) or connected. */
struct udp_sock {
	struct sock_ep ep;      /* local endpoint */
	struct sock_ep peer;    /* connected: the peer */
	uint32_t queue;         /* receive queue in bytes (memory the datagrams take) */
	uint32_t rcvbuf;        /* SK_MEMINFO_RCVBUF (has_rcvbuf) */
	uint32_t drops;         /* SK_MEMINFO_DROPS (has_drops) */
	bool connected, has_rcvbuf, has_drops;
	bool lite;              /* UDP-Lite (IPPROTO_UDPLITE) */
	int8_t v6only;          /* -1 unknown */
	uint32_t uid;
	uint64_t inode;
};

/* The most sockets listed in the facts; the others are only counted. */
#define UDP_LISTED 1024

/* Every UDP socket counted; at most cap of them kept, those that most
 * need looking at (dropping, then fullest ...): memory is flat in the
 * number of sockets. */
struct udptab {
	struct udp_sock *s;     /* a min-heap by rank until udptab_finish() sorts it */
	size_t n, cap;
	uint64_t total, connected, queued, dropping, drops;
	uint64_t *inodes;       /* udptab_finish(): the n inodes, for owners_collect() */
	const char *source;     /* "netlink", "proc", NULL: not collected */
	bool finished;
};

void udptab_init(struct udptab *t, size_t cap);
void udptab_free(struct udptab *t);
/* Forget every socket and count (a restarted dump). */
void udptab_reset(struct udptab *t);
/* Count s, and keep it when it ranks among the cap first.  0 or -ENOMEM. */
int udptab_add(struct udptab *t, const struct udp_sock *s);
/* Sort the kept sockets by endpoint and list their inodes.  0 or -ENOMEM. */
int udptab_finish(struct udptab *t);

/* Dump the UDP and UDP-Lite sockets of the current network namespace into
 * t (both families, every state), restarted after NLM_F_DUMP_INTR as
 * sockdiag_collect().  A kernel without UDP-Lite (or its diag) only skips
 * those.  Returns 0 or -errno. */
int udpdiag_collect(struct udptab *t, struct sockdiag_result *res);
/* One batch of answers, as sockdiag_parse(). */
int udpdiag_parse(struct udptab *t, const void *buf, size_t len, unsigned long *bad);
/* A line of /proc/net/udp (AF_INET) or udp6: 0 or -EINVAL. */
int procudp_parse_line(const char *line, size_t len, int family, struct udp_sock *s);

/* The UDP sockets into t (finished): netlink on the live system, else (and
 * below --root) /proc/net/udp and udp6; what failed is noted in doc.  t's
 * source says which, NULL when neither could be read.  0 or -ENOMEM. */
int udp_collect(json_t *doc, const struct nk_root *root, struct udptab *t);

/* Add "udp" and "udp_stats" (doc/facts.md) to the sockets object; owners
 * holds the processes (the links of socket k have index owners->n + k),
 * listed when po is given.  0 or -ENOMEM. */
int udptab_to_json(json_t *sockets, const struct udptab *t, const struct socktab *owners,
		   struct sock_procs_json *po);

/* ---- /proc/net/tcp and tcp6 (proc-tcp.c) ---- */

struct proctcp_row {
	struct sock_ep ep;      /* local endpoint; ifindex always 0 */
	struct sock_ep remote;  /* the peer's (all zero when there is none) */
	unsigned state;         /* "st" */
	uint32_t rx_queue;
	uint32_t uid;
	uint64_t inode;
};

/* Parse one line of /proc/net/tcp (family AF_INET) or tcp6 (AF_INET6),
 * without its newline.  Addresses are read as the kernel prints them: each
 * 32-bit word in this host's byte order.  Returns 0, or -EINVAL for a
 * malformed line (including the header). */
int proctcp_parse_line(const char *line, size_t len, int family, struct proctcp_row *row);

struct proctcp_stats {
	unsigned long rows;     /* rows used */
	unsigned long bad;      /* malformed lines skipped */
	unsigned long first_bad_line;   /* line number of the first one */
};

/* Stream the lines of a /proc/net table (tcp, udp ...) from fd, read in
 * chunks (bounded memory): fn gets each line but a first-line header and
 * blank lines, with its number; a line longer than a chunk is counted bad
 * and skipped.  Returns 0, -errno on a read error (-FILEIO_ENOTREG or
 * -EISDIR for what is not a regular file, -EFBIG past 1 GiB), or fn's
 * -errno. */
typedef int (*proctable_line_fn)(const char *line, size_t len, unsigned long lineno, void *data,
				 struct proctcp_stats *st);
int proctable_read_fd(int fd, proctable_line_fn fn, void *data, struct proctcp_stats *st);
/* Count line lineno of st as malformed. */
void proctable_bad_line(struct proctcp_stats *st, unsigned long lineno);

/* Stream a /proc/net/tcp{,6} file from fd (read in chunks, bounded memory)
 * into t: LISTEN rows as listeners (queue, inode, uid), the others counted,
 * SYN_RECV rows with inode 0 as request sockets.  The first line is skipped
 * when it is the header.  Returns 0, -errno on a read error, -ENOMEM. */
int proctcp_read_fd(int fd, int family, struct socktab *t, struct proctcp_stats *st);

/* ---- owning processes (owners.c) ---- */

struct owners_stats {
	unsigned long procs_scanned;
	unsigned long procs_denied;     /* fd directory or links unreadable (EACCES/EPERM) */
	unsigned long ownerless;        /* listeners left without a process */
	unsigned long procs_other_netns;        /* in another network namespace: not read */
	unsigned long procs_failed;     /* fd directory not opened for another reason */
	int failed_errno;               /* the first of those errors (EMFILE ...) */
};

/* Scan ROOT/proc/[0-9]* /fd for the listeners' inodes (after
 * socktab_finish) and record the owning processes in t.  On the running
 * system (a live root) the listeners are taken to be those of the calling
 * thread's network namespace: owners_collect_many() with that scope.
 * Returns 0, -ENOMEM, or -errno when ROOT/proc cannot be opened. */
int owners_collect(const struct nk_root *root, struct socktab *t, struct owners_stats *st);

/* The notes of an owner scan in a facts document: the scan failed (err <
 * 0), or ownerless listeners were left because process descriptors could
 * not be read (out of descriptors, denied). */
void sockets_owner_notes(json_t *doc, int err, const struct owners_stats *st, unsigned long ownerless);

/* A network namespace (nsfs device and inode of /proc/PID/ns/net). */
struct owners_scope {
	uint64_t dev, ino;
};

/* The owners of the listeners of tabs[0..n) (each after socktab_finish(),
 * without owners yet: the listeners of several network namespaces; socket
 * inodes are unique on the host) from one scan of ROOT/proc, recorded in
 * each table.  With a scope, processes in another network namespace are
 * skipped after one stat(2) of their ns/net, and read only when a listener
 * is left without an owner by the others (then counted in procs_scanned,
 * else in procs_other_netns).  The stats add up over all tables.  Returns
 * 0, -ENOMEM, or -errno when ROOT/proc cannot be opened. */
int owners_collect_many(const struct nk_root *root, struct socktab **tabs, size_t n,
			const struct owners_scope *scope, struct owners_stats *st);

/* Parse "Max open files" of a /proc/PID/limits text; -1 for "unlimited".
 * Returns 0 or -EINVAL (line missing or malformed). */
int owners_parse_limits(const char *text, long long *soft, long long *hard);

/* Parse a /proc/PID/stat line (len bytes, not NUL-terminated): the state
 * letter (field 3) and starttime (field 22, clock ticks after boot).  The
 * name in parentheses may hold blanks and ')': the last ')' ends it.
 * Returns 0 or -EINVAL. */
int owners_parse_stat(const char *text, size_t len, char *state, unsigned long long *starttime);

/* A small file below dirfd (no links followed, no blocking open) in buf,
 * NUL-terminated: its length or -errno. */
ssize_t owners_read_small(int dirfd, const char *path, char *buf, size_t size);

/* Read again the processes of the tables whose state is stopped, traced or
 * disk-sleep (src/facts/owners-state.c): a thread of theirs that runs or
 * sleeps, or a later reading without the stop, replaces it; only a stop
 * that held over four readings in about 0.14 s stays.  procfd: /proc.
 * Returns 0 or -ENOMEM. */
int owners_settle_states(int procfd, struct socktab **tabs, size_t ntabs);

/* The state of process pid as one reading of owners_settle_states() sees
 * it: its main thread's, or when that one is stopped, traced or in disk
 * sleep, that of a thread of it that runs or sleeps.  0 when unreadable
 * or unknown.  procfd: /proc. */
char owners_process_state(int procfd, int pid);

/* Whether a main thread's state letter takes no connections: stopped,
 * traced, in disk sleep, or a zombie (pthread_exit() in main) while other
 * threads may run on; owners_process_state() then reads the threads. */
bool owners_state_idle(char s);

/* The word for a state letter of /proc/PID/stat ("running" for 'R',
 * "stopped" for 'T' ... doc/facts.md); NULL for an unknown letter. */
const char *owners_state_name(char state);

/* Parse "btime N" of a /proc/stat text.  Returns 0 or -EINVAL. */
int owners_parse_btime(const char *text, long long *btime);

/* The socket inodes an epoll set watches, from the text of
 * /proc/PID/fdinfo/FD of an epoll descriptor (its "tfd:" lines): fn is
 * called with each target's inode ("ino:" field) or, on kernels that do
 * not print it, with 0 and the target descriptor.  A partial last line
 * (no newline) is left unparsed: returns the bytes consumed. */
size_t owners_parse_epoll(const char *text, size_t len,
			  void (*fn)(uint64_t ino, int tfd, void *data), void *data);

#endif
