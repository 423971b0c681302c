/* Nagios/Icinga plugin output (Nagios plugin development guidelines): one
 * status line "NETKNOBS STATE - text | perfdata", then the long text, one
 * finding per line.  Performance data are 'label'=value[UOM];warn;crit;min;max. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "render/render.h"
#include "util/escape.h"
#include "util/log.h"

static const char *const state_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* Text from rules or the system on a plugin line: control characters
 * escaped, and no '|', which would start the performance data. */
static void plugin_text(FILE *out, const char *s)
{
	char *d = escape_display(s);

	for (const char *p = d ? d : ""; *p; p++)
		fputc(*p == '|' ? '/' : *p, out);
	free(d);
}

static long long count(const json_t *summary, const char *k)
{
	return json_integer_value(json_object_get(summary, k));
}

static int sev_rank(const char *s)
{
	if (!strcmp(s, "critical"))
		return 0;
	if (!strcmp(s, "warning"))
		return 1;
	if (!strcmp(s, "notice"))
		return 2;
	return 3;
}

static bool title_seen(const json_t *findings, size_t upto, const json_t *f)
{
	for (size_t i = 0; i < upto; i++) {
		const json_t *g = json_array_get(findings, i);

		if (!strcmp(str(g, "status"), "fail") && !strcmp(str(g, "title"), str(f, "title")) &&
		    sev_rank(str(g, "severity")) == sev_rank(str(f, "severity")))
			return true;
	}
	return false;
}

/* "could not read the sysctl values (why), the sockets (why); " */
static void core_text(FILE *out, const json_t *core)
{
	unsigned n = 0;

	for (size_t i = 0; facts_core_parts[i]; i++) {
		const char *why = json_string_value(json_object_get(core, facts_core_parts[i]));

		if (!why)
			continue;
		fputs(n++ ? ", " : "could not read ", out);
		fprintf(out, "%s (", facts_core_part_text(facts_core_parts[i]));
		plugin_text(out, why);
		fputc(')', out);
	}
	if (n)
		fputs("; ", out);
}

/* A finding's line of the long text: "SEVERITY [NETNS: ]SUBJECT: TITLE [RULE]". */
static void finding_line(FILE *out, const json_t *f, const char *netns)
{
	for (const char *p = str(f, "severity"); *p; p++)
		fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, out);
	fputc(' ', out);
	if (netns) {
		plugin_text(out, netns);
		fputs(": ", out);
	}
	plugin_text(out, str(f, "subject"));
	fputs(": ", out);
	plugin_text(out, str(f, "title"));
	fputs(" [", out);
	plugin_text(out, str(f, "rule"));
	fputs("]\n", out);
}

void report_nagios(const json_t *audit, const json_t *facts, const json_t *report, int status,
		   FILE *out)
{
	const json_t *summary = json_object_get(audit, "summary");
	const json_t *findings = json_object_get(audit, "findings"), *f;
	const json_t *listeners = json_object_get(json_object_get(facts, "sockets"), "listeners"), *l;
	long long full = 0, drops = 0;
	bool have_drops = false;
	unsigned shown = 0, titles = 0;
	size_t i;

	if (status < 0 || status > 3 || json_object_size(json_object_get(audit, "core_unavailable")))
		status = 3;
	fprintf(out, "NETKNOBS %s - ", state_names[status]);
	core_text(out, json_object_get(audit, "core_unavailable"));
	fprintf(out, "%lld critical, %lld warning%s", count(summary, "critical"), count(summary, "warning"),
		count(summary, "warning") == 1 ? "" : "s");
	if (count(summary, "notice"))
		fprintf(out, ", %lld notice%s", count(summary, "notice"), count(summary, "notice") == 1 ? "" : "s");
	if (count(summary, "info"))
		fprintf(out, ", %lld info", count(summary, "info"));
	if (count(summary, "errors"))
		fprintf(out, ", %lld rule%s could not be evaluated", count(summary, "errors"),
			count(summary, "errors") == 1 ? "" : "s");
	if (report)
		fprintf(out, ", %zu new, %zu resolved", json_array_size(json_object_get(report, "new")),
			json_array_size(json_object_get(report, "resolved")));

	/* the distinct titles, most severe first, at most three */
	for (int rank = 0; rank < 4; rank++)
		json_array_foreach(findings, i, f) {
			if (strcmp(str(f, "status"), "fail") != 0 || sev_rank(str(f, "severity")) != rank ||
			    title_seen(findings, i, f))
				continue;
			titles++;
			if (shown == 3)
				continue;
			fputs(shown ? "; " : ": ", out);
			plugin_text(out, str(f, "title"));
			shown++;
		}
	if (titles > shown)
		fprintf(out, "; and %u more", titles - shown);

	json_array_foreach(listeners, i, l) {
		const json_t *q = json_object_get(l, "queue"), *lim = json_object_get(l, "limit");

		if (json_is_integer(q) && json_is_integer(lim) && json_integer_value(q) > json_integer_value(lim))
			full++;
		if (json_is_integer(json_object_get(l, "drops"))) {
			/* each is 0..2^63-1 (facts_validate); the sum stops there */
			if (__builtin_add_overflow(drops, json_integer_value(json_object_get(l, "drops")), &drops))
				drops = LLONG_MAX;
			have_drops = true;
		}
	}
	fprintf(out, " | critical=%lld;;;0 warning=%lld;;;0 notice=%lld;;;0 info=%lld;;;0",
		count(summary, "critical"), count(summary, "warning"), count(summary, "notice"),
		count(summary, "info"));
	fprintf(out, " listeners=%zu;;;0 listeners_overflowing=%lld;;;0", json_array_size(listeners), full);
	if (have_drops)
		fprintf(out, " listener_drops=%lldc;;;0", drops);
	if (report)
		fprintf(out, " new=%zu;;;0 resolved=%zu;;;0", json_array_size(json_object_get(report, "new")),
			json_array_size(json_object_get(report, "resolved")));
	fputc('\n', out);

	/* long text: every finding, most severe first */
	for (int rank = 0; rank < 4; rank++)
		json_array_foreach(findings, i, f) {
			const char *sev = str(f, "severity");

			if (strcmp(str(f, "status"), "fail") == 0 && sev_rank(sev) == rank)
				finding_line(out, f, NULL);
		}
}

