/* netknobs report --all-netns: each network namespace compared with its own
 * previous state, and the namespaces that appeared or went away since the
 * previous report.
 *
 * The state of every namespace is kept in one file of the state directory,
 * REPORT_NETNS_STATES, one JSON object a line:
 *   {"netns_state_version": 1, "key": "INODE:NAME", "netns": {...},
 *    "state": {a state document}, "history": {a history document}}
 * keyed by the namespace's inode and display name (the kernel reuses inode
 * numbers of freed namespaces, so neither alone is an identity).  Lines
 * are read as text and parsed one at a time, so a host of a thousand
 * namespaces costs the file's size in memory, not ten times it.  The
 * host's namespace keeps its somaxconn history in the shared history file
 * (report/history.h), where fix --apply records its changes; the others
 * in their line.  Namespaces that could not be entered keep their line. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmd-report.h"
#include "render/render.h"
#include "report/history.h"
#include "util/escape.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/memout.h"

#define NETNS_STATE_VERSION 1
#define NETNS_STATES_MAX (64u << 20)

struct prev_line {
	char *key;
	const char *text;       /* into prev.buf */
	bool matched;           /* a namespace of this run has the key */
};

struct prev {
	char *buf;              /* the file, its lines cut at '\n' */
	struct prev_line *v;
	size_t n;
	bool usable;            /* a previous run's file was read */
};

static void prev_free(struct prev *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].key);
	free(p->v);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

/* The key of a line, when it is one of ours (NULL otherwise). */
static char *line_key(const char *line)
{
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	const char *k = json_string_value(json_object_get(o, "key"));
	char err[128];
	char *key = NULL;

	if (k && json_integer_value(json_object_get(o, "netns_state_version")) == NETNS_STATE_VERSION &&
	    state_validate(json_object_get(o, "state"), err, sizeof(err)) == 0 &&
	    (!json_object_get(o, "history") || history_validate(json_object_get(o, "history"), err, sizeof(err)) == 0))
		key = strdup(k);
	json_decref(o);
	return key;
}

static int prev_load(struct state_dir *sd, struct prev *p)
{
	size_t len, bad = 0, cap = 0;
	char *moved = NULL;
	int r;

	memset(p, 0, sizeof(*p));
	r = state_read_file(sd, REPORT_NETNS_STATES, NETNS_STATES_MAX, &p->buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || memchr(p->buf, '\0', len)) {
		log_warn("%s/%s: %s; %s", sd->path, REPORT_NETNS_STATES, r < 0 ? fileio_strerror(-r) : "not a text file",
			 state_move_aside(sd, REPORT_NETNS_STATES, &moved) == 0 ? "moved aside" : "left alone");
		free(moved);
		free(p->buf);
		p->buf = NULL;
		return 0;
	}
	p->usable = true;
	for (char *l = p->buf, *e; l && *l; l = e ? e + 1 : NULL) {
		char *key;

		if ((e = strchr(l, '\n')))
			*e = '\0';
		if (!*l)
			continue;
		if (!(key = line_key(l))) {
			bad++;
			continue;
		}
		if (p->n == cap) {
			struct prev_line *nv = realloc(p->v, (cap = cap ? cap * 2 : 64) * sizeof(*nv));

			if (!nv) {
				free(key);
				return -ENOMEM;
			}
			p->v = nv;
		}
		p->v[p->n++] = (struct prev_line){ key, l, false };
	}
	if (bad)
		log_warn("%s/%s: %zu line(s) not usable: those namespaces start a new baseline", sd->path,
			 REPORT_NETNS_STATES, bad);
	return 0;
}

static struct prev_line *prev_find(struct prev *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].key, key))
			return &p->v[i];
	return NULL;
}

static char *ns_key(const struct netns_entry *e)
{
	char *k = NULL;

	if (asprintf(&k, "%llu:%s", (unsigned long long)e->id.ino, e->name ? e->name : "") < 0)
		return NULL;
	return k;
}

