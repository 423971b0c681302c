/* The audit for people: the verdict first, then findings by severity, then
 * the merged recommendations with the lines to apply them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "render/render.h"
#include "util/duration.h"
#include "util/escape.h"
#include "util/wrap.h"
#include "render/text-int.h"

#define C_RESET TEXT_RESET

const char *text_sev_color(const char *sev)
{
	if (!strcmp(sev, "critical"))
		return "\033[1;31m";
	if (!strcmp(sev, "warning"))
		return "\033[1;33m";
	if (!strcmp(sev, "notice"))
		return "\033[1;36m";
	return "\033[1m";
}

const char *text_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

void report_value_text(FILE *out, const json_t *v)
{
	size_t i;
	const json_t *e;

	if (json_is_integer(v))
		fprintf(out, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		fputs_safe(json_string_value(v), out);
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "true" : "false", out);
	else if (json_is_array(v))
		json_array_foreach(v, i, e) {
			if (i)
				fputc(' ', out);
			report_value_text(out, e);
		}
	else if (!v || json_is_null(v))
		fputs("n/a", out);
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		fputs_safe(s ? s : "?", out);
		free(s);
	}
}

void text_observed(FILE *out, const json_t *o)
{
	const json_t *v = json_object_get(o, "observed");
	const char *u = text_str(o, "observed_unit");

	report_value_text(out, v);
	if (!v || json_is_null(v) || !*u)
		return;
	if (!strcmp(u, "text"))
		return;
	if (!strcmp(u, "percent"))
		fputc('%', out);
	else if (!strcmp(u, "count") || !strcmp(u, "setting"))
		fprintf(out, " (%s)", u);
	else
		fprintf(out, " %s", u);
}

void text_label(const json_t *f, char *buf, size_t len)
{
	const char *sev = text_str(f, "severity");
	size_t i;

	if (!len)
		return;
	for (i = 0; sev[i] && i < len - 1; i++)
		buf[i] = (char)(sev[i] >= 'a' && sev[i] <= 'z' ? sev[i] - 32 : sev[i]);
	buf[i] = '\0';
	if (!strcmp(text_str(f, "status"), "waived"))
		snprintf(buf, len, "WAIVED");
}

static void finding(FILE *out, const json_t *f, const struct text_opts *o)
{
	const char *sev = text_str(f, "severity");
	const json_t *recs = json_object_get(f, "recommend"), *r, *w = json_object_get(f, "waiver");
	char upper[16];
	size_t i;

	text_label(f, upper, sizeof(upper));
	fprintf(out, "%s%-8s%s ", o->color ? text_sev_color(sev) : "", upper, o->color ? C_RESET : "");
	fputs_safe(text_str(f, "subject"), out);
	fputs("  [", out);
	fputs_safe(text_str(f, "rule"), out);
	fputs("]\n", out);
	print_wrapped(out, "  ", "", text_str(f, "message"));
	if (json_object_get(f, "observed")) {
		fputs("  observed: ", out);
		text_observed(out, f);
		fputc('\n', out);
	}
	json_array_foreach(recs, i, r) {
		fputs("  recommended: ", out);
		fputs_safe(text_str(r, "key"), out);
		fputs(!strcmp(text_str(r, "mode"), "at-least") ? " >= " : !strcmp(text_str(r, "mode"), "at-most") ? " <= " : " = ",
		      out);
		report_value_text(out, json_object_get(r, "value"));
		if (json_object_get(r, "current")) {
			fputs(" (now ", out);
			report_value_text(out, json_object_get(r, "current"));
			fputc(')', out);
		}
		fputc('\n', out);
		if (*text_str(r, "note"))
			print_wrapped(out, "    ", "note: ", text_str(r, "note"));
	}
	/* many namespaces repeat the same rules: their reasons once, by
	 * `netknobs explain RULE` */
	if (*text_str(f, "rationale") && !o->section)
		print_wrapped(out, "  ", "why: ", text_str(f, "rationale"));
	if (*text_str(f, "risk") && !o->section)
		print_wrapped(out, "  ", "risk: ", text_str(f, "risk"));
	if (w) {
		char line[512];

		snprintf(line, sizeof(line), "%s%s%s", text_str(w, "reason"),
			 json_object_get(w, "expires") ? ", until " : "", text_str(w, "expires"));
		print_wrapped(out, "  ", json_is_true(json_object_get(w, "expired")) ? "waiver EXPIRED: " : "waived: ", line);
	}
	fputc('\n', out);
}

