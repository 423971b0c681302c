/* Internals of the rule loader shared by its files: load.c (files, the
 * rule book, the helpers every section uses), load-rule.c (a rule),
 * load-sections.c (variables, keys, profiles, tables, overrides and
 * waivers).  Every function that finds a mistake reports it at
 * file:line:col (load_err()) and counts it in the rule book. */
#ifndef NK_LOAD_INT_H
#define NK_LOAD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "rules/expr.h"
#include "rules/rules.h"
#include "rules/ytree.h"

#define RULE_ID_MAX 64
#define TEXT_MAX 8192

/* The file being loaded into a rule book. */
struct load_ctx {
	struct rulebook *rb;
	const char *file;
};

/* An override waiting for every file to be loaded (rulebook_finish()). */
struct pending_override {
	char *rule_id;
	int enabled;              /* -1 unchanged */
	int severity;             /* -1 unchanged */
	struct origin where;
};

enum vars_kind { VARS_DEFAULT, VARS_SITE, VARS_PROFILE };

/* The settings main() gave (rules_configure()), for load.c and eval.c. */
extern struct rules_settings rules_config;

/* ------------------------------------------------------- helpers (load.c) */

/* Report a mistake at node n (NULL: the file) and count it. */
void load_err(struct load_ctx *c, const struct ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Unknown keys of a mapping (allowed: NULL-terminated), each named with the
 * closest allowed one: 0 or -EINVAL (reported). */
int load_check_keys(struct load_ctx *c, const struct ynode *map, const char *what,
		    const char *const *allowed);

/* Field key of map, of type t; NULL (reported when required or of another
 * type) when it is not there. */
const struct ynode *load_want(struct load_ctx *c, const struct ynode *map, const char *key,
			      enum ynode_type t, bool required, const char *what);

/* A printable text (load_text: lines allowed; load_line: one line),
 * bounded, newly allocated; NULL when reported (or out of memory). */
int load_text_safe(struct load_ctx *c, const struct ynode *n, const char *key, bool lines);
char *load_text(struct load_ctx *c, const struct ynode *n, const char *key);
char *load_line(struct load_ctx *c, const struct ynode *n, const char *key);

/* The expression of scalar n (field names it in messages); NULL when
 * reported.  Errors inside an expression are reported at their place in the
 * YAML scalar (load_expr_err()); the lookup() tables it reads are noted for
 * tables_finish(), shift columns after the start of the scalar. */
struct expr *load_expr(struct load_ctx *c, const struct ynode *n, const char *field,
		       const struct expr_scope *scope);
void load_expr_err(struct load_ctx *c, const struct ynode *n, const char *field,
		   const struct expr_error *e);
void load_note_lookups(struct load_ctx *c, const struct ynode *n, const struct expr *x,
		       unsigned shift);

/* ------------------------------------------------------ rules (load-rule.c) */

/* Read the rule n of rule set setname into c->rb (reported when wrong). */
void load_rule(struct load_ctx *c, const struct ynode *n, const char *setname);
void load_rule_free(struct rule *r);

/* The index of rule id in rb->rules, (size_t)-1 when there is none. */
size_t load_rule_index(const struct rulebook *rb, const char *id);

/* A rule or rule set id: a lower-case word (a-z 0-9 - . _). */
bool load_valid_id(const char *s, size_t len);

/* A list of one-line texts (words: of ids) into *out, *nout of them: 0 or
 * -EINVAL (reported). */
int load_string_list(struct load_ctx *c, const struct ynode *n, const char *field, char ***out,
		     size_t *nout, bool words);

/* ------------------------------------------------ sections (load-sections.c) */

void load_variables(struct load_ctx *c, const struct ynode *map, enum vars_kind kind,
		    json_t *into);
void load_keys(struct load_ctx *c, const struct ynode *map, const char *setname);
void load_profiles(struct load_ctx *c, const struct ynode *seq);
void load_tables(struct load_ctx *c, const struct ynode *map, const char *setname);
void load_override(struct load_ctx *c, const struct ynode *n);
void load_waiver(struct load_ctx *c, const struct ynode *n);
void load_key_doc_free(struct key_doc *d);

/* A date as YYYY-MM-DD (a waiver's expiry). */
bool load_valid_date(const char *s);
void load_profile_free(struct profile *p);

#endif
