/* netknobs rules: every loaded rule, where it comes from and its state. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "rules/rules.h"
#include "util/escape.h"
#include "util/log.h"

/* "enabled", "disabled", "waived until 2027-01-31", "waived for SUBJECT",
 * "waiver expired 2020-01-01" (several joined by "; ") */
static void state_of(const struct rulebook *rb, const struct rule *r, char *buf, size_t len)
{
	size_t off = 0;

	if (r->state == RULE_DISABLED) {
		snprintf(buf, len, "disabled");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < rb->nwaivers && off < len; i++) {
		const struct waiver *w = &rb->waivers[i];
		int n;

		if (strcmp(w->rule_id, r->id) != 0)
			continue;
		if (w->expired)
			n = snprintf(buf + off, len - off, "%swaiver%s%s expired %s", off ? "; " : "",
				     w->subject ? " for " : "", w->subject ? w->subject : "", w->expires);
		else
			n = snprintf(buf + off, len - off, "%swaived%s%s%s%s", off ? "; " : "",
				     w->subject ? " for " : "", w->subject ? w->subject : "",
				     w->expires[0] ? " until " : "", w->expires);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!off)
		snprintf(buf, len, "enabled");
}

static int rules_run(struct globals *g, int argc, char **argv)
{
	struct rulebook rb;
	int r = cmd_rules_command_setup(&cmd_rules, g, argc, argv, &rb);

	if (r >= 0)
		return r;
	if (g->format == FORMAT_JSON) {
		json_t *out = json_object(), *arr = json_array();

		json_object_set_new(out, "schema_version", json_integer(1));
		for (size_t i = 0; i < rb.nrules; i++) {
			const struct rule *ru = &rb.rules[i];
			char state[1024], src[4200];
			json_t *tags = json_array();

			state_of(&rb, ru, state, sizeof(state));
			snprintf(src, sizeof(src), "%s:%u:%u", ru->where.file, ru->where.line, ru->where.col);
			for (size_t t = 0; t < ru->ntags; t++)
				json_array_append_new(tags, json_string(ru->tags[t]));
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", ru->id,
							     "ruleset", ru->ruleset, "severity",
							     severity_name(ru->severity), "state", state,
							     "title", ru->title, "source", src, "tags", tags));
		}
		json_object_set_new(out, "rules", arr);
		r = print_json(out) < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
		json_decref(out);
	} else {
		/* the RULE column as wide as the longest id (at most 64) */
		int w = 36;

		for (size_t i = 0; i < rb.nrules; i++)
			if ((int)strlen(rb.rules[i].id) > w)
				w = (int)strlen(rb.rules[i].id);
		printf("%-*s %-9s %s\n", w, "RULE", "SEVERITY", "STATE (SOURCE)");
		for (size_t i = 0; i < rb.nrules; i++) {
			const struct rule *ru = &rb.rules[i];
			char state[1024];

			state_of(&rb, ru, state, sizeof(state));
			printf("%-*s %-9s ", w, ru->id, severity_name(ru->severity));
			fputs_safe(state, stdout);
			fputs(" (", stdout);
			fputs_safe(ru->where.file, stdout);
			printf(":%u)\n", ru->where.line);
		}
		printf("\n%zu rule%s in %zu rule set%s\n", rb.nrules, rb.nrules == 1 ? "" : "s", rb.nsets,
		       rb.nsets == 1 ? "" : "s");
		r = EXIT_NK_OK;
	}
	rulebook_free(&rb);
	return r;
}

const struct cmd cmd_rules = {
	.name = "rules",
	.summary = "list the loaded rules with their source and state",
	.usage =
		"Usage: netknobs rules [--rules PATH]... [--no-default-rules] [--json]\n"
		"\n"
		"Every loaded rule: id, severity (after overrides), state (enabled, disabled,\n"
		"waived until DATE, waiver expired) and the file and line it comes from.\n"
		"\n"
		"Options:\n"
		RULE_OPTIONS_HELP
		"  --json, --format json  as JSON\n",
	.run = rules_run,
};
