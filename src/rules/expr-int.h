/* Internals of the expression language shared by the lexer (expr-lex.c),
 * the parser (expr-parse.c), the builtins (expr-builtins.c), the evaluator
 * (expr-eval.c, expr-cache.c) and the values (value.c). */
#ifndef NK_EXPR_INT_H
#define NK_EXPR_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/expr.h"

enum node_kind {
	N_INT,          /* u.i */
	N_STR,          /* u.s */
	N_BOOL,         /* u.b */
	N_NULL,         /* absent */
	N_CONST,        /* u.json: a list literal whose elements are constants */
	N_LIST,         /* u.list: a list literal with computed elements */
	N_SECTION,      /* u.idx: a built-in name (enum expr_section) */
	N_ITEM,         /* u.idx: a name of the caller's scope */
	N_LOCAL,        /* u.idx: the variable of a comprehension */
	N_FIELD,        /* u.field: a.name */
	N_INDEX,        /* u.k.a[u.k.b] */
	N_NEG, N_NOT,   /* u.k.a */
	/* binary operators on u.k.a and u.k.b */
	N_ADD, N_SUB, N_MUL, N_DIV, N_MOD,
	N_EQ, N_NE, N_LT, N_LE, N_GT, N_GE,
	N_AND, N_OR,
	N_COND,         /* u.k.a ? u.k.b : u.k.c */
	N_CALL,         /* u.call */
};

/* The builtins, in the order of their table (expr_builtins[]). */
enum expr_func {
	F_SYSCTL,
	F_COUNTER,
	F_MIN,
	F_MAX,
	F_SUM,
	F_COUNT,
	F_ANY,
	F_ALL,
	F_LEN,
	F_POW2CEIL,
	F_EXISTS,
	F_DEFAULT,
	F_KERNEL_AT_LEAST,
	F_VERSION_CMP,
	F_CLAMP,
	F_PERCENT,
	F_ABS,
	F_SYSCTL_MATCH,
	F_ENTRIES,
	F_DELTA,
	F_RATE,
	F_ENDPOINT,
	F_LOOKUP,
	F_TEXT,
	F_COUNT_FUNCS
};

struct node {
	uint8_t kind;           /* enum node_kind */
	uint8_t func;           /* N_CALL: enum expr_func */
	uint8_t comp;           /* N_CALL: comprehension (args: list, body, filter) */
	uint8_t local;          /* N_CALL with comp: the variable's slot */
	uint16_t pos;           /* byte offset of the node's token in the source */
	uint8_t height;         /* of the subtree (parser only) */
	uint8_t memo;           /* an invariant worth memoising: see expr_mark_invariants() */
	union {
		int64_t i;
		bool b;
		struct {
			const char *ptr;
			size_t len;
		} s;
		json_t *json;
		unsigned idx;
		struct {
			struct node *obj;
			const char *name;
			uint32_t hash;  /* expr_name_hash() of name */
			uint32_t len;   /* of name */
		} field;
		struct {
			struct node *a, *b, *c;
		} k;
		struct {
			struct node **args;  /* comprehension: list, body, filter (or NULL) */
			unsigned n;
			const char *key;     /* F_SYSCTL with a literal key: canonical key;
						F_SYSCTL_MATCH: the canonical pattern */
		} call;
		struct {
			struct node **elts;
			unsigned n;
		} list;
	} u;
};

struct arena_block;

/* An expression and everything it holds are allocated in one arena (the
 * struct expr itself in its first block). */
struct expr {
	struct node *root;
	char *src;              /* copy of the text, NUL-terminated */
	size_t len;
	unsigned n_items;       /* names of the scope at parse time */
	const char **keys;      /* sysctl keys and patterns (NULL: unknown) */
	size_t n_keys;
	json_t *consts;         /* holds the JSON of N_CONST nodes (NULL: none) */
	struct arena_block *arena;
};

/* A literal: its value is known at parse time. */
static inline bool expr_is_constant(const struct node *n)
{
	return n->kind == N_INT || n->kind == N_STR || n->kind == N_BOOL || n->kind == N_NULL ||
	       n->kind == N_CONST;
}

/* A new expression for a text of len bytes, in its own arena (the struct
 * itself in its first block); NULL when out of memory. */
struct expr *expr_alloc(size_t len);

/* Mark the subexpressions the evaluator memoises (struct node's memo). */
void expr_mark_invariants(struct expr *e);

static inline void value_set_int(struct value *v, int64_t i)
{
	v->type = VALUE_INT;
	v->owned = false;
	v->i = i;
}

static inline void value_set_bool(struct value *v, bool b)
{
	v->type = VALUE_BOOL;
	v->owned = false;
	v->b = b;
}

