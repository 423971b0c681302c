/* Paragraphs for the terminal: untrusted text escaped and wrapped. */
#ifndef NK_WRAP_H
#define NK_WRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Print indent, then label, then text wrapped at 78 columns; continuation
 * lines are indented to line up after the label.  Control characters in
 * text are escaped (escape_display). */
void print_wrapped(FILE *out, const char *indent, const char *label, const char *text);

/* Columns a text takes on a terminal: its UTF-8 characters (for text
 * already escaped: no control characters). */
size_t text_columns(const char *s);

/* s in a column of width: padded with blanks, or, when cut and it is
 * wider (and width > 3), its first width - 3 characters and "..."; then
 * one blank.  Into buf (at most len - 1 bytes); "" when width is 0. */
void text_cell(const char *s, size_t width, bool cut, char *buf, size_t len);

#endif