/* The previous line of e, NULL when none. */
static struct prev_line *prev_of(struct prev *p, const struct netns_entry *e)
{
	char *key = ns_key(e);
	struct prev_line *pl = key ? prev_find(p, key) : NULL;

	free(key);
	return pl;
}

/* The previous line of e when e is still there but was not entered (it
 * keeps its line), else NULL. */
static struct prev_line *kept_line(struct prev *p, const struct netns_entry *e)
{
	return e->state == NETNS_ENTERED || e->state == NETNS_GONE ? NULL : prev_of(p, e);
}

/* ---- one namespace ---- */

struct ns_rep {
	struct audit_kept k;    /* text: its part (not quiet, or --always) */
	bool quiet;
	json_t *report;         /* prom, nagios */
	char *line;             /* its state line to keep */
};

struct run {
	const struct globals *g;
	struct report_args *ra;
	struct prev prev;
	const char *why;        /* the previous states could not be used */
	json_t *hist;           /* the shared history (the host's) */
	/* the namespace being judged: from its facts hook to keep_one */
	json_t *cur_prev, *cur_hist;
	struct ns_rep *v;
	size_t n;
	int status;
};

/* Before the rules judge namespace e: its previous state and history. */
static int hook(const struct netns_entry *e, json_t *facts, void *data)
{
	struct run *run = data;
	char *key = ns_key(e);
	struct prev_line *pl = key ? prev_find(&run->prev, key) : NULL;
	int r;

	free(key);
	json_decref(run->cur_prev);
	json_decref(run->cur_hist);
	run->cur_prev = run->cur_hist = NULL;
	if (pl) {
		json_t *o = json_loads(pl->text, 0, NULL);

		pl->matched = true;
		run->cur_prev = json_incref(json_object_get(o, "state"));
		run->cur_hist = json_incref(json_object_get(o, "history"));
		json_decref(o);
	}
	if (e->kind == NETNS_KIND_HOST) {
		json_decref(run->cur_hist);
		run->cur_hist = json_incref(run->hist);
	}
	r = history_add_to_facts(facts, run->cur_hist, run->cur_prev);
	if (r < 0)
		log_error("out of memory");
	return r < 0 ? -1 : 0;
}

