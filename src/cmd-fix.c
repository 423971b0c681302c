/* netknobs fix: persist the audit's recommendations in a sysctl.d drop-in,
 * check whether it is up to date, and apply it now. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmd-audit.h"
#include "fix/apply.h"
#include "fix/dropin.h"
#include "report/history.h"
#include "report/state.h"
#include "rules/rules.h"
#include "util/atomic.h"
#include "util/diff.h"
#include "util/escape.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/wrap.h"

#define DEFAULT_TARGET "/etc/sysctl.d/90-netknobs.conf"
#define DROPIN_MAX (1 << 20)
/* seconds to wait for another run writing the drop-in */
#define FIX_LOCK_WAIT 10
/* times the drop-in is built again when the file keeps changing */
#define FIX_ATTEMPTS 5

enum { OPT_WRITE = OPT_AUDIT_END, OPT_CHECK, OPT_APPLY, OPT_OUTPUT };

struct fix_args {
	struct audit_args au;   /* the audit's options: rules, profile, --from, --sample ... */
	const char *output;
	bool write, check, apply, verbose;
};

static int fix_opt(int c, const char *arg, void *data)
{
	struct fix_args *a = data;
	int r;

	switch (c) {
	case OPT_OUTPUT:
		a->output = arg;
		return 0;
	case OPT_WRITE:
		a->write = true;
		return 0;
	case OPT_CHECK:
		a->check = true;
		return 0;
	case OPT_APPLY:
		a->apply = true;
		return 0;
	case 'v':
		/* the notes of the drop-in, not the audit's passed items */
		a->verbose = true;
		return 0;
	}
	r = audit_args_option(&a->au, c, arg);
	return r > 0 ? 0 : -1;
}

/* Where the drop-in goes.  Below --root, the directory is opened with
 * symbolic links resolved inside the root, so that a link in an image
 * cannot send the write to this host's files. */
struct target {
	struct nk_root root;
	bool root_open;
	int dirfd;              /* its directory; -1 when that does not exist */
	int dir_err;
	char *sys;              /* path on the target system */
	char *name;             /* file name */
	char *display;          /* path on this system, for messages */
};

static void target_close(struct target *t)
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

static int target_open(struct target *t, const struct globals *g, const char *output)
{
	const char *root = g->root && strcmp(g->root, "/") ? g->root : NULL;
	char *dir, *slash;
	size_t rl = root ? strlen(root) : 0;
	int fd;

	*t = (struct target){ .dirfd = -1 };
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (!output) {
		t->sys = strdup(DEFAULT_TARGET);
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
static int target_read(const struct target *t, char **out)
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
	const struct target *t;
	const char *text;
};

static int still_unchanged(void *arg)
{
	const struct unchanged *u = arg;
	char *now;
	int r = target_read(u->t, &now);

	if (r < 0)
		return r;
	r = (!now && !u->text) || (now && u->text && !strcmp(now, u->text)) ? 0 : -EAGAIN;
	free(now);
	return r;
}

/* Write the drop-in built from old, the file's text: the backup first
 * (the file as it is replaced), then the drop-in, renamed only when the
 * file is still old.  Returns 0, -EAGAIN when it changed, or -errno
 * (logged). */
static int target_write(const struct target *t, const struct dropin *d, const char *old, bool *backup)
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
	return atomic_write_opts(t->dirfd, t->name, d->content, d->len, &o);
}

/* Only one netknobs writes the drop-in's directory at a time: its lock
 * (flock on the directory itself; no file of ours there). */
static int target_lock(const struct target *t)
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

/* Text that holds lines of a file on this system, for the terminal. */
static void print_text_safe(FILE *out, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		char *line = strndup(text, n);

		fputs_safe(line ? line : "?", out);
		fputc('\n', out);
		free(line);
		text += n + (nl ? 1 : 0);
	}
}

static void print_msgs(FILE *out, const char *label, const json_t *msgs)
{
	size_t i;
	const json_t *m;

	json_array_foreach(msgs, i, m)
		print_wrapped(out, "", label, json_string_value(m));
}

