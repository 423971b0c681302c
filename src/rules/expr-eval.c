/* The expression evaluator: walks the tree made by expr_parse() against a
 * facts document.  Values borrow from the document wherever they can; only
 * list literals with computed elements and string concatenation allocate. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/sysctl.h"
#include "rules/expr.h"
#include "rules/expr-int.h"

struct ctx {
	const struct expr *e;
	const struct expr_env *env;
	struct expr_error *err;
	struct expr_cache *memo;    /* memoises invariant nodes, or NULL */
	struct value locals[EXPR_MAX_LOCALS];  /* comprehension variables */
};

static int fail(struct ctx *c, const struct node *n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline void set_int(struct value *v, int64_t i);
static int eval_node(struct ctx *c, const struct node *n, struct value *out);
static int eval_field(struct ctx *c, const struct node *n, struct value *out);
static int eval_memo(struct ctx *c, const struct node *n, struct value *out);
static int eval_lazy(struct ctx *c, const struct node *n, struct value *out);

/* Evaluate n into out.  Invariants go to the memo; the commonest leaves (a
 * foreach item, a comprehension variable, an integer) are taken here
 * without a call, and field reads go straight to the small function for
 * them. */
static inline int eval(struct ctx *c, const struct node *n, struct value *out)
{
	if (n->memo && c->memo)
		return eval_memo(c, n, out);
	switch (n->kind) {
	case N_INT:
		set_int(out, n->u.i);
		return 0;
	case N_ITEM:
		if (c->env->lazy && c->env->lazy[n->u.idx] && !c->env->lazy_done[n->u.idx])
			return eval_lazy(c, n, out);
		*out = c->env->items[n->u.idx];
		out->owned = false;
		return 0;
	case N_LOCAL:
		*out = c->locals[n->u.idx];
		out->owned = false;
		return 0;
	case N_FIELD:
		return eval_field(c, n, out);
	default:
		return eval_node(c, n, out);
	}
}

static int fail(struct ctx *c, const struct node *n, int rc, const char *fmt, ...)
{
	char msg[EXPR_ERROR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	expr_error_set(c->err, c->e->src, n ? n->pos : 0, "%s", msg);
	return rc;
}

static int oom(struct ctx *c, const struct node *n)
{
	return fail(c, n, -ENOMEM, "out of memory");
}

static inline void set_int(struct value *v, int64_t i)
{
	v->type = VALUE_INT;
	v->owned = false;
	v->i = i;
}

static inline void set_bool(struct value *v, bool b)
{
	v->type = VALUE_BOOL;
	v->owned = false;
	v->b = b;
}

static inline void set_absent(struct value *v)
{
	*v = VALUE_ABSENT_INIT;
}

static int borrow(struct ctx *c, const struct node *n, const json_t *j, struct value *out)
{
	if (value_from_json(j, out) < 0)
		return fail(c, n, -EINVAL, "the facts hold a real number here; expressions "
			    "support integers only");
	return 0;
}

/* ---------------------------------------------------------------- cache */

/* The memo of field reads (struct expr_cache, see expr.h).
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

static inline size_t ptr_hash(const void *p)
{
	return (size_t)(((uint64_t)(uintptr_t)p * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
}

static inline uint64_t field_hash(const json_t *obj, uint32_t id)
{
	return ((uint64_t)(uintptr_t)obj + id * UINT64_C(0xff51afd7ed558ccd)) *
	       UINT64_C(0x9e3779b97f4a7c15);
}

static inline void cell_set(struct cell *c, const struct value *v)
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
static inline bool cell_fits(const struct value *v)
{
	return !v->owned && (v->type != VALUE_STRING || v->s.len <= UINT32_MAX);
}

static inline void cell_get(const struct cell *c, struct value *out)
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

/* Build a new index of size slots for the entries made so far. */
static int cache_index(struct expr_cache *k, size_t size)
{
	uint32_t *index = calloc(size, sizeof(*index));
	unsigned bits = 0;

	if (!index)
		return -ENOMEM;
	while (((size_t)1 << bits) < size)
		bits++;
	free(k->index);
	k->index = index;
	k->mask = size - 1;
	k->shift = 64 - bits;
	for (size_t e = 0; e < k->used; e++) {
		uint64_t h = field_hash(k->entries[e].obj, k->entries[e].id);
		size_t i;

		for (i = (size_t)(h >> k->shift); index[i]; i = (i + 1) & k->mask)
			;
		index[i] = ((uint32_t)h & INDEX_TAG_MASK) | (uint32_t)(e + 1);
	}
	return 0;
}

struct expr_cache *expr_cache_new(void)
{
	struct expr_cache *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->names = calloc(CACHE_MIN_NAMES, sizeof(*k->names));
	k->lists = calloc(CACHE_MIN_LISTS, sizeof(*k->lists));
	if (!k->names || !k->lists || cache_index(k, CACHE_MIN_SLOTS) < 0) {
		free(k->names);
		free(k->lists);
		free(k);
		return NULL;
	}
	k->name_mask = CACHE_MIN_NAMES - 1;
	k->list_mask = CACHE_MIN_LISTS - 1;
	return k;
}

static void cache_lists_clear(struct expr_cache *k)
{
	for (size_t i = 0; i <= k->list_mask; i++) {
		struct cache_list *l = k->lists[i];

		if (!l)
			continue;
		for (size_t c = 0; c < LIST_MAX_COLS; c++)
			free(l->cols[c]);
		free(l->items);
		free(l);
		k->lists[i] = NULL;
	}
	k->n_lists = 0;
	k->n_cells = 0;
	k->last = NULL;
	k->hint_obj = NULL;
	k->hint_list = NULL;
}

static void cache_nodes_clear(struct expr_cache *k)
{
	free(k->nodes);
	k->nodes = NULL;
	k->node_mask = 0;
	k->n_nodes = 0;
	k->memo_bound = false;
}

void expr_cache_clear(struct expr_cache *k)
{
	if (!k)
		return;
	json_decref(k->derived);
	k->derived = NULL;
	memset(k->index, 0, (k->mask + 1) * sizeof(*k->index));
	k->used = 0;
	/* the expressions may go too: forget the addresses of their names
	 * and nodes */
	memset(k->memo, 0, sizeof(k->memo));
	cache_lists_clear(k);
	cache_nodes_clear(k);
}

void expr_cache_free(struct expr_cache *k)
{
	if (!k)
		return;
	cache_lists_clear(k);
	cache_nodes_clear(k);
	json_decref(k->derived);
	for (size_t i = 0; i <= k->name_mask; i++)
		free(k->names[i].s);
	free(k->names);
	free(k->index);
	free(k->entries);
	free(k->lists);
	free(k);
}

/* The memoised list, when list is long enough to be worth it and could be
 * memoised; NULL otherwise (read the JSON then). */
static struct cache_list *cache_list_get(struct expr_cache *k, const json_t *list)
{
	struct cache_list *l;
	size_t n, i;

	if (k->last && k->last->list == list)
		return k->last->items ? k->last : NULL;
	n = json_array_size(list);
	if (n < CACHE_LIST_MIN)
		return NULL;
	for (i = ptr_hash(list) & k->list_mask; k->lists[i]; i = (i + 1) & k->list_mask) {
		if (k->lists[i]->list == list) {
			k->last = k->lists[i];
			return k->last->items ? k->last : NULL;
		}
	}
	if (k->n_cells + n > CACHE_MAX_CELLS)
		return NULL;
	if ((k->n_lists + 1) * 2 > k->list_mask + 1) {
		size_t cap = (k->list_mask + 1) * 2;
		struct cache_list **nl = calloc(cap, sizeof(*nl));

		if (!nl)
			return NULL;
		for (size_t j = 0; j <= k->list_mask; j++) {
			if (!k->lists[j])
				continue;
			for (i = ptr_hash(k->lists[j]->list) & (cap - 1); nl[i]; i = (i + 1) & (cap - 1))
				;
			nl[i] = k->lists[j];
		}
		free(k->lists);
		k->lists = nl;
		k->list_mask = cap - 1;
		for (i = ptr_hash(list) & k->list_mask; k->lists[i]; i = (i + 1) & k->list_mask)
			;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->items = malloc(n * sizeof(*l->items));
	if (!l->items) {
		free(l);
		return NULL;
	}
	for (size_t j = 0; j < n; j++) {
		if (value_from_json(json_array_get(list, j), &l->items[j]) < 0) {
			/* a real number: the list is read directly every time */
			free(l->items);
			l->items = NULL;
			break;
		}
	}
	l->list = list;
	l->n = n;
	k->lists[i] = l;
	k->n_lists++;
	if (l->items)
		k->n_cells += n;
	k->last = l;
	return l->items ? l : NULL;
}

/* Item i of the memoised list l into out, leaving the hint. */
static inline void cache_list_item(struct expr_cache *k, struct cache_list *l, size_t i,
				   struct value *out)
{
	*out = l->items[i];
	if (out->type == VALUE_OBJECT) {
		k->hint_obj = out->json;
		k->hint_list = l;
		k->hint_row = i;
	}
}

/* The id of the field name of node n, CACHE_NO_ID when it cannot have one
 * (out of memory, too many names). */
static uint32_t name_id(struct expr_cache *k, const struct node *n)
{
	const char *name = n->u.field.name;
	uint32_t hash = n->u.field.hash, len = n->u.field.len;
	struct cache_name *cn;
	size_t i;

	for (i = hash & k->name_mask; k->names[i].s; i = (i + 1) & k->name_mask) {
		cn = &k->names[i];
		if (cn->hash == hash && cn->len == len && memcmp(cn->s, name, len) == 0)
			return cn->id;
	}
	if (k->n_names >= CACHE_MAX_NAMES)
		return CACHE_NO_ID;
	if ((k->n_names + 1) * 2 > k->name_mask + 1) {
		size_t cap = (k->name_mask + 1) * 2;
		struct cache_name *nn = calloc(cap, sizeof(*nn));

		if (!nn)
			return CACHE_NO_ID;
		for (size_t j = 0; j <= k->name_mask; j++) {
			if (!k->names[j].s)
				continue;
			for (i = k->names[j].hash & (cap - 1); nn[i].s; i = (i + 1) & (cap - 1))
				;
			nn[i] = k->names[j];
		}
		free(k->names);
		k->names = nn;
		k->name_mask = cap - 1;
		for (i = hash & k->name_mask; k->names[i].s; i = (i + 1) & k->name_mask)
			;
	}
	cn = &k->names[i];
	cn->s = malloc(len + 1);
	if (!cn->s)
		return CACHE_NO_ID;
	memcpy(cn->s, name, len + 1);
	cn->hash = hash;
	cn->len = len;
	cn->id = (uint32_t)k->n_names++;
	return cn->id;
}

/* name_id() through the memo of node names. */
static inline uint32_t cache_name_id(struct expr_cache *k, const struct node *n)
{
	struct cache_memo *m = &k->memo[ptr_hash(n->u.field.name) & (CACHE_MEMO - 1)];

	if (m->name != n->u.field.name) {
		m->id = name_id(k, n);
		m->name = n->u.field.name;
	}
	return m->id;
}

/* The cell of field id of row k->hint_row of the hinted list; NULL when
 * it cannot have one. */
static struct cell *hint_cell(struct expr_cache *k, uint32_t id)
{
	struct cache_list *l = k->hint_list;

	if (id >= LIST_MAX_COLS)
		return NULL;
	if (!l->cols[id]) {
		if (k->n_cells + l->n > CACHE_MAX_CELLS)
			return NULL;
		l->cols[id] = calloc(l->n, sizeof(*l->cols[id]));
		if (!l->cols[id])
			return NULL;
		k->n_cells += l->n;
	}
	return &l->cols[id][k->hint_row];
}

static bool entry_get(const struct expr_cache *k, const json_t *obj, uint32_t id,
		      struct value *out)
{
	uint64_t h = field_hash(obj, id);
	uint32_t tag = (uint32_t)h & INDEX_TAG_MASK;

	for (size_t i = (size_t)(h >> k->shift);; i = (i + 1) & k->mask) {
		uint32_t x = k->index[i];
		const struct cache_entry *e;

		if (!x)
			return false;
		if ((x & INDEX_TAG_MASK) != tag)
			continue;
		e = &k->entries[(x & ~INDEX_TAG_MASK) - 1];
		if (e->obj == obj && e->id == id) {
			cell_get(&e->v, out);
			return true;
		}
	}
}

/* Remember v as field id of obj, which entry_get() did not find; quietly
 * nothing when the cache cannot take it. */
static void entry_put(struct expr_cache *k, const json_t *obj, uint32_t id, const struct value *v)
{
	struct cache_entry *e;
	uint64_t h;
	size_t i;

	if (k->used >= CACHE_MAX_USED)
		return;
	if (k->used == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : CACHE_MIN_SLOTS / 2;
		struct cache_entry *ne = realloc(k->entries, cap * sizeof(*ne));

		if (!ne)
			return;
		k->entries = ne;
		k->cap = cap;
	}
	if ((k->used + 1) * 2 > k->mask + 1 && cache_index(k, (k->mask + 1) * 2) < 0)
		return;
	h = field_hash(obj, id);
	for (i = (size_t)(h >> k->shift); k->index[i]; i = (i + 1) & k->mask)
		;
	k->index[i] = ((uint32_t)h & INDEX_TAG_MASK) | (uint32_t)(k->used + 1);
	e = &k->entries[k->used++];
	e->obj = obj;
	e->id = id;
	cell_set(&e->v, v);
}

/* obj.name through the cache: obj is borrowed from a document the cache may
 * hold on to (see expr_cache_new() in expr.h). */
static int cached_field(struct ctx *c, const struct node *n, const json_t *obj, struct value *out)
{
	struct expr_cache *k = c->env->cache;
	uint32_t id = cache_name_id(k, n);
	struct cell *cell = NULL;
	int r;

	if (id == CACHE_NO_ID)
		return borrow(c, n, json_object_get(obj, n->u.field.name), out);
	/* the column of the hinted item, else an entry */
	if (obj == k->hint_obj)
		cell = hint_cell(k, id);
	if (cell) {
		if (cell->type) {
			cell_get(cell, out);
			return 0;
		}
	} else if (entry_get(k, obj, id, out)) {
		return 0;
	}
	r = borrow(c, n, json_object_get(obj, n->u.field.name), out);
	if (r < 0 || !cell_fits(out))
		return r;
	if (cell)
		cell_set(cell, out);
	else
		entry_put(k, obj, id, out);
	return 0;
}

/* The cache, when it may memoise invariant nodes for the documents of env:
 * those of the first environment it serves after expr_cache_new() or
 * expr_cache_clear(). */
static struct expr_cache *memo_for(const struct expr_env *env)
{
	struct expr_cache *k = env->cache;

	if (!k)
		return NULL;
	if (!k->memo_bound) {
		k->memo_bound = true;
		k->memo_facts = env->facts;
		k->memo_vars = env->vars;
		k->memo_tables = env->tables;
	}
	return k->memo_facts == env->facts && k->memo_vars == env->vars &&
	       k->memo_tables == env->tables ? k : NULL;
}

static const struct cache_node *node_get(const struct expr_cache *k, const struct node *n)
{
	if (!k->nodes)
		return NULL;
	for (size_t i = ptr_hash(n) & k->node_mask;; i = (i + 1) & k->node_mask) {
		if (k->nodes[i].node == n)
			return &k->nodes[i];
		if (!k->nodes[i].node)
			return NULL;
	}
}

/* Remember v as the value of n, which node_get() did not find; quietly
 * nothing when the cache cannot take it. */
static void node_put(struct expr_cache *k, const struct node *n, const struct value *v)
{
	size_t i;

	if ((k->n_nodes + 1) * 2 > k->node_mask + 1) {
		size_t cap = k->nodes ? (k->node_mask + 1) * 2 : CACHE_MIN_NODES;
		struct cache_node *nn;

		if (cap > CACHE_MAX_NODES || !(nn = calloc(cap, sizeof(*nn))))
			return;
		for (size_t j = 0; k->nodes && j <= k->node_mask; j++) {
			if (!k->nodes[j].node)
				continue;
			for (i = ptr_hash(k->nodes[j].node) & (cap - 1); nn[i].node; i = (i + 1) & (cap - 1))
				;
			nn[i] = k->nodes[j];
		}
		free(k->nodes);
		k->nodes = nn;
		k->node_mask = cap - 1;
	}
	for (i = ptr_hash(n) & k->node_mask; k->nodes[i].node; i = (i + 1) & k->node_mask)
		;
	k->nodes[i].node = n;
	cell_set(&k->nodes[i].v, v);
	k->n_nodes++;
}

/* An invariant node: its memoised value, or else evaluate it and memoise
 * the result (a value that owns its storage is not memoised, nor an error,
 * which comes again when the node is evaluated again). */
static int eval_memo(struct ctx *c, const struct node *n, struct value *out)
{
	const struct cache_node *m = node_get(c->memo, n);
	int r;

	if (m) {
		cell_get(&m->v, out);
		return 0;
	}
	r = eval_node(c, n, out);
	if (r == 0 && cell_fits(out))
		node_put(c->memo, n, out);
	return r;
}

/* child was taken from parent: make it independent of parent if parent owns
 * its storage, then release parent. */
static int adopt(struct ctx *c, const struct node *n, struct value *child, struct value *parent)
{
	int r = 0;

	if (parent->owned) {
		struct value tmp = *child;

		if (value_dup(&tmp, child) < 0)
			r = oom(c, n);
	}
	value_free(parent);
	return r;
}

/* obj.name */
static __attribute__((noinline)) int field_of(struct ctx *c, const struct node *n,
					     struct value *a, struct value *out)
{
	int r;

	if (a->type == VALUE_OBJECT) {
		/* only objects borrowed from the documents are memoised */
		if (c->env->cache && !a->owned)
			return cached_field(c, n, a->json, out);
		r = borrow(c, n, json_object_get(a->json, n->u.field.name), out);
		if (r < 0) {
			value_free(a);
			return r;
		}
		return adopt(c, n, out, a);
	}
	if (a->type == VALUE_ABSENT) {
		set_absent(out);
		return 0;
	}
	r = fail(c, n, -EINVAL, "cannot read field '%s' of %s", n->u.field.name,
		 value_type_name(a->type));
	value_free(a);
	return r;
}

/* The value of an N_ITEM or N_LOCAL node, in place; NULL for other nodes. */
static inline const struct value *bound_value(const struct ctx *c, const struct node *n)
{
	if (n->kind == N_ITEM)
		return &c->env->items[n->u.idx];
	if (n->kind == N_LOCAL)
		return &c->locals[n->u.idx];
	return NULL;
}

static int eval_field(struct ctx *c, const struct node *n, struct value *out)
{
	struct expr_cache *k = c->env->cache;
	const struct value *item = bound_value(c, n->u.field.obj);
	struct value a;
	int r;

	/* the commonest case, kept short: a field of the hinted item (the
	 * item of a foreach or a comprehension) that a rule before read */
	if (k && item && item->type == VALUE_OBJECT && item->json == k->hint_obj) {
		const struct cache_memo *m = &k->memo[ptr_hash(n->u.field.name) & (CACHE_MEMO - 1)];
		const struct cell *col;

		if (m->name == n->u.field.name && m->id < LIST_MAX_COLS &&
		    (col = k->hint_list->cols[m->id]) && col[k->hint_row].type) {
			cell_get(&col[k->hint_row], out);
			return 0;
		}
	}
	r = eval(c, n->u.field.obj, &a);
	if (r < 0)
		return r;
	return field_of(c, n, &a, out);
}

/* ------------------------------------------------------------ operators */

static const char *op_name(unsigned kind)
{
	switch (kind) {
	case N_ADD: return "+";
	case N_SUB: return "-";
	case N_MUL: return "*";
	case N_DIV: return "/";
	case N_MOD: return "%";
	case N_EQ: return "==";
	case N_NE: return "!=";
	case N_LT: return "<";
	case N_LE: return "<=";
	case N_GT: return ">";
	case N_GE: return ">=";
	case N_AND: return "&&";
	case N_OR: return "||";
	case N_NOT: return "!";
	case N_NEG: return "-";
	}
	return "?";
}

static const char *plural(enum value_type t)
{
	switch (t) {
	case VALUE_BOOL: return "booleans";
	case VALUE_INT: return "integers";
	case VALUE_STRING: return "strings";
	case VALUE_LIST: return "lists";
	case VALUE_OBJECT: return "objects";
	default: return "absent values";
	}
}

int expr_op_check(unsigned kind, enum value_type a, enum value_type b, char *msg, size_t size)
{
	const char *op = op_name(kind);
	unsigned ok;    /* accepted types, bit per enum value_type */
	enum value_type bad;

	switch (kind) {
	case N_NEG:
		if (a == VALUE_ABSENT || a == VALUE_INT)
			return 0;
		snprintf(msg, size, "unary '-' needs an integer, not %s", value_type_name(a));
		return -1;
	case N_NOT:
		if (a == VALUE_ABSENT || a == VALUE_BOOL)
			return 0;
		snprintf(msg, size, "'!' needs a boolean, not %s", value_type_name(a));
		return -1;
	case N_AND:
	case N_OR:
		bad = a != VALUE_ABSENT && a != VALUE_BOOL ? a : b;
		if (bad == VALUE_ABSENT || bad == VALUE_BOOL)
			return 0;
		snprintf(msg, size, "'%s' needs booleans, not %s", op, value_type_name(bad));
		return -1;
	case N_ADD:
		ok = 1u << VALUE_INT | 1u << VALUE_STRING;
		break;
	case N_SUB:
	case N_MUL:
	case N_DIV:
	case N_MOD:
		ok = 1u << VALUE_INT;
		break;
	case N_EQ:
	case N_NE:
		ok = 1u << VALUE_INT | 1u << VALUE_STRING | 1u << VALUE_BOOL | 1u << VALUE_LIST;
		break;
	default:        /* < <= > >= */
		ok = 1u << VALUE_INT | 1u << VALUE_STRING;
		break;
	}
	if (a != VALUE_ABSENT && b != VALUE_ABSENT && a != b) {
		if (kind >= N_EQ)
			snprintf(msg, size, "'%s' cannot compare %s with %s", op, value_type_name(a),
				 value_type_name(b));
		else if (kind == N_ADD)
			snprintf(msg, size, "'+' needs two integers or two strings, not %s and %s",
				 value_type_name(a), value_type_name(b));
		else
			snprintf(msg, size, "'%s' needs integers, not %s", op,
				 value_type_name(a == VALUE_INT ? b : a));
		return -1;
	}
	bad = a != VALUE_ABSENT && !(ok & 1u << a) ? a : b;
	if (bad == VALUE_ABSENT || (ok & 1u << bad))
		return 0;
	if (kind == N_EQ || kind == N_NE)
		snprintf(msg, size, "'%s' cannot compare %s", op, plural(bad));
	else if (kind >= N_LT)
		snprintf(msg, size, "'%s' cannot order %s", op, plural(bad));
	else if (kind == N_ADD)
		snprintf(msg, size, "'+' needs two integers or two strings, not %s",
			 value_type_name(bad));
	else
		snprintf(msg, size, "'%s' needs integers, not %s", op, value_type_name(bad));
	return -1;
}

static int type_error(struct ctx *c, const struct node *n, enum value_type a, enum value_type b)
{
	char msg[EXPR_ERROR_MSG];

	if (expr_op_check(n->kind, a, b, msg, sizeof(msg)) == 0)
		snprintf(msg, sizeof(msg), "'%s': unexpected operands", op_name(n->kind));
	return fail(c, n, -EINVAL, "%s", msg);
}

static int cmp_strings(const struct value *a, const struct value *b)
{
	size_t n = a->s.len < b->s.len ? a->s.len : b->s.len;
	int r = memcmp(a->s.ptr, b->s.ptr, n);

	if (r)
		return r < 0 ? -1 : 1;
	return a->s.len < b->s.len ? -1 : a->s.len > b->s.len;
}

/* Equality of two lists, element by element: 1 equal, 0 not, 2 absent (an
 * absent element and no difference elsewhere), <0 error. */
static int list_equal(struct ctx *c, const struct node *n, const json_t *x, const json_t *y)
{
	size_t len = json_array_size(x);
	bool absent = false;

	if (json_array_size(y) != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		struct value a, b;
		int r;

		if (borrow(c, n, json_array_get(x, i), &a) < 0 ||
		    borrow(c, n, json_array_get(y, i), &b) < 0)
			return -EINVAL;
		if (a.type == VALUE_ABSENT || b.type == VALUE_ABSENT) {
			absent = true;
			continue;
		}
		if (a.type != b.type || a.type == VALUE_OBJECT)
			return type_error(c, n, a.type, b.type);
		switch (a.type) {
		case VALUE_INT:
			r = a.i == b.i;
			break;
		case VALUE_BOOL:
			r = a.b == b.b;
			break;
		case VALUE_STRING:
			r = cmp_strings(&a, &b) == 0;
			break;
		default:
			r = list_equal(c, n, a.json, b.json);
			if (r < 0)
				return r;
			if (r == 2) {
				absent = true;
				r = 1;
			}
			break;
		}
		if (!r)
			return 0;
	}
	return absent ? 2 : 1;
}

static int concat(struct ctx *c, const struct node *n, const struct value *a,
		  const struct value *b, struct value *out)
{
	size_t len = a->s.len + b->s.len;
	char *s;

	if (len > EXPR_MAX_RESULT_STRING)
		return fail(c, n, -EINVAL, "string too long (the limit is %d bytes)",
			    EXPR_MAX_RESULT_STRING);
	s = malloc(len + 1);
	if (!s)
		return oom(c, n);
	memcpy(s, a->s.ptr, a->s.len);
	memcpy(s + a->s.len, b->s.ptr, b->s.len);
	s[len] = '\0';
	out->type = VALUE_STRING;
	out->owned = true;
	out->s.ptr = s;
	out->s.len = len;
	return 0;
}

static int binary(struct ctx *c, const struct node *n, const struct value *a,
		  const struct value *b, struct value *out)
{
	int64_t x, y, r;
	int cmp;

	if (a->type == VALUE_INT && b->type == VALUE_INT) {
		x = a->i;
		y = b->i;
		switch (n->kind) {
		case N_ADD:
			if (__builtin_add_overflow(x, y, &r))
				goto overflow;
			set_int(out, r);
			return 0;
		case N_SUB:
			if (__builtin_sub_overflow(x, y, &r))
				goto overflow;
			set_int(out, r);
			return 0;
		case N_MUL:
			if (__builtin_mul_overflow(x, y, &r))
				goto overflow;
			set_int(out, r);
			return 0;
		case N_DIV:
			if (y == 0)
				return fail(c, n, -EINVAL, "division by zero");
			if (x == INT64_MIN && y == -1)
				goto overflow;
			set_int(out, x / y);
			return 0;
		case N_MOD:
			if (y == 0)
				return fail(c, n, -EINVAL, "modulo by zero");
			set_int(out, y == -1 ? 0 : x % y);
			return 0;
		default:
			cmp = x < y ? -1 : x > y;
			goto compared;
		}
	}
	if (expr_op_check(n->kind, a->type, b->type, NULL, 0) < 0)
		return type_error(c, n, a->type, b->type);
	if (a->type == VALUE_ABSENT || b->type == VALUE_ABSENT) {
		set_absent(out);
		return 0;
	}
	switch (a->type) {
	case VALUE_STRING:
		if (n->kind == N_ADD)
			return concat(c, n, a, b, out);
		cmp = cmp_strings(a, b);
		break;
	case VALUE_BOOL:
		cmp = a->b != b->b;
		break;
	case VALUE_LIST: {
		int eq = list_equal(c, n, a->json, b->json);

		if (eq < 0)
			return eq;
		if (eq == 2) {
			set_absent(out);
			return 0;
		}
		cmp = !eq;
		break;
	}
	default:
		return type_error(c, n, a->type, b->type);
	}
compared:
	switch (n->kind) {
	case N_EQ: set_bool(out, cmp == 0); break;
	case N_NE: set_bool(out, cmp != 0); break;
	case N_LT: set_bool(out, cmp < 0); break;
	case N_LE: set_bool(out, cmp <= 0); break;
	case N_GT: set_bool(out, cmp > 0); break;
	case N_GE: set_bool(out, cmp >= 0); break;
	default: return type_error(c, n, a->type, b->type);
	}
	return 0;
overflow:
	return fail(c, n, -EINVAL, "integer overflow in '%s'", op_name(n->kind));
}

/* ------------------------------------------------------------ functions */

static const char *const func_names[F_COUNT_FUNCS] = {
	[F_SYSCTL] = "sysctl", [F_COUNTER] = "counter", [F_MIN] = "min", [F_MAX] = "max",
	[F_SUM] = "sum", [F_COUNT] = "count", [F_ANY] = "any", [F_ALL] = "all",
	[F_LEN] = "len", [F_POW2CEIL] = "pow2ceil", [F_EXISTS] = "exists",
	[F_DEFAULT] = "default", [F_KERNEL_AT_LEAST] = "kernel_at_least",
	[F_VERSION_CMP] = "version_cmp", [F_CLAMP] = "clamp", [F_PERCENT] = "percent",
	[F_ABS] = "abs", [F_SYSCTL_MATCH] = "sysctl_match", [F_ENTRIES] = "entries",
	[F_DELTA] = "delta", [F_RATE] = "rate", [F_ENDPOINT] = "endpoint", [F_LOOKUP] = "lookup",
	[F_TEXT] = "text",
};

/* A fold of min, max, sum, count, any or all over items. */
struct fold {
	unsigned f;
	int64_t acc;
	bool have;      /* min, max: acc holds an item */
	bool absent;    /* any, all: an absent item was seen */
	bool done;      /* the result is decided */
	bool result_absent;
};

static int fold_one(struct ctx *c, const struct node *at, struct fold *st, const struct value *v)
{
	if (v->type == VALUE_ABSENT) {
		if (st->f == F_ANY || st->f == F_ALL) {
			st->absent = true;
		} else {
			st->result_absent = true;
			st->done = true;
		}
		return 0;
	}
	switch (st->f) {
	case F_MIN:
	case F_MAX:
	case F_SUM:
		if (v->type != VALUE_INT)
			return fail(c, at, -EINVAL, "%s() needs integers, not %s", func_names[st->f],
				    value_type_name(v->type));
		if (st->f == F_SUM) {
			if (__builtin_add_overflow(st->acc, v->i, &st->acc))
				return fail(c, at, -EINVAL, "integer overflow in sum()");
		} else if (!st->have || (st->f == F_MIN ? v->i < st->acc : v->i > st->acc)) {
			st->acc = v->i;
		}
		st->have = true;
		return 0;
	default:
		if (v->type != VALUE_BOOL)
			return fail(c, at, -EINVAL, "%s() needs booleans, not %s", func_names[st->f],
				    value_type_name(v->type));
		if (st->f == F_COUNT) {
			st->acc += v->b;
		} else if (st->f == F_ANY ? v->b : !v->b) {
			st->acc = v->b;
			st->done = true;
		}
		return 0;
	}
}

static void fold_result(const struct fold *st, struct value *out)
{
	if (st->result_absent) {
		set_absent(out);
		return;
	}
	switch (st->f) {
	case F_MIN:
	case F_MAX:
		if (st->have)
			set_int(out, st->acc);
		else
			set_absent(out);
		break;
	case F_SUM:
	case F_COUNT:
		set_int(out, st->acc);
		break;
	default:        /* any, all: decided, or else absent, or else the neutral value */
		if (st->done)
			set_bool(out, st->acc != 0);
		else if (st->absent)
			set_absent(out);
		else
			set_bool(out, st->f == F_ALL);
		break;
	}
}

static int fold_list(struct ctx *c, const struct node *at, struct fold *st, const json_t *list)
{
	size_t len = json_array_size(list);

	for (size_t i = 0; i < len && !st->done; i++) {
		struct value v;

		if (borrow(c, at, json_array_get(list, i), &v) < 0 ||
		    fold_one(c, at, st, &v) < 0)
			return -EINVAL;
	}
	return 0;
}

/* f(x in list [where filter] : body) */
static int fold_comprehension(struct ctx *c, const struct node *n, struct fold *st)
{
	const struct node *list_n = n->u.call.args[0], *body = n->u.call.args[1];
	const struct node *filter = n->u.call.args[2];
	struct value list, *item = &c->locals[n->local];
	struct cache_list *cl = NULL;
	size_t len;
	int r = 0;

	r = eval(c, list_n, &list);
	if (r < 0)
		return r;
	if (list.type == VALUE_ABSENT) {
		st->result_absent = true;
		return 0;
	}
	if (list.type != VALUE_LIST) {
		r = fail(c, list_n, -EINVAL, "'in' needs a list, not %s", value_type_name(list.type));
		value_free(&list);
		return r;
	}
	if (c->env->cache && !list.owned)
		cl = cache_list_get(c->env->cache, list.json);
	len = cl ? cl->n : json_array_size(list.json);
	for (size_t i = 0; i < len && !st->done; i++) {
		struct value v;

		if (cl) {
			cache_list_item(c->env->cache, cl, i, item);
		} else {
			r = borrow(c, list_n, json_array_get(list.json, i), item);
			if (r < 0)
				break;
		}
		if (filter) {
			r = eval(c, filter, &v);
			if (r < 0)
				break;
			if (v.type == VALUE_ABSENT) {
				r = fold_one(c, filter, st, &v);
				if (r < 0)
					break;
				continue;
			}
			if (v.type != VALUE_BOOL) {
				r = fail(c, filter, -EINVAL, "'where' needs a boolean, not %s",
					 value_type_name(v.type));
				value_free(&v);
				break;
			}
			if (!v.b)
				continue;
		}
		r = eval(c, body, &v);
		if (r < 0)
			break;
		r = fold_one(c, body, st, &v);
		value_free(&v);
		if (r < 0)
			break;
	}
	set_absent(item);
	value_free(&list);
	return r;
}

static int eval_fold(struct ctx *c, const struct node *n, struct value *out)
{
	struct fold st = { .f = n->func };
	struct value v;
	int r = 0;

	if (n->comp) {
		r = fold_comprehension(c, n, &st);
	} else if (n->u.call.n == 1) {
		const struct node *arg = n->u.call.args[0];

		r = eval(c, arg, &v);
		if (r < 0)
			return r;
		if (v.type == VALUE_LIST)
			r = fold_list(c, arg, &st, v.json);
		else
			r = fold_one(c, arg, &st, &v);
		value_free(&v);
	} else {
		for (unsigned i = 0; i < n->u.call.n && !st.done && r == 0; i++) {
			r = eval(c, n->u.call.args[i], &v);
			if (r < 0)
				return r;
			r = fold_one(c, n->u.call.args[i], &st, &v);
			value_free(&v);
		}
	}
	if (r < 0)
		return r;
	fold_result(&st, out);
	return 0;
}

/* Leading numeric components of a version: "5.10.0-27-amd64" -> 5 10 0.
 * Compares digit strings, so that no number is too large. */
static const char *version_comp(const char *s, const char **end)
{
	while (*s == '0' && s[1] >= '0' && s[1] <= '9')
		s++;
	*end = s;
	while (**end >= '0' && **end <= '9')
		(*end)++;
	return s;
}

int expr_version_cmp(const char *a, const char *b)
{
	if (!(*a >= '0' && *a <= '9') || !(*b >= '0' && *b <= '9'))
		return -2;
	while (*a || *b) {
		const char *ea, *eb, *sa, *sb;
		size_t la, lb;
		int r;

		sa = version_comp(a, &ea);
		sb = version_comp(b, &eb);
		la = (size_t)(ea - sa);
		lb = (size_t)(eb - sb);
		/* a missing component counts as 0 */
		if (la == 0)
			sa = "0", la = 1;
		if (lb == 0)
			sb = "0", lb = 1;
		if (la != lb)
			return la < lb ? -1 : 1;
		r = memcmp(sa, sb, la);
		if (r)
			return r < 0 ? -1 : 1;
		a = *ea == '.' && ea[1] >= '0' && ea[1] <= '9' ? ea + 1 : "";
		b = *eb == '.' && eb[1] >= '0' && eb[1] <= '9' ? eb + 1 : "";
	}
	return 0;
}


static int sysctl_lookup(struct ctx *c, const struct node *n, struct value *out)
{
	const json_t *tbl = c->env->sec[EXPR_SEC_SYSCTL];
	char key[SYSCTL_KEY_MAX + 1], q[EXPR_ERROR_MSG / 2] = "";
	const struct node *arg = n->u.call.args[0];
	const char *why = "";
	struct value k;
	int r;

	if (n->u.call.key)
		return borrow(c, n, json_object_get(tbl, n->u.call.key), out);
	r = eval(c, arg, &k);
	if (r < 0)
		return r;
	if (k.type == VALUE_ABSENT) {
		set_absent(out);
		return 0;
	}
	if (k.type != VALUE_STRING) {
		r = fail(c, arg, -EINVAL, "sysctl() needs a string, not %s", value_type_name(k.type));
		value_free(&k);
		return r;
	}
	if (memchr(k.s.ptr, '\0', k.s.len))
		why = "NUL characters are not allowed in keys";
	else if (sysctl_key_parse(k.s.ptr, NULL, key, &why) == 0 && strpbrk(key, "*?["))
		why = "patterns ('*', '?', '[') cannot be read with sysctl()";
	if (why[0]) {
		expr_quote(q, sizeof(q), k.s.ptr, k.s.len > 64 ? 64 : k.s.len);
		value_free(&k);
		return fail(c, arg, -EINVAL, "invalid sysctl key %s: %s", q, why);
	}
	value_free(&k);
	return borrow(c, n, json_object_get(tbl, key), out);
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Functions with a fixed number of arguments, evaluated before the call. */
static int eval_fixed(struct ctx *c, const struct node *n, struct value *out)
{
	const char *fname = func_names[n->func];
	struct value v[3];
	unsigned nargs = n->u.call.n;
	bool absent = false;
	enum value_type want;
	int r = 0;

	for (unsigned i = 0; i < nargs; i++) {
		r = eval(c, n->u.call.args[i], &v[i]);
		if (r < 0) {
			while (i-- > 0)
				value_free(&v[i]);
			return r;
		}
	}
	switch (n->func) {
	case F_COUNTER:
	case F_DELTA:
	case F_RATE:
	case F_KERNEL_AT_LEAST:
	case F_VERSION_CMP:
		want = VALUE_STRING;
		break;
	case F_LEN:
		want = VALUE_ABSENT;    /* checked below */
		break;
	default:
		want = VALUE_INT;
		break;
	}
	for (unsigned i = 0; i < nargs; i++) {
		if (v[i].type == VALUE_ABSENT) {
			absent = true;
		} else if (n->func == F_RATE && i == 2) {
			if (v[i].type != VALUE_INT) {
				r = fail(c, n->u.call.args[i], -EINVAL, "rate() needs an integer (seconds) "
					 "as its third argument, not %s", value_type_name(v[i].type));
				goto out;
			}
			if (v[i].i < 1) {
				r = fail(c, n->u.call.args[i], -EINVAL, "rate(): the period must be at "
					 "least 1 second, not %lld", (long long)v[i].i);
				goto out;
			}
		} else if (want != VALUE_ABSENT && v[i].type != want) {
			r = fail(c, n->u.call.args[i], -EINVAL, "%s() needs %s, not %s", fname,
				 nargs > 1 ? plural(want) : value_type_name(want),
				 value_type_name(v[i].type));
			goto out;
		}
	}
	if (absent) {
		set_absent(out);
		goto out;
	}
	switch (n->func) {
	case F_COUNTER: {
		const json_t *j = json_object_get(c->env->sec[EXPR_SEC_COUNTERS], v[0].s.ptr);

		j = json_object_get(j, v[1].s.ptr);
		/* counters above 2^63-1 are strings in the facts: not usable */
		if (json_is_integer(j))
			set_int(out, json_integer_value(j));
		else
			set_absent(out);
		break;
	}
	case F_DELTA:
	case F_RATE: {
		/* from the window's deltas, so that rules need no fractions:
		 * the rate is rounded to the nearest integer */
		const json_t *smp = c->env->sec[EXPR_SEC_SAMPLE];
		const json_t *d = json_object_get(json_object_get(json_object_get(smp, "deltas"),
								  v[0].s.ptr), v[1].s.ptr);
		const json_t *dur = json_object_get(smp, "duration_ms");
		__int128 x;

		if (!json_is_integer(d) || json_integer_value(d) < 0) {
			set_absent(out);
			break;
		}
		if (n->func == F_DELTA) {
			set_int(out, json_integer_value(d));
			break;
		}
		if (!json_is_integer(dur) || json_integer_value(dur) <= 0) {
			set_absent(out);
			break;
		}
		/* d * 1000 < 2^74; times the period it may not fit */
		if (__builtin_mul_overflow((__int128)json_integer_value(d) * 1000,
					   (__int128)(nargs == 3 ? v[2].i : 1), &x))
			x = (__int128)INT64_MAX * json_integer_value(dur) + json_integer_value(dur);
		x = (x + json_integer_value(dur) / 2) / json_integer_value(dur);
		if (x > INT64_MAX)
			r = fail(c, n, -EINVAL, "integer overflow in rate()");
		else
			set_int(out, (int64_t)x);
		break;
	}
	case F_LEN:
		if (v[0].type == VALUE_LIST)
			set_int(out, (int64_t)json_array_size(v[0].json));
		else if (v[0].type == VALUE_OBJECT)
			set_int(out, (int64_t)json_object_size(v[0].json));
		else if (v[0].type == VALUE_STRING)
			set_int(out, (int64_t)utf8_chars(v[0].s.ptr, v[0].s.len));
		else
			r = fail(c, n->u.call.args[0], -EINVAL,
				 "len() needs a list, a string or an object, not %s",
				 value_type_name(v[0].type));
		break;
	case F_POW2CEIL:
		if (v[0].i <= 1)
			set_int(out, 1);
		else if (v[0].i > INT64_C(1) << 62)
			r = fail(c, n, -EINVAL, "integer overflow in pow2ceil()");
		else
			set_int(out, INT64_C(1) << (64 - __builtin_clzll((unsigned long long)v[0].i - 1)));
		break;
	case F_KERNEL_AT_LEAST: {
		const json_t *rel = json_object_get(c->env->sec[EXPR_SEC_HOST], "kernel_release");
		int cmp;

		if (!expr_is_version(v[0].s.ptr, v[0].s.len, true)) {
			char q[EXPR_ERROR_MSG / 2] = "";

			expr_quote(q, sizeof(q), v[0].s.ptr, v[0].s.len > 64 ? 64 : v[0].s.len);
			r = fail(c, n->u.call.args[0], -EINVAL, "invalid kernel version %s: expected "
				 "numbers separated by dots, such as \"5.4\"", q);
			break;
		}
		cmp = json_is_string(rel) ? expr_version_cmp(json_string_value(rel), v[0].s.ptr) : -2;
		if (cmp == -2)
			set_absent(out);
		else
			set_bool(out, cmp >= 0);
		break;
	}
	case F_VERSION_CMP: {
		int cmp = expr_version_cmp(v[0].s.ptr, v[1].s.ptr);

		if (cmp == -2)
			set_absent(out);
		else
			set_int(out, cmp);
		break;
	}
	case F_CLAMP:
		if (v[1].i > v[2].i)
			r = fail(c, n, -EINVAL, "clamp(): the lower bound %lld is above the upper "
				 "bound %lld", (long long)v[1].i, (long long)v[2].i);
		else
			set_int(out, v[0].i < v[1].i ? v[1].i : v[0].i > v[2].i ? v[2].i : v[0].i);
		break;
	case F_PERCENT: {
		__int128 p;

		if (v[1].i == 0) {
			set_absent(out);
			break;
		}
		p = (__int128)v[0].i * 100 / v[1].i;
		if (p > INT64_MAX || p < INT64_MIN)
			r = fail(c, n, -EINVAL, "integer overflow in percent()");
		else
			set_int(out, (int64_t)p);
		break;
	}
	case F_ABS:
		if (v[0].i == INT64_MIN)
			r = fail(c, n, -EINVAL, "integer overflow in abs()");
		else
			set_int(out, v[0].i < 0 ? -v[0].i : v[0].i);
		break;
	default:
		r = fail(c, n, -EINVAL, "internal error: %s() not handled", fname);
		break;
	}
out:
	for (unsigned i = 0; i < nargs; i++)
		value_free(&v[i]);
	return r;
}

/* Does the dotted key match the dotted pattern component by component
 * ('*' never spans a dot)?  On a match, the text matched by the first
 * component holding a wildcard goes to name. */
static bool match_key(const char *pat, const char *key, char *name, size_t size)
{
	char pc[SYSCTL_KEY_MAX + 1], kc[SYSCTL_KEY_MAX + 1];
	bool named = false;

	name[0] = '\0';
	for (;;) {
		size_t pl = strcspn(pat, "."), kl = strcspn(key, ".");

		if (pl > SYSCTL_KEY_MAX || kl > SYSCTL_KEY_MAX)
			return false;
		memcpy(pc, pat, pl);
		pc[pl] = '\0';
		memcpy(kc, key, kl);
		kc[kl] = '\0';
		if (fnmatch(pc, kc, 0) != 0)
			return false;
		if (!named && strpbrk(pc, "*?[")) {
			snprintf(name, size, "%s", kc);
			named = true;
		}
		if (!pat[pl] || !key[kl])
			return !pat[pl] && !key[kl];
		pat += pl + 1;
		key += kl + 1;
	}
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A list built during evaluation (list: a new reference, consumed).  With
 * a cache and a tag it is kept in the cache under the tag and lent out, so
 * that what the cache remembers about its items stays valid; otherwise the
 * result owns it. */
static int keep_derived(struct ctx *c, const struct node *n, const char *tag, json_t *list,
			struct value *out)
{
	struct expr_cache *k = c->env->cache;

	if (k && tag) {
		if (!k->derived)
			k->derived = json_object();
		if (k->derived && json_object_set_new(k->derived, tag, list) == 0)
			return value_from_json(list, out);
		return fail(c, n, -ENOMEM, "out of memory");
	}
	out->type = VALUE_LIST;
	out->owned = true;
	out->json = list;
	return 0;
}

/* sysctl_match(PATTERN): [{key, name, value}] for every key of the facts
 * matching the pattern, sorted by key ("name" is the part the first
 * wildcard matched: the interface of net.ipv4.conf.*.rp_filter).  With a
 * cache the list is kept there, so that what the cache remembers about its
 * items stays valid; without one it is owned by the result. */
static int sysctl_match(struct ctx *c, const struct node *n, struct value *out)
{
	const json_t *tbl = c->env->sec[EXPR_SEC_SYSCTL];
	struct expr_cache *k = c->env->cache;
	const char *pat = n->u.call.key, **keys;
	json_t *list, *v;
	const char *key;
	size_t nk = 0, i = 0;

	if (!json_is_object(tbl)) {
		set_absent(out);
		return 0;
	}
	if (k && k->derived && (list = json_object_get(k->derived, pat)))
		return value_from_json(list, out);
	keys = malloc((json_object_size(tbl) + 1) * sizeof(*keys));
	list = json_array();
	if (!keys || !list) {
		free(keys);
		json_decref(list);
		return fail(c, n, -ENOMEM, "out of memory");
	}
	json_object_foreach((json_t *)tbl, key, v)
		keys[nk++] = key;
	qsort(keys, nk, sizeof(*keys), key_cmp);
	for (i = 0; i < nk; i++) {
		char name[SYSCTL_KEY_MAX + 1];

		if (match_key(pat, keys[i], name, sizeof(name)))
			json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "key", keys[i], "name", name,
							      "value", value_json_ref(json_object_get(tbl, keys[i]))));
	}
	free(keys);
	return keep_derived(c, n, pat, list, out);
}

/* entries(OBJECT): [{key, value}] sorted by key, so that rules can walk an
 * object (persistent.keys) with foreach.  Kept by the cache like
 * sysctl_match() lists, keyed by the object's address (the facts do not
 * change while a cache lives). */
static int entries(struct ctx *c, const struct node *n, struct value *out)
{
	struct expr_cache *k = c->env->cache;
	struct value obj;
	const char *key, **keys;
	char tag[40];
	json_t *list, *v;
	size_t nk = 0;
	int r = eval(c, n->u.call.args[0], &obj);

	if (r < 0)
		return r;
	if (obj.type == VALUE_ABSENT) {
		set_absent(out);
		return 0;
	}
	if (obj.type != VALUE_OBJECT) {
		r = fail(c, n->u.call.args[0], -EINVAL, "entries() needs an object, not %s",
			 value_type_name(obj.type));
		value_free(&obj);
		return r;
	}
	snprintf(tag, sizeof(tag), "entries:%p", (void *)obj.json);
	if (k && !obj.owned && k->derived && (list = json_object_get(k->derived, tag))) {
		value_free(&obj);
		return value_from_json(list, out);
	}
	keys = malloc((json_object_size(obj.json) + 1) * sizeof(*keys));
	list = json_array();
	if (!keys || !list) {
		free(keys);
		json_decref(list);
		value_free(&obj);
		return fail(c, n, -ENOMEM, "out of memory");
	}
	json_object_foreach(obj.json, key, v)
		keys[nk++] = key;
	qsort(keys, nk, sizeof(*keys), key_cmp);
	for (size_t i = 0; i < nk; i++)
		json_array_append_new(list, json_pack("{s:s,s:o}", "key", keys[i], "value",
						      value_json_ref(json_object_get(obj.json, keys[i]))));
	free(keys);
	r = obj.owned;
	value_free(&obj);
	return keep_derived(c, n, r ? NULL : tag, list, out);
}

/* endpoint(listener): "address:port", "[address]:port" for IPv6 */
static int endpoint(struct ctx *c, const struct node *n, struct value *out)
{
	const json_t *fam, *addr, *port;
	struct value l;
	char *s = NULL;
	int r = eval(c, n->u.call.args[0], &l), k;

	if (r < 0)
		return r;
	if (l.type != VALUE_OBJECT) {
		if (l.type != VALUE_ABSENT)
			r = fail(c, n->u.call.args[0], -EINVAL, "endpoint() needs a listener (an "
				 "object), not %s", value_type_name(l.type));
		value_free(&l);
		set_absent(out);
		return r;
	}
	fam = json_object_get(l.json, "family");
	addr = json_object_get(l.json, "address");
	port = json_object_get(l.json, "port");
	if (!json_is_string(addr) || !json_is_integer(port)) {
		value_free(&l);
		set_absent(out);
		return 0;
	}
	k = asprintf(&s, json_is_string(fam) && !strcmp(json_string_value(fam), "ipv6") ?
		     "[%s]:%lld" : "%s:%lld", json_string_value(addr),
		     (long long)json_integer_value(port));
	value_free(&l);
	if (k < 0)
		return oom(c, n);
	out->type = VALUE_STRING;
	out->owned = true;
	out->s.ptr = s;
	out->s.len = (size_t)k;
	return 0;
}

/* lookup("table", name): the first entry of the table one of whose match
 * patterns (fnmatch(3) globs) matches name */
static int lookup(struct ctx *c, const struct node *n, struct value *out)
{
	const struct node *t = n->u.call.args[0];
	const json_t *list, *entry;
	struct value name;
	size_t i;
	int r = eval(c, n->u.call.args[1], &name);

	if (r < 0)
		return r;
	set_absent(out);
	if (name.type != VALUE_STRING) {
		if (name.type != VALUE_ABSENT)
			r = fail(c, n->u.call.args[1], -EINVAL, "lookup() needs strings, not %s",
				 value_type_name(name.type));
		value_free(&name);
		return r;
	}
	list = json_object_get(c->env->tables, t->u.s.ptr);
	json_array_foreach(list, i, entry) {
		const json_t *pat;
		size_t j;

		json_array_foreach(json_object_get(entry, "match"), j, pat)
			if (json_is_string(pat) && fnmatch(json_string_value(pat), name.s.ptr, 0) == 0) {
				value_free(&name);
				return borrow(c, n, entry, out);
			}
	}
	value_free(&name);
	return 0;
}

/* text(x): x as a message shows it */
static int text_of(struct ctx *c, const struct node *n, struct value *out)
{
	struct value v;
	char *t;
	int r = eval(c, n->u.call.args[0], &v);

	if (r < 0)
		return r;
	if (v.type == VALUE_ABSENT) {
		set_absent(out);
		return 0;
	}
	t = value_format(&v, VALUE_FORMAT_SYSCTL);
	value_free(&v);
	if (!t)
		return oom(c, n);
	if (strlen(t) > EXPR_MAX_RESULT_STRING) {
		free(t);
		return fail(c, n, -EINVAL, "string too long (the limit is %d bytes)", EXPR_MAX_RESULT_STRING);
	}
	out->type = VALUE_STRING;
	out->owned = true;
	out->s.ptr = t;
	out->s.len = strlen(t);
	return 0;
}

static int eval_call(struct ctx *c, const struct node *n, struct value *out)
{
	int r;

	switch (n->func) {
	case F_SYSCTL:
		return sysctl_lookup(c, n, out);
	case F_SYSCTL_MATCH:
		return sysctl_match(c, n, out);
	case F_ENTRIES:
		return entries(c, n, out);
	case F_ENDPOINT:
		return endpoint(c, n, out);
	case F_LOOKUP:
		return lookup(c, n, out);
	case F_TEXT:
		return text_of(c, n, out);
	case F_MIN:
	case F_MAX:
	case F_SUM:
	case F_COUNT:
	case F_ANY:
	case F_ALL:
		return eval_fold(c, n, out);
	case F_EXISTS:
		r = eval(c, n->u.call.args[0], out);
		if (r < 0)
			return r;
		r = out->type != VALUE_ABSENT;
		value_free(out);
		set_bool(out, r);
		return 0;
	case F_DEFAULT:
		r = eval(c, n->u.call.args[0], out);
		if (r < 0 || out->type != VALUE_ABSENT)
			return r;
		return eval(c, n->u.call.args[1], out);
	default:
		return eval_fixed(c, n, out);
	}
}

/* ----------------------------------------------------------------- nodes */

static int eval_list(struct ctx *c, const struct node *n, struct value *out)
{
	json_t *list = json_array();

	if (!list)
		return oom(c, n);
	for (unsigned i = 0; i < n->u.list.n; i++) {
		struct value v;
		json_t *j;
		int r = eval(c, n->u.list.elts[i], &v);

		if (r < 0) {
			json_decref(list);
			return r;
		}
		j = value_to_json(&v);
		value_free(&v);
		if (!j || json_array_append_new(list, j) < 0) {
			json_decref(list);
			return oom(c, n);
		}
	}
	out->type = VALUE_LIST;
	out->owned = true;
	out->json = list;
	return 0;
}

static int eval_index(struct ctx *c, const struct node *n, struct value *out)
{
	struct value a, b;
	int r = eval(c, n->u.k.a, &a);

	if (r < 0)
		return r;
	r = eval(c, n->u.k.b, &b);
	if (r < 0) {
		value_free(&a);
		return r;
	}
	if (a.type != VALUE_ABSENT && a.type != VALUE_LIST && a.type != VALUE_OBJECT) {
		r = fail(c, n, -EINVAL, "cannot index %s", value_type_name(a.type));
	} else if (a.type == VALUE_LIST && b.type != VALUE_ABSENT && b.type != VALUE_INT) {
		r = fail(c, n->u.k.b, -EINVAL, "a list index must be an integer, not %s",
			 value_type_name(b.type));
	} else if (a.type == VALUE_OBJECT && b.type != VALUE_ABSENT && b.type != VALUE_STRING) {
		r = fail(c, n->u.k.b, -EINVAL, "an object key must be a string, not %s",
			 value_type_name(b.type));
	} else if (a.type == VALUE_ABSENT || b.type == VALUE_ABSENT) {
		set_absent(out);
	} else if (a.type == VALUE_LIST) {
		if (b.i < 0 || (uint64_t)b.i >= json_array_size(a.json))
			set_absent(out);
		else
			r = borrow(c, n, json_array_get(a.json, (size_t)b.i), out);
	} else if (memchr(b.s.ptr, '\0', b.s.len)) {
		set_absent(out);
	} else {
		r = borrow(c, n, json_object_get(a.json, b.s.ptr), out);
	}
	value_free(&b);
	if (r < 0) {
		value_free(&a);
		return r;
	}
	return adopt(c, n, out, &a);
}

/* The commonest binary operations, on integers, without a call: false
 * when binary() has to do it (division, overflow). */
static inline bool int_op(unsigned kind, int64_t x, int64_t y, struct value *out)
{
	int64_t r;

	switch (kind) {
	case N_ADD:
		if (__builtin_add_overflow(x, y, &r))
			return false;
		set_int(out, r);
		return true;
	case N_SUB:
		if (__builtin_sub_overflow(x, y, &r))
			return false;
		set_int(out, r);
		return true;
	case N_MUL:
		if (__builtin_mul_overflow(x, y, &r))
			return false;
		set_int(out, r);
		return true;
	case N_EQ:
		set_bool(out, x == y);
		return true;
	case N_NE:
		set_bool(out, x != y);
		return true;
	case N_LT:
		set_bool(out, x < y);
		return true;
	case N_LE:
		set_bool(out, x <= y);
		return true;
	case N_GT:
		set_bool(out, x > y);
		return true;
	case N_GE:
		set_bool(out, x >= y);
		return true;
	default:
		return false;
	}
}

static int eval_node(struct ctx *c, const struct node *n, struct value *out)
{
	struct value a, b;
	int r;

	switch (n->kind) {
	case N_INT:
		set_int(out, n->u.i);
		return 0;
	case N_STR:
		out->type = VALUE_STRING;
		out->owned = false;
		out->s.ptr = n->u.s.ptr;
		out->s.len = n->u.s.len;
		return 0;
	case N_BOOL:
		set_bool(out, n->u.b);
		return 0;
	case N_NULL:
		set_absent(out);
		return 0;
	case N_CONST:
		out->type = VALUE_LIST;
		out->owned = false;
		out->json = n->u.json;
		return 0;
	case N_LIST:
		return eval_list(c, n, out);
	case N_SECTION:
		return borrow(c, n, c->env->sec[n->u.idx], out);
	case N_ITEM:
		if (c->env->lazy && c->env->lazy[n->u.idx] && !c->env->lazy_done[n->u.idx])
			return eval_lazy(c, n, out);
		*out = c->env->items[n->u.idx];
		out->owned = false;
		return 0;
	case N_LOCAL:
		*out = c->locals[n->u.idx];
		out->owned = false;
		return 0;
	case N_FIELD:
		return eval_field(c, n, out);
	case N_INDEX:
		return eval_index(c, n, out);
	case N_NEG:
		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_INT) {
			if (a.i == INT64_MIN)
				return fail(c, n, -EINVAL, "integer overflow in unary '-'");
			set_int(out, -a.i);
			return 0;
		}
		if (a.type != VALUE_ABSENT) {
			enum value_type t = a.type;

			value_free(&a);
			return type_error(c, n, t, VALUE_ABSENT);
		}
		set_absent(out);
		return 0;
	case N_NOT:
		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_BOOL) {
			set_bool(out, !a.b);
			return 0;
		}
		if (a.type != VALUE_ABSENT) {
			enum value_type t = a.type;

			value_free(&a);
			return type_error(c, n, t, VALUE_ABSENT);
		}
		set_absent(out);
		return 0;
	case N_AND:
	case N_OR: {
		bool decisive = n->kind == N_OR;    /* the value that decides alone */

		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_BOOL && a.b == decisive) {
			set_bool(out, decisive);
			return 0;
		}
		if (a.type != VALUE_BOOL && a.type != VALUE_ABSENT) {
			enum value_type t = a.type;

			value_free(&a);
			return type_error(c, n, t, VALUE_ABSENT);
		}
		r = eval(c, n->u.k.b, &b);
		if (r < 0)
			return r;
		if (b.type == VALUE_BOOL) {
			if (b.b == decisive || a.type == VALUE_BOOL)
				set_bool(out, b.b);
			else
				set_absent(out);
			return 0;
		}
		if (b.type != VALUE_ABSENT) {
			enum value_type t = b.type;

			value_free(&b);
			return type_error(c, n, VALUE_ABSENT, t);
		}
		set_absent(out);
		return 0;
	}
	case N_COND:
		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_BOOL)
			return eval(c, a.b ? n->u.k.b : n->u.k.c, out);
		if (a.type == VALUE_ABSENT) {
			set_absent(out);
			return 0;
		}
		r = fail(c, n, -EINVAL, "the condition of '?' must be a boolean, not %s",
			 value_type_name(a.type));
		value_free(&a);
		return r;
	case N_CALL:
		return eval_call(c, n, out);
	default:        /* binary operators */
		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		r = eval(c, n->u.k.b, &b);
		if (r < 0) {
			value_free(&a);
			return r;
		}
		if (a.type == VALUE_INT && b.type == VALUE_INT && int_op(n->kind, a.i, b.i, out))
			return 0;
		r = binary(c, n, &a, &b, out);
		value_free(&a);
		value_free(&b);
		return r;
	}
}

