/* netknobs audit: collect (or load) the facts, evaluate the rules, render. */
#include "config.h"

#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "facts/sysctl.h"
#include "report/report.h"
#include "rules/rules.h"
#include "util/log.h"
#include "util/suggest.h"

enum { OPT_FROM = OPT_CMD_BASE, OPT_ONLY, OPT_RULE, OPT_FAIL_ON, OPT_PROFILE, OPT_TIMING };

struct strv {
	const char **v;
	size_t n;
};

static int strv_add(struct strv *s, const char *x)
{
	const char **n = realloc(s->v, (s->n + 1) * sizeof(*n));

	if (!n)
		return -1;
	s->v = n;
	s->v[s->n++] = x;
	return 0;
}

struct audit_args {
	const char *from, *profile;
	struct rule_opts ro;
	struct strv only, ids, keys;
	struct sample_args sample;
	enum severity fail_on;
	bool verbose, timing;
};

static int audit_opt(int c, const char *arg, void *data)
{
	struct audit_args *a = data;
	int r = rule_opts_option(&a->ro, c, arg);

	if (r)
		return r < 0 ? -1 : 0;
	if (sample_args_option(&a->sample, c, arg))
		return 0;
	switch (c) {
	case OPT_FROM:
		a->from = arg;
		return 0;
	case OPT_ONLY:
		return strv_add(&a->only, arg);
	case OPT_RULE:
		return strv_add(&a->ids, arg);
	case OPT_PROFILE:
		a->profile = arg;
		return 0;
	case OPT_TIMING:
		a->timing = true;
		return 0;
	case 'v':
		a->verbose = true;
		return 0;
	case OPT_FAIL_ON:
		if (severity_parse(arg, &a->fail_on) < 0) {
			log_error("--fail-on %s: expected info, notice, warning or critical", arg);
			return -1;
		}
		return 0;
	}
	return -1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int collect_key(const char *key, void *data)
{
	struct strv *s = data;

	if (!key)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], key))
			return 0;
	return strv_add(s, key) < 0 ? -ENOMEM : 0;
}

static void free_args(struct audit_args *a)
{
	rule_opts_free(&a->ro);
	free(a->only.v);
	free(a->ids.v);
	free(a->keys.v);
}

/* --rule IDs must exist: a typo would silently audit nothing. */
static int check_ids(const struct rulebook *rb, const struct strv *ids)
{
	int bad = 0;

	for (size_t i = 0; i < ids->n; i++) {
		const char **all = malloc((rb->nrules + 1) * sizeof(*all));
		bool found = false;
		const char *s;

		if (!all)
			return -1;
		for (size_t j = 0; j < rb->nrules; j++) {
			all[j] = rb->rules[j].id;
			if (!strcmp(all[j], ids->v[i]))
				found = true;
		}
		if (!found) {
			s = suggest_closest(ids->v[i], all, rb->nrules);
			log_error("--rule %s: no such rule%s%s%s", ids->v[i], s ? "; did you mean '" : "",
				  s ? s : "", s ? "'?" : "");
			bad = 1;
		}
		free(all);
	}
	return bad ? -1 : 0;
}