static void result_line(FILE *out, const json_t *res, const char *indent)
{
	fprintf(out, "%s%-15s ", indent, text_str(res, "status"));
	fputs_safe(text_str(res, "rule"), out);
	if (*text_str(res, "subject")) {
		fputs("  ", out);
		fputs_safe(text_str(res, "subject"), out);
	}
	if (json_object_get(res, "observed")) {
		fputs("  observed ", out);
		text_observed(out, res);
	}
	if (*text_str(res, "reason")) {
		fputs("  (", out);
		fputs_safe(text_str(res, "reason"), out);
		fputc(')', out);
	}
	if (*text_str(res, "error")) {
		fputs("  error: ", out);
		fputs_safe(text_str(res, "error"), out);
	}
	fputc('\n', out);
}

/* "Sampled over 10s from 2026-11-25T17:07:15.228Z: 101 listener readings,
 * every 100ms." and, cut short, what was asked and the signal. */
static void window_line(FILE *out, const json_t *w)
{
	json_int_t dur = json_integer_value(json_object_get(w, "duration_ms"));
	json_int_t asked = json_integer_value(json_object_get(w, "requested_ms"));
	json_int_t every = json_integer_value(json_object_get(w, "interval_ms"));
	json_int_t ticks = json_integer_value(json_object_get(w, "ticks"));
	char d[32], a[32], e[32];

	duration_format(dur > 0 ? (uint64_t)dur : 0, d, sizeof(d));
	duration_format(asked > 0 ? (uint64_t)asked : 0, a, sizeof(a));
	duration_format(every > 0 ? (uint64_t)every : 0, e, sizeof(e));
	fprintf(out, "Sampled over %s", d);
	if (json_is_true(json_object_get(w, "cut_short"))) {
		fprintf(out, " of the %s asked (cut short", a);
		if (*text_str(w, "stopped_by")) {
			fputs(" by ", out);
			fputs_safe(text_str(w, "stopped_by"), out);
		}
		fputc(')', out);
	}
	if (*text_str(w, "started_at")) {
		fputs(" from ", out);
		fputs_safe(text_str(w, "started_at"), out);
	}
	fprintf(out, ": %lld listener reading%s, every %s.\n", (long long)ticks, ticks == 1 ? "" : "s", e);
}

/* What could not be read, and why: without it the rules judge nothing, and
 * no finding must not read as "all is well". */
static void core_lines(FILE *out, const json_t *core, const struct text_opts *o)
{
	if (!json_object_size(core))
		return;
	for (size_t i = 0; facts_core_parts[i]; i++) {
		const char *why = json_string_value(json_object_get(core, facts_core_parts[i]));

		if (!why)
			continue;
		fprintf(out, "%sUNKNOWN%s  could not read %s\n", o->color ? "\033[1;35m" : "",
			o->color ? C_RESET : "", facts_core_part_text(facts_core_parts[i]));
		print_wrapped(out, "  ", "", why);
	}
	print_wrapped(out, "", "", "Without them the rules cannot judge this host: no finding does not "
		      "mean nothing is wrong (exit status 3).  Run netknobs where it can read /proc and "
		      "/etc (as root, with enough open files, with /proc mounted).");
	fputc('\n', out);
}

