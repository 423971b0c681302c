/* Paragraphs for the terminal: untrusted text escaped and wrapped. */
#ifndef NK_WRAP_H
#define NK_WRAP_H

#include <stdio.h>

/* Print indent, then label, then text wrapped at 78 columns; continuation
 * lines are indented to line up after the label.  Control characters in
 * text are escaped (escape_display). */
void print_wrapped(FILE *out, const char *indent, const char *label, const char *text);

#endif