static const char *str_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* A sysctl value of the audit (an integer, a string, a list) as text. */
static void print_value(FILE *out, const json_t *v)
{
	size_t i;
	const json_t *e;

	if (json_is_integer(v))
		fprintf(out, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		fputs_safe(json_string_value(v), out);
	else if (json_is_array(v))
		json_array_foreach(v, i, e) {
			if (i)
				fputc(' ', out);
			print_value(out, e);
		}
	else
		fputs("?", out);
}

/* The entry of out for the SO_REUSEPORT group of l (same address and
 * port), or NULL: a group is named once, with its number of sockets. */
static json_t *restart_group(json_t *out, const json_t *l)
{
	json_t *o;
	size_t i;

	if (!json_is_object(json_object_get(l, "reuseport")))
		return NULL;
	json_array_foreach(out, i, o) {
		if (json_is_integer(json_object_get(o, "sockets")) &&
		    json_equal(json_object_get(o, "address"), json_object_get(l, "address")) &&
		    json_equal(json_object_get(o, "port"), json_object_get(l, "port")))
			return o;
	}
	return NULL;
}

/* Listeners keep the limit they got at listen() until the application
 * listens again.  Name those whose limit the values just applied may
 * change: a net.core.somaxconn raised above the value that most likely
 * capped them (their limit is the old somaxconn; an application that asked
 * for exactly that looks the same).  A SO_REUSEPORT group once, with its
 * number of sockets.  None when somaxconn did not change: a listener below
 * it then asked for less itself, or was capped by an older value, which
 * this run did not change.  NULL when out of memory. */
static json_t *restarts(const json_t *facts, const struct apply_item *items, size_t n)
{
	const json_t *listeners = json_object_get(json_object_get(facts, "sockets"), "listeners"), *l;
	json_t *out = json_array(), *g;
	long long now = -1, oldv = -1;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(items[i].key, "net.core.somaxconn") != 0 || items[i].status != APPLY_SET)
			continue;
		if (parse_int64(items[i].text, &now) < 0 || !items[i].old || parse_int64(items[i].old, &oldv) < 0)
			now = oldv = -1;
	}
	if (now < 0 || oldv < 0 || now <= oldv)
		return out;
	json_array_foreach(listeners, i, l) {
		const json_t *lim = json_object_get(l, "limit");
		json_t *o;

		if (!json_is_integer(lim) || json_integer_value(lim) != oldv)
			continue;
		g = restart_group(out, l);
		if (g) {
			if (json_object_set_new(g, "sockets", json_integer(json_integer_value(
							json_object_get(g, "sockets")) + 1)) < 0) {
				json_decref(out);
				return NULL;
			}
			continue;
		}
		o = json_pack("{s:O?, s:O?, s:O, s:O?, s:I, s:I, s:b}", "address", json_object_get(l, "address"),
			      "port", json_object_get(l, "port"), "limit", lim, "processes",
			      json_object_get(l, "processes"), "somaxconn", (json_int_t)now, "old_somaxconn",
			      (json_int_t)oldv, "limit_equals_old_somaxconn", 1);
		if (o && json_is_object(json_object_get(l, "reuseport")) &&
		    json_object_set_new(o, "sockets", json_integer(1)) < 0) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(out, o) < 0) {
			json_decref(o);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static void print_restarts(FILE *out, const json_t *r)
{
	const json_t *l, *p, *first = json_array_get(r, 0);
	size_t i, j;

	if (!json_array_size(r))
		return;
	fprintf(out, "\nListeners whose limit is the net.core.somaxconn just replaced (%lld, now %lld), which most "
		"likely cut their backlog: they keep their limit until the application calls listen() again "
		"(usually a restart), and then get up to %lld (less if the application asks for less; one that "
		"asks for exactly %lld keeps it):\n",
		(long long)json_integer_value(json_object_get(first, "old_somaxconn")),
		(long long)json_integer_value(json_object_get(first, "somaxconn")),
		(long long)json_integer_value(json_object_get(first, "somaxconn")),
		(long long)json_integer_value(json_object_get(first, "old_somaxconn")));
	json_array_foreach(r, i, l) {
		const char *addr = str_of(l, "address");

		fputs("  ", out);
		if (strchr(addr, ':'))
			fputc('[', out);
		fputs_safe(addr, out);
		if (strchr(addr, ':'))
			fputc(']', out);
		fprintf(out, ":%lld", (long long)json_integer_value(json_object_get(l, "port")));
		if (json_integer_value(json_object_get(l, "sockets")) > 1)
			fprintf(out, " (%lld sockets)", (long long)json_integer_value(json_object_get(l, "sockets")));
		fprintf(out, "  limit %lld", (long long)json_integer_value(json_object_get(l, "limit")));
		json_array_foreach(json_object_get(l, "processes"), j, p) {
			fputs(j ? ", " : "  ", out);
			fputs_safe(str_of(p, "comm"), out);
			fprintf(out, " (pid %lld)", (long long)json_integer_value(json_object_get(p, "pid")));
		}
		fputs("  [at the old somaxconn]\n", out);
	}
}

static json_t *entries_json(const struct dropin *d)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < d->n; i++) {
		const struct dropin_entry *e = &d->e[i];
		json_t *o = json_pack("{s:s, s:O, s:s, s:b, s:O}", "key", e->key, "value", e->value, "text",
				      e->text, "kept", e->kept, "rules", e->rules);

		if (!o)
			goto fail;
		if (e->runtime && json_object_set(o, "runtime", e->runtime) < 0)
			goto fail_o;
		if (e->overridden_by && (json_object_set_new(o, "overridden_by", json_string(e->overridden_by)) < 0 ||
					 json_object_set(o, "boot", e->boot) < 0))
			goto fail_o;
		if (json_array_append_new(a, o) < 0)
			goto fail;
		continue;
fail_o:
		json_decref(o);
fail:
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *apply_json(const struct apply_item *items, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "key", items[i].key, "value", items[i].text,
				      "old", items[i].old, "status", apply_status_name(items[i].status),
				      "error", items[i].error);

		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The drop-in's settings that take effect now when applied: those no later
 * file overrides (applying them would only make the running value differ
 * from the boot value). */
static struct apply_item *apply_plan(const struct dropin *d, size_t *n)
{
	struct apply_item *items = calloc(d->n + 1, sizeof(*items));

	*n = 0;
	if (!items)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		/* lines kept from the file are the admin's (globs, '-' lines):
		 * `sysctl --system` applies them */
		if (d->e[i].overridden_by || d->e[i].kept)
			continue;
		items[*n].key = d->e[i].key;
		items[(*n)++].text = d->e[i].text;
	}
	return items;
}

