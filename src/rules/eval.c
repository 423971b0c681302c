/* Evaluating rules against a facts document: results, findings and merged
 * recommendations as one JSON object (doc/audit-schema.json).
 *
 * Two phases, so that the rules can be shared among threads and the output
 * still be byte for byte that of evaluating them one after the other:
 *
 * 1. Each selected rule is evaluated into a slot of its own (struct
 *    rule_out): its entry of "results", its findings, the recommendations
 *    it makes and the error messages to report, nothing merged yet.  A
 *    worker (struct run) takes the next rule from a shared index (rules
 *    differ a lot in cost: a foreach over 2,000 listeners against a single
 *    sysctl); each worker has its own environment, evaluation cache,
 *    counters and waiver marks.  The facts document, the rulebook and the
 *    parsed expressions are only read, but results and the lists an
 *    expression builds keep references to facts values (observed, current,
 *    sysctl_match() entries): those are counted with value_json_ref() and
 *    value_json_unref(), atomic accesses only, which needs jansson's atomic
 *    reference counts (JANSSON_THREAD_SAFE_REFCOUNT, without which there
 *    is one thread).  Error messages wait in the slot (rule_error()).
 * 2. On the calling thread, in rule order: results and findings are
 *    appended, recommendations merged, errors logged; then the workers'
 *    counts are added up.
 *
 * With one thread each rule goes through phase 2 right after phase 1.
 * Threads (one per CPU online, at most MAX_THREADS) are used when there is
 * enough work to pay for starting them (MIN_PARALLEL_WORK); the settings
 * (NETKNOBS_THREADS=N, read by main()) may ask for N threads whatever the
 * work (1: none). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts/sysctl.h"
#include "rules/audit.h"
#include "rules/load-int.h"
#include "rules/rules.h"
#include "util/escape.h"
#include "util/log.h"

#define AUDIT_SCHEMA_VERSION 1

#define MAX_THREADS 8
/* Rules plus foreach items below which one thread does it all: an item
 * costs a quarter of a microsecond or so, but another thread pays about a
 * millisecond before it gains (starting, filling its own cache with the
 * lists it goes through, memory first touched): measured with the rules of
 * bench/rules over 2,000 listeners on 2 CPUs, 20,000 items break even. */
#define MIN_PARALLEL_WORK 30000

/* A recommendation a failing rule made, merged in phase 2 unless waived. */
struct rec_use {
	const struct recommend *rec;
	struct value v;          /* owned */
};

/* What evaluating one rule gave (phase 1), until phase 2 takes it. */
struct rule_out {
	const struct rule *r;
	json_t *result;          /* its entry of "results" */
	json_t *findings;        /* an array, or NULL: none */
	struct rec_use *uses;
	size_t nuses;
	char **msgs;             /* errors to log, in order */
	size_t nmsgs;
	bool oom;                /* a message could not be kept */
	json_t *by_subject;      /* subject -> indexes in findings, for merging */
};

/* Phase 2: everything merged, in rule order. */
struct merge {
	json_t *results, *findings;
	struct rec_merge recs;
};

/* The rules to evaluate, shared by the workers. */
struct pool {
	struct rule_out *slots;
	size_t n;
	size_t next;             /* next slot to take (atomic) */
};

/* A worker of phase 1 (on a cache line of its own: it counts every item). */
struct run {
	const struct rulebook *rb;
	const json_t *facts;
	bool all_items;          /* keep passing foreach items in the results */
	struct expr_env env;
	struct expr_cache *cache; /* field reads memoised over the run, or NULL */
	struct rule_out *out;    /* of the rule being evaluated */
	struct rule_json rj;     /* of the rule being evaluated */
	struct value slots[EXPR_MAX_NAMES]; /* the foreach item, then the rule's lets */
	const struct expr *lazy[EXPR_MAX_NAMES];    /* the lets, evaluated when read */
	const char *lazy_names[EXPR_MAX_NAMES];
	unsigned char lazy_done[EXPR_MAX_NAMES];
	unsigned counts[SEV_COUNT];
	unsigned passed, na, errors, waived, disabled;
	bool *waiver_used;       /* per rb->waivers entry */
	struct pool *pool;
	pthread_t thread;
	bool started;
} __attribute__((aligned(64)));