/* The heading of the recommendations of a namespace other than the one
 * netknobs runs in: neither a bare sysctl -w nor the host's sysctl.d
 * reach it. */
bool text_recs_away(const json_t *audit)
{
	const json_t *ns = json_object_get(audit, "netns");

	return ns && !(json_is_true(json_object_get(ns, "self")) && !strcmp(text_str(ns, "kind"), "host"));
}

bool text_rec_satisfied(const json_t *r)
{
	return json_is_true(json_object_get(r, "satisfied"));
}

void text_recs_heading(FILE *out, const json_t *ns, bool summary)
{
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);

	if (!m)
		return;
	fputs("Recommended settings for ", m);
	fputs(text_str(ns, "name"), m);
	fprintf(m, " (%s, %s)", text_str(ns, "kind"), text_str(ns, "id"));
	if (json_is_true(json_object_get(ns, "initial")))
		fputs(summary ? ": the command after them applies them now; \"lasting\" says where they are kept"
			      : ": the first line applies a value now; \"lasting\" says where it is kept", m);
	else
		fprintf(m, ", a network namespace of its own: the host's sysctl.d does not apply to it, and a "
			"bare sysctl -w on the host would change the host.  %s",
			summary ? "The command after them applies them there now; \"lasting\" says what keeps them"
				: "The first line applies a value there now; \"lasting\" says what keeps it");
	fputc(':', m);
	fclose(m);
	print_wrapped(out, "", "", line ? line : "Recommended settings:");
	free(line);
}

char *report_audit_verdict(const json_t *audit)
{
	static const char *const names[][3] = {
		{ "critical", "critical", "critical" }, { "warning", "warning", "warnings" },
		{ "notice", "notice", "notices" }, { "info", "info", "info" },
	};
	const json_t *sum = json_object_get(audit, "summary");
	const json_t *core = json_object_get(audit, "core_unavailable");
	json_int_t errors = json_integer_value(json_object_get(sum, "errors"));
	json_int_t waived = json_integer_value(json_object_get(sum, "waived"));
	char *v = NULL;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&v, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; json_object_size(core) && facts_core_parts[i]; i++) {
		size_t left = 0;

		if (!json_object_get(core, facts_core_parts[i]))
			continue;
		for (size_t j = i + 1; facts_core_parts[j]; j++)
			left += json_object_get(core, facts_core_parts[j]) != NULL;
		fprintf(f, "%s%s", n ? (left ? ", " : " and ") : "UNKNOWN: could not read ",
			facts_core_part_text(facts_core_parts[i]));
		n++;
	}
	if (n)
		fputs("; ", f);
	for (int i = 0; i < 4; i++) {
		json_int_t c = json_integer_value(json_object_get(sum, names[i][0]));

		if (c || i < 2)
			fprintf(f, "%s%lld %s", i ? ", " : "", (long long)c, names[i][c == 1 ? 1 : 2]);
	}
	fprintf(f, ", %lld passed, %lld not applicable",
		(long long)json_integer_value(json_object_get(sum, "passed")),
		(long long)json_integer_value(json_object_get(sum, "not_applicable")));
	if (waived)
		fprintf(f, ", %lld waived", (long long)waived);
	if (errors)
		fprintf(f, ", %lld rule error%s", (long long)errors, errors == 1 ? "" : "s");
	if (fclose(f) != 0) {
		free(v);
		return NULL;
	}
	return v;
}

/* The findings in full (message, observed, recommended, why, risk,
 * waiver), one after the other. */
static void full_findings(const json_t *audit, FILE *out, const struct text_opts *o)
{
	const json_t *f;
	size_t i;

	json_array_foreach(json_object_get(audit, "findings"), i, f)
		finding(out, f, o);
}

/* The merged recommendations, each with the rules that asked, its sysctl -w
 * and sysctl.d lines (or, for another namespace, the forms that reach it)
 * and its notes. */