int expr_list_get(const struct expr_env *env, const struct value *list, size_t i,
		  struct value *out)
{
	struct cache_list *cl = NULL;

	if (list->type != VALUE_LIST) {
		*out = VALUE_ABSENT_INIT;
		return 0;
	}
	if (env->cache && !list->owned)
		cl = cache_list_get(env->cache, list->json);
	if (!cl)
		return value_from_json(json_array_get(list->json, i), out);
	if (i >= cl->n)
		*out = VALUE_ABSENT_INIT;
	else
		cache_list_item(env->cache, cl, i, out);
	return 0;
}

void expr_env_init(struct expr_env *env, const json_t *facts, const json_t *vars,
		   const struct value *items, size_t n_items)
{
	const json_t *sockets = json_object_get(facts, "sockets");
	const json_t *softnet = json_object_get(facts, "softnet");

	memset(env, 0, sizeof(*env));
	env->facts = facts;
	env->vars = vars;
	env->items = items;
	env->n_items = n_items;
	env->sec[EXPR_SEC_FACTS] = facts;
	env->sec[EXPR_SEC_HOST] = json_object_get(facts, "host");
	env->sec[EXPR_SEC_LISTENERS] = json_object_get(sockets, "listeners");
	env->sec[EXPR_SEC_STATES] = json_object_get(sockets, "states");
	env->sec[EXPR_SEC_SOCKSTAT] = json_object_get(facts, "sockstat");
	env->sec[EXPR_SEC_SOFTNET] = softnet;
	env->sec[EXPR_SEC_CPUS] = json_object_get(softnet, "cpus");
	env->sec[EXPR_SEC_VAR] = vars;
	env->sec[EXPR_SEC_SYSCTL] = json_object_get(facts, "sysctl");
	env->sec[EXPR_SEC_COUNTERS] = json_object_get(facts, "counters");
	env->sec[EXPR_SEC_SAMPLE] = json_object_get(facts, "sample");
}