/* An error to report for the rule being evaluated: kept with its results
 * and logged in phase 2, so that messages come in rule order. */
static void rule_error(struct run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rule_error(struct run *R, const char *fmt, ...)
{
	struct rule_out *o = R->out;
	char *msg = NULL, **n;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	n = k >= 0 ? realloc(o->msgs, (o->nmsgs + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(msg);
		o->oom = true;
		return;
	}
	o->msgs = n;
	o->msgs[o->nmsgs++] = msg;
}

/* Render a template; evaluation errors give "?" and are reported. */
static char *render(struct run *R, const struct rule *r, const struct template *t, int *err)
{
	size_t cap = 128, len = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < t->n; i++) {
		char *piece = NULL;
		const char *p;
		size_t pl;

		if (t->parts[i].text) {
			p = t->parts[i].text;
		} else {
			struct value v = VALUE_ABSENT_INIT;
			struct expr_error e = { 0 };

			if (expr_eval(t->parts[i].expr, &R->env, &v, &e) < 0) {
				rule_error(R, "rule %s: in {%s}: %s", r->id, expr_source(t->parts[i].expr), e.msg);
				*err = 1;
				piece = strdup("?");
			} else {
				piece = value_format(&v, VALUE_FORMAT_SYSCTL);
				value_free(&v);
			}
			p = piece ? piece : "?";
		}
		pl = strlen(p);
		if (len + pl + 1 > cap) {
			char *n;

			while (len + pl + 1 > cap)
				cap *= 2;
			n = realloc(out, cap);
			if (!n) {
				free(piece);
				free(out);
				return NULL;
			}
			out = n;
		}
		memcpy(out + len, p, pl + 1);
		len += pl;
		free(piece);
	}
	return out;
}

/* Phase 1: remember that rule R->out->r recommends v for rec. */
static void rec_use_add(struct run *R, const struct recommend *rec, const struct value *v)
{
	struct rule_out *o = R->out;
	struct rec_use *n = realloc(o->uses, (o->nuses + 1) * sizeof(*n));

	if (!n)
		return;
	o->uses = n;
	if (value_dup(v, &n[o->nuses].v) < 0)
		return;
	n[o->nuses++].rec = rec;
}

static int first_key(const char *key, void *data)
{
	if (key && !strpbrk(key, "*?[")) {
		*(const char **)data = key;
		return 1;
	}
	return 0;
}

/* Add finding f of the rule being evaluated, unless an earlier item of the
 * same rule gave the same finding (the members of a reuseport group that
 * share a configuration): that one then counts one more item in "merged"
 * and true is returned (f is left to the caller). */
static bool add_finding(struct run *R, json_t *f)
{
	struct rule_out *o = R->out;
	const char *subj = json_string_value(json_object_get(f, "subject"));
	json_t *idx, *x;
	size_t i;

	if (!o->findings)
		o->findings = json_array();
	if (!o->by_subject)
		o->by_subject = json_object();
	idx = subj ? json_object_get(o->by_subject, subj) : NULL;
	json_array_foreach(idx, i, x) {
		json_t *g = json_array_get(o->findings, (size_t)json_integer_value(x));
		json_int_t n = json_integer_value(json_object_get(g, "merged"));

		if (g && finding_same(g, f)) {
			json_object_set_new(g, "merged", json_integer(n ? n + 1 : 2));
			return true;
		}
	}
	if (subj && !idx && o->by_subject) {
		idx = json_array();
		json_object_set_new(o->by_subject, subj, idx);
	}
	if (idx)
		json_array_append_new(idx, json_integer((json_int_t)json_array_size(o->findings)));
	json_array_append(o->findings, f);
	return false;
}

/* A failing item of rule r: its finding (unless an earlier item gave the
 * same), the recommendations it makes (unless waived), its status in res,
 * its counts. */
static void add_failure(struct run *R, const struct rule *r, const struct rule_json *rj,
			const char *subject, const json_t *observed, json_t *res, unsigned *counts,
			int *terr)
{
	const struct waiver *w = waiver_find(R->rb, r->id, subject ? subject : "");
	struct finding fd = { .rj = rj, .subject = subject, .observed = observed, .waiver = w,
			      .waived = w && !w->expired };
	struct finding_rec *recs = calloc(r->nrecs + 1, sizeof(*recs));
	char *msg = render(R, r, &r->message, terr);
	json_t *f;

	for (size_t i = 0; recs && i < r->nrecs; i++) {
		struct value v = VALUE_ABSENT_INIT;
		struct expr_error re = { 0 };

		if (expr_eval(r->recs[i].value, &R->env, &v, &re) < 0) {
			rule_error(R, "rule %s: recommend %s: %s", r->id, r->recs[i].key, re.msg);
			*terr = 1;
			continue;
		}
		if (v.type == VALUE_ABSENT)
			continue;
		recs[fd.nrecs].rec = &r->recs[i];
		recs[fd.nrecs++].v = v;
	}
	fd.recs = recs;
	fd.message = msg;
	f = recs && msg ? finding_json(&fd, R->facts) : NULL;
	for (size_t i = 0; i < fd.nrecs; i++) {
		if (!fd.waived)
			rec_use_add(R, recs[i].rec, &recs[i].v);
		value_free(&recs[i].v);
	}
	if (w)
		R->waiver_used[w - R->rb->waivers] = true;
	json_object_set_new(res, "status", json_string(fd.waived ? "waived" : "fail"));
	if (fd.waived) {
		R->waived++;
		counts[2]--;
		counts[4]++;
	} else {
		R->counts[r->severity]++;
	}
	if (!f) {
		R->out->oom = true;
	} else if (add_finding(R, f)) {
		/* the same finding once: counted once */
		if (fd.waived)
			R->waived--;
		else
			R->counts[r->severity]--;
	}
	json_decref(f);
	free(msg);
	free(recs);
}

/* The rule's lets, bound lazily after the item (base: 1 with a foreach,
 * else 0): each is evaluated when an expression first reads it for an
 * item, so that what a rule does not need for an item costs nothing. */
static void lets_bind(struct run *R, const struct rule *r, size_t base)
{
	memset(R->lazy, 0, sizeof(R->lazy));
	memset(R->lazy_done, 0, sizeof(R->lazy_done));
	for (size_t i = 0; i < r->nlets; i++) {
		R->lazy[base + i] = r->lets[i];
		R->lazy_names[base + i] = r->let_names[i];
		R->slots[base + i] = VALUE_ABSENT_INIT;
	}
	R->env.lazy = r->nlets ? R->lazy : NULL;
	R->env.lazy_names = R->lazy_names;
	R->env.lazy_values = R->slots;
	R->env.lazy_done = R->lazy_done;
	R->env.items = R->slots;
	R->env.n_items = base + r->nlets;
}

/* After an item: the lets it read go. */
static void lets_free(struct run *R, const struct rule *r, size_t base)
{
	for (size_t i = base; i < base + r->nlets; i++)
		if (R->lazy_done[i]) {
			value_free(&R->slots[i]);
			R->lazy_done[i] = 0;
		}
}

/* Evaluate one rule for the current item (R->env).  Passes and not
 * applicable results are only counted unless keep is set (NULL then);
 * anything else gives a new result object. */
static json_t *eval_item(struct run *R, const struct rule *r, bool keep, unsigned *counts)
{
	enum expr_truth t = EXPR_NA;
	struct expr_error e;
	json_t *res = NULL, *observed = NULL;
	char *subject = NULL, *src = NULL;
	const struct rule_json *rj;
	const char *reason = NULL;
	int terr = 0;
	enum { ST_PASS, ST_NA, ST_FAIL, ST_ERROR } st;

	e.msg[0] = '\0'; /* filled on failure; zeroing all of it costs per item */

	if (r->applies && expr_eval_bool(r->applies, &R->env, &t, &e) < 0) {
		st = ST_ERROR;
	} else if (r->applies && t != EXPR_TRUE) {
		st = ST_NA;
		reason = t == EXPR_NA ? "a fact it needs is absent" : "applies is false";
	} else if (expr_eval_bool(r->check, &R->env, &t, &e) < 0) {
		st = ST_ERROR;
	} else {
		st = t == EXPR_TRUE ? ST_PASS : t == EXPR_FALSE ? ST_FAIL : ST_NA;
		if (st == ST_NA)
			reason = "a fact it needs is absent";
	}
	if (st == ST_PASS || st == ST_NA) {
		if (st == ST_PASS)
			R->passed++, counts[0]++;
		else
			R->na++, counts[1]++;
		if (!keep)
			return NULL;
	}

	rj = rule_json_get(&R->rj, r, st == ST_FAIL);
	res = json_object();
	if (rj->id)
		json_object_set(res, "rule", rj->id);
	if (r->subject.n) {
		subject = render(R, r, &r->subject, &terr);
	} else {
		const char *key = NULL;

		if (r->nrecs)
			key = r->recs[0].key;
		else
			expr_sysctl_keys(r->check, first_key, &key);
		subject = strdup(key ? key : "host");
	}
	json_set_escaped(res, "subject", subject ? subject : "?");
	if (r->observed && st != ST_ERROR) {
		struct value v = VALUE_ABSENT_INIT;
		struct expr_error oe = { 0 };

		if (expr_eval(r->observed, &R->env, &v, &oe) == 0) {
			observed = value_to_json(&v);
			json_object_set_new(res, "observed", value_json_ref(observed));
			if (rj->unit)
				json_object_set(res, "observed_unit", rj->unit);
			value_free(&v);
		}
	}
	if (st == ST_ERROR)
		goto error;
	if (st != ST_FAIL) {
		json_object_set_new(res, "status", json_string(st == ST_PASS ? "pass" : "not-applicable"));
		if (reason)
			json_object_set_new(res, "reason", json_string(reason));
		goto out;
	}
	counts[2]++;
	add_failure(R, r, rj, subject, observed, res, counts, &terr);
	goto out;

error:
	src = origin_str(&r->where);
	rule_error(R, "rule %s (%s): %s", r->id, src ? src : "?", e.msg);
	json_object_set_new(res, "status", json_string("error"));
	json_set_escaped(res, "error", e.msg);
	R->errors++;
	counts[3]++;
out:
	if (terr) {
		R->errors++;
		counts[3]++;
		json_object_set_new(res, "template_error", json_true());
	}
	value_json_unref(observed);
	free(subject);
	free(src);
	return res;
}

/* --only and --rule choose among every loaded rule (opt-in rule sets
 * included); without them the profile, or the rule sets that are not
 * opt-in, decide. */
static bool selected(const struct rulebook *rb, const struct rule *r, const struct eval_filter *f)
{
	bool explicit = f && (f->nids || f->ntags);

	if (!explicit)
		return rulebook_rule_default(rb, r);
	if (f->nids) {
		bool hit = false;

		for (size_t i = 0; i < f->nids; i++)
			if (!strcmp(f->ids[i], r->id))
				hit = true;
		if (!hit)
			return false;
	}
	if (f->ntags) {
		for (size_t i = 0; i < f->ntags; i++)
			for (size_t j = 0; j < r->ntags; j++)
				if (!strcmp(f->tags[i], r->tags[j]))
					return true;
		return false;
	}
	return true;
}

static json_t *rule_result(const struct rule *r, const char *status)
{
	json_t *res = json_object();

	json_object_set_new(res, "rule", json_string(r->id));
	json_object_set_new(res, "status", json_string(status));
	return res;
}

/* A rule without foreach gives one result; a foreach rule gives one entry
 * with counts per status and, in "items", its non-passing items (every item
 * when R->all_items). */
static json_t *eval_rule(struct run *R, const struct rule *r)
{
	struct value coll = VALUE_ABSENT_INIT, item;
	struct expr_error e = { 0 };
	unsigned counts[5] = { 0 }; /* pass, n/a, fail, error, waived */
	json_t *res, *items;

	expr_env_init(&R->env, R->facts, R->rb->vars, R->slots, 0);
	R->env.tables = R->rb->tables;
	R->env.cache = R->cache;
	if (!r->foreach) {
		lets_bind(R, r, 0);
		res = eval_item(R, r, true, counts);
		lets_free(R, r, 0);
		return res;
	}
	if (expr_eval(r->foreach, &R->env, &coll, &e) < 0) {
		rule_error(R, "rule %s: foreach: %s", r->id, e.msg);
		res = rule_result(r, "error");
		json_set_escaped(res, "error", e.msg);
		R->errors++;
		return res;
	}
	if (coll.type == VALUE_ABSENT) {
		res = rule_result(r, "not-applicable");
		json_object_set_new(res, "reason", json_string("the collection is absent"));
		R->na++;
		return res;
	}
	if (coll.type != VALUE_LIST) {
		rule_error(R, "rule %s: foreach needs a list, got %s", r->id, value_type_name(coll.type));
		res = rule_result(r, "error");
		json_object_set_new(res, "error", json_string("foreach needs a list"));
		R->errors++;
		value_free(&coll);
		return res;
	}
	items = json_array();
	for (size_t i = 0; i < json_array_size(coll.json); i++) {
		if (expr_list_get(&R->env, &coll, i, &item) < 0)
			item = VALUE_ABSENT_INIT;
		if (i == 0)
			lets_bind(R, r, 1);
		R->slots[0] = item;
		res = eval_item(R, r, R->all_items, counts);
		lets_free(R, r, 1);
		if (res)
			json_array_append_new(items, res);
	}
	value_free(&coll);
	res = rule_result(r, counts[3] ? "error" : counts[2] ? "fail" : counts[4] ? "waived"
			     : counts[0] ? "pass" : "not-applicable");
	json_object_set_new(res, "counts", json_pack("{s:i,s:i,s:i,s:i,s:i}", "pass", counts[0],
						     "not-applicable", counts[1], "fail", counts[2],
						     "error", counts[3], "waived", counts[4]));
	json_object_set_new(res, "items", items);
	return res;
}

/* Phase 1 for one rule. */
static void eval_slot(struct run *R, struct rule_out *o)
{
	R->out = o;
	if (o->r->state == RULE_DISABLED) {
		o->result = rule_result(o->r, "disabled");
		R->disabled++;
	} else {
		o->result = eval_rule(R, o->r);
		rule_json_clear(&R->rj);
	}
	R->out = NULL;
}

/* Phase 2 for one rule: take what phase 1 left in o, and empty it. */
static void merge_slot(struct merge *M, struct rule_out *o)
{
	for (size_t i = 0; i < o->nmsgs; i++) {
		log_error("%s", o->msgs[i]);
		free(o->msgs[i]);
	}
	if (o->oom)
		log_error("rule %s: out of memory", o->r->id);
	json_array_append_new(M->results, o->result);
	json_decref(o->by_subject);
	if (o->findings) {
		json_array_extend(M->findings, o->findings);
		json_decref(o->findings);
	}
	for (size_t i = 0; i < o->nuses; i++) {
		rec_merge_add(&M->recs, o->r, o->uses[i].rec, &o->uses[i].v);
		value_free(&o->uses[i].v);
	}
	free(o->uses);
	free(o->msgs);
	memset(o, 0, sizeof(*o));
}

static void *worker_run(void *arg)
{
	struct run *R = arg;
	struct pool *p = R->pool;

	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);

		if (i >= p->n)
			break;
		eval_slot(R, &p->slots[i]);
	}
	return NULL;
}

