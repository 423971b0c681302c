/* The expression evaluator: walks the tree made by expr_parse() against a
 * facts document.  Values borrow from the document wherever they can; only
 * list literals with computed elements and string concatenation allocate. */
#include "config.h"

#include <errno.h>
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
	struct value locals[EXPR_MAX_LOCALS];  /* comprehension variables */
};

static int fail(struct ctx *c, const struct node *n, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

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
	[F_ABS] = "abs",
};

static int eval(struct ctx *c, const struct node *n, struct value *out);

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
	len = json_array_size(list.json);
	for (size_t i = 0; i < len && !st->done; i++) {
		struct value v;

		r = borrow(c, list_n, json_array_get(list.json, i), item);
		if (r < 0)
			break;
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

static bool is_strict_version(const struct value *v)
{
	const char *s = v->s.ptr;
	size_t i = 0, len = v->s.len;

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

		if (!is_strict_version(&v[0])) {
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

static int eval_call(struct ctx *c, const struct node *n, struct value *out)
{
	int r;

	switch (n->func) {
	case F_SYSCTL:
		return sysctl_lookup(c, n, out);
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

static int eval(struct ctx *c, const struct node *n, struct value *out)
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
		*out = c->env->items[n->u.idx];
		out->owned = false;
		return 0;
	case N_LOCAL:
		*out = c->locals[n->u.idx];
		out->owned = false;
		return 0;
	case N_FIELD:
		r = eval(c, n->u.field.obj, &a);
		if (r < 0)
			return r;
		if (a.type == VALUE_OBJECT) {
			r = borrow(c, n, json_object_get(a.json, n->u.field.name), out);
			if (r < 0) {
				value_free(&a);
				return r;
			}
			return adopt(c, n, out, &a);
		}
		if (a.type == VALUE_ABSENT) {
			set_absent(out);
			return 0;
		}
		r = fail(c, n, -EINVAL, "cannot read field '%s' of %s", n->u.field.name,
			 value_type_name(a.type));
		value_free(&a);
		return r;
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
		if (a.type == VALUE_INT && b.type == VALUE_INT)
			return binary(c, n, &a, &b, out);
		r = binary(c, n, &a, &b, out);
		value_free(&a);
		value_free(&b);
		return r;
	}
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
}

int expr_eval(const struct expr *e, const struct expr_env *env, struct value *out,
	      struct expr_error *err)
{
	struct ctx c;
	int r;

	c.e = e;
	c.env = env;
	c.err = err;
	set_absent(out);
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
