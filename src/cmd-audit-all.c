/* The audit of every network namespace (--all-netns): the pipeline that
 * audit and report share, and the audit command's output.
 *
 * Output: the namespaces with findings first (the worst first, the host
 * before the others), each under a title with its findings and advice
 * for where it applies; one line for the quiet ones; those gone during the
 * run or not entered, with the reason.  JSON: one audit document per
 * namespace under a top-level object (doc/audit-schema.json, allns).  The
 * exit status is the worst over all namespaces. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmd-audit.h"
#include "render/render.h"
#include "report/state.h"
#include "util/log.h"

int audit_pipeline_all(const struct globals *g, struct audit_args *a, const char *const *extra_keys,
		       size_t n_extra, struct audit_all *res, audit_each_fn fn, void *arg)
{
	struct allns_opts o;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (audit_begin(g, a, extra_keys, n_extra, &res->rb, &res->rb_loaded, &res->t_start, &res->t_rules) < 0)
		return -1;
	o = (struct allns_opts){ .from = a->from, .keys = a->keys.v, .nkeys = a->keys.n, .sample = &a->sample };
	if (allns_collect(g, &o, &res->ns) < 0)
		return -1;
	res->t_facts = audit_now_ms();
	for (size_t i = 0; i < res->ns.n && r == 0; i++) {
		const struct netns_entry *e = res->ns.ns[i].e;
		bool oom;
		json_t *facts = allns_facts(&res->ns, i, &oom), *audit = NULL;

		if (!facts) {
			r = oom ? -1 : 0;
			continue;
		}
		if (a->facts_hook_ns)
			r = a->facts_hook_ns(e, facts, a->facts_hook_data);
		else if (a->facts_hook)
			r = a->facts_hook(facts, a->facts_hook_data);
		if (r == 0 && !(audit = audit_judge(&res->rb, facts, a, e, &res->threads)))
			r = -1;
		if (r == 0)
			r = fn(res, i, facts, audit, audit_exit_status(audit, a->fail_on), arg);
		json_decref(audit);
		json_decref(facts);
	}
	res->t_eval = audit_now_ms();
	return r < 0 ? -1 : 0;
}

void audit_all_free(struct audit_all *res)
{
	if (res->rb_loaded)
		rulebook_free(&res->rb);
	allns_free(&res->ns);
	memset(res, 0, sizeof(*res));
}

int audit_rank(const json_t *audit)
{
	static const char *const sev[] = { "critical", "warning", "notice", "info" };
	const json_t *s = json_object_get(audit, "summary");

	if (audit_core_unavailable(audit) || json_integer_value(json_object_get(s, "errors")))
		return 0;
	for (int i = 0; i < 4; i++)
		if (json_integer_value(json_object_get(s, sev[i])))
			return i + 1;
	return 5;
}

json_t *audit_small_audit(const json_t *audit)
{
	json_t *o = json_object(), *fs = json_array(), *f;
	size_t i;
	int err = !o || !fs;

	json_array_foreach(json_object_get(audit, "findings"), i, f)
		err |= json_array_append_new(fs, json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?}", "rule",
							   json_object_get(f, "rule"), "severity",
							   json_object_get(f, "severity"), "status",
							   json_object_get(f, "status"), "title",
							   json_object_get(f, "title"), "subject",
							   json_object_get(f, "subject")));
	err |= json_object_set_new(o, "findings", fs);
	fs = NULL;
	err |= json_object_set(o, "summary", json_object_get(audit, "summary") ?: json_null());
	if (json_object_get(audit, "core_unavailable"))
		err |= json_object_set(o, "core_unavailable", json_object_get(audit, "core_unavailable"));
	if (err) {
		json_decref(fs);
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *audit_small_facts(const json_t *facts)
{
	static const char *const keep[] = { "family", "address", "port", "inode", "queue", "limit", "syn_recv",
					    "drops" };
	const json_t *l;
	json_t *ls = json_array(), *o;
	size_t i;
	int err = !ls;

	json_array_foreach(json_object_get(json_object_get(facts, "sockets"), "listeners"), i, l) {
		json_t *x = json_object();
		const json_t *comm = json_object_get(json_array_get(json_object_get(l, "processes"), 0), "comm");

		err |= !x;
		for (size_t k = 0; x && k < sizeof(keep) / sizeof(keep[0]); k++)
			if (json_object_get(l, keep[k]))
				err |= json_object_set(x, keep[k], json_object_get(l, keep[k]));
		if (x && comm)
			err |= json_object_set_new(x, "processes", json_pack("[{s:O}]", "comm", comm));
		err |= json_array_append_new(ls, x);
	}
	o = json_pack("{s:O?,s:{s:o}}", "sysctl", json_object_get(facts, "sysctl"), "sockets", "listeners", ls);
	if (err || !o) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- the audit command ---- */

