/* The expression parser: text -> tree, with names resolved, calls checked
 * and sysctl key literals validated.  A hand-written recursive-descent
 * parser, one function per precedence level (doc/expressions.md has the
 * grammar). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts/sysctl.h"
#include "rules/expr.h"
#include "rules/expr-int.h"
#include "util/suggest.h"

#include "rules/expr-lex.h"
/* Built-in names, indexed by enum expr_section (the last two are internal). */
static const char *const section_names[] = {
	[EXPR_SEC_FACTS] = "facts",
	[EXPR_SEC_HOST] = "host",
	[EXPR_SEC_LISTENERS] = "listeners",
	[EXPR_SEC_STATES] = "states",
	[EXPR_SEC_SOCKSTAT] = "sockstat",
	[EXPR_SEC_SOFTNET] = "softnet",
	[EXPR_SEC_CPUS] = "cpus",
	[EXPR_SEC_VAR] = "var",
};
#define N_PUBLIC_SECTIONS (EXPR_SEC_VAR + 1)

static const char *const keywords[] = { "true", "false", "null" };

struct parser {
	struct lexer lx;        /* the text, the current token, the error */
	const struct expr_scope *scope;
	const char *locals[EXPR_MAX_LOCALS]; /* comprehension variables in scope */
	unsigned n_locals;
	unsigned depth;
};

#define perror_at(p, ...) expr_syntax_error(&(p)->lx, __VA_ARGS__)

static void *oom(struct parser *p)
{
	return perror_at(p, p->lx.tok.pos, "out of memory");
}

int expr_parse_error(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	expr_syntax_verror(&p->lx, pos, fmt, ap);
	va_end(ap);
	return -1;
}

/* "unexpected X" for the current token. */
static void *unexpected(struct parser *p, const char *expected)
{
	const struct token *t = &p->lx.tok;
	const char *sep = expected ? "; expected " : "";

	if (!expected)
		expected = "";
	if (t->type == T_EOF)
		return perror_at(p, t->pos, "unexpected end of expression%s%s", sep, expected);
	if (expr_tok_is(&p->lx, t, "and"))
		return perror_at(p, t->pos, "unexpected 'and'; use '&&'");
	if (expr_tok_is(&p->lx, t, "or"))
		return perror_at(p, t->pos, "unexpected 'or'; use '||'");
	if (t->len > 32) {
		int n = 32;

		/* cut at a character boundary */
		while (n > 0 && ((unsigned char)p->lx.src[t->pos + (size_t)n] & 0xc0) == 0x80)
			n--;
		return perror_at(p, t->pos, "unexpected '%.*s...'%s%s", n, p->lx.src + t->pos, sep,
				 expected);
	}
	return perror_at(p, t->pos, "unexpected '%.*s'%s%s", (int)t->len, p->lx.src + t->pos, sep,
			 expected);
}

static int expect(struct parser *p, enum tok type, const char *what)
{
	if (p->lx.tok.type != type) {
		unexpected(p, what);
		return -1;
	}
	return expr_lex(&p->lx);
}

/* ---------------------------------------------------------------- nodes */

static struct node *node_new(struct parser *p, enum node_kind kind, size_t pos)
{
	struct node *n = expr_arena_alloc(p->lx.e, sizeof(*n));

	if (!n)
		return oom(p);
	memset(n, 0, sizeof(*n));
	n->kind = (uint8_t)kind;
	n->pos = (uint16_t)pos;
	n->height = 1;
	return n;
}

/* Account for child c below n; fails when the tree gets too deep. */
static int grow(struct parser *p, struct node *n, const struct node *c)
{
	if (!c)
		return 0;
	if (c->height + 1 > n->height)
		n->height = (uint8_t)(c->height + 1 > 255 ? 255 : c->height + 1);
	if (n->height > EXPR_MAX_DEPTH) {
		perror_at(p, n->pos, "expression nested too deeply (the limit is %d levels)",
			  EXPR_MAX_DEPTH);
		return -1;
	}
	return 0;
}

