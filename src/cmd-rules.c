/* netknobs rules: every loaded rule, where it comes from and its state. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "render/render.h"
#include "rules/rules.h"
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

/* The document of --json, which the text is rendered from. */
static json_t *rules_doc(const struct rulebook *rb)
{
	json_t *out = json_object(), *arr = json_array();

	if (!out || !arr || json_object_set_new(out, "schema_version", json_integer(1)) < 0 ||
	    json_object_set_new(out, "rules", arr) < 0 ||
	    json_object_set_new(out, "ruleset_count", json_integer((json_int_t)rb->nsets)) < 0) {
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < rb->nrules; i++) {
		const struct rule *ru = &rb->rules[i];
		char state[1024], src[4200];
		json_t *tags = json_array();

		state_of(rb, ru, state, sizeof(state));
		snprintf(src, sizeof(src), "%s:%u:%u", ru->where.file, ru->where.line, ru->where.col);
		for (size_t t = 0; t < ru->ntags; t++)
			json_array_append_new(tags, json_string(ru->tags[t]));
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", ru->id, "ruleset",
						     ru->ruleset, "severity", severity_name(ru->severity),
						     "state", state, "title", ru->title, "source", src, "tags",
						     tags));
	}
	return out;
}

static int rules_text(const void *doc, FILE *out)
{
	report_rules_text(doc, out);
	return 0;
}

static const struct cmd_renderers rules_renderers = { {
	[FORMAT_TEXT] = rules_text, [FORMAT_JSON] = cmd_render_json,
} };

static int rules_run(struct globals *g, int argc, char **argv)
{
	struct rulebook rb;
	int r = cmd_rules_command_setup(&cmd_rules, g, argc, argv, &rb);
	json_t *doc;

	if (r >= 0)
		return r;
	doc = rules_doc(&rb);
	rulebook_free(&rb);
	return cmd_print_doc(g, &rules_renderers, doc);
}

const struct cmd cmd_rules = {
	.name = "rules",
	.summary = "list the loaded rules with their source and state",
	.usage =
		"Usage: netknobs rules [--rules PATH]... [--no-default-rules] [--json]\n"
		"\n"
		"Every loaded rule: id, severity (after overrides), state (enabled, disabled,\n"
		"waived until DATE, waiver expired) and the file and line it comes from.\n",
	.options = (const struct cmd_opt[]){
		{ .group = rule_options },
		{ .label = "--json, --format json", .help = "as JSON" },
		{ 0 },
	},
	.run = rules_run,
	.renderers = &rules_renderers,
};
