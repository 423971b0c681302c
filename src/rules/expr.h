/* The expression language of rules: values, parser and evaluator.  The
 * language (grammar, types, absent facts, functions, limits) is described in
 * doc/expressions.md.
 *
 * An expression is parsed once (expr_parse) into an immutable tree: names
 * are resolved, function arities checked and sysctl key literals validated
 * there, so that a rule file with a mistake fails at load time.  expr_eval
 * then runs the tree against a facts document as often as needed; it never
 * re-parses, and it allocates only when the expression builds a list or a
 * string (or when the environment's cache grows).  A parsed expression may
 * be evaluated from several threads at once, each with its own environment.
 *
 * Ownership of values: a struct value borrows its storage (from the facts,
 * the environment or the expression) unless .owned is set, in which case it
 * owns it; value_free() releases what it owns and may always be called. */
#ifndef NK_EXPR_H
#define NK_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Limits against hostile input; exceeding one is a parse error. */
#define EXPR_MAX_LEN 4096      /* bytes of expression text */
#define EXPR_MAX_DEPTH 64      /* nesting: operators, calls, brackets, parentheses */
#define EXPR_MAX_STRING 1024   /* bytes of one string literal (after escapes) */
#define EXPR_MAX_LIST 256      /* elements of a list literal, arguments of a call */
#define EXPR_MAX_NAME 64       /* bytes of a name */
#define EXPR_MAX_NAMES 16      /* names bound by the caller (struct expr_scope) */
#define EXPR_MAX_LOCALS 8      /* comprehensions nested in one another */
/* A string built during evaluation ("a" + b) longer than this is an
 * evaluation error. */
#define EXPR_MAX_RESULT_STRING (64 * 1024)

/* ---------------------------------------------------------------- values */

enum value_type {
	VALUE_ABSENT,   /* a fact that is missing or unreadable; JSON null */
	VALUE_BOOL,
	VALUE_INT,      /* signed 64-bit */
	VALUE_STRING,
	VALUE_LIST,     /* a JSON array; its null elements are absent */
	VALUE_OBJECT,   /* a JSON object (a listener, host, ...) */
};

struct value {
	enum value_type type;
	bool owned;     /* the value owns s.ptr (malloc) or a reference to json */
	union {
		bool b;
		int64_t i;
		struct {
			const char *ptr; /* ptr[len] is '\0'; UTF-8 */
			size_t len;
		} s;
		json_t *json;    /* VALUE_LIST, VALUE_OBJECT */
	};
};

#define VALUE_ABSENT_INIT ((struct value){ .type = VALUE_ABSENT })

void value_release(struct value *v);

/* json_incref() and json_decref() for values that other threads may hold
 * at the same time (the facts document while rules are evaluated on
 * several threads): jansson's own check the count with a plain read
 * besides updating it atomically; these only use atomic accesses.  NULL
 * is allowed. */
json_t *value_json_ref(json_t *j);
void value_json_unref(json_t *j);

/* Release what v owns and leave it absent. */
static inline void value_free(struct value *v)
{
	if (v->owned)
		value_release(v);
	else
		v->type = VALUE_ABSENT;
}

/* A value borrowing j (JSON null or j == NULL: absent).  Returns 0, or
 * -EINVAL for a JSON real number, which has no place in the language. */
int value_from_json(const json_t *j, struct value *out);

/* A copy of v that owns its storage, so that it outlives the facts document
 * and the expression it came from.  Returns 0 or -ENOMEM. */
int value_dup(const struct value *v, struct value *out);

/* New JSON reference for v (absent: JSON null); NULL when out of memory. */
json_t *value_to_json(const struct value *v);

enum value_format_flags {
	/* lists of integers as sysctl(8) writes them ("4096 131072 6291456")
	 * instead of "[4096, 131072, 6291456]" */
	VALUE_FORMAT_SYSCTL = 1 << 0,
};

/* The text of v for messages: integers in decimal, strings as they are (no
 * quotes, not escaped: escape when printing), true/false, "n/a" for absent,
 * lists and objects as one-line JSON.  Newly allocated; NULL when out of
 * memory. */
