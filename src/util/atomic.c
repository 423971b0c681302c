#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/fileio.h"
#include "util/log.h"

#define TEMP_MARK ".netknobs-"
#define TEMP_SUFFIX_LEN 6

static const char temp_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static bool is_suffix(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(temp_chars, s[i]))
			return false;
	return true;
}

/* The NAME of a temporary file ".NAME.netknobs-XXXXXX" (or, with legacy,
 * "NAME.XXXXXX") in buf; false when the name is no such file. */
static bool temp_base(const char *n, bool legacy, char *buf, size_t size)
{
	size_t len = strlen(n), ml = strlen(TEMP_MARK);
	const char *dot;

	if (n[0] == '.' && len > 1 + ml + TEMP_SUFFIX_LEN &&
	    !strncmp(n + len - TEMP_SUFFIX_LEN - ml, TEMP_MARK, ml) &&
	    is_suffix(n + len - TEMP_SUFFIX_LEN, TEMP_SUFFIX_LEN)) {
		len -= 1 + ml + TEMP_SUFFIX_LEN;
		if (len >= size)
			return false;
		memcpy(buf, n + 1, len);
		buf[len] = '\0';
		return true;
	}
	dot = strrchr(n, '.');
	if (!legacy || !dot || dot == n || !is_suffix(dot + 1, TEMP_SUFFIX_LEN) ||
	    (size_t)(dot - n) >= size)
		return false;
	memcpy(buf, n, (size_t)(dot - n));
	buf[dot - n] = '\0';
	return true;
}

/* Remove one temporary file if it is stale: ours, regular, and no writer
 * holds its lock.  Returns 1 when removed. */
static int sweep_one(int dirfd, const char *display, const char *name)
{
	struct stat st, now;
	int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY), r = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0 &&
	    fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
		if (unlinkat(dirfd, name, 0) == 0)
			r = 1;
		else if (errno != ENOENT)
			log_warn("%s: cannot remove the temporary file %s left by an earlier run: %s", display,
				 name, strerror(errno));
	}
	close(fd);
	return r;
}

unsigned atomic_sweep(int dirfd, const char *display, bool (*is_ours)(const char *name, void *arg),
		      void *arg, unsigned flags)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char base[NAME_MAX + 1];
	unsigned n = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d);
	while ((e = readdir(d)))
		if (temp_base(e->d_name, flags & ATOMIC_SWEEP_LEGACY, base, sizeof(base)) &&
		    is_ours(base, arg))
			n += (unsigned)sweep_one(dirfd, display, e->d_name);
	closedir(d);
	return n;
}

/* A new file ".NAME.netknobs-XXXXXX" in dirfd, locked.  Returns its fd or
 * -errno. */
static int create_temp(int dirfd, const char *name, char **tmp)
{
	struct timespec ts;
	unsigned long long x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)getpid() << 20) ^ (unsigned long long)ts.tv_sec;
	for (int attempt = 0; attempt < 100; attempt++) {
		char suffix[TEMP_SUFFIX_LEN + 1];
		struct stat st;
		int fd;

		for (int i = 0; i < TEMP_SUFFIX_LEN; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			suffix[i] = temp_chars[(x >> 33) % (sizeof(temp_chars) - 1)];
		}
		suffix[TEMP_SUFFIX_LEN] = '\0';
		if (asprintf(tmp, ".%s" TEMP_MARK "%s", name, suffix) < 0) {
			*tmp = NULL;
			return -ENOMEM;
		}
		fd = openat(dirfd, *tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			/* held until the rename; a sweep that took the lock
			 * first has removed the file: another name then */
			while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
				;
			if (fstat(fd, &st) == 0 && st.st_nlink > 0)
				return fd;
			close(fd);
			free(*tmp);
			*tmp = NULL;
			continue;
		}
		free(*tmp);
		*tmp = NULL;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Refuse a target that exists and is not a regular file. */
static int check_target(int dirfd, const char *name, const char *display)
{
	struct stat st;
	int e;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		e = errno;
		if (e == ENOENT)
			return 0;
		log_error("%s: %s", display, strerror(e));
		return -e;
	}
	if (S_ISREG(st.st_mode))
		return 0;
	log_error("%s is %s, not a regular file: netknobs replaces regular files only; nothing written",
		  display, fileio_kind(st.st_mode));
	return S_ISLNK(st.st_mode) ? -ELOOP : S_ISDIR(st.st_mode) ? -EISDIR : -FILEIO_ENOTREG;
}

static bool same_name(const char *name, void *arg)
{
	return !strcmp(name, arg);
}

/* The mode of the new file fd: o->mode, or that of the file o->like,
 * whose owner it then takes too. */
static mode_t new_mode(int dirfd, int fd, const struct atomic_opts *o)
{
	struct stat st;
	mode_t mode;

	if (!o->like || fstatat(dirfd, o->like, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return o->mode;
	mode = st.st_mode & 0777;
	if ((st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd, st.st_uid, st.st_gid) < 0)
		mode &= S_IRWXU;
	return mode;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int atomic_write_opts(int dirfd, const char *name, const void *data, size_t len,
		      const struct atomic_opts *o)
{
	const char *display = o->display ? o->display : name;
	char *tmp = NULL;
	int fd, r;

	r = check_target(dirfd, name, display);
	if (r < 0)
		return r;
	atomic_sweep(dirfd, display, same_name, (void *)name, o->flags);
	fd = create_temp(dirfd, name, &tmp);
	if (fd < 0) {
		log_error("%s: cannot create a temporary file: %s", display, strerror(-fd));
		return fd;
	}
	r = write_all(fd, data, len);
	if (r == 0 && (fchmod(fd, new_mode(dirfd, fd, o)) < 0 || fsync(fd) < 0))
		r = -errno;
	if (r < 0) {
		log_error("%s: write failed: %s", display, strerror(-r));
		goto fail;
	}
	if (o->before_rename) {
		r = o->before_rename(o->arg);
		if (r < 0)
			goto fail;
	}
	/* a link or FIFO put there meanwhile is not replaced either */
	r = check_target(dirfd, name, display);
	if (r < 0)
		goto fail;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = -errno;
		log_error("%s: write failed: %s", display, strerror(-r));
		goto fail;
	}
	/* make the rename durable */
	fsync(dirfd);
	close(fd);
	free(tmp);
	return 0;
fail:
	unlinkat(dirfd, tmp, 0);
	close(fd);
	free(tmp);
	return r;
}

int atomic_write_at(int dirfd, const char *name, const char *display, const void *data, size_t len,
		    mode_t mode)
{
	struct atomic_opts o = { .display = display, .mode = mode };

	return atomic_write_opts(dirfd, name, data, len, &o);
}

int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char *dcopy = strdup(path), *bcopy = strdup(path);
	const char *base;
	int dfd, r;

	if (!dcopy || !bcopy) {
		free(dcopy);
		free(bcopy);
		return -ENOMEM;
	}
	base = basename(bcopy);
	/* "DIR/" names a directory, never the file DIR */
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/") ||
	    (*path && path[strlen(path) - 1] == '/')) {
		log_error("%s: not a file name", path);
		r = -EISDIR;
	} else if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = -errno;
		log_error("%s: cannot create a temporary file: %s", path, strerror(-r));
	} else {
		struct atomic_opts o = { .display = path, .mode = mode, .like = base };

		r = atomic_write_opts(dfd, base, data, len, &o);
		close(dfd);
	}
	free(dcopy);
	free(bcopy);
	return r;
}
