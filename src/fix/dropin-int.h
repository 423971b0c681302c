/* Internals of the drop-in shared by its builder (dropin.c) and the
 * reader of the file already there (dropin-existing.c). */
#ifndef NK_DROPIN_INT_H
#define NK_DROPIN_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rulebook;

/* The first lines of the drop-in. */
extern const char dropin_header[];

/* A string that grows; failed once an allocation failed. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static inline void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static inline void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static inline void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	sb_add(b, s, (size_t)n);
	free(s);
}

/* Rule text in a comment: one line, no control characters. */
static inline void sb_comment_text(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		sb_add(b, c < 0x20 || c == 0x7f ? " " : s, 1);
	}
}


/* ---- the file already there (dropin-existing.c) ---- */

struct exblock {
	char *key;            /* canonical key; NULL for text that is no assignment */
	char *value;          /* the value text of the assignment; NULL for "-key" */
	char *text;           /* its lines, each ended by "\n" */
	char *admin;          /* of an assignment: its comment lines but those
			       * netknobs wrote ("" when none) */
};

struct existing {
	struct exblock *b;
	size_t n;
};

/* The file already there, text, as blocks: its assignments with their
 * comment lines, and the rest (util/lines.h); our own header dropped.
 * 0 or -ENOMEM (x to be freed with existing_free() either way). */
int existing_parse(struct existing *x, const char *text, const struct rulebook *rb);
void existing_free(struct existing *x);

#endif
