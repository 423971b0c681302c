/* The functions of the expression language, in one table (expr_builtins[]):
 * each one's name, arity, argument types, the checks the parser makes of
 * its literal arguments, and its evaluation.  A new function is an entry
 * of enum expr_func (expr-int.h), a row of the table and its functions
 * here (doc/expressions.md, doc/netknobs-rules.5 and tests/unit/expr.test
 * document and test it). */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/sysctl.h"
#include "rules/expr.h"
#include "rules/expr-cache.h"
#include "rules/expr-eval.h"
#include "rules/expr-int.h"

/* q: a quoted excerpt of the first 64 bytes of s, for messages */
static void quote_excerpt(char *q, size_t size, const char *s, size_t len)
{
	expr_quote(q, size, s, len > 64 ? 64 : len);
}

/* --------------------------------------------------------------- folds */

/* A fold of min, max, sum, count, any or all over items. */
struct fold {
	unsigned f;
	int64_t acc;
	bool have;      /* min, max: acc holds an item */
	bool absent;    /* any, all: an absent item was seen */
	bool done;      /* the result is decided */
	bool result_absent;
};

static int fold_one(struct expr_ctx *c, const struct node *at, struct fold *st, const struct value *v)
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
			return expr_fail(c, at, -EINVAL, "%s() needs integers, not %s", expr_builtins[st->f].name,
				    value_type_name(v->type));
		if (st->f == F_SUM) {
			if (__builtin_add_overflow(st->acc, v->i, &st->acc))
				return expr_fail(c, at, -EINVAL, "integer overflow in sum()");
		} else if (!st->have || (st->f == F_MIN ? v->i < st->acc : v->i > st->acc)) {
			st->acc = v->i;
		}
		st->have = true;
		return 0;
	default:
		if (v->type != VALUE_BOOL)
			return expr_fail(c, at, -EINVAL, "%s() needs booleans, not %s", expr_builtins[st->f].name,
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
		value_set_absent(out);
		return;
	}
	switch (st->f) {
	case F_MIN:
	case F_MAX:
		if (st->have)
			value_set_int(out, st->acc);
		else
			value_set_absent(out);
		break;
	case F_SUM:
	case F_COUNT:
		value_set_int(out, st->acc);
		break;
	default:        /* any, all: decided, or else absent, or else the neutral value */
		if (st->done)
			value_set_bool(out, st->acc != 0);
		else if (st->absent)
			value_set_absent(out);
		else
			value_set_bool(out, st->f == F_ALL);
		break;
	}
}

static int fold_list(struct expr_ctx *c, const struct node *at, struct fold *st, const json_t *list)
{
	size_t len = json_array_size(list);

	for (size_t i = 0; i < len && !st->done; i++) {
		struct value v;

		if (expr_borrow(c, at, json_array_get(list, i), &v) < 0 ||
		    fold_one(c, at, st, &v) < 0)
			return -EINVAL;
	}
	return 0;
}

