/* Every network namespace of the host: finding them, naming them, entering
 * them one after another.
 *
 *   netns-scan.c   discovery: /proc/PID/ns/net, the ip netns names, nsfs
 *                  bind mounts; identity, processes, initial and own ns
 *   netns-name.c   names and kinds (cgroup paths of Docker, containerd,
 *                  CRI-O, Podman, Kubernetes), remediation wording, JSON
 *   netns-visit.c  running a function inside each namespace (setns)
 * (owners_collect_many() in sockets.h finds the owners of the listeners of
 * all of them with one /proc/PID/fd scan)
 *
 * Identity.  A namespace is the nsfs inode that stat(2) gives for any file
 * naming it (/proc/PID/ns/net, a bind mount of one) together with the nsfs
 * device.  How it is read depends on the root:
 *   - a live root (ROOT/proc/self/ns/net is on nsfs): fstatat() of
 *     ROOT/proc/PID/ns/net and of ROOT/run/netns/NAME, following the link;
 *     the st_dev of ROOT/proc/self/ns/net is the nsfs device and anything
 *     else (a stale file left in /run/netns) is not a namespace.  nsfs bind
 *     mounts come from ROOT/proc/self/mountinfo, whose root field is
 *     "net:[INODE]" and whose MAJOR:MINOR is the same nsfs device.
 *   - a fake root (tests): the same files are symbolic links whose text is
 *     "net:[INODE]" (what readlink(2) gives on a live system); the inode is
 *     read from the text and the device is 0.  A name in run/netns that is
 *     not such a link is matched to its bind mount in proc/self/mountinfo.
 * Inode numbers of namespaces come from one allocator (proc_alloc_inum) on
 * one nsfs superblock, so equal inodes are the same namespace in both cases,
 * at one time: the number of a namespace deleted goes to the next one made
 * (what watches over time checks the namespace's cookie, watch-all.c).
 *
 * The initial namespace is the one of a kernel thread (PID 2 with
 * PF_KTHREAD: kernel threads never leave init_net), else PID 1's, else the
 * one whose inode is the static PROC_NET_INIT_INO of recent kernels.  The
 * own namespace is ROOT/proc/self/ns/net.
 *
 * Processes.  Every ROOT/proc/PID is read once (the ns/net link, and for
 * namespaces other than the initial one the start time in ROOT/proc/PID/stat);
 * a namespace keeps only its process count, its oldest process (start
 * time, then PID) and one other, so memory grows with namespaces, not
 * processes.  A process whose link cannot be read (EACCES: not ptrace-able
 * by us) is counted in netns_list.procs_denied; one that exits meanwhile is
 * skipped.  Threads that setns() on their own (/proc/PID/task/TID/ns/net)
 * and namespaces held only by an open descriptor or a socket are not seen.
 *
 * Strings in netns_entry are escaped (escape_untrusted) unless said raw. */
#ifndef NK_NETNS_SCAN_H
#define NK_NETNS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "util/fileio.h"

/* What a namespace is known to be; decides where a change applies. */
enum netns_kind {
	NETNS_KIND_HOST,        /* the initial namespace */
	NETNS_KIND_NAMED,       /* ip netns NAME (and no container) */
	NETNS_KIND_DOCKER,
	NETNS_KIND_CONTAINERD,
	NETNS_KIND_CRIO,
	NETNS_KIND_PODMAN,
	NETNS_KIND_KUBE_POD,    /* a Kubernetes pod (runtime in .runtime) */
	NETNS_KIND_PROCESS,     /* known by its processes only */
	NETNS_KIND_MOUNT,       /* known by a bind mount outside run/netns only */
	NETNS_KIND_UNKNOWN,     /* cgroup parser: nothing recognised */
};

/* "host", "named", "docker", "containerd", "cri-o", "podman",
 * "kubernetes-pod", "process", "mount", "unknown" */
const char *netns_kind_name(enum netns_kind k);

enum netns_state {
	NETNS_FOUND,            /* discovered, not entered (yet) */
	NETNS_ENTERED,          /* the visit function ran inside it */
	NETNS_GONE,             /* it went away between discovery and entry */
	NETNS_DENIED,           /* it could not be entered: err, why */
};

/* "found", "entered", "gone", "denied" */
const char *netns_state_name(enum netns_state s);

struct netns_id {
	uint64_t dev;           /* nsfs device; 0 on a fake root */
	uint64_t ino;
};

struct netns_entry {
	struct netns_id id;
	enum netns_kind kind;
	bool self;              /* the namespace netknobs runs in */
	bool initial;           /* the host's (init_net) */
	char *name;             /* for people: "host", "web", "pod default/web-0", ... */

