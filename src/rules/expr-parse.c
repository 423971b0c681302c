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

static void *arena_alloc(struct expr *e, size_t n)
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

/* --------------------------------------------------------------- errors */

void expr_error_set(struct expr_error *err, const char *src, size_t pos, const char *fmt, ...)
{
	va_list ap;
	unsigned line = 1, col = 1;

	if (!err)
		return;
	for (size_t i = 0; src && i < pos && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xc0) != 0x80) {
			col++;
		}
	}
	err->line = line;
	err->col = col;
	err->offset = pos;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ functions */

#define VARIADIC EXPR_MAX_LIST

enum { FN_COMP = 1 };   /* accepts a comprehension */

static const struct func_def {
	const char *name;
	unsigned min, max;
	unsigned flags;
} funcs[F_COUNT_FUNCS] = {
	[F_SYSCTL] = { "sysctl", 1, 1, 0 },
	[F_COUNTER] = { "counter", 2, 2, 0 },
	[F_MIN] = { "min", 1, VARIADIC, FN_COMP },
	[F_MAX] = { "max", 1, VARIADIC, FN_COMP },
	[F_SUM] = { "sum", 1, VARIADIC, FN_COMP },
	[F_COUNT] = { "count", 1, VARIADIC, FN_COMP },
	[F_ANY] = { "any", 1, VARIADIC, FN_COMP },
	[F_ALL] = { "all", 1, VARIADIC, FN_COMP },
	[F_LEN] = { "len", 1, 1, 0 },
	[F_POW2CEIL] = { "pow2ceil", 1, 1, 0 },
	[F_EXISTS] = { "exists", 1, 1, 0 },
	[F_DEFAULT] = { "default", 2, 2, 0 },
	[F_KERNEL_AT_LEAST] = { "kernel_at_least", 1, 1, 0 },
	[F_VERSION_CMP] = { "version_cmp", 2, 2, 0 },
	[F_CLAMP] = { "clamp", 3, 3, 0 },
	[F_PERCENT] = { "percent", 2, 2, 0 },
	[F_ABS] = { "abs", 1, 1, 0 },
	[F_SYSCTL_MATCH] = { "sysctl_match", 1, 1, 0 },
	[F_ENTRIES] = { "entries", 1, 1, 0 },
	[F_DELTA] = { "delta", 2, 2, 0 },
	[F_RATE] = { "rate", 2, 3, 0 },
	[F_ENDPOINT] = { "endpoint", 1, 1, 0 },
	[F_LOOKUP] = { "lookup", 2, 2, 0 },
	[F_TEXT] = { "text", 1, 1, 0 },
};

static int func_find(const char *name, size_t len)
{
	for (int i = 0; i < F_COUNT_FUNCS; i++)
		if (strlen(funcs[i].name) == len && memcmp(funcs[i].name, name, len) == 0)
			return i;
	return -1;
}

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

/* ---------------------------------------------------------------- lexer */

enum tok {
	T_EOF, T_INT, T_STR, T_NAME,
	T_LP, T_RP, T_LB, T_RB, T_COMMA, T_DOT, T_COLON, T_QUEST,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PCT,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
	T_AND, T_OR, T_NOT,
};

struct token {
	enum tok type;
	size_t pos, len;        /* in the source */
	uint64_t mag;           /* T_INT: magnitude, at most 2^63 */
	char *str;              /* T_STR: decoded text (arena) */
	size_t slen;
};

struct parser {
	const char *src;
	size_t len;
	size_t pos;             /* lexer position */
	struct token tok;       /* current token */
	struct expr *e;
	const struct expr_scope *scope;
	const char *locals[EXPR_MAX_LOCALS]; /* comprehension variables in scope */
	unsigned n_locals;
	unsigned depth;
	struct expr_error *err;
	bool failed;
};

static void *perror_at(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void *perror_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	char msg[EXPR_ERROR_MSG];
	va_list ap;

	if (p->failed)
		return NULL;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	expr_error_set(p->err, p->src, pos, "%s", msg);
	return NULL;
}

static void *oom(struct parser *p)
{
	return perror_at(p, p->tok.pos, "out of memory");
}

