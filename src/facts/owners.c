/* Owning processes of listeners: scan the links in ROOT/proc/[0-9]+/fd for
 * "socket:[INODE]" whose inode is a listener's.
 *
 * Cost is one readlinkat() per open descriptor on the system, so the scan
 * does nothing else per descriptor: directories are read with getdents64
 * into large reused buffers, links are read relative to the fd directory
 * (no path walk from the root), the target is compared against "socket:["
 * and looked up in a hash set of listener inodes, and nothing is allocated
 * unless it matches.  comm and limits are read only for owning processes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "facts/sockets.h"
#include "util/escape.h"

#define DENTS_BUF_SIZE (64 * 1024)

struct dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct inode_set {
	uint64_t *inode;        /* 0: empty slot */
	uint32_t *listener;
	size_t mask;
};

static uint64_t inode_hash(uint64_t v)
{
	v ^= v >> 31;
	v *= 0x9e3779b97f4a7c15ULL;
	return v ^ (v >> 29);
}

static int inode_set_build(struct inode_set *s, const struct socktab *t)
{
	size_t cap = 64;

	while (cap < t->n * 2)
		cap *= 2;
	s->inode = calloc(cap, sizeof(*s->inode));
	s->listener = calloc(cap, sizeof(*s->listener));
	if (!s->inode || !s->listener)
		return -ENOMEM;
	s->mask = cap - 1;
	for (size_t i = 0; i < t->n; i++) {
		uint64_t ino = t->l[i].inode;
		size_t j;

		if (ino == 0)
			continue;
		j = inode_hash(ino) & s->mask;
		while (s->inode[j] && s->inode[j] != ino)
			j = (j + 1) & s->mask;
		s->inode[j] = ino;
		s->listener[j] = (uint32_t)i;
	}
	return 0;
}

static long inode_set_find(const struct inode_set *s, uint64_t ino)
{
	size_t j = inode_hash(ino) & s->mask;

	while (s->inode[j]) {
		if (s->inode[j] == ino)
			return (long)s->listener[j];
		j = (j + 1) & s->mask;
	}
	return -1;
}

