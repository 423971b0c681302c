/* Text that a function prints to a FILE, made in memory. */
#ifndef NK_MEMOUT_H
#define NK_MEMOUT_H

#include <stddef.h>
#include <stdio.h>

/* Prints to out; 0 or -errno. */
typedef int (*memout_fn)(FILE *out, const void *arg);

/* Run fn on a stream in memory.  Returns 0 with *buf (malloc'd,
 * NUL-terminated; free it) and *len (if not NULL), or fn's -errno, or
 * -ENOMEM, with *buf NULL. */
int memout(memout_fn fn, const void *arg, char **buf, size_t *len);

#endif
