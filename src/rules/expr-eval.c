/* The expression evaluator: walks the tree made by expr_parse() against a
 * facts document.  Values borrow from the document wherever they can; only
 * list literals with computed elements and string concatenation allocate.
 * The functions are in expr-builtins.c, the memo in expr-cache.c. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/expr.h"
#include "rules/expr-cache.h"
#include "rules/expr-eval.h"
#include "rules/expr-int.h"

int expr_fail(struct expr_ctx *c, const struct node *n, int rc, const char *fmt, ...)
{
	char msg[EXPR_ERROR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	expr_error_set(c->err, c->e->src, n ? n->pos : 0, "%s", msg);
	return rc;
}

/* ----------------------------------------------------------------- memo */

/* An invariant node: its memoised value, or else evaluate it and memoise
 * the result (a value that owns its storage is not memoised, nor an error,
 * which comes again when the node is evaluated again). */
int expr_eval_memo(struct expr_ctx *c, const struct node *n, struct value *out)
{
	const struct cache_node *m = expr_cache_node_get(c->memo, n);
	int r;

	if (m) {
		expr_cell_get(&m->v, out);
		return 0;
	}
	r = expr_eval_node(c, n, out);
	if (r == 0 && expr_cell_fits(out))
		expr_cache_node_put(c->memo, n, out);
	return r;
}

/* child was taken from parent: make it independent of parent if parent owns
 * its storage, then release parent. */
static int adopt(struct expr_ctx *c, const struct node *n, struct value *child, struct value *parent)
{
	int r = 0;

	if (parent->owned) {
		struct value tmp = *child;

		if (value_dup(&tmp, child) < 0)
			r = expr_oom(c, n);
	}
	value_free(parent);
	return r;
}

/* obj.name */
static __attribute__((noinline)) int field_of(struct expr_ctx *c, const struct node *n,
					     struct value *a, struct value *out)
{
	int r;

	if (a->type == VALUE_OBJECT) {
		/* only objects borrowed from the documents are memoised */
		if (c->env->cache && !a->owned) {
			if (expr_cache_field(c->env->cache, n, a->json, out) < 0)
				return expr_real_number(c, n);
			return 0;
		}
		r = expr_borrow(c, n, json_object_get(a->json, n->u.field.name), out);
		if (r < 0) {
			value_free(a);
			return r;
		}
		return adopt(c, n, out, a);
	}
	if (a->type == VALUE_ABSENT) {
		value_set_absent(out);
		return 0;
	}
	r = expr_fail(c, n, -EINVAL, "cannot read field '%s' of %s", n->u.field.name,
		 value_type_name(a->type));
	value_free(a);
	return r;
}

/* The value of an N_ITEM or N_LOCAL node, in place; NULL for other nodes. */
static inline const struct value *bound_value(const struct expr_ctx *c, const struct node *n)
{
	if (n->kind == N_ITEM)
		return &c->env->items[n->u.idx];
	if (n->kind == N_LOCAL)
		return &c->locals[n->u.idx];
	return NULL;
}

