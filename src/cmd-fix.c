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
#include "cmd-fix.h"
#include "fix/apply.h"
#include "fix/dropin.h"
#include "fix/target.h"
#include "fix/undo.h"
#include "report/history.h"
#include "report/state.h"
#include "rules/rules.h"
#include "util/atomic.h"
#include "util/diff.h"
#include "util/escape.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/wrap.h"

#define DEFAULT_TARGET FIX_DEFAULT_TARGET
/* times the drop-in is built again when the file keeps changing */
#define FIX_ATTEMPTS 5

enum { OPT_WRITE = OPT_AUDIT_END, OPT_CHECK, OPT_APPLY, OPT_OUTPUT, OPT_UNDO };

struct fix_args {
	struct audit_args au;   /* the audit's options: rules, profile, --from, --sample ... */
	const char *output;
	bool write, check, apply, undo, verbose;
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
	case OPT_UNDO:
		a->undo = true;
		return 0;
	case 'v':
		/* the notes of the drop-in, not the audit's passed items */
		a->verbose = true;
		return 0;
	}
	r = audit_args_option(&a->au, c, arg);
	return r > 0 ? 0 : -1;
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

json_t *fix_apply_json(const struct apply_item *items, size_t n)
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
const char *fix_apply_summary(const struct apply_item *items, size_t n)
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
void fix_print_apply(FILE *out, const struct apply_item *items, size_t n)
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
static void print_failure_json(const struct fix_target *t, const struct apply_item *items, size_t n)
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
		json_object_set_new(o, "applied", fix_apply_json(items, n));
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
void fix_note_history(const json_t *facts, const struct apply_item *items, size_t n)
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
static int build(struct dropin *d, const struct fix_input *in, const struct fix_target *t, const char *old,
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
static int refresh(const struct fix_target *t, char **old, struct dropin *d, struct retired *keep,
		   const struct fix_input *in, bool *changed)
{
	char *now;

	if (fix_target_read(t, &now) < 0)
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
static int write_dropin(const struct fix_target *t, char **old, struct dropin *d, struct retired *keep,
			const struct fix_input *in, bool *changed, bool *backup)
{
	for (int i = 0; i < FIX_ATTEMPTS; i++) {
		int r;

		if (!*changed)
			return 0;
		r = fix_target_write(t, d, *old, backup);
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

/* One run's state, across its steps. */
struct fix_run {
	struct globals *g;
	struct fix_args a;
	struct audit_result res;
	struct dropin d;
	struct retired keep;
	struct fix_input in;
	struct apply_item *items;
	size_t nitems;
	json_t *restart;
	struct fix_target t;
	char *old;              /* the file's text before (NULL: none) */
	bool to_stdout, changed, backup, json_done;
};

/* Options that do not go together.  0 or -1 (logged). */
static int fix_check_args(const struct fix_run *f)
{
	const struct fix_args *a = &f->a;
	const struct globals *g = f->g;

	if (a->undo && (a->write || a->apply || a->check)) {
		log_error("fix: --undo puts back what the last --apply replaced; it cannot be combined with "
			  "--write, --check or --apply");
		return -1;
	}
	if (a->check && (a->write || a->apply)) {
		log_error("fix: --check only looks; it cannot be combined with --write or --apply");
		return -1;
	}
	if (f->to_stdout && (a->check || a->undo)) {
		log_error("fix: --%s works on a file; --output - has none", a->check ? "check" : "undo");
		return -1;
	}
	if ((a->apply || a->undo) && (a->au.from || g->root)) {
		log_error("fix: --%s sets the values of the running kernel; it cannot be used with %s",
			  a->undo ? "undo" : "apply", a->au.from ? "--from" : "--root");
		return -1;
	}
	if (g->netns && (a->write || a->apply || a->check) && !a->output) {
		char *ns = escape_untrusted_str(g->netns);

		log_error("fix: boot applies %s to the host's initial network namespace, not to %s, so "
			  "there is nothing to %s; `netknobs --netns %s fix` says for each setting the "
			  "command that sets it there now and what keeps it; give --output FILE for the "
			  "file that sets the namespace up (or --output -)", DEFAULT_TARGET, ns ? ns : "?",
			  a->check ? "check" : "write", ns ? ns : "?");
		free(ns);
		return -1;
	}
	return 0;
}

/* Audit, and build the drop-in from the file there (read again under the
 * lock when it is to be written).  0, 1 when done (fix --netns without
 * --output: *ret is the exit status), or -1 (logged). */
static int fix_prepare(struct fix_run *f, int *ret)
{
	static const char *const boot_key[] = { STATE_BOOT_ID_KEY };  /* for the history */
	const json_t *audit;

	if (fix_target_open(&f->t, f->g, f->a.output && !f->to_stdout ? f->a.output : NULL) < 0)
		return -1;
	if (!f->to_stdout && fix_target_read(&f->t, &f->old) < 0)
		return -1;
	if (audit_pipeline(f->g, &f->a.au, boot_key, 1, &f->res) < 0)
		return -1;
	audit = f->res.audit;
	if (audit_core_unavailable(audit)) {
		log_error("fix: without the core facts there is nothing to recommend; nothing was done");
		return -1;
	}
	if (json_integer_value(json_object_get(json_object_get(audit, "summary"), "errors"))) {
		log_error("fix: some rules could not be evaluated (netknobs audit shows which); "
			  "nothing was done");
		return -1;
	}
	if (f->res.where.e && !cmd_where_is_home(f->res.where.e) && !f->a.output) {
		/* no drop-in of the host's for a namespace: where each applies */
		*ret = fix_show_netns(f->g, audit, f->res.where.e);
		f->json_done = true;
		return 1;
	}
	f->in = (struct fix_input){ audit, f->res.facts, &f->res.rb, f->res.where.e };
	if (build(&f->d, &f->in, &f->t, f->old, &f->changed) < 0)
		return -1;
	/* from here on the file is ours: read it again, an admin may have
	 * edited it while the audit ran */
	if ((f->a.write || f->a.apply) && !f->to_stdout &&
	    (fix_target_lock(&f->t) < 0 || refresh(&f->t, &f->old, &f->d, &f->keep, &f->in, &f->changed) < 0))
		return -1;
	return 0;
}

/* Record what --apply replaced, for --undo (fix/undo.h).  A failure is a
 * warning: the values are set. */
static void fix_note_undo(const struct fix_run *f)
{
	struct state_dir sd = { NULL, -1, -1 };
	const char *dir = cmd_state_dir();
	bool wrote = f->changed && !f->to_stdout, oom;
	json_t *rec = fix_undo_record(f->res.facts, f->t.sys, f->old, wrote ? f->d.content : NULL, f->items,
				      f->nitems, &oom);

	if (!rec && !oom)
		return;        /* nothing changed: the last record stays */
	if (!rec || state_open(&sd, dir, 10) < 0 || fix_undo_save(&sd, rec) < 0)
		log_warn("what --apply replaced is not recorded in %s: fix --undo cannot put it back", dir);
	state_close(&sd);
	json_decref(rec);
}

/* --apply: set the values now (all or nothing); --write, --apply: write
 * the drop-in, and with --apply put the values back when that fails.
 * 0 or -1 (logged). */
static int fix_apply_write(struct fix_run *f)
{
	if (f->a.apply) {
		if (!(f->items = apply_plan(&f->d, &f->nitems)))
			return -1;
		if (apply_sysctl(f->items, f->nitems) < 0) {
			fix_print_apply(stderr, f->items, f->nitems);
			log_error("%s; the drop-in was not written", fix_apply_summary(f->items, f->nitems) ?: "failed");
			return -1;
		}
		f->restart = restarts(f->res.facts, f->items, f->nitems);
	}
	if ((f->a.write || f->a.apply) && !f->to_stdout &&
	    write_dropin(&f->t, &f->old, &f->d, &f->keep, &f->in, &f->changed, &f->backup) < 0) {
		if (f->a.apply) {
			/* all or nothing: the running values go back too */
			apply_restore(f->items, f->nitems);
			fix_print_apply(stderr, f->items, f->nitems);
			if (fix_apply_summary(f->items, f->nitems))
				log_error("%s", fix_apply_summary(f->items, f->nitems));
		}
		return -1;
	}
	if (f->a.apply) {
		fix_note_history(f->res.facts, f->items, f->nitems);
		fix_note_undo(f);
	}
	return 0;
}

static int fix_print_json(struct fix_run *f)
{
	const struct dropin *d = &f->d;
	json_t *o = json_pack("{s:b, s:s, s:b, s:b, s:s, s:o, s:O, s:O}", "ok", 1, "target", f->t.sys, "exists",
			      f->old != NULL, "changed", f->changed, "content", d->content, "entries",
			      entries_json(d), "warnings", d->warnings, "notes", d->notes);
	int r;

	if (!o)
		return EXIT_NK_ERROR;
	if (f->a.write || f->a.apply)
		json_object_set_new(o, "written", json_boolean(f->changed && !f->to_stdout));
	if (f->backup)
		json_object_set_new(o, "backup", json_sprintf("%s.bak", f->t.sys));
	if (f->a.apply) {
		json_object_set_new(o, "applied", fix_apply_json(f->items, f->nitems));
		json_object_set(o, "restart", f->restart);
	}
	r = print_json(o);
	json_decref(o);
	f->json_done = true;
	return r < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
}

/* The text of --write and --apply, and of --output -. */
static void fix_print_done(const struct fix_run *f, FILE *out)
{
	const struct dropin *d = &f->d;

	if (f->to_stdout) {
		fputs(d->content, stdout);
		print_msgs(stderr, "warning: ", d->warnings);
		if (f->a.verbose)
			print_msgs(stderr, "note: ", d->notes);
		if (f->a.apply) {
			fix_print_apply(stderr, f->items, f->nitems);
			print_restarts(stderr, f->restart);
		}
		return;
	}
	if (f->a.apply)
		fix_print_apply(out, f->items, f->nitems);
	if (!f->old && !d->len)
		fprintf(out, "nothing to write: no recommendation is missing from the sysctl.d "
			"configuration (%s not created)\n", f->t.display);
	else if (!f->changed)
		fprintf(out, "%s is up to date\n", f->t.display);
	else
		fprintf(out, "wrote %s%s%s%s\n", f->t.display, f->backup ? " (the previous version is in " : "",
			f->backup ? f->t.display : "", f->backup ? ".bak)" : "");
	print_msgs(stderr, "warning: ", d->warnings);
	if (f->a.verbose)
		print_msgs(stderr, "note: ", d->notes);
	if (f->a.apply) {
		print_restarts(out, f->restart);
		bool set = f->changed;

		for (size_t i = 0; i < f->nitems; i++)
			set |= f->items[i].status == APPLY_SET;
		if (set)
			fputs("`netknobs fix --undo` puts back what this replaced.\n", out);
	}
}

/* Without --write, --check or --apply: what would be written. */
static void fix_print_show(const struct fix_run *f, FILE *out)
{
	const struct dropin *d = &f->d;

	if (!d->len) {
		fputs("Nothing to persist: every recommendation is met by the running values and the "
		      "sysctl.d files.\n", out);
	} else if (!f->changed) {
		fprintf(out, "%s is up to date:\n\n", f->t.display);
		print_text_safe(out, d->content);
	} else {
		fprintf(out, "%s (netknobs fix --write writes it; --apply also sets the values now):\n\n",
			f->t.display);
		print_text_safe(out, d->content);
		if (f->old) {
			fputc('\n', out);
			diff_unified(out, f->old, f->t.sys, d->content, f->t.sys);
		}
	}
	if (json_array_size(d->warnings)) {
		fputc('\n', out);
		print_msgs(out, "warning: ", d->warnings);
	}
	if (json_array_size(d->notes)) {
		fputc('\n', out);
		print_msgs(out, "note: ", d->notes);
	}
}

static void fix_free(struct fix_run *f)
{
	if (f->items)
		apply_items_free(f->items, f->nitems);
	json_decref(f->restart);
	dropin_free(&f->d);
	while (f->keep.n)
		dropin_free(&f->keep.d[--f->keep.n]);
	audit_result_free(&f->res);
	free(f->old);
	fix_target_close(&f->t);
	audit_args_free(&f->a.au);
}

static int fix_run(struct globals *g, int argc, char **argv)
{
	static const struct option own[] = {
		{ "write", no_argument, NULL, OPT_WRITE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "apply", no_argument, NULL, OPT_APPLY },
		{ "undo", no_argument, NULL, OPT_UNDO },
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
	struct fix_run f = { .g = g, .a.au.fail_on = SEV_WARNING, .t.dirfd = -1 };
	int r, ret = EXIT_NK_ERROR;

	r = cmd_parse(&cmd_fix, g, argc, argv, "v", own, fix_opt, &f.a);
	if (r < 0) {
		audit_args_free(&f.a.au);
		return r == -2 ? EXIT_NK_OK : EXIT_NK_ERROR;
	}
	f.to_stdout = f.a.output && !strcmp(f.a.output, "-");
	if (r < argc) {
		log_error("fix: unexpected argument '%s'", argv[r]);
		goto out_args;
	}
	if (fix_check_args(&f) < 0)
		goto out_args;
	if (f.a.undo) {
		ret = fix_undo(g, f.a.output, &f.json_done);
		goto out_args;
	}
	r = fix_prepare(&f, &ret);
	if (r != 0)
		goto out;
	if (f.a.check) {
		if (f.a.verbose) {
			if (f.changed)
				diff_unified(stdout, f.old ? f.old : "", f.t.sys, f.d.content, f.t.sys);
			print_msgs(stderr, "warning: ", f.d.warnings);
		}
		ret = f.changed ? EXIT_NK_WARNING : EXIT_NK_OK;
		goto out;
	}
	if (fix_apply_write(&f) < 0)
		goto out;
	if (g->format == FORMAT_JSON)
		ret = fix_print_json(&f);
	else if (f.a.write || f.a.apply || f.to_stdout)
		fix_print_done(&f, stdout);
	else
		fix_print_show(&f, stdout);
	if (g->format != FORMAT_JSON)
		ret = EXIT_NK_OK;
out:
	fflush(stdout);
out_args:
	/* --format json: a JSON result on every exit path, failures included */
	if (ret == EXIT_NK_ERROR && g->format == FORMAT_JSON && !f.json_done)
		print_failure_json(&f.t, f.items, f.nitems);
	fix_free(&f);
	return ret;
}

const struct cmd cmd_fix = {
	.name = "fix",
	.summary = "persist the recommendations in a sysctl.d drop-in, check it, apply it",
	.usage =
		"Usage: netknobs fix [--write | --check | --apply | --undo] [OPTIONS]\n"
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
		"                         audits (backlog.stale-clamp), and what it replaced\n"
		"                         (the values before, the drop-in before) for --undo\n"
		"  --undo                 put back what the last --apply replaced: the values\n"
		"                         (read back; all set again when one fails) and the\n"
		"                         drop-in as it was (removed when there was none);\n"
		"                         refused when there is nothing to undo, or when a\n"
		"                         value or the drop-in changed since that --apply\n"
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
