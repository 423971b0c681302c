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
 * enough work to pay for starting them (MIN_PARALLEL_WORK); the environment
 * variable NETKNOBS_THREADS=N asks for N threads whatever the work (1:
 * none). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts/sysctl.h"
#include "rules/rules.h"
#include "util/escape.h"
#include "util/log.h"

#define AUDIT_SCHEMA_VERSION 1

#define MAX_THREADS 8
#define MAX_THREADS_ASKED 64     /* NETKNOBS_THREADS */
/* Rules plus foreach items below which one thread does it all: an item
 * costs a quarter of a microsecond or so, but another thread pays about a
 * millisecond before it gains (starting, filling its own cache with the
 * lists it goes through, memory first touched): measured with the rules of
 * bench/rules over 2,000 listeners on 2 CPUs, 20,000 items break even. */
#define MIN_PARALLEL_WORK 30000

struct merged {
	const char *key;
	enum rec_mode mode;
	struct value best;       /* owned */
	json_t *rules;           /* ids of the rules that asked */
	json_t *notes;           /* their notes, each once */
	json_t *values;          /* what each asked, for conflicts */
	bool conflict;
};

/* JSON of the rule being evaluated that its results and findings share,
 * made when the first needs it: strings and these lists are never modified
 * once built, so that one reference serves every finding of a foreach. */
struct rule_json {
	json_t *id;              /* NULL: not made */
	json_t *ruleset, *source, *severity, *title, *rationale, *risk, *refs, *tags;
};

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
	struct merged *recs;
	size_t nrecs;
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

static char *origin_str(const struct origin *o)
{
	char *s = NULL;

	if (asprintf(&s, "%s:%u:%u", o->file, o->line, o->col) < 0)
		return NULL;
	return s;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	char *esc;

	if (!v)
		return;
	esc = escape_untrusted_str(v);
	if (esc)
		json_object_set_new(o, k, json_string(esc));
	free(esc);
}

/* v escaped as set_str() stores it; NULL when v is NULL (or out of memory). */
static json_t *escaped_string(const char *v)
{
	char *esc;
	json_t *j;

	if (!v)
		return NULL;
	esc = escape_untrusted_str(v);
	j = esc ? json_string(esc) : NULL;
	free(esc);
	return j;
}

/* Store a new reference to v, when there is one. */
static void set_shared(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set(o, k, v);
}

/* The id only (every result has it), or everything for a finding. */
static const struct rule_json *rule_json(struct run *R, const struct rule *r, bool finding)
{
	struct rule_json *j = &R->rj;
	char *src;

	if (!j->id)
		j->id = json_string(r->id);
	if (!finding || j->ruleset)
		return j;
	j->ruleset = json_string(r->ruleset);
	src = origin_str(&r->where);
	j->source = escaped_string(src);
	free(src);
	j->severity = json_string(severity_name(r->severity));
	j->title = escaped_string(r->title);
	j->rationale = escaped_string(r->rationale);
	j->risk = escaped_string(r->risk);
	j->refs = json_array();
	for (size_t i = 0; i < r->nrefs; i++)
		json_array_append_new(j->refs, json_string(r->refs[i]));
	j->tags = json_array();
	for (size_t i = 0; i < r->ntags; i++)
		json_array_append_new(j->tags, json_string(r->tags[i]));
	return j;
}

static void rule_json_clear(struct rule_json *j)
{
	json_decref(j->id);
	json_decref(j->ruleset);
	json_decref(j->source);
	json_decref(j->severity);
	json_decref(j->title);
	json_decref(j->rationale);
	json_decref(j->risk);
	json_decref(j->refs);
	json_decref(j->tags);
	memset(j, 0, sizeof(*j));
}

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

static json_t *current_sysctl(const json_t *facts, const char *key)
{
	return (json_t *)json_object_get(json_object_get(facts, "sysctl"), key);
}

/* Compare two recommendation values of the same kind: ints, or lists of
 * ints element-wise (max of each for at-least). Returns <0, 0, >0, or 2
 * when they cannot be compared. */
static int rec_cmp(const struct value *a, const struct value *b)
{
	if (a->type == VALUE_INT && b->type == VALUE_INT)
		return (a->i > b->i) - (a->i < b->i);
	return 2;
}