static bool is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_char(int c)
{
	return is_name_start(c) || is_digit(c);
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t want;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		want = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		want = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		want = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < want)
		return 0;
	for (size_t i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((want == 3 && cp < 0x800) || (want == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return want;
}

static int lex_number(struct parser *p, struct token *t)
{
	const char *s = p->src;
	size_t i = p->pos;
	uint64_t v = 0;
	bool last_us = false;

	if (s[i] == '0' && i + 1 < p->len && (is_digit(s[i + 1]) || s[i + 1] == '_'))
		return perror_at(p, i, "leading zeros are not allowed in integer literals"), -1;
	for (; i < p->len && (is_digit(s[i]) || s[i] == '_'); i++) {
		if (s[i] == '_') {
			if (last_us)
				return perror_at(p, i, "'_' must stand between two digits"), -1;
			last_us = true;
			continue;
		}
		last_us = false;
		if (v > ((uint64_t)INT64_MAX + 1 - (uint64_t)(s[i] - '0')) / 10)
			return perror_at(p, p->pos,
					 "integer literal out of range (the range is "
					 "-9223372036854775808 to 9223372036854775807)"), -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (last_us)
		return perror_at(p, i - 1, "'_' must stand between two digits"), -1;
	if (i < p->len && is_name_char(s[i]))
		return perror_at(p, i, "unexpected '%c' after an integer literal", s[i]), -1;
	if (i + 1 < p->len && s[i] == '.' && is_digit(s[i + 1]))
		return perror_at(p, p->pos, "only integers are supported"), -1;
	t->type = T_INT;
	t->mag = v;
	t->len = i - p->pos;
	p->pos = i;
	return 0;
}

static int lex_string(struct parser *p, struct token *t)
{
	const char *s = p->src;
	size_t start = p->pos, i = p->pos + 1, n = 0;
	char buf[EXPR_MAX_STRING];

	for (;;) {
		unsigned char c;
		char out;

		if (i >= p->len)
			return perror_at(p, start, "unterminated string literal"), -1;
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (i + 1 >= p->len)
				return perror_at(p, start, "unterminated string literal"), -1;
			switch (s[i + 1]) {
			case '"':
				out = '"';
				break;
			case '\\':
				out = '\\';
				break;
			case 'n':
				out = '\n';
				break;
			case 't':
				out = '\t';
				break;
			default:
				if ((unsigned char)s[i + 1] < 0x20 || (unsigned char)s[i + 1] >= 0x7f)
					return perror_at(p, i, "unknown escape in string literal "
							 "(known: \\\" \\\\ \\n \\t)"), -1;
				return perror_at(p, i, "unknown escape '\\%c' in string literal "
						 "(known: \\\" \\\\ \\n \\t)", s[i + 1]), -1;
			}
			i += 2;
		} else if (c < 0x20 || c == 0x7f) {
			return perror_at(p, i, "control character in string literal "
					 "(write \\n or \\t)"), -1;
		} else {
			out = (char)c;
			i++;
		}
		if (n == EXPR_MAX_STRING)
			return perror_at(p, start, "string literal too long (the limit is %d bytes)",
					 EXPR_MAX_STRING), -1;
		buf[n++] = out;
	}
	t->str = arena_alloc(p->e, n + 1);
	if (!t->str)
		return oom(p), -1;
	memcpy(t->str, buf, n);
	t->str[n] = '\0';
	t->type = T_STR;
	t->slen = n;
	t->len = i + 1 - start;
	p->pos = i + 1;
	return 0;
}

/* Read the next token into p->tok.  Returns 0 or -1 (error set). */
static int lex(struct parser *p)
{
	const char *s = p->src;
	struct token *t = &p->tok;
	size_t i;
	char c, d;

	while (p->pos < p->len && (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' ||
				   s[p->pos] == '\r'))
		p->pos++;
	i = p->pos;
	memset(t, 0, sizeof(*t));
	t->pos = i;
	if (i >= p->len) {
		t->type = T_EOF;
		return 0;
	}
	c = s[i];
	d = i + 1 < p->len ? s[i + 1] : '\0';
	if (is_digit(c))
		return lex_number(p, t);
	if (c == '"')
		return lex_string(p, t);
	if (is_name_start(c)) {
		while (i < p->len && is_name_char(s[i]))
			i++;
		if (i - p->pos > EXPR_MAX_NAME)
			return perror_at(p, p->pos, "name too long (the limit is %d bytes)",
					 EXPR_MAX_NAME), -1;
		t->type = T_NAME;
		t->len = i - p->pos;
		p->pos = i;
		return 0;
	}
	t->len = 1;
	switch (c) {
	case '(': t->type = T_LP; break;
	case ')': t->type = T_RP; break;
	case '[': t->type = T_LB; break;
	case ']': t->type = T_RB; break;
	case ',': t->type = T_COMMA; break;
	case '.': t->type = T_DOT; break;
	case ':': t->type = T_COLON; break;
	case '?': t->type = T_QUEST; break;
	case '+': t->type = T_PLUS; break;
	case '-': t->type = T_MINUS; break;
	case '*': t->type = T_STAR; break;
	case '/': t->type = T_SLASH; break;
	case '%': t->type = T_PCT; break;
	case '<':
		t->type = d == '=' ? T_LE : T_LT;
		break;
	case '>':
		t->type = d == '=' ? T_GE : T_GT;
		break;
	case '=':
		if (d != '=')
			return perror_at(p, i, "unexpected '='; did you mean '=='?"), -1;
		t->type = T_EQ;
		break;
	case '!':
		t->type = d == '=' ? T_NE : T_NOT;
		break;
	case '&':
		if (d != '&')
			return perror_at(p, i, "unexpected '&'; did you mean '&&'?"), -1;
		t->type = T_AND;
		break;
	case '|':
		if (d != '|')
			return perror_at(p, i, "unexpected '|'; did you mean '||'?"), -1;
		t->type = T_OR;
		break;
	case '\'':
		return perror_at(p, i, "unexpected \"'\": strings are written in double quotes"), -1;
	default:
		if ((unsigned char)c < 0x20 || c == 0x7f)
			return perror_at(p, i, "unexpected control character \\x%02x",
					 (unsigned char)c), -1;
		if ((unsigned char)c >= 0x80)
			return perror_at(p, i, "unexpected character '%.*s'",
					 (int)utf8_len((const unsigned char *)s + i, p->len - i),
					 s + i), -1;
		return perror_at(p, i, "unexpected character '%c'", c), -1;
	}
	if (t->type == T_LE || t->type == T_GE || t->type == T_EQ || t->type == T_NE ||
	    t->type == T_AND || t->type == T_OR)
		t->len = 2;
	p->pos = i + t->len;
	return 0;
}

/* The token after the current one, without consuming anything.  A token
 * that does not lex is reported as T_EOF here and diagnosed when it is
 * reached, so that errors come in the order of the text. */
static int peek(struct parser *p, struct token *out)
{
	size_t pos = p->pos;
	struct token cur = p->tok;
	struct expr_error saved;

	if (p->err)
		saved = *p->err;
	if (lex(p) < 0) {
		p->failed = false;
		if (p->err)
			*p->err = saved;
		p->tok.type = T_EOF;
	}
	*out = p->tok;
	p->tok = cur;
	p->pos = pos;
	return 0;
}

static bool tok_is_name(const struct parser *p, const struct token *t, const char *name)
{
	return t->type == T_NAME && t->len == strlen(name) &&
	       memcmp(p->src + t->pos, name, t->len) == 0;
}

/* "unexpected X" for the current token. */
static void *unexpected(struct parser *p, const char *expected)
{
	const struct token *t = &p->tok;
	const char *sep = expected ? "; expected " : "";

	if (!expected)
		expected = "";
	if (t->type == T_EOF)
		return perror_at(p, t->pos, "unexpected end of expression%s%s", sep, expected);
	if (tok_is_name(p, t, "and"))
		return perror_at(p, t->pos, "unexpected 'and'; use '&&'");
	if (tok_is_name(p, t, "or"))
		return perror_at(p, t->pos, "unexpected 'or'; use '||'");
	if (t->len > 32) {
		int n = 32;

		/* cut at a character boundary */
		while (n > 0 && ((unsigned char)p->src[t->pos + (size_t)n] & 0xc0) == 0x80)
			n--;
		return perror_at(p, t->pos, "unexpected '%.*s...'%s%s", n, p->src + t->pos, sep,
				 expected);
	}
	return perror_at(p, t->pos, "unexpected '%.*s'%s%s", (int)t->len, p->src + t->pos, sep,
			 expected);
}

static int expect(struct parser *p, enum tok type, const char *what)
{
	if (p->tok.type != type) {
		unexpected(p, what);
		return -1;
	}
	return lex(p);
}

/* ---------------------------------------------------------------- nodes */

static struct node *node_new(struct parser *p, enum node_kind kind, size_t pos)
{
	struct node *n = arena_alloc(p->e, sizeof(*n));

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
	const char *s = p->src + p->tok.pos;
	size_t len = p->tok.len, pos = p->tok.pos;
	const char *cands[N_PUBLIC_SECTIONS + EXPR_MAX_NAMES + EXPR_MAX_LOCALS];
	char word[EXPR_MAX_NAME + 1];
	const char *best;
	size_t nc = 0;
	struct node *n;

	if (name_eq(s, len, "true") || name_eq(s, len, "false")) {
		n = node_new(p, N_BOOL, pos);
		if (n)
			n->u.b = s[0] == 't';
		return n && lex(p) == 0 ? n : NULL;
	}
	if (name_eq(s, len, "null")) {
		n = node_new(p, N_NULL, pos);
		return n && lex(p) == 0 ? n : NULL;
	}
	for (unsigned i = p->n_locals; i-- > 0;) {
		if (name_eq(s, len, p->locals[i])) {
			n = node_new(p, N_LOCAL, pos);
			if (n)
				n->u.idx = i;
			return n && lex(p) == 0 ? n : NULL;
		}
	}
	for (size_t i = 0; p->scope && i < p->scope->n_names; i++) {
		if (name_eq(s, len, p->scope->names[i])) {
			n = node_new(p, N_ITEM, pos);
			if (n)
				n->u.idx = (unsigned)i;
			return n && lex(p) == 0 ? n : NULL;
		}
	}
	for (unsigned i = 0; i < N_PUBLIC_SECTIONS; i++) {
		if (name_eq(s, len, section_names[i])) {
			n = node_new(p, N_SECTION, pos);
			if (n)
				n->u.idx = i;
			return n && lex(p) == 0 ? n : NULL;
		}
	}
	if (func_find(s, len) >= 0)
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


static int add_key(struct parser *p, const char *key)
{
	struct expr *e = p->e;
	const char **keys;
	char *copy = NULL;

	for (size_t i = 0; i < e->n_keys; i++)
		if (key ? e->keys[i] && strcmp(e->keys[i], key) == 0 : !e->keys[i])
			return 0;
	if (key) {
		copy = arena_alloc(e, strlen(key) + 1);
		if (!copy)
			return oom(p), -1;
		strcpy(copy, key);
	}
	if ((e->n_keys & (e->n_keys - 1)) == 0) {
		/* full at powers of two: a new array twice as large (the old
		 * one stays in the arena, a few pointers) */
		keys = arena_alloc(e, (e->n_keys ? e->n_keys * 2 : 1) * sizeof(*keys));
		if (!keys)
			return oom(p), -1;
		if (e->n_keys)
			memcpy(keys, e->keys, e->n_keys * sizeof(*keys));
		e->keys = keys;
	}
	e->keys[e->n_keys++] = copy;
	return 0;
}

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

/* Store a validated canonical key (or pattern) in the call and list it
 * among the keys the expression reads. */
static int keep_key(struct parser *p, struct node *call, const char *key)
{
	call->u.call.key = arena_alloc(p->e, strlen(key) + 1);
	if (!call->u.call.key)
		return oom(p), -1;
	strcpy((char *)call->u.call.key, key);
	return add_key(p, key);
}

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
				return add_key(p, key);
		}
		return add_key(p, NULL);
	}
	if (memchr(arg->u.s.ptr, '\0', arg->u.s.len) ||
	    sysctl_key_parse(arg->u.s.ptr, NULL, key, &why) < 0) {
		expr_quote(q, sizeof(q), arg->u.s.ptr, arg->u.s.len > 64 ? 64 : arg->u.s.len);
		perror_at(p, arg->pos, "invalid sysctl key %s: %s", q, why);
		return -1;
	}
	if (strpbrk(key, "*?[")) {
		expr_quote(q, sizeof(q), arg->u.s.ptr, arg->u.s.len > 64 ? 64 : arg->u.s.len);
		perror_at(p, arg->pos, "invalid sysctl key %s: patterns ('*', '?', '[') "
			  "cannot be read with sysctl()", q);
		return -1;
	}
	return keep_key(p, call, key);
}

