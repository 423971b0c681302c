/* netknobs audit: collect (or load) the facts, evaluate the rules, render. */
#include "config.h"

#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd-audit.h"
#include "facts/facts.h"
#include "facts/sysctl.h"
#include "render/render.h"
#include "report/history.h"
#include "rules/rules.h"
#include "util/log.h"
#include "util/suggest.h"

int audit_strv_add(struct audit_strv *s, const char *x)
{
	const char **n = realloc(s->v, (s->n + 1) * sizeof(*n));

	if (!n)
		return -1;
	s->v = n;
	s->v[s->n++] = x;
	return 0;
}

const struct cmd_opt audit_options[] = {
	{ "from", 0, "FILE", .val = OPT_AUDIT_FROM,
	  .help = "audit a saved facts document (netknobs facts --json)" },
	{ .group = sample_options },
	{ .group = rule_options },
	{ "profile", 0, "NAME", .val = OPT_AUDIT_PROFILE,
	  .help = "run the rule sets of a profile with its variables\n"
		  "(netknobs profiles lists them)" },
	{ "only", 0, "TAG", .val = OPT_AUDIT_ONLY,
	  .help = "only rules with this tag, from any rule set (opt-in\n"
		  "ones such as hardening included); repeatable; a tag\n"
		  "no loaded rule has is an error" },
	{ "rule", 0, "ID", .val = OPT_AUDIT_RULE, .help = "only this rule; repeatable" },
	{ "fail-on", 0, "SEVERITY", .val = OPT_AUDIT_FAIL_ON,
	  .help = "the lowest severity that makes the exit status\n"
		  "non-zero: info, notice, warning (default), critical" },
	{ 0 },
};

int audit_args_option(struct audit_args *a, int c, const char *arg)
{
	int r = rule_opts_option(&a->ro, c, arg);

	if (r)
		return r;
	if (sample_args_option(&a->sample, c, arg))
		return 1;
	switch (c) {
	case OPT_AUDIT_FROM:
		a->from = arg;
		return 1;
	case OPT_AUDIT_ONLY:
		return audit_strv_add(&a->only, arg) < 0 ? -1 : 1;
	case OPT_AUDIT_RULE:
		return audit_strv_add(&a->ids, arg) < 0 ? -1 : 1;
	case OPT_AUDIT_PROFILE:
		a->profile = arg;
		return 1;
	case OPT_AUDIT_TIMING:
		a->timing = true;
		return 1;
	case 'v':
		a->verbose = true;
		return 1;
	case OPT_AUDIT_FAIL_ON:
		if (severity_parse(arg, &a->fail_on) < 0) {
			log_error("--fail-on %s: expected info, notice, warning or critical", arg);
			return -1;
		}
		return 1;
	}
	return 0;
}

enum { OPT_AUDIT_STATE_DIR = OPT_AUDIT_END };

struct audit_run_args {
	struct audit_args a;
	const char *state_dir;
};

static int audit_opt(int c, const char *arg, void *data)
{
	struct audit_run_args *ra = data;

	if (c == OPT_AUDIT_STATE_DIR) {
		ra->state_dir = arg;
		return 0;
	}
	return audit_args_option(&ra->a, c, arg) == 1 ? 0 : -1;
}

/* The history that report and fix --apply keep in the state directory, read
 * once without changing anything, into the facts of a live audit (of each
 * namespace with --all-netns: the history is kept per namespace). */
struct audit_hist {
	const char *dir;
	bool read;
	json_t *hist, *prev;
};

static int audit_history(json_t *facts, void *data)
{
	struct audit_hist *h = data;
	int r = 0;

	if (!h->read) {
		h->read = true;
		r = history_read_dir(h->dir, &h->hist, &h->prev);
	}
	if (r == 0)
		r = history_add_to_facts(facts, h->hist, h->prev);
	if (r < 0)
		log_error("out of memory");
	return r < 0 ? -1 : 0;
}

double audit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int collect_key(const char *key, void *data)
{
	struct audit_strv *s = data;

	if (!key)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], key))
			return 0;
	return audit_strv_add(s, key) < 0 ? -ENOMEM : 0;
}

void audit_args_free(struct audit_args *a)
{
	rule_opts_free(&a->ro);
	free(a->only.v);
	free(a->ids.v);
	free(a->keys.v);
	a->only.v = a->ids.v = a->keys.v = NULL;
	a->only.n = a->ids.n = a->keys.n = 0;
}

/* --rule IDs must exist: a typo would silently audit nothing. */
static int check_ids(const struct rulebook *rb, const struct audit_strv *ids)
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

/* --only TAGs must be tags of a loaded rule: a typo would select nothing
 * and say "OK". */
