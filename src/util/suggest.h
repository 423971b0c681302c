/* "Did you mean ...?" suggestions. */
#ifndef NK_SUGGEST_H
#define NK_SUGGEST_H

#include <stddef.h>

/* Levenshtein distance between a and b (case-sensitive). */
size_t edit_distance(const char *a, const char *b);

/* The candidate closest to word, or NULL when none is close enough to be a
 * plausible typo (distance at most a third of the word's length, minimum 1,
 * or word is a prefix of the candidate). */
const char *suggest_closest(const char *word, const char *const *candidates, size_t n);

#endif