/* The worst severity rank of a namespace's findings; 4 when none. */
static int worst_rank(const json_t *audit)
{
	const json_t *f;
	int best = 4;
	size_t i;

	json_array_foreach(json_object_get(audit, "findings"), i, f)
		if (!strcmp(str(f, "status"), "fail") && sev_rank(str(f, "severity")) < best)
			best = sev_rank(str(f, "severity"));
	return best;
}

void report_nagios_all(const struct report_ns *v, size_t n, int status, FILE *out)
{
	static const char *const sevs[] = { "critical", "warning", "notice", "info" };
	long long tot[4] = { 0 }, full = 0, nlisteners = 0;
	size_t with = 0, unknown = 0, shown = 0;

	for (size_t k = 0; k < n; k++) {
		const json_t *summary = json_object_get(v[k].audit, "summary"), *l;
		size_t i;

		for (int s = 0; s < 4; s++)
			tot[s] += count(summary, sevs[s]);
		with += worst_rank(v[k].audit) < 4;
		unknown += json_object_size(json_object_get(v[k].audit, "core_unavailable")) != 0;
		json_array_foreach(json_object_get(json_object_get(v[k].facts, "sockets"), "listeners"), i, l) {
			const json_t *q = json_object_get(l, "queue"), *lim = json_object_get(l, "limit");

			nlisteners++;
			if (json_is_integer(q) && json_is_integer(lim) && json_integer_value(q) > json_integer_value(lim))
				full++;
		}
	}
	if (status < 0 || status > 3 || unknown)
		status = 3;
	fprintf(out, "NETKNOBS %s - %zu of %zu network namespaces with findings", state_names[status], with, n);
	if (unknown)
		fprintf(out, ", %zu could not be judged (core facts unreadable)", unknown);
	/* the namespaces, most severe first, at most three */
	for (int rank = 0; rank < 4; rank++)
		for (size_t k = 0; k < n; k++) {
			if (worst_rank(v[k].audit) != rank)
				continue;
			if (shown++ < 3) {
				fputs(shown == 1 ? ": " : "; ", out);
				plugin_text(out, v[k].netns ? v[k].netns : "?");
				fprintf(out, " %lld %s", count(json_object_get(v[k].audit, "summary"), sevs[rank]),
					sevs[rank]);
			}
		}
	if (shown > 3)
		fprintf(out, "; and %zu more", shown - 3);
	fprintf(out, " | critical=%lld;;;0 warning=%lld;;;0 notice=%lld;;;0 info=%lld;;;0", tot[0], tot[1],
		tot[2], tot[3]);
	fprintf(out, " namespaces=%zu;;;0 namespaces_with_findings=%zu;;;0 listeners=%lld;;;0 "
		"listeners_overflowing=%lld;;;0\n", n, with, nlisteners, full);
	for (int rank = 0; rank < 4; rank++)
		for (size_t k = 0; k < n; k++) {
			const json_t *f;
			size_t i;

			json_array_foreach(json_object_get(v[k].audit, "findings"), i, f) {
				const char *sev = str(f, "severity");

				if (strcmp(str(f, "status"), "fail") == 0 && sev_rank(sev) == rank)
					finding_line(out, f, v[k].netns ? v[k].netns : "?");
			}
		}
}

void report_nagios_unknown(FILE *out)
{
	const char *e = log_last_error();

	fputs("NETKNOBS UNKNOWN - ", out);
	plugin_text(out, *e ? e : "could not audit");
	fputc('\n', out);
}