/* What a failed --apply left, from what was read back; NULL when nothing
 * failed. */
static const char *apply_summary(const struct apply_item *items, size_t n)
{
	bool failed = false, unrestored = false, restored = false;

	for (size_t i = 0; i < n; i++) {
		failed |= items[i].status == APPLY_FAILED || items[i].status == APPLY_ROLLBACK_FAILED;
		unrestored |= items[i].status == APPLY_ROLLBACK_FAILED;
		restored |= items[i].status == APPLY_ROLLED_BACK;
	}
	if (unrestored)
		return "some values could not be put back (above): the running values are now mixed";
	if (failed && restored)
		return "every value set before the failure was put back (read back)";
	if (failed)
		return "no value was changed (read back)";
	return NULL;
}

/* What --apply did, each line from what was read back; the values that
 * failed as errors. */
static void print_apply(FILE *out, const struct apply_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct apply_item *it = &items[i];
		char *old = it->old ? escape_untrusted_str(it->old) : NULL;

		switch (it->status) {
		case APPLY_SET:
			fprintf(out, "set %s = %s (was %s)\n", it->key, it->text, old ? old : "?");
			break;
		case APPLY_UNCHANGED:
		case APPLY_PENDING:
			break;
		case APPLY_ROLLED_BACK:
			fprintf(out, "rolled back %s to %s\n", it->key, old ? old : "?");
			break;
		case APPLY_FAILED:
		case APPLY_ROLLBACK_FAILED:
			log_error("%s = %s: %s", it->key, it->text, it->error ? it->error : "failed");
			break;
		}
		free(old);
	}
}

/* The JSON result of a fix that failed: why (the last error), and with
 * --apply what was done to each value, read back. */