static void inode_set_free(struct inode_set *s)
{
	free(s->inode);
	free(s->listener);
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

static int parse_limit_value(const char *s, size_t len, long long *out)
{
	long long v = 0;

	if (len == 9 && memcmp(s, "unlimited", 9) == 0) {
		*out = -1;
		return 0;
	}
	if (len == 0 || len > 18)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int owners_parse_limits(const char *text, long long *soft, long long *hard)
{
	static const char key[] = "Max open files";
	const char *line = text;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		const char *e = eol ? eol : line + strlen(line);

		if ((size_t)(e - line) > sizeof(key) - 1 &&
		    memcmp(line, key, sizeof(key) - 1) == 0 &&
		    (line[sizeof(key) - 1] == ' ' || line[sizeof(key) - 1] == '\t')) {
			const char *p = line + sizeof(key) - 1, *tok[2];
			size_t len[2];

			for (int k = 0; k < 2; k++) {
				while (p < e && (*p == ' ' || *p == '\t'))
					p++;
				tok[k] = p;
				while (p < e && *p != ' ' && *p != '\t')
					p++;
				len[k] = (size_t)(p - tok[k]);
			}
			if (parse_limit_value(tok[0], len[0], soft) < 0 ||
			    parse_limit_value(tok[1], len[1], hard) < 0)
				return -EINVAL;
			return 0;
		}
		line = eol ? eol + 1 : NULL;
	}
	return -EINVAL;
}

/* Read a small file relative to dirfd into buf (NUL-terminated); returns
 * its length or -errno. */
static ssize_t read_small(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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

/* comm, limits of an owning process (fds is counted by the scan). */
static int describe_proc(int procfd, const char *pidstr, struct sock_proc *p)
{
	char path[64], buf[4096];
	ssize_t n;

	p->nofile_soft = p->nofile_hard = -1;
	snprintf(path, sizeof(path), "%s/comm", pidstr);
	n = read_small(procfd, path, buf, 64);
	if (n >= 0) {
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		p->comm = escape_untrusted(buf, (size_t)n);
		if (!p->comm)
			return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/limits", pidstr);
	if (read_small(procfd, path, buf, sizeof(buf)) >= 0 &&
	    owners_parse_limits(buf, &p->nofile_soft, &p->nofile_hard) < 0)
		p->nofile_soft = p->nofile_hard = -1;
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
	t->nlinks++;
	return 0;
}

static int new_proc(struct socktab *t, int pid, uint32_t *idx)
{
	if (t->nprocs == t->capprocs) {
		size_t cap = t->capprocs ? t->capprocs * 2 : 16;
		struct sock_proc *np = realloc(t->procs, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		t->procs = np;
		t->capprocs = cap;
	}
	memset(&t->procs[t->nprocs], 0, sizeof(t->procs[0]));
	t->procs[t->nprocs].pid = pid;
	t->procs[t->nprocs].fds = -1;
	t->procs[t->nprocs].nofile_soft = t->procs[t->nprocs].nofile_hard = -1;
	*idx = (uint32_t)t->nprocs++;
	return 0;
}

struct scan {
	struct socktab *t;
	const struct inode_set *set;
	char *dents;            /* buffer for one fd directory */
	struct owners_stats *st;
};

static bool is_denied(int err)
{
	return err == EACCES || err == EPERM;
}

/* Scan one process.  Returns 0 or -ENOMEM; vanished or unreadable
 * processes are skipped. */
static int scan_proc(struct scan *sc, int procfd, const char *pidstr)
{
	char path[32], link[40];
	int fdfd;
	long long nfds = 0;
	bool denied = false, have_proc = false;
	uint32_t pidx = 0;
	int r = 0;

	snprintf(path, sizeof(path), "%s/fd", pidstr);
	fdfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0) {
		if (is_denied(errno))
			sc->st->procs_denied++;
		return 0;
	}
	sc->st->procs_scanned++;
	for (;;) {
		long n = syscall(SYS_getdents64, fdfd, sc->dents, DENTS_BUF_SIZE);

		if (n <= 0)
			break;          /* end, or the process went away */
		for (long off = 0; off < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(sc->dents + off);
			ssize_t k;
			uint64_t ino;
			long li;

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
			ino = socket_inode(link, k);
			if (!ino || (li = inode_set_find(sc->set, ino)) < 0)
				continue;
			if (!have_proc) {
				r = new_proc(sc->t, atoi(pidstr), &pidx);
				if (r < 0)
					goto out;
				have_proc = true;
			}
			r = add_link(sc->t, (uint32_t)li, pidx);
			if (r < 0)
				goto out;
		}
	}
	if (denied)
		sc->st->procs_denied++;
	if (have_proc) {
		sc->t->procs[pidx].fds = nfds;
		r = describe_proc(procfd, pidstr, &sc->t->procs[pidx]);
	}
out:
	close(fdfd);
	return r;
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

int owners_collect(const struct nk_root *root, struct socktab *t, struct owners_stats *st)
{
	struct inode_set set = { 0 };
	struct scan sc = { .t = t, .set = &set, .st = st };
	char *pdents = NULL;
	int procfd = -1, r = 0;

	if (t->n == 0)
		return 0;
	procfd = openat(root->dirfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	r = inode_set_build(&set, t);
	pdents = malloc(DENTS_BUF_SIZE);
	sc.dents = malloc(DENTS_BUF_SIZE);
	if (r < 0 || !pdents || !sc.dents) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, procfd, pdents, DENTS_BUF_SIZE);

		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n && r == 0;) {
			const struct dirent64 *d = (const struct dirent64 *)(pdents + off);

			off += d->d_reclen;
			if (all_digits(d->d_name, 9))
				r = scan_proc(&sc, procfd, d->d_name);
		}
		if (r < 0)
			break;
	}
	if (r == 0 && t->nlinks) {
		size_t w = 0;

		qsort_r(t->links, t->nlinks, sizeof(*t->links), link_cmp_t, t);
		/* one process holding a listener twice (dup) is listed once */
		for (size_t i = 0; i < t->nlinks; i++)
			if (w == 0 || link_cmp_t(&t->links[w - 1], &t->links[i], t) != 0)
				t->links[w++] = t->links[i];
		t->nlinks = w;
	}
	if (r == 0) {
		size_t k = 0;

		for (size_t i = 0; i < t->n; i++) {
			while (k < t->nlinks && t->links[k].listener < i)
				k++;
			if (k == t->nlinks || t->links[k].listener != i)
				st->ownerless++;
		}
	}
out:
	inode_set_free(&set);
	free(pdents);
	free(sc.dents);
	close(procfd);
	return r;
}
