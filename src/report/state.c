#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/state.h"
#include "util/atomic.h"
#include "util/fileio.h"
#include "util/log.h"

#define HISTORY "history"
#define LATEST "latest.json"

/* ---- reaching the state directory ---- */

/* Directories deep, and links followed, at most on the way. */
#define PATH_MAX_DEPTH 256
#define PATH_MAX_LINKS 40

/* Could someone other than root and the running user change what the
 * directory st holds (replace an entry by a link to /etc)?  A directory
 * others may write to is safe only with the sticky bit, and then only for
 * entries of root or the running user. */
static bool others_control(const struct stat *st)
{
	return (st->st_uid != 0 && st->st_uid != geteuid()) ||
	       ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX));
}

static bool owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* The directory reached through names[0..n) from "/", none of them a
 * link (they were checked on the way down): ".." without the kernel's "..",
 * one descriptor at a time.  Returns an O_PATH descriptor or -errno. */
static int reopen_path(char **names, int n)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	for (int i = 0; fd >= 0 && i < n; i++) {
		int next = openat(fd, names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		fd = next;
	}
	return fd < 0 ? -errno : fd;
}

/* One step on the way to the state directory: the directory cur may hold
 * it only when no one else controls it, and name there (created when
 * missing) only when it is root's or the running user's in a sticky
 * directory others write to.  st gets name's status.  Returns 0 or -errno
 * (logged). */
typedef void (*say_fn)(const char *fmt, ...) NK_PRINTF(1, 2);

static int path_step(int cur, const char *name, const char *path, struct stat *st, bool create, say_fn say)
{
	struct stat dst;
	int e;

	if (fstat(cur, &dst) < 0) {
		e = errno;
		say("state directory %s: %s", path, strerror(e));
		return -e;
	}
	if (others_control(&dst)) {
		say("state directory %s: a directory on its way is %s (uid %u, mode %04o): that "
			  "user could replace the state directory with a link to another; not used "
			  "(choose a --state-dir whose parents belong to root or to you)", path,
			  dst.st_uid != 0 && dst.st_uid != geteuid() ? "owned by another user"
			  : "writable by other users", (unsigned)dst.st_uid, (unsigned)(dst.st_mode & 07777));
		return -EPERM;
	}
	if (fstatat(cur, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT && !create)
			return -ENOENT;
		if (errno != ENOENT || (mkdirat(cur, name, 0755) < 0 && errno != EEXIST) ||
		    fstatat(cur, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
			e = errno;
			say("state directory %s: cannot create it: %s", path, strerror(e));
			return -e;
		}
	}
	/* in a sticky directory others write to, only entries of root or the
	 * running user */
	if ((dst.st_mode & (S_IWGRP | S_IWOTH)) && !owner_ok(st)) {
		say("state directory %s: %s on its way belongs to uid %u, in a directory others "
			  "can write to; not used", path, name, (unsigned)st->st_uid);
		return -EPERM;
	}
	if (!S_ISLNK(st->st_mode) && !S_ISDIR(st->st_mode)) {
		say("state directory %s: cannot create it: %s", path, strerror(ENOTDIR));
		return -ENOTDIR;
	}
	return 0;
}

/* The way to the state directory: each directory and link on it must be
 * one only root or the running user controls, or that user could send the
 * state (written, moved aside, pruned as root) into another directory by
 * replacing a part of the path with a link.  Walked one component at a
 * time from "/" without following links by the kernel; missing
 * directories are created (mode 0755).  Returns an open directory or
 * -errno (logged). */
static int open_state_path(const char *path, bool create, say_fn say)
{
	char *names[PATH_MAX_DEPTH], *rest = NULL, *p, name[NAME_MAX + 1], cwd[PATH_MAX], target[PATH_MAX];
	int n = 0, links = 0, r = 0, cur = -1, fd = -1;
	struct stat st;

	if (path[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
		r = -errno;
		say("state directory %s: cannot find the current directory: %s", path, strerror(-r));
		return r;
	}
	if (asprintf(&rest, "%s%s%s", path[0] == '/' ? "" : cwd, path[0] == '/' ? "" : "/", path) < 0)
		return -ENOMEM;
	cur = reopen_path(names, 0);
	if (cur < 0) {
		r = cur;
		goto fail;
	}
	for (p = rest;;) {
		size_t len;
		char *np;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len > NAME_MAX) {
			r = -ENAMETOOLONG;
			goto fail;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (n > 0) {
				free(names[--n]);
				close(cur);
				if ((cur = reopen_path(names, n)) < 0) {
					r = cur;
					goto fail;
				}
			}
			continue;
		}
		r = path_step(cur, name, path, &st, create, say);
		if (r < 0)
			goto out;
		if (S_ISLNK(st.st_mode)) {
			ssize_t k = ++links > PATH_MAX_LINKS ? -1 : readlinkat(cur, name, target, sizeof(target) - 1);

			if (k < 0) {
				r = links > PATH_MAX_LINKS ? -ELOOP : -errno;
				goto fail;
			}
			target[k] = '\0';
			if (asprintf(&np, "%s/%s", target, p) < 0) {
				r = -ENOMEM;
				goto out;
			}
			free(rest);
			rest = p = np;
			if (target[0] == '/' && n > 0) {
				while (n > 0)
					free(names[--n]);
				close(cur);
				if ((cur = reopen_path(names, 0)) < 0) {
					r = cur;
					goto fail;
				}
			}
			continue;
		}
		if (n == PATH_MAX_DEPTH) {
			r = -ENAMETOOLONG;
			goto fail;
		}
		fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || !(names[n] = strdup(name))) {
			r = fd < 0 ? -errno : -ENOMEM;
			if (fd >= 0)
				close(fd);
			fd = -1;
			goto fail;
		}
		n++;
		close(cur);
		cur = fd;
		fd = -1;
	}
	fd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	goto out;
fail:
	if (r != -ENOENT || create)
		say("state directory %s: %s", path, strerror(-r));
out:
	if (cur >= 0)
		close(cur);
	while (n > 0)
		free(names[--n]);
	free(rest);
	return fd >= 0 ? fd : r;
}

