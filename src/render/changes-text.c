/* netknobs report as text: what changed since the previous run, in plain
 * words, for a cron mail. */
#include "config.h"

#include <string.h>

#include "render/render.h"
#include "util/escape.h"

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void finding_line(FILE *out, const json_t *f)
{
	const char *sev = str(f, "severity");
	char up[16];
	size_t i;

	for (i = 0; sev[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)(sev[i] >= 'a' && sev[i] <= 'z' ? sev[i] - 32 : sev[i]);
	up[i] = '\0';
	fprintf(out, "  %-8s ", up);
	fputs_safe(str(f, "subject"), out);
	fputs(": ", out);
	fputs_safe(str(f, "title"), out);
	fputs(" [", out);
	fputs_safe(str(f, "rule"), out);
	fputc(']', out);
	if (*str(f, "previous_severity")) {
		fputs(" (was ", out);
		fputs_safe(str(f, "previous_severity"), out);
		fputc(')', out);
	}
	fputc('\n', out);
}

static void section(FILE *out, const json_t *rep, const char *key, const char *heading, const char *none,
		    bool always)
{
	const json_t *list = json_object_get(rep, key), *f;
	size_t i;

	if (!json_array_size(list)) {
		if (always && none)
			fprintf(out, "%s: %s\n\n", heading, none);
		return;
	}
	fprintf(out, "%s:\n", heading);
	json_array_foreach(list, i, f)
		finding_line(out, f);
	fputc('\n', out);
}

static void per_day(FILE *out, double d)
{
	if (d >= 10 || d == 0)
		fprintf(out, "%.0f", d);
	else
		fprintf(out, "%.1f", d);
}

static void elapsed(FILE *out, long long s)
{
	if (s >= 2 * 86400)
		fprintf(out, "%.1f days", (double)s / 86400);
	else if (s >= 2 * 3600)
		fprintf(out, "%.1f hours", (double)s / 3600);
	else
		fprintf(out, "%lld minute%s", s / 60, s / 60 == 1 ? "" : "s");
}

void report_changes_text(const json_t *rep, FILE *out, bool always)
{
	const json_t *base = json_object_get(rep, "baseline");
	const json_t *counters = json_object_get(rep, "counters"), *c;
	const json_t *el = json_object_get(rep, "elapsed_seconds");
	size_t i, shown = 0;

	fputs("netknobs report: ", out);
	fputs_safe(str(rep, "verdict"), out);
	fputc('\n', out);
	if (*str(rep, "previous_time")) {
		fputs("Since the previous report (", out);
		fputs_safe(str(rep, "previous_time"), out);
		if (json_is_integer(el) && json_integer_value(el) > 0) {
			fputs(", ", out);
			elapsed(out, json_integer_value(el));
			fputs(" earlier", out);
		}
		fputs(").\n", out);
	}
	fputc('\n', out);

	section(out, rep, "new", "New findings", "none", always);
	section(out, rep, "changed", "Severity changed", NULL, always);
	section(out, rep, "still_critical", "Still critical", NULL, always);
	section(out, rep, "resolved", "Resolved", "none", always);

	json_array_foreach(counters, i, c) {
		const json_t *inc = json_object_get(c, "increase");

		if (!json_is_integer(inc) || json_integer_value(inc) == 0)
			continue;
		if (!shown++)
			fputs("Counter increases since the previous report:\n", out);
		fprintf(out, "  %s: +%lld", str(c, "name"), (long long)json_integer_value(inc));
		if (json_is_number(json_object_get(c, "per_day"))) {
			fputs(" (", out);
			per_day(out, json_number_value(json_object_get(c, "per_day")));
			fputs(" per day)", out);
		}
		fprintf(out, ": %s\n", str(c, "description"));
	}
	json_array_foreach(counters, i, c)
		if (json_is_true(json_object_get(c, "reset")))
			fprintf(out, "%s  %s: lower than at the previous report (wrapped or reset); counted again "
				"from now\n", shown++ ? "" : "Counters:\n", str(c, "name"));
	if (shown)
		fputc('\n', out);
	else if (always && !json_is_true(json_object_get(base, "reset")))
		fputs("Counters: no increase since the previous report.\n\n", out);

	if (json_is_true(json_object_get(base, "reset"))) {
		if (!*str(rep, "previous_time"))
			fputs("No previous report (", out);
		else
			fputs("New baseline for the counters: ", out);
		fputs_safe(str(base, "reason"), out);
		fputs(!*str(rep, "previous_time") ? "): the counters are counted from now.\n"
						  : "; increases are counted from now.\n", out);
		if (always)
			fputc('\n', out);
	}

	if (always) {
		const json_t *all = json_object_get(rep, "findings");

		if (json_array_size(all)) {
			fputs("All current findings ('netknobs audit' explains them):\n", out);
			json_array_foreach(all, i, c)
				finding_line(out, c);
		} else {
			fputs("No current findings.\n", out);
		}
	}
}