/* Does the current value already meet a recommendation?  Integers compare
 * by the mode; lists element by element (every element at least, at most,
 * or equal).  -1 when it cannot be told (no current value, other types). */
static int rec_satisfied(const json_t *cur, const struct value *want, enum rec_mode mode)
{
	if (json_is_integer(cur) && want->type == VALUE_INT) {
		long long c = json_integer_value(cur);

		return (mode == REC_AT_LEAST && c >= want->i) || (mode == REC_AT_MOST && c <= want->i) ||
		       (mode == REC_EXACT && c == want->i);
	}
	if (json_is_array(cur) && want->type == VALUE_LIST &&
	    json_array_size(cur) == json_array_size(want->json)) {
		for (size_t i = 0; i < json_array_size(cur); i++) {
			const json_t *c = json_array_get(cur, i), *w = json_array_get(want->json, i);
			long long a, b;

			if (!json_is_integer(c) || !json_is_integer(w))
				return -1;
			a = json_integer_value(c);
			b = json_integer_value(w);
			if ((mode == REC_AT_LEAST && a < b) || (mode == REC_AT_MOST && a > b) ||
			    (mode == REC_EXACT && a != b))
				return 0;
		}
		return 1;
	}
	if (json_is_string(cur) && want->type == VALUE_STRING && mode == REC_EXACT)
		return strcmp(json_string_value(cur), want->s.ptr) == 0;
	return -1;
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

/* Phase 2: merge what rule r recommends for rec->key into M->recs. */
static void merge_rec(struct merge *M, const struct rule *r, const struct recommend *rec,
		      const struct value *v)
{
	struct merged *m = NULL;
	char *txt = value_format(v, VALUE_FORMAT_SYSCTL);

	for (size_t i = 0; i < M->nrecs; i++)
		if (!strcmp(M->recs[i].key, rec->key))
			m = &M->recs[i];
	if (!m) {
		struct merged *n = realloc(M->recs, (M->nrecs + 1) * sizeof(*n));

		if (!n) {
			free(txt);
			return;
		}
		M->recs = n;
		m = &M->recs[M->nrecs++];
		memset(m, 0, sizeof(*m));
		m->key = rec->key;
		m->mode = rec->mode;
		m->rules = json_array();
		m->notes = json_array();
		m->values = json_object();
		value_dup(v, &m->best);
	} else {
		int c = rec_cmp(v, &m->best);

		if (m->mode != rec->mode)
			m->conflict = true;
		else if (rec->mode == REC_EXACT && c != 0)
			m->conflict = true;
		else if (c == 2)
			m->conflict = true;
		else if ((rec->mode == REC_AT_LEAST && c > 0) || (rec->mode == REC_AT_MOST && c < 0)) {
			value_free(&m->best);
			value_dup(v, &m->best);
		}
	}
	{
		bool seen = false;
		size_t i;
		json_t *x;

		json_array_foreach(m->rules, i, x)
			if (!strcmp(json_string_value(x), r->id))
				seen = true;
		if (!seen)
			json_array_append_new(m->rules, json_string(r->id));
		if (txt && !json_object_get(m->values, r->id))
			json_object_set_new(m->values, r->id, json_string(txt));
		if (rec->note) {
			bool have = false;

			json_array_foreach(m->notes, i, x)
				if (!strcmp(json_string_value(x), rec->note))
					have = true;
			if (!have)
				json_array_append_new(m->notes, json_string(rec->note));
		}
	}
	free(txt);
}

static json_t *rec_lines(const char *key, const char *val)
{
	json_t *o = json_object();
	char *w = NULL, *d = NULL;
	bool spaces = strchr(val, ' ') != NULL;

	if (asprintf(&w, spaces ? "sysctl -w %s=\"%s\"" : "sysctl -w %s=%s", key, val) >= 0)
		set_str(o, "sysctl_w", w);
	if (asprintf(&d, "%s = %s", key, val) >= 0)
		set_str(o, "sysctl_d", d);
	free(w);
	free(d);
	return o;
}

static const struct waiver *find_waiver(const struct rulebook *rb, const char *id, const char *subject)
{
	const struct waiver *best = NULL;

	for (size_t i = 0; i < rb->nwaivers; i++) {
		const struct waiver *w = &rb->waivers[i];

		if (strcmp(w->rule_id, id) != 0)
			continue;
		if (w->subject && strcmp(w->subject, subject) != 0)
			continue;
		/* an unexpired waiver wins over an expired one */
		if (!best || (best->expired && !w->expired))
			best = w;
	}
	return best;
}

static int first_key(const char *key, void *data)
{
	if (key && !strpbrk(key, "*?[")) {
		*(const char **)data = key;
		return 1;
	}
	return 0;
}

/* Two findings of one rule that say the same: same subject, message,
 * observed value, recommendations and status. */
static bool same_finding(const json_t *a, const json_t *b)
{
	static const char *const keys[] = { "subject", "message", "observed", "recommend", "status" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);

		if ((x || y) && (!x || !y || !json_equal(x, y)))
			return false;
	}
	return true;
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

		if (g && same_finding(g, f)) {
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

	rj = rule_json(R, r, st == ST_FAIL);
	res = json_object();
	set_shared(res, "rule", rj->id);
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
	set_str(res, "subject", subject ? subject : "?");
	if (r->observed && st != ST_ERROR) {
		struct value v = VALUE_ABSENT_INIT;
		struct expr_error oe = { 0 };

		if (expr_eval(r->observed, &R->env, &v, &oe) == 0) {
			observed = value_to_json(&v);
			json_object_set_new(res, "observed", value_json_ref(observed));
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

	/* failed: a finding */
	{
		const struct waiver *w = find_waiver(R->rb, r->id, subject ? subject : "");
		char *msg = render(R, r, &r->message, &terr);
		json_t *f = json_object(), *recs = json_array();

		set_shared(f, "rule", rj->id);
		set_shared(f, "ruleset", rj->ruleset);
		set_shared(f, "source", rj->source);
		set_shared(f, "severity", rj->severity);
		set_shared(f, "title", rj->title);
		set_str(f, "subject", subject ? subject : "?");
		set_str(f, "message", msg ? msg : "?");
		if (observed)
			json_object_set_new(f, "observed", value_json_ref(observed));
		for (size_t i = 0; i < r->nrecs; i++) {
			struct value v = VALUE_ABSENT_INIT;
			struct expr_error re = { 0 };
			json_t *one;
			char *txt;

			if (expr_eval(r->recs[i].value, &R->env, &v, &re) < 0) {
				rule_error(R, "rule %s: recommend %s: %s", r->id, r->recs[i].key, re.msg);
				terr = 1;
				continue;
			}
			if (v.type == VALUE_ABSENT) {
				value_free(&v);
				continue;
			}
			txt = value_format(&v, VALUE_FORMAT_SYSCTL);
			one = rec_lines(r->recs[i].key, txt ? txt : "?");
			json_object_set_new(one, "key", json_string(r->recs[i].key));
			json_object_set_new(one, "value", value_to_json(&v));
			json_object_set_new(one, "mode", json_string(r->recs[i].mode == REC_AT_LEAST ? "at-least"
								     : r->recs[i].mode == REC_AT_MOST ? "at-most"
								     : "exact"));
			if (current_sysctl(R->facts, r->recs[i].key))
				json_object_set_new(one, "current",
						    value_json_ref(current_sysctl(R->facts, r->recs[i].key)));
			set_str(one, "note", r->recs[i].note);
			json_array_append_new(recs, one);
			if (!w || w->expired)
				rec_use_add(R, &r->recs[i], &v);
			free(txt);
			value_free(&v);
		}
		json_object_set_new(f, "recommend", recs);
		set_shared(f, "rationale", rj->rationale);
		set_shared(f, "risk", rj->risk);
		set_shared(f, "references", rj->refs);
		set_shared(f, "tags", rj->tags);
		if (w) {
			json_t *wj = json_object();

			set_str(wj, "reason", w->reason);
			if (w->expires[0])
				json_object_set_new(wj, "expires", json_string(w->expires));
			json_object_set_new(wj, "expired", json_boolean(w->expired));
			{
				char *ws = origin_str(&w->where);

				set_str(wj, "source", ws);
				free(ws);
			}
			json_object_set_new(f, "waiver", wj);
			R->waiver_used[w - R->rb->waivers] = true;
		}
		if (w && !w->expired) {
			json_object_set_new(res, "status", json_string("waived"));
			json_object_set_new(f, "status", json_string("waived"));
			R->waived++;
			counts[2]--;
			counts[4]++;
		} else {
			json_object_set_new(res, "status", json_string("fail"));
			json_object_set_new(f, "status", json_string("fail"));
			R->counts[r->severity]++;
		}
		if (add_finding(R, f)) {
			/* the same finding once: counted once */
			if (w && !w->expired)
				R->waived--;
			else
				R->counts[r->severity]--;
		}
		json_decref(f);
		free(msg);
	}
	goto out;

error:
	src = origin_str(&r->where);
	rule_error(R, "rule %s (%s): %s", r->id, src ? src : "?", e.msg);
	json_object_set_new(res, "status", json_string("error"));
	set_str(res, "error", e.msg);
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
		set_str(res, "error", e.msg);
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
		merge_rec(M, o->r, o->uses[i].rec, &o->uses[i].v);
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

/* NETKNOBS_THREADS: a number of threads from 1 to MAX_THREADS_ASKED, or 0
 * when unset (or wrong, after a warning). */
static unsigned threads_asked(void)
{
	const char *s = getenv("NETKNOBS_THREADS");
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > MAX_THREADS_ASKED) {
		log_warn("NETKNOBS_THREADS=%s: not a number from 1 to %d, ignored", s,
			 MAX_THREADS_ASKED);
		return 0;
	}
	return (unsigned)v;
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
	unsigned nw = threads_asked();
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

static int sev_rank(const json_t *f)
{
	enum severity s = SEV_INFO;

	severity_parse(json_string_value(json_object_get(f, "severity")), &s);
	return (int)s;
}

static int finding_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = sev_rank(y) - sev_rank(x);

	if (c)
		return c;
	c = strcmp(json_string_value(json_object_get(x, "rule")), json_string_value(json_object_get(y, "rule")));
	if (c)
		return c;
	return strcmp(json_string_value(json_object_get(x, "subject")) ?: "",
		      json_string_value(json_object_get(y, "subject")) ?: "");
}

static json_t *sorted_findings(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = malloc((n ? n : 1) * sizeof(*v)), *out = json_array();

	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), finding_cmp);
	for (size_t i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	return out;
}

json_t *rules_evaluate(const struct rulebook *rb, const json_t *facts, const struct eval_filter *filter)
{
	struct run R; /* the counts of all workers */
	struct merge M = { 0 };
	struct rule_out *slots;
	size_t n = 0;
	int nw;
	json_t *out, *summary, *recs, *waivers;
	char verdict[256];
	size_t off = 0;

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
	nw = evaluate_slots(rb, facts, filter, slots, n, &M, &R);
	if (nw < 0) {
		json_decref(M.results);
		json_decref(M.findings);
		free(slots);
		run_free(&R);
		return NULL;
	}
	free(slots);
	if (filter && filter->threads)
		*filter->threads = (unsigned)nw;

	out = json_object();
	summary = json_object();
	recs = json_array();
	waivers = json_array();
	for (size_t i = 0; i < M.nrecs; i++) {
		struct merged *m = &M.recs[i];
		char *txt = value_format(&m->best, VALUE_FORMAT_SYSCTL);
		json_t *o = rec_lines(m->key, txt ? txt : "?");
		json_t *cur = current_sysctl(facts, m->key);

		json_object_set_new(o, "key", json_string(m->key));
		json_object_set_new(o, "value", value_to_json(&m->best));
		json_object_set_new(o, "mode", json_string(m->mode == REC_AT_LEAST ? "at-least"
							   : m->mode == REC_AT_MOST ? "at-most" : "exact"));
		if (cur)
			json_object_set(o, "current", cur);
		/* never lower a value that is already higher (or raise one
		 * already lower, for at-most) */
		{
			int sat = rec_satisfied(cur, &m->best, m->mode);

			if (sat >= 0)
				json_object_set_new(o, "satisfied", json_boolean(sat));
		}
		json_object_set_new(o, "rules", m->rules);
		if (json_array_size(m->notes))
			json_object_set(o, "notes", m->notes);
		json_decref(m->notes);
		if (m->conflict) {
			json_object_set_new(o, "conflict", json_true());
			json_object_set(o, "asked", m->values);
		}
		json_decref(m->values);
		json_array_append_new(recs, o);
		value_free(&m->best);
		free(txt);
	}
	free(M.recs);

	for (size_t i = 0; i < rb->nwaivers; i++) {
		const struct waiver *w = &rb->waivers[i];
		json_t *o = json_object();
		char *ws = origin_str(&w->where);

		json_object_set_new(o, "rule", json_string(w->rule_id));
		set_str(o, "subject", w->subject);
		set_str(o, "reason", w->reason);
		if (w->expires[0])
			json_object_set_new(o, "expires", json_string(w->expires));
		json_object_set_new(o, "expired", json_boolean(w->expired));
		json_object_set_new(o, "used", json_boolean(R.waiver_used && R.waiver_used[i]));
		set_str(o, "source", ws);
		free(ws);
		json_array_append_new(waivers, o);
	}
	run_free(&R);

	json_object_set_new(summary, "critical", json_integer(R.counts[SEV_CRITICAL]));
	json_object_set_new(summary, "warning", json_integer(R.counts[SEV_WARNING]));
	json_object_set_new(summary, "notice", json_integer(R.counts[SEV_NOTICE]));
	json_object_set_new(summary, "info", json_integer(R.counts[SEV_INFO]));
	json_object_set_new(summary, "passed", json_integer(R.passed));
	json_object_set_new(summary, "not_applicable", json_integer(R.na));
	json_object_set_new(summary, "waived", json_integer(R.waived));
	json_object_set_new(summary, "disabled", json_integer(R.disabled));
	json_object_set_new(summary, "errors", json_integer(R.errors));

	{
		static const char *const names[][2] = {
			{ "critical", "critical" }, { "warning", "warnings" },
			{ "notice", "notices" }, { "info", "info" },
		};
		const unsigned cnt[] = { R.counts[SEV_CRITICAL], R.counts[SEV_WARNING], R.counts[SEV_NOTICE],
					 R.counts[SEV_INFO] };

		verdict[0] = '\0';
		for (int i = 0; i < 4; i++)
			if (cnt[i] || i < 2)
				off += (size_t)snprintf(verdict + off, sizeof(verdict) - off, "%s%u %s",
							off ? ", " : "", cnt[i], names[i][cnt[i] == 1 ? 0 : 1]);
		off += (size_t)snprintf(verdict + off, sizeof(verdict) - off, ", %u passed, %u not applicable",
					R.passed, R.na);
		if (R.waived)
			off += (size_t)snprintf(verdict + off, sizeof(verdict) - off, ", %u waived", R.waived);
		if (R.errors)
			snprintf(verdict + off, sizeof(verdict) - off, ", %u rule error%s", R.errors,
				 R.errors == 1 ? "" : "s");
	}

	json_object_set_new(out, "schema_version", json_integer(AUDIT_SCHEMA_VERSION));
	json_object_set_new(out, "generator", json_pack("{s:s,s:s}", "name", PACKAGE_NAME, "version",
							PACKAGE_VERSION));
	json_object_set(out, "collected_at", json_object_get(facts, "collected_at"));
	json_object_set(out, "origin", json_object_get(facts, "origin"));
	{
		/* a sampled audit says over which window */
		static const char *const keys[] = { "started_at", "ended_at", "duration_ms", "requested_ms",
						    "interval_ms", "ticks", "cut_short", "stopped_by" };
		const json_t *sample = json_object_get(facts, "sample");

		if (json_is_object(sample)) {
			json_t *w = json_object();

			for (size_t i = 0; w && i < sizeof(keys) / sizeof(keys[0]); i++)
				if (json_object_get(sample, keys[i]))
					json_object_set(w, keys[i], json_object_get(sample, keys[i]));
			if (w)
				json_object_set_new(out, "window", w);
		}
	}
	json_object_set_new(out, "verdict", json_string(verdict));
	json_object_set_new(out, "summary", summary);
	json_object_set_new(out, "findings", sorted_findings(M.findings));
	json_object_set_new(out, "recommendations", recs);
	json_object_set_new(out, "waivers", waivers);
	json_object_set_new(out, "results", M.results);
	json_decref(M.findings);
	return out;
}