static int run_init(struct run *R, const struct rulebook *rb, const json_t *facts,
		    const struct eval_filter *filter, struct pool *pool)
{
	memset(R, 0, sizeof(*R));
	R->rb = rb;
	R->facts = facts;
	R->all_items = filter && filter->all_items;
	R->pool = pool;
	R->waiver_used = calloc(rb->nwaivers + 1, sizeof(*R->waiver_used));
	return R->waiver_used ? 0 : -ENOMEM;
}

static void run_free(struct run *R)
{
	expr_cache_free(R->cache);
	free(R->waiver_used);
}

/* How many workers for these rules: one unless there is enough work (each
 * rule, and each item of a foreach) and more than one CPU. */
static unsigned worker_count(const struct rulebook *rb, const json_t *facts,
			     const struct rule_out *slots, size_t n)
{
#ifndef JANSSON_THREAD_SAFE_REFCOUNT
	/* results made on several threads would reference the same facts
	 * values */
	(void)rb, (void)facts, (void)slots, (void)n;
	return 1;
#else
	unsigned nw = rules_config.threads;
	size_t work = 0;
	long cpus;

	if (!nw) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		nw = cpus > 1 ? (unsigned)(cpus < MAX_THREADS ? cpus : MAX_THREADS) : 1;
		for (size_t i = 0; i < n && nw > 1 && work < MIN_PARALLEL_WORK; i++) {
			const struct rule *r = slots[i].r;
			struct value coll = VALUE_ABSENT_INIT;
			struct expr_error e;
			struct expr_env env;

			work++;
			if (r->state == RULE_DISABLED || !r->foreach)
				continue;
			/* the size of the collection; its errors are
			 * reported when the rule is evaluated */
			expr_env_init(&env, facts, rb->vars, NULL, 0);
			env.tables = rb->tables;
			if (expr_eval(r->foreach, &env, &coll, &e) == 0 && coll.type == VALUE_LIST)
				work += json_array_size(coll.json);
			value_free(&coll);
		}
		if (work < MIN_PARALLEL_WORK)
			nw = 1;
	}
	if (nw > n)
		nw = n ? (unsigned)n : 1;
	return nw;
