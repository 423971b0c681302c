/* The persisted sysctl configuration, merged as systemd-sysctl does:
 *
 *  - the directories below, highest precedence first; one file per basename
 *    ending in ".conf" (hidden names skipped), the first directory that has
 *    the name wins and hides the others;
 *  - a name that is a symlink to /dev/null masks the name;
 *  - the winning files are read in byte order of their basenames, whatever
 *    their directory; a later assignment of a key replaces an earlier one;
 *  - /etc/sysctl.conf is not read by itself: only through a link in a
 *    sysctl.d directory (distributions ship /etc/sysctl.d/99-sysctl.conf ->
 *    ../sysctl.conf);
 *  - "-key = value": failure to write is ignored; "-key" alone excludes the
 *    key from every glob; a key with an explicit assignment (or exclusion) is
 *    never written by a glob, whatever the order;
 *  - assigning the value a key already has keeps its place in the order and
 *    only adds the "-" flag.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "facts/facts.h"
#include "facts/sysctl.h"
#include "facts/sysctld.h"
#include "util/array.h"
#include "util/escape.h"
#include "util/lines.h"

#define SYSCTLD_NOTES_PER_FILE 10

static const char *const sysctld_dirs[] = {
	"etc/sysctl.d",
	"run/sysctl.d",
	"usr/local/lib/sysctl.d",
	"usr/lib/sysctl.d",
	"lib/sysctl.d",
};
#define SYSCTLD_NDIRS (sizeof(sysctld_dirs) / sizeof(sysctld_dirs[0]))

struct sysctld_entry {
	char *name;             /* basename as found */
	size_t dir;             /* index in sysctld_dirs */
};

struct sysctld_assign {
	char *key;              /* canonical dotted form */
	char *raw;              /* value text; NULL for "-key" (exclusion) */
	char *origin;           /* "/etc/sysctl.d/x.conf:3" */
	bool ignore_failure;
	bool glob;
	unsigned long seq;      /* position in the order of application */
	json_t *shadowed;       /* earlier assignments replaced by this one */
};

struct sysctld_state {
	json_t *doc;
	struct sysctld_assign *as;
	size_t n, cap;
	json_t *index;          /* key -> position in as */
	unsigned long seq;
	int enomem;
};

/* Does the link text, relative to the directory dir (no leading '/'), name
 * /dev/null? */
static bool sysctld_link_is_null(const char *dir, const char *target)
{
	char buf[PATH_MAX * 2], *comp[PATH_MAX / 2], *save = NULL;
	size_t n = 0;
	int len;

	if (target[0] == '/')
		len = snprintf(buf, sizeof(buf), "%s", target);
	else
		len = snprintf(buf, sizeof(buf), "%s/%s", dir, target);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return false;
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (n)
				n--;
			continue;
		}
		if (n == sizeof(comp) / sizeof(comp[0]))
			return false;
		comp[n++] = t;
	}
	return n == 2 && strcmp(comp[0], "dev") == 0 && strcmp(comp[1], "null") == 0;
}

static int sysctld_entry_cmp(const void *a, const void *b)
{
	const struct sysctld_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->dir < y->dir ? -1 : x->dir > y->dir;
}

static int sysctld_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "/" + rel + "/" + name, escaped for the document. */
static char *sysctld_path(const char *dir, const char *name)
{
	char *raw, *esc;

	if (asprintf(&raw, "/%s%s%s", dir, name ? "/" : "", name ? name : "") < 0)
		return NULL;
	esc = escape_untrusted_str(raw);
	free(raw);
	return esc;
}

static json_t *sysctld_value(const char *raw)
{
	return raw ? sysctl_value_parse(raw) : json_null();
}