static int check_tags(const struct rulebook *rb, const struct audit_strv *tags)
{
	const char **all = NULL;
	size_t n = 0, cap = 0;
	int bad = 0;

	if (!tags->n)
		return 0;
	for (size_t i = 0; i < rb->nrules; i++)
		for (size_t j = 0; j < rb->rules[i].ntags; j++) {
			const char *t = rb->rules[i].tags[j];
			size_t k;

			for (k = 0; k < n && strcmp(all[k], t); k++)
				;
			if (k < n)
				continue;
			if (n == cap) {
				const char **m = realloc(all, (cap = cap ? cap * 2 : 32) * sizeof(*m));

				if (!m) {
					free(all);
					log_error("out of memory");
					return -1;
				}
				all = m;
			}
			all[n++] = t;
		}
	for (size_t i = 0; i < tags->n; i++) {
		const char *s;
		size_t k;

		for (k = 0; k < n && strcmp(all[k], tags->v[i]); k++)
			;
		if (k < n)
			continue;
		s = suggest_closest(tags->v[i], all, n);
		if (s) {
			log_error("--only %s: no loaded rule has this tag; did you mean '%s'?", tags->v[i], s);
		} else {
			char *list = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&list, &len);

			for (size_t t = 0; m && t < n; t++)
				fprintf(m, "%s%s", t ? ", " : "", all[t]);
			if (m)
				fclose(m);
			log_error("--only %s: no loaded rule has this tag (tags: %s)", tags->v[i],
				  list ? list : "none");
			free(list);
		}
		bad = 1;
	}
	free(all);
	return bad ? -1 : 0;
}

const json_t *audit_core_unavailable(const json_t *audit)
{
	const json_t *c = json_object_get(audit, "core_unavailable");

	return json_object_size(c) ? c : NULL;
}

/* Facts without their core (an empty /proc, no descriptors left) give no
 * finding, which must not read as "all is well": the audit says what could
 * not be read and why, its verdict starts with UNKNOWN (report_audit_verdict)
 * and its exit status is 3 (audit_exit_status).  Returns 0 or -ENOMEM. */
static int mark_core_unavailable(json_t *audit, const json_t *facts)
{
	json_t *core = json_deep_copy(json_object_get(facts, "core_unavailable"));
	char *why = NULL;
	size_t wlen = 0;
	FILE *w;
	int n = 0;

	/* a saved document may lack them without saying so */
	if (!core)
		core = json_object();
	if (!core || facts_core_missing(facts, core) < 0) {
		json_decref(core);
		return -ENOMEM;
	}
	if (!json_object_size(core)) {
		json_decref(core);
		return 0;
	}
	w = open_memstream(&why, &wlen);
	if (!w) {
		json_decref(core);
		return -ENOMEM;
	}
	for (size_t i = 0; facts_core_parts[i]; i++) {
		const char *r = json_string_value(json_object_get(core, facts_core_parts[i]));

		if (r)
			fprintf(w, "%s%s (%s)", n++ ? "; " : "", facts_core_part_text(facts_core_parts[i]), r);
	}
	fclose(w);
	log_error("could not read the core facts, so nothing can be judged: %s", why ? why : "?");
	free(why);
	return json_object_set_new(audit, "core_unavailable", core) < 0 ? -ENOMEM : 0;
}

/* The verdict sentence of the text renderer, in the audit document. */
static int set_verdict(json_t *audit)
{
	char *v = report_audit_verdict(audit);
	int r = v ? json_object_set_new(audit, "verdict", json_string(v)) : -1;

	free(v);
	return r < 0 ? -ENOMEM : 0;
}

/* The facts were collected in the namespace found before: --netns NAME
 * may have been pointed elsewhere in between. */
static int where_check(const json_t *facts, struct netns_entry *e)
{
	const char *id = json_string_value(json_object_get(json_object_get(json_object_get(facts, "host"),
									  "netns"), "id"));
	char want[40];

	snprintf(want, sizeof(want), "net:[%llu]", (unsigned long long)e->id.ino);
	if (id && strcmp(id, want) != 0) {
		log_error("--netns: the namespace changed while netknobs entered it (%s, then %s); try again",
			  want, id);
		return -1;
	}
	e->state = NETNS_ENTERED;
	return 0;
}

int audit_rules_setup(const struct globals *g, struct audit_args *a, const char *const *extra_keys,
		      size_t n_extra, struct rulebook *rb)
{
	if (cmd_load_rules(g, &a->ro, rb) < 0)
		return -1;
	if (check_ids(rb, &a->ids) < 0 || check_tags(rb, &a->only) < 0)
		return -1;
	if (a->profile && rulebook_use_profile(rb, a->profile) < 0)
		return -1;
	if (rulebook_sysctl_keys(rb, collect_key, &a->keys) < 0)
		return -1;
	for (size_t i = 0; i < n_extra; i++)
		if (collect_key(extra_keys[i], &a->keys) < 0)
			return -1;
	return 0;
}