/* sysctl_match("net.ipv4.conf.*.rp_filter"): a literal pattern, so that
 * the keys can be read before evaluation. */
static int check_sysctl_match(struct parser *p, struct node *call)
{
	struct node *arg = call->u.call.args[0];
	char key[SYSCTL_KEY_MAX + 1], q[EXPR_ERROR_MSG / 2] = "";
	const char *why;

	if (arg->kind != N_STR)
		return perror_at(p, arg->pos, "sysctl_match() needs a pattern written as a string literal"), -1;
	if (memchr(arg->u.s.ptr, '\0', arg->u.s.len) ||
	    sysctl_key_parse(arg->u.s.ptr, NULL, key, &why) < 0) {
		expr_quote(q, sizeof(q), arg->u.s.ptr, arg->u.s.len > 64 ? 64 : arg->u.s.len);
		perror_at(p, arg->pos, "invalid sysctl key pattern %s: %s", q,
			  memchr(arg->u.s.ptr, '\0', arg->u.s.len) ? "NUL characters are not allowed" : why);
		return -1;
	}
	return keep_key(p, call, key);
}

/* lookup("table", name): the table is named by a literal, so that the
 * rule loader can check that it exists (expr_lookup_tables()). */
static int check_lookup(struct parser *p, struct node *call)
{
	const struct node *arg = call->u.call.args[0];
	char q[EXPR_ERROR_MSG / 2] = "";

	if (arg->kind != N_STR)
		return perror_at(p, arg->pos, "lookup() needs the table's name written as a "
				 "string literal"), -1;
	if (!expr_name_syntax(arg->u.s.ptr, arg->u.s.len)) {
		expr_quote(q, sizeof(q), arg->u.s.ptr, arg->u.s.len > 64 ? 64 : arg->u.s.len);
		return perror_at(p, arg->pos, "invalid table name %s: letters, digits and '_', "
				 "not starting with a digit", q), -1;
	}
	return 0;
}

