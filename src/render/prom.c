/* Prometheus text exposition (format 0.0.4), for node_exporter's textfile
 * collector: every metric named netknobs_*, with HELP and TYPE lines, label
 * values escaped as the format wants.  The metrics are described in
 * doc/formats.md. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "facts/facts.h"
#include "render/render.h"
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

/* A series' name and labels: the namespace's first (--all-netns), then
 * the series' own. */
struct series {
	FILE *out;
	bool open;
};

static void series_begin(struct series *s, FILE *out, const char *metric, const struct report_ns *ns)
{
	s->out = out;
	s->open = false;
	fputs(metric, out);
	if (ns->netns) {
		fputc('{', out);
		label(out, "netns", ns->netns, true);
		label(out, "netns_kind", ns->kind, false);
		s->open = true;
	}
}

static void series_label(struct series *s, const char *name, const char *value)
{
	if (!s->open)
		fputc('{', s->out);
	label(s->out, name, value, !s->open);
	s->open = true;
}

static void series_end(struct series *s)
{
	if (s->open)
		fputc('}', s->out);
}

/* One series per key of the audit's summary, labelled name=KEY. */
static void summary_series(FILE *out, const char *metric, const struct report_ns *ns, const char *name,
			   const char *const *keys, size_t nkeys)
{
	const json_t *summary = json_object_get(ns->audit, "summary");

	for (size_t i = 0; i < nkeys; i++) {
		struct series s;

		series_begin(&s, out, metric, ns);
		series_label(&s, name, keys[i]);
		series_end(&s);
		fprintf(out, " %lld\n", (long long)json_integer_value(json_object_get(summary, keys[i])));
	}
}

static void findings(FILE *out, const struct report_ns *v, size_t n)
{
	family(out, "netknobs_findings", "gauge",
	       "Findings of the audit by severity (waived ones are not counted).");
	for (size_t k = 0; k < n; k++)
		summary_series(out, "netknobs_findings", &v[k], "severity", severities,
			       sizeof(severities) / sizeof(severities[0]));

	family(out, "netknobs_rule_findings", "gauge",
	       "Findings of the audit by rule and severity; rules without findings are not listed.");
	for (size_t k = 0; k < n; k++) {
		const json_t *list = json_object_get(v[k].audit, "findings"), *f;
		json_t *by_rule = json_object(), *sevs;
		const char *rule;
		size_t i;

		/* rule -> severity -> count, in the order of the findings */
		json_array_foreach(list, i, f) {
			json_t *c;

			if (strcmp(str(f, "status"), "fail") != 0 || !by_rule)
				continue;
			c = json_object_get(by_rule, str(f, "rule"));
			if (!c) {
				c = json_object();
				json_object_set_new(by_rule, str(f, "rule"), c);
			}
			json_object_set_new(c, str(f, "severity"),
					    json_integer(json_integer_value(json_object_get(c, str(f, "severity"))) + 1));
		}
		json_object_foreach(by_rule, rule, sevs) {
			const char *sev;
			json_t *cnt;

			json_object_foreach(sevs, sev, cnt) {
				struct series s;

				series_begin(&s, out, "netknobs_rule_findings", &v[k]);
				series_label(&s, "rule", rule);
				series_label(&s, "severity", sev);
				series_end(&s);
				fprintf(out, " %lld\n", (long long)json_integer_value(cnt));
			}
		}
		json_decref(by_rule);
	}

	family(out, "netknobs_rule_results", "gauge",
	       "Rule results of the audit that are not findings, by status.");
	for (size_t k = 0; k < n; k++) {
		static const char *const st[] = { "passed", "not_applicable", "waived", "disabled", "errors" };

		summary_series(out, "netknobs_rule_results", &v[k], "status", st, sizeof(st) / sizeof(st[0]));
	}
}

