/* The audit document's pieces: a finding (one struct, one serialiser),
 * recommendations, their merge over all the rules, the waivers, the order
 * of findings (audit.h; doc/audit-schema.json).  Every object is checked
 * as it is built: out of memory gives NULL, never a partial finding. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/audit.h"
#include "rules/rules.h"
#include "util/escape.h"

struct merged {
	const char *key;
	enum rec_mode mode;
	struct value best;       /* owned */
	json_t *rules;           /* ids of the rules that asked */
	json_t *notes;           /* their notes, each once */
	json_t *values;          /* what each asked, for conflicts */
	bool conflict;
};

char *origin_str(const struct origin *o)
{
	char *s = NULL;

	if (asprintf(&s, "%s:%u:%u", o->file, o->line, o->col) < 0)
		return NULL;
	return s;
}

int json_set_escaped(json_t *o, const char *k, const char *v)
{
	char *esc;
	int r;

	if (!v)
		return 0;
	esc = escape_untrusted_str(v);
	r = esc ? json_object_set_new(o, k, json_string(esc)) : -1;
	free(esc);
	return r < 0 ? -1 : 0;
}

/* A finding's subject and message: the rule's text (checked when it was
 * loaded) with facts interpolated, which the facts already hold escaped;
 * control characters that reach it anyway (a saved document from
 * elsewhere) are escaped here, backslashes are left alone, so a
 * collector's "\x1b" does not become "\\x1b".  0 or -1. */
static int json_set_display(json_t *o, const char *k, const char *v)
{
	char *esc = escape_display(v);
	int r = esc ? json_object_set_new(o, k, json_string(esc)) : -1;

	free(esc);
	return r < 0 ? -1 : 0;
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

/* o[k] = v (a new reference), when there is a v: 0, or -1 when out of memory. */
static int set_shared(json_t *o, const char *k, json_t *v)
{
	return v && json_object_set(o, k, v) < 0 ? -1 : 0;
}

/* o[k] = v, a value of the facts, which other threads may hold at the
 * same time (value_json_ref()), when there is a v. */
static int set_fact(json_t *o, const char *k, const json_t *v)
{
	return v && json_object_set_new(o, k, value_json_ref((json_t *)v)) < 0 ? -1 : 0;
}

/* o[k] = v, consumed: 0, or -1 when v is NULL or out of memory. */
static int set_new(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v) < 0 ? -1 : 0;
}

const struct rule_json *rule_json_get(struct rule_json *j, const struct rule *r, bool finding)
{
	char *src;

	if (!j->id) {
		j->id = json_string(r->id);
		if (r->observed)
			j->unit = json_string(unit_name(r->unit));
	}
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
	for (size_t i = 0; j->refs && i < r->nrefs; i++)
		if (json_array_append_new(j->refs, json_string(r->refs[i])) < 0)
			break;
	j->tags = json_array();
	for (size_t i = 0; j->tags && i < r->ntags; i++)
		if (json_array_append_new(j->tags, json_string(r->tags[i])) < 0)
			break;
	return j;
}

void rule_json_clear(struct rule_json *j)
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
	json_decref(j->unit);
	memset(j, 0, sizeof(*j));
}

/* A recommendation of key: the lines that apply it, the value, the mode
 * and the current value (cur: NULL when unknown). */
