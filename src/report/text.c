/* The audit for people: the verdict first, then findings by severity, then
 * the merged recommendations with the lines to apply them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "report/report.h"
#include "util/duration.h"
#include "util/escape.h"
#include "util/wrap.h"

#define C_RESET "\033[0m"

static const char *sev_color(const char *sev)
{
	if (!strcmp(sev, "critical"))
		return "\033[1;31m";
	if (!strcmp(sev, "warning"))
		return "\033[1;33m";
	if (!strcmp(sev, "notice"))
		return "\033[1;36m";
	return "\033[1m";
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void value_text(FILE *out, const json_t *v)
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
			value_text(out, e);
		}
	else if (!v || json_is_null(v))
		fputs("n/a", out);
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		fputs_safe(s ? s : "?", out);
		free(s);
	}
}

static void finding(FILE *out, const json_t *f, const struct text_opts *o)
{
	const char *sev = str(f, "severity");
	const json_t *recs = json_object_get(f, "recommend"), *r, *w = json_object_get(f, "waiver");
	char upper[16];
	size_t i;

	for (i = 0; sev[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)(sev[i] >= 'a' && sev[i] <= 'z' ? sev[i] - 32 : sev[i]);
	upper[i] = '\0';
	if (!strcmp(str(f, "status"), "waived"))
		snprintf(upper, sizeof(upper), "WAIVED");
	fprintf(out, "%s%-8s%s ", o->color ? sev_color(sev) : "", upper, o->color ? C_RESET : "");
	fputs_safe(str(f, "subject"), out);
	fputs("  [", out);
	fputs_safe(str(f, "rule"), out);
	fputs("]\n", out);
	print_wrapped(out, "  ", "", str(f, "message"));
	if (json_object_get(f, "observed")) {
		fputs("  observed: ", out);
		value_text(out, json_object_get(f, "observed"));
		fputc('\n', out);
	}
	json_array_foreach(recs, i, r) {
		fputs("  recommended: ", out);
		fputs_safe(str(r, "key"), out);
		fputs(!strcmp(str(r, "mode"), "at-least") ? " >= " : !strcmp(str(r, "mode"), "at-most") ? " <= " : " = ",
		      out);
		value_text(out, json_object_get(r, "value"));
		if (json_object_get(r, "current")) {
			fputs(" (now ", out);
			value_text(out, json_object_get(r, "current"));
			fputc(')', out);
		}
		fputc('\n', out);
		if (*str(r, "note"))
			print_wrapped(out, "    ", "note: ", str(r, "note"));
	}
	/* many namespaces repeat the same rules: their reasons once, by
	 * `netknobs explain RULE` */
	if (*str(f, "rationale") && !o->section)
		print_wrapped(out, "  ", "why: ", str(f, "rationale"));
	if (*str(f, "risk") && !o->section)
		print_wrapped(out, "  ", "risk: ", str(f, "risk"));
	if (w) {
		char line[512];

		snprintf(line, sizeof(line), "%s%s%s", str(w, "reason"),
			 json_object_get(w, "expires") ? ", until " : "", str(w, "expires"));
		print_wrapped(out, "  ", json_is_true(json_object_get(w, "expired")) ? "waiver EXPIRED: " : "waived: ", line);
	}
	fputc('\n', out);
}