	/* what is known of it */
	char *netns_name;       /* ip netns name */
	unsigned nnames;        /* ip netns names of it (aliases by ip netns attach) */
	char *mount;            /* a bind mount outside run/netns (absolute path) */
	enum netns_kind runtime;        /* docker, containerd, cri-o, podman; else UNKNOWN */
	char *container_id;     /* the runtime's container id (hex) */
	char *pod_uid;          /* Kubernetes pod UID */
	char *pod_namespace;    /* and, when ROOT/var/log/pods shows it, the pod */
	char *pod_name;
	char *docker_name;      /* docker's name (ROOT/var/lib/docker/containers) */

	/* processes */
	unsigned long nprocs;
	int pid;                /* the oldest (0: none known) */
	unsigned long long start;       /* its start time, clock ticks after boot */
	int pid_alt;            /* another one, to enter by when the oldest has gone */
	char *comm;             /* the oldest's command */

	/* entering: a file below the root that names it (raw, relative to the
	 * root): run/netns/NAME or the bind mount; else proc/PID/ns/net */
	char *enter_path;
	enum netns_state state;
	int err;                /* -errno for DENIED */
	char *why;              /* DENIED: what failed, for people */
};

struct netns_list {
	struct netns_entry *ns; /* sorted: the initial one, then by kind and name */
	size_t n, cap;
	bool live;              /* identities from stat(2); else from link texts */
	const char *initial_method;     /* "kthread", "pid1", "static-inode", NULL */
	unsigned long procs;            /* processes whose namespace was read */
	unsigned long procs_denied;     /* ... could not be read (EACCES/EPERM) */
	int first_denied_pid;
	unsigned long procs_gone;       /* exited while being read */
	unsigned long mounts;           /* nsfs net mounts in mountinfo */
	unsigned long names;            /* entries of run/netns */
	/* private: lookup by inode */
	uint32_t *hash;
	size_t hash_cap;
};

/* Find every network namespace below root and name them.  Returns 0 and a
 * new list in *out, or -errno when ROOT/proc cannot be read (logged).
 * Unreadable parts (run/netns absent, a process gone) are not errors. */
int netns_scan(const struct nk_root *root, struct netns_list **out);
void netns_list_free(struct netns_list *l);

/* The entry for an identity, NULL when not in the list. */
struct netns_entry *netns_list_find(const struct netns_list *l, struct netns_id id);

/* The entry for an identity, added (empty, kind UNKNOWN) when new; NULL
 * when out of memory.  Pointers into the list move when it grows. */
struct netns_entry *netns_list_add(struct netns_list *l, struct netns_id id);

/* ---- naming (netns-name.c) ---- */

/* What a cgroup path says about the container of a process. */
struct netns_cgroup {
	enum netns_kind kind;   /* UNKNOWN, DOCKER, CONTAINERD, CRIO, PODMAN, KUBE_POD */
	enum netns_kind runtime;        /* the runtime when recognised, else UNKNOWN */
	char id[65];            /* container id, "" when none */
	char pod_uid[37];       /* pod UID with dashes, "" when none */
};

/* Parse one cgroup path ("/system.slice/docker-ID.scope", cgroup v1 or v2,
 * systemd or cgroupfs driver).  Returns true when a container or pod was
 * recognised. */
bool netns_cgroup_parse_path(const char *path, struct netns_cgroup *out);

/* Parse a /proc/PID/cgroup text: the first line that names a container,
 * the unified (0::) one first.  Returns true when recognised. */
bool netns_cgroup_parse(const char *text, struct netns_cgroup *out);

/* Name e (kind, name, pod, docker name) from what is known of it, reading
 * ROOT/proc/PID/cgroup and comm of its processes and, for pods,
 * ROOT/var/log/pods.  Returns 0 or -ENOMEM. */
int netns_name_entries(struct netns_list *l, const struct nk_root *root);

/* Where a sysctl change applies, for people: *now, a command that changes
 * it in this namespace now ("ip netns exec web sysctl -w KEY=VALUE"), and
 * *persist, where to make it last ("docker run --sysctl KEY=VALUE ...").
 * key and value must already be validated (sysctl key syntax, a value
 * netknobs computed).  New strings; returns 0 or -ENOMEM. */
int netns_remedy(const struct netns_entry *e, const char *key, const char *value,
		 char **now, char **persist);

/* {"id": "net:[INODE]", "inode", "kind", "name", "self", "initial",
 *  "netns_name", "mount", "container": {...}, "pod": {...},
 *  "processes": {"count", "oldest": {"pid", "comm"}}, "state", "reason"}
 * and the list: {"namespaces": [...], "processes_read", ...}.  New
 * references. */
json_t *netns_entry_to_json(const struct netns_entry *e);
json_t *netns_list_to_json(const struct netns_list *l);

/* The list of namespaces a saved document describes: an array of objects
 * as netns_entry_to_json() makes them, in the array's order (each must
 * have "inode", "kind" and "name"; strings from it are made safe to print
 * with escape_display).  Returns the list, or NULL with the reason in err
 * (a malformed or repeated entry, out of memory). */
