/* Internals of the evaluator shared by the walk of the tree (expr-eval.c)
 * and the builtins (expr-builtins.c): the state of one evaluation and the
 * helpers every builtin uses. */
#ifndef NK_EXPR_EVAL_H
#define NK_EXPR_EVAL_H

#include <errno.h>

#include "rules/expr.h"
#include "rules/expr-int.h"

/* One evaluation of an expression. */
struct expr_ctx {
	const struct expr *e;
	const struct expr_env *env;
	struct expr_error *err;
	struct expr_cache *memo;    /* memoises invariant nodes, or NULL */
	struct value locals[EXPR_MAX_LOCALS];  /* comprehension variables */
};

/* Set the error at node n (NULL: the start of the text) and return rc. */
int expr_fail(struct expr_ctx *c, const struct node *n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The walk of the tree (expr-eval.c): a node of any kind, a field read, an
 * invariant through the memo, a name bound lazily. */
int expr_eval_node(struct expr_ctx *c, const struct node *n, struct value *out);
int expr_eval_field(struct expr_ctx *c, const struct node *n, struct value *out);
int expr_eval_memo(struct expr_ctx *c, const struct node *n, struct value *out);
int expr_eval_lazy(struct expr_ctx *c, const struct node *n, struct value *out);

static inline int expr_oom(struct expr_ctx *c, const struct node *n)
{
	return expr_fail(c, n, -ENOMEM, "out of memory");
}

static inline int expr_real_number(struct expr_ctx *c, const struct node *n)
{
	return expr_fail(c, n, -EINVAL, "the facts hold a real number here; expressions "
			 "support integers only");
}

/* A value borrowing j, which a node read from the documents. */
static inline int expr_borrow(struct expr_ctx *c, const struct node *n, const json_t *j,
			      struct value *out)
{
	if (value_from_json(j, out) < 0)
		return expr_real_number(c, n);
	return 0;
}

/* Evaluate n into out.  Invariants go to the memo; the commonest leaves (a
 * foreach item, a comprehension variable, an integer) are taken here
 * without a call, and field reads go straight to the small function for
 * them. */
static inline int eval(struct expr_ctx *c, const struct node *n, struct value *out)
{
	if (n->memo && c->memo)
		return expr_eval_memo(c, n, out);
	switch (n->kind) {
	case N_INT:
		value_set_int(out, n->u.i);
		return 0;
	case N_ITEM:
		if (c->env->lazy && c->env->lazy[n->u.idx] && !c->env->lazy_done[n->u.idx])
			return expr_eval_lazy(c, n, out);
		*out = c->env->items[n->u.idx];
		out->owned = false;
		return 0;
	case N_LOCAL:
		*out = c->locals[n->u.idx];
		out->owned = false;
		return 0;
	case N_FIELD:
		return expr_eval_field(c, n, out);
	default:
		return expr_eval_node(c, n, out);
	}
}

#endif