static void print_failure_json(const struct target *t, const struct apply_item *items, size_t n)
{
	json_t *o = json_pack("{s:b, s:s, s:b}", "ok", 0, "error",
			      *log_last_error() ? log_last_error() : "failed", "written", 0);

	if (!o)
		return;
	if (t->sys)
		json_object_set_new(o, "target", json_string(t->sys));
	if (items) {
		bool changed = false;

		for (size_t i = 0; i < n; i++)
			changed |= items[i].status == APPLY_SET || items[i].status == APPLY_ROLLBACK_FAILED;
		json_object_set_new(o, "applied", apply_json(items, n));
		/* true only when a value could not be put back */
		json_object_set_new(o, "running_values_changed", json_boolean(changed));
	}
	print_json(o);
	json_decref(o);
}

/* A value of /proc/sys as the facts hold it: an integer when it is one. */
static json_t *sysctl_json(const char *text)
{
	long long v;

	return parse_int64(text, &v) == 0 ? json_integer(v) : json_string(text);
}

/* Record in the state directory's history the kept keys (somaxconn) that
 * --apply changed, so that later audits can tell a listener cut down by the
 * older value (report/history.h).  A failure is a warning: the values are
 * set. */
static void fix_note_history(const json_t *facts, const struct apply_item *items, size_t n)
{
	struct state_dir sd = { NULL, -1, -1 };
	const char *dir = cmd_state_dir();
	json_t *hist = NULL;
	bool any = false, oom = false;
	time_t now = time(NULL);

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; history_keys[k]; k++)
			any |= items[i].status == APPLY_SET && !strcmp(items[i].key, history_keys[k]);
	if (!any)
		return;
	if (state_open(&sd, dir, 10) < 0 || history_load(&sd, &hist) < 0) {
		log_warn("the change of net.core.somaxconn is not recorded in %s", dir);
		state_close(&sd);
		return;
	}
	for (size_t i = 0; i < n && !oom; i++) {
		json_t *before, *after, *next;
		bool kept = false;

		for (size_t k = 0; history_keys[k]; k++)
			kept |= !strcmp(items[i].key, history_keys[k]);
		if (items[i].status != APPLY_SET || !kept)
			continue;
		before = items[i].old ? sysctl_json(items[i].old) : NULL;
		after = sysctl_json(items[i].text);
		next = history_note_change(hist, facts, items[i].key, before, after, now);
		json_decref(before);
		json_decref(after);
		json_decref(hist);
		hist = next;
		oom = !hist;
	}
	if (oom || history_save(&sd, hist) < 0)
		log_warn("the change of net.core.somaxconn is not recorded in %s", dir);
	json_decref(hist);
	state_close(&sd);
}

/* What the drop-in is built from. */
struct fix_input {
	const json_t *audit, *facts;
	const struct rulebook *rb;
	const struct netns_entry *where;        /* --netns, or NULL */
};

/* Drop-ins replaced by one built again (the items of --apply point into
 * them). */
struct retired {
	struct dropin d[FIX_ATTEMPTS + 1];
	size_t n;
};

/* Build the drop-in from old, the text of the file there (NULL when there
 * is none); *changed: would writing it change the file?  0 or -1 (logged). */
static int build(struct dropin *d, const struct fix_input *in, const struct target *t, const char *old,
		 bool *changed)
{
	if (dropin_build(d, in->audit, in->facts, in->rb, t->sys, old) < 0)
		goto oom;
	if (in->where && !cmd_where_is_home(in->where)) {
		if (json_array_append_new(d->warnings, json_sprintf(
			    "%s (%s) is not the host's initial network namespace: boot does not apply sysctl.d "
			    "files to it; its values are set by whatever creates it (without --output, "
			    "netknobs fix says what, for each setting)", in->where->name,
			    netns_kind_name(in->where->kind))) < 0)
			goto oom;
	} else if (json_is_false(json_object_get(json_object_get(json_object_get(in->facts, "host"), "netns"),
					       "initial")) &&
		   json_array_append_new(d->warnings, json_string(
			   "this is not the host's initial network namespace: boot does not apply sysctl.d files to "
			   "it; its values are set by whatever creates it (a container runtime: docker run --sysctl, "
			   "Kubernetes securityContext.sysctls)")) < 0) {
		goto oom;
	}
	if (old && !d->len) {
		/* a file holding nothing but our header stays as it is */
		free(d->content);
		d->content = strdup(old);
		d->len = strlen(old);
		if (!d->content)
			goto oom;
	}
	*changed = old ? strcmp(old, d->content) != 0 : d->len > 0;
	return 0;
oom:
	log_error("out of memory");
	return -1;
}