static char *state_line(const struct netns_entry *e, json_t *state, json_t *hist)
{
	char *key = ns_key(e), *text = NULL, *line = NULL;
	json_t *o = key ? json_pack("{s:i,s:s,s:o,s:O,s:O*}", "netns_state_version", NETNS_STATE_VERSION, "key",
				    key, "netns", netns_entry_to_json(e), "state", state, "history",
				    e->kind == NETNS_KIND_HOST ? NULL : hist) : NULL;

	free(key);
	if (o)
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

struct part_args {
	const json_t *rep;
	bool always;
};

static int report_body(FILE *out, const void *arg)
{
	const struct part_args *p = arg;

	report_changes_text(p->rep, out, p->always);
	return 0;
}

static char *part_text(const struct netns_entry *e, const void *arg)
{
	return allns_section(e, report_body, arg);
}

static int keep_one(struct audit_all *all, size_t i, json_t *facts, json_t *audit, int status, void *arg)
{
	struct run *run = arg;
	const struct netns_entry *e = all->ns.ns[i].e;
	struct ns_rep *x = NULL;
	struct part_args pa;
	json_t *cur = NULL, *rep = NULL, *hist = NULL;
	const char *why = run->why;
	bool core = audit_core_unavailable(audit) != NULL;

	if (!run->v && !(run->v = calloc(all->ns.n ? all->ns.n : 1, sizeof(*run->v))))
		goto oom;
	x = &run->v[run->n];
	memset(x, 0, sizeof(*x));
	if (status > run->status)
		run->status = status;
	cur = state_build(facts, audit);
	if (core)
		why = "the core facts could not be read; not compared with the previous report";
	rep = cur ? state_compare(core ? NULL : run->cur_prev, cur, audit, why) : NULL;
	if (!rep)
		goto oom;
	json_object_set_new(rep, "state_dir", json_string(run->ra->state_dir));
	if (core) {
		json_object_set_new(rep, "core_unavailable", json_deep_copy(audit_core_unavailable(audit)));
		json_object_set_new(rep, "quiet", json_false());
	}
	x->quiet = json_is_true(json_object_get(rep, "quiet"));
	/* what this run saw of somaxconn, and the state to keep (a run that
	 * judged nothing keeps the previous one) */
	if (!core) {
		hist = history_note_facts(run->cur_hist, facts, "report");
		if (!hist || !(x->line = state_line(e, cur, hist)))
			goto oom;
		if (e->kind == NETNS_KIND_HOST) {
			json_decref(run->hist);
			run->hist = json_incref(hist);
		}
	}
	/* the parts the Prometheus and Nagios renderers read: for --format
	 * prom and nagios, and for the textfile of --prom-dir whatever --format */
	pa = (struct part_args){ rep, run->ra->always };
	if (audit_keep(&x->k, run->g->format, run->ra->prom_dir != NULL, all, i, facts, audit, "report", rep,
		       !x->quiet || run->ra->always ? part_text : NULL, &pa) < 0)
		goto oom;
	if (x->k.audit)
		x->report = json_incref(rep);
	run->n++;
	json_decref(cur);
	json_decref(rep);
	json_decref(hist);
	return 0;
oom:
	if (x) {
		free(x->line);
		x->line = NULL;
	}
	json_decref(cur);
	json_decref(rep);
	json_decref(hist);
	log_error("out of memory");
	return -1;
}

/* ---- the whole run ---- */

/* The namespaces that appeared since the previous report (entered, no
 * line), and the previous lines no namespace of this run has: went away. */
static json_t *appeared(const struct audit_all *all, const struct run *run)
{
	json_t *a = json_array();

	for (size_t k = 0; a && run->prev.usable && k < run->n; k++) {
		const struct netns_entry *e = all->ns.ns[run->v[k].k.i].e;
		char *key = ns_key(e);

		if (key && !prev_find((struct prev *)&run->prev, key))
			json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}", "key", key, "name", e->name ? e->name : "",
							   "kind", netns_kind_name(e->kind), "inode", (json_int_t)e->id.ino));
		free(key);
	}
	return a;
}

static json_t *went_away(struct run *run, const struct audit_all *all)
{
	json_t *a = json_array();

	/* namespaces still there but not entered keep their line */
	for (size_t i = 0; i < all->ns.n; i++) {
		struct prev_line *pl = kept_line(&run->prev, all->ns.ns[i].e);

		if (pl)
			pl->matched = true;
	}
	for (size_t k = 0; a && k < run->prev.n; k++) {
		json_t *o;

		if (run->prev.v[k].matched)
			continue;
		o = json_loads(run->prev.v[k].text, 0, NULL);
		json_array_append_new(a, json_pack("{s:s,s:O?,s:O?,s:O?}", "key", run->prev.v[k].key, "name",
						   json_object_get(json_object_get(o, "netns"), "name"), "kind",
						   json_object_get(json_object_get(o, "netns"), "kind"), "inode",
						   json_object_get(json_object_get(o, "netns"), "inode")));
		json_decref(o);
	}
	return a;
}

static void name_list(FILE *out, const char *heading, const json_t *list)
{
	const json_t *x;
	size_t i;

	if (!json_array_size(list))
		return;
	fputs(heading, out);
	json_array_foreach(list, i, x) {
		const char *name = json_string_value(json_object_get(x, "name"));

		fputs(i ? ", " : " ", out);
		fputs_safe(name ? name : "?", out);
		fprintf(out, " (%s, net:[%lld])", json_string_value(json_object_get(x, "kind")) ?: "?",
			(long long)json_integer_value(json_object_get(x, "inode")));
	}
	fputs(".\n", out);
}

/* What the renderers of report --all-netns take. */
struct all_ctx {
	const struct audit_all *all;
	const struct run *run;
	json_t *app, *away;     /* the namespaces that appeared, went away */
	bool quiet;
	int status;             /* the exit status, for Nagios's line */
};

