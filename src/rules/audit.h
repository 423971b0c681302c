/* The audit document's pieces (doc/audit-schema.json), for the rule
 * engine's evaluation (eval.c): a finding as a struct with its one
 * serialiser, a recommendation's JSON, the recommendations merged over
 * all the rules, the waivers and the order of findings.  Functions that
 * return a json_t * return a new reference, NULL when out of memory. */
#ifndef NK_RULES_AUDIT_H
#define NK_RULES_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "rules/expr.h"
#include "rules/rules.h"

/* JSON of the rule being evaluated that its results and findings share,
 * made when the first needs it: strings and these lists are never modified
 * once built, so that one reference serves every finding of a foreach. */
struct rule_json {
	json_t *id;              /* NULL: not made */
	json_t *ruleset, *source, *severity, *title, *rationale, *risk, *refs, *tags;
	json_t *unit;            /* of the observed value; NULL: the rule has none */
};

/* The id only (every result has it), or everything for a finding; what
 * could not be made is NULL (and left out of findings). */
const struct rule_json *rule_json_get(struct rule_json *j, const struct rule *r, bool finding);
void rule_json_clear(struct rule_json *j);

/* A value a failing rule recommends for one of its keys. */
struct finding_rec {
	const struct recommend *rec;
	struct value v;          /* owned, not absent */
};

/* A rule that failed for a subject. */
struct finding {
	const struct rule_json *rj;
	const char *subject;     /* as rendered (not escaped yet); NULL: unknown */
	const char *message;
	const json_t *observed;  /* NULL: none */
	const struct finding_rec *recs;
	size_t nrecs;
	const struct waiver *waiver; /* the one that matches, or NULL */
	bool waived;             /* by that waiver, unexpired */
};

/* The finding as the audit document holds it (facts: for the current
 * values of the keys it recommends). */
json_t *finding_json(const struct finding *f, const json_t *facts);

/* Two findings of one rule that say the same: same subject, message,
 * observed value, recommendations and status. */
bool finding_same(const json_t *a, const json_t *b);

/* The findings of arr, most severe first, then by rule and subject. */
json_t *findings_sorted(const json_t *arr);

/* "host:line:col" of o, newly allocated; NULL when out of memory. */
char *origin_str(const struct origin *o);

/* o[k] = v escaped (src/util/escape.c); nothing when v is NULL.  0, or -1
 * when out of memory. */
int json_set_escaped(json_t *o, const char *k, const char *v);

/* The waiver of rule id for subject: an unexpired one before an expired
 * one; NULL when none. */
const struct waiver *waiver_find(const struct rulebook *rb, const char *id, const char *subject);

/* The waivers of rb as the audit lists them (used[i]: waiver i waived a
 * finding). */
json_t *waivers_json(const struct rulebook *rb, const bool *used);

/* The recommendations of all the rules, merged by key. */
struct rec_merge {
	struct merged *recs;
	size_t n;
};

/* Merge what rule r recommends (v) for rec->key. */
void rec_merge_add(struct rec_merge *m, const struct rule *r, const struct recommend *rec,
		   const struct value *v);

/* The merged recommendations as the audit lists them; m is emptied. */
json_t *rec_merge_json(struct rec_merge *m, const json_t *facts);

#endif