/* Read the file again: when it is no longer *old, build the drop-in again
 * from what it holds now.  0 or -1 (logged). */
static int refresh(const struct target *t, char **old, struct dropin *d, struct retired *keep,
		   const struct fix_input *in, bool *changed)
{
	char *now;

	if (target_read(t, &now) < 0)
		return -1;
	if ((!now && !*old) || (now && *old && !strcmp(now, *old))) {
		free(now);
		return 0;
	}
	if (keep->n == FIX_ATTEMPTS + 1) {
		free(now);
		log_error("%s keeps changing while netknobs writes it: nothing written; try again", t->display);
		return -1;
	}
	keep->d[keep->n++] = *d;
	*d = (struct dropin){ 0 };
	free(*old);
	*old = now;
	return build(d, in, t, now, changed);
}

/* Write the drop-in when it changes the file, never over an edit made
 * since the file was read: when one came in, the drop-in is built again
 * from the file as it is and written then.  0 or -1 (logged). */
static int write_dropin(const struct target *t, char **old, struct dropin *d, struct retired *keep,
			const struct fix_input *in, bool *changed, bool *backup)
{
	for (int i = 0; i < FIX_ATTEMPTS; i++) {
		int r;

		if (!*changed)
			return 0;
		r = target_write(t, d, *old, backup);
		if (r != -EAGAIN)
			return r < 0 ? -1 : 0;
		if (refresh(t, old, d, keep, in, changed) < 0)
			return -1;
	}
	log_error("%s keeps changing while netknobs writes it: nothing written; try again", t->display);
	return -1;
}

/* fix --netns NS without --output: the host's sysctl.d does not apply to
 * the namespace.  Say so, and for each recommendation the command that
 * sets it there now and what keeps it (cmd_netns_advise() put both in the
 * audit).  Returns the exit status. */
static int fix_show_netns(const struct globals *g, const json_t *audit, const struct netns_entry *e)
{
	const json_t *recs = json_object_get(audit, "recommendations"), *r;
	json_t *settings = json_array(), *o;
	char *why = NULL;
	size_t i;
	int ret = EXIT_NK_OK;

	if (!settings || asprintf(&why, "%s is a network namespace of its own (%s, net:[%llu]): at boot the "
				 "sysctl.d files, %s among them, are applied to the host's initial namespace "
				 "only, and a new namespace starts at the kernel's defaults; its values are set "
				 "by whatever creates it", e->name, netns_kind_name(e->kind), (unsigned long long)e->id.ino,
				 DEFAULT_TARGET) < 0) {
		json_decref(settings);
		log_error("out of memory");
		return EXIT_NK_ERROR;
	}
	json_array_foreach(recs, i, r) {
		if (json_is_true(json_object_get(r, "satisfied")))
			continue;
		o = json_pack("{s:O?, s:O?, s:O*, s:O?, s:O?, s:O?}", "key", json_object_get(r, "key"), "value",
			      json_object_get(r, "value"), "current", json_object_get(r, "current"), "rules",
			      json_object_get(r, "rules"), "now", json_object_get(r, "sysctl_w"), "persist",
			      json_object_get(r, "persist"));
		if (!o || json_array_append_new(settings, o) < 0) {
			json_decref(settings);
			free(why);
			log_error("out of memory");
			return EXIT_NK_ERROR;
		}
	}
	if (g->format == FORMAT_JSON) {
		o = json_pack("{s:b, s:O, s:b, s:s, s:O, s:b}", "ok", 1, "netns", json_object_get(audit, "netns"),
			      "sysctl_d_applies", 0, "why", why, "settings", settings, "written", 0);
		ret = !o || print_json(o) < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
		json_decref(o);
	} else {
		print_wrapped(stdout, "", "", why);
		fputc('\n', stdout);
		if (!json_array_size(settings))
			fputs("Nothing to set: every recommendation is met there.\n", stdout);
		json_array_foreach(settings, i, o) {
			const json_t *id;
			size_t j;

			fputs_safe(str_of(o, "key"), stdout);
			fputs(" = ", stdout);
			print_value(stdout, json_object_get(o, "value"));
			if (json_object_get(o, "current")) {
				fputs("    (now ", stdout);
				print_value(stdout, json_object_get(o, "current"));
				fputc(')', stdout);
			}
			fputs("\n  asked by:", stdout);
			json_array_foreach(json_object_get(o, "rules"), j, id) {
				fputc(' ', stdout);
				fputs_safe(json_string_value(id), stdout);
			}
			fputs("\n  now: ", stdout);
			fputs_safe(str_of(o, "now"), stdout);
			fputc('\n', stdout);
			print_wrapped(stdout, "  ", "lasting: ", str_of(o, "persist"));
		}
		if (json_array_size(settings))
			fputc('\n', stdout);
		if (json_array_size(settings))
			print_wrapped(stdout, "", "", "--output FILE writes these settings as a sysctl.d-style "
				      "file for the script that sets the namespace up (sysctl -p FILE inside it); "
				      "--apply --output FILE also sets them now.");
	}
	json_decref(settings);
	free(why);
	return ret;
}