static int all_text(const void *ctx, FILE *out)
{
	const struct all_ctx *c = ctx;
	const struct audit_all *all = c->all;
	const struct run *run = c->run;
	const json_t *app = c->app, *away = c->away;
	size_t changed = 0;
	bool news;

	for (size_t k = 0; k < run->n; k++)
		changed += !run->v[k].quiet;
	news = changed || json_array_size(app) || json_array_size(away) || all->ns.vs.gone || all->ns.vs.denied;
	if (!news && !run->ra->always)
		return 0;       /* a quiet day */
	fprintf(out, "netknobs report --all-netns: %zu network namespace%s", run->n, run->n == 1 ? "" : "s");
	if (!run->prev.usable)
		fputs(", no previous report of them", out);
	fprintf(out, "; news in %zu", changed);
	if (json_array_size(app))
		fprintf(out, ", %zu appeared", json_array_size(app));
	if (json_array_size(away))
		fprintf(out, ", %zu went away", json_array_size(away));
	fputs("\n", out);
	name_list(out, "Appeared since the previous report:", app);
	name_list(out, "Went away since the previous report:", away);
	fputc('\n', out);
	for (size_t k = 0; k < run->n; k++)
		if (run->v[k].k.text) {
			fputs(run->v[k].k.text, out);
			fputc('\n', out);
		}
	allns_text_tail(out, &all->ns);
	return 0;
}

static int all_json(const void *ctx, FILE *out)
{
	const struct all_ctx *c = ctx;
	const struct audit_all *all = c->all;
	const struct run *run = c->run;
	json_t *sum = allns_summary_json(&all->ns);
	const char **texts;
	int r;

	if (!sum || json_object_set_new(sum, "quiet", json_boolean(c->quiet)) < 0 ||
	    json_object_set(sum, "appeared", c->app) < 0 || json_object_set(sum, "went_away", c->away) < 0 ||
	    json_object_set_new(sum, "state_dir", json_string(run->ra->state_dir)) < 0) {
		json_decref(sum);
		return -ENOMEM;
	}
	texts = calloc(run->n ? run->n : 1, sizeof(*texts));
	for (size_t j = 0; texts && j < run->n; j++)
		texts[j] = run->v[j].k.text;
	r = texts ? allns_json_write(out, &all->ns, texts, run->n, sum) : -ENOMEM;
	free(texts);
	json_decref(sum);
	return r;
}

/* Prometheus (to standard output or DIR/netknobs.prom) and Nagios. */
static const struct audit_kept *kept_at(const void *arg, size_t k, const json_t **report)
{
	const struct run *run = arg;

	*report = run->v[k].report;
	return &run->v[k].k;
}

static int all_prom(const void *ctx, FILE *out)
{
	const struct all_ctx *c = ctx;

	return audit_all_render(c->all, c->run->n, kept_at, c->run, out, false, c->status);
}

static int all_nagios(const void *ctx, FILE *out)
{
	const struct all_ctx *c = ctx;

	return audit_all_render(c->all, c->run->n, kept_at, c->run, out, true, c->status);
}

/* The renderers of report --all-netns, for the formats report takes. */
static const struct cmd_renderers all_renderers = { {
	[FORMAT_TEXT] = all_text, [FORMAT_JSON] = all_json,
	[FORMAT_PROM] = all_prom, [FORMAT_NAGIOS] = all_nagios,
} };

/* DIR/netknobs.prom (memout_fn). */
struct prom_all {
	const struct audit_all *all;
	const struct run *run;
};

static int render_prom(FILE *out, const void *arg)
{
	const struct prom_all *p = arg;

	return all_prom(&(struct all_ctx){ .all = p->all, .run = p->run }, out);
}

struct save_args {
	const struct audit_all *all;
	const struct run *run;
};

