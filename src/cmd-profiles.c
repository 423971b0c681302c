/* netknobs profiles: the profiles the loaded rule files define. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "render/render.h"
#include "rules/rules.h"
#include "util/log.h"

/* The document of --json, which the text is rendered from. */
static json_t *profiles_doc(const struct rulebook *rb)
{
	json_t *out = json_object(), *arr = json_array();

	if (!out || !arr || json_object_set_new(out, "schema_version", json_integer(1)) < 0 ||
	    json_object_set_new(out, "profiles", arr) < 0) {
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < rb->nprofiles; i++) {
		const struct profile *p = &rb->profiles[i];
		json_t *sets = json_array();

		for (size_t j = 0; j < p->nrulesets; j++)
			json_array_append_new(sets, json_string(p->rulesets[j]));
		json_array_append_new(arr, json_pack("{s:s,s:s?,s:o,s:O}", "name", p->name, "description",
						     p->description, "rulesets", sets, "variables", p->vars));
	}
	return out;
}

static int profiles_text(const void *doc, FILE *out)
{
	report_profiles_text(doc, out);
	return 0;
}

static const struct cmd_renderers profiles_renderers = { {
	[FORMAT_TEXT] = profiles_text, [FORMAT_JSON] = cmd_render_json,
} };

static int profiles_run(struct globals *g, int argc, char **argv)
{
	struct rulebook rb;
	int r = cmd_rules_command_setup(&cmd_profiles, g, argc, argv, &rb);
	json_t *doc;

	if (r >= 0)
		return r;
	doc = profiles_doc(&rb);
	rulebook_free(&rb);
	return cmd_print_doc(g, &profiles_renderers, doc);
}

const struct cmd cmd_profiles = {
	.name = "profiles",
	.summary = "list the profiles (rule-set selections with variables)",
	.usage =
		"Usage: netknobs profiles [--rules PATH]... [--no-default-rules] [--json]\n"
		"\n"
		"Every profile the loaded rule files define: its rule sets and the variables\n"
		"it sets.  'netknobs audit --profile NAME' runs one.  Without a profile, audit\n"
		"runs every rule set that is not opt-in.\n",
	.options = (const struct cmd_opt[]){
		{ .group = rule_options },
		{ .label = "--json, --format json", .help = "as JSON" },
		{ 0 },
	},
	.run = profiles_run,
	.renderers = &profiles_renderers,
};