struct all_out {
	const struct globals *g;
	const struct audit_args *a;
	struct audit_kept *v;
	size_t n;
	int status;             /* the worst */
};

struct section_args {
	const json_t *audit;
	const struct text_opts *to;
};

static int audit_body(FILE *out, const void *arg)
{
	const struct section_args *s = arg;

	report_audit_text(s->audit, out, s->to);
	return 0;
}

struct keep_args {
	const struct all_out *o;
	const json_t *audit;
};

static char *section_text(const struct netns_entry *e, const void *arg)
{
	const struct keep_args *k = arg;
	struct text_opts to = { .color = color_enabled(k->o->g, stdout), .verbose = k->o->a->verbose,
				.section = true, .width = terminal_width(stdout) };
	struct section_args s = { k->audit, &to };

	return allns_section(e, audit_body, &s);
}

int audit_keep(struct audit_kept *k, enum output_format format, bool parts, const struct audit_all *all,
	       size_t i, const json_t *facts, const json_t *audit, const char *key, const json_t *doc,
	       audit_section_fn section, const void *arg)
{
	const struct netns_entry *e = all->ns.ns[i].e;
	bool renderers = format == FORMAT_PROM || format == FORMAT_NAGIOS;

	*k = (struct audit_kept){ .i = i, .rank = audit_rank(audit) };
	if (parts || renderers) {
		k->audit = audit_small_audit(audit);
		k->facts = audit_small_facts(facts);
		if (!k->audit || !k->facts)
			goto oom;
	}
	if (format == FORMAT_JSON)
		k->text = allns_element_text(e, key, doc);
	else if (!renderers && section)
		k->text = section(e, arg);
	else
		return 0;
	if (k->text)
		return 0;
oom:
	audit_kept_free(k);
	return -ENOMEM;
}

void audit_kept_free(struct audit_kept *k)
{
	free(k->text);
	json_decref(k->audit);
	json_decref(k->facts);
	memset(k, 0, sizeof(*k));
}

static int keep_one(struct audit_all *all, size_t i, json_t *facts, json_t *audit, int status, void *arg)
{
	struct all_out *o = arg;
	struct keep_args ka = { o, audit };

	if (!o->v && !(o->v = calloc(all->ns.n ? all->ns.n : 1, sizeof(*o->v)))) {
		log_error("out of memory");
		return -1;
	}
	if (status > o->status)
		o->status = status;
	if (audit_keep(&o->v[o->n], o->g->format, false, all, i, facts, audit, "audit", audit,
		       audit_rank(audit) < 5 ? section_text : NULL, &ka) < 0) {
		log_error("out of memory");
		return -1;
	}
	o->n++;
	return 0;
}

/* The order of the output: the host first when it has findings (in JSON
 * always), then the worst first, then by name. */
struct order {
	const struct allns *ns;
	bool host_always;
};