/* f(x in list [where filter] : body) */
static int fold_comprehension(struct expr_ctx *c, const struct node *n, struct fold *st)
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
		r = expr_fail(c, list_n, -EINVAL, "'in' needs a list, not %s", value_type_name(list.type));
		value_free(&list);
		return r;
	}
	if (c->env->cache && !list.owned)
		cl = expr_cache_list(c->env->cache, list.json);
	len = cl ? cl->n : json_array_size(list.json);
	for (size_t i = 0; i < len && !st->done; i++) {
		struct value v;

		if (cl) {
			expr_cache_list_item(c->env->cache, cl, i, item);
		} else {
			r = expr_borrow(c, list_n, json_array_get(list.json, i), item);
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
				r = expr_fail(c, filter, -EINVAL, "'where' needs a boolean, not %s",
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
	value_set_absent(item);
	value_free(&list);
	return r;
}

static int eval_fold(struct expr_ctx *c, const struct node *n, struct value *out)
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

/* ------------------------------------------------------------- versions */

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


/* Literal versions are checked when parsed: kernel_at_least() wants
 * numbers separated by dots, version_cmp() something starting with one. */
static int check_versions(struct parser *p, struct node *call)
{
	bool strict = call->func == F_KERNEL_AT_LEAST;
	char q[EXPR_ERROR_MSG / 2] = "";

	for (unsigned i = 0; i < call->u.call.n; i++) {
		const struct node *a = call->u.call.args[i];

		if (a->kind == N_STR && !expr_is_version(a->u.s.ptr, a->u.s.len, strict)) {
			quote_excerpt(q, sizeof(q), a->u.s.ptr, a->u.s.len);
			return expr_parse_error(p, a->pos, strict ?
						"invalid kernel version %s: expected numbers separated "
						"by dots, such as \"5.4\"" :
						"invalid kernel version %s: it must start with a number", q);
		}
	}
	return 0;
}

static int kernel_at_least(struct expr_ctx *c, const struct node *n, const struct value *v,
			   struct value *out)
{
	const json_t *rel = json_object_get(c->env->sec[EXPR_SEC_HOST], "kernel_release");
	char q[EXPR_ERROR_MSG / 2] = "";
	int cmp;

	if (!expr_is_version(v[0].s.ptr, v[0].s.len, true)) {
		quote_excerpt(q, sizeof(q), v[0].s.ptr, v[0].s.len);
		return expr_fail(c, n->u.call.args[0], -EINVAL, "invalid kernel version %s: expected "
				 "numbers separated by dots, such as \"5.4\"", q);
	}
	cmp = json_is_string(rel) ? expr_version_cmp(json_string_value(rel), v[0].s.ptr) : -2;
	if (cmp == -2)
		value_set_absent(out);
	else
		value_set_bool(out, cmp >= 0);
	return 0;
}

static int version_cmp(struct expr_ctx *c, const struct node *n, const struct value *v,
		       struct value *out)
{
	int cmp = expr_version_cmp(v[0].s.ptr, v[1].s.ptr);

	(void)c;
	(void)n;
	if (cmp == -2)
		value_set_absent(out);
	else
		value_set_int(out, cmp);
	return 0;
}

/* --------------------------------------------------------------- sysctl */

/* Write the pattern of a computed sysctl key into buf: literal strings
 * joined by '+' stay, everything else becomes '*'.  false when the pattern
 * would not be usable. */
static bool key_pattern(const struct node *n, char *buf, size_t size, size_t *o)
{
	if (n->kind == N_STR) {
		if (strpbrk(n->u.s.ptr, "*?[") || *o + n->u.s.len >= size)
			return false;
		memcpy(buf + *o, n->u.s.ptr, n->u.s.len);
		*o += n->u.s.len;
		return true;
	}
	if (n->kind == N_ADD)
		return key_pattern(n->u.k.a, buf, size, o) && key_pattern(n->u.k.b, buf, size, o);
	if (*o > 0 && buf[*o - 1] == '*')
		return true;
	if (*o + 1 >= size)
		return false;
	buf[(*o)++] = '*';
	return true;
}

/* sysctl(KEY): a literal key is validated and kept in the call; of a
 * computed one, what is known (expr_sysctl_keys()). */
static int check_sysctl(struct parser *p, struct node *call)
{
	struct node *arg = call->u.call.args[0];
	char key[SYSCTL_KEY_MAX + 1], q[EXPR_ERROR_MSG / 2] = "";
	const char *why;

	if (arg->kind != N_STR) {
		char pat[SYSCTL_KEY_MAX + 1];
		size_t o = 0;
		bool lit = false;

		if (key_pattern(arg, pat, sizeof(pat), &o)) {
			pat[o] = '\0';
			for (size_t i = 0; i < o; i++)
				lit |= pat[i] != '*' && pat[i] != '.' && pat[i] != '/';
			if (lit && sysctl_key_parse(pat, NULL, key, NULL) == 0)
				return expr_parse_add_key(p, key);
		}
		return expr_parse_add_key(p, NULL);
	}
	if (memchr(arg->u.s.ptr, '\0', arg->u.s.len) ||
	    sysctl_key_parse(arg->u.s.ptr, NULL, key, &why) < 0) {
		quote_excerpt(q, sizeof(q), arg->u.s.ptr, arg->u.s.len);
		return expr_parse_error(p, arg->pos, "invalid sysctl key %s: %s", q, why);
	}
	if (strpbrk(key, "*?[")) {
		quote_excerpt(q, sizeof(q), arg->u.s.ptr, arg->u.s.len);
		return expr_parse_error(p, arg->pos, "invalid sysctl key %s: patterns ('*', '?', '[') "
			  "cannot be read with sysctl()", q);
	}
	return expr_parse_keep_key(p, call, key);
}

/* sysctl_match("net.ipv4.conf.*.rp_filter"): a literal pattern, so that
 * the keys can be read before evaluation. */
static int check_sysctl_match(struct parser *p, struct node *call)
{
	struct node *arg = call->u.call.args[0];
	char key[SYSCTL_KEY_MAX + 1], q[EXPR_ERROR_MSG / 2] = "";
	const char *why;

	if (arg->kind != N_STR)
		return expr_parse_error(p, arg->pos, "sysctl_match() needs a pattern written as a string literal");
	if (memchr(arg->u.s.ptr, '\0', arg->u.s.len) ||
	    sysctl_key_parse(arg->u.s.ptr, NULL, key, &why) < 0) {
		quote_excerpt(q, sizeof(q), arg->u.s.ptr, arg->u.s.len);
		return expr_parse_error(p, arg->pos, "invalid sysctl key pattern %s: %s", q,
			  memchr(arg->u.s.ptr, '\0', arg->u.s.len) ? "NUL characters are not allowed" : why);
	}
	return expr_parse_keep_key(p, call, key);
}

static int sysctl_lookup(struct expr_ctx *c, const struct node *n, const struct value *v,
			 struct value *out)
{
	const json_t *tbl = c->env->sec[EXPR_SEC_SYSCTL];
	char key[SYSCTL_KEY_MAX + 1], q[EXPR_ERROR_MSG / 2] = "";
	const char *why = "";

	if (n->u.call.key)
		return expr_borrow(c, n, json_object_get(tbl, n->u.call.key), out);
	if (memchr(v[0].s.ptr, '\0', v[0].s.len))
		why = "NUL characters are not allowed in keys";
	else if (sysctl_key_parse(v[0].s.ptr, NULL, key, &why) == 0 && strpbrk(key, "*?["))
		why = "patterns ('*', '?', '[') cannot be read with sysctl()";
	if (why[0]) {
		quote_excerpt(q, sizeof(q), v[0].s.ptr, v[0].s.len);
		return expr_fail(c, n->u.call.args[0], -EINVAL, "invalid sysctl key %s: %s", q, why);
	}
	return expr_borrow(c, n, json_object_get(tbl, key), out);
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

/* The keys of obj, sorted (*n of them; NULL when out of memory). */
static const char **sorted_keys(const json_t *obj, size_t *n)
{
	const char **keys = malloc((json_object_size(obj) + 1) * sizeof(*keys));
	const char *key;
	json_t *v;

	*n = 0;
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)obj, key, v)
		keys[(*n)++] = key;
	qsort(keys, *n, sizeof(*keys), key_cmp);
	return keys;
}

/* A list built during evaluation (list: a new reference, consumed; NULL,
 * or keys NULL: out of memory; keys are freed).  With a cache and a tag it
 * is kept in the cache under the tag and lent out, so that what the cache
 * remembers about its items stays valid; otherwise the result owns it. */
static int keep_derived(struct expr_ctx *c, const struct node *n, const char *tag,
			const char **keys, json_t *list, struct value *out)
{
	struct expr_cache *k = c->env->cache;

	free(keys);
	if (!keys || !list) {
		json_decref(list);
		return expr_oom(c, n);
	}
	if (k && tag) {
		if (expr_cache_keep_derived(k, tag, list) == 0)
			return value_from_json(list, out);
		return expr_oom(c, n);
	}
	value_set_list(out, list);
	return 0;
}

/* sysctl_match(PATTERN): [{key, name, value}] for every key of the facts
 * matching the pattern, sorted by key ("name" is the part the first
 * wildcard matched: the interface of net.ipv4.conf.*.rp_filter).  With a
 * cache the list is kept there, so that what the cache remembers about its
 * items stays valid; without one it is owned by the result. */
static int sysctl_match(struct expr_ctx *c, const struct node *n, struct value *out)
{
	const json_t *tbl = c->env->sec[EXPR_SEC_SYSCTL];
	struct expr_cache *k = c->env->cache;
	const char *pat = n->u.call.key, **keys;
	json_t *list;
	size_t nk;

	if (!json_is_object(tbl)) {
		value_set_absent(out);
		return 0;
	}
	if (k && (list = expr_cache_derived(k, pat)))
		return value_from_json(list, out);
	keys = sorted_keys(tbl, &nk);
	list = json_array();
	for (size_t i = 0; keys && list && i < nk; i++) {
		char name[SYSCTL_KEY_MAX + 1];

		if (match_key(pat, keys[i], name, sizeof(name)) &&
		    json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "key", keys[i], "name", name,
							  "value", value_json_ref(json_object_get(tbl, keys[i])))) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return keep_derived(c, n, pat, keys, list, out);
}

/* entries(OBJECT): [{key, value}] sorted by key, so that rules can walk an
 * object (persistent.keys) with foreach.  Kept by the cache like
 * sysctl_match() lists, keyed by the object's address (the facts do not
 * change while a cache lives). */
static int entries(struct expr_ctx *c, const struct node *n, const struct value *v,
		   struct value *out)
{
	struct expr_cache *k = c->env->cache;
	const char **keys;
	char tag[40];
	json_t *list;
	size_t nk;

	if (v[0].type != VALUE_OBJECT)
		return expr_fail(c, n->u.call.args[0], -EINVAL, "entries() needs an object, not %s",
				 value_type_name(v[0].type));
	snprintf(tag, sizeof(tag), "entries:%p", (void *)v[0].json);
	if (k && !v[0].owned && (list = expr_cache_derived(k, tag)))
		return value_from_json(list, out);
	keys = sorted_keys(v[0].json, &nk);
	list = json_array();
	for (size_t i = 0; keys && list && i < nk; i++) {
		if (json_array_append_new(list, json_pack("{s:s,s:o}", "key", keys[i], "value",
							  value_json_ref(json_object_get(v[0].json, keys[i])))) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return keep_derived(c, n, v[0].owned ? NULL : tag, keys, list, out);
}

/* ------------------------------------------------------------- counters */

static int counter(struct expr_ctx *c, const struct node *n, const struct value *v,
		   struct value *out)
{
	const json_t *j = json_object_get(c->env->sec[EXPR_SEC_COUNTERS], v[0].s.ptr);

	(void)n;
	j = json_object_get(j, v[1].s.ptr);
	/* counters above 2^63-1 are strings in the facts: not usable */
	if (json_is_integer(j))
		value_set_int(out, json_integer_value(j));
	else
		value_set_absent(out);
	return 0;
}

static int check_rate(struct parser *p, struct node *call)
{
	const struct node *a = call->u.call.n == 3 ? call->u.call.args[2] : NULL;

	if (a && a->kind == N_INT && a->u.i < 1)
		return expr_parse_error(p, a->pos, "rate(): the period must be at least 1 second");
	return 0;
}

/* delta() and rate(), from the window's deltas, so that rules need no
 * fractions: the rate is rounded to the nearest integer */
static int delta_rate(struct expr_ctx *c, const struct node *n, const struct value *v,
		      struct value *out)
{
	const json_t *smp = c->env->sec[EXPR_SEC_SAMPLE];
	const json_t *d = json_object_get(json_object_get(json_object_get(smp, "deltas"),
							  v[0].s.ptr), v[1].s.ptr);
	const json_t *dur = json_object_get(smp, "duration_ms");
	__int128 x;

	if (n->u.call.n == 3 && v[2].i < 1)
		return expr_fail(c, n->u.call.args[2], -EINVAL, "rate(): the period must be at "
				 "least 1 second, not %lld", (long long)v[2].i);
	if (!json_is_integer(d) || json_integer_value(d) < 0) {
		value_set_absent(out);
		return 0;
	}
	if (n->func == F_DELTA) {
		value_set_int(out, json_integer_value(d));
		return 0;
	}
	if (!json_is_integer(dur) || json_integer_value(dur) <= 0) {
		value_set_absent(out);
		return 0;
	}
	/* d * 1000 < 2^74; times the period it may not fit */
	if (__builtin_mul_overflow((__int128)json_integer_value(d) * 1000,
				   (__int128)(n->u.call.n == 3 ? v[2].i : 1), &x))
		x = (__int128)INT64_MAX * json_integer_value(dur) + json_integer_value(dur);
	x = (x + json_integer_value(dur) / 2) / json_integer_value(dur);
	if (x > INT64_MAX)
		return expr_fail(c, n, -EINVAL, "integer overflow in rate()");
	value_set_int(out, (int64_t)x);
	return 0;
}

/* ------------------------------------------------------------- integers */

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}


static int len(struct expr_ctx *c, const struct node *n, const struct value *v, struct value *out)
{
	(void)c;
	(void)n;
	if (v[0].type == VALUE_LIST)
		value_set_int(out, (int64_t)json_array_size(v[0].json));
	else if (v[0].type == VALUE_OBJECT)
		value_set_int(out, (int64_t)json_object_size(v[0].json));
	else
		value_set_int(out, (int64_t)utf8_chars(v[0].s.ptr, v[0].s.len));
	return 0;
}

static int pow2ceil(struct expr_ctx *c, const struct node *n, const struct value *v,
		    struct value *out)
{
	if (v[0].i <= 1)
		value_set_int(out, 1);
	else if (v[0].i > INT64_C(1) << 62)
		return expr_fail(c, n, -EINVAL, "integer overflow in pow2ceil()");
	else
		value_set_int(out, INT64_C(1) << (64 - __builtin_clzll((unsigned long long)v[0].i - 1)));
	return 0;
}

static int clamp(struct expr_ctx *c, const struct node *n, const struct value *v,
		 struct value *out)
{
	if (v[1].i > v[2].i)
		return expr_fail(c, n, -EINVAL, "clamp(): the lower bound %lld is above the upper "
				 "bound %lld", (long long)v[1].i, (long long)v[2].i);
	value_set_int(out, v[0].i < v[1].i ? v[1].i : v[0].i > v[2].i ? v[2].i : v[0].i);
	return 0;
}

static int percent(struct expr_ctx *c, const struct node *n, const struct value *v,
		   struct value *out)
{
	__int128 p;

	if (v[1].i == 0) {
		value_set_absent(out);
		return 0;
	}
	p = (__int128)v[0].i * 100 / v[1].i;
	if (p > INT64_MAX || p < INT64_MIN)
		return expr_fail(c, n, -EINVAL, "integer overflow in percent()");
	value_set_int(out, (int64_t)p);
	return 0;
}

static int abs_(struct expr_ctx *c, const struct node *n, const struct value *v,
		struct value *out)
{
	if (v[0].i == INT64_MIN)
		return expr_fail(c, n, -EINVAL, "integer overflow in abs()");
	value_set_int(out, v[0].i < 0 ? -v[0].i : v[0].i);
	return 0;
}

/* ------------------------------------------------------------- the rest */

/* exists(x): whether x is not absent */
static int exists(struct expr_ctx *c, const struct node *n, struct value *out)
{
	int r = eval(c, n->u.call.args[0], out);

	if (r < 0)
		return r;
	r = out->type != VALUE_ABSENT;
	value_free(out);
	value_set_bool(out, r);
	return 0;
}

/* default(x, y): x, or y when x is absent (evaluated only then) */
static int default_(struct expr_ctx *c, const struct node *n, struct value *out)
{
	int r = eval(c, n->u.call.args[0], out);

	if (r < 0 || out->type != VALUE_ABSENT)
		return r;
	return eval(c, n->u.call.args[1], out);
}

/* endpoint(listener): "address:port", "[address]:port" for IPv6 */
static int endpoint(struct expr_ctx *c, const struct node *n, const struct value *v,
		    struct value *out)
{
	const json_t *fam = json_object_get(v[0].json, "family");
	const json_t *addr = json_object_get(v[0].json, "address");
	const json_t *port = json_object_get(v[0].json, "port");
	char *s = NULL;
	int k;

	if (!json_is_string(addr) || !json_is_integer(port)) {
		value_set_absent(out);
		return 0;
	}
	k = asprintf(&s, json_is_string(fam) && !strcmp(json_string_value(fam), "ipv6") ?
		     "[%s]:%lld" : "%s:%lld", json_string_value(addr),
		     (long long)json_integer_value(port));
	if (k < 0)
		return expr_oom(c, n);
	value_set_string(out, s, (size_t)k);
	return 0;
}

/* lookup("table", name): the table is named by a literal, so that the
 * rule loader can check that it exists (expr_lookup_tables()). */
static int check_lookup(struct parser *p, struct node *call)
{
	const struct node *arg = call->u.call.args[0];
	char q[EXPR_ERROR_MSG / 2] = "";

	if (arg->kind != N_STR)
		return expr_parse_error(p, arg->pos, "lookup() needs the table's name written as a "
					"string literal");
	if (!expr_name_syntax(arg->u.s.ptr, arg->u.s.len)) {
		quote_excerpt(q, sizeof(q), arg->u.s.ptr, arg->u.s.len);
		return expr_parse_error(p, arg->pos, "invalid table name %s: letters, digits and '_', "
					"not starting with a digit", q);
	}
	return 0;
}

/* lookup("table", name): the first entry of the table one of whose match
 * patterns (fnmatch(3) globs) matches name */
static int lookup(struct expr_ctx *c, const struct node *n, const struct value *v,
		  struct value *out)
{
	const json_t *list = json_object_get(c->env->tables, v[0].s.ptr), *entry;
	size_t i;

	json_array_foreach(list, i, entry) {
		const json_t *pat;
		size_t j;

		json_array_foreach(json_object_get(entry, "match"), j, pat)
			if (json_is_string(pat) && fnmatch(json_string_value(pat), v[1].s.ptr, 0) == 0)
				return expr_borrow(c, n, entry, out);
	}
	value_set_absent(out);
	return 0;
}

/* text(x): x as a message shows it */
static int text(struct expr_ctx *c, const struct node *n, const struct value *v,
		struct value *out)
{
	char *t = value_format(&v[0], VALUE_FORMAT_SYSCTL);
	size_t len;

	if (!t)
		return expr_oom(c, n);
	len = strlen(t);
	if (len > EXPR_MAX_RESULT_STRING) {
		free(t);
		return expr_fail(c, n, -EINVAL, "string too long (the limit is %d bytes)",
				 EXPR_MAX_RESULT_STRING);
	}
	value_set_string(out, t, len);
	return 0;
}

/* ------------------------------------------------------------ the table */

#define ANY { 0, NULL, NULL }
#define STRINGS { 1u << VALUE_STRING, "a string", "strings" }
#define INTEGERS { 1u << VALUE_INT, "an integer", "integers" }
#define FOLD_INTS { 1u << VALUE_INT | 1u << VALUE_LIST, "integers", "integers" }
#define FOLD_BOOLS { 1u << VALUE_BOOL | 1u << VALUE_LIST, "booleans", "booleans" }
#define VARIADIC EXPR_MAX_LIST

const struct expr_builtin expr_builtins[F_COUNT_FUNCS] = {
	[F_SYSCTL] = { "sysctl", 1, 1, false, { STRINGS }, check_sysctl, NULL, sysctl_lookup },
	[F_COUNTER] = { "counter", 2, 2, false, { STRINGS }, NULL, NULL, counter },
	[F_MIN] = { "min", 1, VARIADIC, true, { FOLD_INTS }, NULL, eval_fold, NULL },
	[F_MAX] = { "max", 1, VARIADIC, true, { FOLD_INTS }, NULL, eval_fold, NULL },
	[F_SUM] = { "sum", 1, VARIADIC, true, { FOLD_INTS }, NULL, eval_fold, NULL },
	[F_COUNT] = { "count", 1, VARIADIC, true, { FOLD_BOOLS }, NULL, eval_fold, NULL },
	[F_ANY] = { "any", 1, VARIADIC, true, { FOLD_BOOLS }, NULL, eval_fold, NULL },
	[F_ALL] = { "all", 1, VARIADIC, true, { FOLD_BOOLS }, NULL, eval_fold, NULL },
	[F_LEN] = { "len", 1, 1, false,
		{ { 1u << VALUE_LIST | 1u << VALUE_STRING | 1u << VALUE_OBJECT,
		    "a list, a string or an object", "lists, strings or objects" } },
		NULL, NULL, len },
	[F_POW2CEIL] = { "pow2ceil", 1, 1, false, { INTEGERS }, NULL, NULL, pow2ceil },
	[F_EXISTS] = { "exists", 1, 1, false, { ANY }, NULL, exists, NULL },
	[F_DEFAULT] = { "default", 2, 2, false, { ANY }, NULL, default_, NULL },
	[F_KERNEL_AT_LEAST] = { "kernel_at_least", 1, 1, false, { STRINGS }, check_versions, NULL,
		kernel_at_least },
	[F_VERSION_CMP] = { "version_cmp", 2, 2, false, { STRINGS }, check_versions, NULL,
		version_cmp },
	[F_CLAMP] = { "clamp", 3, 3, false, { INTEGERS }, NULL, NULL, clamp },
	[F_PERCENT] = { "percent", 2, 2, false, { INTEGERS }, NULL, NULL, percent },
	[F_ABS] = { "abs", 1, 1, false, { INTEGERS }, NULL, NULL, abs_ },
	[F_SYSCTL_MATCH] = { "sysctl_match", 1, 1, false, { STRINGS }, check_sysctl_match,
		sysctl_match, NULL },
	[F_ENTRIES] = { "entries", 1, 1, false, { ANY }, NULL, NULL, entries },
	[F_DELTA] = { "delta", 2, 2, false, { STRINGS }, NULL, NULL, delta_rate },
	[F_RATE] = { "rate", 2, 3, false,
		{ STRINGS, STRINGS, { 1u << VALUE_INT, "an integer (seconds) as its third argument",
				      "an integer (seconds) as its third argument" } },
		check_rate, NULL, delta_rate },
	[F_ENDPOINT] = { "endpoint", 1, 1, false,
		{ { 1u << VALUE_OBJECT, "a listener (an object)", "a listener (an object)" } },
		NULL, NULL, endpoint },
	[F_LOOKUP] = { "lookup", 2, 2, false, { STRINGS }, check_lookup, NULL, lookup },
	[F_TEXT] = { "text", 1, 1, false, { ANY }, NULL, NULL, text },
};

const struct expr_arg *expr_builtin_arg(const struct expr_builtin *b, unsigned i)
{
	unsigned j = i < EXPR_ARG_SPECS ? i : EXPR_ARG_SPECS - 1;

	while (j > 0 && !b->args[j].one)
		j--;
	return &b->args[j];
}

int expr_builtin_find(const char *name, size_t len)
{
	for (int i = 0; i < F_COUNT_FUNCS; i++)
		if (strlen(expr_builtins[i].name) == len && memcmp(expr_builtins[i].name, name, len) == 0)
			return i;
	return -1;
}