static struct node *node2(struct parser *p, enum node_kind kind, size_t pos, struct node *a,
			  struct node *b)
{
	struct node *n = node_new(p, kind, pos);

	if (!n)
		return NULL;
	n->u.k.a = a;
	n->u.k.b = b;
	if (grow(p, n, a) < 0 || grow(p, n, b) < 0)
		return NULL;
	return n;
}

/* The type of a literal node, VALUE_ABSENT when not known before
 * evaluation (or when it is null). */
static enum value_type static_type(const struct node *n)
{
	switch (n->kind) {
	case N_INT:
		return VALUE_INT;
	case N_STR:
		return VALUE_STRING;
	case N_BOOL:
		return VALUE_BOOL;
	case N_CONST:
	case N_LIST:
		return VALUE_LIST;
	default:
		return VALUE_ABSENT;
	}
}

/* Type errors that show in literals already, e.g. 1 + "a". */
static int check_types(struct parser *p, const struct node *n)
{
	char msg[EXPR_ERROR_MSG];
	enum value_type a = static_type(n->u.k.a);
	enum value_type b = n->u.k.b ? static_type(n->u.k.b) : VALUE_ABSENT;

	if (expr_op_check(n->kind, a, b, msg, sizeof(msg)) < 0) {
		perror_at(p, n->pos, "%s", msg);
		return -1;
	}
	return 0;
}

/* --------------------------------------------------------------- parser */

static struct node *parse_cond(struct parser *p);