char *value_format(const struct value *v, unsigned flags);

/* "an integer", "a string", "a boolean", "a list", "an object", "absent" */
const char *value_type_name(enum value_type t);

/* --------------------------------------------------------------- errors */

#define EXPR_ERROR_MSG 256

/* Where and why parsing or evaluation failed.  Positions refer to the
 * expression text; the caller adds the rule id and file:line:col of the
 * YAML scalar. */
struct expr_error {
	unsigned line;   /* 1-based line within the expression text */
	unsigned col;    /* 1-based column (characters) within that line */
	size_t offset;   /* byte offset into the expression text */
	char msg[EXPR_ERROR_MSG];
};

/* ---------------------------------------------------------------- parse */

/* Names the caller binds for an expression besides the built-in ones
 * (host, listeners, states, sockstat, softnet, cpus, facts, var): the item
 * of a rule's foreach ("listener", "cpu" ...).  The value of names[i] is
 * env->items[i] at evaluation. */
struct expr_scope {
	const char *const *names;
	size_t n_names;
};

struct expr;

/* Parse len bytes of src (NUL bytes in them are an error).  scope may be
 * NULL.  Returns the tree, or NULL with err filled in (err->msg is "out of
 * memory" when that is the cause). */
struct expr *expr_parse(const char *src, size_t len, const struct expr_scope *scope,
			struct expr_error *err);
void expr_free(struct expr *e);

/* The text the expression was parsed from (NUL-terminated). */
const char *expr_source(const struct expr *e);

/* Whether name may be bound by a scope: a name (letters, digits and '_',
 * not starting with a digit, at most EXPR_MAX_NAME bytes) that is not
 * built in.  On failure *why says what is wrong. */
bool expr_name_valid(const char *name, const char **why);

/* Call fn for every sysctl key the expression reads, once each, in order of
 * first appearance, so that the caller can read them into the facts before
 * evaluation.  Keys are in canonical dotted form.  For sysctl() calls with a
 * computed key, fn gets a pattern in which the computed parts are '*'
 * ("net.ipv4.conf.*.rp_filter", as sysctl_collect() expands it), or NULL when
 * nothing is known about the key.  Stops at and returns the first non-zero
 * return of fn; 0 otherwise. */
int expr_sysctl_keys(const struct expr *e, int (*fn)(const char *key, void *data), void *data);

/* Whether the expression is a sysctl() read as a whole (its value is a
 * setting's). */
bool expr_reads_sysctl(const struct expr *e);

/* Call fn for every lookup() of the expression with the table it names and
 * its position (at->line, at->col, at->offset), so that the rule loader can
 * check, once every file is loaded, that the table exists.  Stops at and
 * returns the first non-zero return of fn; 0 otherwise. */
int expr_lookup_tables(const struct expr *e,
		       int (*fn)(const char *table, const struct expr_error *at, void *data),
		       void *data);

/* Whether s (len bytes) is a name of the language: letters, digits and '_',
 * not starting with a digit, at most EXPR_MAX_NAME bytes. */
bool expr_name_syntax(const char *s, size_t len);

/* ------------------------------------------------------------- evaluate */

enum expr_section {
	EXPR_SEC_FACTS,
	EXPR_SEC_HOST,
	EXPR_SEC_LISTENERS,
	EXPR_SEC_STATES,
	EXPR_SEC_SOCKSTAT,
	EXPR_SEC_SOFTNET,
	EXPR_SEC_CPUS,
	EXPR_SEC_VAR,
	EXPR_SEC_SYSCTL,
	EXPR_SEC_COUNTERS,
	EXPR_SEC_SAMPLE,        /* facts.sample (delta(), rate()) */
	EXPR_SEC_COUNT
};

struct expr_cache;

/* What an expression is evaluated against.  Set it up with expr_env_init()
 * and call that again after sections of the facts document are added or
 * replaced (reading sysctl keys into an existing "sysctl" object needs no
 * new call).  items may be changed between evaluations (one per foreach
 * item): assigning items and n_items is enough, no new expr_env_init() is
 * needed for that.  cache is NULL after expr_env_init(); see expr_cache_new(). */