static void full_recs(const json_t *audit, FILE *out)
{
	const json_t *recs = json_object_get(audit, "recommendations"), *r;
	bool away = text_recs_away(audit);
	size_t i, todo = 0;

	json_array_foreach(recs, i, r)
		if (!text_rec_satisfied(r))
			todo++;
	if (!todo)
		return;
	if (away) {
		text_recs_heading(out, json_object_get(audit, "netns"), false);
	} else {
		fputs("Recommended settings", out);
		fputs(" (apply now with the sysctl -w lines; persist with the sysctl.d lines;\n"
		      "`netknobs fix` shows the drop-in, `netknobs fix --apply` does both):\n", out);
	}
	json_array_foreach(recs, i, r) {
		const json_t *rules = json_object_get(r, "rules"), *id, *nt;
		size_t j;

		if (text_rec_satisfied(r))
			continue;
		fputs("  ", out);
		if (away) {
			/* "KEY = VALUE": not a line for the host's sysctl.d */
			fputs_safe(text_str(r, "key"), out);
			fputs(" = ", out);
			report_value_text(out, json_object_get(r, "value"));
		} else {
			fputs_safe(text_str(r, "sysctl_d"), out);
		}
		if (json_object_get(r, "current")) {
			fputs("    (now ", out);
			report_value_text(out, json_object_get(r, "current"));
			fputc(')', out);
		}
		fputs("\n    asked by:", out);
		json_array_foreach(rules, j, id) {
			fputc(' ', out);
			fputs_safe(json_string_value(id), out);
		}
		fputs("\n    ", out);
		fputs_safe(text_str(r, "sysctl_w"), out);
		fputc('\n', out);
		if (away && *text_str(r, "persist"))
			print_wrapped(out, "    ", "lasting: ", text_str(r, "persist"));
		json_array_foreach(json_object_get(r, "notes"), j, nt)
			print_wrapped(out, "    ", "note: ", json_string_value(nt));
		if (json_is_true(json_object_get(r, "conflict")))
			fputs("    note: the rules asking disagree; see --format json\n", out);
	}
	fputc('\n', out);
}

/* Every rule's result but the failures (the findings above). */
static void all_results(const json_t *audit, FILE *out)
{
	const json_t *res;
	size_t i;

	fputs("Results:\n", out);
	json_array_foreach(json_object_get(audit, "results"), i, res) {
		const json_t *items = json_object_get(res, "items"), *it;
		size_t j;

		if (items) {
			const json_t *c = json_object_get(res, "counts");

			fprintf(out, "  %-15s ", text_str(res, "status"));
			fputs_safe(text_str(res, "rule"), out);
			fprintf(out, "  (%lld passed, %lld not applicable, %lld failed)\n",
				(long long)json_integer_value(json_object_get(c, "pass")),
				(long long)json_integer_value(json_object_get(c, "not-applicable")),
				(long long)json_integer_value(json_object_get(c, "fail")));
			json_array_foreach(items, j, it)
				if (strcmp(text_str(it, "status"), "fail") != 0)
					result_line(out, it, "    ");
		} else if (strcmp(text_str(res, "status"), "fail") != 0) {
			result_line(out, res, "  ");
		}
	}
}

void report_audit_text(const json_t *audit, FILE *out, const struct text_opts *o)
{
	char *verdict = report_audit_verdict(audit);

	if (!o->section)
		fputs("netknobs audit: ", out);
	fputs_safe(verdict ? verdict : "?", out);
	fputc('\n', out);
	free(verdict);
	if (json_is_object(json_object_get(audit, "window")))
		window_line(out, json_object_get(audit, "window"));
	fputc('\n', out);
	core_lines(out, json_object_get(audit, "core_unavailable"), o);

	if (!o->verbose) {
		text_short_body(audit, out, o);
		return;
	}
	full_findings(audit, out, o);
	full_recs(audit, out);
	all_results(audit, out);
}
