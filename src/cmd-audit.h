/* The audit pipeline shared by the commands that audit (audit, report):
 * their common options, rules -> facts -> evaluation, and the exit status
 * the findings give. */
#ifndef NK_CMD_AUDIT_H
#define NK_CMD_AUDIT_H

#include <stdbool.h>
#include <jansson.h>

#include "cmd.h"
#include "cmd-allns.h"
#include "cmd-netns.h"
#include "rules/rules.h"

struct audit_strv {
	const char **v;
	size_t n;
};

/* Options of an audit; zero-initialise, then set fail_on = SEV_WARNING. */
struct audit_args {
	const char *from, *profile;
	struct rule_opts ro;
	struct audit_strv only, ids, keys;   /* keys: sysctl keys to collect (filled by audit_pipeline) */
	struct sample_args sample;          /* --sample, --interval */
	enum severity fail_on;
	bool verbose, timing;
	/* called with the facts before the rules judge them (to add their
	 * history); 0, or -1 (logged) to stop */
	int (*facts_hook)(json_t *facts, void *data);
	/* with --all-netns, when set, called instead with the namespace */
	int (*facts_hook_ns)(const struct netns_entry *e, json_t *facts, void *data);
	void *facts_hook_data;
};

enum {
	OPT_AUDIT_FROM = OPT_CMD_BASE,
	OPT_AUDIT_ONLY,
	OPT_AUDIT_RULE,
	OPT_AUDIT_FAIL_ON,
	OPT_AUDIT_PROFILE,
	OPT_AUDIT_TIMING,
	OPT_AUDIT_END = OPT_CMD_BASE + 0x20, /* commands number their own options from here */
};

/* The options of struct audit_args but --timing and -v/--verbose, as audit
 * and report take them (for audit_args_option()). */
extern const struct cmd_opt audit_options[];

int audit_strv_add(struct audit_strv *s, const char *x);

/* Handle one of audit_options (and --timing, -v): 1 handled, 0 not one of
 * them, -1 bad value (logged) or out of memory. */
int audit_args_option(struct audit_args *a, int c, const char *arg);
void audit_args_free(struct audit_args *a);

/* What audit_pipeline produces; free with audit_result_free. */
struct audit_result {
	struct rulebook rb;
	bool rb_loaded;
	json_t *facts;          /* the facts document */
	json_t *audit;          /* rules_evaluate()'s document */
	double t_start, t_rules, t_facts, t_eval;  /* CLOCK_MONOTONIC, ms */
	unsigned threads;       /* that evaluated the rules */
	struct cmd_where where; /* --netns: the namespace (where.e), else empty */
};

/* The start of a pipeline: the clock, then the rules (a broken rule file
 * stops before the system is read).  0, or -1 (logged); the rule book
 * must be freed either way (*rb_loaded). */
int audit_begin(const struct globals *g, struct audit_args *a, const char *const *extra_keys, size_t n_extra,
		struct rulebook *rb, bool *rb_loaded, double *t_start, double *t_rules);

/* Load the rules (a broken rule file stops before the system is read),
 * collect or load the facts (with the rules' sysctl keys and the extra
 * ones), evaluate.  With --netns, the recommendations say where they apply
 * (cmd_netns_advise()).  Returns 0, or -1 (logged); res must be freed
 * either way. */
int audit_pipeline(const struct globals *g, struct audit_args *a, const char *const *extra_keys,
		   size_t n_extra, struct audit_result *res);
void audit_result_free(struct audit_result *res);

/* The first half of audit_pipeline(): load the rules (rb is initialised
 * here and must be freed either way), check --rule, --only and --profile,
 * and gather in a->keys the sysctl keys they read and the extra ones.
 * 0, or -1 (logged). */
int audit_rules_setup(const struct globals *g, struct audit_args *a, const char *const *extra_keys,
		      size_t n_extra, struct rulebook *rb);

