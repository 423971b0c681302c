/* Growing arrays: the one helper for "make room for one more element". */
#ifndef NK_ARRAY_H
#define NK_ARRAY_H

#include <stddef.h>

/* Make room in the array *arrp (a pointer to the array's pointer) of *cap
 * elements of size bytes for element n: nothing when n < *cap, else the
 * capacity doubles (first min elements) and *cap is updated.  0, or
 * -ENOMEM with the array as it was. */
int array_grow(void *arrp, size_t *cap, size_t n, size_t size, size_t min);

/* array_grow() for an array variable or member arr: ARRAY_GROW(t->v, t->cap, t->n, 64). */
#define ARRAY_GROW(arr, cap, n, min) array_grow(&(arr), &(cap), (n), sizeof(*(arr)), (min))

#endif