static void sysctld_assign(struct sysctld_state *st, const char *key, const char *raw,
			   bool ignore_failure, const char *path, unsigned line)
{
	json_t *pos = json_object_get(st->index, key);
	struct sysctld_assign *a;
	char *origin;

	if (asprintf(&origin, "%s:%u", path, line) < 0) {
		st->enomem = 1;
		return;
	}
	if (pos) {
		json_t *old;

		a = &st->as[json_integer_value(pos)];
		old = json_pack("{s:s,s:o}", "origin", a->origin, "value", sysctld_value(a->raw));
		if (!old) {
			st->enomem = 1;
			free(origin);
			return;
		}
		json_array_append_new(a->shadowed, old);
		free(a->origin);
		a->origin = origin;
		if ((raw && a->raw && strcmp(raw, a->raw) == 0) || (!raw && !a->raw)) {
			a->ignore_failure = a->ignore_failure || ignore_failure;
			return;
		}
		free(a->raw);
		a->raw = raw ? strdup(raw) : NULL;
		if (raw && !a->raw)
			st->enomem = 1;
		a->ignore_failure = ignore_failure;
		a->seq = st->seq++;
		return;
	}
	if (ARRAY_GROW(st->as, st->cap, st->n, 64) < 0) {
		st->enomem = 1;
		free(origin);
		return;
	}
	a = &st->as[st->n];
	memset(a, 0, sizeof(*a));
	a->key = strdup(key);
	a->raw = raw ? strdup(raw) : NULL;
	a->origin = origin;
	a->ignore_failure = ignore_failure;
	a->glob = strpbrk(key, "*?[") != NULL;
	a->seq = st->seq++;
	a->shadowed = json_array();
	if (!a->key || (raw && !a->raw) || !a->shadowed ||
	    json_object_set_new(st->index, key, json_integer((json_int_t)st->n)) < 0) {
		free(a->key);
		free(a->raw);
		free(a->origin);
		json_decref(a->shadowed);
		st->enomem = 1;
		return;
	}
	st->n++;
}

static char *sysctld_strip(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*end = '\0';
	return s;
}

static void sysctld_problem(struct sysctld_state *st, int *problems, const char *path,
			    unsigned line, const char *what, const char *detail)
{
	if (*problems == SYSCTLD_NOTES_PER_FILE)
		facts_note(st->doc, "%s: further problems not reported", path);
	if ((*problems)++ >= SYSCTLD_NOTES_PER_FILE)
		return;
	if (detail)
		facts_note(st->doc, "%s:%u: %s: %.80s", path, line, what, detail);
	else
		facts_note(st->doc, "%s:%u: %s", path, line, what);
}

static void sysctld_line(struct sysctld_state *st, int *problems, const char *path,
			 unsigned line, char *s, size_t len)
{
	char *end = s + len, *eq, *k, *v = NULL;
	char key[SYSCTL_KEY_MAX + 1];
	const char *why = NULL;
	bool ignore_failure = false;

	if (len > SYSCTLD_LINE_MAX) {
		sysctld_problem(st, problems, path, line, "line too long, skipped", NULL);
		return;
	}
	s = sysctld_strip(s, end);
	if (!*s || *s == '#' || *s == ';')
		return;
	eq = strchr(s, '=');
	if (eq) {
		if (*s == '-') {
			ignore_failure = true;
			s++;
		}
		v = sysctld_strip(eq + 1, eq + 1 + strlen(eq + 1));
		k = sysctld_strip(s, eq);
	} else {
		if (*s != '-') {
			sysctld_problem(st, problems, path, line, "not an assignment, skipped", s);
			return;
		}
		k = sysctld_strip(s + 1, s + strlen(s));
	}
	if (sysctl_key_parse(k, NULL, key, &why) < 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "invalid key (%s), skipped", why);
		sysctld_problem(st, problems, path, line, msg, k);
		return;
	}
	sysctld_assign(st, key, v, ignore_failure, path, line);
}

/* Lines as systemd-sysctl reads them (util/lines.h). */
static void sysctld_parse(struct sysctld_state *st, const char *path, char *buf, size_t len)
{
	struct lines ls;
	const char *line;
	unsigned lineno = 0;
	int problems = 0;
	size_t n;

	lines_init(&ls, buf, len);
	while (!st->enomem && lines_next(&ls, &line, &n)) {
		lineno++;
		/* buf[len] is a NUL: the line may be ended in place */
		sysctld_line(st, &problems, path, lineno, buf + (line - buf), n);
	}
}

static json_t *sysctld_file_entry(const char *path, const char *status)
{
	return json_pack("{s:s,s:s}", "path", path, "status", status);
}

static void sysctld_set_str(json_t *o, const char *k, const char *raw)
{
	char *esc = escape_untrusted_str(raw);

	if (esc)
		json_object_set_new(o, k, json_string(esc));
	free(esc);
}

struct sysctld_applied {
	dev_t dev;
	ino_t ino;
	char *path;
};

