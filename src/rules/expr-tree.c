/* A parsed expression as a tree: its memory (one arena), and the walks
 * over it once it is made (the invariants the evaluator memoises, the
 * tables and sysctl keys it reads). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rules/expr.h"
#include "rules/expr-int.h"

/* ---------------------------------------------------------------- arena */

/* Everything an expression holds (the struct expr itself, the copy of the
 * text, nodes, names, strings) lives in a chain of blocks freed at once.
 * The first block is sized from the length of the text, so that most
 * expressions take a single allocation of a few hundred bytes. */
struct arena_block {
	struct arena_block *next;
	size_t used, size;
	uint64_t data[];
};

#define ARENA_ALIGN sizeof(uint64_t)
#define ARENA_ROUND(n) (((n) + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1))
/* Bytes of nodes and strings per byte of text: typical expressions take
 * 8 to 12 ("l.queue * 100 < l.limit" takes 10); more is found in further
 * blocks. */
#define ARENA_PER_BYTE 12
#define ARENA_MIN 64

static struct arena_block *arena_block_new(size_t size)
{
	struct arena_block *b = malloc(sizeof(*b) + size);

	if (!b)
		return NULL;
	b->next = NULL;
	b->used = 0;
	b->size = size;
	return b;
}

void *expr_arena_alloc(struct expr *e, size_t n)
{
	struct arena_block *b = e->arena;

	n = ARENA_ROUND(n);
	if (b->size - b->used < n) {
		/* each further block at least doubles what the expression has */
		size_t size = b->size * 2 > n ? b->size * 2 : n;

		b = arena_block_new(size);
		if (!b)
			return NULL;
		b->next = e->arena;
		e->arena = b;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

static void arena_free(struct arena_block *b)
{
	while (b) {
		struct arena_block *next = b->next;

		free(b);
		b = next;
	}
}

struct expr *expr_alloc(size_t len)
{
	struct arena_block *first;
	struct expr *e;

	first = arena_block_new(ARENA_ROUND(sizeof(*e)) + ARENA_ROUND(len + 1) +
				(len * ARENA_PER_BYTE > ARENA_MIN ? len * ARENA_PER_BYTE : ARENA_MIN));
	if (!first)
		return NULL;
	e = (struct expr *)first->data;
	first->used = ARENA_ROUND(sizeof(*e));
	memset(e, 0, sizeof(*e));
	e->arena = first;
	return e;
}

void expr_free(struct expr *e)
{
	if (!e)
		return;
	json_decref(e->consts);
	arena_free(e->arena);  /* e itself is in the first block */
}

const char *expr_source(const struct expr *e)
{
	return e->src;
}

/* -------------------------------------------------------------- walks */

/* The children of n, in *kids (which may point to buf): how many (some
 * may be NULL: a comprehension without filter, '?:' has 3, others 2). */
static unsigned node_kids(const struct node *n, struct node *buf[3], struct node *const **kids)
{
	switch (n->kind) {
	case N_INT: case N_STR: case N_BOOL: case N_NULL: case N_CONST:
	case N_SECTION: case N_ITEM: case N_LOCAL:
		return 0;
	case N_CALL:
		*kids = n->u.call.args;
		return n->u.call.n;
	case N_LIST:
		*kids = n->u.list.elts;
		return n->u.list.n;
	case N_FIELD:
		buf[0] = n->u.field.obj;
		buf[1] = buf[2] = NULL;
		break;
	default:        /* unary, binary, index, '? :' */
		buf[0] = n->u.k.a;
		buf[1] = n->u.k.b;
		buf[2] = n->kind == N_COND ? n->u.k.c : NULL;
		break;
	}
	*kids = buf;
	return 3;
}

/* ----------------------------------------------------------- invariants */

/* Constants and sections: nothing to gain in memoising them. */
static bool is_trivial(const struct node *n)
{
	return expr_is_constant(n) || n->kind == N_SECTION;
}

/* The values of subexpressions that the evaluator memoises (in a struct
 * expr_cache) instead of computing them for every item of a foreach or a
 * comprehension.
 *
 * What the value of n depends on besides the documents: bit 0 for the
 * caller's items, bit 1 + i for the variable of comprehension slot i bound
 * outside n.  0: n gives the same value wherever it is evaluated against
 * the same documents (an invariant).  Marks, for the evaluator to memoise,
 * the invariants that are not mere constants and whose parent is not
 * invariant (var.x, sysctl("...") in a foreach rule or in the body of a
 * comprehension), and the root when it is invariant in an expression with
 * a scope (evaluated once per item of a foreach). */
static unsigned mark_invariants(struct node *n)
{
	unsigned deps = 0, kids, bound = 0;
	struct node *buf[3], *const *list = NULL;

	switch (n->kind) {
	case N_ITEM:
		return 1u;
	case N_LOCAL:
		return 2u << n->u.idx;
	case N_CALL:
		if (n->comp)    /* list, body, filter: the variable is bound in the last two */
			bound = 2u << n->local;
		break;
	default:
		break;
	}
	kids = node_kids(n, buf, &list);
	for (unsigned i = 0; i < kids; i++) {
		unsigned d;

		if (!list[i])
			continue;
		d = mark_invariants(list[i]);
		/* a candidate, unless n turns out invariant as a whole */
		list[i]->memo = d == 0 && !is_trivial(list[i]);
		if (i > 0)
			d &= ~bound;
		deps |= d;
	}
	if (!deps)
		for (unsigned i = 0; i < kids; i++)
			if (list[i])
				list[i]->memo = 0;
	return deps;
}

void expr_mark_invariants(struct expr *e)
{
	e->root->memo = mark_invariants(e->root) == 0 && !is_trivial(e->root) && e->n_items > 0;
}


static int walk_lookups(const struct expr *e, const struct node *n,
			int (*fn)(const char *table, const struct expr_error *at, void *data),
			void *data)
{
	struct node *buf[3], *const *kids = NULL;
	unsigned nk = node_kids(n, buf, &kids);
	int r;

	if (n->kind == N_CALL && n->func == F_LOOKUP && n->u.call.args[0]->kind == N_STR) {
		struct expr_error at = { 0 };

		expr_error_set(&at, e->src, n->u.call.args[0]->pos, "lookup");
		r = fn(n->u.call.args[0]->u.s.ptr, &at, data);
		if (r)
			return r;
	}
	for (unsigned i = 0; i < nk; i++)
		if (kids[i] && (r = walk_lookups(e, kids[i], fn, data)))
			return r;
	return 0;
}

int expr_lookup_tables(const struct expr *e,
		       int (*fn)(const char *table, const struct expr_error *at, void *data),
		       void *data)
{
	return walk_lookups(e, e->root, fn, data);
}

bool expr_reads_sysctl(const struct expr *e)
{
	return e && e->root && e->root->kind == N_CALL && e->root->func == F_SYSCTL;
}

int expr_sysctl_keys(const struct expr *e, int (*fn)(const char *key, void *data), void *data)
{
	for (size_t i = 0; i < e->n_keys; i++) {
		int r = fn(e->keys[i], data);

		if (r)
			return r;
	}
	return 0;
}