static int out_cmp(const void *pa, const void *pb, void *arg)
{
	const struct audit_kept *a = pa, *b = pb;
	const struct order *ord = arg;
	const struct netns_entry *x = ord->ns->ns[a->i].e, *y = ord->ns->ns[b->i].e;
	bool hx = x->kind == NETNS_KIND_HOST && (ord->host_always || a->rank < 5);
	bool hy = y->kind == NETNS_KIND_HOST && (ord->host_always || b->rank < 5);

	if (hx != hy)
		return hx ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static const char *const rank_names[] = { "unknown", "critical", "warning", "notice", "info", "none" };

/* What the renderers of every namespace's audit take. */
struct all_ctx {
	const struct audit_all *all;
	const struct all_out *o;
};

static int all_text(const void *ctx, FILE *out)
{
	const struct audit_all *all = ((const struct all_ctx *)ctx)->all;
	const struct all_out *o = ((const struct all_ctx *)ctx)->o;
	size_t by[6] = { 0 };
	bool *quiet = calloc(all->ns.n ? all->ns.n : 1, sizeof(*quiet));

	for (size_t k = 0; k < o->n; k++) {
		by[o->v[k].rank]++;
		if (quiet && o->v[k].rank == 5)
			quiet[o->v[k].i] = true;
	}
	fprintf(out, "netknobs audit --all-netns: %zu of %zu network namespaces with findings", o->n - by[5],
		o->n);
	for (int r = 0, first = 1; r < 5; r++)
		if (by[r]) {
			fprintf(out, "%s%zu %s", first ? " (worst: " : ", ", by[r],
				r ? rank_names[r] : "could not be judged");
			first = 0;
		}
	if (o->n - by[5])
		fputc(')', out);
	if (all->ns.vs.gone)
		fprintf(out, "; %lu gone during the run", all->ns.vs.gone);
	if (all->ns.vs.denied || all->ns.not_entered)
		fprintf(out, "; %lu not entered", all->ns.vs.denied + all->ns.not_entered);
	fputs("\n\n", out);
	for (size_t k = 0; k < o->n; k++)
		if (o->v[k].text) {
			fputs(o->v[k].text, out);
			if (o->v[k].text[0] && o->v[k].text[strlen(o->v[k].text) - 1] != '\n')
				fputc('\n', out);
		}
	if (by[5] && quiet) {
		fprintf(out, "Quiet: %zu network namespace%s without findings ", by[5], by[5] == 1 ? "" : "s");
		allns_print_kinds(out, &all->ns, quiet);
		fputs(o->a->verbose ? ":\n" : ".\n", out);
		for (size_t k = 0; o->a->verbose && k < o->n; k++)
			if (o->v[k].rank == 5) {
				fputs("  ", out);
				allns_print_title(out, all->ns.ns[o->v[k].i].e);
				fputc('\n', out);
			}
	}
	allns_text_tail(out, &all->ns);
	if (o->n - by[5])
		fputs("Why each rule asks what it asks, and at what risk: netknobs explain RULE.\n", out);
	free(quiet);
	return 0;
}

static int all_json(const void *ctx, FILE *out)
{
	const struct audit_all *all = ((const struct all_ctx *)ctx)->all;
	const struct all_out *o = ((const struct all_ctx *)ctx)->o;
	json_t *sum = allns_summary_json(&all->ns);
	size_t with = 0;
	const char **texts;
	int worst = 5, r;

	for (size_t j = 0; j < o->n; j++) {
		with += o->v[j].rank < 5;
		if (o->v[j].rank < worst)
			worst = o->v[j].rank;
	}
	if (!sum || json_object_set_new(sum, "with_findings", json_integer((json_int_t)with)) < 0 ||
	    json_object_set_new(sum, "worst", json_string(rank_names[worst])) < 0) {
		json_decref(sum);
		return -ENOMEM;
	}
	texts = calloc(o->n ? o->n : 1, sizeof(*texts));
	for (size_t j = 0; texts && j < o->n; j++)
		texts[j] = o->v[j].text;
	r = texts ? allns_json_write(out, &all->ns, texts, o->n, sum) : -ENOMEM;
	free(texts);
	json_decref(sum);
	return r;
}

int audit_all_render(const struct audit_all *all, size_t n, audit_kept_at_fn at, const void *arg, FILE *out,
		     bool nagios, int status)
{
	struct report_ns *v = calloc(n ? n : 1, sizeof(*v));
	const struct allns *ns = &all->ns;
	unsigned long states[4] = { ns->vs.entered, ns->vs.gone, ns->vs.denied, ns->not_entered };
	struct prom_opts po = { .duration_s = (audit_now_ms() - all->t_start) / 1e3, .timestamp = time(NULL),
				.netns_states = states };
	int r = 0;

	if (!v)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		const json_t *report = NULL;
		const struct audit_kept *x = at(arg, k, &report);
		const struct netns_entry *e = ns->ns[x->i].e;

		v[k] = (struct report_ns){ e->name, netns_kind_name(e->kind), x->audit, x->facts, report };
	}
	if (nagios)
		report_nagios_all(v, n, status, out);
	else
		r = report_prom_all(v, n, &po, out);
	free(v);
	return r;
}

