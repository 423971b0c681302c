/* The memo of the evaluator (struct expr_cache, see expr.h): its layout,
 * for the evaluator's fast path, and its internal interface.  Only
 * expr-eval.c, expr-builtins.c and expr-cache.c include this. */
#ifndef NK_EXPR_CACHE_H
#define NK_EXPR_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "rules/expr.h"
#include "rules/expr-int.h"

/* The memo of field reads.
 *
 * Field names get small ids, in the order the cache first meets them.  A
 * direct-mapped memo from the address of a field node's name to its id
 * spares comparing names on every read.
 *
 * Long lists (the listeners) are memoised as arrays of values, so that
 * going through their items reads one compact array instead of the JSON of
 * every item.  Handing out item i of such a list leaves a hint (this object
 * is row i of that list), and reads of the hinted object's fields go to
 * columns of the list: one array of cells per field name, filled as rows
 * are read.  The next rule over the same list reads its columns in
 * sequence.
 *
 * Other objects (var, host, what lies below an item) go to entries
 * memoising (object, name id) -> value, found through an index with linear
 * probing; an index slot holds the entry number and a few more bits of the
 * hash, so that a probe seldom looks at an entry that is not the one.
 *
 * The values of invariant nodes (marked by the parser: var.pct,
 * sysctl("...") in a foreach rule) are memoised by the address of the node,
 * for the documents of the environment the cache first served.
 *
 * Documents are immutable while the cache holds anything (the contract in
 * expr.h): a memoised value, a hint or a cell stays true. */

#define CACHE_NO_ID UINT32_MAX
#define CACHE_MIN_NAMES 16
#define CACHE_MAX_NAMES (1u << 16)
#define CACHE_MEMO 1024                /* direct-mapped: a power of two */
#define CACHE_MIN_SLOTS 256            /* of the index */
#define CACHE_MAX_USED (1u << 20)      /* entries: 24 MiB, and 8 MiB of index */
#define INDEX_ENTRY_BITS 21            /* entry number + 1; the rest of a slot is a tag */
#define INDEX_TAG_MASK (~((UINT32_C(1) << INDEX_ENTRY_BITS) - 1))
#define CACHE_LIST_MIN 4               /* shorter lists are read directly */
#define CACHE_MIN_LISTS 8
#define CACHE_MAX_CELLS (1u << 22)     /* items and cells of all lists: 64-96 MiB */
#define LIST_MAX_COLS 64               /* names with a larger id go to the entries */
#define CACHE_MIN_NODES 64
#define CACHE_MAX_NODES (1u << 20)     /* invariant nodes: 24 MiB */

/* A value without the owned flag, in 16 bytes. */
struct cell {
	union {
		bool b;
		int64_t i;
		const char *s;
		json_t *json;
	} u;
	uint32_t len;           /* VALUE_STRING */
	uint8_t type;           /* enum value_type + 1; 0: not read yet */
};

struct cache_entry {
	const json_t *obj;
	struct cell v;
	uint32_t id;
};

struct cache_name {
	char *s;                /* owned copy; NULL: free */
	uint32_t hash, len, id;
};

struct cache_memo {
	const char *name;       /* u.field.name of a node; NULL: free */
	uint32_t id;            /* CACHE_NO_ID: the name has none */
};

struct cache_node {
	const struct node *node; /* NULL: free */
	struct cell v;
};

struct cache_list {
	const json_t *list;
	size_t n;
	struct value *items;    /* n values borrowed from list; NULL: not memoised */
	struct cell *cols[LIST_MAX_COLS]; /* by name id: n cells each, or NULL */
};