static json_t *rec_json(const char *key, const struct value *v, enum rec_mode mode,
			const json_t *cur)
{
	json_t *o = json_object();
	char *txt = value_format(v, VALUE_FORMAT_SYSCTL), *w = NULL, *d = NULL;
	int r = !o || !txt;

	if (!r) {
		bool spaces = strchr(txt, ' ') != NULL;

		r = asprintf(&w, spaces ? "sysctl -w %s=\"%s\"" : "sysctl -w %s=%s", key, txt) < 0 ||
		    asprintf(&d, "%s = %s", key, txt) < 0;
	}
	if (!r)
		r = json_set_escaped(o, "sysctl_w", w) < 0 || json_set_escaped(o, "sysctl_d", d) < 0 ||
		    set_new(o, "key", json_string(key)) < 0 || set_new(o, "value", value_to_json(v)) < 0 ||
		    set_new(o, "mode", json_string(rec_mode_name(mode))) < 0 ||
		    set_fact(o, "current", cur) < 0;
	free(txt);
	free(w);
	free(d);
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const json_t *current_sysctl(const json_t *facts, const char *key)
{
	return json_object_get(json_object_get(facts, "sysctl"), key);
}

static json_t *waiver_of_finding(const struct waiver *w)
{
	json_t *o = json_object();
	char *ws = origin_str(&w->where);
	int r = !o || !ws || json_set_escaped(o, "reason", w->reason) < 0 ||
		(w->expires[0] && set_new(o, "expires", json_string(w->expires)) < 0) ||
		set_new(o, "expired", json_boolean(w->expired)) < 0 ||
		json_set_escaped(o, "source", ws) < 0;

	free(ws);
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *finding_json(const struct finding *f, const json_t *facts)
{
	const struct rule_json *rj = f->rj;
	json_t *o = json_object(), *recs = json_array();
	int r = !o || !recs;

	for (size_t i = 0; !r && i < f->nrecs; i++) {
		const struct recommend *rec = f->recs[i].rec;
		json_t *one = rec_json(rec->key, &f->recs[i].v, rec->mode, current_sysctl(facts, rec->key));

		r = !one || json_set_escaped(one, "note", rec->note) < 0;
		if (r)
			json_decref(one);
		else
			r = json_array_append_new(recs, one) < 0;
	}
	r = r || set_shared(o, "rule", rj->id) < 0 || set_shared(o, "ruleset", rj->ruleset) < 0 ||
	    set_shared(o, "source", rj->source) < 0 || set_shared(o, "severity", rj->severity) < 0 ||
	    set_shared(o, "title", rj->title) < 0 ||
	    json_set_display(o, "subject", f->subject ? f->subject : "?") < 0 ||
	    json_set_display(o, "message", f->message ? f->message : "?") < 0 ||
	    set_fact(o, "observed", f->observed) < 0 ||
	    (f->observed && set_shared(o, "observed_unit", rj->unit) < 0) ||
	    set_shared(o, "recommend", recs) < 0 ||
	    set_shared(o, "rationale", rj->rationale) < 0 || set_shared(o, "risk", rj->risk) < 0 ||
	    set_shared(o, "references", rj->refs) < 0 || set_shared(o, "tags", rj->tags) < 0 ||
	    (f->waiver && set_new(o, "waiver", waiver_of_finding(f->waiver)) < 0) ||
	    set_new(o, "status", json_string(f->waived ? "waived" : "fail")) < 0;
	json_decref(recs);
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

bool finding_same(const json_t *a, const json_t *b)
{
	static const char *const keys[] = { "subject", "message", "observed", "recommend", "status" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);

		if ((x || y) && (!x || !y || !json_equal(x, y)))
			return false;
	}
	return true;
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

json_t *findings_sorted(const json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = malloc((n ? n : 1) * sizeof(*v)), *out = json_array();

	if (!v || !out) {
		free(v);
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), finding_cmp);
	for (size_t i = 0; out && i < n; i++)
		if (json_array_append(out, v[i]) < 0) {
			json_decref(out);
			out = NULL;
		}
	free(v);
	return out;
}

const struct waiver *waiver_find(const struct rulebook *rb, const char *id, const char *subject)
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

json_t *waivers_json(const struct rulebook *rb, const bool *used)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < rb->nwaivers; i++) {
		const struct waiver *w = &rb->waivers[i];
		json_t *o = json_object();
		char *ws = origin_str(&w->where);
		int r = !o || !ws || set_new(o, "rule", json_string(w->rule_id)) < 0 ||
			json_set_escaped(o, "subject", w->subject) < 0 ||
			json_set_escaped(o, "reason", w->reason) < 0 ||
			(w->expires[0] && set_new(o, "expires", json_string(w->expires)) < 0) ||
			set_new(o, "expired", json_boolean(w->expired)) < 0 ||
			set_new(o, "used", json_boolean(used && used[i])) < 0 ||
			json_set_escaped(o, "source", ws) < 0;

		free(ws);
		if (r)
			json_decref(o);
		if (r || json_array_append_new(list, o) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

/* The value that meets both recommendations best (the merged one so far)
 * and v under mode: for at-least the larger, for at-most the smaller, for
 * exact the same value; lists of integers of one length element by element
 * (tcp_rmem 4096 131072 33554432 and 4096 262144 16777216 at least: 4096
 * 262144 33554432).  Returns 0 (best stays), 1 (*out is the new best, to
 * be owned), -1 when they cannot be merged (exact values that differ,
 * other types, lists of other lengths), or -ENOMEM. */
static int rec_combine(const struct value *best, const struct value *v, enum rec_mode mode, struct value *out)
{
	json_t *list;
	bool changed = false;

	if (best->type == VALUE_INT && v->type == VALUE_INT) {
		if (mode == REC_EXACT)
			return best->i == v->i ? 0 : -1;
		if ((mode == REC_AT_LEAST && v->i > best->i) || (mode == REC_AT_MOST && v->i < best->i))
			return value_dup(v, out) < 0 ? -ENOMEM : 1;
		return 0;
	}
	if (best->type != VALUE_LIST || v->type != VALUE_LIST ||
	    json_array_size(best->json) != json_array_size(v->json))
		return -1;
	if (mode == REC_EXACT)
		return json_equal(best->json, v->json) ? 0 : -1;
	list = json_array();
	for (size_t i = 0; list && i < json_array_size(v->json); i++) {
		const json_t *a = json_array_get(best->json, i), *b = json_array_get(v->json, i);
		bool take;

		if (!json_is_integer(a) || !json_is_integer(b)) {
			json_decref(list);
			return -1;
		}
		take = mode == REC_AT_LEAST ? json_integer_value(b) > json_integer_value(a)
					    : json_integer_value(b) < json_integer_value(a);
		changed |= take;
		if (json_array_append(list, (json_t *)(take ? b : a)) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list)
		return -ENOMEM;
	if (!changed) {
		json_decref(list);
		return 0;
	}
	*out = (struct value){ .type = VALUE_LIST, .owned = true, .json = list };
	return 1;
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

void rec_merge_add(struct rec_merge *M, const struct rule *r, const struct recommend *rec,
		   const struct value *v)
{
	struct merged *m = NULL;
	char *txt = value_format(v, VALUE_FORMAT_SYSCTL);

	for (size_t i = 0; i < M->n; i++)
		if (!strcmp(M->recs[i].key, rec->key))
			m = &M->recs[i];
	if (!m) {
		struct merged *n = realloc(M->recs, (M->n + 1) * sizeof(*n));

		if (!n) {
			free(txt);
			return;
		}
		M->recs = n;
		m = &M->recs[M->n++];
		memset(m, 0, sizeof(*m));
		m->key = rec->key;
		m->mode = rec->mode;
		m->rules = json_array();
		m->notes = json_array();
		m->values = json_object();
		value_dup(v, &m->best);
	} else if (m->mode != rec->mode) {
		m->conflict = true;
	} else {
		struct value nb = VALUE_ABSENT_INIT;
		int c = rec_combine(&m->best, v, rec->mode, &nb);

		if (c == -1)
			m->conflict = true;
		else if (c == 1) {
			value_free(&m->best);
			m->best = nb;
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

json_t *rec_merge_json(struct rec_merge *M, const json_t *facts)
{
	json_t *list = json_array();

	for (size_t i = 0; i < M->n; i++) {
		struct merged *m = &M->recs[i];
		const json_t *cur = current_sysctl(facts, m->key);
		json_t *o = list ? rec_json(m->key, &m->best, m->mode, cur) : NULL;
		/* never lower a value that is already higher (or raise one
		 * already lower, for at-most) */
		int sat = rec_satisfied(cur, &m->best, m->mode);
		int r = !o || (sat >= 0 && set_new(o, "satisfied", json_boolean(sat)) < 0) ||
			set_shared(o, "rules", m->rules) < 0 ||
			(json_array_size(m->notes) && set_shared(o, "notes", m->notes) < 0) ||
			(m->conflict && (set_new(o, "conflict", json_true()) < 0 ||
					 set_shared(o, "asked", m->values) < 0));

		if (r)
			json_decref(o);
		if (list && (r || json_array_append_new(list, o) < 0)) {
			json_decref(list);
			list = NULL;
		}
		json_decref(m->rules);
		json_decref(m->notes);
		json_decref(m->values);
		value_free(&m->best);
	}
	free(M->recs);
	M->recs = NULL;
	M->n = 0;
	return list;
}
