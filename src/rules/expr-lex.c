/* The lexer of the expression language: text -> tokens, one at a time,
 * for the parser (expr-parse.c).  String literals are decoded into the
 * expression's arena; errors carry the byte offset of the token. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules/expr.h"
#include "rules/expr-int.h"
#include "rules/expr-lex.h"

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

void *expr_syntax_verror(struct lexer *lx, size_t pos, const char *fmt, va_list ap)
{
	char msg[EXPR_ERROR_MSG];

	if (lx->failed)
		return NULL;
	lx->failed = true;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	expr_error_set(lx->err, lx->src, pos, "%s", msg);
	return NULL;
}

void *expr_syntax_error(struct lexer *lx, size_t pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	expr_syntax_verror(lx, pos, fmt, ap);
	va_end(ap);
	return NULL;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when invalid. */
size_t expr_utf8_len(const unsigned char *s, size_t n)
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

static int lex_number(struct lexer *lx, struct token *t)
{
	const char *s = lx->src;
	size_t i = lx->pos;
	uint64_t v = 0;
	bool last_us = false;

	if (s[i] == '0' && i + 1 < lx->len && (expr_is_digit(s[i + 1]) || s[i + 1] == '_'))
		return expr_syntax_error(lx, i, "leading zeros are not allowed in integer literals"), -1;
	for (; i < lx->len && (expr_is_digit(s[i]) || s[i] == '_'); i++) {
		if (s[i] == '_') {
			if (last_us)
				return expr_syntax_error(lx, i, "'_' must stand between two digits"), -1;
			last_us = true;
			continue;
		}
		last_us = false;
		if (v > ((uint64_t)INT64_MAX + 1 - (uint64_t)(s[i] - '0')) / 10)
			return expr_syntax_error(lx, lx->pos,
					 "integer literal out of range (the range is "
					 "-9223372036854775808 to 9223372036854775807)"), -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (last_us)
		return expr_syntax_error(lx, i - 1, "'_' must stand between two digits"), -1;
	if (i < lx->len && expr_is_name_char(s[i]))
		return expr_syntax_error(lx, i, "unexpected '%c' after an integer literal", s[i]), -1;
	if (i + 1 < lx->len && s[i] == '.' && expr_is_digit(s[i + 1]))
		return expr_syntax_error(lx, lx->pos, "only integers are supported"), -1;
	t->type = T_INT;
	t->mag = v;
	t->len = i - lx->pos;
	lx->pos = i;
	return 0;
}

static int lex_string(struct lexer *lx, struct token *t)
{
	const char *s = lx->src;
	size_t start = lx->pos, i = lx->pos + 1, n = 0;
	char buf[EXPR_MAX_STRING];

	for (;;) {
		unsigned char c;
		char out;

		if (i >= lx->len)
			return expr_syntax_error(lx, start, "unterminated string literal"), -1;
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (i + 1 >= lx->len)
				return expr_syntax_error(lx, start, "unterminated string literal"), -1;
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
					return expr_syntax_error(lx, i, "unknown escape in string literal "
							 "(known: \\\" \\\\ \\n \\t)"), -1;
				return expr_syntax_error(lx, i, "unknown escape '\\%c' in string literal "
						 "(known: \\\" \\\\ \\n \\t)", s[i + 1]), -1;
			}
			i += 2;
		} else if (c < 0x20 || c == 0x7f) {
			return expr_syntax_error(lx, i, "control character in string literal "
					 "(write \\n or \\t)"), -1;
		} else {
			out = (char)c;
			i++;
		}
		if (n == EXPR_MAX_STRING)
			return expr_syntax_error(lx, start, "string literal too long (the limit is %d bytes)",
					 EXPR_MAX_STRING), -1;
		buf[n++] = out;
	}
	t->str = expr_arena_alloc(lx->e, n + 1);
	if (!t->str)
		return expr_syntax_error(lx, lx->tok.pos, "out of memory"), -1;
	memcpy(t->str, buf, n);
	t->str[n] = '\0';
	t->type = T_STR;
	t->slen = n;
	t->len = i + 1 - start;
	lx->pos = i + 1;
	return 0;
}

