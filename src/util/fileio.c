#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "util/array.h"
#include "util/fileio.h"

/* Links followed in one path at most, as the kernel's MAXSYMLINKS. */
#define WALK_MAX_LINKS 40
/* Directories deep at most. */
#define WALK_MAX_DEPTH 256

int root_open(struct nk_root *r, const char *path)
{
	r->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0)
		return -errno;
	r->path = strdup(path);
	if (!r->path) {
		close(r->dirfd);
		r->dirfd = -1;
		return -ENOMEM;
	}
	r->live = strcmp(path, "/") == 0;
	return 0;
}

void root_close(struct nk_root *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
	free(r->path);
	r->path = NULL;
}

int read_fd_all(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k;

		if (n == cap) {
			char *nb;

			if (cap >= max) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			free(buf);
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}


/* ---- resolving inside the root without openat2 ---- */

/* The walk's position: cur is the root's descriptor or an O_PATH one of
 * ours for the directory reached through names[0..n) (none of them a
 * link), so that ".." can go back without the kernel's "..". */
struct walk {
	int rootfd;
	int cur;
	char **names;
	size_t n, cap;
};

static void walk_set(struct walk *w, int fd)
{
	if (w->cur != w->rootfd)
		close(w->cur);
	w->cur = fd;
}

static void walk_reset(struct walk *w)
{
	while (w->n)
		free(w->names[--w->n]);
	walk_set(w, w->rootfd);
}

static void walk_free(struct walk *w)
{
	walk_reset(w);
	free(w->names);
}

/* Enter the directory fd (ours now), reached through name. */
static int walk_down(struct walk *w, int fd, const char *name)
{
	if (w->n >= WALK_MAX_DEPTH || ARRAY_GROW(w->names, w->cap, w->n, 8) < 0) {
		close(fd);
		return w->n >= WALK_MAX_DEPTH ? -ENAMETOOLONG : -ENOMEM;
	}
	w->names[w->n] = strdup(name);
	if (!w->names[w->n]) {
		close(fd);
		return -ENOMEM;
	}
	w->n++;
	walk_set(w, fd);
	return 0;
}

/* "..": the parent, never above the root, found again from the root. */
static int walk_up(struct walk *w)
{
	int fd = w->rootfd;

	if (w->n == 0)
		return 0;
	free(w->names[--w->n]);
	for (size_t i = 0; i < w->n; i++) {
		int nfd = openat(fd, w->names[i], O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		int e = errno;

		if (fd != w->rootfd)
			close(fd);
		if (nfd < 0)
			return -e;
		fd = nfd;
	}
	walk_set(w, fd);
	return 0;
}

/* The link at pfd, followed: its target, then the rest of the path. */
static int walk_link(struct walk *w, int pfd, const char *rest, char **path)
{
	char target[PATH_MAX], *np;
	ssize_t k = readlinkat(pfd, "", target, sizeof(target));

	if (k < 0)
		return -errno;
	if ((size_t)k >= sizeof(target))
		return -ENAMETOOLONG;
	if (k == 0)
		return -ENOENT;
	target[k] = '\0';
	if (asprintf(&np, "%s/%s", target, rest) < 0)
		return -ENOMEM;
	if (target[0] == '/')
		walk_reset(w);
	free(*path);
	*path = np;
	return 0;
}

/* One component name (not "." or ".."), last or not. */
static int walk_step(struct walk *w, const char *name, bool last, int flags, const char *rest,
		     char **path, int *links, int *fd_out)
{
	struct stat st;
	int pfd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), r;

	*fd_out = -1;
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0) {
		r = -errno;
		close(pfd);
		return r;
	}
	if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
		r = ++*links > WALK_MAX_LINKS ? -ELOOP : walk_link(w, pfd, rest, path);
		close(pfd);
		return r;
	}
	if (!last) {
		if (!S_ISDIR(st.st_mode)) {
			close(pfd);
			return -ENOTDIR;
		}
		return walk_down(w, pfd, name);
	}
	close(pfd);
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* a link put there since is refused, not followed */
	*fd_out = openat(w->cur, name, flags | O_NOFOLLOW);
	return *fd_out < 0 ? -errno : 0;
}

/* Resolve rel below rootfd one component at a time, as RESOLVE_IN_ROOT
 * does, and open it with flags.  Returns an fd or -errno. */
static int walk_open(int rootfd, const char *rel, int flags)
{
	struct walk w = { .rootfd = rootfd, .cur = rootfd };
	char *path = strdup(rel), name[NAME_MAX + 1];
	size_t off = 0;
	int links = 0, r = 0, fd = -1;

	if (!path)
		return -ENOMEM;
	for (;;) {
		const char *p = path + off, *q;
		size_t len;
		bool last;

		while (*p == '/')
			p++;
		if (!*p) {
			/* the path ends at the directory reached */
			fd = openat(w.cur, ".", flags);
			r = fd < 0 ? -errno : 0;
			break;
		}
		len = strcspn(p, "/");
		for (q = p + len; *q == '/'; q++)
			;
		last = !*q;
		off = (size_t)(p + len - path);
		if (len == 1 && p[0] == '.')
			continue;
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			r = walk_up(&w);
			if (r < 0)
				break;
			continue;
		}
		if (len > NAME_MAX) {
			r = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		{
			char *before = path;

			r = walk_step(&w, name, last, flags, p + len, &path, &links, &fd);
			if (r < 0 || fd >= 0)
				break;
			if (path != before)
				off = 0;     /* a link: its target, then the rest */
		}
	}
	walk_free(&w);
	free(path);
	return r < 0 ? r : fd;
}