struct expr_env {
	const json_t *facts;        /* the facts document, or NULL: all absent */
	const json_t *vars;         /* site variables (an object), or NULL */
	const json_t *tables;       /* lookup(): table name -> list of entries, in the
				       order they are tried (the rule engine's
				       rulebook tables), or NULL: none */
	const struct value *items;  /* values of the scope's names, in order */
	size_t n_items;
	/* Names bound lazily (a rule's let): when lazy is not NULL and
	 * lazy[i] is, reading name i evaluates lazy[i] once (with this
	 * environment), keeps the result in lazy_values[i] (items must point to
	 * the same array) and sets lazy_done[i]; lazy_names[i] names it in
	 * errors.  The caller frees the values done and clears lazy_done
	 * between items. */
	const struct expr *const *lazy;
	const char *const *lazy_names;
	struct value *lazy_values;
	unsigned char *lazy_done;
	const json_t *sec[EXPR_SEC_COUNT]; /* filled by expr_env_init() */
	struct expr_cache *cache;   /* optional: memo of field reads, or NULL */
};

void expr_env_init(struct expr_env *env, const json_t *facts, const json_t *vars,
		   const struct value *items, size_t n_items);

/* A memo of field reads (obj.name) shared by the evaluations of one
 * environment, so that reading the same field of the same object again
 * (the same listener in rule after rule) needs no hashing of the name in
 * the object: attach it with env->cache = cache after expr_env_init().
 * It also memoises the values of invariant subexpressions (those that read
 * neither the items nor a comprehension variable bound outside them: var.x
 * or sysctl("...") in a foreach rule), by node, for the documents (facts
 * and vars) of the first environment it serves; evaluations against other
 * documents do not use that part.  Results are the same with and without a
 * cache.
 *
 * Contract: the cache remembers values borrowed from the documents the
 * evaluations read (facts, vars, the JSON behind items), by the addresses
 * of objects and lists, and the field names of the expressions, by their
 * addresses.  So while the cache holds entries, those documents must
 * neither change nor be freed, and the expressions evaluated with it must
 * not be freed: call expr_cache_clear() (or expr_cache_free()) before
 * modifying or releasing any of them.  The rule engine never modifies the
 * facts while evaluating, and its rules outlive an audit run, so one cache
 * per run is sound.  A cache belongs to one thread at a time.
 * expr_cache_new() returns NULL when out of memory (evaluate without a
 * cache then); the cache stops growing at a bound and keeps working without
 * memoising more. */
struct expr_cache *expr_cache_new(void);
void expr_cache_clear(struct expr_cache *cache);
void expr_cache_free(struct expr_cache *cache);

/* Element i of list (borrowed), as value_from_json(json_array_get(list->json,
 * i), out) gives it, but through env->cache when there is one: for going
 * through the items of a foreach.  Absent when list is not a list or i is
 * past its end.  Returns 0, or -EINVAL for a JSON real number. */
int expr_list_get(const struct expr_env *env, const struct value *list, size_t i,
		  struct value *out);

/* Evaluate e.  On success returns 0 and stores the result in *out (free it
 * with value_free; it may borrow from env's documents and from e).  On
 * failure returns -EINVAL (an error in the expression or the data: division
 * by zero, overflow, type mismatch ...) or -ENOMEM, fills err and leaves
 * *out absent. */
int expr_eval(const struct expr *e, const struct expr_env *env, struct value *out,
	      struct expr_error *err);

enum expr_truth {
	EXPR_FALSE,
	EXPR_TRUE,
	EXPR_NA,    /* the result is absent: "not applicable" */
};

/* Evaluate a condition (applies, check): the result must be a boolean or
 * absent; anything else is an error. */
int expr_eval_bool(const struct expr *e, const struct expr_env *env, enum expr_truth *out,
		   struct expr_error *err);

#endif