static void listener_series(struct series *s, FILE *out, const char *metric, const struct report_ns *ns,
			    const json_t *l)
{
	const json_t *procs = json_object_get(l, "processes");
	char port[16], inode[24];

	snprintf(port, sizeof(port), "%lld", (long long)json_integer_value(json_object_get(l, "port")));
	snprintf(inode, sizeof(inode), "%lld", (long long)json_integer_value(json_object_get(l, "inode")));
	series_begin(s, out, metric, ns);
	series_label(s, "family", str(l, "family"));
	series_label(s, "address", str(l, "address"));
	series_label(s, "port", port);
	series_label(s, "inode", inode);
	series_label(s, "process", str(json_array_get(procs, 0), "comm"));
	series_end(s);
}

static const json_t *listeners_of(const json_t *facts)
{
	return json_object_get(json_object_get(facts, "sockets"), "listeners");
}

static void listeners(FILE *out, const struct report_ns *v, size_t n)
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
	const json_t *l;
	size_t i, j;

	for (j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
		bool any = false;

		for (size_t k = 0; k < n; k++)
			json_array_foreach(listeners_of(v[k].facts), i, l)
				if (json_is_integer(json_object_get(l, m[j].key)))
					any = true;
		if (!any)
			continue;
		family(out, m[j].name, m[j].type, m[j].help);
		for (size_t k = 0; k < n; k++)
			json_array_foreach(listeners_of(v[k].facts), i, l) {
				struct series s;

				if (!json_is_integer(json_object_get(l, m[j].key)))
					continue;
				listener_series(&s, out, m[j].name, &v[k], l);
				number(json_object_get(l, m[j].key), out);
			}
	}
}

static void sysctls_of(FILE *out, const struct report_ns *ns)
{
	const json_t *sys = json_object_get(ns->facts, "sysctl"), *v;
	const char *key;

	json_object_foreach((json_t *)sys, key, v) {
		struct series s;

		if (json_is_integer(v)) {
			series_begin(&s, out, "netknobs_sysctl", ns);
			series_label(&s, "key", key);
			series_end(&s);
			number(v, out);
		} else if (json_is_array(v)) {
			const json_t *e;
			size_t i;

			json_array_foreach(v, i, e) {
				char idx[24];

				if (!json_is_integer(e))
					continue;
				snprintf(idx, sizeof(idx), "%zu", i);
				series_begin(&s, out, "netknobs_sysctl", ns);
				series_label(&s, "key", key);
				series_label(&s, "index", idx);
				series_end(&s);
				number(e, out);
			}
		}
	}
}

static void sysctls(FILE *out, const struct report_ns *v, size_t n)
{
	const json_t *x;
	const char *key;
	bool any = false;

	for (size_t k = 0; k < n; k++)
		json_object_foreach((json_t *)json_object_get(v[k].facts, "sysctl"), key, x)
			if (json_is_integer(x) || json_is_array(x))
				any = true;
	if (!any)
		return;
	family(out, "netknobs_sysctl", "gauge",
	       "Numeric sysctl values the audit read; lists have one sample per position (index).");
	for (size_t k = 0; k < n; k++)
		sysctls_of(out, &v[k]);
}

/* A gauge with one sample per namespace and no label of its own. */
static void per_ns(FILE *out, const char *metric, const struct report_ns *ns, long long value)
{
	struct series s;

	series_begin(&s, out, metric, ns);
	series_end(&s);
	fprintf(out, " %lld\n", value);
}

