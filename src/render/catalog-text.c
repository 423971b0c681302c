/* The text of netknobs profiles and netknobs rules, from the documents
 * those commands print with --json, and a rule's source as they show it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "render/text-int.h"
#include "util/escape.h"

void report_profiles_text(const json_t *doc, FILE *out)
{
	const json_t *arr = json_object_get(doc, "profiles"), *p;
	size_t i;

	json_array_foreach(arr, i, p) {
		const json_t *sets = json_object_get(p, "rulesets"), *s, *v;
		const char *desc = json_string_value(json_object_get(p, "description")), *key;
		size_t j;

		fprintf(out, "%s\n", text_str(p, "name"));
		if (desc) {
			fputs("  ", out);
			fputs_safe(desc, out);
			fputc('\n', out);
		}
		fputs("  rule sets:", out);
		json_array_foreach(sets, j, s)
			fprintf(out, " %s", json_string_value(s) ? json_string_value(s) : "");
		fputc('\n', out);
		json_object_foreach((json_t *)json_object_get(p, "variables"), key, v) {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			fprintf(out, "  %s = ", key);
			fputs_safe(t ? t : "?", out);
			fputc('\n', out);
			free(t);
		}
	}
	if (!json_array_size(arr))
		fputs("(no profiles defined)\n", out);
	else
		fputs("\nUse one with: netknobs audit --profile NAME\n", out);
}

void text_source(FILE *out, const char *src)
{
	const char *col = strrchr(src, ':'), *line = NULL;
	char *file;

	for (const char *c = col; c && c > src && !line; c--)
		if (c[-1] == ':')
			line = c - 1;
	if (!line) {
		fputs_safe(src, out);
		return;
	}
	file = strndup(src, (size_t)(line - src));
	fputs_safe(file ? file : "?", out);
	free(file);
	fwrite(line, 1, (size_t)(col - line), out);
}

void report_rules_text(const json_t *doc, FILE *out)
{
	const json_t *arr = json_object_get(doc, "rules"), *ru;
	size_t nrules = json_array_size(arr), i;
	json_int_t nsets = json_integer_value(json_object_get(doc, "ruleset_count"));
	/* the RULE column as wide as the longest id (at most 64) */
	int w = 36;

	json_array_foreach(arr, i, ru)
		if ((int)strlen(text_str(ru, "id")) > w)
			w = (int)strlen(text_str(ru, "id"));
	fprintf(out, "%-*s %-9s %s\n", w, "RULE", "SEVERITY", "STATE (SOURCE)");
	json_array_foreach(arr, i, ru) {
		fprintf(out, "%-*s %-9s ", w, text_str(ru, "id"), text_str(ru, "severity"));
		fputs_safe(text_str(ru, "state"), out);
		fputs(" (", out);
		text_source(out, text_str(ru, "source"));
		fputs(")\n", out);
	}
	fprintf(out, "\n%zu rule%s in %lld rule set%s\n", nrules, nrules == 1 ? "" : "s",
		(long long)nsets, nsets == 1 ? "" : "s");
}