/* A name bound lazily, read for the first time for this item: its
 * expression evaluated now, once, and kept (expr_env.lazy).  An error in
 * it is reported as the let's, at the place of its own text. */
static int eval_lazy(struct ctx *c, const struct node *n, struct value *out)
{
	const struct expr_env *env = c->env;
	unsigned i = n->u.idx;
	struct value v;
	int r = expr_eval(env->lazy[i], env, &v, c->err);

	if (r < 0) {
		char msg[EXPR_ERROR_MSG];

		if (strncmp(c->err->msg, "let ", 4) != 0) {
			snprintf(msg, sizeof(msg), "let %.40s: %.200s", env->lazy_names ? env->lazy_names[i] : "?",
				 c->err->msg);
			memcpy(c->err->msg, msg, sizeof(msg));
		}
		return r;
	}
	env->lazy_values[i] = v;
	env->lazy_done[i] = 1;
	*out = v;
	out->owned = false;
	return 0;
}

int expr_eval(const struct expr *e, const struct expr_env *env, struct value *out,
	      struct expr_error *err)
{
	struct ctx c;
	int r;

	c.e = e;
	c.env = env;
	c.err = err;
	c.memo = memo_for(env);
	set_absent(out);
	if (env->n_items < e->n_items || (e->n_items && !env->items)) {
		expr_error_set(err, e->src, 0, "internal error: the expression needs %u bound "
			       "values, %zu given", e->n_items, env->n_items);
		return -EINVAL;
	}
	if (e->root->memo && c.memo)
		r = eval_memo(&c, e->root, out);
	else
		r = eval_node(&c, e->root, out);
	if (r < 0)
		value_free(out);
	return r;
}

int expr_eval_bool(const struct expr *e, const struct expr_env *env, enum expr_truth *out,
		   struct expr_error *err)
{
	struct value v;
	int r = expr_eval(e, env, &v, err);

	if (r < 0)
		return r;
	switch (v.type) {
	case VALUE_BOOL:
		*out = v.b ? EXPR_TRUE : EXPR_FALSE;
		return 0;
	case VALUE_ABSENT:
		*out = EXPR_NA;
		return 0;
	default:
		expr_error_set(err, e->src, 0, "the expression must give a boolean (true or "
			       "false), not %s", value_type_name(v.type));
		value_free(&v);
		return -EINVAL;
	}
}
