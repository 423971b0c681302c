/* The text of netknobs explain, from the document explain --json prints:
 * a sysctl key (kind "key") or a rule (kind "rule"). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "render/text-int.h"
#include "util/escape.h"
#include "util/wrap.h"

/* "  LABEL       TEXT" wrapped, nothing for no text. */
static void explain_par(FILE *out, const char *label, const char *text)
{
	char lab[16];

	if (!text)
		return;
	snprintf(lab, sizeof(lab), "%-11s ", label);
	print_wrapped(out, "  ", lab, text);
}

/* A sysctl's or a counter's value: a list blank-separated, a text escaped. */
static void explain_value(FILE *out, const json_t *v)
{
	char *t = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	if (json_is_array(v)) {
		size_t i;
		const json_t *e;

		json_array_foreach(v, i, e)
			fprintf(out, "%s%lld", i ? " " : "", (long long)json_integer_value(e));
	} else if (json_is_string(v)) {
		fputs_safe(json_string_value(v), out);
	} else {
		fputs_safe(t ? t : "?", out);
	}
	free(t);
}

static const char *explain_scope(const char *scope)
{
	if (!strcmp(scope, "netns"))
		return "per network namespace (a container has its own value)";
	if (!strcmp(scope, "host-shared"))
		return "host-wide (one value, visible in every network namespace)";
	return "host-wide (exists in the initial network namespace only)";
}

static void explain_key_text(const json_t *doc, FILE *out)
{
	const json_t *v = json_object_get(doc, "value"), *una = json_object_get(doc, "unavailable");
	const json_t *users = json_object_get(doc, "rules"), *c, *u;
	const char *scope = json_string_value(json_object_get(doc, "scope")), *name;
	size_t i = 0;

	fprintf(out, "%s\n", text_str(doc, "key"));
	if (json_object_get(doc, "summary")) {
		explain_par(out, "", json_string_value(json_object_get(doc, "summary")));
		explain_par(out, "default:", json_string_value(json_object_get(doc, "default")));
		if (scope)
			fprintf(out, "  %-11s %s\n", "scope:", explain_scope(scope));
		explain_par(out, "notes:", json_string_value(json_object_get(doc, "notes")));
	} else {
		fputs("  (no documentation for this key in the loaded rule sets)\n", out);
	}
	fprintf(out, "  %-11s ", "here:");
	if (v)
		explain_value(out, v);
	else if (una)
		fputs_safe(json_string_value(json_object_get(una, "error")) ?: "unavailable", out);
	else
		fputs("unknown", out);
	fputc('\n', out);
	json_object_foreach((json_t *)json_object_get(doc, "counters"), name, c) {
		fprintf(out, "  %-11s %s = ", i++ ? "" : "counters:", name);
		if (!json_is_null(c))
			explain_value(out, c);
		else
			fputs("n/a", out);
		fputc('\n', out);
	}
	json_array_foreach(users, i, u) {
		fprintf(out, "  %-11s %s (%s): ", i ? "" : "rules:", text_str(u, "id"), text_str(u, "severity"));
		fputs_safe(text_str(u, "title"), out);
		fputc('\n', out);
	}
	if (!json_array_size(users))
		fprintf(out, "  %-11s none of the loaded rules reads it\n", "rules:");
}

/* severity, state, rule set and tags */
static void explain_rule_head(const json_t *doc, FILE *out)
{
	const json_t *tags = json_object_get(doc, "tags"), *t;
	const char *changed = json_string_value(json_object_get(doc, "severity_changed_at"));
	size_t i;

	fprintf(out, "\n  %-11s %s", "severity:", text_str(doc, "severity"));
	if (changed) {
		fprintf(out, " (%s in the rule set; changed at ", text_str(doc, "default_severity"));
		text_source(out, changed);
		fputc(')', out);
	}
	fputc('\n', out);
	fprintf(out, "  %-11s %s%s\n", "state:", json_is_true(json_object_get(doc, "enabled")) ? "enabled" : "disabled",
		json_is_true(json_object_get(doc, "default")) ? "" : " (opt-in: runs with --only, --rule or a profile)");
	fprintf(out, "  %-11s %s, ", "rule set:", text_str(doc, "ruleset"));
	text_source(out, text_str(doc, "source"));
	fputc('\n', out);
	if (json_array_size(tags)) {
		fprintf(out, "  %-11s", "tags:");
		json_array_foreach(tags, i, t)
			fprintf(out, " %s", json_string_value(t) ?: "");
		fputc('\n', out);
	}
}

static void explain_rule_text(const json_t *doc, FILE *out)
{
	const json_t *fe = json_object_get(doc, "foreach"), *recs = json_object_get(doc, "recommend"), *x;
	size_t i;

	/* the rule's text and file names are not ours: escaped */
	fprintf(out, "%s: ", text_str(doc, "id"));
	fputs_safe(text_str(doc, "title"), out);
	explain_rule_head(doc, out);
	if (fe)
		fprintf(out, "  %-11s %s in %s\n", "for each:", text_str(fe, "name"), text_str(fe, "collection"));
	explain_par(out, "applies:", json_string_value(json_object_get(doc, "applies")));
	explain_par(out, "check:", json_string_value(json_object_get(doc, "check")));
	explain_par(out, "message:", json_string_value(json_object_get(doc, "message")));
	json_array_foreach(recs, i, x) {
		fprintf(out, "  %-11s %s %s ", i ? "" : "recommend:", text_str(x, "key"), text_str(x, "mode"));
		fputs_safe(text_str(x, "value"), out);
		fputc('\n', out);
		explain_par(out, "", json_string_value(json_object_get(x, "note")));
	}
	explain_par(out, "why:", json_string_value(json_object_get(doc, "rationale")));
	explain_par(out, "risk:", json_string_value(json_object_get(doc, "risk")));
	json_array_foreach(json_object_get(doc, "references"), i, x)
		explain_par(out, i ? "" : "see:", json_string_value(x));
}

void report_explain_text(const json_t *doc, FILE *out)
{
	if (!strcmp(text_str(doc, "kind"), "rule"))
		explain_rule_text(doc, out);
	else
		explain_key_text(doc, out);
}
