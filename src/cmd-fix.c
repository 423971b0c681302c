/* netknobs fix: persist the audit's recommendations in a sysctl.d drop-in,
 * check whether it is up to date, and apply it now. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fix/apply.h"
#include "fix/dropin.h"
#include "rules/rules.h"
#include "util/atomic.h"
#include "util/diff.h"
#include "util/escape.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/wrap.h"

#define DEFAULT_TARGET "/etc/sysctl.d/90-netknobs.conf"
#define DROPIN_MAX (1 << 20)

enum { OPT_FROM = OPT_CMD_BASE, OPT_WRITE, OPT_CHECK, OPT_APPLY, OPT_OUTPUT, OPT_PROFILE };

struct fix_args {
	const char *from, *profile, *output;
	struct rule_opts ro;
	bool write, check, apply, verbose;
};

static int fix_opt(int c, const char *arg, void *data)
{
	struct fix_args *a = data;
	int r = rule_opts_option(&a->ro, c, arg);

	if (r)
		return r < 0 ? -1 : 0;
	switch (c) {
	case OPT_FROM:
		a->from = arg;
		return 0;
	case OPT_PROFILE:
		a->profile = arg;
		return 0;
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
		a->verbose = true;
		return 0;
	}
	return -1;
}

struct keys {
	const char **v;
	size_t n;
};

static int collect_key(const char *key, void *data)
{
	struct keys *k = data;
	const char **n;

	if (!key)
		return 0;
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->v[i], key))
			return 0;
	n = realloc(k->v, (k->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	k->v = n;
	k->v[k->n++] = key;
	return 0;
}

/* The file at path: its text, NULL when there is none.  -errno when it
 * exists but cannot be read. */
