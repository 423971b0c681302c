/* Internals of the expression language shared by the parser
 * (expr-parse.c), the evaluator (expr-eval.c) and the values (value.c). */
#ifndef NK_EXPR_INT_H
#define NK_EXPR_INT_H

#include <stdarg.h>
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