/* The rules' judgement of one facts document: the audit document, marked
 * when the core facts are missing, its advice for the namespace where
 * (when not NULL: cmd_netns_advise()).  NULL when out of memory (logged). */
json_t *audit_judge(const struct rulebook *rb, const json_t *facts, const struct audit_args *a,
		    const struct netns_entry *where, unsigned *threads);

/* The core facts an audit document could not use (the facts'
 * "core_unavailable": part -> why), or NULL when there were all there. */
const json_t *audit_core_unavailable(const json_t *audit);

/* The exit status the findings of an audit document give with fail_on:
 * EXIT_NK_ERROR (3) when the core facts could not be read, whatever the
 * findings. */
int audit_exit_status(const json_t *audit, enum severity fail_on);

/* CLOCK_MONOTONIC in milliseconds. */
double audit_now_ms(void);

/* ---- every network namespace (--all-netns, cmd-audit-all.c) ---- */

struct audit_all {
	struct rulebook rb;
	bool rb_loaded;
	struct allns ns;        /* the namespaces and what became of them */
	double t_start, t_rules, t_facts, t_eval;       /* ms; t_eval: end of the judging */
	unsigned threads;
};

/* Called for each namespace entered, in the list's order, with its facts
 * and audit document (both freed after the call) and the exit status its
 * findings give.  0, or -1 (logged) to stop. */
typedef int (*audit_each_fn)(struct audit_all *all, size_t i, json_t *facts, json_t *audit, int status,
			     void *arg);

/* audit_pipeline() over every network namespace: the rules loaded once,
 * the facts of all namespaces collected (allns_collect()), then each
 * judged in turn, its advice for where it applies, and handed to fn.
 * Returns 0, or -1 (logged); res must be freed either way. */
int audit_pipeline_all(const struct globals *g, struct audit_args *a, const char *const *extra_keys,
		       size_t n_extra, struct audit_all *res, audit_each_fn fn, void *arg);
void audit_all_free(struct audit_all *res);

/* How bad a namespace's audit is, for ordering: 0 could not be judged
 * (core facts, rule errors), 1 critical, 2 warning, 3 notice, 4 info,
 * 5 nothing. */
int audit_rank(const json_t *audit);

/* The parts of an audit and its facts that the Prometheus and Nagios
 * renderers read (new references; NULL when out of memory): a run over
 * many namespaces keeps these instead of the whole documents. */
json_t *audit_small_audit(const json_t *audit);
json_t *audit_small_facts(const json_t *facts);

/* What the output of one namespace keeps (audit and report --all-netns),
 * by format: JSON the text of its element {"netns", KEY: DOC}; Prometheus
 * and Nagios (and any format with parts: a textfile besides) the parts of
 * its audit and facts the renderers read; text its section, made by
 * section(e, arg) when that is given. */
struct audit_kept {
	size_t i;               /* the namespace */
	int rank;               /* audit_rank() */
	char *text;
	json_t *audit, *facts;
};
typedef char *(*audit_section_fn)(const struct netns_entry *e, const void *arg);
/* Fill k for namespace i of all.  0, or -ENOMEM (k freed). */
int audit_keep(struct audit_kept *k, enum output_format format, bool parts, const struct audit_all *all,
	       size_t i, const json_t *facts, const json_t *audit, const char *key, const json_t *doc,
	       audit_section_fn section, const void *arg);
void audit_kept_free(struct audit_kept *k);

/* Prometheus (nagios false) or Nagios over n kept namespaces, the k-th
 * given by at(arg, k, &report) with its report document (report
 * --all-netns) or none; status: Nagios's.  0 or -errno. */
typedef const struct audit_kept *(*audit_kept_at_fn)(const void *arg, size_t k, const json_t **report);
int audit_all_render(const struct audit_all *all, size_t n, audit_kept_at_fn at, const void *arg, FILE *out,
		     bool nagios, int status);

/* netknobs audit --all-netns, after the options: the exit status. */
int audit_run_all(const struct globals *g, struct audit_args *a);

#endif