struct expr_cache {
	struct cache_name *names;
	size_t name_mask, n_names;
	struct cache_memo memo[CACHE_MEMO];
	uint32_t *index;        /* 0: free, else tag | entry number + 1 */
	size_t mask;            /* index slots - 1 */
	unsigned shift;         /* 64 - log2(index slots) */
	struct cache_entry *entries;
	size_t used, cap;       /* entries made, allocated */
	struct cache_list **lists; /* open addressing by address of the list */
	size_t list_mask, n_lists;
	size_t n_cells;         /* items and cells of all lists */
	struct cache_list *last;   /* the list read last */
	json_t *derived;        /* sysctl_match() lists by pattern: they must live as
				   long as the entries that point into them */
	/* the hint: hint_obj is item hint_row of hint_list */
	const json_t *hint_obj;
	struct cache_list *hint_list;
	size_t hint_row;
	/* invariant nodes, by open addressing on their address (NULL: none
	 * yet), memoised for the documents memo_facts and memo_vars */
	struct cache_node *nodes;
	size_t node_mask, n_nodes;
	bool memo_bound;
	const json_t *memo_facts, *memo_vars, *memo_tables;
};


static inline size_t expr_cache_ptr_hash(const void *p)
{
	return (size_t)(((uint64_t)(uintptr_t)p * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
}

static inline void expr_cell_set(struct cell *c, const struct value *v)
{
	c->len = 0;
	c->u.i = 0;
	switch (v->type) {
	case VALUE_BOOL:
		c->u.b = v->b;
		break;
	case VALUE_INT:
		c->u.i = v->i;
		break;
	case VALUE_STRING:
		c->u.s = v->s.ptr;
		c->len = (uint32_t)v->s.len;
		break;
	case VALUE_LIST:
	case VALUE_OBJECT:
		c->u.json = v->json;
		break;
	default:
		break;
	}
	c->type = (uint8_t)(v->type + 1);
}

/* Whether v can be a cell: borrowed, and a string not too long. */
static inline bool expr_cell_fits(const struct value *v)
{
	return !v->owned && (v->type != VALUE_STRING || v->s.len <= UINT32_MAX);
}

static inline void expr_cell_get(const struct cell *c, struct value *out)
{
	out->type = (enum value_type)(c->type - 1);
	out->owned = false;
	switch (out->type) {
	case VALUE_BOOL:
		out->b = c->u.b;
		break;
	case VALUE_INT:
		out->i = c->u.i;
		break;
	case VALUE_STRING:
		out->s.ptr = c->u.s;
		out->s.len = c->len;
		break;
	case VALUE_LIST:
	case VALUE_OBJECT:
		out->json = c->u.json;
		break;
	default:
		*out = VALUE_ABSENT_INIT;
		break;
	}
}


/* The memoised list, when list is long enough to be worth it and could be
 * memoised; NULL otherwise (read the JSON then). */
struct cache_list *expr_cache_list(struct expr_cache *k, const json_t *list);

/* Item i of the memoised list l into out, leaving the hint. */
static inline void expr_cache_list_item(struct expr_cache *k, struct cache_list *l, size_t i,
				   struct value *out)
{
	*out = l->items[i];
	if (out->type == VALUE_OBJECT) {
		k->hint_obj = out->json;
		k->hint_list = l;
		k->hint_row = i;
	}
}


/* obj.name through the cache: obj is borrowed from a document the cache may
 * hold on to (see expr_cache_new() in expr.h).  Returns 0, or -EINVAL when
 * the value is a JSON real number. */
int expr_cache_field(struct expr_cache *k, const struct node *n, const json_t *obj,
		     struct value *out);

/* The cache, when it may memoise invariant nodes for the documents of env:
 * those of the first environment it serves after expr_cache_new() or
 * expr_cache_clear(); NULL otherwise. */
struct expr_cache *expr_cache_memo_for(const struct expr_env *env);

/* The memoised value of the invariant node n, or NULL. */
const struct cache_node *expr_cache_node_get(const struct expr_cache *k, const struct node *n);

/* Remember v as the value of n, which expr_cache_node_get() did not find;
 * quietly nothing when the cache cannot take it. */
void expr_cache_node_put(struct expr_cache *k, const struct node *n, const struct value *v);

/* A list that an evaluation built (sysctl_match(), entries()) kept under
 * tag, so that what the cache remembers about its items stays valid; NULL
 * when there is none. */
json_t *expr_cache_derived(const struct expr_cache *k, const char *tag);

/* Keep list (a new reference, consumed) under tag for as long as the
 * cache's entries.  0 or -ENOMEM. */
int expr_cache_keep_derived(struct expr_cache *k, const char *tag, json_t *list);

#endif
