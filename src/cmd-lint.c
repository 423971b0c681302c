/* netknobs lint: check rule and override files without touching the system. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "rules/rules.h"
#include "util/log.h"

static int lint_run(struct globals *g, int argc, char **argv)
{
	struct rulebook rb, known;
	int r;

	r = cmd_parse(&cmd_lint, g, argc, argv, NULL, NULL, NULL, NULL);
	if (r < 0)
		return r == -2 ? EXIT_NK_OK : EXIT_NK_ERROR;
	if (r >= argc) {
		log_error("lint: name at least one rule file or directory");
		fprintf(stderr, "Try '%s lint --help'.\n", program_name);
		return EXIT_NK_ERROR;
	}
	rulebook_init(&rb);
	for (int i = r; i < argc; i++)
		rulebook_load_path(&rb, argv[i]);

	/* overrides may name rules of the standard rule sets: resolve them
	 * there, quietly (their own errors are not this lint's business) */
	rulebook_init(&known);
	log_quiet(1);
	rulebook_load_standard(&known, g->root, NULL, 0, false);
	log_quiet(0);
	rulebook_finish_with(&rb, &known);
	rulebook_free(&known);

	if (rb.errors) {
		fprintf(stderr, "%u error%s\n", rb.errors, rb.errors == 1 ? "" : "s");
		rulebook_free(&rb);
		return EXIT_NK_ERROR;
	}
	printf("ok: %zu file%s, %zu rule set%s, %zu rule%s, %zu waiver%s\n", rb.nfiles,
	       rb.nfiles == 1 ? "" : "s", rb.nsets, rb.nsets == 1 ? "" : "s", rb.nrules,
	       rb.nrules == 1 ? "" : "s", rb.nwaivers, rb.nwaivers == 1 ? "" : "s");
	rulebook_free(&rb);
	return EXIT_NK_OK;
}

const struct cmd cmd_lint = {
	.name = "lint",
	.summary = "check rule and override files (for config-management repositories)",
	.usage =
		"Usage: netknobs lint FILE|DIR...\n"
		"\n"
		"Check rule sets and override files without reading the system: YAML syntax,\n"
		"fields, types, expressions, sysctl key syntax, duplicate ids, overrides and\n"
		"waivers naming rules that do not exist (the installed rule sets count as\n"
		"known).  Every error is reported as FILE:LINE:COLUMN: error: ...\n"
		"A directory means its *.yaml and *.yml files.\n"
		"\n"
		"Exit status: 0 no errors, 3 errors.\n",
	.run = lint_run,
};
