/* netknobs lint: check rule and override files without touching the system,
 * loading exactly what audit loads. */
#include "config.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "rules/rules.h"
#include "util/log.h"

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Is the loaded file name one of the paths given, or in a directory
 * given? */
static bool given(const char *name, const struct stat *paths, size_t n)
{
	struct stat st, dst;
	char *dir = strdup(name);
	bool have_dir;

	if (!dir || stat(name, &st) < 0) {
		free(dir);
		return false;
	}
	have_dir = stat(dirname(dir), &dst) == 0;
	free(dir);
	for (size_t i = 0; i < n; i++)
		if (S_ISDIR(paths[i].st_mode) ? have_dir && same_file(&paths[i], &dst)
					      : same_file(&paths[i], &st))
			return true;
	return false;
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* "ok: ..." with what the files given hold, and what audit loads with them. */
static void lint_summary(const struct rulebook *rb, const struct stat *paths, size_t npaths)
{
	size_t files = 0, sets = 0, rules = 0, waivers = 0;
	const char **mine = calloc(rb->nfiles + 1, sizeof(*mine));

	for (size_t i = 0; mine && i < rb->nfiles; i++)
		if (given(rb->files[i], paths, npaths))
			mine[files++] = rb->files[i];
#define MINE(f) ({ bool m_ = false; for (size_t k_ = 0; k_ < files; k_++) m_ |= mine[k_] == (f); m_; })
	for (size_t i = 0; i < rb->nsets; i++)
		sets += MINE(rb->sets[i].file);
	for (size_t i = 0; i < rb->nrules; i++)
		rules += MINE(rb->rules[i].where.file);
	for (size_t i = 0; i < rb->nwaivers; i++)
		waivers += MINE(rb->waivers[i].where.file);
#undef MINE
	free(mine);
	printf("ok: %zu file%s, %zu rule set%s, %zu rule%s, %zu waiver%s", files, plural(files), sets,
	       plural(sets), rules, plural(rules), waivers, plural(waivers));
	if (rb->nfiles > files)
		printf(" (checked with everything audit loads: %zu file%s, %zu rule set%s, %zu rule%s)",
		       rb->nfiles, plural(rb->nfiles), rb->nsets, plural(rb->nsets), rb->nrules,
		       plural(rb->nrules));
	putchar('\n');
}

static int lint_run(struct globals *g, int argc, char **argv)
{
	struct rule_opts o = { 0 };
	struct rulebook rb;
	struct stat *paths;
	size_t n = 0;
	int r, ret = EXIT_NK_ERROR;

	r = cmd_parse(&cmd_lint, g, argc, argv, rule_opts_cb, &o);
	if (r < 0)
		return CMD_PARSE_STATUS(r);
	paths = calloc((size_t)(argc - r), sizeof(*paths));
	if (!paths) {
		log_error("out of memory");
		return EXIT_NK_ERROR;
	}
	for (int i = r; i < argc; i++)
		if (stat(argv[i], &paths[n]) == 0)
			n++;

	/* what audit --rules FILE... loads, in the same order: the installed
	 * or built-in rule sets, rules.d, then the files given (a file
	 * already loaded from rules.d is not loaded twice) */
	rulebook_init(&rb);
	rulebook_load_standard(&rb, g->root, (const char *const *)argv + r, (size_t)(argc - r), o.no_defaults);
	/* and what audit --profile would check, for every profile */
	rulebook_check_profiles(&rb);

	if (rb.errors) {
		fprintf(stderr, "%u error%s\n", rb.errors, rb.errors == 1 ? "" : "s");
	} else {
		lint_summary(&rb, paths, n);
		ret = EXIT_NK_OK;
	}
	rulebook_free(&rb);
	free(paths);
	rule_opts_free(&o);
	return ret;
}

const struct cmd cmd_lint = {
	.name = "lint",
	.operands_min = 1,
	.operands_max = -1,
	.operands = "at least one rule file or directory",
	.huge_heap = true,
	.summary = "check rule and override files (for config-management repositories)",
	.usage =
		"Usage: netknobs lint FILE|DIR... [--no-default-rules]\n"
		"\n"
		"Check rule sets and override files without reading the system, loaded as audit\n"
		"loads them: the installed rule sets (or the built-in ones), the site's rules.d,\n"
		"then the files given, as with 'audit --rules FILE...'.  lint fails where that\n"
		"audit would: YAML syntax, fields, types, expressions, sysctl key syntax, texts\n"
		"holding control characters, dates that do not exist, a rule id, rule set\n"
		"name, profile or documented key defined twice (a file of yours and a\n"
		"built-in one included), overrides and waivers naming rules that do not\n"
		"exist, variables of the wrong type (null, .inf, a string where the rule set\n"
		"has an integer), and profiles naming rule sets or variables that are not\n"
		"loaded.  Every error is reported as FILE:LINE:COLUMN: error: ...\n"
		"A directory means its *.yaml and *.yml files, as for rules.d.\n",
	.options = (const struct cmd_opt[]){
		{ "no-default-rules", .val = OPT_NO_DEFAULT_RULES,
		  .help = "without the installed or built-in rule sets and\n"
			  "rules.d (for a set of rules that replaces them, as\n"
			  "audit --no-default-rules --rules DIR uses it)" },
		{ 0 },
	},
	.notes = "Exit status: 0 no errors, 3 errors.\n",
	.run = lint_run,
};