/* A name other modules may keep in the state directory. */
static bool name_ok(const char *name)
{
	return name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) <= 200 &&
	       strcmp(name, "lock") != 0 && strcmp(name, HISTORY) != 0;
}

/* Can the directory fd be trusted: ours, and no one else may write to it?
 * Otherwise someone else could put a link or a FIFO where netknobs writes,
 * or swap the state. */
static int check_trusted(int fd, const char *display)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		log_error("%s: %s", display, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("%s: not a directory", display);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		log_error("%s is owned by uid %u, not by the user running netknobs (uid %u): someone else "
			  "could change or replace the files in it; not used (chown it, or give another "
			  "--state-dir)", display, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_error("%s is writable by other users (mode %04o): they could change or replace the "
			  "files in it; not used (chmod go-w it)", display, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static bool is_trusted(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* history/ of the state directory, checked as the directory itself;
 * created when create.  *fd -1 when there is none.  Returns 0 or -errno
 * (logged). */
static int open_history(const struct state_dir *sd, bool create, int *fd)
{
	char *display;
	struct stat st;
	int e, r;

	*fd = -1;
	if (asprintf(&display, "%s/" HISTORY, sd->path) < 0)
		return -ENOMEM;
	if (create && mkdirat(sd->dirfd, HISTORY, 0755) < 0 && errno != EEXIST) {
		e = errno;
		log_error("%s: cannot create: %s", display, strerror(e));
		free(display);
		return -e;
	}
	*fd = openat(sd->dirfd, HISTORY, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0) {
		e = errno;
		if (e == ENOENT && !create) {
			free(display);
			return 0;
		}
		if (fstatat(sd->dirfd, HISTORY, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
			log_error("%s is %s, not a directory: netknobs writes and removes files there only in "
				  "a directory of its own; not used (remove it)", display, fileio_kind(st.st_mode));
			e = ENOTDIR;
		} else {
			log_error("%s: %s", display, strerror(e));
		}
		free(display);
		return -e;
	}
	r = check_trusted(*fd, display);
	free(display);
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

static bool any_name(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return true;
}

static bool is_latest(const char *name, void *arg)
{
	(void)arg;
	return !strcmp(name, LATEST);
}

static bool is_history_name(const char *n);

static bool history_name(const char *name, void *arg)
{
	(void)arg;
	return is_history_name(name);
}

/* Take the lock file, waiting at most wait_s seconds. */
static int take_lock(struct state_dir *sd, double wait_s)
{
	struct stat st;
	char *lock;
	int r = 0, fd;

	if (asprintf(&lock, "%s/lock", sd->path) < 0)
		return -ENOMEM;
	fd = openat(sd->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (fstatat(sd->dirfd, "lock", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
			goto not_regular;
		log_error("%s: cannot open the lock file: %s", lock, strerror(-r));
		goto fail;
	}
	if (!S_ISREG(st.st_mode))
		goto not_regular;
	r = fileio_lock(fd, wait_s);
	if (r == -EWOULDBLOCK) {
		log_error("%s: another netknobs report is running (waited %g s); try again later or "
			  "give a longer --wait", lock, wait_s);
		goto fail;
	}
	if (r < 0) {
		log_error("%s: cannot lock: %s", lock, strerror(-r));
		goto fail;
	}
	sd->lockfd = fd;
	free(lock);
	return 0;
not_regular:
	log_error("%s is %s, not a regular file: not used (remove it)", lock, fileio_kind(st.st_mode));
	r = -EPERM;
fail:
	if (fd >= 0)
		close(fd);
	free(lock);
	return r;
}

int state_open(struct state_dir *sd, const char *path, double wait_s)
{
	int r, hfd = -1;

	sd->path = NULL;
	sd->dirfd = -1;
	sd->lockfd = -1;
	sd->path = strdup(path);
	if (!sd->path)
		return -ENOMEM;
	sd->dirfd = open_state_path(path, true, log_error);
	if (sd->dirfd < 0) {
		r = sd->dirfd;
		sd->dirfd = -1;
		return r;
	}
	r = check_trusted(sd->dirfd, path);
	if (r == 0)
		r = take_lock(sd, wait_s);
	if (r < 0)
		return r;
	/* what a run killed while writing left behind (history/ is checked,
	 * and said so, when the state is saved) */
	atomic_sweep(sd->dirfd, path, any_name, NULL, 0);
	atomic_sweep(sd->dirfd, path, is_latest, NULL, ATOMIC_SWEEP_LEGACY);
	hfd = openat(sd->dirfd, HISTORY, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hfd >= 0) {
		if (is_trusted(hfd))
			atomic_sweep(hfd, path, history_name, NULL, ATOMIC_SWEEP_LEGACY);
		close(hfd);
	}
	return 0;
}

int state_open_existing(const char *path)
{
	return open_state_path(path, false, log_warn);
}

void state_close(struct state_dir *sd)
{
	if (sd->lockfd >= 0)
		close(sd->lockfd);   /* releases the flock */
	sd->lockfd = -1;
	if (sd->dirfd >= 0)
		close(sd->dirfd);
	sd->dirfd = -1;
	free(sd->path);
	sd->path = NULL;
}

/* ---- files of the state directory ---- */

int state_read_file(const struct state_dir *sd, const char *name, size_t max, char **out, size_t *len)
{
	*out = NULL;
	if (!name_ok(name) && strcmp(name, LATEST) != 0)
		return -EINVAL;
	return fileio_read_at(sd->dirfd, name, max, out, len);
}

static int write_in(const struct state_dir *sd, int dirfd, const char *sub, const char *name,
		    const void *data, size_t len)
{
	char *display;
	int r;

	if (asprintf(&display, "%s/%s%s%s", sd->path, sub ? sub : "", sub ? "/" : "", name) < 0)
		return -ENOMEM;
	r = atomic_write_at(dirfd, name, display, data, len, 0644);
	free(display);
	return r;
}

int state_write_file(const struct state_dir *sd, const char *name, const void *data, size_t len)
{
	if (!name_ok(name)) {
		log_error("%s: not a name for a file of the state directory", name);
		return -EINVAL;
	}
	return write_in(sd, sd->dirfd, NULL, name, data, len);
}

int state_read_json(const struct state_dir *sd, const char *name, json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	struct stat st;
	int fd;

	*out = NULL;
	if (!name_ok(name) && strcmp(name, LATEST) != 0) {
		snprintf(err, errlen, "not a name for a file of the state directory");
		return -EINVAL;
	}
	/* only a regular file of a sane size: a FIFO would block the run (and
	 * the lock with it), a symbolic link may point anywhere */
	fd = fileio_open_regular_at(sd->dirfd, name, &st);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(err, errlen, "%s", fd == -ELOOP ? "a symbolic link, not a state file"
			 : fileio_strerror(-fd));
		return fd;
	}
	if (st.st_size > STATE_FILE_MAX) {
		snprintf(err, errlen, "larger than %d MiB", STATE_FILE_MAX >> 20);
		close(fd);
		return -EFBIG;
	}
	*out = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (*out)
		return 0;
	if (json_error_code(&jerr) == json_error_out_of_memory) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (jerr.line > 0)
		snprintf(err, errlen, "%d:%d: %s", jerr.line, jerr.column, jerr.text);
	else
		snprintf(err, errlen, "%s", jerr.text);
	return -EINVAL;
}

bool state_file_at_fault(int err)
{
	return err == -EINVAL || err == -ELOOP || err == -FILEIO_ENOTREG || err == -EISDIR || err == -EFBIG;
}

/* The text of a JSON document as written: indented, one trailing newline. */
static char *json_text(const json_t *doc, size_t *len)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER), *t;

	if (!text)
		return NULL;
	*len = strlen(text);
	t = realloc(text, *len + 2);
	if (!t) {
		free(text);
		return NULL;
	}
	t[(*len)++] = '\n';
	t[*len] = '\0';
	return t;
}

int state_write_json(const struct state_dir *sd, const char *name, const json_t *doc)
{
	size_t len;
	char *text = json_text(doc, &len);
	int r;

	if (!text) {
		log_error("%s/%s: out of memory", sd->path, name);
		return -ENOMEM;
	}
	r = state_write_file(sd, name, text, len);
	free(text);
	return r;
}

static bool is_str_or_null(const json_t *v)
{
	return v && (json_is_string(v) || json_is_null(v));
}

int state_validate(const json_t *st, char *err, size_t errlen)
{
	const json_t *v, *f;
	const char *k;
	size_t i;

	if (!json_is_object(st)) {
		snprintf(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	v = json_object_get(st, "state_version");
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "no state_version");
		return -EINVAL;
	}
	if (json_integer_value(v) != STATE_VERSION) {
		snprintf(err, errlen, "state_version %lld is not supported (this netknobs writes %d%s)",
			 (long long)json_integer_value(v), STATE_VERSION,
			 json_integer_value(v) > STATE_VERSION ? "; written by a newer netknobs" : "");
		return -EINVAL;
	}
	if (!json_is_string(json_object_get(st, "time")) || !is_str_or_null(json_object_get(st, "boot_id")) ||
	    !is_str_or_null(json_object_get(st, "netns"))) {
		snprintf(err, errlen, "time, boot_id or netns missing or of the wrong type");
		return -EINVAL;
	}
	if (json_object_get(st, "netns_cookie") && !json_is_integer(json_object_get(st, "netns_cookie"))) {
		snprintf(err, errlen, "netns_cookie is not an integer");
		return -EINVAL;
	}
	v = json_object_get(st, "counters");
	if (!json_is_object(v)) {
		snprintf(err, errlen, "counters is not an object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)v, k, f)
		if (!json_is_integer(f) || json_integer_value(f) < 0) {
			snprintf(err, errlen, "counter %.100s is not a non-negative integer", k);
			return -EINVAL;
		}
	v = json_object_get(st, "findings");
	if (!json_is_array(v)) {
		snprintf(err, errlen, "findings is not an array");
		return -EINVAL;
	}
	json_array_foreach(v, i, f)
		if (!json_is_string(json_object_get(f, "rule")) || !json_is_string(json_object_get(f, "subject")) ||
		    !json_is_string(json_object_get(f, "severity"))) {
			snprintf(err, errlen, "finding %zu lacks rule, subject or severity", i);
			return -EINVAL;
		}
	return 0;
}

/* TIME for file names: 20261125T120000.123456Z, sorts as it runs */
static void stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char s[20];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y%m%dT%H%M%S", &tm);
	snprintf(buf, len, "%s.%06dZ", s, (int)(ts.tv_nsec / 1000) % 1000000);
}

/* renameat that never replaces a file (we hold the lock: where the file
 * system cannot say, a check before the rename does). */
static int rename_noreplace(int dirfd, const char *from, const char *to)
{
	struct stat st;

	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (fstatat(dirfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	return renameat(dirfd, from, dirfd, to) < 0 ? -errno : 0;
}

int state_move_aside(const struct state_dir *sd, const char *name, char **to)
{
	char st[40];
	int r = -EEXIST;

	*to = NULL;
	stamp(st, sizeof(st));
	for (int i = 0; i < 100 && r == -EEXIST; i++) {
		free(*to);
		if ((i ? asprintf(to, "%s.corrupt-%s-%d", name, st, i) : asprintf(to, "%s.corrupt-%s", name, st)) < 0) {
			*to = NULL;
			return -ENOMEM;
		}
		r = rename_noreplace(sd->dirfd, name, *to);
	}
	if (r < 0) {
		free(*to);
		*to = NULL;
	}
	return r;
}

int state_load(struct state_dir *sd, json_t **out, char **why)
{
	char err[300], *moved = NULL;
	json_t *doc;
	int r;

	*out = NULL;
	*why = NULL;
	r = state_read_json(sd, LATEST, &doc, err, sizeof(err));
	if (r == 0 && !doc)
		return 0;      /* the first run */
	if (r < 0 && !state_file_at_fault(r)) {
		/* not the file's fault (no descriptors or memory left, an I/O
		 * error): it stays as it is for the next run */
		log_error("%s/" LATEST ": cannot read: %s; left as it is", sd->path, err);
		return r;
	}
	if (doc && state_validate(doc, err, sizeof(err)) == 0) {
		*out = doc;
		return 0;
	}
	json_decref(doc);
	r = state_move_aside(sd, LATEST, &moved);
	if (r == 0)
		log_warn("%s/" LATEST ": %s; moved to %s/%s, starting a new baseline", sd->path, err, sd->path, moved);
	else
		log_warn("%s/" LATEST ": %s; could not move it aside (%s), it will be replaced; starting a new "
			 "baseline", sd->path, err, strerror(-r));
	if (asprintf(why, "%s/" LATEST ": %s", sd->path, err) < 0)
		*why = NULL;
	free(moved);
	return 0;
}

static size_t digits(const char *s, size_t max)
{
	size_t i = 0;

	while (i < max && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* 20261125T120000.123456Z.json, or with -N (N from 1, at most 9 digits)
 * before .json: the names state_save() gives, nothing else. */
static bool is_history_name(const char *n)
{
	size_t k;

	if (digits(n, 8) != 8 || n[8] != 'T' || digits(n + 9, 6) != 6 || n[15] != '.' ||
	    digits(n + 16, 6) != 6 || n[22] != 'Z')
		return false;
	n += 23;
	if (*n == '-') {
		if (n[1] < '1' || n[1] > '9')
			return false;
		k = digits(n + 1, 9);
		n += 1 + k;
	}
	return !strcmp(n, ".json");
}

/* The sequence number of a history name: N of "...Z-N.json", 0 without. */
static unsigned long history_seq(const char *n)
{
	return n[23] == '-' ? strtoul(n + 24, NULL, 10) : 0;
}

/* Oldest first: by time stamp (the first 23 characters), then by sequence
 * number ("...Z.json" before "...Z-1.json" before "...Z-10.json", which
 * plain strcmp() would put the other way round). */
static int cmp_names(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int c = strncmp(x, y, 23);
	unsigned long sx, sy;

	if (c)
		return c;
	sx = history_seq(x);
	sy = history_seq(y);
	if (sx != sy)
		return sx < sy ? -1 : 1;
	return strcmp(x, y);
}

static void prune(const struct state_dir *sd, int hfd, unsigned keep)
{
	int fd = dup(hfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		if (!is_history_name(e->d_name))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));

			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (i + keep < n && unlinkat(hfd, names[i], 0) < 0 && errno != ENOENT)
			log_warn("%s/" HISTORY "/%s: cannot remove old history: %s", sd->path, names[i],
				 strerror(errno));
		free(names[i]);
	}
	free(names);
}

/* A history name of now not taken yet, in buf. */
static int history_new_name(int hfd, char *buf, size_t size)
{
	struct stat sb;
	char st[40];

	stamp(st, sizeof(st));
	for (int i = 0; i < 100; i++) {
		if (i)
			snprintf(buf, size, "%s-%d.json", st, i);
		else
			snprintf(buf, size, "%s.json", st);
		if (fstatat(hfd, buf, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			return 0;
	}
	return -EEXIST;
}

int state_save(struct state_dir *sd, const json_t *state, unsigned keep)
{
	size_t len;
	char *text = json_text(state, &len), name[64];
	int r, hr = 0, hfd = -1;

	if (!text) {
		log_error("%s: out of memory", sd->path);
		return -ENOMEM;
	}
	if (keep == 0) {
		/* none kept: what there is goes */
		hr = open_history(sd, false, &hfd);
	} else {
		hr = open_history(sd, true, &hfd);
		if (hr == 0) {
			hr = history_new_name(hfd, name, sizeof(name));
			if (hr < 0)
				log_error("%s/" HISTORY ": no free name for this run's state", sd->path);
		}
		/* a broken history must not stop the baseline from moving on:
		 * latest.json is written anyway, the failure still reported */
		if (hr == 0)
			hr = write_in(sd, hfd, HISTORY, name, text, len);
	}
	r = write_in(sd, sd->dirfd, NULL, LATEST, text, len);
	if (r == 0 && hr < 0)
		r = hr;
	if (r == 0 && hfd >= 0)
		prune(sd, hfd, keep);
	if (hfd >= 0)
		close(hfd);
	free(text);
	return r;
}