/* Handle the entries of one basename (ents[0..n), by precedence). */
static void sysctld_name(struct sysctld_state *st, const struct nk_root *root,
			 const int *dirfds, const struct sysctld_entry *ents, size_t n,
			 json_t *files, struct sysctld_applied *applied, size_t *napplied)
{
	char *winner = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct sysctld_entry *e = &ents[i];
		const char *dir = sysctld_dirs[e->dir];
		char *path = sysctld_path(dir, e->name), *rel = NULL, *buf = NULL;
		char link[PATH_MAX];
		const char *err = NULL;
		json_t *f;
		struct stat sb;
		ssize_t ll;
		size_t len = 0;
		int fd, r;

		if (!path) {
			st->enomem = 1;
			return;
		}
		if (winner) {
			f = sysctld_file_entry(path, "shadowed");
			json_object_set_new(f, "shadowed_by", json_string(winner));
			json_array_append_new(files, f);
			free(path);
			continue;
		}
		f = sysctld_file_entry(path, "applied");
		ll = readlinkat(dirfds[e->dir], e->name, link, sizeof(link) - 1);
		if (ll >= 0) {
			link[ll] = '\0';
			sysctld_set_str(f, "link", link);
			if (sysctld_link_is_null(dir, link)) {
				json_object_set_new(f, "status", json_string("masked"));
				goto claimed;
			}
		}
		if (asprintf(&rel, "%s/%s", dir, e->name) < 0) {
			st->enomem = 1;
			json_decref(f);
			free(path);
			return;
		}
		/* O_NONBLOCK: a FIFO must not hang the collection */
		fd = root_open_in(root, rel, O_RDONLY | O_NONBLOCK);
		free(rel);
		if (fd == -ELOOP) {
			/* systemd cannot resolve the name either and skips it:
			 * the name stays free for the next directory */
			json_object_set_new(f, "status", json_string("unreadable"));
			json_object_set_new(f, "error", json_string(strerror(ELOOP)));
			facts_note(st->doc, "%s: %s", path, strerror(ELOOP));
			json_array_append_new(files, f);
			free(path);
			continue;
		}
		if (fd == -ENOENT) {
			/* a dangling link: systemd takes the name and finds
			 * nothing to read */
			json_object_set_new(f, "status", json_string("missing"));
			goto claimed;
		}
		if (fd < 0) {
			r = fd;
			goto unreadable;
		}
		if (fstat(fd, &sb) < 0) {
			r = -errno;
			close(fd);
			goto unreadable;
		}
		if (S_ISCHR(sb.st_mode) && major(sb.st_rdev) == 1 && minor(sb.st_rdev) == 3) {
			close(fd);
			json_object_set_new(f, "status", json_string("masked"));
			goto claimed;
		}
		if (!S_ISREG(sb.st_mode)) {
			r = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
			err = r == -EINVAL ? "not a regular file" : NULL;
			close(fd);
			goto unreadable;
		}
		r = read_fd_all(fd, SYSCTLD_FILE_MAX, &buf, &len);
		close(fd);
		if (r < 0)
			goto unreadable;
		applied[*napplied].dev = sb.st_dev;
		applied[*napplied].ino = sb.st_ino;
		applied[*napplied].path = strdup(path);
		if (applied[*napplied].path)
			(*napplied)++;
		else
			st->enomem = 1;
		sysctld_parse(st, path, buf, len);
		free(buf);
		goto claimed;
unreadable:
		json_object_set_new(f, "status", json_string("unreadable"));
		if (!err)
			err = strerror(-r);
		json_object_set_new(f, "error", json_string(err));
		facts_note(st->doc, "%s: %s", path, err);
claimed:
		json_array_append_new(files, f);
		winner = path;
	}
	free(winner);
}