static int audit_run(struct globals *g, int argc, char **argv)
{
	static const struct option own[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "rule", required_argument, NULL, OPT_RULE },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		RULE_LONG_OPTIONS,
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "timing", no_argument, NULL, OPT_TIMING },
		{ "verbose", no_argument, NULL, 'v' },
		SAMPLE_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct audit_args a = { .fail_on = SEV_WARNING };
	struct rulebook rb;
	struct eval_filter filter;
	json_t *facts = NULL, *audit = NULL;
	int r, ret = EXIT_NK_ERROR;
	double t0 = now_ms(), t_rules = 0, t_facts = 0, t_eval = 0, t_render = 0;

	r = cmd_parse(&cmd_audit, g, argc, argv, "v", own, audit_opt, &a);
	if (r < 0) {
		free_args(&a);
		return r == -2 ? EXIT_NK_OK : EXIT_NK_ERROR;
	}
	if (r < argc) {
		log_error("audit: unexpected argument '%s'", argv[r]);
		free_args(&a);
		return EXIT_NK_ERROR;
	}

	/* rules first: a broken rule file stops before touching the system */
	if (cmd_load_rules(g, &a.ro, &rb) < 0)
		goto out;
	if (check_ids(&rb, &a.ids) < 0)
		goto out;
	if (a.profile && rulebook_use_profile(&rb, a.profile) < 0)
		goto out;
	if (rulebook_sysctl_keys(&rb, collect_key, &a.keys) < 0)
		goto out;
	t_rules = now_ms();

	facts = cmd_get_facts_sampled(g, a.from, a.keys.v, a.keys.n, FACTS_SOCKETS, &a.sample);
	if (!facts)
		goto out;
	t_facts = now_ms();
	filter = (struct eval_filter){ a.only.v, a.only.n, a.ids.v, a.ids.n, a.verbose };
	audit = rules_evaluate(&rb, facts, &filter);
	t_eval = now_ms();
	if (!audit) {
		log_error("out of memory");
		goto out;
	}

	if (g->format == FORMAT_JSON) {
		if (print_json(audit) < 0)
			goto out;
	} else {
		struct text_opts to = { .color = color_enabled(g, stdout), .verbose = a.verbose };

		report_audit_text(audit, stdout, &to);
	}
	fflush(stdout);
	t_render = now_ms();
	if (a.timing)
		fprintf(stderr, "timing: rules %.1f ms (%zu rules), facts %.1f ms, evaluate %.1f ms, "
			"render %.1f ms, total %.1f ms\n", t_rules - t0, rb.nrules, t_facts - t_rules,
			t_eval - t_facts, t_render - t_eval, t_render - t0);

	{
		const json_t *s = json_object_get(audit, "summary");
		long long crit = json_integer_value(json_object_get(s, "critical"));
		long long warn = json_integer_value(json_object_get(s, "warning"));
		long long notice = json_integer_value(json_object_get(s, "notice"));
		long long info = json_integer_value(json_object_get(s, "info"));
		long long errs = json_integer_value(json_object_get(s, "errors"));

		if (errs) {
			ret = EXIT_NK_ERROR;
		} else if (crit && a.fail_on <= SEV_CRITICAL) {
			ret = EXIT_NK_CRITICAL;
		} else if ((warn && a.fail_on <= SEV_WARNING) || (notice && a.fail_on <= SEV_NOTICE) ||
			   (info && a.fail_on <= SEV_INFO)) {
			ret = EXIT_NK_WARNING;
		} else {
			ret = EXIT_NK_OK;
		}
	}
out:
	json_decref(audit);
	json_decref(facts);
	rulebook_free(&rb);
	free_args(&a);
	return ret;
}

const struct cmd cmd_audit = {
	.name = "audit",
	.summary = "evaluate the rules and say what is wrong and what to set",
	.usage =
		"Usage: netknobs audit [OPTIONS]\n"
		"\n"
		"Collect the facts (or load them with --from), evaluate the rule sets and report:\n"
		"a one-line verdict, then each finding with its subject, observed and\n"
		"recommended values, the reason and the risk, then the merged recommendations\n"
		"as sysctl -w and sysctl.d lines.\n"
		"\n"
		"Options:\n"
		"  --from FILE            audit a saved facts document (netknobs facts --json)\n"
		SAMPLE_OPTIONS_HELP
		RULE_OPTIONS_HELP
		"  --profile NAME         run the rule sets of a profile with its variables\n"
		"                         (netknobs profiles lists them)\n"
		"  --only TAG             only rules with this tag, from any rule set (opt-in\n"
		"                         ones such as hardening included); repeatable\n"
		"  --rule ID              only this rule; repeatable\n"
		"  --fail-on SEVERITY     the lowest severity that makes the exit status\n"
		"                         non-zero: info, notice, warning (default), critical\n"
		"  -v, --verbose          also list passed and not applicable rules\n"
		"  --timing               print how long each phase took on standard error\n"
		"  --json, --format json  the audit as JSON (doc/audit-schema.json)\n"
		"\n"
		"Rule sources, in order: the installed rule sets (" PKGDATADIR "/rules) or,\n"
		"when none are installed, the built-in ones; " SYSCONFDIR "/netknobs/rules.d/*.yaml;\n"
		"--rules.  Exit status: 0 nothing at or above --fail-on, 1 warning (or notice/info\n"
		"when --fail-on is lower), 2 critical, 3 could not audit.\n",
	.run = audit_run,
};