/* Checks of a call's arguments that can be made before evaluation. */
static int check_call(struct parser *p, struct node *call)
{
	struct node **args = call->u.call.args;
	const char *name = funcs[call->func].name;
	char q[EXPR_ERROR_MSG / 2] = "";

	for (unsigned i = 0; i < call->u.call.n; i++) {
		const struct node *a = args[i];
		enum value_type t = static_type(a);

		if (t == VALUE_ABSENT)
			continue;
		switch (call->func) {
		case F_RATE:
			if (i == 2) {
				if (t != VALUE_INT)
					return perror_at(p, a->pos, "rate() needs an integer (seconds) as "
							 "its third argument, not %s", value_type_name(t)), -1;
				if (a->kind == N_INT && a->u.i < 1)
					return perror_at(p, a->pos, "rate(): the period must be at least "
							 "1 second"), -1;
				break;
			}
			/* fall through */
		case F_SYSCTL:
		case F_SYSCTL_MATCH:
		case F_COUNTER:
		case F_DELTA:
		case F_KERNEL_AT_LEAST:
		case F_VERSION_CMP:
			if (t != VALUE_STRING)
				return perror_at(p, a->pos, "%s() needs %s, not %s", name,
						 call->u.call.n == 1 ? "a string" : "strings",
						 value_type_name(t)), -1;
			break;
		case F_POW2CEIL:
		case F_CLAMP:
		case F_PERCENT:
		case F_ABS:
			if (t != VALUE_INT)
				return perror_at(p, a->pos, "%s() needs %s, not %s", name,
						 call->u.call.n == 1 ? "an integer" : "integers",
						 value_type_name(t)), -1;
			break;
		case F_MIN:
		case F_MAX:
		case F_SUM:
			if (t != VALUE_INT && t != VALUE_LIST)
				return perror_at(p, a->pos, "%s() needs integers, not %s", name,
						 value_type_name(t)), -1;
			break;
		case F_COUNT:
		case F_ANY:
		case F_ALL:
			if (t != VALUE_BOOL && t != VALUE_LIST)
				return perror_at(p, a->pos, "%s() needs booleans, not %s", name,
						 value_type_name(t)), -1;
			break;
		case F_LEN:
			if (t != VALUE_LIST && t != VALUE_STRING)
				return perror_at(p, a->pos, "len() needs a list, a string or an "
						 "object, not %s", value_type_name(t)), -1;
			break;
		case F_ENDPOINT:
			return perror_at(p, a->pos, "endpoint() needs a listener (an object), not %s",
					 value_type_name(t)), -1;
		case F_LOOKUP:
			if (t != VALUE_STRING)
				return perror_at(p, a->pos, "lookup() needs strings, not %s",
						 value_type_name(t)), -1;
			break;
		default:
			break;
		}
	}
	switch (call->func) {
	case F_LOOKUP:
		return check_lookup(p, call);
	case F_SYSCTL:
		return check_sysctl(p, call);
	case F_SYSCTL_MATCH:
		return check_sysctl_match(p, call);
	case F_KERNEL_AT_LEAST:
	case F_VERSION_CMP:
		for (unsigned i = 0; i < call->u.call.n; i++) {
			const struct node *a = args[i];

			bool strict = call->func == F_KERNEL_AT_LEAST;

			if (a->kind == N_STR && !expr_is_version(a->u.s.ptr, a->u.s.len, strict)) {
				expr_quote(q, sizeof(q), a->u.s.ptr, a->u.s.len > 64 ? 64 : a->u.s.len);
				perror_at(p, a->pos, strict ?
					  "invalid kernel version %s: expected numbers separated "
					  "by dots, such as \"5.4\"" :
					  "invalid kernel version %s: it must start with a number", q);
				return -1;
			}
		}
		break;
	default:
		break;
	}
	return 0;
}