static void result_line(FILE *out, const json_t *res, const char *indent)
{
	fprintf(out, "%s%-15s ", indent, str(res, "status"));
	fputs_safe(str(res, "rule"), out);
	if (*str(res, "subject")) {
		fputs("  ", out);
		fputs_safe(str(res, "subject"), out);
	}
	if (json_object_get(res, "observed")) {
		fputs("  observed ", out);
		value_text(out, json_object_get(res, "observed"));
	}
	if (*str(res, "reason")) {
		fputs("  (", out);
		fputs_safe(str(res, "reason"), out);
		fputc(')', out);
	}
	if (*str(res, "error")) {
		fputs("  error: ", out);
		fputs_safe(str(res, "error"), out);
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
		if (*str(w, "stopped_by")) {
			fputs(" by ", out);
			fputs_safe(str(w, "stopped_by"), out);
		}
		fputc(')', out);
	}
	if (*str(w, "started_at")) {
		fputs(" from ", out);
		fputs_safe(str(w, "started_at"), out);
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
static void recs_heading(FILE *out, const json_t *ns)
{
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);

	if (!m)
		return;
	fputs("Recommended settings for ", m);
	fputs(str(ns, "name"), m);
	fprintf(m, " (%s, %s)", str(ns, "kind"), str(ns, "id"));
	if (json_is_true(json_object_get(ns, "initial")))
		fputs(": the first line applies a value now; \"lasting\" says where it is kept", m);
	else
		fputs(", a network namespace of its own: the host's sysctl.d does not apply to it, and a "
		      "bare sysctl -w on the host would change the host.  The first line applies a value "
		      "there now; \"lasting\" says what keeps it", m);
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

void report_audit_text(const json_t *audit, FILE *out, const struct text_opts *o)
{
	const json_t *findings = json_object_get(audit, "findings"), *f;
	const json_t *recs = json_object_get(audit, "recommendations"), *r;
	const json_t *results = json_object_get(audit, "results");
	size_t i, shown = 0;

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

	json_array_foreach(findings, i, f) {
		finding(out, f, o);
		shown++;
	}

	if (json_array_size(recs)) {
		const json_t *ns = json_object_get(audit, "netns");
		bool away = ns && !(json_is_true(json_object_get(ns, "self")) && !strcmp(str(ns, "kind"), "host"));
		size_t todo = 0;

		json_array_foreach(recs, i, r)
			if (!json_is_true(json_object_get(r, "satisfied")))
				todo++;
		if (todo && away) {
			recs_heading(out, ns);
		} else if (todo) {
			fputs("Recommended settings", out);
			fputs(" (apply now with the sysctl -w lines; persist with the sysctl.d lines;\n"
			      "`netknobs fix` shows the drop-in, `netknobs fix --apply` does both):\n", out);
		}
		json_array_foreach(recs, i, r) {
			const json_t *rules = json_object_get(r, "rules"), *id;
			size_t j;

			if (json_is_true(json_object_get(r, "satisfied")))
				continue;
			fputs("  ", out);
			if (away) {
				/* "KEY = VALUE": not a line for the host's sysctl.d */
				fputs_safe(str(r, "key"), out);
				fputs(" = ", out);
				value_text(out, json_object_get(r, "value"));
			} else {
				fputs_safe(str(r, "sysctl_d"), out);
			}
			if (json_object_get(r, "current")) {
				fputs("    (now ", out);
				value_text(out, json_object_get(r, "current"));
				fputc(')', out);
			}
			fputs("\n    asked by:", out);
			json_array_foreach(rules, j, id) {
				fputc(' ', out);
				fputs_safe(json_string_value(id), out);
			}
			fputs("\n    ", out);
			fputs_safe(str(r, "sysctl_w"), out);
			fputc('\n', out);
			if (away && *str(r, "persist"))
				print_wrapped(out, "    ", "lasting: ", str(r, "persist"));
			{
				const json_t *notes = json_object_get(r, "notes"), *nt;

				json_array_foreach(notes, j, nt)
					print_wrapped(out, "    ", "note: ", json_string_value(nt));
			}
			if (json_is_true(json_object_get(r, "conflict")))
				fputs("    note: the rules asking disagree; see --format json\n", out);
		}
		if (todo)
			fputc('\n', out);
	}

	if (o->verbose) {
		const json_t *res;

		fputs("Results:\n", out);
		json_array_foreach(results, i, res) {
			const json_t *items = json_object_get(res, "items"), *it;
			size_t j;

			if (items) {
				const json_t *c = json_object_get(res, "counts");

				fprintf(out, "  %-15s ", str(res, "status"));
				fputs_safe(str(res, "rule"), out);
				fprintf(out, "  (%lld passed, %lld not applicable, %lld failed)\n",
					(long long)json_integer_value(json_object_get(c, "pass")),
					(long long)json_integer_value(json_object_get(c, "not-applicable")),
					(long long)json_integer_value(json_object_get(c, "fail")));
				json_array_foreach(items, j, it)
					if (strcmp(str(it, "status"), "fail") != 0)
						result_line(out, it, "    ");
			} else if (strcmp(str(res, "status"), "fail") != 0) {
				result_line(out, res, "  ");
			}
		}
	} else if (!shown && !o->section && !json_object_size(json_object_get(audit, "core_unavailable"))) {
		fputs("Nothing to report.  --verbose lists every rule's result.\n", out);
	}
}
