/* netknobs profiles: the profiles the loaded rule files define. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "rules/rules.h"
#include "util/escape.h"
#include "util/log.h"

static int profiles_run(struct globals *g, int argc, char **argv)
{
	struct rulebook rb;
	int r = cmd_rules_command_setup(&cmd_profiles, g, argc, argv, &rb);

	if (r >= 0)
		return r;
	if (g->format == FORMAT_JSON) {
		json_t *out = json_object(), *arr = json_array();

		json_object_set_new(out, "schema_version", json_integer(1));
		for (size_t i = 0; i < rb.nprofiles; i++) {
			const struct profile *p = &rb.profiles[i];
			json_t *sets = json_array();

			for (size_t j = 0; j < p->nrulesets; j++)
				json_array_append_new(sets, json_string(p->rulesets[j]));
			json_array_append_new(arr, json_pack("{s:s,s:s?,s:o,s:O}", "name", p->name, "description",
							     p->description, "rulesets", sets, "variables", p->vars));
		}
		json_object_set_new(out, "profiles", arr);
		r = print_json(out) < 0 ? EXIT_NK_ERROR : EXIT_NK_OK;
		json_decref(out);
		rulebook_free(&rb);
		return r;
	}
	for (size_t i = 0; i < rb.nprofiles; i++) {
		const struct profile *p = &rb.profiles[i];
		const char *key;
		json_t *v;

		printf("%s\n", p->name);
		if (p->description) {
			printf("  ");
			fputs_safe(p->description, stdout);
			putchar('\n');
		}
		printf("  rule sets:");
		for (size_t j = 0; j < p->nrulesets; j++)
			printf(" %s", p->rulesets[j]);
		putchar('\n');
		json_object_foreach(p->vars, key, v) {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			printf("  %s = ", key);
			fputs_safe(t ? t : "?", stdout);
			putchar('\n');
			free(t);
		}
	}
	if (!rb.nprofiles)
		printf("(no profiles defined)\n");
	else
		printf("\nUse one with: netknobs audit --profile NAME\n");
	rulebook_free(&rb);
	return EXIT_NK_OK;
}

const struct cmd cmd_profiles = {
	.name = "profiles",
	.summary = "list the profiles (rule-set selections with variables)",
	.usage =
		"Usage: netknobs profiles [--rules PATH]... [--no-default-rules] [--json]\n"
		"\n"
		"Every profile the loaded rule files define: its rule sets and the variables\n"
		"it sets.  'netknobs audit --profile NAME' runs one.  Without a profile, audit\n"
		"runs every rule set that is not opt-in.\n"
		"\n"
		"Options:\n"
		RULE_OPTIONS_HELP
		"  --json, --format json  as JSON\n",
	.run = profiles_run,
};
