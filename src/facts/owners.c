/* Owning processes of listeners: scan the links in ROOT/proc/[0-9]+/fd for
 * "socket:[INODE]" whose inode is a listener's.
 *
 * Cost is one readlinkat() per open descriptor on the system, so the scan
 * does nothing else per descriptor: directories are read with getdents64
 * into large reused buffers, links are read relative to the fd directory
 * (no path walk from the root), the target is compared against "socket:["
 * and looked up in a hash set of listener inodes, and nothing is allocated
 * unless it matches.  comm, limits and stat are read only for owning
 * processes.  The processes are shared among a few threads (one per CPU, at
 * most MAX_WORKERS): the kernel work per link dominates and scales with CPUs.
 *
 * Several processes often hold one listener (a pre-fork server's master and
 * workers; with SO_REUSEPORT, nginx's master and every worker hold every
 * socket of the group), but only some of them wait for connections on it.
 * The epoll sets of owning processes tell which: /proc/PID/fdinfo of an
 * epoll descriptor lists each watched file with its inode.  The text of
 * the files read for a process is parsed in owners-parse.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "facts/sockets.h"
#include "util/escape.h"
#include "util/fileio.h"

#define DENTS_BUF_SIZE (64 * 1024)

struct dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};
/* its d_type values (<dirent.h> would clash with the struct above) */
enum { NK_DT_UNKNOWN = 0, NK_DT_LNK = 10 };

/* Listener inodes of all tables: inode -> (table, listener). */
struct inode_set {
	uint64_t *inode;        /* 0: empty slot */
	uint32_t *listener;
	uint32_t *table;
	size_t mask;
};

static uint64_t inode_hash(uint64_t v)
{
	v ^= v >> 31;
	v *= 0x9e3779b97f4a7c15ULL;
	return v ^ (v >> 29);
}

/* The inodes of the listeners of every table, then of its more_inodes
 * (index t->n + k): inode -> (table, index). */
static int inode_set_build(struct inode_set *s, struct socktab *const *tabs, size_t n)
{
	size_t cap = 64, total = 0;

	for (size_t k = 0; k < n; k++)
		total += tabs[k]->n + tabs[k]->nmore;
	while (cap < total * 2)
		cap *= 2;
	s->inode = calloc(cap, sizeof(*s->inode));
	s->listener = calloc(cap, sizeof(*s->listener));
	s->table = calloc(cap, sizeof(*s->table));
	if (!s->inode || !s->listener || !s->table)
		return -ENOMEM;
	s->mask = cap - 1;
	for (size_t k = 0; k < n; k++) {
		const struct socktab *t = tabs[k];

		for (size_t i = 0; i < t->n + t->nmore; i++) {
			uint64_t ino = i < t->n ? t->l[i].inode : t->more_inodes[i - t->n];
			size_t j;

			if (ino == 0)
				continue;
			j = inode_hash(ino) & s->mask;
			while (s->inode[j] && s->inode[j] != ino)
				j = (j + 1) & s->mask;
			if (s->inode[j])
				continue;       /* one socket is in one namespace: the first wins */
			s->inode[j] = ino;
			s->listener[j] = (uint32_t)i;
			s->table[j] = (uint32_t)k;
		}
	}
	return 0;
}

/* The listener of inode ino: true and *table, *listener set. */
static bool inode_set_find(const struct inode_set *s, uint64_t ino, uint32_t *table, uint32_t *listener)
{
	size_t j = inode_hash(ino) & s->mask;

	while (s->inode[j]) {
		if (s->inode[j] == ino) {
			*table = s->table[j];
			*listener = s->listener[j];
			return true;
		}
		j = (j + 1) & s->mask;
	}
	return false;
}

static void inode_set_free(struct inode_set *s)
{
	free(s->inode);
	free(s->listener);
	free(s->table);
}