/* NAME 'in' list ['where' cond] ':' body, after "f(" */
static struct node *parse_comprehension(struct parser *p, struct node *call)
{
	const char *var = p->src + p->tok.pos;
	size_t var_len = p->tok.len, var_pos = p->tok.pos;
	struct node **args;
	const char *bound;
	char *name;
	unsigned slot = p->n_locals;

	if (!(funcs[call->func].flags & FN_COMP))
		return perror_at(p, var_pos, "%s() does not take a comprehension",
				 funcs[call->func].name);
	bound = name_bound(p, var, var_len);
	if (bound)
		return perror_at(p, var_pos, "'%.*s' is %s; choose another name", (int)var_len, var,
				 bound);
	if (func_find(var, var_len) >= 0)
		return perror_at(p, var_pos, "'%.*s' is a function; choose another name",
				 (int)var_len, var);
	if (slot >= EXPR_MAX_LOCALS)
		return perror_at(p, var_pos, "comprehensions nested too deeply (the limit is %d)",
				 EXPR_MAX_LOCALS);
	args = arena_alloc(p->e, 3 * sizeof(*args));
	if (!args)
		return oom(p);
	call->u.call.args = args;
	call->u.call.n = 3;
	call->comp = 1;
	call->local = (uint8_t)slot;
	if (lex(p) < 0 || lex(p) < 0)   /* NAME 'in' */
		return NULL;
	args[0] = parse_cond(p);
	if (!args[0] || grow(p, call, args[0]) < 0)
		return NULL;
	name = arena_alloc(p->e, var_len + 1);
	if (!name)
		return oom(p);
	memcpy(name, var, var_len);
	name[var_len] = '\0';
	p->locals[slot] = name;
	p->n_locals++;
	args[2] = NULL;
	if (tok_is_name(p, &p->tok, "where")) {
		if (lex(p) < 0)
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
	const char *name = p->src + p->tok.pos;
	size_t len = p->tok.len, pos = p->tok.pos, extra_pos = 0;
	struct node *args[EXPR_MAX_LIST], *call;
	const struct func_def *f;
	unsigned n = 0;
	int fi = func_find(name, len);
	struct token next;

	if (fi < 0) {
		const char *names[F_COUNT_FUNCS], *best;
		char word[EXPR_MAX_NAME + 1];

		if (name_bound(p, name, len) && !name_eq(name, len, "true") &&
		    !name_eq(name, len, "false") && !name_eq(name, len, "null"))
			return perror_at(p, pos, "'%.*s' is not a function", (int)len, name);
		for (int i = 0; i < F_COUNT_FUNCS; i++)
			names[i] = funcs[i].name;
		memcpy(word, name, len);
		word[len] = '\0';
		best = suggest_closest(word, names, F_COUNT_FUNCS);
		if (best)
			return perror_at(p, pos, "unknown function '%s'; did you mean '%s'?", word,
					 best);
		return perror_at(p, pos, "unknown function '%s'", word);
	}
	f = &funcs[fi];
	call = node_new(p, N_CALL, pos);
	if (!call)
		return NULL;
	call->func = (uint8_t)fi;
	if (lex(p) < 0 || lex(p) < 0)   /* NAME '(' */
		return NULL;
	if (p->tok.type == T_NAME) {
		if (peek(p, &next) < 0)
			return NULL;
		if (tok_is_name(p, &next, "in"))
			return parse_comprehension(p, call);
	}
	if (p->tok.type != T_RP) {
		for (;;) {
			if (n == EXPR_MAX_LIST)
				return perror_at(p, p->tok.pos, "too many arguments (the limit is %d)",
						 EXPR_MAX_LIST);
			if (n == f->max && !extra_pos)
				extra_pos = p->tok.pos;
			args[n] = parse_cond(p);
			if (!args[n] || grow(p, call, args[n]) < 0)
				return NULL;
			n++;
			if (p->tok.type != T_COMMA)
				break;
			if (lex(p) < 0)
				return NULL;
		}
	}
	if (p->tok.type != T_RP)
		return unexpected(p, n ? "',' or ')'" : "')'");
	if (n < f->min || n > f->max) {
		const char *plural = f->min == 1 ? "" : "s";

		if (f->min == f->max)
			return perror_at(p, n > f->max ? extra_pos : pos,
					 "%s() takes exactly %u argument%s", f->name, f->min, plural);
		return perror_at(p, pos, "%s() takes at least %u argument%s", f->name, f->min,
				 plural);
	}
	if (lex(p) < 0)
		return NULL;
	call->u.call.n = n;
	call->u.call.args = arena_alloc(p->e, (n ? n : 1) * sizeof(*args));
	if (!call->u.call.args)
		return oom(p);
	memcpy(call->u.call.args, args, n * sizeof(*args));
	if (check_call(p, call) < 0)
		return NULL;
	return call;
}

static bool is_constant(const struct node *n)
{
	return n->kind == N_INT || n->kind == N_STR || n->kind == N_BOOL || n->kind == N_NULL ||
	       n->kind == N_CONST;
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
	size_t pos = p->tok.pos;
	unsigned count = 0;
	bool constant = true;

	n = node_new(p, N_LIST, pos);
	if (!n || lex(p) < 0)
		return NULL;
	if (p->tok.type != T_RB) {
		for (;;) {
			if (count == EXPR_MAX_LIST)
				return perror_at(p, p->tok.pos,
						 "list literal too long (the limit is %d elements)",
						 EXPR_MAX_LIST);
			elts[count] = parse_cond(p);
			if (!elts[count] || grow(p, n, elts[count]) < 0)
				return NULL;
			constant &= is_constant(elts[count]);
			count++;
			if (p->tok.type != T_COMMA)
				break;
			if (lex(p) < 0)
				return NULL;
		}
	}
	if (expect(p, T_RB, count ? "',' or ']'" : "']'") < 0)
		return NULL;
	if (constant) {
		json_t *list = json_array();

		if (!p->e->consts) {
			p->e->consts = json_array();
			if (!p->e->consts) {
				json_decref(list);
				return oom(p);
			}
		}
		if (!list || json_array_append_new(p->e->consts, list) < 0)
			return oom(p);
		for (unsigned i = 0; i < count; i++)
			if (json_array_append_new(list, constant_json(elts[i])) < 0)
				return oom(p);
		n->kind = N_CONST;
		n->u.json = list;
		return n;
	}
	n->u.list.n = count;
	n->u.list.elts = arena_alloc(p->e, (count ? count : 1) * sizeof(*elts));
	if (!n->u.list.elts)
		return oom(p);
	memcpy(n->u.list.elts, elts, count * sizeof(*elts));
	return n;
}

static struct node *parse_primary(struct parser *p)
{
	struct token next;
	struct node *n;