/* openat2 where the kernel has it and lets us: 0 not tried yet, 1 works,
 * -1 missing or refused (then every open walks). */
static int openat2_state;

/* Returns an fd, -errno, or -ENOSYS when the walk must do it. */
static int open_in_root_kernel(int dirfd, const char *rel, int flags)
{
#ifdef SYS_openat2
	struct open_how how;
	int fd, e = ENOSYS;

	if (__atomic_load_n(&openat2_state, __ATOMIC_RELAXED) < 0)
		return -ENOSYS;
	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)flags;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	for (int i = 0; i < 3; i++) {
		fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
		if (fd >= 0) {
			__atomic_store_n(&openat2_state, 1, __ATOMIC_RELAXED);
			return fd;
		}
		e = errno;
		if (e != EAGAIN)
			break;
	}
	if (e == ENOSYS || e == EPERM) {
		/* a kernel before 5.6, or a seccomp filter that refuses it */
		__atomic_store_n(&openat2_state, -1, __ATOMIC_RELAXED);
		return -ENOSYS;
	}
	/* EAGAIN: renames kept racing the lookup; E2BIG, EINVAL: a kernel
	 * that does not take these flags */
	if (e == EAGAIN || e == E2BIG || e == EINVAL)
		return -ENOSYS;
	return -e;
#else
	(void)dirfd;
	(void)rel;
	(void)flags;
	return -ENOSYS;
#endif
}

int root_open_in(const struct nk_root *root, const char *rel, int flags)
{
	int fd;

	flags |= O_CLOEXEC | O_NOCTTY;
	if (root->live) {
		fd = openat(root->dirfd, rel, flags);
		return fd < 0 ? -errno : fd;
	}
	fd = open_in_root_kernel(root->dirfd, rel, flags);
	if (fd != -ENOSYS)
		return fd;
	return walk_open(root->dirfd, rel, flags);
}

/* ---- readers ---- */

static int read_regular(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -FILEIO_ENOTREG;
	if ((uintmax_t)st.st_size > max)
		return -EFBIG;
	return read_fd_all(fd, max, out, len);
}

int root_read_file(const struct nk_root *r, const char *relpath, size_t max,
		   char **out, size_t *len)
{
	int fd = root_open_in(r, relpath, O_RDONLY | O_NONBLOCK), ret;

	if (fd < 0)
		return fd;
	ret = read_regular(fd, max, out, len);
	close(fd);
	return ret;
}

int root_open_dir(const struct nk_root *r, const char *relpath)
{
	return root_open_in(r, relpath, O_RDONLY | O_DIRECTORY);
}

int root_readlink(const struct nk_root *r, const char *relpath, char *buf, size_t size)
{
	const char *slash = strrchr(relpath, '/');
	int dfd = r->dirfd;
	ssize_t n;

	if (slash && !r->live) {
		char *dir = strndup(relpath, (size_t)(slash - relpath));

		if (!dir)
			return -ENOMEM;
		dfd = root_open_in(r, *dir ? dir : ".", O_PATH | O_DIRECTORY);
		free(dir);
		if (dfd < 0)
			return dfd;
		relpath = slash + 1;
	}
	n = readlinkat(dfd, relpath, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	if (dfd != r->dirfd)
		close(dfd);
	return (int)n;
}

int fileio_open_regular_at(int dirfd, const char *name, struct stat *st)
{
	struct stat sb;
	int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY), r;

	if (!st)
		st = &sb;
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return S_ISDIR(st->st_mode) ? -EISDIR : -FILEIO_ENOTREG;
	}
	return fd;
}

int fileio_read_at(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
	int fd = fileio_open_regular_at(dirfd, name, NULL), r;

	if (fd < 0)
		return fd;
	r = read_regular(fd, max, out, len);
	close(fd);
	return r;
}

int fileio_lock(int fd, double wait_s)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	double waited = 0;

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -errno;
		if (waited >= wait_s)
			return -EWOULDBLOCK;
		nanosleep(&nap, NULL);
		waited += 0.05;
	}
	return 0;
}

const char *fileio_strerror(int err)
{
	if (err == FILEIO_ENOTREG)
		return "not a regular file";
	return strerror(err);
}

const char *fileio_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFLNK: return "a symbolic link";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	}
	return "not a regular file";
}

int parse_int64(const char *s, long long *out)
{
	char *end;
	long long v;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+'))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}