#endif
}

/* Evaluate the rules of the slots and merge them into M: on this thread
 * rule after rule, or with workers on threads and this one.  Returns the
 * number of workers, or -ENOMEM. */
static int evaluate_slots(const struct rulebook *rb, const json_t *facts,
			  const struct eval_filter *filter, struct rule_out *slots, size_t n,
			  struct merge *M, struct run *total)
{
	struct pool pool = { .slots = slots, .n = n };
	struct run *w;
	unsigned nw = worker_count(rb, facts, slots, n), used = 1;
	int r = 0;

	w = aligned_alloc(_Alignof(struct run), nw * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w, 0, nw * sizeof(*w));
	for (unsigned k = 0; k < nw; k++) {
		r = run_init(&w[k], rb, facts, filter, &pool);
		if (r < 0) {
			run_free(&w[k]);
			nw = k;
			break;
		}
		w[k].cache = expr_cache_new(); /* NULL: evaluate without */
	}
	if (nw == 1) {
		for (size_t i = 0; i < n; i++) {
			eval_slot(&w[0], &slots[i]);
			merge_slot(M, &slots[i]);
		}
	} else if (nw > 1) {
		/* workers 1.. on threads, worker 0 here; a thread that
		 * cannot be started leaves more rules to the others */
		for (unsigned k = 1; k < nw; k++) {
			w[k].started = pthread_create(&w[k].thread, NULL, worker_run, &w[k]) == 0;
			used += w[k].started;
		}
		worker_run(&w[0]);
		for (unsigned k = 1; k < nw; k++)
			if (w[k].started)
				pthread_join(w[k].thread, NULL);
		for (size_t i = 0; i < n; i++)
			merge_slot(M, &slots[i]);
	}
	for (unsigned k = 0; k < nw; k++) {
		for (int s = 0; s < SEV_COUNT; s++)
			total->counts[s] += w[k].counts[s];
		total->passed += w[k].passed;
		total->na += w[k].na;
		total->errors += w[k].errors;
		total->waived += w[k].waived;
		total->disabled += w[k].disabled;
		for (size_t i = 0; i < rb->nwaivers; i++)
			total->waiver_used[i] |= w[k].waiver_used[i];
		run_free(&w[k]);
	}
	free(w);
	return nw ? (int)used : -ENOMEM;
}