static inline void value_set_absent(struct value *v)
{
	*v = VALUE_ABSENT_INIT;
}

/* A value owning the string s (malloc), len bytes. */
static inline void value_set_string(struct value *v, char *s, size_t len)
{
	v->type = VALUE_STRING;
	v->owned = true;
	v->s.ptr = s;
	v->s.len = len;
}

/* A value owning the list (a new reference, consumed). */
static inline void value_set_list(struct value *v, json_t *list)
{
	v->type = VALUE_LIST;
	v->owned = true;
	v->json = list;
}

/* ------------------------------------------------------------- builtins */

struct parser;
struct expr_ctx;

/* What a builtin accepts as an argument: the types (a bit per enum
 * value_type; 0: any, or checked by the builtin itself), and how an error
 * names them, "NAME() needs WHAT, not TYPE", WHAT being one in a call with
 * one argument and many otherwise.  The parser checks literal arguments
 * against it; the evaluator checks the values of a builtin with apply. */
struct expr_arg {
	unsigned accept;
	const char *one, *many;
};

/* Specs of a builtin's first arguments; an argument without one has the
 * spec of the last argument that has one (expr_builtin_arg()). */
#define EXPR_ARG_SPECS 3

/* A function of the language: one row of expr_builtins[] (expr-builtins.c). */
struct expr_builtin {
	const char *name;
	unsigned min, max;      /* arguments; EXPR_MAX_LIST: any number */
	bool comp;              /* takes a comprehension: f(x in list [where c] : body) */
	struct expr_arg args[EXPR_ARG_SPECS];
	/* Checks at parse time beyond the types of literal arguments (a
	 * literal sysctl key, a table's name): 0, or -1 with the error set
	 * by expr_parse_error().  NULL: none. */
	int (*check)(struct parser *p, struct node *call);
	/* Evaluation, one of: eval gets the call and evaluates its arguments
	 * itself (in the order and as often as it wants); apply gets them
	 * evaluated and checked against args (at most EXPR_ARG_SPECS), and is
	 * not called when one is absent (the result is absent then). */
	int (*eval)(struct expr_ctx *c, const struct node *call, struct value *out);
	int (*apply)(struct expr_ctx *c, const struct node *call, const struct value *args,
		     struct value *out);
};

extern const struct expr_builtin expr_builtins[F_COUNT_FUNCS];

/* What b accepts as argument i. */
const struct expr_arg *expr_builtin_arg(const struct expr_builtin *b, unsigned i);

/* The builtin called name (len bytes): its index, or -1. */
int expr_builtin_find(const char *name, size_t len);

/* Allocate n bytes in e's arena (freed with e); NULL when out of memory. */
void *expr_arena_alloc(struct expr *e, size_t n);

/* Services of the parser for the builtins' checks: an error at byte offset
 * pos of the text (returns -1), and the sysctl keys an expression reads
 * (expr_sysctl_keys()): add key (a canonical key or pattern; NULL: a key not
 * known before evaluation), or keep it in the call too (call->u.call.key). */
int expr_parse_error(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int expr_parse_add_key(struct parser *p, const char *key);
int expr_parse_keep_key(struct parser *p, struct node *call, const char *key);

/* "5.4", "6.1.0": numbers (at most 9 digits each) separated by dots; with
 * !strict anything that starts with a number ("5.10.0-27-amd64"). */
static inline bool expr_is_version(const char *s, size_t len, bool strict)
{
	size_t i = 0;

	if (!strict)
		return len > 0 && s[0] >= '0' && s[0] <= '9';
	for (;;) {
		size_t start = i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start || i - start > 9)
			return false;
		if (i == len)
			return true;
		if (s[i] != '.')
			return false;
		i++;
	}
}

/* Hash of a field name (32-bit FNV-1a), computed at parse time for the
 * field cache of the evaluator. */
static inline uint32_t expr_name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Fill err with the position of byte offset pos in src and a message. */
void expr_error_set(struct expr_error *err, const char *src, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Whether operator kind (N_NEG ... N_OR) accepts operands of types a and b
 * (VALUE_ABSENT: not known, accepted).  0, or -1 with a message in msg. */
int expr_op_check(unsigned kind, enum value_type a, enum value_type b, char *msg, size_t size);

/* Compare two kernel release strings by their leading numeric components
 * ("5.10.0-27-amd64" > "5.4"): -1, 0 or 1; -2 when either has no leading
 * number. */
int expr_version_cmp(const char *a, const char *b);

/* Append s (len bytes) to buf as a double-quoted string literal, escaping
 * quotes, backslashes and control characters; truncates to fit size. */
void expr_quote(char *buf, size_t size, const char *s, size_t len);

#endif