struct netns_list *netns_list_from_json(const json_t *namespaces, char *err, size_t errlen);

/* ---- entering (netns-visit.c) ----
 *
 * What changes after setns(fd, CLONE_NEWNET) in a thread (verified on
 * Linux 6.18 by `tests/helpers/netns-scan -K`, run by
 * tests/integration/netns-scan.sh):
 *   - /proc/thread-self/net follows the calling thread's namespace at once.
 *     /proc/net is a link to self/net, i.e. /proc/TGID/net: the namespace
 *     of the thread-group leader.  So only the main thread may read
 *     /proc/net after setns; a helper thread must use /proc/thread-self/net.
 *   - /proc/sys/net: the namespace is fixed when the file is opened (the
 *     opener's); a descriptor opened before setns() keeps reading and
 *     writing the old namespace's value.  Files opened after it follow.
 *   - netlink sockets (sock_diag, rtnetlink) belong to the namespace they
 *     were created in, for ever: create them after setns().
 *   - Sockets, descriptors and memory are unaffected; /proc/PID/fd links
 *     and socket inodes are host-wide, so owners can be found from any
 *     namespace (the mount namespace is what matters there).
 * The mount namespace is not changed: ROOT and every path stay as they were.
 *
 * Cost (bench/netns-scan, 200 namespaces with 5 listeners and 50
 * connections each, 2 CPUs): discovery and naming 3 ms, 2.3 MiB peak RSS;
 * open + setns + return about 12 us a namespace; entering all 200 and
 * dumping their listeners 35 ms.  Dumping the other TCP states is what
 * costs: the kernel walks its established hash, shared by every namespace
 * created without tcp_child_ehash_entries, over every connection of the
 * host, for each namespace (10 ms a namespace with 20,000 connections on the
 * host).  Helper threads do that ahead of the visit (netns_ahead_start()). */

/* Called inside e's namespace (or in the own one, for e->self).  Return 0
 * to go on, or -errno to stop the visit (it is returned by netns_visit()). */
typedef int (*netns_visit_fn)(struct netns_entry *e, void *arg);

struct netns_visit_stats {
	unsigned long entered, gone, denied;
	double seconds_setns;   /* spent in open+setns+return */
};

/* Run fn inside each namespace of l in turn (own one included, without
 * setns), from the calling thread, which must be the main thread (see
 * above).  Before each, the namespace is opened by its enter_path, else by
 * its oldest process, else the other one, and its identity checked: a
 * namespace that is no longer there (the files gone, or now naming another
 * namespace) is marked GONE and skipped; one that cannot be opened or
 * entered is marked DENIED with the reason.  After each, the thread goes
 * back to its own namespace and checks that it is there; if it cannot,
 * netns_visit() logs it and returns -errno at once, and the caller must
 * not write anything.  Needs a live root (-EOPNOTSUPP otherwise).
 * Returns 0, fn's error, or -errno. */
int netns_visit(struct netns_list *l, const struct nk_root *root, netns_visit_fn fn, void *arg,
		struct netns_visit_stats *st);

/* Open e as netns_visit() does (by its enter_path, else its processes) and
 * check its identity, without changing e.  Returns an fd, -ENOENT when it
 * is gone, or -errno. */
int netns_entry_open(const struct nk_root *root, const struct netns_entry *e);

/* ---- work ahead of the visit (netns-ahead.c) ----
 *
 * Helper threads go through l in order, a few namespaces ahead of the
 * consumer: each enters the namespace itself (setns() moves only the calling
 * thread) and runs fn(e, slot, arg) there with a slot of size bytes
 * (zeroed) to fill.  fn
 * may only use what follows the thread: netlink sockets it creates, files
 * below /proc/sys/net it opens, /proc/thread-self/net, never /proc/net.  The
 * consumer, typically netns_visit()'s callback, takes namespace i's slot:
 * it waits for it, and gets NULL when it could not be done (gone, not
 * entered, fn failed) or there are no helpers; it then does the work itself.
 * Slots below a taken one that were never taken are dropped with drop at
 * netns_ahead_stop(), which joins the threads.  The helpers leave the main
 * thread's namespace alone.  Returns NULL (no helpers: not live, fewer than
 * two namespaces, threads 0, no thread could start, out of memory). */
#define NETNS_AHEAD_MAX_THREADS 8
typedef int (*netns_ahead_fn)(const struct netns_entry *e, void *slot, void *arg);
typedef void (*netns_ahead_drop_fn)(void *slot);
struct netns_ahead;
struct netns_ahead *netns_ahead_start(const struct netns_list *l, const struct nk_root *root,
				      unsigned threads, netns_ahead_fn fn, void *arg,
				      netns_ahead_drop_fn drop, size_t size);
void *netns_ahead_take(struct netns_ahead *a, size_t i);
void netns_ahead_stop(struct netns_ahead *a);

#endif
