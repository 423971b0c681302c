/* netknobs fix: persist the audit's recommendations in a sysctl.d drop-in,
 * check whether it is up to date, and apply it now. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmd-audit.h"
#include "cmd-fix.h"
#include "fix/apply.h"
#include "fix/build.h"
#include "fix/doc.h"
#include "fix/target.h"
#include "fix/undo.h"
#include "render/render.h"
#include "report/history.h"
#include "report/state.h"
#include "rules/rules.h"
#include "util/escape.h"
#include "util/fileio.h"
#include "util/log.h"

#define DEFAULT_TARGET FIX_DEFAULT_TARGET

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

/* What --apply did, each line from what was read back; the values that
 * failed as errors (report_fix_applied_text()). */
void fix_print_apply(FILE *out, const struct apply_item *items, size_t n)
{
	json_t *a = fix_apply_json(items, n);

	if (!a) {
		log_error("out of memory");
		return;
	}
	report_fix_applied_text(out, a);
	json_decref(a);
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

/* One run's state, across its steps. */
struct fix_run {
	struct globals *g;
	struct fix_args a;
	struct audit_result res;
	struct fix_target t;
	struct fix_input in;
	struct fix_build b;     /* the drop-in for t, from in */
	struct apply_item *items;
	size_t nitems;
	json_t *restart;
	bool to_stdout, json_done;
	bool undo_recorded;     /* --apply: fix --undo can put back what it replaced */
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

/* What fix's renderers take: its document, and for the text the options. */
struct fix_out {
	const json_t *doc;
	struct fix_text_opts o;
};

/* The text: on out, and what goes with it on standard error (warnings,
 * notes; all of it but the drop-in with --output -). */
static int fix_text(const void *ctx, FILE *out)
{
	const struct fix_out *f = ctx;

	report_fix_text(out, stderr, f->doc, &f->o);
	return 0;
}

/* -EILSEQ when the document holds text that is not UTF-8 (a file's). */
static int fix_json(const void *ctx, FILE *out)
{
	const struct fix_out *f = ctx;
	char *s = json_dumps(f->doc, JSON_COMPACT);

	if (!s)
		return -EILSEQ;
	free(s);
	return print_json_file(f->doc, out);
}

static const struct cmd_renderers fix_renderers = { {
	[FORMAT_TEXT] = fix_text, [FORMAT_JSON] = fix_json,
} };

/* fix --netns NS without --output: no drop-in of the host's for a
 * namespace; where each setting applies instead.  The exit status. */
static int fix_netns(struct fix_run *f, const struct netns_entry *e)
{
	json_t *doc = fix_doc_netns(f->res.audit, e);
	int r;

	f->json_done = true;
	if (!doc) {
		log_error("out of memory");
		return EXIT_NK_ERROR;
	}
	r = cmd_render(&fix_renderers, f->g->format, &(struct fix_out){ doc, { 0 } }, stdout);
	json_decref(doc);
	return r < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
}

/* Audit, and build the drop-in from the file there (read again under the
 * lock when it is to be written).  0, 1 when done (fix --netns without
 * --output: *ret is the exit status), or -1 (logged). */
static int fix_prepare(struct fix_run *f, int *ret)
{
	static const char *const boot_key[] = { STATE_BOOT_ID_KEY };  /* for the history */
	const struct netns_entry *where;
	const json_t *audit;

	if (fix_target_open(&f->t, f->g, f->a.output && !f->to_stdout ? f->a.output : NULL) < 0)
		return -1;
	if (!f->to_stdout && fix_target_read(&f->t, &f->b.old) < 0)
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
	where = f->res.where.e && !cmd_where_is_home(f->res.where.e) ? f->res.where.e : NULL;
	if (where && !f->a.output) {
		*ret = fix_netns(f, where);
		return 1;
	}
	f->in = (struct fix_input){ audit, f->res.facts, &f->res.rb, where };
	f->b.t = &f->t;
	f->b.in = &f->in;
	if (fix_build_make(&f->b) < 0)
		return -1;
	/* from here on the file is ours: read it again, an admin may have
	 * edited it while the audit ran */
	if ((f->a.write || f->a.apply) && !f->to_stdout &&
	    (fix_target_lock(&f->t) < 0 || fix_build_refresh(&f->b) < 0))
		return -1;
	return 0;
}

/* Record what --apply replaced, for --undo (fix/undo.h).  A failure is a
 * warning: the values are set. */
static void fix_note_undo(struct fix_run *f)
{
	struct state_dir sd = { NULL, -1, -1 };
	const char *dir = cmd_state_dir();
	bool wrote = f->b.changed && !f->to_stdout, oom, opened = false;
	json_t *rec = fix_undo_record(f->res.facts, f->t.sys, f->b.old, wrote ? f->b.d.content : NULL, f->items,
				      f->nitems, &oom);
	char *moved = NULL;

	f->undo_recorded = !rec && !oom;       /* nothing changed: the last record stays */
	if (f->undo_recorded)
		return;
	if (rec && (opened = state_open(&sd, dir, 10) == 0) && fix_undo_save(&sd, rec) == 0) {
		f->undo_recorded = true;
	} else if (opened && state_move_aside(&sd, FIX_UNDO_FILE, &moved) == 0) {
		/* the record of an older --apply would make fix --undo put
		 * back that one's values */
		log_warn("what --apply replaced is not recorded in %s: fix --undo cannot put it back; the record of "
			 "the --apply before is moved aside (%s/%s), so that fix --undo does not put back that one's "
			 "values instead", dir, dir, moved);
	} else {
		log_warn("what --apply replaced is not recorded in %s: fix --undo cannot put it back%s", dir,
			 opened ? "" : " (a record there, if any, is of an earlier --apply)");
	}
	free(moved);
	state_close(&sd);
	json_decref(rec);
}

/* --apply: set the values now (all or nothing); --write, --apply: write
 * the drop-in, and with --apply put the values back when that fails.
 * 0 or -1 (logged). */
static int fix_apply_write(struct fix_run *f)
{
	if (f->a.apply) {
		if (!(f->items = fix_build_plan(&f->b, &f->nitems)))
			return -1;
		if (apply_sysctl(f->items, f->nitems) < 0) {
			fix_print_apply(stderr, f->items, f->nitems);
			log_error("%s; the drop-in was not written", fix_apply_summary(f->items, f->nitems) ?: "failed");
			return -1;
		}
		f->restart = fix_restarts(f->res.facts, f->items, f->nitems);
	}
	if ((f->a.write || f->a.apply) && !f->to_stdout && fix_build_write(&f->b) < 0) {
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

/* What was done, or would be: fix's document as JSON, or its text (with
 * --check only with -v, the diff).  The exit status. */
static int fix_output(struct fix_run *f)
{
	struct fix_out o = { .o = { .verbose = f->a.verbose, .check = f->a.check } };
	int ret = f->a.check && f->b.changed ? EXIT_NK_WARNING : EXIT_NK_OK, r;
	json_t *doc;

	if (f->a.check && !f->a.verbose)
		return ret;
	doc = fix_doc_new(&f->b, f->to_stdout, f->a.write || f->a.apply, f->a.apply ? f->items : NULL, f->nitems,
			  f->restart);
	if (doc && f->a.apply && json_object_set_new(doc, "undo_recorded", json_boolean(f->undo_recorded)) < 0) {
		json_decref(doc);
		doc = NULL;
	}
	if (!doc) {
		log_error("out of memory");
		return EXIT_NK_ERROR;
	}
	o.doc = doc;
	/* --check -v: the diff, whatever the format */
	r = cmd_render(&fix_renderers, f->a.check ? FORMAT_TEXT : f->g->format, &o, stdout);
	json_decref(doc);
	if (r == -EILSEQ)
		log_error("%s holds text that is not UTF-8, which JSON cannot carry; netknobs fix without --json "
			  "shows it escaped", f->t.display);
	else
		f->json_done = f->g->format == FORMAT_JSON && !f->a.check;
	return r < 0 ? EXIT_NK_ERROR : ret;
}

static void fix_free(struct fix_run *f)
{
	if (f->items)
		apply_items_free(f->items, f->nitems);
	json_decref(f->restart);
	fix_build_free(&f->b);
	audit_result_free(&f->res);
	fix_target_close(&f->t);
	audit_args_free(&f->a.au);
}

/* --format json: a JSON result on every exit path, failures included */
static void fix_failure_json(const struct fix_run *f)
{
	json_t *o = fix_doc_failure(*log_last_error() ? log_last_error() : "failed", f->t.sys,
				    f->items, f->nitems);

	if (o)
		print_json(o);
	json_decref(o);
}

static int fix_run(struct globals *g, int argc, char **argv)
{
	struct fix_run f = { .g = g, .a.au.fail_on = SEV_WARNING, .t.dirfd = -1 };
	int r, ret = EXIT_NK_ERROR;

	r = cmd_parse(&cmd_fix, g, argc, argv, fix_opt, &f.a);
	if (r < 0) {
		audit_args_free(&f.a.au);
		return CMD_PARSE_STATUS(r);
	}
	f.to_stdout = f.a.output && !strcmp(f.a.output, "-");
	if (fix_check_args(&f) < 0)
		goto out_args;
	if (f.a.undo) {
		ret = fix_undo(g, f.a.output, &f.json_done);
		goto out_args;
	}
	r = fix_prepare(&f, &ret);
	if (r != 0)
		goto out;
	if (!f.a.check && fix_apply_write(&f) < 0)
		goto out;
	ret = fix_output(&f);
out:
	fflush(stdout);
out_args:
	if (ret == EXIT_NK_ERROR && g->format == FORMAT_JSON && !f.json_done)
		fix_failure_json(&f);
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
		"named, with the value that will really apply.\n",
	/* the audit's options but --fail-on: the exit status says what fix did */
	.options = (const struct cmd_opt[]){
		{ "write", .val = OPT_WRITE,
		  .help = "write the drop-in: a temporary file, fsync, rename;\n"
			  "mode 0644 (a file replaced keeps its mode and\n"
			  "owner); the previous version kept as FILE.bak;\n"
			  "under a lock, built again when the file changed\n"
			  "while the audit ran (an edit is never lost)" },
		{ "check", .val = OPT_CHECK,
		  .help = "print nothing; exit 0 when the drop-in is up to date,\n"
			  "1 when --write would change it, 3 on error (with -v:\n"
			  "the diff and the warnings)" },
		{ "apply", .val = OPT_APPLY,
		  .help = "also set the values now through /proc/sys, read each\n"
			  "back, and restore every value already set when one\n"
			  "fails (then nothing is written); name the listeners\n"
			  "capped by the net.core.somaxconn this run raised:\n"
			  "they must listen() again to use it; a change of\n"
			  "somaxconn is recorded in the state directory\n"
			  "(" DEFAULT_STATE_DIR ", NETKNOBS_STATE_DIR) for later\n"
			  "audits (backlog.stale-clamp), and what it replaced\n"
			  "(the values before, the drop-in before) for --undo" },
		{ "undo", .val = OPT_UNDO,
		  .help = "put back what the last --apply replaced: the values\n"
			  "(read back; all set again when one fails) and the\n"
			  "drop-in as it was (removed when there was none);\n"
			  "refused when there is nothing to undo, or when a\n"
			  "value or the drop-in changed since that --apply" },
		{ "output", 0, "FILE|-", .val = OPT_OUTPUT,
		  .help = "the drop-in's path instead of " DEFAULT_TARGET "\n"
			  "(with --root, a path below DIR, without '..'); -\n"
			  "prints it on standard output" },
		{ "from", 0, "FILE", .val = OPT_AUDIT_FROM,
		  .help = "work from a saved facts document (not with --apply)" },
		{ .group = sample_options },
		{ .group = rule_options },
		{ "profile", 0, "NAME", .val = OPT_AUDIT_PROFILE,
		  .help = "the rule sets and variables of a profile" },
		{ "only", 0, "TAG", .val = OPT_AUDIT_ONLY, .label = "--only TAG, --rule ID",
		  .help = "only the recommendations of these rules; repeatable" },
		{ "rule", 0, "ID", .val = OPT_AUDIT_RULE },   /* in the row of --only */
		{ "verbose", 'v', .help = "also print the recommendations left out, and why" },
		{ .label = "--json, --format json",
		  .help = "the drop-in, its settings, warnings and what was done" },
		{ 0 },
	},
	.notes =
		"With --root DIR the drop-in goes to DIR" DEFAULT_TARGET ".\n"
		"Exit status: 0 done (or, with --check, up to date), 1 --check: it would change,\n"
		"3 could not: bad rules or options, unreadable file, a value the kernel refused.\n",
	.run = fix_run,
	.renderers = &fix_renderers,
};