/* Read the next token into lx->tok.  Returns 0 or -1 (error set). */
int expr_lex(struct lexer *lx)
{
	const char *s = lx->src;
	struct token *t = &lx->tok;
	size_t i;
	char c, d;

	while (lx->pos < lx->len && (s[lx->pos] == ' ' || s[lx->pos] == '\t' || s[lx->pos] == '\n' ||
				   s[lx->pos] == '\r'))
		lx->pos++;
	i = lx->pos;
	memset(t, 0, sizeof(*t));
	t->pos = i;
	if (i >= lx->len) {
		t->type = T_EOF;
		return 0;
	}
	c = s[i];
	d = i + 1 < lx->len ? s[i + 1] : '\0';
	if (expr_is_digit(c))
		return lex_number(lx, t);
	if (c == '"')
		return lex_string(lx, t);
	if (expr_is_name_start(c)) {
		while (i < lx->len && expr_is_name_char(s[i]))
			i++;
		if (i - lx->pos > EXPR_MAX_NAME)
			return expr_syntax_error(lx, lx->pos, "name too long (the limit is %d bytes)",
					 EXPR_MAX_NAME), -1;
		t->type = T_NAME;
		t->len = i - lx->pos;
		lx->pos = i;
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
			return expr_syntax_error(lx, i, "unexpected '='; did you mean '=='?"), -1;
		t->type = T_EQ;
		break;
	case '!':
		t->type = d == '=' ? T_NE : T_NOT;
		break;
	case '&':
		if (d != '&')
			return expr_syntax_error(lx, i, "unexpected '&'; did you mean '&&'?"), -1;
		t->type = T_AND;
		break;
	case '|':
		if (d != '|')
			return expr_syntax_error(lx, i, "unexpected '|'; did you mean '||'?"), -1;
		t->type = T_OR;
		break;
	case '\'':
		return expr_syntax_error(lx, i, "unexpected \"'\": strings are written in double quotes"), -1;
	default:
		if ((unsigned char)c < 0x20 || c == 0x7f)
			return expr_syntax_error(lx, i, "unexpected control character \\x%02x",
					 (unsigned char)c), -1;
		if ((unsigned char)c >= 0x80)
			return expr_syntax_error(lx, i, "unexpected character '%.*s'",
					 (int)expr_utf8_len((const unsigned char *)s + i, lx->len - i),
					 s + i), -1;
		return expr_syntax_error(lx, i, "unexpected character '%c'", c), -1;
	}
	if (t->type == T_LE || t->type == T_GE || t->type == T_EQ || t->type == T_NE ||
	    t->type == T_AND || t->type == T_OR)
		t->len = 2;
	lx->pos = i + t->len;
	return 0;
}

/* The token after the current one, without consuming anything.  A token
 * that does not lex is reported as T_EOF here and diagnosed when it is
 * reached, so that errors come in the order of the text. */
int expr_lex_peek(struct lexer *lx, struct token *out)
{
	size_t pos = lx->pos;
	struct token cur = lx->tok;
	struct expr_error saved;

	if (lx->err)
		saved = *lx->err;
	if (expr_lex(lx) < 0) {
		lx->failed = false;
		if (lx->err)
			*lx->err = saved;
		lx->tok.type = T_EOF;
	}
	*out = lx->tok;
	lx->tok = cur;
	lx->pos = pos;
	return 0;
}

bool expr_tok_is(const struct lexer *lx, const struct token *t, const char *name)
{
	return t->type == T_NAME && t->len == strlen(name) &&
	       memcmp(lx->src + t->pos, name, t->len) == 0;
}

bool expr_name_syntax(const char *s, size_t len)
{
	if (len == 0 || len > EXPR_MAX_NAME || !expr_is_name_start(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!expr_is_name_char(s[i]))
			return false;
	return true;
}