static void report_metrics(FILE *out, const struct report_ns *v, size_t n)
{
	const json_t *c;
	size_t i;
	bool any = false, reports = false;

	for (size_t k = 0; k < n; k++)
		reports |= v[k].report != NULL;
	if (!reports)
		return;
	family(out, "netknobs_report_new_findings", "gauge", "Findings that were not there at the previous report.");
	for (size_t k = 0; k < n; k++)
		if (v[k].report)
			per_ns(out, "netknobs_report_new_findings", &v[k],
			       (long long)json_array_size(json_object_get(v[k].report, "new")));
	family(out, "netknobs_report_resolved_findings", "gauge",
	       "Findings of the previous report that are gone.");
	for (size_t k = 0; k < n; k++)
		if (v[k].report)
			per_ns(out, "netknobs_report_resolved_findings", &v[k],
			       (long long)json_array_size(json_object_get(v[k].report, "resolved")));
	family(out, "netknobs_report_baseline_reset", "gauge",
	       "1 when the counters started a new baseline (first run, reboot, counters went backwards).");
	for (size_t k = 0; k < n; k++)
		if (v[k].report)
			per_ns(out, "netknobs_report_baseline_reset", &v[k],
			       json_is_true(json_object_get(json_object_get(v[k].report, "baseline"), "reset")));

	for (size_t k = 0; k < n; k++)
		json_array_foreach(json_object_get(v[k].report, "counters"), i, c)
			if (json_is_number(json_object_get(c, "per_day")))
				any = true;
	if (!any)
		return;
	family(out, "netknobs_report_increase_per_day", "gauge",
	       "Increase of a kernel trouble counter since the previous report, per day.");
	for (size_t k = 0; k < n; k++)
		json_array_foreach(json_object_get(v[k].report, "counters"), i, c) {
			struct series s;

			if (!json_is_number(json_object_get(c, "per_day")))
				continue;
			series_begin(&s, out, "netknobs_report_increase_per_day", &v[k]);
			series_label(&s, "counter", str(c, "name"));
			series_end(&s);
			number(json_object_get(c, "per_day"), out);
		}
}

/* 1 for each core part of the facts that could not be read: without it the
 * findings above say nothing (alert on netknobs_facts_unavailable == 1). */
static void core(FILE *out, const struct report_ns *v, size_t n)
{
	family(out, "netknobs_facts_unavailable", "gauge",
	       "1 when these core facts could not be read (the audit then cannot judge; exit status 3).");
	for (size_t k = 0; k < n; k++) {
		const json_t *c = json_object_get(v[k].audit, "core_unavailable");

		for (size_t i = 0; facts_core_parts[i]; i++) {
			struct series s;

			series_begin(&s, out, "netknobs_facts_unavailable", &v[k]);
			series_label(&s, "part", facts_core_parts[i]);
			series_end(&s);
			fprintf(out, " %d\n", json_object_get(c, facts_core_parts[i]) != NULL);
		}
	}
}

/* --all-netns: how many namespaces were entered, gone, denied, not entered. */
static void namespaces(FILE *out, const unsigned long *states)
{
	static const char *const names[] = { "entered", "gone", "denied", "not_entered" };

	family(out, "netknobs_network_namespaces", "gauge",
	       "Network namespaces of the run (--all-netns) by what became of them.");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		fprintf(out, "netknobs_network_namespaces{state=\"%s\"} %lu\n", names[i], states[i]);
}

int report_prom_all(const struct report_ns *v, size_t n, const struct prom_opts *o, FILE *out)
{
	findings(out, v, n);
	core(out, v, n);
	listeners(out, v, n);
	sysctls(out, v, n);
	report_metrics(out, v, n);
	if (o->netns_states)
		namespaces(out, o->netns_states);
	family(out, "netknobs_audit_duration_seconds", "gauge",
	       "How long the audit took: rules, facts and evaluation.");
	fprintf(out, "netknobs_audit_duration_seconds %.6f\n", o->duration_s);
	family(out, "netknobs_audit_timestamp_seconds", "gauge", "When the audit ran, Unix time.");
	fprintf(out, "netknobs_audit_timestamp_seconds %lld\n", o->timestamp);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}

int report_prom(const json_t *audit, const json_t *facts, const json_t *report,
		const struct prom_opts *o, FILE *out)
{
	struct report_ns one = { NULL, NULL, audit, facts, report };

	return report_prom_all(&one, 1, o, out);
}