static bool name_eq(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

/* Is the name bound (keyword, built-in, scope, comprehension)? */
static const char *name_bound(struct parser *p, const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (name_eq(s, len, keywords[i]))
			return "a keyword";
	for (unsigned i = 0; i < N_PUBLIC_SECTIONS; i++)
		if (name_eq(s, len, section_names[i]))
			return "a built-in name";
	for (size_t i = 0; p->scope && i < p->scope->n_names; i++)
		if (name_eq(s, len, p->scope->names[i]))
			return "bound by the rule";
	for (unsigned i = 0; i < p->n_locals; i++)
		if (name_eq(s, len, p->locals[i]))
			return "already bound by an enclosing comprehension";
	if (name_eq(s, len, "in") || name_eq(s, len, "where"))
		return "reserved for comprehensions";
	return NULL;
}

static struct node *parse_name(struct parser *p)
{
	const char *s = p->lx.src + p->lx.tok.pos;
	size_t len = p->lx.tok.len, pos = p->lx.tok.pos;
	const char *cands[N_PUBLIC_SECTIONS + EXPR_MAX_NAMES + EXPR_MAX_LOCALS];
	char word[EXPR_MAX_NAME + 1];
	const char *best;
	size_t nc = 0;
	struct node *n;

	if (name_eq(s, len, "true") || name_eq(s, len, "false")) {
		n = node_new(p, N_BOOL, pos);
		if (n)
			n->u.b = s[0] == 't';
		return n && expr_lex(&p->lx) == 0 ? n : NULL;
	}
	if (name_eq(s, len, "null")) {
		n = node_new(p, N_NULL, pos);
		return n && expr_lex(&p->lx) == 0 ? n : NULL;
	}
	for (unsigned i = p->n_locals; i-- > 0;) {
		if (name_eq(s, len, p->locals[i])) {
			n = node_new(p, N_LOCAL, pos);
			if (n)
				n->u.idx = i;
			return n && expr_lex(&p->lx) == 0 ? n : NULL;
		}
	}
	for (size_t i = 0; p->scope && i < p->scope->n_names; i++) {
		if (name_eq(s, len, p->scope->names[i])) {
			n = node_new(p, N_ITEM, pos);
			if (n)
				n->u.idx = (unsigned)i;
			return n && expr_lex(&p->lx) == 0 ? n : NULL;
		}
	}
	for (unsigned i = 0; i < N_PUBLIC_SECTIONS; i++) {
		if (name_eq(s, len, section_names[i])) {
			n = node_new(p, N_SECTION, pos);
			if (n)
				n->u.idx = i;
			return n && expr_lex(&p->lx) == 0 ? n : NULL;
		}
	}
	if (expr_builtin_find(s, len) >= 0)
		return perror_at(p, pos, "'%.*s' is a function; call it as %.*s(...)", (int)len, s,
				 (int)len, s);
	if (name_eq(s, len, "not"))
		return perror_at(p, pos, "unknown name 'not'; use '!'");
	if (name_eq(s, len, "and") || name_eq(s, len, "or"))
		return unexpected(p, NULL);
	for (unsigned i = 0; i < p->n_locals; i++)
		cands[nc++] = p->locals[i];
	for (size_t i = 0; p->scope && i < p->scope->n_names; i++)
		cands[nc++] = p->scope->names[i];
	for (unsigned i = 0; i < N_PUBLIC_SECTIONS; i++)
		cands[nc++] = section_names[i];
	memcpy(word, s, len);
	word[len] = '\0';
	best = suggest_closest(word, cands, nc);
	if (best)
		return perror_at(p, pos, "unknown name '%s'; did you mean '%s'?", word, best);
	return perror_at(p, pos, "unknown name '%s'", word);
}


int expr_parse_add_key(struct parser *p, const char *key)
{
	struct expr *e = p->lx.e;
	const char **keys;
	char *copy = NULL;

	for (size_t i = 0; i < e->n_keys; i++)
		if (key ? e->keys[i] && strcmp(e->keys[i], key) == 0 : !e->keys[i])
			return 0;
	if (key) {
		copy = expr_arena_alloc(e, strlen(key) + 1);
		if (!copy)
			return oom(p), -1;
		strcpy(copy, key);
	}
	if ((e->n_keys & (e->n_keys - 1)) == 0) {
		/* full at powers of two: a new array twice as large (the old
		 * one stays in the arena, a few pointers) */
		keys = expr_arena_alloc(e, (e->n_keys ? e->n_keys * 2 : 1) * sizeof(*keys));
		if (!keys)
			return oom(p), -1;
		if (e->n_keys)
			memcpy(keys, e->keys, e->n_keys * sizeof(*keys));
		e->keys = keys;
	}
	e->keys[e->n_keys++] = copy;
	return 0;
}

/* Store a validated canonical key (or pattern) in the call and list it
 * among the keys the expression reads. */
int expr_parse_keep_key(struct parser *p, struct node *call, const char *key)
{
	call->u.call.key = expr_arena_alloc(p->lx.e, strlen(key) + 1);
	if (!call->u.call.key)
		return oom(p), -1;
	strcpy((char *)call->u.call.key, key);
	return expr_parse_add_key(p, key);
}

/* Checks of a call that can be made before evaluation: the types of its
 * literal arguments, then the builtin's own. */
static int check_call(struct parser *p, struct node *call)
{
	const struct expr_builtin *b = &expr_builtins[call->func];

	for (unsigned i = 0; i < call->u.call.n; i++) {
		const struct node *a = call->u.call.args[i];
		const struct expr_arg *spec = expr_builtin_arg(b, i);
		enum value_type t = static_type(a);

		if (t != VALUE_ABSENT && spec->accept && !(spec->accept & 1u << t))
			return expr_parse_error(p, a->pos, "%s() needs %s, not %s", b->name,
						call->u.call.n == 1 ? spec->one : spec->many,
						value_type_name(t));
	}
	return b->check ? b->check(p, call) : 0;
}

/* NAME 'in' list ['where' cond] ':' body, after "f(" */
static struct node *parse_comprehension(struct parser *p, struct node *call)
{
	const char *var = p->lx.src + p->lx.tok.pos;
	size_t var_len = p->lx.tok.len, var_pos = p->lx.tok.pos;
	struct node **args;
	const char *bound;
	char *name;
	unsigned slot = p->n_locals;

	if (!(expr_builtins[call->func].comp))
		return perror_at(p, var_pos, "%s() does not take a comprehension",
				 expr_builtins[call->func].name);
	bound = name_bound(p, var, var_len);
	if (bound)
		return perror_at(p, var_pos, "'%.*s' is %s; choose another name", (int)var_len, var,
				 bound);
	if (expr_builtin_find(var, var_len) >= 0)
		return perror_at(p, var_pos, "'%.*s' is a function; choose another name",
				 (int)var_len, var);
	if (slot >= EXPR_MAX_LOCALS)
		return perror_at(p, var_pos, "comprehensions nested too deeply (the limit is %d)",
				 EXPR_MAX_LOCALS);
	args = expr_arena_alloc(p->lx.e, 3 * sizeof(*args));
	if (!args)
		return oom(p);
	call->u.call.args = args;
	call->u.call.n = 3;
	call->comp = 1;
	call->local = (uint8_t)slot;
	if (expr_lex(&p->lx) < 0 || expr_lex(&p->lx) < 0)   /* NAME 'in' */
		return NULL;
	args[0] = parse_cond(p);
	if (!args[0] || grow(p, call, args[0]) < 0)
		return NULL;
	name = expr_arena_alloc(p->lx.e, var_len + 1);
	if (!name)
		return oom(p);
	memcpy(name, var, var_len);
	name[var_len] = '\0';
	p->locals[slot] = name;
	p->n_locals++;
	args[2] = NULL;
	if (expr_tok_is(&p->lx, &p->lx.tok, "where")) {
		if (expr_lex(&p->lx) < 0)
			return NULL;
		args[2] = parse_cond(p);
		if (!args[2] || grow(p, call, args[2]) < 0)
			return NULL;
	}
	if (expect(p, T_COLON, "':' before the body of the comprehension") < 0)
		return NULL;
	args[1] = parse_cond(p);
	if (!args[1] || grow(p, call, args[1]) < 0)
		return NULL;
	p->n_locals--;
	if (expect(p, T_RP, "')'") < 0)
		return NULL;
	return call;
}

static struct node *parse_call(struct parser *p)
{
	const char *name = p->lx.src + p->lx.tok.pos;
	size_t len = p->lx.tok.len, pos = p->lx.tok.pos, extra_pos = 0;
	struct node *args[EXPR_MAX_LIST], *call;
	const struct expr_builtin *f;
	unsigned n = 0;
	int fi = expr_builtin_find(name, len);
	struct token next;

	if (fi < 0) {
		const char *names[F_COUNT_FUNCS], *best;
		char word[EXPR_MAX_NAME + 1];

		if (name_bound(p, name, len) && !name_eq(name, len, "true") &&
		    !name_eq(name, len, "false") && !name_eq(name, len, "null"))
			return perror_at(p, pos, "'%.*s' is not a function", (int)len, name);
		for (int i = 0; i < F_COUNT_FUNCS; i++)
			names[i] = expr_builtins[i].name;
		memcpy(word, name, len);
		word[len] = '\0';
		best = suggest_closest(word, names, F_COUNT_FUNCS);
		if (best)
			return perror_at(p, pos, "unknown function '%s'; did you mean '%s'?", word,
					 best);
		return perror_at(p, pos, "unknown function '%s'", word);
	}
	f = &expr_builtins[fi];
	call = node_new(p, N_CALL, pos);
	if (!call)
		return NULL;
	call->func = (uint8_t)fi;
	if (expr_lex(&p->lx) < 0 || expr_lex(&p->lx) < 0)   /* NAME '(' */
		return NULL;
	if (p->lx.tok.type == T_NAME) {
		if (expr_lex_peek(&p->lx, &next) < 0)
			return NULL;
		if (expr_tok_is(&p->lx, &next, "in"))
			return parse_comprehension(p, call);
	}
	if (p->lx.tok.type != T_RP) {
		for (;;) {
			if (n == EXPR_MAX_LIST)
				return perror_at(p, p->lx.tok.pos, "too many arguments (the limit is %d)",
						 EXPR_MAX_LIST);
			if (n == f->max && !extra_pos)
				extra_pos = p->lx.tok.pos;
			args[n] = parse_cond(p);
			if (!args[n] || grow(p, call, args[n]) < 0)
				return NULL;
			n++;
			if (p->lx.tok.type != T_COMMA)
				break;
			if (expr_lex(&p->lx) < 0)
				return NULL;
		}
	}
	if (p->lx.tok.type != T_RP)
		return unexpected(p, n ? "',' or ')'" : "')'");
	if (n < f->min || n > f->max) {
		const char *plural = f->min == 1 ? "" : "s";

		if (f->min == f->max)
			return perror_at(p, n > f->max ? extra_pos : pos,
					 "%s() takes exactly %u argument%s", f->name, f->min, plural);
		return perror_at(p, pos, "%s() takes at least %u argument%s", f->name, f->min,
				 plural);
	}
	if (expr_lex(&p->lx) < 0)
		return NULL;
	call->u.call.n = n;
	call->u.call.args = expr_arena_alloc(p->lx.e, (n ? n : 1) * sizeof(*args));
	if (!call->u.call.args)
		return oom(p);
	memcpy(call->u.call.args, args, n * sizeof(*args));
	if (check_call(p, call) < 0)
		return NULL;
	return call;
}

static json_t *constant_json(const struct node *n)
{
	switch (n->kind) {
	case N_INT:
		return json_integer(n->u.i);
	case N_STR:
		return json_stringn(n->u.s.ptr, n->u.s.len);
	case N_BOOL:
		return json_boolean(n->u.b);
	case N_NULL:
		return json_null();
	case N_CONST:
		return json_incref(n->u.json);
	}
	return NULL;
}

static struct node *parse_list(struct parser *p)
{
	struct node *elts[EXPR_MAX_LIST], *n;
	size_t pos = p->lx.tok.pos;
	unsigned count = 0;
	bool constant = true;

	n = node_new(p, N_LIST, pos);
	if (!n || expr_lex(&p->lx) < 0)
		return NULL;
	if (p->lx.tok.type != T_RB) {
		for (;;) {
			if (count == EXPR_MAX_LIST)
				return perror_at(p, p->lx.tok.pos,
						 "list literal too long (the limit is %d elements)",
						 EXPR_MAX_LIST);
			elts[count] = parse_cond(p);
			if (!elts[count] || grow(p, n, elts[count]) < 0)
				return NULL;
			constant &= expr_is_constant(elts[count]);
			count++;
			if (p->lx.tok.type != T_COMMA)
				break;
			if (expr_lex(&p->lx) < 0)
				return NULL;
		}
	}
	if (expect(p, T_RB, count ? "',' or ']'" : "']'") < 0)
		return NULL;
	if (constant) {
		json_t *list = json_array();

		if (!p->lx.e->consts) {
			p->lx.e->consts = json_array();
			if (!p->lx.e->consts) {
				json_decref(list);
				return oom(p);
			}
		}
		if (!list || json_array_append_new(p->lx.e->consts, list) < 0)
			return oom(p);
		for (unsigned i = 0; i < count; i++)
			if (json_array_append_new(list, constant_json(elts[i])) < 0)
				return oom(p);
		n->kind = N_CONST;
		n->u.json = list;
		return n;
	}
	n->u.list.n = count;
	n->u.list.elts = expr_arena_alloc(p->lx.e, (count ? count : 1) * sizeof(*elts));
	if (!n->u.list.elts)
		return oom(p);
	memcpy(n->u.list.elts, elts, count * sizeof(*elts));
	return n;
}

static struct node *parse_primary(struct parser *p)
{
	struct token next;
	struct node *n;

	switch (p->lx.tok.type) {
	case T_INT:
		if (p->lx.tok.mag > INT64_MAX)
			return perror_at(p, p->lx.tok.pos,
					 "integer literal out of range (the range is "
					 "-9223372036854775808 to 9223372036854775807)");
		n = node_new(p, N_INT, p->lx.tok.pos);
		if (n)
			n->u.i = (int64_t)p->lx.tok.mag;
		return expr_lex(&p->lx) < 0 ? NULL : n;
	case T_STR:
		n = node_new(p, N_STR, p->lx.tok.pos);
		if (n) {
			n->u.s.ptr = p->lx.tok.str;
			n->u.s.len = p->lx.tok.slen;
		}
		return expr_lex(&p->lx) < 0 ? NULL : n;
	case T_LB:
		return parse_list(p);
	case T_LP:
		if (expr_lex(&p->lx) < 0)
			return NULL;
		n = parse_cond(p);
		if (!n || expect(p, T_RP, "')'") < 0)
			return NULL;
		return n;
	case T_NAME:
		if (expr_lex_peek(&p->lx, &next) < 0)
			return NULL;
		if (next.type == T_LP)
			return parse_call(p);
		return parse_name(p);
	default:
		return unexpected(p, NULL);
	}
}

static struct node *parse_postfix(struct parser *p)
{
	struct node *n = parse_primary(p), *m;

	while (n) {
		size_t pos = p->lx.tok.pos;

		if (p->lx.tok.type == T_DOT) {
			char *name;

			if (expr_lex(&p->lx) < 0)
				return NULL;
			if (p->lx.tok.type != T_NAME)
				return unexpected(p, "a field name after '.'");
			m = node_new(p, N_FIELD, p->lx.tok.pos);
			name = expr_arena_alloc(p->lx.e, p->lx.tok.len + 1);
			if (!m || !name)
				return oom(p);
			memcpy(name, p->lx.src + p->lx.tok.pos, p->lx.tok.len);
			name[p->lx.tok.len] = '\0';
			m->u.field.obj = n;
			m->u.field.name = name;
			m->u.field.len = (uint32_t)p->lx.tok.len;
			m->u.field.hash = expr_name_hash(name, p->lx.tok.len);
			if (grow(p, m, n) < 0 || expr_lex(&p->lx) < 0)
				return NULL;
			n = m;
		} else if (p->lx.tok.type == T_LB) {
			struct node *idx;

			if (expr_lex(&p->lx) < 0)
				return NULL;
			idx = parse_cond(p);
			if (!idx || expect(p, T_RB, "']'") < 0)
				return NULL;
			n = node2(p, N_INDEX, pos, n, idx);
		} else if (p->lx.tok.type == T_LP) {
			return perror_at(p, pos, "unexpected '(': only functions can be called");
		} else {
			break;
		}
	}
	return n;
}

static struct node *parse_unary(struct parser *p)
{
	size_t pos = p->lx.tok.pos;
	struct node *a, *n;
	enum tok op = p->lx.tok.type;

	if (op != T_NOT && op != T_MINUS)
		return parse_postfix(p);
	if (++p->depth > EXPR_MAX_DEPTH)
		return perror_at(p, pos, "expression nested too deeply (the limit is %d levels)",
				 EXPR_MAX_DEPTH);
	if (expr_lex(&p->lx) < 0)
		return NULL;
	if (op == T_MINUS && p->lx.tok.type == T_INT) {
		/* a negative literal: -9223372036854775808 is in range */
		struct token next;

		if (expr_lex_peek(&p->lx, &next) < 0)
			return NULL;
		if (next.type != T_DOT && next.type != T_LB) {
			n = node_new(p, N_INT, pos);
			if (!n)
				return NULL;
			n->u.i = p->lx.tok.mag > INT64_MAX ? INT64_MIN : -(int64_t)p->lx.tok.mag;
			p->depth--;
			return expr_lex(&p->lx) < 0 ? NULL : n;
		}
	}
	a = parse_unary(p);
	if (!a)
		return NULL;
	p->depth--;
	n = node2(p, op == T_NOT ? N_NOT : N_NEG, pos, a, NULL);
	if (n && check_types(p, n) < 0)
		return NULL;
	return n;
}

static struct node *parse_binary(struct parser *p, int level);

/* Binary operators by precedence level, lowest first. */
static const struct binop {
	enum tok tok;
	enum node_kind kind;
	int level;
} binops[] = {
	{ T_OR, N_OR, 0 },
	{ T_AND, N_AND, 1 },
	{ T_EQ, N_EQ, 2 }, { T_NE, N_NE, 2 },
	{ T_LT, N_LT, 3 }, { T_LE, N_LE, 3 }, { T_GT, N_GT, 3 }, { T_GE, N_GE, 3 },
	{ T_PLUS, N_ADD, 4 }, { T_MINUS, N_SUB, 4 },
	{ T_STAR, N_MUL, 5 }, { T_SLASH, N_DIV, 5 }, { T_PCT, N_MOD, 5 },
};
#define BINARY_LEVELS 6

static const struct binop *binop_find(enum tok t, int level)
{
	if (t < T_PLUS || t > T_OR)     /* not a binary operator: most calls */
		return NULL;
	for (size_t i = 0; i < sizeof(binops) / sizeof(binops[0]); i++)
		if (binops[i].tok == t && binops[i].level == level)
			return &binops[i];
	return NULL;
}

static struct node *parse_binary(struct parser *p, int level)
{
	struct node *a;
	const struct binop *op;

	if (level == BINARY_LEVELS)
		return parse_unary(p);
	a = parse_binary(p, level + 1);
	while (a && (op = binop_find(p->lx.tok.type, level))) {
		size_t pos = p->lx.tok.pos;
		struct node *b;

		if (expr_lex(&p->lx) < 0)
			return NULL;
		b = parse_binary(p, level + 1);
		if (!b)
			return NULL;
		if (level == 2 || level == 3) {
			if (a->kind == N_NULL || b->kind == N_NULL)
				return perror_at(p, (a->kind == N_NULL ? a : b)->pos,
						 "a comparison with null is never true or false; "
						 "use exists()");
			if (binop_find(p->lx.tok.type, level))
				return perror_at(p, p->lx.tok.pos,
						 "comparisons cannot be chained; combine them with '&&'");
		}
		a = node2(p, op->kind, pos, a, b);
		if (a && check_types(p, a) < 0)
			return NULL;
	}
	return a;
}

/* cond := or ['?' cond ':' cond] -- every full expression starts here */
static struct node *parse_cond(struct parser *p)
{
	struct node *c, *n;
	size_t pos;

	if (++p->depth > EXPR_MAX_DEPTH)
		return perror_at(p, p->lx.tok.pos,
				 "expression nested too deeply (the limit is %d levels)",
				 EXPR_MAX_DEPTH);
	c = parse_binary(p, 0);
	if (!c)
		return NULL;
	if (p->lx.tok.type == T_QUEST) {
		pos = p->lx.tok.pos;
		n = node_new(p, N_COND, pos);
		if (!n || expr_lex(&p->lx) < 0)
			return NULL;
		n->u.k.a = c;
		n->u.k.b = parse_cond(p);
		if (!n->u.k.b || expect(p, T_COLON, "':' of '? :'") < 0)
			return NULL;
		n->u.k.c = parse_cond(p);
		if (!n->u.k.c)
			return NULL;
		if (grow(p, n, n->u.k.a) < 0 || grow(p, n, n->u.k.b) < 0 ||
		    grow(p, n, n->u.k.c) < 0)
			return NULL;
		if (static_type(c) != VALUE_ABSENT && static_type(c) != VALUE_BOOL)
			return perror_at(p, pos, "the condition of '?' must be a boolean, not %s",
					 value_type_name(static_type(c)));
		c = n;
	}
	p->depth--;
	return c;
}

/* ------------------------------------------------------------------ API */


struct expr *expr_parse(const char *src, size_t len, const struct expr_scope *scope,
			struct expr_error *err)
{
	struct parser p = { .lx = { .src = src, .len = len, .err = err }, .scope = scope };
	struct expr *e = NULL;

	if (err)
		memset(err, 0, sizeof(*err));
	if (len > EXPR_MAX_LEN) {
		expr_error_set(err, src, EXPR_MAX_LEN, "expression too long (%zu bytes; the limit "
			       "is %d)", len, EXPR_MAX_LEN);
		return NULL;
	}
	for (size_t i = 0; i < len;) {
		size_t n = expr_utf8_len((const unsigned char *)src + i, len - i);

		if (src[i] == '\0') {
			expr_error_set(err, src, i, "unexpected NUL character");
			return NULL;
		}
		if (n == 0) {
			expr_error_set(err, src, i, "invalid UTF-8");
			return NULL;
		}
		i += n;
	}
	if (scope && scope->n_names > EXPR_MAX_NAMES) {
		expr_error_set(err, src, 0, "too many names in scope (the limit is %d)",
			       EXPR_MAX_NAMES);
		return NULL;
	}
	for (size_t i = 0; scope && i < scope->n_names; i++) {
		const char *why;

		if (!expr_name_valid(scope->names[i], &why)) {
			expr_error_set(err, src, 0, "cannot bind '%.64s': %s", scope->names[i], why);
			return NULL;
		}
	}
	e = expr_alloc(len);
	if (!e)
		goto nomem;
	p.lx.e = e;
	e->src = expr_arena_alloc(e, len + 1);
	if (!e->src)
		goto nomem;
	memcpy(e->src, src, len);
	e->src[len] = '\0';
	e->len = len;
	e->n_items = scope ? (unsigned)scope->n_names : 0;
	p.lx.src = e->src;
	if (expr_lex(&p.lx) < 0)
		goto fail;
	if (p.lx.tok.type == T_EOF) {
		perror_at(&p, 0, "empty expression");
		goto fail;
	}
	e->root = parse_cond(&p);
	if (!e->root)
		goto fail;
	if (p.lx.tok.type != T_EOF) {
		if (p.lx.tok.type == T_COLON)
			perror_at(&p, p.lx.tok.pos, "unexpected ':' outside of '? :' and comprehensions");
		else
			unexpected(&p, NULL);
		goto fail;
	}
	expr_mark_invariants(e);
	return e;
nomem:
	expr_error_set(err, src, 0, "out of memory");
fail:
	expr_free(e);
	return NULL;
}


bool expr_name_valid(const char *name, const char **why)
{
	size_t len = strlen(name);
	const char *w = NULL;

	if (len == 0)
		w = "empty name";
	else if (len > EXPR_MAX_NAME)
		w = "name too long";
	else if (!expr_is_name_start(name[0]))
		w = "a name starts with a letter or '_'";
	for (size_t i = 1; !w && i < len; i++)
		if (!expr_is_name_char(name[i]))
			w = "a name holds only letters, digits and '_'";
	for (size_t i = 0; !w && i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(name, keywords[i]) == 0)
			w = "a keyword";
	for (unsigned i = 0; !w && i < N_PUBLIC_SECTIONS; i++)
		if (strcmp(name, section_names[i]) == 0)
			w = "a built-in name";
	if (!w && (strcmp(name, "in") == 0 || strcmp(name, "where") == 0))
		w = "reserved for comprehensions";
	if (w && why)
		*why = w;
	return !w;
}

