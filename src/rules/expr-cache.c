/* The memo of the evaluator: field reads, long lists read as arrays,
 * invariant nodes (the layout and how it works: expr-cache.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/expr-cache.h"
#include "util/array.h"

static inline uint64_t field_hash(const json_t *obj, uint32_t id)
{
	return ((uint64_t)(uintptr_t)obj + id * UINT64_C(0xff51afd7ed558ccd)) *
	       UINT64_C(0x9e3779b97f4a7c15);
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
struct cache_list *expr_cache_list(struct expr_cache *k, const json_t *list)
{
	struct cache_list *l;
	size_t n, i;

	if (k->last && k->last->list == list)
		return k->last->items ? k->last : NULL;
	n = json_array_size(list);
	if (n < CACHE_LIST_MIN)
		return NULL;
	for (i = expr_cache_ptr_hash(list) & k->list_mask; k->lists[i]; i = (i + 1) & k->list_mask) {
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
			for (i = expr_cache_ptr_hash(k->lists[j]->list) & (cap - 1); nl[i]; i = (i + 1) & (cap - 1))
				;
			nl[i] = k->lists[j];
		}
		free(k->lists);
		k->lists = nl;
		k->list_mask = cap - 1;
		for (i = expr_cache_ptr_hash(list) & k->list_mask; k->lists[i]; i = (i + 1) & k->list_mask)
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
	struct cache_memo *m = &k->memo[expr_cache_ptr_hash(n->u.field.name) & (CACHE_MEMO - 1)];

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
			expr_cell_get(&e->v, out);
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
	if (ARRAY_GROW(k->entries, k->cap, k->used, CACHE_MIN_SLOTS / 2) < 0)
		return;
	if ((k->used + 1) * 2 > k->mask + 1 && cache_index(k, (k->mask + 1) * 2) < 0)
		return;
	h = field_hash(obj, id);
	for (i = (size_t)(h >> k->shift); k->index[i]; i = (i + 1) & k->mask)
		;
	k->index[i] = ((uint32_t)h & INDEX_TAG_MASK) | (uint32_t)(k->used + 1);
	e = &k->entries[k->used++];
	e->obj = obj;
	e->id = id;
	expr_cell_set(&e->v, v);
}

int expr_cache_field(struct expr_cache *k, const struct node *n, const json_t *obj,
		     struct value *out)
{
	uint32_t id = cache_name_id(k, n);
	struct cell *cell = NULL;
	int r;

	if (id == CACHE_NO_ID)
		return value_from_json(json_object_get(obj, n->u.field.name), out);
	/* the column of the hinted item, else an entry */
	if (obj == k->hint_obj)
		cell = hint_cell(k, id);
	if (cell) {
		if (cell->type) {
			expr_cell_get(cell, out);
			return 0;
		}
	} else if (entry_get(k, obj, id, out)) {
		return 0;
	}
	r = value_from_json(json_object_get(obj, n->u.field.name), out);
	if (r < 0 || !expr_cell_fits(out))
		return r;
	if (cell)
		expr_cell_set(cell, out);
	else
		entry_put(k, obj, id, out);
	return 0;
}

struct expr_cache *expr_cache_memo_for(const struct expr_env *env)
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

const struct cache_node *expr_cache_node_get(const struct expr_cache *k, const struct node *n)
{
	if (!k->nodes)
		return NULL;
	for (size_t i = expr_cache_ptr_hash(n) & k->node_mask;; i = (i + 1) & k->node_mask) {
		if (k->nodes[i].node == n)
			return &k->nodes[i];
		if (!k->nodes[i].node)
			return NULL;
	}
}

/* Remember v as the value of n, which node_get() did not find; quietly
 * nothing when the cache cannot take it. */
void expr_cache_node_put(struct expr_cache *k, const struct node *n, const struct value *v)
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
			for (i = expr_cache_ptr_hash(k->nodes[j].node) & (cap - 1); nn[i].node; i = (i + 1) & (cap - 1))
				;
			nn[i] = k->nodes[j];
		}
		free(k->nodes);
		k->nodes = nn;
		k->node_mask = cap - 1;
	}
	for (i = expr_cache_ptr_hash(n) & k->node_mask; k->nodes[i].node; i = (i + 1) & k->node_mask)
		;
	k->nodes[i].node = n;
	expr_cell_set(&k->nodes[i].v, v);
	k->n_nodes++;
}

json_t *expr_cache_derived(const struct expr_cache *k, const char *tag)
{
	return k->derived ? json_object_get(k->derived, tag) : NULL;
}

int expr_cache_keep_derived(struct expr_cache *k, const char *tag, json_t *list)
{
	if (!k->derived)
		k->derived = json_object();
	if (k->derived && json_object_set_new(k->derived, tag, list) == 0)
		return 0;
	return -ENOMEM;
}