static int read_existing(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	size_t len;

	*out = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = read_fd_all(fd, DROPIN_MAX, out, &len);
	close(fd);
	if (r == 0 && memchr(*out, '\0', len)) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return r;
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

/* After somaxconn was raised: listeners keep the limit they got at listen()
 * until the application listens again. */
static json_t *restarts(const json_t *facts, const struct apply_item *items, size_t n)
{
	const json_t *listeners = json_object_get(json_object_get(facts, "sockets"), "listeners"), *l;
	json_t *out = json_array();
	long long newv = -1, oldv = -1;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++)
		if (!strcmp(items[i].key, "net.core.somaxconn") && items[i].status == APPLY_SET) {
			if (parse_int64(items[i].text, &newv) < 0 || parse_int64(items[i].old, &oldv) < 0)
				newv = -1;
		}
	if (newv < 0)
		return out;
	json_array_foreach(listeners, i, l) {
		const json_t *lim = json_object_get(l, "limit");
		json_t *o;

		if (!json_is_integer(lim) || json_integer_value(lim) >= newv)
			continue;
		o = json_pack("{s:O?, s:O?, s:O, s:O?, s:b}", "address", json_object_get(l, "address"),
			      "port", json_object_get(l, "port"), "limit", lim, "processes",
			      json_object_get(l, "processes"), "capped",
			      json_integer_value(lim) == oldv);
		if (!o || json_array_append_new(out, o) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static void print_restarts(FILE *out, const json_t *r, const json_t *facts)
{
	const json_t *l, *p;
	size_t i, j;

	(void)facts;
	if (!json_array_size(r))
		return;
	fputs("\nRestart (or make listen() again) to use the new net.core.somaxconn:\n", out);
	json_array_foreach(r, i, l) {
		const char *addr = str_of(l, "address");

		fputs("  ", out);
		if (strchr(addr, ':'))
			fputc('[', out);
		fputs_safe(addr, out);
		if (strchr(addr, ':'))
			fputc(']', out);
		fprintf(out, ":%lld  limit %lld", (long long)json_integer_value(json_object_get(l, "port")),
			(long long)json_integer_value(json_object_get(l, "limit")));
		json_array_foreach(json_object_get(l, "processes"), j, p) {
			fputs(j ? ", " : "  ", out);
			fputs_safe(str_of(p, "comm"), out);
			fprintf(out, " (pid %lld)", (long long)json_integer_value(json_object_get(p, "pid")));
		}
		if (!json_is_true(json_object_get(l, "capped")))
			fputs("  [asked for this backlog itself: it needs a larger listen() backlog too]", out);
		fputc('\n', out);
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
		if (d->e[i].overridden_by)
			continue;
		items[*n].key = d->e[i].key;
		items[(*n)++].text = d->e[i].text;
	}
	return items;
}

static void print_apply(FILE *out, const struct apply_item *items, size_t n, int r)
{
	for (size_t i = 0; i < n; i++) {
		const struct apply_item *it = &items[i];

		switch (it->status) {
		case APPLY_SET:
			fprintf(out, "set %s = %s (was %s)\n", it->key, it->text, it->old ? it->old : "?");
			break;
		case APPLY_UNCHANGED:
			break;
		case APPLY_ROLLED_BACK:
			fprintf(out, "rolled back %s to %s\n", it->key, it->old ? it->old : "?");
			break;
		case APPLY_FAILED:
			log_error("%s = %s: %s", it->key, it->text, it->error ? it->error : "failed");
			break;
		case APPLY_ROLLBACK_FAILED:
			log_error("%s: could not restore %s: %s", it->key, it->old ? it->old : "?",
				  it->error ? it->error : "failed");
			break;
		case APPLY_PENDING:
			break;
		}
	}
	if (r < 0)
		log_error("nothing was changed: every value set before the failure was restored%s",
			  "; the drop-in was not written");
}

/* Put back what apply_sysctl() set, when the drop-in cannot be written. */
static int restore(const struct apply_item *items, size_t n)
{
	struct apply_item *back = calloc(n + 1, sizeof(*back));
	size_t k = 0;
	int r;

	if (!back)
		return -1;
	for (size_t i = n; i-- > 0;)
		if (items[i].status == APPLY_SET) {
			back[k].key = items[i].key;
			back[k++].text = items[i].old;
		}
	r = apply_sysctl(back, k);
	if (r < 0)
		print_apply(stderr, back, k, 0);
	apply_items_free(back, k);
	return r;
}

static int write_dropin(const char *path, const struct dropin *d, const char *old, bool *backup)
{
	char *bak = NULL;
	int r;

	*backup = false;
	if (old) {
		if (asprintf(&bak, "%s.bak", path) < 0)
			return -ENOMEM;
		r = atomic_write_file(bak, old, strlen(old), 0644);
		free(bak);
		if (r < 0)
			return r;
		*backup = true;
	}
	return atomic_write_file(path, d->content, d->len, 0644);
}

static int fix_run(struct globals *g, int argc, char **argv)
{
	static const struct option own[] = {
		{ "write", no_argument, NULL, OPT_WRITE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "apply", no_argument, NULL, OPT_APPLY },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		RULE_LONG_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct fix_args a = { 0 };
	struct rulebook rb;
	struct keys keys = { 0 };
	struct dropin d = { 0 };
	struct apply_item *items = NULL;
	size_t nitems = 0;
	json_t *facts = NULL, *audit = NULL, *restart = NULL;
	char *path = NULL, *old = NULL;
	const char *target;
	bool to_stdout, changed, backup = false, loaded = false;
	int r, ret = EXIT_NK_ERROR, applied = 0;
	FILE *out = stdout;

	r = cmd_parse(&cmd_fix, g, argc, argv, "v", own, fix_opt, &a);
	if (r < 0) {
		rule_opts_free(&a.ro);
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
	if (a.apply && (a.from || g->root)) {
		log_error("fix: --apply sets the values of the running kernel; it cannot be used with %s",
			  a.from ? "--from" : "--root");
		goto out_args;
	}
	if (g->netns && (a.write || a.apply) && !a.output) {
		log_error("fix: boot applies %s to the host's initial network namespace, not to %s; "
			  "give --output FILE for the file that sets the namespace up (or --output -)",
			  DEFAULT_TARGET, g->netns);
		goto out_args;
	}

	/* where the drop-in goes: on the target system, and on this one */
	target = a.output && !to_stdout ? a.output : DEFAULT_TARGET;
	if (a.output && !to_stdout) {
		size_t rl = g->root ? strlen(g->root) : 0;

		while (rl > 1 && g->root[rl - 1] == '/')
			rl--;
		path = strdup(a.output);
		if (g->root && rl > 1 && !strncmp(a.output, g->root, rl) && a.output[rl] == '/')
			target = a.output + rl;
	} else if (asprintf(&path, "%s%s", g->root && strcmp(g->root, "/") ? g->root : "",
			    DEFAULT_TARGET) < 0) {
		path = NULL;
	}
	if (!path)
		goto out_args;

	loaded = true;
	if (cmd_load_rules(g, &a.ro, &rb) < 0)
		goto out;
	if (a.profile && rulebook_use_profile(&rb, a.profile) < 0)
		goto out;
	if (rulebook_sysctl_keys(&rb, collect_key, &keys) < 0)
		goto out;
	if (!to_stdout) {
		r = read_existing(path, &old);
		if (r < 0) {
			log_error("%s: cannot read: %s", path, r == -EINVAL ? "not a text file" : strerror(-r));
			goto out;
		}
	}
	facts = cmd_get_facts(g, a.from, keys.v, keys.n, FACTS_SOCKETS);
	if (!facts)
		goto out;
	audit = rules_evaluate(&rb, facts, &(struct eval_filter){ 0 });
	if (!audit) {
		log_error("out of memory");
		goto out;
	}
	if (json_integer_value(json_object_get(json_object_get(audit, "summary"), "errors"))) {
		log_error("fix: some rules could not be evaluated (netknobs audit shows which); "
			  "nothing was done");
		goto out;
	}
	if (dropin_build(&d, audit, facts, &rb, target, old) < 0) {
		log_error("out of memory");
		goto out;
	}
	if (json_is_false(json_object_get(json_object_get(json_object_get(facts, "host"), "netns"), "initial")) &&
	    json_array_append_new(d.warnings, json_string(
		    "this is not the host's initial network namespace: boot does not apply sysctl.d files to "
		    "it; its values are set by whatever creates it (a container runtime: docker run --sysctl, "
		    "Kubernetes securityContext.sysctls)")) < 0)
		goto out;
	if (old && !d.len) {
		/* a file holding nothing but our header stays as it is */
		free(d.content);
		d.content = strdup(old);
		d.len = strlen(old);
		if (!d.content)
			goto out;
	}
	changed = old ? strcmp(old, d.content) != 0 : d.len > 0;

	if (a.check) {
		if (a.verbose) {
			if (changed)
				diff_unified(stdout, old ? old : "", target, d.content, target);
			print_msgs(stderr, "warning: ", d.warnings);
		}
		ret = changed ? EXIT_NK_WARNING : EXIT_NK_OK;
		goto out;
	}

	if (a.apply) {
		items = apply_plan(&d, &nitems);
		if (!items)
			goto out;
		applied = apply_sysctl(items, nitems);
		if (applied < 0) {
			print_apply(stderr, items, nitems, applied);
			goto out;
		}
		restart = restarts(facts, items, nitems);
	}

	if ((a.write || a.apply) && !to_stdout && changed) {
		r = write_dropin(path, &d, old, &backup);
		if (r < 0) {
			if (a.apply && restore(items, nitems) == 0)
				log_error("the values set now were restored");
			goto out;
		}
	}

	if (g->format == FORMAT_JSON) {
		json_t *o = json_pack("{s:s, s:b, s:b, s:s, s:o, s:O, s:O}", "target", target, "exists",
				      old != NULL, "changed", changed, "content", d.content, "entries",
				      entries_json(&d), "warnings", d.warnings, "notes", d.notes);

		if (!o)
			goto out;
		if (a.write || a.apply)
			json_object_set_new(o, "written", json_boolean(changed && !to_stdout));
		if (backup)
			json_object_set_new(o, "backup", json_sprintf("%s.bak", target));
		if (a.apply) {
			json_object_set_new(o, "applied", apply_json(items, nitems));
			json_object_set(o, "restart", restart);
		}
		r = print_json(o);
		json_decref(o);
		ret = r < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
		goto out;
	}

	if (to_stdout) {
		fputs(d.content, stdout);
		print_msgs(stderr, "warning: ", d.warnings);
		if (a.verbose)
			print_msgs(stderr, "note: ", d.notes);
		if (a.apply) {
			print_apply(stderr, items, nitems, 0);
			print_restarts(stderr, restart, facts);
		}
		ret = EXIT_NK_OK;
		goto out;
	}

	if (a.write || a.apply) {
		if (a.apply)
			print_apply(out, items, nitems, 0);
		if (!changed)
			fprintf(out, "%s is up to date\n", path);
		else
			fprintf(out, "wrote %s%s%s%s\n", path, backup ? " (the previous version is in " : "",
				backup ? path : "", backup ? ".bak)" : "");
		print_msgs(stderr, "warning: ", d.warnings);
		if (a.verbose)
			print_msgs(stderr, "note: ", d.notes);
		if (a.apply)
			print_restarts(out, restart, facts);
		ret = EXIT_NK_OK;
		goto out;
	}

	/* show what would be written */
	if (!d.len) {
		fputs("Nothing to persist: every recommendation is met by the running values and the "
		      "sysctl.d files.\n", out);
	} else if (!changed) {
		fprintf(out, "%s is up to date:\n\n", path);
		fputs(d.content, out);
	} else {
		fprintf(out, "%s (netknobs fix --write writes it; --apply also sets the values now):\n\n", path);
		fputs(d.content, out);
		if (old) {
			fputc('\n', out);
			diff_unified(out, old, target, d.content, target);
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
	if (items)
		apply_items_free(items, nitems);
	json_decref(restart);
	dropin_free(&d);
	json_decref(audit);
	json_decref(facts);
	if (loaded)
		rulebook_free(&rb);
	free(keys.v);
	free(old);
out_args:
	free(path);
	rule_opts_free(&a.ro);
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
		"                         mode 0644; the previous version kept as FILE.bak\n"
		"  --check                print nothing; exit 0 when the drop-in is up to date,\n"
		"                         1 when --write would change it, 3 on error (with -v:\n"
		"                         the diff and the warnings)\n"
		"  --apply                also set the values now through /proc/sys, read each\n"
		"                         back, and restore every value already set when one\n"
		"                         fails (then nothing is written); name the listeners\n"
		"                         that must listen() again for a new net.core.somaxconn\n"
		"  --output FILE|-        the drop-in's path instead of " DEFAULT_TARGET ";\n"
		"                         - prints it on standard output\n"
		"  --from FILE            work from a saved facts document (not with --apply)\n"
		RULE_OPTIONS_HELP
		"  --profile NAME         the rule sets and variables of a profile\n"
		"  -v, --verbose          also print the recommendations left out, and why\n"
		"  --json, --format json  the drop-in, its settings, warnings and what was done\n"
		"\n"
		"With --root DIR the drop-in goes to DIR" DEFAULT_TARGET ".\n"
		"Exit status: 0 done (or, with --check, up to date), 1 --check: it would change,\n"
		"3 could not: bad rules or options, unreadable file, a value the kernel refused.\n",
	.run = fix_run,
};