int expr_eval_field(struct expr_ctx *c, const struct node *n, struct value *out)
{
	struct expr_cache *k = c->env->cache;
	const struct value *item = bound_value(c, n->u.field.obj);
	struct value a;
	int r;

	/* the commonest case, kept short: a field of the hinted item (the
	 * item of a foreach or a comprehension) that a rule before read */
	if (k && item && item->type == VALUE_OBJECT && item->json == k->hint_obj) {
		const struct cache_memo *m =
			&k->memo[expr_cache_ptr_hash(n->u.field.name) & (CACHE_MEMO - 1)];
		const struct cell *col;

		if (m->name == n->u.field.name && m->id < LIST_MAX_COLS &&
		    (col = k->hint_list->cols[m->id]) && col[k->hint_row].type) {
			expr_cell_get(&col[k->hint_row], out);
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

static int type_error(struct expr_ctx *c, const struct node *n, enum value_type a, enum value_type b)
{
	char msg[EXPR_ERROR_MSG];

	if (expr_op_check(n->kind, a, b, msg, sizeof(msg)) == 0)
		snprintf(msg, sizeof(msg), "'%s': unexpected operands", op_name(n->kind));
	return expr_fail(c, n, -EINVAL, "%s", msg);
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
static int list_equal(struct expr_ctx *c, const struct node *n, const json_t *x, const json_t *y)
{
	size_t len = json_array_size(x);
	bool absent = false;

	if (json_array_size(y) != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		struct value a, b;
		int r;

		if (expr_borrow(c, n, json_array_get(x, i), &a) < 0 ||
		    expr_borrow(c, n, json_array_get(y, i), &b) < 0)
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

static int concat(struct expr_ctx *c, const struct node *n, const struct value *a,
		  const struct value *b, struct value *out)
{
	size_t len = a->s.len + b->s.len;
	char *s;

	if (len > EXPR_MAX_RESULT_STRING)
		return expr_fail(c, n, -EINVAL, "string too long (the limit is %d bytes)",
			    EXPR_MAX_RESULT_STRING);
	s = malloc(len + 1);
	if (!s)
		return expr_oom(c, n);
	memcpy(s, a->s.ptr, a->s.len);
	memcpy(s + a->s.len, b->s.ptr, b->s.len);
	s[len] = '\0';
	value_set_string(out, s, len);
	return 0;
}

static int binary(struct expr_ctx *c, const struct node *n, const struct value *a,
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
			value_set_int(out, r);
			return 0;
		case N_SUB:
			if (__builtin_sub_overflow(x, y, &r))
				goto overflow;
			value_set_int(out, r);
			return 0;
		case N_MUL:
			if (__builtin_mul_overflow(x, y, &r))
				goto overflow;
			value_set_int(out, r);
			return 0;
		case N_DIV:
			if (y == 0)
				return expr_fail(c, n, -EINVAL, "division by zero");
			if (x == INT64_MIN && y == -1)
				goto overflow;
			value_set_int(out, x / y);
			return 0;
		case N_MOD:
			if (y == 0)
				return expr_fail(c, n, -EINVAL, "modulo by zero");
			value_set_int(out, y == -1 ? 0 : x % y);
			return 0;
		default:
			cmp = x < y ? -1 : x > y;
			goto compared;
		}
	}
	if (expr_op_check(n->kind, a->type, b->type, NULL, 0) < 0)
		return type_error(c, n, a->type, b->type);
	if (a->type == VALUE_ABSENT || b->type == VALUE_ABSENT) {
		value_set_absent(out);
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
			value_set_absent(out);
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
	case N_EQ: value_set_bool(out, cmp == 0); break;
	case N_NE: value_set_bool(out, cmp != 0); break;
	case N_LT: value_set_bool(out, cmp < 0); break;
	case N_LE: value_set_bool(out, cmp <= 0); break;
	case N_GT: value_set_bool(out, cmp > 0); break;
	case N_GE: value_set_bool(out, cmp >= 0); break;
	default: return type_error(c, n, a->type, b->type);
	}
	return 0;
overflow:
	return expr_fail(c, n, -EINVAL, "integer overflow in '%s'", op_name(n->kind));
}

/* ------------------------------------------------------------- builtins */

/* A builtin with apply: its arguments evaluated, all of them first, then
 * checked against the table; absent when one is. */
static int eval_apply(struct expr_ctx *c, const struct node *n, const struct expr_builtin *b,
		      struct value *out)
{
	struct value v[EXPR_ARG_SPECS];
	unsigned nargs = n->u.call.n;
	bool absent = false;
	int r = 0;

	if (nargs > EXPR_ARG_SPECS)
		return expr_fail(c, n, -EINVAL, "internal error: %s() with %u arguments", b->name,
				 nargs);
	for (unsigned i = 0; i < nargs; i++) {
		r = eval(c, n->u.call.args[i], &v[i]);
		if (r < 0) {
			while (i-- > 0)
				value_free(&v[i]);
			return r;
		}
	}
	for (unsigned i = 0; i < nargs && r == 0; i++) {
		const struct expr_arg *a = expr_builtin_arg(b, i);

		if (v[i].type == VALUE_ABSENT)
			absent = true;
		else if (a->accept && !(a->accept & 1u << v[i].type))
			r = expr_fail(c, n->u.call.args[i], -EINVAL, "%s() needs %s, not %s", b->name,
				      nargs > 1 ? a->many : a->one, value_type_name(v[i].type));
	}
	if (r == 0 && absent)
		value_set_absent(out);
	else if (r == 0)
		r = b->apply(c, n, v, out);
	for (unsigned i = 0; i < nargs; i++)
		value_free(&v[i]);
	return r;
}

static int eval_call(struct expr_ctx *c, const struct node *n, struct value *out)
{
	const struct expr_builtin *b = &expr_builtins[n->func];

	if (b->eval)
		return b->eval(c, n, out);
	return eval_apply(c, n, b, out);
}

/* ----------------------------------------------------------------- nodes */

static int eval_list(struct expr_ctx *c, const struct node *n, struct value *out)
{
	json_t *list = json_array();

	if (!list)
		return expr_oom(c, n);
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
			return expr_oom(c, n);
		}
	}
	value_set_list(out, list);
	return 0;
}

static int eval_index(struct expr_ctx *c, const struct node *n, struct value *out)
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
		r = expr_fail(c, n, -EINVAL, "cannot index %s", value_type_name(a.type));
	} else if (a.type == VALUE_LIST && b.type != VALUE_ABSENT && b.type != VALUE_INT) {
		r = expr_fail(c, n->u.k.b, -EINVAL, "a list index must be an integer, not %s",
			 value_type_name(b.type));
	} else if (a.type == VALUE_OBJECT && b.type != VALUE_ABSENT && b.type != VALUE_STRING) {
		r = expr_fail(c, n->u.k.b, -EINVAL, "an object key must be a string, not %s",
			 value_type_name(b.type));
	} else if (a.type == VALUE_ABSENT || b.type == VALUE_ABSENT) {
		value_set_absent(out);
	} else if (a.type == VALUE_LIST) {
		if (b.i < 0 || (uint64_t)b.i >= json_array_size(a.json))
			value_set_absent(out);
		else
			r = expr_borrow(c, n, json_array_get(a.json, (size_t)b.i), out);
	} else if (memchr(b.s.ptr, '\0', b.s.len)) {
		value_set_absent(out);
	} else {
		r = expr_borrow(c, n, json_object_get(a.json, b.s.ptr), out);
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
		value_set_int(out, r);
		return true;
	case N_SUB:
		if (__builtin_sub_overflow(x, y, &r))
			return false;
		value_set_int(out, r);
		return true;
	case N_MUL:
		if (__builtin_mul_overflow(x, y, &r))
			return false;
		value_set_int(out, r);
		return true;
	case N_EQ:
		value_set_bool(out, x == y);
		return true;
	case N_NE:
		value_set_bool(out, x != y);
		return true;
	case N_LT:
		value_set_bool(out, x < y);
		return true;
	case N_LE:
		value_set_bool(out, x <= y);
		return true;
	case N_GT:
		value_set_bool(out, x > y);
		return true;
	case N_GE:
		value_set_bool(out, x >= y);
		return true;
	default:
		return false;
	}
}

