/* Writing files so that readers see the old or the new content, never a
 * partial one: a temporary file in the same directory, fsync, rename. */
#ifndef NK_ATOMIC_H
#define NK_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

/* Write len bytes to path atomically with the given mode.  Returns 0 or
 * -errno (logged with the path); on failure the temporary file is removed
 * and path is untouched. */
int atomic_write_file(const char *path, const void *data, size_t len, mode_t mode);

/* The same for the file name (no '/') in the directory dirfd; display
 * names it in messages. */
int atomic_write_at(int dirfd, const char *name, const char *display, const void *data, size_t len,
		    mode_t mode);

#endif
