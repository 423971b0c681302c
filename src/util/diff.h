/* A unified diff of two small texts, line by line. */
#ifndef NK_DIFF_H
#define NK_DIFF_H

#include <stdio.h>

/* Write the differences between a and b as a unified diff with three lines
 * of context, headed "--- alabel" and "+++ blabel".  Nothing is written
 * when the texts are equal.  Returns 1 when they differ, 0 when equal,
 * -ENOMEM. */
int diff_unified(FILE *out, const char *a, const char *alabel, const char *b, const char *blabel);

#endif