/* /etc/sysctl.conf counts only when a sysctl.d file links to it. */
static void sysctld_conf(struct sysctld_state *st, const struct nk_root *root, json_t *files,
			 const struct sysctld_applied *applied, size_t napplied)
{
	struct stat sb;
	int fd = root_open_in(root, "etc/sysctl.conf", O_PATH);
	json_t *f;

	if (fd == -ENOENT)
		return;
	f = sysctld_file_entry("/etc/sysctl.conf", "not-applied");
	if (!f) {
		if (fd >= 0)
			close(fd);
		st->enomem = 1;
		return;
	}
	if (fd < 0 || fstat(fd, &sb) < 0) {
		int e = fd < 0 ? -fd : errno;

		json_object_set_new(f, "status", json_string("unreadable"));
		json_object_set_new(f, "error", json_string(strerror(e)));
		facts_note(st->doc, "/etc/sysctl.conf: %s", strerror(e));
		if (fd >= 0)
			close(fd);
		json_array_append_new(files, f);
		return;
	}
	close(fd);
	for (size_t i = 0; i < napplied; i++) {
		if (applied[i].dev == sb.st_dev && applied[i].ino == sb.st_ino) {
			json_object_set_new(f, "status", json_string("applied"));
			json_object_set_new(f, "via", json_string(applied[i].path));
			json_array_append_new(files, f);
			return;
		}
	}
	facts_note(st->doc, "/etc/sysctl.conf is not applied at boot: systemd-sysctl reads it only "
		   "through a link in a sysctl.d directory (/etc/sysctl.d/99-sysctl.conf)");
	json_array_append_new(files, f);
}

static int sysctld_seq_cmp(const void *a, const void *b)
{
	const struct sysctld_assign *const *x = a, *const *y = b;

	return (*x)->seq < (*y)->seq ? -1 : (*x)->seq > (*y)->seq;
}

static void sysctld_output(struct sysctld_state *st, json_t *keys, json_t *globs)
{
	const char **names = calloc(st->n + 1, sizeof(*names));
	struct sysctld_assign **gl = calloc(st->n + 1, sizeof(*gl));
	size_t nk = 0, ng = 0;

	if (!names || !gl) {
		free(names);
		free(gl);
		st->enomem = 1;
		return;
	}
	for (size_t i = 0; i < st->n; i++) {
		if (st->as[i].glob)
			gl[ng++] = &st->as[i];
		else
			names[nk++] = st->as[i].key;
	}
	qsort(names, nk, sizeof(*names), sysctld_key_cmp);
	qsort(gl, ng, sizeof(*gl), sysctld_seq_cmp);
	for (size_t i = 0; i < nk; i++) {
		struct sysctld_assign *a = &st->as[json_integer_value(json_object_get(st->index, names[i]))];
		json_t *o = json_pack("{s:o,s:s,s:b,s:O}", "value", sysctld_value(a->raw),
				      "origin", a->origin, "ignore_failure", a->ignore_failure,
				      "shadowed", a->shadowed);

		if (!o) {
			st->enomem = 1;
			break;
		}
		if (!a->raw)
			json_object_set_new(o, "exclude", json_true());
		json_object_set_new(keys, a->key, o);
	}
	for (size_t i = 0; i < ng; i++) {
		struct sysctld_assign *a = gl[i];
		char pat[SYSCTL_KEY_MAX + 1];
		json_t *o, *ex = json_array();

		sysctl_key_parse(a->key, pat, NULL, NULL);
		for (size_t j = 0; ex && j < nk; j++) {
			char p[SYSCTL_KEY_MAX + 1];

			if (sysctl_key_parse(names[j], p, NULL, NULL) == 0 &&
			    fnmatch(pat, p, FNM_PATHNAME | FNM_PERIOD) == 0)
				json_array_append_new(ex, json_string(names[j]));
		}
		o = json_pack("{s:s,s:o,s:s,s:b,s:O,s:o}", "pattern", a->key,
			      "value", sysctld_value(a->raw), "origin", a->origin,
			      "ignore_failure", a->ignore_failure, "shadowed", a->shadowed,
			      "explicit_keys", ex ? ex : json_array());
		if (!o) {
			st->enomem = 1;
			break;
		}
		json_array_append_new(globs, o);
	}
	free(names);
	free(gl);
}

static void sysctld_state_free(struct sysctld_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->as[i].key);
		free(st->as[i].raw);
		free(st->as[i].origin);
		json_decref(st->as[i].shadowed);
	}
	free(st->as);
	json_decref(st->index);
}