	switch (p->tok.type) {
	case T_INT:
		if (p->tok.mag > INT64_MAX)
			return perror_at(p, p->tok.pos,
					 "integer literal out of range (the range is "
					 "-9223372036854775808 to 9223372036854775807)");
		n = node_new(p, N_INT, p->tok.pos);
		if (n)
			n->u.i = (int64_t)p->tok.mag;
		return lex(p) < 0 ? NULL : n;
	case T_STR:
		n = node_new(p, N_STR, p->tok.pos);
		if (n) {
			n->u.s.ptr = p->tok.str;
			n->u.s.len = p->tok.slen;
		}
		return lex(p) < 0 ? NULL : n;
	case T_LB:
		return parse_list(p);
	case T_LP:
		if (lex(p) < 0)
			return NULL;
		n = parse_cond(p);
		if (!n || expect(p, T_RP, "')'") < 0)
			return NULL;
		return n;
	case T_NAME:
		if (peek(p, &next) < 0)
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
		size_t pos = p->tok.pos;

		if (p->tok.type == T_DOT) {
			char *name;

			if (lex(p) < 0)
				return NULL;
			if (p->tok.type != T_NAME)
				return unexpected(p, "a field name after '.'");
			m = node_new(p, N_FIELD, p->tok.pos);
			name = arena_alloc(p->e, p->tok.len + 1);
			if (!m || !name)
				return oom(p);
			memcpy(name, p->src + p->tok.pos, p->tok.len);
			name[p->tok.len] = '\0';
			m->u.field.obj = n;
			m->u.field.name = name;
			m->u.field.len = (uint32_t)p->tok.len;
			m->u.field.hash = expr_name_hash(name, p->tok.len);
			if (grow(p, m, n) < 0 || lex(p) < 0)
				return NULL;
			n = m;
		} else if (p->tok.type == T_LB) {
			struct node *idx;

			if (lex(p) < 0)
				return NULL;
			idx = parse_cond(p);
			if (!idx || expect(p, T_RB, "']'") < 0)
				return NULL;
			n = node2(p, N_INDEX, pos, n, idx);
		} else if (p->tok.type == T_LP) {
			return perror_at(p, pos, "unexpected '(': only functions can be called");
		} else {
			break;
		}
	}
	return n;
}

static struct node *parse_unary(struct parser *p)
{
	size_t pos = p->tok.pos;
	struct node *a, *n;
	enum tok op = p->tok.type;