json_t *audit_judge(const struct rulebook *rb, const json_t *facts, const struct audit_args *a,
		    const struct netns_entry *where, unsigned *threads)
{
	struct eval_filter filter = { a->only.v, a->only.n, a->ids.v, a->ids.n, a->verbose, threads };
	json_t *audit = rules_evaluate(rb, facts, &filter);

	if (!audit || mark_core_unavailable(audit, facts) < 0 || (where && cmd_netns_advise(audit, where) < 0) ||
	    set_verdict(audit) < 0) {
		json_decref(audit);
		log_error("out of memory");
		return NULL;
	}
	return audit;
}

int audit_begin(const struct globals *g, struct audit_args *a, const char *const *extra_keys, size_t n_extra,
		struct rulebook *rb, bool *rb_loaded, double *t_start, double *t_rules)
{
	*t_start = audit_now_ms();
	/* rules first: a broken rule file stops before touching the system */
	*rb_loaded = true;
	if (audit_rules_setup(g, a, extra_keys, n_extra, rb) < 0)
		return -1;
	*t_rules = audit_now_ms();
	return 0;
}

int audit_pipeline(const struct globals *g, struct audit_args *a, const char *const *extra_keys,
		   size_t n_extra, struct audit_result *res)
{
	memset(res, 0, sizeof(*res));
	if (audit_begin(g, a, extra_keys, n_extra, &res->rb, &res->rb_loaded, &res->t_start, &res->t_rules) < 0)
		return -1;

	/* what the namespace is, seen from where netknobs was started */
	if (g->netns && !a->from && !g->root && cmd_where_locate(g->netns, &res->where) < 0)
		return -1;
	res->facts = cmd_get_facts_sampled(g, a->from, a->keys.v, a->keys.n, FACTS_SOCKETS, &a->sample);
	if (!res->facts)
		return -1;
	if (res->where.e && where_check(res->facts, res->where.e) < 0)
		return -1;
	if (a->facts_hook && a->facts_hook(res->facts, a->facts_hook_data) < 0)
		return -1;
	res->t_facts = audit_now_ms();
	res->audit = audit_judge(&res->rb, res->facts, a, res->where.e, &res->threads);
	res->t_eval = audit_now_ms();
	return res->audit ? 0 : -1;
}

void audit_result_free(struct audit_result *res)
{
	json_decref(res->audit);
	json_decref(res->facts);
	if (res->rb_loaded)
		rulebook_free(&res->rb);
	cmd_where_free(&res->where);
	memset(res, 0, sizeof(*res));
}

int audit_exit_status(const json_t *audit, enum severity fail_on)
{
	const json_t *s = json_object_get(audit, "summary");
	long long crit = json_integer_value(json_object_get(s, "critical"));
	long long warn = json_integer_value(json_object_get(s, "warning"));
	long long notice = json_integer_value(json_object_get(s, "notice"));
	long long info = json_integer_value(json_object_get(s, "info"));
	long long errs = json_integer_value(json_object_get(s, "errors"));

	if (errs || !s || audit_core_unavailable(audit))
		return EXIT_NK_ERROR;
	if (crit && fail_on <= SEV_CRITICAL)
		return EXIT_NK_CRITICAL;
	if ((warn && fail_on <= SEV_WARNING) || (notice && fail_on <= SEV_NOTICE) ||
	    (info && fail_on <= SEV_INFO))
		return EXIT_NK_WARNING;
	return EXIT_NK_OK;
}

/* What the renderers of one audit take. */
struct audit_out {
	const struct globals *g;
	const struct audit_args *a;
	const struct audit_result *res;
};

static int audit_text(const void *ctx, FILE *out)
{
	const struct audit_out *o = ctx;
	struct text_opts to = { .color = color_enabled(o->g, out), .verbose = o->a->verbose,
				.width = terminal_width(out) };

	report_audit_text(o->res->audit, out, &to);
	return 0;
}

static int audit_json(const void *ctx, FILE *out)
{
	return print_json_file(((const struct audit_out *)ctx)->res->audit, out);
}

static int audit_prom(const void *ctx, FILE *out)
{
	const struct audit_out *o = ctx;
	struct prom_opts po = { .duration_s = (audit_now_ms() - o->res->t_start) / 1e3, .timestamp = time(NULL) };

	return report_prom(o->res->audit, o->res->facts, NULL, &po, out);
}