int sysctld_parse_buffer(json_t *doc, const char *path, const char *text, size_t len)
{
	struct sysctld_state st = { .doc = doc };
	json_t *pers = json_object(), *keys = json_object(), *globs = json_array();
	char *buf = malloc(len + 1);

	st.index = json_object();
	if (!pers || !keys || !globs || !buf || !st.index) {
		st.enomem = 1;
		goto out;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	sysctld_parse(&st, path, buf, len);
	sysctld_output(&st, keys, globs);
	if (st.enomem)
		goto out;
	json_object_set_new(pers, "files", json_array());
	json_object_set_new(pers, "keys", keys);
	json_object_set_new(pers, "globs", globs);
	keys = globs = NULL;
	json_object_set_new(doc, "persistent", pers);
	pers = NULL;
out:
	free(buf);
	sysctld_state_free(&st);
	json_decref(pers);
	json_decref(keys);
	json_decref(globs);
	return st.enomem ? -ENOMEM : 0;
}

int sysctld_collect(json_t *doc, const struct nk_root *root)
{
	struct sysctld_state st = { .doc = doc };
	struct sysctld_entry *ents = NULL;
	struct sysctld_applied *applied = NULL;
	size_t nents = 0, cap = 0, napplied = 0;
	int dirfds[SYSCTLD_NDIRS];
	struct stat dst[SYSCTLD_NDIRS];
	json_t *pers = json_object(), *files = json_array(), *keys = json_object();
	json_t *globs = json_array();

	st.index = json_object();
	for (size_t d = 0; d < SYSCTLD_NDIRS; d++)
		dirfds[d] = -1;
	if (!pers || !files || !keys || !globs || !st.index) {
		st.enomem = 1;
		goto out;
	}

	for (size_t d = 0; d < SYSCTLD_NDIRS && !st.enomem; d++) {
		int fd = root_open_in(root, sysctld_dirs[d], O_RDONLY | O_DIRECTORY);
		bool same = false;
		struct dirent *de;
		DIR *dir;

		if (fd < 0) {
			if (fd != -ENOENT && fd != -ENOTDIR)
				facts_note(doc, "/%s: %s", sysctld_dirs[d], strerror(-fd));
			continue;
		}
		if (fstat(fd, &dst[d]) < 0) {
			close(fd);
			continue;
		}
		/* /lib is usually a link to usr/lib: read each directory once */
		for (size_t e = 0; e < d; e++)
			if (dirfds[e] >= 0 && dst[e].st_dev == dst[d].st_dev &&
			    dst[e].st_ino == dst[d].st_ino)
				same = true;
		if (same) {
			close(fd);
			continue;
		}
		dirfds[d] = fd;
		fd = dup(fd);
		dir = fd >= 0 ? fdopendir(fd) : NULL;
		if (!dir) {
			if (fd >= 0)
				close(fd);
			facts_note(doc, "/%s: %s", sysctld_dirs[d], strerror(errno));
			continue;
		}
		while ((de = readdir(dir))) {
			size_t l = strlen(de->d_name);

			if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 5, ".conf") != 0)
				continue;
			if (ARRAY_GROW(ents, cap, nents, 32) < 0) {
				st.enomem = 1;
				break;
			}
			ents[nents].name = strdup(de->d_name);
			ents[nents].dir = d;
			if (!ents[nents].name) {
				st.enomem = 1;
				break;
			}
			nents++;
		}
		closedir(dir);
	}
	if (st.enomem)
		goto out;
	if (nents)
		qsort(ents, nents, sizeof(*ents), sysctld_entry_cmp);
	/* at most one file read per name */
	applied = calloc(nents + 1, sizeof(*applied));
	if (!applied) {
		st.enomem = 1;
		goto out;
	}
	for (size_t i = 0; i < nents && !st.enomem;) {
		size_t j = i + 1;

		while (j < nents && strcmp(ents[j].name, ents[i].name) == 0)
			j++;
		sysctld_name(&st, root, dirfds, ents + i, j - i, files, applied, &napplied);
		i = j;
	}
	sysctld_conf(&st, root, files, applied, napplied);
	sysctld_output(&st, keys, globs);
	if (st.enomem)
		goto out;
	json_object_set_new(pers, "files", files);
	json_object_set_new(pers, "keys", keys);
	json_object_set_new(pers, "globs", globs);
	files = keys = globs = NULL;
	json_object_set_new(doc, "persistent", pers);
	pers = NULL;
out:
	for (size_t d = 0; d < SYSCTLD_NDIRS; d++)
		if (dirfds[d] >= 0)
			close(dirfds[d]);
	for (size_t i = 0; i < nents; i++)
		free(ents[i].name);
	free(ents);
	for (size_t i = 0; applied && i < napplied; i++)
		free(applied[i].path);
	free(applied);
	sysctld_state_free(&st);
	json_decref(pers);
	json_decref(files);
	json_decref(keys);
	json_decref(globs);
	return st.enomem ? -ENOMEM : 0;
}