/* A sampled audit says over which window: what of facts.sample tells it
 * (NULL: not sampled, or out of memory). */
static json_t *window_json(const json_t *facts)
{
	static const char *const keys[] = { "started_at", "ended_at", "duration_ms", "requested_ms",
					    "interval_ms", "ticks", "cut_short", "stopped_by" };
	const json_t *sample = json_object_get(facts, "sample");
	json_t *w;

	if (!json_is_object(sample) || !(w = json_object()))
		return NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(sample, keys[i]) &&
		    json_object_set(w, keys[i], json_object_get(sample, keys[i])) < 0) {
			json_decref(w);
			return NULL;
		}
	return w;
}

/* The audit document of a run whose rules are all merged into M (its
 * parts are taken), R holding the counts. */
static json_t *audit_json(const struct rulebook *rb, const json_t *facts, struct merge *M,
			  const struct run *R)
{
	json_t *window = window_json(facts);
	json_t *out = json_pack("{s:i,s:{s:s,s:s}}", "schema_version", AUDIT_SCHEMA_VERSION,
				"generator", "name", PACKAGE_NAME, "version", PACKAGE_VERSION);
	const json_t *at = json_object_get(facts, "collected_at"), *origin = json_object_get(facts, "origin");
	json_t *summary = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
				    "critical", R->counts[SEV_CRITICAL], "warning", R->counts[SEV_WARNING],
				    "notice", R->counts[SEV_NOTICE], "info", R->counts[SEV_INFO],
				    "passed", R->passed, "not_applicable", R->na, "waived", R->waived,
				    "disabled", R->disabled, "errors", R->errors);
	json_t *findings = findings_sorted(M->findings);
	json_t *recs = rec_merge_json(&M->recs, facts);
	json_t *waivers = waivers_json(rb, R->waiver_used);
	int r = !out;

	/* every value is handed over, whatever became of the others */
	if (at)
		r |= json_object_set(out, "collected_at", (json_t *)at) < 0;
	if (origin)
		r |= json_object_set(out, "origin", (json_t *)origin) < 0;
	if (window)
		r |= json_object_set_new(out, "window", window) < 0;
	/* the verdict is a sentence of the text renderer
	 * (report_audit_verdict()): the command writes it in this place */
	r |= json_object_set_new(out, "verdict", json_null()) < 0;
	r |= json_object_set_new(out, "summary", summary) < 0;
	r |= json_object_set_new(out, "findings", findings) < 0;
	r |= json_object_set_new(out, "recommendations", recs) < 0;
	r |= json_object_set_new(out, "waivers", waivers) < 0;
	r |= json_object_set(out, "results", M->results) < 0;
	if (r) {
		json_decref(out);
		out = NULL;
	}
	json_decref(M->results);
	json_decref(M->findings);
	return out;
}

json_t *rules_evaluate(const struct rulebook *rb, const json_t *facts, const struct eval_filter *filter)
{
	struct run R; /* the counts of all workers */
	struct merge M = { 0 };
	struct rule_out *slots;
	size_t n = 0;
	int nw;
	json_t *out;

	slots = calloc(rb->nrules + 1, sizeof(*slots));
	if (!slots || run_init(&R, rb, facts, filter, NULL) < 0) {
		free(slots);
		return NULL;
	}
	for (size_t i = 0; i < rb->nrules; i++)
		if (selected(rb, &rb->rules[i], filter))
			slots[n++].r = &rb->rules[i];
	M.results = json_array();
	M.findings = json_array();
	nw = M.results && M.findings ? evaluate_slots(rb, facts, filter, slots, n, &M, &R) : -ENOMEM;
	free(slots);
	if (nw < 0) {
		json_decref(M.results);
		json_decref(M.findings);
		json_decref(rec_merge_json(&M.recs, facts));
		run_free(&R);
		return NULL;
	}
	if (filter && filter->threads)
		*filter->threads = (unsigned)nw;
	out = audit_json(rb, facts, &M, &R);
	run_free(&R);
	return out;
}
