/* Prometheus text exposition (format 0.0.4), for node_exporter's textfile
 * collector: every metric named netknobs_*, with HELP and TYPE lines, label
 * values escaped as the format wants.  The metrics are described in
 * doc/formats.md. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "report/report.h"
#include "util/escape.h"

static const char *const severities[] = { "critical", "warning", "notice", "info" };

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and line feed escaped (the
 * exposition format's only escapes); control characters and invalid UTF-8,
 * which may come from the system, first made visible as C escapes. */
static void label_value(FILE *out, const char *s)
{
	char *d = escape_display(s ? s : "");
	const char *p = d ? d : "";

	for (; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	free(d);
}

static void label(FILE *out, const char *name, const char *value, bool first)
{
	fprintf(out, "%s%s=\"", first ? "" : ",", name);
	label_value(out, value);
	fputc('"', out);
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* Only JSON integers and reals are samples; anything else is left out. */
static bool number(const json_t *v, FILE *out)
{
	if (json_is_integer(v))
		fprintf(out, " %lld\n", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fprintf(out, " %.17g\n", json_real_value(v));
	else
		return false;
	return true;
}

static void findings(FILE *out, const json_t *audit)
{
	const json_t *summary = json_object_get(audit, "summary");
	const json_t *list = json_object_get(audit, "findings"), *f;
	json_t *by_rule = json_object();
	const char *rule;
	json_t *sevs;
	size_t i;

	family(out, "netknobs_findings", "gauge",
	       "Findings of the audit by severity (waived ones are not counted).");
	for (i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
		fprintf(out, "netknobs_findings{severity=\"%s\"} %lld\n", severities[i],
			(long long)json_integer_value(json_object_get(summary, severities[i])));

	/* rule -> severity -> count, in the order of the findings */
	json_array_foreach(list, i, f) {
		json_t *s;

		if (strcmp(str(f, "status"), "fail") != 0 || !by_rule)
			continue;
		s = json_object_get(by_rule, str(f, "rule"));
		if (!s) {
			s = json_object();
			json_object_set_new(by_rule, str(f, "rule"), s);
		}
		json_object_set_new(s, str(f, "severity"),
				    json_integer(json_integer_value(json_object_get(s, str(f, "severity"))) + 1));
	}
	family(out, "netknobs_rule_findings", "gauge",
	       "Findings of the audit by rule and severity; rules without findings are not listed.");
	json_object_foreach(by_rule, rule, sevs) {
		const char *sev;
		json_t *n;

		json_object_foreach(sevs, sev, n) {
			fputs("netknobs_rule_findings{", out);
			label(out, "rule", rule, true);
			label(out, "severity", sev, false);
			fprintf(out, "} %lld\n", (long long)json_integer_value(n));
		}
	}
	json_decref(by_rule);

	family(out, "netknobs_rule_results", "gauge",
	       "Rule results of the audit that are not findings, by status.");
	{
		static const char *const st[] = { "passed", "not_applicable", "waived", "disabled", "errors" };

		for (i = 0; i < sizeof(st) / sizeof(st[0]); i++)
			fprintf(out, "netknobs_rule_results{status=\"%s\"} %lld\n", st[i],
				(long long)json_integer_value(json_object_get(summary, st[i])));
	}
}

static void listener_labels(FILE *out, const json_t *l)
{
	const json_t *procs = json_object_get(l, "processes");
	char port[16], inode[24];

	snprintf(port, sizeof(port), "%lld", (long long)json_integer_value(json_object_get(l, "port")));
	snprintf(inode, sizeof(inode), "%lld", (long long)json_integer_value(json_object_get(l, "inode")));
	fputc('{', out);
	label(out, "family", str(l, "family"), true);
	label(out, "address", str(l, "address"), false);
	label(out, "port", port, false);
	label(out, "inode", inode, false);
	label(out, "process", str(json_array_get(procs, 0), "comm"), false);
	fputc('}', out);
}

static void listeners(FILE *out, const json_t *facts)
{
	static const struct {
		const char *key, *name, *type, *help;
	} m[] = {
		{ "queue", "netknobs_listener_queue", "gauge",
		  "Connections waiting in the accept queue of a listening TCP socket." },
		{ "limit", "netknobs_listener_queue_limit", "gauge",
		  "Accept-queue limit of a listening TCP socket: min(listen() backlog, somaxconn then)." },
		{ "syn_recv", "netknobs_listener_syn_recv", "gauge",
		  "Half-open handshakes (SYN_RECV request sockets) of a listening TCP socket." },
		{ "drops", "netknobs_listener_drops_total", "counter",
		  "Packets dropped by a listening TCP socket since it was opened." },
	};
	const json_t *list = json_object_get(json_object_get(facts, "sockets"), "listeners"), *l;
	size_t i, j;

	for (j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
		bool any = false;

		json_array_foreach(list, i, l)
			if (json_is_integer(json_object_get(l, m[j].key)))
				any = true;
		if (!any)
			continue;
		family(out, m[j].name, m[j].type, m[j].help);
		json_array_foreach(list, i, l) {
			if (!json_is_integer(json_object_get(l, m[j].key)))
				continue;
			fputs(m[j].name, out);
			listener_labels(out, l);
			number(json_object_get(l, m[j].key), out);
		}
	}
}

static void sysctls(FILE *out, const json_t *facts)
{
	const json_t *sys = json_object_get(facts, "sysctl"), *v;
	const char *key;
	bool any = false;

	json_object_foreach((json_t *)sys, key, v)
		if (json_is_integer(v) || json_is_array(v))
			any = true;
	if (!any)
		return;
	family(out, "netknobs_sysctl", "gauge",
	       "Numeric sysctl values the audit read; lists have one sample per position (index).");
	json_object_foreach((json_t *)sys, key, v) {
		if (json_is_integer(v)) {
			fputs("netknobs_sysctl{", out);
			label(out, "key", key, true);
			fputc('}', out);
			number(v, out);
		} else if (json_is_array(v)) {
			const json_t *e;
			size_t i;

			json_array_foreach(v, i, e) {
				char idx[24];

				if (!json_is_integer(e))
					continue;
				snprintf(idx, sizeof(idx), "%zu", i);
				fputs("netknobs_sysctl{", out);
				label(out, "key", key, true);
				label(out, "index", idx, false);
				fputc('}', out);
				number(e, out);
			}
		}
	}
}

static void report_metrics(FILE *out, const json_t *report)
{
	const json_t *counters = json_object_get(report, "counters"), *c;
	size_t i;
	bool any = false;

	family(out, "netknobs_report_new_findings", "gauge", "Findings that were not there at the previous report.");
	fprintf(out, "netknobs_report_new_findings %zu\n", json_array_size(json_object_get(report, "new")));
	family(out, "netknobs_report_resolved_findings", "gauge",
	       "Findings of the previous report that are gone.");
	fprintf(out, "netknobs_report_resolved_findings %zu\n",
		json_array_size(json_object_get(report, "resolved")));
	family(out, "netknobs_report_baseline_reset", "gauge",
	       "1 when the counters started a new baseline (first run, reboot, counters went backwards).");
	fprintf(out, "netknobs_report_baseline_reset %d\n",
		json_is_true(json_object_get(json_object_get(report, "baseline"), "reset")) ? 1 : 0);

	json_array_foreach(counters, i, c)
		if (json_is_number(json_object_get(c, "per_day")))
			any = true;
	if (!any)
		return;
	family(out, "netknobs_report_increase_per_day", "gauge",
	       "Increase of a kernel trouble counter since the previous report, per day.");
	json_array_foreach(counters, i, c) {
		if (!json_is_number(json_object_get(c, "per_day")))
			continue;
		fputs("netknobs_report_increase_per_day{", out);
		label(out, "counter", str(c, "name"), true);
		fputc('}', out);
		number(json_object_get(c, "per_day"), out);
	}
}

/* 1 for each core part of the facts that could not be read: without it the
 * findings above say nothing (alert on netknobs_facts_unavailable == 1). */
static void core(FILE *out, const json_t *audit)
{
	const json_t *c = json_object_get(audit, "core_unavailable");

	family(out, "netknobs_facts_unavailable", "gauge",
	       "1 when these core facts could not be read (the audit then cannot judge; exit status 3).");
	for (size_t i = 0; facts_core_parts[i]; i++)
		fprintf(out, "netknobs_facts_unavailable{part=\"%s\"} %d\n", facts_core_parts[i],
			json_object_get(c, facts_core_parts[i]) != NULL);
}

int report_prom(const json_t *audit, const json_t *facts, const json_t *report,
		const struct prom_opts *o, FILE *out)
{
	findings(out, audit);
	core(out, audit);
	listeners(out, facts);
	sysctls(out, facts);
	if (report)
		report_metrics(out, report);
	family(out, "netknobs_audit_duration_seconds", "gauge",
	       "How long the audit took: rules, facts and evaluation.");
	fprintf(out, "netknobs_audit_duration_seconds %.6f\n", o->duration_s);
	family(out, "netknobs_audit_timestamp_seconds", "gauge", "When the audit ran, Unix time.");
	fprintf(out, "netknobs_audit_timestamp_seconds %lld\n", o->timestamp);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
