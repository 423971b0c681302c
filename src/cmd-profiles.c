/* netknobs profiles: the profiles the loaded rule files define. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "rules/rules.h"
#include "util/escape.h"
#include "util/log.h"

struct profiles_args {
	const char **paths;
	size_t n;
	bool no_defaults;
};

static int profiles_opt(int c, const char *arg, void *data)
{
	struct profiles_args *a = data;
	const char **n;

	if (c == OPT_CMD_BASE + 1) {
		a->no_defaults = true;
		return 0;
	}
	if (c != OPT_CMD_BASE || !(n = realloc(a->paths, (a->n + 1) * sizeof(*n))))
		return -1;
	a->paths = n;
	a->paths[a->n++] = arg;
	return 0;
}

static int profiles_run(struct globals *g, int argc, char **argv)
{
	static const struct option own[] = {
		{ "rules", required_argument, NULL, OPT_CMD_BASE },
		{ "no-default-rules", no_argument, NULL, OPT_CMD_BASE + 1 },
		{ NULL, 0, NULL, 0 },
	};
	struct profiles_args a = { 0 };
	struct rulebook rb;
	int r;

	r = cmd_parse(&cmd_profiles, g, argc, argv, NULL, own, profiles_opt, &a);
	if (r < 0 || r < argc) {
		if (r >= 0)
			log_error("profiles: unexpected argument '%s'", argv[r]);
		free(a.paths);
		return r == -2 ? EXIT_NK_OK : EXIT_NK_ERROR;
	}
	rulebook_init(&rb);
	rulebook_load_standard(&rb, g->root, a.paths, a.n, a.no_defaults);
	free(a.paths);
	if (rb.errors) {
		log_error("%u error%s in the rules (see 'netknobs lint')", rb.errors, rb.errors == 1 ? "" : "s");
		rulebook_free(&rb);
		return EXIT_NK_ERROR;
	}
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
		"runs every rule set that is not opt-in.\n",
	.run = profiles_run,
};