int expr_eval_node(struct expr_ctx *c, const struct node *n, struct value *out)
{
	struct value a, b;
	int r;

	switch (n->kind) {
	case N_INT:     /* eval() takes these, never memoised, before a call */
	case N_ITEM:
	case N_LOCAL:
		return eval(c, n, out);
	case N_STR:
		out->type = VALUE_STRING;
		out->owned = false;
		out->s.ptr = n->u.s.ptr;
		out->s.len = n->u.s.len;
		return 0;
	case N_BOOL:
		value_set_bool(out, n->u.b);
		return 0;
	case N_NULL:
		value_set_absent(out);
		return 0;
	case N_CONST:
		out->type = VALUE_LIST;
		out->owned = false;
		out->json = n->u.json;
		return 0;
	case N_LIST:
		return eval_list(c, n, out);
	case N_SECTION:
		return expr_borrow(c, n, c->env->sec[n->u.idx], out);
	case N_FIELD:
		return expr_eval_field(c, n, out);
	case N_INDEX:
		return eval_index(c, n, out);
	case N_NEG:
		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_INT) {
			if (a.i == INT64_MIN)
				return expr_fail(c, n, -EINVAL, "integer overflow in unary '-'");
			value_set_int(out, -a.i);
			return 0;
		}
		if (a.type != VALUE_ABSENT) {
			enum value_type t = a.type;

			value_free(&a);
			return type_error(c, n, t, VALUE_ABSENT);
		}
		value_set_absent(out);
		return 0;
	case N_NOT:
		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_BOOL) {
			value_set_bool(out, !a.b);
			return 0;
		}
		if (a.type != VALUE_ABSENT) {
			enum value_type t = a.type;

			value_free(&a);
			return type_error(c, n, t, VALUE_ABSENT);
		}
		value_set_absent(out);
		return 0;
	case N_AND:
	case N_OR: {
		bool decisive = n->kind == N_OR;    /* the value that decides alone */

		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_BOOL && a.b == decisive) {
			value_set_bool(out, decisive);
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
				value_set_bool(out, b.b);
			else
				value_set_absent(out);
			return 0;
		}
		if (b.type != VALUE_ABSENT) {
			enum value_type t = b.type;

			value_free(&b);
			return type_error(c, n, VALUE_ABSENT, t);
		}
		value_set_absent(out);
		return 0;
	}
	case N_COND:
		r = eval(c, n->u.k.a, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_BOOL)
			return eval(c, a.b ? n->u.k.b : n->u.k.c, out);
		if (a.type == VALUE_ABSENT) {
			value_set_absent(out);
			return 0;
		}
		r = expr_fail(c, n, -EINVAL, "the condition of '?' must be a boolean, not %s",
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
		cl = expr_cache_list(env->cache, list->json);
	if (!cl)
		return value_from_json(json_array_get(list->json, i), out);
	if (i >= cl->n)
		*out = VALUE_ABSENT_INIT;
	else
		expr_cache_list_item(env->cache, cl, i, out);
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
int expr_eval_lazy(struct expr_ctx *c, const struct node *n, struct value *out)
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
	struct expr_ctx c;
	int r;

	c.e = e;
	c.env = env;
	c.err = err;
	c.memo = expr_cache_memo_for(env);
	value_set_absent(out);
	if (env->n_items < e->n_items || (e->n_items && !env->items)) {
		expr_error_set(err, e->src, 0, "internal error: the expression needs %u bound "
			       "values, %zu given", e->n_items, env->n_items);
		return -EINVAL;
	}
	r = eval(&c, e->root, out);
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