static int fix_run(struct globals *g, int argc, char **argv)
{
	static const struct option own[] = {
		{ "write", no_argument, NULL, OPT_WRITE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "apply", no_argument, NULL, OPT_APPLY },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		/* the audit's options but --fail-on: the exit status says what fix did */
		{ "from", required_argument, NULL, OPT_AUDIT_FROM },
		{ "only", required_argument, NULL, OPT_AUDIT_ONLY },
		{ "rule", required_argument, NULL, OPT_AUDIT_RULE },
		RULE_LONG_OPTIONS,
		{ "profile", required_argument, NULL, OPT_AUDIT_PROFILE },
		SAMPLE_LONG_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const boot_key[] = { STATE_BOOT_ID_KEY };  /* for the history */
	struct fix_args a = { .au.fail_on = SEV_WARNING };
	struct audit_result res = { 0 };
	struct dropin d = { 0 };
	struct retired keep = { .n = 0 };
	struct fix_input in;
	struct apply_item *items = NULL;
	size_t nitems = 0;
	json_t *facts, *audit, *restart = NULL;
	struct target t = { .dirfd = -1 };
	char *old = NULL;
	bool to_stdout, changed, backup = false, json_done = false;
	int r, ret = EXIT_NK_ERROR;
	FILE *out = stdout;

	r = cmd_parse(&cmd_fix, g, argc, argv, "v", own, fix_opt, &a);
	if (r < 0) {
		audit_args_free(&a.au);
		return r == -2 ? EXIT_NK_OK : EXIT_NK_ERROR;
	}
	if (r < argc) {
		log_error("fix: unexpected argument '%s'", argv[r]);
		goto out_args;
	}
	if (a.check && (a.write || a.apply)) {
		log_error("fix: --check only looks; it cannot be combined with --write or --apply");
		goto out_args;
	}
	to_stdout = a.output && !strcmp(a.output, "-");
	if (to_stdout && a.check) {
		log_error("fix: --check compares with a file; --output - has none");
		goto out_args;
	}
	if (a.apply && (a.au.from || g->root)) {
		log_error("fix: --apply sets the values of the running kernel; it cannot be used with %s",
			  a.au.from ? "--from" : "--root");
		goto out_args;
	}
	if (g->netns && (a.write || a.apply || a.check) && !a.output) {
		char *ns = escape_untrusted_str(g->netns);

		log_error("fix: boot applies %s to the host's initial network namespace, not to %s, so "
			  "there is nothing to %s; `netknobs --netns %s fix` says for each setting the "
			  "command that sets it there now and what keeps it; give --output FILE for the "
			  "file that sets the namespace up (or --output -)", DEFAULT_TARGET, ns ? ns : "?",
			  a.check ? "check" : "write", ns ? ns : "?");
		free(ns);
		goto out_args;
	}

	if (target_open(&t, g, a.output && !to_stdout ? a.output : NULL) < 0)
		goto out_args;

	if (!to_stdout && target_read(&t, &old) < 0)
		goto out;
	if (audit_pipeline(g, &a.au, boot_key, 1, &res) < 0)
		goto out;
	facts = res.facts;
	audit = res.audit;
	if (audit_core_unavailable(audit)) {
		log_error("fix: without the core facts there is nothing to recommend; nothing was done");
		goto out;
	}
	if (json_integer_value(json_object_get(json_object_get(audit, "summary"), "errors"))) {
		log_error("fix: some rules could not be evaluated (netknobs audit shows which); "
			  "nothing was done");
		goto out;
	}
	if (res.where.e && !cmd_where_is_home(res.where.e) && !a.output) {
		/* no drop-in of the host's for a namespace: where each applies */
		ret = fix_show_netns(g, audit, res.where.e);
		json_done = true;
		goto out;
	}
	in = (struct fix_input){ audit, facts, &res.rb, res.where.e };
	if (build(&d, &in, &t, old, &changed) < 0)
		goto out;
	if ((a.write || a.apply) && !to_stdout) {
		/* from here on the file is ours: read it again, an admin may
		 * have edited it while the audit ran */
		if (target_lock(&t) < 0 || refresh(&t, &old, &d, &keep, &in, &changed) < 0)
			goto out;
	}

	if (a.check) {
		if (a.verbose) {
			if (changed)
				diff_unified(stdout, old ? old : "", t.sys, d.content, t.sys);
			print_msgs(stderr, "warning: ", d.warnings);
		}
		ret = changed ? EXIT_NK_WARNING : EXIT_NK_OK;
		goto out;
	}

	if (a.apply) {
		items = apply_plan(&d, &nitems);
		if (!items)
			goto out;
		if (apply_sysctl(items, nitems) < 0) {
			print_apply(stderr, items, nitems);
			log_error("%s; the drop-in was not written", apply_summary(items, nitems) ?: "failed");
			goto out;
		}
		restart = restarts(facts, items, nitems);
	}

	if ((a.write || a.apply) && !to_stdout && write_dropin(&t, &old, &d, &keep, &in, &changed, &backup) < 0) {
		if (a.apply) {
			/* all or nothing: the running values go back too */
			apply_restore(items, nitems);
			print_apply(stderr, items, nitems);
			if (apply_summary(items, nitems))
				log_error("%s", apply_summary(items, nitems));
		}
		goto out;
	}
	if (a.apply)
		fix_note_history(facts, items, nitems);

	if (g->format == FORMAT_JSON) {
		json_t *o = json_pack("{s:b, s:s, s:b, s:b, s:s, s:o, s:O, s:O}", "ok", 1, "target", t.sys, "exists",
				      old != NULL, "changed", changed, "content", d.content, "entries",
				      entries_json(&d), "warnings", d.warnings, "notes", d.notes);

		if (!o)
			goto out;
		if (a.write || a.apply)
			json_object_set_new(o, "written", json_boolean(changed && !to_stdout));
		if (backup)
			json_object_set_new(o, "backup", json_sprintf("%s.bak", t.sys));
		if (a.apply) {
			json_object_set_new(o, "applied", apply_json(items, nitems));
			json_object_set(o, "restart", restart);
		}
		r = print_json(o);
		json_decref(o);
		json_done = true;
		ret = r < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
		goto out;
	}

	if (to_stdout) {
		fputs(d.content, stdout);
		print_msgs(stderr, "warning: ", d.warnings);
		if (a.verbose)
			print_msgs(stderr, "note: ", d.notes);
		if (a.apply) {
			print_apply(stderr, items, nitems);
			print_restarts(stderr, restart);
		}
		ret = EXIT_NK_OK;
		goto out;
	}

	if (a.write || a.apply) {
		if (a.apply)
			print_apply(out, items, nitems);
		if (!old && !d.len)
			fprintf(out, "nothing to write: no recommendation is missing from the sysctl.d "
				"configuration (%s not created)\n", t.display);
		else if (!changed)
			fprintf(out, "%s is up to date\n", t.display);
		else
			fprintf(out, "wrote %s%s%s%s\n", t.display, backup ? " (the previous version is in " : "",
				backup ? t.display : "", backup ? ".bak)" : "");
		print_msgs(stderr, "warning: ", d.warnings);
		if (a.verbose)
			print_msgs(stderr, "note: ", d.notes);
		if (a.apply)
			print_restarts(out, restart);
		ret = EXIT_NK_OK;
		goto out;
	}

	/* show what would be written */
	if (!d.len) {
		fputs("Nothing to persist: every recommendation is met by the running values and the "
		      "sysctl.d files.\n", out);
	} else if (!changed) {
		fprintf(out, "%s is up to date:\n\n", t.display);
		print_text_safe(out, d.content);
	} else {
		fprintf(out, "%s (netknobs fix --write writes it; --apply also sets the values now):\n\n",
			t.display);
		print_text_safe(out, d.content);
		if (old) {
			fputc('\n', out);
			diff_unified(out, old, t.sys, d.content, t.sys);
		}
	}
	if (json_array_size(d.warnings)) {
		fputc('\n', out);
		print_msgs(out, "warning: ", d.warnings);
	}
	if (json_array_size(d.notes)) {
		fputc('\n', out);
		print_msgs(out, "note: ", d.notes);
	}
	ret = EXIT_NK_OK;
out:
	fflush(stdout);
out_args:
	/* --format json: a JSON result on every exit path, failures included */
	if (ret == EXIT_NK_ERROR && g->format == FORMAT_JSON && !json_done)
		print_failure_json(&t, items, nitems);
	if (items)
		apply_items_free(items, nitems);
	json_decref(restart);
	dropin_free(&d);
	while (keep.n)
		dropin_free(&keep.d[--keep.n]);
	audit_result_free(&res);
	free(old);
	target_close(&t);
	audit_args_free(&a.au);
	return ret;
}

const struct cmd cmd_fix = {
	.name = "fix",
	.summary = "persist the recommendations in a sysctl.d drop-in, check it, apply it",
	.usage =
		"Usage: netknobs fix [--write | --check | --apply] [OPTIONS]\n"
		"\n"
		"Audit, then turn every recommendation into a sysctl.d drop-in (default\n"
		DEFAULT_TARGET "), one line per key with a comment naming the\n"
		"rules that asked and why.  Without --write, --check or --apply, print the\n"
		"drop-in and a diff against the file already there.  Settings of the existing\n"
		"file that no rule asks about now are kept; at-least (at-most) advice never\n"
		"lowers (raises) a value already in use, in an earlier file or in the drop-in.\n"
		"A file applied after the drop-in that sets the same key wins at boot: it is\n"
		"named, with the value that will really apply.\n"
		"\n"
		"Options:\n"
		"  --write                write the drop-in: a temporary file, fsync, rename;\n"
		"                         mode 0644 (a file replaced keeps its mode and\n"
		"                         owner); the previous version kept as FILE.bak;\n"
		"                         under a lock, built again when the file changed\n"
		"                         while the audit ran (an edit is never lost)\n"
		"  --check                print nothing; exit 0 when the drop-in is up to date,\n"
		"                         1 when --write would change it, 3 on error (with -v:\n"
		"                         the diff and the warnings)\n"
		"  --apply                also set the values now through /proc/sys, read each\n"
		"                         back, and restore every value already set when one\n"
		"                         fails (then nothing is written); name the listeners\n"
		"                         capped by the net.core.somaxconn this run raised:\n"
		"                         they must listen() again to use it; a change of\n"
		"                         somaxconn is recorded in the state directory\n"
		"                         (" DEFAULT_STATE_DIR ", NETKNOBS_STATE_DIR) for later\n"
		"                         audits (backlog.stale-clamp)\n"
		"  --output FILE|-        the drop-in's path instead of " DEFAULT_TARGET "\n"
		"                         (with --root, a path below DIR, without '..'); -\n"
		"                         prints it on standard output\n"
		"  --from FILE            work from a saved facts document (not with --apply)\n"
		SAMPLE_OPTIONS_HELP
		RULE_OPTIONS_HELP
		"  --profile NAME         the rule sets and variables of a profile\n"
		"  --only TAG, --rule ID  only the recommendations of these rules; repeatable\n"
		"  -v, --verbose          also print the recommendations left out, and why\n"
		"  --json, --format json  the drop-in, its settings, warnings and what was done\n"
		"\n"
		"With --root DIR the drop-in goes to DIR" DEFAULT_TARGET ".\n"
		"Exit status: 0 done (or, with --check, up to date), 1 --check: it would change,\n"
		"3 could not: bad rules or options, unreadable file, a value the kernel refused.\n",
	.run = fix_run,
};
