#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/state.h"
#include "util/atomic.h"
#include "util/log.h"

/* A state file larger than this is not ours. */
#define STATE_MAX (16 << 20)

/* mkdir -p */
static int make_dirs(const char *path, mode_t mode)
{
	char *p = strdup(path);
	int e = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			e = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return e;
}

static char *join(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

int state_open(struct state_dir *sd, const char *path, double wait_s)
{
	struct stat st;
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	char *lock;
	int r, fd;
	double waited = 0;

	sd->path = NULL;
	sd->lockfd = -1;
	r = make_dirs(path, 0755);
	if (r < 0) {
		log_error("state directory %s: cannot create it: %s", path, strerror(-r));
		return r;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = stat(path, &st) < 0 ? -errno : -ENOTDIR;
		log_error("state directory %s: %s", path, strerror(-r));
		return r;
	}
	lock = join(path, "lock");
	if (!lock)
		return -ENOMEM;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		log_error("%s: cannot open the lock file: %s", lock, strerror(-r));
		free(lock);
		return r;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			r = -errno;
			log_error("%s: cannot lock: %s", lock, strerror(-r));
			goto fail;
		}
		if (waited >= wait_s) {
			r = -EWOULDBLOCK;
			log_error("%s: another netknobs report is running (waited %g s); try again later or "
				  "give a longer --wait", lock, wait_s);
			goto fail;
		}
		nanosleep(&nap, NULL);
		waited += 0.05;
	}
	free(lock);
	sd->path = strdup(path);
	if (!sd->path) {
		close(fd);
		return -ENOMEM;
	}
	sd->lockfd = fd;
	return 0;
fail:
	close(fd);
	free(lock);
	return r;
}

void state_close(struct state_dir *sd)
{
	if (sd->lockfd >= 0)
		close(sd->lockfd);   /* releases the flock */
	sd->lockfd = -1;
	free(sd->path);
	sd->path = NULL;
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

/* Move latest.json aside as latest.json.corrupt-TIME (never over an
 * existing file).  Returns the new name or NULL. */
static char *move_aside(const char *path)
{
	char st[40], *to = NULL;

	stamp(st, sizeof(st));
	for (int i = 0; i < 100; i++) {
		free(to);
		if ((i ? asprintf(&to, "%s.corrupt-%s-%d", path, st, i) : asprintf(&to, "%s.corrupt-%s", path, st)) < 0)
			return NULL;
		/* link + unlink would not work for directories: check, then rename
		 * (we hold the lock, nobody else writes here) */
		if (access(to, F_OK) < 0 && errno == ENOENT) {
			if (rename(path, to) == 0)
				return to;
			break;
		}
	}
	free(to);
	return NULL;
}

int state_load(struct state_dir *sd, json_t **out, char **why)
{
	char *path = join(sd->path, "latest.json"), *moved;
	char err[300];
	json_error_t jerr;
	struct stat st;
	json_t *doc;
	int fd;

	*out = NULL;
	*why = NULL;
	if (!path)
		return -ENOMEM;
	/* only a regular file of a sane size: a FIFO would block the run (and
	 * the lock with it), a symbolic link may point anywhere */
	doc = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		free(path);
		return 0;      /* the first run */
	}
	if (fd < 0) {
		snprintf(err, sizeof(err), "%s", errno == ELOOP ? "a symbolic link, not a state file"
			 : strerror(errno));
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, sizeof(err), "not a regular file");
	} else if (st.st_size > STATE_MAX) {
		snprintf(err, sizeof(err), "larger than %d MiB", STATE_MAX >> 20);
	} else if (!(doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr))) {
		if (jerr.line > 0)
			snprintf(err, sizeof(err), "%d:%d: %s", jerr.line, jerr.column, jerr.text);
		else
			snprintf(err, sizeof(err), "%s", jerr.text);
	}
	if (fd >= 0)
		close(fd);
	if (doc && state_validate(doc, err, sizeof(err)) == 0) {
		free(path);
		*out = doc;
		return 0;
	}
	json_decref(doc);
	moved = move_aside(path);
	if (moved)
		log_warn("%s: %s; moved to %s, starting a new baseline", path, err, moved);
	else
		log_warn("%s: %s; could not move it aside (%s), it will be replaced; starting a new baseline",
			 path, err, strerror(errno));
	if (asprintf(why, "%s: %s", path, err) < 0)
		*why = NULL;
	free(moved);
	free(path);
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

static void prune(const char *dir, unsigned keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return;
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
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (i + keep < n) {
			char *p = join(dir, names[i]);

			if (p && unlink(p) < 0 && errno != ENOENT)
				log_warn("%s: cannot remove old history: %s", p, strerror(errno));
			free(p);
		}
		free(names[i]);
	}
	free(names);
}

int state_save(struct state_dir *sd, const json_t *state, unsigned keep)
{
	char *text = json_dumps(state, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *hdir = join(sd->path, "history"), *hpath = NULL, *latest = join(sd->path, "latest.json");
	char st[40];
	size_t len;
	int r = -ENOMEM, hr = 0;

	if (!text || !hdir || !latest)
		goto out;
	len = strlen(text);
	text[len] = '\0';
	{
		/* one trailing newline */
		char *t = realloc(text, len + 2);

		if (!t)
			goto out;
		text = t;
		text[len++] = '\n';
		text[len] = '\0';
	}
	if (keep > 0 && mkdir(hdir, 0755) < 0 && errno != EEXIST) {
		hr = -errno;
		log_error("%s: cannot create: %s", hdir, strerror(-hr));
	}
	if (keep > 0 && hr == 0) {
		stamp(st, sizeof(st));
		for (int i = 0; i < 100; i++) {
			free(hpath);
			if ((i ? asprintf(&hpath, "%s/%s-%d.json", hdir, st, i)
			       : asprintf(&hpath, "%s/%s.json", hdir, st)) < 0) {
				hpath = NULL;
				goto out;
			}
			if (access(hpath, F_OK) < 0)
				break;
		}
		/* a broken history must not stop the baseline from moving on:
		 * latest.json is written anyway, the failure still reported */
		hr = atomic_write_file(hpath, text, len, 0644);
	}
	r = atomic_write_file(latest, text, len, 0644);
	if (r < 0)
		goto out;
	if (hr < 0) {
		r = hr;
		goto out;
	}
	prune(hdir, keep);
out:
	free(text);
	free(hdir);
	free(hpath);
	free(latest);
	return r;
}