static int audit_nagios(const void *ctx, FILE *out)
{
	const struct audit_out *o = ctx;

	report_nagios(o->res->audit, o->res->facts, NULL, audit_exit_status(o->res->audit, o->a->fail_on), out);
	return 0;
}

static const struct cmd_renderers audit_renderers = { {
	[FORMAT_TEXT] = audit_text, [FORMAT_JSON] = audit_json,
	[FORMAT_PROM] = audit_prom, [FORMAT_NAGIOS] = audit_nagios,
} };

static int audit_run(struct globals *g, int argc, char **argv)
{
	static const char *const extra[] = { STATE_BOOT_ID_KEY };
	struct audit_run_args ra = { .a = { .fail_on = SEV_WARNING } };
	struct audit_hist hist = { NULL, false, NULL, NULL };
	struct audit_args a;
	struct audit_result res;
	int r, ret = EXIT_NK_ERROR;
	double t_render;

	r = cmd_parse(&cmd_audit, g, argc, argv, audit_opt, &ra);
	a = ra.a;
	/* the state directory's history belongs to the system netknobs runs
	 * on: read for a live audit, or when asked for by name */
	if ((!a.from && !g->root) || ra.state_dir) {
		hist.dir = ra.state_dir ? ra.state_dir : cmd_state_dir();
		a.facts_hook = audit_history;
		a.facts_hook_data = &hist;
	}
	if (r < 0) {
		audit_args_free(&a);
		return CMD_PARSE_STATUS(r);
	}

	if (g->all_netns) {
		ret = audit_run_all(g, &a);
		goto out_args;
	}
	if (audit_pipeline(g, &a, extra, a.facts_hook ? 1 : 0, &res) < 0) {
		if (g->format == FORMAT_NAGIOS)
			report_nagios_unknown(stdout);
		goto out;
	}

	if (cmd_render(&audit_renderers, g->format, &(struct audit_out){ g, &a, &res }, stdout) < 0)
		goto out;
	fflush(stdout);
	t_render = audit_now_ms();
	if (a.timing)
		fprintf(stderr, "timing: rules %.1f ms (%zu rules), facts %.1f ms, evaluate %.1f ms "
			"(%u thread%s), render %.1f ms, total %.1f ms\n", res.t_rules - res.t_start,
			res.rb.nrules, res.t_facts - res.t_rules, res.t_eval - res.t_facts, res.threads,
			res.threads == 1 ? "" : "s", t_render - res.t_eval, t_render - res.t_start);
	ret = audit_exit_status(res.audit, a.fail_on);
out:
	audit_result_free(&res);
out_args:
	json_decref(hist.hist);
	json_decref(hist.prev);
	audit_args_free(&a);
	return ret;
}

const struct cmd cmd_audit = {
	.name = "audit",
	.huge_heap = true,
	.summary = "evaluate the rules and say what is wrong and what to set",
	.usage =
		"Usage: netknobs audit [OPTIONS]\n"
		"\n"
		"Collect the facts (or load them with --from), evaluate the rule sets and report:\n"
		"a one-line verdict, then each finding with its subject, observed and\n"
		"recommended values, the reason and the risk, then the merged recommendations\n"
		"as sysctl -w and sysctl.d lines.\n",
	.options = (const struct cmd_opt[]){
		{ .group = audit_options },
		{ "verbose", 'v', .help = "also list passed and not applicable rules" },
		{ "timing", .val = OPT_AUDIT_TIMING,
		  .help = "print how long each phase took on standard error" },
		{ "state-dir", 0, "DIR", .val = OPT_AUDIT_STATE_DIR,
		  .help = "where netknobs report and fix --apply keep their\n"
			  "history, read (not changed) when auditing the live\n"
			  "system (default " DEFAULT_STATE_DIR "), and with\n"
			  "--from when given" },
		{ .label = "--json, --format json", .help = "the audit as JSON (doc/audit-schema.json)" },
		{ .label = "--format prom", .help = "Prometheus text exposition (doc/formats.md)" },
		{ .label = "--format nagios",
		  .help = "a Nagios/Icinga plugin status line with performance\n"
			  "data; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN" },
		{ 0 },
	},
	.notes =
		"Rule sources, in order: the installed rule sets (" PKGDATADIR "/rules) or,\n"
		"when none are installed, the built-in ones; " SYSCONFDIR "/netknobs/rules.d/*.yaml;\n"
		"--rules.  Exit status: 0 nothing at or above --fail-on, 1 warning (or notice/info\n"
		"when --fail-on is lower), 2 critical, 3 could not audit: bad rules or options,\n"
		"or the core facts (sysctls, counters, sockets, sysctl.d) could not be read;\n"
		"the verdict then starts with UNKNOWN and says which and why.\n",
	.run = audit_run,
	.all_netns = true,
	.renderers = &audit_renderers,
};
