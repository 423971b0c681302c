/* The file fix writes (fix/target.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fix/target.h"
#include "util/atomic.h"
#include "util/escape.h"
#include "util/log.h"

#define DROPIN_MAX (1 << 20)
/* seconds to wait for another run writing the drop-in */
#define FIX_LOCK_WAIT 10


void fix_target_close(struct fix_target *t)
{
	if (t->dirfd >= 0)
		close(t->dirfd);
	if (t->root_open)
		root_close(&t->root);
	free(t->sys);
	free(t->name);
	free(t->display);
}

/* Does the path have a component "." or ".."? */
static bool has_dot_name(const char *p)
{
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n;
	}
	return false;
}

int fix_target_open(struct fix_target *t, const struct globals *g, const char *output)
{
	const char *root = g->root && strcmp(g->root, "/") ? g->root : NULL;
	char *dir, *slash;
	size_t rl = root ? strlen(root) : 0;
	int fd;

	*t = (struct fix_target){ .dirfd = -1 };
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (!output) {
		t->sys = strdup(FIX_DEFAULT_TARGET);
	} else if (root) {
		if (strncmp(output, root, rl) != 0 || output[rl] != '/' || has_dot_name(output + rl)) {
			/* '..' stops at the root: IMG/../x would be written as
			 * IMG/x and said to be written as IMG/../x */
			log_error("fix: with --root %s, --output must be a path below it, without '.' or '..'", root);
			return -1;
		}
		t->sys = strdup(output + rl);
	} else {
		t->sys = strdup(output);
	}
	if (!t->sys)
		return -1;
	if (asprintf(&t->display, "%.*s%s", (int)rl, root ? root : "", t->sys) < 0) {
		t->display = NULL;
		return -1;
	}
	slash = strrchr(t->sys, '/');
	t->name = strdup(slash ? slash + 1 : t->sys);
	if (!t->name)
		return -1;
	if (!t->name[0] || !strcmp(t->name, ".") || !strcmp(t->name, "..")) {
		log_error("%s: not a file name", t->display);
		return -1;
	}
	dir = slash ? strndup(t->sys, (size_t)(slash - t->sys)) : strdup(".");
	if (!dir)
		return -1;
	if (t->sys[0] == '/') {
		int r = root_open(&t->root, root ? root : "/");

		if (r < 0) {
			log_error("--root %s: %s", root ? root : "/", strerror(-r));
			free(dir);
			return -1;
		}
		t->root_open = true;
		fd = root_open_in(&t->root, dir[0] == '/' && dir[1] ? dir + 1 : ".", O_RDONLY | O_DIRECTORY);
	} else {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	free(dir);
	if (fd < 0)
		t->dir_err = -fd;
	else
		t->dirfd = fd;
	return 0;
}

/* The file there: its text, NULL when there is none.  Only a regular file
 * is read (a FIFO would block, a symbolic link may point anywhere or mask
 * the drop-in).  0 or -errno (logged). */
int fix_target_read(const struct fix_target *t, char **out)
{
	size_t len;
	int r;

	*out = NULL;
	if (t->dirfd < 0)
		return 0;
	r = fileio_read_at(t->dirfd, t->name, DROPIN_MAX, out, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -ELOOP) {
		char link[256];
		ssize_t n = readlinkat(t->dirfd, t->name, link, sizeof(link) - 1);
		char *safe;

		link[n < 0 ? 0 : n] = '\0';
		safe = escape_untrusted_str(link);
		if (!strcmp(link, "/dev/null"))
			log_error("%s is a symbolic link to /dev/null: the drop-in is masked; remove the "
				  "mask first if it should apply", t->display);
		else
			log_error("%s is a symbolic link (to %s): netknobs writes regular files only; "
				  "remove it or choose another --output", t->display, safe ? safe : "?");
		free(safe);
		return r;
	}
	if (r == 0 && memchr(*out, '\0', len)) {
		free(*out);
		*out = NULL;
		r = -EINVAL;
	}
	if (r < 0)
		log_error("%s: cannot read: %s", t->display, r == -EINVAL ? "not a text file" : fileio_strerror(-r));
	return r;
}

/* Before the rename: is the file still the text the drop-in was built
 * from?  -EAGAIN when an edit came in between. */
struct unchanged {
	const struct fix_target *t;
	const char *text;
};

static int still_unchanged(void *arg)
{
	const struct unchanged *u = arg;
	char *now;
	int r = fix_target_read(u->t, &now);

	if (r < 0)
		return r;
	r = (!now && !u->text) || (now && u->text && !strcmp(now, u->text)) ? 0 : -EAGAIN;
	free(now);
	return r;
}

int fix_target_write_text(const struct fix_target *t, const char *text, size_t len, const char *old,
			  bool *backup)
{
	struct unchanged u = { t, old };
	struct atomic_opts o = { .display = t->display, .mode = 0644, .like = t->name, .before_rename = still_unchanged,
				 .arg = &u };
	struct atomic_opts ob = { .mode = 0644, .like = t->name };
	char *bak = NULL, *bakdisplay = NULL;
	int r;

	*backup = false;
	if (t->dirfd < 0) {
		log_error("%s: cannot write: %s", t->display, strerror(t->dir_err));
		return -t->dir_err;
	}
	if (old) {
		if (asprintf(&bak, "%s.bak", t->name) < 0 || asprintf(&bakdisplay, "%s.bak", t->display) < 0) {
			free(bak);
			return -ENOMEM;
		}
		ob.display = bakdisplay;
		r = atomic_write_opts(t->dirfd, bak, old, strlen(old), &ob);
		free(bak);
		free(bakdisplay);
		if (r < 0)
			return r;
		*backup = true;
	}
	return atomic_write_opts(t->dirfd, t->name, text, len, &o);
}

int fix_target_write(const struct fix_target *t, const struct dropin *d, const char *old, bool *backup)
{
	return fix_target_write_text(t, d->content, d->len, old, backup);
}

int fix_target_remove(const struct fix_target *t, const char *old)
{
	struct unchanged u = { t, old };
	int r;

	if (t->dirfd < 0)
		return 0;
	/* under the directory's lock: nothing of ours writes it between the
	 * check and the unlink */
	r = still_unchanged(&u);
	if (r == 0 && unlinkat(t->dirfd, t->name, 0) < 0 && errno != ENOENT)
		r = -errno;
	if (r < 0 && r != -EAGAIN)
		log_error("%s: cannot remove: %s", t->display, strerror(-r));
	return r;
}

/* flock on the directory itself: no file of ours there */
int fix_target_lock(const struct fix_target *t)
{
	int r;

	if (t->dirfd < 0)
		return 0;      /* nothing can be written there anyway */
	r = fileio_lock(t->dirfd, FIX_LOCK_WAIT);
	if (r == -EWOULDBLOCK)
		log_error("%s: another netknobs fix is writing there (waited %d s); try again later",
			  t->display, FIX_LOCK_WAIT);
	else if (r < 0)
		log_error("%s: cannot lock its directory: %s", t->display, strerror(-r));
	return r;
}

