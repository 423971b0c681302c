/* The lexer of the expression language (expr-lex.c), for the parser. */
#ifndef NK_EXPR_LEX_H
#define NK_EXPR_LEX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/expr.h"

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

struct lexer {
	const char *src;
	size_t len;
	size_t pos;             /* where the next token starts */
	struct token tok;       /* the current token */
	struct expr *e;         /* string literals are decoded into its arena */
	struct expr_error *err;
	bool failed;            /* err holds the first error; later ones are dropped */
};

static inline bool expr_is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool expr_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool expr_is_name_char(int c)
{
	return expr_is_name_start(c) || expr_is_digit(c);
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when invalid. */
size_t expr_utf8_len(const unsigned char *s, size_t n);

/* Read the next token into lx->tok.  Returns 0 or -1 (error set). */
int expr_lex(struct lexer *lx);

/* The token after the current one, without consuming anything.  A token
 * that does not lex is reported as T_EOF here and diagnosed when it is
 * reached, so that errors come in the order of the text. */
int expr_lex_peek(struct lexer *lx, struct token *out);

/* Whether t is the name name. */
bool expr_tok_is(const struct lexer *lx, const struct token *t, const char *name);

/* Set the error (the first one only) at byte offset pos; returns NULL. */
void *expr_syntax_error(struct lexer *lx, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void *expr_syntax_verror(struct lexer *lx, size_t pos, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