	if (op != T_NOT && op != T_MINUS)
		return parse_postfix(p);
	if (++p->depth > EXPR_MAX_DEPTH)
		return perror_at(p, pos, "expression nested too deeply (the limit is %d levels)",
				 EXPR_MAX_DEPTH);
	if (lex(p) < 0)
		return NULL;
	if (op == T_MINUS && p->tok.type == T_INT) {
		/* a negative literal: -9223372036854775808 is in range */
		struct token next;

		if (peek(p, &next) < 0)
			return NULL;
		if (next.type != T_DOT && next.type != T_LB) {
			n = node_new(p, N_INT, pos);
			if (!n)
				return NULL;
			n->u.i = p->tok.mag > INT64_MAX ? INT64_MIN : -(int64_t)p->tok.mag;
			p->depth--;
			return lex(p) < 0 ? NULL : n;
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
	while (a && (op = binop_find(p->tok.type, level))) {
		size_t pos = p->tok.pos;
		struct node *b;

		if (lex(p) < 0)
			return NULL;
		b = parse_binary(p, level + 1);
		if (!b)
			return NULL;
		if (level == 2 || level == 3) {
			if (a->kind == N_NULL || b->kind == N_NULL)
				return perror_at(p, (a->kind == N_NULL ? a : b)->pos,
						 "a comparison with null is never true or false; "
						 "use exists()");
			if (binop_find(p->tok.type, level))
				return perror_at(p, p->tok.pos,
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
		return perror_at(p, p->tok.pos,
				 "expression nested too deeply (the limit is %d levels)",
				 EXPR_MAX_DEPTH);
	c = parse_binary(p, 0);
	if (!c)
		return NULL;
	if (p->tok.type == T_QUEST) {
		pos = p->tok.pos;
		n = node_new(p, N_COND, pos);
		if (!n || lex(p) < 0)
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

/* ----------------------------------------------------------- invariants */

/* Constants and sections: nothing to gain in memoising them. */
static bool is_trivial(const struct node *n)
{
	return is_constant(n) || n->kind == N_SECTION;
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
	unsigned deps = 0, kids = 0, bound = 0;
	struct node *kid[3] = { NULL };
	struct node *const *list = NULL;

	switch (n->kind) {
	case N_INT:
	case N_STR:
	case N_BOOL:
	case N_NULL:
	case N_CONST:
	case N_SECTION:
		return 0;
	case N_ITEM:
		return 1u;
	case N_LOCAL:
		return 2u << n->u.idx;
	case N_LIST:
		list = n->u.list.elts;
		kids = n->u.list.n;
		break;
	case N_FIELD:
		kid[0] = n->u.field.obj;
		break;
	case N_CALL:
		list = n->u.call.args;
		kids = n->u.call.n;
		if (n->comp)    /* list, body, filter: the variable is bound in the last two */
			bound = 2u << n->local;
		break;
	default:        /* unary, binary, index, '? :' */
		kid[0] = n->u.k.a;
		kid[1] = n->u.k.b;
		kid[2] = n->kind == N_COND ? n->u.k.c : NULL;
		break;
	}
	if (!list) {
		list = kid;
		kids = 3;
	}
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

static void expr_mark_invariants(struct expr *e)
{
	e->root->memo = mark_invariants(e->root) == 0 && !is_trivial(e->root) && e->n_items > 0;
}

/* ------------------------------------------------------------------ API */

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

struct expr *expr_parse(const char *src, size_t len, const struct expr_scope *scope,
			struct expr_error *err)
{
	struct parser p = { .src = src, .len = len, .scope = scope, .err = err };
	struct arena_block *first;
	struct expr *e = NULL;

	if (err)
		memset(err, 0, sizeof(*err));
	if (len > EXPR_MAX_LEN) {
		expr_error_set(err, src, EXPR_MAX_LEN, "expression too long (%zu bytes; the limit "
			       "is %d)", len, EXPR_MAX_LEN);
		return NULL;
	}
	for (size_t i = 0; i < len;) {
		size_t n = utf8_len((const unsigned char *)src + i, len - i);

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
	first = arena_block_new(ARENA_ROUND(sizeof(*e)) + ARENA_ROUND(len + 1) +
				(len * ARENA_PER_BYTE > ARENA_MIN ? len * ARENA_PER_BYTE : ARENA_MIN));
	if (!first)
		goto nomem;
	e = (struct expr *)first->data;
	first->used = ARENA_ROUND(sizeof(*e));
	memset(e, 0, sizeof(*e));
	e->arena = first;
	p.e = e;
	e->src = arena_alloc(e, len + 1);
	if (!e->src)
		goto nomem;
	memcpy(e->src, src, len);
	e->src[len] = '\0';
	e->len = len;
	e->n_items = scope ? (unsigned)scope->n_names : 0;
	p.src = e->src;
	if (lex(&p) < 0)
		goto fail;
	if (p.tok.type == T_EOF) {
		perror_at(&p, 0, "empty expression");
		goto fail;
	}
	e->root = parse_cond(&p);
	if (!e->root)
		goto fail;
	if (p.tok.type != T_EOF) {
		if (p.tok.type == T_COLON)
			perror_at(&p, p.tok.pos, "unexpected ':' outside of '? :' and comprehensions");
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

bool expr_name_syntax(const char *s, size_t len)
{
	if (len == 0 || len > EXPR_MAX_NAME || !is_name_start(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

bool expr_name_valid(const char *name, const char **why)
{
	size_t len = strlen(name);
	const char *w = NULL;

	if (len == 0)
		w = "empty name";
	else if (len > EXPR_MAX_NAME)
		w = "name too long";
	else if (!is_name_start(name[0]))
		w = "a name starts with a letter or '_'";
	for (size_t i = 1; !w && i < len; i++)
		if (!is_name_char(name[i]))
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

static int walk_lookups(const struct expr *e, const struct node *n,
			int (*fn)(const char *table, const struct expr_error *at, void *data),
			void *data)
{
	const struct node *const *kids;
	const struct node *k3[3];
	unsigned nk = 3;
	int r;

	switch (n->kind) {
	case N_CALL:
		if (n->func == F_LOOKUP && n->u.call.args[0]->kind == N_STR) {
			struct expr_error at = { 0 };

			expr_error_set(&at, e->src, n->u.call.args[0]->pos, "lookup");
			r = fn(n->u.call.args[0]->u.s.ptr, &at, data);
			if (r)
				return r;
		}
		kids = (const struct node *const *)n->u.call.args;
		nk = n->u.call.n;
		break;
	case N_LIST:
		kids = (const struct node *const *)n->u.list.elts;
		nk = n->u.list.n;
		break;
	case N_FIELD:
		k3[0] = n->u.field.obj;
		k3[1] = k3[2] = NULL;
		kids = k3;
		break;
	case N_INT: case N_STR: case N_BOOL: case N_NULL: case N_CONST:
	case N_SECTION: case N_ITEM: case N_LOCAL:
		return 0;
	default:
		k3[0] = n->u.k.a;
		k3[1] = n->u.k.b;
		k3[2] = n->kind == N_COND ? n->u.k.c : NULL;
		kids = k3;
		break;
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

int expr_sysctl_keys(const struct expr *e, int (*fn)(const char *key, void *data), void *data)
{
	for (size_t i = 0; i < e->n_keys; i++) {
		int r = fn(e->keys[i], data);

		if (r)
			return r;
	}
	return 0;
}