static int save_lines(FILE *m, const void *arg)
{
	const struct save_args *a = arg;
	struct prev *prev = (struct prev *)&a->run->prev;

	for (size_t k = 0; k < a->run->n; k++) {
		/* judged nothing (core facts): the previous line stays */
		struct prev_line *pl = a->run->v[k].line ? NULL : prev_of(prev, a->all->ns.ns[a->run->v[k].k.i].e);

		if (a->run->v[k].line)
			fputs(a->run->v[k].line, m);
		else if (pl)
			fprintf(m, "%s\n", pl->text);
	}
	for (size_t i = 0; i < a->all->ns.n; i++) {
		struct prev_line *pl = kept_line(prev, a->all->ns.ns[i].e);

		if (pl)
			fprintf(m, "%s\n", pl->text);
	}
	return 0;
}

/* The lines to keep: this run's, and those of namespaces still there but
 * not entered. */
static int save(struct state_dir *sd, const struct audit_all *all, const struct run *run)
{
	struct save_args a = { all, run };
	char *buf;
	size_t len;
	int r = memout(save_lines, &a, &buf, &len);

	if (r == 0)
		r = state_write_file(sd, REPORT_NETNS_STATES, buf, len);
	if (r == 0 && run->hist)
		r = history_save(sd, run->hist);
	free(buf);
	return r;
}

int report_run_all(const struct globals *g, struct report_args *ra, struct state_dir *sd, bool state_ok,
		   const char *why)
{
	static const char *const extra[] = { STATE_BOOT_ID_KEY };
	struct run run = { .g = g, .ra = ra, .why = why };
	struct audit_all all = { 0 };
	json_t *app = NULL, *away = NULL;
	bool failed = !state_ok, quiet;
	int r = 0, ret = EXIT_NK_ERROR;

	if (state_ok && (prev_load(sd, &run.prev) < 0 || history_load(sd, &run.hist) < 0)) {
		log_error("out of memory");
		goto out;
	}
	ra->a.facts_hook_ns = hook;
	ra->a.facts_hook_data = &run;
	if (audit_pipeline_all(g, &ra->a, extra, 1, &all, keep_one, &run) < 0) {
		if (g->format == FORMAT_NAGIOS)
			report_nagios_unknown(stdout);
		goto out;
	}
	app = appeared(&all, &run);
	away = went_away(&run, &all);
	if (!app || !away) {
		log_error("out of memory");
		goto out;
	}
	quiet = !json_array_size(app) && !json_array_size(away) && !all.ns.vs.gone && !all.ns.vs.denied;
	for (size_t k = 0; k < run.n; k++)
		quiet &= run.v[k].quiet;
	ret = allns_status(&all.ns);
	if (run.status > ret)
		ret = run.status;
	if (ra->prom_dir && report_write_prom(ra->prom_dir, render_prom, &(struct prom_all){ &all, &run }) < 0)
		failed = true;
	if (g->format == FORMAT_NAGIOS) {
		/* the line says the final status: the state first */
		if (state_ok && save(sd, &all, &run) < 0)
			failed = true;
		cmd_render(&all_renderers, FORMAT_NAGIOS,
			   &(struct all_ctx){ &all, &run, app, away, quiet, failed ? EXIT_NK_ERROR : ret }, stdout);
	} else {
		r = cmd_render(&all_renderers, g->format, &(struct all_ctx){ &all, &run, app, away, quiet, ret },
			       stdout);
		if (fflush(stdout) != 0 || ferror(stdout) || r < 0) {
			log_error("the report could not be written; this run's state is not kept, so that the next "
				  "run reports the same news");
			failed = true;
		} else if (state_ok && save(sd, &all, &run) < 0) {
			failed = true;
		}
	}
	if (failed)
		ret = EXIT_NK_ERROR;
out:
	for (size_t k = 0; k < run.n; k++) {
		audit_kept_free(&run.v[k].k);
		free(run.v[k].line);
		json_decref(run.v[k].report);
	}
	free(run.v);
	json_decref(run.cur_prev);
	json_decref(run.cur_hist);
	json_decref(run.hist);
	json_decref(app);
	json_decref(away);
	prev_free(&run.prev);
	audit_all_free(&all);
	return ret;
}
