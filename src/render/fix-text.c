/* The text of netknobs fix, from the document fix --json prints: the
 * drop-in it would write and the diff against the file there, what
 * --write and --apply did, the listeners to restart, the settings of a
 * network namespace the host's sysctl.d does not reach. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "render/text-int.h"
#include "util/diff.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/wrap.h"

/* Text that holds lines of a file on this system, for the terminal. */
static void fix_text_safe(FILE *out, const char *text)
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

static void fix_msgs(FILE *out, const char *label, const json_t *msgs)
{
	size_t i;
	const json_t *m;

	json_array_foreach(msgs, i, m)
		print_wrapped(out, "", label, json_string_value(m));
}

static long long fix_int(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

void report_fix_applied_text(FILE *out, const json_t *applied)
{
	const json_t *it;
	size_t i;

	json_array_foreach(applied, i, it) {
		const char *st = text_str(it, "status"), *key = text_str(it, "key"), *val = text_str(it, "value");
		const char *was = json_string_value(json_object_get(it, "old"));
		char *old = was ? escape_untrusted_str(was) : NULL, *msg = NULL;

		if (!strcmp(st, "set")) {
			fprintf(out, "set %s = %s (was %s)\n", key, val, old ? old : "?");
		} else if (!strcmp(st, "rolled-back")) {
			fprintf(out, "rolled back %s to %s\n", key, old ? old : "?");
		} else if (!strcmp(st, "failed") || !strcmp(st, "rollback-failed")) {
			/* as the program's errors are written (util/log.c) */
			const char *err = json_string_value(json_object_get(it, "error"));

			fprintf(out, "%s: error: ", program_name);
			if (asprintf(&msg, "%s = %s: %s", key, val, err ? err : "failed") < 0)
				msg = NULL;
			fputs_safe(msg ? msg : "(out of memory)", out);
			fputc('\n', out);
		}
		free(msg);
		free(old);
	}
}

/* The listeners whose limit is the somaxconn --apply replaced ("restart"). */
static void fix_restarts_text(FILE *out, const json_t *r)
{
	const json_t *l, *p, *first = json_array_get(r, 0);
	size_t i, j;

	if (!json_array_size(r))
		return;
	fprintf(out, "\nListeners whose limit is the net.core.somaxconn just replaced (%lld, now %lld), which most "
		"likely cut their backlog: they keep their limit until the application calls listen() again "
		"(usually a restart), and then get up to %lld (less if the application asks for less; one that "
		"asks for exactly %lld keeps it):\n", fix_int(first, "old_somaxconn"), fix_int(first, "somaxconn"),
		fix_int(first, "somaxconn"), fix_int(first, "old_somaxconn"));
	json_array_foreach(r, i, l) {
		const char *addr = text_str(l, "address");

		fputs("  ", out);
		if (strchr(addr, ':'))
			fputc('[', out);
		fputs_safe(addr, out);
		if (strchr(addr, ':'))
			fputc(']', out);
		fprintf(out, ":%lld", fix_int(l, "port"));
		if (fix_int(l, "sockets") > 1)
			fprintf(out, " (%lld sockets)", fix_int(l, "sockets"));
		fprintf(out, "  limit %lld", fix_int(l, "limit"));
		json_array_foreach(json_object_get(l, "processes"), j, p) {
			fputs(j ? ", " : "  ", out);
			fputs_safe(text_str(p, "comm"), out);
			fprintf(out, " (pid %lld)", fix_int(p, "pid"));
		}
		fputs("  [at the old somaxconn]\n", out);
	}
}

/* fix --netns NS without --output: why the host's sysctl.d does not reach
 * the namespace, and for each setting the command that sets it there now
 * and what keeps it. */
static void fix_netns_text(FILE *out, const json_t *doc)
{
	const json_t *settings = json_object_get(doc, "settings"), *o, *id;
	size_t i, j;

	print_wrapped(out, "", "", text_str(doc, "why"));
	fputc('\n', out);
	if (!json_array_size(settings))
		fputs("Nothing to set: every recommendation is met there.\n", out);
	json_array_foreach(settings, i, o) {
		fputs_safe(text_str(o, "key"), out);
		fputs(" = ", out);
		report_value_text(out, json_object_get(o, "value"));
		if (json_object_get(o, "current")) {
			fputs("    (now ", out);
			report_value_text(out, json_object_get(o, "current"));
			fputc(')', out);
		}
		fputs("\n  asked by:", out);
		json_array_foreach(json_object_get(o, "rules"), j, id) {
			fputc(' ', out);
			fputs_safe(json_string_value(id), out);
		}
		fputs("\n  now: ", out);
		fputs_safe(text_str(o, "now"), out);
		fputc('\n', out);
		print_wrapped(out, "  ", "lasting: ", text_str(o, "persist"));
	}
	if (json_array_size(settings)) {
		fputc('\n', out);
		print_wrapped(out, "", "", "--output FILE writes these settings as a sysctl.d-style file for the "
			      "script that sets the namespace up (sysctl -p FILE inside it); --apply --output FILE "
			      "also sets them now.");
	}
}

/* What --write and --apply did, or the drop-in itself with --output -
 * (everything else on err then). */
static void fix_done_text(FILE *out, FILE *err, const json_t *doc, const struct fix_text_opts *o)
{
	const json_t *applied = json_object_get(doc, "applied"), *it;
	const char *content = text_str(doc, "content");
	bool changed = json_is_true(json_object_get(doc, "changed")), set = changed;
	size_t i;

	if (json_is_true(json_object_get(doc, "stdout"))) {
		fputs(content, out);
		out = err;
	} else {
		/* --output names any file: escaped as a path is */
		char *path = escape_untrusted_str(text_str(doc, "path"));
		const char *p = path ? path : "?";

		if (applied)
			report_fix_applied_text(out, applied);
		if (!json_is_true(json_object_get(doc, "exists")) && !*content)
			fprintf(out, "nothing to write: no recommendation is missing from the sysctl.d "
				"configuration (%s not created)\n", p);
		else if (!changed)
			fprintf(out, "%s is up to date\n", p);
		else if (json_object_get(doc, "backup"))
			fprintf(out, "wrote %s (the previous version is in %s.bak)\n", p, p);
		else
			fprintf(out, "wrote %s\n", p);
		free(path);
	}
	fix_msgs(err, "warning: ", json_object_get(doc, "warnings"));
	if (o->verbose)
		fix_msgs(err, "note: ", json_object_get(doc, "notes"));
	if (!applied)
		return;
	if (out == err) {
		report_fix_applied_text(err, applied);
		fix_restarts_text(err, json_object_get(doc, "restart"));
		return;
	}
	fix_restarts_text(out, json_object_get(doc, "restart"));
	json_array_foreach(applied, i, it)
		set |= !strcmp(text_str(it, "status"), "set");
	/* undo_recorded false: it was not recorded (warned) */
	if (set && !json_is_false(json_object_get(doc, "undo_recorded")))
		fputs("`netknobs fix --undo` puts back what this replaced.\n", out);
}

/* Without --write, --check or --apply: what would be written. */
static void fix_show_text(FILE *out, const json_t *doc)
{
	const char *content = text_str(doc, "content");
	const json_t *warnings = json_object_get(doc, "warnings"), *notes = json_object_get(doc, "notes");
	char *path = escape_untrusted_str(text_str(doc, "path"));
	char *target = escape_untrusted_str(text_str(doc, "target"));

	if (!*content) {
		fputs("Nothing to persist: every recommendation is met by the running values and the "
		      "sysctl.d files.\n", out);
	} else if (!json_is_true(json_object_get(doc, "changed"))) {
		fprintf(out, "%s is up to date:\n\n", path ? path : "?");
		fix_text_safe(out, content);
	} else {
		fprintf(out, "%s (netknobs fix --write writes it; --apply also sets the values now):\n\n",
			path ? path : "?");
		fix_text_safe(out, content);
		if (json_is_true(json_object_get(doc, "exists"))) {
			fputc('\n', out);
			diff_unified(out, text_str(doc, "previous"), target ? target : "?", content,
				     target ? target : "?");
		}
	}
	free(path);
	free(target);
	if (json_array_size(warnings)) {
		fputc('\n', out);
		fix_msgs(out, "warning: ", warnings);
	}
	if (json_array_size(notes)) {
		fputc('\n', out);
		fix_msgs(out, "note: ", notes);
	}
}

void report_fix_text(FILE *out, FILE *err, const json_t *doc, const struct fix_text_opts *o)
{
	if (o->check) {
		char *target = escape_untrusted_str(text_str(doc, "target"));

		if (json_is_true(json_object_get(doc, "changed")))
			diff_unified(out, text_str(doc, "previous"), target ? target : "?", text_str(doc, "content"),
				     target ? target : "?");
		free(target);
		fix_msgs(err, "warning: ", json_object_get(doc, "warnings"));
	} else if (json_is_false(json_object_get(doc, "sysctl_d_applies"))) {
		fix_netns_text(out, doc);
	} else if (json_object_get(doc, "written") || json_is_true(json_object_get(doc, "stdout"))) {
		fix_done_text(out, err, doc, o);
	} else {
		fix_show_text(out, doc);
	}
}