/* "socket:[12345]" → 12345; 0 for anything else. */
static uint64_t socket_inode(const char *s, ssize_t n)
{
	uint64_t v = 0;
	ssize_t i;

	if (n < 10 || memcmp(s, "socket:[", 8) != 0 || s[n - 1] != ']')
		return 0;
	for (i = 8; i < n - 1; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

static bool all_digits(const char *s, size_t maxlen)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9' || i >= maxlen)
			return false;
	return i > 0;
}

/* Read a small file relative to dirfd into buf (NUL-terminated); returns
 * its length or -errno. */
ssize_t owners_read_small(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	while (n < size - 1) {
		ssize_t k = read(fd, buf + n, size - 1 - n);

		if (k < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* comm, limits, state and start of an owning process (fds is counted by
 * the scan).  btime: boot time (Unix), -1 unknown. */
static int describe_proc(int procfd, const char *pidstr, long long btime, struct sock_proc *p)
{
	char path[64], buf[4096];
	unsigned long long start;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;

	p->nofile_soft = p->nofile_hard = -1;
	p->start_time = -1;
	p->state = 0;
	snprintf(path, sizeof(path), "%s/comm", pidstr);
	n = owners_read_small(procfd, path, buf, 64);
	if (n >= 0) {
		p->comm = escape_untrusted_line(buf, (size_t)n);
		if (!p->comm)
			return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/limits", pidstr);
	if (owners_read_small(procfd, path, buf, sizeof(buf)) >= 0 &&
	    owners_parse_limits(buf, &p->nofile_soft, &p->nofile_hard) < 0)
		p->nofile_soft = p->nofile_hard = -1;
	snprintf(path, sizeof(path), "%s/stat", pidstr);
	n = owners_read_small(procfd, path, buf, sizeof(buf));
	if (n > 0 && owners_parse_stat(buf, (size_t)n, &p->state, &start) == 0) {
		if (btime >= 0 && hz > 0 && start / (unsigned long long)hz < (unsigned long long)(INT64_MAX - btime))
			p->start_time = btime + (long long)(start / (unsigned long long)hz);
	} else {
		p->state = 0;
	}
	return 0;
}

static int add_link(struct socktab *t, uint32_t listener, uint32_t proc)
{
	if (t->nlinks == t->caplinks) {
		size_t cap = t->caplinks ? t->caplinks * 2 : 64;
		struct sock_owner_link *nl = realloc(t->links, cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		t->links = nl;
		t->caplinks = cap;
	}
	t->links[t->nlinks].listener = listener;
	t->links[t->nlinks].proc = proc;
	t->links[t->nlinks].polls = false;
	t->nlinks++;
	return 0;
}

static int new_proc(struct socktab *t, int pid, uint32_t *idx)
{
	struct sock_proc *p;

	if (t->nprocs == t->capprocs) {
		size_t cap = t->capprocs ? t->capprocs * 2 : 16;
		struct sock_proc *np = realloc(t->procs, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		t->procs = np;
		t->capprocs = cap;
	}
	p = &t->procs[t->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->fds = -1;
	p->nofile_soft = p->nofile_hard = -1;
	*idx = (uint32_t)t->nprocs++;
	return 0;
}

/* ---- the scan, shared by a few threads ----
 *
 * The list of processes is read first; workers then take processes one at
 * a time (their descriptor counts differ by orders of magnitude) and record
 * each (table, listener, process) hit.  Only the calling thread touches the
 * socktabs, after the workers are done.
 *
 * With a scope (the listeners of one network namespace), a process whose
 * /proc/PID/ns/net is another namespace is skipped after one stat(2)
 * instead of a readlink per descriptor: a socket belongs to the namespace
 * it was created in, and the processes holding it nearly always live there
 * too.  When a listener is left without an owner, the skipped processes
 * are read as well (a second pass), so that a socket passed to, or kept
 * by, a process in another namespace is still found. */

#define MAX_WORKERS 4

struct hit {
	uint32_t table;
	uint32_t listener;      /* NO_LISTENER: an epoll descriptor */
	uint32_t slot;          /* index in scan.pids */
	int epfd;               /* the epoll descriptor, or -1 */
};

#define NO_LISTENER UINT32_MAX

struct scan {
	const struct inode_set *set;
	const struct owners_scope *scope;
	int procfd;
	int *pids;
	size_t npids;
	long long *nfds;        /* per slot: entries of its fd directory */
	uint8_t *skipped;       /* per slot, with a scope: in another namespace, not read */
	bool second;            /* the second pass: only the skipped ones */
	size_t next;            /* next slot to take (atomic) */
};

struct worker {
	struct scan *sc;
	pthread_t thread;
	bool started;
	char *dents;
	struct hit *hits;
	size_t nhits, caphits;
	int *eps;               /* epoll descriptors of the process being scanned */
	size_t neps, capeps;
	unsigned long scanned, denied;
	unsigned long failed;   /* fd directory not opened for another reason */
	int failed_errno;       /* the first such errno (EMFILE: netknobs out of descriptors) */
	int err;                /* -ENOMEM */
};

static bool is_denied(int err)
{
	return err == EACCES || err == EPERM;
}

static int add_hit(struct worker *w, uint32_t table, uint32_t listener, uint32_t slot, int epfd)
{
	if (w->nhits == w->caphits) {
		size_t cap = w->caphits ? w->caphits * 2 : 16;
		struct hit *nh = realloc(w->hits, cap * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		w->hits = nh;
		w->caphits = cap;
	}
	w->hits[w->nhits].table = table;
	w->hits[w->nhits].listener = listener;
	w->hits[w->nhits].slot = slot;
	w->hits[w->nhits].epfd = epfd;
	w->nhits++;
	return 0;
}

static int add_ep(struct worker *w, const char *name)
{
	if (w->neps == w->capeps) {
		size_t cap = w->capeps ? w->capeps * 2 : 8;
		int *ne = realloc(w->eps, cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		w->eps = ne;
		w->capeps = cap;
	}
	w->eps[w->neps++] = atoi(name);
	return 0;
}

static bool is_epoll(const char *link, ssize_t n)
{
	static const char ep[] = "anon_inode:[eventpoll]";

	return n == (ssize_t)sizeof(ep) - 1 && memcmp(link, ep, sizeof(ep) - 1) == 0;
}

/* With a scope: is the process in another network namespace?  When that
 * cannot be told (no permission, gone), it is read as before. */
static bool other_netns(const struct scan *sc, size_t slot)
{
	char path[40];
	struct stat st;

	snprintf(path, sizeof(path), "%d/ns/net", sc->pids[slot]);
	/* following the link: the namespace's nsfs inode */
	if (fstatat(sc->procfd, path, &st, 0) < 0)
		return false;
	return (uint64_t)st.st_dev != sc->scope->dev || (uint64_t)st.st_ino != sc->scope->ino;
}

/* Scan one process.  Returns 0 or -ENOMEM; vanished or unreadable
 * processes are skipped. */
/* The fd directory of a live thread of pid other than its main one, or
 * -1: the descriptors of a process whose main thread has exited
 * (pthread_exit() in main) are not shown in its PID/fd, which is empty. */
static int thread_fd_dir(int procfd, int pid)
{
	char path[48], buf[4096] __attribute__((aligned(8)));
	int fd = -1, dfd;
	long n;

	snprintf(path, sizeof(path), "%d/task", pid);
	dfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	/* the first entries are enough: any live thread will do */
	n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
	for (long off = 0; fd < 0 && off < n;) {
		const struct dirent64 *d = (const struct dirent64 *)(buf + off);

		off += d->d_reclen;
		if (!all_digits(d->d_name, 10) || atoi(d->d_name) == pid)
			continue;
		snprintf(path, sizeof(path), "%d/task/%s/fd", pid, d->d_name);
		fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	close(dfd);
	return fd;
}

static int scan_proc(struct worker *w, size_t slot)
{
	struct scan *sc = w->sc;
	char path[32], link[40];
	long long nfds = 0;
	bool denied = false;
	size_t hits0 = w->nhits;
	int fdfd, r = 0;

	if (sc->scope && !sc->second && other_netns(sc, slot)) {
		sc->skipped[slot] = 1;
		return 0;
	}
	snprintf(path, sizeof(path), "%d/fd", sc->pids[slot]);
	fdfd = openat(sc->procfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fdfd < 0) {
		if (is_denied(errno)) {
			w->denied++;
		} else if (errno != ENOENT && errno != ESRCH) {
			/* not gone, not denied: EMFILE, ENFILE, ENOMEM ... */
			if (!w->failed++)
				w->failed_errno = errno;
		}
		return 0;
	}
	w->scanned++;
	w->neps = 0;
	for (bool other = false;;) {
		long n = syscall(SYS_getdents64, fdfd, w->dents, DENTS_BUF_SIZE);

		if (n <= 0 && !nfds && !other) {
			/* none: a main thread gone, the others holding them? */
			int tfd = thread_fd_dir(sc->procfd, sc->pids[slot]);

			other = true;
			if (tfd >= 0) {
				close(fdfd);
				fdfd = tfd;
				continue;
			}
		}
		if (n <= 0)
			break;          /* end, or the process went away */
		for (long off = 0; off < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(w->dents + off);
			uint32_t table, li;
			ssize_t k;
			uint64_t ino;

			off += d->d_reclen;
			if (d->d_name[0] == '.')
				continue;
			nfds++;
			k = readlinkat(fdfd, d->d_name, link, sizeof(link));
			if (k < 0) {
				if (is_denied(errno))
					denied = true;
				continue;
			}
			if (is_epoll(link, k)) {
				r = add_ep(w, d->d_name);
				if (r < 0)
					goto out;
				continue;
			}
			ino = socket_inode(link, k);
			if (!ino || !inode_set_find(sc->set, ino, &table, &li))
				continue;
			r = add_hit(w, table, li, (uint32_t)slot, -1);
			if (r < 0)
				goto out;
		}
	}
	if (denied)
		w->denied++;
	sc->nfds[slot] = nfds;
	/* the epoll sets matter only for processes that hold a listener */
	for (size_t i = 0; w->nhits > hits0 && i < w->neps && r == 0; i++)
		r = add_hit(w, 0, NO_LISTENER, (uint32_t)slot, w->eps[i]);
out:
	close(fdfd);
	return r;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		size_t slot = __atomic_fetch_add(&w->sc->next, 1, __ATOMIC_RELAXED);

		if (slot >= w->sc->npids)
			break;
		if (w->sc->second && !w->sc->skipped[slot])
			continue;
		w->err = scan_proc(w, slot);
		if (w->err < 0) {
			/* stop the others too */
			__atomic_store_n(&w->sc->next, w->sc->npids, __ATOMIC_RELAXED);
			break;
		}
	}
	return NULL;
}

/* One pass over the processes: workers 1.. in threads, worker 0 here; a
 * thread that cannot be started just leaves more work to the others. */
static int run_workers(struct scan *sc, struct worker *w, unsigned nw)
{
	int r = 0;

	sc->next = 0;
	for (unsigned k = 1; k < nw; k++)
		w[k].started = pthread_create(&w[k].thread, NULL, worker_run, &w[k]) == 0;
	worker_run(&w[0]);
	for (unsigned k = 1; k < nw; k++)
		if (w[k].started)
			pthread_join(w[k].thread, NULL);
	for (unsigned k = 0; k < nw; k++)
		if (w[k].err < 0)
			r = w[k].err;
	return r;
}

static bool is_dir_nofollow(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* The numeric entries of ROOT/proc. */
static int list_pids(struct scan *sc)
{
	char *buf = malloc(DENTS_BUF_SIZE);
	size_t cap = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		long n = syscall(SYS_getdents64, sc->procfd, buf, DENTS_BUF_SIZE);

		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + off);

			off += d->d_reclen;
			/* a process is a directory: a link (in a copied tree)
			 * could lead out of the root */
			if (!all_digits(d->d_name, 9) || d->d_type == NK_DT_LNK ||
			    (d->d_type == NK_DT_UNKNOWN && !is_dir_nofollow(sc->procfd, d->d_name)))
				continue;
			if (sc->npids == cap) {
				int *np;

				cap = cap ? cap * 2 : 1024;
				np = realloc(sc->pids, cap * sizeof(*np));
				if (!np) {
					r = -ENOMEM;
					goto out;
				}
				sc->pids = np;
			}
			sc->pids[sc->npids++] = atoi(d->d_name);
		}
	}
out:
	free(buf);
	return r;
}

static unsigned worker_count(size_t npids)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus > 0 ? (unsigned)cpus : 1;

	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	/* a thread is not worth it for a handful of processes */
	if (npids < 64)
		n = 1;
	return n;
}

static int link_cmp_t(const void *a, const void *b, void *arg)
{
	const struct sock_owner_link *x = a, *y = b;
	const struct socktab *t = arg;

	if (x->listener != y->listener)
		return x->listener < y->listener ? -1 : 1;
	if (t->procs[x->proc].pid != t->procs[y->proc].pid)
		return t->procs[x->proc].pid < t->procs[y->proc].pid ? -1 : 1;
	return 0;
}

/* The link (listener, proc), or NULL; links are sorted. */
static struct sock_owner_link *find_link(struct socktab *t, uint32_t listener, uint32_t proc)
{
	struct sock_owner_link key = { .listener = listener, .proc = proc };
	size_t lo = 0, hi = t->nlinks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = link_cmp_t(&key, &t->links[mid], t);

		if (c == 0)
			return &t->links[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* A process holding listeners of a table: its index there.  Sorted by
 * slot, then table. */
struct slot_proc {
	uint32_t slot, table, proc;
};

/* The owners found, per process and table (record_owners). */
struct owned {
	struct slot_proc *sp;
	size_t n;
	uint32_t *first;        /* per slot: index in sp + 1, 0 when it holds none */
};

struct ep_ctx {
	struct socktab **tabs;
	const struct inode_set *set;
	const struct owned *ow;
	int procfd;
	int fddir;              /* PID/fd, opened when first needed, or -1 */
	int pid;
	uint32_t slot;
	bool read;              /* some of the epoll set was read */
};

/* PID/SUB of procfd as a directory: no link followed (in a copied tree a
 * link could lead out of the root).  Returns an fd or -1. */
static int proc_subdir(int procfd, int pid, const char *sub)
{
	char path[32];

	snprintf(path, sizeof(path), "%d/%s", pid, sub);
	return openat(procfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* One target of an epoll set: a listener this process holds polls. */
static void ep_target(uint64_t ino, int tfd, void *data)
{
	struct ep_ctx *c = data;
	uint32_t table, li;

	if (ino == 0) {
		/* kernels that print no "ino:": the target descriptor's link */
		char name[16], link[40];
		ssize_t n;

		if (c->fddir < 0 && (c->fddir = proc_subdir(c->procfd, c->pid, "fd")) < 0)
			return;
		snprintf(name, sizeof(name), "%d", tfd);
		n = readlinkat(c->fddir, name, link, sizeof(link));
		if (n <= 0 || !(ino = socket_inode(link, n)))
			return;
	}
	if (!inode_set_find(c->set, ino, &table, &li))
		return;
	for (size_t k = c->ow->first[c->slot] - 1; k < c->ow->n && c->ow->sp[k].slot == c->slot; k++) {
		struct sock_owner_link *ln;

		if (c->ow->sp[k].table == table && (ln = find_link(c->tabs[table], li, c->ow->sp[k].proc)))
			ln->polls = true;
	}
}

/* The most of an epoll descriptor's fdinfo read: about 90 bytes a watched
 * descriptor, so 1.4 million of them. */
#define EPOLL_INFO_MAX (128u << 20)

/* Read /proc/PID/fdinfo/EPFD through buf (size bytes) and mark the
 * listeners it watches. */
static void read_epoll(struct ep_ctx *c, int epfd, char *buf, size_t size)
{
	char name[16];
	size_t have = 0, total = 0;
	int dir = proc_subdir(c->procfd, c->pid, "fdinfo"), fd;
	struct stat st;

	if (dir < 0)
		return;
	/* a regular file only (/proc's are; no FIFO, device or link of a
	 * copied tree): never blocks, stays below it, ends */
	snprintf(name, sizeof(name), "%d", epfd);
	fd = openat(dir, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	close(dir);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	while (total < EPOLL_INFO_MAX) {
		ssize_t k = read(fd, buf + have, size - have);
		size_t used;

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		have += (size_t)k;
		total += (size_t)k;
		used = owners_parse_epoll(buf, have, ep_target, c);
		if (used == 0 && have == size)
			used = have;    /* a line longer than the buffer: not ours */
		memmove(buf, buf + used, have - used);
		have -= used;
		c->read = true;
	}
	close(fd);
}

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	return x->listener < y->listener ? -1 : x->listener > y->listener;
}

/* Process slot as a process of tabs[table]: described once (comm, limits,
 * state), copied into the other tables that it holds listeners of. */
static int take_proc(struct socktab **tabs, struct owned *ow, struct scan *sc, uint32_t slot,
		     uint32_t table, long long btime)
{
	struct slot_proc *sp = &ow->sp[ow->n];
	uint32_t idx;
	int r = new_proc(tabs[table], sc->pids[slot], &idx);

	if (r < 0)
		return r;
	if (ow->first[slot]) {
		const struct slot_proc *f = &ow->sp[ow->first[slot] - 1];
		struct sock_proc *p = &tabs[table]->procs[idx];

		*p = tabs[f->table]->procs[f->proc];
		if (p->comm && !(p->comm = strdup(p->comm)))
			return -ENOMEM;
	} else {
		char pidstr[16];

		ow->first[slot] = (uint32_t)ow->n + 1;
		tabs[table]->procs[idx].fds = sc->nfds[slot];
		snprintf(pidstr, sizeof(pidstr), "%d", sc->pids[slot]);
		r = describe_proc(sc->procfd, pidstr, btime, &tabs[table]->procs[idx]);
		if (r < 0)
			return r;
	}
	sp->slot = slot;
	sp->table = table;
	sp->proc = idx;
	ow->n++;
	return 0;
}

/* Turn the workers' hits into processes (comm, limits, state) and links
 * of each table, then mark the links whose listener the process polls. */
static int record_owners(struct socktab **tabs, size_t ntabs, struct scan *sc, struct worker *w,
			 unsigned nw, long long btime)
{
	struct owned ow = { NULL, 0, NULL };
	struct hit *all;
	size_t nall = 0;
	int r = 0;

	for (unsigned k = 0; k < nw; k++)
		nall += w[k].nhits;
	all = malloc((nall ? nall : 1) * sizeof(*all));
	ow.sp = malloc((nall ? nall : 1) * sizeof(*ow.sp));
	ow.first = calloc(sc->npids ? sc->npids : 1, sizeof(*ow.first));
	if (!all || !ow.sp || !ow.first) {
		r = -ENOMEM;
		goto out;
	}
	nall = 0;
	for (unsigned k = 0; k < nw; k++)
		for (size_t i = 0; i < w[k].nhits; i++)
			if (w[k].hits[i].listener != NO_LISTENER)
				all[nall++] = w[k].hits[i];
	qsort(all, nall, sizeof(*all), hit_cmp);
	for (size_t i = 0; i < nall && r == 0; i++) {
		const struct hit *h = &all[i];

		if (i == 0 || h->slot != all[i - 1].slot || h->table != all[i - 1].table)
			r = take_proc(tabs, &ow, sc, h->slot, h->table, btime);
		if (r == 0)
			r = add_link(tabs[h->table], h->listener, ow.sp[ow.n - 1].proc);
	}
	for (size_t k = 0; k < ntabs && r == 0; k++) {
		struct socktab *t = tabs[k];
		size_t n = 0;

		if (!t->nlinks)
			continue;
		qsort_r(t->links, t->nlinks, sizeof(*t->links), link_cmp_t, t);
		/* one process holding a listener twice (dup) is listed once */
		for (size_t i = 0; i < t->nlinks; i++)
			if (n == 0 || link_cmp_t(&t->links[n - 1], &t->links[i], t) != 0)
				t->links[n++] = t->links[i];
		t->nlinks = n;
	}
	for (unsigned k = 0; k < nw && r == 0; k++) {
		for (size_t i = 0; i < w[k].nhits; i++) {
			const struct hit *h = &w[k].hits[i];
			struct ep_ctx c = { .tabs = tabs, .set = sc->set, .ow = &ow, .procfd = sc->procfd,
					    .fddir = -1, .slot = h->slot };

			if (h->listener != NO_LISTENER || !ow.first[h->slot])
				continue;
			c.pid = sc->pids[h->slot];
			read_epoll(&c, h->epfd, w[0].dents, DENTS_BUF_SIZE);
			if (c.fddir >= 0)
				close(c.fddir);
			for (size_t j = ow.first[h->slot] - 1; c.read && j < ow.n && ow.sp[j].slot == h->slot; j++)
				tabs[ow.sp[j].table]->procs[ow.sp[j].proc].has_epoll = true;
		}
	}
out:
	free(all);
	free(ow.sp);
	free(ow.first);
	return r;
}

/* Boot time (Unix) from ROOT/proc/stat, -1 when unknown. */
static long long boot_time(const struct nk_root *root)
{
	char *text = NULL;
	long long btime = -1;

	if (root_read_file(root, "proc/stat", 16 << 20, &text, NULL) == 0 &&
	    owners_parse_btime(text, &btime) < 0)
		btime = -1;
	free(text);
	return btime;
}

/* After a first pass with a scope: is a listener (one the scan could
 * find) left without a process? */
static bool some_unowned(struct socktab **tabs, size_t n, const struct worker *w, unsigned nw)
{
	size_t total = 0, *off = malloc((n + 1) * sizeof(*off));
	uint8_t *owned;
	bool any = false;

	if (!off)
		return true;    /* out of memory: read them all, as without a scope */
	for (size_t k = 0; k < n; k++) {
		off[k] = total;
		total += tabs[k]->n + tabs[k]->nmore;
	}
	owned = calloc(total ? total : 1, 1);
	if (!owned) {
		free(off);
		return true;
	}
	for (unsigned k = 0; k < nw; k++)
		for (size_t i = 0; i < w[k].nhits; i++)
			if (w[k].hits[i].listener != NO_LISTENER)
				owned[off[w[k].hits[i].table] + w[k].hits[i].listener] = 1;
	for (size_t k = 0; k < n && !any; k++)
		for (size_t i = 0; i < tabs[k]->n + tabs[k]->nmore && !any; i++)
			any = (i < tabs[k]->n ? tabs[k]->l[i].inode : tabs[k]->more_inodes[i - tabs[k]->n]) &&
			      !owned[off[k] + i];
	free(owned);
	free(off);
	return any;
}

int owners_collect_many(const struct nk_root *root, struct socktab **tabs, size_t n,
			const struct owners_scope *scope, struct owners_stats *st)
{
	struct inode_set set = { 0 };
	struct scan sc = { .set = &set, .scope = scope, .procfd = -1 };
	struct worker w[MAX_WORKERS];
	size_t total = 0;
	unsigned nw = 0;
	int r;

	memset(w, 0, sizeof(w));
	for (size_t k = 0; k < n; k++)
		total += tabs[k]->n + tabs[k]->nmore;
	if (total == 0)
		return 0;
	sc.procfd = root_open_dir(root, "proc");
	if (sc.procfd < 0)
		return sc.procfd;
	r = inode_set_build(&set, tabs, n);
	if (r == 0)
		r = list_pids(&sc);
	if (r < 0)
		goto out;
	sc.nfds = calloc(sc.npids ? sc.npids : 1, sizeof(*sc.nfds));
	sc.skipped = calloc(sc.npids ? sc.npids : 1, 1);
	if (!sc.nfds || !sc.skipped) {
		r = -ENOMEM;
		goto out;
	}
	nw = worker_count(sc.npids);
	for (unsigned k = 0; k < nw; k++) {
		w[k].sc = &sc;
		w[k].dents = malloc(DENTS_BUF_SIZE);
		if (!w[k].dents) {
			nw = k;
			break;
		}
	}
	if (nw == 0) {
		r = -ENOMEM;
		goto out;
	}
	r = run_workers(&sc, w, nw);
	if (r == 0 && scope) {
		size_t skipped = 0;

		for (size_t i = 0; i < sc.npids; i++)
			skipped += sc.skipped[i];
		if (skipped && some_unowned(tabs, n, w, nw)) {
			sc.second = true;
			r = run_workers(&sc, w, nw);
		} else {
			st->procs_other_netns += skipped;
		}
	}
	for (unsigned k = 0; k < nw; k++) {
		st->procs_scanned += w[k].scanned;
		st->procs_denied += w[k].denied;
		if (w[k].failed && !st->procs_failed)
			st->failed_errno = w[k].failed_errno;
		st->procs_failed += w[k].failed;
	}
	if (r == 0)
		r = record_owners(tabs, n, &sc, w, nw, boot_time(root));
	/* a saved /proc (--root) does not change when read again */
	if (r == 0 && root->live)
		r = owners_settle_states(sc.procfd, tabs, n);
	for (size_t k = 0; k < n && r == 0; k++) {
		size_t j = 0;

		for (size_t i = 0; i < tabs[k]->n; i++) {
			while (j < tabs[k]->nlinks && tabs[k]->links[j].listener < i)
				j++;
			if (j == tabs[k]->nlinks || tabs[k]->links[j].listener != i)
				st->ownerless++;
		}
	}
out:
	for (unsigned k = 0; k < MAX_WORKERS; k++) {
		free(w[k].dents);
		free(w[k].hits);
		free(w[k].eps);
	}
	inode_set_free(&set);
	free(sc.pids);
	free(sc.nfds);
	free(sc.skipped);
	close(sc.procfd);
	return r;
}

int owners_collect(const struct nk_root *root, struct socktab *t, struct owners_stats *st)
{
	struct owners_scope scope;
	struct stat ns;

	/* on the running system, the listeners are those of the calling
	 * thread's network namespace */
	if (root->live && stat("/proc/thread-self/ns/net", &ns) == 0) {
		scope.dev = (uint64_t)ns.st_dev;
		scope.ino = (uint64_t)ns.st_ino;
		return owners_collect_many(root, &t, 1, &scope, st);
	}
	return owners_collect_many(root, &t, 1, NULL, st);
}