static const struct audit_kept *kept_at(const void *arg, size_t k, const json_t **report)
{
	(void)report;
	return &((const struct all_out *)arg)->v[k];
}

static int all_prom(const void *ctx, FILE *out)
{
	const struct all_ctx *c = ctx;

	return audit_all_render(c->all, c->o->n, kept_at, c->o, out, false, c->o->status);
}

static int all_nagios(const void *ctx, FILE *out)
{
	const struct all_ctx *c = ctx;

	return audit_all_render(c->all, c->o->n, kept_at, c->o, out, true, c->o->status);
}

/* The renderers of audit --all-netns, for the formats audit takes. */
static const struct cmd_renderers all_renderers = { {
	[FORMAT_TEXT] = all_text, [FORMAT_JSON] = all_json,
	[FORMAT_PROM] = all_prom, [FORMAT_NAGIOS] = all_nagios,
} };

int audit_run_all(const struct globals *g, struct audit_args *a)
{
	static const char *const extra[] = { STATE_BOOT_ID_KEY };
	struct all_out o = { .g = g, .a = a };
	struct audit_all all;
	struct order ord;
	double t_render;
	int r, ret = EXIT_NK_ERROR;

	if (audit_pipeline_all(g, a, extra, a->facts_hook ? 1 : 0, &all, keep_one, &o) < 0) {
		if (g->format == FORMAT_NAGIOS)
			report_nagios_unknown(stdout);
		goto out;
	}
	ord = (struct order){ &all.ns, g->format == FORMAT_JSON };
	qsort_r(o.v, o.n, sizeof(*o.v), out_cmp, &ord);
	r = cmd_render(&all_renderers, g->format, &(struct all_ctx){ &all, &o }, stdout);
	fflush(stdout);
	if (r < 0) {
		log_error("%s", r == -ENOMEM ? "out of memory" : "writing output failed");
		goto out;
	}
	t_render = audit_now_ms();
	if (a->timing)
		fprintf(stderr, "timing: rules %.1f ms (%zu rules), discovery %.1f ms (%zu namespaces), visit "
			"%.1f ms, owners %.1f ms (one scan), judge %.1f ms, render %.1f ms, total %.1f ms\n",
			all.t_rules - all.t_start, all.rb.nrules, all.ns.ms_discover, all.ns.n, all.ns.ms_visit,
			all.ns.ms_owners, all.t_eval - all.t_facts, t_render - all.t_eval, t_render - all.t_start);
	ret = allns_status(&all.ns);
	if (o.status > ret)
		ret = o.status;
out:
	for (size_t k = 0; k < o.n; k++)
		audit_kept_free(&o.v[k]);
	free(o.v);
	audit_all_free(&all);
	return ret;
}
